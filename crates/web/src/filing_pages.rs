//! "La mia scrivania" (seed 004): the integrated services a user may file
//! with (and, before he starts, the agencies he is not authorized at), his
//! filings by tray or by search, a service's form (saved as a draft or sent),
//! a filing with its deliveries, protocols and history, the resend of a
//! failed delivery to that agency alone; and the central administrator's
//! pages defining services and agency connectors. Every form works without
//! JavaScript.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sportello_app::filings::admin::{ConnectorInput, RecipientSpec, ServiceInput};
use sportello_app::filings::{Acting, FilingQuery, FilingSummary, RecipientView, ServiceView};
use sportello_app::{App, AppError, SessionUser};
use sportello_core::desk::form::{FieldKind, FormSpec};
use sportello_core::filings::{DeliveryState, Tray, undeliverable};
use sportello_store::filings::{DRAFT, SUBMITTED};

use crate::Shared;
use crate::ctx::{Ctx, FormErrors, PageCtx, field_error};
use crate::desk_pages::FieldView;
use crate::error::WebError;
use crate::i18n::{self, Lang};
use crate::pages::render;

/// Filings listed at most on one page of the desk.
const LIST_LIMIT: i64 = 200;
/// Recipient blocks read at most from the service definition form.
const MAX_RECIPIENTS: usize = 30;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/scrivania", get(desk))
        .route(
            "/scrivania/servizi/{code}",
            get(service_form).post(service_submit),
        )
        .route("/scrivania/pratiche/{id}", get(show))
        .route(
            "/scrivania/pratiche/{id}/consegne/{did}/reinvia",
            post(resend),
        )
        .route("/scrivania/pratiche/{id}/archivia", post(archive))
        .route("/scrivania/pratiche/{id}/elimina", post(delete_draft))
        .route("/admin/servizi-integrati", get(admin_list))
        .route(
            "/admin/servizi-integrati/connettori/{code}",
            get(connector_form).post(connector_save),
        )
        .route(
            "/admin/servizi-integrati/{code}",
            get(definition_form).post(definition_save),
        )
}

fn t(lang: Lang, key: &str) -> &'static str {
    i18n::t(lang, key)
}

fn who(ctx: &Ctx) -> Result<&SessionUser, WebError> {
    ctx.session.as_ref().ok_or(WebError::NeedsLogin)
}

fn store_err(e: sportello_store::StoreError) -> WebError {
    AppError::from(e).into()
}

/// A delivery state in the visitor's language.
fn state_label(lang: Lang, state: DeliveryState) -> String {
    match lang {
        Lang::It => state.label().to_string(),
        Lang::En => t(lang, &format!("filings.state.{}", state.code())).to_string(),
    }
}

fn state_code_label(lang: Lang, code: &str) -> String {
    match code.parse::<DeliveryState>() {
        Ok(s) => state_label(lang, s),
        Err(_) => code.to_string(),
    }
}

/// What an entry of a delivery's history says: "queued", "resent",
/// "failed", or "<state>:<source>" (the agency's answer, a poll, a callback).
fn event_label(lang: Lang, kind: &str) -> String {
    let (state, source) = kind.split_once(':').unwrap_or((kind, ""));
    let base = match state {
        "queued" => t(lang, "filings.event.queued").to_string(),
        "resent" => t(lang, "filings.event.resent").to_string(),
        other => state_code_label(lang, other),
    };
    let source = match source {
        "delivery" => t(lang, "filings.event.source.delivery"),
        "poll" => t(lang, "filings.event.source.poll"),
        "callback" => t(lang, "filings.event.source.callback"),
        _ => return base,
    };
    format!("{base} ({source})")
}

fn tray_label(lang: Lang, tray: Tray) -> &'static str {
    t(
        lang,
        match tray {
            Tray::Drafts => "filings.tray.drafts",
            Tray::InProgress => "filings.tray.in_progress",
            Tray::Archive => "filings.tray.archive",
        },
    )
}

/// Form bodies are read as pairs: the forms have repeated and indexed names.
fn pairs(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn one(p: &[(String, String)], key: &str) -> String {
    p.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn has(p: &[(String, String)], key: &str) -> bool {
    p.iter().any(|(k, _)| k == key)
}

fn checked(p: &[(String, String)], key: &str) -> bool {
    p.iter().any(|(k, v)| k == key && !v.is_empty() && v != "0")
}

fn enc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

fn redirect(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Every message about one field, joined.
fn errors_for(f: &FormErrors, id: &str) -> Option<String> {
    let all: Vec<&str> = f
        .list
        .iter()
        .filter(|e| e.field == id)
        .map(|e| e.message.as_str())
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// Names each error after its field in the summary, in the fields' order.
fn label_errors(f: &mut FormErrors, order: &[(String, String)]) {
    let position = |field: &str| order.iter().position(|(id, _)| id == field);
    for e in &mut f.list {
        if let Some(i) = position(&e.field) {
            e.label = Some(order[i].1.clone());
        }
    }
    f.list
        .sort_by_key(|e| position(&e.field).unwrap_or(usize::MAX));
}

/// `yyyy-mm-dd` as `dd/mm/yyyy`; anything else as it is.
fn show_date(value: &str) -> String {
    value
        .parse::<jiff::civil::Date>()
        .map(|d| d.strftime("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| value.to_string())
}

// ---------------------------------------------------------------- the desk

/// One recipient of a filing, as the desk and the filing's page show it.
pub struct DeliveryView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub state: String,
    pub label: String,
    pub protocol: Option<String>,
    pub reason: Option<String>,
    pub last_error: Option<String>,
    pub attempts: i64,
    pub failed: bool,
    pub rejected: bool,
    pub retrying: bool,
    pub started_at: Option<String>,
}

fn delivery_views(
    app: &App,
    lang: Lang,
    list: &[sportello_store::filings::Delivery],
) -> Vec<DeliveryView> {
    list.iter()
        .map(|d| {
            let state = d.state.parse::<DeliveryState>().ok();
            DeliveryView {
                id: d.id,
                code: d.connector_code.clone(),
                name: d.connector_name.clone(),
                state: d.state.clone(),
                label: state_code_label(lang, &d.state),
                protocol: d.protocol.clone().filter(|p| !p.is_empty()),
                reason: d.reason.clone().filter(|r| !r.is_empty()),
                last_error: d.last_error.clone().filter(|e| !e.is_empty()),
                attempts: d.attempts,
                failed: state == Some(DeliveryState::Failed),
                rejected: state == Some(DeliveryState::Rejected),
                retrying: state == Some(DeliveryState::Retrying),
                started_at: d.started_at.map(|at| app.format_time(at)),
            }
        })
        .collect()
}

fn is_undeliverable(s: &FilingSummary) -> bool {
    let states: Vec<DeliveryState> = s
        .deliveries
        .iter()
        .filter_map(|d| d.state.parse().ok())
        .collect();
    s.filing.state == SUBMITTED && undeliverable(&states)
}

/// One filing in the desk's table.
pub struct FilingRow {
    pub id: i64,
    pub reference: Option<String>,
    pub service: String,
    pub owner: String,
    /// The owner is not the viewer: "per conto di".
    pub on_behalf: bool,
    pub date: String,
    pub deliveries: Vec<DeliveryView>,
    pub undeliverable: bool,
    pub archived: bool,
}

fn filing_row(app: &App, lang: Lang, who: &SessionUser, s: &FilingSummary) -> FilingRow {
    let f = &s.filing;
    FilingRow {
        id: f.id,
        reference: f.reference.clone().filter(|r| !r.is_empty()),
        service: f.service_name.clone(),
        owner: f.owner_name.clone(),
        on_behalf: f.owner_id != who.user.id,
        date: app.format_time(f.submitted_at.unwrap_or(f.updated_at)),
        deliveries: delivery_views(app, lang, &s.deliveries),
        undeliverable: is_undeliverable(s),
        archived: f.archived_at.is_some(),
    }
}

/// For whom the user may start a service, and whether he may.
pub struct ActingView {
    pub owner_id: i64,
    pub owner_name: String,
    pub for_self: bool,
    pub can_prepare: bool,
    /// The agencies the owner is not authorized at, joined; empty when none.
    pub missing: String,
    pub href: String,
}

pub struct ServiceCard {
    pub code: String,
    pub name: String,
    pub description: String,
    pub recipients: Vec<RecipientView>,
    pub acting: Vec<ActingView>,
}

fn acting_view(code: &str, a: &Acting) -> ActingView {
    ActingView {
        owner_id: a.owner_id,
        owner_name: a.owner_name.clone(),
        for_self: a.for_self,
        can_prepare: a.can_prepare,
        missing: a.missing.join(", "),
        href: format!("/scrivania/servizi/{}?per={}", enc(code), a.owner_id),
    }
}

pub struct TabView {
    pub code: &'static str,
    pub label: &'static str,
    pub href: String,
    pub current: bool,
    pub count: usize,
}

#[derive(Template)]
#[template(path = "filings/desk.html")]
struct DeskPage {
    ctx: PageCtx,
    f: FormErrors,
    notice: Option<&'static str>,
    services: Vec<ServiceCard>,
    tabs: Vec<TabView>,
    caption: String,
    rows: Vec<FilingRow>,
    truncated: bool,
    text: String,
    state: String,
    states: Vec<(String, String)>,
    from: String,
    until: String,
    tray: String,
    trays: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeskQuery {
    tray: Option<String>,
    text: String,
    state: String,
    from: String,
    until: String,
    esito: String,
}

fn nonempty(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

const TRAYS: [Tray; 3] = [Tray::Drafts, Tray::InProgress, Tray::Archive];

/// "La mia scrivania": the services the user may start, and his filings by
/// tray (drafts when neither a tray nor a search is asked) or by search
/// (across every tray unless one is named; `tray=all` for every tray).
pub async fn desk(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<DeskQuery>,
) -> Result<Response, WebError> {
    let who = who(&ctx)?;
    let app = &state.app;
    let lang = ctx.lang;
    let delivery_state = q.state.parse::<DeliveryState>().ok();
    let text = nonempty(&q.text);
    let searching = text.is_some()
        || delivery_state.is_some()
        || nonempty(&q.from).is_some()
        || nonempty(&q.until).is_some();
    let tray = match q.tray.as_deref() {
        None if searching => None,
        None => Some(Tray::Drafts),
        Some(s) => Tray::parse(s),
    };
    let query = FilingQuery {
        tray,
        text: text.clone(),
        delivery_state,
        from: nonempty(&q.from),
        until: nonempty(&q.until),
        limit: LIST_LIMIT,
    };
    let mut f = FormErrors::default();
    let rows: Vec<FilingRow> = match app.search_filings(who, &query).await {
        Ok(list) => list.iter().map(|s| filing_row(app, lang, who, s)).collect(),
        Err(e) => {
            field_error(lang, e, &mut f)?;
            Vec::new()
        }
    };
    label_errors(
        &mut f,
        &[
            ("text".into(), t(lang, "filings.search.text").into()),
            ("state".into(), t(lang, "filings.search.state").into()),
            ("from".into(), t(lang, "filings.search.from").into()),
            ("until".into(), t(lang, "filings.search.until").into()),
            ("tray".into(), t(lang, "filings.search.tray").into()),
        ],
    );
    let mut tabs = Vec::new();
    for tr in TRAYS {
        let count = app
            .search_filings(
                who,
                &FilingQuery {
                    tray: Some(tr),
                    limit: 10_000,
                    ..Default::default()
                },
            )
            .await?
            .len();
        tabs.push(TabView {
            code: tr.code(),
            label: tray_label(lang, tr),
            href: format!("/scrivania?tray={}", tr.code()),
            current: !searching && tray == Some(tr),
            count,
        });
    }
    let services = app
        .integrated_services(who)
        .await?
        .into_iter()
        .map(|s| ServiceCard {
            acting: s.acting.iter().map(|a| acting_view(&s.code, a)).collect(),
            code: s.code,
            name: s.name,
            description: s.description,
            recipients: s.recipients,
        })
        .collect();
    let caption = if searching || tray.is_none() {
        t(lang, "filings.results").to_string()
    } else {
        tray.map(|tr| tray_label(lang, tr).to_string())
            .unwrap_or_default()
    };
    let notice = match q.esito.as_str() {
        "eliminata" => Some(t(lang, "filings.notice.deleted")),
        _ => None,
    };
    let status = f.status();
    let page = DeskPage {
        ctx: ctx.page(),
        f,
        notice,
        services,
        tabs,
        caption,
        truncated: rows.len() as i64 >= LIST_LIMIT,
        rows,
        text: q.text.clone(),
        state: delivery_state
            .map(|s| s.code().to_string())
            .unwrap_or_default(),
        states: DeliveryState::ALL
            .iter()
            .map(|s| (s.code().to_string(), state_label(lang, *s)))
            .collect(),
        from: q.from.clone(),
        until: q.until.clone(),
        tray: tray.map(|t| t.code()).unwrap_or("all").to_string(),
        trays: std::iter::once(("all".to_string(), t(lang, "filings.tray.all").to_string()))
            .chain(
                TRAYS
                    .iter()
                    .map(|tr| (tr.code().to_string(), tray_label(lang, *tr).to_string())),
            )
            .collect(),
    };
    Ok((status, render(&page)?).into_response())
}

// ---------------------------------------------------------------- a service's form

/// A recipient as the service's form presents it.
pub struct RecipientRow {
    pub code: String,
    pub name: String,
    /// Labels of the fields it receives, joined.
    pub fields: String,
    pub requirement: String,
    /// The owner is not authorized at this agency.
    pub missing: bool,
}

#[derive(Template)]
#[template(path = "filings/service.html")]
struct ServicePage {
    ctx: PageCtx,
    f: FormErrors,
    code: String,
    name: String,
    description: String,
    recipients: Vec<RecipientRow>,
    owner_id: i64,
    owner_name: String,
    for_self: bool,
    /// Agencies the owner is not authorized at: no form, this warning.
    missing: String,
    can_prepare: bool,
    can_submit: bool,
    draft_id: Option<i64>,
    fields: Vec<FieldView>,
    conflict: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ServiceQuery {
    per: String,
    bozza: String,
}

/// The id of the input of a form field (its name is the field's key).
fn input_id(key: &str) -> String {
    format!("field_{key}")
}

/// The inputs of a service's form with their values and errors.
fn field_views(
    form: &FormSpec,
    values: &BTreeMap<String, String>,
    f: &FormErrors,
) -> Vec<FieldView> {
    form.fields
        .iter()
        .map(|spec| {
            let (kind, max) = match &spec.kind {
                FieldKind::Text | FieldKind::Attachment => ("text", 500),
                FieldKind::LongText => ("textarea", 10_000),
                FieldKind::Number => ("number", 30),
                FieldKind::Date => ("date", 10),
                FieldKind::FiscalCode => ("cf", 16),
                FieldKind::Email => ("email", 254),
                FieldKind::Phone => ("tel", 30),
                FieldKind::Choice(_) => ("select", 0),
            };
            let id = input_id(&spec.key);
            FieldView {
                name: spec.key.clone(),
                error: errors_for(f, &id),
                id,
                label: spec.label.clone(),
                kind,
                value: values.get(&spec.key).cloned().unwrap_or_default(),
                required: spec.required,
                max,
                options: match &spec.kind {
                    FieldKind::Choice(options) => {
                        options.iter().map(|o| (o.clone(), o.clone())).collect()
                    }
                    _ => Vec::new(),
                },
                multiple: false,
                accept: String::new(),
                autocomplete: if kind == "cf" { "off" } else { "" },
                hint: None,
            }
        })
        .collect()
}

/// The owner the form is for: the one asked, or the user himself, or the
/// first delegator.
fn acting_of(view: &ServiceView, per: &str) -> Result<Acting, WebError> {
    let found = match per.trim() {
        "" => view
            .acting
            .iter()
            .find(|a| a.for_self)
            .or_else(|| view.acting.first()),
        p => {
            let id: i64 = p.parse().map_err(|_| WebError::NotFound)?;
            view.acting_for(id)
        }
    };
    found.cloned().ok_or(WebError::NotFound)
}

fn parse_id(s: &str) -> Result<Option<i64>, WebError> {
    match s.trim() {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| WebError::BadRequest(format!("identificativo non valido: «{v}»"))),
    }
}

fn service_page(
    ctx: &Ctx,
    view: &ServiceView,
    acting: &Acting,
    draft_id: Option<i64>,
    values: &BTreeMap<String, String>,
    mut f: FormErrors,
    conflict: Option<String>,
) -> ServicePage {
    let fields = field_views(&view.form, values, &f);
    let mut order: Vec<(String, String)> = vec![(
        "recipients".into(),
        t(ctx.lang, "filings.recipients").into(),
    )];
    order.extend(fields.iter().map(|v| (v.id.clone(), v.label.clone())));
    label_errors(&mut f, &order);
    ServicePage {
        ctx: ctx.page(),
        f,
        code: view.code.clone(),
        name: view.name.clone(),
        description: view.description.clone(),
        recipients: view
            .recipients
            .iter()
            .map(|r| RecipientRow {
                code: r.code.clone(),
                name: r.name.clone(),
                fields: r.fields.join(", "),
                requirement: r.requirement.clone(),
                missing: acting.missing.contains(&r.name),
            })
            .collect(),
        owner_id: acting.owner_id,
        owner_name: acting.owner_name.clone(),
        for_self: acting.for_self,
        missing: acting.missing.join(", "),
        can_prepare: acting.can_prepare,
        can_submit: acting.can_submit,
        draft_id,
        fields,
        conflict,
    }
}

/// A service's form, for the user or a delegator (`per`), empty or filled
/// with a draft (`bozza`); only the warning when the owner lacks an
/// authorization at one of the agencies.
pub async fn service_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<ServiceQuery>,
) -> Result<Response, WebError> {
    let who = who(&ctx)?;
    let app = &state.app;
    let view = app.integrated_service(who, &code).await?;
    let acting = acting_of(&view, &q.per)?;
    let draft_id = parse_id(&q.bozza)?;
    let mut values = BTreeMap::new();
    if let Some(id) = draft_id {
        let d = app.filing_detail(who, id).await?;
        let filing = &d.summary.filing;
        if filing.service_code != view.code || filing.owner_id != acting.owner_id {
            return Err(WebError::NotFound);
        }
        if filing.state != DRAFT {
            return Ok(redirect(&format!("/scrivania/pratiche/{id}")));
        }
        values = d.values;
    }
    let page = service_page(
        &ctx,
        &view,
        &acting,
        draft_id,
        &values,
        FormErrors::default(),
        None,
    );
    Ok(render(&page)?.into_response())
}

/// The service's form posted: `azione=bozza` saves a draft, `azione=invia`
/// sends the filing to every recipient.
pub async fn service_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(code): Path<String>,
    body: String,
) -> Result<Response, WebError> {
    let p = pairs(&body);
    ctx.check_csrf(&one(&p, "csrf_token"))?;
    let who = who(&ctx)?;
    let app = &state.app;
    let view = app.integrated_service(who, &code).await?;
    let owner: i64 = one(&p, "per")
        .trim()
        .parse()
        .map_err(|_| WebError::BadRequest("per: titolare della pratica mancante".into()))?;
    let acting = view.acting_for(owner).cloned().ok_or(WebError::NotFound)?;
    let draft_id = parse_id(&one(&p, "bozza"))?;
    let values: BTreeMap<String, String> = view
        .form
        .fields
        .iter()
        .map(|spec| (spec.key.clone(), one(&p, &spec.key)))
        .collect();
    let result = match one(&p, "azione").as_str() {
        "bozza" => app
            .save_filing_draft(who, &view.code, owner, draft_id, &values, &ctx.origin)
            .await
            .map(|id| format!("/scrivania/pratiche/{id}?esito=bozza")),
        "invia" => app
            .submit_filing(who, &view.code, owner, draft_id, &values, &ctx.origin)
            .await
            .map(|s| format!("/scrivania/pratiche/{}?esito=inviata", s.filing_id)),
        other => {
            return Err(WebError::BadRequest(format!(
                "azione sconosciuta: «{other}»"
            )));
        }
    };
    let mut f = FormErrors::default();
    let mut conflict = None;
    let known = |key: &str| view.form.fields.iter().any(|s| s.key == key);
    let status = match result {
        Ok(to) => return Ok(redirect(&to)),
        Err(AppError::InvalidFields(list)) => {
            for (key, message) in list {
                f.push(
                    if known(&key) {
                        input_id(&key)
                    } else {
                        "recipients".into()
                    },
                    message,
                );
            }
            StatusCode::BAD_REQUEST
        }
        Err(AppError::Invalid { field, message }) => {
            f.push(
                if known(field) {
                    input_id(field)
                } else {
                    "recipients".into()
                },
                message,
            );
            StatusCode::BAD_REQUEST
        }
        Err(AppError::Conflict(m)) => {
            conflict = Some(m);
            StatusCode::CONFLICT
        }
        Err(e) => return Err(e.into()),
    };
    let page = service_page(&ctx, &view, &acting, draft_id, &values, f, conflict);
    Ok((status, render(&page)?).into_response())
}

// ---------------------------------------------------------------- a filing

pub struct EventRow {
    pub at: String,
    pub connector: String,
    pub kind: String,
    pub label: String,
    pub detail: String,
    pub actor: String,
}

#[derive(Template)]
#[template(path = "filings/filing.html")]
struct FilingPage {
    ctx: PageCtx,
    notice: Option<String>,
    id: i64,
    reference: Option<String>,
    service_code: String,
    service_name: String,
    owner_id: i64,
    owner_name: String,
    for_self: bool,
    preparer: Option<String>,
    is_draft: bool,
    undeliverable: bool,
    archived: bool,
    tray: String,
    tray_label: &'static str,
    created: String,
    updated: String,
    submitted: Option<String>,
    deliveries: Vec<DeliveryView>,
    can_submit: bool,
    missing: String,
    data: Vec<(String, String)>,
    events: Vec<EventRow>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ShowQuery {
    esito: String,
}

/// A filing: its recipients with their states and protocols, what was
/// entered, the history; resend, resume, delete, archive.
pub async fn show(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, WebError> {
    let who = who(&ctx)?;
    let app = &state.app;
    let lang = ctx.lang;
    let d = app.filing_detail(who, id).await?;
    let filing = &d.summary.filing;
    let reference = filing.reference.clone().filter(|r| !r.is_empty());
    let notice = match q.esito.as_str() {
        "bozza" => Some(t(lang, "filings.notice.draft_saved").to_string()),
        "inviata" => Some(format!(
            "{} {}",
            t(lang, "filings.notice.sent"),
            reference.clone().unwrap_or_default()
        )),
        "reinviata" => Some(t(lang, "filings.notice.resent").to_string()),
        "archiviata" => Some(t(lang, "filings.notice.archived").to_string()),
        "ripristinata" => Some(t(lang, "filings.notice.unarchived").to_string()),
        _ => None,
    };
    let data = d
        .form
        .fields
        .iter()
        .map(|spec| {
            let value = d.values.get(&spec.key).cloned().unwrap_or_default();
            let value = match (&spec.kind, value.is_empty()) {
                (_, true) => "—".to_string(),
                (FieldKind::Date, false) => show_date(&value),
                (_, false) => value,
            };
            (spec.label.clone(), value)
        })
        .collect();
    let events = d
        .events
        .iter()
        .map(|e| EventRow {
            at: app.format_time(e.at),
            connector: e.connector_name.clone(),
            kind: e.kind.clone(),
            label: event_label(lang, &e.kind),
            detail: e.detail.clone(),
            actor: e
                .actor_name
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| t(lang, "filings.actor.system").to_string()),
        })
        .collect();
    let page = FilingPage {
        ctx: ctx.page(),
        notice,
        id: filing.id,
        reference,
        service_code: filing.service_code.clone(),
        service_name: filing.service_name.clone(),
        owner_id: filing.owner_id,
        owner_name: filing.owner_name.clone(),
        for_self: filing.owner_id == who.user.id,
        preparer: (filing.prepared_by != filing.owner_id).then(|| filing.preparer_name.clone()),
        is_draft: filing.state == DRAFT,
        undeliverable: is_undeliverable(&d.summary),
        archived: filing.archived_at.is_some(),
        tray: d.summary.tray.code().to_string(),
        tray_label: t(
            lang,
            match d.summary.tray {
                Tray::Drafts if filing.state == SUBMITTED => "filings.tray_state.undeliverable",
                Tray::Drafts => "filings.tray_state.drafts",
                Tray::InProgress => "filings.tray_state.in_progress",
                Tray::Archive => "filings.tray_state.archive",
            },
        ),
        created: app.format_time(filing.created_at),
        updated: app.format_time(filing.updated_at),
        submitted: filing.submitted_at.map(|at| app.format_time(at)),
        deliveries: delivery_views(app, lang, &d.summary.deliveries),
        can_submit: d.can_submit,
        missing: d.missing.join(", "),
        data,
        events,
    };
    let mut res = render(&page)?.into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// A form whose only field is the CSRF token (and, for archiving, the
/// direction).
fn csrf_of(ctx: &Ctx, body: &str) -> Result<Vec<(String, String)>, WebError> {
    let p = pairs(body);
    ctx.check_csrf(&one(&p, "csrf_token"))?;
    Ok(p)
}

/// Resends a failed delivery to its agency alone.
pub async fn resend(
    State(state): State<Shared>,
    ctx: Ctx,
    Path((id, did)): Path<(i64, i64)>,
    body: String,
) -> Result<Response, WebError> {
    csrf_of(&ctx, &body)?;
    let who = who(&ctx)?;
    state.app.resend_delivery(who, id, did, &ctx.origin).await?;
    Ok(redirect(&format!(
        "/scrivania/pratiche/{id}?esito=reinviata"
    )))
}

/// Files a filing away (`archived=1`) or brings it back (`archived=0`).
pub async fn archive(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: String,
) -> Result<Response, WebError> {
    let p = csrf_of(&ctx, &body)?;
    let who = who(&ctx)?;
    let archived = match one(&p, "archived").as_str() {
        "1" => true,
        "0" => false,
        other => {
            return Err(WebError::BadRequest(format!(
                "archived: atteso 1 o 0, non «{other}»"
            )));
        }
    };
    state
        .app
        .archive_filing(who, id, archived, &ctx.origin)
        .await?;
    let esito = if archived {
        "archiviata"
    } else {
        "ripristinata"
    };
    Ok(redirect(&format!("/scrivania/pratiche/{id}?esito={esito}")))
}

/// Deletes a draft never sent.
pub async fn delete_draft(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: String,
) -> Result<Response, WebError> {
    csrf_of(&ctx, &body)?;
    let who = who(&ctx)?;
    state.app.delete_filing_draft(who, id, &ctx.origin).await?;
    Ok(redirect("/scrivania?esito=eliminata"))
}

// ---------------------------------------------------------------- administration

/// One input of the administrator's forms.
pub struct AdminField {
    pub name: String,
    pub id: String,
    pub label: String,
    /// text, url, number, textarea or select.
    pub kind: &'static str,
    pub value: String,
    pub required: bool,
    pub readonly: bool,
    pub max: usize,
    pub rows: usize,
    pub mono: bool,
    pub help: Option<String>,
    pub options: Vec<(String, String)>,
    /// The id of a datalist of suggestions.
    pub list: Option<&'static str>,
    pub error: Option<String>,
}

impl AdminField {
    fn new(name: impl Into<String>, label: &str, kind: &'static str, value: &str) -> AdminField {
        let name = name.into();
        AdminField {
            id: name.clone(),
            name,
            label: label.to_string(),
            kind,
            value: value.to_string(),
            required: false,
            readonly: false,
            max: 200,
            rows: if kind == "textarea" { 4 } else { 0 },
            mono: false,
            help: None,
            options: Vec::new(),
            list: None,
            error: None,
        }
    }

    fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    fn rows(mut self, rows: usize) -> Self {
        self.rows = rows;
        self.mono = true;
        self
    }

    fn help(mut self, h: &str) -> Self {
        self.help = Some(h.to_string());
        self
    }

    fn options(mut self, options: Vec<(String, String)>) -> Self {
        self.options = options;
        self
    }

    fn errors(mut self, f: &FormErrors) -> Self {
        self.error = errors_for(f, &self.id);
        self
    }

    /// The ids of the help and of the error, for aria-describedby.
    pub fn described(&self) -> String {
        let mut ids = Vec::new();
        if self.help.is_some() {
            ids.push(format!("{}_help", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}_error", self.id));
        }
        ids.join(" ")
    }
}

fn order_of(fields: &[&AdminField]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|v| (v.id.clone(), v.label.clone()))
        .collect()
}

pub struct ServiceRow {
    pub code: String,
    pub name: String,
    pub application: String,
    pub active: bool,
    /// Connector, and the authorization it requires.
    pub recipients: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "filings_admin/list.html")]
struct AdminListPage {
    ctx: PageCtx,
    notice: Option<&'static str>,
    services: Vec<ServiceRow>,
    connectors: Vec<sportello_store::filings::Connector>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AdminQuery {
    esito: String,
}

/// The integrated services with their recipients, and the connectors.
pub async fn admin_list(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<AdminQuery>,
) -> Result<Response, WebError> {
    let (definitions, connectors) = state.app.service_definitions(ctx.session.as_ref()).await?;
    let services = definitions
        .into_iter()
        .map(|d| ServiceRow {
            code: d.service.code,
            name: d.service.name,
            application: d.service.application_code,
            active: d.service.active != 0,
            recipients: d
                .recipients
                .into_iter()
                .map(|r| {
                    let need = match &r.required_profile_code {
                        Some(p) => format!("{} / {p}", r.required_application_code),
                        None => r.required_application_code.clone(),
                    };
                    (format!("{} ({})", r.connector_name, r.connector_code), need)
                })
                .collect(),
        })
        .collect();
    let notice = match q.esito.as_str() {
        "servizio" => Some(t(ctx.lang, "filings_admin.service.saved")),
        "connettore" => Some(t(ctx.lang, "filings_admin.connector.saved")),
        _ => None,
    };
    Ok(render(&AdminListPage {
        ctx: ctx.page(),
        notice,
        services,
        connectors,
    })?
    .into_response())
}

// ------------------------------------------------ a connector

#[derive(Template)]
#[template(path = "filings_admin/connector.html")]
struct ConnectorPage {
    ctx: PageCtx,
    f: FormErrors,
    is_new: bool,
    code: String,
    name: String,
    token: Option<String>,
    fields: Vec<AdminField>,
    organizations: Vec<(String, String)>,
}

/// Numbers as typed, kept to show them again.
struct ConnectorDraft {
    input: ConnectorInput,
    timeout_ms: String,
    max_attempts: String,
}

async fn connector_page(
    state: &Shared,
    ctx: &Ctx,
    is_new: bool,
    draft: &ConnectorDraft,
    mut f: FormErrors,
    token: Option<String>,
) -> Result<ConnectorPage, WebError> {
    let lang = ctx.lang;
    let tl = |k: &str| t(lang, k);
    let input = &draft.input;
    let mut code = AdminField::new("code", tl("filings_admin.f.code"), "text", &input.code)
        .required()
        .max(32)
        .help(tl("filings_admin.h.code"));
    code.readonly = !is_new;
    let mut organization = AdminField::new(
        "organization_code",
        tl("filings_admin.f.organization_code"),
        "text",
        &input.organization_code,
    )
    .max(40)
    .help(tl("filings_admin.h.organization_code"));
    organization.list = Some("organization-codes");
    let fields: Vec<AdminField> = vec![
        code,
        AdminField::new("name", tl("filings_admin.f.name"), "text", &input.name).required(),
        organization,
        AdminField::new(
            "endpoint",
            tl("filings_admin.f.endpoint"),
            "url",
            &input.endpoint,
        )
        .required()
        .max(500)
        .help(tl("filings_admin.h.endpoint")),
        AdminField::new(
            "timeout_ms",
            tl("filings_admin.f.timeout_ms"),
            "number",
            &draft.timeout_ms,
        )
        .required()
        .help(tl("filings_admin.h.timeout_ms")),
        AdminField::new(
            "max_attempts",
            tl("filings_admin.f.max_attempts"),
            "number",
            &draft.max_attempts,
        )
        .required()
        .help(tl("filings_admin.h.max_attempts")),
    ];
    let mut order = order_of(&fields.iter().collect::<Vec<_>>());
    order.push(("new_token".into(), tl("filings_admin.f.new_token").into()));
    label_errors(&mut f, &order);
    let fields = fields.into_iter().map(|v| v.errors(&f)).collect();
    let organizations = sportello_store::directory::organizations(&state.app.db)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|o| (o.code, o.name))
        .collect();
    Ok(ConnectorPage {
        ctx: ctx.page(),
        f,
        is_new,
        code: input.code.clone(),
        name: input.name.clone(),
        token,
        fields,
        organizations,
    })
}

/// A connector to edit (`nuovo` for a new one).
pub async fn connector_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let (_, connectors) = state.app.service_definitions(ctx.session.as_ref()).await?;
    let is_new = code == "nuovo";
    let input = if is_new {
        ConnectorInput {
            timeout_ms: 10_000,
            max_attempts: 5,
            ..Default::default()
        }
    } else {
        let c = connectors
            .into_iter()
            .find(|c| c.code == code)
            .ok_or(WebError::NotFound)?;
        let organization_code = match c.organization_id {
            Some(id) => sportello_store::directory::organization(&state.app.db, id)
                .await
                .map_err(store_err)?
                .map(|o| o.code)
                .unwrap_or_default(),
            None => String::new(),
        };
        ConnectorInput {
            code: c.code,
            name: c.name,
            organization_code,
            endpoint: c.endpoint,
            timeout_ms: c.timeout_ms,
            max_attempts: c.max_attempts,
            new_token: false,
        }
    };
    let draft = ConnectorDraft {
        timeout_ms: input.timeout_ms.to_string(),
        max_attempts: input.max_attempts.to_string(),
        input,
    };
    let page = connector_page(&state, &ctx, is_new, &draft, FormErrors::default(), None).await?;
    Ok(render(&page)?.into_response())
}

/// Saves a connector. A callback token issued is shown on the page that
/// answers the form, once: it is never put in an address.
pub async fn connector_save(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(path_code): Path<String>,
    body: String,
) -> Result<Response, WebError> {
    let p = pairs(&body);
    ctx.check_csrf(&one(&p, "csrf_token"))?;
    let (_, connectors) = state.app.service_definitions(ctx.session.as_ref()).await?;
    let lang = ctx.lang;
    let is_new = path_code == "nuovo";
    let mut f = FormErrors::default();
    let code = if is_new {
        one(&p, "code").trim().to_uppercase()
    } else {
        if !connectors.iter().any(|c| c.code == path_code) {
            return Err(WebError::NotFound);
        }
        path_code.clone()
    };
    if is_new && connectors.iter().any(|c| c.code == code) {
        f.push("code", t(lang, "filings_admin.code_taken"));
    }
    let timeout_ms = one(&p, "timeout_ms").trim().to_string();
    let max_attempts = one(&p, "max_attempts").trim().to_string();
    let mut number = |name: &'static str, raw: &str| -> i64 {
        raw.parse::<i64>().unwrap_or_else(|_| {
            f.push(name, t(lang, "filings_admin.not_a_number"));
            -1
        })
    };
    let input = ConnectorInput {
        code,
        name: one(&p, "name"),
        organization_code: one(&p, "organization_code"),
        endpoint: one(&p, "endpoint"),
        timeout_ms: number("timeout_ms", &timeout_ms),
        max_attempts: number("max_attempts", &max_attempts),
        new_token: checked(&p, "new_token"),
    };
    let draft = ConnectorDraft {
        input: input.clone(),
        timeout_ms,
        max_attempts,
    };
    if f.is_empty() {
        match state
            .app
            .save_connector(ctx.session.as_ref(), input, &ctx.origin)
            .await
        {
            Ok((_, None)) => return Ok(redirect("/admin/servizi-integrati?esito=connettore")),
            Ok((_, Some(token))) => {
                let mut draft = draft;
                draft.input.new_token = false;
                let page = connector_page(
                    &state,
                    &ctx,
                    false,
                    &draft,
                    FormErrors::default(),
                    Some(token),
                )
                .await?;
                let mut res = render(&page)?.into_response();
                res.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                return Ok(res);
            }
            Err(AppError::InvalidFields(list)) => {
                for (key, message) in list {
                    f.push(connector_field(&key), message);
                }
            }
            Err(e) => field_error(lang, e, &mut f)?,
        }
    } else {
        // Let the use case find every other problem too; nothing is saved
        // while a number does not read.
        if let Err(AppError::InvalidFields(list)) = state
            .app
            .save_connector(
                ctx.session.as_ref(),
                ConnectorInput {
                    code: if f.has("code") {
                        String::new()
                    } else {
                        draft.input.code.clone()
                    },
                    ..draft.input.clone()
                },
                &ctx.origin,
            )
            .await
        {
            for (key, message) in list {
                let field = connector_field(&key);
                if !f.has(&field) {
                    f.push(field, message);
                }
            }
        }
    }
    let page = connector_page(&state, &ctx, is_new, &draft, f, None).await?;
    Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
}

fn connector_field(key: &str) -> String {
    const KNOWN: &[&str] = &[
        "code",
        "name",
        "organization_code",
        "endpoint",
        "timeout_ms",
        "max_attempts",
    ];
    if KNOWN.contains(&key) {
        key.to_string()
    } else {
        "code".to_string()
    }
}

// ------------------------------------------------ a service definition

pub struct RecipientBlock {
    /// 1-based, for the legend.
    pub number: usize,
    pub fields: Vec<AdminField>,
}

#[derive(Template)]
#[template(path = "filings_admin/service.html")]
struct DefinitionPage {
    ctx: PageCtx,
    f: FormErrors,
    is_new: bool,
    code: String,
    name: String,
    general: Vec<AdminField>,
    form_spec: Vec<AdminField>,
    active: bool,
    blocks: Vec<RecipientBlock>,
    no_connectors: bool,
    profiles: Vec<(String, String)>,
}

const RECIPIENT_PARTS: [&str; 4] = [
    "connector_code",
    "mapping",
    "required_application",
    "required_profile",
];

/// The id of the input a use-case error key names: `recipients[1].mapping`
/// is `recipients-1-mapping`.
fn definition_field(key: &str) -> String {
    if let Some(rest) = key.strip_prefix("recipients[")
        && let Some((i, part)) = rest.split_once("].")
        && i.parse::<usize>().is_ok()
        && RECIPIENT_PARTS.contains(&part)
    {
        return format!("recipients-{i}-{part}");
    }
    const KNOWN: &[&str] = &[
        "code",
        "name",
        "description",
        "application_code",
        "form_spec",
        "recipients",
    ];
    if KNOWN.contains(&key) {
        key.to_string()
    } else {
        "code".to_string()
    }
}

fn is_blank(r: &RecipientSpec) -> bool {
    r.connector_code.trim().is_empty()
        && r.mapping.trim().is_empty()
        && r.required_application.trim().is_empty()
        && r.required_profile.trim().is_empty()
}

async fn definition_page(
    state: &Shared,
    ctx: &Ctx,
    is_new: bool,
    input: &ServiceInput,
    mut f: FormErrors,
) -> Result<DefinitionPage, WebError> {
    let lang = ctx.lang;
    let tl = |k: &str| t(lang, k);
    let db = &state.app.db;
    let applications: Vec<(String, String)> = sportello_store::catalogue::applications(db)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|a| (a.code.clone(), format!("{} ({})", a.name, a.code)))
        .collect();
    let connectors: Vec<(String, String)> = sportello_store::filings::connectors(db)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|c| (c.code.clone(), format!("{} ({})", c.name, c.code)))
        .collect();
    let profiles = sportello_store::catalogue::profiles(db)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|p| (p.code, format!("{} - {}", p.application_code, p.name)))
        .collect();
    let mut code = AdminField::new("code", tl("filings_admin.f.code"), "text", &input.code)
        .required()
        .max(32)
        .help(tl("filings_admin.h.code"));
    code.readonly = !is_new;
    let general = vec![
        code,
        AdminField::new("name", tl("filings_admin.f.name"), "text", &input.name).required(),
        AdminField::new(
            "description",
            tl("filings_admin.f.description"),
            "textarea",
            &input.description,
        )
        .max(2000),
        AdminField::new(
            "application_code",
            tl("filings_admin.f.application_code"),
            "select",
            &input.application_code,
        )
        .required()
        .help(tl("filings_admin.h.application_code"))
        .options(applications.clone()),
    ];
    let form_spec = AdminField::new(
        "form_spec",
        tl("filings_admin.f.form_spec"),
        "textarea",
        &input.form_spec,
    )
    .required()
    .max(20_000)
    .rows(12)
    .help(tl("filings_admin.h.form_spec"));
    let mut kept: Vec<&RecipientSpec> = input.recipients.iter().filter(|r| !is_blank(r)).collect();
    let empty = RecipientSpec::default();
    kept.push(&empty);
    let blocks: Vec<RecipientBlock> = kept
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = |part: &str| format!("recipients[{i}].{part}");
            let id = |part: &str| format!("recipients-{i}-{part}");
            let mut profile = AdminField::new(
                name("required_profile"),
                tl("filings_admin.f.required_profile"),
                "text",
                &r.required_profile,
            )
            .id(id("required_profile"))
            .max(40)
            .help(tl("filings_admin.h.required_profile"));
            profile.list = Some("profile-codes");
            RecipientBlock {
                number: i + 1,
                fields: vec![
                    AdminField::new(
                        name("connector_code"),
                        tl("filings_admin.f.connector_code"),
                        "select",
                        &r.connector_code,
                    )
                    .id(id("connector_code"))
                    .options(connectors.clone()),
                    AdminField::new(
                        name("mapping"),
                        tl("filings_admin.f.mapping"),
                        "textarea",
                        &r.mapping,
                    )
                    .id(id("mapping"))
                    .max(20_000)
                    .rows(8)
                    .help(tl("filings_admin.h.mapping")),
                    AdminField::new(
                        name("required_application"),
                        tl("filings_admin.f.required_application"),
                        "select",
                        &r.required_application,
                    )
                    .id(id("required_application"))
                    .options(applications.clone()),
                    profile,
                ],
            }
        })
        .collect();
    let mut all: Vec<&AdminField> = general.iter().collect();
    all.push(&form_spec);
    let mut order = order_of(&all);
    order.push(("recipients".into(), tl("filings.recipients").into()));
    for b in &blocks {
        for v in &b.fields {
            order.push((
                v.id.clone(),
                format!(
                    "{} {}: {}",
                    tl("filings_admin.recipient"),
                    b.number,
                    v.label
                ),
            ));
        }
    }
    label_errors(&mut f, &order);
    let general = general.into_iter().map(|v| v.errors(&f)).collect();
    let form_spec = form_spec.errors(&f);
    let blocks = blocks
        .into_iter()
        .map(|b| RecipientBlock {
            number: b.number,
            fields: b.fields.into_iter().map(|v| v.errors(&f)).collect(),
        })
        .collect();
    Ok(DefinitionPage {
        ctx: ctx.page(),
        is_new,
        code: input.code.clone(),
        name: input.name.clone(),
        general,
        form_spec: vec![form_spec],
        active: input.active,
        blocks,
        no_connectors: connectors.is_empty(),
        profiles,
        f,
    })
}

/// A service to edit (`nuovo` for a new one), its recipients and one empty
/// block to add another.
pub async fn definition_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let (definitions, _) = state.app.service_definitions(ctx.session.as_ref()).await?;
    let is_new = code == "nuovo";
    let input = if is_new {
        ServiceInput {
            active: true,
            ..Default::default()
        }
    } else {
        let d = definitions
            .into_iter()
            .find(|d| d.service.code == code)
            .ok_or(WebError::NotFound)?;
        ServiceInput {
            code: d.service.code,
            name: d.service.name,
            description: d.service.description,
            application_code: d.service.application_code,
            form_spec: d.service.form_spec,
            active: d.service.active != 0,
            recipients: d
                .recipients
                .into_iter()
                .map(|r| RecipientSpec {
                    connector_code: r.connector_code,
                    mapping: r.mapping,
                    required_application: r.required_application_code,
                    required_profile: r.required_profile_code.unwrap_or_default(),
                })
                .collect(),
        }
    };
    let page = definition_page(&state, &ctx, is_new, &input, FormErrors::default()).await?;
    Ok(render(&page)?.into_response())
}

/// Saves a service with its recipients; empty recipient blocks are ignored.
pub async fn definition_save(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(path_code): Path<String>,
    body: String,
) -> Result<Response, WebError> {
    let p = pairs(&body);
    ctx.check_csrf(&one(&p, "csrf_token"))?;
    let (definitions, _) = state.app.service_definitions(ctx.session.as_ref()).await?;
    let lang = ctx.lang;
    let is_new = path_code == "nuovo";
    let mut f = FormErrors::default();
    let code = if is_new {
        one(&p, "code").trim().to_uppercase()
    } else {
        if !definitions.iter().any(|d| d.service.code == path_code) {
            return Err(WebError::NotFound);
        }
        path_code.clone()
    };
    if is_new && definitions.iter().any(|d| d.service.code == code) {
        f.push("code", t(lang, "filings_admin.code_taken"));
    }
    let recipients: Vec<RecipientSpec> = (0..MAX_RECIPIENTS)
        .take_while(|i| {
            RECIPIENT_PARTS
                .iter()
                .any(|part| has(&p, &format!("recipients[{i}].{part}")))
        })
        .map(|i| {
            let get = |part: &str| one(&p, &format!("recipients[{i}].{part}"));
            RecipientSpec {
                connector_code: get("connector_code").trim().to_string(),
                mapping: get("mapping"),
                required_application: get("required_application").trim().to_string(),
                required_profile: get("required_profile").trim().to_string(),
            }
        })
        .filter(|r| !is_blank(r))
        .collect();
    let input = ServiceInput {
        code,
        name: one(&p, "name"),
        description: one(&p, "description"),
        application_code: one(&p, "application_code"),
        form_spec: one(&p, "form_spec"),
        active: checked(&p, "active"),
        recipients,
    };
    let attempt = ServiceInput {
        code: if f.has("code") {
            String::new()
        } else {
            input.code.clone()
        },
        ..input.clone()
    };
    match state
        .app
        .save_integrated_service(ctx.session.as_ref(), attempt, &ctx.origin)
        .await
    {
        Ok(_) if f.is_empty() => return Ok(redirect("/admin/servizi-integrati?esito=servizio")),
        Ok(_) => {}
        Err(AppError::InvalidFields(list)) => {
            for (key, message) in list {
                let field = definition_field(&key);
                if !(field == "code" && f.has("code")) {
                    f.push(field, message);
                }
            }
        }
        Err(e) => field_error(lang, e, &mut f)?,
    }
    let page = definition_page(&state, &ctx, is_new, &input, f).await?;
    Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
}
