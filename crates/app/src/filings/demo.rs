//! The demo's integrated service "Avvio di impresa" (seed 004): one form,
//! delivered to INPS, INAIL and the Chamber of Commerce through the demo
//! agencies the portal serves under `/demo-agency`. Idempotent; the
//! connectors follow the portal's current public address.

use sportello_core::desk::form::FormSpec;
use sportello_store::filings::{self as store, Connector, RecipientInput, Service};
use sportello_store::{AnyConnection, catalogue, desk as desk_store};

use crate::security::{random_token, token_hash};
use crate::{AppError, Config};

pub const SERVICE: &str = "AVVIO-IMPRESA";
/// The file (in the data dir) holding the demo agencies' callback token.
pub const TOKEN_FILE: &str = "demo-agency.token";

pub const FORM: &str = "\
codice_fiscale | Codice fiscale dell'impresa | codice_fiscale | obbligatorio
denominazione | Denominazione o ragione sociale | testo | obbligatorio
forma_giuridica | Forma giuridica | scelta:Ditta individuale/S.n.c./S.a.s./S.r.l./S.p.a. | obbligatorio
sede_comune | Comune della sede | testo | obbligatorio
sede_indirizzo | Indirizzo della sede | testo | obbligatorio
data_inizio | Data di inizio attività | data | obbligatorio
ateco | Codice ATECO dell'attività prevalente | testo | obbligatorio
descrizione_attivita | Descrizione dell'attività | testo_lungo | obbligatorio
dipendenti | Numero di dipendenti previsti | numero | obbligatorio
pec | PEC dell'impresa | email | obbligatorio
telefono | Telefono | telefono | facoltativo";

/// (connector code, name, organization, path, required application, profile, mapping)
const RECIPIENTS: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    (
        "INPS",
        "INPS",
        "INPS",
        "inps",
        "INPS-IMPRESE",
        "datore_lavoro",
        "adempimento = \"iscrizione_datore_lavoro\"
datore_lavoro.codice_fiscale = codice_fiscale
datore_lavoro.denominazione = denominazione
datore_lavoro.pec = pec
attivita.data_inizio = data_inizio
attivita.ateco = ateco
attivita.dipendenti = dipendenti",
    ),
    (
        "INAIL",
        "INAIL",
        "INAIL",
        "inail",
        "INAIL-IMPRESE",
        "datore_lavoro",
        "adempimento = \"denuncia_di_esercizio\"
ditta.codice_fiscale = codice_fiscale
ditta.ragione_sociale = denominazione
ditta.comune = sede_comune
ditta.indirizzo = sede_indirizzo
lavorazione.descrizione = descrizione_attivita
lavorazione.data_inizio = data_inizio
lavorazione.addetti = dipendenti",
    ),
    (
        "CCIAA-FERA",
        "Camera di Commercio di Ferrara e Ravenna",
        "CCIAA-FERA",
        "cciaa",
        "CCIAA-COMUNICA",
        "impresa",
        "adempimento = \"iscrizione_registro_imprese\"
impresa.codice_fiscale = codice_fiscale
impresa.denominazione = denominazione
impresa.forma_giuridica = forma_giuridica
sede.comune = sede_comune
sede.indirizzo = sede_indirizzo
attivita.ateco = ateco
attivita.descrizione = descrizione_attivita
attivita.data_inizio = data_inizio
contatti.pec = pec
contatti.telefono = telefono",
    ),
];

/// The demo agencies' callback token: kept in the data dir, made once.
pub fn demo_agency_token(config: &Config) -> Result<(String, bool), AppError> {
    let path = config.data_dir.join(TOKEN_FILE);
    if let Ok(t) = std::fs::read_to_string(&path)
        && !t.trim().is_empty()
    {
        return Ok((t.trim().to_string(), false));
    }
    let token = random_token();
    crate::demo::write_private(&path, &token)
        .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
    Ok((token, true))
}

async fn id_of(tx: &mut AnyConnection, table: &'static str, code: &str) -> Result<i64, AppError> {
    desk_store::id_by_code_in(tx, table, code)
        .await?
        .ok_or_else(|| AppError::Internal(format!("demo: {code} mancante")))
}

/// Connectors, the service, and Roberto Esposito's sub-delegation to his
/// collaborator Stefano Galli.
pub async fn seed_in(
    tx: &mut AnyConnection,
    config: &Config,
    delegator_cf: &str,
    delegate_cf: &str,
    now: i64,
) -> Result<(), AppError> {
    let (token, fresh) = demo_agency_token(config)?;
    let base = config.public_base_url.trim_end_matches('/');
    let mut recipients = Vec::new();
    for (code, name, org, path, app, profile, mapping) in RECIPIENTS {
        let existing = store::connector_by_code_in(tx, code).await?;
        let organization_id = desk_store::id_by_code_in(tx, "organizations", org).await?;
        let connector_id = store::save_connector_in(
            tx,
            &Connector {
                id: 0,
                code: code.to_string(),
                name: name.to_string(),
                organization_id,
                endpoint: format!("{base}/demo-agency/{path}/pratiche"),
                callback_token_hash: String::new(),
                timeout_ms: existing.as_ref().map_or(5_000, |c| c.timeout_ms),
                max_attempts: existing.as_ref().map_or(4, |c| c.max_attempts),
            },
            (fresh || existing.is_none())
                .then(|| token_hash(&token))
                .as_deref(),
            now,
        )
        .await?;
        let app_id = id_of(tx, "applications", app).await?;
        let profile_id = store::profile_id_in(tx, app_id, profile).await?;
        recipients.push(RecipientInput {
            connector_id,
            mapping: mapping.to_string(),
            required_application_id: app_id,
            required_profile_id: profile_id,
        });
    }
    if store::service_id_in(tx, SERVICE).await?.is_none() {
        let form = FormSpec::parse(FORM).map_err(|e| AppError::Internal(e.to_string()))?;
        let application_id = id_of(tx, "applications", "SERVIZI-INTEGRATI").await?;
        let id = store::save_service_in(
            tx,
            &Service {
                id: 0,
                code: SERVICE.into(),
                name: "Avvio di impresa".into(),
                description: "Iscrizione della nuova impresa all'INPS come datore di lavoro, denuncia di esercizio all'INAIL e iscrizione al Registro delle imprese della Camera di Commercio, con un solo modulo.".into(),
                application_id,
                application_code: "SERVIZI-INTEGRATI".into(),
                form_spec: form.to_spec(),
                active: 1,
            },
            now,
        )
        .await?;
        store::set_recipients_in(tx, id, &recipients).await?;
    }
    // The owner sub-delegates his integrated-services profile to a collaborator.
    let delegator = id_of(tx, "users", delegator_cf).await?;
    let delegate = id_of(tx, "users", delegate_cf).await?;
    if let Some((enablement_id, app_id, profile_id)) =
        store::enablement_in(tx, delegator, "SERVIZI-INTEGRATI").await?
        && !store::has_live_subdelegation_in(tx, delegator, delegate).await?
    {
        catalogue::create_subdelegation(
            tx,
            enablement_id,
            delegator,
            delegate,
            app_id,
            profile_id,
            now,
            None,
        )
        .await?;
    }
    Ok(())
}
