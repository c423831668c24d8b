//! The local administrator's console ("Okeanos"): a user's enablements and
//! account actions, sub-delegations, appointments of local administrators,
//! and the audit history of an organization.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_app::delegation::{AppointmentInput, MAX_LETTER_BYTES};
use sportello_app::{AppError, SessionUser};
use sportello_core::authz::{Action, Role};
use sportello_core::catalogue::check_grant;
use sportello_store::{audit, catalogue, directory, lifecycle};

use crate::Shared;
use crate::ctx::{Ctx, FormErrors, FormResult, PageCtx, field_error, form};
use crate::error::WebError;
use crate::i18n::{self, Lang};
use crate::ops::local_time;
use crate::pages::{CsrfForm, render};

fn status_label(lang: Lang, code: &str) -> &'static str {
    let (it, en) = match code {
        "active" => ("attiva", "active"),
        "pending_activation" => ("in attesa di attivazione", "pending activation"),
        "disabled" => ("disabilitata", "disabled"),
        "deleted" => ("eliminata", "deleted"),
        _ => ("sconosciuto", "unknown"),
    };
    if lang == Lang::It { it } else { en }
}

pub struct EnablementView {
    pub id: i64,
    pub application_name: String,
    pub profile_name: String,
    pub alternatives: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "user_detail.html")]
struct UserPage {
    ctx: PageCtx,
    f: FormErrors,
    user: directory::User,
    organization: String,
    status: &'static str,
    status_code: String,
    locked: bool,
    enablements: Vec<EnablementView>,
    grantable: Vec<(i64, String)>,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoticeQuery {
    esito: String,
}

async fn user_page(
    state: &Shared,
    ctx: &Ctx,
    user_id: i64,
    f: FormErrors,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let db = &state.app.db;
    let user = directory::user_by_id(db, user_id)
        .await
        .map_err(AppError::from)?
        .ok_or(WebError::NotFound)?;
    let path = match user.organization_id {
        Some(o) => directory::organization_path(db, o)
            .await
            .map_err(AppError::from)?,
        None => Vec::new(),
    };
    state.app.authorize(
        ctx.session.as_ref(),
        &Action::ManageUsersOf { org_path: &path },
    )?;
    let org = match user.organization_id {
        Some(o) => directory::organization(db, o)
            .await
            .map_err(AppError::from)?,
        None => None,
    };
    let org_kind = org.as_ref().map(|o| o.kind.clone());
    let held = catalogue::enablements_of(db, user.id)
        .await
        .map_err(AppError::from)?;
    let profiles = catalogue::profiles(db).await.map_err(AppError::from)?;
    let mut rules = Vec::new();
    for p in &profiles {
        if let Some(r) = catalogue::profile_rule(db, p.id)
            .await
            .map_err(AppError::from)?
        {
            rules.push((p.clone(), r));
        }
    }
    let allowed = |rule: &sportello_core::catalogue::ProfileRule| {
        check_grant(rule, org_kind.as_deref(), None).is_ok()
    };
    let enablements = held
        .iter()
        .map(|e| EnablementView {
            id: e.id,
            application_name: e.application_name.clone(),
            profile_name: e.profile_name.clone(),
            alternatives: rules
                .iter()
                .filter(|(p, r)| {
                    p.application_id == e.application_id && p.id != e.profile_id && allowed(r)
                })
                .map(|(p, _)| (p.id, p.name.clone()))
                .collect(),
        })
        .collect();
    let grantable = rules
        .iter()
        .filter(|(p, r)| allowed(r) && !held.iter().any(|e| e.application_id == p.application_id))
        .map(|(p, _)| (p.id, format!("{} - {}", p.application_name, p.name)))
        .collect();
    let now = sportello_app::now_micros();
    let status = f.status();
    let page = render(&UserPage {
        status: status_label(ctx.lang, &user.status),
        status_code: user.status.clone(),
        locked: user.locked_until.is_some_and(|t| t > now),
        organization: org.map(|o| o.name).unwrap_or_else(|| "—".into()),
        enablements,
        grantable,
        notice,
        f,
        user,
        ctx: ctx.page(),
    })?;
    Ok((status, page).into_response())
}

fn notice(lang: Lang, code: &str) -> Option<&'static str> {
    let key = match code {
        "abilitato" => "console.done.enabled",
        "revocato" => "console.done.revoked",
        "profilo" => "console.done.changed",
        "disabilitato" => "console.done.disabled",
        "riabilitato" => "console.done.reenabled",
        "reinviato" => "console.done.resent",
        "sbloccato" => "users.unlocked",
        _ => return None,
    };
    Some(i18n::t(lang, key))
}

pub async fn user_detail(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let n = notice(ctx.lang, &q.esito);
    user_page(&state, &ctx, id, FormErrors::default(), n).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    csrf_token: String,
    profile_id: String,
}

pub async fn enable(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<ProfileForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let mut errors = FormErrors::default();
    let profile_id = input
        .profile_id
        .trim()
        .parse::<i64>()
        .map_err(|_| WebError::BadRequest("profile_id: scegli un profilo".into()))?;
    match state
        .app
        .enable_user(ctx.session.as_ref(), id, profile_id, &ctx.origin)
        .await
    {
        Ok(_) => {
            return Ok(Redirect::to(&format!("/admin/utenti/{id}?esito=abilitato")).into_response());
        }
        Err(e) => field_error(ctx.lang, e, &mut errors)?,
    }
    user_page(&state, &ctx, id, errors, None).await
}

pub async fn revoke(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<CsrfForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let e = catalogue::enablement(&state.app.db, id)
        .await
        .map_err(AppError::from)?
        .ok_or(WebError::NotFound)?;
    state
        .app
        .revoke_enablement(ctx.session.as_ref(), id, &ctx.origin)
        .await?;
    Ok(Redirect::to(&format!("/admin/utenti/{}?esito=revocato", e.user_id)).into_response())
}

pub async fn change_profile(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<ProfileForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let e = catalogue::enablement(&state.app.db, id)
        .await
        .map_err(AppError::from)?
        .ok_or(WebError::NotFound)?;
    let profile_id = input
        .profile_id
        .trim()
        .parse::<i64>()
        .map_err(|_| WebError::BadRequest("profile_id: scegli un profilo".into()))?;
    let mut errors = FormErrors::default();
    match state
        .app
        .change_profile(ctx.session.as_ref(), id, profile_id, &ctx.origin)
        .await
    {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/admin/utenti/{}?esito=profilo", e.user_id)).into_response(),
            );
        }
        Err(err) => field_error(ctx.lang, err, &mut errors)?,
    }
    user_page(&state, &ctx, e.user_id, errors, None).await
}

async fn account_action(
    state: &Shared,
    ctx: &Ctx,
    id: i64,
    token: &str,
    action: &str,
) -> Result<Response, WebError> {
    ctx.check_csrf(token)?;
    let who = ctx.session.as_ref();
    let mut errors = FormErrors::default();
    let result = match action {
        "disabilitato" => {
            state
                .app
                .set_user_disabled(who, id, true, &ctx.origin)
                .await
        }
        "riabilitato" => {
            state
                .app
                .set_user_disabled(who, id, false, &ctx.origin)
                .await
        }
        "reinviato" => state.app.resend_first_access(who, id, &ctx.origin).await,
        _ => return Err(WebError::NotFound),
    };
    match result {
        Ok(()) => {
            return Ok(Redirect::to(&format!("/admin/utenti/{id}?esito={action}")).into_response());
        }
        Err(e) => field_error(ctx.lang, e, &mut errors)?,
    }
    user_page(state, ctx, id, errors, None).await
}

pub async fn disable(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<CsrfForm>,
) -> Result<Response, WebError> {
    account_action(&state, &ctx, id, &form(f)?.csrf_token, "disabilitato").await
}

pub async fn reenable(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<CsrfForm>,
) -> Result<Response, WebError> {
    account_action(&state, &ctx, id, &form(f)?.csrf_token, "riabilitato").await
}

pub async fn resend(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<CsrfForm>,
) -> Result<Response, WebError> {
    account_action(&state, &ctx, id, &form(f)?.csrf_token, "reinviato").await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    csrf_token: String,
    confirm: String,
}

pub async fn delete(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<DeleteForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let mut errors = FormErrors::default();
    if input.confirm != "1" {
        errors.push(
            "confirm-delete",
            i18n::t(ctx.lang, "console.delete.unconfirmed"),
        );
        return user_page(&state, &ctx, id, errors, None).await;
    }
    match state
        .app
        .delete_user(ctx.session.as_ref(), id, &ctx.origin)
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/utenti?esito=eliminato").into_response()),
        Err(e) => {
            field_error(ctx.lang, e, &mut errors)?;
            user_page(&state, &ctx, id, errors, None).await
        }
    }
}

pub struct SubdelegationView {
    pub id: i64,
    pub delegate: String,
    pub application: String,
    pub profile: String,
    pub until: String,
    pub state: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "subdelegations.html")]
struct SubdelegationsPage {
    ctx: PageCtx,
    f: FormErrors,
    list: Vec<SubdelegationView>,
    /// value = "enablement_id:profile_id"
    offerable: Vec<(String, String)>,
    notice: Option<&'static str>,
}

async fn subdelegations_page(
    state: &Shared,
    ctx: &Ctx,
    f: FormErrors,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let db = &state.app.db;
    let now = sportello_app::now_micros();
    let tz = &state.app.config.time_zone;
    let list = catalogue::subdelegations_by(db, s.user.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|d| {
            let expired = d.expires_at.is_some_and(|e| e <= now);
            let active = d.revoked_at.is_none() && !expired;
            SubdelegationView {
                id: d.id,
                delegate: format!("{} ({})", d.delegate_name, d.delegate_fiscal_code),
                application: d.application_name,
                profile: d.profile_name,
                until: d
                    .expires_at
                    .map(|e| local_time(e, tz))
                    .unwrap_or_else(|| "—".into()),
                state: i18n::t(
                    ctx.lang,
                    if active {
                        "subdel.active"
                    } else if expired {
                        "subdel.expired"
                    } else {
                        "subdel.revoked"
                    },
                ),
                active,
            }
        })
        .collect();
    let mut offerable = Vec::new();
    let profiles = catalogue::profiles(db).await.map_err(AppError::from)?;
    for e in catalogue::enablements_of(db, s.user.id)
        .await
        .map_err(AppError::from)?
    {
        let Some(held) = catalogue::profile_rule(db, e.profile_id)
            .await
            .map_err(AppError::from)?
        else {
            continue;
        };
        for p in profiles
            .iter()
            .filter(|p| p.application_id == e.application_id)
        {
            if let Some(r) = catalogue::profile_rule(db, p.id)
                .await
                .map_err(AppError::from)?
                && r.capabilities.is_subset(&held.capabilities)
            {
                offerable.push((
                    format!("{}:{}", e.id, p.id),
                    format!("{} - {}", p.application_name, p.name),
                ));
            }
        }
    }
    let status = f.status();
    let page = render(&SubdelegationsPage {
        ctx: ctx.page(),
        f,
        list,
        offerable,
        notice,
    })?;
    Ok((status, page).into_response())
}

pub async fn subdelegations(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let n = match q.esito.as_str() {
        "creata" => Some(i18n::t(ctx.lang, "subdel.created")),
        "revocata" => Some(i18n::t(ctx.lang, "subdel.revoked_done")),
        _ => None,
    };
    subdelegations_page(&state, &ctx, FormErrors::default(), n).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SubdelegationForm {
    csrf_token: String,
    fiscal_code: String,
    offer: String,
    expires_on: String,
}

pub async fn subdelegate(
    State(state): State<Shared>,
    ctx: Ctx,
    f: FormResult<SubdelegationForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let mut errors = FormErrors::default();
    let (enablement_id, profile_id) = input
        .offer
        .split_once(':')
        .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
        .ok_or_else(|| WebError::BadRequest("offer: scegli un profilo".into()))?;
    let expires_at = if input.expires_on.trim().is_empty() {
        None
    } else {
        match end_of_day(input.expires_on.trim(), &state.app.config.time_zone) {
            Some(t) => Some(t),
            None => {
                errors.push("expires_on", i18n::t(ctx.lang, "subdel.bad_date"));
                return subdelegations_page(&state, &ctx, errors, None).await;
            }
        }
    };
    match state
        .app
        .subdelegate(
            s,
            enablement_id,
            &input.fiscal_code,
            profile_id,
            expires_at,
            &ctx.origin,
        )
        .await
    {
        Ok(_) => Ok(Redirect::to("/subdeleghe?esito=creata").into_response()),
        Err(e) => {
            field_error(ctx.lang, e, &mut errors)?;
            subdelegations_page(&state, &ctx, errors, None).await
        }
    }
}

/// The end of a calendar day (YYYY-MM-DD) in the business time zone, in micros.
fn end_of_day(date: &str, tz: &str) -> Option<i64> {
    let d: jiff::civil::Date = date.parse().ok()?;
    let zone = jiff::tz::TimeZone::get(tz).ok()?;
    let z = d.at(23, 59, 59, 0).to_zoned(zone).ok()?;
    Some(z.timestamp().as_microsecond())
}

pub async fn revoke_subdelegation(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<CsrfForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    state.app.revoke_subdelegation(s, id, &ctx.origin).await?;
    Ok(Redirect::to("/subdeleghe?esito=revocata").into_response())
}

pub struct TextField {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub max: usize,
    pub required: bool,
}

#[derive(Template)]
#[template(path = "appointment_form.html")]
struct AppointmentPage {
    ctx: PageCtx,
    f: FormErrors,
    organizations: Vec<(i64, String)>,
    requester: Vec<TextField>,
    candidate: Vec<TextField>,
    sent: Option<i64>,
}

async fn appointment_page(
    state: &Shared,
    ctx: &Ctx,
    values: &std::collections::HashMap<String, String>,
    f: FormErrors,
    sent: Option<i64>,
) -> Result<Response, WebError> {
    let organizations = directory::organizations(&state.app.db)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .filter(|o| !sportello_core::catalogue::is_dependent_kind(&o.kind) && o.kind != "company")
        .map(|o| (o.id, o.name))
        .collect();
    let t = |k| i18n::t(ctx.lang, k);
    let v = |k: &str| values.get(k).cloned().unwrap_or_default();
    let field =
        |name: &'static str, label: &'static str, kind: &'static str, max: usize| TextField {
            name,
            label: t(label),
            kind,
            value: v(name),
            max,
            required: true,
        };
    let requester = vec![
        field("requester_name", "appt.requester_name", "text", 200),
        field("requester_role", "appt.requester_role", "text", 200),
        field("requester_email", "user.email", "email", 254),
    ];
    let candidate = vec![
        field("candidate_fiscal_code", "login.fiscal_code", "text", 16),
        field("candidate_given_name", "user.given_name", "text", 100),
        field("candidate_family_name", "user.family_name", "text", 100),
        field("candidate_email", "user.email", "email", 254),
    ];
    let status = f.status();
    let page = render(&AppointmentPage {
        ctx: ctx.page(),
        f,
        organizations,
        requester,
        candidate,
        sent,
    })?;
    Ok((status, page).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SentQuery {
    richiesta: Option<i64>,
}

pub async fn appointment_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<SentQuery>,
) -> Result<Response, WebError> {
    appointment_page(
        &state,
        &ctx,
        &Default::default(),
        FormErrors::default(),
        q.richiesta,
    )
    .await
}

pub async fn appointment_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let mut values = std::collections::HashMap::new();
    let mut letter: Vec<u8> = Vec::new();
    let mut letter_name = String::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("modulo non valido: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "letter" {
            letter_name = field.file_name().unwrap_or_default().to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| WebError::BadRequest(format!("allegato non leggibile: {e}")))?;
            if bytes.len() > MAX_LETTER_BYTES {
                let mut f = FormErrors::default();
                f.push(
                    "letter",
                    format!("il file supera {} MB", MAX_LETTER_BYTES / 1024 / 1024),
                );
                return appointment_page(&state, &ctx, &values, f, None).await;
            }
            letter = bytes.to_vec();
        } else if values.len() < 20 {
            let text = field
                .text()
                .await
                .map_err(|e| WebError::BadRequest(format!("campo {name} non leggibile: {e}")))?;
            values.insert(name, text.chars().take(2000).collect::<String>());
        }
    }
    ctx.check_csrf(values.get("csrf_token").map(String::as_str).unwrap_or(""))?;
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let input = AppointmentInput {
        organization_id: get("organization_id").parse().ok(),
        requester_name: get("requester_name"),
        requester_email: get("requester_email"),
        requester_role: get("requester_role"),
        candidate_fiscal_code: get("candidate_fiscal_code"),
        candidate_given_name: get("candidate_given_name"),
        candidate_family_name: get("candidate_family_name"),
        candidate_email: get("candidate_email"),
        letter_name,
        letter,
    };
    let mut errors = FormErrors::default();
    match state.app.request_appointment(&input, &ctx.origin).await {
        Ok(id) => {
            Ok(Redirect::to(&format!("/nomina-amministratore?richiesta={id}")).into_response())
        }
        Err(AppError::InvalidFiscalCode(e)) => {
            errors.push(
                "candidate_fiscal_code",
                i18n::fiscal_code_error(ctx.lang, &e),
            );
            appointment_page(&state, &ctx, &values, errors, None).await
        }
        Err(e) => {
            field_error(ctx.lang, e, &mut errors)?;
            appointment_page(&state, &ctx, &values, errors, None).await
        }
    }
}

#[derive(Template)]
#[template(path = "appointments.html")]
struct AppointmentsPage {
    ctx: PageCtx,
    f: FormErrors,
    requests: Vec<lifecycle::AppointmentRequest>,
    admins: Vec<lifecycle::LocalAdmin>,
    notice: Option<&'static str>,
}

async fn appointments_page(
    state: &Shared,
    ctx: &Ctx,
    f: FormErrors,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::DecideAppointments)?;
    let requests = lifecycle::appointments(&state.app.db, None)
        .await
        .map_err(AppError::from)?;
    let admins = lifecycle::local_admins(&state.app.db)
        .await
        .map_err(AppError::from)?;
    let status = f.status();
    let page = render(&AppointmentsPage {
        ctx: ctx.page(),
        f,
        requests,
        admins,
        notice,
    })?;
    Ok((status, page).into_response())
}

pub async fn appointments(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let n = match q.esito.as_str() {
        "approvata" => Some(i18n::t(ctx.lang, "appt.approved")),
        "respinta" => Some(i18n::t(ctx.lang, "appt.rejected")),
        "revocato" => Some(i18n::t(ctx.lang, "appt.revoked")),
        _ => None,
    };
    appointments_page(&state, &ctx, FormErrors::default(), n).await
}

pub async fn appointment_letter(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::DecideAppointments)?;
    let (name, kind, bytes) = lifecycle::appointment_letter(&state.app.db, id)
        .await
        .map_err(AppError::from)?
        .ok_or(WebError::NotFound)?;
    Ok(crate::pages::attachment(&name, kind, bytes))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecisionForm {
    csrf_token: String,
    decision: String,
    note: String,
}

pub async fn decide(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<DecisionForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let approve = match input.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(WebError::BadRequest("decision: approve o reject".into())),
    };
    let mut errors = FormErrors::default();
    match state
        .app
        .decide_appointment(ctx.session.as_ref(), id, approve, &input.note, &ctx.origin)
        .await
    {
        Ok(()) => Ok(Redirect::to(if approve {
            "/admin/nomine?esito=approvata"
        } else {
            "/admin/nomine?esito=respinta"
        })
        .into_response()),
        Err(e) => {
            field_error(ctx.lang, e, &mut errors)?;
            appointments_page(&state, &ctx, errors, None).await
        }
    }
}

pub async fn revoke_local_admin(
    State(state): State<Shared>,
    ctx: Ctx,
    Path((user_id, org_id)): Path<(i64, i64)>,
    f: FormResult<CsrfForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    state
        .app
        .revoke_local_admin(ctx.session.as_ref(), user_id, org_id, &ctx.origin)
        .await?;
    Ok(Redirect::to("/admin/nomine?esito=revocato").into_response())
}

pub struct EventView {
    pub seq: i64,
    pub when: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit_history.html")]
struct AuditPage {
    ctx: PageCtx,
    organizations: Vec<(i64, String)>,
    selected_org: i64,
    action: String,
    target: String,
    events: Vec<EventView>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    ente: Option<i64>,
    azione: String,
    oggetto: String,
}

/// The organizations whose audit history and users the actor may see.
pub async fn scope(state: &Shared, s: &SessionUser) -> Result<Vec<i64>, WebError> {
    let ids = state.app.managed_organizations(s).await?;
    if ids.is_empty() {
        return Err(WebError::Forbidden);
    }
    Ok(ids)
}

pub async fn audit_history(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, WebError> {
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let in_scope = scope(&state, s).await?;
    let db = &state.app.db;
    let selected = q
        .ente
        .filter(|o| in_scope.contains(o))
        .or(s.user.organization_id.filter(|o| in_scope.contains(o)))
        .unwrap_or(in_scope[0]);
    let path = directory::organization_path(db, selected)
        .await
        .map_err(AppError::from)?;
    state
        .app
        .authorize(Some(s), &Action::ViewAuditOf { org_path: &path })?;
    let subtree = directory::organization_subtree(db, selected)
        .await
        .map_err(AppError::from)?;
    let action: String = q
        .azione
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
        .take(60)
        .collect();
    let target: String = q
        .oggetto
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '_')
        .take(60)
        .collect();
    let tz = &state.app.config.time_zone;
    let events = audit::history(db, &subtree, &action, &target, 200)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|e| EventView {
            seq: e.seq,
            when: local_time(e.occurred_at, tz),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
        })
        .collect();
    let organizations = directory::organizations(db)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .filter(|o| in_scope.contains(&o.id))
        .map(|o| (o.id, o.name))
        .collect();
    render(&AuditPage {
        ctx: ctx.page(),
        organizations,
        selected_org: selected,
        action,
        target,
        events,
    })
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    ctx: PageCtx,
    f: FormErrors,
    organizations: Vec<(i64, String)>,
    organization_id: i64,
    dry_run: bool,
    report: Option<sportello_app::bulk::ImportReport>,
    invalid_rows: usize,
    rows: Vec<(usize, String, String, String)>,
}

/// The largest accepted import file.
const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;

async fn import_page(
    state: &Shared,
    ctx: &Ctx,
    org: i64,
    dry_run: bool,
    f: FormErrors,
    report: Option<sportello_app::bulk::ImportReport>,
) -> Result<Response, WebError> {
    use sportello_app::bulk::Outcome;
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let in_scope = scope(state, s).await?;
    let organizations: Vec<(i64, String)> = directory::organizations(&state.app.db)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .filter(|o| in_scope.contains(&o.id))
        .map(|o| (o.id, o.name))
        .collect();
    let t = |k| i18n::t(ctx.lang, k);
    let rows = report
        .as_ref()
        .map(|r| {
            r.rows
                .iter()
                .map(|row| {
                    let what = match &row.outcome {
                        Outcome::Create { profile: Some(p) } => {
                            format!("{} + {p}", t("import.o.create"))
                        }
                        Outcome::Create { profile: None } => t("import.o.create").to_string(),
                        Outcome::Enable { profile } => {
                            format!("{} {profile}", t("import.o.enable"))
                        }
                        Outcome::Unchanged => t("import.o.unchanged").to_string(),
                        Outcome::Refused(why) => format!("{}: {why}", t("import.o.refused")),
                    };
                    (row.line, row.fiscal_code.clone(), row.name.clone(), what)
                })
                .collect()
        })
        .unwrap_or_default();
    let invalid_rows = report
        .as_ref()
        .map(|r| r.errors.iter().filter(|e| e.0 > 1).count())
        .unwrap_or(0);
    let status = f.status();
    let page = render(&ImportPage {
        ctx: ctx.page(),
        f,
        organizations,
        organization_id: org,
        dry_run,
        report,
        invalid_rows,
        rows,
    })?;
    Ok((status, page).into_response())
}

pub async fn import_form(State(state): State<Shared>, ctx: Ctx) -> Result<Response, WebError> {
    let org = ctx
        .session
        .as_ref()
        .and_then(|s| s.user.organization_id)
        .unwrap_or(0);
    import_page(&state, &ctx, org, true, FormErrors::default(), None).await
}

pub async fn import_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let mut csrf = String::new();
    let mut org = 0i64;
    let mut dry_run = false;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut f = FormErrors::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("modulo non valido: {e}")))?
    {
        match field.name().unwrap_or_default() {
            "file" => {
                let name = field.file_name().unwrap_or_default().to_string();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| WebError::BadRequest(format!("file non leggibile: {e}")))?;
                if bytes.len() > MAX_IMPORT_BYTES {
                    f.push(
                        "file",
                        format!("il file supera {} MB", MAX_IMPORT_BYTES / 1024 / 1024),
                    );
                } else {
                    file = Some((name, bytes.to_vec()));
                }
            }
            "csrf_token" => csrf = field.text().await.unwrap_or_default(),
            "organization_id" => {
                org = field
                    .text()
                    .await
                    .unwrap_or_default()
                    .trim()
                    .parse()
                    .unwrap_or(0)
            }
            "dry_run" => dry_run = field.text().await.unwrap_or_default() == "1",
            _ => {}
        }
    }
    ctx.check_csrf(&csrf)?;
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        if f.is_empty() {
            f.push("file", i18n::t(ctx.lang, "import.no_file"));
        }
        return import_page(&state, &ctx, org, dry_run, f, None).await;
    };
    let parsed = match sportello_app::import::parse_users(&bytes, &name) {
        Ok(p) => p,
        Err(e) => {
            f.push("file", e);
            return import_page(&state, &ctx, org, dry_run, f, None).await;
        }
    };
    let report = match state
        .app
        .import_users(
            ctx.session.as_ref(),
            org,
            parsed,
            dry_run,
            &ctx.origin,
            &|_, _| {},
        )
        .await
    {
        Ok(r) => r,
        Err(e) => {
            field_error(ctx.lang, e, &mut f)?;
            return import_page(&state, &ctx, org, dry_run, f, None).await;
        }
    };
    import_page(
        &state,
        &ctx,
        org,
        dry_run,
        FormErrors::default(),
        Some(report),
    )
    .await
}

#[derive(Template)]
#[template(path = "help.html")]
struct HelpPage {
    ctx: PageCtx,
}

/// "Assistenza online" of the console (seed 000).
pub async fn help(ctx: Ctx) -> Result<Html<String>, WebError> {
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    if !(s.actor.has(Role::CentralAdmin) || s.actor.has(Role::LocalAdmin)) {
        return Err(WebError::Forbidden);
    }
    render(&HelpPage { ctx: ctx.page() })
}

pub struct OrgRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub fiscal_code: Option<String>,
    pub region: Option<String>,
    pub depth: usize,
    /// Bootstrap margin step (0-5) for the depth.
    pub indent: usize,
    pub offices: Vec<String>,
}

#[derive(Template)]
#[template(path = "organizations.html")]
struct OrganizationsPage {
    ctx: PageCtx,
    f: FormErrors,
    orgs: Vec<OrgRow>,
    kinds: Vec<(&'static str, &'static str)>,
    notice: Option<&'static str>,
}

async fn organizations_page(
    state: &Shared,
    ctx: &Ctx,
    f: FormErrors,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let s = ctx.session.as_ref().ok_or(WebError::NeedsLogin)?;
    let in_scope = scope(state, s).await?;
    let db = &state.app.db;
    let all = directory::organizations(db).await.map_err(AppError::from)?;
    let offices = directory::offices(db).await.map_err(AppError::from)?;
    // Depth-first: each body under the one it hangs from.
    let mut orgs = Vec::new();
    fn walk(
        all: &[directory::Organization],
        offices: &[directory::Office],
        parent: Option<i64>,
        depth: usize,
        scope: &[i64],
        out: &mut Vec<OrgRow>,
    ) {
        for o in all.iter().filter(|o| o.parent_id == parent) {
            if scope.contains(&o.id) {
                out.push(OrgRow {
                    id: o.id,
                    code: o.code.clone(),
                    name: o.name.clone(),
                    kind: sportello_core::catalogue::org_kind_label(&o.kind).unwrap_or("—"),
                    fiscal_code: o.fiscal_code.clone(),
                    region: o.region.clone(),
                    depth,
                    indent: (depth * 3).min(5),
                    offices: offices
                        .iter()
                        .filter(|x| x.organization_id == o.id)
                        .map(|x| format!("{} ({})", x.name, x.mailbox.clone().unwrap_or_default()))
                        .collect(),
                });
            }
            walk(all, offices, Some(o.id), depth + 1, scope, out);
        }
    }
    walk(&all, &offices, None, 0, &in_scope, &mut orgs);
    let kinds = if s.actor.has(Role::CentralAdmin) {
        sportello_core::catalogue::ORG_KINDS.to_vec()
    } else {
        sportello_core::catalogue::ORG_KINDS
            .iter()
            .filter(|(k, _)| sportello_core::catalogue::is_dependent_kind(k))
            .copied()
            .collect()
    };
    let status = f.status();
    let html = render(&OrganizationsPage {
        ctx: ctx.page(),
        f,
        orgs,
        kinds,
        notice,
    })?;
    Ok((status, html).into_response())
}

pub async fn organizations(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let n = (q.esito == "creato").then(|| i18n::t(ctx.lang, "org.created"));
    organizations_page(&state, &ctx, FormErrors::default(), n).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OrganizationForm {
    csrf_token: String,
    code: String,
    name: String,
    kind: String,
    fiscal_code: String,
    parent_id: String,
    region: String,
}

pub async fn create_organization(
    State(state): State<Shared>,
    ctx: Ctx,
    f: FormResult<OrganizationForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let org = sportello_app::organizations::OrganizationInput {
        code: input.code,
        name: input.name,
        kind: input.kind,
        fiscal_code: input.fiscal_code,
        parent_id: input.parent_id.trim().parse().ok(),
        region: input.region,
    };
    let mut errors = FormErrors::default();
    match state
        .app
        .create_organization(ctx.session.as_ref(), &org, &ctx.origin)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/enti?esito=creato").into_response()),
        Err(e) => {
            field_error(ctx.lang, e, &mut errors)?;
            organizations_page(&state, &ctx, errors, None).await
        }
    }
}
