//! The assistance desk: protocol registers, channels, requests with their
//! history and attachments, inbound mail, report counters.
//!
//! Functions ending in `_in` run on the caller's transaction; the others read
//! from the pool.

use sqlx::{AnyConnection, FromRow};

use crate::{Db, Result, StoreError};

// ---------------------------------------------------------------- savepoints

/// A savepoint inside the caller's transaction (group commit of submissions).
#[derive(Clone, Copy, Debug)]
pub enum Savepoint {
    Begin,
    Release,
    RollBack,
}

pub async fn savepoint_in(conn: &mut AnyConnection, step: Savepoint) -> Result<()> {
    let sql = match step {
        Savepoint::Begin => "SAVEPOINT submission",
        Savepoint::Release => "RELEASE SAVEPOINT submission",
        Savepoint::RollBack => "ROLLBACK TO SAVEPOINT submission",
    };
    sqlx::query(sql).execute(conn).await?;
    Ok(())
}

// ---------------------------------------------------------------- registers

/// Inserts the register unless its code exists; returns its id either way.
pub async fn ensure_register(
    conn: &mut AnyConnection,
    code: &str,
    name: &str,
    aoo: &str,
    now: i64,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO registers (code, name, aoo, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(code)
    .bind(name)
    .bind(aoo)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM registers WHERE code = $1")
            .bind(code)
            .fetch_one(conn)
            .await?,
    )
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Register {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub aoo: String,
}

/// The id of a row by its natural key: organizations, applications and
/// offices by code, users by codice fiscale.
pub async fn id_by_code_in(
    conn: &mut AnyConnection,
    table: &'static str,
    code: &str,
) -> Result<Option<i64>> {
    let sql = match table {
        "organizations" => "SELECT id FROM organizations WHERE code = $1",
        "applications" => "SELECT id FROM applications WHERE code = $1",
        "offices" => "SELECT id FROM offices WHERE code = $1",
        "users" => "SELECT id FROM users WHERE fiscal_code = $1",
        _ => {
            return Err(StoreError::Conflict(format!(
                "tabella {table} non prevista"
            )));
        }
    };
    Ok(sqlx::query_scalar(sql)
        .bind(code)
        .fetch_optional(conn)
        .await?)
}

pub async fn register_code_in(conn: &mut AnyConnection, id: i64) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT code FROM registers WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

pub async fn registers(db: &Db) -> Result<Vec<Register>> {
    Ok(
        sqlx::query_as("SELECT id, code, name, aoo FROM registers ORDER BY code")
            .fetch_all(db.pool())
            .await?,
    )
}

/// The next number of `register` for `year`. The counter row is updated in
/// the caller's transaction: concurrent registrations wait for each other
/// (row lock on PostgreSQL, write lock on SQLite), and a rollback gives the
/// number back, so numbers have no gaps and are never reused.
pub async fn next_protocol_number_in(
    conn: &mut AnyConnection,
    register_id: i64,
    year: i32,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO register_counters (register_id, year, last_number) VALUES ($1, $2, 1)
         ON CONFLICT (register_id, year)
         DO UPDATE SET last_number = register_counters.last_number + 1
         RETURNING last_number",
    )
    .bind(register_id)
    .bind(year as i64)
    .fetch_one(conn)
    .await?)
}

// ---------------------------------------------------------------- channels

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Channel {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub register_id: i64,
    pub application_id: Option<i64>,
    pub requester_categories: String,
    pub require_association: i64,
    pub hours_weekly: String,
    pub hours_holidays: String,
    pub form_spec: String,
    pub outcomes: String,
    pub routing_rules: String,
    pub mail_address: Option<String>,
    pub intake_web: i64,
    pub intake_mail: i64,
    pub intake_phone: i64,
    pub notice_lookup: i64,
    pub sla_take_minutes: i64,
    pub sla_close_minutes: i64,
    pub max_attachment_bytes: i64,
    pub active: i64,
}

const CHANNEL_COLUMNS: &str = "id, code, name, description, register_id, application_id, requester_categories, require_association, hours_weekly, hours_holidays, form_spec, outcomes, routing_rules, mail_address, intake_web, intake_mail, intake_phone, notice_lookup, sla_take_minutes, sla_close_minutes, max_attachment_bytes, active";

impl Channel {
    pub fn outcome_list(&self) -> Vec<String> {
        self.outcomes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Creates the channel or, if its code exists, replaces its settings.
pub async fn save_channel_in(conn: &mut AnyConnection, c: &Channel, now: i64) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO channels (code, name, description, register_id, application_id,
            requester_categories, require_association, hours_weekly, hours_holidays, form_spec,
            outcomes, routing_rules, mail_address, intake_web, intake_mail, intake_phone,
            notice_lookup, sla_take_minutes, sla_close_minutes, max_attachment_bytes, active,
            created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$22)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, description = excluded.description,
            register_id = excluded.register_id, application_id = excluded.application_id,
            requester_categories = excluded.requester_categories,
            require_association = excluded.require_association,
            hours_weekly = excluded.hours_weekly, hours_holidays = excluded.hours_holidays,
            form_spec = excluded.form_spec, outcomes = excluded.outcomes,
            routing_rules = excluded.routing_rules, mail_address = excluded.mail_address,
            intake_web = excluded.intake_web, intake_mail = excluded.intake_mail,
            intake_phone = excluded.intake_phone, notice_lookup = excluded.notice_lookup,
            sla_take_minutes = excluded.sla_take_minutes,
            sla_close_minutes = excluded.sla_close_minutes,
            max_attachment_bytes = excluded.max_attachment_bytes, active = excluded.active,
            updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(&c.code)
    .bind(&c.name)
    .bind(&c.description)
    .bind(c.register_id)
    .bind(c.application_id)
    .bind(&c.requester_categories)
    .bind(c.require_association)
    .bind(&c.hours_weekly)
    .bind(&c.hours_holidays)
    .bind(&c.form_spec)
    .bind(&c.outcomes)
    .bind(&c.routing_rules)
    .bind(c.mail_address.as_deref())
    .bind(c.intake_web)
    .bind(c.intake_mail)
    .bind(c.intake_phone)
    .bind(c.notice_lookup)
    .bind(c.sla_take_minutes)
    .bind(c.sla_close_minutes)
    .bind(c.max_attachment_bytes)
    .bind(c.active)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub async fn set_channel_offices_in(
    conn: &mut AnyConnection,
    channel_id: i64,
    office_ids: &[i64],
) -> Result<()> {
    sqlx::query("DELETE FROM channel_offices WHERE channel_id = $1")
        .bind(channel_id)
        .execute(&mut *conn)
        .await?;
    for office in office_ids {
        sqlx::query("INSERT INTO channel_offices (channel_id, office_id) VALUES ($1, $2)")
            .bind(channel_id)
            .bind(office)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn channels(db: &Db) -> Result<Vec<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY code");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?)
}

pub async fn channels_in(conn: &mut AnyConnection) -> Result<Vec<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY code");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?)
}

pub async fn channel_by_code_in(conn: &mut AnyConnection, code: &str) -> Result<Option<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE code = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(conn)
        .await?)
}

pub async fn channel_by_code(db: &Db, code: &str) -> Result<Option<Channel>> {
    let mut conn = db.pool().acquire().await?;
    channel_by_code_in(&mut conn, code).await
}

/// Every office that works some channel.
pub async fn channel_office_ids(db: &Db) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT office_id FROM channel_offices ORDER BY office_id")
            .fetch_all(db.pool())
            .await?,
    )
}

pub async fn channel_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn channel(db: &Db, id: i64) -> Result<Option<Channel>> {
    let mut conn = db.pool().acquire().await?;
    channel_in(&mut conn, id).await
}

/// An office as routing and the desk see it.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct DeskOffice {
    pub id: i64,
    pub organization_id: i64,
    pub code: String,
    pub name: String,
    pub region: Option<String>,
    pub province: Option<String>,
    pub mailbox: Option<String>,
    pub accepting_requests: i64,
    /// Requests not yet closed.
    pub open_requests: i64,
}

const DESK_OFFICE_SELECT: &str = "SELECT o.id, o.organization_id, o.code, o.name, o.region, o.province, o.mailbox, o.accepting_requests,
    CAST(COALESCE((SELECT SUM(c.n) FROM desk_open_counts c WHERE c.office_id = o.id), 0) AS BIGINT) AS open_requests
    FROM offices o";

pub async fn channel_offices_in(
    conn: &mut AnyConnection,
    channel_id: i64,
) -> Result<Vec<DeskOffice>> {
    let sql = format!(
        "{DESK_OFFICE_SELECT} JOIN channel_offices co ON co.office_id = o.id
         WHERE co.channel_id = $1 ORDER BY o.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(channel_id)
        .fetch_all(conn)
        .await?)
}

pub async fn channel_offices(db: &Db, channel_id: i64) -> Result<Vec<DeskOffice>> {
    let mut conn = db.pool().acquire().await?;
    channel_offices_in(&mut conn, channel_id).await
}

pub async fn desk_office_in(conn: &mut AnyConnection, id: i64) -> Result<Option<DeskOffice>> {
    let sql = format!("{DESK_OFFICE_SELECT} WHERE o.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn desk_office_by_code_in(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<DeskOffice>> {
    let sql = format!("{DESK_OFFICE_SELECT} WHERE o.code = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(conn)
        .await?)
}

pub async fn desk_offices(db: &Db) -> Result<Vec<DeskOffice>> {
    let sql = format!("{DESK_OFFICE_SELECT} ORDER BY o.region, o.name");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?)
}

pub async fn set_office_desk_settings_in(
    conn: &mut AnyConnection,
    office_id: i64,
    province: Option<&str>,
    accepting: bool,
) -> Result<()> {
    sqlx::query("UPDATE offices SET province = $2, accepting_requests = $3 WHERE id = $1")
        .bind(office_id)
        .bind(province)
        .bind(accepting as i64)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_organization_province_in(
    conn: &mut AnyConnection,
    organization_id: i64,
    province: &str,
) -> Result<()> {
    sqlx::query("UPDATE organizations SET province = $2 WHERE id = $1")
        .bind(organization_id)
        .bind(province)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn organization_province_in(
    conn: &mut AnyConnection,
    organization_id: i64,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT province FROM organizations WHERE id = $1")
            .bind(organization_id)
            .fetch_optional(conn)
            .await?
            .flatten(),
    )
}

// ---------------------------------------------------------------- members, notices, contacts

pub async fn add_member_in(
    conn: &mut AnyConnection,
    channel_id: i64,
    user_id: i64,
    office_id: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO channel_members (channel_id, user_id, office_id, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id, user_id, office_id) DO NOTHING",
    )
    .bind(channel_id)
    .bind(user_id)
    .bind(office_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The offices of the channel a requester is associated with.
pub async fn member_offices_in(
    conn: &mut AnyConnection,
    channel_id: i64,
    user_id: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT office_id FROM channel_members WHERE channel_id = $1 AND user_id = $2
         ORDER BY office_id",
    )
    .bind(channel_id)
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

pub async fn member_offices(db: &Db, channel_id: i64, user_id: i64) -> Result<Vec<i64>> {
    let mut conn = db.pool().acquire().await?;
    member_offices_in(&mut conn, channel_id, user_id).await
}

#[derive(Clone, Debug, FromRow, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Notice {
    pub notice_number: String,
    pub taxpayer_fiscal_code: String,
    pub kind: String,
    pub model: String,
    pub tax_year: i64,
}

/// Loads or replaces a notice; returns true if it was new.
pub async fn upsert_notice_in(conn: &mut AnyConnection, n: &Notice, now: i64) -> Result<bool> {
    let existed: Option<i64> =
        sqlx::query_scalar("SELECT id FROM notices WHERE notice_number = $1")
            .bind(&n.notice_number)
            .fetch_optional(&mut *conn)
            .await?;
    sqlx::query(
        "INSERT INTO notices (notice_number, taxpayer_fiscal_code, kind, model, tax_year, loaded_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (notice_number) DO UPDATE SET taxpayer_fiscal_code = excluded.taxpayer_fiscal_code,
            kind = excluded.kind, model = excluded.model, tax_year = excluded.tax_year,
            loaded_at = excluded.loaded_at",
    )
    .bind(&n.notice_number)
    .bind(&n.taxpayer_fiscal_code)
    .bind(&n.kind)
    .bind(&n.model)
    .bind(n.tax_year)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(existed.is_none())
}

pub async fn notice_in(conn: &mut AnyConnection, number: &str) -> Result<Option<Notice>> {
    Ok(sqlx::query_as(
        "SELECT notice_number, taxpayer_fiscal_code, kind, model, tax_year FROM notices
         WHERE notice_number = $1",
    )
    .bind(number)
    .fetch_optional(conn)
    .await?)
}

pub async fn notice(db: &Db, number: &str) -> Result<Option<Notice>> {
    let mut conn = db.pool().acquire().await?;
    notice_in(&mut conn, number).await
}

#[derive(Clone, Debug, Default, FromRow, serde::Serialize, PartialEq)]
pub struct Contact {
    pub contact_name: String,
    pub phone: String,
    pub email: String,
}

pub async fn contact(db: &Db, user_id: i64) -> Result<Option<Contact>> {
    Ok(sqlx::query_as(
        "SELECT contact_name, phone, email FROM requester_contacts WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn save_contact_in(
    conn: &mut AnyConnection,
    user_id: i64,
    c: &Contact,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO requester_contacts (user_id, contact_name, phone, email, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET contact_name = excluded.contact_name,
            phone = excluded.phone, email = excluded.email, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(&c.contact_name)
    .bind(&c.phone)
    .bind(&c.email)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- requests

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct Request {
    pub id: i64,
    pub channel_id: i64,
    pub register_id: i64,
    pub year: i64,
    pub number: i64,
    pub protocol: String,
    pub registered_at: i64,
    pub intake: String,
    pub requester_user_id: Option<i64>,
    pub requester_name: String,
    pub requester_email: Option<String>,
    pub requester_phone: Option<String>,
    pub contact_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub fields: String,
    pub document_hash: String,
    pub office_id: i64,
    pub region: String,
    pub assignee_id: Option<i64>,
    pub state: String,
    pub outcome: Option<String>,
    pub taken_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub paused_since: Option<i64>,
    pub paused_micros: i64,
    pub take_due_at: Option<i64>,
    pub close_due_at: Option<i64>,
    pub sla_flag: String,
    pub annulled_at: Option<i64>,
    pub annul_reason: Option<String>,
    pub updated_at: i64,
}

const REQUEST_COLUMNS: &str = "id, channel_id, register_id, year, number, protocol, registered_at, intake, requester_user_id, requester_name, requester_email, requester_phone, contact_name, subject, body, fields, document_hash, office_id, region, assignee_id, state, outcome, taken_at, closed_at, paused_since, paused_micros, take_due_at, close_due_at, sla_flag, annulled_at, annul_reason, updated_at";

/// Inserts a registered request (all fixed registration fields at once, art. 53).
pub async fn insert_request_in(conn: &mut AnyConnection, r: &Request) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO requests (channel_id, register_id, year, number, protocol, registered_at,
            intake, requester_user_id, requester_name, requester_email, requester_phone,
            contact_name, subject, body, fields, document_hash, office_id, region, assignee_id,
            state, take_due_at, close_due_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$6)
         RETURNING id",
    )
    .bind(r.channel_id)
    .bind(r.register_id)
    .bind(r.year)
    .bind(r.number)
    .bind(&r.protocol)
    .bind(r.registered_at)
    .bind(&r.intake)
    .bind(r.requester_user_id)
    .bind(&r.requester_name)
    .bind(r.requester_email.as_deref())
    .bind(r.requester_phone.as_deref())
    .bind(r.contact_name.as_deref())
    .bind(&r.subject)
    .bind(&r.body)
    .bind(&r.fields)
    .bind(&r.document_hash)
    .bind(r.office_id)
    .bind(&r.region)
    .bind(r.assignee_id)
    .bind(&r.state)
    .bind(r.take_due_at)
    .bind(r.close_due_at)
    .fetch_one(conn)
    .await?)
}

pub async fn request_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Request>> {
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn request(db: &Db, id: i64) -> Result<Option<Request>> {
    let mut conn = db.pool().acquire().await?;
    request_in(&mut conn, id).await
}

pub async fn request_by_protocol_in(
    conn: &mut AnyConnection,
    register_id: i64,
    year: i64,
    number: i64,
) -> Result<Option<Request>> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests WHERE register_id = $1 AND year = $2 AND number = $3"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(register_id)
        .bind(year)
        .bind(number)
        .fetch_optional(conn)
        .await?)
}

/// Writes the mutable part of a request, if it is still in `expected_state`
/// (two people acting at once: the second is told, nothing is overwritten).
pub async fn update_request_in(
    conn: &mut AnyConnection,
    r: &Request,
    expected_state: &str,
    now: i64,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE requests SET office_id = $3, region = $4, assignee_id = $5, state = $6,
            outcome = $7, taken_at = $8, closed_at = $9, paused_since = $10, paused_micros = $11,
            take_due_at = $12, close_due_at = $13, sla_flag = $14, updated_at = $15
         WHERE id = $1 AND state = $2",
    )
    .bind(r.id)
    .bind(expected_state)
    .bind(r.office_id)
    .bind(&r.region)
    .bind(r.assignee_id)
    .bind(&r.state)
    .bind(r.outcome.as_deref())
    .bind(r.taken_at)
    .bind(r.closed_at)
    .bind(r.paused_since)
    .bind(r.paused_micros)
    .bind(r.take_due_at)
    .bind(r.close_due_at)
    .bind(&r.sla_flag)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    if done == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(
            "la richiesta è stata modificata nel frattempo".into(),
        ))
    }
}

pub async fn set_sla_flag_in(conn: &mut AnyConnection, id: i64, flag: &str) -> Result<()> {
    sqlx::query("UPDATE requests SET sla_flag = $2 WHERE id = $1")
        .bind(id)
        .bind(flag)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn annul_request_in(
    conn: &mut AnyConnection,
    id: i64,
    by: i64,
    reason: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE requests SET annulled_at = $2, annulled_by = $3, annul_reason = $4, updated_at = $2
         WHERE id = $1 AND annulled_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .bind(reason)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// A filter over requests; every set field narrows the list.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub office_ids: Option<Vec<i64>>,
    pub requester_user_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub states: Vec<String>,
    pub channel_id: Option<i64>,
    /// Protocol number, subject or requester name (substring).
    pub text: Option<String>,
    pub sla_flags: Vec<String>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn list_requests(db: &Db, f: &RequestFilter) -> Result<Vec<Request>> {
    let mut clauses: Vec<String> = Vec::new();
    let mut ints: Vec<i64> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    // Integers first, then texts: placeholders are numbered as they are pushed.
    let mut next = 1;
    let mut placeholder = || {
        let p = format!("${next}");
        next += 1;
        p
    };
    if let Some(ids) = &f.office_ids {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ps: Vec<String> = ids
            .iter()
            .map(|id| {
                ints.push(*id);
                placeholder()
            })
            .collect();
        clauses.push(format!("office_id IN ({})", ps.join(",")));
    }
    if let Some(id) = f.requester_user_id {
        ints.push(id);
        clauses.push(format!("requester_user_id = {}", placeholder()));
    }
    if let Some(id) = f.assignee_id {
        ints.push(id);
        clauses.push(format!("assignee_id = {}", placeholder()));
    }
    if let Some(id) = f.channel_id {
        ints.push(id);
        clauses.push(format!("channel_id = {}", placeholder()));
    }
    if !f.states.is_empty() {
        let ps: Vec<String> = f
            .states
            .iter()
            .map(|s| {
                texts.push(s.clone());
                placeholder()
            })
            .collect();
        clauses.push(format!("state IN ({})", ps.join(",")));
    }
    if !f.sla_flags.is_empty() {
        let ps: Vec<String> = f
            .sla_flags
            .iter()
            .map(|s| {
                texts.push(s.clone());
                placeholder()
            })
            .collect();
        clauses.push(format!("sla_flag IN ({})", ps.join(",")));
    }
    if let Some(t) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = format!("%{}%", t.trim().to_lowercase());
        texts.push(pattern.clone());
        let a = placeholder();
        texts.push(pattern.clone());
        let b = placeholder();
        texts.push(pattern);
        let c = placeholder();
        clauses.push(format!(
            "(LOWER(protocol) LIKE {a} OR LOWER(subject) LIKE {b} OR LOWER(requester_name) LIKE {c})"
        ));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let limit = if f.limit <= 0 { 50 } else { f.limit.min(500) };
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests {where_sql} ORDER BY registered_at DESC, id DESC
         LIMIT {limit} OFFSET {}",
        f.offset.max(0)
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for i in ints {
        q = q.bind(i);
    }
    for t in texts {
        q = q.bind(t);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// Open requests not yet flagged late, the nearest deadline first (the take-
/// in-charge one until taken, then the closing one).
pub async fn open_requests_by_deadline(db: &Db, limit: i64) -> Result<Vec<Request>> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests
         WHERE state <> 'closed' AND sla_flag <> 'breached'
           AND (take_due_at IS NOT NULL OR close_due_at IS NOT NULL)
         ORDER BY CASE WHEN taken_at IS NULL AND take_due_at IS NOT NULL THEN take_due_at
                       ELSE close_due_at END, id
         LIMIT $1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(db.pool())
        .await?)
}

// ---------------------------------------------------------------- events, attachments

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct RequestEvent {
    pub id: i64,
    pub request_id: i64,
    pub at: i64,
    pub actor_user_id: Option<i64>,
    pub actor_label: String,
    pub kind: String,
    pub public: i64,
    pub body: String,
    pub detail: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn add_event_in(
    conn: &mut AnyConnection,
    request_id: i64,
    at: i64,
    actor_user_id: Option<i64>,
    actor_label: &str,
    kind: &str,
    public: bool,
    body: &str,
    detail: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO request_events (request_id, at, actor_user_id, actor_label, kind, public, body, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(request_id)
    .bind(at)
    .bind(actor_user_id)
    .bind(actor_label)
    .bind(kind)
    .bind(public as i64)
    .bind(body)
    .bind(detail)
    .fetch_one(conn)
    .await?)
}

pub async fn events(db: &Db, request_id: i64) -> Result<Vec<RequestEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, request_id, at, actor_user_id, actor_label, kind, public, body, detail
         FROM request_events WHERE request_id = $1 ORDER BY id",
    )
    .bind(request_id)
    .fetch_all(db.pool())
    .await?)
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct AttachmentInfo {
    pub id: i64,
    pub request_id: i64,
    pub event_id: Option<i64>,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: i64,
}

#[allow(clippy::too_many_arguments)]
pub async fn add_attachment_in(
    conn: &mut AnyConnection,
    request_id: i64,
    event_id: Option<i64>,
    filename: &str,
    content_type: &str,
    sha256: &str,
    data: &[u8],
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO request_attachments (request_id, event_id, filename, content_type, size, sha256, data, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(request_id)
    .bind(event_id)
    .bind(filename)
    .bind(content_type)
    .bind(data.len() as i64)
    .bind(sha256)
    .bind(data)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

pub async fn attachments(db: &Db, request_id: i64) -> Result<Vec<AttachmentInfo>> {
    Ok(sqlx::query_as(
        "SELECT id, request_id, event_id, filename, content_type, size, sha256, created_at
         FROM request_attachments WHERE request_id = $1 ORDER BY id",
    )
    .bind(request_id)
    .fetch_all(db.pool())
    .await?)
}

/// One attachment with its bytes.
pub async fn attachment(db: &Db, id: i64) -> Result<Option<(AttachmentInfo, Vec<u8>)>> {
    let info: Option<AttachmentInfo> = sqlx::query_as(
        "SELECT id, request_id, event_id, filename, content_type, size, sha256, created_at
         FROM request_attachments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(info) = info else { return Ok(None) };
    let data: Vec<u8> = sqlx::query_scalar("SELECT data FROM request_attachments WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?;
    Ok(Some((info, data)))
}

// ---------------------------------------------------------------- inbound mail

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct InboundMail {
    pub id: i64,
    pub received_at: i64,
    pub message_id: Option<String>,
    pub from_address: Option<String>,
    pub to_address: Option<String>,
    pub subject: String,
    pub kind: String,
    pub status: String,
    pub reason: String,
    pub request_id: Option<i64>,
    pub sha256: String,
}

const INBOUND_COLUMNS: &str = "id, received_at, message_id, from_address, to_address, subject, kind, status, reason, request_id, sha256";

#[allow(clippy::too_many_arguments)]
pub async fn insert_inbound_in(
    conn: &mut AnyConnection,
    message_id: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    subject: &str,
    kind: &str,
    status: &str,
    reason: &str,
    request_id: Option<i64>,
    sha256: &str,
    raw: &[u8],
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO inbound_mail (received_at, message_id, from_address, to_address, subject, kind,
            status, reason, request_id, sha256, raw)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(now)
    .bind(message_id)
    .bind(from)
    .bind(to)
    .bind(subject)
    .bind(kind)
    .bind(status)
    .bind(reason)
    .bind(request_id)
    .bind(sha256)
    .bind(raw)
    .fetch_one(conn)
    .await?)
}

pub async fn inbound_by_message_id_in(
    conn: &mut AnyConnection,
    message_id: &str,
) -> Result<Option<InboundMail>> {
    let sql = format!("SELECT {INBOUND_COLUMNS} FROM inbound_mail WHERE message_id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(message_id)
        .fetch_optional(conn)
        .await?)
}

pub async fn inbound_in(conn: &mut AnyConnection, id: i64) -> Result<Option<InboundMail>> {
    let sql = format!("SELECT {INBOUND_COLUMNS} FROM inbound_mail WHERE id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn inbound_raw(db: &Db, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT raw FROM inbound_mail WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?,
    )
}

pub async fn inbound_list(db: &Db, status: &str, limit: i64) -> Result<Vec<InboundMail>> {
    let sql = format!(
        "SELECT {INBOUND_COLUMNS} FROM inbound_mail WHERE status = $1 ORDER BY id DESC LIMIT $2"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(status)
        .bind(limit)
        .fetch_all(db.pool())
        .await?)
}

pub async fn resolve_inbound_in(
    conn: &mut AnyConnection,
    id: i64,
    status: &str,
    request_id: Option<i64>,
    by: i64,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE inbound_mail SET status = $2, request_id = $3, handled_by = $4, handled_at = $5
         WHERE id = $1 AND status = 'triage'",
    )
    .bind(id)
    .bind(status)
    .bind(request_id)
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

// ---------------------------------------------------------------- report counters

/// Adds `delta` to a daily metric of an office, its region and the nation,
/// with the running total up to that day, in one statement; triggers carry
/// the change into the totals of later days and the list of counters.
pub async fn bump_stat_in(
    conn: &mut AnyConnection,
    office_id: i64,
    region: &str,
    day: i64,
    metric: &str,
    delta: i64,
) -> Result<()> {
    const BEFORE: &str =
        "COALESCE((SELECT p.total FROM desk_stats p WHERE p.level = $6 AND p.scope = $7
        AND p.metric = $4 AND p.day < $3 ORDER BY p.day DESC LIMIT 1), 0)";
    let sql = format!(
        "INSERT INTO desk_stats (level, scope, region, day, metric, n, total) VALUES
            ('office', $1, $2, $3, $4, $5, $5 + {}),
            ('region', $2, $2, $3, $4, $5, $5 + {}),
            ('nation', '', $2, $3, $4, $5, $5 + {})
         ON CONFLICT (level, scope, day, metric)
         DO UPDATE SET n = desk_stats.n + excluded.n, total = desk_stats.total + excluded.n",
        BEFORE.replace("$6", "'office'").replace("$7", "$1"),
        BEFORE.replace("$6", "'region'").replace("$7", "$2"),
        BEFORE.replace("$6", "'nation'").replace("$7", "''"),
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(office_id.to_string())
        .bind(region)
        .bind(day)
        .bind(metric)
        .bind(delta)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves one request between open states of an office (`None` = not open).
pub async fn move_open_in(
    conn: &mut AnyConnection,
    office_id: i64,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<()> {
    if let Some(from) = from {
        sqlx::query("UPDATE desk_open_counts SET n = n - 1 WHERE office_id = $1 AND state = $2")
            .bind(office_id)
            .bind(from)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(to) = to {
        sqlx::query(
            "INSERT INTO desk_open_counts (office_id, state, n) VALUES ($1, $2, 1)
             ON CONFLICT (office_id, state) DO UPDATE SET n = desk_open_counts.n + 1",
        )
        .bind(office_id)
        .bind(to)
        .execute(conn)
        .await?;
    }
    Ok(())
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct OpenCount {
    pub office_id: i64,
    pub state: String,
    pub n: i64,
}

/// Requests open now, per office and state (all offices when `None`).
pub async fn open_counts(db: &Db, office_ids: Option<&[i64]>) -> Result<Vec<OpenCount>> {
    match office_ids {
        None => Ok(sqlx::query_as(
            "SELECT office_id, state, n FROM desk_open_counts WHERE n <> 0 ORDER BY office_id, state",
        )
        .fetch_all(db.pool())
        .await?),
        Some([]) => Ok(Vec::new()),
        Some(ids) => {
            let ps: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT office_id, state, n FROM desk_open_counts WHERE n <> 0 AND office_id IN ({})
                 ORDER BY office_id, state",
                ps.join(",")
            );
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in ids {
                q = q.bind(*id);
            }
            Ok(q.fetch_all(db.pool()).await?)
        }
    }
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct StatRow {
    pub scope: String,
    pub day: i64,
    pub metric: String,
    pub n: i64,
}

/// Daily metrics of one scope (`level` office/region/nation) in
/// [from_day, to_day], only those named (the trend of a chart).
pub async fn stats(
    db: &Db,
    level: &str,
    scope: &str,
    from_day: i64,
    to_day: i64,
    metrics: &[&str],
) -> Result<Vec<StatRow>> {
    let mut out = Vec::new();
    for metric in metrics {
        out.extend(
            sqlx::query_as::<_, StatRow>(
                "SELECT scope, day, metric, n FROM desk_stats
                 WHERE level = $1 AND scope = $2 AND metric = $3 AND day >= $4 AND day <= $5
                 ORDER BY day",
            )
            .bind(level)
            .bind(scope)
            .bind(*metric)
            .bind(from_day)
            .bind(to_day)
            .fetch_all(db.pool())
            .await?,
        );
    }
    Ok(out)
}

/// Which scopes `period_totals` reads.
pub enum StatScopes<'a> {
    /// One scope of a level.
    One(&'a str),
    /// Every scope of the level within a region.
    Region(&'a str),
    /// Every scope of the level.
    All,
}

/// Totals over [from_day, to_day] per scope and metric, from the running
/// totals: two index lookups per counter, whatever the period's length.
pub async fn period_totals(
    db: &Db,
    level: &str,
    scopes: StatScopes<'_>,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<StatRow>> {
    let (filter, value) = match scopes {
        StatScopes::One(s) => ("AND k.scope = $4", Some(s)),
        StatScopes::Region(r) => ("AND k.region = $4", Some(r)),
        StatScopes::All => ("", None),
    };
    let sql = format!(
        "SELECT k.scope AS scope, CAST(0 AS BIGINT) AS day, k.metric AS metric,
            CAST(COALESCE((SELECT s.total FROM desk_stats s WHERE s.level = k.level AND s.scope = k.scope
                    AND s.metric = k.metric AND s.day <= $3 ORDER BY s.day DESC LIMIT 1), 0)
               - COALESCE((SELECT s.total FROM desk_stats s WHERE s.level = k.level AND s.scope = k.scope
                    AND s.metric = k.metric AND s.day < $2 ORDER BY s.day DESC LIMIT 1), 0) AS BIGINT) AS n
         FROM desk_stat_keys k WHERE k.level = $1 {filter}
         ORDER BY k.scope, k.metric"
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(level)
        .bind(from_day)
        .bind(to_day);
    if let Some(v) = value {
        q = q.bind(v);
    }
    let rows: Vec<StatRow> = q.fetch_all(db.pool()).await?;
    Ok(rows.into_iter().filter(|r| r.n != 0).collect())
}

/// Offices without their counts: for labels.
#[derive(Clone, Debug, FromRow)]
pub struct OfficeLabel {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub region: Option<String>,
}

pub async fn office_labels(db: &Db) -> Result<Vec<OfficeLabel>> {
    Ok(
        sqlx::query_as("SELECT id, code, name, region FROM offices ORDER BY region, name")
            .fetch_all(db.pool())
            .await?,
    )
}

// ---------------------------------------------------------------- daily register

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct RegisterEntry {
    pub protocol: String,
    pub number: i64,
    pub registered_at: i64,
    pub intake: String,
    pub requester_name: String,
    pub subject: String,
    pub document_hash: String,
    pub office_id: i64,
    pub annulled_at: Option<i64>,
    pub annul_reason: Option<String>,
}

/// Registrations of one register in [from, to), and the annulments made in it.
pub async fn register_entries(
    db: &Db,
    register_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<RegisterEntry>> {
    Ok(sqlx::query_as(
        "SELECT protocol, number, registered_at, intake, requester_name, subject, document_hash,
            office_id, annulled_at, annul_reason
         FROM requests
         WHERE register_id = $1
           AND ((registered_at >= $2 AND registered_at < $3)
             OR (annulled_at IS NOT NULL AND annulled_at >= $2 AND annulled_at < $3))
         ORDER BY year, number",
    )
    .bind(register_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?)
}

pub async fn record_register_export_in(
    conn: &mut AnyConnection,
    register_id: i64,
    day: i64,
    entries: i64,
    sha256: &str,
    by: Option<i64>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO register_exports (register_id, day, entries, sha256, exported_by, exported_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(register_id)
    .bind(day)
    .bind(entries)
    .bind(sha256)
    .bind(by)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

// ---------------------------------------------------------------- office staff

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct StaffMember {
    pub user_id: i64,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub role: String,
}

/// Managers and operators of an office, active accounts only.
pub async fn office_staff_in(conn: &mut AnyConnection, office_id: i64) -> Result<Vec<StaffMember>> {
    Ok(sqlx::query_as(
        "SELECT u.id AS user_id, u.given_name, u.family_name, u.email, r.role
         FROM user_roles r JOIN users u ON u.id = r.user_id
         WHERE r.office_id = $1 AND r.role IN ('office_manager', 'operator') AND u.status = 'active'
         ORDER BY u.family_name, u.given_name, r.role",
    )
    .bind(office_id)
    .fetch_all(conn)
    .await?)
}

pub async fn office_staff(db: &Db, office_id: i64) -> Result<Vec<StaffMember>> {
    let mut conn = db.pool().acquire().await?;
    office_staff_in(&mut conn, office_id).await
}

/// The offices where a user is manager or operator.
pub async fn offices_of_staff(db: &Db, user_id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT office_id FROM user_roles
         WHERE user_id = $1 AND office_id IS NOT NULL AND role IN ('office_manager', 'operator')
         ORDER BY office_id",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?)
}

/// Active users with this e-mail address (a mail sender is recognised only if exactly one).
pub async fn active_users_by_email_in(
    conn: &mut AnyConnection,
    email: &str,
) -> Result<Vec<crate::directory::User>> {
    let sql = format!(
        "SELECT {} FROM users WHERE LOWER(email) = $1 AND status = 'active' ORDER BY id LIMIT 2",
        crate::directory::USER_COLUMNS
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(email.to_lowercase())
        .fetch_all(conn)
        .await?)
}

pub async fn register_by_code_in(conn: &mut AnyConnection, code: &str) -> Result<Option<Register>> {
    Ok(
        sqlx::query_as("SELECT id, code, name, aoo FROM registers WHERE UPPER(code) = $1")
            .bind(code.to_uppercase())
            .fetch_optional(conn)
            .await?,
    )
}

/// Channels whose own address or one of whose offices' mailboxes is among `addresses`.
pub async fn channels_addressed_in(
    conn: &mut AnyConnection,
    addresses: &[String],
) -> Result<Vec<Channel>> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let ps: Vec<String> = (1..=addresses.len()).map(|i| format!("${i}")).collect();
    let list = ps.join(",");
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM channels WHERE LOWER(mail_address) IN ({list})
            OR id IN (SELECT co.channel_id FROM channel_offices co JOIN offices o ON o.id = co.office_id
                      WHERE LOWER(o.mailbox) IN ({list}))
         ORDER BY id"
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for a in addresses {
        q = q.bind(a.to_lowercase());
    }
    Ok(q.fetch_all(conn).await?)
}
