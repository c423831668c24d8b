//! The requester's side: the channels he may write to and his requests, the
//! channel's form (with the notice lookup of CIVIS), a request's page with
//! its correspondence and the reply form, attachment downloads.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_app::AppError;
use sportello_app::desk::intake::{ChannelAccess, NOTICE_NUMBER, NOTICE_TAXPAYER, WebSubmission};
use sportello_core::authz::Action;
use sportello_core::desk::form::FieldKind;
use sportello_core::desk::hours::OpeningHours;
use sportello_core::desk::workflow::RequestState;
use sportello_store::desk::{self as store, Contact, Notice, RequestFilter};

use super::{
    EventView, FieldView, Registered, RequestHeader, UploadForm, accept_list, attachments_hint,
    errors_for, event_views, label_errors, read_upload_form, request_header, state_label,
    store_err, t,
};
use crate::Shared;
use crate::ctx::{Ctx, FormErrors, PageCtx};
use crate::error::WebError;
use crate::pages::render;

pub struct ChannelRow {
    pub code: String,
    pub name: String,
    pub description: String,
    pub open_now: bool,
    pub reopens: Option<String>,
}

pub struct RequestRow {
    pub id: i64,
    pub protocol: String,
    pub date: String,
    pub channel: String,
    pub subject: String,
    pub state: String,
    pub outcome: String,
}

#[derive(Template)]
#[template(path = "desk/home.html")]
struct HomePage {
    ctx: PageCtx,
    channels: Vec<ChannelRow>,
    requests: Vec<RequestRow>,
}

/// "Assistenza": the channels and "Le mie richieste".
pub async fn home(State(state): State<Shared>, ctx: Ctx) -> Result<Response, WebError> {
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let app = &state.app;
    let now = sportello_app::now_micros();
    let tz = app.time_zone();
    let channels = app
        .channels_for(s)
        .await?
        .into_iter()
        .map(|c| {
            let hours = OpeningHours::parse(&c.hours_weekly, &c.hours_holidays).ok();
            let open_now = hours.as_ref().is_some_and(|h| h.is_open(now, &tz));
            ChannelRow {
                reopens: hours
                    .as_ref()
                    .filter(|_| !open_now)
                    .and_then(|h| h.next_opening(now, &tz))
                    .map(|at| app.format_time(at)),
                open_now,
                code: c.code,
                name: c.name,
                description: c.description,
            }
        })
        .collect();
    let names: HashMap<i64, String> = store::channels(&app.db)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|c| (c.id, c.code))
        .collect();
    let requests = store::list_requests(
        &app.db,
        &RequestFilter {
            requester_user_id: Some(s.user.id),
            limit: 200,
            ..Default::default()
        },
    )
    .await
    .map_err(store_err)?
    .into_iter()
    .map(|r| RequestRow {
        id: r.id,
        date: app.format_time(r.registered_at),
        channel: names.get(&r.channel_id).cloned().unwrap_or_default(),
        state: state_label(ctx.lang, &r.state),
        outcome: r.outcome.unwrap_or_default(),
        protocol: r.protocol,
        subject: r.subject,
    })
    .collect();
    Ok(render(&HomePage {
        ctx: ctx.page(),
        channels,
        requests,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "desk/new.html")]
struct NewPage {
    ctx: PageCtx,
    f: FormErrors,
    code: String,
    name: String,
    description: String,
    /// The channel is closed: only this alert is shown (the reopening time, if any).
    closed: Option<Option<String>>,
    requester_name: String,
    notice_fields: Vec<FieldView>,
    notice: Option<Notice>,
    main_fields: Vec<FieldView>,
    contact_fields: Vec<FieldView>,
    extra_fields: Vec<FieldView>,
    attachments: Vec<FieldView>,
    /// Files were sent with a form shown again: they are not kept.
    files_dropped: bool,
    /// Articles of the knowledge base matching the subject and description.
    suggestions: Vec<crate::kb_pages::Suggestion>,
    /// "Cerca nelle FAQ" was asked (say so when nothing matched).
    faq_searched: bool,
}

fn is_notice_key(key: &str) -> bool {
    key == NOTICE_NUMBER || key == NOTICE_TAXPAYER
}

/// The id of the input a use-case error is about.
fn input_id(access: &ChannelAccess, key: &str) -> String {
    if is_notice_key(key) || access.form.fields.iter().any(|f| f.key == key) {
        format!("field_{key}")
    } else {
        key.to_string()
    }
}

fn closed_page(
    state: &Shared,
    ctx: &Ctx,
    access: &ChannelAccess,
    reopens_at: Option<i64>,
) -> NewPage {
    NewPage {
        ctx: ctx.page(),
        f: FormErrors::default(),
        code: access.channel.code.clone(),
        name: access.channel.name.clone(),
        description: access.channel.description.clone(),
        closed: Some(reopens_at.map(|at| state.app.format_time(at))),
        requester_name: String::new(),
        notice_fields: Vec::new(),
        notice: None,
        main_fields: Vec::new(),
        contact_fields: Vec::new(),
        extra_fields: Vec::new(),
        attachments: Vec::new(),
        files_dropped: false,
        suggestions: Vec::new(),
        faq_searched: false,
    }
}

fn form_page(
    state: &Shared,
    ctx: &Ctx,
    access: &ChannelAccess,
    values: &HashMap<String, String>,
    mut f: FormErrors,
    notice: Option<Notice>,
    files_dropped: bool,
) -> NewPage {
    let app = &state.app;
    let lang = ctx.lang;
    let accept = accept_list(app);
    let channel = &access.channel;
    let lookup = channel.notice_lookup != 0;
    let mut notice_fields = Vec::new();
    let mut extra_fields = Vec::new();
    for spec in &access.form.fields {
        let v = FieldView::configured(spec, &accept, lang).fill(values, &f);
        if lookup && is_notice_key(&spec.key) {
            notice_fields.push(v);
        } else {
            extra_fields.push(v);
        }
    }
    if lookup {
        // The lookup needs both keys even if the form text forgot one.
        for (key, label, kind) in [
            (NOTICE_NUMBER, "desk.notice.number", "text"),
            (NOTICE_TAXPAYER, "desk.notice.taxpayer", "cf"),
        ] {
            let name = format!("field_{key}");
            if !notice_fields.iter().any(|v| v.name == name) {
                let mut v = FieldView::new(&name, t(lang, label), kind)
                    .required(true)
                    .max(if kind == "cf" { 16 } else { 100 })
                    .fill(values, &f);
                if kind == "cf" {
                    v.autocomplete = "off";
                }
                notice_fields.push(v);
            }
        }
        notice_fields.sort_by_key(|v| v.name != format!("field_{NOTICE_NUMBER}"));
    }
    let main_fields = vec![
        FieldView::new("subject", t(lang, "desk.subject"), "text")
            .required(true)
            .max(200)
            .fill(values, &f),
        FieldView::new("body", t(lang, "desk.body"), "textarea")
            .required(true)
            .max(10_000)
            .fill(values, &f),
    ];
    let contact_fields = vec![
        FieldView::new("contact_name", t(lang, "desk.contact_name"), "text")
            .required(true)
            .max(120)
            .autocomplete("name")
            .fill(values, &f),
        FieldView::new("phone", t(lang, "desk.phone"), "tel")
            .required(true)
            .max(30)
            .autocomplete("tel")
            .fill(values, &f),
        FieldView::new("email", t(lang, "desk.email"), "email")
            .required(true)
            .max(254)
            .autocomplete("email")
            .fill(values, &f),
    ];
    let mut files = FieldView::new("attachments", t(lang, "desk.attachments"), "file")
        .hint(attachments_hint(app, lang, channel.max_attachment_bytes))
        .fill(values, &f);
    files.multiple = true;
    files.accept = accept;
    label_errors(
        &mut f,
        notice_fields
            .iter()
            .chain(&main_fields)
            .chain(&contact_fields)
            .chain(&extra_fields)
            .chain([&files]),
    );
    NewPage {
        ctx: ctx.page(),
        code: channel.code.clone(),
        name: channel.name.clone(),
        description: channel.description.clone(),
        closed: None,
        requester_name: access.requester_name.clone(),
        notice_fields,
        notice,
        main_fields,
        contact_fields,
        extra_fields,
        attachments: vec![files],
        files_dropped,
        f,
        suggestions: Vec::new(),
        faq_searched: false,
    }
}

fn page_response(status: StatusCode, page: &NewPage) -> Result<Response, WebError> {
    Ok((status, render(page)?).into_response())
}

/// The values a fresh form starts with: the contact details given last
/// time, or the account's.
fn initial_values(ctx: &Ctx, access: &ChannelAccess) -> HashMap<String, String> {
    let mut values = HashMap::new();
    let contact = match (&access.last_contact, &ctx.session) {
        (Some(c), _) => c.clone(),
        (None, Some(s)) => Contact {
            contact_name: access.requester_name.clone(),
            phone: s.user.phone.clone().unwrap_or_default(),
            email: s.user.email.clone(),
        },
        (None, None) => Contact::default(),
    };
    values.insert("contact_name".into(), contact.contact_name);
    values.insert("phone".into(), contact.phone);
    values.insert("email".into(), contact.email);
    values
}

/// The channel's form, or the alert that it is closed.
pub async fn new_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let who = ctx.session.as_ref();
    let access = state.app.channel_access(who, &code).await?;
    state.app.authorize(
        who,
        &Action::SubmitRequest {
            eligible: access.eligible,
        },
    )?;
    if !access.open_now {
        let page = closed_page(&state, &ctx, &access, access.reopens_at);
        return page_response(StatusCode::OK, &page);
    }
    let values = initial_values(&ctx, &access);
    let page = form_page(
        &state,
        &ctx,
        &access,
        &values,
        FormErrors::default(),
        None,
        false,
    );
    page_response(StatusCode::OK, &page)
}

/// After a refused submission: the notice, shown read-only if both its
/// keys are right, or why not (unless the keys already have their errors).
async fn check_notice(
    state: &Shared,
    ctx: &Ctx,
    access: &ChannelAccess,
    values: &HashMap<String, String>,
    f: &mut FormErrors,
) -> Option<Notice> {
    if access.channel.notice_lookup == 0 {
        return None;
    }
    let number_id = format!("field_{NOTICE_NUMBER}");
    let taxpayer_id = format!("field_{NOTICE_TAXPAYER}");
    let number = values.get(&number_id).map(|v| v.trim()).unwrap_or("");
    let taxpayer = values.get(&taxpayer_id).map(|v| v.trim()).unwrap_or("");
    if number.is_empty()
        || taxpayer.is_empty()
        || errors_for(f, &number_id).is_some()
        || errors_for(f, &taxpayer_id).is_some()
    {
        return None;
    }
    match state
        .app
        .lookup_notice(ctx.session.as_ref(), &access.channel.code, number, taxpayer)
        .await
    {
        Ok(n) => Some(n),
        Err(AppError::InvalidFields(list)) => {
            for (key, message) in list {
                f.push(input_id(access, &key), message);
            }
            None
        }
        Err(_) => None,
    }
}

/// The channel's form posted: `action=lookup` finds the notice and shows the
/// form again, `action=submit` (or none) registers the request.
pub async fn new_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(code): Path<String>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let form: UploadForm = read_upload_form(multipart).await?;
    ctx.check_csrf(form.csrf())?;
    let who = ctx.session.as_ref();
    let access = state.app.channel_access(who, &code).await?;
    state.app.authorize(
        who,
        &Action::SubmitRequest {
            eligible: access.eligible,
        },
    )?;
    if !access.open_now {
        let page = closed_page(&state, &ctx, &access, access.reopens_at);
        return page_response(StatusCode::CONFLICT, &page);
    }
    let files_sent = !form.files.is_empty();
    if form.get("action") == "faq" {
        // "Cerca nelle FAQ" without JavaScript: the form again, with the
        // articles matching what was typed.
        let mut page = form_page(
            &state,
            &ctx,
            &access,
            &form.values,
            FormErrors::default(),
            None,
            files_sent,
        );
        page.suggestions =
            crate::kb_pages::suggest(&state, &form.get("subject"), &form.get("body")).await;
        page.faq_searched = true;
        return page_response(StatusCode::OK, &page);
    }
    if form.get("action") == "lookup" && access.channel.notice_lookup != 0 {
        let number = form.get(&format!("field_{NOTICE_NUMBER}"));
        let taxpayer = form.get(&format!("field_{NOTICE_TAXPAYER}"));
        let mut f = FormErrors::default();
        let notice = match state
            .app
            .lookup_notice(who, &code, &number, &taxpayer)
            .await
        {
            Ok(n) => Some(n),
            Err(AppError::InvalidFields(list)) => {
                for (key, message) in list {
                    f.push(input_id(&access, &key), message);
                }
                None
            }
            Err(e) => return Err(e.into()),
        };
        let status = f.status();
        let page = form_page(&state, &ctx, &access, &form.values, f, notice, files_sent);
        return page_response(status, &page);
    }
    let mut fields = BTreeMap::new();
    for spec in &access.form.fields {
        if !matches!(spec.kind, FieldKind::Attachment) {
            fields.insert(spec.key.clone(), form.get(&format!("field_{}", spec.key)));
        }
    }
    let mut attachments = Vec::new();
    for (name, upload) in form.files.iter().cloned() {
        if name == "attachments" {
            attachments.push(upload);
        } else if let Some(key) = name.strip_prefix("field_")
            && access
                .form
                .fields
                .iter()
                .any(|s| s.key == key && matches!(s.kind, FieldKind::Attachment))
        {
            fields
                .entry(key.to_string())
                .and_modify(|v: &mut String| {
                    v.push_str(", ");
                    v.push_str(&upload.filename);
                })
                .or_insert_with(|| upload.filename.clone());
            attachments.push(upload);
        }
    }
    let submission = WebSubmission {
        subject: form.get("subject"),
        body: form.get("body"),
        fields,
        contact: Contact {
            contact_name: form.get("contact_name"),
            phone: form.get("phone"),
            email: form.get("email"),
        },
        attachments,
    };
    let mut f = FormErrors::default();
    match state
        .app
        .submit_request(who, &code, submission, &ctx.origin)
        .await
    {
        Ok(r) => {
            return Ok(
                Redirect::to(&format!("/assistenza/richieste/{}?nuova=1", r.id)).into_response(),
            );
        }
        Err(AppError::ChannelClosed { reopens_at }) => {
            let page = closed_page(&state, &ctx, &access, reopens_at);
            return page_response(StatusCode::CONFLICT, &page);
        }
        Err(AppError::InvalidFields(list)) => {
            // When another field of the form is refused the notice is not
            // looked up and its number is reported missing: it is looked
            // up below instead.
            let number_typed = !form
                .get(&format!("field_{NOTICE_NUMBER}"))
                .trim()
                .is_empty();
            for (key, message) in list {
                if number_typed && key == NOTICE_NUMBER && message == "campo obbligatorio" {
                    continue;
                }
                f.push(input_id(&access, &key), message);
            }
        }
        Err(AppError::Invalid { field, message }) => f.push(input_id(&access, field), message),
        Err(e) => return Err(e.into()),
    }
    let notice = check_notice(&state, &ctx, &access, &form.values, &mut f).await;
    let page = form_page(&state, &ctx, &access, &form.values, f, notice, files_sent);
    page_response(StatusCode::BAD_REQUEST, &page)
}

#[derive(Template)]
#[template(path = "desk/request.html")]
struct RequestPage {
    ctx: PageCtx,
    f: FormErrors,
    r: RequestHeader,
    fields: Vec<(String, String)>,
    events: Vec<EventView>,
    can_reply: bool,
    reply_fields: Vec<FieldView>,
    registered: Option<Registered>,
    notice: Option<&'static str>,
    conflict: Option<String>,
    files_dropped: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ShowQuery {
    nuova: Option<String>,
    inviata: Option<String>,
}

struct Shown {
    registered: bool,
    notice: Option<&'static str>,
    conflict: Option<String>,
    files_dropped: bool,
}

async fn request_page(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
    mut f: FormErrors,
    values: &HashMap<String, String>,
    shown: Shown,
) -> Result<RequestPage, WebError> {
    let app = &state.app;
    let lang = ctx.lang;
    let view = app.request_view(ctx.session.as_ref(), id).await?;
    let r = request_header(app, lang, &view).await?;
    let (events, _) = event_views(app, lang, id, &view.events, &view.attachments, true);
    let open = RequestState::from_code(&view.request.state).is_some_and(RequestState::is_open);
    let mut files = FieldView::new("attachments", t(lang, "desk.attachments"), "file")
        .hint(attachments_hint(
            app,
            lang,
            view.channel.max_attachment_bytes,
        ))
        .fill(values, &f);
    files.multiple = true;
    files.accept = accept_list(app);
    let reply_fields = vec![
        FieldView::new("text", t(lang, "desk.reply.text"), "textarea")
            .required(true)
            .max(10_000)
            .fill(values, &f),
        files,
    ];
    label_errors(&mut f, &reply_fields);
    Ok(RequestPage {
        ctx: ctx.page(),
        registered: shown.registered.then(|| Registered {
            protocol: r.protocol.clone(),
            date: r.date.clone(),
        }),
        r,
        fields: view.fields.clone(),
        events,
        can_reply: view.is_requester && open,
        reply_fields,
        notice: shown.notice,
        conflict: shown.conflict,
        files_dropped: shown.files_dropped,
        f,
    })
}

/// A request as its requester sees it.
pub async fn show(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, WebError> {
    let shown = Shown {
        registered: q.nuova.is_some(),
        notice: q.inviata.is_some().then(|| t(ctx.lang, "desk.reply.sent")),
        conflict: None,
        files_dropped: false,
    };
    let page = request_page(
        &state,
        &ctx,
        id,
        FormErrors::default(),
        &HashMap::new(),
        shown,
    )
    .await?;
    Ok(render(&page)?.into_response())
}

/// The requester's reply, with documents.
pub async fn reply(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let form = read_upload_form(multipart).await?;
    ctx.check_csrf(form.csrf())?;
    let uploads = form
        .files
        .iter()
        .filter(|(name, _)| name == "attachments")
        .map(|(_, u)| u.clone())
        .collect();
    let mut f = FormErrors::default();
    let mut conflict = None;
    let status = match state
        .app
        .reply_to_request(
            ctx.session.as_ref(),
            id,
            form.get("text"),
            uploads,
            &ctx.origin,
        )
        .await
    {
        Ok(()) => {
            return Ok(
                Redirect::to(&format!("/assistenza/richieste/{id}?inviata=1")).into_response(),
            );
        }
        Err(AppError::InvalidFields(list)) => {
            for (key, message) in list {
                f.push(key, message);
            }
            StatusCode::BAD_REQUEST
        }
        Err(AppError::Invalid { field, message }) => {
            f.push(field, message);
            StatusCode::BAD_REQUEST
        }
        Err(AppError::Conflict(m)) => {
            conflict = Some(m);
            StatusCode::CONFLICT
        }
        Err(e) => return Err(e.into()),
    };
    let shown = Shown {
        registered: false,
        notice: None,
        conflict,
        files_dropped: !form.files.is_empty(),
    };
    let page = request_page(&state, &ctx, id, f, &form.values, shown).await?;
    Ok((status, render(&page)?).into_response())
}

/// `filename*=UTF-8''...` (RFC 6266 / 8187), with a plain ASCII fallback.
fn content_disposition(filename: &str) -> HeaderValue {
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// An attachment of a request, for whoever may see it.
pub async fn download(
    State(state): State<Shared>,
    ctx: Ctx,
    Path((id, aid)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let (info, data) = state
        .app
        .request_attachment(ctx.session.as_ref(), id, aid)
        .await?;
    let content_type = HeaderValue::from_str(&info.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let mut res = data.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&info.filename),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}
