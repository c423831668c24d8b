//! Integrated filings: connectors, services and their recipients, filings,
//! deliveries and their history.
//!
//! Functions ending in `_in` run on the caller's transaction; the others read
//! from the pool.

use sqlx::{AnyConnection, FromRow};

use crate::{Backend, Db, Result, StoreError};

// ---------------------------------------------------------------- connectors

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Connector {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub organization_id: Option<i64>,
    pub endpoint: String,
    #[serde(skip)]
    pub callback_token_hash: String,
    pub timeout_ms: i64,
    pub max_attempts: i64,
}

const CONNECTOR: &str = "SELECT id, code, name, organization_id, endpoint, callback_token_hash, timeout_ms, max_attempts FROM agency_connectors";

/// Inserts or updates (by code) a connector; `token_hash` None keeps the
/// current token. Returns its id.
pub async fn save_connector_in(
    conn: &mut AnyConnection,
    c: &Connector,
    token_hash: Option<&str>,
    now: i64,
) -> Result<i64> {
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM agency_connectors WHERE code = $1")
            .bind(&c.code)
            .fetch_optional(&mut *conn)
            .await?;
    match existing {
        Some(id) => {
            sqlx::query(
                "UPDATE agency_connectors SET name = $2, organization_id = $3, endpoint = $4,
                        timeout_ms = $5, max_attempts = $6, updated_at = $7,
                        callback_token_hash = COALESCE($8, callback_token_hash)
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&c.name)
            .bind(c.organization_id)
            .bind(&c.endpoint)
            .bind(c.timeout_ms)
            .bind(c.max_attempts)
            .bind(now)
            .bind(token_hash)
            .execute(conn)
            .await?;
            Ok(id)
        }
        None => {
            let hash = token_hash.ok_or_else(|| {
                StoreError::Conflict("un nuovo connettore richiede il token di callback".into())
            })?;
            Ok(sqlx::query_scalar(
                "INSERT INTO agency_connectors (code, name, organization_id, endpoint, callback_token_hash,
                                               timeout_ms, max_attempts, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(&c.code)
            .bind(&c.name)
            .bind(c.organization_id)
            .bind(&c.endpoint)
            .bind(hash)
            .bind(c.timeout_ms)
            .bind(c.max_attempts)
            .bind(now)
            .fetch_one(conn)
            .await?)
        }
    }
}

pub async fn connectors(db: &Db) -> Result<Vec<Connector>> {
    let sql = format!("{CONNECTOR} ORDER BY code");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?)
}

pub async fn connector(db: &Db, id: i64) -> Result<Option<Connector>> {
    let sql = format!("{CONNECTOR} WHERE id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn connector_by_code_in(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<Connector>> {
    let sql = format!("{CONNECTOR} WHERE code = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(conn)
        .await?)
}

pub async fn connector_by_token_hash(db: &Db, hash: &str) -> Result<Option<Connector>> {
    let sql = format!("{CONNECTOR} WHERE callback_token_hash = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(hash)
        .fetch_optional(db.pool())
        .await?)
}

// ---------------------------------------------------------------- services

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Service {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub application_id: i64,
    pub application_code: String,
    pub form_spec: String,
    pub active: i64,
}

const SERVICE: &str =
    "SELECT s.id, s.code, s.name, s.description, s.application_id, a.code AS application_code,
        s.form_spec, s.active
 FROM integrated_services s JOIN applications a ON a.id = s.application_id";

/// Inserts or updates (by code) a service; returns its id.
pub async fn save_service_in(conn: &mut AnyConnection, s: &Service, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO integrated_services (code, name, description, application_id, form_spec, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (code) DO UPDATE SET name = $2, description = $3, application_id = $4,
             form_spec = $5, active = $6, updated_at = $7
         RETURNING id",
    )
    .bind(&s.code)
    .bind(&s.name)
    .bind(&s.description)
    .bind(s.application_id)
    .bind(&s.form_spec)
    .bind(s.active)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

pub async fn services(db: &Db) -> Result<Vec<Service>> {
    let sql = format!("{SERVICE} ORDER BY s.name");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?)
}

pub async fn service_by_code(db: &Db, code: &str) -> Result<Option<Service>> {
    let sql = format!("{SERVICE} WHERE s.code = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn service(db: &Db, id: i64) -> Result<Option<Service>> {
    let sql = format!("{SERVICE} WHERE s.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Recipient {
    pub id: i64,
    pub service_id: i64,
    pub connector_id: i64,
    pub connector_code: String,
    pub connector_name: String,
    pub position: i64,
    pub mapping: String,
    pub required_application_id: i64,
    pub required_application_code: String,
    pub required_application_name: String,
    pub required_profile_id: Option<i64>,
    pub required_profile_code: Option<String>,
}

const RECIPIENT: &str =
    "SELECT r.id, r.service_id, r.connector_id, c.code AS connector_code, c.name AS connector_name,
        r.position, r.mapping, r.required_application_id, a.code AS required_application_code,
        a.name AS required_application_name, r.required_profile_id, p.code AS required_profile_code
 FROM service_recipients r JOIN agency_connectors c ON c.id = r.connector_id
      JOIN applications a ON a.id = r.required_application_id
      LEFT JOIN profiles p ON p.id = r.required_profile_id";

pub async fn recipients(db: &Db, service_id: i64) -> Result<Vec<Recipient>> {
    let sql = format!("{RECIPIENT} WHERE r.service_id = $1 ORDER BY r.position");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(service_id)
        .fetch_all(db.pool())
        .await?)
}

pub async fn recipients_in(conn: &mut AnyConnection, service_id: i64) -> Result<Vec<Recipient>> {
    let sql = format!("{RECIPIENT} WHERE r.service_id = $1 ORDER BY r.position");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(service_id)
        .fetch_all(conn)
        .await?)
}

/// One recipient as the administrator sets it.
#[derive(Clone, Debug)]
pub struct RecipientInput {
    pub connector_id: i64,
    pub mapping: String,
    pub required_application_id: i64,
    pub required_profile_id: Option<i64>,
}

/// Replaces a service's recipients. A recipient that already has deliveries
/// cannot be removed (its history would dangle): that is a conflict.
pub async fn set_recipients_in(
    conn: &mut AnyConnection,
    service_id: i64,
    list: &[RecipientInput],
) -> Result<()> {
    let existing: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, connector_id FROM service_recipients WHERE service_id = $1")
            .bind(service_id)
            .fetch_all(&mut *conn)
            .await?;
    for (id, connector_id) in &existing {
        if list.iter().any(|r| r.connector_id == *connector_id) {
            continue;
        }
        let used: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE recipient_id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
        if used > 0 {
            return Err(StoreError::Conflict(
                "un destinatario che ha già ricevuto pratiche non si può togliere dal servizio"
                    .into(),
            ));
        }
        sqlx::query("DELETE FROM service_recipients WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    for (position, r) in list.iter().enumerate() {
        sqlx::query(
            "INSERT INTO service_recipients (service_id, connector_id, position, mapping, required_application_id, required_profile_id)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (service_id, connector_id) DO UPDATE SET position = $3, mapping = $4,
                 required_application_id = $5, required_profile_id = $6",
        )
        .bind(service_id)
        .bind(r.connector_id)
        .bind(position as i64)
        .bind(&r.mapping)
        .bind(r.required_application_id)
        .bind(r.required_profile_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- filings

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Filing {
    pub id: i64,
    pub service_id: i64,
    pub service_code: String,
    pub service_name: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub prepared_by: i64,
    pub preparer_name: String,
    pub state: String,
    pub reference: Option<String>,
    pub data: String,
    pub all_started_notified: i64,
    pub archived_at: Option<i64>,
    pub submitted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const FILING: &str =
    "SELECT f.id, f.service_id, s.code AS service_code, s.name AS service_name, f.owner_id,
        o.given_name || ' ' || o.family_name AS owner_name, f.prepared_by,
        p.given_name || ' ' || p.family_name AS preparer_name, f.state, f.reference, f.data,
        f.all_started_notified, f.archived_at, f.submitted_at, f.created_at, f.updated_at
 FROM filings f JOIN integrated_services s ON s.id = f.service_id
      JOIN users o ON o.id = f.owner_id JOIN users p ON p.id = f.prepared_by";

pub const DRAFT: &str = "draft";
pub const SUBMITTED: &str = "submitted";

pub async fn insert_filing_in(
    conn: &mut AnyConnection,
    service_id: i64,
    owner_id: i64,
    prepared_by: i64,
    data: &str,
    search_text: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO filings (service_id, owner_id, prepared_by, state, data, search_text, created_at, updated_at)
         VALUES ($1, $2, $3, 'draft', $4, $5, $6, $6) RETURNING id",
    )
    .bind(service_id)
    .bind(owner_id)
    .bind(prepared_by)
    .bind(data)
    .bind(search_text)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Replaces a draft's data; false when it is no longer a draft.
pub async fn update_draft_in(
    conn: &mut AnyConnection,
    id: i64,
    prepared_by: i64,
    data: &str,
    search_text: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE filings SET data = $2, search_text = $3, prepared_by = $4, updated_at = $5
         WHERE id = $1 AND state = 'draft'",
    )
    .bind(id)
    .bind(data)
    .bind(search_text)
    .bind(prepared_by)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Marks a draft sent with its portal reference; false when it was not a draft.
pub async fn mark_submitted_in(
    conn: &mut AnyConnection,
    id: i64,
    reference: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE filings SET state = 'submitted', reference = $2, submitted_at = $3, updated_at = $3
         WHERE id = $1 AND state = 'draft'",
    )
    .bind(id)
    .bind(reference)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Takes the filing's row lock first, so that changes to its deliveries in
/// concurrent transactions are serialized (the "all started" mail goes once).
pub async fn lock_filing_in(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE filings SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Rows written per multi-row statement: more on PostgreSQL, fewer on
/// SQLite, where binding `$N` parameters looks each name up in a list, so a
/// statement's cost grows with the square of its parameters (~150 at most).
fn rows_per_statement(conn: &AnyConnection, postgres: usize, sqlite: usize) -> usize {
    match Backend::of(conn) {
        Backend::Postgres => postgres,
        Backend::Sqlite => sqlite,
    }
}

/// `$from, $from+1, ...`: `n` placeholders.
fn marks(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the recording of deliveries' news needs of a filing: its
/// reference and service for the mails, whether the "all started" mail
/// went, and whom to tell (owner and preparer; empty addresses omitted).
#[derive(Clone, Debug, FromRow)]
pub struct FilingNotice {
    pub id: i64,
    pub reference: Option<String>,
    pub service_name: String,
    pub all_started_notified: i64,
    pub owner_email: String,
    pub preparer_email: String,
}

/// Reads several filings for [`FilingNotice`] and locks them for the rest of
/// the transaction: on PostgreSQL `FOR UPDATE`, taken in id order so that
/// two transactions locking overlapping sets wait for each other instead of
/// deadlocking (and the "all started" mail goes once); a SQLite write
/// transaction holds the whole database already. Nothing is written.
pub async fn lock_filing_notices_in(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<Vec<FilingNotice>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let lock = match Backend::of(conn) {
        Backend::Postgres => " FOR UPDATE OF f",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT f.id, f.reference, s.name AS service_name, f.all_started_notified,
                COALESCE(o.email, '') AS owner_email, COALESCE(p.email, '') AS preparer_email
         FROM filings f JOIN integrated_services s ON s.id = f.service_id
              JOIN users o ON o.id = f.owner_id JOIN users p ON p.id = f.prepared_by
         WHERE f.id IN ({}) ORDER BY f.id{lock}",
        marks(1, ids.len())
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(conn).await?)
}

/// Marks filings as changed at `now` (their deliveries moved), and those in
/// `notified` as having had their "all started" mail: one statement.
pub async fn touch_filings_in(
    conn: &mut AnyConnection,
    changed: &[i64],
    notified: &[i64],
    now: i64,
) -> Result<()> {
    if changed.is_empty() && notified.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = changed.iter().chain(notified).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let notified_set = if notified.is_empty() {
        String::new()
    } else {
        format!(
            ", all_started_notified = CASE WHEN id IN ({}) THEN 1 ELSE all_started_notified END",
            marks(2 + ids.len(), notified.len())
        )
    };
    let sql = format!(
        "UPDATE filings SET updated_at = $1{notified_set} WHERE id IN ({})",
        marks(2, ids.len())
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for id in ids.iter().chain(notified) {
        q = q.bind(*id);
    }
    q.execute(conn).await?;
    Ok(())
}

pub async fn set_archived_in(
    conn: &mut AnyConnection,
    id: i64,
    archived_at: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE filings SET archived_at = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(archived_at)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a draft never sent; false when it is not one.
pub async fn delete_draft_in(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    Ok(
        sqlx::query("DELETE FROM filings WHERE id = $1 AND state = 'draft'")
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn filing(db: &Db, id: i64) -> Result<Option<Filing>> {
    let sql = format!("{FILING} WHERE f.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn filing_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Filing>> {
    let sql = format!("{FILING} WHERE f.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// What the desk's list and search ask for.
#[derive(Clone, Debug, Default)]
pub struct FilingFilter {
    /// Filings of these owners (the user and those who sub-delegated him).
    pub owner_ids: Vec<i64>,
    /// `drafts`, `in_progress` or `archive`; None = all.
    pub tray: Option<String>,
    /// Portal reference, an agency's protocol number, or text in the data.
    pub text: Option<String>,
    /// Filings with at least one delivery in this state.
    pub delivery_state: Option<String>,
    /// Created (drafts) or sent on or after / before these instants (µs).
    pub from: Option<i64>,
    pub until: Option<i64>,
    pub limit: i64,
}

pub async fn list_filings(db: &Db, f: &FilingFilter) -> Result<Vec<Filing>> {
    if f.owner_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::from(FILING);
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    let owners: Vec<String> = f.owner_ids.iter().map(|_| next()).collect();
    sql.push_str(&format!(" WHERE f.owner_id IN ({})", owners.join(", ")));
    const UNDELIVERABLE: &str = "(f.state = 'submitted' AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.filing_id = f.id AND d.state <> 'failed'))";
    match f.tray.as_deref() {
        Some("drafts") => sql.push_str(&format!(
            " AND f.archived_at IS NULL AND (f.state = 'draft' OR {UNDELIVERABLE})"
        )),
        Some("in_progress") => sql.push_str(&format!(
            " AND f.archived_at IS NULL AND f.state = 'submitted' AND NOT {UNDELIVERABLE}"
        )),
        Some("archive") => sql.push_str(" AND f.archived_at IS NOT NULL"),
        _ => {}
    }
    let text = f.text.as_ref().map(|t| t.trim().to_lowercase());
    if text.is_some() {
        let (a, b, c) = (next(), next(), next());
        sql.push_str(&format!(
            " AND (LOWER(COALESCE(f.reference, '')) LIKE {a}
                   OR EXISTS (SELECT 1 FROM deliveries d WHERE d.filing_id = f.id AND LOWER(d.protocol) LIKE {b})
                   OR f.search_text LIKE {c})"
        ));
    }
    if f.delivery_state.is_some() {
        let s = next();
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.filing_id = f.id AND d.state = {s})"
        ));
    }
    if f.from.is_some() {
        let s = next();
        sql.push_str(&format!(
            " AND COALESCE(f.submitted_at, f.created_at) >= {s}"
        ));
    }
    if f.until.is_some() {
        let s = next();
        sql.push_str(&format!(
            " AND COALESCE(f.submitted_at, f.created_at) < {s}"
        ));
    }
    let l = next();
    sql.push_str(&format!(" ORDER BY f.updated_at DESC, f.id DESC LIMIT {l}"));
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for o in &f.owner_ids {
        q = q.bind(*o);
    }
    if let Some(t) = &text {
        // A reference or protocol number by its beginning ("inps-2026"),
        // the data anywhere; LIKE's wildcards typed by the user are dropped.
        let plain = t.replace(['\\', '%', '_'], "");
        let prefix = format!("{plain}%");
        q = q
            .bind(prefix.clone())
            .bind(prefix)
            .bind(format!("%{plain}%"));
    }
    if let Some(s) = &f.delivery_state {
        q = q.bind(s.clone());
    }
    if let Some(v) = f.from {
        q = q.bind(v);
    }
    if let Some(v) = f.until {
        q = q.bind(v);
    }
    Ok(q.bind(f.limit.clamp(1, 1000)).fetch_all(db.pool()).await?)
}

// ---------------------------------------------------------------- deliveries

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Delivery {
    pub id: i64,
    pub filing_id: i64,
    pub recipient_id: i64,
    pub connector_id: i64,
    pub connector_code: String,
    pub connector_name: String,
    pub idempotency_key: String,
    pub state: String,
    pub protocol: Option<String>,
    pub reason: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub polls: i64,
    pub next_poll_at: Option<i64>,
    pub started_at: Option<i64>,
    pub updated_at: i64,
}

const DELIVERY: &str =
    "SELECT d.id, d.filing_id, d.recipient_id, d.connector_id, c.code AS connector_code,
        c.name AS connector_name, d.idempotency_key, d.state, d.protocol, d.reason, d.attempts,
        d.last_error, d.polls, d.next_poll_at, d.started_at, d.updated_at
 FROM deliveries d JOIN agency_connectors c ON c.id = d.connector_id";

#[allow(clippy::too_many_arguments)]
pub async fn insert_delivery_in(
    conn: &mut AnyConnection,
    filing_id: i64,
    recipient_id: i64,
    connector_id: i64,
    idempotency_key: &str,
    payload: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO deliveries (filing_id, recipient_id, connector_id, idempotency_key, payload, state, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
    )
    .bind(filing_id)
    .bind(recipient_id)
    .bind(connector_id)
    .bind(idempotency_key)
    .bind(payload)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

pub async fn deliveries_of(db: &Db, filing_id: i64) -> Result<Vec<Delivery>> {
    let sql = format!("{DELIVERY} WHERE d.filing_id = $1 ORDER BY d.id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(filing_id)
        .fetch_all(db.pool())
        .await?)
}

/// The deliveries of several filings, in the caller's transaction.
pub async fn deliveries_of_filings_in(
    conn: &mut AnyConnection,
    filing_ids: &[i64],
) -> Result<Vec<Delivery>> {
    if filing_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{DELIVERY} WHERE d.filing_id IN ({}) ORDER BY d.filing_id, d.id",
        marks(1, filing_ids.len())
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for id in filing_ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(conn).await?)
}

/// The deliveries of several filings at once (a page of the desk).
pub async fn deliveries_of_many(db: &Db, filing_ids: &[i64]) -> Result<Vec<Delivery>> {
    if filing_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = db.pool().acquire().await?;
    deliveries_of_filings_in(&mut conn, filing_ids).await
}

pub async fn delivery_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Delivery>> {
    let sql = format!("{DELIVERY} WHERE d.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn delivery_by_key(db: &Db, key: &str) -> Result<Option<Delivery>> {
    let sql = format!("{DELIVERY} WHERE d.idempotency_key = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(db.pool())
        .await?)
}

/// What a worker needs to send one delivery.
#[derive(Clone, Debug, FromRow)]
pub struct Outgoing {
    pub id: i64,
    pub filing_id: i64,
    pub state: String,
    pub idempotency_key: String,
    pub payload: String,
    pub attempts: i64,
    pub endpoint: String,
    pub timeout_ms: i64,
    pub max_attempts: i64,
}

/// The deliveries with these ids, with their connector's settings.
pub async fn outgoing(db: &Db, ids: &[i64]) -> Result<Vec<Outgoing>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT d.id, d.filing_id, d.state, d.idempotency_key, d.payload, d.attempts, c.endpoint, c.timeout_ms, c.max_attempts
         FROM deliveries d JOIN agency_connectors c ON c.id = d.connector_id
         WHERE d.id IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// A delivery's new state, as decided by the domain rules.
#[derive(Clone, Debug, Default)]
pub struct DeliveryUpdate<'a> {
    pub state: &'a str,
    pub protocol: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub last_error: Option<&'a str>,
    pub next_poll_at: Option<i64>,
    /// Count one more attempt at sending.
    pub attempted: bool,
    /// Count one more poll.
    pub polled: bool,
    /// Reset the attempts (a resend by hand starts over).
    pub reset_attempts: bool,
}

pub async fn update_delivery_in(
    conn: &mut AnyConnection,
    id: i64,
    u: &DeliveryUpdate<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET state = $2, protocol = COALESCE($3, protocol), reason = COALESCE($4, reason),
                last_error = $5, next_poll_at = $6,
                attempts = CASE WHEN $9 = 1 THEN 0 ELSE attempts + $7 END, polls = polls + $8,
                started_at = CASE WHEN $3 IS NOT NULL AND started_at IS NULL THEN $10 ELSE started_at END,
                updated_at = $10
         WHERE id = $1",
    )
    .bind(id)
    .bind(u.state)
    .bind(u.protocol)
    .bind(u.reason)
    .bind(u.last_error)
    .bind(u.next_poll_at)
    .bind(i64::from(u.attempted))
    .bind(i64::from(u.polled))
    .bind(i64::from(u.reset_attempts))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// [`update_delivery_in`] for several deliveries, in one statement per 100
/// (`UPDATE ... FROM (VALUES ...)`, which both backends understand). A
/// delivery changed twice is updated change after change, as one by one.
pub async fn update_deliveries_in(
    conn: &mut AnyConnection,
    updates: &[(i64, DeliveryUpdate<'_>)],
    now: i64,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    if !updates.iter().all(|(id, _)| seen.insert(*id)) {
        for (id, u) in updates {
            update_delivery_in(conn, *id, u, now).await?;
        }
        return Ok(());
    }
    const COLUMNS: usize = 9;
    for chunk in updates.chunks(rows_per_statement(conn, 100, 16)) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", marks(2 + COLUMNS * i, COLUMNS)))
            .collect();
        // v.column1 id, 2 state, 3 protocol, 4 reason, 5 last_error,
        // 6 next_poll_at, 7 attempted, 8 polled, 9 reset_attempts
        let sql = format!(
            "UPDATE deliveries SET state = v.column2,
                    protocol = COALESCE(v.column3, deliveries.protocol),
                    reason = COALESCE(v.column4, deliveries.reason),
                    last_error = v.column5, next_poll_at = v.column6,
                    attempts = CASE WHEN v.column9 = 1 THEN 0 ELSE deliveries.attempts + v.column7 END,
                    polls = deliveries.polls + v.column8,
                    started_at = CASE WHEN v.column3 IS NOT NULL AND deliveries.started_at IS NULL
                                      THEN $1 ELSE deliveries.started_at END,
                    updated_at = $1
             FROM (VALUES {}) AS v
             WHERE deliveries.id = v.column1",
            rows.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for (id, u) in chunk {
            q = q
                .bind(*id)
                .bind(u.state)
                .bind(u.protocol)
                .bind(u.reason)
                .bind(u.last_error)
                .bind(u.next_poll_at)
                .bind(i64::from(u.attempted))
                .bind(i64::from(u.polled))
                .bind(i64::from(u.reset_attempts));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deliveries whose agency owes news (a protocol or an outcome) and whose
/// next poll is due.
pub async fn due_polls(db: &Db, now: i64, limit: i64) -> Result<Vec<Outgoing>> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.filing_id, d.state, d.idempotency_key, d.payload, d.attempts, c.endpoint, c.timeout_ms, c.max_attempts
         FROM deliveries d JOIN agency_connectors c ON c.id = d.connector_id
         WHERE d.next_poll_at IS NOT NULL AND d.next_poll_at <= $1
         ORDER BY d.next_poll_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct DeliveryEvent {
    pub id: i64,
    pub delivery_id: i64,
    pub connector_name: String,
    pub at: i64,
    pub kind: String,
    pub detail: String,
    pub actor_name: Option<String>,
}

pub async fn add_event_in(
    conn: &mut AnyConnection,
    delivery_id: i64,
    kind: &str,
    detail: &str,
    actor_id: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO delivery_events (delivery_id, at, kind, detail, actor_id) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(delivery_id)
    .bind(now)
    .bind(kind)
    .bind(detail)
    .bind(actor_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Several events by the system (no actor) at once: (delivery, kind, detail).
pub async fn add_events_in(
    conn: &mut AnyConnection,
    events: &[(i64, String, String)],
    now: i64,
) -> Result<()> {
    for chunk in events.chunks(rows_per_statement(conn, 200, 48)) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, $1, ${}, ${}, NULL)", 2 + 3 * i, 3 + 3 * i, 4 + 3 * i))
            .collect();
        let sql = format!(
            "INSERT INTO delivery_events (delivery_id, at, kind, detail, actor_id) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for (delivery, kind, detail) in chunk {
            q = q.bind(*delivery).bind(kind.as_str()).bind(detail.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn events_of_filing(db: &Db, filing_id: i64) -> Result<Vec<DeliveryEvent>> {
    Ok(sqlx::query_as(
        "SELECT e.id, e.delivery_id, c.name AS connector_name, e.at, e.kind, e.detail,
                u.given_name || ' ' || u.family_name AS actor_name
         FROM delivery_events e JOIN deliveries d ON d.id = e.delivery_id
              JOIN agency_connectors c ON c.id = d.connector_id
              LEFT JOIN users u ON u.id = e.actor_id
         WHERE d.filing_id = $1 ORDER BY e.at, e.id",
    )
    .bind(filing_id)
    .fetch_all(db.pool())
    .await?)
}

/// Users who sub-delegated an application to `delegate_id`, live now.
pub async fn delegators_of(
    db: &Db,
    delegate_id: i64,
    application_id: i64,
    now: i64,
) -> Result<Vec<(i64, i64)>> {
    // (delegator, delegated profile)
    Ok(sqlx::query_as(
        "SELECT s.delegator_id, s.profile_id FROM subdelegations s JOIN users u ON u.id = s.delegator_id
         WHERE s.delegate_id = $1 AND s.application_id = $2 AND s.revoked_at IS NULL
               AND (s.expires_at IS NULL OR s.expires_at > $3) AND u.status = 'active'",
    )
    .bind(delegate_id)
    .bind(application_id)
    .bind(now)
    .fetch_all(db.pool())
    .await?)
}

// ---------------------------------------------------------------- demo helpers

/// A profile's id by application id and code.
pub async fn profile_id_in(
    conn: &mut AnyConnection,
    application_id: i64,
    code: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM profiles WHERE application_id = $1 AND code = $2")
            .bind(application_id)
            .bind(code)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn service_id_in(conn: &mut AnyConnection, code: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM integrated_services WHERE code = $1")
            .bind(code)
            .fetch_optional(conn)
            .await?,
    )
}

/// A user's direct enablement to an application: (id, application, profile).
pub async fn enablement_in(
    conn: &mut AnyConnection,
    user_id: i64,
    application_code: &str,
) -> Result<Option<(i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT e.id, e.application_id, e.profile_id FROM enablements e JOIN applications a ON a.id = e.application_id
         WHERE e.user_id = $1 AND a.code = $2",
    )
    .bind(user_id)
    .bind(application_code)
    .fetch_optional(conn)
    .await?)
}

pub async fn has_live_subdelegation_in(
    conn: &mut AnyConnection,
    delegator_id: i64,
    delegate_id: i64,
) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM subdelegations WHERE delegator_id = $1 AND delegate_id = $2 AND revoked_at IS NULL",
    )
    .bind(delegator_id)
    .bind(delegate_id)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}
