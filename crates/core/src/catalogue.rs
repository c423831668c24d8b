//! The application catalogue's rules: which organization kinds may hold which
//! profiles, one profile per application per user (seed 000), profiles that
//! open other applications (PTT opens Telecontenzioso), and what may be
//! sub-delegated (seed 004: only what one holds, or something narrower).

use std::collections::BTreeSet;

/// Kinds of organization, as data codes with Italian labels.
pub const ORG_KINDS: &[(&str, &str)] = &[
    ("ministry_department", "Dipartimento ministeriale"),
    ("region", "Regione"),
    ("province", "Provincia"),
    ("municipality", "Comune"),
    ("union_of_municipalities", "Unione di comuni"),
    ("tax_agency", "Agenzia fiscale"),
    ("collection_agency", "Ente della riscossione"),
    ("chamber_of_commerce", "Camera di commercio"),
    ("court", "Tribunale o commissione tributaria"),
    ("prefecture", "Prefettura"),
    ("social_security", "Ente previdenziale"),
    ("insurance_body", "Istituto assicurativo"),
    ("health_authority", "Azienda sanitaria"),
    ("concessionaire", "Concessionario della riscossione"),
    ("municipal_company", "Azienda municipalizzata"),
    ("company", "Impresa"),
    ("other_public_body", "Altro ente pubblico"),
];

pub fn org_kind_label(code: &str) -> Option<&'static str> {
    ORG_KINDS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// Kinds whose employees are managed by the local administrator of the
/// authority they hang under (seed 001, case 3).
pub fn is_dependent_kind(code: &str) -> bool {
    matches!(code, "concessionaire" | "municipal_company")
}

/// A profile as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileRule {
    pub profile_id: i64,
    pub application_id: i64,
    pub name: String,
    /// Organization kinds allowed to hold it; empty = any.
    pub org_kinds: Vec<String>,
    pub capabilities: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantRefusal {
    #[error(
        "il profilo «{profile}» non può essere assegnato a utenti di questo tipo di ente ({org_kind})"
    )]
    OrgKindNotAllowed { profile: String, org_kind: String },
    #[error(
        "l'utente ha già il profilo «{held}» per questa applicazione: un utente può avere un solo profilo per applicazione"
    )]
    AlreadyHolds { held: String },
    #[error("l'utente non appartiene a nessun ente")]
    NoOrganization,
}

/// May `profile` be granted to a user of an organization of `org_kind` who
/// currently holds `held` (his profile of the same application, if any)?
pub fn check_grant(
    profile: &ProfileRule,
    org_kind: Option<&str>,
    held: Option<&ProfileRule>,
) -> Result<(), GrantRefusal> {
    if let Some(h) = held {
        return Err(GrantRefusal::AlreadyHolds {
            held: h.name.clone(),
        });
    }
    if !profile.org_kinds.is_empty() {
        let Some(kind) = org_kind else {
            return Err(GrantRefusal::NoOrganization);
        };
        if !profile.org_kinds.iter().any(|k| k == kind) {
            return Err(GrantRefusal::OrgKindNotAllowed {
                profile: profile.name.clone(),
                org_kind: org_kind_label(kind).unwrap_or(kind).to_string(),
            });
        }
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DelegationRefusal {
    #[error("puoi subdelegare solo un profilo che possiedi direttamente")]
    NotHeld,
    #[error("il profilo subdelegato deve essere della stessa applicazione e non più ampio del tuo")]
    Wider,
    #[error("non puoi subdelegare a te stesso")]
    ToSelf,
    #[error("il collaboratore ha già un profilo per questa applicazione")]
    DelegateHolds,
    #[error("la scadenza deve essere nel futuro")]
    PastExpiry,
}

/// Checks a sub-delegation of `offered` by a holder of `held` (None = he holds
/// nothing on that application) to a delegate who holds `delegate_holds`.
pub fn check_delegation(
    held: Option<&ProfileRule>,
    offered: &ProfileRule,
    same_person: bool,
    delegate_holds: bool,
    expires_at: Option<i64>,
    now: i64,
) -> Result<(), DelegationRefusal> {
    if same_person {
        return Err(DelegationRefusal::ToSelf);
    }
    let Some(held) = held else {
        return Err(DelegationRefusal::NotHeld);
    };
    if held.application_id != offered.application_id
        || !offered.capabilities.is_subset(&held.capabilities)
    {
        return Err(DelegationRefusal::Wider);
    }
    if delegate_holds {
        return Err(DelegationRefusal::DelegateHolds);
    }
    if expires_at.is_some_and(|e| e <= now) {
        return Err(DelegationRefusal::PastExpiry);
    }
    Ok(())
}

/// How a user comes to hold a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Direct,
    /// Opened by another profile the user holds (name of that application).
    Implied {
        by_application: String,
    },
    /// Sub-delegated by another user (his display name).
    Delegated {
        by: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: i64, app: i64, name: &str, kinds: &[&str], caps: &[&str]) -> ProfileRule {
        ProfileRule {
            profile_id: id,
            application_id: app,
            name: name.into(),
            org_kinds: kinds.iter().map(|s| s.to_string()).collect(),
            capabilities: caps.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn one_profile_per_application() {
        let ptt = profile(1, 10, "Ente impositore", &[], &[]);
        let ctu = profile(2, 10, "CTU", &[], &[]);
        assert_eq!(
            check_grant(&ctu, Some("municipality"), Some(&ptt)),
            Err(GrantRefusal::AlreadyHolds {
                held: "Ente impositore".into()
            })
        );
        assert!(check_grant(&ctu, Some("municipality"), None).is_ok());
    }

    #[test]
    fn organization_kinds_restrict_profiles() {
        let p = profile(
            1,
            10,
            "Ente impositore",
            &["municipality", "concessionaire"],
            &[],
        );
        assert!(check_grant(&p, Some("concessionaire"), None).is_ok());
        assert!(matches!(
            check_grant(&p, Some("prefecture"), None),
            Err(GrantRefusal::OrgKindNotAllowed { .. })
        ));
        assert_eq!(
            check_grant(&p, None, None),
            Err(GrantRefusal::NoOrganization)
        );
        let open = profile(2, 10, "Chiunque", &[], &[]);
        assert!(check_grant(&open, None, None).is_ok());
    }

    #[test]
    fn delegation_only_of_what_is_held_and_never_wider() {
        let full = profile(
            1,
            10,
            "PTT completo",
            &[],
            &["dispute.read", "casefile.read", "casefile.file"],
        );
        let read = profile(
            2,
            10,
            "PTT consultazione",
            &[],
            &["dispute.read", "casefile.read"],
        );
        let other_app = profile(3, 11, "Altro", &[], &["dispute.read"]);
        assert!(check_delegation(Some(&full), &read, false, false, None, 0).is_ok());
        assert!(check_delegation(Some(&full), &full, false, false, Some(10), 0).is_ok());
        assert_eq!(
            check_delegation(Some(&read), &full, false, false, None, 0),
            Err(DelegationRefusal::Wider)
        );
        assert_eq!(
            check_delegation(Some(&full), &other_app, false, false, None, 0),
            Err(DelegationRefusal::Wider)
        );
        assert_eq!(
            check_delegation(None, &read, false, false, None, 0),
            Err(DelegationRefusal::NotHeld)
        );
        assert_eq!(
            check_delegation(Some(&full), &read, true, false, None, 0),
            Err(DelegationRefusal::ToSelf)
        );
        assert_eq!(
            check_delegation(Some(&full), &read, false, true, None, 0),
            Err(DelegationRefusal::DelegateHolds)
        );
        assert_eq!(
            check_delegation(Some(&full), &read, false, false, Some(5), 10),
            Err(DelegationRefusal::PastExpiry)
        );
    }

    #[test]
    fn kinds_have_labels() {
        for (code, label) in ORG_KINDS {
            assert_eq!(org_kind_label(code), Some(*label));
        }
        assert!(is_dependent_kind("concessionaire") && !is_dependent_kind("municipality"));
    }
}
