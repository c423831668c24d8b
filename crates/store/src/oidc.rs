//! Storage of the OpenID Connect provider: signing keys, clients, codes,
//! grants (token families), refresh tokens, subject identifiers. Only hashes
//! of codes, refresh tokens and client secrets are stored.

use sqlx::{AnyConnection, FromRow};

use crate::{Db, Result};

#[derive(Clone, Debug, FromRow)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    pub private_pem: String,
    pub public_jwk: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

const KEY_COLUMNS: &str = "kid, alg, private_pem, public_jwk, created_at, retired_at";

pub async fn insert_key(conn: &mut AnyConnection, k: &SigningKey) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_keys (kid, alg, private_pem, public_jwk, created_at, retired_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&k.kid)
    .bind(&k.alg)
    .bind(&k.private_pem)
    .bind(&k.public_jwk)
    .bind(k.created_at)
    .bind(k.retired_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Retires the active keys of an algorithm (a newer one takes over).
pub async fn retire_keys(conn: &mut AnyConnection, alg: &str, now: i64) -> Result<u64> {
    Ok(
        sqlx::query("UPDATE oidc_keys SET retired_at = $2 WHERE alg = $1 AND retired_at IS NULL")
            .bind(alg)
            .bind(now)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Active keys (newest first) and keys retired after `published_since`.
pub async fn published_keys(db: &Db, published_since: i64) -> Result<Vec<SigningKey>> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM oidc_keys WHERE retired_at IS NULL OR retired_at > $1
         ORDER BY created_at DESC, kid"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(published_since)
        .fetch_all(db.pool())
        .await?)
}

pub async fn active_key_count(conn: &mut AnyConnection, alg: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM oidc_keys WHERE alg = $1 AND retired_at IS NULL")
            .bind(alg)
            .fetch_one(conn)
            .await?,
    )
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Client {
    pub client_id: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub application_id: i64,
    pub name: String,
    pub is_public: i64,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub scopes: String,
    pub id_token_alg: String,
    pub backchannel_logout_uri: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const CLIENT_COLUMNS: &str = "client_id, secret_hash, application_id, name, is_public, redirect_uris, post_logout_redirect_uris, scopes, id_token_alg, backchannel_logout_uri, created_at, revoked_at";

pub async fn insert_client(
    conn: &mut AnyConnection,
    c: &Client,
    created_by: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_clients (client_id, secret_hash, application_id, name, is_public, redirect_uris,
            post_logout_redirect_uris, scopes, id_token_alg, backchannel_logout_uri, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&c.client_id)
    .bind(c.secret_hash.as_deref())
    .bind(c.application_id)
    .bind(&c.name)
    .bind(c.is_public)
    .bind(&c.redirect_uris)
    .bind(&c.post_logout_redirect_uris)
    .bind(&c.scopes)
    .bind(&c.id_token_alg)
    .bind(c.backchannel_logout_uri.as_deref())
    .bind(created_by)
    .bind(c.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A live (not revoked) client.
pub async fn client(db: &Db, client_id: &str) -> Result<Option<Client>> {
    let sql = format!(
        "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1 AND revoked_at IS NULL"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(client_id)
        .fetch_optional(db.pool())
        .await?)
}

/// The same read on the caller's connection (inside a write transaction).
pub async fn client_in(conn: &mut AnyConnection, client_id: &str) -> Result<Option<Client>> {
    let sql = format!(
        "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1 AND revoked_at IS NULL"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(client_id)
        .fetch_optional(conn)
        .await?)
}

pub async fn clients(db: &Db) -> Result<Vec<Client>> {
    let sql = format!(
        "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE revoked_at IS NULL ORDER BY created_at"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?)
}

/// The user's opaque subject identifier, created the first time it is needed.
pub async fn ensure_subject(
    conn: &mut AnyConnection,
    user_id: i64,
    candidate: &str,
) -> Result<String> {
    sqlx::query(
        "INSERT INTO oidc_subjects (user_id, subject) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(candidate)
    .execute(&mut *conn)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT subject FROM oidc_subjects WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(conn)
            .await?,
    )
}

/// The subject inside a transaction.
pub async fn subject_in(conn: &mut AnyConnection, user_id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT subject FROM oidc_subjects WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn subject_of(db: &Db, user_id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT subject FROM oidc_subjects WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?,
    )
}

pub async fn user_of_subject(db: &Db, subject: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM oidc_subjects WHERE subject = $1")
            .bind(subject)
            .fetch_optional(db.pool())
            .await?,
    )
}

#[derive(Clone, Debug, FromRow)]
pub struct Code {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: i64,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: i64,
    pub session_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub grant_id: Option<String>,
}

pub async fn insert_code(conn: &mut AnyConnection, c: &Code) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge,
            code_challenge_method, auth_time, session_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&c.code_hash)
    .bind(&c.client_id)
    .bind(c.user_id)
    .bind(&c.redirect_uri)
    .bind(&c.scope)
    .bind(c.nonce.as_deref())
    .bind(c.code_challenge.as_deref())
    .bind(c.code_challenge_method.as_deref())
    .bind(c.auth_time)
    .bind(&c.session_hash)
    .bind(c.created_at)
    .bind(c.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn code(conn: &mut AnyConnection, code_hash: &str) -> Result<Option<Code>> {
    Ok(sqlx::query_as(
        "SELECT code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, code_challenge_method,
                auth_time, session_hash, created_at, expires_at, used_at, grant_id
         FROM oidc_codes WHERE code_hash = $1",
    )
    .bind(code_hash)
    .fetch_optional(conn)
    .await?)
}

/// Marks the code used, once: false if it was already used.
pub async fn use_code(
    conn: &mut AnyConnection,
    code_hash: &str,
    grant_id: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE oidc_codes SET used_at = $2, grant_id = $3 WHERE code_hash = $1 AND used_at IS NULL",
    )
    .bind(code_hash)
    .bind(now)
    .bind(grant_id)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

#[derive(Clone, Debug, FromRow)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: i64,
    pub scope: String,
    pub auth_time: i64,
    pub session_hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

pub async fn insert_grant(conn: &mut AnyConnection, g: &Grant) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_grants (id, client_id, user_id, scope, auth_time, session_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&g.id)
    .bind(&g.client_id)
    .bind(g.user_id)
    .bind(&g.scope)
    .bind(g.auth_time)
    .bind(&g.session_hash)
    .bind(g.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn grant(db: &Db, id: &str) -> Result<Option<Grant>> {
    Ok(sqlx::query_as(
        "SELECT id, client_id, user_id, scope, auth_time, session_hash, created_at, revoked_at
         FROM oidc_grants WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

/// Revokes a grant and every refresh token of its family.
pub async fn revoke_grant(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let n =
        sqlx::query("UPDATE oidc_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    sqlx::query(
        "UPDATE oidc_refresh_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// The live grants given in a portal session (RP-initiated logout ends them).
pub async fn grants_of_session(
    conn: &mut AnyConnection,
    session_hash: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM oidc_grants WHERE session_hash = $1 AND revoked_at IS NULL",
    )
    .bind(session_hash)
    .fetch_all(conn)
    .await?)
}

/// Live grants of a user, for back-channel logout: (grant id, client id).
pub async fn live_grants_of_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, client_id FROM oidc_grants WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

#[derive(Clone, Debug, FromRow)]
pub struct RefreshToken {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub user_id: i64,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub rotated_to: Option<String>,
    pub revoked_at: Option<i64>,
}

pub async fn insert_refresh(conn: &mut AnyConnection, r: &RefreshToken) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_refresh_tokens (token_hash, grant_id, client_id, user_id, scope, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.token_hash)
    .bind(&r.grant_id)
    .bind(&r.client_id)
    .bind(r.user_id)
    .bind(&r.scope)
    .bind(r.created_at)
    .bind(r.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn refresh_token(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<RefreshToken>> {
    Ok(sqlx::query_as(
        "SELECT token_hash, grant_id, client_id, user_id, scope, created_at, expires_at, used_at, rotated_to, revoked_at
         FROM oidc_refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?)
}

/// Marks a refresh token used and names its successor, once: false if it was
/// already used (a replay).
pub async fn rotate_refresh(
    conn: &mut AnyConnection,
    token_hash: &str,
    successor: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE oidc_refresh_tokens SET used_at = $2, rotated_to = $3
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .bind(successor)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}
