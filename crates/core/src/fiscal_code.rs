//! Codice fiscale of natural persons: 16 characters, with omocodia and the
//! check character (DM 23/12/1976). Validation names the first problem found.

use std::fmt;

/// A syntactically valid codice fiscale, upper-cased.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FiscalCode(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FiscalCodeError {
    #[error("il codice fiscale deve avere 16 caratteri, ne ha {0}")]
    Length(usize),
    #[error("carattere non ammesso in posizione {position}: «{found}»")]
    Character { position: usize, found: char },
    #[error("in posizione {position} è atteso {expected}")]
    Structure {
        position: usize,
        expected: &'static str,
    },
    #[error("mese di nascita non valido: «{0}»")]
    Month(char),
    #[error("giorno di nascita non valido: {0}")]
    Day(u32),
    #[error("carattere di controllo errato: atteso «{expected}», trovato «{found}»")]
    CheckCharacter { expected: char, found: char },
}

/// Positions (0-based) that hold digits, which omocodia may replace with letters.
const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];
const OMOCODIA_LETTERS: &[u8; 10] = b"LMNPQRSTUV";
const MONTH_LETTERS: &str = "ABCDEHLMPRST";
/// Values of characters in odd (1st, 3rd, ...) positions; digits map like A-J.
const ODD_VALUES: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

impl FiscalCode {
    pub fn parse(input: &str) -> Result<Self, FiscalCodeError> {
        let code: String = input.trim().to_ascii_uppercase();
        let count = code.chars().count();
        if count != 16 {
            return Err(FiscalCodeError::Length(count));
        }
        let bytes = code.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if !b.is_ascii_alphanumeric() {
                return Err(FiscalCodeError::Character {
                    position: i + 1,
                    found: code.chars().nth(i).unwrap_or('?'),
                });
            }
        }
        for (i, &b) in bytes.iter().enumerate() {
            let must_be_letter = !DIGIT_POSITIONS.contains(&i);
            if must_be_letter && !b.is_ascii_alphabetic() {
                return Err(FiscalCodeError::Structure {
                    position: i + 1,
                    expected: "una lettera",
                });
            }
            if !(must_be_letter || b.is_ascii_digit() || OMOCODIA_LETTERS.contains(&b)) {
                return Err(FiscalCodeError::Structure {
                    position: i + 1,
                    expected: "una cifra (o lettera di omocodia LMNPQRSTUV)",
                });
            }
        }
        let month = bytes[8] as char;
        if !MONTH_LETTERS.contains(month) {
            return Err(FiscalCodeError::Month(month));
        }
        let day = decode_digit(bytes[9]) * 10 + decode_digit(bytes[10]);
        if !(1..=31).contains(&day) && !(41..=71).contains(&day) {
            return Err(FiscalCodeError::Day(day));
        }
        let expected = check_character(&code[..15]);
        let found = bytes[15] as char;
        if expected != found {
            return Err(FiscalCodeError::CheckCharacter { expected, found });
        }
        Ok(FiscalCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code with omocodia letters turned back into digits.
    pub fn normalized(&self) -> String {
        let mut out: Vec<u8> = self.0.as_bytes().to_vec();
        for &i in &DIGIT_POSITIONS {
            out[i] = b'0' + decode_digit(out[i]) as u8;
        }
        out.truncate(15);
        let mut s = String::from_utf8(out).unwrap_or_default();
        let check = check_character(&s);
        s.push(check);
        s
    }
}

fn decode_digit(b: u8) -> u32 {
    if b.is_ascii_digit() {
        u32::from(b - b'0')
    } else {
        OMOCODIA_LETTERS
            .iter()
            .position(|&l| l == b)
            .map(|p| p as u32)
            .unwrap_or(0)
    }
}

/// Check character of the first 15 characters (upper-case alphanumeric).
pub fn check_character(first15: &str) -> char {
    let sum: u32 = first15
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let index = if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                u32::from(b - b'A')
            };
            if i % 2 == 0 {
                ODD_VALUES[index as usize]
            } else {
                index
            }
        })
        .sum();
    (b'A' + (sum % 26) as u8) as char
}

impl fmt::Display for FiscalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for FiscalCode {
    type Err = FiscalCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_code_is_valid() {
        assert_eq!(check_character("RSSMRA80A01H501"), 'U');
        assert!(FiscalCode::parse("RSSMRA80A01H501U").is_ok());
        assert!(FiscalCode::parse(" rssmra80a01h501u ").is_ok());
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            FiscalCode::parse("RSSMRA80A01H501"),
            Err(FiscalCodeError::Length(15))
        );
        assert_eq!(
            FiscalCode::parse("RSSMRA80A01H501X"),
            Err(FiscalCodeError::CheckCharacter {
                expected: 'U',
                found: 'X'
            })
        );
        assert_eq!(
            FiscalCode::parse("RSSMRA80Z01H501U"),
            Err(FiscalCodeError::Month('Z'))
        );
        assert!(matches!(
            FiscalCode::parse("RSSMRA80A35H501U"),
            Err(FiscalCodeError::Day(35))
        ));
        assert!(matches!(
            FiscalCode::parse("RSSMRA8-A01H501U"),
            Err(FiscalCodeError::Character { position: 8, .. })
        ));
        assert!(matches!(
            FiscalCode::parse("1SSMRA80A01H501U"),
            Err(FiscalCodeError::Structure { position: 1, .. })
        ));
    }

    #[test]
    fn omocodia_is_accepted_and_normalized() {
        // Last digit of the place code replaced: 1 -> M.
        let first15 = "RSSMRA80A01H50M";
        let code = format!("{first15}{}", check_character(first15));
        let parsed = FiscalCode::parse(&code).unwrap();
        assert_eq!(parsed.normalized(), "RSSMRA80A01H501U");
    }

    fn arb_code() -> impl Strategy<Value = String> {
        (
            "[A-Z]{6}",
            0u32..100,
            0usize..12,
            1u32..32,
            any::<bool>(),
            "[A-Z][0-9]{3}",
        )
            .prop_map(|(names, year, month, day, woman, place)| {
                let day = if woman { day + 40 } else { day };
                let month = MONTH_LETTERS.as_bytes()[month] as char;
                let first15 = format!("{names}{year:02}{month}{day:02}{place}");
                format!("{first15}{}", check_character(&first15))
            })
    }

    proptest! {
        #[test]
        fn generated_codes_validate(code in arb_code()) {
            prop_assert!(FiscalCode::parse(&code).is_ok());
        }

        #[test]
        fn any_single_substitution_of_the_check_character_fails(code in arb_code(), c in "[A-Z]") {
            let c = c.chars().next().unwrap();
            prop_assume!(code.as_bytes()[15] as char != c);
            let altered = format!("{}{}", &code[..15], c);
            let is_check_error = matches!(FiscalCode::parse(&altered), Err(FiscalCodeError::CheckCharacter { .. }));
            prop_assert!(is_check_error);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = FiscalCode::parse(&s);
        }
    }
}
