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
