//! The OpenID Connect provider's HTTP side: discovery, JWKS, authorization
//! (pages for what cannot be sent back to the client), token, userinfo,
//! revocation, introspection, RP-initiated logout, and client registration
//! in the JSON API. The rules live in `sportello_app::oidc`.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sportello_app::AppError;
use sportello_app::oidc::{
    AuthorizeOutcome, AuthorizeRequest, ClientCredentials, ClientInput, OAuthError, TokenRequest,
};
use sportello_core::authz::Action;

use crate::Shared;
use crate::api::{ApiActor, ApiError};
use crate::ctx::{Ctx, PageCtx, SESSION_COOKIE, set_cookie};
use crate::error::WebError;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize))
        .route("/oidc/token", post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo_post))
        .route("/oidc/revoke", post(revoke))
        .route("/oidc/introspect", post(introspect))
        .route("/oidc/logout", get(logout))
        .route(
            "/api/v1/oidc/clients",
            get(list_clients).post(register_client),
        )
}

fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn oauth_error(e: OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = (
        status,
        Json(json!({ "error": e.error, "error_description": e.description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"sportello\""),
        );
    }
    no_store(res)
}

fn internal(e: AppError) -> Response {
    oauth_error(OAuthError::from(e))
}

async fn discovery(State(state): State<Shared>) -> Response {
    Json(state.app.oidc_discovery()).into_response()
}

async fn jwks(State(state): State<Shared>) -> Response {
    match state.app.oidc_jwks().await {
        Ok(v) => {
            let mut res = Json(v).into_response();
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            res
        }
        Err(e) => internal(e),
    }
}

#[derive(Template)]
#[template(path = "page.html")]
struct MessagePage {
    ctx: PageCtx,
    title: String,
    paragraphs: Vec<String>,
}

fn message_page(ctx: &Ctx, status: StatusCode, title: &str, paragraphs: Vec<String>) -> Response {
    match crate::pages::render(&MessagePage {
        ctx: ctx.page(),
        title: title.to_string(),
        paragraphs,
    }) {
        Ok(html) => (status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn authorize(
    State(state): State<Shared>,
    ctx: Ctx,
    query: Result<Query<AuthorizeRequest>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(req)) = query else {
        return message_page(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Richiesta di accesso non valida",
            vec![
                "I parametri della richiesta non sono validi (un parametro ripetuto o malformato)."
                    .into(),
            ],
        );
    };
    match state
        .app
        .oidc_authorize(ctx.session.as_ref(), &req, &ctx.origin)
        .await
    {
        Ok(AuthorizeOutcome::BadRequestPage(m)) => message_page(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Richiesta di accesso non valida",
            vec![
                m,
                "Torna all'applicazione e riprova; se il problema continua, segnala questo messaggio all'assistenza.".into(),
            ],
        ),
        Ok(AuthorizeOutcome::NotEnabledPage { application }) => message_page(
            &ctx,
            StatusCode::FORBIDDEN,
            "Non sei abilitato a questa applicazione",
            vec![
                format!("La tua utenza non ha un profilo per l'applicazione «{application}», quindi il portale non ti fa accedere."),
                "Per ottenere l'abilitazione rivolgiti all'amministratore delle utenze del tuo ente.".into(),
            ],
        ),
        Ok(AuthorizeOutcome::Login) => {
            let next: String =
                url::form_urlencoded::byte_serialize(ctx.path.as_bytes()).collect();
            Redirect::to(&format!("/accedi?next={next}")).into_response()
        }
        Ok(AuthorizeOutcome::Redirect(to)) => no_store(Redirect::to(&to).into_response()),
        Err(e) => WebError::from(e).into_response(),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1, each part
/// form-urlencoded) or from the form; both at once is an error.
fn credentials(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<ClientCredentials, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    match basic {
        Some(b) => {
            if form_secret.is_some() {
                return Err(OAuthError::new(
                    400,
                    "invalid_request",
                    "credenziali del client sia nell'intestazione sia nel modulo",
                ));
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(|| {
                    OAuthError::new(401, "invalid_client", "intestazione Basic non valida")
                })?;
            let (id, secret) = decoded.split_once(':').ok_or_else(|| {
                OAuthError::new(401, "invalid_client", "intestazione Basic non valida")
            })?;
            let id = percent_decode(id);
            if form_id.is_some_and(|f| f != id) {
                return Err(OAuthError::new(
                    400,
                    "invalid_request",
                    "client_id discordanti",
                ));
            }
            Ok(ClientCredentials {
                client_id: Some(id),
                client_secret: Some(percent_decode(secret)),
                basic: true,
            })
        }
        None => Ok(ClientCredentials {
            client_id: form_id.map(str::to_string),
            client_secret: form_secret.map(str::to_string),
            basic: false,
        }),
    }
}

fn form_error(e: FormRejection) -> Response {
    oauth_error(OAuthError::new(400, "invalid_request", e.body_text()))
}

async fn token(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    let Form(req) = match form {
        Ok(f) => f,
        Err(e) => return form_error(e),
    };
    let creds = match credentials(
        &headers,
        req.client_id.as_deref(),
        req.client_secret.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return oauth_error(e),
    };
    match state.app.oidc_token(&req, &creds, &ctx.origin).await {
        Ok(t) => no_store(Json(t).into_response()),
        Err(e) => oauth_error(e),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

async fn userinfo_answer(state: &Shared, token: Option<String>) -> Response {
    let invalid = |error: &'static str| {
        let mut res = (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": error, "error_description": "token di accesso mancante, non valido, scaduto o revocato" })),
        )
            .into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&format!("Bearer error=\"{error}\""))
                .unwrap_or_else(|_| HeaderValue::from_static("Bearer")),
        );
        no_store(res)
    };
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() < 8192) else {
        return invalid("invalid_request");
    };
    match state.app.oidc_userinfo(&token).await {
        Ok(Some(v)) => no_store(Json(v).into_response()),
        Ok(None) => invalid("invalid_token"),
        Err(e) => internal(e),
    }
}

async fn userinfo(State(state): State<Shared>, headers: HeaderMap) -> Response {
    userinfo_answer(&state, bearer(&headers)).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserinfoForm {
    access_token: Option<String>,
}

async fn userinfo_post(
    State(state): State<Shared>,
    headers: HeaderMap,
    form: Result<Form<UserinfoForm>, FormRejection>,
) -> Response {
    let token = bearer(&headers).or_else(|| form.ok().and_then(|f| f.0.access_token));
    userinfo_answer(&state, token).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    token: Option<String>,
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn revoke(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let Form(f) = match form {
        Ok(f) => f,
        Err(e) => return form_error(e),
    };
    let _ = f.token_type_hint;
    let creds = match credentials(&headers, f.client_id.as_deref(), f.client_secret.as_deref()) {
        Ok(c) => c,
        Err(e) => return oauth_error(e),
    };
    let Some(token) = f.token.filter(|t| !t.is_empty()) else {
        return oauth_error(OAuthError::new(400, "invalid_request", "token mancante"));
    };
    match state.app.oidc_revoke(&creds, &token, &ctx.origin).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => oauth_error(e),
    }
}

async fn introspect(
    State(state): State<Shared>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let Form(f) = match form {
        Ok(f) => f,
        Err(e) => return form_error(e),
    };
    let creds = match credentials(&headers, f.client_id.as_deref(), f.client_secret.as_deref()) {
        Ok(c) => c,
        Err(e) => return oauth_error(e),
    };
    let Some(token) = f.token.filter(|t| !t.is_empty()) else {
        return oauth_error(OAuthError::new(400, "invalid_request", "token mancante"));
    };
    match state.app.oidc_introspect(&creds, &token).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => oauth_error(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogoutQuery {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

async fn logout(
    State(state): State<Shared>,
    ctx: Ctx,
    query: Result<Query<LogoutQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return message_page(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Richiesta di uscita non valida",
            vec!["I parametri della richiesta non sono validi.".into()],
        );
    };
    let outcome = state
        .app
        .oidc_logout(
            ctx.session.as_ref(),
            q.id_token_hint.as_deref(),
            q.client_id.as_deref(),
            q.post_logout_redirect_uri.as_deref(),
            q.state.as_deref(),
            &ctx.origin,
        )
        .await;
    let mut res = match outcome {
        Ok(Ok(Some(to))) => Redirect::to(&to).into_response(),
        Ok(Ok(None)) => message_page(
            &ctx,
            StatusCode::OK,
            "Sei uscito dal portale",
            vec!["La sessione del portale è terminata. Puoi chiudere questa finestra.".into()],
        ),
        Ok(Err(m)) => {
            return message_page(
                &ctx,
                StatusCode::BAD_REQUEST,
                "Richiesta di uscita non valida",
                vec![m],
            );
        }
        Err(e) => return WebError::from(e).into_response(),
    };
    if ctx.session.is_some() {
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
    }
    res
}

async fn register_client(
    State(state): State<Shared>,
    a: ApiActor,
    Json(input): Json<ClientInput>,
) -> Result<(StatusCode, Response), ApiError> {
    let registered = state
        .app
        .register_oidc_client(Some(&a.who), &input, &a.origin)
        .await?;
    Ok((
        StatusCode::CREATED,
        no_store(Json(registered).into_response()),
    ))
}

async fn list_clients(State(state): State<Shared>, a: ApiActor) -> Result<Response, ApiError> {
    state
        .app
        .authorize(Some(&a.who), &Action::ManageCatalogue)?;
    let list = sportello_store::oidc::clients(&state.app.db)
        .await
        .map_err(AppError::from)?;
    Ok(Json(list).into_response())
}
