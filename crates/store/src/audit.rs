//! Append-only audit trail with a hash chain (see `sportello_core::audit`).

use sportello_core::audit::{AuditRecord, ChainError, ChainVerifier, event_hash};
use sqlx::{AnyConnection, FromRow};

use crate::{Db, Result};

/// What happened, by whom, on what. `actor` is e.g. `user:42` or `system`.
#[derive(Clone, Debug, Default)]
pub struct NewEvent<'a> {
    pub actor: &'a str,
    pub acting_organization: Option<&'a str>,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
    pub source_address: Option<&'a str>,
}

#[derive(FromRow)]
struct Row {
    seq: i64,
    occurred_at: i64,
    actor: String,
    acting_organization: Option<String>,
    action: String,
    target: String,
    detail: String,
    source_address: Option<String>,
    prev_hash: String,
    hash: String,
}

impl From<Row> for AuditRecord {
    fn from(r: Row) -> Self {
        AuditRecord {
            seq: r.seq,
            occurred_at: r.occurred_at,
            actor: r.actor,
            acting_organization: r.acting_organization,
            action: r.action,
            target: r.target,
            detail: r.detail,
            source_address: r.source_address,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Appends one event inside the caller's transaction and returns its number.
pub async fn append(conn: &mut AnyConnection, ev: &NewEvent<'_>, now: i64) -> Result<i64> {
    // Writing the head first takes its lock before anything is read.
    let (seq, prev_hash): (i64, String) =
        sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash")
            .fetch_one(&mut *conn)
            .await?;
    let hash = event_hash(
        &prev_hash,
        seq,
        now,
        ev.actor,
        ev.acting_organization,
        ev.action,
        ev.target,
        ev.detail,
        ev.source_address,
    );
    sqlx::query(
        "INSERT INTO audit_events (seq, occurred_at, actor, acting_organization, action, target, detail, source_address, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(seq)
    .bind(now)
    .bind(ev.actor)
    .bind(ev.acting_organization)
    .bind(ev.action)
    .bind(ev.target)
    .bind(ev.detail)
    .bind(ev.source_address)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

/// Outcome of a full verification.
#[derive(Debug)]
pub enum Verification {
    Intact { events: i64 },
    Broken(ChainError),
}

/// Walks the whole trail in pages and checks every link and the head.
pub async fn verify(db: &Db) -> Result<Verification> {
    let mut verifier = ChainVerifier::default();
    let mut after = 0i64;
    loop {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT seq, occurred_at, actor, acting_organization, action, target, detail, source_address, prev_hash, hash
             FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 1000",
        )
        .bind(after)
        .fetch_all(db.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let record = AuditRecord::from(row);
            after = record.seq;
            if let Err(e) = verifier.push(&record) {
                return Ok(Verification::Broken(e));
            }
        }
    }
    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT seq, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(db.pool())
            .await?;
    Ok(match verifier.finish(head_seq, &head_hash) {
        Ok(events) => Verification::Intact { events },
        Err(e) => Verification::Broken(e),
    })
}

/// The latest events, newest first, for the operations page.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<AuditRecord>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, occurred_at, actor, acting_organization, action, target, detail, source_address, prev_hash, hash
         FROM audit_events ORDER BY seq DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(AuditRecord::from).collect())
}

/// Events about one target whose action starts with `prefix` (e.g. the
/// access log of a user: target `user:42`, prefix `auth.`), newest first.
pub async fn for_target(
    db: &Db,
    target: &str,
    prefix: &str,
    limit: i64,
) -> Result<Vec<AuditRecord>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, occurred_at, actor, acting_organization, action, target, detail, source_address, prev_hash, hash
         FROM audit_events WHERE target = $1 AND action LIKE $2 ORDER BY seq DESC LIMIT $3",
    )
    .bind(target)
    .bind(format!("{prefix}%"))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(AuditRecord::from).collect())
}

/// The audit history of a set of organizations: events by their people and
/// events about their users, optionally filtered by action prefix and target.
pub async fn history(
    db: &Db,
    organization_ids: &[i64],
    action_prefix: &str,
    target: &str,
    limit: i64,
) -> Result<Vec<AuditRecord>> {
    if organization_ids.is_empty() {
        return Ok(Vec::new());
    }
    let orgs: Vec<String> = organization_ids
        .iter()
        .map(|id| format!("'org:{id}'"))
        .collect();
    let ids: Vec<String> = organization_ids.iter().map(|id| id.to_string()).collect();
    let sql = format!(
        "SELECT seq, occurred_at, actor, acting_organization, action, target, detail, source_address, prev_hash, hash
         FROM audit_events
         WHERE (acting_organization IN ({orgs}) OR target IN (SELECT 'user:' || id FROM users WHERE organization_id IN ({ids})))
           AND action LIKE $1 AND ($2 = '' OR target = $2)
         ORDER BY seq DESC LIMIT $3",
        orgs = orgs.join(", "),
        ids = ids.join(", ")
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(format!("{action_prefix}%"))
        .bind(target)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().map(AuditRecord::from).collect())
}

/// Appends several events at once inside the caller's transaction: the head
/// is locked once and the chain is computed in order. Used by bulk operations.
pub async fn append_many(
    conn: &mut AnyConnection,
    events: &[NewEvent<'_>],
    now: i64,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len() as i64;
    let (last_seq, mut prev_hash): (i64, String) = sqlx::query_as(
        "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, last_hash",
    )
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    let first_seq = last_seq - n + 1;
    let mut rows = Vec::with_capacity(events.len());
    for (i, ev) in events.iter().enumerate() {
        let seq = first_seq + i as i64;
        let hash = event_hash(
            &prev_hash,
            seq,
            now,
            ev.actor,
            ev.acting_organization,
            ev.action,
            ev.target,
            ev.detail,
            ev.source_address,
        );
        rows.push((seq, ev, prev_hash.clone(), hash.clone()));
        prev_hash = hash;
    }
    for chunk in rows.chunks(100) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 10;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_events (seq, occurred_at, actor, acting_organization, action, target, detail, source_address, prev_hash, hash) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (seq, ev, prev, hash) in chunk {
            q = q
                .bind(*seq)
                .bind(now)
                .bind(ev.actor)
                .bind(ev.acting_organization)
                .bind(ev.action)
                .bind(ev.target)
                .bind(ev.detail)
                .bind(ev.source_address)
                .bind(prev.as_str())
                .bind(hash.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
        .bind(&prev_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
