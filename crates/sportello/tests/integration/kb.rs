//! The knowledge base (FAQ) of the assistance desk, on both backends:
//! versions and publication reflected in search, who may write and publish,
//! bad input that changes nothing, Markdown that cannot inject script, the
//! quality of Italian search on the demo articles, and the requests avoided
//! by a suggestion counted in the desk's reports.

use sportello_app::desk::reports::ReportScope;
use sportello_app::kb::ArticleInput;
use sportello_app::{AppError, Origin, SessionUser, now_micros};

use crate::harness::{Server, TestEnv, client, count, env, hidden_field, login};

const PASSWORD: &str = "Demo-Sportello-2026";
const PAOLO: &str = "GLLPLA68S12A944U"; // intermediary, CIVIS requester of ADE-DP-FE
const SARA: &str = "CNTSRA79H50D548Q"; // office manager ADE-DP-FE
const DAVIDE: &str = "RMNDVD88B15D548G"; // operator ADE-DP-FE
const FRANCO: &str = "MRNFNC65L20H501Z"; // central manager
const EMPLOYEE: &str = "VRDNNA82D50D548K"; // employee of a municipality, no desk role
const CENTRAL_ADMIN: &str = "BNCGLI75C45H501W";

async fn world() -> TestEnv {
    let t = env().await;
    sportello_app::demo::seed(&t.app).await.unwrap();
    sqlx::query("UPDATE channels SET hours_weekly = 'sempre', hours_holidays = ''")
        .execute(t.db.pool())
        .await
        .unwrap();
    t
}

async fn session(t: &TestEnv, code: &str) -> SessionUser {
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

fn input(question: &str, answer: &str) -> ArticleInput {
    ArticleInput {
        question_it: question.into(),
        answer_it: answer.into(),
        ..Default::default()
    }
}

async fn slugs(t: &TestEnv, query: &str) -> Vec<String> {
    t.app
        .kb_search(query, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.slug)
        .collect()
}

async fn audit_actions(t: &TestEnv, prefix: &str) -> Vec<String> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT action FROM audit_events WHERE action LIKE $1 ORDER BY seq")
            .bind(format!("{prefix}%"))
            .fetch_all(t.db.pool())
            .await
            .unwrap();
    rows.into_iter().map(|(a,)| a).collect()
}

#[tokio::test]
async fn every_save_is_a_version_and_the_public_sees_only_the_published_one() {
    let t = world().await;
    let davide = session(&t, DAVIDE).await;
    let sara = session(&t, SARA).await;
    let o = Origin::default();
    let id = t
        .app
        .save_article(
            Some(&davide),
            None,
            ArticleInput {
                application_code: "CIVIS".into(),
                channel_code: "CIVIS".into(),
                ..input(
                    "Come si rettifica un versamento con il modello F24?",
                    "Si presenta l'istanza di **rettifica** del codice tributo.",
                )
            },
            &o,
        )
        .await
        .unwrap();
    let slug = "come-si-rettifica-un-versamento-con-il-modello-f24".to_string();
    // A draft is nobody's answer yet.
    assert!(!slugs(&t, "rettifica versamento").await.contains(&slug));
    assert!(matches!(
        t.app
            .kb_public_article("come-si-rettifica-un-versamento-con-il-modello-f24")
            .await,
        Err(AppError::NotFound)
    ));
    t.app
        .publish_article(Some(&sara), id, true, None, &o)
        .await
        .unwrap();
    assert_eq!(slugs(&t, "rettifiche dei versamenti").await[0], slug);
    // A second version stays unpublished: the public keeps reading the first.
    t.app
        .save_article(
            Some(&davide),
            Some(id),
            ArticleInput {
                application_code: "CIVIS".into(),
                channel_code: "CIVIS".into(),
                ..input(
                    "Come si rettifica un versamento con il modello F24?",
                    "Dal 2026 la correzione si chiede con il servizio **Civis ravvedimento**.",
                )
            },
            &o,
        )
        .await
        .unwrap();
    let public = t
        .app
        .kb_public_article("come-si-rettifica-un-versamento-con-il-modello-f24")
        .await
        .unwrap();
    assert_eq!(public.article.version, 1);
    assert!(public.answer_it_html.contains("<strong>rettifica</strong>"));
    assert!(slugs(&t, "ravvedimento").await.is_empty());
    let (article, versions) = t.app.kb_article(Some(&davide), id).await.unwrap();
    assert_eq!(
        (article.current_version, article.published_version),
        (2, Some(1))
    );
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(versions[0].author_id, Some(davide.user.id));
    // Publishing the second version replaces the first in search.
    t.app
        .publish_article(Some(&sara), id, true, Some(2), &o)
        .await
        .unwrap();
    assert_eq!(slugs(&t, "ravvedimento").await.len(), 1);
    let public = t
        .app
        .kb_public_article("come-si-rettifica-un-versamento-con-il-modello-f24")
        .await
        .unwrap();
    assert_eq!(public.article.version, 2);
    // Withdrawn: gone from search and from the public pages.
    t.app
        .publish_article(Some(&sara), id, false, None, &o)
        .await
        .unwrap();
    assert!(slugs(&t, "ravvedimento").await.is_empty());
    assert!(!slugs(&t, "rettifica versamento F24").await.contains(&slug));
    assert_eq!(
        audit_actions(&t, "kb.").await,
        [
            "kb.article.save",
            "kb.article.publish",
            "kb.article.save",
            "kb.article.publish",
            "kb.article.unpublish"
        ]
    );
    // The pages show the history; the public page of a withdrawn article is a 404.
    let server = Server::start(t.app.clone()).await;
    let c = client();
    assert_eq!(login(&server, &c, DAVIDE, PASSWORD).await.status(), 303);
    let page = c
        .get(server.url(&format!("/ufficio/faq/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"versions\""), "{page}");
    assert!(page.contains("Civis ravvedimento"));
    // An operator writes but does not publish: no publish button for him.
    assert!(!page.contains("id=\"publish\""));
    let anonymous = client();
    let res = anonymous
        .get(server.url("/faq/come-si-rettifica-un-versamento-con-il-modello-f24"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // The index follows the database after a restart: rebuilt from it.
    assert_eq!(
        t.app.kb_rebuild_index().await.unwrap(),
        sportello_app::kb::demo::ARTICLES.len()
    );
}

#[tokio::test]
async fn only_the_desk_staff_write_and_only_coordinators_publish() {
    let t = world().await;
    let o = Origin::default();
    let employee = session(&t, EMPLOYEE).await;
    let davide = session(&t, DAVIDE).await;
    let before = count(&t.db, "kb_versions").await;
    assert!(matches!(
        t.app
            .save_article(Some(&employee), None, input("Domanda?", "Risposta."), &o)
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app
            .save_article(None, None, input("Domanda?", "Risposta."), &o)
            .await,
        Err(AppError::NeedsLogin)
    ));
    let id = t
        .app
        .save_article(
            Some(&davide),
            None,
            input("Domanda di prova?", "Risposta."),
            &o,
        )
        .await
        .unwrap();
    assert!(matches!(
        t.app
            .publish_article(Some(&davide), id, true, None, &o)
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app
            .publish_article(Some(&employee), id, true, None, &o)
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app.kb_articles(Some(&employee)).await,
        Err(AppError::Forbidden(_))
    ));
    // The central administrator and the central manager publish.
    for who in [CENTRAL_ADMIN, FRANCO] {
        let s = session(&t, who).await;
        t.app
            .publish_article(Some(&s), id, true, None, &o)
            .await
            .unwrap();
    }
    assert_eq!(count(&t.db, "kb_versions").await, before + 1);

    // Over HTTP: the employee is refused the staff's pages and his post changes nothing.
    let server = Server::start(t.app.clone()).await;
    let c = client();
    assert_eq!(login(&server, &c, EMPLOYEE, PASSWORD).await.status(), 303);
    let res = c.get(server.url("/ufficio/faq")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let faq = c
        .get(server.url("/faq"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&faq, "csrf_token");
    let res = c
        .post(server.url(&format!("/ufficio/faq/{id}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("action", "save"),
            ("question_it", "Riscritta?"),
            ("answer_it", "Riscritta."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = c
        .post(server.url(&format!("/ufficio/faq/{id}/pubblicazione")))
        .form(&[("csrf_token", csrf.as_str()), ("action", "unpublish")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(count(&t.db, "kb_versions").await, before + 1);
    assert_eq!(slugs(&t, "domanda di prova").await, ["domanda-di-prova"]);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_per_field_and_changes_nothing() {
    let t = world().await;
    let o = Origin::default();
    let davide = session(&t, DAVIDE).await;
    let (articles, versions) = (
        count(&t.db, "kb_articles").await,
        count(&t.db, "kb_versions").await,
    );
    let audit = count(&t.db, "audit_events").await;
    let err = t
        .app
        .save_article(
            Some(&davide),
            None,
            ArticleInput {
                slug: "Non Va Bene".into(),
                application_code: "NESSUNA".into(),
                channel_code: "XYZ".into(),
                question_en: "Only a question?".into(),
                ..input("", "")
            },
            &o,
        )
        .await
        .unwrap_err();
    let AppError::InvalidFields(list) = err else {
        panic!("{err:?}")
    };
    let fields: Vec<&str> = list.iter().map(|(f, _)| f.as_str()).collect();
    for f in [
        "question_it",
        "answer_it",
        "answer_en",
        "slug",
        "application_code",
        "channel_code",
    ] {
        assert!(fields.contains(&f), "{f} missing in {list:?}");
    }
    // A slug another article uses.
    let err = t
        .app
        .save_article(
            Some(&davide),
            None,
            ArticleInput {
                slug: "password-scaduta".into(),
                ..input("Altra domanda?", "Altra risposta.")
            },
            &o,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::InvalidFields(l) if l[0].0 == "slug" && l[0].1.contains("già usato")),
        "{err:?}"
    );
    assert_eq!(count(&t.db, "kb_articles").await, articles);
    assert_eq!(count(&t.db, "kb_versions").await, versions);
    assert_eq!(count(&t.db, "audit_events").await, audit);

    // The form shows each message next to its field, with the values kept.
    let server = Server::start(t.app.clone()).await;
    let c = client();
    login(&server, &c, DAVIDE, PASSWORD).await;
    let page = c
        .get(server.url("/ufficio/faq/nuova"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let res = c
        .post(server.url("/ufficio/faq/nuova"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("action", "save"),
            ("question_it", ""),
            ("answer_it", "Risposta senza domanda"),
            ("slug", "spazi non ammessi"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"question_it_error\""), "{page}");
    assert!(page.contains("id=\"slug_error\""));
    assert!(page.contains("Risposta senza domanda"));
    // Without a valid CSRF token nothing is saved either.
    let res = c
        .post(server.url("/ufficio/faq/nuova"))
        .form(&[
            ("csrf_token", "sbagliato"),
            ("action", "save"),
            ("question_it", "Domanda?"),
            ("answer_it", "Risposta."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(count(&t.db, "kb_versions").await, versions);
    // The preview renders without saving.
    let res = c
        .post(server.url("/ufficio/faq/nuova"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("action", "preview"),
            ("question_it", "Domanda?"),
            ("answer_it", "Testo *importante*."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("<em>importante</em>"));
    assert_eq!(count(&t.db, "kb_versions").await, versions);
}

#[tokio::test]
async fn markdown_cannot_inject_script() {
    let t = world().await;
    let o = Origin::default();
    let sara = session(&t, SARA).await;
    let id = t
        .app
        .save_article(
            Some(&sara),
            None,
            ArticleInput {
                slug: "prova-xss".into(),
                question_en: "<script>alert('q')</script>".into(),
                answer_en: "<iframe src=\"https://evil.example\"></iframe>".into(),
                ..input(
                    "Domanda <b>in grassetto</b>?",
                    "<script>alert(1)</script>\n\nTesto <img src=x onerror=alert(2)> \
                     [clic](javascript:alert(3)) <a href=\"javascript:alert(4)\">a</a> **ok**",
                )
            },
            &o,
        )
        .await
        .unwrap();
    t.app
        .publish_article(Some(&sara), id, true, None, &o)
        .await
        .unwrap();
    let server = Server::start(t.app.clone()).await;
    let c = client();
    for path in ["/faq/prova-xss", "/faq?q=testo+clic+grassetto"] {
        let page = c
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let main = &page[page.find("<main").unwrap_or(0)..];
        for bad in [
            "<script>alert",
            "<img",
            "<iframe",
            "<a href=\"javascript:",
            "<b>in grassetto",
        ] {
            assert!(!main.contains(bad), "{path}: {bad} in {main}");
        }
        if path.starts_with("/faq/") {
            assert!(
                main.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{main}"
            );
            assert!(main.contains("<strong>ok</strong>"));
            assert!(main.contains("lang=\"en\""));
        } else {
            assert!(main.contains("/faq/prova-xss"), "{main}");
        }
    }
}

#[tokio::test]
async fn italian_search_finds_the_best_answer_on_the_demo_articles() {
    let t = world().await;
    let first = |hits: Vec<String>| hits.first().cloned().unwrap_or_default();
    // Morphology: plural and singular, verbs and nouns.
    assert!(
        slugs(&t, "abilitazioni")
            .await
            .contains(&"abilitazione-dipendente-ente-locale".to_string())
    );
    assert!(
        slugs(&t, "amministratori")
            .await
            .contains(&"compiti-amministratore-locale".to_string())
    );
    // Accents both ways.
    assert_eq!(slugs(&t, "lunedi").await, slugs(&t, "lunedì").await);
    assert_eq!(
        first(slugs(&t, "perche la password e scaduta").await),
        "password-scaduta"
    );
    assert_eq!(
        first(slugs(&t, "perché la password è scaduta?").await),
        "password-scaduta"
    );
    // Realistic questions: the best answer first.
    for (query, best) in [
        ("orari assistenza telefonica", "orari-assistenza-telefonica"),
        (
            "a che ora risponde il numero verde il sabato",
            "orari-assistenza-telefonica",
        ),
        (
            "quali profili per abilitare al telecontenzioso",
            "profili-telecontenzioso",
        ),
        (
            "il comune come nomina un amministratore locale",
            "nomina-amministratore-locale",
        ),
        (
            "quali sono i compiti dell'amministratore locale",
            "compiti-amministratore-locale",
        ),
        ("ho dimenticato la password", "password-dimenticata"),
        (
            "registrazione con PEC e firma digitale",
            "registrazione-pec-firma-digitale",
        ),
        (
            "non mi è arrivata la password provvisoria",
            "password-provvisoria",
        ),
        (
            "comunicazione di irregolarità CIVIS",
            "civis-comunicazione-irregolarita",
        ),
        ("password expired", "password-scaduta"),
    ] {
        assert_eq!(first(slugs(&t, query).await), best, "query «{query}»");
    }
    // The filter by application.
    let hits = t
        .app
        .kb_search("profili abilitazione", Some("TELECONTENZIOSO"), 10)
        .await
        .unwrap();
    assert!(!hits.is_empty() && hits.iter().all(|h| h.application == "TELECONTENZIOSO"));
    // The public page: snippets marked, the filter by application, English with its lang.
    let server = Server::start(t.app.clone()).await;
    let c = client();
    let page = c
        .get(server.url("/faq?q=password+scaduta"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<mark>"), "{page}");
    assert!(page.contains("href=\"/faq/password-scaduta\""));
    assert!(page.contains("id=\"app-filters\""));
    let page = c
        .get(server.url("/faq/password-scaduta"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h1 lang=\"it\" id=\"question\">"), "{page}");
    assert!(page.contains("<section lang=\"en\""));
    let page = c
        .get(server.url("/faq"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Telecontenzioso"), "{page}");
    // The JSON API, in the OpenAPI document.
    let hits: serde_json::Value = c
        .get(server.url("/api/v1/kb/search?q=perch%C3%A9+la+password+%C3%A8+scaduta&limit=3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits[0]["slug"], "password-scaduta", "{hits}");
    assert!(hits[0]["snippet_html"].as_str().unwrap().contains("<mark>"));
    let res = c
        .get(server.url("/api/v1/kb/articles/password-scaduta"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let a: serde_json::Value = res.json().await.unwrap();
    assert_eq!(a["version"], 1);
    assert!(
        a["answer_it_html"]
            .as_str()
            .unwrap()
            .contains("<strong>scade dopo 90 giorni</strong>")
    );
    assert!(a["question_en"].as_str().unwrap().contains("expired"));
    let res = c
        .get(server.url("/api/v1/kb/articles/non-esiste"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let doc = c
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(doc.contains("/api/v1/kb/search") && doc.contains("/api/v1/kb/articles/{slug}"));
}

#[tokio::test]
async fn a_suggestion_that_helped_is_a_request_avoided_in_the_reports() {
    let t = world().await;
    let server = Server::start(t.app.clone()).await;
    let c = client();
    assert_eq!(login(&server, &c, PAOLO, PASSWORD).await.status(), 303);
    let requests = count(&t.db, "requests").await;
    // The form suggests as one types (htmx), from subject and description.
    let form = c
        .get(server.url("/assistenza/CIVIS/nuova"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("hx-trigger=\"keyup changed delay:400ms\""),
        "{form}"
    );
    assert!(form.contains("id=\"search-faq\""));
    let fragment = c
        .get(server.url(
            "/assistenza/CIVIS/faq?subject=comunicazione+di+irregolarit%C3%A0&body=avviso+telematico",
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        fragment.contains("/faq/civis-comunicazione-irregolarita/aiutato"),
        "{fragment}"
    );
    assert!(!fragment.contains("<html"));
    let csrf = hidden_field(&fragment, "csrf_token");
    // Without JavaScript: "Cerca nelle FAQ" posts the form and shows them too.
    let multipart = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .text("action", "faq")
        .text("subject", "Password scaduta")
        .text("body", "Non riesco ad accedere: la password è scaduta");
    let res = c
        .post(server.url("/assistenza/CIVIS/nuova"))
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("/faq/password-scaduta/aiutato"), "{page}");
    assert!(page.contains("Non riesco ad accedere"));
    assert_eq!(count(&t.db, "requests").await, requests);
    // A forged "it helped" is refused and not counted.
    let res = c
        .post(server.url("/faq/civis-comunicazione-irregolarita/aiutato"))
        .form(&[("csrf_token", "falso"), ("channel", "CIVIS")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(count(&t.db, "kb_deflections").await, 0);
    let res = c
        .post(server.url("/faq/civis-comunicazione-irregolarita/aiutato"))
        .form(&[("csrf_token", csrf.as_str()), ("channel", "CIVIS")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let thanks = res.headers()["location"].to_str().unwrap().to_string();
    let page = c
        .get(server.url(&thanks))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"thanks\""), "{page}");
    assert_eq!(count(&t.db, "kb_deflections").await, 1);
    assert_eq!(count(&t.db, "requests").await, requests);
    // An unknown article is not counted.
    let res = c
        .post(server.url("/faq/non-esiste/aiutato"))
        .form(&[("csrf_token", csrf.as_str()), ("channel", "CIVIS")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // The reports count it: the office working the channel, its region, the nation.
    let (_, today) = t.app.civil_day(now_micros());
    let sara = session(&t, SARA).await;
    let office: i64 = sqlx::query_scalar("SELECT id FROM offices WHERE code = 'ADE-DP-FE'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let report = t
        .app
        .report(Some(&sara), &ReportScope::Office(office), today, today)
        .await
        .unwrap();
    assert_eq!(report.totals.deflected, 1);
    let franco = session(&t, FRANCO).await;
    let national = t
        .app
        .report(Some(&franco), &ReportScope::Nation, today, today)
        .await
        .unwrap();
    assert_eq!(national.totals.deflected, 1);
    let region = t
        .app
        .report(
            Some(&franco),
            &ReportScope::Region("Emilia-Romagna".into()),
            today,
            today,
        )
        .await
        .unwrap();
    assert_eq!(region.totals.deflected, 1);
    // The offices in Lazio do not serve CIVIS: nothing avoided there.
    let report = t
        .app
        .report(
            Some(&franco),
            &ReportScope::Region("Lazio".into()),
            today,
            today,
        )
        .await
        .unwrap();
    assert_eq!(report.totals.deflected, 0);
    // And the report page shows it.
    let c = client();
    login(&server, &c, SARA, PASSWORD).await;
    let page = c
        .get(server.url("/ufficio/report"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"total-deflected\""), "{page}");
}

#[tokio::test]
async fn the_reindex_command_rebuilds_the_index_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::fresh_database(dir.path()).await;
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
            .args(["--database-url", &url, "--data-dir", data])
            .args(args)
            .env_remove("SPORTELLO_CONFIG")
            .env("SPORTELLO_ARGON2__MEMORY_KIB", "1024")
            .env("SPORTELLO_ARGON2__ITERATIONS", "1")
            .output()
            .expect("run sportello")
    };
    let out = run(&["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(dir.path().join("kb-index")).unwrap();
    let out = run(&["kb", "reindex"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        sportello_app::kb::demo::ARTICLES.len().to_string()
    );
    assert!(dir.path().join("kb-index").join("meta.json").exists());
}
