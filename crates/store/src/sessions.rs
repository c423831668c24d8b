//! Server-side sessions in the database, so several instances share them.
//! Only a hash of the session id is stored: a leaked table opens no session.

use sqlx::{AnyConnection, FromRow};

use crate::{Db, Result};

#[derive(Clone, Debug, FromRow)]
pub struct Session {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub method: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn create(
    conn: &mut AnyConnection,
    id_hash: &str,
    user_id: i64,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
    source_address: Option<&str>,
    method: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, source_address, method)
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
    )
    .bind(id_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at)
    .bind(source_address)
    .bind(method)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(db: &Db, id_hash: &str) -> Result<Option<Session>> {
    Ok(sqlx::query_as(
        "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, method FROM sessions WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn touch(db: &Db, id_hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
        .bind(id_hash)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_for_user(conn: &mut AnyConnection, user_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected())
}

/// The user's open sessions, newest first.
pub async fn list_for_user(db: &Db, user_id: i64) -> Result<Vec<Session>> {
    Ok(sqlx::query_as(
        "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, method FROM sessions
         WHERE user_id = $1 ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?)
}

/// Ends one of the user's sessions, named by a prefix of its hash.
pub async fn delete_for_user_by_prefix(
    conn: &mut AnyConnection,
    user_id: i64,
    prefix: &str,
) -> Result<bool> {
    if prefix.len() < 16 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    Ok(
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash LIKE $2")
            .bind(user_id)
            .bind(format!("{prefix}%"))
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Ends all the user's sessions except `keep`.
pub async fn delete_others(conn: &mut AnyConnection, user_id: i64, keep: &str) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
            .bind(user_id)
            .bind(keep)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
