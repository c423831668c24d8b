//! The central administrator's console page for the OpenID Connect clients
//! of the catalogue's applications: the list per application and the
//! registration form (the secret of a confidential client is shown once).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sportello_app::AppError;
use sportello_app::oidc::{ClientInput, RegisteredClient, SCOPES};
use sportello_core::authz::Action;
use sportello_store::{catalogue, oidc as store};

use crate::Shared;
use crate::ctx::{Ctx, FormErrors, PageCtx};
use crate::error::WebError;
use crate::pages::render;

pub fn routes() -> Router<Shared> {
    Router::new().route("/admin/catalogo/client", get(show).post(register))
}

pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub kind: &'static str,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
}

pub struct AppClients {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub clients: Vec<ClientView>,
}

/// What the form held, to show it again after an error.
#[derive(Default)]
pub struct Draft {
    pub application_id: i64,
    pub name: String,
    pub public: bool,
    pub redirect_uris: String,
    pub scopes: Vec<String>,
}

#[derive(Template)]
#[template(path = "oidc_clients.html")]
struct ClientsPage {
    ctx: PageCtx,
    f: FormErrors,
    apps: Vec<AppClients>,
    scopes: Vec<(&'static str, bool)>,
    draft: Draft,
    registered: Option<(String, RegisteredClient)>,
}

async fn page(
    state: &Shared,
    ctx: &Ctx,
    f: FormErrors,
    draft: Draft,
    registered: Option<(String, RegisteredClient)>,
) -> Result<Response, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::ManageCatalogue)?;
    let db = &state.app.db;
    let clients = store::clients(db).await.map_err(AppError::from)?;
    let apps = catalogue::applications(db)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|a| AppClients {
            clients: clients
                .iter()
                .filter(|c| c.application_id == a.id)
                .map(|c| ClientView {
                    client_id: c.client_id.clone(),
                    name: c.name.clone(),
                    kind: if c.is_public == 1 {
                        "pubblico (PKCE)"
                    } else {
                        "confidenziale"
                    },
                    redirect_uris: serde_json::from_str(&c.redirect_uris).unwrap_or_default(),
                    scopes: c.scopes.clone(),
                })
                .collect(),
            id: a.id,
            code: a.code,
            name: a.name,
        })
        .collect();
    let status = f.status();
    let html = render(&ClientsPage {
        ctx: ctx.page(),
        f,
        apps,
        scopes: SCOPES
            .iter()
            .map(|s| (*s, draft.scopes.iter().any(|d| d == s)))
            .collect(),
        draft,
        registered,
    })?;
    let mut res = (status, html).into_response();
    // The page may carry a client secret.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn show(State(state): State<Shared>, ctx: Ctx) -> Result<Response, WebError> {
    let draft = Draft {
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    page(&state, &ctx, FormErrors::default(), draft, None).await
}

fn pairs(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn one(p: &[(String, String)], key: &str) -> String {
    p.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn register(
    State(state): State<Shared>,
    ctx: Ctx,
    body: String,
) -> Result<Response, WebError> {
    let p = pairs(&body);
    ctx.check_csrf(&one(&p, "csrf_token"))?;
    let draft = Draft {
        application_id: one(&p, "application_id").trim().parse().unwrap_or(0),
        name: one(&p, "name"),
        public: one(&p, "client_type") == "public",
        redirect_uris: one(&p, "redirect_uris"),
        scopes: p
            .iter()
            .filter(|(k, _)| k == "scopes")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let input = ClientInput {
        application_id: draft.application_id,
        name: draft.name.clone(),
        public: draft.public,
        redirect_uris: draft
            .redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        scopes: draft.scopes.clone(),
        ..Default::default()
    };
    match state
        .app
        .register_oidc_client(ctx.session.as_ref(), &input, &ctx.origin)
        .await
    {
        Ok(r) => {
            let draft = Draft {
                scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            };
            page(
                &state,
                &ctx,
                FormErrors::default(),
                draft,
                Some((input.name.trim().to_string(), r)),
            )
            .await
        }
        Err(AppError::Invalid { field, message }) => {
            let mut f = FormErrors::default();
            f.push(field, message);
            page(&state, &ctx, f, draft, None).await
        }
        Err(e) => Err(e.into()),
    }
}
