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
        "ASL-FE",
        "Azienda USL di Ferrara",
        "health_authority",
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
        "MININT",
        "Ministero dell'Interno - Dipartimento per l'Amministrazione generale",
        "ministry_department",
        Some("80215430580"),
        None,
        None,
    ),
    (
        "IMPRESA-ESTENSE",
        "Estense Costruzioni S.r.l.",
        "company",
        None,
        None,
        Some("Emilia-Romagna"),
    ),
    (
        "IMPRESA-DELTA",
        "Delta Servizi S.n.c.",
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
        "MININT",
        "MININT-SD-BDNA",
        "Service Desk B.D.N.A. - Ufficio IV Innovazione tecnologica",
        "Lazio",
        "assistenza.dippp@interno.example.it",
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
            ("contribuente", "Parte del giudizio (contribuente)"),
            ("ente_pubblico", "Dipendente di ente pubblico"),
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
    (
        "INPS-IMPRESE",
        "INPS - Servizi per le aziende",
        "Iscrizione e gestione delle posizioni contributive dei datori di lavoro",
        &[("datore_lavoro", "Datore di lavoro o legale rappresentante")],
    ),
    (
        "INAIL-IMPRESE",
        "INAIL - Servizi online per le imprese",
        "Denunce di esercizio e posizioni assicurative",
        &[("datore_lavoro", "Datore di lavoro o legale rappresentante")],
    ),
    (
        "CCIAA-COMUNICA",
        "ComUnica - Registro delle imprese",
        "Iscrizioni e variazioni al Registro delle imprese della Camera di Commercio",
        &[("impresa", "Titolare o legale rappresentante")],
    ),
];

/// Self-registration (seed 001, case 1): the PTT profile each category
/// receives, and whether the central administrator approves first (bodies
/// without a local administrator, case 3).
const REGISTRATION_PROFILES: &[(&str, (&str, &str), bool)] = &[
    ("private_person", ("PTT", "contribuente"), false),
    ("company", ("PTT", "contribuente"), false),
    ("professional", ("PTT", "professionista"), false),
    ("court_auxiliary", ("PTT", "ctu"), false),
    ("public_employee", ("PTT", "ente_pubblico"), true),
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
    (
        "PTT",
        "contribuente",
        &[],
        &["dispute.read", "casefile.read", "casefile.file"],
        None,
    ),
    (
        "PTT",
        "ente_pubblico",
        &[],
        &["dispute.read", "casefile.read", "casefile.file"],
        None,
    ),
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
    (
        "INPS-IMPRESE",
        "datore_lavoro",
        &["company"],
        &["agency.file"],
        None,
    ),
    (
        "INAIL-IMPRESE",
        "datore_lavoro",
        &["company"],
        &["agency.file"],
        None,
    ),
    (
        "CCIAA-COMUNICA",
        "impresa",
        &["company"],
        &["agency.file"],
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
        role_label: "Amministratore locale (Comune di Ferrara), stazione appaltante B.D.N.A.",
        role: Some((Role::LocalAdmin, Scope::Org)),
        services: &[("BDNA", "stazione_appaltante")],
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
        role_label: "Impresa (servizi integrati), abilitato presso INPS, INAIL e Camera di Commercio",
        role: None,
        services: &[
            ("SERVIZI-INTEGRATI", "impresa"),
            ("INPS-IMPRESE", "datore_lavoro"),
            ("INAIL-IMPRESE", "datore_lavoro"),
            ("CCIAA-COMUNICA", "impresa"),
        ],
    },
    Person {
        cf15: "GLLSFN92C10D548",
        given: "Stefano",
        family: "Galli",
        category: "company",
        org: "IMPRESA-ESTENSE",
        role_label: "Collaboratore dell'impresa, subdelegato da Roberto Esposito (servizi integrati)",
        role: None,
        services: &[],
    },
    Person {
        cf15: "MRTLSN85E50D548",
        given: "Alessandra",
        family: "Moretti",
        category: "company",
        org: "IMPRESA-DELTA",
        role_label: "Impresa (servizi integrati), non abilitata presso l'INAIL",
        role: None,
        services: &[
            ("SERVIZI-INTEGRATI", "impresa"),
            ("INPS-IMPRESE", "datore_lavoro"),
            ("CCIAA-COMUNICA", "impresa"),
        ],
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
    let demo_rp = DemoRpPlan::prepare(app).await?;
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
    for (category, key, needs_approval) in REGISTRATION_PROFILES {
        let (_, pid) = profile_ids[key];
        sportello_store::registration::set_category_profile(
            &mut tx,
            category,
            pid,
            *needs_approval,
        )
        .await?;
    }
    let registered = demo_rp
        .apply(
            &mut tx,
            profile_ids[&("TELECONTENZIOSO", "ente_impositore")].0,
            now,
        )
        .await?;
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
    crate::desk::demo::seed_in(&mut tx, now).await?;
    crate::kb::demo::seed_in(&mut tx, now).await?;
    crate::filings::demo::seed_in(
        &mut tx,
        &app.config,
        &fiscal_code("SPSRRT77P03D548"),
        &fiscal_code("GLLSFN92C10D548"),
        now,
    )
    .await?;
    if created_users > 0 {
        // The demo client, when registered now, is recorded in this event.
        let detail = match &registered {
            Some(c) => serde_json::json!({ "created_users": created_users,
                "oidc_client": c.client_id, "redirect_uris": [c.redirect_uri] })
            .to_string(),
            None => format!("{{\"created_users\":{created_users}}}"),
        };
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
                from: None,
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
    if created_users == 0
        && let Some(c) = &registered
    {
        let detail = serde_json::json!({ "application": "TELECONTENZIOSO",
            "redirect_uris": [c.redirect_uri] })
        .to_string();
        audit::append(
            &mut tx,
            &audit::NewEvent {
                actor: "system",
                acting_organization: None,
                action: "oidc.client_register",
                target: &format!("oidc_client:{}", c.client_id),
                detail: &detail,
                source_address: None,
            },
            now,
        )
        .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    app.kb_rebuild_index().await?;
    if let Some(c) = registered {
        write_private(
            &app.config.data_dir.join(DEMO_RP_FILE),
            &serde_json::to_string_pretty(&c).map_err(|e| AppError::Internal(e.to_string()))?,
        )
        .map_err(|e| AppError::Internal(format!("{DEMO_RP_FILE}: {e}")))?;
    }
    Ok(DemoReport {
        users: demo_users(),
        created_users,
    })
}

/// Path of the demo relying party, served by the same binary.
pub const DEMO_RP_PATH: &str = "/demo/telecontenzioso";
const DEMO_RP_FILE: &str = "demo-telecontenzioso-client.json";

/// The OIDC client of the demo relying party "Telecontenzioso".
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DemoClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

/// The demo relying party's client, as written by `seed`.
///
/// The secret lives in a file of the data directory (mode 0600), not in the
/// database: the provider keeps only its hash, as for every client, and the
/// relying party is meant to be "another application" that shares nothing
/// with the portal but its configuration (here: the data directory), exactly
/// like an external application keeps its secret in its own configuration.
pub fn demo_client(config: &crate::Config) -> Option<DemoClient> {
    let text = std::fs::read_to_string(config.data_dir.join(DEMO_RP_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// What seeding does for the demo relying party, decided before the seed's
/// transaction (reads only): point the Telecontenzioso application at it
/// when it has no address, and register its confidential client unless the
/// file names a live client with the current redirect URI (idempotent).
struct DemoRpPlan {
    base: String,
    set_url: bool,
    register: bool,
}

impl DemoRpPlan {
    async fn prepare(app: &App) -> Result<Self, AppError> {
        let base = app.oidc_issuer();
        let redirect_uri = format!("{base}{DEMO_RP_PATH}/callback");
        let set_url = catalogue::application_by_code(&app.db, "TELECONTENZIOSO")
            .await?
            .is_none_or(|a| a.url.is_empty());
        let keep = match demo_client(&app.config) {
            Some(c) if c.redirect_uri == redirect_uri => {
                sportello_store::oidc::client(&app.db, &c.client_id)
                    .await?
                    .is_some()
            }
            _ => false,
        };
        Ok(DemoRpPlan {
            base,
            set_url,
            register: !keep,
        })
    }

    /// Inside the seed's transaction; the new client (with its secret) to
    /// write to the data directory after the commit.
    async fn apply(
        &self,
        tx: &mut sportello_store::AnyConnection,
        application_id: i64,
        now: i64,
    ) -> Result<Option<DemoClient>, AppError> {
        use crate::security::{random_token, token_hash};
        if self.set_url {
            catalogue::set_application_url(tx, application_id, DEMO_RP_PATH).await?;
        }
        if !self.register {
            return Ok(None);
        }
        let base = &self.base;
        let redirect_uri = format!("{base}{DEMO_RP_PATH}/callback");
        let secret = random_token();
        let json =
            |v: &[String]| serde_json::to_string(v).map_err(|e| AppError::Internal(e.to_string()));
        let client = sportello_store::oidc::Client {
            client_id: format!("sp-{}", &random_token()[..24]),
            secret_hash: Some(token_hash(&secret)),
            application_id,
            name: "Telecontenzioso (applicazione dimostrativa)".into(),
            is_public: 0,
            redirect_uris: json(std::slice::from_ref(&redirect_uri))?,
            post_logout_redirect_uris: json(&[format!("{base}{DEMO_RP_PATH}")])?,
            scopes: crate::oidc::SCOPES.join(" "),
            id_token_alg: "RS256".into(),
            backchannel_logout_uri: None,
            created_at: now,
            revoked_at: None,
        };
        sportello_store::oidc::insert_client(tx, &client, None).await?;
        Ok(Some(DemoClient {
            client_id: client.client_id,
            client_secret: secret,
            redirect_uri,
        }))
    }
}

pub(crate) fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    // With PostgreSQL nothing else has created the data directory yet.
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    // A name of its own, so two processes writing the same file do not collide.
    let tmp = path.with_extension(format!(
        "tmp{}",
        crate::security::random_token().get(..12).unwrap_or("0")
    ));
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
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
