//! The OpenID Connect provider with a real HTTP client: discovery, the code
//! flow with PKCE, ID tokens verified against the JWKS with `jsonwebtoken`
//! (independently of the server's code), userinfo, refresh rotation and reuse
//! detection, revocation, introspection, logout (RP-initiated and back-channel),
//! and the refusals.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sportello_app::App;
use sportello_app::demo::{self, DEMO_PASSWORD};

use crate::harness::{TestEnv, client, env_with, free_port, hidden_field};

const ADMIN: &str = "BNCGLI75C45H501W";
const ANNA: &str = "VRDNNA82D50D548K";
const LUCA: &str = "NRELCU85M10D548J";
const RP: &str = "https://rp.example.it/callback";

struct Portal {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _env: TestEnv,
    app: App,
}

impl Portal {
    fn url(&self, p: &str) -> String {
        format!("{}{p}", self.base)
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A demo portal whose public address (the issuer) is the address it listens on.
async fn portal(adjust: impl FnOnce(&mut sportello_app::Config)) -> Portal {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let b = base.clone();
    let t = env_with(move |c| {
        c.public_base_url = b;
        adjust(c);
    })
    .await;
    demo::seed(&t.app).await.unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sportello_web::run(t.app.clone(), listener, async {
        let _ = rx.await;
    }));
    Portal {
        base,
        stop: Some(tx),
        app: t.app.clone(),
        _env: t,
    }
}

/// A browser logged in to the portal.
async fn browser(p: &Portal, code: &str) -> reqwest::Client {
    let c = client();
    let page = c
        .get(p.url("/accedi"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let res = c
        .post(p.url("/accedi"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", code),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login of {code}");
    c
}

/// Registers a client through the JSON API as the central administrator.
async fn register(p: &Portal, application: &str, body: Value) -> (String, Option<String>) {
    let c = browser(p, ADMIN).await;
    let home = c
        .get(p.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&home, "csrf_token");
    let apps: Value = c
        .get(p.url("/api/v1/applications"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app_id = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == application)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let mut body = body;
    body["application_id"] = json!(app_id);
    let res = c
        .post(p.url("/api/v1/oidc/clients"))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    (
        v["client_id"].as_str().unwrap().to_string(),
        v["client_secret"].as_str().map(str::to_string),
    )
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn query_param(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn authorize_url(p: &Portal, client_id: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse(&p.url("/oidc/authorize")).unwrap();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect)
            .append_pair("scope", "openid profile email")
            .append_pair("state", "st-1")
            .append_pair("nonce", "n-1");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    u.to_string()
}

/// Runs /oidc/authorize for a logged-in browser; returns the code.
async fn get_code(
    p: &Portal,
    c: &reqwest::Client,
    client_id: &str,
    verifier: Option<&str>,
) -> String {
    let ch = verifier.map(challenge);
    let mut extra = vec![];
    if let Some(ch) = &ch {
        extra.push(("code_challenge", ch.as_str()));
        extra.push(("code_challenge_method", "S256"));
    }
    let res = c
        .get(authorize_url(p, client_id, RP, &extra))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(RP), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st-1"));
    assert_eq!(query_param(&loc, "iss").as_deref(), Some(p.base.as_str()));
    query_param(&loc, "code").expect("a code")
}

async fn token(
    p: &Portal,
    client_id: &str,
    secret: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client().post(p.url("/oidc/token"));
    match secret {
        Some(s) => req = req.basic_auth(client_id, Some(s)),
        None => {
            let mut f = form.to_vec();
            f.push(("client_id", client_id));
            return req.form(&f).send().await.unwrap();
        }
    }
    req.form(form).send().await.unwrap()
}

async fn exchange(
    p: &Portal,
    client_id: &str,
    secret: Option<&str>,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut f = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", RP),
    ];
    if let Some(v) = verifier {
        f.push(("code_verifier", v));
    }
    token(p, client_id, secret, &f).await
}

/// Verifies a JWT against the published JWKS, as a relying party would.
async fn verify(p: &Portal, jwt: &str, audience: &str) -> Value {
    let jwks: JwkSet = client()
        .get(p.url("/oidc/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_audience(&[audience]);
    v.set_issuer(&[p.base.as_str()]);
    jsonwebtoken::decode::<Value>(jwt, &key, &v).unwrap().claims
}

async fn userinfo(p: &Portal, at: &str) -> reqwest::Response {
    client()
        .get(p.url("/oidc/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
}

async fn introspect(p: &Portal, id: &str, secret: &str, tok: &str) -> Value {
    client()
        .post(p.url("/oidc/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", tok)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn discovery_code_flow_with_pkce_userinfo_refresh_revoke_introspect() {
    let p = portal(|_| {}).await;
    let d: Value = client()
        .get(p.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], p.base);
    assert_eq!(d["token_endpoint"], p.url("/oidc/token"));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    let jwks: Value = client()
        .get(p.url("/oidc/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert!(algs.contains(&"RS256") && algs.contains(&"ES256"), "{jwks}");
    assert!(jwks.to_string().find("\"d\"").is_none(), "no private parts");

    let (id, secret) = register(
        &p,
        "PTT",
        json!({"name": "PTT web", "redirect_uris": [RP],
        "post_logout_redirect_uris": ["https://rp.example.it/bye"]}),
    )
    .await;
    let secret = secret.expect("a confidential client gets a secret");

    // Not logged in: to the login page, which brings the user back.
    let c = client();
    let verifier = "v".repeat(20) + &"x".repeat(30);
    let url = authorize_url(
        &p,
        &id,
        RP,
        &[
            ("code_challenge", &challenge(&verifier)),
            ("code_challenge_method", "S256"),
        ],
    );
    let res = c.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let login_at = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        login_at.starts_with("/accedi?next=%2Foidc%2Fauthorize"),
        "{login_at}"
    );
    let page = c
        .get(p.url(&login_at))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let res = c
        .post(p.url(&login_at))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", LUCA),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let back = res.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with("/oidc/authorize?"), "{back}");
    let res = c.get(p.url(&back)).send().await.unwrap();
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    let code = query_param(&loc, "code").unwrap();

    // Wrong or missing verifier: nothing issued, the code stays usable.
    let r = exchange(&p, &id, Some(&secret), &code, None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let r = exchange(&p, &id, Some(&secret), &code, Some(&"w".repeat(50))).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let r = exchange(&p, &id, Some("wrong-secret"), &code, Some(&verifier)).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");

    let r = exchange(&p, &id, Some(&secret), &code, Some(&verifier)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: Value = r.json().await.unwrap();
    let claims = verify(&p, t["id_token"].as_str().unwrap(), &id).await;
    assert_eq!(
        jsonwebtoken::decode_header(t["id_token"].as_str().unwrap())
            .unwrap()
            .alg,
        jsonwebtoken::Algorithm::RS256
    );
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["fiscal_number"], LUCA);
    assert_eq!(
        claims["https://attributes.eid.gov.it/fiscal_number"],
        format!("TINIT-{LUCA}")
    );
    assert_eq!(claims["family_name"], "Neri");
    assert!(claims["email"].is_string());
    assert!(claims["auth_time"].is_i64());
    assert_eq!(claims["profile"]["application"], "PTT");
    assert!(claims["profile"]["capabilities"].as_array().is_some());
    assert_eq!(
        claims["implied_profiles"][0]["application"],
        "TELECONTENZIOSO"
    );
    assert!(claims["organization"]["code"].is_string());
    let sub = claims["sub"].as_str().unwrap().to_string();
    assert!(
        !sub.chars().all(|c| c.is_ascii_digit()),
        "sub is opaque: {sub}"
    );

    let at = t["access_token"].as_str().unwrap().to_string();
    let ui: Value = userinfo(&p, &at).await.json().await.unwrap();
    assert_eq!(ui["sub"], sub);
    assert_eq!(ui["profile"]["application"], "PTT");
    let intro = introspect(&p, &id, &secret, &at).await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["sub"], sub);

    // A second sign-in has the same subject.
    let code2 = get_code(&p, &c, &id, Some(&verifier)).await;
    let t2: Value = exchange(&p, &id, Some(&secret), &code2, Some(&verifier))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        verify(&p, t2["id_token"].as_str().unwrap(), &id).await["sub"],
        sub
    );

    // Replaying the first code: refused, and what it gave is revoked.
    let r = exchange(&p, &id, Some(&secret), &code, Some(&verifier)).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(userinfo(&p, &at).await.status(), 401);
    let r = token(
        &p,
        &id,
        Some(&secret),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // Refresh rotation on the second grant, then reuse of an old token.
    let rt1 = t2["refresh_token"].as_str().unwrap().to_string();
    let r: Value = token(
        &p,
        &id,
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await
    .json()
    .await
    .unwrap();
    let rt2 = r["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_eq!(
        verify(&p, r["id_token"].as_str().unwrap(), &id).await["sub"],
        sub
    );
    let at2 = r["access_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo(&p, &at2).await.status(), 200);
    let r = token(
        &p,
        &id,
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let r = token(
        &p,
        &id,
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
    )
    .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_grant",
        "the whole family is revoked"
    );
    assert_eq!(userinfo(&p, &at2).await.status(), 401);
    assert_eq!(introspect(&p, &id, &secret, &at2).await["active"], false);

    // Revocation (RFC 7009) of a fresh grant.
    let code3 = get_code(&p, &c, &id, None).await;
    let t3: Value = exchange(&p, &id, Some(&secret), &code3, None)
        .await
        .json()
        .await
        .unwrap();
    let rt3 = t3["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&p, &id, &secret, rt3).await["active"], true);
    let r = client()
        .post(p.url("/oidc/revoke"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", rt3)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(introspect(&p, &id, &secret, rt3).await["active"], false);
    assert_eq!(
        userinfo(&p, t3["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    let r = client()
        .post(p.url("/oidc/revoke"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "unknown tokens are not an error");

    // Key rotation keeps old keys published; new tokens use the new key.
    let old_kid = jsonwebtoken::decode_header(t2["id_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    p.app
        .oidc_rotate_keys(&sportello_app::Origin::default())
        .await
        .unwrap();
    let code4 = get_code(&p, &c, &id, None).await;
    let t4: Value = exchange(&p, &id, Some(&secret), &code4, None)
        .await
        .json()
        .await
        .unwrap();
    let new_kid = jsonwebtoken::decode_header(t4["id_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert_ne!(old_kid, new_kid);
    verify(&p, t2["id_token"].as_str().unwrap(), &id).await;
    verify(&p, t4["id_token"].as_str().unwrap(), &id).await;

    // RP-initiated logout: registered address only, then the session is over.
    let hint = t4["id_token"].as_str().unwrap();
    let r = c
        .get(p.url("/oidc/logout"))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    let r = c
        .get(p.url("/oidc/logout"))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://rp.example.it/bye"),
            ("state", "s9"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "https://rp.example.it/bye?state=s9"
    );
    assert_eq!(
        userinfo(&p, t4["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    let r = c.get(authorize_url(&p, &id, RP, &[])).send().await.unwrap();
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/accedi?next=")
    );
}

#[tokio::test]
async fn bad_requests_are_refused_and_nothing_is_issued() {
    let p = portal(|c| c.oidc.access_token_seconds = 2).await;
    let (id, secret) = register(&p, "PTT", json!({"name": "PTT", "redirect_uris": [RP]})).await;
    let secret = secret.unwrap();
    let (pub_id, pub_secret) = register(
        &p,
        "PTT",
        json!({"name": "PTT app", "public": true, "redirect_uris": [RP],
        "id_token_signed_response_alg": "ES256"}),
    )
    .await;
    assert!(pub_secret.is_none());
    let (other_id, other_secret) = register(
        &p,
        "TELECONTENZIOSO",
        json!({"name": "TC", "redirect_uris": [RP]}),
    )
    .await;
    let other_secret = other_secret.unwrap();

    // Registration rules.
    let admin = browser(&p, ADMIN).await;
    let home = admin
        .get(p.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&home, "csrf_token");
    for bad in [
        "http://rp.example.it/cb",
        "https://rp.example.it/cb#frag",
        "not a uri",
    ] {
        let r = admin
            .post(p.url("/api/v1/oidc/clients"))
            .header("x-csrf-token", &csrf)
            .json(&json!({"application_id": 1, "name": "x", "redirect_uris": [bad]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    let anna = browser(&p, ANNA).await;
    let home = anna
        .get(p.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = anna
        .post(p.url("/api/v1/oidc/clients"))
        .header("x-csrf-token", hidden_field(&home, "csrf_token"))
        .json(&json!({"application_id": 1, "name": "x", "redirect_uris": [RP]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "only the central administrator registers clients"
    );

    let luca = browser(&p, LUCA).await;
    // Unregistered redirect URI or unknown client: a page, never a redirect.
    for url in [
        authorize_url(&p, &id, "https://evil.example/cb", &[]),
        authorize_url(&p, "sp-unknown", RP, &[]),
    ] {
        let r = luca.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        assert!(r.text().await.unwrap().contains("non"));
    }
    // Later errors go back to the client per RFC 6749.
    let r = luca
        .get(authorize_url(
            &p,
            &id,
            RP,
            &[
                ("code_challenge", &challenge(&"a".repeat(43))),
                ("code_challenge_method", "plain"),
            ],
        ))
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st-1"));
    let r = luca
        .get(authorize_url(&p, &pub_id, RP, &[]))
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("invalid_request"),
        "public clients need PKCE"
    );
    let r = luca
        .get(authorize_url(&p, &id, RP, &[]).replace("response_type=code", "response_type=token"))
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert!(query_param(&loc, "code").is_none());

    // A user without the application: a clear 403 page, nothing issued.
    let codes_before = crate::harness::count(&p.app.db, "oidc_codes").await;
    let r = anna
        .get(authorize_url(&p, &id, RP, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("Non sei abilitato"));
    assert_eq!(
        crate::harness::count(&p.app.db, "oidc_codes").await,
        codes_before
    );
    // Anna holds Telecontenzioso: that client lets her in.
    get_code(&p, &anna, &other_id, None).await;

    // Public client with PKCE and ES256 ID tokens.
    let verifier = "P".repeat(64);
    let code = get_code(&p, &luca, &pub_id, Some(&verifier)).await;
    let r = exchange(&p, &pub_id, None, &code, None).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_grant",
        "verifier missing"
    );
    let t: Value = exchange(&p, &pub_id, None, &code, Some(&verifier))
        .await
        .json()
        .await
        .unwrap();
    let idt = t["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(idt).unwrap().alg,
        jsonwebtoken::Algorithm::ES256
    );
    verify(&p, idt, &pub_id).await;
    let r = client()
        .post(p.url("/oidc/introspect"))
        .form(&[
            ("token", t["access_token"].as_str().unwrap()),
            ("client_id", pub_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "introspection is for confidential clients");

    // A code for one client is no good for another.
    let code = get_code(&p, &luca, &id, None).await;
    let r = exchange(&p, &other_id, Some(&other_secret), &code, None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    // Expired code.
    sqlx::query("UPDATE oidc_codes SET expires_at = 0")
        .execute(p.app.db.pool())
        .await
        .unwrap();
    let r = exchange(&p, &id, Some(&secret), &code, None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");

    let code = get_code(&p, &luca, &id, None).await;
    let t: Value = exchange(&p, &id, Some(&secret), &code, None)
        .await
        .json()
        .await
        .unwrap();
    let at = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo(&p, &at).await.status(), 200);
    // Another client's token is inactive to me.
    assert_eq!(
        introspect(&p, &other_id, &other_secret, &at).await["active"],
        false
    );
    // The ID token is not an access token.
    assert_eq!(
        userinfo(&p, t["id_token"].as_str().unwrap()).await.status(),
        401
    );
    // alg: none, and a tampered payload.
    let parts: Vec<&str> = at.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
    for forged in [
        format!("{none_header}.{}.", parts[1]),
        format!("{}.{forged_payload}.{}", parts[0], parts[2]),
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            &parts[2][..parts[2].len() - 4]
        ),
    ] {
        assert_eq!(userinfo(&p, &forged).await.status(), 401, "{forged}");
        assert_eq!(introspect(&p, &id, &secret, &forged).await["active"], false);
    }
    // Expired access token.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(userinfo(&p, &at).await.status(), 401);
    assert_eq!(introspect(&p, &id, &secret, &at).await["active"], false);
    // Unsupported grant and malformed requests: JSON errors.
    let r = token(&p, &id, Some(&secret), &[("grant_type", "password")]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn disabling_a_user_sends_a_back_channel_logout_token() {
    // A relying party's back-channel endpoint.
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = received.clone();
    let rp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rp_addr = rp.local_addr().unwrap();
    let router = axum::Router::new().route(
        "/bc",
        axum::routing::post(
            move |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| {
                let sink = sink.clone();
                async move {
                    sink.lock()
                        .unwrap()
                        .push(f.get("logout_token").cloned().unwrap_or_default());
                    "ok"
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(rp, router).await.unwrap() });

    let p = portal(|_| {}).await;
    let bc = format!("http://127.0.0.1:{}/bc", rp_addr.port());
    let (id, secret) = register(
        &p,
        "PTT",
        json!({"name": "PTT", "redirect_uris": [RP], "backchannel_logout_uri": bc}),
    )
    .await;
    let luca = browser(&p, LUCA).await;
    let code = get_code(&p, &luca, &id, None).await;
    let t: Value = exchange(&p, &id, secret.as_deref(), &code, None)
        .await
        .json()
        .await
        .unwrap();
    let sub = verify(&p, t["id_token"].as_str().unwrap(), &id).await["sub"]
        .as_str()
        .unwrap()
        .to_string();

    let admin_token = p
        .app
        .login(ADMIN, DEMO_PASSWORD, &Default::default())
        .await
        .unwrap()
        .session_token;
    let admin = p.app.session_user(&admin_token).await.unwrap().unwrap();
    let luca_id = sportello_store::directory::user_by_fiscal_code(&p.app.db, LUCA)
        .await
        .unwrap()
        .unwrap()
        .id;
    p.app
        .set_user_disabled(Some(&admin), luca_id, true, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        userinfo(&p, t["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );

    let arrived = crate::harness::eventually(20, || !received.lock().unwrap().is_empty()).await;
    assert!(arrived, "the logout token arrives through the outbox");
    let lt = received.lock().unwrap()[0].clone();
    assert_eq!(
        jsonwebtoken::decode_header(&lt).unwrap().typ.as_deref(),
        Some("logout+jwt")
    );
    let mut v = Validation::new(jsonwebtoken::decode_header(&lt).unwrap().alg);
    v.set_audience(&[&id]);
    v.set_issuer(&[p.base.as_str()]);
    let jwks: JwkSet = client()
        .get(p.url("/oidc/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = DecodingKey::from_jwk(
        jwks.find(
            jsonwebtoken::decode_header(&lt)
                .unwrap()
                .kid
                .as_deref()
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let claims = jsonwebtoken::decode::<Value>(&lt, &key, &v).unwrap().claims;
    assert_eq!(claims["sub"], sub);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
    let r = token(
        &p,
        &id,
        secret.as_deref(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
}
