//! Integrated filings end to end on both backends: the portal delivers to the
//! demo agencies it serves under `/demo-agency` over real HTTP, signed; the
//! agencies answer at once, later by callback, or fail on demand.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sportello_app::filings::FilingQuery;
use sportello_app::{AppError, Origin, SessionUser};
use sportello_core::filings::Tray;
use sportello_store::filings as store;

use crate::harness::{Server, TestEnv, env_with};

const PASSWORD: &str = "Demo-Sportello-2026";
pub const ROBERTO: &str = "SPSRRT77P03D548A";

/// A seeded world whose portal listens where its configuration says, with
/// the demo agencies mounted; deliveries time out quickly.
pub async fn world() -> (TestEnv, Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let t = env_with(|c| {
        c.public_base_url = base.clone();
        c.filings.demo_agencies = true;
        c.filings.poll_seconds = 1;
    })
    .await;
    sportello_app::demo::seed(&t.app).await.unwrap();
    t.app.oidc_ensure_keys().await.unwrap();
    // Short timeouts and few attempts keep the failing cases quick.
    sqlx::query("UPDATE agency_connectors SET timeout_ms = 1500, max_attempts = 3")
        .execute(t.db.pool())
        .await
        .unwrap();
    let server = Server::start_on(t.app.clone(), listener).await;
    (t, server)
}

pub async fn session(t: &TestEnv, code: &str) -> SessionUser {
    let login = t
        .app
        .login(code, PASSWORD, &Origin::default())
        .await
        .unwrap();
    t.app
        .session_user(&login.session_token)
        .await
        .unwrap()
        .unwrap()
}

pub fn values() -> BTreeMap<String, String> {
    [
        ("codice_fiscale", "01234567897"),
        ("denominazione", "Estense Costruzioni S.r.l."),
        ("forma_giuridica", "S.r.l."),
        ("sede_comune", "Ferrara"),
        ("sede_indirizzo", "Via Garibaldi 12"),
        ("data_inizio", "01/12/2026"),
        ("ateco", "41.20.00"),
        (
            "descrizione_attivita",
            "Costruzione di edifici residenziali e non residenziali",
        ),
        ("dipendenti", "4"),
        ("pec", "estense@pec.example.it"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub async fn control(server: &Server, agency: &str, body: Value) {
    let res = reqwest::Client::new()
        .post(server.url(&format!("/demo-agency/{agency}/control")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

pub async fn stats(server: &Server) -> Value {
    reqwest::get(server.url("/demo-agency/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until the filing's deliveries satisfy `check`; returns them.
pub async fn wait_deliveries(
    t: &TestEnv,
    filing: i64,
    secs: u64,
    check: impl Fn(&[store::Delivery]) -> bool,
) -> Vec<store::Delivery> {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let d = store::deliveries_of(&t.db, filing).await.unwrap();
        if check(&d) || std::time::Instant::now() > deadline {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn state_of<'a>(d: &'a [store::Delivery], code: &str) -> &'a store::Delivery {
    d.iter().find(|d| d.connector_code == code).unwrap()
}

#[tokio::test]
async fn draft_then_send_two_protocols_at_once_inail_down_then_resent_alone() {
    let (t, server) = world().await;
    let roberto = session(&t, ROBERTO).await;
    let services = t.app.integrated_services(&roberto).await.unwrap();
    let service = services.iter().find(|s| s.code == "AVVIO-IMPRESA").unwrap();
    let me = service.acting_for(roberto.user.id).unwrap();
    assert!(me.can_submit && me.missing.is_empty(), "{me:?}");
    assert_eq!(service.recipients.len(), 3);

    // A draft with half the data: kept, nothing delivered.
    let mut half = values();
    half.retain(|k, _| k == "codice_fiscale" || k == "denominazione");
    let draft = t
        .app
        .save_filing_draft(
            &roberto,
            "AVVIO-IMPRESA",
            roberto.user.id,
            None,
            &half,
            &Origin::default(),
        )
        .await
        .unwrap();
    let drafts = t
        .app
        .search_filings(
            &roberto,
            &FilingQuery {
                tray: Some(Tray::Drafts),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!(store::deliveries_of(&t.db, draft).await.unwrap().len(), 0);
    // Sending it incomplete names every missing field and changes nothing.
    let Err(AppError::InvalidFields(errors)) = t
        .app
        .submit_filing(
            &roberto,
            "AVVIO-IMPRESA",
            roberto.user.id,
            Some(draft),
            &half,
            &Origin::default(),
        )
        .await
    else {
        panic!("an incomplete filing was sent");
    };
    assert!(
        errors.iter().any(|(k, _)| k == "ateco") && errors.iter().any(|(k, _)| k == "pec"),
        "{errors:?}"
    );
    assert_eq!(
        store::filing(&t.db, draft).await.unwrap().unwrap().state,
        "draft"
    );

    // INAIL is down; the others answer at once.
    control(&server, "inail", json!({"mode": "down"})).await;
    let sent = t
        .app
        .submit_filing(
            &roberto,
            "AVVIO-IMPRESA",
            roberto.user.id,
            Some(draft),
            &values(),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(sent.filing_id, draft);
    assert!(sent.reference.starts_with("SI-"), "{}", sent.reference);
    let d = wait_deliveries(&t, draft, 30, |d| {
        d.iter().filter(|d| d.protocol.is_some()).count() == 2
            && state_of(d, "INAIL").state == "failed"
    })
    .await;
    assert!(
        state_of(&d, "INPS")
            .protocol
            .as_deref()
            .unwrap()
            .starts_with("INPS-")
    );
    assert!(
        state_of(&d, "CCIAA-FERA")
            .protocol
            .as_deref()
            .unwrap()
            .starts_with("CCIAA-")
    );
    let inail = state_of(&d, "INAIL");
    assert_eq!(inail.state, "failed", "{inail:?}");
    assert!(
        inail.last_error.as_deref().unwrap_or("").contains("503"),
        "{inail:?}"
    );
    // The filing is in progress (two agencies started it) and the user was told.
    let detail = t.app.filing_detail(&roberto, draft).await.unwrap();
    assert_eq!(detail.summary.tray, Tray::InProgress);

    // INAIL comes back; the user resends to INAIL alone.
    control(&server, "inail", json!({"mode": "ok"})).await;
    let before = stats(&server).await;
    t.app
        .resend_delivery(&roberto, draft, inail.id, &Origin::default())
        .await
        .unwrap();
    let d = wait_deliveries(&t, draft, 30, |d| d.iter().all(|d| d.protocol.is_some())).await;
    assert!(
        state_of(&d, "INAIL")
            .protocol
            .as_deref()
            .unwrap()
            .starts_with("INAIL-"),
        "{d:?}"
    );
    let after = stats(&server).await;
    for agency in ["INPS", "CCIAA"] {
        assert_eq!(after[agency]["filings"], 1, "{after}");
        assert_eq!(
            after[agency]["requests"], before[agency]["requests"],
            "{after}"
        );
    }
    assert_eq!(after["INAIL"]["filings"], 1, "{after}");
    // A second resend is refused: nothing failed any more.
    assert!(matches!(
        t.app
            .resend_delivery(&roberto, draft, inail.id, &Origin::default())
            .await,
        Err(AppError::Conflict(_))
    ));
    // Every recipient took charge: one mail says so.
    let subjects: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE kind = 'mail' ORDER BY id")
            .fetch_all(t.db.pool())
            .await
            .unwrap();
    let all_taken = subjects
        .iter()
        .filter(|p| p.contains("presa in carico da tutti gli enti"))
        .count();
    assert_eq!(all_taken, 1);
    assert!(
        subjects
            .iter()
            .any(|p| p.contains("azione richiesta per INAIL"))
    );
    // Found by the agency's protocol number.
    let found = t
        .app
        .search_filings(
            &roberto,
            &FilingQuery {
                text: state_of(&d, "INAIL").protocol.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    server.shutdown().await;
}

// ------------------------------------------------------------------ helpers

fn fiscal_code_of(name: &str) -> String {
    sportello_app::demo::demo_users()
        .into_iter()
        .find(|u| u.name == name)
        .unwrap_or_else(|| panic!("no demo user {name}"))
        .fiscal_code
}

/// The payloads of the mails queued so far.
async fn mails(t: &TestEnv) -> Vec<String> {
    sqlx::query_scalar("SELECT payload FROM outbox WHERE kind = 'mail' ORDER BY id")
        .fetch_all(t.db.pool())
        .await
        .unwrap()
}

fn count_containing(list: &[String], needle: &str) -> usize {
    list.iter().filter(|p| p.contains(needle)).count()
}

/// Submits the demo service for `owner` with the standard values.
async fn submit_for(
    t: &TestEnv,
    who: &SessionUser,
    owner: i64,
) -> sportello_app::filings::Submitted {
    t.app
        .submit_filing(
            who,
            "AVVIO-IMPRESA",
            owner,
            None,
            &values(),
            &Origin::default(),
        )
        .await
        .unwrap()
}

/// The kinds of the events of one delivery, in order.
async fn event_kinds(t: &TestEnv, filing: i64, delivery: i64) -> Vec<String> {
    store::events_of_filing(&t.db, filing)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.delivery_id == delivery)
        .map(|e| e.kind)
        .collect()
}

/// What a refused callback must leave untouched: every delivery's state,
/// protocol and reason, and the number of events.
async fn snapshot(
    t: &TestEnv,
    filing: i64,
) -> (Vec<(i64, String, Option<String>, Option<String>)>, usize) {
    let d = store::deliveries_of(&t.db, filing).await.unwrap();
    let events = store::events_of_filing(&t.db, filing).await.unwrap().len();
    (
        d.into_iter()
            .map(|d| (d.id, d.state, d.protocol, d.reason))
            .collect(),
        events,
    )
}

/// A logged-in browser-like client and its CSRF token, for the JSON API.
async fn api_session(server: &Server, fiscal_code: &str) -> (reqwest::Client, String) {
    let c = crate::harness::client();
    let res = crate::harness::login(server, &c, fiscal_code, PASSWORD).await;
    assert!(res.status().is_redirection(), "login: {}", res.status());
    let home = c
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::harness::hidden_field(&home, "csrf_token");
    (c, csrf)
}

async fn get_json(c: &reqwest::Client, url: String) -> (u16, Value) {
    let res = c.get(url).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post_json(c: &reqwest::Client, csrf: &str, url: String, body: &Value) -> (u16, Value) {
    let res = c
        .post(url)
        .header("x-csrf-token", csrf)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// An agency's callback to the portal, with a raw body.
async fn callback(server: &Server, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(server.url("/api/v1/filings/callback"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn demo_token(t: &TestEnv) -> String {
    std::fs::read_to_string(t.dir.path().join("demo-agency.token"))
        .unwrap()
        .trim()
        .to_string()
}

async fn agency_list(server: &Server, agency: &str) -> Vec<Value> {
    reqwest::get(server.url(&format!("/demo-agency/{agency}/pratiche")))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn a_user_without_authorization_at_one_agency_is_told_before_he_starts() {
    let (t, server) = world().await;
    let cf = fiscal_code_of("Alessandra Moretti");
    let alessandra = session(&t, &cf).await;
    let services = t.app.integrated_services(&alessandra).await.unwrap();
    let service = services.iter().find(|s| s.code == "AVVIO-IMPRESA").unwrap();
    let me = service.acting_for(alessandra.user.id).unwrap();
    assert!(me.for_self && me.can_submit, "{me:?}");
    assert_eq!(me.missing, vec!["INAIL".to_string()]);

    // She may prepare a draft (preparing is allowed)...
    let draft = t
        .app
        .save_filing_draft(
            &alessandra,
            "AVVIO-IMPRESA",
            alessandra.user.id,
            None,
            &values(),
            &Origin::default(),
        )
        .await
        .unwrap();
    let detail = t.app.filing_detail(&alessandra, draft).await.unwrap();
    assert_eq!(detail.missing, vec!["INAIL".to_string()]);
    // ...but not send it, nor send a new one: the field and the agency are named.
    for draft_id in [Some(draft), None] {
        match t
            .app
            .submit_filing(
                &alessandra,
                "AVVIO-IMPRESA",
                alessandra.user.id,
                draft_id,
                &values(),
                &Origin::default(),
            )
            .await
        {
            Err(AppError::Invalid { field, message }) => {
                assert_eq!(field, "owner_id");
                assert!(message.contains("INAIL"), "{message}");
            }
            other => panic!("sent without INAIL authorization: {other:?}"),
        }
    }
    // Nothing was sent: no reference drawn, no delivery, nothing queued.
    let f = store::filing(&t.db, draft).await.unwrap().unwrap();
    assert_eq!(f.state, "draft");
    assert_eq!(f.reference, None);
    assert_eq!(crate::harness::count(&t.db, "deliveries").await, 0);
    assert_eq!(crate::harness::count(&t.db, "filings").await, 1);
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'filing.delivery'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(queued, 0);
    let stats = stats(&server).await;
    for agency in ["INPS", "INAIL", "CCIAA"] {
        assert_eq!(stats[agency]["requests"], 0, "{stats}");
    }

    // The JSON API says the same before she starts, and refuses the same way.
    let (c, csrf) = api_session(&server, &cf).await;
    let (status, list) = get_json(&c, server.url("/api/v1/filings/services")).await;
    assert_eq!(status, 200, "{list}");
    let avvio = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "AVVIO-IMPRESA")
        .unwrap();
    assert_eq!(avvio["acting"][0]["missing"], json!(["INAIL"]), "{avvio}");
    assert_eq!(avvio["recipients"].as_array().unwrap().len(), 3);
    let (status, err) = post_json(
        &c,
        &csrf,
        server.url("/api/v1/filings"),
        &json!({"service": "AVVIO-IMPRESA", "values": values(), "send": true}),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["field"], "owner_id");
    assert!(err["message"].as_str().unwrap().contains("INAIL"), "{err}");
    assert_eq!(crate::harness::count(&t.db, "deliveries").await, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn a_sub_delegate_prepares_and_sends_for_the_delegator_who_sees_it() {
    let (t, server) = world().await;
    let roberto = session(&t, ROBERTO).await;
    let stefano = session(&t, &fiscal_code_of("Stefano Galli")).await;
    let alessandra = session(&t, &fiscal_code_of("Alessandra Moretti")).await;
    let paolo = session(&t, "GLLPLA68S12A944U").await;

    let services = t.app.integrated_services(&stefano).await.unwrap();
    let service = services.iter().find(|s| s.code == "AVVIO-IMPRESA").unwrap();
    assert!(
        service.acting_for(stefano.user.id).is_none(),
        "Stefano holds nothing himself: {:?}",
        service.acting
    );
    let for_roberto = service.acting_for(roberto.user.id).unwrap();
    assert!(
        !for_roberto.for_self && for_roberto.can_submit,
        "{for_roberto:?}"
    );
    assert!(for_roberto.missing.is_empty(), "{for_roberto:?}");
    assert_eq!(for_roberto.owner_name, "Roberto Esposito");

    let sent = submit_for(&t, &stefano, roberto.user.id).await;
    let f = store::filing(&t.db, sent.filing_id).await.unwrap().unwrap();
    assert_eq!(
        (f.owner_id, f.prepared_by),
        (roberto.user.id, stefano.user.id)
    );

    // Roberto sees it on his desk, prepared by Stefano.
    let desk = t
        .app
        .search_filings(&roberto, &FilingQuery::default())
        .await
        .unwrap();
    assert_eq!(desk.len(), 1);
    assert_eq!(desk[0].filing.id, sent.filing_id);
    assert_eq!(desk[0].filing.prepared_by, stefano.user.id);
    assert_eq!(desk[0].filing.preparer_name, "Stefano Galli");
    t.app.filing_detail(&roberto, sent.filing_id).await.unwrap();
    t.app.filing_detail(&stefano, sent.filing_id).await.unwrap();
    // Nobody else does.
    for other in [&paolo, &alessandra] {
        assert!(
            matches!(
                t.app.filing_detail(other, sent.filing_id).await,
                Err(AppError::NotFound)
            ),
            "{} sees Roberto's filing",
            other.user.given_name
        );
        assert!(
            t.app
                .search_filings(other, &FilingQuery::default())
                .await
                .unwrap()
                .is_empty()
        );
    }
    // Stefano cannot file for someone who did not sub-delegate him.
    let refused = t
        .app
        .submit_filing(
            &stefano,
            "AVVIO-IMPRESA",
            alessandra.user.id,
            None,
            &values(),
            &Origin::default(),
        )
        .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_) | AppError::NotFound)),
        "{refused:?}"
    );
    assert_eq!(crate::harness::count(&t.db, "filings").await, 1);
    // Both are told when every agency has taken charge.
    let d = wait_deliveries(&t, sent.filing_id, 10, |d| {
        d.iter().all(|d| d.state == "taken_in_charge")
    })
    .await;
    assert!(d.iter().all(|d| d.protocol.is_some()), "{d:?}");

    // Roberto revokes the sub-delegation: the filing stays his, out of Stefano's sight.
    let sub = sportello_store::catalogue::subdelegations_by(&t.db, roberto.user.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.delegate_id == stefano.user.id && s.revoked_at.is_none())
        .unwrap();
    t.app
        .revoke_subdelegation(&roberto, sub.id, &Origin::default())
        .await
        .unwrap();
    assert!(matches!(
        t.app.filing_detail(&stefano, sent.filing_id).await,
        Err(AppError::NotFound)
    ));
    assert!(
        t.app
            .search_filings(&stefano, &FilingQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    let services = t.app.integrated_services(&stefano).await.unwrap();
    assert!(
        services
            .iter()
            .all(|s| s.acting_for(roberto.user.id).is_none()),
        "{services:?}"
    );
    assert!(matches!(
        t.app
            .submit_filing(
                &stefano,
                "AVVIO-IMPRESA",
                roberto.user.id,
                None,
                &values(),
                &Origin::default(),
            )
            .await,
        Err(AppError::Forbidden(_) | AppError::NotFound)
    ));
    t.app.filing_detail(&roberto, sent.filing_id).await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn protocol_later_by_callback_and_outcome_by_callback() {
    let (t, server) = world().await;
    let roberto = session(&t, ROBERTO).await;
    control(
        &server,
        "inps",
        json!({"mode": "later", "delay_ms": 300, "outcome": "accepted", "outcome_delay_ms": 300}),
    )
    .await;
    // INAIL too gives its protocol later (each agency calls back with the same demo token).
    control(&server, "inail", json!({"mode": "later", "delay_ms": 300})).await;
    let sent = submit_for(&t, &roberto, roberto.user.id).await;
    let d = wait_deliveries(&t, sent.filing_id, 8, |d| {
        state_of(d, "INPS").state == "accepted" && state_of(d, "INAIL").state == "taken_in_charge"
    })
    .await;
    let inps = state_of(&d, "INPS");
    assert_eq!(inps.state, "accepted", "{d:?}");
    assert!(
        inps.protocol.as_deref().unwrap().starts_with("INPS-"),
        "{inps:?}"
    );
    assert!(inps.started_at.is_some());
    assert_eq!(
        event_kinds(&t, sent.filing_id, inps.id).await,
        [
            "queued",
            "received:delivery",
            "taken_in_charge:callback",
            "accepted:callback"
        ]
    );
    let inail = state_of(&d, "INAIL");
    assert_eq!(inail.state, "taken_in_charge", "{d:?}");
    assert_eq!(
        event_kinds(&t, sent.filing_id, inail.id).await,
        ["queued", "received:delivery", "taken_in_charge:callback"]
    );
    // The agency's records agree with the portal's.
    let at_inps = agency_list(&server, "inps").await;
    assert_eq!(at_inps.len(), 1);
    assert_eq!(at_inps[0]["state"], "accepted");
    assert_eq!(at_inps[0]["protocol"].as_str(), inps.protocol.as_deref());
    // Taken in charge everywhere: one mail, not repeated by the outcome.
    let all = mails(&t).await;
    assert_eq!(
        count_containing(&all, "presa in carico da tutti gli enti"),
        1,
        "{all:?}"
    );
    assert_eq!(count_containing(&all, "azione richiesta"), 0, "{all:?}");
    let s = stats(&server).await;
    assert!(n(&s["INPS"]["callbacks_sent"]) >= 2, "{s}");
    assert_eq!(n(&s["INPS"]["callbacks_failed"]), 0, "{s}");
    assert_eq!(n(&s["INAIL"]["callbacks_failed"]), 0, "{s}");
    server.shutdown().await;
}

#[tokio::test]
async fn polling_finds_a_protocol_whose_callback_was_lost() {
    let (t, server) = world().await;
    let roberto = session(&t, ROBERTO).await;
    // INAIL's callbacks are refused: its token no longer matches.
    sqlx::query("UPDATE agency_connectors SET callback_token_hash = 'x' WHERE code = 'INAIL'")
        .execute(t.db.pool())
        .await
        .unwrap();
    control(&server, "inail", json!({"mode": "later", "delay_ms": 100})).await;
    let sent = submit_for(&t, &roberto, roberto.user.id).await;
    let d = wait_deliveries(&t, sent.filing_id, 8, |d| {
        d.iter().all(|d| d.state == "taken_in_charge")
    })
    .await;
    let inail = state_of(&d, "INAIL");
    assert_eq!(inail.state, "taken_in_charge", "{d:?}");
    let at_inail = agency_list(&server, "inail").await;
    assert_eq!(at_inail.len(), 1);
    assert_eq!(at_inail[0]["protocol"].as_str(), inail.protocol.as_deref());
    let kinds = event_kinds(&t, sent.filing_id, inail.id).await;
    assert_eq!(
        kinds,
        ["queued", "received:delivery", "taken_in_charge:poll"]
    );
    let s = stats(&server).await;
    assert!(n(&s["INAIL"]["callbacks_failed"]) >= 1, "{s}");
    assert_eq!(n(&s["INAIL"]["callbacks_sent"]), 0, "{s}");
    assert!(n(&s["INAIL"]["polls"]) >= 1, "{s}");
    let all = mails(&t).await;
    assert_eq!(
        count_containing(&all, "presa in carico da tutti gli enti"),
        1
    );
    server.shutdown().await;
}

#[tokio::test]
async fn hang_then_recovery_files_once() {
    let (t, server) = world().await;
    let roberto = session(&t, ROBERTO).await;
    // INAIL records the filing but answers after 5 s; the portal waits 1.5 s.
    control(&server, "inail", json!({"mode": "hang", "hang_ms": 5000})).await;
    let sent = submit_for(&t, &roberto, roberto.user.id).await;
    let d = wait_deliveries(&t, sent.filing_id, 6, |d| {
        state_of(d, "INAIL").attempts >= 1 || state_of(d, "INAIL").state == "failed"
    })
    .await;
    let inail = state_of(&d, "INAIL").clone();
    assert!(inail.attempts >= 1, "no timeout seen: {inail:?}");
    control(&server, "inail", json!({"mode": "ok"})).await;
    let mut d = wait_deliveries(&t, sent.filing_id, 6, |d| {
        matches!(
            state_of(d, "INAIL").state.as_str(),
            "taken_in_charge" | "failed"
        )
    })
    .await;
    if state_of(&d, "INAIL").state == "failed" {
        // The portal gave up before INAIL came back: resent by hand, same key.
        t.app
            .resend_delivery(&roberto, sent.filing_id, inail.id, &Origin::default())
            .await
            .unwrap();
        d = wait_deliveries(&t, sent.filing_id, 6, |d| {
            state_of(d, "INAIL").state == "taken_in_charge"
        })
        .await;
    }
    let inail = state_of(&d, "INAIL");
    assert_eq!(inail.state, "taken_in_charge", "{inail:?}");
    assert!(inail.attempts >= 1, "{inail:?}");
    // The protocol is the one INAIL gave while the portal was not listening.
    let at_inail = agency_list(&server, "inail").await;
    assert_eq!(at_inail.len(), 1, "{at_inail:?}");
    assert_eq!(
        at_inail[0]["idempotency_key"],
        inail.idempotency_key.as_str()
    );
    assert_eq!(at_inail[0]["protocol"].as_str(), inail.protocol.as_deref());
    assert!(
        inail.protocol.as_deref().unwrap().ends_with("-0000001"),
        "{inail:?}"
    );
    let s = stats(&server).await;
    assert_eq!(n(&s["INAIL"]["filings"]), 1, "{s}");
    assert!(n(&s["INAIL"]["repeats"]) >= 1, "{s}");
    assert!(n(&s["INAIL"]["requests"]) >= 2, "{s}");
    assert!(d.iter().all(|d| d.state == "taken_in_charge"), "{d:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn payload_rejected_by_the_agency_is_shown_with_its_reason() {
    let (t, server) = world().await;
    let roberto = session(&t, ROBERTO).await;
    control(
        &server,
        "cciaa",
        json!({"mode": "reject", "reject_reason": "codice ATECO 41.20.00 non ammesso per la forma giuridica"}),
    )
    .await;
    let sent = submit_for(&t, &roberto, roberto.user.id).await;
    let d = wait_deliveries(&t, sent.filing_id, 8, |d| {
        state_of(d, "CCIAA-FERA").state == "rejected"
            && state_of(d, "INPS").state == "taken_in_charge"
            && state_of(d, "INAIL").state == "taken_in_charge"
    })
    .await;
    let cciaa = state_of(&d, "CCIAA-FERA");
    assert_eq!(cciaa.state, "rejected", "{d:?}");
    assert_eq!(
        cciaa.reason.as_deref(),
        Some("codice ATECO 41.20.00 non ammesso per la forma giuridica")
    );
    assert_eq!(cciaa.protocol, None);
    for code in ["INPS", "INAIL"] {
        assert_eq!(state_of(&d, code).state, "taken_in_charge", "{d:?}");
    }
    // Final: not resent.
    let refused = t
        .app
        .resend_delivery(&roberto, sent.filing_id, cciaa.id, &Origin::default())
        .await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    // The page shows why.
    let detail = t.app.filing_detail(&roberto, sent.filing_id).await.unwrap();
    assert_eq!(detail.summary.tray, Tray::InProgress);
    assert!(
        detail
            .events
            .iter()
            .any(|e| e.kind == "rejected:delivery" && e.detail.contains("ATECO")),
        "{:?}",
        detail.events
    );
    let all = mails(&t).await;
    assert_eq!(
        count_containing(
            &all,
            "azione richiesta per Camera di Commercio di Ferrara e Ravenna"
        ),
        1,
        "{all:?}"
    );
    // The Chamber never took it in charge: no mail says every agency did.
    assert_eq!(
        count_containing(&all, "presa in carico da tutti gli enti"),
        0,
        "{all:?}"
    );
    let s = stats(&server).await;
    assert_eq!(n(&s["CCIAA"]["requests"]), 1, "{s}");
    server.shutdown().await;
}

#[tokio::test]
async fn callbacks_bad_input() {
    let (t, server) = world().await;
    let roberto = session(&t, ROBERTO).await;
    let giulia = session(&t, "BNCGLI75C45H501W").await;
    let token = demo_token(&t);
    // INPS will give its protocol only much later; the Chamber rejects.
    control(
        &server,
        "inps",
        json!({"mode": "later", "delay_ms": 600_000}),
    )
    .await;
    control(&server, "cciaa", json!({"mode": "reject"})).await;
    let sent = submit_for(&t, &roberto, roberto.user.id).await;
    let d = wait_deliveries(&t, sent.filing_id, 8, |d| {
        state_of(d, "INPS").state == "received"
            && state_of(d, "INAIL").state == "taken_in_charge"
            && state_of(d, "CCIAA-FERA").state == "rejected"
    })
    .await;
    assert_eq!(state_of(&d, "INPS").state, "received", "{d:?}");
    let inps_key = state_of(&d, "INPS").idempotency_key.clone();
    let inail = state_of(&d, "INAIL").clone();
    let cciaa_key = state_of(&d, "CCIAA-FERA").idempotency_key.clone();
    let taken = |key: &str, protocol: &str| {
        json!({"idempotency_key": key, "state": "taken_in_charge", "protocol": protocol})
            .to_string()
    };

    let before = snapshot(&t, sent.filing_id).await;
    let refusals: Vec<(Option<&str>, String, u16, &str)> = vec![
        (None, taken(&inps_key, "INPS-X-1"), 401, "no token"),
        (
            Some("wrong"),
            taken(&inps_key, "INPS-X-1"),
            401,
            "wrong token",
        ),
        (Some(""), taken(&inps_key, "INPS-X-1"), 401, "empty token"),
        (
            Some(&token),
            taken("no-such-key", "INPS-X-1"),
            404,
            "unknown key",
        ),
        (Some(&token), "{not json".into(), 400, "malformed JSON"),
        (Some(&token), "[1, 2]".into(), 400, "not an object"),
        (
            Some("wrong"),
            "{not json".into(),
            401,
            "wrong token, malformed",
        ),
        (
            Some(&token),
            json!({"idempotency_key": inps_key, "protocol": "INPS-X-1"}).to_string(),
            400,
            "missing state",
        ),
        (
            Some(&token),
            json!({"idempotency_key": inps_key, "state": "taken_in_charge"}).to_string(),
            400,
            "protocol missing",
        ),
        (
            Some(&token),
            json!({"idempotency_key": inps_key, "state": "archiviata"}).to_string(),
            400,
            "unknown state",
        ),
        (
            Some(&token),
            json!({"state": "taken_in_charge", "protocol": "INPS-X-1"}).to_string(),
            400,
            "missing key",
        ),
        (
            Some(&token),
            json!({"idempotency_key": inps_key, "state": "accepted"}).to_string(),
            409,
            "outcome without protocol",
        ),
    ];
    for (bearer, body, status, what) in &refusals {
        let (got, answer) = callback(&server, *bearer, body).await;
        assert_eq!(got, *status, "{what}: {answer}");
        if *status == 400 {
            assert!(answer["message"].as_str().is_some(), "{what}: {answer}");
        }
        assert_eq!(snapshot(&t, sent.filing_id).await, before, "{what}");
    }

    // The right news: recorded once.
    let (status, answer) = callback(
        &server,
        Some(&token),
        &taken(&inps_key, "INPS-2026-7777777"),
    )
    .await;
    assert_eq!((status, &answer), (200, &json!({"recorded": true})));
    let d = store::deliveries_of(&t.db, sent.filing_id).await.unwrap();
    assert_eq!(state_of(&d, "INPS").state, "taken_in_charge");
    assert_eq!(
        state_of(&d, "INPS").protocol.as_deref(),
        Some("INPS-2026-7777777")
    );
    let (status, answer) = callback(
        &server,
        Some(&token),
        &taken(&inps_key, "INPS-2026-7777777"),
    )
    .await;
    assert_eq!((status, &answer), (200, &json!({"recorded": false})));
    // A callback for INAIL (same demo token) is recorded against INAIL.
    let (status, answer) = callback(
        &server,
        Some(&token),
        &taken(&inail.idempotency_key, inail.protocol.as_deref().unwrap()),
    )
    .await;
    assert_eq!((status, &answer), (200, &json!({"recorded": false})));

    let before = snapshot(&t, sent.filing_id).await;
    // Another protocol for the same delivery: a contradiction, nothing changes.
    let (status, answer) = callback(
        &server,
        Some(&token),
        &taken(&inps_key, "INPS-2026-0000009"),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("INPS-2026-7777777"),
        "{answer}"
    );
    // An outcome after the Chamber's rejection: a contradiction.
    let (status, answer) = callback(
        &server,
        Some(&token),
        &json!({"idempotency_key": cciaa_key, "state": "accepted", "protocol": "CCIAA-1"})
            .to_string(),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = callback(
        &server,
        Some(&token),
        &json!({"idempotency_key": cciaa_key, "state": "accepted"}).to_string(),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    // Another connector's token does not reach this filing's deliveries.
    let (_, other_token) = t
        .app
        .save_connector(
            Some(&giulia),
            sportello_app::filings::admin::ConnectorInput {
                code: "ENTE-PROVA".into(),
                name: "Ente di prova".into(),
                endpoint: "https://ente.example.it/pratiche".into(),
                timeout_ms: 1000,
                max_attempts: 2,
                ..Default::default()
            },
            &Origin::default(),
        )
        .await
        .unwrap();
    let other_token = other_token.expect("a new connector gets a token");
    for key in [&inps_key, &cciaa_key] {
        let (status, answer) = callback(
            &server,
            Some(&other_token),
            &json!({"idempotency_key": key, "state": "rejected", "reason": "no"}).to_string(),
        )
        .await;
        assert_eq!(status, 404, "{answer}");
    }
    assert_eq!(snapshot(&t, sent.filing_id).await, before);
    let d = store::deliveries_of(&t.db, sent.filing_id).await.unwrap();
    assert_eq!(
        state_of(&d, "INPS").protocol.as_deref(),
        Some("INPS-2026-7777777")
    );
    assert_eq!(state_of(&d, "CCIAA-FERA").state, "rejected");
    server.shutdown().await;
}

/// A request signed as the portal signs, with `key` and `kid`.
fn sign_delivery(
    key: &jsonwebtoken::EncodingKey,
    kid: &str,
    issuer: &str,
    url: &str,
    body: &[u8],
    idempotency_key: &str,
) -> Vec<(&'static str, String)> {
    use base64::Engine;
    use sha2::Digest;
    let digest = format!(
        "SHA-256={}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body))
    );
    let now = jiff::Timestamp::now().as_second();
    let claims = json!({
        "iss": issuer, "aud": url, "iat": now, "nbf": now, "exp": now + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
        "signed_headers": [{"digest": digest}, {"content-type": "application/json"}, {"idempotency-key": idempotency_key}],
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    let jws = jsonwebtoken::encode(&header, &claims, key).unwrap();
    vec![
        ("content-type", "application/json".into()),
        ("digest", digest),
        ("idempotency-key", idempotency_key.into()),
        ("agid-jwt-signature", jws),
    ]
}

async fn post_signed(url: &str, headers: &[(&'static str, String)], body: &[u8]) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(url).body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn deliveries_are_signed_and_the_agency_refuses_forgeries() {
    let (t, server) = world().await;
    let roberto = session(&t, ROBERTO).await;
    let url = server.url("/demo-agency/inps/pratiche");
    let body =
        json!({"reference": "SI-2026-9999999", "service": "AVVIO-IMPRESA", "recipient": "INPS",
                      "data": {"datore_lavoro": {"codice_fiscale": "01234567897"}}})
        .to_string();
    let bad_signatures = |s: &Value| n(&s["INPS"]["bad_signatures"]);
    let portal_key = sportello_store::oidc::published_keys(&t.db, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.alg == "ES256" && k.retired_at.is_none())
        .expect("the portal's ES256 key");
    let real = jsonwebtoken::EncodingKey::from_ec_pem(portal_key.private_pem.as_bytes()).unwrap();
    let forger = sportello_app::oidc::generate_key("ES256", 0).unwrap();
    let forged = jsonwebtoken::EncodingKey::from_ec_pem(forger.private_pem.as_bytes()).unwrap();

    let start = bad_signatures(&stats(&server).await);
    // A signature that is not a JWS at all.
    let mut headers = sign_delivery(
        &real,
        &portal_key.kid,
        &server.base,
        &url,
        body.as_bytes(),
        "k-1",
    );
    headers[3].1 = "forged.not-a.jws".into();
    let (status, answer) = post_signed(&url, &headers, body.as_bytes()).await;
    assert_eq!(status, 401, "{answer}");
    // Signed by another key under the portal's kid.
    let headers = sign_delivery(
        &forged,
        &portal_key.kid,
        &server.base,
        &url,
        body.as_bytes(),
        "k-2",
    );
    let (status, answer) = post_signed(&url, &headers, body.as_bytes()).await;
    assert_eq!(status, 401, "{answer}");
    // The portal's key, but the body changed after signing.
    let headers = sign_delivery(
        &real,
        &portal_key.kid,
        &server.base,
        &url,
        body.as_bytes(),
        "k-3",
    );
    let tampered = body.replace("01234567897", "99999999999");
    let (status, answer) = post_signed(&url, &headers, tampered.as_bytes()).await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("Digest"),
        "{answer}"
    );
    // Signed for another address.
    let headers = sign_delivery(
        &real,
        &portal_key.kid,
        &server.base,
        &server.url("/demo-agency/inail/pratiche"),
        body.as_bytes(),
        "k-4",
    );
    let (status, answer) = post_signed(&url, &headers, body.as_bytes()).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(bad_signatures(&stats(&server).await), start + 4);
    assert!(
        agency_list(&server, "inps").await.is_empty(),
        "a forgery was filed"
    );
    // Signed right: filed; the same request replayed is refused.
    let headers = sign_delivery(
        &real,
        &portal_key.kid,
        &server.base,
        &url,
        body.as_bytes(),
        "k-5",
    );
    let (status, answer) = post_signed(&url, &headers, body.as_bytes()).await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = post_signed(&url, &headers, body.as_bytes()).await;
    assert_eq!(status, 401, "replay: {answer}");
    assert_eq!(bad_signatures(&stats(&server).await), start + 5);
    assert_eq!(agency_list(&server, "inps").await.len(), 1);

    // A real delivery: signed by the portal and accepted, with its reference.
    let sent = submit_for(&t, &roberto, roberto.user.id).await;
    let d = wait_deliveries(&t, sent.filing_id, 8, |d| {
        d.iter().all(|d| d.state == "taken_in_charge")
    })
    .await;
    let inps = state_of(&d, "INPS");
    assert_eq!(inps.state, "taken_in_charge", "{d:?}");
    let list = agency_list(&server, "inps").await;
    let at_inps = list
        .iter()
        .find(|f| f["idempotency_key"] == inps.idempotency_key.as_str())
        .expect("the delivery at INPS");
    assert_eq!(at_inps["reference"], sent.reference.as_str());
    assert_eq!(at_inps["protocol"].as_str(), inps.protocol.as_deref());
    // What INPS received is the mapped payload, frozen at submission.
    let payload: String = sqlx::query_scalar("SELECT payload FROM deliveries WHERE id = $1")
        .bind(inps.id)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["reference"], sent.reference.as_str());
    assert_eq!(payload["recipient"], "INPS");
    assert_eq!(
        payload["callback_url"],
        server.url("/api/v1/filings/callback")
    );
    assert_eq!(
        payload["data"]["datore_lavoro"]["codice_fiscale"],
        "01234567897"
    );
    assert!(payload["data"].get("sede").is_none(), "{payload}");
    assert_eq!(bad_signatures(&stats(&server).await), start + 5);
    server.shutdown().await;
}

#[tokio::test]
async fn api_journey_and_openapi() {
    let (t, server) = world().await;
    let (c, csrf) = api_session(&server, ROBERTO).await;
    let api = |p: &str| server.url(&format!("/api/v1/filings{p}"));

    // Without the CSRF header a write is refused.
    let res = c
        .post(api(""))
        .json(&json!({"service": "AVVIO-IMPRESA", "values": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let mut half = values();
    half.retain(|k, _| k == "codice_fiscale" || k == "denominazione");
    let (status, created) = post_json(
        &c,
        &csrf,
        api(""),
        &json!({"service": "AVVIO-IMPRESA", "values": half, "send": false}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["reference"], Value::Null);
    let (status, drafts) = get_json(&c, api("?tray=drafts")).await;
    assert_eq!(status, 200);
    assert_eq!(drafts.as_array().unwrap().len(), 1, "{drafts}");
    assert_eq!(drafts[0]["id"], id);
    assert_eq!(drafts[0]["state"], "draft");
    assert_eq!(drafts[0]["tray"], "drafts");

    // Bad values: the field named, nothing sent.
    let mut bad = values();
    bad.insert("pec".into(), "non-una-pec".into());
    let (status, err) = post_json(
        &c,
        &csrf,
        api(""),
        &json!({"service": "AVVIO-IMPRESA", "draft_id": id, "values": bad, "send": true}),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["field"], "pec", "{err}");
    let (status, err) = post_json(
        &c,
        &csrf,
        api(""),
        &json!({"service": "NESSUNO", "values": values(), "send": true}),
    )
    .await;
    assert_eq!(status, 404, "{err}");
    assert_eq!(crate::harness::count(&t.db, "deliveries").await, 0);

    let (status, sent) = post_json(
        &c,
        &csrf,
        api(""),
        &json!({"service": "AVVIO-IMPRESA", "draft_id": id, "values": values(), "send": true}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["id"], id);
    let reference = sent["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("SI-"), "{reference}");
    // Sent once: the draft cannot be sent again.
    let (status, again) = post_json(
        &c,
        &csrf,
        api(""),
        &json!({"service": "AVVIO-IMPRESA", "draft_id": id, "values": values(), "send": true}),
    )
    .await;
    assert_eq!(status, 409, "{again}");

    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    let detail = loop {
        let (status, detail) = get_json(&c, api(&format!("/{id}"))).await;
        assert_eq!(status, 200, "{detail}");
        let done = detail["deliveries"]
            .as_array()
            .is_some_and(|d| d.len() == 3 && d.iter().all(|d| d["protocol"].is_string()));
        if done || std::time::Instant::now() > deadline {
            break detail;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let deliveries = detail["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3, "{detail}");
    for d in deliveries {
        assert_eq!(d["state"], "taken_in_charge", "{detail}");
        assert_eq!(d["state_label"], "Presa in carico", "{detail}");
        assert!(d["protocol"].is_string(), "{detail}");
    }
    assert_eq!(detail["reference"], reference.as_str());
    assert_eq!(detail["tray"], "in_progress");
    assert_eq!(
        detail["values"]["denominazione"],
        "Estense Costruzioni S.r.l."
    );
    assert!(detail["events"].as_array().unwrap().len() >= 6, "{detail}");
    let inail_protocol = deliveries
        .iter()
        .find(|d| d["recipient"] == "INAIL")
        .unwrap()["protocol"]
        .as_str()
        .unwrap()
        .to_string();
    // Nothing failed: a resend is refused.
    let (status, err) = post_json(
        &c,
        &csrf,
        api(&format!("/{id}/deliveries/{}/resend", deliveries[0]["id"])),
        &json!({}),
    )
    .await;
    assert_eq!(status, 409, "{err}");

    // Search.
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap_or_else(|| panic!("not a list: {v}"))
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect()
    };
    let today = jiff::Timestamp::now().to_zoned(t.app.time_zone()).date();
    let yesterday = today.yesterday().unwrap();
    let tomorrow = today.tomorrow().unwrap();
    for (query, expected) in [
        ("?text=COSTRUZIONI".to_string(), vec![id]),
        ("?text=estense%20costruzioni".to_string(), vec![id]),
        (format!("?text={reference}"), vec![id]),
        (format!("?text={inail_protocol}"), vec![id]),
        ("?text=nessuna-impresa".to_string(), vec![]),
        ("?delivery_state=taken_in_charge".to_string(), vec![id]),
        ("?delivery_state=failed".to_string(), vec![]),
        (format!("?from={today}&until={today}"), vec![id]),
        (format!("?from={yesterday}"), vec![id]),
        (format!("?from={tomorrow}"), vec![]),
        (format!("?until={yesterday}"), vec![]),
        ("?tray=in_progress".to_string(), vec![id]),
        ("?tray=drafts".to_string(), vec![]),
    ] {
        let (status, list) = get_json(&c, api(&query)).await;
        assert_eq!(status, 200, "{query}: {list}");
        assert_eq!(ids(&list), expected, "{query}");
    }
    for (query, field) in [
        ("?tray=bogus", "tray"),
        ("?delivery_state=bogus", "delivery_state"),
        ("?from=31/12/2026", "from"),
        ("?until=domani", "until"),
    ] {
        let (status, err) = get_json(&c, api(query)).await;
        assert_eq!(status, 400, "{query}: {err}");
        assert_eq!(err["field"], field, "{query}: {err}");
    }

    // Archive: out of the trays in progress, still found.
    let res = c
        .post(api(&format!("/{id}/archive")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"archived": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (_, archive) = get_json(&c, api("?tray=archive")).await;
    assert_eq!(ids(&archive), vec![id]);
    assert_eq!(archive[0]["tray"], "archive");
    assert!(archive[0]["archived_at"].is_string());
    let (_, in_progress) = get_json(&c, api("?tray=in_progress")).await;
    assert_eq!(ids(&in_progress), Vec::<i64>::new());
    let (_, found) = get_json(&c, api("?text=estense")).await;
    assert_eq!(ids(&found), vec![id]);
    // A sent filing is not deleted.
    let res = c
        .delete(api(&format!("/{id}")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    // Someone else does not see it.
    let (other, _) = api_session(&server, &fiscal_code_of("Alessandra Moretti")).await;
    let (status, _) = get_json(&other, api(&format!("/{id}"))).await;
    assert_eq!(status, 404);
    let (status, list) = get_json(&other, api("")).await;
    assert_eq!((status, ids(&list)), (200, vec![]));
    // The callback is not for users: without a connector token it is refused.
    let res = c
        .post(api("/callback"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"idempotency_key": "x", "state": "received"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let (status, doc) = get_json(
        &crate::harness::client(),
        server.url("/api/v1/openapi.json"),
    )
    .await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/filings",
        "/api/v1/filings/services",
        "/api/v1/filings/{id}",
        "/api/v1/filings/{id}/archive",
        "/api/v1/filings/callback",
        "/api/v1/filings/{id}/deliveries/{delivery_id}/resend",
        "/api/v1/filings/admin/services/{code}",
        "/api/v1/filings/admin/connectors/{code}",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(paths["/api/v1/filings/callback"]["post"].is_object());
    server.shutdown().await;
}

fn simple_form() -> String {
    "codice_fiscale | Codice fiscale dell'impresa | codice_fiscale | obbligatorio\n\
     pec | Nuova PEC | email | obbligatorio"
        .to_string()
}

fn pec_service(
    recipients: Vec<sportello_app::filings::admin::RecipientSpec>,
) -> sportello_app::filings::admin::ServiceInput {
    sportello_app::filings::admin::ServiceInput {
        code: "VARIAZIONE-PEC".into(),
        name: "Variazione della PEC".into(),
        description: "Comunica all'INPS la nuova PEC dell'impresa".into(),
        application_code: "SERVIZI-INTEGRATI".into(),
        form_spec: simple_form(),
        active: true,
        recipients,
    }
}

fn inps_recipient(mapping: &str) -> sportello_app::filings::admin::RecipientSpec {
    sportello_app::filings::admin::RecipientSpec {
        connector_code: "INPS".into(),
        mapping: mapping.into(),
        required_application: "INPS-IMPRESE".into(),
        required_profile: "datore_lavoro".into(),
    }
}

async fn audit_count(t: &TestEnv, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = $1")
        .bind(action)
        .fetch_one(t.db.pool())
        .await
        .unwrap()
}

fn invalid_keys(r: Result<impl std::fmt::Debug, AppError>) -> Vec<String> {
    match r {
        Err(AppError::InvalidFields(list)) => list.into_iter().map(|(k, _)| k).collect(),
        other => panic!("expected invalid fields, got {other:?}"),
    }
}

#[tokio::test]
async fn admin_defines_services_and_connectors_with_clear_errors() {
    use sportello_app::filings::admin::{ConnectorInput, RecipientSpec};
    let (t, server) = world().await;
    let giulia = session(&t, "BNCGLI75C45H501W").await;
    let roberto = session(&t, ROBERTO).await;
    let o = Origin::default();
    let service_audits = audit_count(&t, "filing.service_save").await;
    let connector_audits = audit_count(&t, "filing.connector_save").await;

    // Mapping naming a field the form does not have.
    let keys = invalid_keys(
        t.app
            .save_integrated_service(
                Some(&giulia),
                pec_service(vec![inps_recipient("azienda.pec = pec_nuova")]),
                &o,
            )
            .await,
    );
    assert_eq!(keys, ["recipients[0].mapping"]);
    // A form key the form page uses for itself.
    let mut reserved = pec_service(vec![inps_recipient("azienda.pec = pec")]);
    reserved
        .form_spec
        .push_str("\nazione | Azione | testo | facoltativo");
    let keys = invalid_keys(
        t.app
            .save_integrated_service(Some(&giulia), reserved, &o)
            .await,
    );
    assert_eq!(keys, ["form_spec"]);
    // An unknown connector, and an unknown authorization, reported together.
    let keys = invalid_keys(
        t.app
            .save_integrated_service(
                Some(&giulia),
                pec_service(vec![RecipientSpec {
                    connector_code: "NESSUNO".into(),
                    required_application: "NESSUNA-APP".into(),
                    ..inps_recipient("azienda.pec = pec")
                }]),
                &o,
            )
            .await,
    );
    assert_eq!(
        keys,
        [
            "recipients[0].connector_code",
            "recipients[0].required_application"
        ]
    );
    let keys = invalid_keys(
        t.app
            .save_integrated_service(Some(&giulia), pec_service(vec![]), &o)
            .await,
    );
    assert_eq!(keys, ["recipients"]);
    // A bad endpoint, named; other settings checked at once.
    for endpoint in [
        "ftp://ente.example.it/pratiche",
        "non un indirizzo",
        "https://",
    ] {
        let keys = invalid_keys(
            t.app
                .save_connector(
                    Some(&giulia),
                    ConnectorInput {
                        code: "ENTE-NUOVO".into(),
                        name: "Ente nuovo".into(),
                        endpoint: endpoint.into(),
                        timeout_ms: 2000,
                        max_attempts: 3,
                        ..Default::default()
                    },
                    &o,
                )
                .await,
        );
        assert_eq!(keys, ["endpoint"], "{endpoint}");
    }
    let keys = invalid_keys(
        t.app
            .save_connector(
                Some(&giulia),
                ConnectorInput {
                    code: "ente nuovo".into(),
                    name: "".into(),
                    endpoint: "https://ente.example.it/pratiche".into(),
                    timeout_ms: 10,
                    max_attempts: 0,
                    organization_code: "NON-ESISTE".into(),
                    new_token: false,
                },
                &o,
            )
            .await,
    );
    assert_eq!(
        keys,
        [
            "code",
            "name",
            "timeout_ms",
            "max_attempts",
            "organization_code"
        ]
    );
    assert_eq!(audit_count(&t, "filing.service_save").await, service_audits);
    assert_eq!(
        audit_count(&t, "filing.connector_save").await,
        connector_audits
    );
    assert_eq!(crate::harness::count(&t.db, "integrated_services").await, 1);

    // Only the central administrator defines them.
    assert!(matches!(
        t.app
            .save_integrated_service(
                Some(&roberto),
                pec_service(vec![inps_recipient("azienda.pec = pec")]),
                &o,
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app
            .save_connector(
                Some(&roberto),
                ConnectorInput {
                    code: "ENTE-NUOVO".into(),
                    name: "Ente nuovo".into(),
                    endpoint: "https://ente.example.it/pratiche".into(),
                    timeout_ms: 2000,
                    max_attempts: 3,
                    ..Default::default()
                },
                &o,
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app.service_definitions(Some(&roberto)).await,
        Err(AppError::Forbidden(_))
    ));

    // A valid service: Roberto, who holds the application, sees it at once.
    let (connector, token) = t
        .app
        .save_connector(
            Some(&giulia),
            ConnectorInput {
                code: "ENTE-NUOVO".into(),
                name: "Ente nuovo".into(),
                endpoint: "https://ente.example.it/pratiche".into(),
                timeout_ms: 2000,
                max_attempts: 3,
                ..Default::default()
            },
            &o,
        )
        .await
        .unwrap();
    assert!(connector > 0 && token.is_some());
    // Saving it again keeps its token unless a new one is asked for.
    let (again, token2) = t
        .app
        .save_connector(
            Some(&giulia),
            ConnectorInput {
                code: "ENTE-NUOVO".into(),
                name: "Ente nuovo (rinominato)".into(),
                endpoint: "https://ente.example.it/v2/pratiche".into(),
                timeout_ms: 2000,
                max_attempts: 3,
                ..Default::default()
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!((again, token2), (connector, None));
    t.app
        .save_integrated_service(
            Some(&giulia),
            pec_service(vec![inps_recipient(
                "adempimento = \"variazione_pec\"\nazienda.codice_fiscale = codice_fiscale\nazienda.pec = pec",
            )]),
            &o,
        )
        .await
        .unwrap();
    let services = t.app.integrated_services(&roberto).await.unwrap();
    let pec = services
        .iter()
        .find(|s| s.code == "VARIAZIONE-PEC")
        .expect("the new service on Roberto's desk");
    assert_eq!(pec.recipients.len(), 1);
    assert_eq!(pec.recipients[0].code, "INPS");
    assert_eq!(pec.form.fields.len(), 2);
    let acting = pec.acting_for(roberto.user.id).unwrap();
    assert!(acting.can_submit && acting.missing.is_empty(), "{acting:?}");
    // Someone without the application does not.
    let paolo = session(&t, "GLLPLA68S12A944U").await;
    assert!(
        t.app
            .integrated_services(&paolo)
            .await
            .unwrap()
            .iter()
            .all(|s| s.code != "VARIAZIONE-PEC")
    );
    // It works end to end: INPS receives only what the mapping says.
    let sent = t
        .app
        .submit_filing(
            &roberto,
            "VARIAZIONE-PEC",
            roberto.user.id,
            None,
            &[
                ("codice_fiscale", "01234567897"),
                ("pec", "nuova@pec.example.it"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            &o,
        )
        .await
        .unwrap();
    let d = wait_deliveries(&t, sent.filing_id, 8, |d| {
        d.len() == 1 && d[0].state == "taken_in_charge"
    })
    .await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].state, "taken_in_charge", "{d:?}");

    // A recipient that already received filings cannot be removed.
    let (definitions, _) = t.app.service_definitions(Some(&giulia)).await.unwrap();
    let avvio = definitions
        .iter()
        .find(|d| d.service.code == "AVVIO-IMPRESA")
        .unwrap();
    submit_for(&t, &roberto, roberto.user.id).await;
    let keep: Vec<RecipientSpec> = avvio
        .recipients
        .iter()
        .filter(|r| r.connector_code != "INAIL")
        .map(|r| RecipientSpec {
            connector_code: r.connector_code.clone(),
            mapping: r.mapping.clone(),
            required_application: r.required_application_code.clone(),
            required_profile: r.required_profile_code.clone().unwrap_or_default(),
        })
        .collect();
    let keys = invalid_keys(
        t.app
            .save_integrated_service(
                Some(&giulia),
                sportello_app::filings::admin::ServiceInput {
                    code: "AVVIO-IMPRESA".into(),
                    name: "Avvio di impresa (senza INAIL)".into(),
                    description: avvio.service.description.clone(),
                    application_code: avvio.service.application_code.clone(),
                    form_spec: avvio.service.form_spec.clone(),
                    active: true,
                    recipients: keep,
                },
                &o,
            )
            .await,
    );
    assert_eq!(keys, ["recipients"]);
    // Nothing of the refused save was kept.
    let service = store::service_by_code(&t.db, "AVVIO-IMPRESA")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(service.name, "Avvio di impresa");
    assert_eq!(store::recipients(&t.db, service.id).await.unwrap().len(), 3);

    // Every successful definition is in the audit trail, by Giulia.
    assert_eq!(
        audit_count(&t, "filing.service_save").await,
        service_audits + 1
    );
    assert_eq!(
        audit_count(&t, "filing.connector_save").await,
        connector_audits + 2
    );
    let actors: Vec<String> = sqlx::query_scalar(
        "SELECT actor FROM audit_events WHERE action IN ('filing.service_save', 'filing.connector_save') ORDER BY seq",
    )
    .fetch_all(t.db.pool())
    .await
    .unwrap();
    assert!(
        actors
            .iter()
            .all(|a| *a == format!("user:{}", giulia.user.id)),
        "{actors:?}"
    );
    let target: String = sqlx::query_scalar(
        "SELECT target FROM audit_events WHERE action = 'filing.service_save' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(target, "service:VARIAZIONE-PEC");
    server.shutdown().await;
}
