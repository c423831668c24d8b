//! Partita IVA: 11 digits, the last a Luhn-style check digit.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VatNumber(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VatNumberError {
    #[error("la partita IVA deve avere 11 cifre, ne ha {0}")]
    Length(usize),
    #[error("la partita IVA contiene un carattere non numerico in posizione {0}")]
    NotDigit(usize),
    #[error("cifra di controllo errata: attesa {expected}, trovata {found}")]
    CheckDigit { expected: u32, found: u32 },
}

impl VatNumber {
    pub fn parse(input: &str) -> Result<Self, VatNumberError> {
        let s = input.trim();
        let s = s.strip_prefix("IT").unwrap_or(s);
        if let Some(p) = s.chars().position(|c| !c.is_ascii_digit()) {
            return Err(VatNumberError::NotDigit(p + 1));
        }
        if s.len() != 11 {
            return Err(VatNumberError::Length(s.len()));
        }
        let expected = check_digit(&s[..10]);
        let found = u32::from(s.as_bytes()[10] - b'0');
        if expected != found {
            return Err(VatNumberError::CheckDigit { expected, found });
        }
        Ok(VatNumber(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Check digit of the first ten digits.
pub fn check_digit(first10: &str) -> u32 {
    let sum: u32 = first10
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                d
            } else {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

impl fmt::Display for VatNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_numbers() {
        // Agenzia delle Entrate's partita IVA.
        assert!(VatNumber::parse("06363391001").is_ok());
        assert!(VatNumber::parse("IT06363391001").is_ok());
        assert_eq!(
            VatNumber::parse("06363391002"),
            Err(VatNumberError::CheckDigit {
                expected: 1,
                found: 2
            })
        );
        assert_eq!(
            VatNumber::parse("0636339100"),
            Err(VatNumberError::Length(10))
        );
        assert_eq!(
            VatNumber::parse("06363391a01"),
            Err(VatNumberError::NotDigit(9))
        );
    }

    proptest! {
        #[test]
        fn generated_numbers_validate(digits in "[0-9]{10}") {
            let n = format!("{digits}{}", check_digit(&digits));
            prop_assert!(VatNumber::parse(&n).is_ok());
        }
        #[test]
        fn a_changed_digit_is_caught(digits in "[0-9]{10}", pos in 0usize..10, delta in 1u8..10) {
            let n = format!("{digits}{}", check_digit(&digits));
            let mut bytes = n.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let altered = String::from_utf8(bytes).unwrap();
            prop_assert!(VatNumber::parse(&altered).is_err());
        }
    }
}
