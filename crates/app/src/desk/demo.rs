//! The demo's two assistance channels: CIVIS (seed 002) for intermediaries,
//! open 07:00-23:00, with notices to pre-fill from; the B.D.N.A. Service
//! Desk (seed 003), reached also by e-mail with "BDNA" in the subject, whose
//! certificate renewals go to the competent prefecture. Idempotent: settings
//! an administrator changed later are left as they are.

use sportello_store::AnyConnection;
use sportello_store::desk::{self as store, Channel, Notice};

use crate::AppError;

pub const CIVIS_FORM: &str = "\
numero_comunicazione | Numero della comunicazione di irregolarità o dell'avviso telematico | testo | obbligatorio
codice_fiscale | Codice fiscale del contribuente | codice_fiscale | obbligatorio
motivo | Motivazione della richiesta | scelta:Pagamento già effettuato/Errore materiale nella dichiarazione/Credito non riconosciuto/Versamento carente o tardivo/Altro | obbligatorio
documento | Documentazione a supporto (facoltativa) | allegato | facoltativo";

pub const BDNA_FORM: &str = "\
tipo | Tipo di richiesta | scelta:Problema di accesso/Errore nell'applicazione/Rinnovo certificato digitale/Informazioni | obbligatorio
ente | Stazione appaltante | testo | facoltativo";

/// Province of the demo's offices and organizations (routing to the competent office).
const PROVINCES: &[(&str, &str)] = &[
    ("ADE-DP-FE", "FE"),
    ("ADE-DP-BO", "BO"),
    ("ADE-DP-RA", "RA"),
    ("ADE-DR-ER", "BO"),
    ("PREF-FE-BDNA", "FE"),
    ("MININT-SD-BDNA", "RM"),
];
const ORG_PROVINCES: &[(&str, &str)] = &[
    ("C-D548", "FE"),
    ("FE-TRIBUTI", "FE"),
    ("PREF-FE", "FE"),
    ("CCIAA-FERA", "FE"),
    ("IMPRESA-ESTENSE", "FE"),
];

pub const DEMO_NOTICES: &[(&str, &str, &str, &str, i64)] = &[
    // number, taxpayer, kind, model, tax year
    (
        "CI-2026-0004711",
        "RSSMRA80A01H501U",
        "comunicazione",
        "Redditi PF 2025",
        2024,
    ),
    (
        "CI-2026-0004712",
        "VRDGPP65C12D548Y",
        "comunicazione",
        "730/2025",
        2024,
    ),
    ("AT-2026-0000815", "00297110389", "avviso", "IVA 2025", 2024),
    (
        "CI-2025-0019920",
        "BNCLCU70E10A944M",
        "comunicazione",
        "Redditi SC 2024",
        2023,
    ),
];

async fn office_id(tx: &mut AnyConnection, code: &str) -> Result<i64, AppError> {
    store::desk_office_by_code_in(tx, code)
        .await?
        .map(|o| o.id)
        .ok_or_else(|| AppError::Internal(format!("ufficio {code} mancante")))
}

pub async fn seed_in(tx: &mut AnyConnection, now: i64) -> Result<(), AppError> {
    for (code, province) in PROVINCES {
        if let Some(o) = store::desk_office_by_code_in(tx, code).await?
            && o.province.is_none()
        {
            store::set_office_desk_settings_in(tx, o.id, Some(province), o.accepting_requests != 0)
                .await?;
        }
    }
    for (code, province) in ORG_PROVINCES {
        let id = store::id_by_code_in(tx, "organizations", code).await?;
        if let Some(id) = id {
            store::set_organization_province_in(tx, id, province).await?;
        }
    }
    let existing: Vec<String> = store::channels_in(tx)
        .await?
        .into_iter()
        .map(|c| c.code)
        .collect();
    if !existing.iter().any(|c| c == "CIVIS") {
        let register = store::ensure_register(
            tx,
            "CIVIS",
            "Registro di protocollo CIVIS",
            "AGE-AOO-CIVIS",
            now,
        )
        .await?;
        let application_id = application_id(tx, "CIVIS").await?;
        let id = store::save_channel_in(
            tx,
            &Channel {
                id: 0,
                code: "CIVIS".into(),
                name: "CIVIS - Assistenza sulle comunicazioni di irregolarità e sugli avvisi telematici".into(),
                description: "Canale telematico riservato agli intermediari abilitati dagli uffici e dalla Direzione regionale.".into(),
                register_id: register,
                application_id,
                requester_categories: "intermediary".into(),
                require_association: 1,
                hours_weekly: "tutti i giorni 07:00-23:00".into(),
                hours_holidays: String::new(),
                form_spec: CIVIS_FORM.into(),
                outcomes: "Accolta: comunicazione annullata\nAccolta in parte: comunicazione rettificata\nNon accolta: comunicazione confermata\nChiusa per mancata documentazione".into(),
                routing_rules: String::new(),
                mail_address: None,
                intake_web: 1,
                intake_mail: 0,
                intake_phone: 1,
                notice_lookup: 1,
                sla_take_minutes: 240,
                sla_close_minutes: 2400,
                max_attachment_bytes: 10 * 1024 * 1024,
                active: 1,
            },
            now,
        )
        .await?;
        let mut offices = Vec::new();
        for code in ["ADE-DR-ER", "ADE-DP-FE", "ADE-DP-BO", "ADE-DP-RA"] {
            offices.push(office_id(tx, code).await?);
        }
        store::set_channel_offices_in(tx, id, &offices).await?;
        // Paolo Gallo, intermediary, is associated with the Ferrara office.
        if let Some(user) = store::id_by_code_in(tx, "users", "GLLPLA68S12A944U").await? {
            let fe = office_id(tx, "ADE-DP-FE").await?;
            store::add_member_in(tx, id, user, fe, now).await?;
        }
    }
    if !existing.iter().any(|c| c == "BDNA") {
        let register = store::ensure_register(
            tx,
            "BDNA",
            "Registro del Service Desk B.D.N.A.",
            "MININT-AOO-DPP",
            now,
        )
        .await?;
        let application_id = application_id(tx, "BDNA").await?;
        let id = store::save_channel_in(
            tx,
            &Channel {
                id: 0,
                code: "BDNA".into(),
                name: "Service Desk B.D.N.A. - Banca Dati Nazionale Antimafia".into(),
                description: "Assistenza tecnica di primo livello agli utenti e agli operatori B.D.N.A. Per e-mail: indicare BDNA nell'oggetto.".into(),
                register_id: register,
                application_id,
                requester_categories: String::new(),
                require_association: 0,
                hours_weekly: "lun-ven 08:00-18:00".into(),
                hours_holidays: "festività nazionali".into(),
                form_spec: BDNA_FORM.into(),
                outcomes: "Risolta\nRisolta con istruzioni all'utente\nCertificato rinnovato\nNon di competenza".into(),
                routing_rules: "oggetto contiene rinnovo certificato | rinnovo del certificato | certificato digitale => ufficio competente\ncampo tipo = Rinnovo certificato digitale => ufficio competente\nsempre => ufficio MININT-SD-BDNA".into(),
                mail_address: Some("assistenza.dippp@interno.example.it".into()),
                intake_web: 1,
                intake_mail: 1,
                intake_phone: 1,
                notice_lookup: 0,
                sla_take_minutes: 120,
                sla_close_minutes: 1440,
                max_attachment_bytes: 10 * 1024 * 1024,
                active: 1,
            },
            now,
        )
        .await?;
        let offices = vec![
            office_id(tx, "MININT-SD-BDNA").await?,
            office_id(tx, "PREF-FE-BDNA").await?,
        ];
        store::set_channel_offices_in(tx, id, &offices).await?;
    }
    for (number, taxpayer, kind, model, year) in DEMO_NOTICES {
        store::upsert_notice_in(
            tx,
            &Notice {
                notice_number: number.to_string(),
                taxpayer_fiscal_code: taxpayer.to_string(),
                kind: kind.to_string(),
                model: model.to_string(),
                tax_year: *year,
            },
            now,
        )
        .await?;
    }
    Ok(())
}

async fn application_id(tx: &mut AnyConnection, code: &str) -> Result<Option<i64>, AppError> {
    Ok(store::id_by_code_in(tx, "applications", code).await?)
}
