//! Organizations, offices, applications, profiles, users, roles and
//! enablements: the directory the rest of the portal reads.

use sportello_core::authz::{Grant, Role};
use sqlx::{AnyConnection, FromRow};

use crate::{Db, Result};

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Organization {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub fiscal_code: Option<String>,
    pub parent_id: Option<i64>,
    pub region: Option<String>,
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub fiscal_code: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub category: String,
    pub status: String,
    pub organization_id: Option<i64>,
    pub password_hash: Option<String>,
    pub password_changed_at: Option<i64>,
    pub must_change_password: i64,
    pub pec: Option<String>,
    pub phone: Option<String>,
    pub failed_logins: i64,
    pub last_failed_login_at: i64,
    pub locked_until: Option<i64>,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
}

pub(crate) const USER_COLUMNS: &str = "id, fiscal_code, given_name, family_name, email, category, status, organization_id, password_hash, password_changed_at, must_change_password, pec, phone, failed_logins, last_failed_login_at, locked_until, last_login_at, created_at";

pub struct NewOrganization<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub fiscal_code: Option<&'a str>,
    pub parent_id: Option<i64>,
    pub region: Option<&'a str>,
}

/// Inserts the organization unless its code exists; returns its id either way.
pub async fn ensure_organization(
    conn: &mut AnyConnection,
    o: &NewOrganization<'_>,
    now: i64,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO organizations (code, name, kind, fiscal_code, parent_id, region, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO NOTHING",
    )
    .bind(o.code)
    .bind(o.name)
    .bind(o.kind)
    .bind(o.fiscal_code)
    .bind(o.parent_id)
    .bind(o.region)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    id_by_code(conn, "organizations", o.code).await
}

async fn id_by_code(conn: &mut AnyConnection, table: &'static str, code: &str) -> Result<i64> {
    let sql = format!("SELECT id FROM {table} WHERE code = $1");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_one(conn)
        .await?)
}

pub struct NewOffice<'a> {
    pub organization_id: i64,
    pub code: &'a str,
    pub name: &'a str,
    pub region: Option<&'a str>,
    pub mailbox: Option<&'a str>,
}

pub async fn ensure_office(conn: &mut AnyConnection, o: &NewOffice<'_>, now: i64) -> Result<i64> {
    sqlx::query(
        "INSERT INTO offices (organization_id, code, name, region, mailbox, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO NOTHING",
    )
    .bind(o.organization_id)
    .bind(o.code)
    .bind(o.name)
    .bind(o.region)
    .bind(o.mailbox)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    id_by_code(conn, "offices", o.code).await
}

pub async fn ensure_application(
    conn: &mut AnyConnection,
    code: &str,
    name: &str,
    description: &str,
    now: i64,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO applications (code, name, description, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(code)
    .bind(name)
    .bind(description)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    id_by_code(conn, "applications", code).await
}

pub async fn ensure_profile(
    conn: &mut AnyConnection,
    application_id: i64,
    code: &str,
    name: &str,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO profiles (application_id, code, name) VALUES ($1, $2, $3)
         ON CONFLICT (application_id, code) DO NOTHING",
    )
    .bind(application_id)
    .bind(code)
    .bind(name)
    .execute(&mut *conn)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM profiles WHERE application_id = $1 AND code = $2")
            .bind(application_id)
            .bind(code)
            .fetch_one(conn)
            .await?,
    )
}

#[derive(Default)]
pub struct NewUser<'a> {
    pub fiscal_code: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub email: &'a str,
    pub category: &'a str,
    pub status: &'a str,
    pub organization_id: Option<i64>,
    pub password_hash: Option<&'a str>,
    pub must_change_password: bool,
    pub pec: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// Inserts the user unless the codice fiscale exists. Returns (id, created).
pub async fn ensure_user(
    conn: &mut AnyConnection,
    u: &NewUser<'_>,
    now: i64,
) -> Result<(i64, bool)> {
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (fiscal_code, given_name, family_name, email, category, status, organization_id,
                            password_hash, password_changed_at, must_change_password, created_at, pec, phone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11, $12)
         ON CONFLICT (fiscal_code) DO NOTHING RETURNING id",
    )
    .bind(u.fiscal_code)
    .bind(u.given_name)
    .bind(u.family_name)
    .bind(u.email)
    .bind(u.category)
    .bind(u.status)
    .bind(u.organization_id)
    .bind(u.password_hash)
    .bind(now)
    .bind(i64::from(u.must_change_password))
    .bind(u.pec)
    .bind(u.phone)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(id) => Ok((id, true)),
        None => Ok((
            sqlx::query_scalar("SELECT id FROM users WHERE fiscal_code = $1")
                .bind(u.fiscal_code)
                .fetch_one(conn)
                .await?,
            false,
        )),
    }
}

pub async fn ensure_role(conn: &mut AnyConnection, user_id: i64, grant: &Grant) -> Result<()> {
    let scope_key = format!(
        "o{}:u{}:r{}",
        grant.organization_id.unwrap_or(0),
        grant.office_id.unwrap_or(0),
        grant.region.as_deref().unwrap_or("")
    );
    sqlx::query(
        "INSERT INTO user_roles (user_id, role, organization_id, office_id, region, scope_key)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, role, scope_key) DO NOTHING",
    )
    .bind(user_id)
    .bind(grant.role.code())
    .bind(grant.organization_id)
    .bind(grant.office_id)
    .bind(grant.region.as_deref())
    .bind(scope_key)
    .execute(conn)
    .await?;
    Ok(())
}

/// Grants a profile unless the user already holds one for that application.
/// Returns false when a profile of that application was already held.
pub async fn ensure_enablement(
    conn: &mut AnyConnection,
    user_id: i64,
    application_id: i64,
    profile_id: i64,
    granted_by: Option<i64>,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO enablements (user_id, application_id, profile_id, granted_by, granted_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, application_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(application_id)
    .bind(profile_id)
    .bind(granted_by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn user_by_fiscal_code(db: &Db, fiscal_code: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE fiscal_code = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(fiscal_code)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn user_by_id(db: &Db, id: i64) -> Result<Option<User>> {
    let mut conn = db.pool().acquire().await?;
    user_by_id_in(&mut conn, id).await
}

/// The same read on the caller's connection (inside a write transaction).
pub async fn user_by_id_in(conn: &mut AnyConnection, id: i64) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn organization(db: &Db, id: i64) -> Result<Option<Organization>> {
    Ok(sqlx::query_as(
        "SELECT id, code, name, kind, fiscal_code, parent_id, region FROM organizations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

/// role, organization, office, region
type GrantRow = (String, Option<i64>, Option<i64>, Option<String>);

pub async fn grants(db: &Db, user_id: i64) -> Result<Vec<Grant>> {
    let rows: Vec<GrantRow> = sqlx::query_as(
        "SELECT role, organization_id, office_id, region FROM user_roles WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(role, organization_id, office_id, region)| {
            Role::from_code(&role).map(|role| Grant {
                role,
                organization_id,
                office_id,
                region,
            })
        })
        .collect())
}

/// Row counts of the directory tables (demo idempotence, status pages).
pub async fn counts(db: &Db) -> Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for table in [
        "organizations",
        "offices",
        "applications",
        "profiles",
        "users",
        "user_roles",
        "enablements",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(db.pool())
            .await?;
        out.push((table, n));
    }
    Ok(out)
}

/// The organization and its ancestors, nearest first (for scope checks).
pub async fn organization_path(db: &Db, id: i64) -> Result<Vec<i64>> {
    let mut path = vec![id];
    let mut current = id;
    // Bounded walk: a tree deeper than this is a data error, not a loop to follow.
    for _ in 0..32 {
        let parent: Option<Option<i64>> =
            sqlx::query_scalar("SELECT parent_id FROM organizations WHERE id = $1")
                .bind(current)
                .fetch_optional(db.pool())
                .await?;
        match parent.flatten() {
            Some(p) if !path.contains(&p) => {
                path.push(p);
                current = p;
            }
            _ => break,
        }
    }
    Ok(path)
}

/// The organization and every body under it.
pub async fn organization_subtree(db: &Db, id: i64) -> Result<Vec<i64>> {
    let all: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT id, parent_id FROM organizations")
        .fetch_all(db.pool())
        .await?;
    let mut out = vec![id];
    let mut i = 0;
    while i < out.len() {
        let current = out[i];
        for (child, parent) in &all {
            if *parent == Some(current) && !out.contains(child) {
                out.push(*child);
            }
        }
        i += 1;
    }
    Ok(out)
}

pub async fn organizations(db: &Db) -> Result<Vec<Organization>> {
    Ok(sqlx::query_as(
        "SELECT id, code, name, kind, fiscal_code, parent_id, region FROM organizations ORDER BY name",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Users of the given organizations, optionally filtered by a search text
/// (codice fiscale, name or e-mail), at most `limit`.
/// `with_unaffiliated` also lists users who belong to no organization
/// (professionals, intermediaries: the central administrator's to manage).
pub async fn users_of(
    db: &Db,
    organization_ids: &[i64],
    with_unaffiliated: bool,
    search: &str,
    limit: i64,
) -> Result<Vec<User>> {
    if organization_ids.is_empty() && !with_unaffiliated {
        return Ok(Vec::new());
    }
    let search = search.trim().to_lowercase();
    // Each kind of search gets a query an index can answer: the whole list in
    // name order, an exact codice fiscale, a surname prefix; only when the
    // prefix finds nothing, the slower substring search over every field.
    if search.is_empty() {
        return users_matching(db, organization_ids, with_unaffiliated, Filter::All, limit).await;
    }
    if let Ok(code) = sportello_core::FiscalCode::parse(&search) {
        return users_matching(
            db,
            organization_ids,
            with_unaffiliated,
            Filter::FiscalCode(code.to_string()),
            limit,
        )
        .await;
    }
    let mut upper = search.clone();
    if let Some(last) = upper.pop() {
        upper.push(char::from_u32(last as u32 + 1).unwrap_or(char::MAX));
    }
    let by_prefix = users_matching(
        db,
        organization_ids,
        with_unaffiliated,
        Filter::SurnamePrefix(search.clone(), upper),
        limit,
    )
    .await?;
    if !by_prefix.is_empty() {
        return Ok(by_prefix);
    }
    let escaped = search
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    users_matching(
        db,
        organization_ids,
        with_unaffiliated,
        Filter::Anywhere(format!("%{escaped}%")),
        limit,
    )
    .await
}

enum Filter {
    All,
    FiscalCode(String),
    SurnamePrefix(String, String),
    Anywhere(String),
}

async fn users_matching(
    db: &Db,
    organization_ids: &[i64],
    with_unaffiliated: bool,
    filter: Filter,
    limit: i64,
) -> Result<Vec<User>> {
    let (condition, params): (&str, Vec<String>) = match filter {
        Filter::All => ("1 = 1", vec![]),
        Filter::FiscalCode(c) => ("fiscal_code = $2", vec![c]),
        Filter::SurnamePrefix(lo, hi) => (
            "LOWER(family_name) >= $2 AND LOWER(family_name) < $3",
            vec![lo, hi],
        ),
        Filter::Anywhere(p) => (
            "LOWER(fiscal_code || ' ' || given_name || ' ' || family_name || ' ' || email) LIKE $2 ESCAPE '\\'",
            vec![p],
        ),
    };
    let first = 2 + params.len();
    let placeholders: Vec<String> = (0..organization_ids.len())
        .map(|i| format!("${}", i + first))
        .collect();
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users
         WHERE status <> 'deleted' AND ({condition})
           AND (organization_id IN ({}){})
         ORDER BY family_name, given_name, id LIMIT $1",
        if placeholders.is_empty() {
            "NULL".to_string()
        } else {
            placeholders.join(", ")
        },
        if with_unaffiliated {
            " OR organization_id IS NULL"
        } else {
            ""
        }
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(limit);
    for p in params {
        q = q.bind(p);
    }
    for id in organization_ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

pub async fn organization_by_code(db: &Db, code: &str) -> Result<Option<Organization>> {
    Ok(sqlx::query_as(
        "SELECT id, code, name, kind, fiscal_code, parent_id, region FROM organizations WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(db.pool())
    .await?)
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Office {
    pub id: i64,
    pub organization_id: i64,
    pub code: String,
    pub name: String,
    pub region: Option<String>,
    pub mailbox: Option<String>,
}

pub async fn offices(db: &Db) -> Result<Vec<Office>> {
    Ok(sqlx::query_as(
        "SELECT id, organization_id, code, name, region, mailbox FROM offices ORDER BY name",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Users by codice fiscale, many at once (bulk operations).
pub async fn users_by_fiscal_codes(db: &Db, codes: &[String]) -> Result<Vec<User>> {
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE fiscal_code IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for c in chunk {
            q = q.bind(c.as_str());
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}
