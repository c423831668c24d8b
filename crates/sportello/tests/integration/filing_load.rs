//! The load the filings crash test and the filings benchmark share: the demo
//! world's connectors pointed at a standalone `sportello demo-agency`, and
//! Roberto Esposito's "avvio di impresa" filings sent through the library
//! while no server runs, so that their deliveries wait in the outbox.
//! Shared with `benches/filings.rs`.
#![allow(dead_code)] // each user takes what it needs

use std::collections::BTreeMap;
use std::sync::Arc;

use sportello_app::security::token_hash;
use sportello_app::{App, Origin, demo};
use sportello_store::Db;

/// Roberto Esposito, owner of an enterprise, enabled at all three agencies.
pub const ROBERTO: &str = "SPSRRT77P03D548A";
/// (connector code, path at the demo agency, key in its /stats)
pub const AGENCIES: [(&str, &str, &str); 3] = [
    ("INPS", "inps", "INPS"),
    ("INAIL", "inail", "INAIL"),
    ("CCIAA-FERA", "cciaa", "CCIAA"),
];

/// The form of the `n`-th filing.
pub fn values(n: usize) -> BTreeMap<String, String> {
    [
        ("codice_fiscale", "01234567897".to_string()),
        ("denominazione", format!("Estense Costruzioni {n} S.r.l.")),
        ("forma_giuridica", "S.r.l.".into()),
        ("sede_comune", "Ferrara".into()),
        ("sede_indirizzo", format!("Via Garibaldi {}", n + 1)),
        ("data_inizio", "01/12/2026".into()),
        ("ateco", "41.20.00".into()),
        (
            "descrizione_attivita",
            "Costruzione di edifici residenziali e non residenziali".into(),
        ),
        ("dipendenti", "4".into()),
        ("pec", "estense@pec.example.it".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Points the three demo connectors at the agencies served from `agency`
/// (a base URL) and gives them the callback `token`.
pub async fn point_connectors_at(db: &Db, agency: &str, token: &str) {
    for (code, segment, _) in AGENCIES {
        let done = sqlx::query(
            "UPDATE agency_connectors SET endpoint = $1, callback_token_hash = $2 WHERE code = $3",
        )
        .bind(format!("{agency}/{segment}/pratiche"))
        .bind(token_hash(token))
        .bind(code)
        .execute(db.pool())
        .await
        .unwrap();
        assert_eq!(done.rows_affected(), 1, "connector {code}");
    }
}

/// Sends `filings` filings as Roberto through `App::submit_filing`, from
/// `submitters` tasks at once.
pub async fn submit_filings(app: &App, filings: usize, submitters: usize) {
    let login = app
        .login(ROBERTO, demo::DEMO_PASSWORD, &Origin::default())
        .await
        .unwrap();
    let roberto = Arc::new(
        app.session_user(&login.session_token)
            .await
            .unwrap()
            .unwrap(),
    );
    let tasks: Vec<_> = (0..submitters)
        .map(|task| {
            let (app, roberto) = (app.clone(), roberto.clone());
            tokio::spawn(async move {
                for n in (task..filings).step_by(submitters) {
                    app.submit_filing(
                        &roberto,
                        sportello_app::filings::demo::SERVICE,
                        roberto.user.id,
                        None,
                        &values(n),
                        &Origin::default(),
                    )
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}
