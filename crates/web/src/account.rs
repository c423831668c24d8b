//! Account pages: password change (also forced), reset by e-mail, first
//! activation, "il mio profilo", smart-card login, and the administrators'
//! user list with creation and unlock.

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_app::identity::NewUserInput;
use sportello_app::{AppError, SessionUser};
use sportello_core::authz::Role;
use sportello_core::identity::{Category, PasswordAge, password_age};
use sportello_store::credentials::{self, ACTIVATION, RESET};
use sportello_store::{audit, directory, sessions};

use crate::Shared;
use crate::ctx::{
    Ctx, FormErrors, FormResult, PageCtx, SESSION_COOKIE, field_error, form, set_cookie,
};
use crate::error::WebError;
use crate::i18n::{self, Lang};
use crate::ops::local_time;
use crate::pages::{CsrfForm, render};
use crate::tls::PeerCertificates;

fn policy_text(state: &Shared, lang: Lang) -> String {
    let p = &state.app.config.password;
    let mut text = i18n::t(lang, "pwd.policy").to_string();
    for v in [
        p.min_length.to_string(),
        p.min_classes.to_string(),
        p.max_age_days.to_string(),
    ] {
        text = text.replacen("{}", &v, 1);
    }
    text
}

fn require(ctx: &Ctx) -> Result<&SessionUser, WebError> {
    ctx.session.as_ref().ok_or(WebError::NeedsLogin)
}

#[derive(Template)]
#[template(path = "password_change.html")]
struct ChangePage {
    ctx: PageCtx,
    f: FormErrors,
    forced: bool,
    done: bool,
    policy: String,
}

pub async fn change_form(
    State(state): State<Shared>,
    ctx: Ctx,
    uri: axum::http::Uri,
) -> Result<Html<String>, WebError> {
    let s = require(&ctx)?;
    render(&ChangePage {
        forced: s.must_change_password,
        done: uri.query() == Some("fatto=1"),
        policy: policy_text(&state, ctx.lang),
        f: FormErrors::default(),
        ctx: ctx.page(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChangeForm {
    csrf_token: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn change_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
    f: FormResult<ChangeForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let s = require(&ctx)?;
    let mut errors = FormErrors::default();
    match state
        .app
        .change_password(
            s,
            &input.current_password,
            &input.new_password,
            &input.confirm_password,
            &ctx.origin,
        )
        .await
    {
        Ok(()) => {
            let target = match q
                .next
                .as_deref()
                .map(|n| crate::ctx::safe_next(Some(n)))
                .filter(|n| n != "/")
            {
                Some(next) => next,
                None => "/cambio-password?fatto=1".to_string(),
            };
            return Ok(Redirect::to(&target).into_response());
        }
        Err(e) => field_error(ctx.lang, e, &mut errors)?,
    }
    let page = render(&ChangePage {
        forced: s.must_change_password,
        done: false,
        policy: policy_text(&state, ctx.lang),
        f: errors,
        ctx: ctx.page(),
    })?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

#[derive(Template)]
#[template(path = "reset_request.html")]
struct ResetPage {
    ctx: PageCtx,
    f: FormErrors,
    sent: bool,
    fiscal_code: String,
    email: String,
}

pub async fn reset_form(ctx: Ctx, uri: axum::http::Uri) -> Result<Html<String>, WebError> {
    render(&ResetPage {
        sent: uri.query() == Some("inviato=1"),
        f: FormErrors::default(),
        fiscal_code: String::new(),
        email: String::new(),
        ctx: ctx.page(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    csrf_token: String,
    fiscal_code: String,
    email: String,
}

pub async fn reset_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    f: FormResult<ResetForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let mut errors = FormErrors::default();
    match state
        .app
        .request_reset(&input.fiscal_code, &input.email, &ctx.origin)
        .await
    {
        Ok(()) => return Ok(Redirect::to("/reset-password?inviato=1").into_response()),
        Err(e) => field_error(ctx.lang, e, &mut errors)?,
    }
    let page = render(&ResetPage {
        sent: false,
        f: errors,
        fiscal_code: input.fiscal_code.trim().to_uppercase(),
        email: input.email.trim().to_string(),
        ctx: ctx.page(),
    })?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

#[derive(Template)]
#[template(path = "password_token.html")]
struct TokenPage {
    ctx: PageCtx,
    f: FormErrors,
    title: &'static str,
    action: &'static str,
    token: String,
    usable: bool,
    policy: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

async fn token_page(
    state: &Shared,
    ctx: &Ctx,
    purpose: &str,
    token: String,
    f: FormErrors,
) -> Result<Response, WebError> {
    let usable = !token.is_empty() && state.app.token_usable(&token, purpose).await?;
    let (title, action) = if purpose == ACTIVATION {
        ("activation.title", "/attivazione")
    } else {
        ("reset.new.title", "/reset-password/nuova")
    };
    let status = if !usable {
        StatusCode::GONE
    } else if f.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = render(&TokenPage {
        title: i18n::t(ctx.lang, title),
        action,
        usable,
        token,
        policy: policy_text(state, ctx.lang),
        f,
        ctx: ctx.page(),
    })?;
    Ok((status, page).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    csrf_token: String,
    token: String,
    new_password: String,
    confirm_password: String,
}

async fn token_submit(
    state: &Shared,
    ctx: &Ctx,
    purpose: &str,
    input: TokenForm,
) -> Result<Response, WebError> {
    ctx.check_csrf(&input.csrf_token)?;
    let mut errors = FormErrors::default();
    match state
        .app
        .complete_with_token(
            &input.token,
            purpose,
            &input.new_password,
            &input.confirm_password,
            &ctx.origin,
        )
        .await
    {
        Ok(()) => {
            let done = if purpose == ACTIVATION {
                "attivata"
            } else {
                "reimpostata"
            };
            return Ok(Redirect::to(&format!("/accedi?password={done}")).into_response());
        }
        Err(AppError::InvalidToken) => {}
        Err(e) => field_error(ctx.lang, e, &mut errors)?,
    }
    token_page(state, ctx, purpose, input.token, errors).await
}

pub async fn reset_new_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, WebError> {
    token_page(&state, &ctx, RESET, q.token, FormErrors::default()).await
}

pub async fn reset_new_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    f: FormResult<TokenForm>,
) -> Result<Response, WebError> {
    token_submit(&state, &ctx, RESET, form(f)?).await
}

pub async fn activation_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, WebError> {
    token_page(&state, &ctx, ACTIVATION, q.token, FormErrors::default()).await
}

pub async fn activation_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    f: FormResult<TokenForm>,
) -> Result<Response, WebError> {
    token_submit(&state, &ctx, ACTIVATION, form(f)?).await
}

pub struct SessionRow {
    pub id: String,
    pub started: String,
    pub last_seen: String,
    pub current: bool,
}

pub struct CertificateRow {
    pub id: i64,
    pub subject: String,
    pub issuer: String,
    pub expires: String,
}

pub struct AccessRow {
    pub when: String,
    pub action: &'static str,
    pub address: String,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    ctx: PageCtx,
    user: directory::User,
    category: &'static str,
    organization: String,
    password_changed: String,
    expiry_warning: Option<String>,
    sessions: Vec<SessionRow>,
    certificates: Vec<CertificateRow>,
    access_log: Vec<AccessRow>,
    notice: Option<&'static str>,
}

fn access_label(lang: Lang, action: &str) -> &'static str {
    let (it, en) = match action {
        "auth.login" => ("Accesso", "Login"),
        "auth.login_failed" => ("Accesso non riuscito", "Failed login"),
        "auth.lockout" => ("Accesso sospeso", "Access suspended"),
        "auth.logout" => ("Uscita", "Logout"),
        "auth.logout_all" => ("Uscita da tutti i dispositivi", "Logout everywhere"),
        "auth.password_changed" => ("Password cambiata", "Password changed"),
        "auth.password_reset" => ("Password reimpostata", "Password reset"),
        "auth.reset_requested" => ("Reset richiesto", "Reset requested"),
        "auth.activated" => ("Utenza attivata", "Account activated"),
        "auth.session_ended" => ("Sessione terminata", "Session ended"),
        _ => ("Altro", "Other"),
    };
    if lang == Lang::It { it } else { en }
}

pub async fn profile(
    State(state): State<Shared>,
    ctx: Ctx,
    uri: axum::http::Uri,
) -> Result<Html<String>, WebError> {
    let s = require(&ctx)?;
    let db = &state.app.db;
    let tz = &state.app.config.time_zone;
    let p = &state.app.config.password;
    let user = directory::user_by_id(db, s.user.id)
        .await
        .map_err(AppError::from)?
        .ok_or(WebError::NotFound)?;
    let expiry_warning = user.password_changed_at.and_then(|at| {
        match password_age(
            at,
            sportello_app::now_micros(),
            p.max_age_days,
            p.expiry_warning_days,
        ) {
            PasswordAge::ExpiresSoon { days_left } => {
                Some(i18n::t(ctx.lang, "profile.expires").replace("{}", &days_left.to_string()))
            }
            _ => None,
        }
    });
    let sessions = sessions::list_for_user(db, user.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|x| SessionRow {
            id: x.id_hash[..24].to_string(),
            started: local_time(x.created_at, tz),
            last_seen: local_time(x.last_seen_at, tz),
            current: x.id_hash == s.session_hash,
        })
        .collect();
    let certificates = credentials::certificates_of(db, user.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|c| CertificateRow {
            id: c.id,
            subject: c.subject,
            issuer: c.issuer,
            expires: local_time(c.not_after, tz),
        })
        .collect();
    let access_log = audit::for_target(db, &format!("user:{}", user.id), "auth.", 20)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|e| AccessRow {
            when: local_time(e.occurred_at, tz),
            action: access_label(ctx.lang, &e.action),
            address: e.source_address.unwrap_or_default(),
        })
        .collect();
    let notice = match uri.query() {
        Some("sessione=terminata") => Some(i18n::t(ctx.lang, "profile.session.ended")),
        Some("certificato=rimosso") => Some(i18n::t(ctx.lang, "cns.removed")),
        _ => None,
    };
    render(&ProfilePage {
        category: Category::from_code(&user.category)
            .map(|c| c.label_it())
            .unwrap_or("—"),
        organization: s.organization_name.clone().unwrap_or_else(|| "—".into()),
        password_changed: user
            .password_changed_at
            .map(|t| local_time(t, tz))
            .unwrap_or_else(|| "—".into()),
        expiry_warning,
        sessions,
        certificates,
        access_log,
        notice,
        user,
        ctx: ctx.page(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EndSessionForm {
    csrf_token: String,
    session: String,
}

pub async fn end_session(
    State(state): State<Shared>,
    ctx: Ctx,
    f: FormResult<EndSessionForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let s = require(&ctx)?;
    state
        .app
        .end_session(s, &input.session, &ctx.origin)
        .await?;
    Ok(Redirect::to("/profilo?sessione=terminata").into_response())
}

pub async fn logout_everywhere(
    State(state): State<Shared>,
    ctx: Ctx,
    f: FormResult<CsrfForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let s = require(&ctx)?;
    state.app.logout_everywhere(s, &ctx.origin).await?;
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            "",
            Some(0),
            true,
            state.app.config.cookies_secure(),
        ),
    );
    Ok(res)
}

pub async fn remove_certificate(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<CsrfForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let s = require(&ctx)?;
    state.app.remove_certificate(s, id, &ctx.origin).await?;
    Ok(Redirect::to("/profilo?certificato=rimosso").into_response())
}

/// Smart-card login. The certificate comes from this connection's TLS
/// handshake, or from a forwarded header, which is believed only when the
/// connection comes from a configured TLS terminator.
pub async fn cns_login(
    State(state): State<Shared>,
    ctx: Ctx,
    req: axum::extract::Request,
) -> Result<Response, WebError> {
    let cns = &state.app.config.cns;
    let headers: &HeaderMap = req.headers();
    let forwarded = headers
        .get(cns.forwarded_header.as_str())
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    let peer = req.extensions().get::<PeerCertificates>().cloned();
    let connect = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .cloned();
    let chain = match (peer, forwarded) {
        (Some(p), _) if !p.0.is_empty() => p.0,
        (_, Some(value)) => {
            let from = connect.map(|c| c.0.ip().to_canonical());
            let trusted = from.is_some_and(|ip| {
                cns.trusted_proxies
                    .iter()
                    .filter_map(|p| p.parse::<std::net::IpAddr>().ok())
                    .any(|p| p.to_canonical() == ip)
            });
            if !trusted {
                let from = from.map(|ip| ip.to_string()).unwrap_or_default();
                tracing::warn!(address = %from, "forwarded client certificate from an untrusted address refused");
                return Err(WebError::Forbidden);
            }
            sportello_app::cns::certificates_from_forwarded_header(value)
                .map_err(WebError::BadRequest)?
        }
        _ => {
            return Err(WebError::BadRequest(
                i18n::t(ctx.lang, "cns.missing").to_string(),
            ));
        }
    };
    let ok = state
        .app
        .login_with_certificate(&chain, &ctx.origin)
        .await?;
    if let Some(old) = &ctx.session {
        let _ = state.app.logout(old, &ctx.origin).await;
    }
    let next = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned());
    let mut res = Redirect::to(&crate::ctx::safe_next(next.as_deref())).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &ok.session_token,
            None,
            true,
            state.app.config.cookies_secure(),
        ),
    );
    Ok(res)
}

pub struct UserRow {
    pub id: i64,
    pub fiscal_code: String,
    pub name: String,
    pub organization: String,
    pub status: String,
    pub locked: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    ctx: PageCtx,
    q: String,
    users: Vec<UserRow>,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UsersQuery {
    q: String,
    esito: String,
}

/// The organizations whose users the actor manages (none: not an administrator).
async fn managed_organizations(state: &Shared, s: &SessionUser) -> Result<Vec<i64>, WebError> {
    let ids = state.app.managed_organizations(s).await?;
    if ids.is_empty() {
        return Err(WebError::Forbidden);
    }
    Ok(ids)
}

pub async fn users(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<UsersQuery>,
) -> Result<Html<String>, WebError> {
    let s = require(&ctx)?;
    let orgs = managed_organizations(&state, s).await?;
    let db = &state.app.db;
    let names: std::collections::HashMap<i64, String> = directory::organizations(db)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let now = sportello_app::now_micros();
    let search: String = q.q.chars().take(100).collect();
    let users = directory::users_of(db, &orgs, s.actor.has(Role::CentralAdmin), &search, 200)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            name: format!("{} {}", u.given_name, u.family_name),
            organization: u
                .organization_id
                .and_then(|o| names.get(&o).cloned())
                .unwrap_or_default(),
            status: u.status.clone(),
            locked: u.locked_until.is_some_and(|t| t > now),
            fiscal_code: u.fiscal_code,
        })
        .collect();
    let notice = match q.esito.as_str() {
        "creato" => Some(i18n::t(ctx.lang, "users.created")),
        "sbloccato" => Some(i18n::t(ctx.lang, "users.unlocked")),
        _ => None,
    };
    render(&UsersPage {
        q: search,
        users,
        notice,
        ctx: ctx.page(),
    })
}

pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub max: usize,
    pub required: bool,
}

#[derive(Template)]
#[template(path = "user_new.html")]
struct NewUserPage {
    ctx: PageCtx,
    f: FormErrors,
    fields: Vec<FieldView>,
    categories: Vec<(&'static str, &'static str)>,
    category: String,
    organizations: Vec<(i64, String)>,
    organization_id: i64,
    first_access: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct NewUserForm {
    csrf_token: String,
    fiscal_code: String,
    given_name: String,
    family_name: String,
    email: String,
    pec: String,
    phone: String,
    category: String,
    organization_id: String,
    first_access: String,
}

async fn new_user_page(
    state: &Shared,
    ctx: &Ctx,
    input: NewUserForm,
    f: FormErrors,
) -> Result<Response, WebError> {
    let s = require(ctx)?;
    let managed = managed_organizations(state, s).await?;
    let organizations = directory::organizations(&state.app.db)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .filter(|o| managed.contains(&o.id))
        .map(|o| (o.id, o.name))
        .collect();
    let t = |k| i18n::t(ctx.lang, k);
    let fields = vec![
        FieldView {
            name: "fiscal_code",
            label: t("login.fiscal_code"),
            kind: "text",
            value: input.fiscal_code.trim().to_uppercase(),
            max: 16,
            required: true,
        },
        FieldView {
            name: "given_name",
            label: t("user.given_name"),
            kind: "text",
            value: input.given_name.clone(),
            max: 100,
            required: true,
        },
        FieldView {
            name: "family_name",
            label: t("user.family_name"),
            kind: "text",
            value: input.family_name.clone(),
            max: 100,
            required: true,
        },
        FieldView {
            name: "email",
            label: t("user.email"),
            kind: "email",
            value: input.email.clone(),
            max: 254,
            required: true,
        },
        FieldView {
            name: "pec",
            label: t("user.pec"),
            kind: "email",
            value: input.pec.clone(),
            max: 254,
            required: false,
        },
        FieldView {
            name: "phone",
            label: t("user.phone"),
            kind: "tel",
            value: input.phone.clone(),
            max: 20,
            required: false,
        },
    ];
    let status = f.status();
    let first_access = if input.first_access.is_empty() {
        state.app.config.identity.first_access.clone()
    } else {
        input.first_access
    };
    let page = render(&NewUserPage {
        f,
        fields,
        categories: Category::ALL
            .iter()
            .map(|c| (c.code(), c.label_it()))
            .collect(),
        category: if input.category.is_empty() {
            Category::PublicEmployee.code().into()
        } else {
            input.category
        },
        organizations,
        organization_id: input.organization_id.parse().unwrap_or(0),
        first_access,
        ctx: ctx.page(),
    })?;
    Ok((status, page).into_response())
}

pub async fn new_user_form(State(state): State<Shared>, ctx: Ctx) -> Result<Response, WebError> {
    new_user_page(&state, &ctx, NewUserForm::default(), FormErrors::default()).await
}

pub async fn new_user_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    f: FormResult<NewUserForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let mut errors = FormErrors::default();
    let organization_id = input.organization_id.trim().parse::<i64>().ok();
    let new = NewUserInput {
        fiscal_code: input.fiscal_code.clone(),
        given_name: input.given_name.clone(),
        family_name: input.family_name.clone(),
        email: input.email.clone(),
        pec: input.pec.clone(),
        phone: input.phone.clone(),
        category: input.category.clone(),
        organization_id,
        first_access: input.first_access.clone(),
    };
    match state
        .app
        .create_user(ctx.session.as_ref(), &new, &ctx.origin)
        .await
    {
        Ok(_) => return Ok(Redirect::to("/admin/utenti?esito=creato").into_response()),
        Err(e) => field_error(ctx.lang, e, &mut errors)?,
    }
    new_user_page(&state, &ctx, input, errors).await
}

pub async fn unlock(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<CsrfForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    state
        .app
        .unlock_user(ctx.session.as_ref(), id, &ctx.origin)
        .await?;
    Ok(Redirect::to("/admin/utenti?esito=sbloccato").into_response())
}
