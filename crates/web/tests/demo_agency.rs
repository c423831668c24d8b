//! The demo agencies against docs/AGENCY-CONNECTOR.md: a fake portal serves
//! the JWKS and receives the callbacks, the test signs like the portal.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode as Status;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sportello_web::demo_agency::{AgencyConfig, DemoAgencies, serve};
use tokio::sync::oneshot;

const TOKEN: &str = "token-callback-di-prova";
const KID: &str = "es256-portale-1";
const WAIT: Duration = Duration::from_secs(10);

fn es256_key() -> EncodingKey {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key pair");
    let der = pair.to_pkcs8v1().expect("pkcs8");
    let b64 = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    EncodingKey::from_ec_pem(pem.as_bytes()).expect("pem")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

/// The fake portal: JWKS and callback endpoint.
#[derive(Default)]
struct Portal {
    jwks: Value,
    callbacks: Mutex<Vec<Value>>,
    attempts: AtomicUsize,
    /// Answer 503 to this many callbacks before accepting.
    fail_first: AtomicUsize,
}

async fn jwks(State(p): State<Arc<Portal>>) -> axum::Json<Value> {
    axum::Json(p.jwks.clone())
}

async fn callback(
    State(p): State<Arc<Portal>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    p.attempts.fetch_add(1, Ordering::SeqCst);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "token"})),
        );
    }
    if p.fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": "occupato"})),
        );
    }
    p.callbacks.lock().expect("lock").push(body);
    (StatusCode::OK, axum::Json(json!({"recorded": true})))
}

struct Harness {
    portal_url: String,
    /// The simulator root, as the agencies know it.
    base_url: String,
    portal: Arc<Portal>,
    key: EncodingKey,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A signed request as the portal would send it; fields can be spoiled.
struct Signed {
    url: String,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Harness {
    fn portal_routes(portal: Arc<Portal>) -> Router {
        Router::new()
            .route("/oidc/jwks", get(jwks))
            .route("/api/v1/filings/callback", post(callback))
            .with_state(portal)
    }

    fn new_portal(key: &EncodingKey) -> Arc<Portal> {
        let mut jwk = Jwk::from_encoding_key(key, Algorithm::ES256).expect("jwk");
        jwk.common.key_id = Some(KID.into());
        Arc::new(Portal {
            jwks: json!({ "keys": [jwk] }),
            ..Portal::default()
        })
    }

    /// Portal and simulator on two ports, the simulator through `serve`.
    async fn start() -> Self {
        let key = es256_key();
        let portal = Self::new_portal(&key);
        let pl = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let portal_url = format!("http://{}", pl.local_addr().expect("addr"));
        let routes = Self::portal_routes(portal.clone());
        tokio::spawn(async move { axum::serve(pl, routes).await });

        let al = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}", al.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let cfg = AgencyConfig {
            base_url: base_url.clone(),
            portal_url: portal_url.clone(),
            callback_token: TOKEN.into(),
        };
        let served = tokio::spawn(serve(cfg, al, async move {
            let _ = stopped.await;
        }));
        Self {
            portal_url,
            base_url,
            portal,
            key,
            http: reqwest::Client::new(),
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// The simulator nested in the portal under `/demo-agency`, as `serve --demo` does.
    async fn start_nested() -> Self {
        let key = es256_key();
        let portal = Self::new_portal(&key);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let portal_url = format!("http://{}", l.local_addr().expect("addr"));
        let base_url = format!("{portal_url}/demo-agency");
        let agencies = DemoAgencies::new(AgencyConfig {
            base_url: base_url.clone(),
            portal_url: portal_url.clone(),
            callback_token: TOKEN.into(),
        });
        let routes =
            Self::portal_routes(portal.clone()).nest_service("/demo-agency", agencies.router());
        tokio::spawn(async move { axum::serve(l, routes).await });
        Self {
            portal_url,
            base_url,
            portal,
            key,
            http: reqwest::Client::new(),
            stop: None,
            served: None,
        }
    }

    fn filing(&self, reference: &str) -> Value {
        json!({
            "reference": reference,
            "service": "AVVIO-IMPRESA",
            "recipient": "INPS",
            "submitted_at": "2026-11-25T09:14:03Z",
            "callback_url": format!("{}/api/v1/filings/callback", self.portal_url),
            "data": {"codice_fiscale": "RSSMRA80A01D548U", "ateco": "62.01.00"},
        })
    }

    fn claims(&self, aud: &str, headers: Value) -> Value {
        let t = now();
        json!({
            "iss": self.portal_url,
            "aud": aud,
            "iat": t,
            "nbf": t,
            "exp": t + 300,
            "jti": uuid::Uuid::new_v4().to_string(),
            "signed_headers": headers,
        })
    }

    fn sign(&self, claims: &Value, key: &EncodingKey, kid: &str) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, key).expect("sign")
    }

    /// A delivery signed like the portal; `spoil` edits the claims first.
    fn delivery(
        &self,
        agency: &str,
        key: &str,
        body: &Value,
        spoil: impl FnOnce(&mut Value),
    ) -> Signed {
        let url = format!("{}/{agency}/pratiche", self.base_url);
        let body = serde_json::to_vec(body).expect("json");
        let d = digest(&body);
        let mut claims = self.claims(
            &url,
            json!([{"digest": d}, {"content-type": "application/json"}, {"idempotency-key": key}]),
        );
        spoil(&mut claims);
        let jws = self.sign(&claims, &self.key, KID);
        Signed {
            url,
            body,
            headers: vec![
                ("content-type", "application/json".into()),
                ("idempotency-key", key.into()),
                ("digest", d),
                ("agid-jwt-signature", jws),
            ],
        }
    }

    async fn send(&self, s: &Signed) -> (Status, Value) {
        self.send_with(&self.http, s).await.expect("request")
    }

    async fn send_with(
        &self,
        client: &reqwest::Client,
        s: &Signed,
    ) -> reqwest::Result<(Status, Value)> {
        let mut req = client.post(&s.url).body(s.body.clone());
        for (n, v) in &s.headers {
            req = req.header(*n, v);
        }
        let res = req.send().await?;
        let status = res.status();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    async fn deliver(&self, agency: &str, key: &str, body: &Value) -> (Status, Value) {
        self.send(&self.delivery(agency, key, body, |_| {})).await
    }

    /// A signed poll.
    async fn poll(&self, agency: &str, key: &str) -> (Status, Value) {
        let url = format!("{}/{agency}/pratiche/{key}", self.base_url);
        let d = digest(b"");
        let claims = self.claims(&url, json!([{"digest": d}]));
        let res = self
            .http
            .get(&url)
            .header("digest", d)
            .header("agid-jwt-signature", self.sign(&claims, &self.key, KID))
            .send()
            .await
            .expect("poll");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (Status, Value) {
        let res = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("get");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn control(&self, agency: &str, settings: Value) -> (Status, Value) {
        let res = self
            .http
            .post(format!("{}/{agency}/control", self.base_url))
            .json(&settings)
            .send()
            .await
            .expect("control");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn stats(&self, prefix: &str) -> Value {
        let (status, s) = self.get("/stats").await;
        assert_eq!(status, Status::OK);
        s[prefix].clone()
    }

    /// Waits until the portal has received `n` callbacks.
    async fn callbacks(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.portal.callbacks.lock().expect("lock").clone();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "attesi {n} callback, arrivati {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls until the filing reaches `state`.
    async fn wait_state(&self, agency: &str, key: &str, state: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (status, v) = self.poll(agency, key).await;
            if status == Status::OK && v["state"] == state {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "stato {state} mai raggiunto: {status} {v}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until a stats counter reaches `n`.
    async fn wait_counter(&self, prefix: &str, counter: &str, n: u64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let s = self.stats(prefix).await;
            if s[counter].as_u64() == Some(n) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{prefix}.{counter} != {n}: {s}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn protocol_number(p: &Value, prefix: &str) -> u64 {
    let p = p
        .as_str()
        .unwrap_or_else(|| panic!("protocollo mancante: {p}"));
    let parts: Vec<&str> = p.split('-').collect();
    assert_eq!(parts.len(), 3, "{p}");
    assert_eq!(parts[0], prefix, "{p}");
    assert_eq!(parts[1].len(), 4, "{p}");
    assert!(parts[1].parse::<u16>().is_ok_and(|y| y >= 2025), "{p}");
    assert_eq!(parts[2].len(), 7, "{p}");
    parts[2].parse().expect("number")
}

#[tokio::test]
async fn ok_gives_protocol_and_repeat_returns_it() {
    let h = Harness::start().await;
    let body = h.filing("SI-2026-0000123");
    let (status, v) = h.deliver("inps", "k-1", &body).await;
    assert_eq!(status, Status::CREATED, "{v}");
    assert_eq!(v["state"], "taken_in_charge");
    assert_eq!(protocol_number(&v["protocol"], "INPS"), 1);

    let (status, again) = h.deliver("inps", "k-1", &body).await;
    assert_eq!(status, Status::OK, "{again}");
    assert_eq!(again["protocol"], v["protocol"]);

    let s = h.stats("INPS").await;
    assert_eq!(s["requests"], 2);
    assert_eq!(s["filings"], 1);
    assert_eq!(s["repeats"], 1);
    assert_eq!(s["bad_signatures"], 0);
    assert_eq!(h.stats("INAIL").await["requests"], 0);
    assert_eq!(h.stats("CCIAA").await["filings"], 0);

    let (_, list) = h.get("/inps/pratiche").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["idempotency_key"], "k-1");
    assert_eq!(list[0]["reference"], "SI-2026-0000123");
    assert_eq!(list[0]["protocol"], v["protocol"]);
    assert!(
        list[0]["received_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let (status, polled) = h.poll("inps", "k-1").await;
    assert_eq!(status, Status::OK);
    assert_eq!(polled, v);
}

#[tokio::test]
async fn same_key_with_another_body_is_a_conflict() {
    let h = Harness::start().await;
    let (status, _) = h.deliver("cciaa", "k-1", &h.filing("SI-1")).await;
    assert_eq!(status, Status::CREATED);
    let (status, v) = h.deliver("cciaa", "k-1", &h.filing("SI-2")).await;
    assert_eq!(status, Status::CONFLICT, "{v}");
    assert!(v["error"].is_string());
    let s = h.stats("CCIAA").await;
    assert_eq!(s["filings"], 1);
    let (_, list) = h.get("/cciaa/pratiche").await;
    assert_eq!(list[0]["reference"], "SI-1");
}

#[tokio::test]
async fn refused_signatures_record_nothing() {
    let h = Harness::start().await;
    let body = h.filing("SI-1");
    // (what is spoiled, what the error must name, the request)
    let mut cases: Vec<(&str, &str, Signed)> = Vec::new();

    let mut s = h.delivery("inps", "k-bad", &body, |_| {});
    let other = es256_key();
    let claims = h.claims(
        &s.url,
        json!([{"digest": digest(&s.body)}, {"content-type": "application/json"}, {"idempotency-key": "k-bad"}]),
    );
    s.headers[3].1 = h.sign(&claims, &other, KID);
    cases.push(("firma con un'altra chiave", "firma non valida", s));

    let mut s = h.delivery("inps", "k-bad", &body, |_| {});
    s.headers[3].1 = h.sign(&h.claims(&s.url, json!([])), &other, "kid-ignoto");
    cases.push(("kid sconosciuto", "kid", s));

    cases.push((
        "aud diverso",
        "aud",
        h.delivery("inps", "k-bad", &body, |c| {
            c["aud"] = json!(format!("{}/inail/pratiche", h.base_url));
        }),
    ));
    cases.push((
        "iss diverso",
        "iss",
        h.delivery("inps", "k-bad", &body, |c| c["iss"] = json!("http://altro")),
    ));
    cases.push((
        "scaduta",
        "exp",
        h.delivery("inps", "k-bad", &body, |c| {
            c["exp"] = json!(now() - 120);
        }),
    ));
    cases.push((
        "non ancora valida",
        "nbf",
        h.delivery("inps", "k-bad", &body, |c| {
            c["nbf"] = json!(now() + 600);
        }),
    ));

    let mut s = h.delivery("inps", "k-bad", &body, |_| {});
    s.body = serde_json::to_vec(&h.filing("SI-manomessa")).expect("json");
    cases.push(("corpo manomesso", "Digest", s));

    let mut s = h.delivery("inps", "k-bad", &body, |_| {});
    s.headers[1].1 = "k-altra".into();
    cases.push((
        "Idempotency-Key diversa da quella firmata",
        "idempotency-key",
        s,
    ));

    let mut s = h.delivery("inps", "k-bad", &body, |_| {});
    s.headers.pop();
    cases.push(("firma mancante", "Agid-JWT-Signature", s));

    let total = cases.len() as u64;
    for (what, named, s) in &cases {
        let (status, v) = h.send(s).await;
        assert_eq!(status, Status::UNAUTHORIZED, "{what}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| e.contains(named)),
            "{what}: {v}"
        );
    }

    // A replayed jti is refused even on an otherwise good request.
    let first = h.delivery("inps", "k-good", &body, |c| c["jti"] = json!("jti-unico"));
    assert_eq!(h.send(&first).await.0, Status::CREATED);
    let (status, v) = h.send(&first).await;
    assert_eq!(status, Status::UNAUTHORIZED, "{v}");
    let replay = h.delivery("inps", "k-replay", &body, |c| c["jti"] = json!("jti-unico"));
    let (status, v) = h.send(&replay).await;
    assert_eq!(status, Status::UNAUTHORIZED, "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("jti")),
        "{v}"
    );

    let s = h.stats("INPS").await;
    assert_eq!(s["bad_signatures"], total + 2);
    assert_eq!(s["filings"], 1);
    let (_, list) = h.get("/inps/pratiche").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["idempotency_key"], "k-good");
}

#[tokio::test]
async fn malformed_deliveries_are_bad_requests() {
    let h = Harness::start().await;
    let mut s = h.delivery("inail", "k-1", &h.filing("SI-1"), |_| {});
    s.headers.retain(|(n, _)| *n != "idempotency-key");
    let (status, v) = h.send(&s).await;
    assert_eq!(status, Status::BAD_REQUEST, "{v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("Idempotency-Key"))
    );

    let mut no_reference = h.filing("SI-1");
    no_reference
        .as_object_mut()
        .expect("object")
        .remove("reference");
    let (status, v) = h.deliver("inail", "k-2", &no_reference).await;
    assert_eq!(status, Status::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("reference")));

    let mut bad_data = h.filing("SI-1");
    bad_data["data"] = json!("testo");
    let (status, v) = h.deliver("inail", "k-3", &bad_data).await;
    assert_eq!(status, Status::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("data")));

    let (status, _) = h.deliver("inail", "k-4", &json!([1, 2])).await;
    assert_eq!(status, Status::BAD_REQUEST);
    let (status, _) = h.deliver("ufficio", "k-5", &h.filing("SI-1")).await;
    assert_eq!(status, Status::NOT_FOUND);
    assert_eq!(h.stats("INAIL").await["filings"], 0);
}

#[tokio::test]
async fn down_answers_503_and_records_nothing() {
    let h = Harness::start().await;
    let (status, v) = h.control("inps", json!({"mode": "down"})).await;
    assert_eq!(status, Status::OK);
    assert_eq!(v["mode"], "down");
    let (status, v) = h.deliver("inps", "k-1", &h.filing("SI-1")).await;
    assert_eq!(status, Status::SERVICE_UNAVAILABLE);
    assert_eq!(v["error"], "servizio temporaneamente non disponibile");
    let s = h.stats("INPS").await;
    assert_eq!(s["requests"], 1);
    assert_eq!(s["filings"], 0);
    assert_eq!(h.poll("inps", "k-1").await.0, Status::NOT_FOUND);

    h.control("inps", json!({"mode": "ok"})).await;
    let (status, v) = h.deliver("inps", "k-1", &h.filing("SI-1")).await;
    assert_eq!(status, Status::CREATED, "{v}");
}

#[tokio::test]
async fn later_sends_the_protocol_by_callback() {
    let h = Harness::start().await;
    h.control("inail", json!({"mode": "later", "delay_ms": 200}))
        .await;
    let (status, v) = h.deliver("inail", "k-1", &h.filing("SI-1")).await;
    assert_eq!(status, Status::ACCEPTED, "{v}");
    assert_eq!(v, json!({"state": "received"}));
    let (status, v) = h.poll("inail", "k-1").await;
    assert_eq!(status, Status::OK);
    assert_eq!(v["state"], "received");

    let got = h.callbacks(1).await;
    assert_eq!(got[0]["idempotency_key"], "k-1");
    assert_eq!(got[0]["state"], "taken_in_charge");
    assert_eq!(protocol_number(&got[0]["protocol"], "INAIL"), 1);
    let v = h.wait_state("inail", "k-1", "taken_in_charge").await;
    assert_eq!(v["protocol"], got[0]["protocol"]);
    h.wait_counter("INAIL", "callbacks_sent", 1).await;

    // A repeat now answers the protocol.
    let (status, v) = h.deliver("inail", "k-1", &h.filing("SI-1")).await;
    assert_eq!(status, Status::OK);
    assert_eq!(v["protocol"], got[0]["protocol"]);
}

#[tokio::test]
async fn hang_loses_the_answer_but_keeps_the_filing() {
    let h = Harness::start().await;
    h.control("cciaa", json!({"mode": "hang", "hang_ms": 5000}))
        .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let s = h.delivery("cciaa", "k-1", &h.filing("SI-1"), |_| {});
    let err = h
        .send_with(&impatient, &s)
        .await
        .expect_err("the answer must not arrive in time");
    assert!(err.is_timeout(), "{err}");

    let v = h.wait_state("cciaa", "k-1", "taken_in_charge").await;
    assert_eq!(protocol_number(&v["protocol"], "CCIAA"), 1);
    // The resend (new signature, same key and body) gets the protocol at once.
    let (status, again) = h.deliver("cciaa", "k-1", &h.filing("SI-1")).await;
    assert_eq!(status, Status::OK);
    assert_eq!(again["protocol"], v["protocol"]);
}

#[tokio::test]
async fn reject_answers_422_with_reason() {
    let h = Harness::start().await;
    h.control("inps", json!({"mode": "reject"})).await;
    let (status, v) = h.deliver("inps", "k-1", &h.filing("SI-1")).await;
    assert_eq!(status, Status::UNPROCESSABLE_ENTITY);
    assert_eq!(v["state"], "rejected");
    assert_eq!(
        v["reason"],
        "dati non conformi: codice ATECO non riconosciuto"
    );
    h.control(
        "inps",
        json!({"reject_reason": "posizione assicurativa non trovata"}),
    )
    .await;
    let (status, v) = h.deliver("inps", "k-2", &h.filing("SI-2")).await;
    assert_eq!(status, Status::UNPROCESSABLE_ENTITY);
    assert_eq!(v["reason"], "posizione assicurativa non trovata");
    let (status, v) = h.poll("inps", "k-1").await;
    assert_eq!(status, Status::OK);
    assert_eq!(v["state"], "rejected");
    assert!(v.get("protocol").is_none());
}

#[tokio::test]
async fn outcome_arrives_by_callback() {
    let h = Harness::start().await;
    h.control(
        "inps",
        json!({"mode": "ok", "outcome": "accepted", "outcome_delay_ms": 150}),
    )
    .await;
    let (status, v) = h.deliver("inps", "k-1", &h.filing("SI-1")).await;
    assert_eq!(status, Status::CREATED);
    let got = h.callbacks(1).await;
    assert_eq!(got[0]["idempotency_key"], "k-1");
    assert_eq!(got[0]["state"], "accepted");
    assert_eq!(got[0]["protocol"], v["protocol"]);
    h.wait_state("inps", "k-1", "accepted").await;

    // Later plus a rejection: the protocol first, then the outcome, in order.
    h.control(
        "inps",
        json!({"mode": "later", "delay_ms": 50, "outcome": "rejected", "reject_reason": "posizione assicurativa non trovata"}),
    )
    .await;
    h.deliver("inps", "k-2", &h.filing("SI-2")).await;
    let got = h.callbacks(3).await;
    assert_eq!(got[1]["state"], "taken_in_charge");
    assert_eq!(protocol_number(&got[1]["protocol"], "INPS"), 2);
    assert_eq!(got[2]["state"], "rejected");
    assert_eq!(got[2]["reason"], "posizione assicurativa non trovata");
    h.wait_counter("INPS", "callbacks_sent", 3).await;
}

#[tokio::test]
async fn callbacks_retry_transient_failures() {
    let h = Harness::start().await;
    h.portal.fail_first.store(2, Ordering::SeqCst);
    h.control("inail", json!({"mode": "later", "delay_ms": 0}))
        .await;
    h.deliver("inail", "k-1", &h.filing("SI-1")).await;
    let got = h.callbacks(1).await;
    assert_eq!(got[0]["state"], "taken_in_charge");
    assert_eq!(h.portal.attempts.load(Ordering::SeqCst), 3);
    h.wait_counter("INAIL", "callbacks_sent", 1).await;
    assert_eq!(h.stats("INAIL").await["callbacks_failed"], 0);
}

#[tokio::test]
async fn refused_callback_token_is_not_retried() {
    let key = es256_key();
    let portal = Harness::new_portal(&key);
    let pl = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let portal_url = format!("http://{}", pl.local_addr().expect("addr"));
    let routes = Harness::portal_routes(portal.clone());
    tokio::spawn(async move { axum::serve(pl, routes).await });
    let al = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base_url = format!("http://{}", al.local_addr().expect("addr"));
    let cfg = AgencyConfig {
        base_url: base_url.clone(),
        portal_url: portal_url.clone(),
        callback_token: "token-sbagliato".into(),
    };
    tokio::spawn(serve(cfg, al, std::future::pending()));
    let h = Harness {
        portal_url,
        base_url,
        portal,
        key,
        http: reqwest::Client::new(),
        stop: None,
        served: None,
    };
    h.control("inps", json!({"mode": "later", "delay_ms": 0}))
        .await;
    assert_eq!(
        h.deliver("inps", "k-1", &h.filing("SI-1")).await.0,
        Status::ACCEPTED
    );
    h.wait_counter("INPS", "callbacks_failed", 1).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(h.portal.attempts.load(Ordering::SeqCst), 1);
    assert_eq!(h.stats("INPS").await["callbacks_sent"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_filings_get_consecutive_protocols() {
    let h = Arc::new(Harness::start().await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let h = h.clone();
        tasks.spawn(async move {
            let (status, v) = h
                .deliver("inail", &format!("k-{i}"), &h.filing(&format!("SI-{i}")))
                .await;
            assert_eq!(status, Status::CREATED, "{v}");
            protocol_number(&v["protocol"], "INAIL")
        });
    }
    let mut numbers = tasks.join_all().await;
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=300).collect::<Vec<u64>>());
    let s = h.stats("INAIL").await;
    assert_eq!(s["filings"], 300);
    assert_eq!(s["requests"], 300);
    assert_eq!(s["repeats"], 0);
}

#[tokio::test]
async fn control_validates_and_keeps_previous_values() {
    let h = Harness::start().await;
    let (status, v) = h.get("/inps/control").await;
    assert_eq!(status, Status::OK);
    assert_eq!(
        v,
        json!({"mode": "ok", "delay_ms": 1000, "outcome": "none", "outcome_delay_ms": 2000,
               "hang_ms": 60000, "reject_reason": "dati non conformi: codice ATECO non riconosciuto"})
    );
    let (status, v) = h
        .control("inps", json!({"mode": "later", "delay_ms": 5}))
        .await;
    assert_eq!(status, Status::OK);
    let (status, v2) = h.control("inps", json!({"outcome": "accepted"})).await;
    assert_eq!(status, Status::OK);
    assert_eq!(v2["mode"], "later");
    assert_eq!(v2["delay_ms"], 5);
    assert_eq!(v2["outcome"], "accepted");
    assert_eq!(v["outcome"], "none");

    for bad in [
        json!({"mode": "sciopero"}),
        json!({"delay_ms": -1}),
        json!({"outcome": "forse"}),
        json!({"ritardo": 3}),
        json!([1]),
    ] {
        let (status, v) = h.control("inps", bad.clone()).await;
        assert_eq!(status, Status::BAD_REQUEST, "{bad}: {v}");
        assert!(v["error"].is_string());
    }
    // A refused change leaves everything as it was, even the valid fields.
    let (status, _) = h
        .control("inps", json!({"mode": "down", "outcome": "forse"}))
        .await;
    assert_eq!(status, Status::BAD_REQUEST);
    assert_eq!(h.get("/inps/control").await.1, v2);
    // Other agencies are untouched.
    assert_eq!(h.get("/inail/control").await.1["mode"], "ok");
    assert_eq!(h.control("ufficio", json!({})).await.0, Status::NOT_FOUND);
}

#[tokio::test]
async fn polling_is_signed_and_unknown_keys_are_404() {
    let h = Harness::start().await;
    assert_eq!(h.poll("inps", "k-nessuna").await.0, Status::NOT_FOUND);
    h.deliver("inps", "k-1", &h.filing("SI-1")).await;
    let (status, v) = h.get("/inps/pratiche/k-1").await;
    assert_eq!(status, Status::UNAUTHORIZED, "{v}");
    // A delivery signature is not valid for the poll URL.
    let s = h.delivery("inps", "k-1", &h.filing("SI-1"), |_| {});
    let mut req = h.http.get(format!("{}/inps/pratiche/k-1", h.base_url));
    for (n, v) in &s.headers {
        req = req.header(*n, v);
    }
    assert_eq!(
        req.send().await.expect("get").status(),
        Status::UNAUTHORIZED
    );
    assert_eq!(h.stats("INPS").await["bad_signatures"], 2);
    assert_eq!(h.poll("inps", "k-1").await.0, Status::OK);
}

#[tokio::test]
async fn nested_under_the_portal_checks_the_full_url() {
    let h = Harness::start_nested().await;
    let (status, v) = h.deliver("inps", "k-1", &h.filing("SI-1")).await;
    assert_eq!(status, Status::CREATED, "{v}");
    assert_eq!(h.poll("inps", "k-1").await.1, v);
    // aud without the mount point is not this URL.
    let s = h.delivery("inps", "k-2", &h.filing("SI-2"), |c| {
        c["aud"] = json!(format!("{}/inps/pratiche", h.portal_url));
    });
    assert_eq!(h.send(&s).await.0, Status::UNAUTHORIZED);
    assert_eq!(h.stats("INPS").await["filings"], 1);
}

#[tokio::test]
async fn shutdown_ends_hanging_answers() {
    let mut h = Harness::start().await;
    h.control("inps", json!({"mode": "hang", "hang_ms": 60000}))
        .await;
    let s = h.delivery("inps", "k-1", &h.filing("SI-1"), |_| {});
    let pending = {
        let http = h.http.clone();
        let mut req = http.post(&s.url).body(s.body.clone());
        for (n, v) in &s.headers {
            req = req.header(*n, v);
        }
        tokio::spawn(req.send())
    };
    // Wait until the filing is recorded, so the answer is really hanging.
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.stats("INPS").await["filings"] != 1 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = h.stop.take().map(|s| s.send(()));
    let res = tokio::time::timeout(WAIT, pending)
        .await
        .expect("answer before the deadline")
        .expect("task")
        .expect("response");
    assert_eq!(res.status(), Status::CREATED);
    let served = h.served.take().expect("server");
    tokio::time::timeout(WAIT, served)
        .await
        .expect("server stopped")
        .expect("task")
        .expect("serve");
}
