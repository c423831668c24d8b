//! SCIM provisioning (RFC 7643/7644): the bearer tokens of an organization's
//! HR system, and the queries its endpoints need: users of a scope with a
//! filter and paging, the holders of a profile, attribute updates.
//!
//! The SCIM filter grammar lives in the web layer; here a filter is a
//! [`Cond`] over a fixed set of columns, turned into SQL with placeholders.

use sqlx::{AnyConnection, FromRow};

use crate::{Db, Result};

/// Service accounts of SCIM tokens have `SCIM-<organization id>` as their
/// (not a codice fiscale) unique `users.fiscal_code`.
pub const SERVICE_ACCOUNT_PREFIX: &str = "SCIM-";

pub fn service_account_code(organization_id: i64) -> String {
    format!("{SERVICE_ACCOUNT_PREFIX}{organization_id}")
}

pub fn is_service_account(fiscal_code: &str) -> bool {
    fiscal_code.starts_with(SERVICE_ACCOUNT_PREFIX)
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct ScimToken {
    pub token_hash: String,
    pub organization_id: i64,
    pub label: String,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

pub async fn insert_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    organization_id: i64,
    label: &str,
    created_by: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO scim_tokens (token_hash, organization_id, label, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(organization_id)
    .bind(label)
    .bind(created_by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

const TOKEN_SELECT: &str = "SELECT token_hash, organization_id, label, created_by, created_at, revoked_at FROM scim_tokens";

pub async fn token(db: &Db, token_hash: &str) -> Result<Option<ScimToken>> {
    let sql = format!("{TOKEN_SELECT} WHERE token_hash = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(token_hash)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn tokens_of(db: &Db, organization_id: i64) -> Result<Vec<ScimToken>> {
    let sql = format!("{TOKEN_SELECT} WHERE organization_id = $1 ORDER BY created_at DESC");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(organization_id)
        .fetch_all(db.pool())
        .await?)
}

/// Revokes a live token; false if it was unknown or already revoked.
pub async fn revoke_token(conn: &mut AnyConnection, token_hash: &str, now: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE scim_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// A user as SCIM shows him.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct ScimUser {
    pub id: i64,
    pub fiscal_code: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub category: String,
    pub status: String,
    pub organization_id: Option<i64>,
    pub organization_code: Option<String>,
    pub external_id: Option<String>,
    pub created_at: i64,
}

const USER_SELECT: &str = "SELECT u.id, u.fiscal_code, u.given_name, u.family_name, u.email, u.phone, u.category, u.status,
        u.organization_id, o.code AS organization_code, u.external_id, u.created_at
     FROM users u LEFT JOIN organizations o ON o.id = u.organization_id";

/// One user, whatever his organization or status (the caller checks scope).
pub async fn user(db: &Db, id: i64) -> Result<Option<ScimUser>> {
    let sql = format!("{USER_SELECT} WHERE u.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// Columns a filter may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Id,
    /// Compared upper-cased (codici fiscali are stored upper-case).
    FiscalCode,
    /// Compared case-insensitively.
    GivenName,
    FamilyName,
    Email,
    /// Compared exactly.
    Phone,
    ExternalId,
    Category,
    /// `status <> 'disabled'` (pending activation counts as active).
    Active,
    CreatedAt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// A condition on users; the web layer builds it from a SCIM filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    True,
    False,
    Cmp(Column, Op, Value),
    Present(Column),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct CondError(pub String);

enum Bind {
    Text(String),
    Int(i64),
}

struct SqlBuilder {
    binds: Vec<Bind>,
}

impl SqlBuilder {
    fn push(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// (expression, how values are normalized, nullable)
fn column_sql(c: Column) -> (&'static str, fn(&str) -> String, bool) {
    fn upper(s: &str) -> String {
        s.to_uppercase()
    }
    fn lower(s: &str) -> String {
        s.to_lowercase()
    }
    fn same(s: &str) -> String {
        s.to_string()
    }
    match c {
        Column::FiscalCode => ("u.fiscal_code", upper, false),
        Column::GivenName => ("LOWER(u.given_name)", lower, false),
        Column::FamilyName => ("LOWER(u.family_name)", lower, false),
        Column::Email => ("LOWER(u.email)", lower, false),
        Column::Phone => ("u.phone", same, true),
        Column::ExternalId => ("u.external_id", same, true),
        Column::Category => ("u.category", same, false),
        Column::Id | Column::Active | Column::CreatedAt => ("", same, false),
    }
}

impl SqlBuilder {
    fn cond(&mut self, c: &Cond) -> std::result::Result<String, CondError> {
        Ok(match c {
            Cond::True => "1 = 1".into(),
            Cond::False => "1 = 0".into(),
            Cond::And(a, b) => format!("({} AND {})", self.cond(a)?, self.cond(b)?),
            Cond::Or(a, b) => format!("({} OR {})", self.cond(a)?, self.cond(b)?),
            Cond::Not(a) => format!("(NOT {})", self.cond(a)?),
            Cond::Present(col) => match col {
                Column::Id | Column::Active | Column::CreatedAt | Column::Category => {
                    "1 = 1".into()
                }
                Column::FiscalCode | Column::GivenName | Column::FamilyName | Column::Email => {
                    format!("{} <> ''", column_sql(*col).0)
                }
                Column::Phone | Column::ExternalId => {
                    let (e, _, _) = column_sql(*col);
                    format!("({e} IS NOT NULL AND {e} <> '')")
                }
            },
            Cond::Cmp(col, op, value) => self.cmp(*col, *op, value)?,
        })
    }

    fn cmp(
        &mut self,
        col: Column,
        op: Op,
        value: &Value,
    ) -> std::result::Result<String, CondError> {
        let unsupported = || {
            CondError(format!(
                "operatore non supportato per questo attributo: {op:?}"
            ))
        };
        let sql_op = |op: Op| match op {
            Op::Eq => Some("="),
            Op::Ne => Some("<>"),
            Op::Gt => Some(">"),
            Op::Ge => Some(">="),
            Op::Lt => Some("<"),
            Op::Le => Some("<="),
            _ => None,
        };
        match col {
            Column::Active => {
                let Value::Bool(b) = value else {
                    return Err(CondError("active si confronta con true o false".into()));
                };
                let positive = match op {
                    Op::Eq => *b,
                    Op::Ne => !*b,
                    _ => return Err(unsupported()),
                };
                Ok(if positive {
                    "u.status <> 'disabled'".into()
                } else {
                    "u.status = 'disabled'".into()
                })
            }
            Column::Id => {
                let id = match value {
                    Value::Int(i) => Some(*i),
                    Value::Text(t) => t.trim().parse::<i64>().ok(),
                    Value::Bool(_) => None,
                };
                match (op, id) {
                    (Op::Eq, None) => Ok("1 = 0".into()),
                    (Op::Ne, None) => Ok("1 = 1".into()),
                    (Op::Eq | Op::Ne, Some(id)) => {
                        let p = self.push(Bind::Int(id));
                        Ok(format!("u.id {} {p}", sql_op(op).unwrap_or("=")))
                    }
                    _ => Err(unsupported()),
                }
            }
            Column::CreatedAt => {
                let Value::Int(at) = value else {
                    return Err(CondError("meta.created si confronta con una data".into()));
                };
                let o = sql_op(op).ok_or_else(unsupported)?;
                let p = self.push(Bind::Int(*at));
                Ok(format!("u.created_at {o} {p}"))
            }
            _ => {
                let Value::Text(text) = value else {
                    return Err(CondError("l'attributo si confronta con una stringa".into()));
                };
                let (expr, norm, nullable) = column_sql(col);
                let v = norm(text);
                match op {
                    Op::Eq => {
                        let p = self.push(Bind::Text(v));
                        Ok(format!("{expr} = {p}"))
                    }
                    Op::Ne => {
                        let p = self.push(Bind::Text(v));
                        Ok(if nullable {
                            format!("({expr} IS NULL OR {expr} <> {p})")
                        } else {
                            format!("{expr} <> {p}")
                        })
                    }
                    Op::Contains | Op::StartsWith | Op::EndsWith => {
                        let e = like_escape(&v);
                        let pattern = match op {
                            Op::Contains => format!("%{e}%"),
                            Op::StartsWith => format!("{e}%"),
                            _ => format!("%{e}"),
                        };
                        let p = self.push(Bind::Text(pattern));
                        Ok(format!("{expr} LIKE {p} ESCAPE '\\'"))
                    }
                    _ => Err(unsupported()),
                }
            }
        }
    }
}

/// A page of the users of `organization_ids` (not deleted, no service
/// accounts) matching `cond`, ordered by id, and the total count.
pub async fn users_page(
    db: &Db,
    organization_ids: &[i64],
    cond: &Cond,
    offset: i64,
    limit: i64,
) -> std::result::Result<(Vec<ScimUser>, i64), PageError> {
    if organization_ids.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut b = SqlBuilder { binds: Vec::new() };
    let orgs: Vec<String> = organization_ids
        .iter()
        .map(|o| b.push(Bind::Int(*o)))
        .collect();
    let filter = b.cond(cond).map_err(PageError::Filter)?;
    let where_clause = format!(
        "WHERE u.status <> 'deleted' AND u.fiscal_code NOT LIKE '{SERVICE_ACCOUNT_PREFIX}%'
           AND u.organization_id IN ({}) AND {filter}",
        orgs.join(", ")
    );
    let count_sql = format!("SELECT COUNT(*) FROM users u {where_clause}");
    let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
    for bind in &b.binds {
        count = match bind {
            Bind::Text(t) => count.bind(t.clone()),
            Bind::Int(i) => count.bind(*i),
        };
    }
    let total = count
        .fetch_one(db.pool())
        .await
        .map_err(crate::StoreError::from)?;
    if limit <= 0 {
        return Ok((Vec::new(), total));
    }
    let limit_p = b.push(Bind::Int(limit));
    let offset_p = b.push(Bind::Int(offset.max(0)));
    let sql =
        format!("{USER_SELECT} {where_clause} ORDER BY u.id LIMIT {limit_p} OFFSET {offset_p}");
    let mut q = sqlx::query_as::<_, ScimUser>(sqlx::AssertSqlSafe(sql));
    for bind in &b.binds {
        q = match bind {
            Bind::Text(t) => q.bind(t.clone()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    let rows = q
        .fetch_all(db.pool())
        .await
        .map_err(crate::StoreError::from)?;
    Ok((rows, total))
}

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    Filter(CondError),
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

/// A direct enablement as a group membership.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Membership {
    pub enablement_id: i64,
    pub user_id: i64,
    pub profile_id: i64,
    pub given_name: String,
    pub family_name: String,
    pub application_name: String,
    pub profile_name: String,
}

const MEMBERSHIP_SELECT: &str =
    "SELECT e.id AS enablement_id, e.user_id, e.profile_id, u.given_name, u.family_name,
        a.name AS application_name, p.name AS profile_name
     FROM enablements e JOIN users u ON u.id = e.user_id JOIN profiles p ON p.id = e.profile_id
          JOIN applications a ON a.id = e.application_id";

/// Direct holders of a profile among the (non-deleted, non-service) users of
/// the given organizations.
pub async fn profile_members(
    db: &Db,
    profile_id: i64,
    organization_ids: &[i64],
) -> Result<Vec<Membership>> {
    if organization_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..organization_ids.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let sql = format!(
        "{MEMBERSHIP_SELECT} WHERE e.profile_id = $1 AND u.status <> 'deleted'
           AND u.fiscal_code NOT LIKE '{SERVICE_ACCOUNT_PREFIX}%' AND u.organization_id IN ({})
         ORDER BY e.user_id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(profile_id);
    for o in organization_ids {
        q = q.bind(*o);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// The direct enablements of several users at once.
pub async fn memberships_of(db: &Db, user_ids: &[i64]) -> Result<Vec<Membership>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..user_ids.len()).map(|i| format!("${}", i + 1)).collect();
    let sql = format!(
        "{MEMBERSHIP_SELECT} WHERE e.user_id IN ({}) ORDER BY e.user_id, a.name, p.name",
        placeholders.join(", ")
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for u in user_ids {
        q = q.bind(*u);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// The attributes SCIM may change on a user.
pub struct UserAttributes<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub category: &'a str,
}

pub async fn update_user(
    conn: &mut AnyConnection,
    id: i64,
    a: &UserAttributes<'_>,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE users SET given_name = $2, family_name = $3, email = $4, phone = $5, external_id = $6, category = $7
         WHERE id = $1 AND status <> 'deleted'",
    )
    .bind(id)
    .bind(a.given_name)
    .bind(a.family_name)
    .bind(a.email)
    .bind(a.phone)
    .bind(a.external_id)
    .bind(a.category)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(c: &Cond) -> (String, usize) {
        let mut b = SqlBuilder { binds: Vec::new() };
        let s = b.cond(c).unwrap();
        (s, b.binds.len())
    }

    #[test]
    fn conditions_become_sql_with_placeholders_only() {
        let c = Cond::And(
            Box::new(Cond::Cmp(
                Column::FiscalCode,
                Op::Eq,
                Value::Text("rssmra80a01h501u".into()),
            )),
            Box::new(Cond::Or(
                Box::new(Cond::Cmp(Column::Active, Op::Eq, Value::Bool(false))),
                Box::new(Cond::Cmp(
                    Column::Email,
                    Op::Contains,
                    Value::Text("50%_off'".into()),
                )),
            )),
        );
        let (s, n) = sql(&c);
        assert_eq!(n, 2);
        assert!(s.contains("u.fiscal_code = $1"));
        assert!(s.contains("u.status = 'disabled'"));
        assert!(s.contains("LOWER(u.email) LIKE $2 ESCAPE"));
        assert!(!s.contains("50"), "values are bound, never inlined");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_escape("a%b_c\\"), "a\\%b\\_c\\\\");
    }

    #[test]
    fn unsupported_operators_are_refused() {
        let mut b = SqlBuilder { binds: Vec::new() };
        assert!(
            b.cond(&Cond::Cmp(Column::Email, Op::Gt, Value::Text("a".into())))
                .is_err()
        );
        assert!(
            b.cond(&Cond::Cmp(Column::Active, Op::Eq, Value::Text("x".into())))
                .is_err()
        );
    }
}
