//! Integrated filings: deliveries per second to the simulated agencies, for
//! 10,000 filings x 3 recipients, against the simulators' own acceptance rate
//! measured in the same run on the same machine (the limit; target ≥ 0.5).
//!
//! 1. A standalone `sportello demo-agency` process (INPS, INAIL, CCIAA) and a
//!    fresh data directory seeded with the demo; the connectors point at the
//!    standalone agencies.
//! 2. Baseline: `sportello serve` runs with nothing to deliver, only so that
//!    its `/oidc/jwks` is live; 30,000 deliveries are signed beforehand with
//!    the portal's active ES256 key, exactly as docs/AGENCY-CONNECTOR.md says
//!    (`Digest`, `Agid-JWT-Signature` with `signed_headers`, distinct
//!    `Idempotency-Key` and `jti`), and posted straight to the agencies (round
//!    robin) from as many concurrent clients as the portal keeps requests in
//!    flight (`outbox.workers` x `filings.concurrency`). Requests answered 201
//!    per second.
//! 3. Measured, in two rounds: the portal stopped, 10,000 filings are sent
//!    through the library use case `App::submit_filing` as Roberto Esposito,
//!    so 30,000 deliveries wait in the outbox; then `sportello serve` starts
//!    and the time from "listening" until every delivery is taken in charge
//!    is measured (the agencies' counters polled every 20 ms until they hold
//!    every filing, then the database every 10 ms). Each agency must have
//!    received 10,000 filings in the round, none twice.
//! 4. After each round the baseline again, on the same agencies (they keep
//!    the portal's key). The pace of a shared machine drifts: each round is
//!    compared with the mean of the limits measured just before and after it.
//!
//! Run: `cargo bench -p sportello --bench filings`. SQLite always; with
//! SPORTELLO_BENCH_DATABASE_URL=postgres://… (or SPORTELLO_TEST_DATABASE_URL)
//! also PostgreSQL, in a schema created for the run and dropped at the end.
//! Arguments `SPORTELLO_SECTION__KEY=value` are passed to `sportello serve`
//! (e.g. `-- SPORTELLO_FILINGS__CONCURRENCY=64 SPORTELLO_OUTBOX__WORKERS=4`);
//! `sqlite` or `postgres` runs one backend only. Figures are printed and
//! written to target/bench/filings.md; nothing asserts on speed. Only
//! 127.0.0.1 is contacted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sportello_app::{App, Config, demo};
use sportello_store::Db;

#[path = "../tests/integration/child.rs"]
mod child;
#[path = "../tests/integration/filing_load.rs"]
mod filing_load;
use child::{Proc, tail};
use filing_load::{AGENCIES, point_connectors_at, submit_filings};

const FILINGS: usize = 10_000;
const DELIVERIES: i64 = 3 * FILINGS as i64;
/// Deliveries posted straight to the agencies for the baseline.
const BASELINE: usize = 30_000;
/// Deliveries posted before the timed ones (connections, JWKS, caches).
const WARMUP: usize = 3_000;
/// Tasks sending the filings through the library.
const SUBMITTERS: usize = 4;
/// The portal's defaults (crates/app/src/config.rs), for the baseline's concurrency.
const DEFAULT_WORKERS: usize = 2;
const DEFAULT_CONCURRENCY: usize = 32;
/// Nothing recorded for this long: the run is reported as stalled.
const STALL: Duration = Duration::from_secs(120);
/// Measured runs per backend, each between two measures of the limit.
const ROUNDS: usize = 2;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `KEY=VALUE` arguments go to `sportello serve`.
    let knobs: Vec<(String, String)> = args
        .iter()
        .filter_map(|a| a.split_once('='))
        .filter(|(k, _)| k.starts_with("SPORTELLO_"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let knob = |k: &str, default: usize| {
        knobs
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(default)
    };
    let in_flight = knob("SPORTELLO_OUTBOX__WORKERS", DEFAULT_WORKERS)
        * knob("SPORTELLO_FILINGS__CONCURRENCY", DEFAULT_CONCURRENCY);
    let only = |b: &str| {
        !args.iter().any(|a| a == "sqlite" || a == "postgres") || args.iter().any(|a| a == b)
    };
    let pg = [
        "SPORTELLO_BENCH_DATABASE_URL",
        "SPORTELLO_TEST_DATABASE_URL",
    ]
    .iter()
    .find_map(|k| std::env::var(k).ok().filter(|u| !u.is_empty()));
    let mut backends: Vec<(&str, Option<&str>)> = Vec::new();
    if only("sqlite") {
        backends.push(("sqlite", None));
    }
    if let Some(pg) = pg.as_deref().filter(|_| only("postgres")) {
        backends.push(("postgres", Some(pg)));
    }

    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for (backend, pg) in backends {
        let work = dir.path().join(backend);
        std::fs::create_dir_all(&work).unwrap();
        let (url, schema) = fresh_database(&work, pg).await;
        lines.extend(run(backend, &url, &work, &knobs, in_flight).await);
        drop_schema(pg, schema).await;
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let settings = if knobs.is_empty() {
        "the portal's defaults".to_string()
    } else {
        knobs
            .iter()
            .map(|(k, v)| format!("`{k}={v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut md = format!(
        "## Deliveries to the simulated agencies: {FILINGS} filings x 3 recipients\n\n\
         | backend | round | agency limit (req/s): before, after, mean | portal deliveries/s | ratio | \
         {DELIVERIES} deliveries in s | repeats | CPU s: portal, agencies, whole machine | \
         filings sent via library /s |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for l in &lines {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0}, {:.0}, **{:.0}** | {:.0} | **{:.2}** | {:.2} | {} | {:.1}, {:.1}, {:.1} | {:.0} |",
            l.backend,
            l.round,
            l.limit_before,
            l.limit_after,
            l.limit,
            l.rate,
            l.rate / l.limit,
            l.elapsed,
            l.repeats,
            l.portal_cpu,
            l.agency_cpu,
            l.machine_cpu,
            l.submit_rate,
        );
    }
    let mut backends: Vec<&str> = lines.iter().map(|l| l.backend).collect();
    backends.dedup();
    for b in backends {
        let ratios: Vec<f64> = lines
            .iter()
            .filter(|l| l.backend == b)
            .map(|l| l.rate / l.limit)
            .collect();
        let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
        let _ = writeln!(
            md,
            "| {b} | mean of {} | | | **{mean:.2}** | | | | |",
            ratios.len()
        );
    }
    let _ = writeln!(
        md,
        "\nAgency limit: {BASELINE} deliveries (after {WARMUP} not timed) signed beforehand as the portal signs them, posted \
         straight to the three agencies from {in_flight} concurrent clients (the portal's \
         `outbox.workers` x `filings.concurrency`); requests answered 201 per second, measured \
         before and after each round and averaged. Round: `sportello serve` with {settings} \
         ({DELIVERIES} deliveries queued by `App::submit_filing` while it was stopped), from \
         \"listening\" until every delivery is taken in charge. Ratio: portal ÷ agency limit \
         (target ≥ 0.50). CPU: user+system time of each process over the round, and the busy \
         time of the whole machine (with the database server). Portal, agencies and clients \
         share this machine ({cores} cores).\n"
    );
    for l in &lines {
        if !l.notes.is_empty() {
            let _ = writeln!(md, "{}: {}\n", l.backend, l.notes);
        }
    }
    println!("\n{md}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("filings.md"), md);
}

struct Line {
    backend: &'static str,
    round: usize,
    /// Mean of the limit measured before and after the round.
    limit: f64,
    limit_before: f64,
    limit_after: f64,
    rate: f64,
    elapsed: f64,
    repeats: u64,
    portal_cpu: f64,
    agency_cpu: f64,
    /// Busy CPU seconds of the whole machine over the round.
    machine_cpu: f64,
    submit_rate: f64,
    notes: String,
}

// ---------------------------------------------------------------------------
// Processes

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_agencies(port: u16, portal: &str, token: &str, log: &Path) -> Proc {
    Proc::spawn(
        &[
            "demo-agency",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--portal-url",
            portal,
            "--callback-token",
            token,
        ],
        &[],
        log,
    )
}

// ---------------------------------------------------------------------------
// Databases

/// A fresh database: a file under `dir`, or a new schema on PostgreSQL as
/// the integration harness does. Returns (URL, schema).
async fn fresh_database(dir: &Path, pg: Option<&str>) -> (String, Option<String>) {
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
        None => (
            format!("sqlite://{}", dir.join("sportello.db").display()),
            None,
        ),
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

async fn scalar(db: &Db, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap()
}

async fn taken_in_charge(db: &Db) -> i64 {
    scalar(
        db,
        "SELECT COUNT(*) FROM deliveries WHERE state = 'taken_in_charge'",
    )
    .await
}

// ---------------------------------------------------------------------------
// Baseline: signed deliveries posted straight to the agencies

/// One request ready to go: URL, body and headers.
struct Prepared {
    url: String,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

/// Signs a delivery as `crates/app/src/filings/courier.rs` does.
fn prepare(
    key: &(Header, EncodingKey),
    issuer: &str,
    url: &str,
    body: Vec<u8>,
    idempotency_key: &str,
) -> Prepared {
    let digest = format!("SHA-256={}", STANDARD.encode(Sha256::digest(&body)));
    let now = jiff::Timestamp::now().as_second();
    let claims = json!({
        "iss": issuer, "aud": url, "iat": now, "nbf": now, "exp": now + 300,
        "jti": uuid::Uuid::new_v4().simple().to_string(),
        "signed_headers": [
            {"digest": digest},
            {"content-type": "application/json"},
            {"idempotency-key": idempotency_key},
        ],
    });
    let jws = jsonwebtoken::encode(&key.0, &claims, &key.1).unwrap();
    Prepared {
        url: url.to_string(),
        body,
        headers: vec![
            ("content-type", "application/json".to_string()),
            ("digest", digest),
            ("agid-jwt-signature", jws),
            ("idempotency-key", idempotency_key.to_string()),
        ],
    }
}

/// A body of the size and shape of the portal's deliveries.
fn body(portal: &str, recipient: &str, n: usize) -> Vec<u8> {
    json!({
        "reference": format!("SI-2026-{:07}", n + 1),
        "service": "AVVIO-IMPRESA",
        "recipient": recipient,
        "submitted_at": "2026-11-25T09:14:03Z",
        "callback_url": format!("{portal}/api/v1/filings/callback"),
        "data": {
            "adempimento": "iscrizione_registro_imprese",
            "impresa": {"codice_fiscale": "01234567897", "denominazione": format!("Estense Costruzioni {n} S.r.l."), "forma_giuridica": "S.r.l."},
            "sede": {"comune": "Ferrara", "indirizzo": "Via Garibaldi 12"},
            "attivita": {"ateco": "41.20.00", "descrizione": "Costruzione di edifici residenziali e non residenziali", "data_inizio": "01/12/2026"},
            "contatti": {"pec": "estense@pec.example.it"},
        },
    })
    .to_string()
    .into_bytes()
}

/// Requests answered 201 per second, and the count of other answers.
async fn baseline(db: &Db, portal: &str, agency: &str, clients: usize) -> (f64, String) {
    let key = sportello_store::oidc::published_keys(db, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.alg == "ES256" && k.retired_at.is_none())
        .expect("an active ES256 key");
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    let signer = (
        header,
        EncodingKey::from_ec_pem(key.private_pem.as_bytes()).unwrap(),
    );
    let prepared: Vec<Prepared> = (0..WARMUP + BASELINE)
        .map(|n| {
            let (code, segment, _) = AGENCIES[n % AGENCIES.len()];
            prepare(
                &signer,
                portal,
                &format!("{agency}/{segment}/pratiche"),
                body(portal, code, n),
                &uuid::Uuid::new_v4().to_string(),
            )
        })
        .collect();
    let mut prepared = prepared.into_iter();
    let warmup: Vec<Prepared> = prepared.by_ref().take(WARMUP).collect();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(clients.max(8))
        .build()
        .unwrap();
    post_all(&http, warmup, clients).await;
    let (elapsed, created, others) = post_all(&http, prepared.collect(), clients).await;
    let notes = if others.is_empty() {
        String::new()
    } else {
        format!("baseline answers other than 201: {others:?}. ")
    };
    (created as f64 / elapsed, notes)
}

/// Posts every request from `clients` tasks; returns the time taken, the
/// 201 answers and a count of the others.
async fn post_all(
    http: &reqwest::Client,
    prepared: Vec<Prepared>,
    clients: usize,
) -> (f64, u64, BTreeMap<String, u64>) {
    let prepared = Arc::new(prepared);
    let next = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicU64::new(0));
    let others = Arc::new(std::sync::Mutex::new(BTreeMap::<String, u64>::new()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (prepared, next, created, others, http) = (
                prepared.clone(),
                next.clone(),
                created.clone(),
                others.clone(),
                http.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = prepared.get(i) else { break };
                    let mut req = http.post(&p.url).body(p.body.clone());
                    for (k, v) in &p.headers {
                        req = req.header(*k, v);
                    }
                    let what = match req.send().await {
                        Ok(r) if r.status() == 201 => {
                            let _ = r.bytes().await;
                            created.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        Ok(r) => format!("HTTP {}", r.status().as_u16()),
                        Err(e) => format!("error: {e}"),
                    };
                    *others.lock().unwrap().entry(what).or_default() += 1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let others = others.lock().unwrap().clone();
    (elapsed, created.load(Ordering::Relaxed), others)
}

// ---------------------------------------------------------------------------
// One backend

async fn run(
    backend: &'static str,
    url: &str,
    work: &Path,
    knobs: &[(String, String)],
    in_flight: usize,
) -> Vec<Line> {
    let (portal_port, agency_port) = (free_port(), free_port());
    let portal = format!("http://127.0.0.1:{portal_port}");
    let agency = format!("http://127.0.0.1:{agency_port}");
    let token = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let agency_log = work.join("agency.log");
    let server_log = work.join("server.log");

    println!("filings bench ({backend}): seeding the demo");
    let mut config = Config {
        data_dir: work.to_path_buf(),
        database_url: url.to_string(),
        public_base_url: portal.clone(),
        ..Default::default()
    };
    // Seeding hashes the demo passwords: cheaply, this is not what is measured.
    config.argon2.memory_kib = 1024;
    config.argon2.iterations = 1;
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    let app = App::new(config, db.clone()).await.unwrap();
    demo::seed(&app).await.unwrap();
    app.oidc_ensure_keys().await.unwrap();
    point_connectors_at(&db, &agency, &token).await;

    let data_dir = work.to_string_lossy().into_owned();
    let listen = format!("127.0.0.1:{portal_port}");
    let serve_args = [
        "--data-dir",
        &data_dir,
        "--database-url",
        url,
        "serve",
        "--listen",
        &listen,
        "--public-base-url",
        &portal,
    ];

    // The agencies run for the whole bench; the portal is up for the first
    // baseline only so that they fetch its JWKS (they keep its key).
    let mut agencies = start_agencies(agency_port, &portal, &token, &agency_log);
    agencies.wait_ready().await;
    let mut server = Proc::spawn(&serve_args, knobs, &server_log);
    server.wait_ready().await;
    println!(
        "filings bench ({backend}): baseline, {BASELINE} signed deliveries straight to the agencies from {in_flight} clients"
    );
    let (mut limit_before, mut notes) = baseline(&db, &portal, &agency, in_flight).await;
    println!("filings bench ({backend}): agency limit {limit_before:.0} deliveries/s");
    server.stop().await;

    let http = reqwest::Client::new();
    let mut lines = Vec::new();
    for round in 1..=ROUNDS {
        // 10,000 filings through the library while the portal is stopped.
        println!(
            "filings bench ({backend}), round {round}: sending {FILINGS} filings through App::submit_filing"
        );
        let start = Instant::now();
        submit_filings(&app, FILINGS, SUBMITTERS).await;
        let submit_rate = FILINGS as f64 / start.elapsed().as_secs_f64();
        let queued = scalar(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'filing.delivery' AND state = 'pending'",
        )
        .await;
        assert_eq!(queued, DELIVERIES);

        // Measured: the portal started on the full queue.
        let before = agency_stats(&http, &agency).await;
        let received0 = filings_held(&before);
        let in_charge0 = taken_in_charge(&db).await;
        println!(
            "filings bench ({backend}), round {round}: {queued} deliveries queued; starting sportello serve"
        );
        let agency_cpu0 = agencies.cpu_seconds();
        let machine_cpu0 = machine_cpu_seconds();
        let mut server = Proc::spawn(&serve_args, knobs, &server_log);
        server.wait_ready().await;
        let start = Instant::now();
        let portal_cpu0 = server.cpu_seconds();
        let (mut last, mut progress_at) = (-1, Instant::now());
        let mut stalled = false;
        loop {
            // The agencies' counters in memory while they fill, then the
            // database: a count of the deliveries table every 100 ms would
            // take the CPU the portal is measured on.
            let received = filings_held(&agency_stats(&http, &agency).await) - received0;
            let now = if received < DELIVERIES {
                received - DELIVERIES
            } else {
                taken_in_charge(&db).await - in_charge0
            };
            if now == DELIVERIES {
                break;
            }
            if now != last {
                (last, progress_at) = (now, Instant::now());
            }
            if progress_at.elapsed() > STALL {
                stalled = true;
                eprintln!(
                    "filings bench ({backend}): stalled at {received} of {DELIVERIES} received, {} taken in charge\n{}",
                    taken_in_charge(&db).await - in_charge0,
                    tail(&server_log)
                );
                break;
            }
            let pause = if received < DELIVERIES { 20 } else { 10 };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let portal_cpu = server.cpu_seconds() - portal_cpu0;
        let agency_cpu = agencies.cpu_seconds() - agency_cpu0;
        let machine_cpu = machine_cpu_seconds() - machine_cpu0;
        let done = taken_in_charge(&db).await - in_charge0;
        let rate = done as f64 / elapsed;
        println!(
            "filings bench ({backend}), round {round}: {done} deliveries in {elapsed:.2} s: {rate:.0}/s"
        );
        server.stop().await;

        // What the agencies recorded in this round.
        let after = agency_stats(&http, &agency).await;
        let mut repeats = 0;
        for (_, _, key) in AGENCIES {
            let n = |stats: &Value, f: &str| stats[key][f].as_u64().unwrap_or(0);
            repeats += n(&after, "repeats") - n(&before, "repeats");
            let filings = n(&after, "filings") - n(&before, "filings");
            if filings != FILINGS as u64 || n(&after, "bad_signatures") > 0 {
                let _ = write!(
                    notes,
                    "round {round}: {key} received {filings} filings; at the end: {}. ",
                    after[key]
                );
            }
        }
        let left = scalar(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'filing.delivery' AND state <> 'sent'",
        )
        .await;
        if left > 0 || stalled {
            let _ = write!(
                notes,
                "INCOMPLETE round {round}: {done} of {DELIVERIES} taken in charge, {left} outbox items not sent. "
            );
        }

        // The limit again, right after: the pace of a shared machine drifts,
        // so each round is compared with the mean of the limits around it.
        println!("filings bench ({backend}), round {round}: baseline again");
        let (limit_after, more) = baseline(&db, &portal, &agency, in_flight).await;
        notes.push_str(&more);
        let limit = (limit_before + limit_after) / 2.0;
        println!(
            "filings bench ({backend}), round {round}: agency limit {limit_after:.0} deliveries/s; {rate:.0} ÷ {limit:.0} = {:.2}",
            rate / limit
        );
        lines.push(Line {
            backend,
            round,
            limit,
            limit_before,
            limit_after,
            rate,
            elapsed,
            repeats,
            portal_cpu,
            agency_cpu,
            machine_cpu,
            submit_rate,
            notes: std::mem::take(&mut notes),
        });
        limit_before = limit_after;
    }
    agencies.stop().await;
    db.close().await;
    // The processes' logs outlive the temporary directory.
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::copy(
        &server_log,
        out.join(format!("filings-{backend}-server.log")),
    );
    let _ = std::fs::copy(
        &agency_log,
        out.join(format!("filings-{backend}-agencies.log")),
    );
    lines
}

async fn agency_stats(http: &reqwest::Client, agency: &str) -> Value {
    match http.get(format!("{agency}/stats")).send().await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

/// Filings the three agencies hold, from their in-memory counters.
fn filings_held(stats: &Value) -> i64 {
    AGENCIES
        .iter()
        .map(|(_, _, key)| stats[key]["filings"].as_i64().unwrap_or(0))
        .sum()
}

/// Busy CPU seconds of the whole machine so far (all cores; /proc/stat):
/// the portal, the agencies, the database server and everything else.
fn machine_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let busy: f64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    // USER_HZ is 100 on Linux.
    busy / 100.0
}
