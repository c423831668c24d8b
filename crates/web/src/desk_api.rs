//! The desk's JSON API (`/api/v1/desk/...`) and the mail gate
//! (`/api/v1/mailgate`), on the same use cases as the pages.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sportello_app::desk::admin::ChannelInput;
use sportello_app::desk::intake::{PhoneCall, WebSubmission};
use sportello_app::desk::mailgate::{MailOutcome, TriageDecision};
use sportello_app::desk::reports::{Report, ReportScope};
use sportello_app::desk::work::WorkAct;
use sportello_app::desk::{Registered, Upload};
use sportello_app::{AppError, Origin};
use sportello_core::authz::Action;
use sportello_store::desk::{self as store, Contact, Notice};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::Shared;
use crate::api::{ApiActor, ApiError, rfc3339};

type ApiResult<T> = Result<Json<T>, ApiError>;

/// A file in JSON: its name and its bytes in base64.
#[derive(Deserialize, ToSchema)]
pub struct FileIn {
    pub filename: String,
    pub content_base64: String,
}

fn uploads(files: Vec<FileIn>) -> Result<Vec<Upload>, ApiError> {
    files
        .into_iter()
        .map(|f| {
            base64::engine::general_purpose::STANDARD
                .decode(f.content_base64.as_bytes())
                .map(|data| Upload {
                    filename: f.filename.clone(),
                    data,
                })
                .map_err(|_| {
                    ApiError::from(AppError::Invalid {
                        field: "attachments",
                        message: format!("«{}»: contenuto base64 non valido", f.filename),
                    })
                })
        })
        .collect()
}

#[derive(Serialize, ToSchema)]
pub struct ChannelOut {
    pub code: String,
    pub name: String,
    pub description: String,
    pub open_now: bool,
    /// When a closed channel opens again (RFC 3339).
    pub reopens_at: Option<String>,
    pub intake_web: bool,
    pub intake_mail: bool,
    pub intake_phone: bool,
    pub mail_address: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/desk/channels", tag = "desk",
    responses((status = 200, body = [ChannelOut]), (status = 401, body = ApiError)))]
pub async fn channels(State(state): State<Shared>, a: ApiActor) -> ApiResult<Vec<ChannelOut>> {
    let mut out = Vec::new();
    for c in state
        .app
        .channels_for(&a.who)
        .await
        .map_err(ApiError::from)?
    {
        let access = state
            .app
            .channel_access(Some(&a.who), &c.code)
            .await
            .map_err(ApiError::from)?;
        out.push(ChannelOut {
            code: c.code,
            name: c.name,
            description: c.description,
            open_now: access.open_now,
            reopens_at: (!access.open_now)
                .then_some(access.reopens_at)
                .flatten()
                .map(rfc3339),
            intake_web: c.intake_web != 0,
            intake_mail: c.intake_mail != 0,
            intake_phone: c.intake_phone != 0,
            mail_address: c.mail_address,
        });
    }
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema)]
pub struct ContactIn {
    pub contact_name: String,
    pub phone: String,
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
pub struct NewRequest {
    pub subject: String,
    pub body: String,
    /// The channel's form fields by key.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    pub contact: ContactIn,
    #[serde(default)]
    pub attachments: Vec<FileIn>,
}

#[derive(Serialize, ToSchema)]
pub struct RegisteredOut {
    pub id: i64,
    /// The protocol number, e.g. CIVIS-2026-0000042.
    pub protocol: String,
    pub registered_at: String,
    pub office_code: String,
    pub office_name: String,
}

impl From<Registered> for RegisteredOut {
    fn from(r: Registered) -> Self {
        RegisteredOut {
            id: r.id,
            protocol: r.protocol,
            registered_at: rfc3339(r.registered_at),
            office_code: r.office_code,
            office_name: r.office_name,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/desk/channels/{code}/requests", tag = "desk", request_body = NewRequest,
    params(("code" = String, Path)),
    responses((status = 201, body = RegisteredOut), (status = 400, body = ApiError), (status = 403, body = ApiError),
              (status = 409, body = ApiError, description = "the channel is closed")))]
pub async fn submit(
    State(state): State<Shared>,
    a: ApiActor,
    Path(code): Path<String>,
    Json(b): Json<NewRequest>,
) -> Result<(StatusCode, Json<RegisteredOut>), ApiError> {
    let sub = WebSubmission {
        subject: b.subject,
        body: b.body,
        fields: b.fields,
        contact: Contact {
            contact_name: b.contact.contact_name,
            phone: b.contact.phone,
            email: b.contact.email,
        },
        attachments: uploads(b.attachments)?,
    };
    let r = state
        .app
        .submit_request(Some(&a.who), &code, sub, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct PhoneIn {
    pub caller_name: String,
    #[serde(default)]
    pub caller_fiscal_code: String,
    pub phone: String,
    #[serde(default)]
    pub email: String,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/desk/channels/{code}/phone-requests", tag = "desk", request_body = PhoneIn,
    params(("code" = String, Path)),
    responses((status = 201, body = RegisteredOut), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn phone(
    State(state): State<Shared>,
    a: ApiActor,
    Path(code): Path<String>,
    Json(b): Json<PhoneIn>,
) -> Result<(StatusCode, Json<RegisteredOut>), ApiError> {
    let call = PhoneCall {
        caller_name: b.caller_name,
        caller_fiscal_code: b.caller_fiscal_code,
        phone: b.phone,
        email: b.email,
        subject: b.subject,
        body: b.body,
        fields: b.fields,
    };
    let r = state
        .app
        .register_phone_request(Some(&a.who), &code, call, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Serialize, ToSchema)]
pub struct RequestOut {
    pub id: i64,
    pub protocol: String,
    pub registered_at: String,
    pub channel_id: i64,
    pub intake: String,
    pub requester_name: String,
    pub subject: String,
    pub office_id: i64,
    pub assignee_id: Option<i64>,
    /// `new`, `assigned`, `in_progress`, `waiting_requester`, `closed`.
    pub state: String,
    pub outcome: Option<String>,
    /// `ok`, `near`, `breached`.
    pub sla_flag: String,
}

impl From<store::Request> for RequestOut {
    fn from(r: store::Request) -> Self {
        RequestOut {
            id: r.id,
            protocol: r.protocol,
            registered_at: rfc3339(r.registered_at),
            channel_id: r.channel_id,
            intake: r.intake,
            requester_name: r.requester_name,
            subject: r.subject,
            office_id: r.office_id,
            assignee_id: r.assignee_id,
            state: r.state,
            outcome: r.outcome,
            sla_flag: r.sla_flag,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct RequestQuery {
    /// Comma-separated states.
    pub state: Option<String>,
    /// Protocol, subject or requester (substring).
    pub q: Option<String>,
    /// Only this office (staff).
    pub office_id: Option<i64>,
    /// `true`: only those assigned to me.
    pub mine: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/desk/requests", tag = "desk", params(RequestQuery),
    responses((status = 200, body = [RequestOut]), (status = 401, body = ApiError)))]
pub async fn requests(
    State(state): State<Shared>,
    a: ApiActor,
    Query(q): Query<RequestQuery>,
) -> ApiResult<Vec<RequestOut>> {
    let staff_offices = store::offices_of_staff(&state.app.db, a.who.user.id)
        .await
        .map_err(AppError::from)?;
    let mut filter = store::RequestFilter {
        states: q
            .state
            .as_deref()
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        text: q.q,
        limit: q.limit.unwrap_or(50),
        offset: q.offset.unwrap_or(0),
        ..Default::default()
    };
    if staff_offices.is_empty() {
        filter.requester_user_id = Some(a.who.user.id);
    } else {
        let offices = match q.office_id {
            Some(o) => {
                state
                    .app
                    .authorize(Some(&a.who), &Action::WorkOffice { office_id: o })?;
                vec![o]
            }
            None => staff_offices,
        };
        filter.office_ids = Some(offices);
        if q.mine == Some(true) {
            filter.assignee_id = Some(a.who.user.id);
        }
    }
    let list = store::list_requests(&state.app.db, &filter)
        .await
        .map_err(AppError::from)?;
    Ok(Json(list.into_iter().map(RequestOut::from).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    pub at: String,
    pub actor: String,
    /// `registered`, `assigned`, `taken`, `note`, `message_out`, `documents_requested`, `message_in`, `closed`, `transferred`.
    pub kind: String,
    /// False for internal notes and assignments (not shown to the requester).
    pub public: bool,
    pub body: String,
    pub attachments: Vec<AttachmentOut>,
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentOut {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Serialize, ToSchema)]
pub struct RequestDetail {
    pub request: RequestOut,
    pub channel: String,
    pub office_code: String,
    pub office_name: String,
    pub fields: BTreeMap<String, String>,
    pub events: Vec<EventOut>,
}

#[utoipa::path(get, path = "/api/v1/desk/requests/{id}", tag = "desk", params(("id" = i64, Path)),
    responses((status = 200, body = RequestDetail), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn request(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<RequestDetail> {
    let v = state
        .app
        .request_view(Some(&a.who), id)
        .await
        .map_err(ApiError::from)?;
    let events = v
        .events
        .iter()
        .map(|e| EventOut {
            at: rfc3339(e.at),
            actor: e.actor_label.clone(),
            kind: e.kind.clone(),
            public: e.public != 0,
            body: e.body.clone(),
            attachments: v
                .attachments
                .iter()
                .filter(|x| x.event_id == Some(e.id))
                .map(|x| AttachmentOut {
                    id: x.id,
                    filename: x.filename.clone(),
                    content_type: x.content_type.clone(),
                    size: x.size,
                    sha256: x.sha256.clone(),
                })
                .collect(),
        })
        .collect();
    Ok(Json(RequestDetail {
        fields: serde_json::from_str(&v.request.fields).unwrap_or_default(),
        channel: v.channel.code.clone(),
        office_code: v.office.code.clone(),
        office_name: v.office.name.clone(),
        request: v.request.into(),
        events,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ActionIn {
    /// `assign`, `take`, `note`, `message`, `ask_documents`, `close`, `transfer`.
    pub act: String,
    pub assignee_id: Option<i64>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub office_code: String,
    #[serde(default)]
    pub appointment: String,
}

#[utoipa::path(post, path = "/api/v1/desk/requests/{id}/actions", tag = "desk", request_body = ActionIn, params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub async fn act(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<ActionIn>,
) -> Result<StatusCode, ApiError> {
    let act = match b.act.as_str() {
        "assign" => WorkAct::Assign {
            assignee_id: b.assignee_id.ok_or_else(|| {
                ApiError::from(AppError::Invalid {
                    field: "assignee_id",
                    message: "campo obbligatorio".into(),
                })
            })?,
        },
        "take" => WorkAct::Take,
        "note" => WorkAct::Note { text: b.text },
        "message" => WorkAct::Message {
            text: b.text,
            ask_documents: false,
        },
        "ask_documents" => WorkAct::Message {
            text: b.text,
            ask_documents: true,
        },
        "close" => WorkAct::Close {
            outcome: b.outcome,
            text: b.text,
        },
        "transfer" => WorkAct::Transfer {
            office_code: b.office_code,
            appointment: b.appointment,
        },
        other => {
            return Err(ApiError::from(AppError::Invalid {
                field: "act",
                message: format!("azione «{other}» sconosciuta"),
            }));
        }
    };
    state
        .app
        .work_request(Some(&a.who), id, act, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct AnnulmentIn {
    /// The reason and the reference of the act that authorises the annulment.
    pub reason: String,
}

/// Annuls a registration (DPR 445/2000 art. 54); for the register's keepers.
#[utoipa::path(post, path = "/api/v1/desk/requests/{id}/annulment", tag = "desk", request_body = AnnulmentIn, params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub async fn annul(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<AnnulmentIn>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .annul_registration(Some(&a.who), id, b.reason, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ReplyIn {
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<FileIn>,
}

#[utoipa::path(post, path = "/api/v1/desk/requests/{id}/replies", tag = "desk", request_body = ReplyIn, params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub async fn reply(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<ReplyIn>,
) -> Result<StatusCode, ApiError> {
    let files = uploads(b.attachments)?;
    state
        .app
        .reply_to_request(Some(&a.who), id, b.text, files, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct NoticeIn {
    pub notice_number: String,
    pub taxpayer_fiscal_code: String,
    /// `comunicazione` or `avviso`.
    pub kind: String,
    pub model: String,
    pub tax_year: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Loaded {
    pub rows: usize,
    pub new: usize,
}

#[utoipa::path(put, path = "/api/v1/desk/notices", tag = "desk", request_body = [NoticeIn],
    responses((status = 200, body = Loaded), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn load_notices(
    State(state): State<Shared>,
    a: ApiActor,
    Json(b): Json<Vec<NoticeIn>>,
) -> ApiResult<Loaded> {
    let rows = b.len();
    let notices = b
        .into_iter()
        .map(|n| Notice {
            notice_number: n.notice_number,
            taxpayer_fiscal_code: n.taxpayer_fiscal_code,
            kind: n.kind,
            model: n.model,
            tax_year: n.tax_year,
        })
        .collect();
    let new = state
        .app
        .load_notices(Some(&a.who), notices, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok(Json(Loaded { rows, new }))
}

#[derive(Deserialize, IntoParams)]
pub struct NoticeQuery {
    pub channel: String,
    pub taxpayer: String,
}

#[derive(Serialize, ToSchema)]
pub struct NoticeOut {
    pub notice_number: String,
    pub kind: String,
    pub model: String,
    pub tax_year: i64,
}

#[utoipa::path(get, path = "/api/v1/desk/notices/{number}", tag = "desk", params(("number" = String, Path), NoticeQuery),
    responses((status = 200, body = NoticeOut), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn notice(
    State(state): State<Shared>,
    a: ApiActor,
    Path(number): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> ApiResult<NoticeOut> {
    let n = state
        .app
        .lookup_notice(Some(&a.who), &q.channel, &number, &q.taxpayer)
        .await
        .map_err(ApiError::from)?;
    Ok(Json(NoticeOut {
        notice_number: n.notice_number,
        kind: n.kind,
        model: n.model,
        tax_year: n.tax_year,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct ReportQuery {
    /// `office:<id>`, `region:<name>` or `nation`.
    pub scope: String,
    /// First day, yyyy-mm-dd.
    pub from: String,
    /// Last day, yyyy-mm-dd.
    pub to: String,
}

fn parse_day(field: &'static str, s: &str) -> Result<i64, ApiError> {
    let d: jiff::civil::Date = s.parse().map_err(|_| {
        ApiError::from(AppError::Invalid {
            field,
            message: format!("«{s}» non è una data aaaa-mm-gg"),
        })
    })?;
    Ok(sportello_app::desk::reports::day_number(d))
}

pub fn parse_scope(s: &str) -> Option<ReportScope> {
    if s == "nation" || s == "nazione" {
        return Some(ReportScope::Nation);
    }
    if let Some(id) = s
        .strip_prefix("office:")
        .or_else(|| s.strip_prefix("ufficio:"))
    {
        return id.parse().ok().map(ReportScope::Office);
    }
    s.strip_prefix("region:")
        .or_else(|| s.strip_prefix("regione:"))
        .map(|r| ReportScope::Region(r.to_string()))
}

#[utoipa::path(get, path = "/api/v1/desk/reports", tag = "desk", params(ReportQuery),
    responses((status = 200, description = "counts now and in the period, rows per office or region, the daily series"),
              (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn report(
    State(state): State<Shared>,
    a: ApiActor,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Report> {
    let scope = parse_scope(&q.scope).ok_or_else(|| {
        ApiError::from(AppError::Invalid {
            field: "scope",
            message: "valori ammessi: office:<id>, region:<nome>, nation".into(),
        })
    })?;
    let from = parse_day("from", &q.from)?;
    let to = parse_day("to", &q.to)?;
    Ok(Json(
        state
            .app
            .report(Some(&a.who), &scope, from, to)
            .await
            .map_err(ApiError::from)?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct TriageOut {
    pub id: i64,
    pub received_at: String,
    pub from_address: Option<String>,
    pub subject: String,
    pub reason: String,
}

#[utoipa::path(get, path = "/api/v1/desk/triage", tag = "desk",
    responses((status = 200, body = [TriageOut]), (status = 403, body = ApiError)))]
pub async fn triage(State(state): State<Shared>, a: ApiActor) -> ApiResult<Vec<TriageOut>> {
    let list = state
        .app
        .triage_list(Some(&a.who))
        .await
        .map_err(ApiError::from)?;
    Ok(Json(
        list.into_iter()
            .map(|m| TriageOut {
                id: m.id,
                received_at: rfc3339(m.received_at),
                from_address: m.from_address,
                subject: m.subject,
                reason: m.reason,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct TriageIn {
    /// `attach` (with `protocol`), `open` (with `channel_code`) or `discard` (with `reason`).
    pub decision: String,
    #[serde(default)]
    pub protocol: String,
    #[serde(default)]
    pub channel_code: String,
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/desk/triage/{id}", tag = "desk", request_body = TriageIn, params(("id" = i64, Path)),
    responses((status = 200, body = MailOutcomeOut), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub async fn resolve(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<TriageIn>,
) -> ApiResult<MailOutcomeOut> {
    let decision = match b.decision.as_str() {
        "attach" => TriageDecision::Attach {
            protocol: b.protocol,
        },
        "open" => TriageDecision::Open {
            channel_code: b.channel_code,
        },
        "discard" => TriageDecision::Discard { reason: b.reason },
        other => {
            return Err(ApiError::from(AppError::Invalid {
                field: "decision",
                message: format!("decisione «{other}» sconosciuta"),
            }));
        }
    };
    let o = state
        .app
        .resolve_triage(Some(&a.who), id, decision, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok(Json(o.into()))
}

#[utoipa::path(put, path = "/api/v1/desk/channels/{code}", tag = "desk", request_body = ChannelSettings, params(("code" = String, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn save_channel(
    State(state): State<Shared>,
    a: ApiActor,
    Path(code): Path<String>,
    Json(mut b): Json<ChannelInput>,
) -> Result<StatusCode, ApiError> {
    b.code = code;
    state
        .app
        .save_channel(Some(&a.who), b, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The settings of a channel (see the channel settings page for the syntax of the texts).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChannelSettings {
    pub name: String,
    pub description: String,
    pub register_code: String,
    pub register_name: String,
    pub aoo: String,
    pub application_code: String,
    pub requester_categories: String,
    pub require_association: bool,
    pub hours_weekly: String,
    pub hours_holidays: String,
    pub form_spec: String,
    pub outcomes: String,
    pub routing_rules: String,
    pub mail_address: String,
    pub intake_web: bool,
    pub intake_mail: bool,
    pub intake_phone: bool,
    pub notice_lookup: bool,
    pub sla_take_minutes: i64,
    pub sla_close_minutes: i64,
    pub max_attachment_mb: i64,
    pub office_codes: Vec<String>,
    pub active: bool,
}

/// The daily protocol register of one day as CSV (semicolon separated);
/// `X-Content-SHA256` carries the hash recorded in the audit trail.
#[utoipa::path(get, path = "/api/v1/desk/registers/{code}/{day}", tag = "desk",
    params(("code" = String, Path), ("day" = String, Path, description = "yyyy-mm-dd")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn register_day(
    State(state): State<Shared>,
    a: ApiActor,
    Path((code, day)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let date: jiff::civil::Date = day.parse().map_err(|_| {
        ApiError::from(AppError::Invalid {
            field: "day",
            message: format!("«{day}» non è una data aaaa-mm-gg"),
        })
    })?;
    let reg = state
        .app
        .daily_register(Some(&a.who), &code, date, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::HeaderName::from_static("x-content-sha256"),
                reg.sha256.clone(),
            ),
        ],
        reg.csv,
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct AssociationIn {
    pub fiscal_code: String,
    pub office_code: String,
}

/// Associates a requester with one of the channel's offices (central
/// administrator, or the office's manager).
#[utoipa::path(post, path = "/api/v1/desk/channels/{code}/members", tag = "desk", request_body = AssociationIn,
    params(("code" = String, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn associate(
    State(state): State<Shared>,
    a: ApiActor,
    Path(code): Path<String>,
    Json(b): Json<AssociationIn>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .associate_requester(
            Some(&a.who),
            &code,
            &b.fiscal_code,
            &b.office_code,
            &a.origin,
        )
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct AcceptingIn {
    pub accepting: bool,
}

/// Opens or closes an office to new requests (routing skips closed ones).
#[utoipa::path(put, path = "/api/v1/desk/offices/{id}/accepting", tag = "desk", request_body = AcceptingIn,
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn accepting(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<AcceptingIn>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_office_accepting(Some(&a.who), id, b.accepting, &a.origin)
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct MailOutcomeOut {
    /// `opened`, `attached`, `ignored`, `triage`, `discarded` or `duplicate`.
    pub status: String,
    pub inbound_id: i64,
    pub request_id: Option<i64>,
    pub protocol: Option<String>,
    pub reason: String,
}

impl From<MailOutcome> for MailOutcomeOut {
    fn from(o: MailOutcome) -> Self {
        MailOutcomeOut {
            status: o.status,
            inbound_id: o.inbound_id,
            request_id: o.request_id,
            protocol: o.protocol,
            reason: o.reason,
        }
    }
}

/// One RFC 5322 message from an MTA pipe (`sportello mailgate`) or a relay.
#[utoipa::path(post, path = "/api/v1/mailgate", tag = "desk",
    request_body(content = String, content_type = "message/rfc822"),
    security(("mailgate_token" = [])),
    responses((status = 200, body = MailOutcomeOut), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub async fn mailgate(
    State(state): State<Shared>,
    headers: HeaderMap,
    origin: axum::extract::ConnectInfo<std::net::SocketAddr>,
    body: Bytes,
) -> ApiResult<MailOutcomeOut> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !sportello_app::security::same_secret(&state.app.mailgate_token, presented.trim()) {
        return Err(ApiError::new(
            401,
            "unauthenticated",
            "token del mail gate mancante o errato",
        ));
    }
    let origin = Origin {
        address: Some(origin.0.ip().to_string()),
    };
    let o = state
        .app
        .receive_mail(&body, &origin)
        .await
        .map_err(ApiError::from)?;
    Ok(Json(o.into()))
}

#[derive(OpenApi)]
#[openapi(
    paths(channels, submit, phone, requests, request, act, annul, reply, register_day, associate, accepting, load_notices, notice, report, triage, resolve, save_channel, mailgate),
    components(schemas(ChannelOut, ContactIn, NewRequest, FileIn, RegisteredOut, PhoneIn, RequestOut, EventOut, AttachmentOut, RequestDetail,
                       ActionIn, AnnulmentIn, AssociationIn, AcceptingIn, ReplyIn, NoticeIn, Loaded, NoticeOut, TriageOut, TriageIn, ChannelSettings, MailOutcomeOut)),
    tags((name = "desk", description = "Assistance desk: channels, requests with protocol numbers, work, reports, inbound mail"))
)]
pub struct DeskApiDoc;

pub fn routes(max_message_bytes: usize) -> Router<Shared> {
    Router::new()
        .route("/api/v1/desk/channels", get(channels))
        .route("/api/v1/desk/channels/{code}", put(save_channel))
        .route("/api/v1/desk/channels/{code}/requests", post(submit))
        .route("/api/v1/desk/channels/{code}/phone-requests", post(phone))
        .route("/api/v1/desk/requests", get(requests))
        .route("/api/v1/desk/requests/{id}", get(request))
        .route("/api/v1/desk/requests/{id}/actions", post(act))
        .route("/api/v1/desk/requests/{id}/replies", post(reply))
        .route("/api/v1/desk/requests/{id}/annulment", post(annul))
        .route("/api/v1/desk/registers/{code}/{day}", get(register_day))
        .route("/api/v1/desk/channels/{code}/members", post(associate))
        .route("/api/v1/desk/offices/{id}/accepting", put(accepting))
        .route("/api/v1/desk/notices", put(load_notices))
        .route("/api/v1/desk/notices/{number}", get(notice))
        .route("/api/v1/desk/reports", get(report))
        .route("/api/v1/desk/triage", get(triage))
        .route("/api/v1/desk/triage/{id}", post(resolve))
        .route(
            "/api/v1/mailgate",
            post(mailgate).layer(DefaultBodyLimit::max(max_message_bytes + 64 * 1024)),
        )
        .layer(DefaultBodyLimit::max(60 * 1024 * 1024))
}
