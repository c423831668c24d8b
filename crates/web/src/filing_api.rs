//! The integrated filings' JSON API (`/api/v1/filings/...`): services, the
//! desk (drafts, sending, resend, archive, search), the agencies' callback
//! and the central administrator's definitions, on the same use cases as
//! the pages.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sportello_app::filings::admin::{ConnectorInput, RecipientSpec, ServiceInput};
use sportello_app::filings::{
    CallbackError, FilingDetail, FilingQuery, FilingSummary, ServiceView,
};
use sportello_core::filings::{DeliveryState, Tray};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::Shared;
use crate::api::{ApiActor, ApiError, rfc3339};

type ApiResult<T> = Result<Json<T>, ApiError>;

#[derive(Serialize, ToSchema)]
pub struct FieldOut {
    pub key: String,
    pub label: String,
    /// The field's type as in the form text (`testo`, `data`, `scelta:a/b`, ...).
    pub kind: String,
    pub required: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RecipientOut {
    pub code: String,
    pub name: String,
    /// Labels of the fields this agency receives.
    pub fields: Vec<String>,
    /// The authorization the filer must hold at the agency.
    pub requirement: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActingOut {
    pub owner_id: i64,
    pub owner_name: String,
    pub for_self: bool,
    pub can_prepare: bool,
    pub can_submit: bool,
    /// Agencies at which the owner lacks the authorization: he cannot send.
    pub missing: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceOut {
    pub code: String,
    pub name: String,
    pub description: String,
    pub fields: Vec<FieldOut>,
    pub recipients: Vec<RecipientOut>,
    pub acting: Vec<ActingOut>,
}

impl From<ServiceView> for ServiceOut {
    fn from(v: ServiceView) -> Self {
        ServiceOut {
            code: v.code,
            name: v.name,
            description: v.description,
            fields: v
                .form
                .fields
                .into_iter()
                .map(|f| FieldOut {
                    kind: f.kind.to_spec(),
                    key: f.key,
                    label: f.label,
                    required: f.required,
                })
                .collect(),
            recipients: v
                .recipients
                .into_iter()
                .map(|r| RecipientOut {
                    code: r.code,
                    name: r.name,
                    fields: r.fields,
                    requirement: r.requirement,
                })
                .collect(),
            acting: v
                .acting
                .into_iter()
                .map(|a| ActingOut {
                    owner_id: a.owner_id,
                    owner_name: a.owner_name,
                    for_self: a.for_self,
                    can_prepare: a.can_prepare,
                    can_submit: a.can_submit,
                    missing: a.missing,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: i64,
    pub recipient: String,
    pub recipient_name: String,
    /// pending, retrying, received, taken_in_charge, accepted, rejected, failed.
    pub state: String,
    pub state_label: String,
    /// The agency's protocol number: the filing is started there only once it is given.
    pub protocol: Option<String>,
    pub reason: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub started_at: Option<String>,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct FilingOut {
    pub id: i64,
    pub service: String,
    pub service_name: String,
    /// The portal's reference, given when sent (informative only).
    pub reference: Option<String>,
    /// `draft` or `submitted`.
    pub state: String,
    /// `drafts`, `in_progress` or `archive`.
    pub tray: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub prepared_by: i64,
    pub preparer_name: String,
    pub created_at: String,
    pub submitted_at: Option<String>,
    pub archived_at: Option<String>,
    pub deliveries: Vec<DeliveryOut>,
}

impl From<FilingSummary> for FilingOut {
    fn from(s: FilingSummary) -> Self {
        let f = s.filing;
        FilingOut {
            id: f.id,
            service: f.service_code,
            service_name: f.service_name,
            reference: f.reference,
            state: f.state,
            tray: s.tray.code().into(),
            owner_id: f.owner_id,
            owner_name: f.owner_name,
            prepared_by: f.prepared_by,
            preparer_name: f.preparer_name,
            created_at: rfc3339(f.created_at),
            submitted_at: f.submitted_at.map(rfc3339),
            archived_at: f.archived_at.map(rfc3339),
            deliveries: s
                .deliveries
                .into_iter()
                .map(|d| DeliveryOut {
                    state_label: d
                        .state
                        .parse::<DeliveryState>()
                        .map(|s| s.label().to_string())
                        .unwrap_or_default(),
                    id: d.id,
                    recipient: d.connector_code,
                    recipient_name: d.connector_name,
                    state: d.state,
                    protocol: d.protocol,
                    reason: d.reason,
                    attempts: d.attempts,
                    last_error: d.last_error,
                    started_at: d.started_at.map(rfc3339),
                    updated_at: rfc3339(d.updated_at),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryEventOut {
    pub at: String,
    pub recipient_name: String,
    pub kind: String,
    pub detail: String,
    pub actor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FilingDetailOut {
    #[serde(flatten)]
    pub filing: FilingOut,
    pub values: BTreeMap<String, String>,
    pub events: Vec<DeliveryEventOut>,
    pub can_submit: bool,
    pub missing: Vec<String>,
}

impl From<FilingDetail> for FilingDetailOut {
    fn from(d: FilingDetail) -> Self {
        FilingDetailOut {
            filing: d.summary.into(),
            values: d.values,
            events: d
                .events
                .into_iter()
                .map(|e| DeliveryEventOut {
                    at: rfc3339(e.at),
                    recipient_name: e.connector_name,
                    kind: e.kind,
                    detail: e.detail,
                    actor: e.actor_name,
                })
                .collect(),
            can_submit: d.can_submit,
            missing: d.missing,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct FilingIn {
    /// The service's code, e.g. `AVVIO-IMPRESA`.
    pub service: String,
    /// For whom: the caller (default) or a user who sub-delegated him.
    pub owner_id: Option<i64>,
    /// A draft to complete.
    pub draft_id: Option<i64>,
    /// The form's values by field key.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Send now (true) or keep as a draft (false).
    #[serde(default)]
    pub send: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FilingCreated {
    pub id: i64,
    /// Given when sent.
    pub reference: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct FilingParams {
    /// `drafts`, `in_progress` or `archive`.
    pub tray: Option<String>,
    /// Portal reference, an agency's protocol number, or text in the data.
    pub text: Option<String>,
    /// Filings with a delivery in this state.
    pub delivery_state: Option<String>,
    /// yyyy-mm-dd, inclusive.
    pub from: Option<String>,
    pub until: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct ArchiveIn {
    pub archived: bool,
}

/// What an agency reports; see docs/AGENCY-CONNECTOR.md.
#[derive(Deserialize, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CallbackIn {
    pub idempotency_key: String,
    /// received, taken_in_charge, accepted, rejected.
    pub state: String,
    pub protocol: Option<String>,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CallbackOut {
    /// False when the same news had already been recorded.
    pub recorded: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectorSaved {
    pub id: i64,
    /// The callback token, only when one was issued now (kept only as a hash).
    pub callback_token: Option<String>,
}

fn me(a: &ApiActor, owner: Option<i64>) -> i64 {
    owner.unwrap_or(a.who.user.id)
}

#[utoipa::path(get, path = "/api/v1/filings/services", tag = "filings",
    responses((status = 200, body = [ServiceOut]), (status = 401, body = ApiError)))]
pub async fn services(State(state): State<Shared>, a: ApiActor) -> ApiResult<Vec<ServiceOut>> {
    let list = state.app.integrated_services(&a.who).await?;
    Ok(Json(list.into_iter().map(ServiceOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/filings", tag = "filings", params(FilingParams),
    responses((status = 200, body = [FilingOut]), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub async fn filings(
    State(state): State<Shared>,
    a: ApiActor,
    Query(p): Query<FilingParams>,
) -> ApiResult<Vec<FilingOut>> {
    let bad = |field: &'static str, message: String| {
        ApiError::from(sportello_app::AppError::Invalid { field, message })
    };
    let tray = match p.tray.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(Tray::parse(t).ok_or_else(|| {
            bad(
                "tray",
                format!("«{t}»: valori ammessi drafts, in_progress, archive"),
            )
        })?),
    };
    let delivery_state = match p.delivery_state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            s.parse::<DeliveryState>()
                .map_err(|e| bad("delivery_state", e))?,
        ),
    };
    let list = state
        .app
        .search_filings(
            &a.who,
            &FilingQuery {
                tray,
                text: p.text,
                delivery_state,
                from: p.from,
                until: p.until,
                limit: p.limit.unwrap_or(200),
            },
        )
        .await?;
    Ok(Json(list.into_iter().map(FilingOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/filings", tag = "filings", request_body = FilingIn,
    responses((status = 201, body = FilingCreated), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub async fn create(
    State(state): State<Shared>,
    a: ApiActor,
    Json(b): Json<FilingIn>,
) -> Result<(StatusCode, Json<FilingCreated>), ApiError> {
    let owner = me(&a, b.owner_id);
    let created = if b.send {
        let s = state
            .app
            .submit_filing(&a.who, &b.service, owner, b.draft_id, &b.values, &a.origin)
            .await?;
        FilingCreated {
            id: s.filing_id,
            reference: Some(s.reference),
        }
    } else {
        let id = state
            .app
            .save_filing_draft(&a.who, &b.service, owner, b.draft_id, &b.values, &a.origin)
            .await?;
        FilingCreated {
            id,
            reference: None,
        }
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/filings/{id}", tag = "filings", params(("id" = i64, Path)),
    responses((status = 200, body = FilingDetailOut), (status = 404, body = ApiError)))]
pub async fn filing(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<FilingDetailOut> {
    Ok(Json(state.app.filing_detail(&a.who, id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/filings/{id}/deliveries/{delivery_id}/resend", tag = "filings",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    responses((status = 202), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn resend(
    State(state): State<Shared>,
    a: ApiActor,
    Path((id, delivery_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .resend_delivery(&a.who, id, delivery_id, &a.origin)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/filings/{id}/archive", tag = "filings", params(("id" = i64, Path)), request_body = ArchiveIn,
    responses((status = 204), (status = 404, body = ApiError)))]
pub async fn archive(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<ArchiveIn>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .archive_filing(&a.who, id, b.archived, &a.origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/filings/{id}", tag = "filings", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn delete_draft(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_filing_draft(&a.who, id, &a.origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An agency reports a protocol number or an outcome.
#[utoipa::path(post, path = "/api/v1/filings/callback", tag = "filings", request_body = CallbackIn,
    security(("connector_token" = [])),
    responses((status = 200, body = CallbackOut), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn callback(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<CallbackOut> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => {
            // The token is checked first even for a malformed body.
            match state.app.callback_token(bearer).await {
                Ok(_) => {}
                Err(CallbackError::App(e)) => return Err(e.into()),
                Err(_) => {
                    return Err(ApiError::new(
                        401,
                        "unauthenticated",
                        "token dell'ente mancante o non valido",
                    ));
                }
            }
            return Err(ApiError::new(
                400,
                "invalid",
                "il corpo deve essere un oggetto JSON",
            ));
        }
    };
    match state.app.filing_callback(bearer, &json).await {
        Ok(recorded) => Ok(Json(CallbackOut { recorded })),
        Err(CallbackError::Unauthorized) => Err(ApiError::new(
            401,
            "unauthenticated",
            "token dell'ente mancante o non valido",
        )),
        Err(CallbackError::UnknownFiling) => Err(ApiError::new(
            404,
            "not_found",
            "nessuna pratica con questa chiave per questo ente",
        )),
        Err(CallbackError::Invalid(m)) => Err(ApiError::new(400, "invalid", m)),
        Err(CallbackError::Conflict(m)) => Err(ApiError::new(409, "conflict", m)),
        Err(CallbackError::App(e)) => Err(e.into()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceDefinitionOut {
    pub code: String,
    pub name: String,
    pub description: String,
    pub application_code: String,
    pub form_spec: String,
    pub active: bool,
    pub recipients: Vec<RecipientSpecOut>,
}

#[derive(Serialize, ToSchema)]
pub struct RecipientSpecOut {
    pub connector_code: String,
    pub mapping: String,
    pub required_application: String,
    pub required_profile: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectorOut {
    pub code: String,
    pub name: String,
    pub endpoint: String,
    pub timeout_ms: i64,
    pub max_attempts: i64,
}

#[derive(Serialize, ToSchema)]
pub struct DefinitionsOut {
    pub services: Vec<ServiceDefinitionOut>,
    pub connectors: Vec<ConnectorOut>,
}

#[utoipa::path(get, path = "/api/v1/filings/admin", tag = "filings",
    responses((status = 200, body = DefinitionsOut), (status = 403, body = ApiError)))]
pub async fn definitions(State(state): State<Shared>, a: ApiActor) -> ApiResult<DefinitionsOut> {
    let (services, connectors) = state.app.service_definitions(Some(&a.who)).await?;
    Ok(Json(DefinitionsOut {
        services: services
            .into_iter()
            .map(|d| ServiceDefinitionOut {
                code: d.service.code,
                name: d.service.name,
                description: d.service.description,
                application_code: d.service.application_code,
                form_spec: d.service.form_spec,
                active: d.service.active != 0,
                recipients: d
                    .recipients
                    .into_iter()
                    .map(|r| RecipientSpecOut {
                        connector_code: r.connector_code,
                        mapping: r.mapping,
                        required_application: r.required_application_code,
                        required_profile: r.required_profile_code,
                    })
                    .collect(),
            })
            .collect(),
        connectors: connectors
            .into_iter()
            .map(|c| ConnectorOut {
                code: c.code,
                name: c.name,
                endpoint: c.endpoint,
                timeout_ms: c.timeout_ms,
                max_attempts: c.max_attempts,
            })
            .collect(),
    }))
}

/// A service definition (see the admin page for the form and mapping syntax).
#[derive(Deserialize, ToSchema)]
pub struct ServiceIn {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub application_code: String,
    pub form_spec: String,
    #[serde(default = "yes")]
    pub active: bool,
    pub recipients: Vec<RecipientIn>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
pub struct RecipientIn {
    pub connector_code: String,
    pub mapping: String,
    pub required_application: String,
    #[serde(default)]
    pub required_profile: String,
}

#[utoipa::path(put, path = "/api/v1/filings/admin/services/{code}", tag = "filings", request_body = ServiceIn, params(("code" = String, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn save_service(
    State(state): State<Shared>,
    a: ApiActor,
    Path(code): Path<String>,
    Json(b): Json<ServiceIn>,
) -> Result<StatusCode, ApiError> {
    let input = ServiceInput {
        code,
        name: b.name,
        description: b.description,
        application_code: b.application_code,
        form_spec: b.form_spec,
        active: b.active,
        recipients: b
            .recipients
            .into_iter()
            .map(|r| RecipientSpec {
                connector_code: r.connector_code,
                mapping: r.mapping,
                required_application: r.required_application,
                required_profile: r.required_profile,
            })
            .collect(),
    };
    state
        .app
        .save_integrated_service(Some(&a.who), input, &a.origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ConnectorIn {
    pub name: String,
    #[serde(default)]
    pub organization_code: String,
    pub endpoint: String,
    pub timeout_ms: i64,
    pub max_attempts: i64,
    /// Issue a new callback token (always for a new connector).
    #[serde(default)]
    pub new_token: bool,
}

#[utoipa::path(put, path = "/api/v1/filings/admin/connectors/{code}", tag = "filings", request_body = ConnectorIn, params(("code" = String, Path)),
    responses((status = 200, body = ConnectorSaved), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn save_connector(
    State(state): State<Shared>,
    a: ApiActor,
    Path(code): Path<String>,
    Json(b): Json<ConnectorIn>,
) -> ApiResult<ConnectorSaved> {
    let (id, callback_token) = state
        .app
        .save_connector(
            Some(&a.who),
            ConnectorInput {
                code,
                name: b.name,
                organization_code: b.organization_code,
                endpoint: b.endpoint,
                timeout_ms: b.timeout_ms,
                max_attempts: b.max_attempts,
                new_token: b.new_token,
            },
            &a.origin,
        )
        .await?;
    Ok(Json(ConnectorSaved { id, callback_token }))
}

#[derive(OpenApi)]
#[openapi(
    paths(services, filings, create, filing, resend, archive, delete_draft, callback, definitions, save_service, save_connector),
    components(schemas(FieldOut, RecipientOut, ActingOut, ServiceOut, DeliveryOut, FilingOut, DeliveryEventOut, FilingDetailOut, FilingIn,
                       FilingCreated, ArchiveIn, CallbackIn, CallbackOut, ConnectorSaved, ServiceDefinitionOut, RecipientSpecOut, ConnectorOut,
                       DefinitionsOut, ServiceIn, RecipientIn, ConnectorIn)),
    tags((name = "filings", description = "Integrated filings: one form, several agencies, each agency's protocol, resend of what failed"))
)]
pub struct FilingApiDoc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/filings/services", get(services))
        .route("/api/v1/filings", get(filings).post(create))
        .route("/api/v1/filings/callback", post(callback))
        .route("/api/v1/filings/admin", get(definitions))
        .route("/api/v1/filings/admin/services/{code}", put(save_service))
        .route(
            "/api/v1/filings/admin/connectors/{code}",
            put(save_connector),
        )
        .route(
            "/api/v1/filings/{id}",
            get(filing).merge(delete(delete_draft)),
        )
        .route("/api/v1/filings/{id}/archive", post(archive))
        .route(
            "/api/v1/filings/{id}/deliveries/{delivery_id}/resend",
            post(resend),
        )
}
