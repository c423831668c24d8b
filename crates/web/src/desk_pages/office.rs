//! The office's side: the desk with the requests of one's offices, a
//! request's staff page with the actions its state allows, phone calls
//! registered by an operator, and the triage of unrecognised mail.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_app::desk::intake::PhoneCall;
use sportello_app::desk::mailgate::TriageDecision;
use sportello_app::desk::work::{RequestView, WorkAct};
use sportello_app::{AppError, SessionUser};
use sportello_core::authz::{Action, Role};
use sportello_core::desk::form::FieldKind;
use sportello_core::desk::workflow::{self, RequestEvent, RequestState};
use sportello_store::desk::{self as store, Channel, RequestFilter};
use sportello_store::directory;

use super::{
    AttachmentView, EventView, FieldView, Registered, RequestHeader, enc, event_views,
    label_errors, request_header, sla_badge, state_label, store_err, t,
};
use crate::Shared;
use crate::ctx::{Ctx, FormErrors, FormResult, PageCtx, form};
use crate::error::WebError;
use crate::i18n::Lang;
use crate::pages::render;

/// Most rows the desk lists at once.
const DESK_ROWS: i64 = 200;

/// The offices the user works in (empty for a central manager, who sees all).
async fn my_offices(state: &Shared, ctx: &Ctx) -> Result<(Vec<i64>, bool), WebError> {
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let mine = store::offices_of_staff(&state.app.db, s.user.id)
        .await
        .map_err(store_err)?;
    state
        .app
        .authorize(Some(s), &Action::WorkAnyOffice { office_ids: &mine })?;
    let everywhere = s.actor.has(Role::CentralManager);
    Ok((mine, everywhere))
}

/// Active channels with at least one office the user works in.
async fn my_channels(
    state: &Shared,
    mine: &[i64],
    everywhere: bool,
) -> Result<Vec<Channel>, WebError> {
    let db = &state.app.db;
    let mut out = Vec::new();
    for c in store::channels(db).await.map_err(store_err)? {
        if c.active == 0 {
            continue;
        }
        let offices = store::channel_offices(db, c.id).await.map_err(store_err)?;
        if everywhere || offices.iter().any(|o| mine.contains(&o.id)) {
            out.push(c);
        }
    }
    Ok(out)
}

pub struct Tab {
    pub label: &'static str,
    pub count: String,
    pub href: String,
    pub current: bool,
}

pub struct DeskRow {
    pub id: i64,
    pub protocol: String,
    pub date: String,
    pub channel: String,
    pub requester: String,
    pub subject: String,
    pub office: String,
    pub assignee: String,
    pub state: String,
    pub sla: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "desk/office.html")]
struct DeskPage {
    ctx: PageCtx,
    current: &'static str,
    tabs: Vec<Tab>,
    stato: String,
    q: String,
    sla: String,
    ufficio: String,
    mie: bool,
    states: Vec<(String, String)>,
    flags: Vec<(String, String)>,
    offices: Vec<(String, String)>,
    rows: Vec<DeskRow>,
    truncated: bool,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeskQuery {
    stato: String,
    q: String,
    sla: String,
    ufficio: String,
    mie: String,
    ok: String,
}

/// The states a `stato` value stands for (a bucket or one state); `None`
/// for all.
fn states_of(stato: &str) -> Option<Vec<String>> {
    let list: &[&str] = match stato {
        "all" => return None,
        "to_take" => &["new", "assigned"],
        "in_progress" => &["in_progress"],
        "waiting_requester" => &["waiting_requester"],
        "closed" => &["closed"],
        "new" => &["new"],
        "assigned" => &["assigned"],
        _ => &["new", "assigned"],
    };
    Some(list.iter().map(|s| s.to_string()).collect())
}

fn ok_notice(lang: Lang, act: &str) -> Option<&'static str> {
    let key = match act {
        "assign" => "desk.ok.assign",
        "take" => "desk.ok.take",
        "note" => "desk.ok.note",
        "message" => "desk.ok.message",
        "ask_documents" => "desk.ok.ask_documents",
        "close" => "desk.ok.close",
        "transfer" => "desk.ok.transfer",
        _ => return None,
    };
    Some(t(lang, key))
}

/// "Scrivania dell'ufficio": the requests of one's offices by bucket.
pub async fn desk(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<DeskQuery>,
) -> Result<Response, WebError> {
    let (mine, everywhere) = my_offices(&state, &ctx).await?;
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let app = &state.app;
    let db = &app.db;
    let lang = ctx.lang;
    let all_offices = store::desk_offices(db).await.map_err(store_err)?;
    let office_name = |id: i64| {
        all_offices
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    let chosen_office = q
        .ufficio
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| everywhere || mine.contains(id));
    let scope: Option<Vec<i64>> = match chosen_office {
        Some(id) => Some(vec![id]),
        None if mine.is_empty() && everywhere => None,
        None => Some(mine.clone()),
    };
    let stato = match q.stato.as_str() {
        "" => "to_take".to_string(),
        other => other.to_string(),
    };
    let mie = q.mie == "1";
    let flag = match q.sla.as_str() {
        "ok" | "near" | "breached" => q.sla.clone(),
        _ => String::new(),
    };
    // Counts per bucket, whatever the other filters.
    let counts = store::open_counts(db, scope.as_deref())
        .await
        .map_err(store_err)?;
    let count = |states: &[&str]| -> i64 {
        counts
            .iter()
            .filter(|c| states.contains(&c.state.as_str()))
            .map(|c| c.n)
            .sum()
    };
    let closed = store::list_requests(
        db,
        &RequestFilter {
            office_ids: scope.clone(),
            states: vec!["closed".into()],
            limit: 500,
            ..Default::default()
        },
    )
    .await
    .map_err(store_err)?
    .len();
    let closed_count = if closed >= 500 {
        "500+".to_string()
    } else {
        closed.to_string()
    };
    let keep = |stato: &str| {
        let mut href = format!("/ufficio?stato={stato}");
        if !q.q.trim().is_empty() {
            href.push_str(&format!("&q={}", enc(q.q.trim())));
        }
        if !flag.is_empty() {
            href.push_str(&format!("&sla={flag}"));
        }
        if let Some(o) = chosen_office {
            href.push_str(&format!("&ufficio={o}"));
        }
        if mie {
            href.push_str("&mie=1");
        }
        href
    };
    let open_total = count(&["new", "assigned", "in_progress", "waiting_requester"]);
    let tabs = vec![
        (
            "to_take",
            "desk.bucket.to_take",
            count(&["new", "assigned"]).to_string(),
        ),
        (
            "in_progress",
            "desk.bucket.in_progress",
            count(&["in_progress"]).to_string(),
        ),
        (
            "waiting_requester",
            "desk.bucket.waiting_requester",
            count(&["waiting_requester"]).to_string(),
        ),
        ("closed", "desk.bucket.closed", closed_count),
        ("all", "desk.bucket.all", {
            if closed >= 500 {
                format!("{}+", open_total + 500)
            } else {
                (open_total + closed as i64).to_string()
            }
        }),
    ]
    .into_iter()
    .map(|(code, label, count)| Tab {
        label: t(lang, label),
        count,
        href: keep(code),
        current: stato == code,
    })
    .collect();
    let list = store::list_requests(
        db,
        &RequestFilter {
            office_ids: scope.clone(),
            assignee_id: mie.then_some(s.user.id),
            states: states_of(&stato).unwrap_or_default(),
            text: Some(q.q.trim().to_string()).filter(|t| !t.is_empty()),
            sla_flags: if flag.is_empty() {
                Vec::new()
            } else {
                vec![flag.clone()]
            },
            limit: DESK_ROWS,
            ..Default::default()
        },
    )
    .await
    .map_err(store_err)?;
    let channels: HashMap<i64, String> = store::channels(db)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|c| (c.id, c.code))
        .collect();
    let mut people: HashMap<i64, String> = HashMap::new();
    let mut rows = Vec::new();
    let truncated = list.len() as i64 >= DESK_ROWS;
    for r in list {
        let assignee = match r.assignee_id {
            Some(a) => match people.get(&a) {
                Some(name) => name.clone(),
                None => {
                    let name = directory::user_by_id(db, a)
                        .await
                        .map_err(store_err)?
                        .map(|u| format!("{} {}", u.given_name, u.family_name))
                        .unwrap_or_default();
                    people.insert(a, name.clone());
                    name
                }
            },
            None => String::new(),
        };
        let open = r.state != "closed";
        rows.push(DeskRow {
            id: r.id,
            date: app.format_time(r.registered_at),
            channel: channels.get(&r.channel_id).cloned().unwrap_or_default(),
            office: office_name(r.office_id),
            assignee,
            state: state_label(lang, &r.state),
            sla: if open {
                sla_badge(lang, &r.sla_flag)
            } else {
                None
            },
            protocol: r.protocol,
            requester: r.requester_name,
            subject: r.subject,
        });
    }
    let mut states = vec![
        ("all".to_string(), t(lang, "desk.bucket.all").to_string()),
        (
            "to_take".to_string(),
            t(lang, "desk.bucket.to_take").to_string(),
        ),
    ];
    for st in RequestState::ALL
        .into_iter()
        .filter(|s| *s != RequestState::New)
    {
        states.push((st.code().to_string(), state_label(lang, st.code())));
    }
    let flags = vec![
        ("ok".to_string(), t(lang, "desk.sla.ok").to_string()),
        ("near".to_string(), t(lang, "desk.sla.near").to_string()),
        (
            "breached".to_string(),
            t(lang, "desk.sla.breached").to_string(),
        ),
    ];
    let offices = if mine.len() > 1 {
        mine.iter()
            .map(|id| (id.to_string(), office_name(*id)))
            .collect()
    } else {
        Vec::new()
    };
    Ok(render(&DeskPage {
        ctx: ctx.page(),
        current: "desk",
        tabs,
        stato,
        q: q.q.trim().to_string(),
        sla: flag,
        ufficio: chosen_office.map(|o| o.to_string()).unwrap_or_default(),
        mie,
        states,
        flags,
        offices,
        rows,
        truncated,
        notice: ok_notice(lang, &q.ok),
    })?
    .into_response())
}

/// One action form of the staff page.
pub struct ActionForm {
    pub act: &'static str,
    pub title: &'static str,
    pub intro: Option<&'static str>,
    pub button: &'static str,
    pub fields: Vec<FieldView>,
}

#[derive(Template)]
#[template(path = "desk/staff_request.html")]
struct StaffPage {
    ctx: PageCtx,
    f: FormErrors,
    r: RequestHeader,
    fields: Vec<(String, String)>,
    events: Vec<EventView>,
    loose: Vec<AttachmentView>,
    forms: Vec<ActionForm>,
    registered: Option<Registered>,
    notice: Option<&'static str>,
    conflict: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StaffQuery {
    nuova: Option<String>,
    ok: String,
}

/// The action forms the viewer may use in the request's present state.
async fn action_forms(
    state: &Shared,
    lang: Lang,
    who: &SessionUser,
    view: &RequestView,
    values: &HashMap<String, String>,
    f: &FormErrors,
) -> Result<Vec<ActionForm>, WebError> {
    let req = &view.request;
    let Some(current) = RequestState::from_code(&req.state) else {
        return Ok(Vec::new());
    };
    let allowed = |e: RequestEvent| workflow::next(current, e).is_ok();
    let open = current.is_open();
    let has_email = req.requester_email.is_some();
    let text = |act: &str, label: &str, required: bool| {
        FieldView::new("text", t(lang, label), "textarea")
            .id(format!("{act}_text"))
            .required(required)
            .max(10_000)
            .fill(values, f)
    };
    let mut forms = Vec::new();
    if view.can_manage && allowed(RequestEvent::Assign) {
        let mut seen = Vec::new();
        let options = view
            .staff
            .iter()
            .filter(|m| {
                let new = !seen.contains(&m.user_id);
                seen.push(m.user_id);
                new
            })
            .map(|m| {
                (
                    m.user_id.to_string(),
                    format!("{} {}", m.given_name, m.family_name),
                )
            })
            .collect();
        forms.push(ActionForm {
            act: "assign",
            title: t(lang, "desk.act.assign"),
            intro: None,
            button: t(lang, "desk.act.assign.button"),
            fields: vec![
                FieldView::new("assignee_id", t(lang, "desk.assignee"), "select")
                    .id("assign_assignee_id")
                    .required(true)
                    .options(options)
                    .fill(values, f),
            ],
        });
    }
    let may_take = allowed(RequestEvent::Take)
        && (current != RequestState::Assigned
            || req.assignee_id == Some(who.user.id)
            || view.can_manage);
    if view.can_work && may_take {
        forms.push(ActionForm {
            act: "take",
            title: t(lang, "desk.act.take"),
            intro: Some(t(lang, "desk.act.take.intro")),
            button: t(lang, "desk.act.take.button"),
            fields: Vec::new(),
        });
    }
    if view.can_work && open && has_email {
        forms.push(ActionForm {
            act: "message",
            title: t(lang, "desk.act.message"),
            intro: Some(t(lang, "desk.act.message.intro")),
            button: t(lang, "desk.act.message.button"),
            fields: vec![text("message", "desk.act.text", true)],
        });
    }
    if view.can_work && has_email && allowed(RequestEvent::AskDocuments) {
        forms.push(ActionForm {
            act: "ask_documents",
            title: t(lang, "desk.act.ask_documents"),
            intro: Some(t(lang, "desk.act.ask_documents.intro")),
            button: t(lang, "desk.act.ask_documents.button"),
            fields: vec![text("ask_documents", "desk.act.text", true)],
        });
    }
    if view.can_work && open {
        forms.push(ActionForm {
            act: "note",
            title: t(lang, "desk.act.note"),
            intro: Some(t(lang, "desk.act.note.intro")),
            button: t(lang, "desk.act.note.button"),
            fields: vec![text("note", "desk.act.note.text", true)],
        });
    }
    if view.can_work && allowed(RequestEvent::Close) {
        let outcomes = view
            .outcomes
            .iter()
            .map(|o| (o.clone(), o.clone()))
            .collect();
        forms.push(ActionForm {
            act: "close",
            title: t(lang, "desk.act.close"),
            intro: Some(t(lang, "desk.act.close.intro")),
            button: t(lang, "desk.act.close.button"),
            fields: vec![
                FieldView::new("outcome", t(lang, "desk.outcome"), "select")
                    .id("close_outcome")
                    .required(true)
                    .options(outcomes)
                    .fill(values, f),
                text("close", "desk.act.close.text", false),
            ],
        });
    }
    let keeps_register = sportello_core::authz::decide(
        Some(&who.actor),
        &sportello_core::authz::Action::ExportRegister,
    )
    .is_allowed();
    if keeps_register && req.annulled_at.is_none() {
        forms.push(ActionForm {
            act: "annul",
            title: t(lang, "desk.act.annul"),
            intro: Some(t(lang, "desk.act.annul.intro")),
            button: t(lang, "desk.act.annul.button"),
            fields: vec![
                FieldView::new("text", t(lang, "desk.act.annul.reason"), "textarea")
                    .id("annul_text")
                    .required(true)
                    .max(500)
                    .fill(values, f),
            ],
        });
    }
    if view.can_work && allowed(RequestEvent::Transfer) {
        let offices = store::desk_offices(&state.app.db)
            .await
            .map_err(store_err)?
            .into_iter()
            .filter(|o| o.id != req.office_id)
            .map(|o| (o.code, o.name))
            .collect();
        forms.push(ActionForm {
            act: "transfer",
            title: t(lang, "desk.act.transfer"),
            intro: Some(t(lang, "desk.act.transfer.intro")),
            button: t(lang, "desk.act.transfer.button"),
            fields: vec![
                FieldView::new("office_code", t(lang, "desk.act.transfer.office"), "select")
                    .id("transfer_office_code")
                    .required(true)
                    .options(offices)
                    .fill(values, f),
                FieldView::new(
                    "appointment",
                    t(lang, "desk.act.transfer.appointment"),
                    "textarea",
                )
                .id("transfer_appointment")
                .required(true)
                .max(2_000)
                .fill(values, f),
            ],
        });
    }
    Ok(forms)
}

struct StaffShown {
    registered: bool,
    notice: Option<&'static str>,
    conflict: Option<String>,
}

async fn staff_page(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
    mut f: FormErrors,
    values: &HashMap<String, String>,
    shown: StaffShown,
) -> Result<Option<StaffPage>, WebError> {
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let app = &state.app;
    let lang = ctx.lang;
    let view = app.request_view(Some(s), id).await?;
    let staff_view = view.can_work || view.can_manage;
    let oversees = [Role::RegionalManager, Role::CentralManager]
        .into_iter()
        .any(|r| s.actor.has(r));
    if view.is_requester && !staff_view && !oversees {
        // The requester has his own page.
        return Ok(None);
    }
    let r = request_header(app, lang, &view).await?;
    let (events, loose) = event_views(app, lang, id, &view.events, &view.attachments, !staff_view);
    let forms = action_forms(state, lang, s, &view, values, &f).await?;
    label_errors(&mut f, forms.iter().flat_map(|a| &a.fields));
    Ok(Some(StaffPage {
        ctx: ctx.page(),
        registered: shown.registered.then(|| Registered {
            protocol: r.protocol.clone(),
            date: r.date.clone(),
        }),
        r,
        fields: view.fields.clone(),
        events,
        loose,
        forms,
        notice: shown.notice,
        conflict: shown.conflict,
        f,
    }))
}

/// A request as the office sees it, with the actions its state allows.
pub async fn show(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<StaffQuery>,
) -> Result<Response, WebError> {
    let shown = StaffShown {
        registered: q.nuova.is_some(),
        notice: ok_notice(ctx.lang, &q.ok),
        conflict: None,
    };
    let page = staff_page(
        &state,
        &ctx,
        id,
        FormErrors::default(),
        &HashMap::new(),
        shown,
    )
    .await?;
    match page {
        Some(page) => Ok(render(&page)?.into_response()),
        None => Ok(Redirect::to(&format!("/assistenza/richieste/{id}")).into_response()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActInput {
    csrf_token: String,
    act: String,
    assignee_id: String,
    text: String,
    outcome: String,
    office_code: String,
    appointment: String,
}

/// One action on a request.
pub async fn act(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    input: FormResult<ActInput>,
) -> Result<Response, WebError> {
    let input = form(input)?;
    ctx.check_csrf(&input.csrf_token)?;
    let act_code: &'static str = match input.act.as_str() {
        "assign" => "assign",
        "take" => "take",
        "note" => "note",
        "message" => "message",
        "ask_documents" => "ask_documents",
        "close" => "close",
        "transfer" => "transfer",
        "annul" => "annul",
        _ => return Err(WebError::BadRequest("act: azione sconosciuta".into())),
    };
    let mut values = HashMap::new();
    values.insert(format!("{act_code}_text"), input.text.clone());
    values.insert("assign_assignee_id".to_string(), input.assignee_id.clone());
    values.insert("close_outcome".to_string(), input.outcome.clone());
    values.insert(
        "transfer_office_code".to_string(),
        input.office_code.clone(),
    );
    values.insert(
        "transfer_appointment".to_string(),
        input.appointment.clone(),
    );
    let mut f = FormErrors::default();
    let annul_reason = input.text.clone();
    // `Some(None)`: the annulment, a register act rather than work.
    let work: Option<Option<WorkAct>> = match act_code {
        "annul" => Some(None),
        "assign" => match input.assignee_id.trim().parse::<i64>() {
            Ok(assignee_id) => Some(Some(WorkAct::Assign { assignee_id })),
            Err(_) => {
                f.push("assign_assignee_id", t(ctx.lang, "desk.act.assign.missing"));
                None
            }
        },
        "take" => Some(Some(WorkAct::Take)),
        "note" => Some(Some(WorkAct::Note { text: input.text })),
        "message" => Some(Some(WorkAct::Message {
            text: input.text,
            ask_documents: false,
        })),
        "ask_documents" => Some(Some(WorkAct::Message {
            text: input.text,
            ask_documents: true,
        })),
        "close" => Some(Some(WorkAct::Close {
            outcome: input.outcome,
            text: input.text,
        })),
        _ => Some(Some(WorkAct::Transfer {
            office_code: input.office_code,
            appointment: input.appointment,
        })),
    };
    let who = ctx.session.as_ref();
    let mut conflict = None;
    let mut status = StatusCode::BAD_REQUEST;
    if let Some(work) = work {
        let done = match work {
            None => {
                state
                    .app
                    .annul_registration(who, id, annul_reason, &ctx.origin)
                    .await
            }
            Some(work) => state.app.work_request(who, id, work, &ctx.origin).await,
        };
        match done {
            Ok(()) => {
                // After a transfer the request may belong to offices the
                // user does not work in: back to the desk then.
                let target =
                    if act_code == "transfer" && state.app.request_view(who, id).await.is_err() {
                        "/ufficio?ok=transfer".to_string()
                    } else {
                        format!("/ufficio/richieste/{id}?ok={act_code}")
                    };
                return Ok(Redirect::to(&target).into_response());
            }
            Err(AppError::Invalid { field, message }) => {
                let field = if field == "reason" { "text" } else { field };
                f.push(format!("{act_code}_{field}"), message)
            }
            Err(AppError::InvalidFields(list)) => {
                for (field, message) in list {
                    f.push(format!("{act_code}_{field}"), message);
                }
            }
            Err(AppError::Conflict(m)) => {
                conflict = Some(m);
                status = StatusCode::CONFLICT;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let shown = StaffShown {
        registered: false,
        notice: None,
        conflict,
    };
    let page = staff_page(&state, &ctx, id, f, &values, shown)
        .await?
        .ok_or(WebError::Forbidden)?;
    Ok((status, render(&page)?).into_response())
}

#[derive(Template)]
#[template(path = "desk/phone.html")]
struct PhonePage {
    ctx: PageCtx,
    current: &'static str,
    f: FormErrors,
    channels: Vec<(String, String)>,
    /// Code and name of the channel chosen.
    chosen: Option<(String, String)>,
    fields: Vec<FieldView>,
    extra: Vec<FieldView>,
    /// A call just registered for an office the operator does not work in:
    /// its protocol and the office.
    registered: Option<(Registered, String)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PhoneQuery {
    canale: String,
    registrata: Option<i64>,
}

/// The protocol of a request the user himself registered, and its office.
async fn registered_by(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
) -> Result<Option<(Registered, String)>, WebError> {
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let db = &state.app.db;
    let Some(r) = store::request(db, id).await.map_err(store_err)? else {
        return Ok(None);
    };
    let events = store::events(db, id).await.map_err(store_err)?;
    let mine = events
        .first()
        .is_some_and(|e| e.kind == "registered" && e.actor_user_id == Some(s.user.id));
    if !mine {
        return Ok(None);
    }
    let office = store::desk_offices(db)
        .await
        .map_err(store_err)?
        .into_iter()
        .find(|o| o.id == r.office_id)
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(Some((
        Registered {
            date: state.app.format_time(r.registered_at),
            protocol: r.protocol,
        },
        office,
    )))
}

/// The id of the input a phone registration error is about.
fn phone_input_id(channel: Option<&Channel>, key: &str) -> String {
    let configured = channel
        .and_then(|c| sportello_core::desk::form::FormSpec::parse(&c.form_spec).ok())
        .is_some_and(|spec| spec.fields.iter().any(|f| f.key == key));
    if configured {
        format!("field_{key}")
    } else if key == "channel" {
        "canale".to_string()
    } else {
        key.to_string()
    }
}

async fn phone_page(
    state: &Shared,
    ctx: &Ctx,
    chosen_code: &str,
    values: &HashMap<String, String>,
    mut f: FormErrors,
) -> Result<(StatusCode, PhonePage), WebError> {
    let (mine, everywhere) = my_offices(state, ctx).await?;
    let lang = ctx.lang;
    let channels: Vec<Channel> = my_channels(state, &mine, everywhere)
        .await?
        .into_iter()
        .filter(|c| c.intake_phone != 0)
        .collect();
    let chosen = channels.iter().find(|c| c.code == chosen_code);
    if chosen.is_none() && !chosen_code.is_empty() {
        f.push("canale", t(lang, "desk.phone.no_channel"));
    }
    let mut fields = Vec::new();
    let mut extra = Vec::new();
    if let Some(c) = chosen {
        fields = vec![
            FieldView::new("caller_name", t(lang, "desk.phone.caller_name"), "text")
                .required(true)
                .max(120)
                .fill(values, &f),
            FieldView::new(
                "caller_fiscal_code",
                t(lang, "desk.phone.caller_fiscal_code"),
                "cf",
            )
            .max(16)
            .hint(t(lang, "desk.phone.caller_fiscal_code.hint"))
            .autocomplete("off")
            .fill(values, &f),
            FieldView::new("phone", t(lang, "desk.phone"), "tel")
                .required(true)
                .max(30)
                .fill(values, &f),
            FieldView::new("email", t(lang, "desk.phone.email"), "email")
                .max(254)
                .fill(values, &f),
            FieldView::new("subject", t(lang, "desk.subject"), "text")
                .required(true)
                .max(200)
                .fill(values, &f),
            FieldView::new("body", t(lang, "desk.body"), "textarea")
                .required(true)
                .max(10_000)
                .fill(values, &f),
        ];
        let spec = sportello_core::desk::form::FormSpec::parse(&c.form_spec)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        extra = spec
            .fields
            .iter()
            .filter(|s| !matches!(s.kind, FieldKind::Attachment))
            .map(|s| FieldView::configured(s, "", lang).fill(values, &f))
            .collect();
    }
    label_errors(&mut f, fields.iter().chain(&extra));
    let status = f.status();
    Ok((
        status,
        PhonePage {
            ctx: ctx.page(),
            current: "phone",
            channels: channels
                .iter()
                .map(|c| (c.code.clone(), c.name.clone()))
                .collect(),
            chosen: chosen.map(|c| (c.code.clone(), c.name.clone())),
            fields,
            extra,
            registered: None,
            f,
        },
    ))
}

/// "Registra richiesta telefonica": the channel first, then the form.
pub async fn phone_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<PhoneQuery>,
) -> Result<Response, WebError> {
    let (status, mut page) = phone_page(
        &state,
        &ctx,
        q.canale.trim(),
        &HashMap::new(),
        FormErrors::default(),
    )
    .await?;
    if let Some(id) = q.registrata {
        page.registered = registered_by(&state, &ctx, id).await?;
    }
    Ok((status, render(&page)?).into_response())
}

pub async fn phone_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    input: FormResult<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let values: HashMap<String, String> = form(input)?.into_iter().collect();
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    ctx.check_csrf(&get("csrf_token"))?;
    let code = get("channel");
    let channel = store::channel_by_code(&state.app.db, code.trim())
        .await
        .map_err(store_err)?
        .ok_or(WebError::NotFound)?;
    let spec = sportello_core::desk::form::FormSpec::parse(&channel.form_spec)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let fields = spec
        .fields
        .iter()
        .filter(|s| !matches!(s.kind, FieldKind::Attachment))
        .map(|s| (s.key.clone(), get(&format!("field_{}", s.key))))
        .collect();
    let call = PhoneCall {
        caller_name: get("caller_name"),
        caller_fiscal_code: get("caller_fiscal_code"),
        phone: get("phone"),
        email: get("email"),
        subject: get("subject"),
        body: get("body"),
        fields,
    };
    let mut f = FormErrors::default();
    match state
        .app
        .register_phone_request(ctx.session.as_ref(), &channel.code, call, &ctx.origin)
        .await
    {
        Ok(r) => {
            // The call may have been routed to an office the operator does
            // not work in: then the protocol is shown on this page.
            let target = if state
                .app
                .request_view(ctx.session.as_ref(), r.id)
                .await
                .is_ok()
            {
                format!("/ufficio/richieste/{}?nuova=1", r.id)
            } else {
                format!("/ufficio/telefono?registrata={}", r.id)
            };
            return Ok(Redirect::to(&target).into_response());
        }
        Err(AppError::InvalidFields(list)) => {
            for (key, message) in list {
                f.push(phone_input_id(Some(&channel), &key), message);
            }
        }
        Err(AppError::Invalid { field, message }) => {
            f.push(phone_input_id(Some(&channel), field), message)
        }
        Err(e) => return Err(e.into()),
    }
    let (_, page) = phone_page(&state, &ctx, &channel.code, &values, f).await?;
    Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
}

pub struct TriageForm {
    pub decision: &'static str,
    pub button: &'static str,
    pub fields: Vec<FieldView>,
}

pub struct TriageRow {
    pub id: i64,
    pub received: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub reason: String,
    pub forms: Vec<TriageForm>,
}

#[derive(Template)]
#[template(path = "desk/triage.html")]
struct TriagePage {
    ctx: PageCtx,
    current: &'static str,
    f: FormErrors,
    rows: Vec<TriageRow>,
    notice: Option<String>,
    notice_link: Option<(i64, String)>,
    conflict: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TriageQuery {
    ok: String,
    protocollo: String,
    richiesta: Option<i64>,
}

async fn triage_page(
    state: &Shared,
    ctx: &Ctx,
    mut f: FormErrors,
    values: &HashMap<String, String>,
    notice: Option<String>,
    notice_link: Option<(i64, String)>,
    conflict: Option<String>,
) -> Result<TriagePage, WebError> {
    let who = ctx.session.as_ref();
    let lang = ctx.lang;
    let app = &state.app;
    let list = app.triage_list(who).await?;
    let (mine, everywhere) = my_offices(state, ctx).await?;
    let channels: Vec<(String, String)> = my_channels(state, &mine, everywhere)
        .await?
        .into_iter()
        .map(|c| (c.code, c.name))
        .collect();
    let rows: Vec<TriageRow> = list
        .into_iter()
        .map(|m| {
            let id = m.id;
            TriageRow {
                received: app.format_time(m.received_at),
                from: m.from_address.unwrap_or_default(),
                to: m.to_address.unwrap_or_default(),
                subject: m.subject,
                reason: m.reason,
                forms: vec![
                    TriageForm {
                        decision: "attach",
                        button: t(lang, "desk.triage.attach"),
                        fields: vec![
                            FieldView::new("protocol", t(lang, "desk.triage.protocol"), "text")
                                .id(format!("protocol_{id}"))
                                .required(true)
                                .max(40)
                                .hint(t(lang, "desk.triage.protocol.hint"))
                                .fill(values, &f),
                        ],
                    },
                    TriageForm {
                        decision: "open",
                        button: t(lang, "desk.triage.open"),
                        fields: vec![
                            FieldView::new("channel_code", t(lang, "desk.channel"), "select")
                                .id(format!("channel_code_{id}"))
                                .required(true)
                                .options(channels.clone())
                                .fill(values, &f),
                        ],
                    },
                    TriageForm {
                        decision: "discard",
                        button: t(lang, "desk.triage.discard"),
                        fields: vec![
                            FieldView::new("reason", t(lang, "desk.triage.reason"), "text")
                                .id(format!("reason_{id}"))
                                .required(true)
                                .max(500)
                                .fill(values, &f),
                        ],
                    },
                ],
                id,
            }
        })
        .collect();
    label_errors(
        &mut f,
        rows.iter()
            .flat_map(|r| &r.forms)
            .flat_map(|form| &form.fields),
    );
    Ok(TriagePage {
        ctx: ctx.page(),
        current: "triage",
        f,
        rows,
        notice,
        notice_link,
        conflict,
    })
}

/// The messages waiting in triage.
pub async fn triage(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<TriageQuery>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let protocol = q.protocollo.trim().to_string();
    let notice = match q.ok.as_str() {
        "attached" => Some(format!(
            "{} {protocol}",
            t(lang, "desk.triage.done.attached")
        )),
        "opened" => Some(format!("{} {protocol}", t(lang, "desk.triage.done.opened"))),
        "discarded" => Some(t(lang, "desk.triage.done.discarded").to_string()),
        _ => None,
    };
    let mut link = None;
    if let Some(id) = q
        .richiesta
        .filter(|_| notice.is_some() && !protocol.is_empty())
        && state
            .app
            .request_view(ctx.session.as_ref(), id)
            .await
            .is_ok()
    {
        link = Some((id, protocol.clone()));
    }
    let page = triage_page(
        &state,
        &ctx,
        FormErrors::default(),
        &HashMap::new(),
        notice,
        link,
        None,
    )
    .await?;
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TriageInput {
    csrf_token: String,
    decision: String,
    protocol: String,
    channel_code: String,
    reason: String,
}

/// A decision on one waiting message.
pub async fn triage_decide(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    input: FormResult<TriageInput>,
) -> Result<Response, WebError> {
    let input = form(input)?;
    ctx.check_csrf(&input.csrf_token)?;
    let mut values = HashMap::new();
    values.insert(format!("protocol_{id}"), input.protocol.clone());
    values.insert(format!("channel_code_{id}"), input.channel_code.clone());
    values.insert(format!("reason_{id}"), input.reason.clone());
    let decision = match input.decision.as_str() {
        "attach" => TriageDecision::Attach {
            protocol: input.protocol,
        },
        "open" => TriageDecision::Open {
            channel_code: input.channel_code,
        },
        "discard" => TriageDecision::Discard {
            reason: input.reason,
        },
        _ => {
            return Err(WebError::BadRequest(
                "decision: decisione sconosciuta".into(),
            ));
        }
    };
    let mut f = FormErrors::default();
    let mut conflict = None;
    let mut status = StatusCode::BAD_REQUEST;
    match state
        .app
        .resolve_triage(ctx.session.as_ref(), id, decision, &ctx.origin)
        .await
    {
        Ok(outcome) => {
            let mut target = format!("/ufficio/smistamento?ok={}", enc(&outcome.status));
            if let Some(p) = &outcome.protocol {
                target.push_str(&format!("&protocollo={}", enc(p)));
            }
            if let Some(r) = outcome.request_id {
                target.push_str(&format!("&richiesta={r}"));
            }
            return Ok(Redirect::to(&target).into_response());
        }
        Err(AppError::Invalid { field, message }) => f.push(format!("{field}_{id}"), message),
        Err(AppError::InvalidFields(list)) => {
            for (field, message) in list {
                f.push(format!("{field}_{id}"), message);
            }
        }
        Err(AppError::Conflict(m)) => {
            conflict = Some(m);
            status = StatusCode::CONFLICT;
        }
        Err(e) => return Err(e.into()),
    }
    let page = triage_page(&state, &ctx, f, &values, None, None, conflict).await?;
    Ok((status, render(&page)?).into_response())
}
