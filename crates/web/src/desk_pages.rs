//! The assistance desk's pages: requesters write to a channel and follow
//! their requests (`requester`), office workers take, work and close them,
//! register phone calls and sort the mail nobody recognised (`office`).
//! Every form works without JavaScript: the multi-step ones (notice lookup,
//! phone channel) post or get the same page again.

mod office;
mod requester;

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart};
use axum::routing::{get, post};
use sportello_app::desk::Upload;
use sportello_app::{App, AppError};
use sportello_core::desk::form::{FieldKind, FieldSpec};
use sportello_core::desk::sla::SlaFlag;
use sportello_core::desk::workflow::RequestState;
use sportello_store::desk::{self as store, AttachmentInfo, RequestEvent};

use crate::Shared;
use crate::ctx::FormErrors;
use crate::error::WebError;
use crate::i18n::{self, Lang};

/// Largest body of a form that carries attachments (several files of up to
/// the channel's limit each).
const UPLOAD_BODY_LIMIT: usize = 40 * 1024 * 1024;
/// Text fields kept from a multipart form, and their largest size.
const MAX_TEXT_FIELDS: usize = 200;
const MAX_TEXT_CHARS: usize = 20_000;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/assistenza", get(requester::home))
        .route(
            "/assistenza/{code}/nuova",
            get(requester::new_form)
                .post(requester::new_submit)
                .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/assistenza/richieste/{id}", get(requester::show))
        .route(
            "/assistenza/richieste/{id}/risposta",
            post(requester::reply).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/assistenza/richieste/{id}/allegati/{aid}",
            get(requester::download),
        )
        .route("/ufficio", get(office::desk))
        .route("/ufficio/richieste/{id}", get(office::show))
        .route("/ufficio/richieste/{id}/azione", post(office::act))
        .route(
            "/ufficio/telefono",
            get(office::phone_form).post(office::phone_submit),
        )
        .route("/ufficio/smistamento", get(office::triage))
        .route("/ufficio/smistamento/{id}", post(office::triage_decide))
}

fn t(lang: Lang, key: &str) -> &'static str {
    i18n::t(lang, key)
}

fn store_err(e: sportello_store::StoreError) -> WebError {
    AppError::from(e).into()
}

/// The state's label in the visitor's language.
fn state_label(lang: Lang, code: &str) -> String {
    match RequestState::from_code(code) {
        Some(s) if lang == Lang::En => s.label_en().to_string(),
        Some(s) => s.label_it().to_string(),
        None => code.to_string(),
    }
}

/// The service-level flag as a badge: Bootstrap colour and its text (the
/// colour is never the only sign). Nothing for a request in time.
fn sla_badge(lang: Lang, code: &str) -> Option<(&'static str, &'static str)> {
    match SlaFlag::from_code(code)? {
        SlaFlag::Ok => None,
        SlaFlag::Near => Some(("warning", t(lang, "desk.sla.near"))),
        SlaFlag::Breached => Some(("danger", t(lang, "desk.sla.breached"))),
    }
}

fn intake_label(lang: Lang, code: &str) -> &'static str {
    match code {
        "web" => t(lang, "desk.intake.web"),
        "mail" => t(lang, "desk.intake.mail"),
        "phone" => t(lang, "desk.intake.phone"),
        _ => "—",
    }
}

fn event_label(lang: Lang, kind: &str) -> &'static str {
    t(
        lang,
        match kind {
            "registered" => "desk.event.registered",
            "assigned" => "desk.event.assigned",
            "taken" => "desk.event.taken",
            "note" => "desk.event.note",
            "message_out" => "desk.event.message_out",
            "documents_requested" => "desk.event.documents_requested",
            "message_in" => "desk.event.message_in",
            "closed" => "desk.event.closed",
            "transferred" => "desk.event.transferred",
            _ => "desk.event.other",
        },
    )
}

/// "1,2 MB", "35 kB": the size of a file for people.
fn human_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0)).replace('.', ",")
    } else {
        format!("{} kB", (bytes + 1023) / 1024)
    }
}

/// Percent-encodes a query value.
fn enc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// One input of a form, with its value and its own error.
pub struct FieldView {
    pub name: String,
    pub id: String,
    pub label: String,
    /// text, textarea, number, date, cf, email, tel, select, file
    pub kind: &'static str,
    pub value: String,
    pub required: bool,
    pub max: usize,
    /// Choices of a select: value and label.
    pub options: Vec<(String, String)>,
    pub multiple: bool,
    pub accept: String,
    pub autocomplete: &'static str,
    pub hint: Option<String>,
    pub error: Option<String>,
}

impl FieldView {
    fn new(name: &str, label: &str, kind: &'static str) -> FieldView {
        FieldView {
            name: name.to_string(),
            id: name.to_string(),
            label: label.to_string(),
            kind,
            value: String::new(),
            required: false,
            max: 500,
            options: Vec::new(),
            multiple: false,
            accept: String::new(),
            autocomplete: "",
            hint: None,
            error: None,
        }
    }

    fn required(mut self, yes: bool) -> Self {
        self.required = yes;
        self
    }

    fn max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    fn autocomplete(mut self, v: &'static str) -> Self {
        self.autocomplete = v;
        self
    }

    fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }

    /// A different id (several forms on one page use the same names).
    fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The choices of a select.
    fn options(mut self, options: Vec<(String, String)>) -> Self {
        self.options = options;
        self
    }

    /// The value typed and the error, both keyed by the id.
    fn fill(mut self, values: &HashMap<String, String>, f: &FormErrors) -> Self {
        if let Some(v) = values.get(&self.id) {
            self.value = v.clone();
        }
        self.error = errors_for(f, &self.id);
        self
    }

    /// The ids of the hint and of the error, for aria-describedby.
    pub fn described(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}_hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}_error", self.id));
        }
        ids.join(" ")
    }

    /// The `type` of an `<input>`.
    pub fn input_type(&self) -> &'static str {
        match self.kind {
            "cf" => "text",
            "number" => "number",
            "date" => "date",
            "email" => "email",
            "tel" => "tel",
            _ => "text",
        }
    }

    /// An input of a channel's configured form, named `field_<key>`.
    fn configured(spec: &FieldSpec, attachment_accept: &str, lang: Lang) -> FieldView {
        let name = format!("field_{}", spec.key);
        let (kind, max) = match &spec.kind {
            FieldKind::Text => ("text", 500),
            FieldKind::LongText => ("textarea", 10_000),
            FieldKind::Number => ("number", 30),
            FieldKind::Date => ("date", 10),
            FieldKind::FiscalCode => ("cf", 16),
            FieldKind::Email => ("email", 254),
            FieldKind::Phone => ("tel", 30),
            FieldKind::Choice(_) => ("select", 0),
            FieldKind::Attachment => ("file", 0),
        };
        let mut v = FieldView::new(&name, &spec.label, kind)
            .required(spec.required)
            .max(max);
        match &spec.kind {
            FieldKind::Choice(options) => {
                v.options = options.iter().map(|o| (o.clone(), o.clone())).collect();
            }
            FieldKind::Attachment => {
                v.accept = attachment_accept.to_string();
                v.hint = Some(t(lang, "desk.attachment_field.hint").to_string());
            }
            FieldKind::FiscalCode => v.autocomplete = "off",
            FieldKind::Email => v.autocomplete = "email",
            FieldKind::Phone => v.autocomplete = "tel",
            _ => {}
        }
        v
    }
}

/// Every message about one field, joined (several files may be refused).
fn errors_for(f: &FormErrors, id: &str) -> Option<String> {
    let all: Vec<&str> = f
        .list
        .iter()
        .filter(|e| e.field == id)
        .map(|e| e.message.as_str())
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// Names each error after its field's label in the summary, and lists the
/// errors in the order the fields appear on the page.
fn label_errors<'a>(f: &mut FormErrors, views: impl IntoIterator<Item = &'a FieldView>) {
    let order: Vec<(&str, &str)> = views
        .into_iter()
        .map(|v| (v.id.as_str(), v.label.as_str()))
        .collect();
    let position = |field: &str| order.iter().position(|(id, _)| *id == field);
    for e in &mut f.list {
        if let Some(i) = position(&e.field) {
            e.label = Some(order[i].1.to_string());
        }
    }
    f.list
        .sort_by_key(|e| position(&e.field).unwrap_or(usize::MAX));
}

/// The `accept` attribute for the configured attachment types.
fn accept_list(app: &App) -> String {
    app.config
        .desk
        .attachment_types
        .iter()
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// "Formati ammessi: pdf, p7m, ...; al massimo 10 MB per file, 10 file."
fn attachments_hint(app: &App, lang: Lang, max_bytes: i64) -> String {
    t(lang, "desk.attachments.hint")
        .replacen("{}", &app.config.desk.attachment_types.join(", "), 1)
        .replacen("{}", &(max_bytes / (1024 * 1024)).max(1).to_string(), 1)
        .replacen("{}", &sportello_app::desk::files::MAX_FILES.to_string(), 1)
}

/// A multipart form read whole: its text fields and its files (file inputs
/// left empty are skipped).
pub struct UploadForm {
    pub values: HashMap<String, String>,
    pub files: Vec<(String, Upload)>,
}

impl UploadForm {
    pub(crate) fn get(&self, name: &str) -> String {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// The CSRF token, named as in every other form.
    pub(crate) fn csrf(&self) -> &str {
        self.values
            .get("csrf_token")
            .map(String::as_str)
            .unwrap_or("")
    }
}

pub(crate) async fn read_upload_form(mut multipart: Multipart) -> Result<UploadForm, WebError> {
    let mut values = HashMap::new();
    let mut files = Vec::new();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            WebError::BadRequest(format!(
                "il modulo supera la dimensione massima di {} MB",
                UPLOAD_BODY_LIMIT / 1024 / 1024
            ))
        } else {
            WebError::BadRequest(format!("modulo non valido: {e}"))
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(filename) => {
                let content_type = field.content_type().unwrap_or_default().to_string();
                let data = field.bytes().await.map_err(unreadable)?;
                if filename.is_empty() && data.is_empty() {
                    continue;
                }
                files.push((
                    name,
                    Upload {
                        filename: sportello_app::mail_in::sanitize_filename(
                            &filename,
                            &content_type,
                        ),
                        data: data.to_vec(),
                    },
                ));
            }
            None => {
                let text = field.text().await.map_err(unreadable)?;
                if values.len() < MAX_TEXT_FIELDS {
                    values.insert(name, text.chars().take(MAX_TEXT_CHARS).collect());
                }
            }
        }
    }
    Ok(UploadForm { values, files })
}

/// A link to an attachment.
pub struct AttachmentView {
    pub url: String,
    pub filename: String,
    pub size: String,
}

/// One entry of a request's history.
pub struct EventView {
    pub at: String,
    pub who: String,
    pub label: &'static str,
    pub body: String,
    pub internal: bool,
    pub attachments: Vec<AttachmentView>,
}

fn attachment_view(request_id: i64, a: &AttachmentInfo) -> AttachmentView {
    AttachmentView {
        url: format!("/assistenza/richieste/{request_id}/allegati/{}", a.id),
        filename: a.filename.clone(),
        size: human_size(a.size),
    }
}

/// The history in order, each entry with its attachments; `public_only`
/// leaves out internal notes (and their attachments). Attachments of no
/// entry come back apart.
fn event_views(
    app: &App,
    lang: Lang,
    request_id: i64,
    events: &[RequestEvent],
    attachments: &[AttachmentInfo],
    public_only: bool,
) -> (Vec<EventView>, Vec<AttachmentView>) {
    let mut by_event: BTreeMap<i64, Vec<AttachmentView>> = BTreeMap::new();
    let mut loose = Vec::new();
    for a in attachments {
        match a.event_id {
            Some(e) => by_event
                .entry(e)
                .or_default()
                .push(attachment_view(request_id, a)),
            None if !public_only => loose.push(attachment_view(request_id, a)),
            None => {}
        }
    }
    let list = events
        .iter()
        .filter(|e| !public_only || e.public != 0)
        .map(|e| EventView {
            at: app.format_time(e.at),
            who: e.actor_label.clone(),
            label: event_label(lang, &e.kind),
            body: e.body.clone(),
            internal: e.public == 0,
            attachments: by_event.remove(&e.id).unwrap_or_default(),
        })
        .collect();
    (list, loose)
}

/// What the top of a request's page shows.
pub struct RequestHeader {
    pub id: i64,
    pub protocol: String,
    pub date: String,
    pub aoo: Option<String>,
    pub state: String,
    pub state_code: String,
    pub office: String,
    pub outcome: Option<String>,
    pub channel: String,
    pub subject: String,
    pub body: String,
    pub requester: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub intake: &'static str,
    pub assignee: Option<String>,
    pub sla: Option<(&'static str, &'static str)>,
    pub take_due: Option<String>,
    pub close_due: Option<String>,
    /// An annulled registration: when, and the reason with the act's reference.
    pub annulled: Option<(String, String)>,
}

async fn request_header(
    app: &App,
    lang: Lang,
    view: &sportello_app::desk::work::RequestView,
) -> Result<RequestHeader, WebError> {
    let r = &view.request;
    let aoo = store::registers(&app.db)
        .await
        .map_err(store_err)?
        .into_iter()
        .find(|g| g.id == r.register_id)
        .map(|g| g.aoo)
        .filter(|a| !a.is_empty());
    let open = RequestState::from_code(&r.state).is_some_and(RequestState::is_open);
    Ok(RequestHeader {
        id: r.id,
        protocol: r.protocol.clone(),
        date: app.format_time(r.registered_at),
        aoo,
        state: state_label(lang, &r.state),
        state_code: r.state.clone(),
        office: view.office.name.clone(),
        outcome: r.outcome.clone(),
        channel: view.channel.name.clone(),
        subject: r.subject.clone(),
        body: r.body.clone(),
        requester: r.requester_name.clone(),
        contact_name: r.contact_name.clone().unwrap_or_default(),
        phone: r.requester_phone.clone().unwrap_or_default(),
        email: r.requester_email.clone().unwrap_or_default(),
        intake: intake_label(lang, &r.intake),
        assignee: view.assignee_name.clone(),
        sla: if open {
            sla_badge(lang, &r.sla_flag)
        } else {
            None
        },
        take_due: r
            .take_due_at
            .filter(|_| matches!(r.state.as_str(), "new" | "assigned"))
            .map(|d| app.format_time(d)),
        close_due: r.close_due_at.filter(|_| open).map(|d| app.format_time(d)),
        annulled: r.annulled_at.map(|a| {
            (
                app.format_time(a),
                r.annul_reason.clone().unwrap_or_default(),
            )
        }),
    })
}

/// The confirmation after a registration: protocol and date.
pub struct Registered {
    pub protocol: String,
    pub date: String,
}
