//! Portal pages: home ("I miei servizi" once logged in), login, logout,
//! language switch, accessibility statement, privacy notice.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_app::AppError;
use sportello_store::catalogue::{self, HeldProfile};

use crate::Shared;
use crate::ctx::{Ctx, LANG_COOKIE, PageCtx, SESSION_COOKIE, safe_next, set_cookie};
use crate::error::WebError;
use crate::i18n::Lang;

/// A file to download: its name (quotes and control characters replaced),
/// its type, and `nosniff` so a browser never reinterprets it.
pub fn attachment(name: &str, content_type: impl Into<String>, bytes: Vec<u8>) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}\"",
        name.replace(|c: char| c == '"' || c.is_control(), "_")
    );
    (
        [
            (header::CONTENT_TYPE, content_type.into()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

pub fn render<T: Template>(t: &T) -> Result<Html<String>, WebError> {
    t.render()
        .map(Html)
        .map_err(|e| WebError::Internal(format!("template: {e}")))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    services: Vec<HeldProfile>,
}

pub async fn home(State(state): State<Shared>, ctx: Ctx) -> Result<Html<String>, WebError> {
    let services = match &ctx.session {
        Some(s) => catalogue::held_profiles(&state.app.db, s.user.id, sportello_app::now_micros())
            .await
            .map_err(AppError::from)?,
        None => Vec::new(),
    };
    render(&HomePage {
        ctx: ctx.page(),
        services,
    })
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageCtx,
    fiscal_code: String,
    errors: Vec<FieldError>,
    fc_error: Option<String>,
    pw_error: Option<String>,
    notice: Option<&'static str>,
    cns_url: Option<String>,
}

pub use crate::ctx::FieldError;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: Option<String>,
    password: Option<String>,
}

fn login_page(
    state: &Shared,
    ctx: &Ctx,
    fiscal_code: String,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
) -> Result<Html<String>, WebError> {
    let fc_error = errors
        .iter()
        .find(|e| e.field == "fiscal_code")
        .map(|e| e.message.clone());
    let pw_error = errors
        .iter()
        .find(|e| e.field == "password")
        .map(|e| e.message.clone());
    let cns = &state.app.config.cns;
    let cns_url = (!cns.public_url.is_empty())
        .then(|| format!("{}/accedi/cns", cns.public_url.trim_end_matches('/')));
    render(&LoginPage {
        ctx: ctx.page(),
        fiscal_code,
        errors,
        fc_error,
        pw_error,
        notice,
        cns_url,
    })
}

pub async fn login_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<LoginQuery>,
) -> Result<Html<String>, WebError> {
    let notice = match q.password.as_deref() {
        Some("attivata") => Some(ctx.page().t("activation.done")),
        Some("reimpostata") => Some(ctx.page().t("reset.done")),
        _ => None,
    };
    login_page(&state, &ctx, String::new(), Vec::new(), notice)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf_token: String,
    fiscal_code: String,
    password: String,
}

pub async fn login_submit(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<LoginQuery>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|e| WebError::BadRequest(e.body_text()))?;
    ctx.check_csrf(&form.csrf_token)?;
    let page = ctx.page();
    let mut errors = Vec::new();
    if form.fiscal_code.trim().is_empty() {
        errors.push(FieldError {
            field: "fiscal_code",
            message: page.t("login.fiscal_code.required").to_string(),
        });
    }
    if form.password.is_empty() {
        errors.push(FieldError {
            field: "password",
            message: page.t("login.password.required").to_string(),
        });
    }
    if form.fiscal_code.chars().count() > 64 || form.password.chars().count() > 256 {
        errors.push(FieldError {
            field: "password",
            message: page.t("login.invalid").to_string(),
        });
    }
    let mut status = StatusCode::BAD_REQUEST;
    if errors.is_empty() {
        match state
            .app
            .login(&form.fiscal_code, &form.password, &ctx.origin)
            .await
        {
            Ok(ok) => {
                // The old session, if any, ends here: the id changes at login.
                if let Some(old) = &ctx.session {
                    let _ = state.app.logout(old, &ctx.origin).await;
                }
                let target = if ok.must_change_password {
                    // After the forced change the user continues where he was going.
                    match q
                        .next
                        .as_deref()
                        .map(|n| safe_next(Some(n)))
                        .filter(|n| n != "/")
                    {
                        Some(next) => format!(
                            "/cambio-password?next={}",
                            url::form_urlencoded::byte_serialize(next.as_bytes())
                                .collect::<String>()
                        ),
                        None => "/cambio-password".to_string(),
                    }
                } else {
                    safe_next(q.next.as_deref())
                };
                let mut res = Redirect::to(&target).into_response();
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
                return Ok(res);
            }
            Err(AppError::InvalidFiscalCode(e)) => errors.push(FieldError {
                field: "fiscal_code",
                message: crate::i18n::fiscal_code_error(ctx.lang, &e),
            }),
            Err(AppError::BadCredentials) => {
                status = StatusCode::UNAUTHORIZED;
                errors.push(FieldError {
                    field: "password",
                    message: page.t("login.invalid").to_string(),
                });
            }
            Err(AppError::Throttled { seconds }) => {
                status = StatusCode::TOO_MANY_REQUESTS;
                errors.push(FieldError {
                    field: "password",
                    message: page
                        .t("login.throttled")
                        .replace("{}", &seconds.to_string()),
                });
            }
            Err(AppError::Locked { .. }) => {
                status = StatusCode::FORBIDDEN;
                errors.push(FieldError {
                    field: "password",
                    message: page.t("login.locked").to_string(),
                });
            }
            Err(AppError::AccountNotActive(_)) => {
                status = StatusCode::FORBIDDEN;
                errors.push(FieldError {
                    field: "password",
                    message: page.t("login.not_active").to_string(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    let html = login_page(
        &state,
        &ctx,
        form.fiscal_code.trim().to_uppercase(),
        errors,
        None,
    )?;
    Ok((status, html).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf_token: String,
}

pub type CsrfFormPublic = CsrfForm;

pub async fn logout(
    State(state): State<Shared>,
    ctx: Ctx,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|e| WebError::BadRequest(e.body_text()))?;
    ctx.check_csrf(&form.csrf_token)?;
    if let Some(s) = &ctx.session {
        state.app.logout(s, &ctx.origin).await?;
    }
    let secure = state.app.config.cookies_secure();
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Some(0), true, secure),
    );
    Ok(res)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LangQuery {
    to: String,
    next: Option<String>,
}

/// A plain link (no JavaScript needed) that stores the choice in a cookie.
pub async fn switch_language(State(state): State<Shared>, Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::from_code(&q.to).unwrap_or(Lang::It);
    let mut res = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LANG_COOKIE,
            lang.code(),
            Some(31_536_000),
            false,
            state.app.config.cookies_secure(),
        ),
    );
    res
}

#[derive(Template)]
#[template(path = "page.html")]
struct TextPage {
    ctx: PageCtx,
    title: &'static str,
    paragraphs: Vec<&'static str>,
}

pub async fn accessibility(ctx: Ctx) -> Result<Html<String>, WebError> {
    let page = ctx.page();
    let paragraphs = vec![
        page.t("a11y.text"),
        page.t("a11y.status"),
        page.t("a11y.feedback"),
    ];
    render(&TextPage {
        title: page.t("a11y.title"),
        paragraphs,
        ctx: page,
    })
}

pub async fn privacy(ctx: Ctx) -> Result<Html<String>, WebError> {
    let page = ctx.page();
    let paragraphs = vec![page.t("privacy.text")];
    render(&TextPage {
        title: page.t("privacy.title"),
        paragraphs,
        ctx: page,
    })
}

pub async fn not_found() -> WebError {
    WebError::NotFound
}
