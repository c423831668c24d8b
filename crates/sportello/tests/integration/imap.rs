//! The desk's IMAP poller against a real IMAP server (dovecot, started for
//! each test): unseen mail is read into the desk and marked as read, a
//! malformed or oversized message is set aside, a failure leaves the rest for
//! the next pass, wrong credentials and an unverifiable certificate are clear errors,
//! and `serve` polls the configured mailbox until shutdown.

use sportello_app::desk::imap::{PollReport, poll_once};
use sportello_app::{App, Origin};
use sportello_store::Db;
use sportello_store::desk as store;

use crate::harness::{ImapServer, Server, TestEnv, count, env_with, eventually, logs};

const PASSWORD: &str = "Demo-Sportello-2026";
const MARCO: &str = "FRRMRC70A01D548N"; // Comune di Ferrara, BDNA stazione appaltante

async fn world_with(adjust: impl FnOnce(&mut sportello_app::Config)) -> TestEnv {
    let t = env_with(adjust).await;
    sportello_app::demo::seed(&t.app).await.unwrap();
    // Keep the channels open whatever the hour the suite runs at.
    sqlx::query("UPDATE channels SET hours_weekly = 'sempre', hours_holidays = ''")
        .execute(t.db.pool())
        .await
        .unwrap();
    t
}

async fn world() -> TestEnv {
    world_with(|_| {}).await
}

fn raw_mail(from: &str, subject: &str, message_id: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: assistenza.dippp@interno.example.it\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\n\
         MIME-Version: 1.0\r\n{extra}"
    )
    .into_bytes()
}

fn bdna_request() -> Vec<u8> {
    raw_mail(
        "Marco Ferri <marco.ferri@demo.sportello.localhost>",
        "BDNA - utenza bloccata",
        "imap-bdna-1@comune.example.it",
        "Content-Type: text/plain; charset=utf-8\r\n\r\nNon riesco più ad accedere alla B.D.N.A.\r\n",
    )
}

fn auto_reply() -> Vec<u8> {
    raw_mail(
        "studio.gallo@example.it",
        "Risposta automatica: BDNA - utenza bloccata",
        "imap-auto-1@example.it",
        "Auto-Submitted: auto-replied\r\nContent-Type: text/plain\r\n\r\nSono in ferie.\r\n",
    )
}

const MALFORMED: &[u8] = b"questo non e' un messaggio";

/// The inbound record of a message: (status, request id).
async fn inbound(db: &Db, message_id: &str) -> Option<(String, Option<i64>)> {
    sqlx::query_as("SELECT status, request_id FROM inbound_mail WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(db.pool())
        .await
        .unwrap()
}

fn seen(flags: &str) -> bool {
    flags.contains('S')
}

#[tokio::test]
async fn the_poller_reads_unseen_mail_into_the_desk_and_marks_it_read() {
    let t = world().await;
    let imap = ImapServer::start();
    imap.deliver("1764061200.bdna.sportello", &bdna_request());
    imap.deliver("1764061201.auto.sportello", &auto_reply());
    imap.deliver("1764061202.blob.sportello", MALFORMED);
    assert!(imap.flags().values().all(|f| !seen(f)));

    let report = poll_once(&t.app, &imap.url("imap")).await.unwrap();
    assert_eq!(
        report,
        PollReport {
            fetched: 3,
            stored: 2,
            malformed: 1,
            left_for_retry: 0
        },
        "{}",
        imap.log()
    );
    let (status, request_id) = inbound(&t.db, "imap-bdna-1@comune.example.it")
        .await
        .unwrap();
    assert_eq!(status, "opened");
    let req = store::request(&t.db, request_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(req.protocol.starts_with("BDNA-"), "{}", req.protocol);
    assert_eq!(req.intake, "mail");
    assert_eq!(req.subject, "BDNA - utenza bloccata");
    let marco = t
        .app
        .login(MARCO, PASSWORD, &Origin::default())
        .await
        .unwrap();
    assert_eq!(req.requester_user_id, Some(marco.user_id));
    assert_eq!(
        inbound(&t.db, "imap-auto-1@example.it").await,
        Some(("ignored".into(), None))
    );
    assert_eq!(
        count(&t.db, "inbound_mail").await,
        2,
        "the blob is not stored"
    );
    let flags = imap.flags();
    assert_eq!(flags.len(), 3);
    assert!(flags.values().all(|f| seen(f)), "all read: {flags:?}");

    // Nothing unseen is left.
    let again = poll_once(&t.app, &imap.url("imap")).await.unwrap();
    assert_eq!(again, PollReport::default());

    // Later deliveries are picked up by the next pass: Marco's reply joins
    // his request, and the MTA's second copy of a message kept before is a
    // duplicate, read and stored once.
    imap.deliver(
        "1764061300.reply.sportello",
        &raw_mail(
            "marco.ferri@demo.sportello.localhost",
            &format!("Re: [{}] BDNA - utenza bloccata", req.protocol),
            "imap-bdna-2@comune.example.it",
            "Content-Type: text/plain; charset=utf-8\r\n\r\nAggiungo: l'utenza è MFERRI.\r\n",
        ),
    );
    imap.deliver("1764061301.copy.sportello", &bdna_request());
    let later = poll_once(&t.app, &imap.url("imap")).await.unwrap();
    assert_eq!(
        later,
        PollReport {
            fetched: 2,
            stored: 2,
            malformed: 0,
            left_for_retry: 0
        }
    );
    assert_eq!(
        inbound(&t.db, "imap-bdna-2@comune.example.it").await,
        Some(("attached".into(), Some(req.id)))
    );
    assert_eq!(count(&t.db, "inbound_mail").await, 3);
    assert_eq!(count(&t.db, "requests").await, 1);
    let flags = imap.flags();
    assert_eq!(flags.len(), 5);
    assert!(flags.values().all(|f| seen(f)), "all read: {flags:?}");
}

#[tokio::test]
async fn a_failure_leaves_the_message_and_the_rest_unread_for_the_next_pass() {
    let t = world().await;
    let imap = ImapServer::start();
    imap.deliver("1764061200.bdna.sportello", &bdna_request());
    imap.deliver("1764061201.auto.sportello", &auto_reply());

    // The database goes away: the first message fails and the pass stops.
    t.app.db.close().await;
    let report = poll_once(&t.app, &imap.url("imap")).await.unwrap();
    assert_eq!(
        report,
        PollReport {
            fetched: 1,
            stored: 0,
            malformed: 0,
            left_for_retry: 2
        }
    );
    assert!(
        imap.flags().values().all(|f| !seen(f)),
        "{:?}",
        imap.flags()
    );

    // Back again (a new process on the same database): both are read.
    let db = Db::connect(&t.app.config.database_url).await.unwrap();
    let app = App::new((*t.app.config).clone(), db.clone()).await.unwrap();
    let report = poll_once(&app, &imap.url("imap")).await.unwrap();
    assert_eq!((report.fetched, report.stored), (2, 2), "{report:?}");
    assert_eq!(count(&db, "inbound_mail").await, 2);
    assert!(imap.flags().values().all(|f| seen(f)));
}

#[tokio::test]
async fn a_message_larger_than_the_desk_accepts_is_set_aside_unread() {
    let t = world_with(|c| c.desk.max_message_bytes = 4096).await;
    let imap = ImapServer::start();
    let mut big = raw_mail(
        "marco.ferri@demo.sportello.localhost",
        "BDNA - allegato enorme",
        "imap-big-1@comune.example.it",
        "Content-Type: text/plain\r\n\r\n",
    );
    big.extend(b"0123456789abcdef\r\n".repeat(512));
    imap.deliver("1764061200.big.sportello", &big);
    imap.deliver("1764061201.bdna.sportello", &bdna_request());
    let report = poll_once(&t.app, &imap.url("imap")).await.unwrap();
    assert_eq!(
        report,
        PollReport {
            fetched: 1,
            stored: 1,
            malformed: 1,
            left_for_retry: 0
        }
    );
    assert_eq!(inbound(&t.db, "imap-big-1@comune.example.it").await, None);
    assert_eq!(count(&t.db, "inbound_mail").await, 1);
    assert!(imap.flags().values().all(|f| seen(f)), "{:?}", imap.flags());
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_that_stores_nothing() {
    let t = world().await;
    let imap = ImapServer::start();
    imap.deliver("1764061200.bdna.sportello", &bdna_request());
    let wrong = "Sbagliata-123";
    let e = poll_once(&t.app, &imap.url_with_password("imap", wrong))
        .await
        .unwrap_err();
    assert!(e.contains("accesso rifiutato"), "{e}");
    assert!(e.contains(&imap.user), "{e}");
    assert!(e.contains(&format!("127.0.0.1:{}", imap.port)), "{e}");
    assert!(!e.contains(wrong), "the password is never shown: {e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert_eq!(count(&t.db, "inbound_mail").await, 0);
    assert!(imap.flags().values().all(|f| !seen(f)));

    // Nothing listening: a connection error, also without the password.
    let mut gone = ImapServer::start();
    let url = gone.url("imap");
    gone.stop();
    let e = poll_once(&t.app, &url).await.unwrap_err();
    assert!(e.contains("connessione"), "{e}");
    assert!(!e.contains(&gone.password), "{e}");
}

#[tokio::test]
async fn a_server_certificate_that_cannot_be_verified_is_refused() {
    let t = world().await;
    let pki = sportello_app::cns::testing::TestPki::new();
    let (cert, key) = pki.server_cert(&["localhost", "127.0.0.1"]);
    let imap = ImapServer::start_tls(&cert, &key);
    imap.deliver("1764061200.bdna.sportello", &bdna_request());
    let e = poll_once(&t.app, &imap.url("imaps")).await.unwrap_err();
    assert!(e.contains("TLS") && e.contains("UnknownIssuer"), "{e}");
    assert!(e.contains("imaps://"), "{e}");
    assert!(!e.contains(&imap.password), "{e}");
    assert_eq!(count(&t.db, "inbound_mail").await, 0);
    assert!(imap.flags().values().all(|f| !seen(f)));
}

#[tokio::test]
async fn serve_polls_the_configured_mailbox_until_shutdown() {
    let imap = ImapServer::start();
    let url = imap.url("imap");
    let t = world_with(|c| {
        c.desk.imap_url = url.clone();
        c.desk.imap_poll_seconds = 1;
    })
    .await;
    let server = Server::start(t.app.clone()).await;
    imap.deliver("1764061200.bdna.sportello", &bdna_request());
    let db = t.db.clone();
    let mut stored = false;
    for _ in 0..200 {
        if inbound(&db, "imap-bdna-1@comune.example.it")
            .await
            .is_some()
        {
            stored = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(stored, "the poller read the mailbox:\n{}", imap.log());
    assert!(eventually(10, || imap.flags().values().all(|f| seen(f))).await);
    server.shutdown().await;
    let logs = logs();
    assert!(logs.contains("desk IMAP poller stopped"), "{logs}");
    assert!(
        logs.contains(&format!("{}:***@127.0.0.1:{}", imap.user, imap.port)),
        "{logs}"
    );
    assert!(
        !logs.contains(&imap.password),
        "the password is never logged"
    );

    // After shutdown nothing is read any more.
    imap.deliver("1764061300.late.sportello", &auto_reply());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(count(&t.db, "inbound_mail").await, 1);
}
