//! Mail leaves through the outbox and reaches a real SMTP server, survives an
//! outage exactly once, and ends as a visible dead letter when it cannot.

use std::time::Duration;

use sportello_app::mail::MailMessage;
use sportello_app::{now_micros, queue_mail};
use sportello_store::outbox;

use crate::harness::{
    Server, SmtpSink, client, env_with, eventually, free_port, hidden_field, login,
};

async fn queue(t: &crate::harness::TestEnv, subject: &str) -> i64 {
    let mut tx = t.db.begin_write().await.unwrap();
    let id = queue_mail(
        &mut tx,
        &MailMessage {
            from: None,
            to: vec!["Anna Verdi <anna.verdi@comune.ferrara.example.it>".into()],
            subject: subject.into(),
            body: "Gentile Anna Verdi,\nè stata abilitata al servizio Telecontenzioso.\nÀ presto, perché sì.".into(),
        },
        now_micros(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn mail_reaches_a_real_smtp_server() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(sink_dir.path());
    let url = sink.url();
    let t = env_with(|c| c.mail.smtp_url = url).await;
    let id = queue(&t, "Abilitazione al Telecontenzioso").await;
    let pass = t.app.worker().run_once().await.unwrap();
    assert_eq!(pass.sent, 1);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(m.contains("anna.verdi@comune.ferrara.example.it"), "{m}");
    assert!(m.contains("Abilitazione al Telecontenzioso"), "{m}");
    assert!(
        m.contains(&format!("Message-ID: <outbox-{id}@localhost>")),
        "{m}"
    );
    let item = outbox::get(&t.db, id).await.unwrap().unwrap();
    assert_eq!(item.state, "sent");
    assert_eq!(item.attempts, 1);
}

#[tokio::test]
async fn mail_queued_during_an_smtp_outage_arrives_once_it_is_back_exactly_once() {
    let sink_dir = tempfile::tempdir().unwrap();
    let mut sink = SmtpSink::start(sink_dir.path());
    let url = sink.url();
    let t = env_with(|c| {
        c.mail.smtp_url = url;
        c.mail.timeout_seconds = 2;
    })
    .await;
    // The portal runs with its own workers, as in production.
    let server = Server::start(t.app.clone()).await;
    let first = queue(&t, "Prima del guasto").await;
    assert!(
        eventually(20, || sink.messages().len() == 1).await,
        "first mail not delivered"
    );

    sink.stop();
    let second = queue(&t, "Durante il guasto").await;
    // The worker tries, fails, and keeps the message for a retry.
    let db = t.db.clone();
    let mut failed_attempts = 0;
    for _ in 0..200 {
        let item = outbox::get(&db, second).await.unwrap().unwrap();
        if item.attempts >= 2 && item.state == "pending" && item.last_error.is_some() {
            failed_attempts = item.attempts;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        failed_attempts >= 2,
        "the worker did not retry during the outage"
    );
    assert_eq!(sink.messages().len(), 1);

    sink.restart();
    assert!(
        eventually(20, || sink.messages().len() == 2).await,
        "mail not delivered after recovery"
    );
    // Give the workers time to (wrongly) send it again, then count.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "exactly one copy of each message");
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.contains("Durante il guasto"))
            .count(),
        1
    );
    for id in [first, second] {
        assert_eq!(outbox::get(&t.db, id).await.unwrap().unwrap().state, "sent");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn undeliverable_mail_becomes_a_dead_letter_an_administrator_can_requeue() {
    let closed_port = free_port();
    let t = env_with(|c| {
        c.mail.smtp_url = format!("smtp://127.0.0.1:{closed_port}");
        c.outbox.max_attempts = 2;
    })
    .await;
    sportello_app::demo::seed(&t.app).await.unwrap();
    let id = queue(&t, "Non recapitabile").await;
    let worker = t.app.worker();
    let mut dead = false;
    for _ in 0..100 {
        worker.run_once().await.unwrap();
        if outbox::get(&t.db, id).await.unwrap().unwrap().state == "dead" {
            dead = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dead, "message never became a dead letter");
    let item = outbox::get(&t.db, id).await.unwrap().unwrap();
    assert_eq!(item.attempts, 2);
    assert!(
        item.last_error
            .as_deref()
            .unwrap_or("")
            .contains("invio fallito")
    );

    // The central administrator sees it and puts it back in the queue.
    let mut config = (*t.app.config).clone();
    config.outbox.workers = 1;
    config.outbox.poll_interval_ms = 60_000; // keep the worker from racing the assertions
    let app = sportello_app::App::new(config, t.db.clone()).await.unwrap();
    let server = Server::start(app).await;
    let c = client();
    let res = login(
        &server,
        &c,
        "BNCGLI75C45H501W",
        sportello_app::demo::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = c
        .get(server.url("/admin/operazioni"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"dead-letters\""),
        "dead letters table missing"
    );
    assert!(page.contains(&format!("/admin/outbox/{id}/riprova")));
    let csrf = hidden_field(&page, "csrf_token");
    let res = c
        .post(server.url(&format!("/admin/outbox/{id}/riprova")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let item = outbox::get(&t.db, id).await.unwrap().unwrap();
    assert_eq!(item.state, "pending");
    assert_eq!(item.attempts, 0);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'outbox.requeue' AND target = $1",
    )
    .bind(format!("outbox:{id}"))
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_relay_mail_goes_to_the_local_maildir() {
    let t = env_with(|_| {}).await;
    queue(&t, "Nella maildir").await;
    assert_eq!(t.app.worker().run_once().await.unwrap().sent, 1);
    let new = t.dir.path().join("maildir/new");
    let files: Vec<_> = std::fs::read_dir(&new).unwrap().collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(text.contains("Nella maildir"));
}

/// A claimed item is reserved for its lease: another claim does not take it
/// (nor step over it to reach later ones) until the lease ends, when it is
/// due again, its attempt counted; items queued after it are still claimed.
#[tokio::test]
async fn a_claimed_item_is_reserved_for_its_lease_then_due_again() {
    use sportello_store::outbox::Kinds;
    let t = env_with(|_| {}).await;
    let first = queue(&t, "Prima").await;
    let now = now_micros();
    const LEASE: i64 = 60_000_000;
    let claimed = outbox::claim_due(&t.db, now, LEASE, 1, Kinds::Only("mail"))
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|i| i.id).collect::<Vec<_>>(), [first]);
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].next_attempt_at, now + LEASE);

    let second = queue(&t, "Seconda").await;
    let later = now_micros();
    let claimed = outbox::claim_due(&t.db, later, LEASE, 10, Kinds::All)
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|i| i.id).collect::<Vec<_>>(), [second]);
    assert!(
        outbox::claim_due(&t.db, later, LEASE, 10, Kinds::All)
            .await
            .unwrap()
            .is_empty(),
        "both items are on lease"
    );

    // The first worker never settled its item: once the lease is over it is
    // due again, and counts a second attempt.
    let claimed = outbox::claim_due(&t.db, now + LEASE, LEASE, 10, Kinds::AllBut("other"))
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|i| i.id).collect::<Vec<_>>(), [first]);
    assert_eq!(claimed[0].attempts, 2);
    let item = outbox::get(&t.db, first).await.unwrap().unwrap();
    assert_eq!((item.state.as_str(), item.attempts), ("pending", 2));
}
