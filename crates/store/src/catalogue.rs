//! The application catalogue and who holds what: enablements, implied
//! profiles, sub-delegations; appointment requests for local administrators.

use std::collections::BTreeSet;

use sportello_core::catalogue::ProfileRule;
use sqlx::{AnyConnection, FromRow};

use crate::{Db, Result};

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Application {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub url: String,
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Profile {
    pub id: i64,
    pub application_id: i64,
    pub code: String,
    pub name: String,
    pub application_code: String,
    pub application_name: String,
}

pub async fn applications(db: &Db) -> Result<Vec<Application>> {
    Ok(
        sqlx::query_as("SELECT id, code, name, description, url FROM applications ORDER BY name")
            .fetch_all(db.pool())
            .await?,
    )
}

pub async fn application_by_code(db: &Db, code: &str) -> Result<Option<Application>> {
    Ok(
        sqlx::query_as("SELECT id, code, name, description, url FROM applications WHERE code = $1")
            .bind(code)
            .fetch_optional(db.pool())
            .await?,
    )
}

const PROFILE_SELECT: &str = "SELECT p.id, p.application_id, p.code, p.name, a.code AS application_code, a.name AS application_name
     FROM profiles p JOIN applications a ON a.id = p.application_id";

pub async fn profiles(db: &Db) -> Result<Vec<Profile>> {
    let sql = format!("{PROFILE_SELECT} ORDER BY a.name, p.name");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?)
}

pub async fn profile(db: &Db, id: i64) -> Result<Option<Profile>> {
    let sql = format!("{PROFILE_SELECT} WHERE p.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn profile_by_codes(
    db: &Db,
    application: &str,
    profile: &str,
) -> Result<Option<Profile>> {
    let sql = format!("{PROFILE_SELECT} WHERE a.code = $1 AND p.code = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(application)
        .bind(profile)
        .fetch_optional(db.pool())
        .await?)
}

/// The rule view of a profile: allowed organization kinds and capabilities.
pub async fn profile_rule(db: &Db, id: i64) -> Result<Option<ProfileRule>> {
    let Some(p) = profile(db, id).await? else {
        return Ok(None);
    };
    let org_kinds: Vec<String> = sqlx::query_scalar(
        "SELECT org_kind FROM profile_org_kinds WHERE profile_id = $1 ORDER BY org_kind",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let capabilities: Vec<String> =
        sqlx::query_scalar("SELECT capability FROM profile_capabilities WHERE profile_id = $1")
            .bind(id)
            .fetch_all(db.pool())
            .await?;
    Ok(Some(ProfileRule {
        profile_id: p.id,
        application_id: p.application_id,
        name: format!("{} - {}", p.application_name, p.name),
        org_kinds,
        capabilities: capabilities.into_iter().collect::<BTreeSet<_>>(),
    }))
}

pub async fn set_profile_org_kinds(
    conn: &mut AnyConnection,
    profile_id: i64,
    kinds: &[&str],
) -> Result<()> {
    sqlx::query("DELETE FROM profile_org_kinds WHERE profile_id = $1")
        .bind(profile_id)
        .execute(&mut *conn)
        .await?;
    for k in kinds {
        sqlx::query("INSERT INTO profile_org_kinds (profile_id, org_kind) VALUES ($1, $2)")
            .bind(profile_id)
            .bind(*k)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn set_profile_capabilities(
    conn: &mut AnyConnection,
    profile_id: i64,
    capabilities: &[&str],
) -> Result<()> {
    sqlx::query("DELETE FROM profile_capabilities WHERE profile_id = $1")
        .bind(profile_id)
        .execute(&mut *conn)
        .await?;
    for c in capabilities {
        sqlx::query("INSERT INTO profile_capabilities (profile_id, capability) VALUES ($1, $2)")
            .bind(profile_id)
            .bind(*c)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn set_profile_implications(
    conn: &mut AnyConnection,
    profile_id: i64,
    implied: &[i64],
) -> Result<()> {
    sqlx::query("DELETE FROM profile_implications WHERE profile_id = $1")
        .bind(profile_id)
        .execute(&mut *conn)
        .await?;
    for i in implied {
        sqlx::query(
            "INSERT INTO profile_implications (profile_id, implied_profile_id) VALUES ($1, $2)",
        )
        .bind(profile_id)
        .bind(*i)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn set_application_url(
    conn: &mut AnyConnection,
    application_id: i64,
    url: &str,
) -> Result<()> {
    sqlx::query("UPDATE applications SET url = $2 WHERE id = $1")
        .bind(application_id)
        .bind(url)
        .execute(conn)
        .await?;
    Ok(())
}

/// One direct enablement of a user.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Enablement {
    pub id: i64,
    pub user_id: i64,
    pub application_id: i64,
    pub profile_id: i64,
    pub application_code: String,
    pub application_name: String,
    pub profile_code: String,
    pub profile_name: String,
    pub granted_at: i64,
}

const ENABLEMENT_SELECT: &str = "SELECT e.id, e.user_id, e.application_id, e.profile_id, a.code AS application_code,
        a.name AS application_name, p.code AS profile_code, p.name AS profile_name, e.granted_at
     FROM enablements e JOIN applications a ON a.id = e.application_id JOIN profiles p ON p.id = e.profile_id";

pub async fn enablements_of(db: &Db, user_id: i64) -> Result<Vec<Enablement>> {
    let sql = format!("{ENABLEMENT_SELECT} WHERE e.user_id = $1 ORDER BY a.name");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_all(db.pool())
        .await?)
}

pub async fn enablement(db: &Db, id: i64) -> Result<Option<Enablement>> {
    let sql = format!("{ENABLEMENT_SELECT} WHERE e.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn enablement_for(
    db: &Db,
    user_id: i64,
    application_id: i64,
) -> Result<Option<Enablement>> {
    let sql = format!("{ENABLEMENT_SELECT} WHERE e.user_id = $1 AND e.application_id = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(application_id)
        .fetch_optional(db.pool())
        .await?)
}

/// Grants a profile; the unique key refuses a second profile of one application.
pub async fn grant(
    conn: &mut AnyConnection,
    user_id: i64,
    application_id: i64,
    profile_id: i64,
    granted_by: Option<i64>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO enablements (user_id, application_id, profile_id, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(application_id)
    .bind(profile_id)
    .bind(granted_by)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Removes an enablement and the sub-delegations hanging on it; returns how
/// many sub-delegations ended.
pub async fn revoke(conn: &mut AnyConnection, enablement_id: i64) -> Result<u64> {
    let ended = sqlx::query("DELETE FROM subdelegations WHERE enablement_id = $1")
        .bind(enablement_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM enablements WHERE id = $1")
        .bind(enablement_id)
        .execute(conn)
        .await?;
    Ok(ended)
}

/// A profile the user can use, however he came to hold it.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct HeldProfile {
    pub application_id: i64,
    pub application_code: String,
    pub application_name: String,
    pub description: String,
    pub url: String,
    pub profile_id: i64,
    pub profile_code: String,
    pub profile_name: String,
    /// `direct`, `implied` or `delegated`.
    pub source: String,
    /// For implied profiles the opening application; for delegated ones the delegator's name.
    pub via: String,
}

/// Everything the user may use now: direct enablements, the profiles they
/// imply, and live sub-delegations received. An application appears once,
/// direct first.
pub async fn held_profiles(db: &Db, user_id: i64, now: i64) -> Result<Vec<HeldProfile>> {
    let rows: Vec<HeldProfile> = sqlx::query_as(
        "SELECT a.id AS application_id, a.code AS application_code, a.name AS application_name, a.description AS description,
                a.url AS url, p.id AS profile_id, p.code AS profile_code, p.name AS profile_name,
                'direct' AS source, '' AS via
         FROM enablements e JOIN applications a ON a.id = e.application_id JOIN profiles p ON p.id = e.profile_id
         WHERE e.user_id = $1
         UNION ALL
         SELECT a.id, a.code, a.name, a.description, a.url, p.id, p.code, p.name, 'implied', oa.name
         FROM enablements e JOIN profile_implications i ON i.profile_id = e.profile_id
              JOIN profiles p ON p.id = i.implied_profile_id JOIN applications a ON a.id = p.application_id
              JOIN applications oa ON oa.id = e.application_id
         WHERE e.user_id = $1
         UNION ALL
         SELECT a.id, a.code, a.name, a.description, a.url, p.id, p.code, p.name, 'delegated', u.given_name || ' ' || u.family_name
         FROM subdelegations s JOIN applications a ON a.id = s.application_id JOIN profiles p ON p.id = s.profile_id
              JOIN users u ON u.id = s.delegator_id
         WHERE s.delegate_id = $1 AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > $2)
               AND u.status = 'active'",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut out: Vec<HeldProfile> = Vec::new();
    for source in ["direct", "implied", "delegated"] {
        for r in rows.iter().filter(|r| r.source == source) {
            if !out.iter().any(|o| o.application_id == r.application_id) {
                out.push(r.clone());
            }
        }
    }
    out.sort_by(|a, b| a.application_name.cmp(&b.application_name));
    Ok(out)
}

/// Capabilities of a profile.
pub async fn capabilities(db: &Db, profile_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT capability FROM profile_capabilities WHERE profile_id = $1 ORDER BY capability",
    )
    .bind(profile_id)
    .fetch_all(db.pool())
    .await?)
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Subdelegation {
    pub id: i64,
    pub enablement_id: i64,
    pub delegator_id: i64,
    pub delegate_id: i64,
    pub delegate_name: String,
    pub delegate_fiscal_code: String,
    pub application_name: String,
    pub profile_name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn subdelegations_by(db: &Db, delegator_id: i64) -> Result<Vec<Subdelegation>> {
    Ok(sqlx::query_as(
        "SELECT s.id, s.enablement_id, s.delegator_id, s.delegate_id, u.given_name || ' ' || u.family_name AS delegate_name,
                u.fiscal_code AS delegate_fiscal_code, a.name AS application_name, p.name AS profile_name,
                s.created_at, s.expires_at, s.revoked_at
         FROM subdelegations s JOIN users u ON u.id = s.delegate_id JOIN applications a ON a.id = s.application_id
              JOIN profiles p ON p.id = s.profile_id
         WHERE s.delegator_id = $1 ORDER BY s.id DESC",
    )
    .bind(delegator_id)
    .fetch_all(db.pool())
    .await?)
}

#[allow(clippy::too_many_arguments)]
pub async fn create_subdelegation(
    conn: &mut AnyConnection,
    enablement_id: i64,
    delegator_id: i64,
    delegate_id: i64,
    application_id: i64,
    profile_id: i64,
    now: i64,
    expires_at: Option<i64>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO subdelegations (enablement_id, delegator_id, delegate_id, application_id, profile_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(enablement_id)
    .bind(delegator_id)
    .bind(delegate_id)
    .bind(application_id)
    .bind(profile_id)
    .bind(now)
    .bind(expires_at)
    .fetch_one(conn)
    .await?)
}

pub async fn revoke_subdelegation(
    conn: &mut AnyConnection,
    id: i64,
    delegator_id: i64,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query("UPDATE subdelegations SET revoked_at = $3 WHERE id = $1 AND delegator_id = $2 AND revoked_at IS NULL")
        .bind(id)
        .bind(delegator_id)
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

/// Ends every sub-delegation given by a user (when he is disabled or deleted).
pub async fn revoke_subdelegations_of(
    conn: &mut AnyConnection,
    delegator_id: i64,
    now: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE subdelegations SET revoked_at = $2 WHERE delegator_id = $1 AND revoked_at IS NULL",
    )
    .bind(delegator_id)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Whether the delegate already holds the application (own or delegated, live).
pub async fn holds_application(
    db: &Db,
    user_id: i64,
    application_id: i64,
    now: i64,
) -> Result<bool> {
    Ok(held_profiles(db, user_id, now)
        .await?
        .iter()
        .any(|h| h.application_id == application_id && h.source != "implied")
        || enablement_for(db, user_id, application_id).await?.is_some())
}

/// Profiles a profile implies.
pub async fn implied_profiles(db: &Db, profile_id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT implied_profile_id FROM profile_implications WHERE profile_id = $1",
    )
    .bind(profile_id)
    .fetch_all(db.pool())
    .await?)
}

/// Direct enablements of many users at once (bulk operations).
pub async fn enablements_of_users(db: &Db, user_ids: &[i64]) -> Result<Vec<Enablement>> {
    let mut out = Vec::new();
    for chunk in user_ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "{ENABLEMENT_SELECT} WHERE e.user_id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}
