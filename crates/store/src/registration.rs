//! Self-registrations of private subjects and the verification attempts of
//! their signed requests.

use sqlx::FromRow;

use crate::{AnyConnection, Db, Result};

/// A registration as pages and use cases read it (files apart).
#[derive(Clone, Debug, FromRow)]
pub struct Registration {
    pub id: i64,
    pub reference: String,
    pub fiscal_code: String,
    pub given_name: String,
    pub family_name: String,
    pub category: String,
    pub email: String,
    pub pec: String,
    pub organization_id: Option<i64>,
    pub organization_name: Option<String>,
    pub state: String,
    pub expires_at: i64,
    pub document_sha256: Option<String>,
    pub issued_at: Option<i64>,
    pub signer_subject: Option<String>,
    pub signed_at: Option<i64>,
    pub support_filename: Option<String>,
    pub support_sha256: Option<String>,
    pub reason: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<i64>,
    pub user_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "r.id, r.reference, r.fiscal_code, r.given_name, r.family_name, r.category,
    r.email, r.pec, r.organization_id, o.name AS organization_name, r.state, r.expires_at,
    r.document_sha256, r.issued_at, r.signer_subject, r.signed_at, r.support_filename,
    r.support_sha256, r.reason, r.decided_by, r.decided_at, r.user_id, r.created_at, r.updated_at";

fn select(filter: &str) -> String {
    format!(
        "SELECT {COLUMNS} FROM registrations r LEFT JOIN organizations o ON o.id = r.organization_id {filter}"
    )
}

pub struct NewRegistration<'a> {
    pub reference: &'a str,
    pub fiscal_code: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub category: &'a str,
    pub email: &'a str,
    pub pec: &'a str,
    pub organization_id: Option<i64>,
    pub state: &'a str,
    pub token_hash: &'a str,
    pub expires_at: i64,
}

pub async fn insert(conn: &mut AnyConnection, r: &NewRegistration<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO registrations (reference, fiscal_code, given_name, family_name, category,
             email, pec, organization_id, state, token_hash, expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(r.reference)
    .bind(r.fiscal_code)
    .bind(r.given_name)
    .bind(r.family_name)
    .bind(r.category)
    .bind(r.email)
    .bind(r.pec)
    .bind(r.organization_id)
    .bind(r.state)
    .bind(r.token_hash)
    .bind(r.expires_at)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Registrations are numbered by their id: `REG-<year>-<id, 7 digits>`.
pub async fn set_reference(conn: &mut AnyConnection, id: i64, reference: &str) -> Result<()> {
    sqlx::query("UPDATE registrations SET reference = $2 WHERE id = $1")
        .bind(id)
        .bind(reference)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn by_token_hash(db: &Db, token_hash: &str) -> Result<Option<Registration>> {
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(select("WHERE r.token_hash = $1")))
            .bind(token_hash)
            .fetch_optional(db.pool())
            .await?,
    )
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<Registration>> {
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(select("WHERE r.id = $1")))
            .bind(id)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Re-reads a registration in a write transaction, to decide on what it is now.
pub async fn by_id_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Registration>> {
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(select("WHERE r.id = $1")))
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

/// Open registrations (not yet active, refused or expired) of a codice fiscale.
pub async fn open_for_fiscal_code_in(
    conn: &mut AnyConnection,
    fiscal_code: &str,
    now: i64,
) -> Result<Vec<Registration>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(select(
        "WHERE r.fiscal_code = $1 AND r.state IN ('pec_pending', 'awaiting_signature', 'awaiting_approval')
           AND (r.expires_at > $2 OR r.state = 'awaiting_approval')",
    )))
    .bind(fiscal_code)
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// Newest first, optionally of one state; at most `limit`.
pub async fn list(db: &Db, state: Option<&str>, limit: i64) -> Result<Vec<Registration>> {
    let order = "ORDER BY r.created_at DESC, r.id DESC";
    Ok(match state {
        Some(state) => {
            sqlx::query_as(sqlx::AssertSqlSafe(select(&format!(
                "WHERE r.state = $1 {order} LIMIT $2"
            ))))
            .bind(state)
            .bind(limit)
            .fetch_all(db.pool())
            .await?
        }
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(select(&format!("{order} LIMIT $1"))))
                .bind(limit)
                .fetch_all(db.pool())
                .await?
        }
    })
}

/// How many registrations are in each state.
pub async fn counts(db: &Db) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT state, COUNT(*) FROM registrations GROUP BY state ORDER BY state")
            .fetch_all(db.pool())
            .await?,
    )
}

pub async fn set_state(
    conn: &mut AnyConnection,
    id: i64,
    state: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE registrations SET state = $2, reason = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(state)
        .bind(reason)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// The PEC is confirmed: the request document is issued.
pub async fn issue_document(
    conn: &mut AnyConnection,
    id: i64,
    document: &[u8],
    sha256: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE registrations SET state = 'awaiting_signature', document = $2, document_sha256 = $3,
             issued_at = $4, updated_at = $4 WHERE id = $1 AND state = 'pec_pending'",
    )
    .bind(id)
    .bind(document)
    .bind(sha256)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn document(db: &Db, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar::<_, Option<Vec<u8>>>(
            "SELECT document FROM registrations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .flatten(),
    )
}

pub async fn signed_file(db: &Db, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar::<_, Option<Vec<u8>>>(
        "SELECT signed_file FROM registrations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .flatten())
}

pub async fn support_file(db: &Db, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar::<_, Option<Vec<u8>>>(
        "SELECT support_file FROM registrations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .flatten())
}

/// What a verified signature leaves on the registration.
pub struct Signed<'a> {
    pub file: &'a [u8],
    pub signer_subject: &'a str,
    pub signed_at: i64,
    pub support: Option<(&'a str, &'a [u8], &'a str)>,
    pub state: &'a str,
    pub user_id: Option<i64>,
}

pub async fn record_signed(
    conn: &mut AnyConnection,
    id: i64,
    s: &Signed<'_>,
    now: i64,
) -> Result<()> {
    let (name, data, sha) = match s.support {
        Some((n, d, h)) => (Some(n), Some(d), Some(h)),
        None => (None, None, None),
    };
    sqlx::query(
        "UPDATE registrations SET signed_file = $2, signer_subject = $3, signed_at = $4,
             support_filename = $5, support_file = $6, support_sha256 = $7, state = $8,
             user_id = $9, reason = NULL, updated_at = $10
         WHERE id = $1",
    )
    .bind(id)
    .bind(s.file)
    .bind(s.signer_subject)
    .bind(s.signed_at)
    .bind(name)
    .bind(data)
    .bind(sha)
    .bind(s.state)
    .bind(s.user_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The central administrator's decision on a registration that waited for it.
pub async fn decide(
    conn: &mut AnyConnection,
    id: i64,
    state: &str,
    reason: Option<&str>,
    decided_by: i64,
    user_id: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE registrations SET state = $2, reason = $3, decided_by = $4, decided_at = $5,
             user_id = COALESCE($6, user_id), updated_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(reason)
    .bind(decided_by)
    .bind(now)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, FromRow)]
pub struct Attempt {
    pub id: i64,
    pub at: i64,
    pub accepted: i64,
    pub reason: String,
    pub file_sha256: String,
    pub source_address: Option<String>,
}

pub async fn add_attempt(
    conn: &mut AnyConnection,
    registration_id: i64,
    accepted: bool,
    reason: &str,
    file_sha256: &str,
    source_address: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO registration_attempts (registration_id, at, accepted, reason, file_sha256, source_address)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(registration_id)
    .bind(now)
    .bind(accepted as i64)
    .bind(reason)
    .bind(file_sha256)
    .bind(source_address)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn attempts(db: &Db, registration_id: i64) -> Result<Vec<Attempt>> {
    Ok(sqlx::query_as(
        "SELECT id, at, accepted, reason, file_sha256, source_address FROM registration_attempts
         WHERE registration_id = $1 ORDER BY at, id",
    )
    .bind(registration_id)
    .fetch_all(db.pool())
    .await?)
}

/// The profile granted to a category's registrants: (application, profile,
/// application name, profile name, needs approval).
#[derive(Clone, Debug, FromRow)]
pub struct CategoryProfile {
    pub category: String,
    pub application_id: i64,
    pub profile_id: i64,
    pub application_name: String,
    pub profile_name: String,
    pub needs_approval: i64,
}

pub async fn category_profiles(db: &Db) -> Result<Vec<CategoryProfile>> {
    Ok(sqlx::query_as(
        "SELECT rp.category, p.application_id, rp.profile_id, a.name AS application_name,
                p.name AS profile_name, rp.needs_approval
         FROM registration_profiles rp JOIN profiles p ON p.id = rp.profile_id
         JOIN applications a ON a.id = p.application_id ORDER BY rp.category",
    )
    .fetch_all(db.pool())
    .await?)
}

pub async fn set_category_profile(
    conn: &mut AnyConnection,
    category: &str,
    profile_id: i64,
    needs_approval: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO registration_profiles (category, profile_id, needs_approval) VALUES ($1, $2, $3)
         ON CONFLICT (category) DO UPDATE SET profile_id = $2, needs_approval = $3",
    )
    .bind(category)
    .bind(profile_id)
    .bind(needs_approval as i64)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether an organization has a local administrator of its own.
pub async fn has_local_admin(db: &Db, organization_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id
         WHERE r.role = 'local_admin' AND r.organization_id = $1 AND u.status = 'active'",
    )
    .bind(organization_id)
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
}
