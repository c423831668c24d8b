//! A `sportello` child process, for the tests and benchmarks that need real
//! processes (killed, restarted, measured): its stderr goes to a log file
//! (appended across restarts), its stdout is read to the end by a thread so
//! the process never blocks on a full pipe. Shared with `benches/filings.rs`.
#![allow(dead_code)] // each user takes what it needs

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Proc {
    child: Child,
    log: PathBuf,
    /// Lines saying the process listens (`serve`, `demo-agency`).
    ready: std::sync::mpsc::Receiver<String>,
}

impl Proc {
    /// Starts `sportello` with `args` and only the `SPORTELLO_*` variables in
    /// `envs` (none from the caller's shell).
    pub fn spawn(args: &[&str], envs: &[(String, String)], log: &Path) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sportello"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SPORTELLO_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(args)
            .env("SPORTELLO_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .expect("open the process log"),
            ));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start sportello");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("in ascolto su") || line.contains("listening on") {
                    let _ = tx.send(line);
                }
            }
        });
        Proc {
            child,
            log: log.to_path_buf(),
            ready,
        }
    }

    /// Waits until the process says it listens; panics with its log if it
    /// exits or takes over two minutes.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if self.ready.try_recv().is_ok() {
                return;
            }
            let exited = !matches!(self.child.try_wait(), Ok(None));
            assert!(
                !exited && Instant::now() < deadline,
                "sportello did not start:\n{}",
                tail(&self.log)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as a service manager stops it; SIGKILL if it lingers.
    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("sportello did not stop on SIGTERM: killed");
    }

    /// User + system CPU seconds so far (Linux), 0 elsewhere.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name in parentheses; utime and stime are 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        match (ticks(11), ticks(12)) {
            (Some(u), Some(s)) => (u + s) / 100.0,
            _ => 0.0,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// The last 40 lines of a log, for a failure message.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
