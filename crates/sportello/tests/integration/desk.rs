//! The assistance desk end to end through its use cases, on both backends:
//! gapless protocol numbers under concurrency, the CIVIS journey with mail
//! in and out, BDNA by e-mail with routing to the competent prefecture,
//! refusals that store nothing, reports and the daily register.

use std::collections::BTreeMap;

use sportello_app::desk::intake::{PhoneCall, WebSubmission};
use sportello_app::desk::mailgate::TriageDecision;
use sportello_app::desk::reports::ReportScope;
use sportello_app::desk::work::WorkAct;
use sportello_app::desk::{Registered, Upload};
use sportello_app::{AppError, Origin, SessionUser};
use sportello_store::desk::{self as store, Contact};

use crate::harness::{Server, TestEnv, count, env};

const PASSWORD: &str = "Demo-Sportello-2026";
const PAOLO: &str = "GLLPLA68S12A944U"; // intermediary, associated with ADE-DP-FE
const SARA: &str = "CNTSRA79H50D548Q"; // manager ADE-DP-FE
const DAVIDE: &str = "RMNDVD88B15D548G"; // operator ADE-DP-FE
const CHIARA: &str = "GRCCHR80T60D548W"; // operator PREF-FE-BDNA
const MARCO: &str = "FRRMRC70A01D548N"; // Comune di Ferrara, BDNA stazione appaltante
const ELENA: &str = "RCCLNE72E55A944A"; // regional manager Emilia-Romagna
const FRANCO: &str = "MRNFNC65L20H501Z"; // central manager

async fn world() -> TestEnv {
    let t = env().await;
    sportello_app::demo::seed(&t.app).await.unwrap();
    // Keep the channels open whatever the hour the suite runs at; the
    // closed case sets its own hours.
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

fn civis(subject: &str, taxpayer: &str) -> WebSubmission {
    let mut fields = BTreeMap::new();
    fields.insert("numero_comunicazione".into(), "CI-2026-0004711".into());
    fields.insert("codice_fiscale".into(), taxpayer.into());
    fields.insert("motivo".into(), "Pagamento già effettuato".into());
    WebSubmission {
        subject: subject.into(),
        body: "Il contribuente ha versato quanto dovuto con F24 del 16/06/2025.".into(),
        fields,
        contact: Contact {
            contact_name: "Paolo Gallo".into(),
            phone: "0532 123456".into(),
            email: "studio.gallo@example.it".into(),
        },
        attachments: Vec::new(),
    }
}

async fn outbox_subjects(t: &TestEnv) -> Vec<(String, String)> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT payload FROM outbox ORDER BY id")
        .fetch_all(t.db.pool())
        .await
        .unwrap();
    rows.into_iter()
        .filter_map(|(p,)| serde_json::from_str::<serde_json::Value>(&p).ok())
        .map(|v| {
            (
                v["to"][0].as_str().unwrap_or("").to_string(),
                v["subject"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn raw_mail(from: &str, to: &str, subject: &str, message_id: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n{extra}"
    )
    .into_bytes()
}

fn mail_with_pdf(from: &str, to: &str, subject: &str, message_id: &str) -> Vec<u8> {
    raw_mail(
        from,
        to,
        subject,
        message_id,
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         In allegato la quietanza del versamento, perch=E9 richiesta.\r\n\
         --b1\r\nContent-Type: application/pdf; name=\"quietanza.pdf\"\r\nContent-Disposition: attachment; filename=\"quietanza.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\r\n--b1--\r\n",
    )
}

#[tokio::test]
async fn protocol_numbers_stay_consecutive_under_concurrent_submissions_some_of_them_failing() {
    let t = world().await;
    let paolo = session(&t, PAOLO).await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = t.app.clone();
        let who = paolo.clone();
        tasks.push(tokio::spawn(async move {
            // Every third submission names the wrong taxpayer and is refused.
            let taxpayer = if i % 3 == 0 {
                "VRDGPP65C12D548Y"
            } else {
                "RSSMRA80A01H501U"
            };
            app.submit_request(
                Some(&who),
                "CIVIS",
                civis(&format!("Richiesta {i}"), taxpayer),
                &Origin::default(),
            )
            .await
        }));
    }
    let mut ok = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(r) => ok.push(r),
            Err(AppError::InvalidFields(list)) => {
                assert!(list.iter().any(|(k, _)| k == "codice_fiscale"), "{list:?}");
                refused += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(refused, 8);
    assert_eq!(ok.len(), 16);
    let mut numbers: Vec<i64> = sqlx::query_scalar("SELECT number FROM requests ORDER BY number")
        .fetch_all(t.db.pool())
        .await
        .unwrap();
    numbers.dedup();
    assert_eq!(
        numbers,
        (1..=16).collect::<Vec<i64>>(),
        "no gap, no duplicate"
    );
    let year = t.app.civil_day(sportello_app::now_micros()).0;
    for r in &ok {
        assert!(
            r.protocol.starts_with(&format!("CIVIS-{year}-00000")),
            "{}",
            r.protocol
        );
        assert_eq!(r.protocol.rsplit('-').next().unwrap().len(), 7);
    }

    // A transaction that takes a number and then fails gives it back.
    let register: i64 = sqlx::query_scalar("SELECT id FROM registers WHERE code = 'CIVIS'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let mut tx = t.db.begin_write().await.unwrap();
    let n = store::next_protocol_number_in(&mut tx, register, year)
        .await
        .unwrap();
    assert_eq!(n, 17);
    tx.rollback().await.unwrap();
    let r = t
        .app
        .submit_request(
            Some(&paolo),
            "CIVIS",
            civis("Dopo l'annullamento della transazione", "RSSMRA80A01H501U"),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert!(r.protocol.ends_with("-0000017"), "{}", r.protocol);
}

#[tokio::test]
async fn the_civis_journey_from_form_to_outcome_with_documents_by_mail() {
    let t = world().await;
    let paolo = session(&t, PAOLO).await;
    let access = t.app.channel_access(Some(&paolo), "CIVIS").await.unwrap();
    assert!(access.eligible && access.open_now);
    assert_eq!(access.last_contact, None);
    let notice = t
        .app
        .lookup_notice(Some(&paolo), "CIVIS", "CI-2026-0004711", "RSSMRA80A01H501U")
        .await
        .unwrap();
    assert_eq!(
        (notice.model.as_str(), notice.tax_year),
        ("Redditi PF 2025", 2024)
    );

    let r: Registered = t
        .app
        .submit_request(
            Some(&paolo),
            "CIVIS",
            civis("Comunicazione già pagata", "RSSMRA80A01H501U"),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        r.office_code, "ADE-DP-FE",
        "routed to his associated office"
    );
    // The contact details are offered again next time.
    let again = t.app.channel_access(Some(&paolo), "CIVIS").await.unwrap();
    assert_eq!(again.last_contact.unwrap().email, "studio.gallo@example.it");
    // The notice's data were filled in from the notices table.
    let req = store::request(&t.db, r.id).await.unwrap().unwrap();
    let fields: BTreeMap<String, String> = serde_json::from_str(&req.fields).unwrap();
    assert_eq!(fields["modello"], "Redditi PF 2025");
    assert_eq!(fields["anno_imposta"], "2024");
    let mails = outbox_subjects(&t).await;
    assert!(
        mails
            .iter()
            .any(|(to, s)| to == "dp.ferrara.civis@agenzia.example.it" && s.contains(&r.protocol)),
        "{mails:?}"
    );
    assert!(
        mails
            .iter()
            .any(|(to, s)| to == "studio.gallo@example.it" && s.contains(&r.protocol))
    );

    // The requester may not work his own request; another office may not see it.
    assert!(matches!(
        t.app
            .work_request(Some(&paolo), r.id, WorkAct::Take, &Origin::default())
            .await,
        Err(AppError::Forbidden(_))
    ));
    let chiara = session(&t, CHIARA).await;
    assert!(matches!(
        t.app.request_view(Some(&chiara), r.id).await,
        Err(AppError::Forbidden(_))
    ));

    // The manager assigns to the operator; the operator may not assign.
    let sara = session(&t, SARA).await;
    let davide = session(&t, DAVIDE).await;
    assert!(matches!(
        t.app
            .work_request(
                Some(&davide),
                r.id,
                WorkAct::Assign {
                    assignee_id: davide.user.id
                },
                &Origin::default()
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    t.app
        .work_request(
            Some(&sara),
            r.id,
            WorkAct::Assign {
                assignee_id: davide.user.id,
            },
            &Origin::default(),
        )
        .await
        .unwrap();
    t.app
        .work_request(Some(&davide), r.id, WorkAct::Take, &Origin::default())
        .await
        .unwrap();
    t.app
        .work_request(
            Some(&davide),
            r.id,
            WorkAct::Note {
                text: "Verificare il versamento in anagrafe tributaria".into(),
            },
            &Origin::default(),
        )
        .await
        .unwrap();
    t.app
        .work_request(
            Some(&davide),
            r.id,
            WorkAct::Message {
                text: "Inviare la quietanza del versamento F24.".into(),
                ask_documents: true,
            },
            &Origin::default(),
        )
        .await
        .unwrap();
    let req = store::request(&t.db, r.id).await.unwrap().unwrap();
    assert_eq!(req.state, "waiting_requester");
    assert!(req.paused_since.is_some());
    // The requester does not see internal notes.
    let view = t.app.request_view(Some(&paolo), r.id).await.unwrap();
    assert!(view.events.iter().all(|e| e.kind != "note"));
    assert!(view.events.iter().any(|e| e.kind == "documents_requested"));

    // The intermediary answers by e-mail with the protocol in the subject.
    let out = t
        .app
        .receive_mail(
            &mail_with_pdf(
                "Paolo Gallo <studio.gallo@example.it>",
                "dp.ferrara.civis@agenzia.example.it",
                &format!("R: [{}] Richiesta di documentazione", r.protocol),
                "reply-1@studio.example.it",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.status, "attached", "{out:?}");
    assert_eq!(out.request_id, Some(r.id));
    let req = store::request(&t.db, r.id).await.unwrap().unwrap();
    assert_eq!(req.state, "in_progress", "the clock runs again");
    assert!(req.paused_since.is_none());
    let files = store::attachments(&t.db, r.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].filename, "quietanza.pdf");
    assert_eq!(files[0].content_type, "application/pdf");
    let events = store::events(&t.db, r.id).await.unwrap();
    let incoming = events.iter().find(|e| e.kind == "message_in").unwrap();
    assert!(
        incoming.body.contains("perché richiesta"),
        "{}",
        incoming.body
    );
    // The same message delivered again by the MTA changes nothing.
    let again = t
        .app
        .receive_mail(
            &mail_with_pdf(
                "studio.gallo@example.it",
                "dp.ferrara.civis@agenzia.example.it",
                &format!("R: [{}] Richiesta di documentazione", r.protocol),
                "reply-1@studio.example.it",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(again.status, "duplicate");
    assert_eq!(store::attachments(&t.db, r.id).await.unwrap().len(), 1);

    // A wrong outcome is refused; a listed one closes and tells the requester.
    let e = t
        .app
        .work_request(
            Some(&davide),
            r.id,
            WorkAct::Close {
                outcome: "Boh".into(),
                text: String::new(),
            },
            &Origin::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AppError::Invalid {
                field: "outcome",
                ..
            }
        ),
        "{e}"
    );
    t.app
        .work_request(
            Some(&davide),
            r.id,
            WorkAct::Close {
                outcome: "Accolta: comunicazione annullata".into(),
                text: "Il versamento risulta regolare.".into(),
            },
            &Origin::default(),
        )
        .await
        .unwrap();
    let mails = outbox_subjects(&t).await;
    assert!(mails.iter().any(|(to, s)| to == "studio.gallo@example.it"
        && s.contains(&r.protocol)
        && s.contains("Esito")));
    // Closed: no further step, and further mail goes to triage.
    assert!(matches!(
        t.app
            .work_request(Some(&davide), r.id, WorkAct::Take, &Origin::default())
            .await,
        Err(AppError::Conflict(_))
    ));
    let late = t
        .app
        .receive_mail(
            &raw_mail(
                "studio.gallo@example.it",
                "dp.ferrara.civis@agenzia.example.it",
                &format!("Re: {}", r.protocol),
                "late@studio.example.it",
                "Content-Type: text/plain\r\n\r\nGrazie.\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(late.status, "triage");
    assert!(late.reason.contains("chiusa"), "{}", late.reason);

    // The office's report counts it; the region and the nation too.
    let (_, today) = t.app.civil_day(sportello_app::now_micros());
    let office = t
        .app
        .report(
            Some(&sara),
            &ReportScope::Office(req.office_id),
            today,
            today,
        )
        .await
        .unwrap();
    assert_eq!(office.totals.opened, 1);
    assert_eq!(office.totals.closed, 1);
    assert_eq!(office.totals.to_take + office.totals.in_progress, 0);
    assert_eq!(
        office
            .totals
            .outcomes
            .get("Accolta: comunicazione annullata"),
        Some(&1)
    );
    let elena = session(&t, ELENA).await;
    let region = t
        .app
        .report(
            Some(&elena),
            &ReportScope::Region("Emilia-Romagna".into()),
            today,
            today,
        )
        .await
        .unwrap();
    assert_eq!(region.totals.closed, 1);
    assert!(region.rows.iter().any(|row| row.code == "ADE-DP-FE"));
    assert!(matches!(
        t.app
            .report(Some(&elena), &ReportScope::Nation, today, today)
            .await,
        Err(AppError::Forbidden(_))
    ));
    let franco = session(&t, FRANCO).await;
    let nation = t
        .app
        .report(Some(&franco), &ReportScope::Nation, today, today)
        .await
        .unwrap();
    assert_eq!(nation.totals.opened, 1);

    // The daily register lists it, and its export is in the audit trail.
    let day = jiff::Timestamp::from_microsecond(req.registered_at)
        .unwrap()
        .to_zoned(t.app.time_zone())
        .date();
    let reg = t
        .app
        .daily_register(Some(&franco), "CIVIS", day, &Origin::default())
        .await
        .unwrap();
    assert_eq!(reg.entries.len(), 1);
    assert!(reg.csv.contains(&r.protocol));
    let logged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'desk.register.export' AND detail LIKE $1",
    )
    .bind(format!("%{}%", reg.sha256))
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(logged, 1);
    assert!(matches!(
        t.app
            .daily_register(Some(&davide), "CIVIS", day, &Origin::default())
            .await,
        Err(AppError::Forbidden(_))
    ));
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'desk.request.%' AND target = $1",
    )
    .bind(format!("request:{}", r.id))
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert!(audited >= 7, "every step audited: {audited}");
    assert!(matches!(
        sportello_store::audit::verify(&t.db).await.unwrap(),
        sportello_store::audit::Verification::Intact { .. }
    ));
}

#[tokio::test]
async fn bdna_requests_by_mail_go_to_the_competent_prefecture_or_the_central_desk() {
    let t = world().await;
    let renewal = t
        .app
        .receive_mail(
            &raw_mail(
                "Marco Ferri <marco.ferri@demo.sportello.localhost>",
                "assistenza.dippp@interno.example.it",
                "BDNA - richiesta rinnovo certificato digitale",
                "bdna-1@comune.example.it",
                "Content-Type: text/plain; charset=utf-8\r\n\r\nIl certificato scade il 30/11, chiedo il rinnovo.\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(renewal.status, "opened", "{renewal:?}");
    let req = store::request(&t.db, renewal.request_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    let prefecture: i64 = sqlx::query_scalar("SELECT id FROM offices WHERE code = 'PREF-FE-BDNA'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(
        req.office_id, prefecture,
        "renewals go to the competent prefecture"
    );
    assert_eq!(req.intake, "mail");
    assert!(req.protocol.starts_with("BDNA-"));
    let marco = session(&t, MARCO).await;
    assert_eq!(req.requester_user_id, Some(marco.user.id));
    // Chiara at the prefecture works it; the central desk's request is not hers.
    let chiara = session(&t, CHIARA).await;
    t.app
        .work_request(Some(&chiara), req.id, WorkAct::Take, &Origin::default())
        .await
        .unwrap();

    let other = t
        .app
        .receive_mail(
            &raw_mail(
                "marco.ferri@demo.sportello.localhost",
                "assistenza.dippp@interno.example.it",
                "[bdna] errore 500 nella consultazione",
                "bdna-2@comune.example.it",
                "Content-Type: text/plain\r\n\r\nErrore.\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(other.status, "opened");
    let other = store::request(&t.db, other.request_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(other.office_id, prefecture);
    assert!(other.protocol.ends_with("-0000002"));
    assert!(matches!(
        t.app
            .work_request(Some(&chiara), other.id, WorkAct::Take, &Origin::default())
            .await,
        Err(AppError::Forbidden(_))
    ));

    // Unknown senders and unmatched subjects wait in triage; nothing is lost.
    let unknown = t
        .app
        .receive_mail(
            &raw_mail(
                "sconosciuto@example.org",
                "assistenza.dippp@interno.example.it",
                "BDNA accesso",
                "bdna-3@example.org",
                "Content-Type: text/plain\r\n\r\nAiuto.\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(unknown.status, "triage");
    assert!(unknown.reason.contains("sconosciuto"), "{}", unknown.reason);
    let info = t
        .app
        .receive_mail(
            &raw_mail(
                "marco.ferri@demo.sportello.localhost",
                "assistenza.dippp@interno.example.it",
                "Informazioni nuovo service desk",
                "bdna-4@comune.example.it",
                "Content-Type: text/plain\r\n\r\nCome funziona?\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(info.status, "triage");
    // Triage: the operator opens it as a BDNA request; deciding twice is refused.
    let list = t.app.triage_list(Some(&chiara)).await.unwrap();
    assert_eq!(list.len(), 2);
    let opened = t
        .app
        .resolve_triage(
            Some(&chiara),
            info.inbound_id,
            TriageDecision::Open {
                channel_code: "BDNA".into(),
            },
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(opened.status, "opened");
    assert!(opened.protocol.unwrap().ends_with("-0000003"));
    assert!(matches!(
        t.app
            .resolve_triage(
                Some(&chiara),
                info.inbound_id,
                TriageDecision::Discard {
                    reason: "doppio".into()
                },
                &Origin::default(),
            )
            .await,
        Err(AppError::Conflict(_))
    ));
    let paolo = session(&t, PAOLO).await;
    assert!(matches!(
        t.app.triage_list(Some(&paolo)).await,
        Err(AppError::Forbidden(_))
    ));
}

#[tokio::test]
async fn bad_mail_is_refused_or_kept_aside_and_never_half_stored() {
    let t = world().await;
    let paolo = session(&t, PAOLO).await;
    let r = t
        .app
        .submit_request(
            Some(&paolo),
            "CIVIS",
            civis("Richiesta", "RSSMRA80A01H501U"),
            &Origin::default(),
        )
        .await
        .unwrap();
    let before = count(&t.db, "request_events").await;

    // Not a message at all: refused, nothing stored.
    let e = t
        .app
        .receive_mail(b"questo non e' un messaggio", &Origin::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AppError::Invalid {
                field: "message",
                ..
            }
        ),
        "{e}"
    );
    let e = t
        .app
        .receive_mail(b"", &Origin::default())
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Invalid { .. }));
    assert_eq!(count(&t.db, "inbound_mail").await, 0);

    // An auto-reply and a bounce never open or touch a request.
    let auto = t
        .app
        .receive_mail(
            &raw_mail(
                "studio.gallo@example.it",
                "dp.ferrara.civis@agenzia.example.it",
                &format!("Risposta automatica: [{}]", r.protocol),
                "auto-1@example.it",
                "Auto-Submitted: auto-replied\r\nContent-Type: text/plain\r\n\r\nSono in ferie.\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(auto.status, "ignored");
    let bounce = t
        .app
        .receive_mail(
            &raw_mail(
                "MAILER-DAEMON@mx.example.it",
                "dp.ferrara.civis@agenzia.example.it",
                &format!("Undelivered Mail Returned to Sender [{}]", r.protocol),
                "dsn-1@mx.example.it",
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
                 --r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\
                 --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.it\r\n\r\nFinal-Recipient: rfc822; x@example.it\r\nAction: failed\r\nStatus: 5.1.1\r\n\
                 --r--\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(bounce.status, "ignored");

    // A protocol of another year, or of another channel, goes to triage.
    let year = t.app.civil_day(sportello_app::now_micros()).0;
    let old = t
        .app
        .receive_mail(
            &raw_mail(
                "studio.gallo@example.it",
                "dp.ferrara.civis@agenzia.example.it",
                &format!("Documenti CIVIS-{}-0000001", year - 1),
                "old-1@example.it",
                "Content-Type: text/plain\r\n\r\nDocumenti.\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(old.status, "triage");
    assert!(old.reason.contains("inesistente"), "{}", old.reason);
    let cross = t
        .app
        .receive_mail(
            &raw_mail(
                "studio.gallo@example.it",
                "assistenza.dippp@interno.example.it",
                &format!("BDNA documenti {}", r.protocol),
                "cross-1@example.it",
                "Content-Type: text/plain\r\n\r\nDocumenti.\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(cross.status, "triage");
    assert!(cross.reason.contains("altro canale"), "{}", cross.reason);

    // A forbidden attachment type keeps the message aside with the reason.
    let exe = t
        .app
        .receive_mail(
            &raw_mail(
                "studio.gallo@example.it",
                "dp.ferrara.civis@agenzia.example.it",
                &format!("Re: {}", r.protocol),
                "exe-1@example.it",
                "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nEcco.\r\n\
                 --b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"fattura.exe\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b--\r\n",
            ),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(exe.status, "triage");
    assert!(exe.reason.contains("fattura.exe"), "{}", exe.reason);
    assert_eq!(count(&t.db, "request_events").await, before);
    assert_eq!(count(&t.db, "request_attachments").await, 0);

    // Larger than the limit: refused whole.
    let huge = mail_with_pdf("a@example.it", "b@example.it", "x", "huge@example.it");
    let mut big = huge.clone();
    big.extend(std::iter::repeat_n(
        b'a',
        t.app.config.desk.max_message_bytes,
    ));
    let e = t
        .app
        .receive_mail(&big, &Origin::default())
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Invalid { .. }), "{e}");
    assert_eq!(count(&t.db, "inbound_mail").await, 5);
}

#[tokio::test]
async fn bad_forms_and_closed_hours_store_nothing() {
    let t = world().await;
    let paolo = session(&t, PAOLO).await;
    // Missing and invalid fields are all named at once.
    let mut sub = civis("", "NONVALIDO");
    sub.fields.remove("motivo");
    sub.contact.email = "non-una-mail".into();
    sub.attachments = vec![
        Upload {
            filename: "virus.exe".into(),
            data: b"MZ".to_vec(),
        },
        Upload {
            filename: "finto.pdf".into(),
            data: b"GIF89a".to_vec(),
        },
    ];
    let e = t
        .app
        .submit_request(Some(&paolo), "CIVIS", sub, &Origin::default())
        .await
        .unwrap_err();
    let AppError::InvalidFields(list) = e else {
        panic!("expected field errors, got {e}")
    };
    let keys: Vec<&str> = list.iter().map(|(k, _)| k.as_str()).collect();
    for k in [
        "subject",
        "codice_fiscale",
        "motivo",
        "email",
        "attachments",
    ] {
        assert!(keys.contains(&k), "{k} missing in {list:?}");
    }
    // An unknown notice is named on its field.
    let mut sub = civis("Oggetto", "RSSMRA80A01H501U");
    sub.fields
        .insert("numero_comunicazione".into(), "CI-0000-NONESISTE".into());
    let e = t
        .app
        .submit_request(Some(&paolo), "CIVIS", sub, &Origin::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, AppError::InvalidFields(l) if l.iter().any(|(k, _)| k == "numero_comunicazione")),
        "{e}"
    );

    // Someone who is not among CIVIS's requesters is refused.
    let marco = session(&t, MARCO).await;
    assert!(matches!(
        t.app
            .submit_request(
                Some(&marco),
                "CIVIS",
                civis("x", "RSSMRA80A01H501U"),
                &Origin::default()
            )
            .await,
        Err(AppError::Forbidden(_))
    ));

    // Outside the opening hours (today a holiday): refused with the reopening time.
    let today = jiff::Timestamp::from_microsecond(sportello_app::now_micros())
        .unwrap()
        .to_zoned(t.app.time_zone())
        .date();
    sqlx::query("UPDATE channels SET hours_weekly = 'tutti i giorni 07:00-23:00', hours_holidays = $1 WHERE code = 'CIVIS'")
        .bind(today.to_string())
        .execute(t.db.pool())
        .await
        .unwrap();
    let e = t
        .app
        .submit_request(
            Some(&paolo),
            "CIVIS",
            civis("Fuori orario", "RSSMRA80A01H501U"),
            &Origin::default(),
        )
        .await
        .unwrap_err();
    let AppError::ChannelClosed { reopens_at } = e else {
        panic!("expected closed, got {e}")
    };
    let reopens = jiff::Timestamp::from_microsecond(reopens_at.unwrap())
        .unwrap()
        .to_zoned(t.app.time_zone());
    assert_eq!(reopens.date(), today.tomorrow().unwrap());
    assert_eq!((reopens.hour(), reopens.minute()), (7, 0));
    assert_eq!(count(&t.db, "requests").await, 0);
    assert_eq!(count(&t.db, "register_counters").await, 0);

    // A phone call is registered by an operator, with the same numbering.
    let davide = session(&t, DAVIDE).await;
    let mut fields = BTreeMap::new();
    fields.insert("numero_comunicazione".into(), "CI-2026-0004712".into());
    fields.insert("codice_fiscale".into(), "VRDGPP65C12D548Y".into());
    fields.insert("motivo".into(), "Altro".into());
    let call = t
        .app
        .register_phone_request(
            Some(&davide),
            "CIVIS",
            PhoneCall {
                caller_name: "Giuseppe Verdi".into(),
                caller_fiscal_code: "VRDGPP65C12D548Y".into(),
                phone: "0532 765432".into(),
                email: String::new(),
                subject: "Chiarimenti sulla comunicazione".into(),
                body: "Il contribuente chiede come regolarizzare.".into(),
                fields,
            },
            &Origin::default(),
        )
        .await
        .unwrap();
    assert!(call.protocol.ends_with("-0000001"), "{}", call.protocol);
    let req = store::request(&t.db, call.id).await.unwrap().unwrap();
    assert_eq!(req.intake, "phone");
    // Not an operator of a CIVIS office: refused.
    let chiara = session(&t, CHIARA).await;
    assert!(matches!(
        t.app
            .register_phone_request(
                Some(&chiara),
                "CIVIS",
                PhoneCall::default(),
                &Origin::default()
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mailgate_command_posts_a_message_from_stdin_to_the_server() {
    let t = world().await;
    let server = Server::start(t.app.clone()).await;
    // The server keeps the token in the data dir as it starts.
    let token_file = t.dir.path().join("mailgate.token");
    assert!(crate::harness::eventually(5, || token_file.exists()).await);
    let message = raw_mail(
        "marco.ferri@demo.sportello.localhost",
        "assistenza.dippp@interno.example.it",
        "BDNA: utenza bloccata",
        "gate-1@comune.example.it",
        "Content-Type: text/plain; charset=utf-8\r\n\r\nNon riesco ad accedere.\r\n",
    );
    let run = |input: Vec<u8>, token_dir: &std::path::Path| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
            .args(["mailgate", "--url", &server.base])
            .env("SPORTELLO_DATA_DIR", token_dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = tokio::task::block_in_place(|| run(message.clone(), t.dir.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["status"], "opened");
    assert!(answer["protocol"].as_str().unwrap().starts_with("BDNA-"));
    // Malformed input: EX_DATAERR, so the MTA bounces it.
    let out = tokio::task::block_in_place(|| run(b"garbage".to_vec(), t.dir.path()));
    assert_eq!(out.status.code(), Some(65));
    // Another data dir holds another token: EX_NOPERM.
    let other = tempfile::tempdir().unwrap();
    let out = tokio::task::block_in_place(|| run(message.clone(), other.path()));
    assert_eq!(out.status.code(), Some(77));
    server.shutdown().await;
}

#[tokio::test]
async fn service_levels_flag_late_requests_and_a_transfer_hands_the_request_over() {
    let t = world().await;
    let paolo = session(&t, PAOLO).await;
    let r = t
        .app
        .submit_request(
            Some(&paolo),
            "CIVIS",
            civis("Da trasferire", "RSSMRA80A01H501U"),
            &Origin::default(),
        )
        .await
        .unwrap();
    assert_eq!(t.app.check_service_levels().await.unwrap(), 0);
    // CIVIS: 240 open minutes to take in charge. Pretend it arrived 3h30 ago (near), then 5h ago (late).
    for (hours_ago, flag) in [(3.5_f64, "near"), (5.0, "breached")] {
        sqlx::query("UPDATE requests SET registered_at = $1 WHERE id = $2")
            .bind(sportello_app::now_micros() - (hours_ago * 3_600_000_000.0) as i64)
            .bind(r.id)
            .execute(t.db.pool())
            .await
            .unwrap();
        assert_eq!(t.app.check_service_levels().await.unwrap(), 1);
        let req = store::request(&t.db, r.id).await.unwrap().unwrap();
        assert_eq!(req.sla_flag, flag);
    }
    assert_eq!(t.app.check_service_levels().await.unwrap(), 0, "told once");
    let mails = outbox_subjects(&t).await;
    assert!(
        mails
            .iter()
            .any(|(to, s)| to == "sara.conti@demo.sportello.localhost"
                && s.contains(&r.protocol)
                && s.contains("Livello di servizio")),
        "{mails:?}"
    );

    // The operator cannot conclude it on the channel: it goes to Bologna with the appointment.
    let davide = session(&t, DAVIDE).await;
    t.app
        .work_request(Some(&davide), r.id, WorkAct::Take, &Origin::default())
        .await
        .unwrap();
    let e = t
        .app
        .work_request(
            Some(&davide),
            r.id,
            WorkAct::Transfer {
                office_code: "NON-ESISTE".into(),
                appointment: "lunedì".into(),
            },
            &Origin::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AppError::Invalid {
                field: "office_code",
                ..
            }
        ),
        "{e}"
    );
    t.app
        .work_request(
            Some(&davide),
            r.id,
            WorkAct::Transfer {
                office_code: "ADE-DP-BO".into(),
                appointment: "Lunedì 30 novembre alle 9:30, sportello 4, con la quietanza.".into(),
            },
            &Origin::default(),
        )
        .await
        .unwrap();
    let req = store::request(&t.db, r.id).await.unwrap().unwrap();
    assert_eq!(req.state, "new");
    assert_eq!(req.assignee_id, None);
    let bo: i64 = sqlx::query_scalar("SELECT id FROM offices WHERE code = 'ADE-DP-BO'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(req.office_id, bo);
    assert!(matches!(
        t.app.request_view(Some(&davide), r.id).await,
        Err(AppError::Forbidden(_))
    ));
    let mails = outbox_subjects(&t).await;
    assert!(
        mails
            .iter()
            .any(|(to, s)| to == "dp1.bologna.civis@agenzia.example.it" && s.contains(&r.protocol))
    );
    assert!(
        mails
            .iter()
            .any(|(to, s)| to == "studio.gallo@example.it" && s.contains("Trasferita"))
    );
    // The counters moved with it.
    let open = store::open_counts(&t.db, None).await.unwrap();
    let fe: i64 = sqlx::query_scalar("SELECT id FROM offices WHERE code = 'ADE-DP-FE'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert!(open.iter().all(|c| c.office_id != fe), "{open:?}");
    assert!(
        open.iter()
            .any(|c| c.office_id == bo && c.state == "new" && c.n == 1)
    );
    // Paolo still follows it, and sees the appointment.
    let view = t.app.request_view(Some(&paolo), r.id).await.unwrap();
    assert!(view.events.iter().any(|e| e.body.contains("sportello 4")));
}

#[tokio::test]
async fn a_registration_is_annulled_not_edited_and_the_daily_register_shows_it() {
    let t = world().await;
    let paolo = session(&t, PAOLO).await;
    let r = t
        .app
        .submit_request(
            Some(&paolo),
            "CIVIS",
            civis("Inviata due volte per errore", "RSSMRA80A01H501U"),
            &Origin::default(),
        )
        .await
        .unwrap();
    let davide = session(&t, DAVIDE).await;
    let franco = session(&t, FRANCO).await;
    // Operators do not annul; a reason without the act's reference is refused.
    assert!(matches!(
        t.app
            .annul_registration(
                Some(&davide),
                r.id,
                "Duplicato della 1".into(),
                &Origin::default()
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app
            .annul_registration(Some(&franco), r.id, "doppia".into(), &Origin::default())
            .await,
        Err(AppError::Invalid {
            field: "reason",
            ..
        })
    ));
    let reason = "Registrazione duplicata; provvedimento del responsabile n. 12/2026";
    t.app
        .annul_registration(Some(&franco), r.id, reason.into(), &Origin::default())
        .await
        .unwrap();
    assert!(matches!(
        t.app
            .annul_registration(Some(&franco), r.id, reason.into(), &Origin::default())
            .await,
        Err(AppError::Conflict(_))
    ));
    let req = store::request(&t.db, r.id).await.unwrap().unwrap();
    assert_eq!(req.protocol, r.protocol, "the number is never changed");
    assert_eq!(req.annul_reason.as_deref(), Some(reason));
    assert!(req.annulled_at.is_some());
    let day = jiff::Timestamp::from_microsecond(req.registered_at)
        .unwrap()
        .to_zoned(t.app.time_zone())
        .date();
    let reg = t
        .app
        .daily_register(Some(&franco), "CIVIS", day, &Origin::default())
        .await
        .unwrap();
    let line = reg.csv.lines().find(|l| l.contains(&r.protocol)).unwrap();
    assert!(line.contains("provvedimento del responsabile"), "{line}");
    // The requester still reads it, with the mark.
    let view = t.app.request_view(Some(&paolo), r.id).await.unwrap();
    assert!(view.events.iter().any(|e| e.kind == "annulled"));
}

#[tokio::test]
async fn period_totals_from_running_totals_match_the_daily_counts_for_any_period() {
    let t = env().await;
    sportello_app::demo::seed(&t.app).await.unwrap();
    let office: i64 = sqlx::query_scalar("SELECT id FROM offices WHERE code = 'ADE-DP-FE'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    // Days out of order, a past day counted last, and a decrement.
    let bumps = [
        (20261101, "opened", 3),
        (20261103, "opened", 2),
        (20261110, "opened", 5),
        (20261102, "opened", 4),
        (20261103, "closed", 1),
        (20261110, "opened", -1),
    ];
    let mut tx = t.db.begin_write().await.unwrap();
    for (day, metric, n) in bumps {
        store::bump_stat_in(&mut tx, office, "Emilia-Romagna", day, metric, n)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let expected = |from: i64, to: i64, metric: &str| -> i64 {
        bumps
            .iter()
            .filter(|(d, m, _)| *d >= from && *d <= to && *m == metric)
            .map(|(_, _, n)| n)
            .sum()
    };
    let days = [
        20261031, 20261101, 20261102, 20261103, 20261105, 20261110, 20261130,
    ];
    for &from in &days {
        for &to in days.iter().filter(|&&d| d >= from) {
            for (level, scope) in [
                ("office", office.to_string()),
                ("region", "Emilia-Romagna".to_string()),
                ("nation", String::new()),
            ] {
                let rows =
                    store::period_totals(&t.db, level, store::StatScopes::One(&scope), from, to)
                        .await
                        .unwrap();
                for metric in ["opened", "closed"] {
                    let got: i64 = rows
                        .iter()
                        .filter(|r| r.metric == metric)
                        .map(|r| r.n)
                        .sum();
                    assert_eq!(
                        got,
                        expected(from, to, metric),
                        "{level} {metric} {from}..{to}"
                    );
                }
            }
        }
    }
    let by_office = store::period_totals(
        &t.db,
        "office",
        store::StatScopes::Region("Emilia-Romagna"),
        20261101,
        20261130,
    )
    .await
    .unwrap();
    assert!(
        by_office
            .iter()
            .any(|r| r.scope == office.to_string() && r.metric == "opened" && r.n == 13)
    );
}

#[tokio::test]
async fn submissions_failing_inside_a_shared_commit_give_their_numbers_back() {
    let t = world().await;
    // No B.D.N.A. office takes requests: a web submission there fails after
    // its number was drawn, inside the transaction it shares with others.
    sqlx::query(
        "UPDATE offices SET accepting_requests = 0 WHERE id IN
           (SELECT office_id FROM channel_offices co JOIN channels c ON c.id = co.channel_id WHERE c.code = 'BDNA')",
    )
    .execute(t.db.pool())
    .await
    .unwrap();
    let paolo = session(&t, PAOLO).await;
    let marco = session(&t, MARCO).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let app = t.app.clone();
        let (who, code, sub) = if i % 2 == 0 {
            (
                paolo.clone(),
                "CIVIS",
                civis(&format!("CIVIS {i}"), "RSSMRA80A01H501U"),
            )
        } else {
            let mut fields = BTreeMap::new();
            fields.insert("tipo".to_string(), "Problema di accesso".to_string());
            let mut s = civis(&format!("BDNA {i}"), "RSSMRA80A01H501U");
            s.fields = fields;
            (marco.clone(), "BDNA", s)
        };
        tasks.push(tokio::spawn(async move {
            (
                code,
                app.submit_request(Some(&who), code, sub, &Origin::default())
                    .await,
            )
        }));
    }
    let mut civis_ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            ("CIVIS", r) => {
                r.unwrap();
                civis_ok += 1;
            }
            (_, r) => assert!(
                matches!(
                    &r,
                    Err(AppError::Invalid {
                        field: "channel",
                        ..
                    })
                ),
                "{:?}",
                r.map(|x| x.protocol)
            ),
        }
    }
    assert_eq!(civis_ok, 8);
    let civis: Vec<i64> = sqlx::query_scalar(
        "SELECT r.number FROM requests r JOIN channels c ON c.id = r.channel_id WHERE c.code = 'CIVIS' ORDER BY r.number",
    )
    .fetch_all(t.db.pool())
    .await
    .unwrap();
    assert_eq!(civis, (1..=8).collect::<Vec<i64>>());
    // Every number drawn by a failed BDNA submission was given back.
    let bdna_last: Option<i64> = sqlx::query_scalar(
        "SELECT k.last_number FROM register_counters k JOIN registers g ON g.id = k.register_id WHERE g.code = 'BDNA'",
    )
    .fetch_optional(t.db.pool())
    .await
    .unwrap();
    assert_eq!(bdna_last.unwrap_or(0), 0);
    let bdna_requests: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM requests r JOIN channels c ON c.id = r.channel_id WHERE c.code = 'BDNA'",
    )
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(bdna_requests, 0);
}

async fn api_session(server: &Server, code: &str) -> (reqwest::Client, String) {
    let c = crate::harness::client();
    crate::harness::login(server, &c, code, PASSWORD).await;
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

#[tokio::test]
async fn the_desk_api_over_http_with_a_real_client() {
    let t = world().await;
    let server = Server::start(t.app.clone()).await;
    let (paolo, csrf) = api_session(&server, PAOLO).await;
    let channels: serde_json::Value = paolo
        .get(server.url("/api/v1/desk/channels"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(channels[0]["code"], "CIVIS");
    // Without the CSRF header a session may not write.
    let body = serde_json::json!({
        "subject": "Dall'API",
        "body": "Testo",
        "fields": {"numero_comunicazione": "CI-2026-0004711", "codice_fiscale": "RSSMRA80A01H501U", "motivo": "Altro"},
        "contact": {"contact_name": "Paolo Gallo", "phone": "0532 123456", "email": "studio.gallo@example.it"},
        "attachments": [{"filename": "nota.txt", "content_base64": "Tm90YSBkZWxsJ2ludGVybWVkaWFyaW8="}]
    });
    let r = paolo
        .post(server.url("/api/v1/desk/channels/CIVIS/requests"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = paolo
        .post(server.url("/api/v1/desk/channels/CIVIS/requests"))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: serde_json::Value = r.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert!(created["protocol"].as_str().unwrap().starts_with("CIVIS-"));
    // Bad input names the field and stores nothing more.
    let mut bad = body.clone();
    bad["contact"]["email"] = "nessuna".into();
    let r = paolo
        .post(server.url("/api/v1/desk/channels/CIVIS/requests"))
        .header("x-csrf-token", &csrf)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["field"], "email");
    assert_eq!(count(&t.db, "requests").await, 1);

    // The operator works it through the API; unknown actions are refused.
    let (davide, dcsrf) = api_session(&server, DAVIDE).await;
    let list: serde_json::Value = davide
        .get(server.url("/api/v1/desk/requests?state=new"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let act = |a: serde_json::Value| {
        davide
            .post(server.url(&format!("/api/v1/desk/requests/{id}/actions")))
            .header("x-csrf-token", &dcsrf)
            .json(&a)
            .send()
    };
    assert_eq!(
        act(serde_json::json!({"act": "vola"}))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        act(serde_json::json!({"act": "take"}))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        act(serde_json::json!({"act": "take"}))
            .await
            .unwrap()
            .status(),
        409
    );
    assert_eq!(
        act(
            serde_json::json!({"act": "close", "outcome": "Non accolta: comunicazione confermata"})
        )
        .await
        .unwrap()
        .status(),
        204
    );
    let detail: serde_json::Value = paolo
        .get(server.url(&format!("/api/v1/desk/requests/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["request"]["state"], "closed");
    assert_eq!(
        detail["events"][0]["attachments"][0]["filename"],
        "nota.txt"
    );
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["public"] == true)
    );

    // The register keeper downloads the day's register with its hash.
    let (franco, _) = api_session(&server, FRANCO).await;
    let today = jiff::Timestamp::from_microsecond(sportello_app::now_micros())
        .unwrap()
        .to_zoned(t.app.time_zone())
        .date();
    let r = franco
        .get(server.url(&format!("/api/v1/desk/registers/CIVIS/{today}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sha = r.headers()["x-content-sha256"]
        .to_str()
        .unwrap()
        .to_string();
    let csv = r.text().await.unwrap();
    use sha2::Digest;
    assert_eq!(sha, hex_of(&sha2::Sha256::digest(csv.as_bytes())));
    assert!(csv.contains(created["protocol"].as_str().unwrap()));
    let r = davide
        .get(server.url(&format!("/api/v1/desk/registers/CIVIS/{today}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The OpenAPI document lists the desk.
    let doc: serde_json::Value = paolo
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/desk/channels/{code}/requests",
        "/api/v1/desk/requests/{id}/actions",
        "/api/v1/desk/reports",
        "/api/v1/mailgate",
        "/api/v1/desk/registers/{code}/{day}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    server.shutdown().await;
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
