//! Transactional outbox: outgoing work is written in the same transaction as
//! the change that causes it; workers claim due rows with a lease, so a crash
//! mid-send leaves the row to be retried, never lost.

use sqlx::{AnyConnection, FromRow};

use crate::{Backend, Db, Result};

#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub done_at: Option<i64>,
}

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const DEAD: &str = "dead";

const COLUMNS: &str =
    "id, kind, payload, state, attempts, next_attempt_at, last_error, created_at, done_at";

pub async fn enqueue(conn: &mut AnyConnection, kind: &str, payload: &str, now: i64) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (kind, payload, state, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, 'pending', 0, $3, $3) RETURNING id",
    )
    .bind(kind)
    .bind(payload)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Claims up to `limit` due items of `kinds` for `lease_micros`, counting
/// the attempt. Oldest due first: for one kind, the order of the partial
/// `outbox_pending` index (kind, next_attempt_at, id over the pending items
/// only), so a claim reads a few index entries instead of sorting every
/// pending item, and never walks past the items already sent. A claim also
/// moves the item's next attempt to the end of its lease: items out on lease
/// sit past `now` in that index, so the next claim does not step over them
/// either, and an item whose worker died is due again when the lease ends.
pub async fn claim_due(
    db: &Db,
    now: i64,
    lease_micros: i64,
    limit: i64,
    kinds: Kinds<'_>,
) -> Result<Vec<OutboxItem>> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let (kind_filter, kind) = match kinds {
        Kinds::All => ("", None),
        Kinds::Only(k) => (" AND kind = $4", Some(k)),
        Kinds::AllBut(k) => (" AND kind <> $4", Some(k)),
    };
    let sql = format!(
        "UPDATE outbox SET lease_until = $1, next_attempt_at = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM outbox
                      WHERE state = 'pending' AND next_attempt_at <= $2
                        AND (lease_until IS NULL OR lease_until <= $2){kind_filter}
                      ORDER BY next_attempt_at, id LIMIT $3{lock})
         RETURNING {COLUMNS}"
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now + lease_micros)
        .bind(now)
        .bind(limit);
    if let Some(k) = kind {
        q = q.bind(k);
    }
    let _turn = db.write_turn().await;
    let mut items: Vec<OutboxItem> = q.fetch_all(db.pool()).await?;
    items.sort_by_key(|i| i.id);
    Ok(items)
}

/// Which kinds of item a claim takes.
#[derive(Clone, Copy, Debug)]
pub enum Kinds<'a> {
    All,
    Only(&'a str),
    AllBut(&'a str),
}

/// Marks several delivered items at once: one write instead of one per item.
pub async fn mark_sent_many(db: &Db, ids: &[i64], now: i64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut conn = db.pool().acquire().await?;
    mark_sent_many_in(&mut conn, ids, now).await
}

/// Records a failure: retry at `retry_at`, or dead letter when `None`.
pub async fn mark_failed(
    db: &Db,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<()> {
    match retry_at {
        Some(at) => {
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $2, lease_until = NULL, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .bind(error)
            .execute(db.pool())
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = $2, done_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(now)
            .execute(db.pool())
            .await?
        }
    };
    Ok(())
}

/// Puts a dead letter back in the queue (an administrative act: audit it).
pub async fn requeue(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $2, done_at = NULL
         WHERE id = $1 AND state = 'dead'",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn list(db: &Db, state: &str, limit: i64) -> Result<Vec<OutboxItem>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE state = $1 ORDER BY id DESC LIMIT $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(state)
        .bind(limit)
        .fetch_all(db.pool())
        .await?)
}

pub async fn get(db: &Db, id: i64) -> Result<Option<OutboxItem>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// Number of items per state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Depth {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
}

/// (pending, dead) items only, from their partial indexes: cheap enough for
/// a gauge refreshed every second, however many items were sent.
pub async fn backlog(db: &Db) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'pending'),
                (SELECT COUNT(*) FROM outbox WHERE state = 'dead')",
    )
    .fetch_one(db.pool())
    .await?)
}

/// Every state counted: reads the whole outbox (the operations page).
pub async fn depth(db: &Db) -> Result<Depth> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state")
            .fetch_all(db.pool())
            .await?;
    let mut d = Depth::default();
    for (state, n) in rows {
        match state.as_str() {
            PENDING => d.pending = n,
            SENT => d.sent = n,
            DEAD => d.dead = n,
            _ => {}
        }
    }
    Ok(d)
}

/// Schedules another attempt inside the caller's transaction.
pub async fn reschedule_in(conn: &mut AnyConnection, id: i64, error: &str, at: i64) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET next_attempt_at = $2, lease_until = NULL, last_error = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(at)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks items done inside the caller's transaction, with the changes they
/// caused (deliveries' recorded answers): both commit or neither does. One
/// statement per 500 items.
pub async fn mark_sent_many_in(conn: &mut AnyConnection, ids: &[i64], now: i64) -> Result<()> {
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "UPDATE outbox SET state = 'sent', done_at = $1, lease_until = NULL, last_error = NULL
             WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`enqueue`] for several payloads of one kind: one statement.
pub async fn enqueue_many(
    conn: &mut AnyConnection,
    kind: &str,
    payloads: &[String],
    now: i64,
) -> Result<()> {
    for chunk in payloads.chunks(500) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, 'pending', 0, $2, $2)", i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO outbox (kind, payload, state, attempts, next_attempt_at, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(kind).bind(now);
        for p in chunk {
            q = q.bind(p.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
