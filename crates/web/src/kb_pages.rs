//! The knowledge base (FAQ) of the assistance desk: the public pages
//! (`/faq` with search and a filter by application, `/faq/{slug}`), the
//! suggestions shown while a request is typed and "La risposta mi ha
//! aiutato", and the staff's pages under `/ufficio/faq` (list, new, edit with
//! preview, versions, publish and withdraw). Every page works without
//! JavaScript; htmx only refreshes the suggestions as one types.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sportello_app::kb::{ArticleInput, Hit, markdown};
use sportello_store::kb::{Article, Published};

use crate::Shared;
use crate::ctx::{Ctx, FormErrors, FormResult, PageCtx, field_error, form};
use crate::error::WebError;
use crate::i18n::{self, Lang};
use crate::pages::render;

/// Results on the public search page, and suggestions on the request form.
const PAGE_RESULTS: usize = 20;
const SUGGESTIONS: usize = 3;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/faq", get(faq))
        .route("/faq/{slug}", get(article))
        .route("/faq/{slug}/aiutato", post(helped))
        .route("/assistenza/{code}/faq", get(suggestions_fragment))
        .route("/ufficio/faq", get(staff_list))
        .route("/ufficio/faq/nuova", get(staff_new).post(staff_create))
        .route("/ufficio/faq/{id}", get(staff_edit).post(staff_save))
        .route("/ufficio/faq/{id}/pubblicazione", post(staff_publish))
}

fn t(lang: Lang, key: &str) -> &'static str {
    i18n::t(lang, key)
}

/// An article suggested on the request form.
pub struct Suggestion {
    pub slug: String,
    pub question: String,
    /// Escaped, with the matching words in `<mark>`.
    pub snippet_html: String,
}

impl From<Hit> for Suggestion {
    fn from(h: Hit) -> Self {
        Suggestion {
            slug: h.slug,
            question: h.question,
            snippet_html: h.snippet_html,
        }
    }
}

/// The articles matching what a requester has typed (subject and description).
pub async fn suggest(state: &Shared, subject: &str, body: &str) -> Vec<Suggestion> {
    let text = format!("{subject} {body}");
    match state.app.kb_search(&text, None, SUGGESTIONS).await {
        Ok(hits) => hits.into_iter().map(Suggestion::from).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "FAQ suggestions unavailable");
            Vec::new()
        }
    }
}

// ------------------------------------------------------------------ public

#[derive(Deserialize, Default)]
pub struct FaqQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    app: String,
}

pub struct ResultView {
    pub slug: String,
    pub question: String,
    pub snippet_html: String,
    pub application: String,
}

/// The application filter: code, name, results.
pub struct AppFilter {
    pub code: String,
    pub name: String,
    pub count: usize,
    pub selected: bool,
}

pub struct Group {
    pub name: String,
    pub articles: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "kb/faq.html")]
struct FaqPage {
    ctx: PageCtx,
    q: String,
    app: String,
    searched: bool,
    results: Vec<ResultView>,
    filters: Vec<AppFilter>,
    /// Without a query: every published article, by application.
    groups: Vec<Group>,
}

fn app_label(lang: Lang, name: Option<&str>) -> String {
    name.map(str::to_string)
        .unwrap_or_else(|| t(lang, "kb.general").to_string())
}

/// `/faq`: the search box, the results with their snippets and the filter
/// by application; without a query, every article by application.
async fn faq(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(ask): Query<FaqQuery>,
) -> Result<Response, WebError> {
    let app = &state.app;
    let published = sportello_store::kb::published(&app.db)
        .await
        .map_err(sportello_app::AppError::from)?;
    let names: BTreeMap<String, String> = published
        .iter()
        .filter_map(|p| Some((p.application_code.clone()?, p.application_name.clone()?)))
        .collect();
    let q = ask.q.trim().to_string();
    let searched = !sportello_core::kb::normalize_query(&q).is_empty();
    let mut results = Vec::new();
    let mut filters = Vec::new();
    let mut groups = Vec::new();
    if searched {
        // Counts per application come from the unfiltered results.
        let all = app.kb_search(&q, None, 200).await?;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for h in &all {
            *counts.entry(h.application.clone()).or_default() += 1;
        }
        filters = counts
            .into_iter()
            .map(|(code, count)| AppFilter {
                name: app_label(
                    ctx.lang,
                    names
                        .get(&code)
                        .map(String::as_str)
                        .filter(|_| !code.is_empty()),
                ),
                selected: code == ask.app,
                code,
                count,
            })
            .collect();
        let hits = if ask.app.is_empty() {
            all.into_iter().take(PAGE_RESULTS).collect()
        } else {
            app.kb_search(&q, Some(&ask.app), PAGE_RESULTS).await?
        };
        results = hits
            .into_iter()
            .map(|h| ResultView {
                application: app_label(ctx.lang, names.get(&h.application).map(String::as_str)),
                slug: h.slug,
                question: h.question,
                snippet_html: h.snippet_html,
            })
            .collect();
    } else {
        let mut by_app: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for p in &published {
            by_app
                .entry(app_label(ctx.lang, p.application_name.as_deref()))
                .or_default()
                .push((p.slug.clone(), p.question_it.clone()));
        }
        groups = by_app
            .into_iter()
            .map(|(name, articles)| Group { name, articles })
            .collect();
    }
    Ok(render(&FaqPage {
        ctx: ctx.page(),
        q,
        app: ask.app,
        searched,
        results,
        filters,
        groups,
    })?
    .into_response())
}

#[derive(Deserialize, Default)]
pub struct ArticleQuery {
    #[serde(default)]
    aiutato: Option<String>,
    #[serde(default)]
    canale: String,
}

#[derive(Template)]
#[template(path = "kb/article.html")]
struct ArticlePage {
    ctx: PageCtx,
    a: Published,
    answer_it_html: String,
    answer_en_html: String,
    application: String,
    thanked: bool,
    channel: String,
}

/// `/faq/{slug}`: the published version of an article.
async fn article(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(ask): Query<ArticleQuery>,
) -> Result<Response, WebError> {
    let p = state.app.kb_public_article(&slug).await?;
    Ok(render(&ArticlePage {
        application: app_label(ctx.lang, p.article.application_name.as_deref()),
        ctx: ctx.page(),
        answer_it_html: p.answer_it_html,
        answer_en_html: p.answer_en_html,
        a: p.article,
        thanked: ask.aiutato.is_some(),
        channel: ask.canale,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct HelpedForm {
    csrf_token: String,
    #[serde(default)]
    channel: String,
}

/// "La risposta mi ha aiutato": a request avoided, then the article with thanks.
async fn helped(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(slug): Path<String>,
    body: FormResult<HelpedForm>,
) -> Result<Response, WebError> {
    let body = form(body)?;
    ctx.check_csrf(&body.csrf_token)?;
    state
        .app
        .record_deflection(ctx.session.as_ref(), &slug, &body.channel)
        .await?;
    let channel: String = url::form_urlencoded::byte_serialize(body.channel.as_bytes()).collect();
    let slug: String = url::form_urlencoded::byte_serialize(slug.as_bytes()).collect();
    Ok(Redirect::to(&format!("/faq/{slug}?aiutato=1&canale={channel}")).into_response())
}

#[derive(Deserialize, Default)]
pub struct SuggestQuery {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

#[derive(Template)]
#[template(path = "kb/suggestions.html")]
struct SuggestionsFragment {
    ctx: PageCtx,
    code: String,
    suggestions: Vec<Suggestion>,
    faq_searched: bool,
}

/// The suggestions for what is typed on a channel's request form (htmx).
async fn suggestions_fragment(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(ask): Query<SuggestQuery>,
) -> Result<Response, WebError> {
    let suggestions = suggest(&state, &ask.subject, &ask.body).await;
    let faq_searched =
        !sportello_core::kb::normalize_query(&format!("{} {}", ask.subject, ask.body)).is_empty();
    Ok(render(&SuggestionsFragment {
        ctx: ctx.page(),
        code,
        suggestions,
        faq_searched,
    })?
    .into_response())
}

// ------------------------------------------------------------------- staff

pub struct ArticleRow {
    pub id: i64,
    pub slug: String,
    pub question: String,
    pub application: String,
    pub channel: String,
    pub version: i64,
    pub published: Option<i64>,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "kb/staff_list.html")]
struct StaffList {
    ctx: PageCtx,
    rows: Vec<ArticleRow>,
}

async fn staff_list(State(state): State<Shared>, ctx: Ctx) -> Result<Response, WebError> {
    let articles = state.app.kb_articles(ctx.session.as_ref()).await?;
    let rows = articles
        .into_iter()
        .map(|a: Article| ArticleRow {
            id: a.id,
            slug: a.slug,
            question: a.question_it,
            application: a
                .application_name
                .unwrap_or_else(|| t(ctx.lang, "kb.general").to_string()),
            channel: a.channel_code.unwrap_or_default(),
            version: a.current_version,
            published: a.published_version,
            updated: state.app.format_time(a.updated_at),
        })
        .collect();
    Ok(render(&StaffList {
        ctx: ctx.page(),
        rows,
    })?
    .into_response())
}

pub struct VersionRow {
    pub version: i64,
    pub question: String,
    pub author: String,
    pub date: String,
    pub published: bool,
}

#[derive(Template)]
#[template(path = "kb/staff_edit.html")]
struct StaffEdit {
    ctx: PageCtx,
    f: FormErrors,
    /// `None` for a new article.
    id: Option<i64>,
    v: ArticleInput,
    applications: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    preview: Option<(String, String)>,
    current_version: i64,
    published_version: Option<i64>,
    /// The last version is the one published.
    current_published: bool,
    versions: Vec<VersionRow>,
    saved: bool,
    may_publish: bool,
}

#[derive(Deserialize, Default)]
pub struct EditQuery {
    #[serde(default)]
    salvato: Option<String>,
}

async fn edit_page(
    state: &Shared,
    ctx: &Ctx,
    id: Option<i64>,
    v: ArticleInput,
    f: FormErrors,
    preview: bool,
    saved: bool,
) -> Result<StaffEdit, WebError> {
    let app = &state.app;
    let applications = sportello_store::catalogue::applications(&app.db)
        .await
        .map_err(sportello_app::AppError::from)?
        .into_iter()
        .map(|a| (a.code, a.name))
        .collect();
    let channels = sportello_store::desk::channels(&app.db)
        .await
        .map_err(sportello_app::AppError::from)?
        .into_iter()
        .map(|c| (c.code, c.name))
        .collect();
    let (mut current_version, mut published_version, mut versions) = (0, None, Vec::new());
    if let Some(id) = id {
        let (article, list) = app.kb_article(ctx.session.as_ref(), id).await?;
        current_version = article.current_version;
        published_version = article.published_version;
        versions = list
            .into_iter()
            .map(|v| VersionRow {
                published: Some(v.version) == article.published_version,
                version: v.version,
                question: v.question_it,
                author: v.author_label,
                date: app.format_time(v.created_at),
            })
            .collect();
    }
    let may_publish = app
        .authorize(
            ctx.session.as_ref(),
            &sportello_core::authz::Action::PublishKnowledgeBase,
        )
        .is_ok();
    Ok(StaffEdit {
        ctx: ctx.page(),
        preview: preview.then(|| {
            (
                markdown::to_html(&v.answer_it),
                markdown::to_html(&v.answer_en),
            )
        }),
        f,
        id,
        v,
        applications,
        channels,
        current_version,
        published_version,
        current_published: id.is_some() && published_version == Some(current_version),
        versions,
        saved,
        may_publish,
    })
}

async fn staff_new(State(state): State<Shared>, ctx: Ctx) -> Result<Response, WebError> {
    state.app.authorize(
        ctx.session.as_ref(),
        &sportello_core::authz::Action::EditKnowledgeBase,
    )?;
    let page = edit_page(
        &state,
        &ctx,
        None,
        ArticleInput::default(),
        FormErrors::default(),
        false,
        false,
    )
    .await?;
    Ok(render(&page)?.into_response())
}

async fn staff_edit(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(ask): Query<EditQuery>,
) -> Result<Response, WebError> {
    let (article, versions) = state.app.kb_article(ctx.session.as_ref(), id).await?;
    let last = versions.first();
    let v = ArticleInput {
        slug: article.slug.clone(),
        application_code: article.application_code.clone().unwrap_or_default(),
        channel_code: article.channel_code.clone().unwrap_or_default(),
        question_it: last.map(|v| v.question_it.clone()).unwrap_or_default(),
        answer_it: last.map(|v| v.answer_it.clone()).unwrap_or_default(),
        question_en: last.map(|v| v.question_en.clone()).unwrap_or_default(),
        answer_en: last.map(|v| v.answer_en.clone()).unwrap_or_default(),
    };
    let page = edit_page(
        &state,
        &ctx,
        Some(id),
        v,
        FormErrors::default(),
        false,
        ask.salvato.is_some(),
    )
    .await?;
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct EditForm {
    csrf_token: String,
    #[serde(default)]
    action: String,
    #[serde(flatten)]
    article: ArticleInput,
}

async fn save(
    state: Shared,
    ctx: Ctx,
    id: Option<i64>,
    body: FormResult<EditForm>,
) -> Result<Response, WebError> {
    let body = form(body)?;
    ctx.check_csrf(&body.csrf_token)?;
    state.app.authorize(
        ctx.session.as_ref(),
        &sportello_core::authz::Action::EditKnowledgeBase,
    )?;
    if body.action == "preview" {
        let page = edit_page(
            &state,
            &ctx,
            id,
            body.article,
            FormErrors::default(),
            true,
            false,
        )
        .await?;
        return Ok(render(&page)?.into_response());
    }
    match state
        .app
        .save_article(ctx.session.as_ref(), id, body.article.clone(), &ctx.origin)
        .await
    {
        Ok(saved) => Ok(Redirect::to(&format!("/ufficio/faq/{saved}?salvato=1")).into_response()),
        Err(e) => {
            let mut f = FormErrors::default();
            field_error(ctx.lang, e, &mut f)?;
            let page = edit_page(&state, &ctx, id, body.article, f, false, false).await?;
            let status = page.f.status();
            Ok((status, render(&page)?).into_response())
        }
    }
}

async fn staff_create(
    State(state): State<Shared>,
    ctx: Ctx,
    body: FormResult<EditForm>,
) -> Result<Response, WebError> {
    save(state, ctx, None, body).await
}

async fn staff_save(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: FormResult<EditForm>,
) -> Result<Response, WebError> {
    save(state, ctx, Some(id), body).await
}

#[derive(Deserialize)]
pub struct PublishForm {
    csrf_token: String,
    /// "publish" or "unpublish".
    action: String,
    #[serde(default)]
    version: Option<i64>,
}

async fn staff_publish(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: FormResult<PublishForm>,
) -> Result<Response, WebError> {
    let body = form(body)?;
    ctx.check_csrf(&body.csrf_token)?;
    let publish = match body.action.as_str() {
        "publish" => true,
        "unpublish" => false,
        _ => return Err(WebError::BadRequest("action: publish o unpublish".into())),
    };
    state
        .app
        .publish_article(ctx.session.as_ref(), id, publish, body.version, &ctx.origin)
        .await?;
    Ok(Redirect::to(&format!("/ufficio/faq/{id}?salvato=1")).into_response())
}
