//! The OpenID Connect provider: single sign-on for the applications of the
//! catalogue, with the user's profile in the ID token.
//!
//! * Keys: one active RS256 and one active ES256 key, generated with aws-lc-rs
//!   when none is active; `rotate_keys` retires them (they stay in the JWKS for
//!   `oidc.retired_key_hours`) and makes new ones.
//! * Clients belong to an application of the catalogue; only users who hold a
//!   profile of that application (directly, implied or sub-delegated) get a code.
//! * Codes, refresh tokens and client secrets are 256-bit random values stored
//!   as SHA-256: a slow hash adds nothing to a secret that cannot be guessed,
//!   and would make every token request an argon2 computation (a denial of
//!   service lever). Comparison of hashes is constant-time.
//! * A grant (one per code exchange) is the family of its tokens: replaying a
//!   used code or reusing a rotated refresh token revokes the whole family.
//! * Access tokens are signed JWTs (`typ: at+jwt`, RS256) checked against the
//!   grant at `userinfo` and `introspect`, so revocation is immediate.
//!
//! Claims (ID token and userinfo; `email` only with scope `email`):
//! ```json
//! { "sub": "<opaque, stable per user>",
//!   "fiscal_number": "VRDNNA82D50D548K",
//!   "https://attributes.eid.gov.it/fiscal_number": "TINIT-VRDNNA82D50D548K",
//!   "given_name": "Anna", "family_name": "Verdi", "email": "...",
//!   "organization": { "code": "...", "name": "..." },
//!   "profile": { "application": "PTT", "application_name": "...", "code": "...",
//!                "name": "...", "source": "direct|implied|delegated",
//!                "capabilities": ["..."],
//!                "granted_by": [ { "application": "PTT", "code": "...", "name": "...",
//!                                  "capabilities": ["..."] } ] },
//!   "implied_profiles": [ { "application": "TELECONTENZIOSO", "application_name": "...",
//!                           "code": "...", "name": "...", "capabilities": ["..."] } ] }
//! ```

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sportello_core::authz::Action;
use sportello_store::oidc::{self as store, Client, SigningKey};
use sportello_store::{AnyConnection, Db, StoreError, catalogue, directory, outbox, sessions};

use crate::security::{random_token, same_secret, token_hash};
use crate::{App, AppError, Origin, SessionUser, now_micros, record};

/// Outbox kind of a back-channel logout delivery.
pub const OUTBOX_KIND: &str = "oidc.backchannel_logout";
pub const SCOPES: &[&str] = &["openid", "profile", "email"];
pub const ALGS: &[&str] = &["RS256", "ES256"];
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const SECOND: i64 = 1_000_000;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        message: message.into(),
    }
}

fn alg_of(name: &str) -> Option<Algorithm> {
    match name {
        "RS256" => Some(Algorithm::RS256),
        "ES256" => Some(Algorithm::ES256),
        _ => None,
    }
}

/// PKCS#8 DER to PEM text.
fn pkcs8_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

fn encoding_key(k: &SigningKey) -> Result<EncodingKey, AppError> {
    match k.alg.as_str() {
        "RS256" => EncodingKey::from_rsa_pem(k.private_pem.as_bytes()).map_err(internal),
        "ES256" => EncodingKey::from_ec_pem(k.private_pem.as_bytes()).map_err(internal),
        other => Err(internal(format!("algoritmo di firma sconosciuto {other}"))),
    }
}

/// The active signing key of `alg` (published in the JWKS).
pub(crate) async fn active_key(db: &Db, alg: &str) -> Result<SigningKey, AppError> {
    store::published_keys(db, i64::MAX)
        .await?
        .into_iter()
        .find(|k| k.alg == alg && k.retired_at.is_none())
        .ok_or_else(|| internal(format!("nessuna chiave {alg} attiva")))
}

/// A compact JWS of `claims` with the key's `kid` and the given `typ`.
pub(crate) fn sign_jws(key: &SigningKey, typ: &str, claims: &Value) -> Result<String, AppError> {
    JwsSigner::new(key, typ)?.sign(claims)
}

/// A signing key parsed once, with its JWS header already encoded, for
/// callers that sign many times. (`jsonwebtoken::encode` parses the private
/// key on every call, which for ECDSA costs as much as the signature.)
pub(crate) struct JwsSigner {
    /// `BASE64URL(header) "."`
    head: String,
    key: KeyPair,
}

enum KeyPair {
    Es256(aws_lc_rs::signature::EcdsaKeyPair),
    Rs256(aws_lc_rs::rsa::KeyPair),
}

impl JwsSigner {
    pub(crate) fn new(key: &SigningKey, typ: &str) -> Result<JwsSigner, AppError> {
        let mut header = Header::new(alg_of(&key.alg).ok_or_else(|| internal("alg"))?);
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.into());
        let der = pem_der(&key.private_pem)?;
        let key = match header.alg {
            Algorithm::ES256 => KeyPair::Es256(
                aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &der,
                )
                .map_err(internal)?,
            ),
            _ => KeyPair::Rs256(aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).map_err(internal)?),
        };
        let mut head = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(internal)?);
        head.push('.');
        Ok(JwsSigner { head, key })
    }

    /// `BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(signature)`
    pub(crate) fn sign<T: Serialize + ?Sized>(&self, claims: &T) -> Result<String, AppError> {
        let claims = serde_json::to_vec(claims).map_err(internal)?;
        let mut out = String::with_capacity(self.head.len() + claims.len() * 4 / 3 + 360);
        out.push_str(&self.head);
        URL_SAFE_NO_PAD.encode_string(&claims, &mut out);
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signature = match &self.key {
            KeyPair::Es256(k) => k
                .sign(&rng, out.as_bytes())
                .map_err(internal)?
                .as_ref()
                .to_vec(),
            KeyPair::Rs256(k) => {
                let mut signature = vec![0; k.public_modulus_len()];
                k.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    out.as_bytes(),
                    &mut signature,
                )
                .map_err(internal)?;
                signature
            }
        };
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        Ok(out)
    }
}

/// The DER inside a PEM block (the stored keys are PKCS#8).
fn pem_der(pem: &str) -> Result<Vec<u8>, AppError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).map_err(internal)
}

/// Generates a signing key for `alg` (aws-lc-rs) with its public JWK.
pub fn generate_key(alg: &str, now: i64) -> Result<SigningKey, AppError> {
    use aws_lc_rs::encoding::AsDer;
    let der: Vec<u8> = match alg {
        "RS256" => aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(internal)?
            .as_der()
            .map_err(internal)?
            .as_ref()
            .to_vec(),
        "ES256" => aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        )
        .map_err(internal)?
        .to_pkcs8v1()
        .map_err(internal)?
        .as_ref()
        .to_vec(),
        other => return Err(internal(format!("algoritmo non supportato {other}"))),
    };
    let mut key = SigningKey {
        kid: format!("{}-{}", alg.to_ascii_lowercase(), &random_token()[..16]),
        alg: alg.to_string(),
        private_pem: pkcs8_pem(&der),
        public_jwk: String::new(),
        created_at: now,
        retired_at: None,
    };
    let algorithm = alg_of(alg).ok_or_else(|| internal("alg"))?;
    let mut jwk = Jwk::from_encoding_key(&encoding_key(&key)?, algorithm).map_err(internal)?;
    jwk.common.key_id = Some(key.kid.clone());
    jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
    key.public_jwk = serde_json::to_string(&jwk).map_err(internal)?;
    Ok(key)
}

/// Input of `register_oidc_client`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ClientInput {
    pub application_id: i64,
    pub name: String,
    /// A public client (a browser or native app) has no secret and must use PKCE.
    #[serde(default)]
    pub public: bool,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Empty = `openid profile email`.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// `RS256` (default) or `ES256`.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RegisteredClient {
    pub client_id: String,
    /// Shown once, for confidential clients; only its hash is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// An absolute https URI (or http on loopback, for development) without fragment.
pub fn check_uri(field: &'static str, uri: &str) -> Result<(), AppError> {
    let u = url::Url::parse(uri)
        .map_err(|e| invalid(field, format!("«{uri}» non è un URI valido: {e}")))?;
    if u.fragment().is_some() {
        return Err(invalid(
            field,
            format!("«{uri}» non può contenere un frammento (#)"),
        ));
    }
    let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match u.scheme() {
        "https" if u.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid(
            field,
            format!("«{uri}» deve essere https:// (http:// solo per 127.0.0.1 o localhost)"),
        )),
    }
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// An OAuth 2.0 error (RFC 6749 §5.2): code, description, HTTP status.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }
    fn grant(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", description)
    }
    fn request(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", description)
    }
    fn client() -> Self {
        Self::new(
            401,
            "invalid_client",
            "autenticazione del client non riuscita",
        )
    }
}

impl From<AppError> for OAuthError {
    fn from(e: AppError) -> Self {
        let reference = &uuid::Uuid::new_v4().simple().to_string()[..12];
        tracing::error!(error_ref = reference, error = %e, "OIDC internal error");
        OAuthError::new(
            500,
            "server_error",
            format!("errore interno, riferimento {reference}"),
        )
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

/// How a client authenticated at the token, revoke or introspect endpoint.
#[derive(Debug, Default, Clone)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// From `Authorization: Basic` (client_secret_basic).
    pub basic: bool,
}

/// Parameters of `/oidc/authorize`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// What `/oidc/authorize` answers.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// A page, never a redirect: the redirect URI could not be trusted.
    BadRequestPage(String),
    /// The user is not enabled to the client's application.
    NotEnabledPage { application: String },
    /// Log in first, then come back.
    Login,
    /// Redirect to the client (code or error), already built.
    Redirect(String),
}

/// Parameters of `/oidc/token`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    pub refresh_token: String,
    pub scope: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    /// The grant (token family) the token belongs to.
    pub gid: String,
}

/// S256 PKCE: BASE64URL(SHA256(verifier)).
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => uri.to_string(),
    }
}

impl App {
    /// The issuer: the portal's public address.
    pub fn oidc_issuer(&self) -> String {
        self.config
            .public_base_url
            .trim_end_matches('/')
            .to_string()
    }

    /// Makes an RS256 and an ES256 key when none is active (at start-up and
    /// lazily). Returns how many were made.
    pub async fn oidc_ensure_keys(&self) -> Result<usize, AppError> {
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let mut made = 0;
        for alg in ALGS {
            if store::active_key_count(&mut tx, alg).await? == 0 {
                let key = generate_key(alg, now)?;
                store::insert_key(&mut tx, &key).await?;
                made += 1;
            }
        }
        if made > 0 {
            record(
                &mut tx,
                "system",
                None,
                "oidc.keys_created",
                "oidc:keys",
                "{}",
                &Origin::default(),
                now,
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(made)
    }

    /// Retires the active keys and makes new ones; the old ones stay published
    /// for `oidc.retired_key_hours` so tokens they signed still verify.
    pub async fn oidc_rotate_keys(&self, origin: &Origin) -> Result<Vec<String>, AppError> {
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let mut kids = Vec::new();
        for alg in ALGS {
            store::retire_keys(&mut tx, alg, now).await?;
            let key = generate_key(alg, now)?;
            store::insert_key(&mut tx, &key).await?;
            kids.push(key.kid);
        }
        let detail = json!({ "new_kids": kids }).to_string();
        record(
            &mut tx,
            "system:cli",
            None,
            "oidc.rotate_keys",
            "oidc:keys",
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(kids)
    }

    async fn oidc_keys(&self) -> Result<Vec<SigningKey>, AppError> {
        let since = now_micros() - self.config.oidc.retired_key_hours * 3600 * SECOND;
        let keys = store::published_keys(&self.db, since).await?;
        if ALGS
            .iter()
            .all(|a| keys.iter().any(|k| k.alg == *a && k.retired_at.is_none()))
        {
            return Ok(keys);
        }
        self.oidc_ensure_keys().await?;
        Ok(store::published_keys(&self.db, since).await?)
    }

    /// The active key of an algorithm.
    async fn oidc_signing_key(&self, alg: &str) -> Result<SigningKey, AppError> {
        self.oidc_keys()
            .await?
            .into_iter()
            .find(|k| k.alg == alg && k.retired_at.is_none())
            .ok_or_else(|| internal(format!("nessuna chiave {alg} attiva")))
    }

    /// The published keys, as a JWK Set.
    pub async fn oidc_jwks(&self) -> Result<Value, AppError> {
        let keys: Vec<Value> = self
            .oidc_keys()
            .await?
            .iter()
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        Ok(json!({ "keys": keys }))
    }

    /// The discovery document.
    pub fn oidc_discovery(&self) -> Value {
        let iss = self.oidc_issuer();
        json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/oidc/authorize"),
            "token_endpoint": format!("{iss}/oidc/token"),
            "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
            "jwks_uri": format!("{iss}/oidc/jwks"),
            "revocation_endpoint": format!("{iss}/oidc/revoke"),
            "introspection_endpoint": format!("{iss}/oidc/introspect"),
            "end_session_endpoint": format!("{iss}/oidc/logout"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ALGS,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
                "fiscal_number", "https://attributes.eid.gov.it/fiscal_number", "given_name",
                "family_name", "email", "organization", "profile", "implied_profiles"],
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": false,
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        })
    }

    /// Registers a client of an application (central administrator only).
    pub async fn register_oidc_client(
        &self,
        who: Option<&SessionUser>,
        input: &ClientInput,
        origin: &Origin,
    ) -> Result<RegisteredClient, AppError> {
        self.authorize(who, &Action::ManageCatalogue)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(invalid(
                "name",
                "il nome è obbligatorio (al massimo 200 caratteri)",
            ));
        }
        let app = catalogue::applications(&self.db)
            .await?
            .into_iter()
            .find(|a| a.id == input.application_id)
            .ok_or_else(|| invalid("application_id", "applicazione sconosciuta"))?;
        if input.redirect_uris.is_empty() || input.redirect_uris.len() > 20 {
            return Err(invalid("redirect_uris", "da 1 a 20 URI di ritorno"));
        }
        for u in &input.redirect_uris {
            check_uri("redirect_uris", u)?;
        }
        for u in &input.post_logout_redirect_uris {
            check_uri("post_logout_redirect_uris", u)?;
        }
        if let Some(u) = &input.backchannel_logout_uri {
            check_uri("backchannel_logout_uri", u)?;
        }
        let scopes: Vec<String> = if input.scopes.is_empty() {
            SCOPES.iter().map(|s| s.to_string()).collect()
        } else {
            input.scopes.clone()
        };
        if let Some(s) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
            return Err(invalid("scopes", format!("scope non supportato «{s}»")));
        }
        if !scopes.iter().any(|s| s == "openid") {
            return Err(invalid("scopes", "lo scope «openid» è necessario"));
        }
        let alg = input
            .id_token_signed_response_alg
            .clone()
            .unwrap_or_else(|| "RS256".into());
        if !ALGS.contains(&alg.as_str()) {
            return Err(invalid(
                "id_token_signed_response_alg",
                "sono ammessi RS256 ed ES256",
            ));
        }
        let client_id = format!("sp-{}", &random_token()[..24]);
        let secret = (!input.public).then(random_token);
        let now = now_micros();
        let client = Client {
            client_id: client_id.clone(),
            secret_hash: secret.as_deref().map(token_hash),
            application_id: app.id,
            name: name.to_string(),
            is_public: input.public as i64,
            redirect_uris: serde_json::to_string(&input.redirect_uris).map_err(internal)?,
            post_logout_redirect_uris: serde_json::to_string(&input.post_logout_redirect_uris)
                .map_err(internal)?,
            scopes: scopes.join(" "),
            id_token_alg: alg,
            backchannel_logout_uri: input.backchannel_logout_uri.clone(),
            created_at: now,
            revoked_at: None,
        };
        let mut tx = self.db.begin_write().await?;
        store::insert_client(&mut tx, &client, Some(who.user.id)).await?;
        let detail = json!({
            "application": app.code, "name": client.name, "public": input.public,
            "redirect_uris": input.redirect_uris,
        })
        .to_string();
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "oidc.client_register",
            &format!("oidc_client:{client_id}"),
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(RegisteredClient {
            client_id,
            client_secret: secret,
        })
    }

    /// The authorization endpoint.
    pub async fn oidc_authorize(
        &self,
        session: Option<&SessionUser>,
        req: &AuthorizeRequest,
        origin: &Origin,
    ) -> Result<AuthorizeOutcome, AppError> {
        use AuthorizeOutcome::*;
        let Some(client_id) = req.client_id.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(BadRequestPage(
                "La richiesta non indica l'applicazione (client_id mancante).".into(),
            ));
        };
        let Some(client) = store::client(&self.db, client_id).await? else {
            return Ok(BadRequestPage(format!(
                "L'applicazione «{client_id}» non è registrata presso il portale."
            )));
        };
        let Some(redirect_uri) = req.redirect_uri.as_deref().filter(|r| !r.is_empty()) else {
            return Ok(BadRequestPage(
                "La richiesta non indica l'indirizzo di ritorno (redirect_uri mancante).".into(),
            ));
        };
        if !json_list(&client.redirect_uris)
            .iter()
            .any(|u| u == redirect_uri)
        {
            return Ok(BadRequestPage(format!(
                "L'indirizzo di ritorno «{redirect_uri}» non è registrato per l'applicazione «{}»: per sicurezza il portale non vi rimanda.",
                client.name
            )));
        }
        let iss = self.oidc_issuer();
        let state = req.state.clone().unwrap_or_default();
        let fail = |error: &str, description: &str| {
            let mut p = vec![
                ("error", error),
                ("error_description", description),
                ("iss", iss.as_str()),
            ];
            if !state.is_empty() {
                p.push(("state", state.as_str()));
            }
            Ok(Redirect(with_params(redirect_uri, &p)))
        };
        if req.request.is_some() {
            return fail(
                "request_not_supported",
                "il parametro request non è supportato",
            );
        }
        if req.request_uri.is_some() {
            return fail(
                "request_uri_not_supported",
                "il parametro request_uri non è supportato",
            );
        }
        if req.response_type.as_deref() != Some("code") {
            return fail(
                "unsupported_response_type",
                "è supportato solo response_type=code",
            );
        }
        let scope = req.scope.clone().unwrap_or_default();
        let scopes: Vec<&str> = scope.split_whitespace().collect();
        if !scopes.contains(&"openid") {
            return fail("invalid_scope", "lo scope openid è obbligatorio");
        }
        let allowed: Vec<&str> = client.scopes.split_whitespace().collect();
        if let Some(s) = scopes.iter().find(|s| !allowed.contains(s)) {
            return fail("invalid_scope", &format!("scope non consentito: {s}"));
        }
        match (
            req.code_challenge.as_deref(),
            req.code_challenge_method.as_deref(),
        ) {
            (None, None) if client.is_public == 1 => {
                return fail(
                    "invalid_request",
                    "PKCE (code_challenge con S256) è obbligatorio",
                );
            }
            (None, None) => {}
            (Some(c), Some("S256")) if c.len() == 43 && URL_SAFE_NO_PAD.decode(c).is_ok() => {}
            (Some(_), Some("S256")) => return fail("invalid_request", "code_challenge non valido"),
            (Some(_), None) | (Some(_), Some("plain")) => {
                return fail(
                    "invalid_request",
                    "code_challenge_method deve essere S256 (plain non è ammesso)",
                );
            }
            _ => return fail("invalid_request", "code_challenge_method non supportato"),
        }
        if req.nonce.as_ref().is_some_and(|n| n.len() > 512) || state.len() > 1024 {
            return fail("invalid_request", "nonce o state troppo lunghi");
        }
        let Some(session) = session else {
            if req.prompt.as_deref() == Some("none") {
                return fail("login_required", "accesso al portale richiesto");
            }
            return Ok(Login);
        };
        let now = now_micros();
        let held = catalogue::held_profiles(&self.db, session.user.id, now).await?;
        if !held
            .iter()
            .any(|h| h.application_id == client.application_id)
        {
            let application = catalogue::applications(&self.db)
                .await?
                .into_iter()
                .find(|a| a.id == client.application_id)
                .map(|a| a.name)
                .unwrap_or_default();
            tracing::info!(
                user = session.user.id,
                client = client_id,
                "OIDC: user not enabled to the application"
            );
            return Ok(NotEnabledPage { application });
        }
        let auth_time = sessions::find(&self.db, &session.session_hash)
            .await?
            .map(|s| s.created_at)
            .unwrap_or(now);
        let code = random_token();
        let mut tx = self.db.begin_write().await?;
        store::insert_code(
            &mut tx,
            &store::Code {
                code_hash: token_hash(&code),
                client_id: client.client_id.clone(),
                user_id: session.user.id,
                redirect_uri: redirect_uri.to_string(),
                scope: scopes.join(" "),
                nonce: req.nonce.clone(),
                code_challenge: req.code_challenge.clone(),
                code_challenge_method: req.code_challenge_method.clone(),
                auth_time,
                session_hash: session.session_hash.clone(),
                created_at: now,
                expires_at: now + self.config.oidc.code_seconds * SECOND,
                used_at: None,
                grant_id: None,
            },
        )
        .await?;
        record(
            &mut tx,
            &format!("user:{}", session.user.id),
            session.user.organization_id,
            "oidc.authorize",
            &format!("oidc_client:{}", client.client_id),
            &json!({ "scope": scope }).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let mut p = vec![("code", code.as_str()), ("iss", iss.as_str())];
        if !state.is_empty() {
            p.push(("state", state.as_str()));
        }
        Ok(Redirect(with_params(redirect_uri, &p)))
    }

    /// Authenticates the client of a token, revoke or introspect request.
    async fn oidc_client_auth(&self, creds: &ClientCredentials) -> Result<Client, OAuthError> {
        let id = creds
            .client_id
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 128)
            .ok_or_else(OAuthError::client)?;
        let client = store::client(&self.db, id)
            .await?
            .ok_or_else(OAuthError::client)?;
        match (&client.secret_hash, &creds.client_secret) {
            (Some(hash), Some(secret)) if same_secret(hash, &token_hash(secret)) => Ok(client),
            (None, None) if client.is_public == 1 => Ok(client),
            _ => Err(OAuthError::client()),
        }
    }

    /// The user's claims for a client: identity, organization, the profile of
    /// the client's application and the profiles it implies. None when the
    /// user no longer holds the application.
    async fn oidc_claims(
        &self,
        user_id: i64,
        client: &Client,
        scope: &str,
    ) -> Result<Option<serde_json::Map<String, Value>>, AppError> {
        let Some(user) = directory::user_by_id(&self.db, user_id).await? else {
            return Ok(None);
        };
        if user.status != "active" {
            return Ok(None);
        }
        let now = now_micros();
        let held = catalogue::held_profiles(&self.db, user.id, now).await?;
        let Some(h) = held
            .iter()
            .find(|h| h.application_id == client.application_id)
        else {
            return Ok(None);
        };
        let mut m = serde_json::Map::new();
        m.insert("fiscal_number".into(), json!(user.fiscal_code));
        m.insert(
            "https://attributes.eid.gov.it/fiscal_number".into(),
            json!(format!("TINIT-{}", user.fiscal_code)),
        );
        m.insert("given_name".into(), json!(user.given_name));
        m.insert("family_name".into(), json!(user.family_name));
        if scope.split_whitespace().any(|s| s == "email") {
            m.insert("email".into(), json!(user.email));
        }
        if let Some(org_id) = user.organization_id
            && let Some(org) = directory::organization(&self.db, org_id).await?
        {
            m.insert(
                "organization".into(),
                json!({ "code": org.code, "name": org.name }),
            );
        }
        m.insert(
            "profile".into(),
            json!({
                "application": h.application_code,
                "application_name": h.application_name,
                "code": h.profile_code,
                "name": h.profile_name,
                "source": h.source,
                "capabilities": catalogue::capabilities(&self.db, h.profile_id).await?,
            }),
        );
        // The user's other profiles that open this application (PTT opens
        // Telecontenzioso): their capabilities apply here too, so a relying
        // party unions them with the profile's own (see `granted_by`).
        let mut granted_by = Vec::new();
        for e in catalogue::enablements_of(&self.db, user.id).await? {
            if e.application_id == client.application_id {
                continue;
            }
            let mut opens = false;
            for pid in catalogue::implied_profiles(&self.db, e.profile_id).await? {
                if let Some(p) = catalogue::profile(&self.db, pid).await? {
                    opens |= p.application_id == client.application_id;
                }
            }
            if opens {
                granted_by.push(json!({
                    "application": e.application_code,
                    "application_name": e.application_name,
                    "code": e.profile_code,
                    "name": e.profile_name,
                    "capabilities": catalogue::capabilities(&self.db, e.profile_id).await?,
                }));
            }
        }
        if let Some(p) = m.get_mut("profile").and_then(Value::as_object_mut) {
            p.insert("granted_by".into(), Value::Array(granted_by));
        }
        let mut implied = Vec::new();
        for pid in catalogue::implied_profiles(&self.db, h.profile_id).await? {
            if let Some(p) = catalogue::profile(&self.db, pid).await? {
                implied.push(json!({
                    "application": p.application_code,
                    "application_name": p.application_name,
                    "code": p.code,
                    "name": p.name,
                    "capabilities": catalogue::capabilities(&self.db, p.id).await?,
                }));
            }
        }
        m.insert("implied_profiles".into(), Value::Array(implied));
        Ok(Some(m))
    }

    /// Signs the ID and access tokens of a grant.
    #[allow(clippy::too_many_arguments)]
    async fn oidc_sign_tokens(
        &self,
        client: &Client,
        grant_id: &str,
        sub: &str,
        claims: serde_json::Map<String, Value>,
        scope: &str,
        auth_time: i64,
        nonce: Option<&str>,
    ) -> Result<(String, String), AppError> {
        let iss = self.oidc_issuer();
        let now = now_micros() / SECOND;
        let exp = now + self.config.oidc.access_token_seconds;
        let mut id = claims;
        id.insert("iss".into(), json!(iss));
        id.insert("sub".into(), json!(sub));
        id.insert("aud".into(), json!(client.client_id));
        id.insert("azp".into(), json!(client.client_id));
        id.insert("exp".into(), json!(exp));
        id.insert("iat".into(), json!(now));
        id.insert("auth_time".into(), json!(auth_time / SECOND));
        if let Some(n) = nonce {
            id.insert("nonce".into(), json!(n));
        }
        let id_key = self.oidc_signing_key(&client.id_token_alg).await?;
        let id_token = JwsSigner::new(&id_key, "JWT")?.sign(&id)?;
        let at_key = self.oidc_signing_key("RS256").await?;
        let access = AccessClaims {
            iss,
            sub: sub.to_string(),
            aud: client.client_id.clone(),
            client_id: client.client_id.clone(),
            exp,
            iat: now,
            jti: random_token()[..32].to_string(),
            scope: scope.to_string(),
            gid: grant_id.to_string(),
        };
        let access_token = JwsSigner::new(&at_key, "at+jwt")?.sign(&access)?;
        Ok((id_token, access_token))
    }

    /// The token endpoint.
    pub async fn oidc_token(
        &self,
        req: &TokenRequest,
        creds: &ClientCredentials,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.oidc_client_auth(creds).await?;
        // Keys first: their lazy creation must not wait on our own write transaction.
        self.oidc_keys().await?;
        match req.grant_type.as_deref() {
            Some("authorization_code") => self.oidc_exchange_code(&client, req, origin).await,
            Some("refresh_token") => self.oidc_refresh(&client, req, origin).await,
            Some(_) => Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                "sono supportati authorization_code e refresh_token",
            )),
            None => Err(OAuthError::request("grant_type mancante")),
        }
    }

    async fn oidc_exchange_code(
        &self,
        client: &Client,
        req: &TokenRequest,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let code = req
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::request("code mancante"))?;
        let hash = token_hash(code);
        let now = now_micros();
        // Everything that only reads happens before the write transaction:
        // on SQLite the writer must not wait for another pool connection.
        let found = {
            let mut conn = self.db.pool().acquire().await.map_err(StoreError::from)?;
            store::code(&mut conn, &hash).await?
        };
        let Some(c) = found else {
            return Err(OAuthError::grant("codice sconosciuto"));
        };
        if c.client_id != client.client_id {
            return Err(OAuthError::grant(
                "il codice è stato emesso per un altro client",
            ));
        }
        if c.used_at.is_some() {
            // A replayed code: whoever holds it may be an attacker; end what it gave.
            let mut tx = self.db.begin_write().await?;
            if let Some(gid) = &c.grant_id {
                store::revoke_grant(&mut tx, gid, now).await?;
            }
            record(
                &mut tx,
                &format!("oidc_client:{}", client.client_id),
                None,
                "oidc.code_replay",
                &format!("user:{}", c.user_id),
                "{}",
                origin,
                now,
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Err(OAuthError::grant(
                "codice già usato: i token emessi con esso sono stati revocati",
            ));
        }
        if now > c.expires_at {
            return Err(OAuthError::grant("codice scaduto"));
        }
        if req.redirect_uri.as_deref() != Some(c.redirect_uri.as_str()) {
            return Err(OAuthError::grant(
                "redirect_uri diverso da quello della richiesta di autorizzazione",
            ));
        }
        match (&c.code_challenge, req.code_verifier.as_deref()) {
            (Some(challenge), Some(v)) => {
                if !valid_verifier(v) || !same_secret(challenge, &pkce_s256(v)) {
                    return Err(OAuthError::grant("code_verifier non corrisponde"));
                }
            }
            (Some(_), None) => return Err(OAuthError::grant("code_verifier mancante")),
            (None, Some(_)) => return Err(OAuthError::grant("code_verifier inatteso")),
            (None, None) if client.is_public == 1 => {
                return Err(OAuthError::grant("PKCE obbligatorio"));
            }
            (None, None) => {}
        }
        let claims = self.oidc_claims(c.user_id, client, &c.scope).await?;
        let Some(claims) = claims else {
            return Err(OAuthError::grant(
                "l'utente non è più abilitato all'applicazione",
            ));
        };
        let grant_id = random_token();
        let mut tx = self.db.begin_write().await?;
        // The conditional update decides a race between two exchanges of one code.
        if !store::use_code(&mut tx, &hash, &grant_id, now).await? {
            return Err(OAuthError::grant("codice già usato"));
        }
        let sub = store::ensure_subject(&mut tx, c.user_id, &random_token()[..32]).await?;
        store::insert_grant(
            &mut tx,
            &store::Grant {
                id: grant_id.clone(),
                client_id: client.client_id.clone(),
                user_id: c.user_id,
                scope: c.scope.clone(),
                auth_time: c.auth_time,
                session_hash: c.session_hash.clone(),
                created_at: now,
                revoked_at: None,
            },
        )
        .await?;
        let refresh = random_token();
        store::insert_refresh(
            &mut tx,
            &self.refresh_row(&refresh, &grant_id, client, c.user_id, &c.scope, now),
        )
        .await?;
        record(
            &mut tx,
            &format!("user:{}", c.user_id),
            None,
            "oidc.token",
            &format!("oidc_client:{}", client.client_id),
            "{\"grant_type\":\"authorization_code\"}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let (id_token, access_token) = self
            .oidc_sign_tokens(
                client,
                &grant_id,
                &sub,
                claims,
                &c.scope,
                c.auth_time,
                c.nonce.as_deref(),
            )
            .await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.config.oidc.access_token_seconds,
            id_token,
            refresh_token: refresh,
            scope: c.scope,
        })
    }

    fn refresh_row(
        &self,
        token: &str,
        grant_id: &str,
        client: &Client,
        user_id: i64,
        scope: &str,
        now: i64,
    ) -> store::RefreshToken {
        store::RefreshToken {
            token_hash: token_hash(token),
            grant_id: grant_id.to_string(),
            client_id: client.client_id.clone(),
            user_id,
            scope: scope.to_string(),
            created_at: now,
            expires_at: now + self.config.oidc.refresh_token_days * 86_400 * SECOND,
            used_at: None,
            rotated_to: None,
            revoked_at: None,
        }
    }

    async fn oidc_refresh(
        &self,
        client: &Client,
        req: &TokenRequest,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let token = req
            .refresh_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::request("refresh_token mancante"))?;
        let hash = token_hash(token);
        let now = now_micros();
        // Reads first, then one short write transaction (see the code exchange).
        let found = {
            let mut conn = self.db.pool().acquire().await.map_err(StoreError::from)?;
            store::refresh_token(&mut conn, &hash).await?
        };
        let Some(r) = found else {
            return Err(OAuthError::grant("refresh token sconosciuto"));
        };
        if r.client_id != client.client_id {
            return Err(OAuthError::grant(
                "il refresh token è stato emesso per un altro client",
            ));
        }
        if r.revoked_at.is_some() {
            return Err(OAuthError::grant("refresh token revocato"));
        }
        if r.used_at.is_some() {
            let mut tx = self.db.begin_write().await?;
            store::revoke_grant(&mut tx, &r.grant_id, now).await?;
            record(
                &mut tx,
                &format!("oidc_client:{}", client.client_id),
                None,
                "oidc.refresh_reuse",
                &format!("user:{}", r.user_id),
                "{}",
                origin,
                now,
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Err(OAuthError::grant(
                "refresh token già usato: la sessione dell'applicazione è stata revocata",
            ));
        }
        if now > r.expires_at {
            return Err(OAuthError::grant("refresh token scaduto"));
        }
        let Some(grant) = store::grant(&self.db, &r.grant_id).await? else {
            return Err(OAuthError::grant("grant sconosciuto"));
        };
        if grant.revoked_at.is_some() {
            return Err(OAuthError::grant("refresh token revocato"));
        }
        let scope = match req.scope.as_deref() {
            Some(s) => {
                let held: Vec<&str> = r.scope.split_whitespace().collect();
                if s.split_whitespace().any(|x| !held.contains(&x)) {
                    return Err(OAuthError::new(
                        400,
                        "invalid_scope",
                        "scope più ampio di quello concesso",
                    ));
                }
                s.to_string()
            }
            None => r.scope.clone(),
        };
        let Some(claims) = self.oidc_claims(r.user_id, client, &scope).await? else {
            return Err(OAuthError::grant(
                "l'utente non è più abilitato all'applicazione",
            ));
        };
        let sub = store::subject_of(&self.db, r.user_id)
            .await?
            .unwrap_or_default();
        let next = random_token();
        let mut tx = self.db.begin_write().await?;
        // The conditional update decides a race between two uses of one token.
        if !store::rotate_refresh(&mut tx, &hash, &token_hash(&next), now).await? {
            return Err(OAuthError::grant("refresh token già usato"));
        }
        store::insert_refresh(
            &mut tx,
            &self.refresh_row(&next, &r.grant_id, client, r.user_id, &r.scope, now),
        )
        .await?;
        record(
            &mut tx,
            &format!("user:{}", r.user_id),
            None,
            "oidc.token",
            &format!("oidc_client:{}", client.client_id),
            "{\"grant_type\":\"refresh_token\"}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let (id_token, access_token) = self
            .oidc_sign_tokens(
                client,
                &r.grant_id,
                &sub,
                claims,
                &scope,
                grant.auth_time,
                None,
            )
            .await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.config.oidc.access_token_seconds,
            id_token,
            refresh_token: next,
            scope,
        })
    }

    /// Verifies an access token: signature by a published key, `at+jwt`,
    /// issuer, expiry, and a live grant of an active user.
    pub async fn oidc_check_access_token(
        &self,
        token: &str,
    ) -> Result<Option<AccessClaims>, AppError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        if header.typ.as_deref() != Some("at+jwt") || header.alg != Algorithm::RS256 {
            return Ok(None);
        }
        let keys = self.oidc_keys().await?;
        let Some(key) = keys
            .iter()
            .find(|k| Some(&k.kid) == header.kid.as_ref() && k.alg == "RS256")
        else {
            return Ok(None);
        };
        let Ok(jwk) = serde_json::from_str::<Jwk>(&key.public_jwk) else {
            return Ok(None);
        };
        let Ok(dk) = DecodingKey::from_jwk(&jwk) else {
            return Ok(None);
        };
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[self.oidc_issuer()]);
        v.validate_aud = false;
        v.leeway = 0;
        let Ok(data) = jsonwebtoken::decode::<AccessClaims>(token, &dk, &v) else {
            return Ok(None);
        };
        let c = data.claims;
        let Some(grant) = store::grant(&self.db, &c.gid).await? else {
            return Ok(None);
        };
        if grant.revoked_at.is_some() || grant.client_id != c.client_id {
            return Ok(None);
        }
        match directory::user_by_id(&self.db, grant.user_id).await? {
            Some(u) if u.status == "active" => Ok(Some(c)),
            _ => Ok(None),
        }
    }

    /// The userinfo endpoint: the claims for the token's client and scope.
    pub async fn oidc_userinfo(&self, token: &str) -> Result<Option<Value>, AppError> {
        let Some(at) = self.oidc_check_access_token(token).await? else {
            return Ok(None);
        };
        let Some(client) = store::client(&self.db, &at.client_id).await? else {
            return Ok(None);
        };
        let Some(user_id) = store::user_of_subject(&self.db, &at.sub).await? else {
            return Ok(None);
        };
        let Some(mut claims) = self.oidc_claims(user_id, &client, &at.scope).await? else {
            return Ok(None);
        };
        claims.insert("sub".into(), json!(at.sub));
        Ok(Some(Value::Object(claims)))
    }

    /// RFC 7009: revokes the token's family; unknown tokens are not an error.
    pub async fn oidc_revoke(
        &self,
        creds: &ClientCredentials,
        token: &str,
        origin: &Origin,
    ) -> Result<(), OAuthError> {
        let client = self.oidc_client_auth(creds).await?;
        let now = now_micros();
        let grant_id = if let Some(at) = self.oidc_check_access_token(token).await? {
            (at.client_id == client.client_id).then_some(at.gid)
        } else {
            let mut conn = self.db.pool().acquire().await.map_err(StoreError::from)?;
            store::refresh_token(&mut conn, &token_hash(token))
                .await?
                .filter(|r| r.client_id == client.client_id)
                .map(|r| r.grant_id)
        };
        if let Some(gid) = grant_id {
            let mut tx = self.db.begin_write().await?;
            if store::revoke_grant(&mut tx, &gid, now).await? {
                record(
                    &mut tx,
                    &format!("oidc_client:{}", client.client_id),
                    None,
                    "oidc.revoke",
                    &format!("oidc_grant:{}", &gid[..12]),
                    "{}",
                    origin,
                    now,
                )
                .await?;
            }
            tx.commit().await.map_err(StoreError::from)?;
        }
        Ok(())
    }

    /// RFC 7662, for confidential clients, about their own tokens only.
    pub async fn oidc_introspect(
        &self,
        creds: &ClientCredentials,
        token: &str,
    ) -> Result<Value, OAuthError> {
        let client = self.oidc_client_auth(creds).await?;
        if client.is_public == 1 {
            return Err(OAuthError::client());
        }
        let inactive = json!({ "active": false });
        if let Some(at) = self.oidc_check_access_token(token).await? {
            if at.client_id != client.client_id {
                return Ok(inactive);
            }
            return Ok(json!({
                "active": true, "token_type": "Bearer", "scope": at.scope, "client_id": at.client_id,
                "sub": at.sub, "aud": at.aud, "iss": at.iss, "exp": at.exp, "iat": at.iat, "jti": at.jti,
            }));
        }
        let mut conn = self.db.pool().acquire().await.map_err(StoreError::from)?;
        let Some(r) = store::refresh_token(&mut conn, &token_hash(token)).await? else {
            return Ok(inactive);
        };
        drop(conn);
        let now = now_micros();
        let live = r.client_id == client.client_id
            && r.used_at.is_none()
            && r.revoked_at.is_none()
            && now <= r.expires_at
            && store::grant(&self.db, &r.grant_id)
                .await?
                .is_some_and(|g| g.revoked_at.is_none())
            && directory::user_by_id(&self.db, r.user_id)
                .await?
                .is_some_and(|u| u.status == "active");
        if !live {
            return Ok(inactive);
        }
        let sub = store::subject_of(&self.db, r.user_id)
            .await?
            .unwrap_or_default();
        Ok(json!({
            "active": true, "token_type": "refresh_token", "scope": r.scope, "client_id": r.client_id,
            "sub": sub, "iss": self.oidc_issuer(), "exp": r.expires_at / SECOND, "iat": r.created_at / SECOND,
        }))
    }

    /// Verifies an ID token we issued (signature and issuer; expiry ignored, as
    /// `id_token_hint` may be old). Returns its audience (client id).
    pub async fn oidc_id_token_audience(&self, token: &str) -> Result<Option<String>, AppError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        let keys = self.oidc_keys().await?;
        let Some(key) = keys.iter().find(|k| Some(&k.kid) == header.kid.as_ref()) else {
            return Ok(None);
        };
        let (Some(alg), Ok(jwk)) = (
            alg_of(&key.alg),
            serde_json::from_str::<Jwk>(&key.public_jwk),
        ) else {
            return Ok(None);
        };
        if header.alg != alg || header.typ.as_deref() == Some("at+jwt") {
            return Ok(None);
        }
        let Ok(dk) = DecodingKey::from_jwk(&jwk) else {
            return Ok(None);
        };
        let mut v = Validation::new(alg);
        v.set_issuer(&[self.oidc_issuer()]);
        v.validate_aud = false;
        v.validate_exp = false;
        v.required_spec_claims.clear();
        #[derive(Deserialize)]
        struct Aud {
            aud: String,
        }
        Ok(jsonwebtoken::decode::<Aud>(token, &dk, &v)
            .ok()
            .map(|d| d.claims.aud))
    }

    /// RP-initiated logout: where to send the browser afterwards, or an error
    /// message for a page. Ends the portal session and its grants.
    pub async fn oidc_logout(
        &self,
        session: Option<&SessionUser>,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
        origin: &Origin,
    ) -> Result<Result<Option<String>, String>, AppError> {
        let hinted =
            match id_token_hint.filter(|h| !h.is_empty()) {
                Some(h) => match self.oidc_id_token_audience(h).await? {
                    Some(aud) => Some(aud),
                    None => return Ok(Err(
                        "Il parametro id_token_hint non è un ID token valido emesso dal portale."
                            .into(),
                    )),
                },
                None => None,
            };
        if let (Some(a), Some(b)) = (&hinted, client_id)
            && a != b
        {
            return Ok(Err(
                "client_id e id_token_hint indicano applicazioni diverse.".into(),
            ));
        }
        let cid = hinted.or(client_id.map(str::to_string));
        let target = match post_logout_redirect_uri.filter(|u| !u.is_empty()) {
            Some(uri) => {
                let Some(cid) = &cid else {
                    return Ok(Err(
                        "Per tornare all'applicazione serve id_token_hint o client_id.".into(),
                    ));
                };
                let Some(client) = store::client(&self.db, cid).await? else {
                    return Ok(Err("Applicazione sconosciuta.".into()));
                };
                if !json_list(&client.post_logout_redirect_uris)
                    .iter()
                    .any(|u| u == uri)
                {
                    return Ok(Err(format!(
                        "L'indirizzo «{uri}» non è registrato per l'uscita dall'applicazione «{}».",
                        client.name
                    )));
                }
                let p: Vec<(&str, &str)> = state
                    .filter(|s| !s.is_empty())
                    .map(|s| ("state", s))
                    .into_iter()
                    .collect();
                Some(with_params(uri, &p))
            }
            None => None,
        };
        if let Some(s) = session {
            let now = now_micros();
            let mut tx = self.db.begin_write().await?;
            for gid in store::grants_of_session(&mut tx, &s.session_hash).await? {
                store::revoke_grant(&mut tx, &gid, now).await?;
            }
            tx.commit().await.map_err(StoreError::from)?;
            self.logout(s, origin).await?;
        }
        Ok(Ok(target))
    }
}

impl App {
    /// A user disabled or deleted: revokes his grants and queues back-channel
    /// logouts, inside the caller's transaction.
    pub(crate) async fn oidc_user_gone(
        &self,
        conn: &mut AnyConnection,
        user_id: i64,
        now: i64,
    ) -> Result<usize, AppError> {
        queue_backchannel_logout(conn, &self.oidc_issuer(), user_id, now).await
    }
}

/// Payload of a back-channel logout in the outbox.
#[derive(Debug, Serialize, Deserialize)]
pub struct BackchannelLogout {
    pub issuer: String,
    pub client_id: String,
    pub uri: String,
    pub sub: String,
    pub alg: String,
}

/// Inside a use case's transaction (user disabled or deleted): revokes the
/// user's grants and queues a logout token to each client that asked for
/// back-channel logout.
pub async fn queue_backchannel_logout(
    conn: &mut AnyConnection,
    issuer: &str,
    user_id: i64,
    now: i64,
) -> Result<usize, AppError> {
    let grants = store::live_grants_of_user(conn, user_id).await?;
    let sub: Option<String> = store::subject_in(conn, user_id).await?;
    let mut notified: Vec<String> = Vec::new();
    for (gid, cid) in &grants {
        store::revoke_grant(conn, gid, now).await?;
        if notified.contains(cid) {
            continue;
        }
        let (Some(sub), Some(client)) = (&sub, store::client_in(conn, cid).await?) else {
            continue;
        };
        if let Some(uri) = client.backchannel_logout_uri.clone() {
            let payload = BackchannelLogout {
                issuer: issuer.to_string(),
                client_id: cid.clone(),
                uri,
                sub: sub.clone(),
                alg: client.id_token_alg.clone(),
            };
            outbox::enqueue(
                conn,
                OUTBOX_KIND,
                &serde_json::to_string(&payload).map_err(internal)?,
                now,
            )
            .await?;
            notified.push(cid.clone());
        }
    }
    Ok(notified.len())
}

/// Delivers one back-channel logout (called by the outbox worker): a signed
/// logout token POSTed to the client. Errors say whether to give up.
pub async fn deliver(db: &Db, payload: &str) -> Result<(), (String, bool)> {
    let timeout = std::time::Duration::from_secs(10);
    let p: BackchannelLogout =
        serde_json::from_str(payload).map_err(|e| (format!("payload non valido: {e}"), true))?;
    let key = active_key(db, &p.alg)
        .await
        .map_err(|e| (e.to_string(), false))?;
    let now = now_micros() / SECOND;
    let claims = json!({
        "iss": p.issuer, "aud": p.client_id, "sub": p.sub, "iat": now, "exp": now + 120,
        "jti": random_token(), "events": { BACKCHANNEL_EVENT: {} },
    });
    let token = sign_jws(&key, "logout+jwt", &claims).map_err(|e| (e.to_string(), true))?;
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| (e.to_string(), false))?;
    let res = client
        .post(&p.uri)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .map_err(|e| (format!("{}: {e}", p.uri), false))?;
    let status = res.status();
    if status.is_success() {
        Ok(())
    } else {
        Err((format!("{}: HTTP {status}", p.uri), status.as_u16() == 400))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `JwsSigner` signs verifies with the published key, for both
    /// algorithms, and a changed byte does not.
    #[test]
    fn jws_signer_output_verifies_with_the_public_jwk() {
        for alg in ["ES256", "RS256"] {
            let key = generate_key(alg, 0).unwrap();
            let signer = JwsSigner::new(&key, "JWT").unwrap();
            let claims = json!({"iss": "https://portale.example.it", "aud": "x", "exp": 4_000_000_000u64, "n": 1});
            let token = signer.sign(&claims).unwrap();

            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()), "{alg}");
            assert_eq!(header.typ.as_deref(), Some("JWT"), "{alg}");
            let jwk: Jwk = serde_json::from_str(&key.public_jwk).unwrap();
            let decoding = DecodingKey::from_jwk(&jwk).unwrap();
            let mut validation = Validation::new(alg_of(alg).unwrap());
            validation.set_audience(&["x"]);
            let read = jsonwebtoken::decode::<Value>(&token, &decoding, &validation)
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(read.claims, claims, "{alg}");

            let mut forged = token.clone().into_bytes();
            let i = token.find('.').unwrap() + 3;
            forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(forged).unwrap();
            assert!(
                jsonwebtoken::decode::<Value>(&forged, &decoding, &validation).is_err(),
                "{alg}: a changed claim must not verify"
            );
        }
    }
}
