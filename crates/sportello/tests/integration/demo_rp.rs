//! The demo relying party "Telecontenzioso" (`/demo/telecontenzioso`), driven
//! like a browser with reqwest: login through the provider, the dispute
//! without the case file for a Telecontenzioso-only user, RP-initiated
//! logout, enablement to PTT by the local administrator, a new login that
//! shows the case file. The relying party talks to the provider over HTTP
//! at `public_base_url`, so the server listens on that address.

use sportello_app::demo::{self, DEMO_PASSWORD};
use sportello_store::{catalogue, directory};

use crate::harness::{TestEnv, client, env_with, free_port, hidden_field};

const ANNA: &str = "VRDNNA82D50D548K";
const MARCO: &str = "FRRMRC70A01D548N";
const DISPUTE: &str = "Ricorso n. 123/2026";
const CASEFILE: &str = "Documenti del fascicolo processuale";

struct Portal {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    env: TestEnv,
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

async fn portal() -> Portal {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let b = base.clone();
    let env = env_with(move |c| c.public_base_url = b).await;
    demo::seed(&env.app).await.unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sportello_web::run(env.app.clone(), listener, async {
        let _ = rx.await;
    }));
    Portal {
        base,
        stop: Some(tx),
        env,
    }
}

fn location(res: &reqwest::Response) -> String {
    assert!(
        res.status().is_redirection(),
        "expected a redirect, got {}",
        res.status()
    );
    res.headers()["location"].to_str().unwrap().to_string()
}

fn absolute(p: &Portal, loc: &str) -> String {
    if loc.starts_with('/') {
        p.url(loc)
    } else {
        loc.to_string()
    }
}

/// Starts at the demo application, logs in at the provider's page, comes
/// back; returns the browser and the demo application's page.
async fn login_to_demo(p: &Portal, fiscal_code: &str) -> (reqwest::Client, String) {
    let c = client();
    let landing = c.get(p.url("/demo/telecontenzioso")).send().await.unwrap();
    assert_eq!(landing.status(), 200);
    let html = landing.text().await.unwrap();
    assert!(html.contains("Accedi con Sportello"), "{html}");
    assert!(html.contains("<html lang=\"it\">"));

    let res = c
        .get(p.url("/demo/telecontenzioso/accedi"))
        .send()
        .await
        .unwrap();
    let authorize = location(&res);
    assert!(
        authorize.starts_with(&p.url("/oidc/authorize?")),
        "{authorize}"
    );
    for param in [
        "state=",
        "nonce=",
        "code_challenge=",
        "code_challenge_method=S256",
    ] {
        assert!(authorize.contains(param), "{param} in {authorize}");
    }
    // Not logged in at the portal: its login page.
    let res = c.get(&authorize).send().await.unwrap();
    let login = absolute(p, &location(&res));
    assert!(login.starts_with(&p.url("/accedi?next=")), "{login}");
    let page = c.get(&login).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let res = c
        .post(&login)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", fiscal_code),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let back = absolute(p, &location(&res));
    assert!(back.starts_with(&p.url("/oidc/authorize?")), "{back}");
    let res = c.get(&back).send().await.unwrap();
    let callback = location(&res);
    assert!(
        callback.starts_with(&p.url("/demo/telecontenzioso/callback?code=")),
        "{callback}"
    );
    let res = c.get(&callback).send().await.unwrap();
    assert_eq!(location(&res), "/demo/telecontenzioso");
    let res = c.get(p.url("/demo/telecontenzioso")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    (c, res.text().await.unwrap())
}

/// RP-initiated logout: the demo session and the portal session end.
async fn logout_from_demo(p: &Portal, c: &reqwest::Client, page: &str) {
    let csrf = hidden_field(page, "csrf_token");
    let res = c
        .post(p.url("/demo/telecontenzioso/esci"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let end = location(&res);
    assert!(end.starts_with(&p.url("/oidc/logout?")), "{end}");
    assert!(end.contains("id_token_hint="));
    let res = c.get(&end).send().await.unwrap();
    assert_eq!(location(&res), p.url("/demo/telecontenzioso?state=uscito"));
    let html = c
        .get(p.url("/demo/telecontenzioso?state=uscito"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sei uscito"), "{html}");
    assert!(!html.contains(DISPUTE));
    // The portal session is over too.
    let res = c.get(p.url("/profilo")).send().await.unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
}

#[tokio::test]
async fn demo_relying_party_shows_the_case_file_only_with_casefile_read() {
    let p = portal().await;
    let db = &p.env.app.db;

    // Seeding registered the client once and pointed the application at it.
    let registered = demo::demo_client(&p.env.app.config).expect("demo client file");
    assert_eq!(
        registered.redirect_uri,
        p.url("/demo/telecontenzioso/callback")
    );
    demo::seed(&p.env.app).await.unwrap();
    let again = demo::demo_client(&p.env.app.config).unwrap();
    assert_eq!(
        again.client_id, registered.client_id,
        "seeding is idempotent"
    );
    let app = catalogue::application_by_code(db, "TELECONTENZIOSO")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.url, "/demo/telecontenzioso");

    // A wrong state is refused.
    let c = client();
    let res = c
        .get(p.url("/demo/telecontenzioso/callback?code=x&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Anna holds only Telecontenzioso: the dispute, not the case file.
    let (c, page) = login_to_demo(&p, ANNA).await;
    assert!(page.contains(DISPUTE), "{page}");
    assert!(page.contains(ANNA));
    assert!(!page.contains(CASEFILE), "{page}");
    assert!(page.contains("casefile-unavailable"));
    logout_from_demo(&p, &c, &page).await;

    // Marco, local administrator of the Comune, enables her to PTT.
    let anna = directory::user_by_fiscal_code(db, ANNA)
        .await
        .unwrap()
        .unwrap();
    let ptt = catalogue::profile_by_codes(db, "PTT", "ente_impositore")
        .await
        .unwrap()
        .unwrap();
    let admin = client();
    let page = admin
        .get(p.url("/accedi"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let res = admin
        .post(p.url("/accedi"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", MARCO),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let detail = p.url(&format!("/admin/utenti/{}", anna.id));
    let page = admin
        .get(&detail)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let res = admin
        .post(p.url(&format!("/admin/utenti/{}/abilita", anna.id)))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("profile_id", ptt.id.to_string().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&res),
        format!("/admin/utenti/{}?esito=abilitato", anna.id)
    );

    // A new login: now the case file too.
    let (_c, page) = login_to_demo(&p, ANNA).await;
    assert!(page.contains(DISPUTE), "{page}");
    assert!(page.contains(CASEFILE), "{page}");
    for doc in ["Ricorso introduttivo", "Controdeduzioni", "Sentenza"] {
        assert!(page.contains(doc), "{doc}");
    }
    assert!(page.contains("Processo Tributario Telematico"));
}

#[tokio::test]
async fn demo_relying_party_rejects_a_tampered_login() {
    let p = portal().await;
    let c = client();
    let res = c
        .get(p.url("/demo/telecontenzioso/accedi"))
        .send()
        .await
        .unwrap();
    let authorize = location(&res);
    let state = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    // Right state, but a code the provider never issued: the token endpoint
    // refuses it and the relying party says so.
    let res = c
        .get(p.url(&format!(
            "/demo/telecontenzioso/callback?code=bogus&state={state}&iss={}",
            url::form_urlencoded::byte_serialize(p.base.as_bytes()).collect::<String>()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
    let html = res.text().await.unwrap();
    assert!(html.contains("Accesso non riuscito"), "{html}");
    // The state was consumed: a replay is refused before any request.
    let res = c
        .get(p.url(&format!(
            "/demo/telecontenzioso/callback?code=bogus&state={state}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

async fn logged_in(p: &Portal, fiscal_code: &str) -> reqwest::Client {
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
            ("fiscal_code", fiscal_code),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    c
}

#[tokio::test]
async fn console_lists_and_registers_oidc_clients() {
    let p = portal().await;
    let giulia = logged_in(&p, "BNCGLI75C45H501W").await;
    let catalogue_page = giulia
        .get(p.url("/admin/catalogo"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(catalogue_page.contains("href=\"/admin/catalogo/client\""));
    let res = giulia
        .get(p.url("/admin/catalogo/client"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    let demo_client = demo::demo_client(&p.env.app.config).unwrap();
    assert!(
        page.contains(&demo_client.client_id),
        "the demo client is listed"
    );
    let csrf = hidden_field(&page, "csrf_token");
    let ptt = catalogue::application_by_code(&p.env.app.db, "PTT")
        .await
        .unwrap()
        .unwrap();
    let app_id = ptt.id.to_string();

    // An invalid redirect URI: the form again, with the error.
    let res = giulia
        .post(p.url("/admin/catalogo/client"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("application_id", app_id.as_str()),
            ("name", "Gestionale tributi"),
            ("client_type", "confidential"),
            ("redirect_uris", "http://tributi.example.it/cb"),
            ("scopes", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("redirect_uris_error"), "{html}");
    assert!(html.contains("Gestionale tributi"), "the draft is kept");

    let res = giulia
        .post(p.url("/admin/catalogo/client"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("application_id", app_id.as_str()),
            ("name", "Gestionale tributi"),
            ("client_type", "confidential"),
            (
                "redirect_uris",
                "https://tributi.example.it/cb\r\n\r\nhttps://tributi.example.it/cb2\r\n",
            ),
            ("scopes", "openid"),
            ("scopes", "profile"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let id = html
        .split("id=\"new-client-id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let secret = html
        .split("id=\"new-client-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(secret.len(), 64);
    let stored = sportello_store::oidc::client(&p.env.app.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.application_id, ptt.id);
    assert_eq!(stored.scopes, "openid profile");
    assert_eq!(stored.is_public, 0);
    let uris: Vec<String> = serde_json::from_str(&stored.redirect_uris).unwrap();
    assert_eq!(uris.len(), 2);
    // Listed afterwards, the secret is not shown again.
    let again = giulia
        .get(p.url("/admin/catalogo/client"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains(&id));
    assert!(!again.contains(&secret));

    // A local administrator may not.
    let marco = logged_in(&p, MARCO).await;
    let res = marco
        .get(p.url("/admin/catalogo/client"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}
