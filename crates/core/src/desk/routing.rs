//! Routing of a new request: rules written by an administrator pick an office
//! (or "the competent office" by the requester's province), and among equal
//! candidates the least loaded office that is open wins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::form::is_valid_key;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OfficeCandidate {
    pub office_id: i64,
    pub code: String,
    pub province: Option<String>,
    pub open_requests: i64,
    pub accepting: bool,
    pub open_now: bool,
}

/// Among the offices accepting requests, the open one with the fewest open
/// requests (ties: lowest id). If none is open now, the least loaded
/// accepting one: the request waits for it to open.
pub fn choose_office(candidates: &[OfficeCandidate]) -> Option<i64> {
    let least_loaded = |open_only: bool| {
        candidates
            .iter()
            .filter(|c| c.accepting && (c.open_now || !open_only))
            .min_by_key(|c| (c.open_requests, c.office_id))
            .map(|c| c.office_id)
    };
    least_loaded(true).or_else(|| least_loaded(false))
}

/// "Ufficio competente": the accepting office in the requester's province
/// (case-insensitive); if several, the one `choose_office` prefers.
pub fn competent_office(
    candidates: &[OfficeCandidate],
    requester_province: Option<&str>,
) -> Option<i64> {
    let province = requester_province?.trim();
    if province.is_empty() {
        return None;
    }
    let local: Vec<OfficeCandidate> = candidates
        .iter()
        .filter(|c| {
            c.province
                .as_deref()
                .is_some_and(|p| p.trim().to_lowercase() == province.to_lowercase())
        })
        .cloned()
        .collect();
    choose_office(&local)
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleCondition {
    SubjectContains(Vec<String>),
    FieldEquals { key: String, value: String },
    Always,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleTarget {
    Office(String),
    CompetentOffice,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoutingRule {
    pub condition: RuleCondition,
    pub target: RuleTarget,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("regole di instradamento, riga {line}: {reason}")]
pub struct RoutingError {
    pub line: usize,
    pub reason: String,
}

/// If `text` starts with the words `words` (ignoring case and the amount of
/// space between them), what follows.
fn strip_words<'a>(text: &'a str, words: &[&str]) -> Option<&'a str> {
    let mut rest = text.trim_start();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            let trimmed = rest.trim_start();
            if trimmed.len() == rest.len() {
                return None;
            }
            rest = trimmed;
        }
        let head = rest.get(..word.len())?;
        if !head.eq_ignore_ascii_case(word) {
            return None;
        }
        rest = &rest[word.len()..];
    }
    // The last word must end there: "campoX" is not "campo".
    match rest.chars().next() {
        Some(c) if c.is_alphanumeric() || c == '_' => None,
        _ => Some(rest),
    }
}

fn parse_condition(text: &str) -> Result<RuleCondition, String> {
    let t = text.trim();
    if strip_words(t, &["sempre"]).or_else(|| strip_words(t, &["always"])) == Some("") {
        return Ok(RuleCondition::Always);
    }
    let subject = strip_words(t, &["oggetto", "contiene"])
        .or_else(|| strip_words(t, &["subject", "contains"]));
    if let Some(rest) = subject {
        let mut keywords = Vec::new();
        for keyword in rest.split('|') {
            let keyword = keyword.trim();
            if keyword.is_empty() {
                return Err(
                    "parola chiave vuota dopo «oggetto contiene» (separare le parole con «|»)"
                        .into(),
                );
            }
            keywords.push(keyword.to_string());
        }
        return Ok(RuleCondition::SubjectContains(keywords));
    }
    if let Some(rest) = strip_words(t, &["campo"]).or_else(|| strip_words(t, &["field"])) {
        let Some((key, value)) = rest.split_once('=') else {
            return Err(format!("atteso «campo chiave = valore», trovato «{t}»"));
        };
        let (key, value) = (key.trim(), value.trim());
        if !is_valid_key(key) {
            return Err(format!("nome di campo «{key}» non valido"));
        }
        if value.is_empty() {
            return Err(format!("valore mancante per il campo «{key}»"));
        }
        return Ok(RuleCondition::FieldEquals {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Err(format!(
        "condizione «{t}» non riconosciuta (usare «oggetto contiene ...», «campo chiave = valore» o «sempre»)"
    ))
}

fn parse_target(text: &str) -> Result<RuleTarget, String> {
    let t = text.trim();
    for words in [
        &["ufficio", "competente"][..],
        &["office", "competent"],
        &["competent", "office"],
    ] {
        if strip_words(t, words) == Some("") {
            return Ok(RuleTarget::CompetentOffice);
        }
    }
    let code = strip_words(t, &["ufficio"])
        .or_else(|| strip_words(t, &["office"]))
        .map(str::trim);
    match code {
        Some(code) if !code.is_empty() && !code.contains(char::is_whitespace) => {
            Ok(RuleTarget::Office(code.to_string()))
        }
        Some(code) if !code.is_empty() => Err(format!(
            "codice ufficio «{code}» non valido: non può contenere spazi"
        )),
        _ => Err(format!(
            "destinazione «{t}» non riconosciuta (usare «ufficio CODICE» o «ufficio competente»)"
        )),
    }
}

/// One rule per line, `condition => target`; blank lines and `#` comments
/// are skipped.
pub fn parse_rules(spec: &str) -> Result<Vec<RoutingRule>, RoutingError> {
    let mut rules = Vec::new();
    for (index, raw) in spec.lines().enumerate() {
        let line = index + 1;
        let text = raw.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let err = |reason: String| RoutingError { line, reason };
        let Some((condition, target)) = text.split_once("=>") else {
            return Err(err("manca «=>» tra condizione e ufficio".into()));
        };
        if target.contains("=>") {
            return Err(err("«=>» ripetuto".into()));
        }
        rules.push(RoutingRule {
            condition: parse_condition(condition).map_err(err)?,
            target: parse_target(target).map_err(err)?,
        });
    }
    Ok(rules)
}

/// Canonical text, one rule per line, that `parse_rules` reads back equal.
pub fn rules_to_spec(rules: &[RoutingRule]) -> String {
    rules
        .iter()
        .map(|rule| {
            let condition = match &rule.condition {
                RuleCondition::SubjectContains(keywords) => {
                    format!("oggetto contiene {}", keywords.join(" | "))
                }
                RuleCondition::FieldEquals { key, value } => format!("campo {key} = {value}"),
                RuleCondition::Always => "sempre".into(),
            };
            let target = match &rule.target {
                RuleTarget::Office(code) => format!("ufficio {code}"),
                RuleTarget::CompetentOffice => "ufficio competente".into(),
            };
            format!("{condition} => {target}\n")
        })
        .collect()
}

/// Lower case without the accents Italian users may or may not type.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            other => other,
        })
        .collect()
}

impl RuleCondition {
    pub fn matches(&self, subject: &str, fields: &BTreeMap<String, String>) -> bool {
        match self {
            RuleCondition::SubjectContains(keywords) => {
                let subject = fold(subject);
                keywords
                    .iter()
                    .map(|k| fold(k.trim()))
                    .any(|k| !k.is_empty() && subject.contains(&k))
            }
            RuleCondition::FieldEquals { key, value } => fields
                .get(key)
                .is_some_and(|v| v.trim().to_lowercase() == value.trim().to_lowercase()),
            RuleCondition::Always => true,
        }
    }
}

/// The target of the first rule that matches.
pub fn first_match<'a>(
    rules: &'a [RoutingRule],
    subject: &str,
    fields: &BTreeMap<String, String>,
) -> Option<&'a RuleTarget> {
    rules
        .iter()
        .find(|r| r.condition.matches(subject, fields))
        .map(|r| &r.target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn office(
        id: i64,
        province: &str,
        load: i64,
        accepting: bool,
        open_now: bool,
    ) -> OfficeCandidate {
        OfficeCandidate {
            office_id: id,
            code: format!("UFF{id}"),
            province: Some(province.to_string()),
            open_requests: load,
            accepting,
            open_now,
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn chooses_open_then_least_loaded_then_lowest_id() {
        let offices = [
            office(1, "BO", 5, true, true),
            office(2, "BO", 1, false, true),
            office(3, "FE", 0, true, false),
            office(4, "FE", 2, true, true),
            office(5, "MO", 2, true, true),
        ];
        assert_eq!(choose_office(&offices), Some(4));
        let closed = [
            office(7, "BO", 3, true, false),
            office(6, "BO", 3, true, false),
            office(8, "BO", 0, false, false),
        ];
        assert_eq!(choose_office(&closed), Some(6));
        assert_eq!(choose_office(&[office(1, "BO", 0, false, true)]), None);
        assert_eq!(choose_office(&[]), None);
    }

    #[test]
    fn competent_office_by_province() {
        let offices = [
            office(1, "BO", 5, true, true),
            office(2, "bo ", 1, true, false),
            office(3, "FE", 0, true, true),
            office(4, "MO", 0, false, true),
        ];
        assert_eq!(competent_office(&offices, Some("bo")), Some(1));
        assert_eq!(competent_office(&offices, Some("Fe")), Some(3));
        assert_eq!(competent_office(&offices, Some("MO")), None);
        assert_eq!(competent_office(&offices, Some("RM")), None);
        assert_eq!(competent_office(&offices, None), None);
        let mut no_province = office(9, "BO", 0, true, true);
        no_province.province = None;
        assert_eq!(competent_office(&[no_province], Some("BO")), None);
    }

    const RULES: &str = "\
# instradamento CIVIS
oggetto contiene rinnovo certificato | certificato digitale => ufficio competente
campo motivo = rimborso => ufficio ADE-DP-BO

sempre => ufficio ADE-DP-FE
";

    #[test]
    fn parses_the_documented_forms() {
        let rules = parse_rules(RULES).unwrap();
        assert_eq!(
            rules,
            vec![
                RoutingRule {
                    condition: RuleCondition::SubjectContains(vec![
                        "rinnovo certificato".into(),
                        "certificato digitale".into()
                    ]),
                    target: RuleTarget::CompetentOffice,
                },
                RoutingRule {
                    condition: RuleCondition::FieldEquals {
                        key: "motivo".into(),
                        value: "rimborso".into()
                    },
                    target: RuleTarget::Office("ADE-DP-BO".into()),
                },
                RoutingRule {
                    condition: RuleCondition::Always,
                    target: RuleTarget::Office("ADE-DP-FE".into()),
                },
            ]
        );
        assert_eq!(parse_rules(&rules_to_spec(&rules)), Ok(rules));
    }

    #[test]
    fn english_aliases() {
        let rules = parse_rules(
            "Subject  Contains refund => office competent\nfield reason = x => Office ABC\nALWAYS => competent office",
        )
        .unwrap();
        assert_eq!(
            rules[0].condition,
            RuleCondition::SubjectContains(vec!["refund".into()])
        );
        assert_eq!(rules[0].target, RuleTarget::CompetentOffice);
        assert_eq!(rules[1].target, RuleTarget::Office("ABC".into()));
        assert_eq!(
            rules[2],
            RoutingRule {
                condition: RuleCondition::Always,
                target: RuleTarget::CompetentOffice
            }
        );
        assert_eq!(
            rules_to_spec(&rules),
            "oggetto contiene refund => ufficio competente\ncampo reason = x => ufficio ABC\nsempre => ufficio competente\n"
        );
    }

    #[test]
    fn errors_give_line_and_reason() {
        let err = |s: &str| parse_rules(s).unwrap_err();
        assert_eq!(
            err("\nsempre ufficio X"),
            RoutingError {
                line: 2,
                reason: "manca «=>» tra condizione e ufficio".into()
            }
        );
        assert!(
            err("oggetto contiene a || b => ufficio X")
                .reason
                .contains("parola chiave vuota")
        );
        assert!(
            err("oggetto contiene => ufficio X")
                .reason
                .contains("parola chiave vuota")
        );
        assert!(
            err("campo motivo rimborso => ufficio X")
                .reason
                .contains("campo chiave = valore")
        );
        assert!(
            err("campo Motivo = x => ufficio X")
                .reason
                .contains("«Motivo» non valido")
        );
        assert!(
            err("campo motivo = => ufficio X")
                .reason
                .contains("valore mancante")
        );
        assert!(
            err("oggettocontiene x => ufficio X")
                .reason
                .contains("non riconosciuta")
        );
        assert!(
            err("sempre => ufficio")
                .reason
                .contains("destinazione «ufficio» non riconosciuta")
        );
        assert!(
            err("sempre => ufficio A B")
                .reason
                .contains("non può contenere spazi")
        );
        assert!(
            err("sempre => reparto X")
                .reason
                .contains("non riconosciuta")
        );
        assert!(
            err("sempre => ufficio X => ufficio Y")
                .reason
                .contains("ripetuto")
        );
        assert_eq!(
            err("# x\n\nmai => ufficio X").to_string(),
            "regole di instradamento, riga 3: condizione «mai» non riconosciuta (usare «oggetto contiene ...», «campo chiave = valore» o «sempre»)"
        );
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules = parse_rules(RULES).unwrap();
        let none = fields(&[]);
        assert_eq!(
            first_match(&rules, "Richiesta RINNOVO CERTIFICATO scaduto", &none),
            Some(&RuleTarget::CompetentOffice)
        );
        assert_eq!(
            first_match(&rules, "altro", &fields(&[("motivo", "  Rimborso ")])),
            Some(&RuleTarget::Office("ADE-DP-BO".into()))
        );
        assert_eq!(
            first_match(&rules, "altro", &fields(&[("motivo", "rimborsi")])),
            Some(&RuleTarget::Office("ADE-DP-FE".into()))
        );
        assert_eq!(first_match(&rules[..2], "altro", &none), None);
        assert_eq!(first_match(&[], "x", &none), None);
    }

    #[test]
    fn subject_match_ignores_accents() {
        let rules = parse_rules("oggetto contiene attività | perché => ufficio A").unwrap();
        let none = BTreeMap::new();
        assert!(first_match(&rules, "ATTIVITA sospesa", &none).is_some());
        assert!(first_match(&rules, "perche non funziona", &none).is_some());
        assert!(first_match(&rules, "PERCHÈ?", &none).is_some());
        assert!(first_match(&rules, "attivo", &none).is_none());
        assert_eq!(fold("Àèéìòù"), "aeeiou");
    }

    fn arb_rule() -> impl Strategy<Value = RoutingRule> {
        let word = "[A-Za-zàèéìòù0-9]([A-Za-zàèéìòù0-9 ]{0,10}[A-Za-zàèéìòù0-9])?";
        let condition = prop_oneof![
            Just(RuleCondition::Always),
            proptest::collection::vec(word, 1..4).prop_map(RuleCondition::SubjectContains),
            ("[a-z][a-z0-9_]{0,8}", word)
                .prop_map(|(key, value)| RuleCondition::FieldEquals { key, value }),
        ];
        let target = prop_oneof![
            Just(RuleTarget::CompetentOffice),
            "[A-Z][A-Z0-9-]{0,10}".prop_map(RuleTarget::Office),
        ];
        (condition, target).prop_map(|(condition, target)| RoutingRule { condition, target })
    }

    proptest! {
        #[test]
        fn rules_round_trip(rules in proptest::collection::vec(arb_rule(), 0..6)) {
            prop_assert_eq!(parse_rules(&rules_to_spec(&rules)), Ok(rules));
        }

        #[test]
        fn chosen_office_accepts_and_is_least_loaded(
            raw in proptest::collection::btree_map(0i64..20, (0i64..5, any::<bool>(), any::<bool>()), 0..8)
        ) {
            let offices: Vec<OfficeCandidate> = raw
                .iter()
                .map(|(&id, &(load, accepting, open_now))| office(id, "BO", load, accepting, open_now))
                .collect();
            match choose_office(&offices) {
                None => prop_assert!(offices.iter().all(|o| !o.accepting)),
                Some(id) => {
                    let chosen = offices.iter().find(|o| o.office_id == id && o.accepting).unwrap();
                    let any_open = offices.iter().any(|o| o.accepting && o.open_now);
                    prop_assert_eq!(chosen.open_now, any_open);
                    for o in offices.iter().filter(|o| o.accepting && o.open_now == chosen.open_now) {
                        prop_assert!((chosen.open_requests, chosen.office_id) <= (o.open_requests, o.office_id));
                    }
                }
            }
        }

        #[test]
        fn keyword_matches_regardless_of_case(keyword in "[a-zàèìòù]{1,10}", before in "[a-z ]{0,10}") {
            let rules = vec![RoutingRule { condition: RuleCondition::SubjectContains(vec![keyword.clone()]), target: RuleTarget::CompetentOffice }];
            let subject = format!("{before}{}", keyword.to_uppercase());
            prop_assert!(first_match(&rules, &subject, &BTreeMap::new()).is_some());
        }
    }
}
