//! The central administrator's catalogue editor.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use sportello_app::AppError;
use sportello_core::authz::Action;
use sportello_core::catalogue::ORG_KINDS;
use sportello_store::catalogue;

use crate::Shared;
use crate::ctx::{Ctx, FormErrors, PageCtx};
use crate::error::WebError;
use crate::i18n;
use crate::pages::render;

pub struct ProfileView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kinds: Vec<(&'static str, &'static str, bool)>,
    pub capabilities: String,
    pub implied: Vec<(i64, String, bool)>,
}

pub struct AppView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub url: String,
    pub profiles: Vec<ProfileView>,
}

#[derive(Template)]
#[template(path = "catalogue.html")]
struct CataloguePage {
    ctx: PageCtx,
    f: FormErrors,
    apps: Vec<AppView>,
    notice: Option<&'static str>,
}

async fn page(
    state: &Shared,
    ctx: &Ctx,
    f: FormErrors,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::ManageCatalogue)?;
    let db = &state.app.db;
    let profiles = catalogue::profiles(db).await.map_err(AppError::from)?;
    let mut apps = Vec::new();
    for a in catalogue::applications(db).await.map_err(AppError::from)? {
        let mut views = Vec::new();
        for p in profiles.iter().filter(|p| p.application_id == a.id) {
            let rule = catalogue::profile_rule(db, p.id)
                .await
                .map_err(AppError::from)?
                .ok_or(WebError::NotFound)?;
            let implied_ids = catalogue::implied_profiles(db, p.id)
                .await
                .map_err(AppError::from)?;
            views.push(ProfileView {
                id: p.id,
                code: p.code.clone(),
                name: p.name.clone(),
                kinds: ORG_KINDS
                    .iter()
                    .map(|(c, l)| (*c, *l, rule.org_kinds.iter().any(|k| k == c)))
                    .collect(),
                capabilities: rule
                    .capabilities
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                implied: profiles
                    .iter()
                    .filter(|o| o.application_id != a.id)
                    .map(|o| {
                        (
                            o.id,
                            format!("{} - {}", o.application_name, o.name),
                            implied_ids.contains(&o.id),
                        )
                    })
                    .collect(),
            });
        }
        apps.push(AppView {
            id: a.id,
            code: a.code,
            name: a.name,
            description: a.description,
            url: a.url,
            profiles: views,
        });
    }
    let status = f.status();
    let html = render(&CataloguePage {
        ctx: ctx.page(),
        f,
        apps,
        notice,
    })?;
    Ok((status, html).into_response())
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NoticeQuery {
    esito: String,
}

pub async fn show(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let n = (q.esito == "salvato").then(|| i18n::t(ctx.lang, "cat.saved"));
    page(&state, &ctx, FormErrors::default(), n).await
}

/// Form bodies with repeated keys (checkboxes) are read as pairs.
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

async fn outcome(state: &Shared, ctx: &Ctx, r: Result<(), AppError>) -> Result<Response, WebError> {
    match r {
        Ok(()) => Ok(Redirect::to("/admin/catalogo?esito=salvato").into_response()),
        Err(AppError::Invalid { field, message }) => {
            let mut f = FormErrors::default();
            f.push(field, message);
            page(state, ctx, f, None).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn create_application(
    State(state): State<Shared>,
    ctx: Ctx,
    body: String,
) -> Result<Response, WebError> {
    let p = pairs(&body);
    ctx.check_csrf(&one(&p, "csrf_token"))?;
    let r = state
        .app
        .create_application(
            ctx.session.as_ref(),
            &one(&p, "code"),
            &one(&p, "name"),
            &one(&p, "description"),
            &one(&p, "url"),
            &ctx.origin,
        )
        .await
        .map(|_| ());
    outcome(&state, &ctx, r).await
}

pub async fn create_profile(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(app): Path<i64>,
    body: String,
) -> Result<Response, WebError> {
    let p = pairs(&body);
    ctx.check_csrf(&one(&p, "csrf_token"))?;
    let r = state
        .app
        .create_profile(
            ctx.session.as_ref(),
            app,
            &one(&p, "code"),
            &one(&p, "name"),
            &ctx.origin,
        )
        .await
        .map(|_| ());
    outcome(&state, &ctx, r).await
}

pub async fn set_rules(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(profile): Path<i64>,
    body: String,
) -> Result<Response, WebError> {
    let p = pairs(&body);
    ctx.check_csrf(&one(&p, "csrf_token"))?;
    let kinds: Vec<String> = p
        .iter()
        .filter(|(k, _)| k == "org_kinds")
        .map(|(_, v)| v.clone())
        .collect();
    let caps: Vec<String> = one(&p, "capabilities")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let implied: Vec<i64> = p
        .iter()
        .filter(|(k, _)| k == "implied")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let r = state
        .app
        .set_profile_rules(
            ctx.session.as_ref(),
            profile,
            &kinds,
            &caps,
            &implied,
            &ctx.origin,
        )
        .await;
    outcome(&state, &ctx, r).await
}
