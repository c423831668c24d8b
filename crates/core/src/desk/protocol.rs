//! Protocol numbers (DPR 445/2000, art. 57: progressive, at least seven
//! digits, restarting every year) and their recognition in mail subjects and
//! fax headers, so that a reply is attached to the request it answers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const MIN_DIGITS: usize = 7;
const MAX_REGISTER_LEN: usize = 20;
/// Without a register, shorter numbers are too often dates or amounts.
const MIN_BARE_DIGITS: usize = 5;
/// Longer runs do not fit an i64 and are not protocol numbers anyway.
const MAX_NUMBER_DIGITS: usize = 18;
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;
/// Words that introduce a protocol number rather than name a register.
const KEYWORDS: [&str; 4] = ["prot", "protocollo", "protocol", "protn"];
const NUMBER_WORDS: [&str; 6] = ["n", "nr", "nº", "num", "numero", "no"];

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProtocolNumber {
    pub register: String,
    pub year: i32,
    pub number: i64,
}

impl ProtocolNumber {
    pub fn new(register: &str, year: i32, number: i64) -> Self {
        ProtocolNumber {
            register: register.to_ascii_uppercase(),
            year,
            number,
        }
    }
}

impl fmt::Display for ProtocolNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:0width$}",
            self.register.to_ascii_uppercase(),
            self.year,
            self.number,
            width = MIN_DIGITS
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolNumberError {
    #[error("numero di protocollo «{0}» non valido: atteso REGISTRO-AAAA-NNNNNNN")]
    Format(String),
    #[error(
        "numero di protocollo «{0}» non valido: il registro deve iniziare con una lettera e contenere solo lettere e cifre (al massimo 20)"
    )]
    Register(String),
    #[error("numero di protocollo «{0}» non valido: l'anno deve avere 4 cifre")]
    Year(String),
    #[error(
        "numero di protocollo «{0}» non valido: il numero deve avere almeno 7 cifre, senza zeri iniziali oltre la settima"
    )]
    Number(String),
}

impl FromStr for ProtocolNumber {
    type Err = ProtocolNumberError;

    /// The Display form exactly; only the register may be in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('-').collect();
        let [register, year, number] = parts.as_slice() else {
            return Err(ProtocolNumberError::Format(s.to_string()));
        };
        if !is_register(register) {
            return Err(ProtocolNumberError::Register(s.to_string()));
        }
        if year.len() != 4 || !all_digits(year) {
            return Err(ProtocolNumberError::Year(s.to_string()));
        }
        let year: i32 = year
            .parse()
            .map_err(|_| ProtocolNumberError::Year(s.to_string()))?;
        let bad_number = || ProtocolNumberError::Number(s.to_string());
        if !all_digits(number) || number.len() > MAX_NUMBER_DIGITS {
            return Err(bad_number());
        }
        let value: i64 = number.parse().map_err(|_| bad_number())?;
        // Exact Display form: "123" and "00001234567" are both rejected.
        if format!("{value:0MIN_DIGITS$}") != *number {
            return Err(bad_number());
        }
        Ok(ProtocolNumber::new(register, year, value))
    }
}

/// A protocol reference found in free text. The register, when present, is
/// upper-cased.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProtocolRef {
    pub register: Option<String>,
    pub year: i32,
    pub number: i64,
}

impl ProtocolRef {
    /// Whether this reference designates `n` (a reference without register
    /// matches any register).
    pub fn matches(&self, n: &ProtocolNumber) -> bool {
        self.year == n.year
            && self.number == n.number
            && self
                .register
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case(&n.register))
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_register(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() <= MAX_REGISTER_LEN
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric())
}

fn is_keyword(s: &str) -> bool {
    let lower = s.to_lowercase();
    KEYWORDS.contains(&lower.as_str()) || NUMBER_WORDS.contains(&lower.as_str())
}

/// A maximal run of letters and digits, by byte offsets.
#[derive(Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
}

struct Scanner<'a> {
    text: &'a str,
    tokens: Vec<Token>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        let mut tokens = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            match (c.is_alphanumeric(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    tokens.push(Token { start: s, end: i });
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            tokens.push(Token {
                start: s,
                end: text.len(),
            });
        }
        Scanner { text, tokens }
    }

    fn tok(&self, i: usize) -> Option<&'a str> {
        self.tokens.get(i).map(|t| &self.text[t.start..t.end])
    }

    /// The text between token `i` and token `i + 1`.
    fn sep(&self, i: usize) -> Option<&'a str> {
        let a = self.tokens.get(i)?;
        let b = self.tokens.get(i + 1)?;
        Some(&self.text[a.end..b.start])
    }

    fn year(&self, i: usize) -> Option<i32> {
        let t = self.tok(i)?;
        if t.len() != 4 || !all_digits(t) {
            return None;
        }
        let y: i32 = t.parse().ok()?;
        YEARS.contains(&y).then_some(y)
    }

    fn number(&self, i: usize, min_digits: usize) -> Option<i64> {
        let t = self.tok(i)?;
        if t.len() < min_digits || t.len() > MAX_NUMBER_DIGITS || !all_digits(t) {
            return None;
        }
        t.parse().ok()
    }

    fn digits_joined(&self, i: usize) -> bool {
        self.sep(i).is_some_and(|s| s == "-" || s == "/")
    }

    /// A reference starting at token `i`, and the number of tokens it spans.
    fn reference_at(&self, i: usize) -> Option<(ProtocolRef, usize)> {
        let found = |register: Option<&str>, year, number, len| {
            Some((
                ProtocolRef {
                    register: register.map(str::to_ascii_uppercase),
                    year,
                    number,
                },
                len,
            ))
        };
        let tok = self.tok(i)?;
        if is_register(tok) {
            // CIVIS-2026-0000123
            if self.sep(i) == Some("-")
                && self.sep(i + 1) == Some("-")
                && let (Some(y), Some(n)) = (self.year(i + 1), self.number(i + 2, 1))
            {
                return found(Some(tok), y, n, 3);
            }
            // CIVIS 2026/0000123: only an upper-case word that is not "PROT"
            // or "N" counts as a register, since any word may precede a
            // number in a sentence.
            let spaced = self
                .sep(i)
                .is_some_and(|s| !s.is_empty() && s.chars().all(char::is_whitespace));
            let upper = tok.bytes().all(|b| !b.is_ascii_lowercase());
            if spaced
                && upper
                && !is_keyword(tok)
                && self.digits_joined(i + 1)
                && let (Some(y), Some(n)) = (self.year(i + 1), self.number(i + 2, MIN_BARE_DIGITS))
            {
                return found(Some(tok), y, n, 3);
            }
        }
        // protocollo n. 0000123/2026
        if KEYWORDS.contains(&tok.to_lowercase().as_str()) {
            let filler = |s: &str| s.chars().all(|c| c.is_whitespace() || ".:°#".contains(c));
            let mut j = i + 1;
            if self.sep(i).is_some_and(filler) {
                if self
                    .tok(j)
                    .is_some_and(|t| NUMBER_WORDS.contains(&t.to_lowercase().as_str()))
                    && self.sep(j).is_some_and(filler)
                {
                    j += 1;
                }
                let slash = self.sep(j).is_some_and(|s| s.trim() == "/");
                if slash
                    && !self.digits_joined(j + 1)
                    && let (Some(n), Some(y)) = (self.number(j, MIN_BARE_DIGITS), self.year(j + 1))
                {
                    return found(None, y, n, j + 2 - i);
                }
            }
        }
        // 2026-0000123 or 2026/0000123, not part of a longer code of digits.
        let joined_before =
            i > 0 && self.digits_joined(i - 1) && self.tok(i - 1).is_some_and(all_digits);
        let joined_after = self.digits_joined(i + 1) && self.tok(i + 2).is_some_and(all_digits);
        if self.digits_joined(i)
            && !joined_before
            && !joined_after
            && let (Some(y), Some(n)) = (self.year(i), self.number(i + 1, MIN_BARE_DIGITS))
        {
            return found(None, y, n, 2);
        }
        None
    }
}

/// All protocol references in a mail subject or fax header, in order,
/// without duplicates.
pub fn find_references(text: &str) -> Vec<ProtocolRef> {
    let scanner = Scanner::new(text);
    let mut refs: Vec<ProtocolRef> = Vec::new();
    let mut i = 0;
    while i < scanner.tokens.len() {
        match scanner.reference_at(i) {
            Some((r, len)) => {
                if !refs.contains(&r) {
                    refs.push(r);
                }
                i += len;
            }
            None => i += 1,
        }
    }
    refs
}

/// The first of `acronyms` (in slice order) that appears in `subject` as a
/// whole word, ignoring case.
pub fn find_acronym<'a>(subject: &str, acronyms: &[&'a str]) -> Option<&'a str> {
    acronyms.iter().copied().find(|a| contains_word(subject, a))
}

fn contains_word(haystack: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    haystack.char_indices().any(|(i, _)| {
        let before_ok = haystack[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        before_ok
            && match_ignore_case(&haystack[i..], word).is_some_and(|end| {
                haystack[i + end..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric())
            })
    })
}

/// If `text` starts with `prefix` ignoring case, the byte length it covers.
fn match_ignore_case(text: &str, prefix: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    for p in prefix.chars() {
        let (_, c) = chars.next()?;
        if !c.to_lowercase().eq(p.to_lowercase()) {
            return None;
        }
    }
    Some(chars.next().map_or(text.len(), |(i, _)| i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(register: Option<&str>, year: i32, number: i64) -> ProtocolRef {
        ProtocolRef {
            register: register.map(String::from),
            year,
            number,
        }
    }

    #[test]
    fn display_pads_to_seven_digits() {
        assert_eq!(
            ProtocolNumber::new("civis", 2026, 123).to_string(),
            "CIVIS-2026-0000123"
        );
        assert_eq!(
            ProtocolNumber::new("BDNA", 2026, 12_345_678).to_string(),
            "BDNA-2026-12345678"
        );
        let lower = ProtocolNumber {
            register: "civis".into(),
            year: 2026,
            number: 1,
        };
        assert_eq!(lower.to_string(), "CIVIS-2026-0000001");
    }

    #[test]
    fn parse_display_form() {
        assert_eq!(
            "CIVIS-2026-0000123".parse(),
            Ok(ProtocolNumber::new("CIVIS", 2026, 123))
        );
        assert_eq!(
            "civis-2026-0000123".parse(),
            Ok(ProtocolNumber::new("CIVIS", 2026, 123))
        );
        assert_eq!(
            "BDNA2-2026-12345678".parse(),
            Ok(ProtocolNumber::new("BDNA2", 2026, 12_345_678))
        );
        let err = |s: &str| s.parse::<ProtocolNumber>().unwrap_err();
        assert_eq!(
            err("CIVIS-2026-123"),
            ProtocolNumberError::Number("CIVIS-2026-123".into())
        );
        assert_eq!(
            err("CIVIS-2026-01234567"),
            ProtocolNumberError::Number("CIVIS-2026-01234567".into())
        );
        assert_eq!(
            err("CIVIS-26-0000123"),
            ProtocolNumberError::Year("CIVIS-26-0000123".into())
        );
        assert_eq!(
            err("1CIVIS-2026-0000123"),
            ProtocolNumberError::Register("1CIVIS-2026-0000123".into())
        );
        assert_eq!(
            err("CIVIS 2026/0000123"),
            ProtocolNumberError::Format("CIVIS 2026/0000123".into())
        );
        assert_eq!(
            err(" CIVIS-2026-0000123"),
            ProtocolNumberError::Register(" CIVIS-2026-0000123".into())
        );
        assert_eq!(
            err("CIVIS-2026-12").to_string(),
            "numero di protocollo «CIVIS-2026-12» non valido: il numero deve avere almeno 7 cifre, senza zeri iniziali oltre la settima"
        );
    }

    #[test]
    fn references_in_all_accepted_forms() {
        assert_eq!(
            find_references("Re: CIVIS-2026-0000123 sollecito"),
            vec![r(Some("CIVIS"), 2026, 123)]
        );
        assert_eq!(
            find_references("civis-2026-0000123"),
            vec![r(Some("CIVIS"), 2026, 123)]
        );
        assert_eq!(
            find_references("Richiesta CIVIS 2026/0000123"),
            vec![r(Some("CIVIS"), 2026, 123)]
        );
        assert_eq!(
            find_references("vs. prot. 2026/0000123 del 3/3"),
            vec![r(None, 2026, 123)]
        );
        assert_eq!(
            find_references("protocollo n. 0000123/2026"),
            vec![r(None, 2026, 123)]
        );
        assert_eq!(
            find_references("Prot.N.0012345/2025"),
            vec![r(None, 2025, 12345)]
        );
        assert_eq!(
            find_references("rif 2026-0000123"),
            vec![r(None, 2026, 123)]
        );
        assert_eq!(
            find_references("[BDNA-2025-0000042]"),
            vec![r(Some("BDNA"), 2025, 42)]
        );
        assert_eq!(
            find_references("PROT-2026-0000007"),
            vec![r(Some("PROT"), 2026, 7)]
        );
    }

    #[test]
    fn several_references_in_order_without_duplicates() {
        let text = "BDNA-2026-0000002, CIVIS-2026-0000001 e di nuovo BDNA-2026-0000002 (prot. 2025/0009999)";
        assert_eq!(
            find_references(text),
            vec![
                r(Some("BDNA"), 2026, 2),
                r(Some("CIVIS"), 2026, 1),
                r(None, 2025, 9999)
            ]
        );
    }

    #[test]
    fn dates_phones_and_embedded_digits_are_not_references() {
        for text in [
            "scadenza 12/2026",
            "appuntamento del 25/11/2026",
            "data 2026-11-25",
            "telefono 051 2026/1234",
            "tel. +39 051 6543210",
            "codice X2026-0000123",
            "CIVIS-2026-0000123X",
            "12026-0000123",
            "2026-00001234-56",
            "77-2026-0000123",
            "anno 1999-0000123",
            "anno 2101/0000123",
            "del 2026/0000123/2",
            "pratica 2026/123",
            "prot. 123/2026",
        ] {
            assert_eq!(find_references(text), vec![], "{text}");
        }
    }

    #[test]
    fn lower_case_word_before_a_number_is_not_a_register() {
        assert_eq!(
            find_references("pratica 2026/0000123"),
            vec![r(None, 2026, 123)]
        );
        assert_eq!(
            find_references("PROT 2026/0000123"),
            vec![r(None, 2026, 123)]
        );
    }

    #[test]
    fn reference_matches_number() {
        let n = ProtocolNumber::new("CIVIS", 2026, 123);
        assert!(r(Some("CIVIS"), 2026, 123).matches(&n));
        assert!(r(None, 2026, 123).matches(&n));
        assert!(!r(Some("BDNA"), 2026, 123).matches(&n));
        assert!(!r(None, 2025, 123).matches(&n));
    }

    #[test]
    fn acronyms_as_whole_words() {
        let list = ["CIVIS", "BDNA"];
        assert_eq!(find_acronym("[BDNA] errore", &list), Some("BDNA"));
        assert_eq!(
            find_acronym("Richiesta assistenza BDNA: accesso", &list),
            Some("BDNA")
        );
        assert_eq!(find_acronym("bdna", &list), Some("BDNA"));
        assert_eq!(find_acronym("BDNAX errore", &list), None);
        assert_eq!(find_acronym("XBDNA errore", &list), None);
        assert_eq!(find_acronym("àBDNA", &list), None);
        assert_eq!(
            find_acronym("civis e BDNA", &["BDNA", "CIVIS"]),
            Some("BDNA")
        );
        assert_eq!(find_acronym("Civis", &["civis"]), Some("civis"));
        assert_eq!(find_acronym("qualcosa", &["", "x"]), None);
        assert_eq!(
            find_acronym("ADE-BO richiesta", &["ADE-BO"]),
            Some("ADE-BO")
        );
    }

    proptest! {
        #[test]
        fn display_parses_back(register in "[A-Za-z][A-Za-z0-9]{0,9}", year in 1990i32..=2110, number in 0i64..1_000_000_000_000) {
            let n = ProtocolNumber::new(&register, year, number);
            let text = n.to_string();
            prop_assert_eq!(text.parse::<ProtocolNumber>(), Ok(n.clone()));
            let found = find_references(&format!("Re: {text} grazie"));
            if (2000..=2100).contains(&year) {
                prop_assert_eq!(found, vec![r(Some(&register.to_ascii_uppercase()), year, number)]);
            } else {
                prop_assert_eq!(found, vec![]);
            }
        }

        #[test]
        fn scanning_never_panics(text in "\\PC{0,60}") {
            let refs = find_references(&text);
            for x in &refs {
                prop_assert!((2000..=2100).contains(&x.year));
            }
        }

        #[test]
        fn acronym_inside_a_word_is_not_found(prefix in "[a-zA-Z0-9]{1,5}", suffix in "[a-zA-Z0-9]{0,5}") {
            let subject = format!("oggetto {prefix}BDNA{suffix}");
            prop_assert_eq!(find_acronym(&subject, &["BDNA"]), None);
            let spaced = format!("{prefix} BDNA {suffix}");
            prop_assert_eq!(find_acronym(&spaced, &["bdna"]), Some("bdna"));
        }
    }
}
