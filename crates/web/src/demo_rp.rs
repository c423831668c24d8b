//! "Telecontenzioso", the demo relying party: a separate application served
//! by the same binary under `/demo/telecontenzioso`. It shares nothing with
//! the portal but its configuration: it talks to the provider only over
//! HTTP at `public_base_url` (discovery, token endpoint, JWKS), like any
//! external application, verifies the ID token itself (signature against the
//! JWKS, `iss`, `aud`, `exp`, `nonce`), and keeps its own sessions in memory
//! under its own cookie.
//!
//! It shows a fictional dispute to whoever holds a Telecontenzioso profile
//! (direct or implied) and the case-file documents only with the capability
//! `casefile.read`: the profile's own capabilities plus those of the profiles
//! that open Telecontenzioso (`profile.granted_by`, e.g. PTT).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sportello_app::demo::{DEMO_RP_PATH, DemoClient, demo_client};
use sportello_app::security::{random_token, same_secret};

use crate::Shared;
use crate::ctx::cookie;

const SESSION_COOKIE: &str = "telecontenzioso_session";
const LOGIN_COOKIE: &str = "telecontenzioso_login";
const APPLICATION: &str = "TELECONTENZIOSO";
const LOGIN_TTL: Duration = Duration::from_secs(600);
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(DEMO_RP_PATH, get(home))
        .route(&format!("{DEMO_RP_PATH}/accedi"), get(login))
        .route(&format!("{DEMO_RP_PATH}/callback"), get(callback))
        .route(&format!("{DEMO_RP_PATH}/esci"), post(logout))
}

/// A login in progress (keyed by `state`).
struct Pending {
    nonce: String,
    verifier: String,
    started: Instant,
}

/// A user logged in to the demo application.
#[derive(Clone)]
struct RpSession {
    claims: Value,
    id_token: String,
    csrf: String,
    started: Instant,
}

#[derive(Default)]
struct RpState {
    pending: HashMap<String, Pending>,
    sessions: HashMap<String, RpSession>,
}

impl RpState {
    fn prune(&mut self) {
        self.pending.retain(|_, p| p.started.elapsed() < LOGIN_TTL);
        self.sessions
            .retain(|_, s| s.started.elapsed() < SESSION_TTL);
    }
}

/// The relying party's own memory (not the portal's database).
fn rp_state() -> &'static Mutex<RpState> {
    static S: OnceLock<Mutex<RpState>> = OnceLock::new();
    S.get_or_init(Mutex::default)
}

fn with_state<T>(f: impl FnOnce(&mut RpState) -> T) -> T {
    let mut s = rp_state().lock().unwrap_or_else(|e| e.into_inner());
    s.prune();
    f(&mut s)
}

fn http() -> &'static reqwest::Client {
    static C: OnceLock<reqwest::Client> = OnceLock::new();
    C.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client")
    })
}

fn rp_cookie(state: &Shared, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={DEMO_RP_PATH}; SameSite=Lax; HttpOnly");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.app.config.cookies_secure() {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub struct Document {
    pub title: &'static str,
    pub date: &'static str,
    pub filed_by: &'static str,
}

const DOCUMENTS: &[Document] = &[
    Document {
        title: "Ricorso introduttivo con allegati",
        date: "12/01/2026",
        filed_by: "Estense Costruzioni S.r.l. (avv. Giovanni Rossi)",
    },
    Document {
        title: "Controdeduzioni dell'ente impositore",
        date: "10/03/2026",
        filed_by: "Comune di Ferrara - Servizio tributi",
    },
    Document {
        title: "Sentenza n. 45/2026 (deposito)",
        date: "22/04/2026",
        filed_by: "Corte di giustizia tributaria di primo grado di Ferrara",
    },
];

#[derive(Template)]
#[template(path = "demo_rp.html")]
struct RpPage {
    title: String,
    /// A message (errors, logout).
    message: Option<String>,
    user: Option<UserView>,
    documents: &'static [Document],
}

pub struct UserView {
    pub name: String,
    pub fiscal_code: String,
    pub organization: String,
    pub profile: String,
    pub source: String,
    pub capabilities: String,
    pub dispute: bool,
    pub casefile: bool,
    pub csrf: String,
}

fn page(status: StatusCode, p: RpPage) -> Response {
    match p.render() {
        Ok(html) => {
            let mut res = (status, axum::response::Html(html)).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("template: {e}")).into_response(),
    }
}

fn message(status: StatusCode, title: &str, text: impl Into<String>) -> Response {
    page(
        status,
        RpPage {
            title: title.into(),
            message: Some(text.into()),
            user: None,
            documents: DOCUMENTS,
        },
    )
}

fn unavailable(detail: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %detail, "demo relying party: provider not usable");
    message(
        StatusCode::BAD_GATEWAY,
        "Accesso non riuscito",
        format!("Non è stato possibile completare l'accesso tramite il portale: {detail}."),
    )
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The capabilities the user has in Telecontenzioso: those of the profile
/// plus those of the profiles that open it (`granted_by`).
fn capabilities(claims: &Value) -> BTreeSet<String> {
    let profile = &claims["profile"];
    let mut caps: BTreeSet<String> = str_list(&profile["capabilities"]).into_iter().collect();
    if let Some(list) = profile["granted_by"].as_array() {
        for g in list {
            caps.extend(str_list(&g["capabilities"]));
        }
    }
    caps
}

fn user_view(s: &RpSession) -> UserView {
    let c = &s.claims;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let caps = capabilities(c);
    let profile = &c["profile"];
    let mut source = match profile["source"].as_str() {
        Some("direct") => "abilitazione diretta".to_string(),
        Some("implied") => "compreso in un altro profilo".to_string(),
        Some("delegated") => "subdelega".to_string(),
        _ => String::new(),
    };
    let granted: Vec<String> = profile["granted_by"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| format!("{} - {}", text(&g["application_name"]), text(&g["name"])))
                .collect()
        })
        .unwrap_or_default();
    if !granted.is_empty() {
        source.push_str(&format!("; anche tramite {}", granted.join(", ")));
    }
    UserView {
        name: format!("{} {}", text(&c["given_name"]), text(&c["family_name"])),
        fiscal_code: text(&c["fiscal_number"]),
        organization: text(&c["organization"]["name"]),
        profile: text(&profile["name"]),
        source,
        capabilities: caps.iter().cloned().collect::<Vec<_>>().join(", "),
        dispute: profile["application"] == APPLICATION,
        casefile: profile["application"] == APPLICATION && caps.contains("casefile.read"),
        csrf: s.csrf.clone(),
    }
}

fn current_session(headers: &HeaderMap) -> Option<(String, RpSession)> {
    let sid = cookie(headers, SESSION_COOKIE)?;
    with_state(|s| s.sessions.get(&sid).cloned()).map(|x| (sid, x))
}

async fn home(headers: HeaderMap, Query(q): Query<HomeQuery>) -> Response {
    match current_session(&headers) {
        Some((_, s)) => page(
            StatusCode::OK,
            RpPage {
                title: "Le tue controversie".into(),
                message: None,
                user: Some(user_view(&s)),
                documents: DOCUMENTS,
            },
        ),
        None => page(
            StatusCode::OK,
            RpPage {
                title: "Telecontenzioso".into(),
                message: (q.state.as_deref() == Some("uscito"))
                    .then(|| "Sei uscito da Telecontenzioso e dal portale Sportello.".to_string()),
                user: None,
                documents: DOCUMENTS,
            },
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HomeQuery {
    /// `uscito`: back from the provider's logout.
    state: Option<String>,
}

/// The provider's discovery document, checked against the configured issuer.
async fn discovery(state: &Shared) -> Result<Value, String> {
    let issuer = state.app.oidc_issuer();
    let d: Value = http()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("documento di discovery non raggiungibile ({e})"))?
        .json()
        .await
        .map_err(|e| format!("documento di discovery non valido ({e})"))?;
    if d["issuer"].as_str() != Some(issuer.as_str()) {
        return Err("l'emittente del documento di discovery non è quello atteso".into());
    }
    Ok(d)
}

fn client(state: &Shared) -> Result<DemoClient, String> {
    demo_client(&state.app.config)
        .ok_or_else(|| "l'applicazione dimostrativa non è registrata (avvia con --demo)".into())
}

async fn login(State(state): State<Shared>) -> Response {
    let c = match client(&state) {
        Ok(c) => c,
        Err(e) => return unavailable(e),
    };
    let d = match discovery(&state).await {
        Ok(d) => d,
        Err(e) => return unavailable(e),
    };
    let Some(endpoint) = d["authorization_endpoint"].as_str() else {
        return unavailable("authorization_endpoint mancante");
    };
    let st = random_token();
    let nonce = random_token();
    let verifier = random_token(); // 64 hex characters: a valid PKCE verifier
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let Ok(mut url) = url::Url::parse(endpoint) else {
        return unavailable("authorization_endpoint non valido");
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &c.client_id)
        .append_pair("redirect_uri", &c.redirect_uri)
        .append_pair("scope", "openid profile")
        .append_pair("state", &st)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    with_state(|s| {
        s.pending.insert(
            st.clone(),
            Pending {
                nonce,
                verifier,
                started: Instant::now(),
            },
        )
    });
    let mut res = Redirect::to(url.as_str()).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        rp_cookie(&state, LOGIN_COOKIE, &st, Some(LOGIN_TTL.as_secs() as i64)),
    );
    res
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    // The state must be the one this browser started (login CSRF).
    let bound = cookie(&headers, LOGIN_COOKIE);
    let st = q.state.clone().unwrap_or_default();
    let pending = match bound {
        Some(b) if !st.is_empty() && same_secret(&b, &st) => with_state(|s| s.pending.remove(&st)),
        _ => None,
    };
    let Some(pending) = pending else {
        return message(
            StatusCode::BAD_REQUEST,
            "Accesso non riuscito",
            "La risposta del portale non corrisponde a un accesso avviato da questo browser (o è scaduta). Riprova dalla pagina iniziale.",
        );
    };
    let issuer = state.app.oidc_issuer();
    if q.iss.as_deref() != Some(issuer.as_str()) {
        return message(
            StatusCode::BAD_REQUEST,
            "Accesso non riuscito",
            "La risposta non proviene dal portale atteso.",
        );
    }
    if let Some(e) = q.error {
        return message(
            StatusCode::FORBIDDEN,
            "Accesso non riuscito",
            format!(
                "Il portale ha rifiutato l'accesso: {} ({e}).",
                q.error_description.unwrap_or_default()
            ),
        );
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Accesso non riuscito",
            "Codice di autorizzazione mancante.",
        );
    };
    let claims = match exchange(&state, &code, &pending).await {
        Ok(c) => c,
        Err(e) => return unavailable(e),
    };
    let sid = random_token();
    with_state(|s| {
        s.sessions.insert(
            sid.clone(),
            RpSession {
                claims: claims.0,
                id_token: claims.1,
                csrf: random_token(),
                started: Instant::now(),
            },
        )
    });
    let mut res = Redirect::to(DEMO_RP_PATH).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        rp_cookie(&state, SESSION_COOKIE, &sid, None),
    );
    h.append(
        header::SET_COOKIE,
        rp_cookie(&state, LOGIN_COOKIE, "", Some(0)),
    );
    res
}

/// Code for tokens at the token endpoint (client_secret_basic + PKCE), then
/// the ID token verified against the JWKS. Returns (claims, ID token).
async fn exchange(
    state: &Shared,
    code: &str,
    pending: &Pending,
) -> Result<(Value, String), String> {
    let c = client(state)?;
    let d = discovery(state).await?;
    let token_endpoint = d["token_endpoint"]
        .as_str()
        .ok_or("token_endpoint mancante")?;
    let jwks_uri = d["jwks_uri"].as_str().ok_or("jwks_uri mancante")?;
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let res = http()
        .post(token_endpoint)
        .basic_auth(enc(&c.client_id), Some(enc(&c.client_secret)))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", c.redirect_uri.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await
        .map_err(|e| format!("endpoint dei token non raggiungibile ({e})"))?;
    let status = res.status();
    let body: Value = res
        .json()
        .await
        .map_err(|e| format!("risposta dell'endpoint dei token non valida ({e})"))?;
    if !status.is_success() {
        return Err(format!(
            "l'endpoint dei token ha risposto {status}: {}",
            body["error_description"].as_str().unwrap_or_default()
        ));
    }
    let id_token = body["id_token"]
        .as_str()
        .ok_or("ID token mancante")?
        .to_string();
    let jwks: JwkSet = http()
        .get(jwks_uri)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("JWKS non raggiungibile ({e})"))?
        .json()
        .await
        .map_err(|e| format!("JWKS non valido ({e})"))?;
    let claims = verify_id_token(&id_token, &jwks, &state.app.oidc_issuer(), &c.client_id)?;
    if claims["nonce"].as_str() != Some(pending.nonce.as_str()) {
        return Err("il nonce dell'ID token non corrisponde".into());
    }
    Ok((claims, id_token))
}

/// Signature (a key of the JWKS, RS256 or ES256), issuer, audience, expiry.
fn verify_id_token(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
) -> Result<Value, String> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| format!("ID token illeggibile ({e})"))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(format!(
            "algoritmo dell'ID token non ammesso ({:?})",
            header.alg
        ));
    }
    let kid = header.kid.as_deref().ok_or("ID token senza kid")?;
    let jwk = jwks
        .find(kid)
        .ok_or("chiave dell'ID token non pubblicata")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("chiave non valida ({e})"))?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = 30;
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| format!("ID token non valido ({e})"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogoutForm {
    csrf_token: String,
}

/// Ends the local session, then RP-initiated logout at the provider.
async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<LogoutForm>,
) -> Response {
    let Some((sid, s)) = current_session(&headers) else {
        return Redirect::to(DEMO_RP_PATH).into_response();
    };
    if !same_secret(&s.csrf, &f.csrf_token) {
        return message(
            StatusCode::FORBIDDEN,
            "Richiesta non valida",
            "Il modulo è scaduto: ricarica la pagina e riprova.",
        );
    }
    with_state(|st| st.sessions.remove(&sid));
    let issuer = state.app.oidc_issuer();
    let end = match discovery(&state).await {
        Ok(d) => d["end_session_endpoint"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{issuer}/oidc/logout")),
        Err(_) => format!("{issuer}/oidc/logout"),
    };
    let target = match url::Url::parse(&end) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("id_token_hint", &s.id_token)
                .append_pair(
                    "post_logout_redirect_uri",
                    &format!("{issuer}{DEMO_RP_PATH}"),
                )
                .append_pair("state", "uscito");
            u.to_string()
        }
        Err(_) => DEMO_RP_PATH.to_string(),
    };
    let mut res = Redirect::to(&target).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        rp_cookie(&state, SESSION_COOKIE, "", Some(0)),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn casefile_needs_the_capability_from_the_profile_or_an_opening_one() {
        let s = |claims: Value| RpSession {
            claims,
            id_token: String::new(),
            csrf: String::new(),
            started: Instant::now(),
        };
        let only = user_view(&s(json!({ "profile": {
            "application": "TELECONTENZIOSO", "capabilities": ["dispute.read"], "granted_by": [] } })));
        assert!(only.dispute && !only.casefile);
        let ptt = user_view(&s(json!({ "profile": {
            "application": "TELECONTENZIOSO", "capabilities": ["dispute.read"],
            "granted_by": [ { "application": "PTT", "capabilities": ["casefile.read"] } ] } })));
        assert!(ptt.dispute && ptt.casefile);
        let other = user_view(&s(json!({ "profile": {
            "application": "PTT", "capabilities": ["casefile.read"] } })));
        assert!(!other.dispute && !other.casefile);
    }
}
