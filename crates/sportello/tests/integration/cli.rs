//! The `sportello` binary: start-up errors are one clear line, `audit verify`
//! judges the chain, `serve` stops cleanly on SIGTERM.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{free_port, fresh_database};

fn sportello(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sportello"));
    cmd.args(args)
        .env_remove("SPORTELLO_CONFIG")
        .env("SPORTELLO_ARGON2__MEMORY_KIB", "1024")
        .env("SPORTELLO_ARGON2__ITERATIONS", "1");
    // A data directory of its own (the search index lives there), unless
    // the test names one: nothing is written into the source tree.
    let scratch = tempfile::tempdir().expect("temp dir");
    if !args.iter().any(|a| *a == "--data-dir" || *a == "--config") {
        cmd.env("SPORTELLO_DATA_DIR", scratch.path());
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run sportello")
}

fn assert_one_line_failure(out: &Output, must_contain: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line expected: {stderr}");
    for part in must_contain {
        assert!(lines[0].contains(part), "«{part}» missing in: {}", lines[0]);
    }
}

#[test]
fn an_unknown_configuration_key_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sportello.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:0\"\n\n[mail]\nsmtp_server = \"mail.example.it\"\n",
    )
    .unwrap();
    let out = sportello(&["--config", file.to_str().unwrap(), "migrate"], &[]);
    assert_one_line_failure(&out, &["sportello.toml", "mail.smtp_server", "sconosciuta"]);
    let out = sportello(&["migrate"], &[("SPORTELLO_LISTN", "127.0.0.1:1")]);
    assert_one_line_failure(&out, &["SPORTELLO_LISTN"]);
}

#[test]
fn a_malformed_configuration_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\ndata_dir = \n").unwrap();
    let out = sportello(&["--config", file.to_str().unwrap(), "migrate"], &[]);
    assert_one_line_failure(&out, &["bad.toml:2"]);
}

#[test]
fn an_unreachable_database_stops_start_up() {
    let port = free_port();
    let url = format!("postgres://sportello@127.0.0.1:{port}/sportello");
    let out = sportello(&["--database-url", &url, "migrate"], &[]);
    assert_one_line_failure(&out, &["non raggiungibile", &port.to_string()]);
}

#[test]
fn bad_urls_stop_start_up() {
    let out = sportello(&["serve", "--public-base-url", "portale senza schema"], &[]);
    assert_one_line_failure(&out, &["public_base_url"]);
    let out = sportello(&["--database-url", "mysql://localhost/x", "migrate"], &[]);
    assert_one_line_failure(&out, &["database_url"]);
    let out = sportello(
        &["migrate"],
        &[("SPORTELLO_MAIL__SMTP_URL", "http://relay")],
    );
    assert_one_line_failure(&out, &["mail.smtp_url"]);
}

#[tokio::test]
async fn audit_verify_passes_on_the_demo_and_names_a_tampered_event() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path()).await;
    let data = dir.path().to_str().unwrap();
    let out = sportello(&["--database-url", &url, "--data-dir", data, "demo"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FRRMRC70A01D548N") && stdout.contains(sportello_app::demo::DEMO_PASSWORD)
    );

    let out = sportello(&["--database-url", &url, "audit", "verify"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("integro: 1 eventi"));

    let db = sportello_store::Db::connect(&url).await.unwrap();
    sqlx::query("UPDATE audit_events SET actor = 'user:666' WHERE seq = 1")
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;
    let out = sportello(&["--database-url", &url, "audit", "verify"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("NON integro") && stdout.contains("evento 1"),
        "{stdout}"
    );
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path()).await;
    // A data directory that does not exist yet: serve --demo creates what it needs.
    let data = dir.path().join("data-not-yet-created");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args([
            "--database-url",
            &url,
            "--data-dir",
            data.to_str().unwrap(),
            "serve",
            "--demo",
            "--listen",
            &listen,
        ])
        .env("SPORTELLO_ARGON2__MEMORY_KIB", "1024")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(res) = reqwest::get(format!("http://{listen}/healthz")).await
            && res.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(exit.success(), "{stderr}");
    assert!(stderr.contains("shutdown complete"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Sportello in ascolto"));
}
