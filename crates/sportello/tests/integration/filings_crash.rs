//! Crash safety of the deliveries to the agencies, with real processes: a
//! standalone `sportello demo-agency` takes the deliveries of 1,000 filings
//! (3,000 deliveries, queued in the outbox by the library use case with no
//! server running), while `sportello serve` is killed with SIGKILL again and
//! again in the middle of delivering, then left to finish.
//!
//! Whatever the kills interrupt, every delivery must be filed exactly once
//! at its agency (a resend after a kill goes out under the same idempotency
//! key and the agency answers with what it recorded: a "repeat"), and the
//! portal must record the protocol number the agency gave for that key.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use sportello_app::{App, demo};
use sportello_store::Db;

use crate::child::{Proc, tail};
use crate::filing_load::{AGENCIES, point_connectors_at, submit_filings};
use crate::harness::{backend, free_port, fresh_database, test_config};

const FILINGS: usize = 1_000;
const DELIVERIES: i64 = 3 * FILINGS as i64;
const KILLS: usize = 5;
/// No delivery recorded for this long: the test fails with diagnostics.
const STALL: Duration = Duration::from_secs(60);
/// Tasks submitting the filings through the library.
const SUBMITTERS: usize = 4;

/// xorshift64*, seeded at random and printed, for the kill instants.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

async fn taken_in_charge(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'taken_in_charge'")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// What the portal and the agency hold, for a failure message.
async fn diagnostics(db: &Db, agency: &str, log: &Path) -> String {
    let deliveries: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM deliveries GROUP BY state ORDER BY state")
            .fetch_all(db.pool())
            .await
            .unwrap_or_default();
    let outbox: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, state, COUNT(*) FROM outbox GROUP BY kind, state ORDER BY kind, state",
    )
    .fetch_all(db.pool())
    .await
    .unwrap_or_default();
    let errors: Vec<(String, i64)> = sqlx::query_as(
        "SELECT COALESCE(last_error, ''), COUNT(*) FROM deliveries
         WHERE state <> 'taken_in_charge' GROUP BY last_error",
    )
    .fetch_all(db.pool())
    .await
    .unwrap_or_default();
    let stats = match reqwest::get(format!("{agency}/stats")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => e.to_string(),
    };
    format!(
        "deliveries by state: {deliveries:?}\noutbox: {outbox:?}\nerrors: {errors:?}\n\
         agency stats: {stats}\nserver log (tail):\n{}",
        tail(log)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_while_delivering_1000_filings_delivers_each_exactly_once() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path()).await;
    let (portal_port, agency_port) = (free_port(), free_port());
    let portal = format!("http://127.0.0.1:{portal_port}");
    let agency = format!("http://127.0.0.1:{agency_port}");
    let token = format!("crash-{}", uuid::Uuid::new_v4().simple());

    // The simulated agencies, in a process of their own: they outlive every kill.
    let agency_log = dir.path().join("agency.log");
    let mut agencies = Proc::spawn(
        &[
            "demo-agency",
            "--listen",
            &format!("127.0.0.1:{agency_port}"),
            "--portal-url",
            &portal,
            "--callback-token",
            &token,
        ],
        &[],
        &agency_log,
    );
    agencies.wait_ready().await;

    // The demo world, its connectors pointed at the standalone agencies.
    let mut config = test_config(dir.path());
    config.database_url = url.clone();
    config.public_base_url = portal.clone();
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let app = App::new(config, db.clone()).await.unwrap();
    demo::seed(&app).await.unwrap();
    app.oidc_ensure_keys().await.unwrap();
    point_connectors_at(&db, &agency, &token).await;

    // 1,000 filings sent with no server running: 3,000 deliveries wait in the outbox.
    submit_filings(&app, FILINGS, SUBMITTERS).await;
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'filing.delivery' AND state = 'pending'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(queued, DELIVERIES);
    let submitted = started.elapsed();

    // `sportello serve` on the same data: killed mid-delivery, restarted.
    let server_log = dir.path().join("server.log");
    let data_dir = dir.path().to_string_lossy().into_owned();
    let listen = format!("127.0.0.1:{portal_port}");
    let serve_args = [
        "--data-dir",
        &data_dir,
        "--database-url",
        &url,
        "serve",
        "--listen",
        &listen,
        "--public-base-url",
        &portal,
    ];
    let serve_env: Vec<(String, String)> = [
        ("SPORTELLO_OUTBOX__LEASE_SECONDS", "2"),
        ("SPORTELLO_OUTBOX__WORKERS", "2"),
        ("SPORTELLO_OUTBOX__POLL_INTERVAL_MS", "50"),
        ("SPORTELLO_OUTBOX__BASE_DELAY_MS", "200"),
        ("SPORTELLO_OUTBOX__MAX_DELAY_SECONDS", "2"),
        // No polls of the agencies meanwhile: only deliveries.
        ("SPORTELLO_FILINGS__POLL_SECONDS", "3600"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    let seed = (uuid::Uuid::new_v4().as_u128() as u64) | 1;
    let mut rng = Rng(seed);
    let mut rounds = Vec::new();
    for round in 0..KILLS {
        let before = taken_in_charge(&db).await;
        // Killed after 0.3 to 1.5 s, or sooner once this run has recorded a
        // random share of what is left (so that however fast the machine,
        // every kill finds deliveries still to do).
        let after = Duration::from_millis(300 + rng.next() % 1_200);
        let share = (DELIVERIES - before) / (KILLS - round + 1) as i64;
        let enough = before + share / 2 + (rng.next() % (share as u64 / 2 + 1)) as i64;
        let mut server = Proc::spawn(&serve_args, &serve_env, &server_log);
        server.wait_ready().await;
        let at = Instant::now();
        while at.elapsed() < after && taken_in_charge(&db).await < enough {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.kill();
        let after = taken_in_charge(&db).await;
        rounds.push((at.elapsed().as_millis(), before, after));
        assert!(
            after < DELIVERIES,
            "every delivery was recorded before kill {} of {KILLS} (rounds: {rounds:?}): \
             the kills no longer hit the deliveries",
            rounds.len()
        );
    }
    let killed_at = taken_in_charge(&db).await;

    // The last run finishes the work.
    let finish = Instant::now();
    let mut server = Proc::spawn(&serve_args, &serve_env, &server_log);
    server.wait_ready().await;
    let (mut last, mut progress_at) = (-1, Instant::now());
    loop {
        let now = taken_in_charge(&db).await;
        if now == DELIVERIES {
            break;
        }
        if now != last {
            (last, progress_at) = (now, Instant::now());
        }
        if progress_at.elapsed() > STALL {
            panic!(
                "no delivery recorded for {STALL:?} ({now} of {DELIVERIES} taken in charge)\n{}",
                diagnostics(&db, &agency, &server_log).await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let finished = finish.elapsed();
    server.kill();

    // The portal: every delivery settled once, with its outbox item.
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'filing.delivery' AND state <> 'sent'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(
        left,
        0,
        "filing.delivery items pending or dead\n{}",
        diagnostics(&db, &agency, &server_log).await
    );
    let (events, recorded): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT delivery_id) FROM delivery_events
         WHERE kind LIKE 'taken_in_charge:%'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(
        (events, recorded),
        (DELIVERIES, DELIVERIES),
        "one taken-in-charge event per delivery"
    );
    let mails: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'mail'
         AND payload LIKE '%presa in carico da tutti gli enti%'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(
        mails, FILINGS as i64,
        "one «taken in charge by all» mail per filing"
    );

    // The agencies: each filing once, and the portal holds their protocols.
    let stats = get_json(&format!("{agency}/stats")).await;
    let mut protocols = HashSet::new();
    let mut repeats = 0;
    for (code, segment, key) in AGENCIES {
        let s = &stats[key];
        let n = |f: &str| s[f].as_u64().unwrap_or_else(|| panic!("{f} in {stats}"));
        assert_eq!(n("filings"), FILINGS as u64, "{key}: {stats}");
        assert_eq!(n("bad_signatures"), 0, "{key}: {stats}");
        assert_eq!(
            n("filings") + n("repeats"),
            n("requests"),
            "{key}: every accepted request is a filing or a repeat: {stats}"
        );
        repeats += n("repeats");
        let listed = get_json(&format!("{agency}/{segment}/pratiche")).await;
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), FILINGS, "{key}");
        let at_agency: HashMap<&str, &str> = listed
            .iter()
            .map(|f| {
                let protocol = f["protocol"].as_str().unwrap_or_else(|| panic!("{f}"));
                assert_eq!(f["state"], "taken_in_charge", "{f}");
                assert!(
                    protocols.insert(protocol.to_string()),
                    "protocol {protocol} given twice"
                );
                (f["idempotency_key"].as_str().unwrap(), protocol)
            })
            .collect();
        assert_eq!(at_agency.len(), FILINGS, "{key}: one key per filing");
        let at_portal: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT d.idempotency_key, d.state, d.protocol
             FROM deliveries d JOIN agency_connectors c ON c.id = d.connector_id
             WHERE c.code = $1",
        )
        .bind(code)
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(at_portal.len(), FILINGS, "{code}");
        for (k, state, protocol) in &at_portal {
            assert_eq!(state, "taken_in_charge", "{code} {k}");
            assert_eq!(
                protocol.as_deref(),
                Some(
                    *at_agency
                        .get(k.as_str())
                        .unwrap_or_else(|| panic!("{code}: the agency has no filing with key {k}"))
                ),
                "{code} {k}: the portal's protocol is not the agency's"
            );
        }
    }
    assert_eq!(protocols.len(), DELIVERIES as usize);

    println!(
        "filings crash test ({}): {FILINGS} filings, {DELIVERIES} deliveries; {KILLS} SIGKILLs \
         (seed {seed:#x}; ms after start, taken in charge before, after: {rounds:?}); \
         {killed_at} recorded before the last run, which finished in {:.1} s; \
         {repeats} repeats at the agencies; submissions took {:.1} s; total {:.1} s",
        backend(),
        finished.as_secs_f64(),
        submitted.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    db.close().await;
}
