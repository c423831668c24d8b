//! OpenID Connect provider throughput, each figure reported as a ratio against
//! a baseline measured in the same run on the same machine:
//!
//! - authorization-code exchange at `/oidc/token` (client_secret_basic, PKCE
//!   S256) against `GET /healthz` (the HTTP server's floor), same connections;
//! - refresh-token grants (each response's refresh token feeds that client's
//!   next call: rotation on every request) against `/healthz`;
//! - ID-token verification by a relying party with `jsonwebtoken` against the
//!   JWKS (kid lookup, JWK → key, signature, `iss`/`aud`/`exp`), RS256 and
//!   ES256, against a bare `jsonwebtoken::decode` of an HS256 token carrying
//!   the same claims with the same validation. The HS256 baseline shares
//!   everything with the real verification (base64, JSON, claim checks, a
//!   SHA-256 of the same signing input) except the public-key signature
//!   check and the JWK lookup, so the ratio is the cost of asymmetric ID
//!   tokens as such; a bare SHA-256 would also count JSON and claim handling
//!   and say less.
//!
//! Codes live 60 s (`oidc.code_seconds`), so they are prepared by driving
//! `/oidc/authorize` with a logged-in session in batches, each batch spent
//! before it expires; only the exchanges are timed.
//!
//! Run: `cargo bench -p sportello --bench oidc`. Prints the markdown table and
//! writes target/bench/oidc.md. Every loop is bounded in time and count and
//! talks only to 127.0.0.1.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sportello_app::oidc::ClientInput;
use sportello_app::{App, Config, Origin, demo};
use sportello_store::Db;

const WINDOW: Duration = Duration::from_secs(3);
const MAX_OPS: u64 = 200_000;
/// Concurrent HTTP clients (SPORTELLO_BENCH_OIDC_TASKS to change).
fn tasks() -> usize {
    std::env::var("SPORTELLO_BENCH_OIDC_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}
/// Codes prepared per batch: well inside their 60 s at any plausible rate.
const BATCH: usize = 1500;
const RP: &str = "https://rp.example.test/callback";
const ADMIN: &str = "BNCGLI75C45H501W";
const LUCA: &str = "NRELCU85M10D548J";
const VERIFIER: &str = "bench-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

struct Row {
    name: String,
    per_second: f64,
    baseline: Option<(String, f64)>,
}

#[tokio::main]
async fn main() {
    // The server's errors (an OAuth `server_error` carries only a reference).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
        .with_writer(std::io::stderr)
        .init();
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        public_base_url: base.clone(),
        ..Default::default()
    };
    config.database_url = format!("sqlite://{}", dir.path().join("oidc.db").display());
    config.outbox.poll_interval_ms = 1000;
    let db = Db::connect(&config.database_url).await.unwrap();
    db.migrate().await.unwrap();
    let app = App::new(config, db).await.unwrap();
    demo::seed(&app).await.unwrap();

    // A confidential RS256 client and a confidential ES256 one, registered by
    // the central administrator.
    let (rs_id, rs_secret) = register(&app, "RS256").await;
    let (es_id, es_secret) = register(&app, "ES256").await;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sportello_web::run(app.clone(), listener, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let session = login(&client, &base, LUCA).await;
    let cookie = format!("sportello_session={session}");
    let tasks = tasks();
    let b = Bench {
        tasks,
        client: client.clone(),
        base: base.clone(),
        cookie,
    };

    let mut rows = Vec::new();
    let health = measure(tasks, {
        let (c, url) = (client.clone(), format!("{base}/healthz"));
        move |_| {
            let (c, url) = (c.clone(), url.clone());
            async move {
                let res = c.get(url).send().await.unwrap();
                assert!(res.status().is_success());
                res.bytes().await.unwrap();
            }
        }
    })
    .await;
    rows.push(Row {
        name: format!("HTTP GET /healthz ({tasks} clients)"),
        per_second: health,
        baseline: None,
    });

    // Authorization codes, prepared in batches.
    let (authorize_rate, exchange_rate) = b.code_exchanges(&rs_id, &rs_secret).await;
    rows.push(Row {
        name: format!(
            "HTTP GET /oidc/authorize → code (logged-in session, {tasks} clients; preparation, for reference)"
        ),
        per_second: authorize_rate,
        baseline: Some(("/healthz".into(), health)),
    });
    rows.push(Row {
        name: format!(
            "HTTP POST /oidc/token authorization_code + PKCE, RS256 ID token ({tasks} clients)"
        ),
        per_second: exchange_rate,
        baseline: Some(("/healthz".into(), health)),
    });

    // Refresh chains, one grant per client.
    let refresh_rate = b.refresh_chains(&rs_id, &rs_secret).await;
    rows.push(Row {
        name: format!("HTTP POST /oidc/token refresh_token, rotation ({tasks} clients)"),
        per_second: refresh_rate,
        baseline: Some(("/healthz".into(), health)),
    });

    // ID-token verification by a relying party, in-process.
    let jwks: JwkSet = client
        .get(format!("{base}/oidc/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks = Arc::new(jwks);
    let rs_token = b.tokens(&rs_id, &rs_secret).await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let es_token = b.tokens(&es_id, &es_secret).await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);

    // Baseline: the same claims as the RS256 ID token, signed HS256.
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(rs_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let secret = Sha256::digest(b"bench-hs256-secret").to_vec();
    let hs_token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    let hs_key = DecodingKey::from_secret(&secret);
    let (iss, aud) = (base.clone(), rs_id.clone());
    let hs = cpu_measure(threads, move || {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[iss.as_str()]);
        v.set_audience(&[aud.as_str()]);
        let c = jsonwebtoken::decode::<Value>(&hs_token, &hs_key, &v).unwrap();
        assert!(c.claims["sub"].is_string());
    })
    .await;
    let hs_name = format!("bare jsonwebtoken::decode, HS256, same claims ({threads} threads)");
    rows.push(Row {
        name: hs_name.clone(),
        per_second: hs,
        baseline: None,
    });
    for (alg, token, aud) in [("RS256", rs_token, rs_id), ("ES256", es_token, es_id)] {
        let (jwks, iss) = (jwks.clone(), base.clone());
        let rate = cpu_measure(threads, move || verify(&jwks, &token, &iss, &aud)).await;
        rows.push(Row {
            name: format!(
                "ID token verification {alg} against the JWKS (jsonwebtoken, {threads} threads)"
            ),
            per_second: rate,
            baseline: Some(("HS256 decode".into(), hs)),
        });
    }

    let mut report = String::from(
        "| measurement | per second | baseline | baseline per second | ratio |\n|---|---:|---|---:|---:|\n",
    );
    for r in &rows {
        match &r.baseline {
            Some((name, b)) => report.push_str(&format!(
                "| {} | {:.0} | {} | {:.0} | {:.3} |\n",
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
    let _ = std::fs::write(out.join("oidc.md"), &report);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// A relying party's verification: kid → JWK → key, then signature and claims.
fn verify(jwks: &JwkSet, token: &str, iss: &str, aud: &str) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[iss]);
    v.set_audience(&[aud]);
    let c = jsonwebtoken::decode::<Value>(token, &key, &v).unwrap();
    assert!(c.claims["sub"].is_string());
}

async fn register(app: &App, alg: &str) -> (String, String) {
    let token = app
        .login(ADMIN, demo::DEMO_PASSWORD, &Origin::default())
        .await
        .unwrap()
        .session_token;
    let admin = app.session_user(&token).await.unwrap().unwrap();
    let ptt = sportello_store::catalogue::applications(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.code == "PTT")
        .unwrap()
        .id;
    let r = app
        .register_oidc_client(
            Some(&admin),
            &ClientInput {
                application_id: ptt,
                name: format!("bench {alg}"),
                redirect_uris: vec![RP.into()],
                id_token_signed_response_alg: Some(alg.into()),
                ..Default::default()
            },
            &Origin::default(),
        )
        .await
        .unwrap();
    (r.client_id, r.client_secret.unwrap())
}

struct Bench {
    tasks: usize,
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl Bench {
    fn authorize_url(&self, client_id: &str) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
        let mut u = url::Url::parse(&format!("{}/oidc/authorize", self.base)).unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", RP)
            .append_pair("scope", "openid profile email")
            .append_pair("state", "s")
            .append_pair("nonce", "n")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        u.to_string()
    }

    async fn code(&self, client_id: &str) -> String {
        code_of(&self.client, &self.authorize_url(client_id), &self.cookie).await
    }

    async fn exchange(&self, client_id: &str, secret: &str, code: &str) -> reqwest::Response {
        exchange(
            &self.client,
            &format!("{}/oidc/token", self.base),
            client_id,
            secret,
            code,
        )
        .await
    }

    async fn tokens(&self, client_id: &str, secret: &str) -> Value {
        let code = self.code(client_id).await;
        let r = self.exchange(client_id, secret, &code).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Prepares codes in batches and times only their exchange; returns
    /// (authorize rate, exchange rate).
    async fn code_exchanges(&self, client_id: &str, secret: &str) -> (f64, f64) {
        let (mut prep_ops, mut prep_time) = (0u64, Duration::ZERO);
        let (mut ops, mut time) = (0u64, Duration::ZERO);
        let url = Arc::new(self.authorize_url(client_id));
        let token_url = Arc::new(format!("{}/oidc/token", self.base));
        while time < WINDOW && ops < MAX_OPS {
            // Prepare a batch with `tasks` concurrent browsers' requests.
            let codes = Arc::new(Mutex::new(Vec::with_capacity(BATCH)));
            let started = Instant::now();
            let left = Arc::new(AtomicU64::new(BATCH as u64));
            let handles: Vec<_> = (0..self.tasks)
                .map(|_| {
                    let (c, url, cookie, codes, left) = (
                        self.client.clone(),
                        url.clone(),
                        self.cookie.clone(),
                        codes.clone(),
                        left.clone(),
                    );
                    tokio::spawn(async move {
                        while left
                            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                                n.checked_sub(1)
                            })
                            .is_ok()
                        {
                            let code = code_of(&c, &url, &cookie).await;
                            codes.lock().unwrap().push(code);
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            prep_time += started.elapsed();
            prep_ops += BATCH as u64;

            // Spend it.
            let started = Instant::now();
            let done = Arc::new(AtomicU64::new(0));
            let handles: Vec<_> = (0..self.tasks)
                .map(|_| {
                    let (c, url, codes, done) = (
                        self.client.clone(),
                        token_url.clone(),
                        codes.clone(),
                        done.clone(),
                    );
                    let (id, secret) = (client_id.to_string(), secret.to_string());
                    tokio::spawn(async move {
                        loop {
                            let Some(code) = codes.lock().unwrap().pop() else {
                                break;
                            };
                            let r = exchange(&c, &url, &id, &secret, &code).await;
                            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
                            let t: Value = r.json().await.unwrap();
                            assert!(t["id_token"].is_string());
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            time += started.elapsed();
            ops += done.load(Ordering::Relaxed);
        }
        (
            prep_ops as f64 / prep_time.as_secs_f64(),
            ops as f64 / time.as_secs_f64(),
        )
    }

    /// `tasks` clients, each with its own grant, refreshing in a chain.
    async fn refresh_chains(&self, client_id: &str, secret: &str) -> f64 {
        let mut firsts = Vec::new();
        for _ in 0..self.tasks {
            firsts.push(
                self.tokens(client_id, secret).await["refresh_token"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let done = Arc::new(AtomicU64::new(0));
        let url = format!("{}/oidc/token", self.base);
        let start = Instant::now();
        let handles: Vec<_> = firsts
            .into_iter()
            .map(|mut rt| {
                let (c, url, done) = (self.client.clone(), url.clone(), done.clone());
                let (id, secret) = (client_id.to_string(), secret.to_string());
                tokio::spawn(async move {
                    while start.elapsed() < WINDOW && done.load(Ordering::Relaxed) < MAX_OPS {
                        let r = c
                            .post(&url)
                            .basic_auth(&id, Some(&secret))
                            .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
                        let t: Value = r.json().await.unwrap();
                        let next = t["refresh_token"].as_str().unwrap().to_string();
                        assert_ne!(next, rt);
                        rt = next;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
    }
}

async fn code_of(c: &reqwest::Client, url: &str, cookie: &str) -> String {
    let res = c.get(url).header("cookie", cookie).send().await.unwrap();
    assert_eq!(res.status(), 303, "authorize");
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {loc}"))
}

async fn exchange(
    c: &reqwest::Client,
    url: &str,
    client_id: &str,
    secret: &str,
    code: &str,
) -> reqwest::Response {
    c.post(url)
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", RP),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
}

/// Runs `op` on `threads` OS threads for the window; returns ops/s.
async fn cpu_measure<F>(threads: usize, op: F) -> f64
where
    F: Fn() + Send + Sync + 'static,
{
    tokio::task::spawn_blocking(move || {
        let op = Arc::new(op);
        let done = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (op, done) = (op.clone(), done.clone());
                std::thread::spawn(move || {
                    while start.elapsed() < WINDOW {
                        if done.fetch_add(1, Ordering::Relaxed) >= MAX_OPS * 10 {
                            break;
                        }
                        op();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        done.load(Ordering::Relaxed).min(MAX_OPS * 10) as f64 / start.elapsed().as_secs_f64()
    })
    .await
    .unwrap()
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

/// A session id from a real login through the form.
async fn login(c: &reqwest::Client, base: &str, fiscal_code: &str) -> String {
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
            ("fiscal_code", fiscal_code),
            ("password", demo::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login of {fiscal_code}");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("sportello_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}
