//! User lifecycle (disable, re-enable, delete with pseudonymisation), local
//! administrator roles, and appointment requests.

use sqlx::{AnyConnection, FromRow};

use crate::{Db, Result};

pub async fn set_disabled(
    conn: &mut AnyConnection,
    user_id: i64,
    disabled: bool,
    now: i64,
) -> Result<()> {
    let (status, at) = if disabled {
        ("disabled", Some(now))
    } else {
        ("active", None)
    };
    sqlx::query(
        "UPDATE users SET status = $2, disabled_at = $3 WHERE id = $1 AND status <> 'deleted'",
    )
    .bind(user_id)
    .bind(status)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Erases a user's personal data but keeps the row (and so every audit event
/// naming `user:ID` still resolves to "a deleted user").
pub async fn pseudonymise(conn: &mut AnyConnection, user_id: i64, now: i64) -> Result<()> {
    for sql in [
        "DELETE FROM sessions WHERE user_id = $1",
        "DELETE FROM credential_tokens WHERE user_id = $1",
        "DELETE FROM password_history WHERE user_id = $1",
        "DELETE FROM certificates WHERE user_id = $1",
        "DELETE FROM subdelegations WHERE delegator_id = $1 OR delegate_id = $1",
        "DELETE FROM enablements WHERE user_id = $1",
        "DELETE FROM user_roles WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *conn).await?;
    }
    sqlx::query(
        "UPDATE users SET fiscal_code = $2, given_name = 'Utente', family_name = 'eliminato', email = '', pec = NULL,
                          phone = NULL, password_hash = NULL, status = 'deleted', disabled_at = $3, external_id = NULL
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(format!("ELIMINATO-{user_id}"))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remove_role(
    conn: &mut AnyConnection,
    user_id: i64,
    role: &str,
    organization_id: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "DELETE FROM user_roles WHERE user_id = $1 AND role = $2 AND organization_id = $3",
    )
    .bind(user_id)
    .bind(role)
    .bind(organization_id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct LocalAdmin {
    pub user_id: i64,
    pub fiscal_code: String,
    pub name: String,
    pub email: String,
    pub organization_id: i64,
    pub organization_name: String,
}

pub async fn local_admins(db: &Db) -> Result<Vec<LocalAdmin>> {
    Ok(sqlx::query_as(
        "SELECT u.id AS user_id, u.fiscal_code, u.given_name || ' ' || u.family_name AS name, u.email,
                o.id AS organization_id, o.name AS organization_name
         FROM user_roles r JOIN users u ON u.id = r.user_id JOIN organizations o ON o.id = r.organization_id
         WHERE r.role = 'local_admin' AND u.status <> 'deleted' ORDER BY o.name, u.family_name",
    )
    .fetch_all(db.pool())
    .await?)
}

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct AppointmentRequest {
    pub id: i64,
    pub organization_id: i64,
    pub organization_name: String,
    pub requester_name: String,
    pub requester_email: String,
    pub requester_role: String,
    pub candidate_fiscal_code: String,
    pub candidate_given_name: String,
    pub candidate_family_name: String,
    pub candidate_email: String,
    pub letter_name: String,
    pub letter_type: String,
    pub letter_sha256: String,
    pub status: String,
    pub decision_note: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

const APPOINTMENT_SELECT: &str = "SELECT r.id, r.organization_id, o.name AS organization_name, r.requester_name, r.requester_email,
        r.requester_role, r.candidate_fiscal_code, r.candidate_given_name, r.candidate_family_name, r.candidate_email,
        r.letter_name, r.letter_type, r.letter_sha256, r.status, r.decision_note, r.created_at, r.decided_at
     FROM appointment_requests r JOIN organizations o ON o.id = r.organization_id";

pub struct NewAppointment<'a> {
    pub organization_id: i64,
    pub requester_name: &'a str,
    pub requester_email: &'a str,
    pub requester_role: &'a str,
    pub candidate_fiscal_code: &'a str,
    pub candidate_given_name: &'a str,
    pub candidate_family_name: &'a str,
    pub candidate_email: &'a str,
    pub letter_name: &'a str,
    pub letter_type: &'a str,
    pub letter_sha256: &'a str,
    pub letter: &'a [u8],
}

pub async fn insert_appointment(
    conn: &mut AnyConnection,
    a: &NewAppointment<'_>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO appointment_requests (organization_id, requester_name, requester_email, requester_role, candidate_fiscal_code,
             candidate_given_name, candidate_family_name, candidate_email, letter_name, letter_type, letter_sha256, letter, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13) RETURNING id",
    )
    .bind(a.organization_id)
    .bind(a.requester_name)
    .bind(a.requester_email)
    .bind(a.requester_role)
    .bind(a.candidate_fiscal_code)
    .bind(a.candidate_given_name)
    .bind(a.candidate_family_name)
    .bind(a.candidate_email)
    .bind(a.letter_name)
    .bind(a.letter_type)
    .bind(a.letter_sha256)
    .bind(a.letter)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

pub async fn appointments(db: &Db, status: Option<&str>) -> Result<Vec<AppointmentRequest>> {
    let sql = format!(
        "{APPOINTMENT_SELECT} WHERE ($1 = '' OR r.status = $1) ORDER BY r.id DESC LIMIT 200"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(status.unwrap_or(""))
        .fetch_all(db.pool())
        .await?)
}

pub async fn appointment(db: &Db, id: i64) -> Result<Option<AppointmentRequest>> {
    let sql = format!("{APPOINTMENT_SELECT} WHERE r.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn appointment_letter(db: &Db, id: i64) -> Result<Option<(String, String, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT letter_name, letter_type, letter FROM appointment_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

/// Records the decision if the request is still pending; false otherwise.
pub async fn decide_appointment(
    conn: &mut AnyConnection,
    id: i64,
    status: &str,
    by: i64,
    note: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE appointment_requests SET status = $2, decided_by = $3, decision_note = $4, decided_at = $5
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(status)
    .bind(by)
    .bind(note)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Users holding the central administrator role (recipients of appointment requests).
pub async fn central_admin_emails(db: &Db) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT u.email FROM user_roles r JOIN users u ON u.id = r.user_id
         WHERE r.role = 'central_admin' AND u.status = 'active' AND u.email <> ''",
    )
    .fetch_all(db.pool())
    .await?)
}
