//! Test environment: a database on the backend under test, an `App` with a
//! test configuration, a real server on loopback, a real SMTP server, a real
//! IMAP server.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sportello_app::{App, Config};
use sportello_store::Db;

pub struct TestEnv {
    pub app: App,
    pub db: Db,
    pub dir: tempfile::TempDir,
}

/// The backend under test, from the environment.
pub fn backend() -> &'static str {
    if std::env::var("SPORTELLO_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        "postgres"
    } else {
        "sqlite"
    }
}

/// A fresh, migrated database URL on the backend under test.
pub async fn fresh_database(dir: &Path) -> String {
    match std::env::var("SPORTELLO_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let admin = Db::connect(&base).await.expect("test PostgreSQL reachable");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(admin.pool())
                .await
                .expect("create test schema");
            admin.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-c%20search_path%3D{schema}")
        }
        _ => format!("sqlite://{}", dir.join("test.db").display()),
    }
}

pub fn test_config(dir: &Path) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    // Cheap hashing keeps tests fast; production defaults are tested in unit tests.
    c.argon2.memory_kib = 1024;
    c.argon2.iterations = 1;
    c.outbox.base_delay_ms = 100;
    c.outbox.max_delay_seconds = 1;
    c.outbox.poll_interval_ms = 50;
    c.outbox.lease_seconds = 30;
    c
}

pub async fn env() -> TestEnv {
    env_with(|_| {}).await
}

pub async fn env_with(adjust: impl FnOnce(&mut Config)) -> TestEnv {
    init_logs();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(dir.path()).await;
    let mut config = test_config(dir.path());
    config.database_url = database_url.clone();
    adjust(&mut config);
    let db = Db::connect(&database_url).await.expect("connect");
    db.migrate().await.expect("migrate");
    let app = App::new(config, db.clone()).await.expect("app");
    TestEnv { app, db, dir }
}

/// Log lines of this test process, for asserting on what was logged.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOG.get_or_init(Default::default).lock().unwrap()).into_owned()
}

static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.get_or_init(Default::default)
            .lock()
            .unwrap()
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn init_logs_public() {
    init_logs();
}

fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,sqlx=warn")
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

/// A running portal on loopback; dropped = shut down.
pub struct Server {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(app: App) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Server::start_on(app, listener).await
    }

    /// On a listener bound beforehand (when the configuration must know the
    /// portal's address: callbacks, signatures, the demo agencies).
    pub async fn start_on(app: App, listener: tokio::net::TcpListener) -> Server {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(sportello_web::run(app, listener, async {
            let _ = rx.await;
        }));
        Server {
            base,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A browser-like HTTP client: keeps cookies, does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of a hidden input in an HTML page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Logs in through the real form; returns the response of the POST.
pub async fn login(
    server: &Server,
    client: &reqwest::Client,
    fiscal_code: &str,
    password: &str,
) -> reqwest::Response {
    let page = client
        .get(server.url("/accedi"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    client
        .post(server.url("/accedi"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", fiscal_code),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real SMTP server (aiosmtpd) that stores each message in a directory.
pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl SmtpSink {
    pub fn start(dir: &Path) -> SmtpSink {
        let mut sink = SmtpSink {
            port: free_port(),
            dir: dir.to_path_buf(),
            child: None,
        };
        sink.restart();
        sink
    }

    pub fn restart(&mut self) {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/support/smtp_sink.py"
        );
        let python = std::env::var("SPORTELLO_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let child = Command::new(python)
            .arg(script)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd) is needed for the mail tests");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "SMTP sink did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "SMTP sink did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| {
            p.extension().is_some_and(|e| e == "eml")
                && !p.file_name().unwrap().to_string_lossy().starts_with('.')
        });
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until `check` holds, up to `secs` seconds.
pub async fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

pub async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(db.pool())
        .await
        .unwrap()
}

/// Subject, recipients and decoded text body of a raw message.
pub fn parse_mail(raw: &str) -> (String, String, String) {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parsable message");
    let subject = m.subject().unwrap_or_default().to_string();
    let to = m
        .to()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let body = m.body_text(0).map(|b| b.to_string()).unwrap_or_default();
    (subject, to, body)
}

/// Waits for a message to `to` whose subject contains `subject`; returns its body.
pub async fn wait_for_mail(sink: &SmtpSink, to: &str, subject: &str) -> String {
    let mut found = None;
    eventually(20, || {
        found = sink
            .messages()
            .iter()
            .map(|raw| parse_mail(raw))
            .find(|(s, t, _)| s.contains(subject) && t.contains(to))
            .map(|(_, _, body)| body);
        found.is_some()
    })
    .await;
    found.unwrap_or_else(|| panic!("no mail «{subject}» to {to}"))
}

/// The path and query of the first link in `body` that contains `path`.
pub fn link_path(body: &str, path: &str) -> String {
    let start = body
        .find(path)
        .unwrap_or_else(|| panic!("no link to {path} in {body}"));
    body[start..].split_whitespace().next().unwrap().to_string()
}

/// A real IMAP server for one test: Debian's dovecot (`dovecot-imapd`, which
/// `scripts/test` installs), run in the foreground with a configuration of
/// its own in a temporary directory, one user and one Maildir. Messages are
/// delivered as an MDA does, by writing them into the Maildir's `new/`.
pub struct ImapServer {
    pub port: u16,
    pub user: String,
    pub password: String,
    pub maildir: PathBuf,
    dir: tempfile::TempDir,
    mail_owner: (u32, u32),
    child: Option<Child>,
}

impl ImapServer {
    /// Plain IMAP on a free loopback port.
    pub fn start() -> ImapServer {
        Self::start_with(None)
    }

    /// IMAP over TLS (`imaps://`) with this certificate chain and key (PEM).
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> ImapServer {
        Self::start_with(Some((cert_pem, key_pem)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> ImapServer {
        let dovecot = find_program("dovecot").unwrap_or_else(|| {
            panic!(
                "dovecot is not installed: the IMAP tests need a real IMAP server; \
                 scripts/test installs it (apt-get install dovecot-imapd)"
            )
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        // Dovecot's processes (running as other users when we are root) walk into it.
        set_mode(&root, 0o755);
        let probe = root.join(".owner");
        std::fs::write(&probe, b"").unwrap();
        let me = {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(&probe).unwrap();
            (m.uid(), m.gid())
        };
        // Dovecot never runs mail or login processes as root: when we are root
        // they run as nobody and its packaged users; otherwise all as us (and
        // no process chroots, which only root may do).
        let (mail_owner, login_user, internal_user, internal_group) = if me.0 == 0 {
            let nobody = (id_of("-u", "nobody"), id_of("-g", "nobody"));
            let login = if id_exists("dovenull") {
                "dovenull"
            } else {
                "nobody"
            };
            let internal = if id_exists("dovecot") {
                "dovecot"
            } else {
                "nobody"
            };
            (
                nobody,
                login.to_string(),
                internal.to_string(),
                group_of(internal),
            )
        } else {
            let name = command_line("id", &["-un"]);
            let group = command_line("id", &["-gn"]);
            (me, name.clone(), name, group)
        };
        let maildir = root.join("Maildir");
        let home = root.join("home");
        for d in [
            maildir.clone(),
            maildir.join("cur"),
            maildir.join("new"),
            maildir.join("tmp"),
            home.clone(),
        ] {
            std::fs::create_dir_all(&d).unwrap();
            std::os::unix::fs::chown(&d, Some(mail_owner.0), Some(mail_owner.1)).unwrap();
        }
        for d in ["run", "state", "log"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let user = "assistenza".to_string();
        let password = format!("Imap-{}", uuid::Uuid::new_v4().simple());
        std::fs::write(
            root.join("users"),
            format!(
                "{user}:{{PLAIN}}{password}:{}:{}::{}::\n",
                mail_owner.0,
                mail_owner.1,
                home.display()
            ),
        )
        .unwrap();
        // Read by dovecot's auth process, which runs as its internal user.
        set_mode(&root.join("users"), 0o644);
        let port = free_port();
        let listener = match tls {
            None => format!(
                "  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
                 inet_listener imaps {{\n    port = 0\n  }}\n"
            ),
            Some((cert, key)) => {
                std::fs::write(root.join("cert.pem"), cert).unwrap();
                std::fs::write(root.join("key.pem"), key).unwrap();
                set_mode(&root.join("key.pem"), 0o600);
                format!(
                    "  inet_listener imap {{\n    port = 0\n  }}\n  \
                     inet_listener imaps {{\n    address = 127.0.0.1\n    port = {port}\n    ssl = yes\n  }}\n"
                )
            }
        };
        let ssl = match tls {
            None => "ssl = no\n".to_string(),
            Some(_) => format!(
                "ssl = required\nssl_cert = <{r}/cert.pem\nssl_key = <{r}/key.pem\n",
                r = root.display()
            ),
        };
        let conf = format!(
            "protocols = imap\n\
             listen = 127.0.0.1\n\
             instance_name = sportello-test-{port}\n\
             base_dir = {r}/run\n\
             state_dir = {r}/state\n\
             log_path = {r}/log/dovecot.log\n\
             {ssl}\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             default_login_user = {login_user}\n\
             default_internal_user = {internal_user}\n\
             default_internal_group = {internal_group}\n\
             first_valid_uid = 1\n\
             first_valid_gid = 1\n\
             mail_location = maildir:{r}/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/users\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {r}/users\n}}\n\
             service imap-login {{\n  chroot =\n{listener}}}\n\
             service anvil {{\n  chroot =\n}}\n",
            r = root.display(),
        );
        std::fs::write(root.join("dovecot.conf"), conf).unwrap();
        let stderr = std::fs::File::create(root.join("log/stderr.log")).unwrap();
        let child = Command::new(dovecot)
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start dovecot");
        let mut server = ImapServer {
            port,
            user,
            password,
            maildir,
            dir,
            mail_owner,
            child: Some(child),
        };
        server.wait_ready(tls.is_some());
        server
    }

    /// Waits for the listener, and for the greeting on plain IMAP.
    fn wait_ready(&mut self, tls: bool) {
        use std::io::Read;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("dovecot exited ({status}) at start:\n{}", self.log());
            }
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                if tls {
                    return;
                }
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut greeting = [0u8; 64];
                if s.read(&mut greeting)
                    .is_ok_and(|n| greeting[..n].starts_with(b"* OK"))
                {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "dovecot did not answer on port {}:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `imap[s]://USER:PASSWORD@127.0.0.1:PORT/INBOX`.
    pub fn url(&self, scheme: &str) -> String {
        self.url_with_password(scheme, &self.password)
    }

    pub fn url_with_password(&self, scheme: &str, password: &str) -> String {
        format!(
            "{scheme}://{}:{password}@127.0.0.1:{}/INBOX",
            self.user, self.port
        )
    }

    /// Delivers a message as an MDA does: written in `tmp/`, renamed into `new/`.
    pub fn deliver(&self, name: &str, raw: &[u8]) {
        let tmp = self.maildir.join("tmp").join(name);
        std::fs::write(&tmp, raw).unwrap();
        std::os::unix::fs::chown(&tmp, Some(self.mail_owner.0), Some(self.mail_owner.1)).unwrap();
        std::fs::rename(&tmp, self.maildir.join("new").join(name)).unwrap();
    }

    /// Each delivered message (by the name it was delivered with) and its
    /// Maildir flags (`S` = seen); a message still in `new/` has none.
    pub fn flags(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for sub in ["new", "cur"] {
            for e in std::fs::read_dir(self.maildir.join(sub)).unwrap() {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                let (base, flags) = match name.split_once(":2,") {
                    Some((b, f)) => (b.to_string(), f.to_string()),
                    None => (name.clone(), String::new()),
                };
                out.insert(base, flags);
            }
        }
        out
    }

    /// Dovecot's log, for failure messages.
    pub fn log(&self) -> String {
        let read = |p: &str| std::fs::read_to_string(self.dir.path().join(p)).unwrap_or_default();
        format!("{}{}", read("log/stderr.log"), read("log/dovecot.log"))
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM lets the master stop its processes; SIGKILL if it lingers.
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ImapServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A program on PATH or in the usual system directories (dovecot is in sbin).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn command_line(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn id_exists(user: &str) -> bool {
    Command::new("id")
        .arg(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn id_of(flag: &str, user: &str) -> u32 {
    command_line("id", &[flag, user]).parse().unwrap()
}

fn group_of(user: &str) -> String {
    command_line("id", &["-gn", user])
}
