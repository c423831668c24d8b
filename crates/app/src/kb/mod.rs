//! The knowledge base (FAQ) of the assistance desk: articles written in
//! Markdown by the desk's staff, every save a new version, one version
//! published at most; public search with Italian analysis (`search`);
//! suggestions on the request form, and the requests they avoided
//! ("La risposta mi ha aiutato"), counted in the desk's reports.

pub mod demo;
pub mod markdown;
pub mod search;

use sportello_core::authz::Action;
use sportello_core::kb::ArticleText;
use sportello_store::kb::{self as store, Article, Published, Version};
use sportello_store::{StoreError, catalogue, desk as desk_store};

use crate::{App, AppError, Origin, SessionUser, now_micros, record};

pub use search::{Hit, IndexedArticle, KbIndex};

/// An article as the staff's form sends it.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ArticleInput {
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub application_code: String,
    #[serde(default)]
    pub channel_code: String,
    #[serde(default)]
    pub question_it: String,
    #[serde(default)]
    pub answer_it: String,
    #[serde(default)]
    pub question_en: String,
    #[serde(default)]
    pub answer_en: String,
}

/// A published article ready for its page.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PublicArticle {
    pub article: Published,
    pub answer_it_html: String,
    pub answer_en_html: String,
}

fn indexed(p: &Published) -> IndexedArticle {
    IndexedArticle {
        id: p.id,
        slug: p.slug.clone(),
        question_it: p.question_it.clone(),
        answer_it: markdown::to_text(&p.answer_it),
        question_en: p.question_en.clone(),
        answer_en: markdown::to_text(&p.answer_en),
        application: p.application_code.clone().unwrap_or_default(),
        channel: p.channel_code.clone().unwrap_or_default(),
    }
}

impl App {
    /// Rebuilds the search index from the published articles (start-up,
    /// `sportello kb reindex`). Returns how many are indexed.
    pub async fn kb_rebuild_index(&self) -> Result<usize, AppError> {
        let published = store::published(&self.db).await?;
        let docs: Vec<IndexedArticle> = published.iter().map(indexed).collect();
        let index = self.kb.clone();
        tokio::task::spawn_blocking(move || index.rebuild(&docs))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(AppError::Internal)?;
        Ok(published.len())
    }

    /// Brings one article's entry in the index in line with the database.
    /// The database has committed already: a failure here is logged, and
    /// the next start-up rebuilds the index.
    async fn kb_reindex_one(&self, id: i64) {
        let result = async {
            let mut conn = self.db.pool().acquire().await.map_err(StoreError::from)?;
            let published = store::published_by_id_in(&mut conn, id).await?;
            drop(conn);
            let index = self.kb.clone();
            tokio::task::spawn_blocking(move || match published {
                Some(p) => index.apply(false, &[], &[indexed(&p)]),
                None => index.apply(false, &[id], &[]),
            })
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(AppError::Internal)
        }
        .await;
        if let Err(e) = result {
            tracing::error!(article = id, error = %e, "the FAQ index was not updated");
        }
    }

    /// Saves a new version of an article (a new article when `id` is `None`).
    /// Returns the article's id. Nothing is written on bad input.
    pub async fn save_article(
        &self,
        who: Option<&SessionUser>,
        id: Option<i64>,
        input: ArticleInput,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        self.authorize(who, &Action::EditKnowledgeBase)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let mut p: Vec<(String, String)> = Vec::new();
        let text = match (ArticleText {
            slug: input.slug.clone(),
            question_it: input.question_it.clone(),
            answer_it: input.answer_it.clone(),
            question_en: input.question_en.clone(),
            answer_en: input.answer_en.clone(),
        })
        .validate()
        {
            Ok(t) => t,
            Err(errors) => {
                p.extend(errors);
                ArticleText::default()
            }
        };
        let application_id = match input.application_code.trim() {
            "" => None,
            a => match catalogue::application_by_code(&self.db, a).await? {
                Some(app) => Some(app.id),
                None => {
                    p.push((
                        "application_code".into(),
                        format!("applicazione «{a}» inesistente"),
                    ));
                    None
                }
            },
        };
        let channel_id = match input.channel_code.trim() {
            "" => None,
            c => match desk_store::channel_by_code(&self.db, &c.to_uppercase()).await? {
                Some(ch) => Some(ch.id),
                None => {
                    p.push(("channel_code".into(), format!("canale «{c}» inesistente")));
                    None
                }
            },
        };
        if !p.is_empty() {
            return Err(AppError::InvalidFields(p));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if store::slug_taken_in(&mut tx, &text.slug, id).await? {
            return Err(AppError::InvalidFields(vec![(
                "slug".into(),
                format!(
                    "l'indirizzo «{}» è già usato da un altro articolo",
                    text.slug
                ),
            )]));
        }
        let (article_id, version) = match id {
            None => (
                store::insert_article_in(&mut tx, &text.slug, application_id, channel_id, now)
                    .await?,
                1,
            ),
            Some(id) => {
                let current = store::lock_article_in(&mut tx, id, now)
                    .await?
                    .ok_or(AppError::NotFound)?;
                (id, current + 1)
            }
        };
        let author = format!("{} {}", who.user.given_name, who.user.family_name);
        store::add_version_in(
            &mut tx,
            article_id,
            version,
            &text.question_it,
            &text.answer_it,
            &text.question_en,
            &text.answer_en,
            Some(who.user.id),
            author.trim(),
            now,
        )
        .await?;
        store::update_article_in(
            &mut tx,
            article_id,
            &text.slug,
            application_id,
            channel_id,
            version,
            now,
        )
        .await?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "kb.article.save",
            &format!("kb_article:{article_id}"),
            &serde_json::json!({
                "slug": text.slug,
                "version": version,
                "application": input.application_code.trim(),
                "channel": input.channel_code.trim(),
                "question_it": text.question_it,
            })
            .to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        // The slug and grouping of a published article may have changed.
        self.kb_reindex_one(article_id).await;
        Ok(article_id)
    }

    /// Publishes a version of an article (its last when `None`), or withdraws
    /// it from the public with `publish = false`.
    pub async fn publish_article(
        &self,
        who: Option<&SessionUser>,
        id: i64,
        publish: bool,
        version: Option<i64>,
        origin: &Origin,
    ) -> Result<(), AppError> {
        self.authorize(who, &Action::PublishKnowledgeBase)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let current = store::lock_article_in(&mut tx, id, now)
            .await?
            .ok_or(AppError::NotFound)?;
        let target = if publish {
            let v = version.unwrap_or(current);
            if store::version_in(&mut tx, id, v).await?.is_none() {
                return Err(AppError::Invalid {
                    field: "version",
                    message: format!("la versione {v} non esiste"),
                });
            }
            Some(v)
        } else {
            None
        };
        store::set_published_in(&mut tx, id, target, now).await?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            if publish {
                "kb.article.publish"
            } else {
                "kb.article.unpublish"
            },
            &format!("kb_article:{id}"),
            &serde_json::json!({ "version": target }).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.kb_reindex_one(id).await;
        Ok(())
    }

    /// Every article with its state, for the staff.
    pub async fn kb_articles(&self, who: Option<&SessionUser>) -> Result<Vec<Article>, AppError> {
        self.authorize(who, &Action::EditKnowledgeBase)?;
        Ok(store::articles(&self.db).await?)
    }

    /// An article and its versions, newest first, for the staff.
    pub async fn kb_article(
        &self,
        who: Option<&SessionUser>,
        id: i64,
    ) -> Result<(Article, Vec<Version>), AppError> {
        self.authorize(who, &Action::EditKnowledgeBase)?;
        let article = store::article(&self.db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let versions = store::versions(&self.db, id).await?;
        Ok((article, versions))
    }

    /// Public search of the published articles.
    pub async fn kb_search(
        &self,
        query: &str,
        application: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Hit>, AppError> {
        let index = self.kb.clone();
        let query = query.to_string();
        let application = application.map(str::to_string);
        tokio::task::spawn_blocking(move || index.search(&query, application.as_deref(), limit))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(AppError::Internal)
    }

    /// A published article by its address (what the public sees).
    pub async fn kb_public_article(&self, slug: &str) -> Result<PublicArticle, AppError> {
        let article = store::published_by_slug(&self.db, slug)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(PublicArticle {
            answer_it_html: markdown::to_html(&article.answer_it),
            answer_en_html: markdown::to_html(&article.answer_en),
            article,
        })
    }

    /// "La risposta mi ha aiutato": a request not written thanks to a
    /// published article, counted for the article's application and the
    /// channel the requester was writing to.
    pub async fn record_deflection(
        &self,
        who: Option<&SessionUser>,
        slug: &str,
        channel_code: &str,
    ) -> Result<(), AppError> {
        let article = store::published_by_slug(&self.db, slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let now = now_micros();
        let (_, day) = self.civil_day(now);
        let mut tx = self.db.begin_write().await?;
        let channel_id = match channel_code.trim() {
            "" => None,
            c => desk_store::channel_by_code_in(&mut tx, &c.to_uppercase())
                .await?
                .map(|ch| ch.id),
        };
        let application_id = match article.application_code.as_deref() {
            Some(code) => desk_store::id_by_code_in(&mut tx, "applications", code).await?,
            None => None,
        };
        store::add_deflection_in(
            &mut tx,
            article.id,
            application_id,
            channel_id,
            who.map(|w| w.user.id),
            day,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}
