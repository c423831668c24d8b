//! Self-registration pages: the applicant's form, the page his PEC link
//! opens (document to sign, upload of the signed file and, for a body without
//! a local administrator, of its documentation), and the staff's list and
//! detail with the decision on registrations that wait for it.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sportello_app::AppError;
use sportello_app::registration::{MAX_SIGNED_BYTES, MAX_SUPPORT_BYTES, RegistrationInput};
use sportello_core::identity::Category;
use sportello_core::registration::{SELF_REGISTERING, State as RegState, needs_organization};
use sportello_store::directory;
use sportello_store::registration::{Attempt, Registration};

use crate::Shared;
use crate::console::TextField;
use crate::ctx::{Ctx, FormErrors, FormResult, PageCtx, field_error, form};
use crate::desk_pages::read_upload_form;
use crate::error::WebError;
use crate::i18n::{self, Lang};
use crate::ops::local_time;
use crate::pages::{attachment, render};

const BODY_LIMIT: usize = MAX_SIGNED_BYTES + MAX_SUPPORT_BYTES + 1024 * 1024;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/registrazione", get(form_page).post(submit))
        .route(
            "/registrazione/pratica",
            get(case_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/registrazione/documento", get(document))
        .route("/admin/registrazioni", get(staff_list))
        .route("/admin/registrazioni/{id}", get(staff_detail))
        .route("/admin/registrazioni/{id}/decisione", post(decide))
        .route("/admin/registrazioni/{id}/file/{which}", get(staff_file))
}

fn category_label(lang: Lang, code: &str) -> String {
    match Category::from_code(code) {
        Some(c) if SELF_REGISTERING.contains(&c) => {
            i18n::t(lang, &format!("reg.category.{}", c.code())).to_string()
        }
        Some(c) => c.label_it().to_string(),
        None => code.to_string(),
    }
}

fn state_label(lang: Lang, code: &str) -> &'static str {
    match (RegState::from_code(code), lang) {
        (Some(s), Lang::It) => s.label_it(),
        (Some(s), Lang::En) => s.label_en(),
        (None, _) => "—",
    }
}

// ------------------------------------------------------------------ applicant

#[derive(Template)]
#[template(path = "registration_form.html")]
struct FormPage {
    ctx: PageCtx,
    f: FormErrors,
    open: bool,
    sent: Option<String>,
    fields: Vec<TextField>,
    categories: Vec<(String, String, bool)>,
    category: String,
    organizations: Vec<(i64, String)>,
    organization_id: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SentQuery {
    inviata: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegistrationForm {
    csrf_token: String,
    fiscal_code: String,
    given_name: String,
    family_name: String,
    category: String,
    email: String,
    pec: String,
    organization_id: String,
}

async fn form_page_with(
    state: &Shared,
    ctx: &Ctx,
    input: &RegistrationForm,
    f: FormErrors,
    sent: Option<String>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let field =
        |name: &'static str, key: &str, kind: &'static str, value: &str, max: usize| TextField {
            name,
            label: i18n::t(lang, key),
            kind,
            value: value.trim().to_string(),
            max,
            required: true,
        };
    let fields = vec![
        field(
            "fiscal_code",
            "login.fiscal_code",
            "text",
            &input.fiscal_code.to_uppercase(),
            16,
        ),
        field(
            "given_name",
            "user.given_name",
            "text",
            &input.given_name,
            100,
        ),
        field(
            "family_name",
            "user.family_name",
            "text",
            &input.family_name,
            100,
        ),
        field("email", "user.email", "email", &input.email, 254),
        field("pec", "reg.pec", "email", &input.pec, 254),
    ];
    let categories = SELF_REGISTERING
        .iter()
        .map(|c| {
            (
                c.code().to_string(),
                category_label(lang, c.code()),
                needs_organization(*c),
            )
        })
        .collect();
    let organizations = directory::organizations(&state.app.db)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let status = f.status();
    let page = render(&FormPage {
        ctx: ctx.page(),
        f,
        open: state.app.registration_open(),
        sent,
        fields,
        categories,
        category: input.category.clone(),
        organizations,
        organization_id: input.organization_id.trim().parse().ok(),
    })?;
    Ok((status, page).into_response())
}

async fn form_page(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<SentQuery>,
) -> Result<Response, WebError> {
    let sent = (!q.inviata.is_empty()).then_some(q.inviata);
    form_page_with(
        &state,
        &ctx,
        &RegistrationForm::default(),
        FormErrors::default(),
        sent,
    )
    .await
}

async fn submit(
    State(state): State<Shared>,
    ctx: Ctx,
    f: FormResult<RegistrationForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let request = RegistrationInput {
        fiscal_code: input.fiscal_code.clone(),
        given_name: input.given_name.clone(),
        family_name: input.family_name.clone(),
        category: input.category.clone(),
        email: input.email.clone(),
        pec: input.pec.clone(),
        organization_id: input.organization_id.trim().parse().ok(),
    };
    let mut errors = FormErrors::default();
    match state.app.start_registration(&request, &ctx.origin).await {
        Ok(reference) => {
            return Ok(Redirect::to(&format!("/registrazione?inviata={reference}")).into_response());
        }
        Err(e) => field_error(ctx.lang, e, &mut errors)?,
    }
    form_page_with(&state, &ctx, &input, errors, None).await
}

#[derive(Template)]
#[template(path = "registration_case.html")]
struct CasePage {
    ctx: PageCtx,
    f: FormErrors,
    token: String,
    reg: Option<Registration>,
    state: String,
    state_label: &'static str,
    category: String,
    needs_support: bool,
    signed_max_mb: usize,
    support_max_mb: usize,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

async fn case_page_with(
    state: &Shared,
    ctx: &Ctx,
    token: String,
    f: FormErrors,
) -> Result<Response, WebError> {
    let reg = if token.is_empty() {
        None
    } else {
        match state.app.registration_by_token(&token, &ctx.origin).await {
            Ok(r) => Some(r),
            Err(AppError::InvalidToken) => None,
            Err(e) => return Err(e.into()),
        }
    };
    let needs_support = match &reg {
        Some(r) => {
            r.organization_id.is_some()
                || state
                    .app
                    .registration_profiles()
                    .await?
                    .iter()
                    .any(|p| p.category == r.category && p.needs_approval != 0)
        }
        None => false,
    };
    let status = if reg.is_none() {
        StatusCode::GONE
    } else {
        f.status()
    };
    let page = render(&CasePage {
        ctx: ctx.page(),
        f,
        state: reg.as_ref().map(|r| r.state.clone()).unwrap_or_default(),
        state_label: reg
            .as_ref()
            .map_or("—", |r| state_label(ctx.lang, &r.state)),
        category: reg
            .as_ref()
            .map(|r| category_label(ctx.lang, &r.category))
            .unwrap_or_default(),
        needs_support,
        signed_max_mb: MAX_SIGNED_BYTES >> 20,
        support_max_mb: MAX_SUPPORT_BYTES >> 20,
        token,
        reg,
    })?;
    Ok((status, page).into_response())
}

async fn case_page(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, WebError> {
    case_page_with(&state, &ctx, q.token, FormErrors::default()).await
}

async fn document(
    State(state): State<Shared>,
    Query(q): Query<TokenQuery>,
) -> Result<Response, WebError> {
    match state.app.registration_document(&q.token).await {
        Ok((name, bytes)) => Ok(attachment(&name, "application/pdf", bytes)),
        Err(AppError::InvalidToken) => Err(WebError::NotFound),
        Err(e) => Err(e.into()),
    }
}

async fn upload(
    State(state): State<Shared>,
    ctx: Ctx,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let mut form = read_upload_form(multipart).await?;
    ctx.check_csrf(form.csrf())?;
    let token = form.get("token");
    let take = |form: &mut crate::desk_pages::UploadForm, name: &str| {
        form.files
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| form.files.swap_remove(i).1)
    };
    let signed = take(&mut form, "signed_file");
    let support = take(&mut form, "support_file");
    let mut errors = FormErrors::default();
    match state
        .app
        .submit_registration_signature(&token, signed.as_ref(), support.as_ref(), &ctx.origin)
        .await
    {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/registrazione/pratica?token={token}")).into_response(),
            );
        }
        Err(AppError::InvalidToken) => {}
        Err(e) => field_error(ctx.lang, e, &mut errors)?,
    }
    case_page_with(&state, &ctx, token, errors).await
}

// ---------------------------------------------------------------------- staff

pub struct RegistrationRow {
    pub id: i64,
    pub reference: String,
    pub name: String,
    pub fiscal_code: String,
    pub category: String,
    pub organization: String,
    pub state: String,
    pub state_label: &'static str,
    pub reason: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "registrations.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<RegistrationRow>,
    filter: String,
    states: Vec<(String, &'static str, i64)>,
    total: i64,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    stato: String,
    esito: String,
}

async fn staff_list(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let who = ctx.session.as_ref();
    let regs = state.app.registrations(who, Some(q.stato.as_str())).await?;
    let counts = state.app.registration_counts(who).await?;
    let tz = &state.app.config.time_zone;
    let rows = regs
        .into_iter()
        .map(|r| RegistrationRow {
            id: r.id,
            name: format!("{} {}", r.family_name, r.given_name),
            category: category_label(ctx.lang, &r.category),
            organization: r.organization_name.unwrap_or_default(),
            state_label: state_label(ctx.lang, &r.state),
            reason: r.reason.unwrap_or_default(),
            created: local_time(r.created_at, tz),
            reference: r.reference,
            fiscal_code: r.fiscal_code,
            state: r.state,
        })
        .collect();
    let states = RegState::ALL
        .iter()
        .map(|s| {
            (
                s.code().to_string(),
                state_label(ctx.lang, s.code()),
                counts
                    .iter()
                    .find(|(c, _)| c == s.code())
                    .map_or(0, |(_, n)| *n),
            )
        })
        .collect();
    let notice = match q.esito.as_str() {
        "approvata" => Some(i18n::t(ctx.lang, "reg.staff.approved")),
        "respinta" => Some(i18n::t(ctx.lang, "reg.staff.refused")),
        _ => None,
    };
    let page = render(&ListPage {
        ctx: ctx.page(),
        rows,
        filter: q.stato,
        total: counts.iter().map(|(_, n)| n).sum(),
        states,
        notice,
    })?;
    Ok(page.into_response())
}

pub struct AttemptRow {
    pub at: String,
    pub accepted: bool,
    pub reason: String,
    pub file_sha256: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "registration_detail.html")]
struct DetailPage {
    ctx: PageCtx,
    f: FormErrors,
    reg: Registration,
    state_label: &'static str,
    category: String,
    created: String,
    issued: String,
    signed: String,
    decided: String,
    attempts: Vec<AttemptRow>,
    waits: bool,
}

async fn detail_page(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
    f: FormErrors,
) -> Result<Response, WebError> {
    let (reg, attempts) = state
        .app
        .registration_detail(ctx.session.as_ref(), id)
        .await?;
    let tz = &state.app.config.time_zone;
    let at = |t: Option<i64>| t.map(|t| local_time(t, tz)).unwrap_or_default();
    let attempts = attempts
        .into_iter()
        .map(|a: Attempt| AttemptRow {
            at: local_time(a.at, tz),
            accepted: a.accepted != 0,
            reason: a.reason,
            file_sha256: a.file_sha256,
            address: a.source_address.unwrap_or_default(),
        })
        .collect();
    let status = f.status();
    let page = render(&DetailPage {
        ctx: ctx.page(),
        f,
        state_label: state_label(ctx.lang, &reg.state),
        category: category_label(ctx.lang, &reg.category),
        created: local_time(reg.created_at, tz),
        issued: at(reg.issued_at),
        signed: at(reg.signed_at),
        decided: at(reg.decided_at),
        waits: reg.state == RegState::AwaitingApproval.code(),
        attempts,
        reg,
    })?;
    Ok((status, page).into_response())
}

async fn staff_detail(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    detail_page(&state, &ctx, id, FormErrors::default()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecisionForm {
    csrf_token: String,
    decision: String,
    reason: String,
}

async fn decide(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<DecisionForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let approve = match input.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => return Err(WebError::BadRequest("decision: approve o refuse".into())),
    };
    let mut errors = FormErrors::default();
    match state
        .app
        .decide_registration(
            ctx.session.as_ref(),
            id,
            approve,
            &input.reason,
            &ctx.origin,
        )
        .await
    {
        Ok(_) => {
            let outcome = if approve { "approvata" } else { "respinta" };
            return Ok(
                Redirect::to(&format!("/admin/registrazioni?esito={outcome}")).into_response(),
            );
        }
        Err(AppError::Conflict(message)) => errors.push("decision", message),
        Err(e) => field_error(ctx.lang, e, &mut errors)?,
    }
    detail_page(&state, &ctx, id, errors).await
}

async fn staff_file(
    State(state): State<Shared>,
    ctx: Ctx,
    Path((id, which)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let (name, bytes) = state
        .app
        .registration_file(ctx.session.as_ref(), id, &which)
        .await?;
    let content_type = if which == "signed" {
        "application/pkcs7-mime"
    } else if bytes.starts_with(b"%PDF") {
        "application/pdf"
    } else {
        "application/octet-stream"
    };
    Ok(attachment(&name, content_type, bytes))
}
