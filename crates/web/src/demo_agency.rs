//! Demo agencies: simulated INPS, INAIL and Chamber of Commerce endpoints
//! implementing the agency side of docs/AGENCY-CONNECTOR.md.
//!
//! Each agency keeps its filings in memory. Every delivery and poll is
//! verified like a real agency would (ModI INTEGRITY_REST_01): the
//! `Agid-JWT-Signature` JWS against the portal's JWKS, `iss`, `aud`, the time
//! window, `jti` uniqueness, the signed headers and the body `Digest`.
//! `POST /{agency}/control` switches how an agency behaves (answers at once,
//! later by callback, is down, hangs, rejects), so the portal's connector can
//! be exercised against every case of the contract.
//!
//! Routes are relative to the simulator root: `sportello demo-agency` serves
//! them at `/`, the portal mounts them under `/demo-agency`
//! (`Router::nest_service`); `aud` is always `base_url` + the path seen here.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

/// Allowed clock skew on `iat`, `nbf` and `exp`.
const LEEWAY_SECS: i64 = 60;
/// An unknown `kid` triggers a JWKS refetch at most this often, so a flood
/// of bogus signatures cannot turn into a flood of requests to the portal.
const JWKS_REFETCH: Duration = Duration::from_secs(3);
/// How often the set of seen `jti` is pruned of expired entries.
const JTI_PRUNE_SECS: i64 = 30;
const MAX_BODY: usize = 4 * 1024 * 1024;
const MAX_KEY_LEN: usize = 256;
const CALLBACK_BACKOFF_MS: [u64; 4] = [500, 1000, 2000, 4000];
const DEFAULT_REJECT_REASON: &str = "dati non conformi: codice ATECO non riconosciuto";

/// Where the simulator lives and whom it trusts.
#[derive(Clone, Debug)]
pub struct AgencyConfig {
    /// Public URL of the simulator root, without trailing slash
    /// (`http://127.0.0.1:9100`, `http://host/demo-agency`): `aud` of every
    /// signature must be this plus the request path.
    pub base_url: String,
    /// The portal's public URL: the expected `iss`, and the JWKS at
    /// `{portal_url}/oidc/jwks`.
    pub portal_url: String,
    /// Bearer token sent with every callback.
    pub callback_token: String,
}

/// The three simulated agencies. Cheap to clone.
#[derive(Clone)]
pub struct DemoAgencies {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: String,
    portal_url: String,
    jwks_url: String,
    callback_token: String,
    agencies: [Agency; 3],
    http: reqwest::Client,
    jwks: Jwks,
    jtis: Mutex<JtiSet>,
    es256: Validation,
    rs256: Validation,
    /// Set on shutdown: hanging answers stop waiting, so a graceful shutdown
    /// does not wait `hang_ms`.
    stop: watch::Sender<bool>,
}

struct Agency {
    segment: &'static str,
    prefix: &'static str,
    state: Mutex<AgencyState>,
    stats: Stats,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    polls: AtomicU64,
    repeats: AtomicU64,
    bad_signatures: AtomicU64,
    callbacks_sent: AtomicU64,
    callbacks_failed: AtomicU64,
}

#[derive(Default)]
struct AgencyState {
    settings: Settings,
    filings: Vec<Filing>,
    /// Idempotency key -> index in `filings` (kept in arrival order for the list).
    index: HashMap<String, usize>,
    /// Last protocol number given.
    counter: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Ok,
    Later,
    Down,
    Hang,
    Reject,
}

impl Mode {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ok" => Self::Ok,
            "later" => Self::Later,
            "down" => Self::Down,
            "hang" => Self::Hang,
            "reject" => Self::Reject,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Later => "later",
            Self::Down => "down",
            Self::Hang => "hang",
            Self::Reject => "reject",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    None,
    Accepted,
    Rejected,
}

impl Outcome {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }
}

#[derive(Clone, Debug)]
struct Settings {
    mode: Mode,
    delay_ms: u64,
    outcome: Outcome,
    outcome_delay_ms: u64,
    hang_ms: u64,
    reject_reason: Arc<str>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Ok,
            delay_ms: 1000,
            outcome: Outcome::None,
            outcome_delay_ms: 2000,
            hang_ms: 60_000,
            reject_reason: Arc::from(DEFAULT_REJECT_REASON),
        }
    }
}

impl Settings {
    fn to_json(&self) -> Value {
        json!({
            "mode": self.mode.as_str(),
            "delay_ms": self.delay_ms,
            "outcome": self.outcome.as_str(),
            "outcome_delay_ms": self.outcome_delay_ms,
            "hang_ms": self.hang_ms,
            "reject_reason": &*self.reject_reason,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FilingState {
    Received,
    TakenInCharge,
    Accepted,
    Rejected,
}

impl FilingState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::TakenInCharge => "taken_in_charge",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }
}

struct Filing {
    key: String,
    reference: String,
    body_hash: [u8; 32],
    callback_url: Option<String>,
    state: FilingState,
    protocol: Option<String>,
    reason: Option<Arc<str>>,
    received_at: String,
}

impl Filing {
    /// The state as answered to a repeat, a poll or in a callback.
    fn state_json(&self) -> Value {
        let mut m = Map::with_capacity(3);
        m.insert("state".into(), self.state.as_str().into());
        if let Some(p) = &self.protocol {
            m.insert("protocol".into(), p.as_str().into());
        }
        if let Some(r) = &self.reason {
            m.insert("reason".into(), (**r).into());
        }
        Value::Object(m)
    }

    /// A callback for the current state, if the filing gave a callback URL.
    fn callback(&self) -> Option<(String, Value)> {
        let url = self.callback_url.clone()?;
        let mut body = self.state_json();
        if let Value::Object(m) = &mut body {
            m.insert("idempotency_key".into(), self.key.as_str().into());
        }
        Some((url, body))
    }
}

/// The portal's signing keys, by `kid`.
struct Jwks {
    keys: RwLock<HashMap<String, Arc<VerifyKey>>>,
    /// Serializes fetches; holds when the last one started.
    fetch: tokio::sync::Mutex<Option<Instant>>,
}

struct VerifyKey {
    key: DecodingKey,
    /// The algorithm the key is for (from the JWK's `alg`, or its type).
    alg: Algorithm,
}

#[derive(Default)]
struct JtiSet {
    /// jti -> exp; kept until the token could no longer pass the time check.
    seen: HashMap<String, i64>,
    next_prune: i64,
}

/// Why a request is refused before it reaches the agency's records.
enum Refusal {
    /// 401, counted as a bad signature.
    Signature(String),
    /// 503: the portal's JWKS could not be read, so nothing can be verified.
    Unverifiable(String),
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    aud: Option<Value>,
    iat: Option<f64>,
    nbf: Option<f64>,
    exp: Option<f64>,
    jti: Option<String>,
    signed_headers: Option<Value>,
}

fn validation(alg: Algorithm) -> Validation {
    // Only the signature is checked by the library: the claims are checked
    // here, to name in the answer which one failed.
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message: String = message.into();
    (status, axum::Json(json!({ "error": message }))).into_response()
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn unknown_agency() -> Response {
    error(StatusCode::NOT_FOUND, "ente sconosciuto")
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn rome() -> &'static jiff::tz::TimeZone {
    static TZ: OnceLock<jiff::tz::TimeZone> = OnceLock::new();
    TZ.get_or_init(|| jiff::tz::TimeZone::get("Europe/Rome").unwrap_or(jiff::tz::TimeZone::UTC))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Digest` (RFC 3230) may list several algorithms; the SHA-256 one must match.
fn digest_matches(value: &str, hash: &[u8; 32]) -> bool {
    value
        .split(',')
        .any(|part| match part.trim().split_once('=') {
            Some((alg, b64)) if alg.trim().eq_ignore_ascii_case("SHA-256") => STANDARD
                .decode(b64.trim())
                .is_ok_and(|d| d.as_slice() == hash.as_slice()),
            _ => false,
        })
}

impl DemoAgencies {
    pub fn new(cfg: AgencyConfig) -> Self {
        let base_url = cfg.base_url.trim_end_matches('/').to_string();
        let portal_url = cfg.portal_url.trim_end_matches('/').to_string();
        let agency = |segment, prefix| Agency {
            segment,
            prefix,
            state: Mutex::default(),
            stats: Stats::default(),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                jwks_url: format!("{portal_url}/oidc/jwks"),
                base_url,
                portal_url,
                callback_token: cfg.callback_token,
                agencies: [
                    agency("inps", "INPS"),
                    agency("inail", "INAIL"),
                    agency("cciaa", "CCIAA"),
                ],
                http,
                jwks: Jwks {
                    keys: RwLock::default(),
                    fetch: tokio::sync::Mutex::new(None),
                },
                jtis: Mutex::default(),
                es256: validation(Algorithm::ES256),
                rs256: validation(Algorithm::RS256),
                stop: watch::Sender::new(false),
            }),
        }
    }

    /// The simulator's routes, relative to its root (`base_url`).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/stats", get(stats))
            .route("/{agency}/pratiche", post(deliver).get(list))
            .route("/{agency}/pratiche/{key}", get(poll))
            .route("/{agency}/control", post(control).get(show_control))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "risorsa inesistente") })
            .with_state(self.clone())
    }

    /// Ends the hanging answers now (for a graceful shutdown).
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
    }

    fn agency(&self, segment: &str) -> Option<&Agency> {
        self.inner.agencies.iter().find(|a| a.segment == segment)
    }
}

/// Serves the demo agencies on `listener` until `shutdown` completes.
pub async fn serve(
    cfg: AgencyConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let agencies = DemoAgencies::new(cfg);
    let router = agencies.router();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            agencies.shutdown();
        })
        .await
}

impl Agency {
    fn lock(&self) -> MutexGuard<'_, AgencyState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_protocol(&self, st: &mut AgencyState) -> String {
        st.counter += 1;
        let year = jiff::Timestamp::now().to_zoned(rome().clone()).year();
        format!("{}-{year}-{:07}", self.prefix, st.counter)
    }
}

impl Inner {
    /// The checks of INTEGRITY_REST_01, cheapest first; `jti` is recorded
    /// last, so a refused request does not burn it.
    async fn verify(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        body_hash: &[u8; 32],
        idempotency_key: Option<&str>,
    ) -> Result<(), Refusal> {
        let bad = |m: &str| Refusal::Signature(m.to_string());
        let token = header(headers, "agid-jwt-signature")
            .ok_or_else(|| bad("intestazione Agid-JWT-Signature mancante"))?;
        let digest =
            header(headers, "digest").ok_or_else(|| bad("intestazione Digest mancante"))?;
        let head = jsonwebtoken::decode_header(token).map_err(|_| bad("firma illeggibile"))?;
        let validation = match head.alg {
            Algorithm::ES256 => &self.es256,
            Algorithm::RS256 => &self.rs256,
            _ => return Err(bad("algoritmo di firma non ammesso (solo ES256 o RS256)")),
        };
        let kid = head
            .kid
            .as_deref()
            .ok_or_else(|| bad("kid mancante nella firma"))?;
        let key = self.key(kid).await?;
        if key.alg != head.alg {
            return Err(bad("l'algoritmo della firma non è quello della chiave"));
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, validation)
            .map_err(|_| bad("firma non valida"))?
            .claims;

        if claims.iss.as_deref() != Some(self.portal_url.as_str()) {
            return Err(bad("emittente (iss) non riconosciuto"));
        }
        let path_and_query = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        let aud_ok = |a: &str| {
            a.strip_prefix(self.base_url.as_str())
                .is_some_and(|rest| rest == path_and_query)
        };
        let aud_matches = match &claims.aud {
            Some(Value::String(a)) => aud_ok(a),
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str().is_some_and(aud_ok)),
            _ => false,
        };
        if !aud_matches {
            return Err(bad("destinatario (aud) diverso dall'indirizzo richiesto"));
        }

        let now = now_secs();
        let (Some(iat), Some(nbf), Some(exp)) = (claims.iat, claims.nbf, claims.exp) else {
            return Err(bad("iat, nbf ed exp sono obbligatori"));
        };
        let (iat, nbf, exp) = (iat as i64, nbf as i64, exp as i64);
        if exp + LEEWAY_SECS < now {
            return Err(bad("firma scaduta (exp)"));
        }
        if nbf - LEEWAY_SECS > now {
            return Err(bad("firma non ancora valida (nbf)"));
        }
        if iat - LEEWAY_SECS > now {
            return Err(bad("firma emessa nel futuro (iat)"));
        }

        check_signed_headers(claims.signed_headers.as_ref(), headers, idempotency_key)
            .map_err(Refusal::Signature)?;
        if !digest_matches(digest, body_hash) {
            return Err(bad("il Digest non corrisponde al corpo della richiesta"));
        }

        let jti = claims
            .jti
            .filter(|j| !j.is_empty())
            .ok_or_else(|| bad("jti mancante"))?;
        let mut jtis = self.jtis.lock().unwrap_or_else(|e| e.into_inner());
        if now >= jtis.next_prune {
            jtis.seen.retain(|_, e| *e + LEEWAY_SECS >= now);
            jtis.next_prune = now + JTI_PRUNE_SECS;
        }
        if jtis.seen.contains_key(&jti) {
            return Err(bad("jti già utilizzato: richiesta ripetuta"));
        }
        jtis.seen.insert(jti, exp);
        Ok(())
    }

    fn cached_key(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        self.jwks
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
    }

    /// The key for `kid`, fetching the JWKS when it is not known yet.
    async fn key(&self, kid: &str) -> Result<Arc<VerifyKey>, Refusal> {
        if let Some(k) = self.cached_key(kid) {
            return Ok(k);
        }
        let unknown =
            || Refusal::Signature("chiave di firma sconosciuta (kid non pubblicato)".into());
        let mut last = self.jwks.fetch.lock().await;
        // Another request may have fetched it while this one waited.
        if let Some(k) = self.cached_key(kid) {
            return Ok(k);
        }
        if last.is_some_and(|t| t.elapsed() < JWKS_REFETCH) {
            return Err(unknown());
        }
        *last = Some(Instant::now());
        let keys = self.fetch_jwks().await.map_err(|e| {
            tracing::warn!(url = %self.jwks_url, error = %e, "demo agency: portal JWKS not readable");
            Refusal::Unverifiable(format!(
                "impossibile verificare la firma: JWKS del portale non leggibile ({e})"
            ))
        })?;
        let found = keys.get(kid).cloned();
        *self.jwks.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        found.ok_or_else(unknown)
    }

    async fn fetch_jwks(&self) -> Result<HashMap<String, Arc<VerifyKey>>, String> {
        let set: Value = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let list = set["keys"].as_array().ok_or("campo keys mancante")?;
        // Keys the library cannot read (another type, a future field) are
        // skipped rather than failing the whole set.
        let keys = list
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
                    (_, Some(KeyAlgorithm::ES256)) => Algorithm::ES256,
                    (_, Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                    (AlgorithmParameters::EllipticCurve(_), None) => Algorithm::ES256,
                    (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
                    _ => return None,
                };
                let key = DecodingKey::from_jwk(&jwk).ok()?;
                Some((kid, Arc::new(VerifyKey { key, alg })))
            })
            .collect();
        Ok(keys)
    }
}

/// Every entry of `signed_headers` must equal the header sent, and the
/// digest (plus content-type and idempotency-key on a delivery) must be there.
fn check_signed_headers(
    signed: Option<&Value>,
    headers: &HeaderMap,
    idempotency_key: Option<&str>,
) -> Result<(), String> {
    let list = signed
        .and_then(Value::as_array)
        .ok_or("signed_headers mancante o malformato")?;
    let (mut digest, mut content_type, mut key) = (false, false, false);
    for entry in list {
        let obj = entry.as_object().ok_or("signed_headers malformato")?;
        for (name, value) in obj {
            let value = value.as_str().ok_or("signed_headers malformato")?;
            let name = name.to_ascii_lowercase();
            if header(headers, &name) != Some(value) {
                return Err(format!(
                    "signed_headers: {name} diverso dall'intestazione inviata"
                ));
            }
            match name.as_str() {
                "digest" => digest = true,
                "content-type" => content_type = true,
                "idempotency-key" => key = true,
                _ => {}
            }
        }
    }
    let missing = if !digest {
        Some("digest")
    } else if idempotency_key.is_some() && !content_type {
        Some("content-type")
    } else if idempotency_key.is_some() && !key {
        Some("idempotency-key")
    } else {
        None
    };
    match missing {
        Some(m) => Err(format!("signed_headers non contiene {m}")),
        None => Ok(()),
    }
}

/// The fields of a delivery the agency uses.
struct Delivery {
    reference: String,
    callback_url: Option<String>,
}

fn parse_delivery(body: &[u8]) -> Result<Delivery, &'static str> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "il corpo non è un JSON valido")?;
    let obj = v
        .as_object()
        .ok_or("il corpo deve essere un oggetto JSON")?;
    let reference = obj
        .get("reference")
        .and_then(Value::as_str)
        .filter(|r| !r.trim().is_empty())
        .ok_or("campo reference mancante o non testuale")?;
    if !obj.get("data").is_some_and(Value::is_object) {
        return Err("campo data mancante o non oggetto");
    }
    let callback_url = match obj.get("callback_url") {
        None | Some(Value::Null) => None,
        Some(Value::String(u))
            if url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) =>
        {
            Some(u.clone())
        }
        Some(_) => return Err("campo callback_url non valido"),
    };
    Ok(Delivery {
        reference: reference.to_string(),
        callback_url,
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<&str, &'static str> {
    let key = headers
        .get("idempotency-key")
        .ok_or("intestazione Idempotency-Key mancante")?
        .to_str()
        .map_err(|_| "intestazione Idempotency-Key non valida")?;
    if key.is_empty() || key.len() > MAX_KEY_LEN || key.trim() != key {
        return Err("intestazione Idempotency-Key non valida");
    }
    Ok(key)
}

async fn read_body(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "corpo della richiesta troppo grande o illeggibile",
        )
    })
}

fn refused(agency: &Agency, r: Refusal) -> Response {
    match r {
        Refusal::Signature(m) => {
            agency.stats.bad_signatures.fetch_add(1, Ordering::Relaxed);
            tracing::info!(agency = agency.prefix, reason = %m, "demo agency: request refused");
            error(StatusCode::UNAUTHORIZED, m)
        }
        Refusal::Unverifiable(m) => error(StatusCode::SERVICE_UNAVAILABLE, m),
    }
}

/// What happens to a filing after the answer.
struct Plan {
    /// `later`: the protocol comes after this long.
    take_in_charge_after: Option<Duration>,
    /// The outcome, after this long from being taken in charge.
    outcome: Option<(FilingState, Duration, Arc<str>)>,
}

/// `POST /{agency}/pratiche`: a delivery.
async fn deliver(
    State(s): State<DemoAgencies>,
    Path(segment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(agency) = s.agency(&segment) else {
        return unknown_agency();
    };
    agency.stats.requests.fetch_add(1, Ordering::Relaxed);
    if agency.lock().settings.mode == Mode::Down {
        return down();
    }
    let key = match idempotency_key(&headers) {
        Ok(k) => k,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let hash: [u8; 32] = Sha256::digest(&body).into();
    if let Err(r) = s.inner.verify(&uri, &headers, &hash, Some(key)).await {
        return refused(agency, r);
    }
    let delivery = match parse_delivery(&body) {
        Ok(d) => d,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };

    let received_at = format!("{:.0}", jiff::Timestamp::now());
    let (status, reply, plan, hang) = {
        let mut st = agency.lock();
        if let Some(&i) = st.index.get(key) {
            agency.stats.repeats.fetch_add(1, Ordering::Relaxed);
            let f = &st.filings[i];
            if f.body_hash != hash {
                return error(
                    StatusCode::CONFLICT,
                    "chiave di idempotenza già usata per una pratica con contenuto diverso",
                );
            }
            return answer(StatusCode::OK, f.state_json());
        }
        let settings = st.settings.clone();
        let (state, protocol, reason) = match settings.mode {
            // Switched to down while this request was being verified.
            Mode::Down => return down(),
            Mode::Ok | Mode::Hang => (
                FilingState::TakenInCharge,
                Some(agency.next_protocol(&mut st)),
                None,
            ),
            Mode::Later => (FilingState::Received, None, None),
            Mode::Reject => (
                FilingState::Rejected,
                None,
                Some(settings.reject_reason.clone()),
            ),
        };
        let filing = Filing {
            key: key.to_string(),
            reference: delivery.reference,
            body_hash: hash,
            callback_url: delivery.callback_url,
            state,
            protocol,
            reason,
            received_at,
        };
        let reply = filing.state_json();
        let at = st.filings.len();
        st.index.insert(filing.key.clone(), at);
        st.filings.push(filing);
        let outcome = match settings.outcome {
            Outcome::None => None,
            Outcome::Accepted => Some(FilingState::Accepted),
            Outcome::Rejected => Some(FilingState::Rejected),
        };
        let plan = Plan {
            take_in_charge_after: (settings.mode == Mode::Later)
                .then(|| Duration::from_millis(settings.delay_ms)),
            outcome: outcome.filter(|_| settings.mode != Mode::Reject).map(|o| {
                (
                    o,
                    Duration::from_millis(settings.outcome_delay_ms),
                    settings.reject_reason.clone(),
                )
            }),
        };
        let (status, hang) = match settings.mode {
            Mode::Later => (StatusCode::ACCEPTED, None),
            Mode::Reject => (StatusCode::UNPROCESSABLE_ENTITY, None),
            Mode::Hang => (
                StatusCode::CREATED,
                Some(Duration::from_millis(settings.hang_ms)),
            ),
            _ => (StatusCode::CREATED, None),
        };
        (status, reply, plan, hang)
    };

    if plan.take_in_charge_after.is_some() || plan.outcome.is_some() {
        tokio::spawn(lifecycle(s.clone(), segment, key.to_string(), plan));
    }
    if let Some(hang) = hang {
        let mut stop = s.inner.stop.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(hang) => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
    }
    answer(status, reply)
}

fn down() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "servizio temporaneamente non disponibile",
    )
}

/// The protocol (for `later`) and the outcome, each followed by its callback.
/// One task per filing, so its callbacks arrive in order.
async fn lifecycle(s: DemoAgencies, segment: String, key: String, plan: Plan) {
    let Some(agency) = s.agency(&segment) else {
        return;
    };
    let mut first_callback = None;
    if let Some(delay) = plan.take_in_charge_after {
        tokio::time::sleep(delay).await;
        let news = {
            let mut st = agency.lock();
            match st.index.get(&key).copied() {
                Some(i) if st.filings[i].state == FilingState::Received => {
                    let protocol = agency.next_protocol(&mut st);
                    let f = &mut st.filings[i];
                    f.state = FilingState::TakenInCharge;
                    f.protocol = Some(protocol);
                    f.callback()
                }
                _ => None,
            }
        };
        if let Some((url, body)) = news {
            first_callback = Some(tokio::spawn(send_callback(
                s.clone(),
                segment.clone(),
                url,
                body,
            )));
        }
    }
    let Some((outcome, delay, reason)) = plan.outcome else {
        return;
    };
    tokio::time::sleep(delay).await;
    let news = {
        let mut st = agency.lock();
        match st.index.get(&key).copied() {
            Some(i) if st.filings[i].state == FilingState::TakenInCharge => {
                let f = &mut st.filings[i];
                f.state = outcome;
                if outcome == FilingState::Rejected {
                    f.reason = Some(reason);
                }
                f.callback()
            }
            _ => None,
        }
    };
    if let Some((url, body)) = news {
        if let Some(first) = first_callback {
            let _ = first.await;
        }
        send_callback(s, segment, url, body).await;
    }
}

/// Posts a state change to the portal, retrying transient failures.
async fn send_callback(s: DemoAgencies, segment: String, url: String, body: Value) {
    let Some(agency) = s.agency(&segment) else {
        return;
    };
    let mut attempt = 0;
    loop {
        let result = s
            .inner
            .http
            .post(&url)
            .bearer_auth(&s.inner.callback_token)
            .json(&body)
            .send()
            .await;
        let retry = match result {
            Ok(r) if r.status().is_success() => {
                agency.stats.callbacks_sent.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(r) => {
                let status = r.status();
                tracing::warn!(agency = agency.prefix, %url, %status, "demo agency: callback refused");
                status.is_server_error()
                    || status == StatusCode::REQUEST_TIMEOUT
                    || status == StatusCode::TOO_MANY_REQUESTS
            }
            Err(e) => {
                tracing::warn!(agency = agency.prefix, %url, error = %e, "demo agency: callback not delivered");
                true
            }
        };
        match CALLBACK_BACKOFF_MS.get(attempt) {
            Some(&ms) if retry => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            _ => {
                agency
                    .stats
                    .callbacks_failed
                    .fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// `GET /{agency}/pratiche/{key}`: polling, signed like a delivery.
async fn poll(
    State(s): State<DemoAgencies>,
    Path((segment, key)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(agency) = s.agency(&segment) else {
        return unknown_agency();
    };
    agency.stats.polls.fetch_add(1, Ordering::Relaxed);
    let empty: [u8; 32] = Sha256::digest(b"").into();
    if let Err(r) = s.inner.verify(&uri, &headers, &empty, None).await {
        return refused(agency, r);
    }
    let st = agency.lock();
    match st.index.get(&key) {
        Some(&i) => answer(StatusCode::OK, st.filings[i].state_json()),
        None => error(StatusCode::NOT_FOUND, "pratica inesistente"),
    }
}

/// `GET /{agency}/pratiche`: what the agency recorded, in arrival order.
async fn list(State(s): State<DemoAgencies>, Path(segment): Path<String>) -> Response {
    let Some(agency) = s.agency(&segment) else {
        return unknown_agency();
    };
    let st = agency.lock();
    let items: Vec<Value> = st
        .filings
        .iter()
        .map(|f| {
            json!({
                "idempotency_key": f.key,
                "reference": f.reference,
                "state": f.state.as_str(),
                "protocol": f.protocol,
                "received_at": f.received_at,
            })
        })
        .collect();
    answer(StatusCode::OK, Value::Array(items))
}

/// `GET /stats`: counters per agency, keyed by protocol prefix.
async fn stats(State(s): State<DemoAgencies>) -> Response {
    let mut out = Map::new();
    for a in &s.inner.agencies {
        let filings = a.lock().filings.len();
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.insert(
            a.prefix.to_string(),
            json!({
                "requests": n(&a.stats.requests),
                "filings": filings,
                "repeats": n(&a.stats.repeats),
                "bad_signatures": n(&a.stats.bad_signatures),
                "callbacks_sent": n(&a.stats.callbacks_sent),
                "callbacks_failed": n(&a.stats.callbacks_failed),
                "polls": n(&a.stats.polls),
            }),
        );
    }
    answer(StatusCode::OK, Value::Object(out))
}

async fn show_control(State(s): State<DemoAgencies>, Path(segment): Path<String>) -> Response {
    match s.agency(&segment) {
        Some(a) => answer(StatusCode::OK, a.lock().settings.to_json()),
        None => unknown_agency(),
    }
}

/// `POST /{agency}/control`: changes only the fields given; all or nothing.
async fn control(
    State(s): State<DemoAgencies>,
    Path(segment): Path<String>,
    body: Body,
) -> Response {
    let Some(agency) = s.agency(&segment) else {
        return unknown_agency();
    };
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let fields = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "il corpo deve essere un oggetto JSON",
                );
            }
        }
    };
    let mut st = agency.lock();
    let mut next = st.settings.clone();
    for (name, value) in &fields {
        let ms = || {
            value.as_u64().ok_or(format!(
                "{name}: atteso un intero non negativo (millisecondi)"
            ))
        };
        let applied = match name.as_str() {
            "mode" => value
                .as_str()
                .and_then(Mode::parse)
                .map(|m| next.mode = m)
                .ok_or_else(|| "mode: atteso ok, later, down, hang o reject".to_string()),
            "outcome" => value
                .as_str()
                .and_then(Outcome::parse)
                .map(|o| next.outcome = o)
                .ok_or_else(|| "outcome: atteso none, accepted o rejected".to_string()),
            "delay_ms" => ms().map(|v| next.delay_ms = v),
            "outcome_delay_ms" => ms().map(|v| next.outcome_delay_ms = v),
            "hang_ms" => ms().map(|v| next.hang_ms = v),
            "reject_reason" => value
                .as_str()
                .filter(|r| !r.trim().is_empty())
                .map(|r| next.reject_reason = Arc::from(r))
                .ok_or_else(|| "reject_reason: atteso un testo non vuoto".to_string()),
            other => Err(format!(
                "campo sconosciuto: {other} (ammessi: mode, delay_ms, outcome, outcome_delay_ms, hang_ms, reject_reason)"
            )),
        };
        if let Err(m) = applied {
            return error(StatusCode::BAD_REQUEST, m);
        }
    }
    st.settings = next;
    answer(StatusCode::OK, st.settings.to_json())
}
