//! Self-registration with PEC and digital signature (seed 001, case 1 and
//! case 3). The certification authorities are made here with the `openssl`
//! command-line tool and the request documents signed with `openssl cms`, a
//! signer independent of the portal: attached (.p7m) and detached (.p7s),
//! RSA and ECDSA, DER and PEM; and every bad case: another signer, an altered
//! document, another document, an untrusted authority, an expired
//! certificate, a certificate without codice fiscale.

use std::path::{Path, PathBuf};
use std::process::Command;

use sportello_app::cades::{self, SignatureError, TrustedAuthorities};
use sportello_app::registration::{RegistrationInput, Upload};
use sportello_app::{AppError, Origin, demo};
use sportello_core::fiscal_code::check_character;

use crate::harness::{
    Server, SmtpSink, TestEnv, client, env_with, hidden_field, link_path, login, wait_for_mail,
};

/// A certification authority of the tests' own, run with `openssl ca`.
struct Authority {
    dir: PathBuf,
    name: &'static str,
}

/// Key type of a signer.
#[derive(Clone, Copy)]
enum Key {
    Rsa,
    Ec,
}

/// A signer's certificate and key files.
struct Signer {
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Authority {
    fn new(root: &Path, name: &'static str) -> Authority {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ ca ]\ndefault_ca = own\n[ own ]\ndir = {d}\ndatabase = {d}/index.txt\n\
                 new_certs_dir = {d}\nserial = {d}/serial\ndefault_md = sha256\npolicy = any\n\
                 unique_subject = no\ncopy_extensions = none\nx509_extensions = signer\n\
                 [ any ]\ncountryName = optional\norganizationName = optional\n\
                 serialNumber = optional\ngivenName = optional\nsurname = optional\n\
                 commonName = supplied\n\
                 [ signer ]\nbasicConstraints = critical,CA:FALSE\n\
                 keyUsage = critical,nonRepudiation\nsubjectKeyIdentifier = hash\n\
                 authorityKeyIdentifier = keyid\n",
                d = dir.display()
            ),
        )
        .unwrap();
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "3650",
                "-subj",
                &format!("/C=IT/O={name}/CN={name} Qualified CA"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            &dir,
        );
        Authority { dir, name }
    }

    fn ca_pem(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A signing certificate; `serial_number` is the subject's serialNumber
    /// (`TINIT-<CF>`), omitted when `None`; validity from `start` to `end`
    /// (`YYYYMMDDHHMMSSZ`), or 30 days from now.
    fn signer(
        &self,
        label: &str,
        serial_number: Option<&str>,
        key: Key,
        validity: Option<(&str, &str)>,
    ) -> Signer {
        let key_file = self.dir.join(format!("{label}.key"));
        let csr = self.dir.join(format!("{label}.csr"));
        let cert = self.dir.join(format!("{label}.pem"));
        let mut subject = format!("/C=IT/O={}", self.name);
        if let Some(sn) = serial_number {
            subject.push_str(&format!("/serialNumber={sn}"));
        }
        subject.push_str(&format!("/CN={label}"));
        let newkey = match key {
            Key::Rsa => vec!["-newkey", "rsa:2048"],
            Key::Ec => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        };
        let mut args = vec!["req"];
        args.extend(newkey);
        let (k, c) = (key_file.display().to_string(), csr.display().to_string());
        args.extend(["-nodes", "-keyout", &k, "-out", &c, "-subj", &subject]);
        openssl(&args, &self.dir);
        let cnf = self.dir.join("ca.cnf").display().to_string();
        let out = cert.display().to_string();
        let mut args = vec![
            "ca", "-batch", "-notext", "-config", &cnf, "-in", &c, "-out", &out, "-cert", "ca.pem",
            "-keyfile", "ca.key",
        ];
        match validity {
            Some((start, end)) => args.extend(["-startdate", start, "-enddate", end]),
            None => args.extend(["-days", "30"]),
        }
        openssl(&args, &self.dir);
        Signer {
            cert,
            key: key_file,
        }
    }
}

/// How `openssl cms` should sign.
#[derive(Clone, Copy)]
enum Form {
    /// .p7m: the document inside, DER.
    Attached,
    /// .p7s: the signature alone, DER.
    Detached,
    /// .p7m armored in PEM.
    AttachedPem,
}

fn sign(document: &[u8], signer: &Signer, form: Form, work: &Path) -> Vec<u8> {
    let input = work.join(format!("doc-{}.bin", uuid::Uuid::new_v4().simple()));
    let output = work.join(format!("doc-{}.p7m", uuid::Uuid::new_v4().simple()));
    std::fs::write(&input, document).unwrap();
    let (i, o) = (input.display().to_string(), output.display().to_string());
    let (c, k) = (
        signer.cert.display().to_string(),
        signer.key.display().to_string(),
    );
    let mut args = vec![
        "cms", "-sign", "-binary", "-md", "sha256", "-cades", "-in", &i, "-out", &o, "-signer", &c,
        "-inkey", &k,
    ];
    args.extend(match form {
        Form::Attached => &["-nodetach", "-outform", "DER"][..],
        Form::Detached => &["-outform", "DER"][..],
        Form::AttachedPem => &["-nodetach", "-outform", "PEM"][..],
    });
    openssl(&args, work);
    std::fs::read(&output).unwrap()
}

fn cf(prefix: &str) -> String {
    format!("{prefix}{}", check_character(prefix))
}

fn now() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

#[test]
fn signed_documents_are_verified_against_the_trusted_authorities() {
    let dir = tempfile::tempdir().unwrap();
    let trusted_ca = Authority::new(dir.path(), "Fidata");
    let rogue_ca = Authority::new(dir.path(), "Ignota");
    let trusted =
        TrustedAuthorities::from_pem(&std::fs::read(trusted_ca.ca_pem()).unwrap()).unwrap();
    assert_eq!(trusted.len(), 1);
    let mario = cf("RSSMRA80A01H501");
    let tinit = format!("TINIT-{mario}");
    let rsa = trusted_ca.signer("Mario Rossi", Some(&tinit), Key::Rsa, None);
    let ec = trusted_ca.signer("Mario Rossi EC", Some(&tinit), Key::Ec, None);
    let doc = sportello_core::pdf::text_document("Prova", &["Richiesta di prova".to_string()]);

    // Good: attached RSA, attached ECDSA, PEM, detached with the document.
    for (signer, form) in [
        (&rsa, Form::Attached),
        (&ec, Form::Attached),
        (&rsa, Form::AttachedPem),
    ] {
        let signed = sign(&doc, signer, form, dir.path());
        let verified = cades::verify(&signed, None, &trusted, now()).expect("valid signature");
        assert_eq!(verified.content, doc);
        assert!(!verified.detached);
        assert_eq!(verified.signers.len(), 1);
        assert_eq!(verified.signers[0].fiscal_code.as_str(), mario);
        assert!(verified.signers[0].subject.contains("Mario Rossi"));
        // The signing time is the declared one: within a minute of now.
        assert!((now() - verified.signers[0].signing_time).abs() < 60_000_000);
    }
    let detached = sign(&doc, &ec, Form::Detached, dir.path());
    let verified = cades::verify(&detached, Some(&doc), &trusted, now()).unwrap();
    assert!(verified.detached);
    assert_eq!(verified.content, doc);
    assert_eq!(
        cades::verify(&detached, None, &trusted, now()),
        Err(SignatureError::DetachedWithoutDocument)
    );
    let mut other_doc = doc.clone();
    other_doc.extend(b"% changed\n");
    assert_eq!(
        cades::verify(&detached, Some(&other_doc), &trusted, now()),
        Err(SignatureError::Altered)
    );

    // Altered: one byte of the document inside the envelope changed.
    let mut altered = sign(&doc, &rsa, Form::Attached, dir.path());
    let at = altered
        .windows(b"Richiesta di prova".len())
        .position(|w| w == b"Richiesta di prova")
        .expect("the document is inside the envelope");
    altered[at] = b'r';
    assert_eq!(
        cades::verify(&altered, None, &trusted, now()),
        Err(SignatureError::Altered)
    );
    // A broken signature value (last bytes of an RSA signature).
    let mut broken = sign(&doc, &rsa, Form::Attached, dir.path());
    let n = broken.len();
    broken[n - 3] ^= 0xff;
    assert_eq!(
        cades::verify(&broken, None, &trusted, now()),
        Err(SignatureError::BadSignature)
    );

    // Untrusted authority.
    let stranger = rogue_ca.signer("Mario Rossi", Some(&tinit), Key::Rsa, None);
    let signed = sign(&doc, &stranger, Form::Attached, dir.path());
    assert_eq!(
        cades::verify(&signed, None, &trusted, now()),
        Err(SignatureError::UntrustedIssuer)
    );
    // Expired before signing.
    let expired = trusted_ca.signer(
        "Mario Rossi scaduto",
        Some(&tinit),
        Key::Rsa,
        Some(("20200101000000Z", "20210101000000Z")),
    );
    let signed = sign(&doc, &expired, Form::Attached, dir.path());
    assert_eq!(
        cades::verify(&signed, None, &trusted, now()),
        Err(SignatureError::Expired)
    );
    // Not yet valid at signing.
    let future = trusted_ca.signer(
        "Mario Rossi futuro",
        Some(&tinit),
        Key::Rsa,
        Some(("20400101000000Z", "20410101000000Z")),
    );
    let signed = sign(&doc, &future, Form::Attached, dir.path());
    assert_eq!(
        cades::verify(&signed, None, &trusted, now()),
        Err(SignatureError::NotYetValid)
    );
    // A declared signing time ahead of the verifier's clock.
    let signed = sign(&doc, &rsa, Form::Attached, dir.path());
    assert_eq!(
        cades::verify(&signed, None, &trusted, now() - 3_600_000_000),
        Err(SignatureError::SigningTimeInFuture)
    );
    // No codice fiscale in the certificate.
    let anonymous = trusted_ca.signer("Senza codice", None, Key::Rsa, None);
    let signed = sign(&doc, &anonymous, Form::Attached, dir.path());
    assert_eq!(
        cades::verify(&signed, None, &trusted, now()),
        Err(SignatureError::NoFiscalCode)
    );
    // Not a signed file at all: the PDF itself, garbage, nothing.
    for junk in [doc.as_slice(), b"\x30\x03\x02\x01\x01", b"", b"ciao"] {
        assert_eq!(
            cades::verify(junk, None, &trusted, now()),
            Err(SignatureError::NotSigned)
        );
    }
    // An empty trust list trusts nobody.
    let signed = sign(&doc, &rsa, Form::Attached, dir.path());
    assert_eq!(
        cades::verify(&signed, None, &TrustedAuthorities::default(), now()),
        Err(SignatureError::UntrustedIssuer)
    );
}

/// The demo world with an SMTP sink, registration open with `ca`'s trust.
async fn world(ca: &Path) -> (TestEnv, Server, SmtpSink, tempfile::TempDir) {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(sink_dir.path());
    let url = sink.url();
    let ca = ca.display().to_string();
    let t = env_with(|c| {
        c.mail.smtp_url = url;
        c.registration.trusted_ca_file = ca;
    })
    .await;
    demo::seed(&t.app).await.unwrap();
    let server = Server::start(t.app.clone()).await;
    (t, server, sink, sink_dir)
}

async fn text(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn upload_signed(
    server: &Server,
    c: &reqwest::Client,
    token: &str,
    csrf: &str,
    signed: Vec<u8>,
) -> (u16, String) {
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.to_string())
        .text("token", token.to_string())
        .part(
            "signed_file",
            reqwest::multipart::Part::bytes(signed).file_name("richiesta.pdf.p7m"),
        );
    text(
        c.post(server.url("/registrazione/pratica"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn registrations(t: &TestEnv) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM registrations")
        .fetch_one(t.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_private_subject_registers_with_pec_and_digital_signature() {
    let pki_dir = tempfile::tempdir().unwrap();
    let ca = Authority::new(pki_dir.path(), "Fidata");
    let rogue = Authority::new(pki_dir.path(), "Ignota");
    let (t, server, sink, _sink_dir) = world(&ca.ca_pem()).await;
    let applicant = cf("RSSMRA80A01H501");
    let tinit = format!("TINIT-{applicant}");
    let c = client();

    // Bad input: every field named at once, nothing stored.
    let page = c.get(server.url("/registrazione")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("PEC"));
    let csrf = hidden_field(&page, "csrf_token");
    let (status, page) = text(
        c.post(server.url("/registrazione"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("fiscal_code", "RSSMRA80A01H501X"),
                ("given_name", ""),
                ("family_name", "Rossi"),
                ("category", "intermediary"),
                ("email", "non-una-mail"),
                ("pec", ""),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    for field in [
        "fiscal_code_error",
        "given_name_error",
        "category_error",
        "email_error",
        "pec_error",
    ] {
        assert!(page.contains(field), "{field} in the page");
    }
    assert_eq!(registrations(&t).await, 0);
    // Without the CSRF token: refused, nothing stored.
    let r = c
        .post(server.url("/registrazione"))
        .form(&[("fiscal_code", applicant.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(registrations(&t).await, 0);

    // The request.
    let r = c
        .post(server.url("/registrazione"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("fiscal_code", applicant.to_lowercase().as_str()),
            ("given_name", "Mario"),
            ("family_name", "Rossi"),
            ("category", "professional"),
            ("email", "mario.rossi@example.it"),
            ("pec", "mario.rossi@pec.example.it"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("/registrazione?inviata=REG-"),
        "{location}"
    );
    let mail = wait_for_mail(
        &sink,
        "mario.rossi@pec.example.it",
        "conferma della registrazione",
    )
    .await;
    let link = link_path(&mail, "/registrazione/pratica?token=");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let path = link
        .split_once("://")
        .map_or(link.as_str(), |(_, rest)| &rest[rest.find('/').unwrap()..]);

    // The PEC link confirms the address and issues the document.
    let page = c.get(server.url(path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("data-state=\"awaiting_signature\""), "{page}");
    let csrf = hidden_field(&page, "csrf_token");
    let document = c
        .get(server.url(&format!("/registrazione/documento?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(document.status(), 200);
    assert_eq!(document.headers()["content-type"], "application/pdf");
    let document = document.bytes().await.unwrap().to_vec();
    assert!(document.starts_with(b"%PDF"));
    let pdf_text = String::from_utf8_lossy(&document);
    assert!(pdf_text.contains(&applicant) && pdf_text.contains("Rossi"));
    // Opening the link again does not issue another document.
    let again = c
        .get(server.url(&format!("/registrazione/documento?token={token}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(again.to_vec(), document);

    // Each bad signature is refused with its reason and nothing changes.
    let other = ca.signer(
        "Giuseppe Verdi",
        Some(&format!("TINIT-{}", cf("VRDGPP75C15F205"))),
        Key::Rsa,
        None,
    );
    let mario = ca.signer("Mario Rossi", Some(&tinit), Key::Ec, None);
    let stranger = rogue.signer("Mario Rossi", Some(&tinit), Key::Rsa, None);
    let expired = ca.signer(
        "Mario Rossi 2020",
        Some(&tinit),
        Key::Rsa,
        Some(("20200101000000Z", "20210101000000Z")),
    );
    let mut another_document = document.clone();
    another_document.extend(b"%\n");
    let w = pki_dir.path();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (sign(&document, &other, Form::Attached, w), "altra persona"),
        (
            sign(&another_document, &mario, Form::Attached, w),
            "non è quello rilasciato",
        ),
        (
            sign(&document, &stranger, Form::Attached, w),
            "certificatore accreditato",
        ),
        (sign(&document, &expired, Form::Attached, w), "scaduto"),
        (document.clone(), "non è un documento firmato"),
    ];
    for (i, (signed, expected)) in cases.into_iter().enumerate() {
        let (status, page) = upload_signed(&server, &c, &token, &csrf, signed).await;
        assert_eq!(status, 400, "case {i}");
        assert!(page.contains("signed_file_error"), "case {i}");
        assert!(
            page.contains(expected),
            "case {i}: «{expected}» in the page"
        );
    }
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE fiscal_code = $1")
            .bind(&applicant)
            .fetch_one(t.db.pool())
            .await
            .unwrap(),
        0
    );
    let (state, reason): (String, Option<String>) =
        sqlx::query_as("SELECT state, reason FROM registrations WHERE fiscal_code = $1")
            .bind(&applicant)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(state, "awaiting_signature");
    assert!(reason.unwrap().contains("non è un documento firmato"));

    // The staff see the registration and why each upload was refused; a
    // citizen does not.
    let admin = client();
    let giulia = cf("BNCGLI75C45H501");
    assert_eq!(
        login(&server, &admin, &giulia, demo::DEMO_PASSWORD)
            .await
            .status(),
        303
    );
    let (status, list) = text(
        admin
            .get(server.url("/admin/registrazioni?stato=awaiting_signature"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(list.contains(&applicant));
    let id: i64 = sqlx::query_scalar("SELECT id FROM registrations WHERE fiscal_code = $1")
        .bind(&applicant)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let (_, detail) = text(
        admin
            .get(server.url(&format!("/admin/registrazioni/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(detail.matches("class=\"refused\"").count(), 5, "{detail}");
    assert!(detail.contains("un&#39;altra persona") || detail.contains("un'altra persona"));
    let citizen = client();
    let roberto = "SPSRRT77P03D548A";
    assert_eq!(
        login(&server, &citizen, roberto, demo::DEMO_PASSWORD)
            .await
            .status(),
        303
    );
    let r = citizen
        .get(server.url("/admin/registrazioni"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The right signature (detached, as some signing software makes it).
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .text("token", token.clone())
        .part(
            "signed_file",
            reqwest::multipart::Part::bytes(sign(&document, &mario, Form::Detached, w))
                .file_name("richiesta.pdf.p7s"),
        );
    let r = c
        .post(server.url("/registrazione/pratica"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(c.get(server.url(path)).send().await.unwrap()).await;
    assert!(page.contains("data-state=\"active\""), "{page}");
    // A second upload finds nothing to do.
    let (status, page) = upload_signed(
        &server,
        &c,
        &token,
        &csrf,
        sign(&document, &mario, Form::Attached, w),
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("non attende un documento firmato"));

    // The user exists with the professional's PTT profile and activates himself.
    let profile: String = sqlx::query_scalar(
        "SELECT p.code FROM enablements e JOIN users u ON u.id = e.user_id
         JOIN profiles p ON p.id = e.profile_id WHERE u.fiscal_code = $1",
    )
    .bind(&applicant)
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(profile, "professionista");
    let mail = wait_for_mail(&sink, "mario.rossi@example.it", "accolta").await;
    let activation = link_path(&mail, "/attivazione?token=");
    let activation = &activation[activation.find("/attivazione").unwrap()..];
    let page = c
        .get(server.url(activation))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let activation_token = activation.split("token=").nth(1).unwrap();
    let r = c
        .post(server.url("/attivazione"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", activation_token),
            ("new_password", "Firma-Digitale-2026!"),
            ("confirm_password", "Firma-Digitale-2026!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let fresh = client();
    assert_eq!(
        login(&server, &fresh, &applicant, "Firma-Digitale-2026!")
            .await
            .status(),
        303
    );

    // The audit trail holds each step.
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_events WHERE target = $1 ORDER BY seq")
            .bind(format!("registration:{id}"))
            .fetch_all(t.db.pool())
            .await
            .unwrap();
    assert_eq!(
        actions.first().map(String::as_str),
        Some("registration.request")
    );
    assert!(actions.contains(&"registration.pec_confirmed".to_string()));
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "registration.signature_refused")
            .count(),
        5
    );
    assert_eq!(
        actions.last().map(String::as_str),
        Some("registration.activated")
    );

    // Registering again with the same codice fiscale is refused.
    let page = c
        .get(server.url("/registrazione"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let (status, page) = text(
        c.post(server.url("/registrazione"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("fiscal_code", applicant.as_str()),
                ("given_name", "Mario"),
                ("family_name", "Rossi"),
                ("category", "professional"),
                ("email", "mario.rossi@example.it"),
                ("pec", "mario.rossi@pec.example.it"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("esiste già"));
    server.shutdown().await;
}

fn origin() -> Origin {
    Origin::default()
}

/// The applicant's token, from the mail waiting in the outbox.
async fn token_of(t: &TestEnv, pec: &str) -> String {
    let payloads: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE kind = 'mail' ORDER BY id")
            .fetch_all(t.db.pool())
            .await
            .unwrap();
    let mail = payloads
        .iter()
        .rev()
        .find(|p| p.contains(pec) && p.contains("registrazione/pratica?token="))
        .expect("the PEC mail is queued");
    let start = mail.find("token=").unwrap() + "token=".len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[tokio::test]
async fn an_employee_of_a_body_without_local_administrator_waits_for_the_central_administrator() {
    let pki_dir = tempfile::tempdir().unwrap();
    let ca = Authority::new(pki_dir.path(), "Fidata");
    let ca_file = ca.ca_pem().display().to_string();
    let t = env_with(|c| c.registration.trusted_ca_file = ca_file).await;
    demo::seed(&t.app).await.unwrap();
    let org = |code: &'static str| {
        let db = t.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM organizations WHERE code = $1")
                .bind(code)
                .fetch_one(db.pool())
                .await
                .unwrap()
        }
    };
    let applicant = cf("VRDLCU85M10D548");
    let mut input = RegistrationInput {
        fiscal_code: applicant.clone(),
        given_name: "Luca".into(),
        family_name: "Verdi".into(),
        category: "public_employee".into(),
        email: "luca.verdi@example.it".into(),
        pec: "luca.verdi@pec.example.it".into(),
        organization_id: None,
    };
    // A public employee names his body; a body with a local administrator
    // enables its own employees.
    match t.app.start_registration(&input, &origin()).await {
        Err(AppError::InvalidFields(f)) => assert_eq!(f[0].0, "organization_id"),
        other => panic!("{other:?}"),
    }
    input.organization_id = Some(org("C-D548").await);
    match t.app.start_registration(&input, &origin()).await {
        Err(AppError::InvalidFields(f)) => {
            assert_eq!(f[0].0, "organization_id");
            assert!(f[0].1.contains("amministratore locale"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(registrations(&t).await, 0);
    input.organization_id = Some(org("ASL-FE").await);
    let reference = t.app.start_registration(&input, &origin()).await.unwrap();
    assert!(reference.starts_with("REG-"));
    let token = token_of(&t, "luca.verdi@pec.example.it").await;
    let reg = t
        .app
        .registration_by_token(&token, &origin())
        .await
        .unwrap();
    assert_eq!(reg.state, "awaiting_signature");
    assert_eq!(reg.reference, reference);
    let (_, document) = t.app.registration_document(&token).await.unwrap();
    let luca = ca.signer(
        "Luca Verdi",
        Some(&format!("TINIT-{applicant}")),
        Key::Rsa,
        None,
    );
    let signed = Upload {
        filename: "richiesta.pdf.p7m".into(),
        data: sign(&document, &luca, Form::Attached, pki_dir.path()),
    };
    // The body's documentation is required, in PDF.
    match t
        .app
        .submit_registration_signature(&token, Some(&signed), None, &origin())
        .await
    {
        Err(AppError::InvalidFields(f)) => assert_eq!(f[0].0, "support_file"),
        other => panic!("{other:?}"),
    }
    let not_pdf = Upload {
        filename: "lettera.exe".into(),
        data: b"MZ\x90\x00".to_vec(),
    };
    match t
        .app
        .submit_registration_signature(&token, Some(&signed), Some(&not_pdf), &origin())
        .await
    {
        Err(AppError::InvalidFields(f)) => assert_eq!(f[0].0, "support_file"),
        other => panic!("{other:?}"),
    }
    let letter = Upload {
        filename: "lettera-asl.pdf".into(),
        data: sportello_core::pdf::text_document("Lettera", &["L'ASL attesta".to_string()]),
    };
    let reg = t
        .app
        .submit_registration_signature(&token, Some(&signed), Some(&letter), &origin())
        .await
        .unwrap();
    assert_eq!(reg.state, "awaiting_approval");
    assert!(reg.user_id.is_none());
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE fiscal_code = $1")
            .bind(&applicant)
            .fetch_one(t.db.pool())
            .await
            .unwrap(),
        0,
        "no user before the decision"
    );

    // Only the central administrator decides; a refusal needs a reason.
    let giulia_login = t
        .app
        .login(&cf("BNCGLI75C45H501"), demo::DEMO_PASSWORD, &origin())
        .await
        .unwrap();
    let giulia = t
        .app
        .session_user(&giulia_login.session_token)
        .await
        .unwrap()
        .unwrap();
    let marco_login = t
        .app
        .login(&cf("FRRMRC70A01D548"), demo::DEMO_PASSWORD, &origin())
        .await
        .unwrap();
    let marco = t
        .app
        .session_user(&marco_login.session_token)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        t.app
            .decide_registration(Some(&marco), reg.id, true, "", &origin())
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app
            .decide_registration(None, reg.id, true, "", &origin())
            .await,
        Err(AppError::NeedsLogin)
    ));
    match t
        .app
        .decide_registration(Some(&giulia), reg.id, false, "", &origin())
        .await
    {
        Err(AppError::Invalid { field, .. }) => assert_eq!(field, "reason"),
        other => panic!("{other:?}"),
    }
    let (detail, attempts) = t
        .app
        .registration_detail(Some(&giulia), reg.id)
        .await
        .unwrap();
    assert_eq!(detail.support_filename.as_deref(), Some("lettera-asl.pdf"));
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].accepted, 1);
    let (_, stored_letter) = t
        .app
        .registration_file(Some(&giulia), reg.id, "support")
        .await
        .unwrap();
    assert_eq!(stored_letter, letter.data);
    let approved = t
        .app
        .decide_registration(Some(&giulia), reg.id, true, "", &origin())
        .await
        .unwrap();
    assert_eq!(approved.state, "active");
    let user_id = approved.user_id.expect("the user was created");
    let (status, org_id, profile): (String, Option<i64>, String) = sqlx::query_as(
        "SELECT u.status, u.organization_id, p.code FROM users u
         JOIN enablements e ON e.user_id = u.id JOIN profiles p ON p.id = e.profile_id
         WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(status, "pending_activation");
    assert_eq!(org_id, Some(org("ASL-FE").await));
    assert_eq!(profile, "ente_pubblico");
    // Deciding twice is a conflict, and changes nothing.
    assert!(matches!(
        t.app
            .decide_registration(Some(&giulia), reg.id, false, "ripensamento", &origin())
            .await,
        Err(AppError::Conflict(_))
    ));

    // A refusal: another applicant, with its reason mailed to him.
    let other = cf("NREPLA90A41D548");
    let reference = t
        .app
        .start_registration(
            &RegistrationInput {
                fiscal_code: other.clone(),
                given_name: "Paola".into(),
                family_name: "Neri".into(),
                category: "public_employee".into(),
                email: "paola.neri@example.it".into(),
                pec: "paola.neri@pec.example.it".into(),
                organization_id: Some(org("ASL-FE").await),
            },
            &origin(),
        )
        .await
        .unwrap();
    let token = token_of(&t, "paola.neri@pec.example.it").await;
    t.app
        .registration_by_token(&token, &origin())
        .await
        .unwrap();
    let (_, document) = t.app.registration_document(&token).await.unwrap();
    let paola = ca.signer("Paola Neri", Some(&format!("TINIT-{other}")), Key::Ec, None);
    let signed = Upload {
        filename: "r.p7m".into(),
        data: sign(&document, &paola, Form::Attached, pki_dir.path()),
    };
    let reg = t
        .app
        .submit_registration_signature(&token, Some(&signed), Some(&letter), &origin())
        .await
        .unwrap();
    let refused = t
        .app
        .decide_registration(
            Some(&giulia),
            reg.id,
            false,
            "La lettera non è firmata dal responsabile dell'ente",
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(refused.state, "refused");
    let mail: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'mail' AND payload LIKE $1 AND payload LIKE '%non è firmata dal responsabile%'",
    )
    .bind(format!("%{reference}%"))
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(mail, 1);
    let listed = t
        .app
        .registrations(Some(&giulia), Some("refused"))
        .await
        .unwrap();
    assert!(listed.iter().any(|r| r.reference == reference));
    assert!(matches!(
        t.app.registrations(Some(&giulia), Some("bogus")).await,
        Err(AppError::Invalid { field: "state", .. })
    ));
    // A stale or unknown link opens nothing.
    assert!(matches!(
        t.app.registration_by_token("nope", &origin()).await,
        Err(AppError::InvalidToken)
    ));
}

#[tokio::test]
async fn registration_is_closed_without_trusted_authorities() {
    let t = env_with(|_| {}).await;
    demo::seed(&t.app).await.unwrap();
    assert!(!t.app.registration_open());
    let r = t
        .app
        .start_registration(
            &RegistrationInput {
                fiscal_code: cf("RSSMRA80A01H501"),
                given_name: "Mario".into(),
                family_name: "Rossi".into(),
                category: "private_person".into(),
                email: "m@example.it".into(),
                pec: "m@pec.example.it".into(),
                organization_id: None,
            },
            &origin(),
        )
        .await;
    assert!(matches!(
        r,
        Err(AppError::Invalid {
            field: "registration",
            ..
        })
    ));
    assert_eq!(registrations(&t).await, 0);
}
