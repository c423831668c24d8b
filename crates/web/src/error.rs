//! Errors become pages: 404, 403, 400 and 500 (with a reference id that is
//! also written to the log). API and operations paths get plain text.

use std::any::Any;

use askama::Template;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use sportello_app::AppError;

use crate::ctx::{LoadedSession, PageCtx, UserView, lang_of};

#[derive(Debug)]
pub enum WebError {
    NotFound,
    Forbidden,
    NeedsLogin,
    BadRequest(String),
    TooMany(i64),
    Csrf,
    Internal(String),
}

/// Marks a response whose page the error middleware renders.
#[derive(Clone, Debug)]
struct ErrorPage {
    reference: Option<String>,
    detail: Option<String>,
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid { field, message } => {
                WebError::BadRequest(format!("{field}: {message}"))
            }
            AppError::InvalidFiscalCode(e) => WebError::BadRequest(format!("codice fiscale: {e}")),
            AppError::BadCredentials | AppError::Locked { .. } | AppError::AccountNotActive(_) => {
                WebError::Forbidden
            }
            AppError::Throttled { seconds } => WebError::TooMany(seconds),
            AppError::Certificate(m) => WebError::BadRequest(m),
            AppError::InvalidToken => {
                WebError::BadRequest("collegamento non valido, già usato o scaduto".into())
            }
            AppError::NeedsLogin => WebError::NeedsLogin,
            AppError::Forbidden(_) => WebError::Forbidden,
            AppError::NotFound => WebError::NotFound,
            e @ (AppError::InvalidFields(_)
            | AppError::ChannelClosed { .. }
            | AppError::Conflict(_)) => WebError::BadRequest(e.to_string()),
            AppError::Store(e) => WebError::Internal(e.to_string()),
            AppError::Internal(e) => WebError::Internal(e),
        }
    }
}

fn reference_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_uppercase()
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, reference, detail) = match self {
            WebError::NotFound => (StatusCode::NOT_FOUND, None, None),
            WebError::Forbidden => (StatusCode::FORBIDDEN, None, None),
            WebError::Csrf => (StatusCode::FORBIDDEN, None, Some("csrf".to_string())),
            WebError::NeedsLogin => return Redirect::to("/accedi").into_response(),
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, None, Some(m)),
            WebError::TooMany(seconds) => {
                let mut res = StatusCode::TOO_MANY_REQUESTS.into_response();
                if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res.extensions_mut().insert(ErrorPage {
                    reference: None,
                    detail: Some(format!("{seconds}")),
                });
                return res;
            }
            WebError::Internal(e) => {
                let r = reference_id();
                tracing::error!(error_ref = %r, error = %e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, Some(r), None)
            }
        };
        let mut res = status.into_response();
        res.extensions_mut().insert(ErrorPage { reference, detail });
        res
    }
}

pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into());
    WebError::Internal(format!("panic: {msg}")).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    ctx: PageCtx,
    title: &'static str,
    text: String,
    reference: Option<String>,
}

fn is_machine_path(path: &str) -> bool {
    [
        "/api/",
        "/scim/",
        "/metrics",
        "/healthz",
        "/readyz",
        "/static/",
        "/oidc/",
        "/.well-known/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Renders a full page for every error status of a portal path, in the
/// visitor's language, whoever produced the error (handler, router, panic).
pub async fn render_error_pages(req: Request, next: Next) -> Response {
    let lang = lang_of(req.headers());
    let loaded = req
        .extensions()
        .get::<LoadedSession>()
        .and_then(|l| l.0.clone());
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    let status = res.status();
    if status.as_u16() < 400 || is_machine_path(&path) {
        return res;
    }
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        return res;
    }
    let page = res
        .extensions()
        .get::<ErrorPage>()
        .cloned()
        .unwrap_or_else(|| ErrorPage {
            reference: (status == StatusCode::INTERNAL_SERVER_ERROR).then(|| {
                let r = reference_id();
                tracing::error!(error_ref = %r, %status, "internal error without detail");
                r
            }),
            detail: None,
        });
    let mut ctx = PageCtx::anonymous(lang, path);
    if status != StatusCode::INTERNAL_SERVER_ERROR
        && let Some(s) = loaded
    {
        ctx.csrf = s.csrf_token.clone();
        ctx.user = Some(UserView::from(&s));
    }
    let (title, text) = match status.as_u16() {
        404 => (
            ctx.t("error.404.title"),
            ctx.t("error.404.text").to_string(),
        ),
        403 if page.detail.as_deref() == Some("csrf") => {
            (ctx.t("error.403.title"), ctx.t("form.expired").to_string())
        }
        401 | 403 => (
            ctx.t("error.403.title"),
            ctx.t("error.403.text").to_string(),
        ),
        400..=499 => (
            ctx.t("error.400.title"),
            page.detail.clone().unwrap_or_default(),
        ),
        _ => (
            ctx.t("error.500.title"),
            ctx.t("error.500.text").to_string(),
        ),
    };
    let body = ErrorTemplate {
        ctx,
        title,
        text,
        reference: page.reference,
    }
    .render()
    .unwrap_or_else(|_| "Errore".to_string());
    let mut out = (status, Html(body)).into_response();
    for (k, v) in res.headers() {
        if k == header::SET_COOKIE || k == header::ALLOW || k == header::RETRY_AFTER {
            out.headers_mut().append(k.clone(), v.clone());
        }
    }
    out
}
