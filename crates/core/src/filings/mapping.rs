//! Which fields of an integrated service's form an agency receives, and where
//! they go in its payload. Written as text by the central administrator, one
//! assignment per line:
//!
//! ```text
//! # INPS: iscrizione del datore di lavoro
//! datore_lavoro.codice_fiscale = codice_fiscale
//! datore_lavoro.denominazione = denominazione
//! adempimento = "iscrizione_azienda"
//! ```
//!
//! The left side is a dotted path in the agency's JSON; the right side a form
//! field, or a quoted constant.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::desk::form::{FormSpec, is_valid_key};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Field(String),
    Constant(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub target: Vec<String>,
    pub source: Source,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    pub assignments: Vec<Assignment>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("mappatura, riga {line}: {reason}")]
pub struct MappingError {
    pub line: usize,
    pub reason: String,
}

/// A segment of a target path: a letter, then letters, digits or `_`.
fn is_segment(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Mapping {
    /// Parses the text and checks every source field against the form.
    pub fn parse(text: &str, form: &FormSpec) -> Result<Mapping, MappingError> {
        let mut assignments: Vec<Assignment> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let err = |reason: String| MappingError { line, reason };
            let text = raw.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let Some((left, right)) = text.split_once('=') else {
                return Err(err(
                    "attesa una riga «percorso.nel.tracciato = campo_del_modulo»".into(),
                ));
            };
            let (left, right) = (left.trim(), right.trim());
            let target: Vec<String> = left.split('.').map(str::to_string).collect();
            if let Some(bad) = target.iter().find(|s| !is_segment(s)) {
                return Err(err(format!(
                    "percorso «{left}» non valido: «{bad}» deve iniziare con una lettera e contenere solo lettere, cifre e «_»"
                )));
            }
            let source = if let Some(inner) = right.strip_prefix('"') {
                let Some(constant) = inner.strip_suffix('"') else {
                    return Err(err(format!(
                        "costante {right} senza virgolette di chiusura"
                    )));
                };
                if constant.contains('"') {
                    return Err(err(format!(
                        "costante {right}: virgolette non ammesse al suo interno"
                    )));
                }
                Source::Constant(constant.to_string())
            } else {
                if !is_valid_key(right) {
                    return Err(err(format!(
                        "«{right}» non è un campo né una costante tra virgolette"
                    )));
                }
                if !form.fields.iter().any(|f| f.key == right) {
                    return Err(err(format!("il modulo non ha il campo «{right}»")));
                }
                Source::Field(right.to_string())
            };
            for other in &assignments {
                let (short, long) = if other.target.len() <= target.len() {
                    (&other.target, &target)
                } else {
                    (&target, &other.target)
                };
                if long.starts_with(short) {
                    return Err(err(format!(
                        "il percorso «{left}» è già assegnato o si sovrappone a «{}»",
                        other.target.join(".")
                    )));
                }
            }
            assignments.push(Assignment { target, source });
        }
        if assignments.is_empty() {
            return Err(MappingError {
                line: 0,
                reason: "nessun campo assegnato: l'ente non riceverebbe nulla".into(),
            });
        }
        Ok(Mapping { assignments })
    }

    /// The form fields this recipient receives, in mapping order.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in &self.assignments {
            if let Source::Field(f) = &a.source
                && !out.contains(&f.as_str())
            {
                out.push(f);
            }
        }
        out
    }

    /// The agency's payload from the filing's (validated) values. Fields left
    /// empty in the form are left out.
    pub fn apply(&self, values: &BTreeMap<String, String>) -> Value {
        let mut root = Map::new();
        for a in &self.assignments {
            let value = match &a.source {
                Source::Constant(c) => c.clone(),
                Source::Field(f) => match values.get(f) {
                    Some(v) if !v.is_empty() => v.clone(),
                    _ => continue,
                },
            };
            insert_at(&mut root, &a.target, value);
        }
        Value::Object(root)
    }
}

/// Puts `value` at `path`, making the objects on the way. Paths never run
/// through a leaf (checked by `parse`).
fn insert_at(node: &mut Map<String, Value>, path: &[String], value: String) {
    match path {
        [] => {}
        [last] => {
            node.insert(last.clone(), Value::String(value));
        }
        [first, rest @ ..] => {
            let entry = node
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(next) = entry {
                insert_at(next, rest, value);
            }
        }
    }
}

impl fmt::Display for Mapping {
    /// Canonical text that `parse` reads back equal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.assignments {
            let source = match &a.source {
                Source::Field(k) => k.clone(),
                Source::Constant(c) => format!("\"{c}\""),
            };
            writeln!(f, "{} = {source}", a.target.join("."))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn form() -> FormSpec {
        FormSpec::parse(
            "codice_fiscale | Codice fiscale | codice_fiscale | obbligatorio\n\
             denominazione | Denominazione | testo | obbligatorio\n\
             ateco | Codice ATECO | testo | facoltativo\n",
        )
        .unwrap()
    }

    #[test]
    fn maps_fields_and_constants_into_nested_json() {
        let m = Mapping::parse(
            "# INPS\nditta.cf = codice_fiscale\nditta.nome = denominazione\nattivita.ateco = ateco\ntipo = \"iscrizione\"\n",
            &form(),
        )
        .unwrap();
        assert_eq!(m.fields(), vec!["codice_fiscale", "denominazione", "ateco"]);
        let values = BTreeMap::from([
            ("codice_fiscale".to_string(), "01234567897".to_string()),
            ("denominazione".to_string(), "Estense S.r.l.".to_string()),
        ]);
        assert_eq!(
            m.apply(&values),
            serde_json::json!({"ditta": {"cf": "01234567897", "nome": "Estense S.r.l."}, "tipo": "iscrizione"})
        );
    }

    #[test]
    fn refuses_unknown_fields_overlaps_and_bad_lines_naming_the_line() {
        let f = form();
        let e = Mapping::parse("a = codice_fiscale\nb = partita_iva\n", &f).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("partita_iva"), "{e}");
        let e = Mapping::parse("a.b = codice_fiscale\na = denominazione\n", &f).unwrap_err();
        assert!(e.reason.contains("sovrappone"), "{e}");
        let e = Mapping::parse("a.b = codice_fiscale\na.b = denominazione\n", &f).unwrap_err();
        assert!(e.reason.contains("già assegnato"), "{e}");
        assert!(Mapping::parse("solo testo\n", &f).is_err());
        assert!(Mapping::parse("a..b = ateco\n", &f).is_err());
        assert!(Mapping::parse("a = \"aperta\n", &f).is_err());
        assert!(Mapping::parse("# nulla\n", &f).is_err());
    }

    proptest! {
        #[test]
        fn printed_mappings_read_back_equal(
            targets in proptest::collection::btree_set("[a-z][a-z0-9_]{0,6}", 1..6),
            constants in proptest::collection::vec("[A-Za-z0-9 _.-]{0,12}", 6),
            use_field in proptest::collection::vec(any::<bool>(), 6),
        ) {
            let fields = ["codice_fiscale", "denominazione", "ateco"];
            let assignments: Vec<Assignment> = targets.iter().enumerate().map(|(i, t)| Assignment {
                target: vec!["x".to_string(), t.clone()],
                source: if use_field[i] { Source::Field(fields[i % 3].to_string()) } else { Source::Constant(constants[i].clone()) },
            }).collect();
            let m = Mapping { assignments };
            let back = Mapping::parse(&m.to_string(), &form()).unwrap();
            prop_assert_eq!(back, m);
        }
    }
}
