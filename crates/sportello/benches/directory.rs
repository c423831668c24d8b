//! Directory figures, each reported as a ratio against a baseline measured in
//! the same run on the same machine (like `throughput.rs`):
//!
//! 1. Bulk enablement of 10,000 employees of the Comune di Ferrara (`C-D548`,
//!    demo world) from a CSV file generated here (Windows-1252, `;`, valid
//!    codici fiscali, e-mail, `PTT;ente_impositore`): `import::parse_users`
//!    alone, the dry run and the real run of `App::import_users_as_system`,
//!    in rows per second, against the bare durable insert rate of one row per
//!    transaction on the same database.
//! 2. Listing and searching the users of an organization holding 100,000
//!    users, over real HTTP as the demo local administrator (logged in
//!    through the form): the first page, a surname matching 100 users, an
//!    exact codice fiscale; 8 concurrent clients against `/healthz`. The SQL
//!    of `directory::users_of` is also timed alone and its query plan shown.
//!    Rows marked EXPERIMENT add indexes to the bench's own throw-away
//!    database, or time a query shape the crates do not use: they measure
//!    a recommendation, not the shipped code.
//!
//! Run: `cargo bench -p sportello --bench directory` (add
//! SPORTELLO_TEST_DATABASE_URL=postgres://… to also run everything on
//! PostgreSQL, in a schema created for the run and dropped at the end).
//! The production argon2 settings are kept: only one login is hashed.
//! Every loop is bounded in time and count; only 127.0.0.1 is contacted.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sportello_app::{App, Config, demo, import};
use sportello_core::fiscal_code::check_character;
use sportello_store::{Db, directory};
use sqlx::Row as _;

const WINDOW: Duration = Duration::from_secs(3);
const MAX_OPS: u64 = 200_000;
const CLIENTS: usize = 8;
const IMPORT_ROWS: usize = 10_000;
const DIRECTORY_USERS: usize = 100_000;
/// Rows per INSERT statement and per transaction when loading the directory.
const LOAD_ROWS_PER_STATEMENT: usize = 500;
const LOAD_ROWS_PER_TX: usize = 10_000;
/// Every 1,000th loaded user has this surname: 100 users, and no other name,
/// code or e-mail contains it.
const RARE_SURNAME: &str = "Bergamaschi";
const RARE_EVERY: usize = 1_000;
/// The user whose codice fiscale is searched.
const SEARCHED_INDEX: usize = 54_321;
const ORG: &str = "C-D548";

#[derive(Clone)]
struct Row {
    name: String,
    per_second: f64,
    baseline: Option<(String, f64)>,
}

impl Row {
    fn base(name: String, per_second: f64) -> Row {
        Row {
            name,
            per_second,
            baseline: None,
        }
    }
    fn vs(name: String, per_second: f64, base: &Row) -> Row {
        Row {
            name,
            per_second,
            baseline: Some((base.name.clone(), base.per_second)),
        }
    }
}

/// Query plans and checks, printed after the table.
#[derive(Default)]
struct Notes(String);

impl Notes {
    fn line(&mut self, s: impl AsRef<str>) {
        println!("{}", s.as_ref());
        self.0.push_str(s.as_ref());
        self.0.push('\n');
    }
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    let mut notes = Notes::default();
    let dir = tempfile::tempdir().unwrap();
    let pg = std::env::var("SPORTELLO_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut backends = vec![("sqlite", None)];
    if let Some(pg) = &pg {
        backends.push(("postgres", Some(pg.as_str())));
    }
    for (backend, pg) in backends {
        let work = dir.path().join(backend);
        let (url, schema) = fresh_database(&work, "import.db", pg).await;
        rows.extend(bulk_import(backend, &url, &work.join("import"), &mut notes).await);
        drop_schema(pg, schema).await;
        let (url, schema) = fresh_database(&work, "directory.db", pg).await;
        rows.extend(listing(backend, &url, &work.join("listing"), &mut notes).await);
        drop_schema(pg, schema).await;
    }

    let mut report = String::from(
        "| measurement | per second | baseline | baseline per second | ratio |\n|---|---:|---|---:|---:|\n",
    );
    for r in &rows {
        match &r.baseline {
            Some((name, b)) => {
                let _ = writeln!(
                    report,
                    "| {} | {:.0} | {} | {:.0} | {:.3} |",
                    r.name,
                    r.per_second,
                    name,
                    b,
                    r.per_second / b
                );
            }
            None => {
                let _ = writeln!(report, "| {} | {:.0} | — | — | — |", r.name, r.per_second);
            }
        }
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        report,
        "\nServer, clients and database share this machine ({cores} cores); release build; \
         argon2 at the production settings (one login only); windows of {} s, at most {MAX_OPS} operations.\n\
         EXPERIMENT rows change only the bench's throw-away database or time SQL the crates do not run.",
        WINDOW.as_secs()
    );
    println!("\n{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(
        out.join("directory.md"),
        format!(
            "{report}\n## Query plans and checks\n\n```\n{}```\n",
            notes.0
        ),
    );
}

/// A fresh, migrated-to-be database: a file under `dir`, or a new schema on
/// PostgreSQL as the integration harness does. Returns (URL, schema).
async fn fresh_database(dir: &Path, file: &str, pg: Option<&str>) -> (String, Option<String>) {
    match pg {
        Some(base) => {
            let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
            let admin = Db::connect(base).await.expect("PostgreSQL reachable");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(admin.pool())
                .await
                .expect("create bench schema");
            admin.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            (
                format!("{base}{sep}options=-c%20search_path%3D{schema}"),
                Some(schema),
            )
        }
        None => {
            std::fs::create_dir_all(dir).unwrap();
            (format!("sqlite://{}", dir.join(file).display()), None)
        }
    }
}

async fn drop_schema(pg: Option<&str>, schema: Option<String>) {
    if let (Some(base), Some(schema)) = (pg, schema) {
        let admin = Db::connect(base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(admin.pool())
            .await
            .unwrap();
        admin.close().await;
    }
}

async fn demo_app(url: &str, data_dir: &Path) -> App {
    let config = Config {
        data_dir: data_dir.to_path_buf(),
        database_url: url.to_string(),
        ..Default::default()
    };
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    let app = App::new(config, db).await.unwrap();
    demo::seed(&app).await.unwrap();
    app
}

/// Runs `op` from `tasks` concurrent tasks for the window; returns ops/s.
async fn measure<F, Fut>(tasks: usize, op: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (op, done) = (op.clone(), done.clone());
            tokio::spawn(async move {
                while start.elapsed() < WINDOW {
                    let n = done.fetch_add(1, Ordering::Relaxed);
                    if n >= MAX_OPS {
                        break;
                    }
                    op(n).await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    done.load(Ordering::Relaxed).min(MAX_OPS) as f64 / start.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------------------
// 1. Bulk enablement

async fn bulk_import(backend: &str, url: &str, data_dir: &Path, notes: &mut Notes) -> Vec<Row> {
    let app = demo_app(url, data_dir).await;
    let db = app.db.clone();
    let org = directory::organization_by_code(&db, ORG)
        .await
        .unwrap()
        .expect("demo organization");

    // Baseline: one durable row per transaction, same database, same run.
    sqlx::query("CREATE TABLE bench_bare (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
        .execute(db.pool())
        .await
        .unwrap();
    let payload = "x".repeat(256);
    let d = db.clone();
    let bare = measure(1, move |n| {
        let (d, p) = (d.clone(), payload.clone());
        async move {
            let mut tx = d.begin_write().await.unwrap();
            sqlx::query("INSERT INTO bench_bare (id, payload) VALUES ($1, $2)")
                .bind(n as i64)
                .bind(p)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    })
    .await;
    let bare = Row::base(
        format!("{backend}: bare durable insert, 1 row per transaction (baseline)"),
        bare,
    );

    let taken: HashSet<String> = sqlx::query_scalar::<_, String>("SELECT fiscal_code FROM users")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .into_iter()
        .collect();
    let mut people = People::new(0x5eed_1234, taken);
    let csv = import_csv(&mut people, IMPORT_ROWS);

    // parse_users alone: repeated, bounded in time and count.
    let (mut runs, start) = (0u32, Instant::now());
    let mut parsed = None;
    while runs < 20 && (runs == 0 || start.elapsed() < WINDOW) {
        parsed = Some(import::parse_users(&csv, "abilitazioni_ferrara.csv").unwrap());
        runs += 1;
    }
    let parse_rate = (IMPORT_ROWS as f64 * f64::from(runs)) / start.elapsed().as_secs_f64();
    let parsed = parsed.unwrap();
    assert_eq!(
        parsed.rows.len(),
        IMPORT_ROWS,
        "{:?}",
        parsed.errors.first()
    );
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors.first());
    notes.line(format!(
        "{backend}: CSV of {IMPORT_ROWS} rows, {} bytes, read as «{}»",
        csv.len(),
        parsed.format
    ));

    // Dry run: planning only, repeated (it changes nothing).
    let (mut runs, start) = (0u32, Instant::now());
    while runs < 5 && (runs == 0 || start.elapsed() < WINDOW) {
        let report = app
            .import_users_as_system(org.id, parsed.clone(), true, &|_, _| {})
            .await
            .unwrap();
        assert_eq!((report.created, report.refused), (IMPORT_ROWS, 0));
        runs += 1;
    }
    let dry_rate = (IMPORT_ROWS as f64 * f64::from(runs)) / start.elapsed().as_secs_f64();

    // Real run, once.
    let start = Instant::now();
    let report = app
        .import_users_as_system(org.id, parsed, false, &|_, _| {})
        .await
        .unwrap();
    let real_seconds = start.elapsed().as_secs_f64();
    assert_eq!(
        (report.created, report.enabled, report.refused),
        (IMPORT_ROWS, 0, 0)
    );
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(db.pool())
                .await
                .unwrap()
        }
    };
    notes.line(format!(
        "{backend}: after the real run: {} users, {} enablements, {} audit events, {} outbox rows, {} activation tokens",
        count("SELECT COUNT(*) FROM users").await,
        count("SELECT COUNT(*) FROM enablements").await,
        count("SELECT COUNT(*) FROM audit_events").await,
        count("SELECT COUNT(*) FROM outbox").await,
        count("SELECT COUNT(*) FROM credential_tokens").await,
    ));
    db.close().await;

    let rows = vec![
        Row::vs(
            format!("{backend}: import::parse_users, {IMPORT_ROWS}-row CSV (rows)"),
            parse_rate,
            &bare,
        ),
        Row::vs(
            format!("{backend}: import dry run, planning only (rows)"),
            dry_rate,
            &bare,
        ),
        Row::vs(
            format!(
                "{backend}: import real run (rows; {IMPORT_ROWS} rows in {real_seconds:.2} s total)"
            ),
            IMPORT_ROWS as f64 / real_seconds,
            &bare,
        ),
    ];
    std::iter::once(bare).chain(rows).collect()
}

/// The file an office would send: Windows-1252, `;`, CRLF.
fn import_csv(people: &mut People, n: usize) -> Vec<u8> {
    let mut text =
        String::from("Codice fiscale;Nome;Cognome;Email;Telefono;Applicazione;Profilo\r\n");
    for i in 0..n {
        let p = people.next(i, None);
        let _ = write!(
            text,
            "{};{};{};{};0532 {:06};PTT;ente_impositore\r\n",
            p.fiscal_code,
            p.given,
            p.family,
            p.email,
            200_000 + i
        );
    }
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1 text is Windows-1252 text"))
        .collect()
}

// ---------------------------------------------------------------------------
// 2. Listing and searching 100,000 users

async fn listing(backend: &str, url: &str, data_dir: &Path, notes: &mut Notes) -> Vec<Row> {
    let mut app = demo_app(url, data_dir).await;
    let db = app.db.clone();
    let org = directory::organization_by_code(&db, ORG)
        .await
        .unwrap()
        .expect("demo organization");
    let taken: HashSet<String> = sqlx::query_scalar::<_, String>("SELECT fiscal_code FROM users")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .into_iter()
        .collect();
    let mut rows = Vec::new();

    // Load: multi-row INSERTs, many rows per transaction.
    let mut people = People::new(0xfe44_a4a0, taken);
    let start = Instant::now();
    let mut searched_code = String::new();
    let mut i = 0;
    while i < DIRECTORY_USERS {
        let mut tx = db.begin_write().await.unwrap();
        let end = (i + LOAD_ROWS_PER_TX).min(DIRECTORY_USERS);
        while i < end {
            let batch = LOAD_ROWS_PER_STATEMENT.min(end - i);
            let mut sql = String::from(
                "INSERT INTO users (fiscal_code, given_name, family_name, email, category, status, organization_id, created_at) VALUES ",
            );
            let mut people_batch = Vec::with_capacity(batch);
            for k in 0..batch {
                let n = i + k;
                let rare = (n % RARE_EVERY == RARE_EVERY / 2).then_some(RARE_SURNAME);
                let p = people.next(n, rare);
                if n == SEARCHED_INDEX {
                    searched_code = p.fiscal_code.clone();
                }
                let b = k * 8;
                let _ = write!(
                    sql,
                    "{}(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    if k == 0 { "" } else { ", " },
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                );
                let status = if n % 50 == 7 {
                    "disabled"
                } else if n % 13 == 3 {
                    "pending_activation"
                } else {
                    "active"
                };
                people_batch.push((p, status));
            }
            let now = sportello_app::now_micros();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (p, status) in people_batch {
                q = q
                    .bind(p.fiscal_code)
                    .bind(p.given)
                    .bind(p.family)
                    .bind(p.email)
                    .bind("public_employee")
                    .bind(status)
                    .bind(org.id)
                    .bind(now);
            }
            q.execute(&mut *tx).await.unwrap();
            i += batch;
        }
        tx.commit().await.unwrap();
    }
    let load_seconds = start.elapsed().as_secs_f64();
    rows.push(Row::base(
        format!(
            "{backend}: load {DIRECTORY_USERS} users, {LOAD_ROWS_PER_STATEMENT} rows per INSERT, {LOAD_ROWS_PER_TX} per transaction (rows; {load_seconds:.2} s)"
        ),
        DIRECTORY_USERS as f64 / load_seconds,
    ));
    if backend == "postgres" {
        // What autovacuum would do shortly after such a load.
        sqlx::query("ANALYZE users")
            .execute(db.pool())
            .await
            .unwrap();
    }

    // The server, as `sportello serve` runs it.
    app = {
        let mut config = (*app.config).clone();
        config.outbox.poll_interval_ms = 1000;
        App::new(config, db.clone()).await.unwrap()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sportello_web::run(app, listener, async {
        let _ = stopped.await;
    }));
    let session = format!("sportello_session={}", login(&base).await);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();

    let rare_q = RARE_SURNAME.to_lowercase();
    let pages: [(String, String, usize); 3] = [
        (
            "/admin/utenti".into(),
            format!("first page (200 of {DIRECTORY_USERS}+ users)"),
            200,
        ),
        (
            format!("/admin/utenti?q={rare_q}"),
            format!(
                "?q={rare_q} (surname, {} users)",
                DIRECTORY_USERS / RARE_EVERY
            ),
            DIRECTORY_USERS / RARE_EVERY,
        ),
        (
            format!("/admin/utenti?q={searched_code}"),
            "?q=<codice fiscale> (1 user)".into(),
            1,
        ),
    ];
    // Check once that each page shows what it should.
    for (path, _, expected) in &pages {
        let res = client
            .get(format!("{base}{path}"))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let body = res.text().await.unwrap();
        let shown = body.matches("<tr><td>").count();
        assert_eq!(shown, *expected, "{path}");
        notes.line(format!(
            "{backend}: GET {path} -> {shown} rows, {} bytes",
            body.len()
        ));
    }

    let get = |path: String, cookie: Option<String>| {
        let (c, url) = (client.clone(), format!("{base}{path}"));
        move |_| {
            let (c, url, cookie) = (c.clone(), url.clone(), cookie.clone());
            async move {
                let mut req = c.get(url);
                if let Some(ck) = cookie {
                    req = req.header("cookie", ck);
                }
                let res = req.send().await.unwrap();
                assert!(res.status().is_success(), "{}", res.status());
                res.bytes().await.unwrap();
            }
        }
    };
    let health = Row::base(
        format!("{backend}: HTTP GET /healthz ({CLIENTS} clients)"),
        measure(CLIENTS, get("/healthz".into(), None)).await,
    );
    let http_pages = |label: &'static str| {
        let (pages, get, session, health) = (&pages, &get, &session, &health);
        async move {
            let mut out = Vec::new();
            for (path, what, _) in pages.iter() {
                let rate = measure(CLIENTS, get(path.clone(), Some(session.clone()))).await;
                out.push(Row::vs(
                    format!("{label}{backend}: HTTP GET /admin/utenti {what}"),
                    rate,
                    health,
                ));
            }
            out
        }
    };
    let shipped = http_pages("").await;

    // The SQL of users_of alone, as the local administrator of C-D548 runs it.
    let orgs = directory::organization_subtree(&db, org.id).await.unwrap();
    let d = db.clone();
    let select1 = Row::base(
        format!("{backend}: SELECT 1 through the pool ({CLIENTS} tasks)"),
        measure(CLIENTS, move |_| {
            let d = d.clone();
            async move {
                sqlx::query("SELECT 1").execute(d.pool()).await.unwrap();
            }
        })
        .await,
    );
    let current = |search: &str| Query {
        sql: users_of_sql(orgs.len(), 3),
        binds: [
            Bind::Text(format!("%{}%", search.trim().to_lowercase())),
            Bind::Int(200),
        ]
        .into_iter()
        .chain(orgs.iter().map(|&o| Bind::Int(o)))
        .collect(),
    };
    let searches = [
        ("first page", current(""), 200),
        ("surname", current(&rare_q), DIRECTORY_USERS / RARE_EVERY),
        ("codice fiscale", current(&searched_code), 1),
    ];
    for (what, q, expected) in &searches {
        assert_eq!(q.run(&db).await, *expected, "{what}");
    }
    let sql_alone = |label: &'static str| {
        let (searches, db, select1) = (&searches, &db, &select1);
        async move {
            let mut out = Vec::new();
            for (what, q, _) in searches.iter() {
                let (q, d) = (Arc::new(q.clone()), db.clone());
                let rate = measure(CLIENTS, move |_| {
                    let (q, d) = (q.clone(), d.clone());
                    async move {
                        q.run(&d).await;
                    }
                })
                .await;
                out.push(Row::vs(
                    format!("{label}{backend}: former users_of SQL (substring LIKE, kept for comparison), {what} ({CLIENTS} tasks)"),
                    rate,
                    select1,
                ));
            }
            out
        }
    };
    let shipped_sql = sql_alone("").await;
    let shipped_sql_rates: Vec<(String, f64)> = shipped_sql
        .iter()
        .map(|r| (r.name.clone(), r.per_second))
        .collect();
    for (what, q, _) in &searches {
        notes.line(format!("{backend}: plan of users_of, {what}:"));
        for l in q.explain(&db).await {
            notes.line(format!("    {l}"));
        }
    }
    rows.push(health.clone());
    rows.extend(shipped);
    rows.push(select1.clone());
    rows.extend(shipped_sql);

    // EXPERIMENT A: the shipped query with an index on the sort key.
    let exp_a = "EXPERIMENT A (+ index users(family_name, given_name), shipped query) ";
    sqlx::query("CREATE INDEX bench_exp_users_name ON users (family_name, given_name)")
        .execute(db.pool())
        .await
        .unwrap();
    if backend == "postgres" {
        sqlx::query("ANALYZE users")
            .execute(db.pool())
            .await
            .unwrap();
    }
    for (what, q, _) in &searches {
        notes.line(format!("{exp_a}{backend}: plan, {what}:"));
        for l in q.explain(&db).await {
            notes.line(format!("    {l}"));
        }
    }
    rows.extend(http_pages(exp_a).await);
    rows.extend(sql_alone(exp_a).await);

    // EXPERIMENT B: the query split by what was typed, with the index of A
    // and an expression index for surname prefixes.
    let exp_b = "EXPERIMENT B (proposed query + indexes of A and users(LOWER(family_name))) ";
    sqlx::query("CREATE INDEX bench_exp_users_family_lower ON users (LOWER(family_name))")
        .execute(db.pool())
        .await
        .unwrap();
    if backend == "postgres" {
        sqlx::query("ANALYZE users")
            .execute(db.pool())
            .await
            .unwrap();
    }
    let org_binds = |first: usize| -> (String, Vec<Bind>) {
        (
            (0..orgs.len())
                .map(|k| format!("${}", first + k))
                .collect::<Vec<_>>()
                .join(", "),
            orgs.iter().map(|&o| Bind::Int(o)).collect(),
        )
    };
    let cols = directory_columns();
    let (in1, ob) = org_binds(2);
    let first_page = Query {
        sql: format!(
            "SELECT {cols} FROM users WHERE status <> 'deleted' AND organization_id IN ({in1})
             ORDER BY family_name, given_name LIMIT $1"
        ),
        binds: std::iter::once(Bind::Int(200)).chain(ob).collect(),
    };
    let (in3, ob) = org_binds(4);
    let (lo, hi) = prefix_range(&rare_q);
    let surname = Query {
        sql: format!(
            "SELECT {cols} FROM users WHERE status <> 'deleted' AND organization_id IN ({in3})
               AND LOWER(family_name) >= $1 AND LOWER(family_name) < $2
             ORDER BY family_name, given_name LIMIT $3"
        ),
        binds: [Bind::Text(lo), Bind::Text(hi), Bind::Int(200)]
            .into_iter()
            .chain(ob)
            .collect(),
    };
    let (in2, ob) = org_binds(2);
    let by_code = Query {
        sql: format!(
            "SELECT {cols} FROM users WHERE fiscal_code = $1 AND status <> 'deleted' AND organization_id IN ({in2})"
        ),
        binds: std::iter::once(Bind::Text(searched_code.clone()))
            .chain(ob)
            .collect(),
    };
    let proposed = [
        ("first page, no LIKE when q is empty", first_page, 200, 0),
        (
            "surname prefix on LOWER(family_name)",
            surname,
            DIRECTORY_USERS / RARE_EVERY,
            1,
        ),
        ("fiscal_code = $1 when q is a codice fiscale", by_code, 1, 2),
    ];
    for (what, q, expected, shipped_index) in proposed {
        assert_eq!(q.run(&db).await, expected, "{what}");
        notes.line(format!("{exp_b}{backend}: plan, {what}:"));
        for l in q.explain(&db).await {
            notes.line(format!("    {l}"));
        }
        let (q, d) = (Arc::new(q), db.clone());
        let rate = measure(CLIENTS, move |_| {
            let (q, d) = (q.clone(), d.clone());
            async move {
                q.run(&d).await;
            }
        })
        .await;
        let (base_name, base_rate) = shipped_sql_rates[shipped_index].clone();
        rows.push(Row {
            name: format!("{exp_b}{backend}: SQL alone, {what} ({CLIENTS} tasks)"),
            per_second: rate,
            baseline: Some((base_name, base_rate)),
        });
    }

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    db.close().await;
    rows
}

/// [lo, hi) holding exactly the strings that start with `prefix` (binary order).
fn prefix_range(prefix: &str) -> (String, String) {
    let mut hi: Vec<char> = prefix.chars().collect();
    let last = hi.pop().expect("non-empty prefix");
    hi.push(char::from_u32(u32::from(last) + 1).expect("next character"));
    (prefix.to_string(), hi.into_iter().collect())
}

fn directory_columns() -> &'static str {
    "id, fiscal_code, given_name, family_name, email, category, status, organization_id, password_hash, password_changed_at, must_change_password, pec, phone, failed_logins, last_failed_login_at, locked_until, last_login_at, created_at"
}

/// The SQL `directory::users_of` used to build before it chose an indexed query
/// per kind of search (kept to show the difference),
/// without the unaffiliated users (a local administrator's view).
fn users_of_sql(org_count: usize, first_placeholder: usize) -> String {
    let placeholders: Vec<String> = (0..org_count)
        .map(|i| format!("${}", i + first_placeholder))
        .collect();
    format!(
        "SELECT {} FROM users
         WHERE status <> 'deleted'
           AND (LOWER(fiscal_code || ' ' || given_name || ' ' || family_name || ' ' || email) LIKE $1)
           AND (organization_id IN ({}))
         ORDER BY family_name, given_name LIMIT $2",
        directory_columns(),
        placeholders.join(", ")
    )
}

#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

#[derive(Clone)]
struct Query {
    sql: String,
    binds: Vec<Bind>,
}

impl Query {
    fn bound(
        &self,
        sql: String,
    ) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in &self.binds {
            q = match b {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }

    /// Runs the query; returns the number of rows (each row fully read).
    async fn run(&self, db: &Db) -> usize {
        let rows = self
            .bound(self.sql.clone())
            .fetch_all(db.pool())
            .await
            .unwrap();
        for r in &rows {
            let _: String = r.try_get("fiscal_code").unwrap();
        }
        rows.len()
    }

    /// The plan as the database would run the query now. Not from sqlx's
    /// statement cache: a cached `EXPLAIN QUERY PLAN` never touches the
    /// database file, so SQLite would not notice an index created since.
    async fn explain(&self, db: &Db) -> Vec<String> {
        let mut conn = db.pool().acquire().await.unwrap();
        let (sql, column) = match db.backend() {
            sportello_store::Backend::Sqlite => {
                // A read makes this connection reload a changed schema.
                sqlx::query("SELECT COUNT(*) FROM sqlite_schema")
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap();
                (format!("EXPLAIN QUERY PLAN {}", self.sql), 3)
            }
            sportello_store::Backend::Postgres => {
                (format!("EXPLAIN (ANALYZE, COSTS OFF) {}", self.sql), 0)
            }
        };
        match self
            .bound(sql)
            .persistent(false)
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => rows
                .iter()
                .map(|r| r.try_get::<String, _>(column).unwrap_or_default())
                .collect(),
            Err(e) => vec![format!("(EXPLAIN failed: {e})")],
        }
    }
}

/// Logs in through the form as the demo local administrator of the Comune
/// di Ferrara; returns the session id.
async fn login(base: &str) -> String {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = c.get(format!("{base}/accedi")).send().await.unwrap();
    let csrf_cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sportello_csrf="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = res.text().await.unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let csrf = page[start..].split('"').next().unwrap().to_string();
    let res = c
        .post(format!("{base}/accedi"))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", "FRRMRC70A01D548N"),
            ("password", demo::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("sportello_session="))
        .expect("logged in")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------
// People: realistic names and valid, unique codici fiscali.

const MALE: &[&str] = &[
    "Marco",
    "Luca",
    "Giuseppe",
    "Giovanni",
    "Francesco",
    "Alessandro",
    "Andrea",
    "Matteo",
    "Lorenzo",
    "Davide",
    "Stefano",
    "Paolo",
    "Roberto",
    "Nicolò",
    "Niccolò",
    "Simone",
    "Federico",
    "Riccardo",
    "Gabriele",
    "Tommaso",
    "Emanuele",
    "Fabio",
    "Massimo",
    "Claudio",
    "Antonio",
    "Salvatore",
    "Mario",
    "Gian Luca",
    "Pier Paolo",
    "Noè",
    "Giosuè",
    "Enea",
];
const FEMALE: &[&str] = &[
    "Giulia",
    "Anna",
    "Francesca",
    "Chiara",
    "Sara",
    "Laura",
    "Elena",
    "Valentina",
    "Martina",
    "Alessia",
    "Federica",
    "Silvia",
    "Paola",
    "Maria Grazia",
    "Roberta",
    "Elisa",
    "Beatrice",
    "Ilaria",
    "Giorgia",
    "Michela",
    "Daniela",
    "Cristina",
    "Lucia",
    "Rosa",
    "Carla",
    "Irene",
    "Noemi",
    "Aurora",
    "Anna Maria",
    "Letizia",
];
const SURNAMES: &[&str] = &[
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "De Luca",
    "Mancini",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Martinelli",
    "Vitale",
    "Lombardo",
    "Serra",
    "Coppola",
    "De Santis",
    "D'Angelo",
    "Marchetti",
    "Parisi",
    "Villa",
    "Conte",
    "Ferraro",
    "Ferri",
    "Fabbri",
    "Bianco",
    "Marini",
    "Grasso",
    "Valentini",
    "Messina",
    "Sala",
    "De Angelis",
    "Gatti",
    "Pellegrini",
    "Palumbo",
    "Sanna",
    "Farina",
    "Rizzi",
    "Monti",
    "Cattaneo",
    "Morelli",
    "Amato",
    "Silvestri",
    "Mazza",
    "Testa",
    "Grassi",
    "Pellegrino",
    "Carbone",
    "Giuliani",
    "Benedetti",
    "Barone",
    "Rossetti",
    "Caputo",
    "Montanari",
    "Guerra",
    "Palmieri",
    "Bernardi",
    "Martino",
    "Fiore",
    "De Rosa",
    "Ferretti",
    "Bellini",
    "Basile",
    "Riva",
    "Donati",
    "Piras",
    "Vitali",
    "Battaglia",
    "Sartori",
    "Neri",
    "Costantini",
    "Milani",
    "Pagano",
    "Ruggiero",
    "Sorrentino",
    "D'Amico",
    "Orlando",
    "Damico",
    "Negri",
    "Dell'Orto",
    "Cantù",
    "Mosè",
    "Zanetti",
    "Guidi",
    "Malaguti",
    "Bonora",
    "Tassinari",
    "Mantovani",
    "Zappaterra",
    "Bottoni",
    "Finotti",
    "Forlani",
    "Pàstena",
];
/// Belfiore codes: Ferrara, Roma, Milano, Bologna, Torino, Napoli, Palermo,
/// Genova, Venezia, Parma, Ravenna, Modena, Reggio Emilia, Rovigo, Padova.
const PLACES: &[&str] = &[
    "D548", "H501", "F205", "A944", "L219", "F839", "G273", "D969", "L736", "G337", "H199", "F257",
    "H223", "H620", "G224",
];
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

struct Person {
    fiscal_code: String,
    given: String,
    family: String,
    email: String,
}

struct People {
    state: u64,
    taken: HashSet<String>,
}

impl People {
    fn new(seed: u64, taken: HashSet<String>) -> People {
        People {
            state: seed | 1,
            taken,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    /// Person number `i` (its e-mail is unique through `i`); `family` forces
    /// the surname.
    fn next(&mut self, i: usize, family: Option<&str>) -> Person {
        let female = self.below(2) == 1;
        let given = if female {
            FEMALE[self.below(FEMALE.len())]
        } else {
            MALE[self.below(MALE.len())]
        };
        let family = family.unwrap_or_else(|| SURNAMES[self.below(SURNAMES.len())]);
        let names = format!("{}{}", surname_code(family), given_name_code(given));
        // Unique codes: another birth date or place on a clash, then omocodia.
        for attempt in 0..200 {
            let year = 1955 + self.below(48);
            let month = MONTHS[self.below(12)] as char;
            let day = 1 + self.below(28) + if female { 40 } else { 0 };
            let place = PLACES[self.below(PLACES.len())];
            let mut first15: Vec<u8> =
                format!("{names}{:02}{month}{day:02}{place}", year % 100).into_bytes();
            if attempt >= 100 {
                // Omocodia: the last digit becomes its letter.
                first15[14] = OMOCODIA[usize::from(first15[14] - b'0')];
            }
            let first15 = String::from_utf8(first15).unwrap();
            let code = format!("{first15}{}", check_character(&first15));
            if self.taken.insert(code.clone()) {
                let email = format!(
                    "{}.{}{}@comune.ferrara.example.it",
                    ascii_letters(given).to_lowercase(),
                    ascii_letters(family).to_lowercase(),
                    i
                );
                return Person {
                    fiscal_code: code,
                    given: given.to_string(),
                    family: family.to_string(),
                    email,
                };
            }
        }
        panic!("no free codice fiscale for {given} {family}");
    }
}

/// Upper-case A–Z only, accents removed.
fn ascii_letters(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let base = match c {
                'à' | 'á' | 'À' | 'Á' => 'A',
                'è' | 'é' | 'È' | 'É' => 'E',
                'ì' | 'í' | 'Ì' | 'Í' => 'I',
                'ò' | 'ó' | 'Ò' | 'Ó' => 'O',
                'ù' | 'ú' | 'Ù' | 'Ú' => 'U',
                c if c.is_ascii_alphabetic() => c.to_ascii_uppercase(),
                _ => return None,
            };
            Some(base)
        })
        .collect()
}

fn split_letters(s: &str) -> (Vec<char>, Vec<char>) {
    ascii_letters(s)
        .chars()
        .partition(|c| !"AEIOU".contains(*c))
}

fn surname_code(s: &str) -> String {
    let (consonants, vowels) = split_letters(s);
    consonants
        .into_iter()
        .chain(vowels)
        .chain(std::iter::repeat('X'))
        .take(3)
        .collect()
}

fn given_name_code(s: &str) -> String {
    let (consonants, vowels) = split_letters(s);
    if consonants.len() >= 4 {
        [consonants[0], consonants[2], consonants[3]]
            .iter()
            .collect()
    } else {
        consonants
            .into_iter()
            .chain(vowels)
            .chain(std::iter::repeat('X'))
            .take(3)
            .collect()
    }
}
