//! Smart-card (CNS) login with certificates made at test time by the tests'
//! own CA, over a real TLS connection (curl presents the client certificate),
//! and through a TLS terminator's forwarded header.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use sportello_app::cns::testing::{TestPki, serial_hex};
use sportello_app::demo;

use crate::harness::{client, count, env_with, init_logs_public};

const EMPLOYEE: &str = "VRDNNA82D50D548K";

struct CnsWorld {
    t: crate::harness::TestEnv,
    https: String,
    http: String,
    dir: tempfile::TempDir,
    pki: TestPki,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for CnsWorld {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

async fn cns_world(trusted_proxies: Vec<String>) -> CnsWorld {
    init_logs_public();
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let ca = write(dir.path(), "ca.pem", &pki.ca_pem());
    let crl = write(dir.path(), "ca.crl.pem", &pki.crl_pem(&[]));
    let (server_cert, server_key) = pki.server_cert(&["localhost", "127.0.0.1"]);
    let cert = write(dir.path(), "server.pem", &server_cert);
    let key = write(dir.path(), "server.key", &server_key);
    let (ca2, crl2, cert2, key2, proxies) = (
        ca.clone(),
        crl.clone(),
        cert.clone(),
        key.clone(),
        trusted_proxies,
    );
    let t = env_with(move |c| {
        c.cns.client_ca_bundle = ca2;
        c.cns.crl_files = vec![crl2];
        c.cns.certificate = cert2;
        c.cns.private_key = key2;
        c.cns.trusted_proxies = proxies;
    })
    .await;
    demo::seed(&t.app).await.unwrap();
    let tls_config =
        sportello_web::tls::server_config(Path::new(&cert), Path::new(&key), Path::new(&ca))
            .unwrap();
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let secure = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = format!("http://{}", plain.local_addr().unwrap());
    let https = format!("https://localhost:{}", secure.local_addr().unwrap().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sportello_web::run_with_tls(
        t.app.clone(),
        plain,
        Some((secure, tls_config)),
        async {
            let _ = stopped.await;
        },
    ));
    CnsWorld {
        t,
        https,
        http,
        dir,
        pki,
        stop: Some(stop),
    }
}

struct CurlResult {
    status: u16,
    headers: String,
    body: String,
}

/// GET over TLS with curl, presenting `cert` (PEM cert and key) if given.
fn curl(
    world: &CnsWorld,
    path: &str,
    cert: Option<&(String, String)>,
    cookie: Option<&str>,
) -> CurlResult {
    let dir = world.dir.path();
    let ca = dir.join("ca.pem");
    let headers = dir.join("headers.txt");
    let body = dir.join("body.html");
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--max-time", "20", "--cacert"])
        .arg(&ca)
        .arg("-D")
        .arg(&headers)
        .arg("-o")
        .arg(&body);
    cmd.args(["-w", "%{http_code}"]);
    if let Some((c, k)) = cert {
        let id = uuid::Uuid::new_v4().simple().to_string();
        cmd.arg("--cert").arg(write(dir, &format!("{id}.pem"), c));
        cmd.arg("--key").arg(write(dir, &format!("{id}.key"), k));
    }
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}")]);
    }
    cmd.arg(format!("{}{path}", world.https));
    let out = cmd.output().expect("curl is installed");
    let status = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    CurlResult {
        status,
        headers: std::fs::read_to_string(&headers).unwrap_or_default(),
        body: std::fs::read_to_string(&body).unwrap_or_default(),
    }
}

fn session_from(headers: &str) -> Option<String> {
    headers
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: sportello_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .find(|v| !v.is_empty())
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

async fn wait_ready(world: &CnsWorld) {
    for _ in 0..100 {
        if reqwest::get(format!("{}/healthz", world.http))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_card_login_over_tls_binds_the_card_and_the_user_can_remove_it() {
    let world = cns_world(vec![]).await;
    wait_ready(&world).await;
    let card = world.pki.valid_client_cert(&format!(
        "{EMPLOYEE}/6120016461039008.i1ZpZfaCX/eKyikBfnF8to+M2T8="
    ));
    let r = tokio::task::block_in_place(|| curl(&world, "/accedi/cns", Some(&card), None));
    assert_eq!(r.status, 303, "{}", r.body);
    let session = session_from(&r.headers).expect("a session");
    let cookie = format!("sportello_session={session}");
    let home = tokio::task::block_in_place(|| curl(&world, "/", None, Some(&cookie)));
    assert!(home.body.contains("Anna Verdi"), "{}", home.body);
    let profile = tokio::task::block_in_place(|| curl(&world, "/profilo", None, Some(&cookie)));
    assert!(profile.body.contains("id=\"certificates\""));
    assert_eq!(count(&world.t.db, "certificates").await, 1);
    let method: String = sqlx::query_scalar("SELECT method FROM sessions")
        .fetch_one(world.t.db.pool())
        .await
        .unwrap();
    assert_eq!(method, "cns");

    // Gestione CNS: she removes the card; it no longer opens the account.
    let c = client();
    let csrf = {
        let marker = "name=\"csrf_token\" value=\"";
        let start = profile.body.find(marker).unwrap() + marker.len();
        profile.body[start..].split('"').next().unwrap().to_string()
    };
    let cert_id: i64 = sqlx::query_scalar("SELECT id FROM certificates")
        .fetch_one(world.t.db.pool())
        .await
        .unwrap();
    let res = c
        .post(format!(
            "{}/profilo/certificati/{cert_id}/rimuovi",
            world.http
        ))
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let sessions_before = count(&world.t.db, "sessions").await;
    let r = tokio::task::block_in_place(|| curl(&world, "/accedi/cns", Some(&card), None));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("rimosso"), "{}", r.body);
    assert_eq!(count(&world.t.db, "sessions").await, sessions_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codice_fiscale_may_come_from_the_serial_number_attribute() {
    let world = cns_world(vec![]).await;
    wait_ready(&world).await;
    let now = SystemTime::now();
    let card = world.pki.client_cert(
        Some("VERDI ANNA"),
        Some(&format!("TINIT-{EMPLOYEE}")),
        now - days(1),
        now + days(365),
    );
    let r = tokio::task::block_in_place(|| curl(&world, "/accedi/cns", Some(&card), None));
    assert_eq!(r.status, 303, "{}", r.body);
    // Coming from the single sign-on, the card login returns where it was asked.
    let r = tokio::task::block_in_place(|| {
        curl(
            &world,
            "/accedi/cns?next=%2Foidc%2Fauthorize%3Fclient_id%3Dx",
            Some(&card),
            None,
        )
    });
    assert!(
        r.headers
            .to_lowercase()
            .contains("location: /oidc/authorize?client_id=x"),
        "{}",
        r.headers
    );
    let r = tokio::task::block_in_place(|| {
        curl(
            &world,
            "/accedi/cns?next=%2F%2Fevil.example",
            Some(&card),
            None,
        )
    });
    assert!(
        r.headers.to_lowercase().contains("location: /\r\n"),
        "{}",
        r.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_certificates_get_a_clear_refusal_and_change_nothing() {
    let now = SystemTime::now();
    let world = cns_world(vec![]).await;
    wait_ready(&world).await;
    let stranger_ca = TestPki::new();
    let cases: Vec<(&str, (String, String), &str)> = vec![
        (
            "unknown CA",
            stranger_ca.valid_client_cert(&format!("{EMPLOYEE}/1.x")),
            "autorità di certificazione riconosciuta",
        ),
        (
            "expired",
            world.pki.client_cert(
                Some(&format!("{EMPLOYEE}/1.x")),
                None,
                now - days(400),
                now - days(1),
            ),
            "scaduto",
        ),
        (
            "no codice fiscale",
            world.pki.valid_client_cert("Mario Rossi"),
            "non contiene un codice fiscale",
        ),
        (
            "unknown person",
            world.pki.valid_client_cert("RSSMRA80A01H501U/1.x"),
            "non corrisponde a nessuna utenza",
        ),
    ];
    for (name, card, message) in cases {
        let r = tokio::task::block_in_place(|| curl(&world, "/accedi/cns", Some(&card), None));
        assert_eq!(r.status, 400, "{name}: {}", r.body);
        assert!(r.body.contains(message), "{name}: {}", r.body);
    }
    let r = tokio::task::block_in_place(|| curl(&world, "/accedi/cns", None, None));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Nessun certificato"));
    assert_eq!(count(&world.t.db, "sessions").await, 0);
    assert_eq!(count(&world.t.db, "certificates").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_card_is_refused() {
    // The CRL is written at start-up: issue the card from the same CA first.
    let pki_world = cns_world(vec![]).await;
    let card = pki_world.pki.valid_client_cert(&format!("{EMPLOYEE}/1.x"));
    let crl = pki_world.pki.crl_pem(&[&serial_hex(&card.0)]);
    std::fs::write(pki_world.dir.path().join("ca.crl.pem"), crl).unwrap();
    // A new portal reads the CA and the new CRL.
    let mut config = (*pki_world.t.app.config).clone();
    config.cns.crl_files = vec![
        pki_world
            .dir
            .path()
            .join("ca.crl.pem")
            .display()
            .to_string(),
    ];
    let app = sportello_app::App::new(config, pki_world.t.db.clone())
        .await
        .unwrap();
    let tls_config = sportello_web::tls::server_config(
        &pki_world.dir.path().join("server.pem"),
        &pki_world.dir.path().join("server.key"),
        &pki_world.dir.path().join("ca.pem"),
    )
    .unwrap();
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let secure = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = secure.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sportello_web::run_with_tls(
        app,
        plain,
        Some((secure, tls_config)),
        async {
            let _ = stopped.await;
        },
    ));
    let mut world = pki_world;
    world.https = format!("https://localhost:{port}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = tokio::task::block_in_place(|| curl(&world, "/accedi/cns", Some(&card), None));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("revocato"), "{}", r.body);
    assert_eq!(count(&world.t.db, "sessions").await, 0);
    let _ = stop.send(());
}

fn forwarded_value(cert_pem: &str) -> String {
    // nginx's $ssl_client_escaped_cert: the PEM, URL-encoded.
    cert_pem
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_certificate_is_believed_only_from_a_trusted_terminator() {
    let untrusted = cns_world(vec![]).await;
    wait_ready(&untrusted).await;
    let card = untrusted.pki.valid_client_cert(&format!("{EMPLOYEE}/1.x"));
    let res = client()
        .get(format!("{}/accedi/cns", untrusted.http))
        .header("x-ssl-client-cert", forwarded_value(&card.0))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "a forged header from an untrusted address"
    );
    assert_eq!(count(&untrusted.t.db, "sessions").await, 0);

    let trusted = cns_world(vec!["127.0.0.1".into()]).await;
    wait_ready(&trusted).await;
    let card = trusted.pki.valid_client_cert(&format!("{EMPLOYEE}/1.x"));
    let res = client()
        .get(format!("{}/accedi/cns", trusted.http))
        .header("x-ssl-client-cert", forwarded_value(&card.0))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(count(&trusted.t.db, "sessions").await, 1);
    // Even from the terminator, a certificate of another CA is refused.
    let stranger = TestPki::new().valid_client_cert(&format!("{EMPLOYEE}/1.x"));
    let res = client()
        .get(format!("{}/accedi/cns", trusted.http))
        .header("x-ssl-client-cert", forwarded_value(&stranger.0))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
