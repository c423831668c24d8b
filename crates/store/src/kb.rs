//! The knowledge base of the assistance desk: articles, their versions, the
//! published version of each, and the requests avoided thanks to them.
//!
//! Functions ending in `_in` run on the caller's transaction; the others read
//! from the pool.

use sqlx::{AnyConnection, FromRow};

use crate::{Db, Result};

/// An article with its last version's question, for lists.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Article {
    pub id: i64,
    pub slug: String,
    pub application_id: Option<i64>,
    pub channel_id: Option<i64>,
    pub current_version: i64,
    pub published_version: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The question of the last version saved.
    pub question_it: String,
    pub application_code: Option<String>,
    pub application_name: Option<String>,
    pub channel_code: Option<String>,
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Version {
    pub article_id: i64,
    pub version: i64,
    pub question_it: String,
    pub answer_it: String,
    pub question_en: String,
    pub answer_en: String,
    pub author_id: Option<i64>,
    pub author_label: String,
    pub created_at: i64,
}

/// A published article with its published text: what the public and the
/// search index see.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Published {
    pub id: i64,
    pub slug: String,
    pub version: i64,
    pub question_it: String,
    pub answer_it: String,
    pub question_en: String,
    pub answer_en: String,
    pub application_code: Option<String>,
    pub application_name: Option<String>,
    pub channel_code: Option<String>,
    pub channel_name: Option<String>,
    pub published_at: i64,
}

const ARTICLE_SELECT: &str =
    "SELECT a.id, a.slug, a.application_id, a.channel_id, a.current_version,
        a.published_version, a.created_at, a.updated_at, v.question_it,
        p.code AS application_code, p.name AS application_name, c.code AS channel_code
    FROM kb_articles a
    JOIN kb_versions v ON v.article_id = a.id AND v.version = a.current_version
    LEFT JOIN applications p ON p.id = a.application_id
    LEFT JOIN channels c ON c.id = a.channel_id";

const PUBLISHED_SELECT: &str = "SELECT a.id, a.slug, v.version, v.question_it, v.answer_it,
        v.question_en, v.answer_en, p.code AS application_code, p.name AS application_name,
        c.code AS channel_code, c.name AS channel_name, a.updated_at AS published_at
    FROM kb_articles a
    JOIN kb_versions v ON v.article_id = a.id AND v.version = a.published_version
    LEFT JOIN applications p ON p.id = a.application_id
    LEFT JOIN channels c ON c.id = a.channel_id";

pub async fn insert_article_in(
    conn: &mut AnyConnection,
    slug: &str,
    application_id: Option<i64>,
    channel_id: Option<i64>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO kb_articles (slug, application_id, channel_id, current_version,
            published_version, created_at, updated_at)
         VALUES ($1, $2, $3, 0, NULL, $4, $4) RETURNING id",
    )
    .bind(slug)
    .bind(application_id)
    .bind(channel_id)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Sets the grouping and the slug, and makes `version` the current one.
pub async fn update_article_in(
    conn: &mut AnyConnection,
    id: i64,
    slug: &str,
    application_id: Option<i64>,
    channel_id: Option<i64>,
    version: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE kb_articles SET slug = $2, application_id = $3, channel_id = $4,
            current_version = $5, updated_at = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(slug)
    .bind(application_id)
    .bind(channel_id)
    .bind(version)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn add_version_in(
    conn: &mut AnyConnection,
    article_id: i64,
    version: i64,
    question_it: &str,
    answer_it: &str,
    question_en: &str,
    answer_en: &str,
    author_id: Option<i64>,
    author_label: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO kb_versions (article_id, version, question_it, answer_it, question_en,
            answer_en, author_id, author_label, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(article_id)
    .bind(version)
    .bind(question_it)
    .bind(answer_it)
    .bind(question_en)
    .bind(answer_en)
    .bind(author_id)
    .bind(author_label)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Publishes `version` (or withdraws the article with `None`).
pub async fn set_published_in(
    conn: &mut AnyConnection,
    id: i64,
    version: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE kb_articles SET published_version = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(version)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn article_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Article>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ARTICLE_SELECT} WHERE a.id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Locks an article's row for the caller's transaction (an UPDATE: a row
/// lock on PostgreSQL, the write lock already held on SQLite) and returns
/// its current version, so two saves never number the same version.
pub async fn lock_article_in(conn: &mut AnyConnection, id: i64, now: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE kb_articles SET updated_at = $2 WHERE id = $1 RETURNING current_version",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(conn)
    .await?)
}

pub async fn article(db: &Db, id: i64) -> Result<Option<Article>> {
    let mut conn = db.pool().acquire().await?;
    article_in(&mut conn, id).await
}

pub async fn slug_taken_in(
    conn: &mut AnyConnection,
    slug: &str,
    except_id: Option<i64>,
) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM kb_articles WHERE slug = $1 AND id <> $2")
            .bind(slug)
            .bind(except_id.unwrap_or(0))
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// Every article, by application then question.
pub async fn articles(db: &Db) -> Result<Vec<Article>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ARTICLE_SELECT} ORDER BY COALESCE(p.code, ''), v.question_it, a.id"
    )))
    .fetch_all(db.pool())
    .await?)
}

/// The versions of an article, newest first.
pub async fn versions(db: &Db, article_id: i64) -> Result<Vec<Version>> {
    Ok(sqlx::query_as(
        "SELECT article_id, version, question_it, answer_it, question_en, answer_en, author_id,
            author_label, created_at
         FROM kb_versions WHERE article_id = $1 ORDER BY version DESC",
    )
    .bind(article_id)
    .fetch_all(db.pool())
    .await?)
}

pub async fn version_in(
    conn: &mut AnyConnection,
    article_id: i64,
    version: i64,
) -> Result<Option<Version>> {
    Ok(sqlx::query_as(
        "SELECT article_id, version, question_it, answer_it, question_en, answer_en, author_id,
            author_label, created_at
         FROM kb_versions WHERE article_id = $1 AND version = $2",
    )
    .bind(article_id)
    .bind(version)
    .fetch_optional(conn)
    .await?)
}

/// Every published article with its published text (the index's source).
pub async fn published(db: &Db) -> Result<Vec<Published>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PUBLISHED_SELECT} ORDER BY a.id"
    )))
    .fetch_all(db.pool())
    .await?)
}

pub async fn published_by_slug(db: &Db, slug: &str) -> Result<Option<Published>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PUBLISHED_SELECT} WHERE a.slug = $1"
    )))
    .bind(slug)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn published_by_id_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Published>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PUBLISHED_SELECT} WHERE a.id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn add_deflection_in(
    conn: &mut AnyConnection,
    article_id: i64,
    application_id: Option<i64>,
    channel_id: Option<i64>,
    user_id: Option<i64>,
    day: i64,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO kb_deflections (article_id, application_id, channel_id, user_id, day,
            created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(article_id)
    .bind(application_id)
    .bind(channel_id)
    .bind(user_id)
    .bind(day)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Requests avoided in [from_day, to_day], per channel (0 = none named).
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct DeflectionCount {
    pub channel_id: i64,
    pub n: i64,
}

pub async fn deflection_counts(
    db: &Db,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<DeflectionCount>> {
    Ok(sqlx::query_as(
        "SELECT CAST(COALESCE(channel_id, 0) AS BIGINT) AS channel_id, CAST(COUNT(*) AS BIGINT) AS n
         FROM kb_deflections WHERE day >= $1 AND day <= $2
         GROUP BY COALESCE(channel_id, 0) ORDER BY 1",
    )
    .bind(from_day)
    .bind(to_day)
    .fetch_all(db.pool())
    .await?)
}

/// Requests avoided thanks to one article, all time.
pub async fn deflections_of(db: &Db, article_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM kb_deflections WHERE article_id = $1",
    )
    .bind(article_id)
    .fetch_one(db.pool())
    .await?)
}

/// Requests avoided in [from_day, to_day]: all of them (`None`), or those on
/// the channels worked by any of `office_ids` (an office's or a region's report).
pub async fn deflections_total(
    db: &Db,
    office_ids: Option<&[i64]>,
    from_day: i64,
    to_day: i64,
) -> Result<i64> {
    let filter = match office_ids {
        None => String::new(),
        Some([]) => return Ok(0),
        Some(ids) => {
            let ps: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
            format!(
                " AND channel_id IN (SELECT channel_id FROM channel_offices WHERE office_id IN ({}))",
                ps.join(",")
            )
        }
    };
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM kb_deflections WHERE day >= $1 AND day <= $2{filter}"
    );
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(from_day)
        .bind(to_day);
    for id in office_ids.unwrap_or_default() {
        q = q.bind(*id);
    }
    Ok(q.fetch_one(db.pool()).await?)
}
