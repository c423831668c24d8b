//! Delegated access administration ("Okeanos", seeds 000/001/004): enabling
//! users to applications with a profile under the catalogue's rules, the user
//! lifecycle, sub-delegation, and the appointment of local administrators.

use sha2::{Digest, Sha256};
use sportello_core::FiscalCode;
use sportello_core::authz::{Action, Grant, Role};
use sportello_core::catalogue::{check_delegation, check_grant};
use sportello_core::identity::Status;
use sportello_store::credentials::{self, ACTIVATION};
use sportello_store::directory::{self, NewUser, User};
use sportello_store::lifecycle::{self, NewAppointment};
use sportello_store::{StoreError, catalogue, sessions};

use crate::mail::MailMessage;
use crate::security::{random_token, token_hash};
use crate::{App, AppError, Origin, SessionUser, now_micros, queue_mail, record};

const HOUR: i64 = 3_600_000_000;

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        message: message.into(),
    }
}

/// The largest accepted appointment letter (a signed PDF or .p7m).
pub const MAX_LETTER_BYTES: usize = 5 * 1024 * 1024;

pub struct AppointmentInput {
    pub organization_id: Option<i64>,
    pub requester_name: String,
    pub requester_email: String,
    pub requester_role: String,
    pub candidate_fiscal_code: String,
    pub candidate_given_name: String,
    pub candidate_family_name: String,
    pub candidate_email: String,
    pub letter_name: String,
    pub letter: Vec<u8>,
}

impl App {
    /// Loads a user and checks that `who` may manage him.
    async fn managed_user(
        &self,
        who: Option<&SessionUser>,
        user_id: i64,
    ) -> Result<(User, i64), AppError> {
        let user = directory::user_by_id(&self.db, user_id)
            .await?
            .filter(|u| u.status != Status::Deleted.code());
        let path = match user.as_ref().and_then(|u| u.organization_id) {
            Some(o) => directory::organization_path(&self.db, o).await?,
            None => Vec::new(),
        };
        self.authorize(who, &Action::ManageUsersOf { org_path: &path })?;
        let user = user.ok_or(AppError::NotFound)?;
        let actor = who.map(|w| w.user.id).ok_or(AppError::NeedsLogin)?;
        Ok((user, actor))
    }

    /// The first-access part of an e-mail: an activation link when the user
    /// has no credentials yet, nothing when he has (seed 000).
    async fn first_access_paragraph(
        &self,
        conn: &mut sportello_store::AnyConnection,
        user: &User,
        now: i64,
        new_link: bool,
    ) -> Result<String, AppError> {
        if user.password_hash.is_some() {
            return Ok("Accedi con le credenziali che già possiedi.".into());
        }
        // A live activation link already sent stays the one to use: issuing
        // a new one would void the link the user may be about to click.
        if !new_link && credentials::live_token_exists(&self.db, user.id, ACTIVATION, now).await? {
            return Ok("Per il primo accesso usa il collegamento di attivazione che hai ricevuto nell'e-mail «Sportello: la tua utenza»; \
                       se è scaduto, chiedi all'amministratore delle utenze di reinviarlo."
                .into());
        }
        let token = random_token();
        let hours = self.config.identity.activation_link_hours;
        credentials::create_token(
            conn,
            &token_hash(&token),
            user.id,
            ACTIVATION,
            now,
            now + hours * HOUR,
        )
        .await?;
        Ok(format!(
            "Per il primo accesso scegli la tua password da questo collegamento, valido {hours} ore e una sola volta:\n\n{}/attivazione?token={token}",
            self.config.public_base_url.trim_end_matches('/')
        ))
    }

    /// Enables a user to an application with a profile, if the catalogue
    /// allows it for his organization and he holds no profile of it yet.
    pub async fn enable_user(
        &self,
        who: Option<&SessionUser>,
        user_id: i64,
        profile_id: i64,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        let (user, actor_id) = self.managed_user(who, user_id).await?;
        let rule = catalogue::profile_rule(&self.db, profile_id)
            .await?
            .ok_or_else(|| invalid("profile_id", "profilo sconosciuto"))?;
        let org_kind = match user.organization_id {
            Some(o) => directory::organization(&self.db, o).await?.map(|o| o.kind),
            None => None,
        };
        let held = match catalogue::enablement_for(&self.db, user.id, rule.application_id).await? {
            Some(e) => catalogue::profile_rule(&self.db, e.profile_id).await?,
            None => None,
        };
        check_grant(&rule, org_kind.as_deref(), held.as_ref())
            .map_err(|e| invalid("profile_id", e.to_string()))?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let id = match catalogue::grant(
            &mut tx,
            user.id,
            rule.application_id,
            profile_id,
            Some(actor_id),
            now,
        )
        .await
        {
            Ok(id) => id,
            Err(e) if e.is_conflict() => {
                return Err(invalid(
                    "profile_id",
                    "l'utente ha già un profilo per questa applicazione: un utente può avere un solo profilo per applicazione",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let access = self
            .first_access_paragraph(&mut tx, &user, now, false)
            .await?;
        queue_mail(
            &mut tx,
            &MailMessage {
                from: None,
                to: vec![user.email.clone()],
                subject: format!("Sportello: abilitazione a {}", rule.name),
                body: format!(
                    "Gentile {} {},\n\nsei stato abilitato al servizio {}.\nLo trovi nella sezione «I miei servizi» dell'area riservata.\n\n{access}\n\n\
                     You have been enabled to the service above; you will find it under \"I miei servizi\".\n\nSportello",
                    user.given_name, user.family_name, rule.name
                ),
            },
            now,
        )
        .await?;
        let detail = format!(
            "{{\"application\":{},\"profile\":{profile_id}}}",
            rule.application_id
        );
        record_on_user(
            &mut tx,
            who,
            actor_id,
            "user.enable",
            user.id,
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// Revokes an enablement; the sub-delegations hanging on it end too.
    pub async fn revoke_enablement(
        &self,
        who: Option<&SessionUser>,
        enablement_id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let e = catalogue::enablement(&self.db, enablement_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (user, actor_id) = self.managed_user(who, e.user_id).await?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let ended = catalogue::revoke(&mut tx, enablement_id).await?;
        let detail = format!(
            "{{\"application\":{},\"profile\":{},\"subdelegations_ended\":{ended}}}",
            e.application_id, e.profile_id
        );
        record_on_user(
            &mut tx,
            who,
            actor_id,
            "user.revoke",
            user.id,
            &detail,
            origin,
            now,
        )
        .await?;
        queue_mail(
            &mut tx,
            &MailMessage {
                from: None,
                to: vec![user.email.clone()],
                subject: format!("Sportello: abilitazione a {} revocata", e.application_name),
                body: format!(
                    "Gentile {} {},\n\nla tua abilitazione al servizio {} (profilo {}) è stata revocata dall'amministratore delle utenze.\n\nSportello",
                    user.given_name, user.family_name, e.application_name, e.profile_name
                ),
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Replaces the profile of an enablement (same application).
    pub async fn change_profile(
        &self,
        who: Option<&SessionUser>,
        enablement_id: i64,
        profile_id: i64,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        let e = catalogue::enablement(&self.db, enablement_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (user, actor_id) = self.managed_user(who, e.user_id).await?;
        let rule = catalogue::profile_rule(&self.db, profile_id)
            .await?
            .filter(|r| r.application_id == e.application_id)
            .ok_or_else(|| invalid("profile_id", "scegli un profilo della stessa applicazione"))?;
        let org_kind = match user.organization_id {
            Some(o) => directory::organization(&self.db, o).await?.map(|o| o.kind),
            None => None,
        };
        check_grant(&rule, org_kind.as_deref(), None)
            .map_err(|e| invalid("profile_id", e.to_string()))?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let ended = catalogue::revoke(&mut tx, enablement_id).await?;
        let id = catalogue::grant(
            &mut tx,
            user.id,
            e.application_id,
            profile_id,
            Some(actor_id),
            now,
        )
        .await?;
        let detail = format!(
            "{{\"application\":{},\"from\":{},\"to\":{profile_id},\"subdelegations_ended\":{ended}}}",
            e.application_id, e.profile_id
        );
        record_on_user(
            &mut tx,
            who,
            actor_id,
            "user.change_profile",
            user.id,
            &detail,
            origin,
            now,
        )
        .await?;
        queue_mail(
            &mut tx,
            &MailMessage {
                from: None,
                to: vec![user.email.clone()],
                subject: format!("Sportello: nuovo profilo per {}", e.application_name),
                body: format!(
                    "Gentile {} {},\n\nil tuo profilo per {} ora è: {}.\n\nSportello",
                    user.given_name, user.family_name, e.application_name, rule.name
                ),
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// Disables or re-enables an account. Disabling ends its sessions and the
    /// sub-delegations it gave.
    pub async fn set_user_disabled(
        &self,
        who: Option<&SessionUser>,
        user_id: i64,
        disabled: bool,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let (user, actor_id) = self.managed_user(who, user_id).await?;
        if who.is_some_and(|w| w.user.id == user.id) {
            return Err(invalid(
                "user",
                "non puoi disabilitare la tua stessa utenza",
            ));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        lifecycle::set_disabled(&mut tx, user.id, disabled, now).await?;
        let mut detail = "{}".to_string();
        if disabled {
            let ended = sessions::delete_for_user(&mut tx, user.id).await?;
            let delegations = catalogue::revoke_subdelegations_of(&mut tx, user.id, now).await?;
            self.oidc_user_gone(&mut tx, user.id, now).await?;
            detail =
                format!("{{\"sessions_ended\":{ended},\"subdelegations_ended\":{delegations}}}");
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.reenable"
        };
        record(
            &mut tx,
            &format!("user:{actor_id}"),
            who.and_then(|w| w.user.organization_id),
            action,
            &format!("user:{}", user.id),
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Deletes an account: personal data erased, the audit trail kept.
    pub async fn delete_user(
        &self,
        who: Option<&SessionUser>,
        user_id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let (user, actor_id) = self.managed_user(who, user_id).await?;
        if who.is_some_and(|w| w.user.id == user.id) {
            return Err(invalid("user", "non puoi eliminare la tua stessa utenza"));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        self.oidc_user_gone(&mut tx, user.id, now).await?;
        lifecycle::pseudonymise(&mut tx, user.id, now).await?;
        record_on_user(
            &mut tx,
            who,
            actor_id,
            "user.delete",
            user.id,
            "{\"personal_data\":\"erased\"}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Sends the first-access e-mail again (a new activation link if the user
    /// has not chosen a password yet; otherwise a reminder without credentials).
    pub async fn resend_first_access(
        &self,
        who: Option<&SessionUser>,
        user_id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let (user, actor_id) = self.managed_user(who, user_id).await?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let access = self
            .first_access_paragraph(&mut tx, &user, now, true)
            .await?;
        queue_mail(
            &mut tx,
            &MailMessage {
                from: None,
                to: vec![user.email.clone()],
                subject: "Sportello: la tua utenza".into(),
                body: format!("Gentile {} {},\n\nti ricordiamo la tua utenza Sportello.\n\n{access}\n\nSportello", user.given_name, user.family_name),
            },
            now,
        )
        .await?;
        record_on_user(
            &mut tx,
            who,
            actor_id,
            "user.resend_first_access",
            user.id,
            "{}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Sub-delegation (seed 004): the holder of a profile extends it, or a
    /// narrower one, to a collaborator, optionally until a date.
    pub async fn subdelegate(
        &self,
        session: &SessionUser,
        enablement_id: i64,
        delegate_fiscal_code: &str,
        profile_id: i64,
        expires_at: Option<i64>,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        let code = FiscalCode::parse(delegate_fiscal_code)
            .map_err(|e| invalid("fiscal_code", format!("codice fiscale: {e}")))?;
        let own = catalogue::enablement(&self.db, enablement_id)
            .await?
            .filter(|e| e.user_id == session.user.id);
        let held = match &own {
            Some(e) => catalogue::profile_rule(&self.db, e.profile_id).await?,
            None => None,
        };
        let offered = catalogue::profile_rule(&self.db, profile_id)
            .await?
            .ok_or_else(|| invalid("profile_id", "profilo sconosciuto"))?;
        let delegate = directory::user_by_fiscal_code(&self.db, code.as_str())
            .await?
            .filter(|u| u.status == Status::Active.code())
            .ok_or_else(|| {
                invalid(
                    "fiscal_code",
                    "nessuna utenza attiva con questo codice fiscale",
                )
            })?;
        let now = now_micros();
        let delegate_holds =
            catalogue::holds_application(&self.db, delegate.id, offered.application_id, now)
                .await?;
        check_delegation(
            held.as_ref(),
            &offered,
            delegate.id == session.user.id,
            delegate_holds,
            expires_at,
            now,
        )
        .map_err(|e| invalid("profile_id", e.to_string()))?;
        let own = own.ok_or_else(|| {
            invalid(
                "profile_id",
                "puoi subdelegare solo un profilo che possiedi direttamente",
            )
        })?;
        let mut tx = self.db.begin_write().await?;
        let id = catalogue::create_subdelegation(
            &mut tx,
            own.id,
            session.user.id,
            delegate.id,
            offered.application_id,
            profile_id,
            now,
            expires_at,
        )
        .await?;
        let detail = format!(
            "{{\"delegate\":{},\"profile\":{profile_id},\"expires_at\":{}}}",
            delegate.id,
            expires_at.map(|e| e.to_string()).unwrap_or("null".into())
        );
        record(
            &mut tx,
            &format!("user:{}", session.user.id),
            session.user.organization_id,
            "subdelegation.create",
            &format!("user:{}", delegate.id),
            &detail,
            origin,
            now,
        )
        .await?;
        queue_mail(
            &mut tx,
            &MailMessage {
                from: None,
                to: vec![delegate.email.clone()],
                subject: format!("Sportello: subdelega per {}", offered.name),
                body: format!(
                    "Gentile {} {},\n\n{} {} ti ha subdelegato il profilo {}. Lo trovi in «I miei servizi»; {} ne resta responsabile.\n\nSportello",
                    delegate.given_name, delegate.family_name, session.user.given_name, session.user.family_name, offered.name, session.user.given_name
                ),
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    pub async fn revoke_subdelegation(
        &self,
        session: &SessionUser,
        id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if !catalogue::revoke_subdelegation(&mut tx, id, session.user.id, now).await? {
            return Err(AppError::NotFound);
        }
        record(
            &mut tx,
            &format!("user:{}", session.user.id),
            session.user.organization_id,
            "subdelegation.revoke",
            &format!("subdelegation:{id}"),
            "{}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Seed 000: the head of an office asks for a local administrator, with a
    /// signed letter attached. Anyone may file; the central administrator decides.
    pub async fn request_appointment(
        &self,
        input: &AppointmentInput,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        let org_id = input
            .organization_id
            .ok_or_else(|| invalid("organization_id", "scegli l'ente"))?;
        let org = directory::organization(&self.db, org_id)
            .await?
            .ok_or_else(|| invalid("organization_id", "ente sconosciuto"))?;
        let text = |field: &'static str, v: &str, max: usize| -> Result<String, AppError> {
            let v = v.trim();
            if v.is_empty() {
                return Err(invalid(field, "campo obbligatorio"));
            }
            if v.chars().count() > max || v.chars().any(char::is_control) {
                return Err(invalid(
                    field,
                    format!("al massimo {max} caratteri, senza caratteri di controllo"),
                ));
            }
            Ok(v.to_string())
        };
        let email = |field: &'static str, v: &str| -> Result<String, AppError> {
            let v = text(field, v, 254)?;
            v.parse::<lettre::Address>()
                .map_err(|_| invalid(field, format!("«{v}» non è un indirizzo e-mail valido")))?;
            Ok(v)
        };
        let requester_name = text("requester_name", &input.requester_name, 200)?;
        let requester_email = email("requester_email", &input.requester_email)?;
        let requester_role = text("requester_role", &input.requester_role, 200)?;
        let code = FiscalCode::parse(&input.candidate_fiscal_code)?;
        let given = text("candidate_given_name", &input.candidate_given_name, 100)?;
        let family = text("candidate_family_name", &input.candidate_family_name, 100)?;
        let candidate_email = email("candidate_email", &input.candidate_email)?;
        if input.letter.is_empty() {
            return Err(invalid("letter", "allega la lettera di nomina firmata"));
        }
        if input.letter.len() > MAX_LETTER_BYTES {
            return Err(invalid(
                "letter",
                format!("il file supera {} MB", MAX_LETTER_BYTES / 1024 / 1024),
            ));
        }
        let letter_type = letter_type(&input.letter_name, &input.letter)
            .ok_or_else(|| invalid("letter", "sono ammessi PDF e file firmati .p7m"))?;
        let digest = hex::encode(Sha256::digest(&input.letter));
        let letter_name: String = input
            .letter_name
            .chars()
            .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
            .take(200)
            .collect();
        let now = now_micros();
        let recipients = lifecycle::central_admin_emails(&self.db).await?;
        let mut tx = self.db.begin_write().await?;
        let id = lifecycle::insert_appointment(
            &mut tx,
            &NewAppointment {
                organization_id: org_id,
                requester_name: &requester_name,
                requester_email: &requester_email,
                requester_role: &requester_role,
                candidate_fiscal_code: code.as_str(),
                candidate_given_name: &given,
                candidate_family_name: &family,
                candidate_email: &candidate_email,
                letter_name: &letter_name,
                letter_type,
                letter_sha256: &digest,
                letter: &input.letter,
            },
            now,
        )
        .await?;
        let subject = format!(
            "{} - nomina amministratore locale delle utenze (richiesta n. {id})",
            org.name
        );
        queue_mail(
            &mut tx,
            &MailMessage {
                from: None,
                to: vec![requester_email.clone()],
                subject: subject.clone(),
                body: format!(
                    "Gentile {requester_name},\n\nabbiamo ricevuto la richiesta n. {id} di nomina di {given} {family} ad amministratore locale delle utenze per {}.\n\
                     Riceverai l'esito per e-mail.\n\nSportello",
                    org.name
                ),
            },
            now,
        )
        .await?;
        if !recipients.is_empty() {
            queue_mail(
                &mut tx,
                &MailMessage {
                    from: None,
                    to: recipients,
                    subject,
                    body: format!("È arrivata la richiesta n. {id} di {requester_name} ({requester_role}) per {}: esaminala in Sportello, «Nomine».", org.name),
                },
                now,
            )
            .await?;
        }
        let detail = format!("{{\"organization\":{org_id},\"letter_sha256\":\"{digest}\"}}");
        record(
            &mut tx,
            "anonymous",
            None,
            "appointment.request",
            &format!("appointment:{id}"),
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// Approves (creating the user if needed and giving the role) or rejects
    /// an appointment request. The new administrator gets credentials by
    /// e-mail only if he has none.
    pub async fn decide_appointment(
        &self,
        who: Option<&SessionUser>,
        id: i64,
        approve: bool,
        note: &str,
        origin: &Origin,
    ) -> Result<(), AppError> {
        self.authorize(who, &Action::DecideAppointments)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let request = lifecycle::appointment(&self.db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if request.status != "pending" {
            return Err(invalid("decision", "la richiesta è già stata decisa"));
        }
        let note: String = note.trim().chars().take(1000).collect();
        if !approve && note.is_empty() {
            return Err(invalid("note", "indica il motivo del rifiuto"));
        }
        let existing =
            directory::user_by_fiscal_code(&self.db, &request.candidate_fiscal_code).await?;
        if let Some(u) = &existing
            && u.status != Status::Active.code()
            && u.status != Status::PendingActivation.code()
        {
            return Err(invalid(
                "decision",
                "l'utenza del candidato è disabilitata o eliminata",
            ));
        }
        let now = now_micros();
        let actor = format!("user:{}", who.user.id);
        let mut tx = self.db.begin_write().await?;
        if !lifecycle::decide_appointment(
            &mut tx,
            id,
            if approve { "approved" } else { "rejected" },
            who.user.id,
            &note,
            now,
        )
        .await?
        {
            return Err(invalid("decision", "la richiesta è già stata decisa"));
        }
        if approve {
            let (user_id, _) = directory::ensure_user(
                &mut tx,
                &NewUser {
                    fiscal_code: &request.candidate_fiscal_code,
                    given_name: &request.candidate_given_name,
                    family_name: &request.candidate_family_name,
                    email: &request.candidate_email,
                    category: "public_employee",
                    status: Status::PendingActivation.code(),
                    organization_id: Some(request.organization_id),
                    ..Default::default()
                },
                now,
            )
            .await?;
            directory::ensure_role(
                &mut tx,
                user_id,
                &Grant {
                    role: Role::LocalAdmin,
                    organization_id: Some(request.organization_id),
                    office_id: None,
                    region: None,
                },
            )
            .await?;
            let user = match existing {
                Some(u) => u,
                None => directory::user_by_id_in(&mut tx, user_id)
                    .await?
                    .unwrap_or_else(|| placeholder(user_id, &request)),
            };
            let access = self
                .first_access_paragraph(&mut tx, &user, now, false)
                .await?;
            queue_mail(
                &mut tx,
                &MailMessage {
                    from: None,
                    to: vec![request.candidate_email.clone()],
                    subject: format!("Sportello: sei amministratore locale delle utenze per {}", request.organization_name),
                    body: format!(
                        "Gentile {} {},\n\nsei stato nominato amministratore locale delle utenze per {}. Dall'area riservata, voce «Utenti», \
                         gestisci le utenze del tuo ente; la guida è nella sezione «Assistenza online» della console.\n\n{access}\n\nSportello",
                        request.candidate_given_name, request.candidate_family_name, request.organization_name
                    ),
                },
                now,
            )
            .await?;
            let detail = format!(
                "{{\"organization\":{},\"appointment\":{id}}}",
                request.organization_id
            );
            record(
                &mut tx,
                &actor,
                who.user.organization_id,
                "local_admin.appoint",
                &format!("user:{user_id}"),
                &detail,
                origin,
                now,
            )
            .await?;
        }
        queue_mail(
            &mut tx,
            &MailMessage {
                from: None,
                to: vec![request.requester_email.clone()],
                subject: format!("{} - nomina amministratore locale delle utenze (richiesta n. {id}): {}", request.organization_name, if approve { "accolta" } else { "respinta" }),
                body: if approve {
                    format!("La richiesta n. {id} è stata accolta: {} {} è amministratore locale delle utenze.\n\nSportello", request.candidate_given_name, request.candidate_family_name)
                } else {
                    format!("La richiesta n. {id} è stata respinta. Motivo: {note}\n\nSportello")
                },
            },
            now,
        )
        .await?;
        let action = if approve {
            "appointment.approve"
        } else {
            "appointment.reject"
        };
        record(
            &mut tx,
            &actor,
            who.user.organization_id,
            action,
            &format!("appointment:{id}"),
            "{}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The central administrator withdraws a local administrator's role.
    pub async fn revoke_local_admin(
        &self,
        who: Option<&SessionUser>,
        user_id: i64,
        organization_id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        self.authorize(who, &Action::DecideAppointments)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if !lifecycle::remove_role(&mut tx, user_id, Role::LocalAdmin.code(), organization_id)
            .await?
        {
            return Err(AppError::NotFound);
        }
        let detail = format!("{{\"organization\":{organization_id}}}");
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "local_admin.revoke",
            &format!("user:{user_id}"),
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

/// Records an administrator's act on a user, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn record_on_user(
    tx: &mut sportello_store::AnyConnection,
    who: Option<&SessionUser>,
    actor_id: i64,
    action: &str,
    user_id: i64,
    detail: &str,
    origin: &Origin,
    now: i64,
) -> Result<i64, AppError> {
    record(
        tx,
        &format!("user:{actor_id}"),
        who.and_then(|w| w.user.organization_id),
        action,
        &format!("user:{user_id}"),
        detail,
        origin,
        now,
    )
    .await
}

fn placeholder(id: i64, r: &lifecycle::AppointmentRequest) -> User {
    User {
        id,
        fiscal_code: r.candidate_fiscal_code.clone(),
        given_name: r.candidate_given_name.clone(),
        family_name: r.candidate_family_name.clone(),
        email: r.candidate_email.clone(),
        category: "public_employee".into(),
        status: Status::PendingActivation.code().into(),
        organization_id: Some(r.organization_id),
        password_hash: None,
        password_changed_at: None,
        must_change_password: 0,
        pec: None,
        phone: None,
        failed_logins: 0,
        last_failed_login_at: 0,
        locked_until: None,
        last_login_at: None,
        created_at: 0,
    }
}

/// Accepts PDF and CAdES (.p7m) letters, judged by content as well as name.
fn letter_type(name: &str, bytes: &[u8]) -> Option<&'static str> {
    let lower = name.to_lowercase();
    if bytes.starts_with(b"%PDF-") && lower.ends_with(".pdf") {
        Some("application/pdf")
    } else if lower.ends_with(".p7m") && bytes.first() == Some(&0x30) {
        Some("application/pkcs7-mime")
    } else {
        None
    }
}
