//! Bulk enablement: ugly real-world files through the command line and the
//! console; the dry run changes nothing; valid rows apply, the others are
//! reported with their row and column.

use std::process::Command;

use sportello_app::demo::{self, DEMO_PASSWORD};
use sportello_core::fiscal_code::check_character;

use crate::harness::{Server, client, count, env, fresh_database, hidden_field, login};

fn cf(first15: &str) -> String {
    format!("{first15}{}", check_character(first15))
}

/// What an Italian office's spreadsheet export looks like: semicolons,
/// Windows-1252, CRLF, accented names, trailing blanks, a broken row.
fn ugly_csv() -> Vec<u8> {
    let rows = [
        "Codice Fiscale;Nome;Cognome;E-mail;Telefono;Applicazione;Profilo".to_string(),
        format!(
            "{};Nicolò ;D'Angelo;nicolo.dangelo@comune.ferrara.example.it;0532 123456;PTT;Ente impositore",
            cf("DNGNCL80A01D548")
        ),
        format!(
            "{};Perù;Sànchez;  peru.sanchez@comune.ferrara.example.it ;;TELECONTENZIOSO;ente_impositore",
            cf("SNCPRE85B41D548")
        ),
        "RSSMRA80A01H501X;Mario;Rossi;mario.rossi@example.it;;;".to_string(),
        format!(
            "{};Anna;Verdi;anna.verdi@demo.sportello.localhost;;SERVIZI-INTEGRATI;impresa",
            "VRDNNA82D50D548K"
        ),
        String::new(),
    ];
    let text = rows.join("\r\n");
    let (bytes, _, _) = encoding_rs_like_windows_1252(&text);
    bytes
}

/// Encodes Latin text as Windows-1252 (enough for the accents used here).
fn encoding_rs_like_windows_1252(text: &str) -> (Vec<u8>, (), ()) {
    (
        text.chars()
            .map(|c| {
                if (c as u32) < 256 {
                    c as u32 as u8
                } else {
                    b'?'
                }
            })
            .collect(),
        (),
        (),
    )
}

fn run(url: &str, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(["--database-url", url, "--data-dir", dir.to_str().unwrap()])
        .args(args)
        .env("SPORTELLO_ARGON2__MEMORY_KIB", "1024")
        .env("SPORTELLO_ARGON2__ITERATIONS", "1")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_command_line_import_dry_runs_then_applies_valid_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path()).await;
    assert!(run(&url, dir.path(), &["demo"]).status.success());
    let file = dir.path().join("dipendenti.csv");
    std::fs::write(&file, ugly_csv()).unwrap();
    let db = sportello_store::Db::connect(&url).await.unwrap();
    let users_before = count(&db, "users").await;
    let outbox_before = count(&db, "outbox").await;

    let out = run(
        &url,
        dir.path(),
        &[
            "import",
            "users",
            file.to_str().unwrap(),
            "--org",
            "C-D548",
            "--dry-run",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a broken row makes the exit code 1: {stdout}"
    );
    assert!(
        stdout.contains("riga 4, colonna «Codice Fiscale»"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("nuovo utente, abilitato a Processo Tributario Telematico - Ente impositore"),
        "{stdout}"
    );
    assert!(stdout.contains("RIFIUTATA: il profilo «Servizi integrati per le imprese - Titolare o legale rappresentante» non può essere assegnato"), "{stdout}");
    assert!(
        stdout.contains("Prova senza modifiche (CSV (;) Windows-1252): 2 nuovi"),
        "{stdout}"
    );
    assert_eq!(
        count(&db, "users").await,
        users_before,
        "the dry run changes nothing"
    );
    assert_eq!(count(&db, "outbox").await, outbox_before);

    let out = run(
        &url,
        dir.path(),
        &["import", "users", file.to_str().unwrap(), "--org", "C-D548"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Importazione completata"), "{stdout}");
    assert_eq!(count(&db, "users").await, users_before + 2);
    let name: String = sqlx::query_scalar("SELECT given_name FROM users WHERE fiscal_code = $1")
        .bind(cf("DNGNCL80A01D548"))
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(name, "Nicolò", "accents decoded, blanks trimmed");
    let held: Vec<String> = sqlx::query_scalar(
        "SELECT a.code FROM enablements e JOIN users u ON u.id = e.user_id JOIN applications a ON a.id = e.application_id
         WHERE u.fiscal_code = $1",
    )
    .bind(cf("SNCPRE85B41D548"))
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(held, vec!["TELECONTENZIOSO".to_string()]);
    // One first-access mail per new user, with the activation link.
    let mails: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%attivazione?token=%'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(mails, 2);
    let imports: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'user.import'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(imports, 1);
    // Every created user and enablement is in the chain, and the chain holds.
    let per_row: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action IN ('user.create', 'user.enable') AND detail LIKE '%import%'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(per_row, 4);
    assert!(matches!(
        sportello_store::audit::verify(&db).await.unwrap(),
        sportello_store::audit::Verification::Intact { .. }
    ));
    // Running the same file again creates nobody.
    let out = run(
        &url,
        dir.path(),
        &["import", "users", file.to_str().unwrap(), "--org", "C-D548"],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 nuovi"));
    assert_eq!(count(&db, "users").await, users_before + 2);
}

#[tokio::test]
async fn the_console_upload_respects_the_administrators_scope() {
    let t = env().await;
    demo::seed(&t.app).await.unwrap();
    let server = Server::start(t.app.clone()).await;
    let admin = client();
    login(&server, &admin, "FRRMRC70A01D548N", DEMO_PASSWORD).await;
    let page = admin
        .get(server.url("/admin/utenti/importa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(">Prefettura di Ferrara</option>"));
    let csrf = hidden_field(&page, "csrf_token");
    let upload = |org: String, dry: bool| {
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", csrf.clone())
            .text("organization_id", org)
            .text("dry_run", if dry { "1" } else { "0" })
            .part(
                "file",
                reqwest::multipart::Part::bytes(ugly_csv()).file_name("dipendenti.csv"),
            );
        admin
            .post(server.url("/admin/utenti/importa"))
            .multipart(form)
            .send()
    };
    let comune: i64 = sqlx::query_scalar("SELECT id FROM organizations WHERE code = 'C-D548'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let users_before = count(&t.db, "users").await;
    let html = upload(comune.to_string(), true)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Anteprima: nulla è stato modificato")
            && html.contains("id=\"import-errors\"")
    );
    assert_eq!(count(&t.db, "users").await, users_before);
    let html = upload(comune.to_string(), false)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Importazione eseguita"), "{html}");
    assert_eq!(count(&t.db, "users").await, users_before + 2);
    // Another organization: refused by the gate, nothing created.
    let prefecture: i64 = sqlx::query_scalar("SELECT id FROM organizations WHERE code = 'PREF-FE'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let res = upload(prefecture.to_string(), false).await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(count(&t.db, "users").await, users_before + 2);
}
