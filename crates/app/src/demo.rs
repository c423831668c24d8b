//! The demo world, taken from the seeds: the Dipartimento delle Finanze, a
//! region, a municipality with its concessionaire, the Agenzia delle Entrate
//! with a regional directorate and three offices, a prefecture, INPS, INAIL,
//! a chamber of commerce; the applications; one user for each role.
//! Seeding is idempotent: everything is keyed by natural codes.

use sportello_core::authz::{Grant, Role};
use sportello_core::fiscal_code::check_character;
use sportello_store::StoreError;
use sportello_store::audit;
use sportello_store::catalogue;
use sportello_store::directory::{self, NewOffice, NewOrganization, NewUser};

use crate::mail::MailMessage;
use crate::{App, AppError, now_micros, queue_mail};

/// The password of every demo account (it satisfies the default policy).
pub const DEMO_PASSWORD: &str = "Demo-Sportello-2026";

#[derive(Clone, Debug, serde::Serialize)]
pub struct DemoUser {
    pub fiscal_code: String,
    pub name: String,
    pub role: &'static str,
    pub organization: &'static str,
}

#[derive(Debug)]
pub struct DemoReport {
    pub users: Vec<DemoUser>,
    pub created_users: usize,
}

struct Person {
    cf15: &'static str,
    given: &'static str,
    family: &'static str,
    category: &'static str,
    org: &'static str,
    role_label: &'static str,
    role: Option<(Role, Scope)>,
    services: &'static [(&'static str, &'static str)],
}

enum Scope {
    None,
    Org,
    Office(&'static str),
    Region(&'static str),
}

/// code, name, kind, fiscal code / VAT, parent code, region
type OrgRow = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);
/// code, name, description, profiles (code, name)
type AppRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const ORGS: &[OrgRow] = &[
    // code, name, kind, fiscal code / VAT, parent code, region
    (
        "DF",
        "Dipartimento delle Finanze",
        "ministry_department",
        Some("80415740580"),
        None,
        None,
    ),
    (
        "RER",
        "Regione Emilia-Romagna",
        "region",
        Some("80062590379"),
        None,
        Some("Emilia-Romagna"),
    ),
    (
        "C-D548",
        "Comune di Ferrara",
        "municipality",
        Some("00297110389"),
        None,
        Some("Emilia-Romagna"),
    ),
    (
        "FE-TRIBUTI",
        "Ferrara Tributi S.p.A.",
        "concessionaire",
        None,
        Some("C-D548"),
        Some("Emilia-Romagna"),
    ),
    (
        "ADE",
        "Agenzia delle Entrate",
        "tax_agency",
        Some("06363391001"),
        None,
        None,
    ),
    (
        "PREF-FE",
        "Prefettura di Ferrara",
        "prefecture",
        None,
        None,
        Some("Emilia-Romagna"),
    ),
    (
        "INPS",
        "INPS - Istituto Nazionale della Previdenza Sociale",
        "social_security",
        None,
        None,
        None,
    ),
    (
        "INAIL",
        "INAIL - Istituto Nazionale Assicurazione Infortuni sul Lavoro",
        "insurance_body",
        None,
        None,
        None,
    ),
    (
        "CCIAA-FERA",
        "Camera di Commercio di Ferrara e Ravenna",
        "chamber_of_commerce",
        None,
        None,
        Some("Emilia-Romagna"),
    ),
    (
        "IMPRESA-ESTENSE",
        "Estense Costruzioni S.r.l.",
        "company",
        None,
        None,
        Some("Emilia-Romagna"),
    ),
];

const OFFICES: &[(&str, &str, &str, &str, &str)] = &[
    // organization, code, name, region, functional mailbox
    (
        "ADE",
        "ADE-DR-ER",
        "Direzione Regionale dell'Emilia-Romagna",
        "Emilia-Romagna",
        "dr.emiliaromagna.civis@agenzia.example.it",
    ),
    (
        "ADE",
        "ADE-DP-FE",
        "Direzione Provinciale di Ferrara - Ufficio territoriale",
        "Emilia-Romagna",
        "dp.ferrara.civis@agenzia.example.it",
    ),
    (
        "ADE",
        "ADE-DP-BO",
        "Direzione Provinciale I di Bologna - Ufficio territoriale",
        "Emilia-Romagna",
        "dp1.bologna.civis@agenzia.example.it",
    ),
    (
        "ADE",
        "ADE-DP-RA",
        "Direzione Provinciale di Ravenna - Ufficio territoriale",
        "Emilia-Romagna",
        "dp.ravenna.civis@agenzia.example.it",
    ),
    (
        "PREF-FE",
        "PREF-FE-BDNA",
        "Prefettura di Ferrara - Sezione provinciale B.D.N.A.",
        "Emilia-Romagna",
        "protocollo.preffe@pec.interno.example.it",
    ),
];

const APPLICATIONS: &[AppRow] = &[
    (
        "TELECONTENZIOSO",
        "Telecontenzioso",
        "Consultazione dello stato delle controversie tributarie",
        &[(
            "ente_impositore",
            "Ente impositore - consultazione vertenze",
        )],
    ),
    (
        "PTT",
        "Processo Tributario Telematico",
        "Deposito e consultazione degli atti del fascicolo processuale",
        &[
            ("ente_impositore", "Ente impositore"),
            ("consultazione", "Ente impositore - sola consultazione"),
            ("professionista", "Professionista / difensore"),
            ("ctu", "Consulente tecnico d'ufficio"),
        ],
    ),
    (
        "CIVIS",
        "CIVIS",
        "Assistenza sulle comunicazioni di irregolarità e sugli avvisi telematici",
        &[("intermediario", "Intermediario abilitato")],
    ),
    (
        "BDNA",
        "Banca Dati Nazionale Antimafia",
        "Servizio di assistenza B.D.N.A. per le stazioni appaltanti",
        &[("stazione_appaltante", "Operatore stazione appaltante")],
    ),
    (
        "SERVIZI-INTEGRATI",
        "Servizi integrati per le imprese",
        "Una pratica, più enti: INPS, INAIL, Camera di Commercio",
        &[
            ("impresa", "Titolare o legale rappresentante"),
            ("collaboratore", "Collaboratore (prepara le pratiche)"),
        ],
    ),
];

/// Public bodies whose employees act for a tax authority in disputes.
const TAX_AUTHORITY_KINDS: &[&str] = &[
    "municipality",
    "province",
    "region",
    "tax_agency",
    "collection_agency",
    "concessionaire",
    "municipal_company",
];

/// Catalogue rules: (application, profile, allowed organization kinds (empty
/// = any), capabilities, implied (application, profile)).
type RuleRow = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    Option<(&'static str, &'static str)>,
);

const RULES: &[RuleRow] = &[
    (
        "TELECONTENZIOSO",
        "ente_impositore",
        TAX_AUTHORITY_KINDS,
        &["dispute.read"],
        None,
    ),
    (
        "PTT",
        "ente_impositore",
        TAX_AUTHORITY_KINDS,
        &["dispute.read", "casefile.read", "casefile.file"],
        Some(("TELECONTENZIOSO", "ente_impositore")),
    ),
    (
        "PTT",
        "consultazione",
        TAX_AUTHORITY_KINDS,
        &["dispute.read", "casefile.read"],
        Some(("TELECONTENZIOSO", "ente_impositore")),
    ),
    (
        "PTT",
        "professionista",
        &[],
        &["dispute.read", "casefile.read", "casefile.file"],
        None,
    ),
    ("PTT", "ctu", &[], &["dispute.read", "casefile.read"], None),
    ("CIVIS", "intermediario", &[], &["request.file"], None),
    (
        "BDNA",
        "stazione_appaltante",
        &[
            "municipality",
            "province",
            "region",
            "other_public_body",
            "health_authority",
        ],
        &["request.file"],
        None,
    ),
    (
        "SERVIZI-INTEGRATI",
        "impresa",
        &["company"],
        &["filing.prepare", "filing.submit"],
        None,
    ),
    (
        "SERVIZI-INTEGRATI",
        "collaboratore",
        &["company"],
        &["filing.prepare"],
        None,
    ),
];

const PEOPLE: &[Person] = &[
    Person {
        cf15: "BNCGLI75C45H501",
        given: "Giulia",
        family: "Bianchi",
        category: "public_employee",
        org: "DF",
        role_label: "Amministratore centrale",
        role: Some((Role::CentralAdmin, Scope::Org)),
        services: &[],
    },
    Person {
        cf15: "FRRMRC70A01D548",
        given: "Marco",
        family: "Ferri",
        category: "public_employee",
        org: "C-D548",
        role_label: "Amministratore locale (Comune di Ferrara)",
        role: Some((Role::LocalAdmin, Scope::Org)),
        services: &[],
    },
    Person {
        cf15: "VRDNNA82D50D548",
        given: "Anna",
        family: "Verdi",
        category: "public_employee",
        org: "C-D548",
        role_label: "Dipendente comunale (solo Telecontenzioso)",
        role: None,
        services: &[("TELECONTENZIOSO", "ente_impositore")],
    },
    Person {
        cf15: "NRELCU85M10D548",
        given: "Luca",
        family: "Neri",
        category: "contractor_employee",
        org: "FE-TRIBUTI",
        role_label: "Dipendente del concessionario (PTT)",
        role: None,
        services: &[("PTT", "ente_impositore")],
    },
    Person {
        cf15: "GLLPLA68S12A944",
        given: "Paolo",
        family: "Gallo",
        category: "intermediary",
        org: "",
        role_label: "Intermediario (CIVIS)",
        role: None,
        services: &[("CIVIS", "intermediario")],
    },
    Person {
        cf15: "CNTSRA79H50D548",
        given: "Sara",
        family: "Conti",
        category: "public_employee",
        org: "ADE",
        role_label: "Gestore dell'ufficio (DP Ferrara)",
        role: Some((Role::OfficeManager, Scope::Office("ADE-DP-FE"))),
        services: &[],
    },
    Person {
        cf15: "RMNDVD88B15D548",
        given: "Davide",
        family: "Romano",
        category: "public_employee",
        org: "ADE",
        role_label: "Operatore (DP Ferrara)",
        role: Some((Role::Operator, Scope::Office("ADE-DP-FE"))),
        services: &[],
    },
    Person {
        cf15: "RCCLNE72E55A944",
        given: "Elena",
        family: "Ricci",
        category: "public_employee",
        org: "ADE",
        role_label: "Gestore regionale (Emilia-Romagna)",
        role: Some((Role::RegionalManager, Scope::Region("Emilia-Romagna"))),
        services: &[],
    },
    Person {
        cf15: "MRNFNC65L20H501",
        given: "Franco",
        family: "Marino",
        category: "public_employee",
        org: "ADE",
        role_label: "Gestore centrale CIVIS",
        role: Some((Role::CentralManager, Scope::None)),
        services: &[],
    },
    Person {
        cf15: "GRCCHR80T60D548",
        given: "Chiara",
        family: "Greco",
        category: "public_employee",
        org: "PREF-FE",
        role_label: "Operatore Service Desk BDNA (Prefettura)",
        role: Some((Role::Operator, Scope::Office("PREF-FE-BDNA"))),
        services: &[],
    },
    Person {
        cf15: "SPSRRT77P03D548",
        given: "Roberto",
        family: "Esposito",
        category: "company",
        org: "IMPRESA-ESTENSE",
        role_label: "Impresa (servizi integrati)",
        role: None,
        services: &[("SERVIZI-INTEGRATI", "impresa")],
    },
    Person {
        cf15: "CLMLRA90A41A944",
        given: "Laura",
        family: "Colombo",
        category: "court_auxiliary",
        org: "",
        role_label: "Consulente tecnico d'ufficio (PTT)",
        role: None,
        services: &[("PTT", "ctu")],
    },
    Person {
        cf15: "FNTGRG66H12D548",
        given: "Giorgio",
        family: "Fontana",
        category: "professional",
        org: "",
        role_label: "Professionista, password scaduta (PTT)",
        role: None,
        services: &[("PTT", "professionista")],
    },
];

/// Demo accounts whose password is already past its 90 days, to show the
/// forced change (seed 001).
const EXPIRED_PASSWORD: &[&str] = &["FNTGRG66H12D548"];

async fn backdate_password(
    conn: &mut sportello_store::AnyConnection,
    user_id: i64,
    changed_at: i64,
) -> Result<(), AppError> {
    sportello_store::credentials::set_password_changed_at(conn, user_id, changed_at).await?;
    Ok(())
}

fn fiscal_code(first15: &str) -> String {
    format!("{first15}{}", check_character(first15))
}

fn org_name(code: &str) -> &'static str {
    ORGS.iter()
        .find(|o| o.0 == code)
        .map(|o| o.1)
        .unwrap_or("—")
}

/// The demo accounts, for printing at start-up.
pub fn demo_users() -> Vec<DemoUser> {
    PEOPLE
        .iter()
        .map(|p| DemoUser {
            fiscal_code: fiscal_code(p.cf15),
            name: format!("{} {}", p.given, p.family),
            role: p.role_label,
            organization: org_name(p.org),
        })
        .collect()
}

pub async fn seed(app: &App) -> Result<DemoReport, AppError> {
    // Hash outside the transaction: argon2 is slow and needs no lock.
    let mut hashes = Vec::new();
    for p in PEOPLE {
        let cf = fiscal_code(p.cf15);
        let exists = directory::user_by_fiscal_code(&app.db, &cf)
            .await?
            .is_some();
        hashes.push(if exists {
            None
        } else {
            Some(
                app.hasher
                    .hash(DEMO_PASSWORD.to_string())
                    .await
                    .map_err(AppError::Internal)?,
            )
        });
    }

    let now = now_micros();
    let mut tx = app.db.begin_write().await?;
    let mut org_ids = std::collections::HashMap::new();
    for (code, name, kind, fc, parent, region) in ORGS {
        let parent_id = parent.and_then(|p| org_ids.get(p).copied());
        let id = directory::ensure_organization(
            &mut tx,
            &NewOrganization {
                code,
                name,
                kind,
                fiscal_code: *fc,
                parent_id,
                region: *region,
            },
            now,
        )
        .await?;
        org_ids.insert(*code, id);
    }
    let mut office_ids = std::collections::HashMap::new();
    for (org, code, name, region, mailbox) in OFFICES {
        let id = directory::ensure_office(
            &mut tx,
            &NewOffice {
                organization_id: org_ids[org],
                code,
                name,
                region: Some(region),
                mailbox: Some(mailbox),
            },
            now,
        )
        .await?;
        office_ids.insert(*code, id);
    }
    let mut profile_ids = std::collections::HashMap::new();
    for (code, name, description, profiles) in APPLICATIONS {
        let app_id = directory::ensure_application(&mut tx, code, name, description, now).await?;
        for (pcode, pname) in *profiles {
            let pid = directory::ensure_profile(&mut tx, app_id, pcode, pname).await?;
            profile_ids.insert((*code, *pcode), (app_id, pid));
        }
    }
    for (app, profile, kinds, capabilities, implied) in RULES {
        let (_, pid) = profile_ids[&(*app, *profile)];
        catalogue::set_profile_org_kinds(&mut tx, pid, kinds).await?;
        catalogue::set_profile_capabilities(&mut tx, pid, capabilities).await?;
        let implied: Vec<i64> = implied
            .iter()
            .map(|(a, p)| profile_ids[&(*a, *p)].1)
            .collect();
        catalogue::set_profile_implications(&mut tx, pid, &implied).await?;
    }
    let mut created_users = 0;
    for (p, hash) in PEOPLE.iter().zip(&hashes) {
        let cf = fiscal_code(p.cf15);
        let email = format!(
            "{}.{}@demo.sportello.localhost",
            p.given.to_lowercase(),
            p.family.to_lowercase()
        );
        let organization_id = org_ids.get(p.org).copied();
        let (user_id, created) = directory::ensure_user(
            &mut tx,
            &NewUser {
                fiscal_code: &cf,
                given_name: p.given,
                family_name: p.family,
                email: &email,
                category: p.category,
                status: "active",
                organization_id,
                password_hash: hash.as_deref(),
                ..Default::default()
            },
            now,
        )
        .await?;
        if created {
            created_users += 1;
            if EXPIRED_PASSWORD.contains(&p.cf15) {
                let age = i64::from(app.config.password.max_age_days) + 10;
                backdate_password(&mut tx, user_id, now - age * 86_400_000_000).await?;
            }
        }
        if let Some((role, scope)) = &p.role {
            let grant = match scope {
                Scope::None => Grant {
                    role: *role,
                    organization_id: None,
                    office_id: None,
                    region: None,
                },
                Scope::Org => Grant {
                    role: *role,
                    organization_id,
                    office_id: None,
                    region: None,
                },
                Scope::Office(code) => Grant {
                    role: *role,
                    organization_id,
                    office_id: office_ids.get(code).copied(),
                    region: None,
                },
                Scope::Region(r) => Grant {
                    role: *role,
                    organization_id,
                    office_id: None,
                    region: Some(r.to_string()),
                },
            };
            directory::ensure_role(&mut tx, user_id, &grant).await?;
        }
        for (app_code, profile) in p.services {
            let (app_id, profile_id) = profile_ids[&(*app_code, *profile)];
            directory::ensure_enablement(&mut tx, user_id, app_id, profile_id, None, now).await?;
        }
    }
    if created_users > 0 {
        let detail = format!("{{\"created_users\":{created_users}}}");
        audit::append(
            &mut tx,
            &audit::NewEvent {
                actor: "system",
                acting_organization: None,
                action: "demo.seed",
                target: "directory",
                detail: &detail,
                source_address: None,
            },
            now,
        )
        .await?;
        queue_mail(
            &mut tx,
            &MailMessage {
                to: vec!["giulia.bianchi@demo.sportello.localhost".into()],
                subject: "Sportello: dati dimostrativi caricati".into(),
                body: format!(
                    "Gentile Giulia Bianchi,\n\nil portale è stato popolato con i dati dimostrativi ({created_users} utenti).\n\nSportello"
                ),
            },
            now,
        )
        .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(DemoReport {
        users: demo_users(),
        created_users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_fiscal_codes_are_valid_and_distinct() {
        let users = demo_users();
        let mut seen = std::collections::HashSet::new();
        for u in &users {
            assert!(
                sportello_core::FiscalCode::parse(&u.fiscal_code).is_ok(),
                "{}",
                u.fiscal_code
            );
            assert!(seen.insert(u.fiscal_code.clone()));
        }
        assert!(
            sportello_core::password_policy::PasswordPolicy::default()
                .check(DEMO_PASSWORD, &[])
                .is_ok()
        );
    }

    #[test]
    fn every_referenced_code_exists() {
        for p in PEOPLE {
            assert!(
                p.org.is_empty() || ORGS.iter().any(|o| o.0 == p.org),
                "{}",
                p.org
            );
            if let Some((_, Scope::Office(code))) = &p.role {
                assert!(OFFICES.iter().any(|o| o.1 == *code));
            }
            for (a, prof) in p.services {
                assert!(
                    APPLICATIONS
                        .iter()
                        .any(|x| x.0 == *a && x.3.iter().any(|y| y.0 == *prof))
                );
            }
        }
    }
}
