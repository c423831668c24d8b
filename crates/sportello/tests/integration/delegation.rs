//! Delegated access administration over real HTTP with real mail: enabling
//! under the catalogue's rules, implied applications, the user lifecycle,
//! sub-delegation, the appointment of local administrators, audit history.

use sportello_app::demo::{self, DEMO_PASSWORD};

use crate::harness::{
    Server, SmtpSink, TestEnv, client, env_with, hidden_field, login, parse_mail, wait_for_mail,
};

const CENTRAL_ADMIN: &str = "BNCGLI75C45H501W";
const LOCAL_ADMIN: &str = "FRRMRC70A01D548N";
const EMPLOYEE: &str = "VRDNNA82D50D548K";
const CONCESSIONAIRE: &str = "NRELCU85M10D548J";
const PREFECTURE_OPERATOR: &str = "GRCCHR80T60D548W";
const BUSINESS: &str = "SPSRRT77P03D548A";
const CTU: &str = "CLMLRA90A41A944J";

async fn world() -> (TestEnv, Server, SmtpSink, tempfile::TempDir) {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(sink_dir.path());
    let url = sink.url();
    let t = env_with(|c| c.mail.smtp_url = url).await;
    demo::seed(&t.app).await.unwrap();
    let server = Server::start(t.app.clone()).await;
    (t, server, sink, sink_dir)
}

async fn user_id(t: &TestEnv, code: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE fiscal_code = $1")
        .bind(code)
        .fetch_one(t.db.pool())
        .await
        .unwrap()
}

async fn profile_id(t: &TestEnv, app: &str, profile: &str) -> i64 {
    sqlx::query_scalar("SELECT p.id FROM profiles p JOIN applications a ON a.id = p.application_id WHERE a.code = $1 AND p.code = $2")
        .bind(app)
        .bind(profile)
        .fetch_one(t.db.pool())
        .await
        .unwrap()
}

async fn text(c: &reqwest::Client, url: String) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

async fn post(
    c: &reqwest::Client,
    server: &Server,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = text(c, server.url(page)).await;
    let csrf = hidden_field(&html, "csrf_token");
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    c.post(server.url(action)).form(&form).send().await.unwrap()
}

async fn audit_count(t: &TestEnv, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = $1")
        .bind(action)
        .fetch_one(t.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_local_administrator_enables_within_the_catalogue_rules() {
    let (t, server, sink, _d) = world().await;
    let admin = client();
    login(&server, &admin, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let help = text(&admin, server.url("/admin/assistenza")).await;
    assert!(
        help.contains("Abilitazione massiva") && help.contains("id=\"concessionari\""),
        "online help inside the console"
    );
    let anna = user_id(&t, EMPLOYEE).await;
    let page = format!("/admin/utenti/{anna}");
    let html = text(&admin, server.url(&page)).await;
    assert!(html.contains("id=\"enablements\"") && html.contains("Telecontenzioso"));
    assert!(
        !html.contains("Servizi integrati per le imprese - Titolare"),
        "profiles the organization kind may not hold are not offered"
    );

    // PTT for Anna: granted, she is told by e-mail without credentials.
    let ptt = profile_id(&t, "PTT", "ente_impositore").await.to_string();
    let res = post(
        &admin,
        &server,
        &page,
        &format!("/admin/utenti/{anna}/abilita"),
        &[("profile_id", &ptt)],
    )
    .await;
    assert_eq!(res.status(), 303);
    let body = wait_for_mail(
        &sink,
        "anna.verdi@demo.sportello.localhost",
        "abilitazione a Processo Tributario Telematico",
    )
    .await;
    assert!(body.contains("credenziali che già possiedi") && !body.contains("token="));
    assert_eq!(audit_count(&t, "user.enable").await, 1);

    // A second profile of the same application is refused with a clear message.
    let other = profile_id(&t, "PTT", "consultazione").await.to_string();
    let res = post(
        &admin,
        &server,
        &page,
        &format!("/admin/utenti/{anna}/abilita"),
        &[("profile_id", &other)],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("un solo profilo per applicazione")
    );

    // A profile reserved to companies cannot go to a municipality's employee.
    let business = profile_id(&t, "SERVIZI-INTEGRATI", "impresa")
        .await
        .to_string();
    let res = post(
        &admin,
        &server,
        &page,
        &format!("/admin/utenti/{anna}/abilita"),
        &[("profile_id", &business)],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("non può essere assegnato a utenti di questo tipo di ente")
    );
    assert_eq!(
        audit_count(&t, "user.enable").await,
        1,
        "refusals change nothing"
    );
}

#[tokio::test]
async fn ptt_also_opens_telecontenzioso() {
    let (t, server, _sink, _d) = world().await;
    let luca = client();
    login(&server, &luca, CONCESSIONAIRE, DEMO_PASSWORD).await;
    let home = text(&luca, server.url("/")).await;
    assert!(home.contains("data-application=\"PTT\""));
    assert!(home.contains("data-application=\"TELECONTENZIOSO\""));
    assert!(
        home.contains("abilitazione a Processo Tributario Telematico"),
        "{home}"
    );
    // The concessionaire's employee is managed by the municipality's administrator.
    let admin = client();
    login(&server, &admin, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let id = user_id(&t, CONCESSIONAIRE).await;
    assert_eq!(
        admin
            .get(server.url(&format!("/admin/utenti/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_local_administrator_never_touches_other_organizations() {
    let (t, server, _sink, _d) = world().await;
    let admin = client();
    login(&server, &admin, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let chiara = user_id(&t, PREFECTURE_OPERATOR).await;
    assert_eq!(
        admin
            .get(server.url(&format!("/admin/utenti/{chiara}")))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let bdna = profile_id(&t, "BDNA", "stazione_appaltante")
        .await
        .to_string();
    let res = post(
        &admin,
        &server,
        "/admin/utenti",
        &format!("/admin/utenti/{chiara}/abilita"),
        &[("profile_id", &bdna)],
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = post(
        &admin,
        &server,
        "/admin/utenti",
        &format!("/admin/utenti/{chiara}/disabilita"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 403);
    let list = text(&admin, server.url("/admin/utenti")).await;
    assert!(!list.contains("Chiara Greco"));
    let status: String = sqlx::query_scalar("SELECT status FROM users WHERE id = $1")
        .bind(chiara)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "active");
}

#[tokio::test]
async fn disable_re_enable_and_delete() {
    let (t, server, _sink, _d) = world().await;
    let admin = client();
    login(&server, &admin, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let anna_c = client();
    login(&server, &anna_c, EMPLOYEE, DEMO_PASSWORD).await;
    let anna = user_id(&t, EMPLOYEE).await;
    let page = format!("/admin/utenti/{anna}");
    assert_eq!(
        post(
            &admin,
            &server,
            &page,
            &format!("/admin/utenti/{anna}/disabilita"),
            &[]
        )
        .await
        .status(),
        303
    );
    assert!(
        !text(&anna_c, server.url("/")).await.contains("Anna Verdi"),
        "her session ended"
    );
    let res = login(&server, &client(), EMPLOYEE, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("non è attiva"));
    assert_eq!(
        post(
            &admin,
            &server,
            &page,
            &format!("/admin/utenti/{anna}/riabilita"),
            &[]
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        login(&server, &client(), EMPLOYEE, DEMO_PASSWORD)
            .await
            .status(),
        303
    );

    // Deleting needs the confirmation; then personal data is gone, the audit stays.
    let res = post(
        &admin,
        &server,
        &page,
        &format!("/admin/utenti/{anna}/elimina"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 400);
    let res = post(
        &admin,
        &server,
        &page,
        &format!("/admin/utenti/{anna}/elimina"),
        &[("confirm", "1")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (code, name, email): (String, String, String) =
        sqlx::query_as("SELECT fiscal_code, given_name, email FROM users WHERE id = $1")
            .bind(anna)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(
        (code.as_str(), name.as_str(), email.as_str()),
        (format!("ELIMINATO-{anna}").as_str(), "Utente", "")
    );
    assert_eq!(
        login(&server, &client(), EMPLOYEE, DEMO_PASSWORD)
            .await
            .status(),
        401
    );
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE target = $1")
        .bind(format!("user:{anna}"))
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert!(events >= 4, "the history of the account is kept");
    match sportello_store::audit::verify(&t.db).await.unwrap() {
        sportello_store::audit::Verification::Intact { .. } => {}
        sportello_store::audit::Verification::Broken(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn sub_delegation_extends_only_what_is_held_and_ends_with_it() {
    let (t, server, sink, _d) = world().await;
    let roberto = client();
    login(&server, &roberto, BUSINESS, DEMO_PASSWORD).await;
    let page = text(&roberto, server.url("/subdeleghe")).await;
    let marker = "<option value=\"";
    let offers: Vec<String> = page
        .split(marker)
        .skip(1)
        .map(|p| p.split('"').next().unwrap().to_string())
        .collect();
    // For the integrated services: his profile and the narrower one; for
    // each agency's application he is enabled at, his own profile.
    let held = profile_id(&t, "SERVIZI-INTEGRATI", "impresa").await;
    let narrower = profile_id(&t, "SERVIZI-INTEGRATI", "collaboratore").await;
    let mut expected = vec![held, narrower];
    for app in ["INPS-IMPRESE", "INAIL-IMPRESE", "CCIAA-COMUNICA"] {
        let profile = if app == "CCIAA-COMUNICA" {
            "impresa"
        } else {
            "datore_lavoro"
        };
        expected.push(profile_id(&t, app, profile).await);
    }
    let mut offered: Vec<i64> = offers
        .iter()
        .map(|o| o.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    offered.sort_unstable();
    expected.sort_unstable();
    assert_eq!(offered, expected, "offers: {offers:?}");
    let offer = offers
        .iter()
        .find(|o| o.ends_with(&format!(":{narrower}")))
        .unwrap()
        .clone();
    let res = post(
        &roberto,
        &server,
        "/subdeleghe",
        "/subdeleghe",
        &[
            ("fiscal_code", CTU),
            ("offer", &offer),
            ("expires_on", "2099-12-31"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    wait_for_mail(&sink, "laura.colombo@demo.sportello.localhost", "subdelega").await;
    let laura = client();
    login(&server, &laura, CTU, DEMO_PASSWORD).await;
    let home = text(&laura, server.url("/")).await;
    assert!(home.contains("Subdelegato da Roberto Esposito"));

    // Laura holds the CTU profile of PTT: she may not hand out the wider professional one.
    let ctu_enablement: i64 = sqlx::query_scalar(
        "SELECT e.id FROM enablements e JOIN users u ON u.id = e.user_id WHERE u.fiscal_code = $1",
    )
    .bind(CTU)
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    let wider = profile_id(&t, "PTT", "professionista").await;
    let res = post(
        &laura,
        &server,
        "/subdeleghe",
        "/subdeleghe",
        &[
            ("fiscal_code", EMPLOYEE),
            ("offer", &format!("{ctu_enablement}:{wider}")),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("non più ampio"));
    // Nor may she delegate what she does not hold (Roberto's enablement).
    let res = post(
        &laura,
        &server,
        "/subdeleghe",
        "/subdeleghe",
        &[("fiscal_code", EMPLOYEE), ("offer", &offer)],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("solo un profilo che possiedi")
    );

    // Revoking Roberto's own enablement ends the sub-delegation hanging on it.
    let enablement: i64 = offer.split(':').next().unwrap().parse().unwrap();
    let central = client();
    login(&server, &central, CENTRAL_ADMIN, DEMO_PASSWORD).await;
    let rid = user_id(&t, BUSINESS).await;
    let res = post(
        &central,
        &server,
        &format!("/admin/utenti/{rid}"),
        &format!("/admin/abilitazioni/{enablement}/revoca"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        !text(&laura, server.url("/"))
            .await
            .contains("Subdelegato da Roberto Esposito")
    );
}

fn multipart(
    fields: &[(&str, &str)],
    letter: (&str, Vec<u8>),
    csrf: &str,
) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().text("csrf_token", csrf.to_string());
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form.part(
        "letter",
        reqwest::multipart::Part::bytes(letter.1).file_name(letter.0.to_string()),
    )
}

#[tokio::test]
async fn appointing_a_local_administrator() {
    let (t, server, sink, _d) = world().await;
    let head = client();
    let html = text(&head, server.url("/nomina-amministratore")).await;
    let csrf = hidden_field(&html, "csrf_token");
    let region: i64 = sqlx::query_scalar("SELECT id FROM organizations WHERE code = 'RER'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let region = region.to_string();
    let candidate = {
        let first15 = "RSSGNN72B10A944";
        format!(
            "{first15}{}",
            sportello_core::fiscal_code::check_character(first15)
        )
    };
    let fields = [
        ("organization_id", region.as_str()),
        ("requester_name", "Carla Moretti"),
        (
            "requester_role",
            "Dirigente del Servizio sistemi informativi",
        ),
        ("requester_email", "carla.moretti@regione.example.it"),
        ("candidate_fiscal_code", candidate.as_str()),
        ("candidate_given_name", "Giovanni"),
        ("candidate_family_name", "Rossi"),
        ("candidate_email", "giovanni.rossi@regione.example.it"),
    ];
    // A letter that is not a PDF nor a signed file is refused, nothing stored.
    let res = head
        .post(server.url("/nomina-amministratore"))
        .multipart(multipart(
            &fields,
            ("lettera.docx", b"PK\x03\x04 not a pdf".to_vec()),
            &csrf,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("PDF"));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appointment_requests")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0);

    let res = head
        .post(server.url("/nomina-amministratore"))
        .multipart(multipart(
            &fields,
            (
                "nomina firmata.pdf",
                b"%PDF-1.7\n% lettera di nomina\n".to_vec(),
            ),
            &csrf,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let receipt = wait_for_mail(
        &sink,
        "carla.moretti@regione.example.it",
        "nomina amministratore locale",
    )
    .await;
    assert!(receipt.contains("Giovanni Rossi"));

    // The central administrator sees it, downloads the letter and approves.
    let admin = client();
    login(&server, &admin, CENTRAL_ADMIN, DEMO_PASSWORD).await;
    let list = text(&admin, server.url("/admin/nomine")).await;
    assert!(list.contains("Giovanni Rossi") && list.contains("nomina firmata.pdf"));
    let id: i64 = sqlx::query_scalar("SELECT id FROM appointment_requests")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let letter = admin
        .get(server.url(&format!("/admin/nomine/{id}/lettera")))
        .send()
        .await
        .unwrap();
    assert_eq!(letter.headers()["content-type"], "application/pdf");
    assert!(letter.bytes().await.unwrap().starts_with(b"%PDF-1.7"));
    // A rejection needs a reason.
    let res = post(
        &admin,
        &server,
        "/admin/nomine",
        &format!("/admin/nomine/{id}/decisione"),
        &[("decision", "reject"), ("note", "")],
    )
    .await;
    assert_eq!(res.status(), 400);
    let res = post(
        &admin,
        &server,
        "/admin/nomine",
        &format!("/admin/nomine/{id}/decisione"),
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let welcome = wait_for_mail(
        &sink,
        "giovanni.rossi@regione.example.it",
        "amministratore locale delle utenze",
    )
    .await;
    assert!(
        welcome.contains("/attivazione?token="),
        "a new user gets an activation link"
    );
    let outcome = wait_for_mail(&sink, "carla.moretti@regione.example.it", "accolta").await;
    assert!(outcome.contains("Giovanni Rossi"));
    let roles: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.fiscal_code = $1 AND r.role = 'local_admin'")
        .bind(&candidate)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(roles, 1);
    // Deciding twice is refused.
    let res = post(
        &admin,
        &server,
        "/admin/nomine",
        &format!("/admin/nomine/{id}/decisione"),
        &[("decision", "reject"), ("note", "ripensamento")],
    )
    .await;
    assert_eq!(res.status(), 400);
    // Only the central administrator decides.
    let local = client();
    login(&server, &local, LOCAL_ADMIN, DEMO_PASSWORD).await;
    assert_eq!(
        local
            .get(server.url("/admin/nomine"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let _ = parse_mail;
}

#[tokio::test]
async fn the_audit_history_of_an_organization_shows_only_its_own_acts() {
    let (t, server, _sink, _d) = world().await;
    let admin = client();
    login(&server, &admin, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let anna = user_id(&t, EMPLOYEE).await;
    let ptt = profile_id(&t, "PTT", "ente_impositore").await.to_string();
    post(
        &admin,
        &server,
        &format!("/admin/utenti/{anna}"),
        &format!("/admin/utenti/{anna}/abilita"),
        &[("profile_id", &ptt)],
    )
    .await;
    // An act in another organization.
    let central = client();
    login(&server, &central, CENTRAL_ADMIN, DEMO_PASSWORD).await;
    let chiara = user_id(&t, PREFECTURE_OPERATOR).await;
    post(
        &central,
        &server,
        &format!("/admin/utenti/{chiara}"),
        &format!("/admin/utenti/{chiara}/reinvia"),
        &[],
    )
    .await;
    let html = text(&admin, server.url("/admin/audit?azione=user.")).await;
    assert!(html.contains("user.enable") && html.contains(&format!("user:{anna}")));
    assert!(
        !html.contains(&format!("user:{chiara}")),
        "another organization's history leaked"
    );
    let html = text(
        &central,
        server.url(&format!("/admin/audit?oggetto=user:{chiara}")),
    )
    .await;
    assert!(html.contains("user.resend_first_access"));
}

#[tokio::test]
async fn the_central_administrator_edits_the_catalogue_and_the_rules_apply_at_once() {
    let (t, server, _sink, _d) = world().await;
    let admin = client();
    login(&server, &admin, CENTRAL_ADMIN, DEMO_PASSWORD).await;
    // Bad input: a clear error and nothing created.
    let res = post(
        &admin,
        &server,
        "/admin/catalogo",
        "/admin/catalogo/applicazioni",
        &[
            ("code", "x"),
            ("name", "Tributi locali"),
            ("description", "d"),
            ("url", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("da 2 a 40 caratteri"));
    let res = post(
        &admin,
        &server,
        "/admin/catalogo",
        "/admin/catalogo/applicazioni",
        &[
            ("code", "TRIBUTI"),
            ("name", "Tributi locali"),
            ("description", "Gestione dei tributi locali"),
            ("url", "javascript:alert(1)"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let res = post(
        &admin,
        &server,
        "/admin/catalogo",
        "/admin/catalogo/applicazioni",
        &[
            ("code", "TRIBUTI"),
            ("name", "Tributi locali"),
            ("description", "Gestione dei tributi locali"),
            ("url", "https://tributi.example.it"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let app_id: i64 = sqlx::query_scalar("SELECT id FROM applications WHERE code = 'TRIBUTI'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let res = post(
        &admin,
        &server,
        "/admin/catalogo",
        &format!("/admin/catalogo/applicazioni/{app_id}/profili"),
        &[("code", "operatore"), ("name", "Operatore tributi")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let profile = profile_id(&t, "TRIBUTI", "operatore").await;
    // Only prefectures may hold it: the municipality's employee cannot.
    let res = post(
        &admin,
        &server,
        "/admin/catalogo",
        &format!("/admin/catalogo/profili/{profile}/regole"),
        &[
            ("org_kinds", "prefecture"),
            ("capabilities", "tax.read, tax.write"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let local = client();
    login(&server, &local, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let anna = user_id(&t, EMPLOYEE).await;
    let page = format!("/admin/utenti/{anna}");
    let res = post(
        &local,
        &server,
        &page,
        &format!("/admin/utenti/{anna}/abilita"),
        &[("profile_id", &profile.to_string())],
    )
    .await;
    assert_eq!(res.status(), 400);
    // Now open it to municipalities too: the same request succeeds.
    let res = post(
        &admin,
        &server,
        "/admin/catalogo",
        &format!("/admin/catalogo/profili/{profile}/regole"),
        &[
            ("org_kinds", "prefecture"),
            ("org_kinds", "municipality"),
            ("capabilities", "tax.read"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = post(
        &local,
        &server,
        &page,
        &format!("/admin/utenti/{anna}/abilita"),
        &[("profile_id", &profile.to_string())],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(audit_count(&t, "catalogue.rules_changed").await, 2);
    // Nobody else edits the catalogue.
    assert_eq!(
        local
            .get(server.url("/admin/catalogo"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn organizations_form_a_tree_and_local_administrators_add_only_dependent_bodies() {
    let (t, server, _sink, _d) = world().await;
    let central = client();
    login(&server, &central, CENTRAL_ADMIN, DEMO_PASSWORD).await;
    let res = post(
        &central,
        &server,
        "/admin/enti",
        "/admin/enti",
        &[
            ("code", "C-A944"),
            ("name", "Comune di Bologna"),
            ("kind", "municipality"),
            ("fiscal_code", "01232710374"),
            ("region", "Emilia-Romagna"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let res = post(
        &central,
        &server,
        "/admin/enti",
        "/admin/enti",
        &[
            ("code", "C-X"),
            ("name", "Comune di Prova"),
            ("kind", "municipality"),
            ("fiscal_code", "01232710375"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("cifra di controllo errata")
    );
    // The municipality's administrator registers its municipal company under it, nothing else.
    let local = client();
    login(&server, &local, LOCAL_ADMIN, DEMO_PASSWORD).await;
    let comune: i64 = sqlx::query_scalar("SELECT id FROM organizations WHERE code = 'C-D548'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let comune = comune.to_string();
    let res = post(
        &local,
        &server,
        "/admin/enti",
        "/admin/enti",
        &[
            ("code", "HERA-FE"),
            ("name", "Azienda servizi Ferrara"),
            ("kind", "municipal_company"),
            ("parent_id", &comune),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = post(
        &local,
        &server,
        "/admin/enti",
        "/admin/enti",
        &[
            ("code", "C-ZZ"),
            ("name", "Altro comune"),
            ("kind", "municipality"),
        ],
    )
    .await;
    assert_eq!(res.status(), 403);
    let tree = text(&local, server.url("/admin/enti")).await;
    assert!(
        tree.contains("Azienda servizi Ferrara") && !tree.contains("Comune di Bologna"),
        "a local administrator sees only his tree"
    );
    let parent: String = sqlx::query_scalar("SELECT p.code FROM organizations o JOIN organizations p ON p.id = o.parent_id WHERE o.code = 'HERA-FE'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(parent, "C-D548");
    assert_eq!(audit_count(&t, "organization.create").await, 2);
}
