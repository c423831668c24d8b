//! Identity over real HTTP with real mail: first access (activation link and
//! temporary password), forced change of expired passwords, reset by e-mail,
//! throttling and lockout, administrators' user creation and unlock.

use std::time::Duration;

use sportello_app::demo::{self, DEMO_PASSWORD};

use crate::harness::{
    Server, SmtpSink, TestEnv, client, count, env_with, hidden_field, link_path, login,
    wait_for_mail,
};

const CENTRAL_ADMIN: &str = "BNCGLI75C45H501W";
const LOCAL_ADMIN: &str = "FRRMRC70A01D548N";
const EMPLOYEE: &str = "VRDNNA82D50D548K";
const NEW_USER: &str = "BNCLRA85T50D548"; // check character added at run time

fn new_user_code() -> String {
    format!(
        "{NEW_USER}{}",
        sportello_core::fiscal_code::check_character(NEW_USER)
    )
}

async fn world(
    adjust: impl FnOnce(&mut sportello_app::Config),
) -> (TestEnv, Server, SmtpSink, tempfile::TempDir) {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(sink_dir.path());
    let url = sink.url();
    let t = env_with(|c| {
        c.mail.smtp_url = url;
        adjust(c);
    })
    .await;
    demo::seed(&t.app).await.unwrap();
    let server = Server::start(t.app.clone()).await;
    (t, server, sink, sink_dir)
}

async fn page(c: &reqwest::Client, url: String) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

async fn create_user(
    server: &Server,
    admin: &reqwest::Client,
    first_access: &str,
) -> reqwest::Response {
    let form = page(admin, server.url("/admin/utenti/nuovo")).await;
    let csrf = hidden_field(&form, "csrf_token");
    let org = organization_option(&form, "Comune di Ferrara");
    let code = new_user_code();
    admin
        .post(server.url("/admin/utenti/nuovo"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", code.as_str()),
            ("given_name", "Lara"),
            ("family_name", "Bianconi"),
            ("email", "lara.bianconi@comune.ferrara.example.it"),
            ("pec", ""),
            ("phone", "+39 0532 000000"),
            ("category", "public_employee"),
            ("organization_id", org.as_str()),
            ("first_access", first_access),
        ])
        .send()
        .await
        .unwrap()
}

fn organization_option(html: &str, name: &str) -> String {
    let end = html
        .find(&format!(">{name}</option>"))
        .unwrap_or_else(|| panic!("{name} not offered"));
    let before = &html[..end];
    let start = before.rfind("value=\"").unwrap() + 7;
    before[start..].split('"').next().unwrap().to_string()
}

async fn set_password(
    server: &Server,
    c: &reqwest::Client,
    path: &str,
    new: &str,
) -> reqwest::Response {
    let form = page(c, server.url(path)).await;
    let csrf = hidden_field(&form, "csrf_token");
    let token = hidden_field(&form, "token");
    let action = if path.starts_with("/attivazione") {
        "/attivazione"
    } else {
        "/reset-password/nuova"
    };
    c.post(server.url(action))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", token.as_str()),
            ("new_password", new),
            ("confirm_password", new),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn first_access_by_activation_link_then_login() {
    let (t, server, sink, _d) = world(|_| {}).await;
    let admin = client();
    login(&server, &admin, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let res = create_user(&server, &admin, "activation_link").await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let body = wait_for_mail(
        &sink,
        "lara.bianconi@comune.ferrara.example.it",
        "la tua utenza",
    )
    .await;
    assert!(!body.contains("password provvisoria"));
    let link = link_path(&body, "/attivazione?token=");

    // Before activation the account cannot be used.
    let user = client();
    let res = set_password(&server, &user, &link, "Lara-Bianconi-2026").await;
    assert_eq!(
        res.status(),
        400,
        "a password with the user's name is refused"
    );
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("non può contenere il codice fiscale, il nome o il cognome")
    );
    let res = set_password(&server, &user, &link, "Fiume-Po-Estense-7").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/accedi?password=attivata");

    let res = login(&server, &user, &new_user_code(), "Fiume-Po-Estense-7").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
    let home = page(&user, server.url("/")).await;
    assert!(home.contains("Lara Bianconi") && home.contains("Comune di Ferrara"));

    // The link works once.
    let replay = client();
    let res = replay.get(server.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("id=\"token-invalid\""));
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_events WHERE action IN ('user.create', 'auth.activated') ORDER BY seq")
        .fetch_all(t.db.pool())
        .await
        .unwrap();
    assert_eq!(actions, vec!["user.create", "auth.activated"]);
}

#[tokio::test]
async fn temporary_password_must_be_changed_before_anything_else() {
    let (_t, server, sink, _d) = world(|_| {}).await;
    let admin = client();
    login(&server, &admin, CENTRAL_ADMIN, DEMO_PASSWORD).await;
    assert_eq!(
        create_user(&server, &admin, "temporary_password")
            .await
            .status(),
        303
    );
    let body = wait_for_mail(&sink, "lara.bianconi", "la tua utenza").await;
    let marker = "password provvisoria è: ";
    let start = body.find(marker).expect("temporary password in the mail") + marker.len();
    let temporary = body[start..].split_whitespace().next().unwrap().to_string();

    let user = client();
    let res = login(&server, &user, &new_user_code(), &temporary).await;
    assert_eq!(res.headers()["location"], "/cambio-password");
    for path in ["/", "/profilo", "/admin/utenti"] {
        let res = user.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/cambio-password", "{path}");
    }
    let form = page(&user, server.url("/cambio-password")).await;
    assert!(form.contains("id=\"forced-change\""));
    let csrf = hidden_field(&form, "csrf_token");
    let change = |current: String, new: &'static str| {
        let (user, url, csrf) = (user.clone(), server.url("/cambio-password"), csrf.clone());
        async move {
            user.post(url)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("current_password", current.as_str()),
                    ("new_password", new),
                    ("confirm_password", new),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let res = change(temporary.clone(), "short").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("almeno 12 caratteri"));
    let res = change(temporary.clone(), "Mura-Estensi-2026!").await;
    assert_eq!(res.status(), 303);
    let home = user.get(server.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("I miei servizi"));
    // The temporary password no longer opens the account.
    let res = login(&server, &client(), &new_user_code(), &temporary).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn after_a_forced_change_the_user_continues_where_he_was_going() {
    let (t, server, _sink, _d) = world(|_| {}).await;
    let hundred_days = 100 * 86_400_000_000i64;
    sqlx::query("UPDATE users SET password_changed_at = $1 WHERE fiscal_code = $2")
        .bind(sportello_app::now_micros() - hundred_days)
        .bind(EMPLOYEE)
        .execute(t.db.pool())
        .await
        .unwrap();
    let user = client();
    let page = page(&user, server.url("/accedi?next=%2Fprofilo")).await;
    let csrf = hidden_field(&page, "csrf_token");
    let res = user
        .post(server.url("/accedi?next=%2Fprofilo"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", EMPLOYEE),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        "/cambio-password?next=%2Fprofilo"
    );
    let form = super::identity::page(&user, server.url("/cambio-password?next=%2Fprofilo")).await;
    let csrf = hidden_field(&form, "csrf_token");
    assert!(form.contains("action=\"/cambio-password?next=%2Fprofilo\""));
    let res = user
        .post(server.url("/cambio-password?next=%2Fprofilo"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("current_password", DEMO_PASSWORD),
            ("new_password", "Porta-Paola-2026!"),
            ("confirm_password", "Porta-Paola-2026!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/profilo");
    // An outside address is never a destination.
    let res = login(&server, &client(), "FRRMRC70A01D548N", DEMO_PASSWORD).await;
    assert_eq!(res.headers()["location"], "/");
}

#[tokio::test]
async fn an_expired_password_can_only_be_changed_and_not_to_a_recent_one() {
    let (t, server, _sink, _d) = world(|_| {}).await;
    let hundred_days = 100 * 86_400_000_000i64;
    sqlx::query("UPDATE users SET password_changed_at = $1 WHERE fiscal_code = $2")
        .bind(sportello_app::now_micros() - hundred_days)
        .bind(EMPLOYEE)
        .execute(t.db.pool())
        .await
        .unwrap();
    let user = client();
    let res = login(&server, &user, EMPLOYEE, DEMO_PASSWORD).await;
    assert_eq!(res.headers()["location"], "/cambio-password");
    let res = user.get(server.url("/")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/cambio-password");
    let form = page(&user, server.url("/cambio-password")).await;
    let csrf = hidden_field(&form, "csrf_token");
    let post = |new: &'static str| {
        let (user, url, csrf) = (user.clone(), server.url("/cambio-password"), csrf.clone());
        async move {
            user.post(url)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("current_password", DEMO_PASSWORD),
                    ("new_password", new),
                    ("confirm_password", new),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let res = post(DEMO_PASSWORD).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text().await.unwrap().contains("ultime"),
        "the current password cannot be reused"
    );
    assert_eq!(post("Castello-Estense-99").await.status(), 303);
    assert_eq!(
        user.get(server.url("/")).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn reset_by_e_mail_link_works_once_and_reveals_nothing() {
    let (t, server, sink, _d) = world(|_| {}).await;
    let c = client();
    let form = page(&c, server.url("/reset-password")).await;
    let csrf = hidden_field(&form, "csrf_token");
    let ask = |code: &'static str, email: &'static str| {
        let (c, url, csrf) = (c.clone(), server.url("/reset-password"), csrf.clone());
        async move {
            c.post(url)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("fiscal_code", code),
                    ("email", email),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // Wrong e-mail and unknown account: the same answer, no mail, no token.
    for (code, email) in [
        (EMPLOYEE, "someone.else@example.it"),
        ("RSSMRA80A01H501U", "mario@example.it"),
    ] {
        let res = ask(code, email).await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/reset-password?inviato=1");
    }
    assert_eq!(count(&t.db, "credential_tokens").await, 0);

    let res = ask(EMPLOYEE, "Anna.Verdi@demo.sportello.localhost").await;
    assert_eq!(res.headers()["location"], "/reset-password?inviato=1");
    let body = wait_for_mail(
        &sink,
        "anna.verdi@demo.sportello.localhost",
        "reimpostazione della password",
    )
    .await;
    let link = link_path(&body, "/reset-password/nuova?token=");
    // A logged-in session of the user ends with the reset.
    let other = client();
    login(&server, &other, EMPLOYEE, DEMO_PASSWORD).await;
    let res = set_password(&server, &client(), &link, "Delta-del-Po-2026").await;
    assert_eq!(res.headers()["location"], "/accedi?password=reimpostata");
    assert!(!page(&other, server.url("/")).await.contains("Anna Verdi"));
    assert_eq!(
        login(&server, &client(), EMPLOYEE, DEMO_PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        login(&server, &client(), EMPLOYEE, "Delta-del-Po-2026")
            .await
            .status(),
        303
    );
    // Replayed link: refused, nothing changes.
    let res = client().get(server.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 410);
    let replay = set_password_direct(&server, &link, "Another-Pass-2026").await;
    assert_eq!(replay.status(), 410);
    assert_eq!(
        login(&server, &client(), EMPLOYEE, "Delta-del-Po-2026")
            .await
            .status(),
        303
    );
}

/// Posts a new password to a reset link without first loading the form.
async fn set_password_direct(server: &Server, link: &str, new: &str) -> reqwest::Response {
    let c = client();
    let form = page(&c, server.url("/reset-password")).await;
    let csrf = hidden_field(&form, "csrf_token");
    let token = link.split("token=").nth(1).unwrap();
    c.post(server.url("/reset-password/nuova"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", token),
            ("new_password", new),
            ("confirm_password", new),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn repeated_failures_slow_down_then_lock_and_an_administrator_unlocks() {
    let (t, server, sink, _d) = world(|_| {}).await;
    let c = client();
    for _ in 0..3 {
        assert_eq!(
            login(&server, &c, EMPLOYEE, "Wrong-password-1")
                .await
                .status(),
            401
        );
    }
    // The fourth attempt comes too soon: refused without checking the password.
    let res = login(&server, &c, EMPLOYEE, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("riprova tra"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        login(&server, &c, EMPLOYEE, "Wrong-password-1")
            .await
            .status(),
        401
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        login(&server, &c, EMPLOYEE, "Wrong-password-1")
            .await
            .status(),
        401
    );
    // Five failures: locked, even with the right password.
    let res = login(&server, &c, EMPLOYEE, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Accesso sospeso"));
    let lockouts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.lockout'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(lockouts, 1);
    wait_for_mail(
        &sink,
        "anna.verdi@demo.sportello.localhost",
        "accesso sospeso",
    )
    .await;

    // Her local administrator sees the lock and lifts it.
    let admin = client();
    login(&server, &admin, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let list = page(&admin, server.url("/admin/utenti?q=verdi")).await;
    assert!(list.contains("Anna Verdi") && list.contains("bloccato"));
    let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE fiscal_code = $1")
        .bind(EMPLOYEE)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let csrf = hidden_field(&list, "csrf_token");
    let res = admin
        .post(server.url(&format!("/admin/utenti/{user_id}/sblocca")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        login(&server, &client(), EMPLOYEE, DEMO_PASSWORD)
            .await
            .status(),
        303
    );
    let unlocks: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'user.unlock'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(unlocks, 1);
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_blocked() {
    let (_t, server, _sink, _d) = world(|c| c.login.address_failures = 4).await;
    let c = client();
    for code in ["RSSMRA80A01H501U", EMPLOYEE, LOCAL_ADMIN, CENTRAL_ADMIN] {
        assert_eq!(
            login(&server, &c, code, "Wrong-password-1").await.status(),
            401
        );
    }
    let res = login(&server, &c, LOCAL_ADMIN, DEMO_PASSWORD).await;
    assert_eq!(
        res.status(),
        429,
        "the address is blocked even for a right password"
    );
}

#[tokio::test]
async fn user_creation_refuses_bad_input_and_foreign_organizations() {
    let (t, server, _sink, _d) = world(|_| {}).await;
    let admin = client();
    login(&server, &admin, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let form = page(&admin, server.url("/admin/utenti/nuovo")).await;
    assert!(
        !form.contains(">Prefettura di Ferrara</option>"),
        "only his own bodies are offered"
    );
    let csrf = hidden_field(&form, "csrf_token");
    let org = organization_option(&form, "Ferrara Tributi S.p.A.");
    let users_before = count(&t.db, "users").await;
    let long = "x".repeat(300);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("fiscal_code", "RSSMRA80A01H501X")],
            "carattere di controllo errato",
        ),
        (
            vec![("email", "non-una-mail")],
            "non è un indirizzo e-mail valido",
        ),
        (
            vec![("given_name", long.as_str())],
            "al massimo 100 caratteri",
        ),
        (vec![("fiscal_code", EMPLOYEE)], "esiste già un utente"),
        (vec![("category", "astronaut")], "categoria non valida"),
    ];
    let code = new_user_code();
    for (overrides, message) in cases {
        let mut fields = vec![
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", code.as_str()),
            ("given_name", "Lara"),
            ("family_name", "Bianconi"),
            ("email", "lara@example.it"),
            ("category", "contractor_employee"),
            ("organization_id", org.as_str()),
        ];
        for (k, v) in overrides {
            for f in fields.iter_mut() {
                if f.0 == k {
                    f.1 = v;
                }
            }
        }
        let res = admin
            .post(server.url("/admin/utenti/nuovo"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{message}");
        assert!(res.text().await.unwrap().contains(message), "{message}");
    }
    // Another organization's body: refused by the authorization gate.
    let prefecture: i64 = sqlx::query_scalar("SELECT id FROM organizations WHERE code = 'PREF-FE'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let prefecture = prefecture.to_string();
    let res = admin
        .post(server.url("/admin/utenti/nuovo"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", code.as_str()),
            ("given_name", "L"),
            ("family_name", "B"),
            ("email", "l@example.it"),
            ("category", "public_employee"),
            ("organization_id", prefecture.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(count(&t.db, "users").await, users_before);
    // A plain user may not create users at all.
    let plain = client();
    login(&server, &plain, EMPLOYEE, DEMO_PASSWORD).await;
    assert_eq!(
        plain
            .get(server.url("/admin/utenti"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn profile_lists_sessions_and_logout_everywhere_ends_them() {
    let (t, server, _sink, _d) = world(|_| {}).await;
    let a = client();
    let b = client();
    login(&server, &a, EMPLOYEE, DEMO_PASSWORD).await;
    login(&server, &b, EMPLOYEE, DEMO_PASSWORD).await;
    let profile = page(&a, server.url("/profilo")).await;
    assert!(profile.contains(EMPLOYEE));
    assert_eq!(profile.matches("Questa sessione").count(), 1);
    assert!(profile.contains("/profilo/sessioni/termina"));
    assert!(
        profile.contains("Accesso"),
        "the access log lists the logins"
    );
    let csrf = hidden_field(&profile, "csrf_token");
    let res = a
        .post(server.url("/profilo/sessioni/esci-ovunque"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(count(&t.db, "sessions").await, 0);
    assert!(!page(&b, server.url("/")).await.contains("Anna Verdi"));
}

#[tokio::test]
async fn expiry_warning_is_sent_once_per_password() {
    // No server here: its scheduler would run the same job concurrently.
    let t = env_with(|_| {}).await;
    demo::seed(&t.app).await.unwrap();
    let eighty_days = 80 * 86_400_000_000i64;
    sqlx::query("UPDATE users SET password_changed_at = $1 WHERE fiscal_code = $2")
        .bind(sportello_app::now_micros() - eighty_days)
        .bind(EMPLOYEE)
        .execute(t.db.pool())
        .await
        .unwrap();
    let now = sportello_app::now_micros();
    assert_eq!(t.app.send_expiry_warnings(now).await.unwrap(), 1);
    assert_eq!(t.app.send_expiry_warnings(now).await.unwrap(), 0);
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%sta per scadere%'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(queued, 1);
}
