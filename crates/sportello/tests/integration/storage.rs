//! Storage invariants on the backend under test.

use sportello_app::mail::MailMessage;
use sportello_app::{demo, now_micros, queue_mail};
use sportello_core::audit::ChainError;
use sportello_store::audit::{self, NewEvent, Verification};
use sportello_store::directory;

use crate::harness::{backend, count, env};

#[tokio::test]
async fn demo_seeding_is_idempotent() {
    let t = env().await;
    let first = demo::seed(&t.app).await.unwrap();
    assert_eq!(first.created_users, 15);
    let counts = directory::counts(&t.db).await.unwrap();
    let events = count(&t.db, "audit_events").await;
    let mails = count(&t.db, "outbox").await;
    let second = demo::seed(&t.app).await.unwrap();
    assert_eq!(second.created_users, 0);
    assert_eq!(directory::counts(&t.db).await.unwrap(), counts);
    assert_eq!(count(&t.db, "audit_events").await, events);
    assert_eq!(count(&t.db, "outbox").await, mails);
    // The world from the seeds is there.
    let orgs: Vec<String> = sqlx::query_scalar("SELECT name FROM organizations ORDER BY name")
        .fetch_all(t.db.pool())
        .await
        .unwrap();
    for expected in [
        "Comune di Ferrara",
        "Ferrara Tributi S.p.A.",
        "Prefettura di Ferrara",
        "Agenzia delle Entrate",
        "Regione Emilia-Romagna",
    ] {
        assert!(
            orgs.iter().any(|o| o == expected),
            "{expected} missing in {orgs:?}"
        );
    }
    assert_eq!(count(&t.db, "offices").await, 6);
    assert_eq!(count(&t.db, "channels").await, 2);
    assert_eq!(count(&t.db, "channel_offices").await, 6);
    assert_eq!(count(&t.db, "notices").await, 4);
    // The concessionaire hangs under the municipality it serves.
    let parent: Option<String> = sqlx::query_scalar(
        "SELECT p.name FROM organizations o JOIN organizations p ON p.id = o.parent_id WHERE o.code = 'FE-TRIBUTI'",
    )
    .fetch_optional(t.db.pool())
    .await
    .unwrap();
    assert_eq!(parent.as_deref(), Some("Comune di Ferrara"));
}

#[tokio::test]
async fn migrations_can_run_twice_on_the_backend_under_test() {
    let t = env().await;
    assert_eq!(t.db.backend().name(), backend());
    t.db.migrate().await.unwrap();
    assert_eq!(count(&t.db, "audit_head").await, 1);
}

#[tokio::test]
async fn audit_chain_verifies_and_catches_an_edited_row() {
    let t = env().await;
    demo::seed(&t.app).await.unwrap();
    append(&t.db, "user.enable", "user:3").await;
    append(&t.db, "user.disable", "user:4").await;
    match audit::verify(&t.db).await.unwrap() {
        Verification::Intact { events } => assert_eq!(events, 3),
        Verification::Broken(e) => panic!("intact chain reported broken: {e}"),
    }
    sqlx::query("UPDATE audit_events SET target = 'user:99' WHERE seq = 2")
        .execute(t.db.pool())
        .await
        .unwrap();
    match audit::verify(&t.db).await.unwrap() {
        Verification::Broken(ChainError::Altered { seq }) => assert_eq!(seq, 2),
        other => panic!("tampering not caught: {other:?}"),
    }
}

#[tokio::test]
async fn audit_chain_catches_a_deleted_row_and_a_truncated_tail() {
    let t = env().await;
    for i in 0..4 {
        append(&t.db, "test.event", &format!("thing:{i}")).await;
    }
    sqlx::query("DELETE FROM audit_events WHERE seq = 4")
        .execute(t.db.pool())
        .await
        .unwrap();
    assert!(matches!(
        audit::verify(&t.db).await.unwrap(),
        Verification::Broken(ChainError::Head {
            head_seq: 4,
            last_seq: 3
        })
    ));
    sqlx::query("DELETE FROM audit_events WHERE seq = 2")
        .execute(t.db.pool())
        .await
        .unwrap();
    assert!(matches!(
        audit::verify(&t.db).await.unwrap(),
        Verification::Broken(ChainError::Gap {
            seq: 3,
            expected: 2
        })
    ));
}

#[tokio::test]
async fn concurrent_appends_keep_one_unbroken_chain() {
    let t = env().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            append(&db, "test.concurrent", &format!("n:{i}")).await
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    match audit::verify(&t.db).await.unwrap() {
        Verification::Intact { events } => assert_eq!(events, 24),
        Verification::Broken(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn outbox_rows_commit_with_their_transaction_or_not_at_all() {
    let t = env().await;
    let msg = MailMessage {
        from: None,
        to: vec!["a@example.it".into()],
        subject: "s".into(),
        body: "b".into(),
    };
    let mut tx = t.db.begin_write().await.unwrap();
    queue_mail(&mut tx, &msg, now_micros()).await.unwrap();
    append_in(&mut tx, "test.rolled_back").await;
    tx.rollback().await.unwrap();
    assert_eq!(count(&t.db, "outbox").await, 0);
    assert_eq!(count(&t.db, "audit_events").await, 0);

    let mut tx = t.db.begin_write().await.unwrap();
    queue_mail(&mut tx, &msg, now_micros()).await.unwrap();
    append_in(&mut tx, "test.committed").await;
    tx.commit().await.unwrap();
    assert_eq!(count(&t.db, "outbox").await, 1);
    assert_eq!(count(&t.db, "audit_events").await, 1);
}

#[tokio::test]
async fn the_store_refuses_a_second_profile_for_the_same_application() {
    let t = env().await;
    demo::seed(&t.app).await.unwrap();
    let (user_id, app_id, other_profile): (i64, i64, i64) = sqlx::query_as(
        "SELECT u.id, a.id, p.id FROM users u, applications a, profiles p
         WHERE u.fiscal_code = 'NRELCU85M10D548J' AND a.code = 'PTT' AND p.application_id = a.id AND p.code = 'ctu'",
    )
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    let mut tx = t.db.begin_write().await.unwrap();
    let granted =
        directory::ensure_enablement(&mut tx, user_id, app_id, other_profile, None, now_micros())
            .await
            .unwrap();
    tx.commit().await.unwrap();
    assert!(!granted, "a second PTT profile must be refused");
    let held: Vec<String> = sqlx::query_scalar(
        "SELECT p.code FROM enablements e JOIN profiles p ON p.id = e.profile_id WHERE e.user_id = $1 AND e.application_id = $2",
    )
    .bind(user_id)
    .bind(app_id)
    .fetch_all(t.db.pool())
    .await
    .unwrap();
    assert_eq!(held, vec!["ente_impositore".to_string()]);
}

async fn append(db: &sportello_store::Db, action: &str, target: &str) {
    let mut tx = db.begin_write().await.unwrap();
    audit::append(
        &mut tx,
        &NewEvent {
            actor: "user:1",
            acting_organization: Some("org:1"),
            action,
            target,
            detail: "{}",
            source_address: Some("127.0.0.1"),
        },
        now_micros(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn append_in(conn: &mut sportello_store::AnyConnection, action: &str) {
    audit::append(
        conn,
        &NewEvent {
            actor: "system",
            action,
            target: "x",
            detail: "{}",
            ..Default::default()
        },
        now_micros(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn user_search_by_list_code_prefix_and_substring() {
    let t = env().await;
    demo::seed(&t.app).await.unwrap();
    let all: Vec<i64> = sqlx::query_scalar("SELECT id FROM organizations")
        .fetch_all(t.db.pool())
        .await
        .unwrap();
    let names =
        |users: Vec<directory::User>| users.into_iter().map(|u| u.family_name).collect::<Vec<_>>();
    let everyone = names(
        directory::users_of(&t.db, &all, true, "", 100)
            .await
            .unwrap(),
    );
    assert_eq!(everyone.len(), 15);
    let mut sorted = everyone.clone();
    sorted.sort();
    assert_eq!(everyone, sorted, "listed in name order");
    assert_eq!(
        names(
            directory::users_of(&t.db, &all, true, "vrdnna82d50d548k", 100)
                .await
                .unwrap()
        ),
        vec!["Verdi"]
    );
    assert_eq!(
        names(
            directory::users_of(&t.db, &all, true, "Ver", 100)
                .await
                .unwrap()
        ),
        vec!["Verdi"]
    );
    // No surname starts with it: the search falls back to any field.
    assert_eq!(
        names(
            directory::users_of(&t.db, &all, true, "demo.sportello.localhost", 5)
                .await
                .unwrap()
        )
        .len(),
        5
    );
    assert_eq!(
        names(
            directory::users_of(&t.db, &all, true, "anna.verdi@", 100)
                .await
                .unwrap()
        ),
        vec!["Verdi"]
    );
    // Wildcards typed by the user are plain characters.
    assert!(
        directory::users_of(&t.db, &all, true, "%", 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        directory::users_of(&t.db, &all, true, "_", 100)
            .await
            .unwrap()
            .is_empty()
    );
    // Scope: only the listed organizations.
    let comune: i64 = sqlx::query_scalar("SELECT id FROM organizations WHERE code = 'C-D548'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(
        names(
            directory::users_of(&t.db, &[comune], false, "", 100)
                .await
                .unwrap()
        ),
        vec!["Ferri", "Verdi"]
    );
}
