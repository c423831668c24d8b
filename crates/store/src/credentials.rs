//! Passwords, their history, single-use e-mailed tokens, failure counters and
//! smart-card certificates.

use sportello_core::identity::Failures;
use sqlx::{AnyConnection, FromRow};

use crate::directory::{USER_COLUMNS, User};
use crate::{Db, Result};

/// Sets a new password hash; `must_change` marks a temporary password.
pub async fn set_password(
    conn: &mut AnyConnection,
    user_id: i64,
    hash: &str,
    must_change: bool,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, password_changed_at = $3, must_change_password = $4,
                          password_warning_sent_at = NULL, failed_logins = 0, locked_until = NULL
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .bind(i64::from(must_change))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)",
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Backdates the last password change (demo data, migrations of old accounts).
pub async fn set_password_changed_at(
    conn: &mut AnyConnection,
    user_id: i64,
    changed_at: i64,
) -> Result<()> {
    sqlx::query("UPDATE users SET password_changed_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(changed_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// The last `n` password hashes, newest first.
pub async fn recent_password_hashes(db: &Db, user_id: i64, n: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(n)
    .fetch_all(db.pool())
    .await?)
}

pub async fn set_status(conn: &mut AnyConnection, user_id: i64, status: &str) -> Result<()> {
    sqlx::query("UPDATE users SET status = $2 WHERE id = $1")
        .bind(user_id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn save_failures(conn: &mut AnyConnection, user_id: i64, f: &Failures) -> Result<()> {
    sqlx::query("UPDATE users SET failed_logins = $2, last_failed_login_at = $3, locked_until = $4 WHERE id = $1")
        .bind(user_id)
        .bind(i64::from(f.count))
        .bind(f.last_at)
        .bind(f.locked_until)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn record_login(conn: &mut AnyConnection, user_id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $2 WHERE id = $1",
    )
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub fn failures_of(user: &User) -> Failures {
    Failures {
        count: user.failed_logins.max(0) as u32,
        last_at: user.last_failed_login_at,
        locked_until: user.locked_until,
    }
}

pub const ACTIVATION: &str = "activation";
pub const RESET: &str = "reset";

/// Stores a new token and voids the user's earlier unused ones of that purpose.
pub async fn create_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    user_id: i64,
    purpose: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query("UPDATE credential_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(purpose)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO credential_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, FromRow)]
pub struct Token {
    pub user_id: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Whether the user has an unused, unexpired token of this purpose.
pub async fn live_token_exists(db: &Db, user_id: i64, purpose: &str, now: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM credential_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
}

pub async fn find_token(db: &Db, token_hash: &str, purpose: &str) -> Result<Option<Token>> {
    Ok(sqlx::query_as("SELECT user_id, expires_at, used_at FROM credential_tokens WHERE token_hash = $1 AND purpose = $2")
        .bind(token_hash)
        .bind(purpose)
        .fetch_optional(db.pool())
        .await?)
}

/// Marks a token used; false if it was already used or has expired (so two
/// concurrent submissions cannot both succeed).
pub async fn consume_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE credential_tokens SET used_at = $3
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id",
    )
    .bind(token_hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(conn)
    .await?)
}

pub async fn address_failures(db: &Db, scope: &str, address: &str) -> Result<Failures> {
    let mut conn = db.pool().acquire().await?;
    address_failures_in(&mut conn, scope, address).await
}

/// The same read on the caller's connection (inside a write transaction:
/// never wait for a second pool connection while holding the write lock).
pub async fn address_failures_in(
    conn: &mut AnyConnection,
    scope: &str,
    address: &str,
) -> Result<Failures> {
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT failures, window_start, blocked_until FROM address_throttle WHERE scope = $1 AND address = $2",
    )
    .bind(scope)
    .bind(address)
    .fetch_optional(conn)
    .await?;
    Ok(row
        .map(|(count, last_at, locked_until)| Failures {
            count: count.max(0) as u32,
            last_at,
            locked_until,
        })
        .unwrap_or_default())
}

pub async fn save_address_failures(
    conn: &mut AnyConnection,
    scope: &str,
    address: &str,
    f: &Failures,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO address_throttle (scope, address, failures, window_start, blocked_until) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (scope, address) DO UPDATE SET failures = $3, window_start = $4, blocked_until = $5",
    )
    .bind(scope)
    .bind(address)
    .bind(i64::from(f.count))
    .bind(f.last_at)
    .bind(f.locked_until)
    .execute(conn)
    .await?;
    Ok(())
}

/// Active users whose password was changed between `changed_after` (so it
/// has not expired yet) and `changed_before`, and who have not been warned since.
pub async fn passwords_to_warn(
    db: &Db,
    changed_after: i64,
    changed_before: i64,
    limit: i64,
) -> Result<Vec<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users
         WHERE status = 'active' AND password_hash IS NOT NULL AND password_changed_at <= $1 AND password_changed_at > $3
           AND (password_warning_sent_at IS NULL OR password_warning_sent_at < password_changed_at)
         ORDER BY id LIMIT $2"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(changed_before)
        .bind(limit)
        .bind(changed_after)
        .fetch_all(db.pool())
        .await?)
}

pub async fn mark_warning_sent(conn: &mut AnyConnection, user_id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE users SET password_warning_sent_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Certificate {
    pub id: i64,
    pub user_id: i64,
    pub fingerprint: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_after: i64,
    pub bound_at: i64,
    pub last_used_at: i64,
    pub removed_at: Option<i64>,
}

const CERT_COLUMNS: &str = "id, user_id, fingerprint, subject, issuer, serial, not_after, bound_at, last_used_at, removed_at";

pub async fn certificate_by_fingerprint(db: &Db, fingerprint: &str) -> Result<Option<Certificate>> {
    let sql = format!("SELECT {CERT_COLUMNS} FROM certificates WHERE fingerprint = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(fingerprint)
        .fetch_optional(db.pool())
        .await?)
}

pub struct NewCertificate<'a> {
    pub user_id: i64,
    pub fingerprint: &'a str,
    pub subject: &'a str,
    pub issuer: &'a str,
    pub serial: &'a str,
    pub not_after: i64,
}

pub async fn bind_certificate(
    conn: &mut AnyConnection,
    c: &NewCertificate<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO certificates (user_id, fingerprint, subject, issuer, serial, not_after, bound_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (fingerprint) DO UPDATE SET last_used_at = $7",
    )
    .bind(c.user_id)
    .bind(c.fingerprint)
    .bind(c.subject)
    .bind(c.issuer)
    .bind(c.serial)
    .bind(c.not_after)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn certificates_of(db: &Db, user_id: i64) -> Result<Vec<Certificate>> {
    let sql = format!(
        "SELECT {CERT_COLUMNS} FROM certificates WHERE user_id = $1 AND removed_at IS NULL ORDER BY id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_all(db.pool())
        .await?)
}

/// Removes a certificate from its owner's account: it no longer opens it.
pub async fn remove_certificate(
    conn: &mut AnyConnection,
    user_id: i64,
    id: i64,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query("UPDATE certificates SET removed_at = $3 WHERE id = $1 AND user_id = $2 AND removed_at IS NULL")
        .bind(id)
        .bind(user_id)
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}
