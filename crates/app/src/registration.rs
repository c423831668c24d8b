//! Self-registration of private subjects (seed 001, case 1): the applicant
//! gives his data and a PEC address; the link sent to the PEC proves the
//! address and issues the request document; he signs it digitally (CAdES)
//! and uploads it; a verified signature makes him a user with the profile of
//! his category, or, for a body without a local administrator (case 3),
//! waits with its documentation for the central administrator.
//!
//! Every refused signature is kept with its reason, for the applicant (the
//! page says why) and for the staff (the registrations list says why).

use sha2::{Digest, Sha256};
use sportello_core::FiscalCode;
use sportello_core::authz::Action;
use sportello_core::identity::{Category, Status};
use sportello_core::registration::{self as rules, Applicant, State};
use sportello_store::directory::{self, NewUser};
use sportello_store::registration::{self as store, Attempt, CategoryProfile, Registration};
use sportello_store::{AnyConnection, StoreError, catalogue, credentials};

use crate::cades::{self, TrustedAuthorities};
use crate::identity::{check_email, check_text};
use crate::mail::MailMessage;
use crate::security::{random_token, token_hash};
use crate::{App, AppError, Origin, SessionUser, now_micros, queue_mail, record};

/// Address throttling scope of registration requests.
const SCOPE: &str = "registration";
const MINUTE: i64 = 60_000_000;
/// Largest signed file and supporting document accepted.
pub const MAX_SIGNED_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_SUPPORT_BYTES: usize = 10 * 1024 * 1024;

#[derive(Clone, Debug, Default)]
pub struct RegistrationInput {
    pub fiscal_code: String,
    pub given_name: String,
    pub family_name: String,
    pub category: String,
    pub email: String,
    pub pec: String,
    pub organization_id: Option<i64>,
}

pub use crate::desk::Upload;

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        message: message.into(),
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl App {
    /// The profiles given to each self-registering category.
    pub async fn registration_profiles(&self) -> Result<Vec<CategoryProfile>, AppError> {
        Ok(store::category_profiles(&self.db).await?)
    }

    /// Whether self-registration is open: trusted authorities are configured.
    pub fn registration_open(&self) -> bool {
        !self.config.registration.trusted_ca_file.is_empty()
    }

    fn trusted_authorities(&self) -> Result<TrustedAuthorities, AppError> {
        let path = &self.config.registration.trusted_ca_file;
        let pem = std::fs::read(path)
            .map_err(|e| AppError::Internal(format!("registration.trusted_ca_file {path}: {e}")))?;
        TrustedAuthorities::from_pem(&pem)
            .map_err(|e| AppError::Internal(format!("registration.trusted_ca_file {path}: {e}")))
    }

    /// Step 1: the applicant's data. Every field's problem is reported at
    /// once; nothing is stored unless all is well. The link goes to the PEC.
    pub async fn start_registration(
        &self,
        input: &RegistrationInput,
        origin: &Origin,
    ) -> Result<String, AppError> {
        if !self.registration_open() {
            return Err(invalid(
                "registration",
                "la registrazione autonoma non è attiva su questo portale",
            ));
        }
        let now = now_micros();
        let address = origin.address.clone().unwrap_or_default();
        self.check_request_window(SCOPE, &address, now).await?;

        let mut problems: Vec<(String, String)> = Vec::new();
        let note = |r: Result<String, AppError>, problems: &mut Vec<(String, String)>| match r {
            Ok(v) => v,
            Err(AppError::Invalid { field, message }) => {
                problems.push((field.into(), message));
                String::new()
            }
            Err(e) => {
                problems.push(("registration".into(), e.to_string()));
                String::new()
            }
        };
        let fiscal_code = match FiscalCode::parse(&input.fiscal_code) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(("fiscal_code".into(), e.to_string()));
                None
            }
        };
        let given = note(
            check_text("given_name", &input.given_name, 100, true),
            &mut problems,
        );
        let family = note(
            check_text("family_name", &input.family_name, 100, true),
            &mut problems,
        );
        let email = note(
            check_email("email", &input.email, true).map(Option::unwrap_or_default),
            &mut problems,
        );
        let pec = note(
            check_email("pec", &input.pec, true).map(Option::unwrap_or_default),
            &mut problems,
        );
        let category = Category::from_code(&input.category).filter(|c| rules::self_registers(*c));
        let profiles = store::category_profiles(&self.db).await?;
        match category {
            None => problems.push((
                "category".into(),
                "scegli una delle categorie che si registrano da sé".into(),
            )),
            Some(c) if !profiles.iter().any(|p| p.category == c.code()) => problems.push((
                "category".into(),
                "per questa categoria non è previsto un profilo: rivolgiti all'assistenza".into(),
            )),
            Some(_) => {}
        }
        let mut organization = None;
        if category.is_some_and(rules::needs_organization) {
            match input.organization_id {
                None => problems.push((
                    "organization_id".into(),
                    "indica l'ente per cui lavori".into(),
                )),
                Some(id) => match directory::organization(&self.db, id).await? {
                    None => problems.push(("organization_id".into(), "ente sconosciuto".into())),
                    Some(_) if store::has_local_admin(&self.db, id).await? => problems.push((
                        "organization_id".into(),
                        "il tuo ente ha un amministratore locale delle utenze: chiedi a lui l'abilitazione"
                            .into(),
                    )),
                    Some(o) => organization = Some(o.id),
                },
            }
        }
        if let Some(code) = &fiscal_code
            && directory::user_by_fiscal_code(&self.db, code.as_str())
                .await?
                .is_some()
        {
            problems.push((
                "fiscal_code".into(),
                "esiste già un'utenza con questo codice fiscale: per accedere usa «Password dimenticata»"
                    .into(),
            ));
        }
        if !problems.is_empty() {
            return Err(AppError::InvalidFields(problems));
        }
        let (Some(code), Some(category)) = (fiscal_code, category) else {
            return Err(AppError::Internal("registration input checked".into()));
        };

        let token = random_token();
        let expires_at = now + self.config.registration.link_days * 24 * 60 * MINUTE;
        let mut tx = self.db.begin_write().await?;
        self.count_request_in(&mut tx, SCOPE, &address, now).await?;
        let open = store::open_for_fiscal_code_in(&mut tx, code.as_str(), now).await?;
        if open
            .iter()
            .any(|r| r.state == State::AwaitingApproval.code())
        {
            return Err(invalid(
                "fiscal_code",
                "una tua registrazione attende già l'approvazione dell'amministrazione",
            ));
        }
        let id = store::insert(
            &mut tx,
            &store::NewRegistration {
                reference: &token_hash(&token),
                fiscal_code: code.as_str(),
                given_name: &given,
                family_name: &family,
                category: category.code(),
                email: &email,
                pec: &pec,
                organization_id: organization,
                state: State::PecPending.code(),
                token_hash: &token_hash(&token),
                expires_at,
            },
            now,
        )
        .await?;
        let reference = rules::reference(self.civil_day(now).0 as i16, id);
        store::set_reference(&mut tx, id, &reference).await?;
        // A new request replaces the applicant's unfinished ones (a lost
        // mail, a typo in the PEC address).
        for old in open {
            store::set_state(
                &mut tx,
                old.id,
                State::Refused.code(),
                Some(&format!("sostituita dalla richiesta {reference}")),
                now,
            )
            .await?;
        }
        let days = self.config.registration.link_days;
        queue_mail(
            &mut tx,
            &MailMessage {
                from: None,
                to: vec![pec.clone()],
                subject: format!("Sportello: conferma della registrazione {reference}"),
                body: format!(
                    "Gentile {given} {family},\n\nabbiamo ricevuto la tua richiesta di registrazione n. {reference}.\n\n\
                     Per confermare questo indirizzo PEC e proseguire apri il collegamento entro {days} giorni:\n\n{}\n\n\
                     Nella pagina troverai il documento di richiesta da firmare digitalmente (CAdES, .p7m) e caricare.\n\n\
                     To confirm this certified e-mail address and go on, open the link above within {days} days.\n\n\
                     Se non hai chiesto tu la registrazione, ignora questo messaggio.\n\nSportello",
                    self.registration_link(&token)
                ),
            },
            now,
        )
        .await?;
        record(
            &mut tx,
            "anonymous",
            None,
            "registration.request",
            &format!("registration:{id}"),
            &serde_json::json!({ "reference": reference, "category": category.code(),
                                 "organization": organization })
            .to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(reference)
    }

    fn registration_link(&self, token: &str) -> String {
        format!(
            "{}/registrazione/pratica?token={token}",
            self.config.public_base_url.trim_end_matches('/')
        )
    }

    /// The registration behind an applicant's link. Opening it the first
    /// time confirms the PEC address and issues the request document.
    pub async fn registration_by_token(
        &self,
        token: &str,
        origin: &Origin,
    ) -> Result<Registration, AppError> {
        let now = now_micros();
        let reg = store::by_token_hash(&self.db, &token_hash(token))
            .await?
            .ok_or(AppError::InvalidToken)?;
        let state = State::from_code(&reg.state).ok_or(AppError::InvalidToken)?;
        if matches!(state, State::PecPending | State::AwaitingSignature) && reg.expires_at <= now {
            return Err(AppError::InvalidToken);
        }
        if state != State::PecPending {
            return Ok(reg);
        }
        let category = Category::from_code(&reg.category)
            .ok_or_else(|| AppError::Internal(format!("category {}", reg.category)))?;
        let issued = self.format_time(now);
        let lines = rules::request_lines(&Applicant {
            reference: &reg.reference,
            fiscal_code: &reg.fiscal_code,
            given_name: &reg.given_name,
            family_name: &reg.family_name,
            category,
            email: &reg.email,
            pec: &reg.pec,
            organization: reg.organization_name.as_deref(),
            issued: &issued,
        });
        let document = sportello_core::pdf::text_document(
            &format!("Richiesta di registrazione {}", reg.reference),
            &lines,
        );
        let mut tx = self.db.begin_write().await?;
        store::issue_document(&mut tx, reg.id, &document, &sha256_hex(&document), now).await?;
        record(
            &mut tx,
            "anonymous",
            None,
            "registration.pec_confirmed",
            &format!("registration:{}", reg.id),
            "{}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        store::by_id(&self.db, reg.id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The request document to sign: (file name, PDF bytes).
    pub async fn registration_document(&self, token: &str) -> Result<(String, Vec<u8>), AppError> {
        let reg = store::by_token_hash(&self.db, &token_hash(token))
            .await?
            .ok_or(AppError::InvalidToken)?;
        let doc = store::document(&self.db, reg.id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok((format!("richiesta-{}.pdf", reg.reference), doc))
    }

    /// Step 2: the signed document (and, for a body without a local
    /// administrator, its documentation). A refused signature is recorded
    /// with its reason and reported on the `signed_file` field.
    pub async fn submit_registration_signature(
        &self,
        token: &str,
        signed: Option<&Upload>,
        support: Option<&Upload>,
        origin: &Origin,
    ) -> Result<Registration, AppError> {
        let now = now_micros();
        let reg = store::by_token_hash(&self.db, &token_hash(token))
            .await?
            .ok_or(AppError::InvalidToken)?;
        if reg.state != State::AwaitingSignature.code() {
            return Err(invalid(
                "signed_file",
                "questa registrazione non attende un documento firmato",
            ));
        }
        if reg.expires_at <= now {
            return Err(AppError::InvalidToken);
        }
        let profile = self.profile_for(&reg.category).await?;
        let mut problems = Vec::new();
        let signed = match signed.filter(|u| !u.data.is_empty()) {
            None => {
                problems.push((
                    "signed_file".to_string(),
                    "carica il documento firmato digitalmente (.p7m)".to_string(),
                ));
                None
            }
            Some(u) if u.data.len() > MAX_SIGNED_BYTES => {
                problems.push((
                    "signed_file".into(),
                    format!(
                        "file troppo grande (al massimo {} MB)",
                        MAX_SIGNED_BYTES >> 20
                    ),
                ));
                None
            }
            Some(u) => Some(u),
        };
        let support = support.filter(|u| !u.data.is_empty());
        if profile.needs_approval != 0 || reg.organization_id.is_some() {
            match support {
                None => problems.push((
                    "support_file".into(),
                    "allega la documentazione dell'ente che attesta il tuo ruolo".into(),
                )),
                Some(u) if u.data.len() > MAX_SUPPORT_BYTES => problems.push((
                    "support_file".into(),
                    format!(
                        "file troppo grande (al massimo {} MB)",
                        MAX_SUPPORT_BYTES >> 20
                    ),
                )),
                Some(u) if !(u.data.starts_with(b"%PDF") || u.data.first() == Some(&0x30)) => {
                    problems.push((
                        "support_file".into(),
                        "la documentazione va allegata in PDF (anche firmato, .p7m)".into(),
                    ))
                }
                Some(_) => {}
            }
        }
        if !problems.is_empty() {
            return Err(AppError::InvalidFields(problems));
        }
        let Some(signed) = signed else {
            return Err(AppError::Internal("signed file checked".into()));
        };
        let issued = store::document(&self.db, reg.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let applicant = FiscalCode::parse(&reg.fiscal_code)?;
        let trusted = self.trusted_authorities()?;
        let verdict = cades::verify(&signed.data, Some(&issued), &trusted, now)
            .map_err(|e| e.to_string())
            .and_then(|doc| {
                let signers: Vec<(FiscalCode, i64)> = doc
                    .signers
                    .iter()
                    .map(|s| (s.fiscal_code.clone(), s.signing_time))
                    .collect();
                rules::check_signature(
                    &issued,
                    reg.issued_at.unwrap_or(0),
                    &applicant,
                    &doc.content,
                    &signers,
                )
                .map_err(|e| e.to_string())?;
                let me = doc
                    .signers
                    .into_iter()
                    .find(|s| s.fiscal_code == applicant)
                    .ok_or_else(|| "firmatario non trovato".to_string())?;
                Ok(me)
            });
        let file_hash = sha256_hex(&signed.data);
        let target = format!("registration:{}", reg.id);
        let mut tx = self.db.begin_write().await?;
        let signer = match verdict {
            Err(reason) => {
                store::add_attempt(
                    &mut tx,
                    reg.id,
                    false,
                    &reason,
                    &file_hash,
                    origin.address.as_deref(),
                    now,
                )
                .await?;
                store::set_state(
                    &mut tx,
                    reg.id,
                    State::AwaitingSignature.code(),
                    Some(&reason),
                    now,
                )
                .await?;
                record(
                    &mut tx,
                    "anonymous",
                    None,
                    "registration.signature_refused",
                    &target,
                    &serde_json::json!({ "reason": reason, "file_sha256": file_hash }).to_string(),
                    origin,
                    now,
                )
                .await?;
                tx.commit().await.map_err(StoreError::from)?;
                return Err(AppError::Invalid {
                    field: "signed_file",
                    message: reason,
                });
            }
            Ok(s) => s,
        };
        // Re-read under the write lock: a second upload in parallel must not
        // create the user twice.
        let current = store::by_id_in(&mut tx, reg.id)
            .await?
            .ok_or(AppError::NotFound)?;
        if current.state != State::AwaitingSignature.code() {
            return Err(invalid(
                "signed_file",
                "questa registrazione non attende un documento firmato",
            ));
        }
        let wait = profile.needs_approval != 0 || reg.organization_id.is_some();
        let support_hash = support.map(|u| sha256_hex(&u.data));
        let user_id = if wait {
            None
        } else {
            Some(self.activate_in(&mut tx, &reg, &profile, None, now).await?)
        };
        store::add_attempt(
            &mut tx,
            reg.id,
            true,
            "firma verificata",
            &file_hash,
            origin.address.as_deref(),
            now,
        )
        .await?;
        store::record_signed(
            &mut tx,
            reg.id,
            &store::Signed {
                file: &signed.data,
                signer_subject: &signer.subject,
                signed_at: signer.signing_time,
                support: support.map(|u| {
                    (
                        u.filename.as_str(),
                        u.data.as_slice(),
                        support_hash.as_deref().unwrap_or_default(),
                    )
                }),
                state: if wait {
                    State::AwaitingApproval.code()
                } else {
                    State::Active.code()
                },
                user_id,
            },
            now,
        )
        .await?;
        if wait {
            queue_mail(
                &mut tx,
                &MailMessage {
                    from: None,
                    to: vec![reg.email.clone()],
                    subject: format!("Sportello: registrazione {} in esame", reg.reference),
                    body: format!(
                        "Gentile {} {},\n\nla firma digitale della tua richiesta di registrazione n. {} è stata verificata.\n\n\
                         Il tuo ente non ha un amministratore locale delle utenze: la documentazione che hai allegato sarà esaminata \
                         dall'amministrazione centrale, che ti scriverà l'esito.\n\nSportello",
                        reg.given_name, reg.family_name, reg.reference
                    ),
                },
                now,
            )
            .await?;
        }
        record(
            &mut tx,
            "anonymous",
            None,
            if wait {
                "registration.signed"
            } else {
                "registration.activated"
            },
            &target,
            &serde_json::json!({ "signer": signer.subject, "file_sha256": file_hash,
                                 "support_sha256": support_hash, "user": user_id })
            .to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        store::by_id(&self.db, reg.id)
            .await?
            .ok_or(AppError::NotFound)
    }

    async fn profile_for(&self, category: &str) -> Result<CategoryProfile, AppError> {
        store::category_profiles(&self.db)
            .await?
            .into_iter()
            .find(|p| p.category == category)
            .ok_or_else(|| invalid("category", "per questa categoria non è previsto un profilo"))
    }

    /// Creates the user (to activate by the link mailed to him) with his
    /// category's profile, in the caller's transaction.
    async fn activate_in(
        &self,
        tx: &mut AnyConnection,
        reg: &Registration,
        profile: &CategoryProfile,
        granted_by: Option<i64>,
        now: i64,
    ) -> Result<i64, AppError> {
        let (user_id, created) = directory::ensure_user(
            tx,
            &NewUser {
                fiscal_code: &reg.fiscal_code,
                given_name: &reg.given_name,
                family_name: &reg.family_name,
                email: &reg.email,
                category: &reg.category,
                status: Status::PendingActivation.code(),
                organization_id: reg.organization_id,
                password_hash: None,
                must_change_password: false,
                pec: Some(&reg.pec),
                phone: None,
            },
            now,
        )
        .await?;
        if !created {
            return Err(invalid(
                "fiscal_code",
                "esiste già un'utenza con questo codice fiscale",
            ));
        }
        catalogue::grant(
            tx,
            user_id,
            profile.application_id,
            profile.profile_id,
            granted_by,
            now,
        )
        .await?;
        let token = random_token();
        let hours = self.config.identity.activation_link_hours;
        credentials::create_token(
            tx,
            &token_hash(&token),
            user_id,
            credentials::ACTIVATION,
            now,
            now + hours * 60 * MINUTE,
        )
        .await?;
        queue_mail(
            tx,
            &MailMessage {
                from: None,
                to: vec![reg.email.clone()],
                subject: format!("Sportello: registrazione {} accolta", reg.reference),
                body: format!(
                    "Gentile {} {},\n\nla tua registrazione n. {} è stata accolta: sei abilitato a {} con il profilo «{}».\n\n\
                     Per attivare l'utenza e scegliere la password apri questo collegamento entro {hours} ore (vale una sola volta):\n\n{}?token={token}\n\n\
                     Your registration was accepted. To activate your account and choose a password open the link above within {hours} hours.\n\nSportello",
                    reg.given_name,
                    reg.family_name,
                    reg.reference,
                    profile.application_name,
                    profile.profile_name,
                    format_args!(
                        "{}/attivazione",
                        self.config.public_base_url.trim_end_matches('/')
                    ),
                ),
            },
            now,
        )
        .await?;
        Ok(user_id)
    }

    /// Registrations for the staff, newest first, optionally of one state.
    pub async fn registrations(
        &self,
        who: Option<&SessionUser>,
        state: Option<&str>,
    ) -> Result<Vec<Registration>, AppError> {
        self.authorize(who, &Action::ManageRegistrations)?;
        let state = state.filter(|s| !s.is_empty());
        if let Some(s) = state
            && State::from_code(s).is_none()
        {
            return Err(invalid("state", "stato sconosciuto"));
        }
        Ok(store::list(&self.db, state, 500).await?)
    }

    /// How many registrations are in each state, for the staff.
    pub async fn registration_counts(
        &self,
        who: Option<&SessionUser>,
    ) -> Result<Vec<(String, i64)>, AppError> {
        self.authorize(who, &Action::ManageRegistrations)?;
        Ok(store::counts(&self.db).await?)
    }

    /// One registration with every signature attempt.
    pub async fn registration_detail(
        &self,
        who: Option<&SessionUser>,
        id: i64,
    ) -> Result<(Registration, Vec<Attempt>), AppError> {
        self.authorize(who, &Action::ManageRegistrations)?;
        let reg = store::by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let attempts = store::attempts(&self.db, id).await?;
        Ok((reg, attempts))
    }

    /// A file of a registration for the staff: `document` (issued),
    /// `signed` (the verified .p7m) or `support` (the body's documentation).
    pub async fn registration_file(
        &self,
        who: Option<&SessionUser>,
        id: i64,
        which: &str,
    ) -> Result<(String, Vec<u8>), AppError> {
        self.authorize(who, &Action::ManageRegistrations)?;
        let reg = store::by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (name, data) = match which {
            "document" => (
                format!("richiesta-{}.pdf", reg.reference),
                store::document(&self.db, id).await?,
            ),
            "signed" => (
                format!("richiesta-{}.pdf.p7m", reg.reference),
                store::signed_file(&self.db, id).await?,
            ),
            "support" => (
                reg.support_filename
                    .clone()
                    .unwrap_or_else(|| "documentazione.pdf".into()),
                store::support_file(&self.db, id).await?,
            ),
            _ => return Err(AppError::NotFound),
        };
        Ok((name, data.ok_or(AppError::NotFound)?))
    }

    /// The central administrator approves (the user is created) or refuses
    /// (with a reason, mailed to the applicant) a registration that waits.
    pub async fn decide_registration(
        &self,
        who: Option<&SessionUser>,
        id: i64,
        approve: bool,
        reason: &str,
        origin: &Origin,
    ) -> Result<Registration, AppError> {
        self.authorize(who, &Action::ManageRegistrations)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let reason = check_text("reason", reason, 1000, !approve)?;
        if !approve && reason.chars().count() < 5 {
            return Err(invalid("reason", "spiega in qualche parola perché"));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let reg = store::by_id_in(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if reg.state != State::AwaitingApproval.code() {
            return Err(AppError::Conflict(format!(
                "la registrazione {} non attende una decisione (stato: {})",
                reg.reference,
                State::from_code(&reg.state).map_or("sconosciuto", State::label_it)
            )));
        }
        let actor = format!("user:{}", who.user.id);
        let target = format!("registration:{id}");
        let (action, detail) = if approve {
            let profile = self.profile_for(&reg.category).await?;
            let user_id = self
                .activate_in(&mut tx, &reg, &profile, Some(who.user.id), now)
                .await?;
            store::decide(
                &mut tx,
                id,
                State::Active.code(),
                None,
                who.user.id,
                Some(user_id),
                now,
            )
            .await?;
            (
                "registration.approve",
                serde_json::json!({ "user": user_id }),
            )
        } else {
            store::decide(
                &mut tx,
                id,
                State::Refused.code(),
                Some(&reason),
                who.user.id,
                None,
                now,
            )
            .await?;
            queue_mail(
                &mut tx,
                &MailMessage {
                    from: None,
                    to: vec![reg.email.clone(), reg.pec.clone()],
                    subject: format!("Sportello: registrazione {} respinta", reg.reference),
                    body: format!(
                        "Gentile {} {},\n\nla tua richiesta di registrazione n. {} è stata respinta.\n\nMotivo: {reason}\n\n\
                         Puoi presentare una nuova richiesta con la documentazione corretta.\n\nSportello",
                        reg.given_name, reg.family_name, reg.reference
                    ),
                },
                now,
            )
            .await?;
            (
                "registration.refuse",
                serde_json::json!({ "reason": reason }),
            )
        };
        record(
            &mut tx,
            &actor,
            who.user.organization_id,
            action,
            &target,
            &detail.to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        store::by_id(&self.db, id).await?.ok_or(AppError::NotFound)
    }
}
