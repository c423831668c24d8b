//! Throughput figures, each reported as a ratio against a baseline measured
//! in the same run on the same machine:
//!
//! - durable transactions: a Sportello state change (audit append + outbox
//!   row, one transaction) against a bare durable SQLite insert transaction;
//! - HTTP: the anonymous home page and the logged-in "I miei servizi" page
//!   against `/healthz` (the server's floor);
//! - password logins over HTTP against bare argon2id verifications with the
//!   same parameters on the same cores.
//!
//! Run: `cargo bench -p sportello` (add SPORTELLO_TEST_DATABASE_URL to also
//! measure the transaction figures on PostgreSQL). Every loop is bounded in
//! time and count and talks only to 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sportello_app::{App, Config, demo, now_micros, queue_mail};
use sportello_store::Db;
use sportello_store::audit::{self, NewEvent};

const WINDOW: Duration = Duration::from_secs(3);
const MAX_OPS: u64 = 200_000;

struct Row {
    name: String,
    per_second: f64,
    baseline: Option<(String, f64)>,
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    rows.extend(transactions("sqlite", &sqlite_url).await);
    if let Ok(pg) = std::env::var("SPORTELLO_TEST_DATABASE_URL")
        && !pg.is_empty()
    {
        rows.extend(transactions("postgres", &pg).await);
    }
    rows.extend(http(dir.path()).await);

    let mut report = String::from(
        "| measurement | per second | baseline | baseline per second | ratio |\n|---|---:|---|---:|---:|\n",
    );
    for r in &rows {
        match &r.baseline {
            Some((name, b)) => report.push_str(&format!(
                "| {} | {:.0} | {} | {:.0} | {:.2} |\n",
                r.name,
                r.per_second,
                name,
                b,
                r.per_second / b
            )),
            None => report.push_str(&format!(
                "| {} | {:.0} | — | — | — |\n",
                r.name, r.per_second
            )),
        }
    }
    println!("\n{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("throughput.md"), &report);
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

async fn transactions(backend: &str, url: &str) -> Vec<Row> {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_bare (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    sqlx::query("DELETE FROM bench_bare")
        .execute(db.pool())
        .await
        .unwrap();
    let payload = "x".repeat(512);
    let mut rows = Vec::new();
    for tasks in [1usize, 8] {
        let (d, p) = (db.clone(), payload.clone());
        let offset = tasks as i64 * 10_000_000;
        let bare = measure(tasks, move |n| {
            let (d, p) = (d.clone(), p.clone());
            async move {
                let mut tx = d.begin_write().await.unwrap();
                sqlx::query("INSERT INTO bench_bare (id, payload) VALUES ($1, $2)")
                    .bind(offset + n as i64)
                    .bind(p)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        })
        .await;
        let d = db.clone();
        let change = measure(tasks, move |n| {
            let d = d.clone();
            async move {
                let mut tx = d.begin_write().await.unwrap();
                let target = format!("user:{n}");
                audit::append(
                    &mut tx,
                    &NewEvent {
                        actor: "user:1",
                        acting_organization: Some("org:1"),
                        action: "bench.change",
                        target: &target,
                        detail: "{}",
                        source_address: Some("127.0.0.1"),
                    },
                    now_micros(),
                )
                .await
                .unwrap();
                let msg = sportello_app::mail::MailMessage {
                    from: None,
                    to: vec!["a@example.it".into()],
                    subject: "Abilitazione".into(),
                    body: "Gentile utente, ...".into(),
                };
                queue_mail(&mut tx, &msg, now_micros()).await.unwrap();
                tx.commit().await.unwrap();
            }
        })
        .await;
        let base_name = format!("{backend}: bare durable insert transaction, {tasks} task(s)");
        rows.push(Row {
            name: base_name.clone(),
            per_second: bare,
            baseline: None,
        });
        rows.push(Row {
            name: format!(
                "{backend}: state change with audit event + outbox mail, {tasks} task(s)"
            ),
            per_second: change,
            baseline: Some((base_name, bare)),
        });
    }
    db.close().await;
    rows
}

async fn http(dir: &std::path::Path) -> Vec<Row> {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    config.database_url = format!("sqlite://{}", dir.join("http.db").display());
    config.outbox.poll_interval_ms = 1000;
    let db = Db::connect(&config.database_url).await.unwrap();
    db.migrate().await.unwrap();
    let app = App::new(config, db).await.unwrap();
    demo::seed(&app).await.unwrap();
    let hasher = app.hasher.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sportello_web::run(app, listener, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let get = |path: &'static str, cookie: Option<String>| {
        let (c, url) = (client.clone(), format!("{base}{path}"));
        move |_| {
            let (c, url, cookie) = (c.clone(), url.clone(), cookie.clone());
            async move {
                let mut req = c.get(url);
                if let Some(ck) = cookie {
                    req = req.header("cookie", ck);
                }
                let res = req.send().await.unwrap();
                assert!(res.status().is_success());
                res.bytes().await.unwrap();
            }
        }
    };
    let mut rows = Vec::new();
    let health = measure(16, get("/healthz", None)).await;
    rows.push(Row {
        name: "HTTP GET /healthz (16 connections)".into(),
        per_second: health,
        baseline: None,
    });
    let home = measure(16, get("/", None)).await;
    rows.push(Row {
        name: "HTTP GET / anonymous home page".into(),
        per_second: home,
        baseline: Some(("/healthz".into(), health)),
    });

    // Log in once through the form to get a session for the reserved area.
    let (session, csrf_cookie, csrf) = login_material(&base).await;
    let services = measure(16, get("/", Some(format!("sportello_session={session}")))).await;
    rows.push(Row {
        name: "HTTP GET / logged in (I miei servizi)".into(),
        per_second: services,
        baseline: Some(("/healthz".into(), health)),
    });

    // argon2id with the production parameters, as many threads as cores.
    let stored = hasher.hash(demo::DEMO_PASSWORD.to_string()).await.unwrap();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let h = hasher.clone();
    let bare = measure(cores, move |_| {
        let (h, s) = (h.clone(), stored.clone());
        async move {
            assert!(h.verify(demo::DEMO_PASSWORD.to_string(), Some(s)).await);
        }
    })
    .await;
    rows.push(Row {
        name: format!("bare argon2id verification ({cores} threads)"),
        per_second: bare,
        baseline: None,
    });
    let (c, url) = (client.clone(), format!("{base}/accedi"));
    let logins = measure(cores * 2, move |_| {
        let (c, url, cookie, csrf) = (c.clone(), url.clone(), csrf_cookie.clone(), csrf.clone());
        async move {
            let res = c
                .post(url)
                .header("cookie", cookie)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("fiscal_code", "FRRMRC70A01D548N"),
                    ("password", demo::DEMO_PASSWORD),
                ])
                .send()
                .await
                .unwrap();
            assert!(
                res.status().is_success() || res.status().is_redirection(),
                "{}",
                res.status()
            );
        }
    })
    .await;
    rows.push(Row {
        name: "HTTP password login (form, CSRF, session, audit)".into(),
        per_second: logins,
        baseline: Some(("bare argon2id verification".into(), bare)),
    });

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    rows
}

/// Returns (session id, CSRF cookie header, CSRF token) from a real login.
async fn login_material(base: &str) -> (String, String, String) {
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
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("sportello_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (session, csrf_cookie, csrf)
}
