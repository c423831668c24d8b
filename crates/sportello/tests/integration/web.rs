//! The portal over real HTTP: pages, languages, errors, login, authorization,
//! CSRF, operations endpoints.

use sportello_app::demo::{self, DEMO_PASSWORD};

use crate::harness::{Server, client, count, env, hidden_field, login, logs};

const LOCAL_ADMIN: &str = "FRRMRC70A01D548N";
const EMPLOYEE: &str = "VRDNNA82D50D548K";
const CENTRAL_ADMIN: &str = "BNCGLI75C45H501W";

async fn demo_server() -> (crate::harness::TestEnv, Server) {
    let t = env().await;
    demo::seed(&t.app).await.unwrap();
    let server = Server::start(t.app.clone()).await;
    (t, server)
}

#[tokio::test]
async fn home_page_speaks_italian_first_and_english_on_request() {
    let (_t, server) = demo_server().await;
    let c = client();
    let res = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"it\">"));
    assert!(html.contains("href=\"#main-container\">Vai al contenuto principale</a>"));
    assert!(html.contains("id=\"main-container\""));
    assert!(html.contains("href=\"/dichiarazione-accessibilita\""));
    assert!(html.contains("/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css"));

    let res = c
        .get(server.url("/lingua?to=en&next=/privacy"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/privacy");
    let html = c
        .get(server.url("/privacy"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Skip to main content"));
    assert!(html.contains("Privacy notice"));

    // No open redirect through the language switch.
    let res = c
        .get(server.url("/lingua?to=it&next=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");
}

#[tokio::test]
async fn assets_are_served_from_the_binary() {
    let (_t, server) = demo_server().await;
    let c = client();
    let res = c
        .get(server.url("/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/css");
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert!(res.bytes().await.unwrap().len() > 100_000);
    let res = c
        .get(server.url("/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let res = c
        .get(server.url("/static/vendor/htmx/htmx.min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        c.get(server.url("/static/nope.css"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn unknown_pages_get_a_404_page() {
    let (_t, server) = demo_server().await;
    let res = client()
        .get(server.url("/pagina-inesistente"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>Pagina non trovata</h1>"), "{html}");
    assert!(html.contains("Dichiarazione di accessibilità"));
}

#[tokio::test]
async fn login_rotates_the_session_and_shows_the_users_organization() {
    let (t, server) = demo_server().await;
    let c = client();
    let res = login(&server, &c, LOCAL_ADMIN, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 303);
    let first = session_cookie(&res).expect("session cookie set at login");
    let cookie_line = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("sportello_session="))
        .unwrap();
    assert!(
        cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Lax"),
        "{cookie_line}"
    );
    let html = c
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<h1>I miei servizi</h1>"));
    assert!(html.contains("Marco Ferri"));
    assert!(html.contains("Comune di Ferrara"));
    assert!(html.contains("Amministratore locale delle utenze"));

    // Logging in again issues a new id and ends the old session.
    let res = login(&server, &c, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let second = session_cookie(&res).unwrap();
    assert_ne!(first, second);
    let old = client();
    let html = old
        .get(server.url("/"))
        .header("cookie", format!("sportello_session={first}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("Marco Ferri"),
        "the old session id still works"
    );
    let logins: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(logins, 2);
}

#[tokio::test]
async fn enabled_services_are_listed_in_my_services() {
    let (_t, server) = demo_server().await;
    let c = client();
    login(&server, &c, EMPLOYEE, DEMO_PASSWORD).await;
    let html = c
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Telecontenzioso"));
    assert!(!html.contains("Processo Tributario Telematico"));
}

#[tokio::test]
async fn wrong_credentials_and_bad_input_change_nothing() {
    let (t, server) = demo_server().await;
    let before = (
        count(&t.db, "sessions").await,
        count(&t.db, "audit_events").await,
    );
    let c = client();
    let res = login(&server, &c, LOCAL_ADMIN, "wrong-password-123").await;
    assert_eq!(res.status(), 401);
    assert!(session_cookie(&res).is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains("Codice fiscale o password non corretti"));
    assert!(html.contains("id=\"form-errors\""));

    let res = login(&server, &c, "RSSMRA80A01H501X", "whatever-it-is").await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("carattere di controllo errato"),
        "the error names the problem"
    );
    assert!(html.contains("aria-invalid=\"true\""));

    // An unknown account answers exactly like a wrong password.
    let res = login(&server, &c, "RSSMRA80A01H501U", "wrong-password-123").await;
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Codice fiscale o password non corretti")
    );

    // In English the same errors speak English.
    c.get(server.url("/lingua?to=en")).send().await.unwrap();
    let res = login(&server, &c, "RSSMRA80A01H50", "whatever-it-is").await;
    let html = res.text().await.unwrap();
    assert!(
        html.contains("it must have 16 characters, it has 14"),
        "{html}"
    );
    let res = login(&server, &c, LOCAL_ADMIN, "wrong-password-123").await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong codice fiscale or password")
    );

    // No session; the three refused passwords are in the audit trail, the
    // malformed codes changed nothing.
    assert_eq!(count(&t.db, "sessions").await, before.0);
    let failures: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login_failed'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(failures, 3);
    assert_eq!(count(&t.db, "audit_events").await, before.1 + 3);
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let (t, server) = demo_server().await;
    let c = client();
    c.get(server.url("/accedi")).send().await.unwrap();
    let res = c
        .post(server.url("/accedi"))
        .form(&[
            ("csrf_token", "0".repeat(64).as_str()),
            ("fiscal_code", LOCAL_ADMIN),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(session_cookie(&res).is_none());
    assert!(res.text().await.unwrap().contains("Il modulo è scaduto"));
    assert_eq!(count(&t.db, "sessions").await, 0);

    // Logged in, logout needs the session's token too.
    login(&server, &c, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let res = c
        .post(server.url("/esci"))
        .form(&[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(count(&t.db, "sessions").await, 1);
    let page = c
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden_field(&page, "csrf_token");
    let res = c
        .post(server.url("/esci"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(count(&t.db, "sessions").await, 0);
}

#[tokio::test]
async fn operations_are_reserved_to_the_central_administrator() {
    let (_t, server) = demo_server().await;
    let anon = client();
    let res = anon
        .get(server.url("/admin/operazioni"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/accedi");

    let local = client();
    login(&server, &local, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let res = local
        .get(server.url("/admin/operazioni"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let html = res.text().await.unwrap();
    assert!(html.contains("Accesso non consentito"));
    assert!(
        html.contains("Marco Ferri"),
        "the 403 page keeps the user's header"
    );

    let admin = client();
    login(&server, &admin, CENTRAL_ADMIN, DEMO_PASSWORD).await;
    let html = admin
        .get(server.url("/admin/operazioni"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"outbox-depth\""));
    assert!(html.contains("demo.seed"));
    let html = admin
        .get(server.url("/admin/audit/verifica"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Catena integra"), "{html}");
}

#[tokio::test]
async fn an_internal_error_shows_a_reference_that_is_in_the_log() {
    let (t, server) = demo_server().await;
    let c = client();
    let page = c
        .get(server.url("/accedi"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    t.db.close().await; // the database goes away under the running portal
    let res = c
        .post(server.url("/accedi"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", LOCAL_ADMIN),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let html = res.text().await.unwrap();
    assert!(html.contains("Errore del servizio"));
    let start = html
        .find("id=\"error-reference\">")
        .expect("reference shown")
        + "id=\"error-reference\">".len();
    let reference = &html[start..start + 12];
    assert!(reference.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(
        logs().contains(&format!("error_ref={reference}")),
        "reference {reference} not in the log"
    );
    let res = c.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (_t, server) = demo_server().await;
    let c = client();
    assert_eq!(
        c.get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        c.get(server.url("/readyz")).send().await.unwrap().status(),
        200
    );
    c.get(server.url("/")).send().await.unwrap();
    let text = c
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("sportello_http_requests_total"), "{text}");
    assert!(text.contains("sportello_http_request_duration_seconds"));
    assert!(text.contains("sportello_outbox_depth{state=\"pending\"}"));
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    // Production-strength hashing makes each login take a while.
    let t = crate::harness::env_with(|c| {
        c.argon2.memory_kib = 65536;
        c.argon2.iterations = 3;
    })
    .await;
    demo::seed(&t.app).await.unwrap();
    let server = Server::start(t.app.clone()).await;
    let clients: Vec<reqwest::Client> = (0..3).map(|_| client()).collect();
    let mut forms = Vec::new();
    for c in &clients {
        let page = c
            .get(server.url("/accedi"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        forms.push(hidden_field(&page, "csrf_token"));
    }
    // Logins in flight (hashing) when the shutdown begins must all complete.
    let url = server.url("/accedi");
    let requests: Vec<_> = clients
        .iter()
        .zip(forms)
        .map(|(c, csrf)| {
            let req = c.post(&url).form(&[
                ("csrf_token", csrf.as_str()),
                ("fiscal_code", LOCAL_ADMIN),
                ("password", DEMO_PASSWORD),
            ]);
            tokio::spawn(req.send())
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    server.shutdown().await;
    for r in requests {
        let res = r.await.unwrap().expect("an in-flight request was cut off");
        assert_eq!(res.status(), 303, "the login completed");
    }
    assert_eq!(
        count(&t.db, "sessions").await,
        3,
        "their sessions were committed"
    );
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("sportello_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .filter(|v| !v.is_empty())
}
