//! The request form of a channel, configured as text by an administrator and
//! validated here so that the web form and the mail/fax intake agree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fiscal_code::FiscalCode;
use crate::vat_number::VatNumber;

const TEXT_MAX: usize = 500;
const LONG_TEXT_MAX: usize = 10_000;
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 6..=20;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    Number,
    Date,
    FiscalCode,
    Email,
    Phone,
    Choice(Vec<String>),
    Attachment,
}

impl FieldKind {
    /// The Italian name used in the form text ("scelta:a/b" for choices).
    pub fn to_spec(&self) -> String {
        match self {
            FieldKind::Text => "testo".into(),
            FieldKind::LongText => "testo_lungo".into(),
            FieldKind::Number => "numero".into(),
            FieldKind::Date => "data".into(),
            FieldKind::FiscalCode => "codice_fiscale".into(),
            FieldKind::Email => "email".into(),
            FieldKind::Phone => "telefono".into(),
            FieldKind::Choice(options) => format!("scelta:{}", options.join("/")),
            FieldKind::Attachment => "allegato".into(),
        }
    }

    fn parse(text: &str) -> Result<FieldKind, String> {
        let (name, options) = match text.split_once(':') {
            Some((name, options)) => (name.trim(), Some(options)),
            None => (text, None),
        };
        let lower = name.to_lowercase();
        let kind = match (lower.as_str(), options) {
            ("testo" | "text", None) => FieldKind::Text,
            ("testo_lungo" | "long_text", None) => FieldKind::LongText,
            ("numero" | "number", None) => FieldKind::Number,
            ("data" | "date", None) => FieldKind::Date,
            ("codice_fiscale" | "fiscal_code", None) => FieldKind::FiscalCode,
            ("email", None) => FieldKind::Email,
            ("telefono" | "phone", None) => FieldKind::Phone,
            ("allegato" | "attachment", None) => FieldKind::Attachment,
            ("scelta" | "choice", Some(options)) => FieldKind::Choice(parse_options(options)?),
            ("scelta" | "choice", None) => {
                return Err("la scelta deve elencare le opzioni (es. «scelta:sì/no»)".into());
            }
            _ => {
                return Err(format!(
                    "tipo «{text}» sconosciuto (usare testo, testo_lungo, numero, data, codice_fiscale, email, telefono, scelta:opzione1/opzione2, allegato)"
                ));
            }
        };
        Ok(kind)
    }
}

fn parse_options(text: &str) -> Result<Vec<String>, String> {
    let mut options: Vec<String> = Vec::new();
    for option in text.split('/') {
        let option = option.trim();
        if option.is_empty() {
            return Err(format!("opzione vuota nella scelta «{}»", text.trim()));
        }
        if options.iter().any(|o| o == option) {
            return Err(format!("opzione «{option}» ripetuta"));
        }
        options.push(option.to_string());
    }
    Ok(options)
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldSpec {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FormSpec {
    pub fields: Vec<FieldSpec>,
}

/// A problem with one submitted field; `message` is shown next to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("{key}: {message}")]
pub struct FieldError {
    pub key: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("definizione del modulo, riga {line}: {reason}")]
pub struct FormSpecError {
    pub line: usize,
    pub reason: String,
}

/// `[a-z][a-z0-9_]*`, the shape of keys in forms and routing rules.
pub fn is_valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl FormSpec {
    /// One field per line: `key | label | kind | obbligatorio|facoltativo`.
    pub fn parse(spec: &str) -> Result<FormSpec, FormSpecError> {
        let mut fields: Vec<FieldSpec> = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (index, raw) in spec.lines().enumerate() {
            let line = index + 1;
            let text = raw.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let err = |reason: String| FormSpecError { line, reason };
            let parts: Vec<&str> = text.split('|').map(str::trim).collect();
            let [key, label, kind, required] = parts.as_slice() else {
                return Err(err(format!(
                    "attese 4 parti separate da «|» (chiave | etichetta | tipo | obbligatorio/facoltativo), trovate {}",
                    parts.len()
                )));
            };
            if !is_valid_key(key) {
                return Err(err(format!(
                    "chiave «{key}» non valida: deve iniziare con una lettera minuscola e contenere solo lettere minuscole, cifre e «_»"
                )));
            }
            if let Some(first) = seen.get(*key) {
                return Err(err(format!("chiave «{key}» già usata alla riga {first}")));
            }
            if label.is_empty() {
                return Err(err(format!("etichetta mancante per la chiave «{key}»")));
            }
            let kind = FieldKind::parse(kind).map_err(err)?;
            let required = match required.to_lowercase().as_str() {
                "obbligatorio" | "required" => true,
                "facoltativo" | "optional" => false,
                other => {
                    return Err(err(format!(
                        "indicare «obbligatorio» o «facoltativo», trovato «{other}»"
                    )));
                }
            };
            seen.insert(key.to_string(), line);
            fields.push(FieldSpec {
                key: key.to_string(),
                label: label.to_string(),
                kind,
                required,
            });
        }
        Ok(FormSpec { fields })
    }

    /// Canonical text, one line per field, that `parse` reads back equal.
    pub fn to_spec(&self) -> String {
        self.fields
            .iter()
            .map(|f| {
                format!(
                    "{} | {} | {} | {}\n",
                    f.key,
                    f.label,
                    f.kind.to_spec(),
                    if f.required {
                        "obbligatorio"
                    } else {
                        "facoltativo"
                    }
                )
            })
            .collect()
    }

    /// Checks the submitted values (trimmed) and returns the normalized
    /// non-empty ones, or every problem, one per field in form order.
    pub fn validate(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
        let mut out = BTreeMap::new();
        let mut errors = Vec::new();
        for field in &self.fields {
            let value = values.get(&field.key).map_or("", |v| v.trim());
            if value.is_empty() {
                if field.required {
                    errors.push(FieldError {
                        key: field.key.clone(),
                        message: "campo obbligatorio".into(),
                    });
                }
                continue;
            }
            match normalize(&field.kind, value) {
                Ok(v) => {
                    out.insert(field.key.clone(), v);
                }
                Err(message) => errors.push(FieldError {
                    key: field.key.clone(),
                    message,
                }),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// The normalized form of a non-empty, trimmed value, or the reason it is
/// refused.
fn normalize(kind: &FieldKind, value: &str) -> Result<String, String> {
    match kind {
        FieldKind::Text => max_chars(value, TEXT_MAX),
        FieldKind::LongText => max_chars(value, LONG_TEXT_MAX),
        FieldKind::Number => normalize_number(value).ok_or_else(|| "non è un numero valido".into()),
        FieldKind::Date => {
            normalize_date(value).ok_or_else(|| "non è una data valida (gg/mm/aaaa)".into())
        }
        FieldKind::FiscalCode => normalize_tax_code(value),
        FieldKind::Email => {
            normalize_email(value).ok_or_else(|| "non è un indirizzo email valido".into())
        }
        FieldKind::Phone => normalize_phone(value).ok_or_else(|| {
            format!(
                "non è un numero di telefono valido (da {} a {} cifre)",
                PHONE_DIGITS.start(),
                PHONE_DIGITS.end()
            )
        }),
        FieldKind::Choice(options) => {
            if options.iter().any(|o| o == value) {
                Ok(value.to_string())
            } else {
                let list: Vec<String> = options.iter().map(|o| format!("«{o}»")).collect();
                Err(format!(
                    "valore non ammesso: scegliere tra {}",
                    list.join(", ")
                ))
            }
        }
        FieldKind::Attachment => Ok(value.to_string()),
    }
}

fn max_chars(value: &str, max: usize) -> Result<String, String> {
    let count = value.chars().count();
    if count > max {
        Err(format!(
            "testo troppo lungo: al massimo {max} caratteri (ne ha {count})"
        ))
    } else {
        Ok(value.to_string())
    }
}

/// "+0012,50" -> "12.5": optional sign, digits, optional decimal part with
/// '.' or ',' (Italian users write the comma).
pub fn normalize_number(value: &str) -> Option<String> {
    let (negative, rest) = match value.as_bytes().first()? {
        b'-' => (true, &value[1..]),
        b'+' => (false, &value[1..]),
        _ => (false, value),
    };
    let (int, frac) = match rest.split_once(['.', ',']) {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.unwrap_or("").trim_end_matches('0');
    let mut out = String::new();
    if negative && (int != "0" || !frac.is_empty()) {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

/// "5/3/2026" or "2026-03-05" -> "2026-03-05".
pub fn normalize_date(value: &str) -> Option<String> {
    let (y, m, d) = if let Some((d, rest)) = value.split_once('/') {
        let (m, y) = rest.split_once('/')?;
        (y, m, d)
    } else {
        let mut parts = value.splitn(3, '-');
        (parts.next()?, parts.next()?, parts.next()?)
    };
    let ok =
        |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(y, &[4]) || !ok(m, &[1, 2]) || !ok(d, &[1, 2]) {
        return None;
    }
    let date = jiff::civil::Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    ))
}

/// A personal codice fiscale, or the 11-digit one of a company (its partita
/// IVA), upper-cased.
fn normalize_tax_code(value: &str) -> Result<String, String> {
    let upper = value.to_uppercase();
    let digits = upper.strip_prefix("IT").unwrap_or(&upper);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        VatNumber::parse(&upper)
            .map(|v| v.as_str().to_string())
            .map_err(|e| format!("codice fiscale numerico non valido: {e}"))
    } else {
        FiscalCode::parse(&upper)
            .map(|c| c.as_str().to_string())
            .map_err(|e| format!("codice fiscale non valido: {e}"))
    }
}

/// A basic shape check: one '@', a dotted domain, no spaces. The domain is
/// lower-cased; the local part is kept as typed.
pub fn normalize_email(value: &str) -> Option<String> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = value.split_once('@')?;
    if local.is_empty() || domain.contains('@') || !domain.contains('.') {
        return None;
    }
    if domain.split('.').any(str::is_empty) {
        return None;
    }
    Some(format!("{local}@{}", domain.to_lowercase()))
}

/// Digits and spaces with an optional leading '+'; spaces are dropped.
pub fn normalize_phone(value: &str) -> Option<String> {
    let (plus, rest) = match value.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", value),
    };
    if !rest.chars().all(|c| c.is_ascii_digit() || c == ' ') {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    PHONE_DIGITS
        .contains(&digits.len())
        .then(|| format!("{plus}{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SPEC: &str = "\
# modulo CIVIS
nome | Nome e cognome | testo | obbligatorio
codice_fiscale | Codice fiscale | codice_fiscale | obbligatorio

descrizione | Descrizione del problema | testo_lungo | facoltativo
importo | Importo | numero | facoltativo
data_atto | Data dell'atto | data | facoltativo
email | Email | email | required
telefono | Telefono | phone | optional
motivo | Motivo | scelta: rimborso / rettifica / Altro | obbligatorio
documento | Documento | allegato | facoltativo
";

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_all_kinds() {
        let form = FormSpec::parse(SPEC).unwrap();
        let kinds: Vec<&FieldKind> = form.fields.iter().map(|f| &f.kind).collect();
        assert_eq!(
            kinds,
            vec![
                &FieldKind::Text,
                &FieldKind::FiscalCode,
                &FieldKind::LongText,
                &FieldKind::Number,
                &FieldKind::Date,
                &FieldKind::Email,
                &FieldKind::Phone,
                &FieldKind::Choice(vec!["rimborso".into(), "rettifica".into(), "Altro".into()]),
                &FieldKind::Attachment,
            ]
        );
        assert!(form.fields[0].required && !form.fields[2].required);
        assert!(form.fields[5].required && !form.fields[6].required);
        assert_eq!(form.fields[4].label, "Data dell'atto");
        assert_eq!(FormSpec::parse(&form.to_spec()), Ok(form));
    }

    #[test]
    fn english_aliases() {
        let form = FormSpec::parse("a | A | long_text | required\nb | B | CHOICE:x/y | optional\nc | C | fiscal_code | optional").unwrap();
        assert_eq!(form.fields[0].kind, FieldKind::LongText);
        assert_eq!(
            form.fields[1].kind,
            FieldKind::Choice(vec!["x".into(), "y".into()])
        );
        assert_eq!(
            form.to_spec(),
            "a | A | testo_lungo | obbligatorio\nb | B | scelta:x/y | facoltativo\nc | C | codice_fiscale | facoltativo\n"
        );
    }

    #[test]
    fn spec_errors_give_line_and_reason() {
        let err = |s: &str| FormSpec::parse(s).unwrap_err();
        assert_eq!(err("\n# x\nnome | Nome | testo").line, 3);
        assert!(err("nome | Nome | testo").reason.contains("trovate 3"));
        assert!(
            err("Nome | Nome | testo | obbligatorio")
                .reason
                .contains("chiave «Nome» non valida")
        );
        assert!(
            err("1a | Nome | testo | obbligatorio")
                .reason
                .contains("non valida")
        );
        let dup = err("a | A | testo | obbligatorio\n\na | B | testo | facoltativo");
        assert_eq!(
            (dup.line, dup.reason.as_str()),
            (3, "chiave «a» già usata alla riga 1")
        );
        assert!(
            err("a |  | testo | obbligatorio")
                .reason
                .contains("etichetta mancante")
        );
        assert!(
            err("a | A | colore | obbligatorio")
                .reason
                .contains("tipo «colore» sconosciuto")
        );
        assert!(
            err("a | A | scelta | obbligatorio")
                .reason
                .contains("elencare le opzioni")
        );
        assert!(
            err("a | A | scelta:x//y | obbligatorio")
                .reason
                .contains("opzione vuota")
        );
        assert!(
            err("a | A | scelta:x/x | obbligatorio")
                .reason
                .contains("opzione «x» ripetuta")
        );
        assert!(
            err("a | A | testo | forse")
                .reason
                .contains("trovato «forse»")
        );
        assert_eq!(
            err("a | A | testo | forse").to_string(),
            "definizione del modulo, riga 1: indicare «obbligatorio» o «facoltativo», trovato «forse»"
        );
        assert_eq!(
            FormSpec::parse("\n# solo commenti\n"),
            Ok(FormSpec::default())
        );
    }

    #[test]
    fn valid_submission_is_normalized() {
        let form = FormSpec::parse(SPEC).unwrap();
        let out = form
            .validate(&values(&[
                ("nome", "  Mario Rossi "),
                ("codice_fiscale", "rssmra80a01h501u"),
                ("descrizione", ""),
                ("importo", "0012,50"),
                ("data_atto", "5/3/2026"),
                ("email", "Mario.Rossi@Example.IT"),
                ("telefono", "+39 051 123 4567"),
                ("motivo", "rimborso"),
                ("documento", "ricevuta.pdf"),
                ("ignoto", "ignorato"),
            ]))
            .unwrap();
        assert_eq!(
            out,
            values(&[
                ("nome", "Mario Rossi"),
                ("codice_fiscale", "RSSMRA80A01H501U"),
                ("importo", "12.5"),
                ("data_atto", "2026-03-05"),
                ("email", "Mario.Rossi@example.it"),
                ("telefono", "+390511234567"),
                ("motivo", "rimborso"),
                ("documento", "ricevuta.pdf"),
            ])
        );
    }

    #[test]
    fn companies_give_their_vat_number() {
        let form = FormSpec::parse("cf | CF | codice_fiscale | obbligatorio").unwrap();
        let ok = form.validate(&values(&[("cf", "06363391001")])).unwrap();
        assert_eq!(ok["cf"], "06363391001");
        let ok = form.validate(&values(&[("cf", "it06363391001")])).unwrap();
        assert_eq!(ok["cf"], "06363391001");
        let bad = form
            .validate(&values(&[("cf", "06363391002")]))
            .unwrap_err();
        assert!(
            bad[0]
                .message
                .starts_with("codice fiscale numerico non valido: cifra di controllo errata"),
            "{}",
            bad[0].message
        );
        let bad = form
            .validate(&values(&[("cf", "RSSMRA80A01H501X")]))
            .unwrap_err();
        assert!(
            bad[0]
                .message
                .starts_with("codice fiscale non valido: carattere di controllo errato"),
            "{}",
            bad[0].message
        );
    }

    #[test]
    fn all_errors_in_form_order() {
        let form = FormSpec::parse(SPEC).unwrap();
        let errors = form
            .validate(&values(&[
                ("nome", "   "),
                ("codice_fiscale", "RSSMRA80A01H501U"),
                ("descrizione", &"x".repeat(10_001)),
                ("importo", "1.234,5"),
                ("data_atto", "31/02/2026"),
                ("email", "mario rossi@example.it"),
                ("telefono", "051-123456"),
                ("motivo", "Rimborso"),
            ]))
            .unwrap_err();
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.key.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("nome", "campo obbligatorio"),
                (
                    "descrizione",
                    "testo troppo lungo: al massimo 10000 caratteri (ne ha 10001)"
                ),
                ("importo", "non è un numero valido"),
                ("data_atto", "non è una data valida (gg/mm/aaaa)"),
                ("email", "non è un indirizzo email valido"),
                (
                    "telefono",
                    "non è un numero di telefono valido (da 6 a 20 cifre)"
                ),
                (
                    "motivo",
                    "valore non ammesso: scegliere tra «rimborso», «rettifica», «Altro»"
                ),
            ]
        );
        assert_eq!(errors[0].to_string(), "nome: campo obbligatorio");
    }

    #[test]
    fn text_limit_counts_characters() {
        let form = FormSpec::parse("t | T | testo | facoltativo").unwrap();
        assert!(form.validate(&values(&[("t", &"è".repeat(500))])).is_ok());
        assert!(form.validate(&values(&[("t", &"è".repeat(501))])).is_err());
    }

    #[test]
    fn value_shapes() {
        assert_eq!(normalize_number("-0,000").as_deref(), Some("0"));
        assert_eq!(normalize_number("-3.10").as_deref(), Some("-3.1"));
        assert_eq!(normalize_number("+7").as_deref(), Some("7"));
        for bad in ["", "-", ",5", "5,", "1e3", "1 000", "abc", "1.2.3"] {
            assert_eq!(normalize_number(bad), None, "{bad}");
        }
        assert_eq!(normalize_date("2028-02-29").as_deref(), Some("2028-02-29"));
        assert_eq!(normalize_date("29/02/2027"), None);
        assert_eq!(normalize_date("05/03/26"), None);
        assert_eq!(normalize_date("2026-3-5-1"), None);
        assert_eq!(normalize_email("a@b"), None);
        assert_eq!(normalize_email("a@@b.it"), None);
        assert_eq!(normalize_email("@b.it"), None);
        assert_eq!(normalize_email("a@b..it"), None);
        assert_eq!(normalize_phone("12345"), None);
        assert_eq!(normalize_phone("+39 12+345678"), None);
        assert_eq!(normalize_phone(&"1".repeat(21)), None);
        assert_eq!(normalize_phone("051 654321").as_deref(), Some("051654321"));
    }

    fn arb_kind() -> impl Strategy<Value = FieldKind> {
        prop_oneof![
            Just(FieldKind::Text),
            Just(FieldKind::LongText),
            Just(FieldKind::Number),
            Just(FieldKind::Date),
            Just(FieldKind::FiscalCode),
            Just(FieldKind::Email),
            Just(FieldKind::Phone),
            Just(FieldKind::Attachment),
            proptest::collection::btree_set(
                "[A-Za-zà-ù0-9]([A-Za-zà-ù0-9 ]{0,8}[A-Za-zà-ù0-9])?",
                1..5
            )
            .prop_map(|s| FieldKind::Choice(s.into_iter().collect())),
        ]
    }

    fn arb_form() -> impl Strategy<Value = FormSpec> {
        proptest::collection::btree_map(
            "[a-z][a-z0-9_]{0,10}",
            (
                "[A-Za-zà-ù'(][A-Za-zà-ù0-9 '()?.]{0,20}",
                arb_kind(),
                any::<bool>(),
            ),
            0..8,
        )
        .prop_map(|m| FormSpec {
            fields: m
                .into_iter()
                .map(|(key, (label, kind, required))| FieldSpec {
                    key,
                    label: label.trim().to_string(),
                    kind,
                    required,
                })
                .collect(),
        })
    }

    proptest! {
        #[test]
        fn spec_round_trips(form in arb_form()) {
            prop_assert_eq!(FormSpec::parse(&form.to_spec()), Ok(form));
        }

        #[test]
        fn validation_reports_each_missing_required_field(form in arb_form()) {
            match form.validate(&BTreeMap::new()) {
                Ok(out) => {
                    prop_assert!(out.is_empty());
                    prop_assert!(form.fields.iter().all(|f| !f.required));
                }
                Err(errors) => {
                    let expected: Vec<&str> = form.fields.iter().filter(|f| f.required).map(|f| f.key.as_str()).collect();
                    let got: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
                    prop_assert_eq!(got, expected);
                }
            }
        }

        #[test]
        fn number_normalization_is_idempotent(sign in "[-+]?", int in "[0-9]{1,12}", frac in proptest::option::of("[0-9]{1,6}"), comma in any::<bool>()) {
            let sep = if comma { "," } else { "." };
            let text = match &frac { Some(f) => format!("{sign}{int}{sep}{f}"), None => format!("{sign}{int}") };
            let once = normalize_number(&text).unwrap();
            prop_assert_eq!(normalize_number(&once), Some(once.clone()));
            prop_assert!(!once.contains(','));
        }

        #[test]
        fn italian_and_iso_dates_agree(y in 1000i16..=9999, m in 1i8..=12, d in 1i8..=28) {
            let iso = format!("{y:04}-{m:02}-{d:02}");
            prop_assert_eq!(normalize_date(&format!("{d}/{m}/{y}")), Some(iso.clone()));
            prop_assert_eq!(normalize_date(&iso), Some(iso.clone()));
        }

        #[test]
        fn validate_never_panics(value in "\\PC{0,30}") {
            let form = FormSpec::parse(SPEC).unwrap();
            let all: BTreeMap<String, String> = form.fields.iter().map(|f| (f.key.clone(), value.clone())).collect();
            if let Err(errors) = form.validate(&all) {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.iter().all(|e| !e.message.is_empty()));
            }
        }
    }
}
