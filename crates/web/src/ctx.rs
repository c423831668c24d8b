//! Per-request context: language, the logged-in user, the CSRF token, the
//! client address. Cookies are parsed here and nowhere else.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sportello_app::security::{random_token, same_secret};
use sportello_app::{Origin, SessionUser};

use crate::Shared;
use crate::error::WebError;
use crate::i18n::{self, Lang};

pub const SESSION_COOKIE: &str = "sportello_session";
pub const CSRF_COOKIE: &str = "sportello_csrf";
pub const LANG_COOKIE: &str = "sportello_lang";

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Builds a Set-Cookie value; `max_age` None means a browser-session cookie,
/// Some(0) deletes it.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age: Option<i64>,
    http_only: bool,
    secure: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The anonymous CSRF token of this request (double-submit cookie).
#[derive(Clone)]
struct AnonCsrf(String);

/// Gives every visitor a CSRF cookie, so even the login form is protected.
pub async fn ensure_csrf_cookie(
    State(state): State<Shared>,
    mut req: Request,
    next: Next,
) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let (token, is_new) = match existing {
        Some(t) => (t, false),
        None => (random_token(), true),
    };
    req.extensions_mut().insert(AnonCsrf(token.clone()));
    let secure = state.app.config.cookies_secure();
    let mut res = next.run(req).await;
    if is_new {
        res.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &token, None, true, secure),
        );
    }
    res
}

/// The session resolved once per request by `load_session`.
#[derive(Clone)]
pub struct LoadedSession(pub Option<SessionUser>);

/// Paths a user with a temporary or expired password may still open.
fn open_during_forced_change(path: &str) -> bool {
    [
        "/cambio-password",
        "/esci",
        "/static/",
        "/lingua",
        "/healthz",
        "/readyz",
        "/metrics",
        "/dichiarazione-accessibilita",
        "/privacy",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Resolves the session cookie once; a user whose password must change is
/// sent to the change page whatever he asks for (seed 001: an expired
/// password can only be changed).
pub async fn load_session(State(state): State<Shared>, mut req: Request, next: Next) -> Response {
    let session = match cookie(req.headers(), SESSION_COOKIE) {
        Some(token) => match state.app.session_user(&token).await {
            Ok(s) => s,
            Err(e) => return WebError::from(e).into_response(),
        },
        None => None,
    };
    if let Some(s) = &session
        && s.must_change_password
        && !open_during_forced_change(req.uri().path())
    {
        return Redirect::to("/cambio-password").into_response();
    }
    req.extensions_mut().insert(LoadedSession(session));
    next.run(req).await
}

/// Field errors of a submitted form, for the templates: each message is
/// shown next to its field (whose id is `field`) and in the summary on top.
#[derive(Default)]
pub struct FormErrors {
    pub list: Vec<FormError>,
}

/// One entry of [`FormErrors`]; the field may be named at run time (the
/// configurable forms of the assistance desk).
pub struct FormError {
    pub field: String,
    pub message: String,
    /// The field's label, named in the summary when the message alone
    /// would not say which field it is about.
    pub label: Option<String>,
}

/// A field error of the login page.
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.list.push(FormError {
            field: field.into(),
            message: message.into(),
            label: None,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// A form body, or the reason it could not be read.
pub type FormResult<T> = Result<axum::Form<T>, axum::extract::rejection::FormRejection>;

/// The form's fields, or a 400 saying why the body is unreadable.
pub fn form<T>(f: FormResult<T>) -> Result<T, WebError> {
    f.map(|axum::Form(v)| v)
        .map_err(|e| WebError::BadRequest(e.body_text()))
}

/// Turns a use-case error into field errors where it concerns the form;
/// any other error is the page's.
pub fn field_error(
    lang: Lang,
    e: sportello_app::AppError,
    f: &mut FormErrors,
) -> Result<(), WebError> {
    use sportello_app::AppError;
    match e {
        AppError::Invalid { field, message } => f.push(field, message),
        AppError::InvalidFiscalCode(e) => f.push("fiscal_code", i18n::fiscal_code_error(lang, &e)),
        AppError::InvalidFields(list) => {
            for (field, message) in list {
                f.push(field, message);
            }
        }
        other => return Err(other.into()),
    }
    Ok(())
}

impl FormErrors {
    /// 200 for a clean form, 400 when it is shown again with errors.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::BAD_REQUEST
        }
    }
}

pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|c| Lang::from_code(&c))
        .unwrap_or(Lang::It)
}

pub struct Ctx {
    pub lang: Lang,
    pub session: Option<SessionUser>,
    pub csrf: String,
    pub path: String,
    pub origin: Origin,
}

impl FromRequestParts<Shared> for Ctx {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let session = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => state.app.session_user(&token).await?,
            None => None,
        };
        let anon = parts
            .extensions
            .get::<AnonCsrf>()
            .map(|a| a.0.clone())
            .unwrap_or_default();
        let csrf = session
            .as_ref()
            .map(|s| s.csrf_token.clone())
            .unwrap_or(anon);
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Ctx {
            lang,
            session,
            csrf,
            path,
            origin: Origin { address },
        })
    }
}

impl Ctx {
    /// Rejects a state-changing form whose token does not match.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if !self.csrf.is_empty() && same_secret(&self.csrf, submitted) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    pub fn page(&self) -> PageCtx {
        PageCtx {
            lang: self.lang,
            path: self.path.clone(),
            csrf: self.csrf.clone(),
            user: self.session.as_ref().map(UserView::from),
        }
    }
}

/// What the base template needs.
pub struct PageCtx {
    pub lang: Lang,
    pub path: String,
    pub csrf: String,
    pub user: Option<UserView>,
}

impl PageCtx {
    pub fn t(&self, key: &str) -> &'static str {
        i18n::t(self.lang, key)
    }

    pub fn anonymous(lang: Lang, path: String) -> PageCtx {
        PageCtx {
            lang,
            path,
            csrf: String::new(),
            user: None,
        }
    }
}

pub struct UserView {
    pub name: String,
    pub organization: Option<String>,
    pub is_admin: bool,
    /// Central or local administrator: may manage users.
    pub manages_users: bool,
    /// Office manager or operator: works the assistance desk.
    pub works_desk: bool,
    /// Office, regional or central manager: sees the desk's reports.
    pub sees_reports: bool,
    /// Central administrator or central manager: exports the daily protocol register.
    pub keeps_register: bool,
    /// Desk staff and the central administrator: write the FAQ.
    pub writes_faq: bool,
    pub roles: Vec<String>,
}

impl From<&SessionUser> for UserView {
    fn from(s: &SessionUser) -> Self {
        use sportello_core::authz::Role;
        UserView {
            name: format!("{} {}", s.user.given_name, s.user.family_name),
            organization: s.organization_name.clone(),
            is_admin: s.actor.has(Role::CentralAdmin),
            manages_users: s.actor.has(Role::CentralAdmin) || s.actor.has(Role::LocalAdmin),
            works_desk: s.actor.has(Role::OfficeManager) || s.actor.has(Role::Operator),
            sees_reports: s.actor.has(Role::OfficeManager)
                || s.actor.has(Role::RegionalManager)
                || s.actor.has(Role::CentralManager),
            keeps_register: s.actor.has(Role::CentralAdmin) || s.actor.has(Role::CentralManager),
            writes_faq: sportello_core::authz::decide(
                Some(&s.actor),
                &sportello_core::authz::Action::EditKnowledgeBase,
            )
            .is_allowed(),
            roles: s
                .actor
                .grants
                .iter()
                .map(|g| role_label(g.role).to_string())
                .collect(),
        }
    }
}

pub fn role_label(role: sportello_core::authz::Role) -> &'static str {
    use sportello_core::authz::Role::*;
    match role {
        CentralAdmin => "Amministratore centrale",
        LocalAdmin => "Amministratore locale delle utenze",
        OfficeManager => "Gestore dell'ufficio",
        Operator => "Operatore",
        RegionalManager => "Gestore regionale",
        CentralManager => "Gestore centrale",
    }
}

/// Only local paths may be redirect targets (no open redirects).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}
