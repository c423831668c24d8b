//! The knowledge base's public JSON API (`/api/v1/kb/...`): search and the
//! published article, on the same use cases as the `/faq` pages. No login:
//! only published articles are ever returned.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::Shared;
use crate::api::{ApiError, rfc3339};

type ApiResult<T> = Result<Json<T>, ApiError>;

#[derive(Deserialize, IntoParams)]
pub struct SearchParams {
    /// The visitor's words; punctuation and query syntax are ignored.
    pub q: String,
    /// Only the articles of this application (its code).
    #[serde(default)]
    pub application: Option<String>,
    /// At most this many results (1-50, default 10).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct HitOut {
    pub slug: String,
    pub question: String,
    /// The best passage of the answer, HTML-escaped, the matching words in `<mark>`.
    pub snippet_html: String,
    /// The application's code, empty for general articles.
    pub application: String,
    pub channel: String,
    pub score: f32,
}

#[utoipa::path(get, path = "/api/v1/kb/search", tag = "kb", params(SearchParams),
    responses((status = 200, body = [HitOut])))]
pub async fn search(
    State(state): State<Shared>,
    Query(p): Query<SearchParams>,
) -> ApiResult<Vec<HitOut>> {
    let limit = p.limit.unwrap_or(10).clamp(1, 50);
    let hits = state
        .app
        .kb_search(&p.q, p.application.as_deref(), limit)
        .await
        .map_err(ApiError::from)?;
    Ok(Json(
        hits.into_iter()
            .map(|h| HitOut {
                slug: h.slug,
                question: h.question,
                snippet_html: h.snippet_html,
                application: h.application,
                channel: h.channel,
                score: h.score,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ArticleOut {
    pub slug: String,
    pub version: i64,
    pub question_it: String,
    /// The answer's Markdown source.
    pub answer_it: String,
    /// The answer rendered as safe HTML.
    pub answer_it_html: String,
    pub question_en: Option<String>,
    pub answer_en: Option<String>,
    pub answer_en_html: Option<String>,
    pub application: Option<String>,
    pub channel: Option<String>,
    /// When it was last published or changed (RFC 3339).
    pub updated_at: String,
}

#[utoipa::path(get, path = "/api/v1/kb/articles/{slug}", tag = "kb",
    params(("slug" = String, Path, description = "The article's address")),
    responses((status = 200, body = ArticleOut), (status = 404, body = ApiError)))]
pub async fn article(
    State(state): State<Shared>,
    Path(slug): Path<String>,
) -> ApiResult<ArticleOut> {
    let p = state
        .app
        .kb_public_article(&slug)
        .await
        .map_err(ApiError::from)?;
    let english = !p.article.question_en.is_empty();
    let a = p.article;
    Ok(Json(ArticleOut {
        slug: a.slug,
        version: a.version,
        question_it: a.question_it,
        answer_it: a.answer_it,
        answer_it_html: p.answer_it_html,
        question_en: english.then_some(a.question_en),
        answer_en: english.then_some(a.answer_en),
        answer_en_html: english.then_some(p.answer_en_html),
        application: a.application_code,
        channel: a.channel_code,
        updated_at: rfc3339(a.published_at),
    }))
}

#[derive(OpenApi)]
#[openapi(
    paths(search, article),
    components(schemas(HitOut, ArticleOut)),
    tags((name = "kb", description = "Knowledge base of the assistance desk: search and published articles"))
)]
pub struct KbApiDoc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/kb/search", get(search))
        .route("/api/v1/kb/articles/{slug}", get(article))
}
