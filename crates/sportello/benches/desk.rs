//! Assistance desk figures, each against a baseline measured in the same run
//! on the same machine (like `throughput.rs` and `directory.rs`):
//!
//! 1. Web-form submissions to the CIVIS channel per second over HTTP: a real
//!    `sportello serve --demo` process on a fresh data directory (SQLite with
//!    the server's default durability: WAL, synchronous=FULL), its clock
//!    started on a weekday at 10:00 in Rome so the channel is open, 8 clients
//!    logged in through the form as the demo intermediary Paolo Gallo, each
//!    posting the multipart form `/assistenza/CIVIS/nuova` (303 to the new
//!    request) — or, where that page is missing, the JSON API
//!    `POST /api/v1/desk/channels/CIVIS/requests` (201); the table says which.
//!    Baseline: the bare durable transactions a registration writes, with no
//!    HTTP and no checks — contact upsert, protocol counter upsert and
//!    increment, the request, its first event, the daily counters of office,
//!    region and nation (with their running totals), the open-requests
//!    counter, the audit event and two outbox mails — run from
//!    8 tasks through the store's own functions on a fresh SQLite file seeded
//!    with the demo. After the server stops, the protocol numbers it gave are
//!    checked: 1..N in each year, no gap, no duplicate.
//! 2. Report counts over 1,000,000 requests in 500 offices of 20 regions,
//!    registered over the last 365 days, with states and outcomes; the report
//!    counters (daily counts with running totals, counter keys, open requests)
//!    are filled from them with aggregate INSERT ... SELECT — the counters the
//!    use cases keep one change at a time — and checked against the requests
//!    through a national report over the whole year. `App::report` for an
//!    office, a region and the nation, over 30 and over 365 days, 200 times
//!    each (p50/p95/max), as a user holding office_manager, regional_manager
//!    and central_manager roles, resolved from a real session; compared with
//!    a naive `SELECT state, COUNT(*) FROM requests GROUP BY state`.
//!
//! Run: `cargo bench -p sportello --bench desk`. With
//! SPORTELLO_BENCH_DATABASE_URL=postgres://… (or SPORTELLO_TEST_DATABASE_URL,
//! as the other benches) the reports also run on PostgreSQL, in a schema
//! created for the run and dropped at the end. Figures are printed and written
//! to target/bench/desk.md; nothing asserts on speed. Only 127.0.0.1 is
//! contacted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use sportello_app::desk::reports::ReportScope;
use sportello_app::mail::MailMessage;
use sportello_app::{App, Config, SessionUser, demo, now_micros, queue_mail};
use sportello_core::authz::{Grant, Role};
use sportello_core::desk::protocol::ProtocolNumber;
use sportello_store::audit::{self, NewEvent};
use sportello_store::desk::{self as store, Channel, Contact, Request};
use sportello_store::directory::{self, NewOffice, NewOrganization, NewUser};
use sportello_store::{Backend, Db, sessions};

// ---------------------------------------------------------------------------
// 1. Submissions

const CLIENTS: usize = 8;
/// Submissions (and bare transactions) before the measured ones.
const WARMUP: u64 = 80;
/// Measured submissions, and measured bare transactions.
const SUBMISSIONS: u64 = 2_000;
/// Paolo Gallo, intermediary, associated with the CIVIS office of Ferrara.
const INTERMEDIARY: &str = "GLLPLA68S12A944U";
/// A Wednesday, 10:00 in Rome: the CIVIS channel (07:00-23:00) is open.
const CLOCK_START: &str = "2026-11-25T10:00:00+01:00";
const NOTICE_NUMBER: &str = "CI-2026-0004711";
const NOTICE_TAXPAYER: &str = "RSSMRA80A01H501U";
const MOTIVE: &str = "Pagamento già effettuato";
const CONTACT_NAME: &str = "Paolo Gallo";
const CONTACT_PHONE: &str = "0532 123456";
const CONTACT_EMAIL: &str = "paolo.gallo@studiogallo.example.it";
const BODY: &str = "Il contribuente ha versato quanto richiesto con modello F24 del 16/06/2025, \
    prima del ricevimento della comunicazione. Si chiede l'annullamento della comunicazione.";

// ---------------------------------------------------------------------------
// 2. Reports

const REQUESTS: usize = 1_000_000;
const OFFICES: usize = 500;
const DAYS: i64 = 365;
/// Rows per INSERT statement (14 parameters each) and per transaction.
const ROWS_PER_INSERT: usize = 500;
const ROWS_PER_TX: usize = 50_000;
const REPORT_RUNS: usize = 200;
const NAIVE_RUNS: usize = 10;
const REGIONS: [&str; 20] = [
    "Abruzzo",
    "Basilicata",
    "Calabria",
    "Campania",
    "Emilia-Romagna",
    "Friuli-Venezia Giulia",
    "Lazio",
    "Liguria",
    "Lombardia",
    "Marche",
    "Molise",
    "Piemonte",
    "Puglia",
    "Sardegna",
    "Sicilia",
    "Toscana",
    "Trentino-Alto Adige",
    "Umbria",
    "Valle d'Aosta",
    "Veneto",
];
/// The CIVIS outcomes, with their weight in 100 closures.
const OUTCOMES: [(&str, u64); 4] = [
    ("Accolta: comunicazione annullata", 50),
    ("Accolta in parte: comunicazione rettificata", 20),
    ("Non accolta: comunicazione confermata", 25),
    ("Chiusa per mancata documentazione", 5),
];
const SUBJECTS: [&str; 4] = [
    "Comunicazione di irregolarità: pagamento già effettuato",
    "Comunicazione di irregolarità: errore materiale nella dichiarazione",
    "Avviso telematico: credito non riconosciuto",
    "Comunicazione di irregolarità: versamento tardivo",
];
const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut md = String::new();

    // `cargo bench -p sportello --bench desk -- reports` (or `submissions`) runs one part only.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = |part: &str| {
        let parts = ["submissions", "reports"];
        !args.iter().any(|a| parts.contains(&a.as_str())) || args.iter().any(|a| a == part)
    };
    if only("submissions") {
        md.push_str(&submissions(dir.path()).await);
    }
    if !only("reports") {
        write_report(&md);
        return;
    }

    let pg = [
        "SPORTELLO_BENCH_DATABASE_URL",
        "SPORTELLO_TEST_DATABASE_URL",
    ]
    .iter()
    .find_map(|k| std::env::var(k).ok().filter(|u| !u.is_empty()));
    let mut backends = vec![("sqlite", None)];
    if let Some(pg) = &pg {
        backends.push(("postgres", Some(pg.as_str())));
    }
    let mut lines = Vec::new();
    let mut notes = String::new();
    for (backend, pg) in backends {
        let work = dir.path().join(format!("reports-{backend}"));
        std::fs::create_dir_all(&work).unwrap();
        let (url, schema) = fresh_database(&work, "reports.db", pg).await;
        let (l, n) = reports(backend, &url, &work).await;
        lines.extend(l);
        notes.push_str(&n);
        drop_schema(pg, schema).await;
    }
    let mut table = format!(
        "\n## Reports over {REQUESTS} requests, {OFFICES} offices, {} regions, {DAYS} days\n\n\
         | backend | measurement | runs | p50 ms | p95 ms | max ms | rows | opened in period |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
        REGIONS.len()
    );
    for l in &lines {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
            l.backend,
            l.name,
            l.runs,
            l.p50,
            l.p95,
            l.max,
            l.rows.map_or("—".into(), |r| r.to_string()),
            l.opened.map_or("—".into(), |r| r.to_string()),
        );
    }
    let _ = writeln!(
        table,
        "\nTarget: report p95 under 20 ms. Reports run one at a time through `App::report`, \
         as the pages and the API call it.\n\n{notes}"
    );
    println!("{table}");
    md.push_str(&table);
    write_report(&md);
}

fn write_report(md: &str) {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("desk.md"), md);
}

// ---------------------------------------------------------------------------
// Shared helpers

/// A fresh database: a file under `dir`, or a new schema on PostgreSQL as
/// the integration harness does. Returns (URL, schema).
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

/// Runs `op(task, n)` `count` times in all from `tasks` concurrent tasks;
/// returns the elapsed time and the latency of every call.
async fn run_fixed<F, Fut>(tasks: usize, count: u64, op: F) -> (Duration, Vec<Duration>)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        break;
                    }
                    let t = Instant::now();
                    op(task, n).await;
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count as usize);
    for h in handles {
        all.extend(h.await.unwrap());
    }
    (start.elapsed(), all)
}

/// (p50, p95, max) in milliseconds.
fn percentiles(v: &mut [Duration]) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |p: usize| v[((v.len() * p).div_ceil(100)).clamp(1, v.len()) - 1];
    (ms(at(50)), ms(at(95)), ms(v[v.len() - 1]))
}

fn snippet(s: &str) -> String {
    let s = s.trim();
    let cut: String = s.chars().take(600).collect();
    if cut.len() < s.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// The value of the first `name="<name>" value="…"` in a page.
fn hidden_input(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    page[start..].split('"').next().map(str::to_string)
}

/// The `name=value` part of a Set-Cookie header of the response.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&prefix))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

// ---------------------------------------------------------------------------
// 1. Web-form submissions over HTTP against bare durable transactions

/// A `sportello serve` process; killed if still running when dropped.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(data_dir: &Path, log: &Path) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sportello"));
        // The server's own defaults: nothing from this shell's SPORTELLO_* variables.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SPORTELLO_") {
                cmd.env_remove(k);
            }
        }
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .env("SPORTELLO_CLOCK_START", CLOCK_START)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(log).unwrap()));
        let mut child = cmd.spawn().expect("start sportello serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("in ascolto su ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
            }
        });
        let mut server = Server {
            child,
            base: String::new(),
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if let Ok(base) = rx.recv_timeout(Duration::from_millis(200)) {
                server.base = base;
                return server;
            }
            let exited = !matches!(server.child.try_wait(), Ok(None));
            if exited || Instant::now() > deadline {
                panic!("sportello serve did not start:\n{}", server.log_tail());
            }
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM, as a service manager stops it; waits for the exit.
    async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("sportello serve did not stop on SIGTERM: killed");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `POST /assistenza/CIVIS/nuova`, multipart, 303 to the new request.
    Form,
    /// `POST /api/v1/desk/channels/CIVIS/requests`, JSON, 201.
    Api,
}

impl Route {
    fn describe(self) -> &'static str {
        match self {
            Route::Form => "web form POST /assistenza/CIVIS/nuova (multipart, 303)",
            Route::Api => "JSON API POST /api/v1/desk/channels/CIVIS/requests (201)",
        }
    }
}

/// One logged-in browser.
struct Client {
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

/// Logs in through the form; returns the session cookie (`name=value`).
async fn login(http: &reqwest::Client, base: &str, fiscal_code: &str) -> String {
    let res = http.get(format!("{base}/accedi")).send().await.unwrap();
    let csrf_cookie = set_cookie(&res, "sportello_csrf").expect("CSRF cookie on /accedi");
    let page = res.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token").expect("csrf_token on /accedi");
    let res = http
        .post(format!("{base}/accedi"))
        .header(COOKIE, &csrf_cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", fiscal_code),
            ("password", demo::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status();
    match set_cookie(&res, "sportello_session") {
        Some(c) => c,
        None => panic!(
            "login as {fiscal_code} failed ({status}): {}",
            snippet(&res.text().await.unwrap_or_default())
        ),
    }
}

/// Which route the server offers, and the session's CSRF token.
async fn route_and_token(http: &reqwest::Client, base: &str, cookie: &str) -> (Route, String) {
    let res = http
        .get(format!("{base}/assistenza/CIVIS/nuova"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let page = res.text().await.unwrap_or_default();
    if status == StatusCode::OK
        && let Some(token) = hidden_input(&page, "csrf_token")
    {
        return (Route::Form, token);
    }
    eprintln!("GET /assistenza/CIVIS/nuova: {status} without the form, the JSON API is used");
    // The session's token is also in every logged-in page (the logout form).
    let page = http
        .get(format!("{base}/"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden_input(&page, "csrf_token").expect("csrf_token on the home page");
    (Route::Api, token)
}

async fn submit(c: &Client, base: &str, route: Route, n: u64) {
    let subject = format!("Comunicazione {NOTICE_NUMBER}: pagamento già effettuato (pratica {n})");
    let res = match route {
        Route::Form => {
            let form = reqwest::multipart::Form::new()
                .text("csrf_token", c.csrf.clone())
                .text("action", "submit")
                .text("subject", subject)
                .text("body", BODY)
                .text("contact_name", CONTACT_NAME)
                .text("phone", CONTACT_PHONE)
                .text("email", CONTACT_EMAIL)
                .text("field_numero_comunicazione", NOTICE_NUMBER)
                .text("field_codice_fiscale", NOTICE_TAXPAYER)
                .text("field_motivo", MOTIVE);
            c.http
                .post(format!("{base}/assistenza/CIVIS/nuova"))
                .header(COOKIE, &c.cookie)
                .multipart(form)
                .send()
                .await
        }
        Route::Api => {
            c.http
                .post(format!("{base}/api/v1/desk/channels/CIVIS/requests"))
                .header(COOKIE, &c.cookie)
                .header("x-csrf-token", &c.csrf)
                .json(&serde_json::json!({
                    "subject": subject,
                    "body": BODY,
                    "fields": {
                        "numero_comunicazione": NOTICE_NUMBER,
                        "codice_fiscale": NOTICE_TAXPAYER,
                        "motivo": MOTIVE,
                    },
                    "contact": {
                        "contact_name": CONTACT_NAME,
                        "phone": CONTACT_PHONE,
                        "email": CONTACT_EMAIL,
                    },
                }))
                .send()
                .await
        }
    }
    .expect("server reachable");
    let status = res.status();
    let location = res
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let ok = match route {
        Route::Form => {
            status == StatusCode::SEE_OTHER
                && location.starts_with("/assistenza/richieste/")
                && location.ends_with("?nuova=1")
        }
        Route::Api => status == StatusCode::CREATED,
    };
    let body = res.bytes().await.unwrap_or_default();
    if !ok {
        panic!(
            "submission {n}: {status} {location}: {}",
            snippet(&String::from_utf8_lossy(&body))
        );
    }
}

/// What a bare registration transaction writes, fixed once.
struct Bare {
    app: App,
    channel: Channel,
    user_id: i64,
    organization: Option<String>,
    office_id: i64,
    office_code: String,
    mailbox: String,
    region: String,
    fields: String,
}

async fn bare_registration(b: &Bare, n: u64) {
    let now = now_micros();
    let (year, day) = b.app.civil_day(now);
    let contact = Contact {
        contact_name: CONTACT_NAME.into(),
        phone: CONTACT_PHONE.into(),
        email: CONTACT_EMAIL.into(),
    };
    let subject = format!("Comunicazione {NOTICE_NUMBER}: pagamento già effettuato (pratica {n})");
    let mut tx = b.app.db.begin_write().await.unwrap();
    store::save_contact_in(&mut tx, b.user_id, &contact, now)
        .await
        .unwrap();
    let number = store::next_protocol_number_in(&mut tx, b.channel.register_id, year)
        .await
        .unwrap();
    let protocol = ProtocolNumber::new("CIVIS", year, number).to_string();
    let request = Request {
        id: 0,
        channel_id: b.channel.id,
        register_id: b.channel.register_id,
        year: i64::from(year),
        number,
        protocol: protocol.clone(),
        registered_at: now,
        intake: "web".into(),
        requester_user_id: Some(b.user_id),
        requester_name: CONTACT_NAME.into(),
        requester_email: Some(CONTACT_EMAIL.into()),
        requester_phone: Some(CONTACT_PHONE.into()),
        contact_name: Some(CONTACT_NAME.into()),
        subject: subject.clone(),
        body: BODY.into(),
        fields: b.fields.clone(),
        document_hash: format!("{:064x}", u128::from(n) * 0x9e37_79b9_7f4a_7c15),
        office_id: b.office_id,
        region: b.region.clone(),
        assignee_id: None,
        state: "new".into(),
        outcome: None,
        taken_at: None,
        closed_at: None,
        paused_since: None,
        paused_micros: 0,
        take_due_at: Some(now + 4 * HOUR),
        close_due_at: Some(now + 60 * HOUR),
        sla_flag: "ok".into(),
        annulled_at: None,
        annul_reason: None,
        updated_at: now,
    };
    let id = store::insert_request_in(&mut tx, &request).await.unwrap();
    let detail = serde_json::json!({ "intake": "web", "office": b.office_code }).to_string();
    store::add_event_in(
        &mut tx,
        id,
        now,
        Some(b.user_id),
        CONTACT_NAME,
        "registered",
        true,
        BODY,
        &detail,
    )
    .await
    .unwrap();
    store::bump_stat_in(&mut tx, b.office_id, &b.region, day, "opened", 1)
        .await
        .unwrap();
    store::move_open_in(&mut tx, b.office_id, None, Some("new"))
        .await
        .unwrap();
    let actor = format!("user:{}", b.user_id);
    let target = format!("request:{id}");
    let detail = serde_json::json!({
        "protocol": protocol,
        "channel": "CIVIS",
        "intake": "web",
        "office": b.office_code,
        "document_hash": request.document_hash,
        "attachments": 0,
    })
    .to_string();
    audit::append(
        &mut tx,
        &NewEvent {
            actor: &actor,
            acting_organization: b.organization.as_deref(),
            action: "desk.request.register",
            target: &target,
            detail: &detail,
            source_address: Some("127.0.0.1"),
        },
        now,
    )
    .await
    .unwrap();
    let when = b.app.format_time(now);
    queue_mail(
        &mut tx,
        &MailMessage {
            from: None,
            to: vec![b.mailbox.clone()],
            subject: format!("[{protocol}] Nuova richiesta di assistenza CIVIS: {subject}"),
            body: format!(
                "Nuova richiesta di assistenza sul canale {} (web).\n\nProtocollo: {protocol} del {when}\n\
                 Richiedente: {CONTACT_NAME}\nReferente: {CONTACT_NAME}\nTelefono: {CONTACT_PHONE}\n\
                 E-mail: {CONTACT_EMAIL}\nOggetto: {subject}\n\n{BODY}\n\n\
                 Numero della comunicazione: {NOTICE_NUMBER}\nCodice fiscale: {NOTICE_TAXPAYER}\n\
                 Motivazione: {MOTIVE}\n\nDa prendere in carico: http://localhost:8080/ufficio/richieste/{id}\n",
                b.channel.name
            ),
        },
        now,
    )
    .await
    .unwrap();
    queue_mail(
        &mut tx,
        &MailMessage {
            from: Some(b.mailbox.clone()),
            to: vec![CONTACT_EMAIL.into()],
            subject: format!("[{protocol}] Richiesta di assistenza registrata"),
            body: format!(
                "La sua richiesta di assistenza sul canale {} è stata registrata.\n\n\
                 Protocollo: {protocol} del {when}\nOggetto: {subject}\nUfficio: {}\n\n\
                 Conservi il numero di protocollo.\n\n\
                 Può seguire la richiesta in http://localhost:8080/assistenza/richieste/{id}\n",
                b.channel.name, b.office_code
            ),
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// The bare transactions on a fresh SQLite file seeded with the demo;
/// returns (per second, latencies).
async fn bare_registrations(dir: &Path) -> (f64, Vec<Duration>) {
    std::fs::create_dir_all(dir).unwrap();
    let url = format!("sqlite://{}", dir.join("bare.db").display());
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let config = Config {
        data_dir: dir.to_path_buf(),
        database_url: url,
        ..Default::default()
    };
    let app = App::new(config, db.clone()).await.unwrap();
    demo::seed(&app).await.unwrap();
    let channel = store::channel_by_code(&db, "CIVIS")
        .await
        .unwrap()
        .expect("demo channel CIVIS");
    let user = directory::user_by_fiscal_code(&db, INTERMEDIARY)
        .await
        .unwrap()
        .expect("demo intermediary");
    let members = store::member_offices(&db, channel.id, user.id)
        .await
        .unwrap();
    let office = {
        let mut conn = db.pool().acquire().await.unwrap();
        store::desk_office_in(&mut conn, *members.first().expect("associated office"))
            .await
            .unwrap()
            .unwrap()
    };
    let fields: BTreeMap<&str, &str> = [
        ("numero_comunicazione", NOTICE_NUMBER),
        ("codice_fiscale", NOTICE_TAXPAYER),
        ("motivo", MOTIVE),
        ("tipo_atto", "comunicazione"),
        ("modello", "Redditi PF 2025"),
        ("anno_imposta", "2024"),
    ]
    .into_iter()
    .collect();
    let bare = Arc::new(Bare {
        channel,
        user_id: user.id,
        organization: user.organization_id.map(|o| format!("org:{o}")),
        office_id: office.id,
        office_code: office.code.clone(),
        mailbox: office
            .mailbox
            .clone()
            .unwrap_or_else(|| "ufficio@agenziaentrate.example.it".into()),
        region: office.region.clone().unwrap_or_default(),
        fields: serde_json::to_string(&fields).unwrap(),
        app,
    });
    let b = bare.clone();
    run_fixed(CLIENTS, WARMUP, move |_, n| {
        let b = b.clone();
        async move { bare_registration(&b, n).await }
    })
    .await;
    let b = bare.clone();
    let (elapsed, latencies) = run_fixed(CLIENTS, SUBMISSIONS, move |_, n| {
        let b = b.clone();
        async move { bare_registration(&b, WARMUP + n).await }
    })
    .await;
    db.close().await;
    (SUBMISSIONS as f64 / elapsed.as_secs_f64(), latencies)
}

/// Protocol numbers of the CIVIS register, per year: "1..N, no gap, no
/// duplicate" or what is wrong. Returns (text, all good, total requests).
async fn check_protocol_numbers(db: &Db) -> (String, bool, usize) {
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT r.year, r.number, r.protocol FROM requests r JOIN registers g ON g.id = r.register_id
         WHERE g.code = 'CIVIS' ORDER BY r.year, r.number",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let counters: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT c.year, c.last_number FROM register_counters c JOIN registers g ON g.id = c.register_id
         WHERE g.code = 'CIVIS' ORDER BY c.year",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut by_year: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (year, number, _) in &rows {
        by_year.entry(*year).or_default().push(*number);
    }
    let distinct: std::collections::HashSet<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    let mut good = distinct.len() == rows.len() && !rows.is_empty();
    let mut text = String::new();
    for (year, numbers) in &by_year {
        let n = numbers.len() as i64;
        let gapless = numbers.iter().zip(1..).all(|(a, b)| *a == b);
        let counter = counters.iter().find(|c| c.0 == *year).map(|c| c.1);
        let ok = gapless && counter == Some(n);
        good &= ok;
        let _ = write!(
            text,
            "year {year}: {n} requests numbered {}..{}, {}; register counter at {}. ",
            numbers.first().unwrap_or(&0),
            numbers.last().unwrap_or(&0),
            if gapless {
                "no gap, no duplicate"
            } else {
                "GAPS OR DUPLICATES"
            },
            counter.map_or("—".into(), |c| c.to_string()),
        );
    }
    let _ = write!(
        text,
        "{} distinct protocol strings for {} requests.",
        distinct.len(),
        rows.len()
    );
    (text, good, rows.len())
}

async fn submissions(dir: &Path) -> String {
    println!("desk bench 1/2: bare durable registration transactions (SQLite, {CLIENTS} tasks)");
    let (bare_rate, mut bare_lat) = bare_registrations(&dir.join("bare")).await;
    let (b50, b95, bmax) = percentiles(&mut bare_lat);

    println!("desk bench 1/2: starting sportello serve --demo (clock at {CLOCK_START})");
    let data = dir.join("server-data");
    let server = Server::start(&data, &dir.join("server.log"));
    let base = server.base.clone();
    let mut clients = Vec::new();
    let mut route = Route::Form;
    for i in 0..CLIENTS {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let cookie = login(&http, &base, INTERMEDIARY).await;
        let (r, csrf) = route_and_token(&http, &base, &cookie).await;
        if i == 0 {
            route = r;
        }
        clients.push(Client { http, cookie, csrf });
    }
    println!(
        "desk bench 1/2: {CLIENTS} clients logged in as {INTERMEDIARY}; {} submissions via {}",
        SUBMISSIONS,
        route.describe()
    );
    let clients = Arc::new(clients);
    let (c, b) = (clients.clone(), base.clone());
    run_fixed(CLIENTS, WARMUP, move |task, n| {
        let (c, b) = (c.clone(), b.clone());
        async move { submit(&c[task], &b, route, n).await }
    })
    .await;
    let (c, b) = (clients.clone(), base.clone());
    let (elapsed, mut lat) = run_fixed(CLIENTS, SUBMISSIONS, move |task, n| {
        let (c, b) = (c.clone(), b.clone());
        async move { submit(&c[task], &b, route, WARMUP + n).await }
    })
    .await;
    let rate = SUBMISSIONS as f64 / elapsed.as_secs_f64();
    let (s50, s95, smax) = percentiles(&mut lat);
    server.stop().await;

    let db = Db::connect(&format!("sqlite://{}", data.join("sportello.db").display()))
        .await
        .unwrap();
    let (check, good, total) = check_protocol_numbers(&db).await;
    db.close().await;
    let sent = WARMUP + SUBMISSIONS;

    let mut md = String::from("## Web-form submissions (SQLite, WAL, synchronous=FULL)\n\n");
    let _ = writeln!(
        md,
        "| measurement | per second | p50 ms | p95 ms | max ms | ratio |\n|---|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        md,
        "| bare durable registration transactions, no HTTP ({CLIENTS} tasks, {SUBMISSIONS} transactions) (baseline) | {bare_rate:.0} | {b50:.1} | {b95:.1} | {bmax:.1} | — |"
    );
    let _ = writeln!(
        md,
        "| {} over HTTP, `sportello serve` ({CLIENTS} clients, {SUBMISSIONS} submissions) | {rate:.0} | {s50:.1} | {s95:.1} | {smax:.1} | {:.2} |",
        route.describe(),
        rate / bare_rate
    );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        md,
        "\nRatio: submissions per second ÷ bare transactions per second (target ≥ 0.50). \
         Measured after {WARMUP} warm-up submissions; server, clients and baseline share this \
         machine ({cores} cores); the server's outbox workers deliver the mails meanwhile.\n\n\
         Protocol numbers after {sent} accepted submissions: {check} {}\n",
        if good && total as u64 == sent {
            "OK."
        } else {
            "MISMATCH."
        }
    );
    println!("\n{md}");
    assert!(
        good && total as u64 == sent,
        "protocol numbers: {check} (accepted submissions: {sent})"
    );
    md
}

// ---------------------------------------------------------------------------
// 2. Report counts over a million requests

struct Line {
    backend: &'static str,
    name: String,
    runs: usize,
    p50: f64,
    p95: f64,
    max: f64,
    rows: Option<usize>,
    opened: Option<i64>,
}

/// xorshift64*: reproducible data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Europe/Rome day starts (µs) with their yyyymmdd, from the app's own
/// civil day: midnight in Rome falls on a whole UTC hour.
fn calendar(app: &App, from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut t = from - from.rem_euclid(HOUR);
    let mut prev = app.civil_day(t).1;
    let mut out = Vec::new();
    while t <= to {
        t += HOUR;
        let day = app.civil_day(t).1;
        if day != prev {
            out.push((t, day));
            prev = day;
        }
    }
    out
}

/// A multi-row INSERT of `rows` requests, 14 parameters each. SQLite gets
/// anonymous `?` parameters: looking up numbered ones costs it time in
/// proportion to their count, for each one bound.
fn insert_sql(
    backend: Backend,
    rows: usize,
    channel_id: i64,
    register_id: i64,
    fields: &str,
) -> String {
    let mut sql = String::from(
        "INSERT INTO requests (channel_id, register_id, intake, requester_name, body, fields, document_hash,
            year, number, protocol, registered_at, subject, office_id, region, state, outcome,
            taken_at, closed_at, take_due_at, close_due_at, updated_at) VALUES ",
    );
    for k in 0..rows {
        let p = k * 14;
        let _ = write!(
            sql,
            "{}({channel_id}, {register_id}, 'web', 'Studio Gallo - Paolo Gallo', '{BODY_SQL}', '{fields}', '{HASH}'",
            if k == 0 { "" } else { ", " },
        );
        for i in 1..=14 {
            match backend {
                Backend::Sqlite => sql.push_str(", ?"),
                Backend::Postgres => {
                    let _ = write!(sql, ", ${}", p + i);
                }
            }
        }
        sql.push(')');
    }
    sql
}

const BODY_SQL: &str = "Il contribuente ha versato quanto richiesto con modello F24 prima del ricevimento della comunicazione.";
const HASH: &str = "3f5a9c0e7d2b4a6f8e1c3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f5a";

/// One generated request, bound in the order of `insert_sql`.
struct GenRow {
    year: i64,
    number: i64,
    protocol: String,
    registered_at: i64,
    subject: &'static str,
    office_id: i64,
    region: &'static str,
    state: &'static str,
    outcome: Option<&'static str>,
    taken_at: Option<i64>,
    closed_at: Option<i64>,
    take_due_at: i64,
    close_due_at: i64,
    updated_at: i64,
}

fn generate(
    rng: &mut Rng,
    i: usize,
    start: i64,
    now: i64,
    offices: &[(i64, &'static str)],
    day_of: &mut impl FnMut(i64) -> i64,
    numbers: &mut BTreeMap<i64, i64>,
) -> GenRow {
    let span = now - start;
    let step = span / REQUESTS as i64;
    let registered_at = start + i as i64 * step + rng.below(step as u64) as i64;
    let (office_id, region) = offices[rng.below(offices.len() as u64) as usize];
    let age = now - registered_at;
    let roll = rng.below(100);
    let state = if age > 20 * DAY {
        match roll {
            0..=96 => "closed",
            97 => "waiting_requester",
            _ => "in_progress",
        }
    } else if age > 3 * DAY {
        match roll {
            0..=59 => "closed",
            60..=84 => "in_progress",
            85..=89 => "waiting_requester",
            90..=94 => "assigned",
            _ => "new",
        }
    } else {
        match roll {
            0..=19 => "closed",
            20..=49 => "in_progress",
            50..=59 => "assigned",
            _ => "new",
        }
    };
    let taken_at = matches!(state, "in_progress" | "waiting_requester" | "closed")
        .then(|| registered_at + rng.below((36 * HOUR).min(age).max(1) as u64) as i64);
    let closed_at = (state == "closed").then(|| {
        let taken = taken_at.unwrap();
        taken + rng.below((15 * DAY).min(now - taken).max(1) as u64) as i64
    });
    let outcome = (state == "closed").then(|| {
        let mut w = rng.below(100);
        OUTCOMES
            .iter()
            .find(|(_, weight)| {
                if w < *weight {
                    true
                } else {
                    w -= weight;
                    false
                }
            })
            .map_or(OUTCOMES[0].0, |o| o.0)
    });
    let year = day_of(registered_at) / 10_000;
    let number = numbers.entry(year).or_insert(0);
    *number += 1;
    GenRow {
        year,
        number: *number,
        protocol: ProtocolNumber::new("CIVIS", year as i32, *number).to_string(),
        registered_at,
        subject: SUBJECTS[rng.below(SUBJECTS.len() as u64) as usize],
        office_id,
        region,
        state,
        outcome,
        taken_at,
        closed_at,
        take_due_at: registered_at + 4 * HOUR,
        close_due_at: registered_at + 60 * HOUR,
        updated_at: closed_at.or(taken_at).unwrap_or(registered_at),
    }
}

/// The day (yyyymmdd, Europe/Rome) of `column`, from the calendar table.
fn day_of_sql(column: &str) -> String {
    format!(
        "(SELECT c.day FROM bench_calendar c WHERE c.start_us <= r.{column}
          ORDER BY c.start_us DESC LIMIT 1)"
    )
}

async fn reports(backend: &'static str, url: &str, work: &Path) -> (Vec<Line>, String) {
    println!("desk bench 2/2 ({backend}): generating {REQUESTS} requests");
    let mut notes = String::new();
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    let config = Config {
        data_dir: work.join("data"),
        database_url: url.to_string(),
        ..Default::default()
    };
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let app = App::new(config, db.clone()).await.unwrap();
    let now = now_micros();
    let start = now - DAYS * DAY;

    // Offices, register, channel and the manager.
    let t_setup = Instant::now();
    let mut tx = db.begin_write().await.unwrap();
    let org = directory::ensure_organization(
        &mut tx,
        &NewOrganization {
            code: "ADE",
            name: "Agenzia delle Entrate",
            kind: "tax_agency",
            fiscal_code: Some("06363391001"),
            parent_id: None,
            region: None,
        },
        now,
    )
    .await
    .unwrap();
    let mut offices: Vec<(i64, &'static str)> = Vec::with_capacity(OFFICES);
    for k in 0..OFFICES {
        let (r, region) = (k % REGIONS.len(), REGIONS[k % REGIONS.len()]);
        let n = k / REGIONS.len() + 1;
        let code = format!("ADE-{:02}-{n:02}", r + 1);
        let name = format!("Direzione provinciale {n} - {region}");
        let mailbox = format!("dp{:02}{n:02}@agenziaentrate.example.it", r + 1);
        let id = directory::ensure_office(
            &mut tx,
            &NewOffice {
                organization_id: org,
                code: &code,
                name: &name,
                region: Some(region),
                mailbox: Some(&mailbox),
            },
            now,
        )
        .await
        .unwrap();
        offices.push((id, region));
    }
    let register = store::ensure_register(
        &mut tx,
        "CIVIS",
        "Registro di protocollo CIVIS",
        "AGE-AOO-CIVIS",
        now,
    )
    .await
    .unwrap();
    let channel_id = store::save_channel_in(
        &mut tx,
        &Channel {
            id: 0,
            code: "CIVIS".into(),
            name:
                "CIVIS - Assistenza sulle comunicazioni di irregolarità e sugli avvisi telematici"
                    .into(),
            description: String::new(),
            register_id: register,
            application_id: None,
            requester_categories: "intermediary".into(),
            require_association: 0,
            hours_weekly: "tutti i giorni 07:00-23:00".into(),
            hours_holidays: String::new(),
            form_spec: sportello_app::desk::demo::CIVIS_FORM.into(),
            outcomes: OUTCOMES.map(|o| o.0).join("\n"),
            routing_rules: String::new(),
            mail_address: None,
            intake_web: 1,
            intake_mail: 0,
            intake_phone: 1,
            notice_lookup: 1,
            sla_take_minutes: 240,
            sla_close_minutes: 2400,
            max_attachment_bytes: 10 * 1024 * 1024,
            active: 1,
        },
        now,
    )
    .await
    .unwrap();
    let ids: Vec<i64> = offices.iter().map(|o| o.0).collect();
    store::set_channel_offices_in(&mut tx, channel_id, &ids)
        .await
        .unwrap();
    let (manager, _) = directory::ensure_user(
        &mut tx,
        &NewUser {
            fiscal_code: "BNCGNN70A41H501X",
            given_name: "Giovanna",
            family_name: "Bianchi",
            email: "giovanna.bianchi@agenziaentrate.example.it",
            category: "public_employee",
            status: "active",
            organization_id: Some(org),
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    let (office_id, region) = offices[0];
    for grant in [
        Grant {
            role: Role::OfficeManager,
            organization_id: Some(org),
            office_id: Some(office_id),
            region: None,
        },
        Grant {
            role: Role::RegionalManager,
            organization_id: Some(org),
            office_id: None,
            region: Some(region.to_string()),
        },
        Grant {
            role: Role::CentralManager,
            organization_id: Some(org),
            office_id: None,
            region: None,
        },
    ] {
        directory::ensure_role(&mut tx, manager, &grant)
            .await
            .unwrap();
    }
    let token = sportello_app::security::random_token();
    sessions::create(
        &mut tx,
        &sportello_app::security::token_hash(&token),
        manager,
        &sportello_app::security::random_token(),
        now,
        now + DAY,
        Some("127.0.0.1"),
        "password",
    )
    .await
    .unwrap();
    // Europe/Rome days, to count requests per day in SQL.
    sqlx::query("CREATE TABLE bench_calendar (start_us BIGINT PRIMARY KEY, day BIGINT NOT NULL)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let days = calendar(&app, start - 2 * DAY, now + 2 * DAY);
    for chunk in days.chunks(200) {
        let mut sql = String::from("INSERT INTO bench_calendar (start_us, day) VALUES ");
        for (k, (s, d)) in chunk.iter().enumerate() {
            let _ = write!(sql, "{}({s}, {d})", if k == 0 { "" } else { ", " });
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let setup_s = t_setup.elapsed().as_secs_f64();

    // Requests: multi-row INSERTs in large transactions, on one connection.
    let t_load = Instant::now();
    let mut conn = db.pool().acquire().await.unwrap();
    if db.backend() == Backend::Sqlite {
        // A cache that holds the indexes while loading; reset afterwards.
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let fields = r#"{"anno_imposta":"2024","codice_fiscale":"RSSMRA80A01H501U","modello":"Redditi PF 2025","motivo":"Pagamento già effettuato","numero_comunicazione":"CI-2026-0004711","tipo_atto":"comunicazione"}"#;
    let full_sql = insert_sql(db.backend(), ROWS_PER_INSERT, channel_id, register, fields);
    let mut rng = Rng(0x00de_5c0f_f1ce_2026);
    let mut numbers: BTreeMap<i64, i64> = BTreeMap::new();
    let mut cursor = 0usize;
    let mut day_of = |t: i64| {
        while cursor + 1 < days.len() && days[cursor + 1].0 <= t {
            cursor += 1;
        }
        days[cursor].1
    };
    let mut i = 0;
    while i < REQUESTS {
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        let end = (i + ROWS_PER_TX).min(REQUESTS);
        while i < end {
            let batch = ROWS_PER_INSERT.min(end - i);
            let sql = if batch == ROWS_PER_INSERT {
                full_sql.clone()
            } else {
                insert_sql(db.backend(), batch, channel_id, register, fields)
            };
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for k in 0..batch {
                let r = generate(
                    &mut rng,
                    i + k,
                    start,
                    now,
                    &offices,
                    &mut day_of,
                    &mut numbers,
                );
                q = q
                    .bind(r.year)
                    .bind(r.number)
                    .bind(r.protocol)
                    .bind(r.registered_at)
                    .bind(r.subject)
                    .bind(r.office_id)
                    .bind(r.region)
                    .bind(r.state)
                    .bind(r.outcome)
                    .bind(r.taken_at)
                    .bind(r.closed_at)
                    .bind(r.take_due_at)
                    .bind(r.close_due_at)
                    .bind(r.updated_at);
            }
            q.execute(&mut *tx).await.unwrap();
            i += batch;
        }
        tx.commit().await.unwrap();
    }
    let load_s = t_load.elapsed().as_secs_f64();

    // The counters the use cases keep one change at a time (daily counts
    // with their running totals, the list of counters, requests open now,
    // the protocol counter), from the requests in a few statements.
    let t_counters = Instant::now();
    let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
    // A backfill computes the running totals itself: the triggers that carry
    // one change into later days stay off while it runs.
    let triggers: Vec<String> = if db.backend() == Backend::Sqlite {
        let defs: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'desk_stats'",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        for (name, _) in &defs {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER {name}")))
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        defs.into_iter().map(|(_, sql)| sql).collect()
    } else {
        sqlx::query("ALTER TABLE desk_stats DISABLE TRIGGER desk_stats_follow")
            .execute(&mut *tx)
            .await
            .unwrap();
        vec!["ALTER TABLE desk_stats ENABLE TRIGGER desk_stats_follow".to_string()]
    };
    let per_office = [
        ("registered_at", "'opened'", ""),
        ("taken_at", "'taken'", "WHERE r.taken_at IS NOT NULL"),
        ("closed_at", "'closed'", "WHERE r.closed_at IS NOT NULL"),
        (
            "closed_at",
            "'outcome:' || r.outcome",
            "WHERE r.closed_at IS NOT NULL",
        ),
    ];
    for (column, metric, filter) in per_office {
        let sql = format!(
            "INSERT INTO desk_stats (level, scope, region, day, metric, n, total)
             SELECT 'office', g.scope, g.region, g.day, g.metric, g.n,
                    SUM(g.n) OVER (PARTITION BY g.scope, g.metric ORDER BY g.day)
             FROM (SELECT CAST(t.office_id AS TEXT) AS scope, t.region AS region, t.day AS day,
                          t.metric AS metric, COUNT(*) AS n
                   FROM (SELECT r.office_id, r.region, {metric} AS metric, {} AS day
                         FROM requests r {filter}) t
                   GROUP BY t.office_id, t.region, t.day, t.metric) g",
            day_of_sql(column)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for sql in [
        "INSERT INTO desk_stats (level, scope, region, day, metric, n, total)
         SELECT 'region', g.region, g.region, g.day, g.metric, g.n,
                SUM(g.n) OVER (PARTITION BY g.region, g.metric ORDER BY g.day)
         FROM (SELECT region, day, metric, SUM(n) AS n FROM desk_stats
               WHERE level = 'office' GROUP BY region, day, metric) g",
        "INSERT INTO desk_stats (level, scope, region, day, metric, n, total)
         SELECT 'nation', '', '', g.day, g.metric, g.n,
                SUM(g.n) OVER (PARTITION BY g.metric ORDER BY g.day)
         FROM (SELECT day, metric, SUM(n) AS n FROM desk_stats
               WHERE level = 'office' GROUP BY day, metric) g",
        "INSERT INTO desk_stat_keys (level, scope, region, metric)
         SELECT level, scope, MIN(region), metric FROM desk_stats GROUP BY level, scope, metric",
        "INSERT INTO desk_open_counts (office_id, state, n)
         SELECT office_id, state, COUNT(*) FROM requests WHERE state <> 'closed'
         GROUP BY office_id, state",
        "INSERT INTO register_counters (register_id, year, last_number)
         SELECT register_id, year, MAX(number) FROM requests GROUP BY register_id, year",
    ] {
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
    }
    for sql in triggers {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    if db.backend() == Backend::Sqlite {
        sqlx::query("PRAGMA cache_size = -2000")
            .execute(&mut *conn)
            .await
            .unwrap();
    } else {
        // What autovacuum would do shortly after such a load.
        for t in [
            "requests",
            "desk_stats",
            "desk_stat_keys",
            "desk_open_counts",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {t}")))
                .execute(&mut *conn)
                .await
                .unwrap();
        }
    }
    drop(conn);
    let counters_s = t_counters.elapsed().as_secs_f64();

    // The manager, as the pages resolve him from the session cookie.
    let who: SessionUser = app
        .session_user(&token)
        .await
        .unwrap()
        .expect("manager session");
    let today = app.civil_day(now).1;

    // The counters must say what the requests say, as the app reads them.
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(db.pool())
                .await
                .unwrap()
        }
    };
    let stat_rows = count("SELECT COUNT(*) FROM desk_stats").await;
    let closed_rows = count("SELECT COUNT(*) FROM requests WHERE state = 'closed'").await;
    let open_rows = count("SELECT COUNT(*) FROM requests WHERE state <> 'closed'").await;
    let all = app
        .report(
            Some(&who),
            &ReportScope::Nation,
            app.civil_day(start).1,
            today,
        )
        .await
        .unwrap()
        .totals;
    let consistent = all.opened == REQUESTS as i64
        && all.closed == closed_rows
        && all.to_take + all.in_progress == open_rows;
    let _ = writeln!(
        notes,
        "{backend}: data set built in {:.1} s: setup {setup_s:.1} s, {REQUESTS} requests loaded in {load_s:.1} s \
         ({:.0} rows/s, {ROWS_PER_INSERT} rows per INSERT, {ROWS_PER_TX} per transaction), counters filled in \
         {counters_s:.1} s ({stat_rows} desk_stats rows). Check, national report over the whole year: \
         {} opened, {} closed, {} open now, for {REQUESTS} requests of which {closed_rows} closed and \
         {open_rows} open — {}.\n",
        setup_s + load_s + counters_s,
        REQUESTS as f64 / load_s,
        all.opened,
        all.closed,
        all.to_take + all.in_progress,
        if consistent {
            "consistent"
        } else {
            "INCONSISTENT"
        }
    );
    println!("{notes}");
    assert!(
        consistent,
        "the counters filled here are not what App::report reads (has their schema changed?)"
    );
    let periods = [
        ("30 days", app.civil_day(now - 29 * DAY).1),
        ("365 days", app.civil_day(now - (DAYS - 1) * DAY).1),
    ];
    let scopes = [
        (
            format!("office {}", offices[0].0),
            ReportScope::Office(office_id),
        ),
        (
            format!("region {region}"),
            ReportScope::Region(region.to_string()),
        ),
        ("nation".to_string(), ReportScope::Nation),
    ];
    let mut lines = Vec::new();
    for (period, from_day) in periods {
        for (label, scope) in &scopes {
            let mut last = None;
            for _ in 0..5 {
                match app.report(Some(&who), scope, from_day, today).await {
                    Ok(r) => last = Some(r),
                    Err(e) => {
                        let _ = writeln!(
                            notes,
                            "{backend}: App::report, {label}, {period}: FAILED: {e}\n"
                        );
                        break;
                    }
                }
            }
            if last.is_none() {
                continue;
            }
            let mut lat = Vec::with_capacity(REPORT_RUNS);
            for _ in 0..REPORT_RUNS {
                let t = Instant::now();
                let r = app
                    .report(Some(&who), scope, from_day, today)
                    .await
                    .unwrap();
                lat.push(t.elapsed());
                last = Some(r);
            }
            let r = last.unwrap();
            let (p50, p95, max) = percentiles(&mut lat);
            lines.push(Line {
                backend,
                name: format!("App::report, {label}, {period} ({from_day}..{today})"),
                runs: REPORT_RUNS,
                p50,
                p95,
                max,
                rows: Some(r.rows.len()),
                opened: Some(r.totals.opened),
            });
        }
    }

    // The count the counters avoid.
    let mut lat = Vec::new();
    let mut total = 0;
    for run in 0..=NAIVE_RUNS {
        let t = Instant::now();
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM requests GROUP BY state")
                .fetch_all(db.pool())
                .await
                .unwrap();
        if run > 0 {
            lat.push(t.elapsed());
        }
        total = rows.iter().map(|r| r.1).sum::<i64>();
    }
    let (p50, p95, max) = percentiles(&mut lat);
    lines.push(Line {
        backend,
        name: format!(
            "naive SELECT state, COUNT(*) FROM requests GROUP BY state (whole table, {total} rows) — baseline"
        ),
        runs: NAIVE_RUNS,
        p50,
        p95,
        max,
        rows: None,
        opened: None,
    });
    for l in &lines {
        println!(
            "{backend}: {}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            l.name, l.p50, l.p95, l.max
        );
    }
    db.close().await;
    (lines, notes)
}
