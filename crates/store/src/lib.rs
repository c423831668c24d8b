//! Storage for Sportello. One schema, two backends: SQLite (embedded default,
//! WAL, durable commits) and PostgreSQL (several instances). Queries are
//! written once in the SQL both understand and run through sqlx's `Any`
//! driver; only column types INTEGER/BIGINT, TEXT and BLOB are used.

pub mod audit;
pub mod catalogue;
pub mod credentials;
pub mod desk;
pub mod directory;
pub mod filings;
pub mod kb;
pub mod lifecycle;
pub mod oidc;
pub mod outbox;
pub mod registration;
pub mod scim;
pub mod sessions;

use std::path::Path;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use sqlx::{Any, AnyConnection, Transaction};

pub type Tx = Transaction<'static, Any>;

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a connection (a transaction's, say) without its pool.
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("URL del database non valido «{url}»: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("database non raggiungibile ({url}): {reason}")]
    Unreachable { url: String, reason: String },
    #[error("migrazione del database fallita: {0}")]
    Migration(String),
    #[error("vincolo violato: {0}")]
    Conflict(String),
    #[error("errore del database: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// True for a unique or primary-key violation.
    pub fn is_conflict(&self) -> bool {
        match self {
            StoreError::Conflict(_) => true,
            StoreError::Database(e) => e
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation()),
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    writers: Arc<tokio::sync::Mutex<()>>,
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((cred, host)) => {
                let user = cred.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl Db {
    /// Opens a pool. `sqlite://PATH` creates the file (and its directory) if
    /// needed; `postgres://...` must reach a running server within 5 s.
    pub async fn connect(url: &str) -> Result<Db> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        let shown = redact_url(url);
        let (backend, url) = if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::BadUrl {
                    url: shown,
                    reason: "manca il percorso del file".into(),
                });
            }
            if path != ":memory:"
                && let Some(parent) = Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Unreachable {
                    url: shown.clone(),
                    reason: format!("impossibile creare la cartella {}: {e}", parent.display()),
                })?;
            }
            (Backend::Sqlite, format!("sqlite://{path}?mode=rwc"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::BadUrl {
                url: shown,
                reason: "sono supportati solo sqlite:// e postgres://".into(),
            });
        };

        let options: AnyConnectOptions =
            url.parse().map_err(|e: sqlx::Error| StoreError::BadUrl {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL for concurrent readers; FULL so a commit survives power loss.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    } else {
                        // The portal's statements touch a few rows each. A
                        // parallel plan forks worker processes per statement,
                        // which costs far more than it saves, and the planner
                        // picks one readily when a table has no statistics yet
                        // (a burst of work just after a bulk load).
                        conn.execute("SET max_parallel_workers_per_gather = 0")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unreachable {
                url: shown,
                reason: first_line(&e.to_string()),
            })?;
        Ok(Db {
            pool,
            backend,
            writers: Arc::default(),
        })
    }

    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &MIGRATE_SQLITE,
            Backend::Postgres => &MIGRATE_POSTGRES,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock
    /// at once (BEGIN IMMEDIATE) so that it never fails half-way on a lock
    /// upgrade; PostgreSQL serializes on the rows it touches.
    pub async fn begin_write(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// A turn at writing, on SQLite, for the background workers' frequent
    /// transactions. SQLite admits one writer at a time and lets the others
    /// sleep and retry (its busy timeout waits 1, 2, 5, 10 ms...), time in
    /// which nobody writes; writers that queue here get the lock the moment
    /// it is free. PostgreSQL locks rows, not the database: no turn needed.
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writers.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }

    /// Runs a trivial query: used by readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

static CLOCK_OFFSET: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Current time in microseconds since the Unix epoch (UTC), shifted by the
/// configured clock offset (demos and tests that need a given hour).
pub fn now_micros() -> i64 {
    system_micros() + CLOCK_OFFSET.load(std::sync::atomic::Ordering::Relaxed)
}

fn system_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Makes the process clock read `start` now and run on from there.
pub fn start_clock_at(start: i64) {
    CLOCK_OFFSET.store(
        start - system_micros(),
        std::sync::atomic::Ordering::Relaxed,
    );
}
