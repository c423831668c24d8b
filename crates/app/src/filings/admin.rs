//! The central administrator defines integrated services and the agencies'
//! connectors as data. Every setting is checked first and all problems are
//! reported together; nothing is written until all are right.

use serde::{Deserialize, Serialize};
use sportello_core::authz::Action;
use sportello_core::desk::form::FormSpec;
use sportello_core::filings::mapping::Mapping;
use sportello_store::filings::{self as store, Connector, RecipientInput, Service};
use sportello_store::{StoreError, catalogue, directory};

use crate::security::{random_token, token_hash};
use crate::{App, AppError, Origin, SessionUser, now_micros, record};

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ConnectorInput {
    pub code: String,
    pub name: String,
    /// The agency's organization code, when it is in the directory.
    #[serde(default)]
    pub organization_code: String,
    pub endpoint: String,
    pub timeout_ms: i64,
    pub max_attempts: i64,
    /// Issue a new callback token (always for a new connector).
    #[serde(default)]
    pub new_token: bool,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RecipientSpec {
    pub connector_code: String,
    pub mapping: String,
    pub required_application: String,
    #[serde(default)]
    pub required_profile: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ServiceInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub application_code: String,
    pub form_spec: String,
    pub active: bool,
    pub recipients: Vec<RecipientSpec>,
}

/// A service with its recipients, as the administrator edits it.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceDefinition {
    pub service: Service,
    pub recipients: Vec<store::Recipient>,
}

fn is_code(s: &str) -> bool {
    (2..=32).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Names the service form's page uses for its own fields.
const RESERVED_KEYS: [&str; 4] = ["csrf_token", "per", "bozza", "azione"];

const CODE_RULE: &str =
    "da 2 a 32 caratteri: lettere maiuscole, cifre, «-» o «_», iniziando con una lettera";

impl App {
    pub async fn service_definitions(
        &self,
        who: Option<&SessionUser>,
    ) -> Result<(Vec<ServiceDefinition>, Vec<Connector>), AppError> {
        self.authorize(who, &Action::ManageIntegratedServices)?;
        let mut out = Vec::new();
        for service in store::services(&self.db).await? {
            let recipients = store::recipients(&self.db, service.id).await?;
            out.push(ServiceDefinition {
                service,
                recipients,
            });
        }
        Ok((out, store::connectors(&self.db).await?))
    }

    /// Creates or updates a connector. Returns its id and, when one was
    /// issued, the callback token (shown once; only its hash is kept).
    pub async fn save_connector(
        &self,
        who: Option<&SessionUser>,
        input: ConnectorInput,
        origin: &Origin,
    ) -> Result<(i64, Option<String>), AppError> {
        self.authorize(who, &Action::ManageIntegratedServices)?;
        let mut problems: Vec<(String, String)> = Vec::new();
        let code = input.code.trim().to_string();
        if !is_code(&code) {
            problems.push(("code".into(), CODE_RULE.into()));
        }
        if input.name.trim().is_empty() {
            problems.push(("name".into(), "campo obbligatorio".into()));
        }
        match url::Url::parse(input.endpoint.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => problems.push((
                "endpoint".into(),
                "indirizzo http:// o https:// completo dell'API dell'ente".into(),
            )),
        }
        if !(100..=120_000).contains(&input.timeout_ms) {
            problems.push(("timeout_ms".into(), "tra 100 e 120000 millisecondi".into()));
        }
        if !(1..=50).contains(&input.max_attempts) {
            problems.push(("max_attempts".into(), "tra 1 e 50 tentativi".into()));
        }
        let organization_id = match input.organization_code.trim() {
            "" => None,
            c => match directory::organization_by_code(&self.db, c).await? {
                Some(o) => Some(o.id),
                None => {
                    problems.push((
                        "organization_code".into(),
                        format!("ente «{c}» sconosciuto"),
                    ));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(AppError::InvalidFields(problems));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let exists = store::connector_by_code_in(&mut tx, &code).await?.is_some();
        let token = (input.new_token || !exists).then(random_token);
        let id = store::save_connector_in(
            &mut tx,
            &Connector {
                id: 0,
                code: code.clone(),
                name: input.name.trim().to_string(),
                organization_id,
                endpoint: input.endpoint.trim().to_string(),
                callback_token_hash: String::new(),
                timeout_ms: input.timeout_ms,
                max_attempts: input.max_attempts,
            },
            token.as_deref().map(token_hash).as_deref(),
            now,
        )
        .await?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "filing.connector_save",
            &format!("connector:{code}"),
            &serde_json::json!({"endpoint": input.endpoint.trim(), "new_token": token.is_some()})
                .to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((id, token))
    }

    /// Creates or updates an integrated service with its recipients.
    pub async fn save_integrated_service(
        &self,
        who: Option<&SessionUser>,
        input: ServiceInput,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        self.authorize(who, &Action::ManageIntegratedServices)?;
        let mut problems: Vec<(String, String)> = Vec::new();
        let code = input.code.trim().to_string();
        if !is_code(&code) {
            problems.push(("code".into(), CODE_RULE.into()));
        }
        if input.name.trim().is_empty() {
            problems.push(("name".into(), "campo obbligatorio".into()));
        }
        let application =
            catalogue::application_by_code(&self.db, input.application_code.trim()).await?;
        if application.is_none() {
            problems.push((
                "application_code".into(),
                format!(
                    "applicazione «{}» sconosciuta",
                    input.application_code.trim()
                ),
            ));
        }
        let form = match FormSpec::parse(&input.form_spec) {
            Ok(f)
                if f.fields
                    .iter()
                    .any(|f| RESERVED_KEYS.contains(&f.key.as_str())) =>
            {
                problems.push((
                    "form_spec".into(),
                    format!(
                        "chiavi riservate alla pagina del modulo: {}",
                        RESERVED_KEYS.join(", ")
                    ),
                ));
                None
            }
            Ok(f) if !f.fields.is_empty() => Some(f),
            Ok(_) => {
                problems.push(("form_spec".into(), "il modulo non ha campi".into()));
                None
            }
            Err(e) => {
                problems.push(("form_spec".into(), e.to_string()));
                None
            }
        };
        if input.recipients.is_empty() {
            problems.push(("recipients".into(), "almeno un ente destinatario".into()));
        }
        let mut recipients = Vec::new();
        let all_connectors = store::connectors(&self.db).await?;
        for (i, r) in input.recipients.iter().enumerate() {
            let field = |name: &str| format!("recipients[{i}].{name}");
            let connector = all_connectors
                .iter()
                .find(|c| c.code == r.connector_code.trim());
            if connector.is_none() {
                problems.push((
                    field("connector_code"),
                    format!("connettore «{}» sconosciuto", r.connector_code.trim()),
                ));
            }
            if input.recipients[..i]
                .iter()
                .any(|o| o.connector_code.trim() == r.connector_code.trim())
            {
                problems.push((field("connector_code"), "ente già tra i destinatari".into()));
            }
            if let Some(form) = &form
                && let Err(e) = Mapping::parse(&r.mapping, form)
            {
                problems.push((field("mapping"), e.to_string()));
            }
            let app =
                catalogue::application_by_code(&self.db, r.required_application.trim()).await?;
            let profile = match (&app, r.required_profile.trim()) {
                (None, _) => {
                    problems.push((
                        field("required_application"),
                        format!(
                            "applicazione «{}» sconosciuta",
                            r.required_application.trim()
                        ),
                    ));
                    None
                }
                (Some(_), "") => None,
                (Some(a), p) => match catalogue::profile_by_codes(&self.db, &a.code, p).await? {
                    Some(p) => Some(p.id),
                    None => {
                        problems.push((
                            field("required_profile"),
                            format!("profilo «{p}» sconosciuto per {}", a.code),
                        ));
                        None
                    }
                },
            };
            if let (Some(c), Some(a)) = (connector, &app) {
                recipients.push(RecipientInput {
                    connector_id: c.id,
                    mapping: r.mapping.clone(),
                    required_application_id: a.id,
                    required_profile_id: profile,
                });
            }
        }
        if !problems.is_empty() {
            return Err(AppError::InvalidFields(problems));
        }
        let (Some(application), Some(form)) = (application, form) else {
            return Err(AppError::Internal("controllo incompleto".into()));
        };
        let who = who.ok_or(AppError::NeedsLogin)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let id = store::save_service_in(
            &mut tx,
            &Service {
                id: 0,
                code: code.clone(),
                name: input.name.trim().to_string(),
                description: input.description.trim().to_string(),
                application_id: application.id,
                application_code: application.code.clone(),
                form_spec: form.to_spec(),
                active: i64::from(input.active),
            },
            now,
        )
        .await?;
        store::set_recipients_in(&mut tx, id, &recipients)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => AppError::InvalidFields(vec![("recipients".into(), m)]),
                other => other.into(),
            })?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "filing.service_save",
            &format!("service:{code}"),
            &serde_json::json!({
                "recipients": input.recipients.iter().map(|r| r.connector_code.trim()).collect::<Vec<_>>(),
                "active": input.active,
            })
            .to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }
}
