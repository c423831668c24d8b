//! Getting in, safely: password login with throttling and lockout, first
//! access (activation link or temporary password), password change with
//! policy and history, reset by e-mail, expiry and its warning, sessions.

use sportello_core::FiscalCode;
use sportello_core::authz::Action;
use sportello_core::identity::{Category, Gate, PasswordAge, Status, password_age};
use sportello_store::credentials::{self, ACTIVATION, RESET};
use sportello_store::directory::{self, NewUser, User};
use sportello_store::{AnyConnection, StoreError, sessions};

use crate::mail::MailMessage;
use crate::security::{random_token, token_hash};
use crate::{App, AppError, LoginSuccess, Origin, SessionUser, now_micros, queue_mail, record};

const MINUTE: i64 = 60_000_000;
const LOGIN_SCOPE: &str = "login";
const RESET_SCOPE: &str = "reset";

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        message: message.into(),
    }
}

/// What an administrator provides to create a user.
#[derive(Clone, Debug, Default)]
pub struct NewUserInput {
    pub fiscal_code: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub pec: String,
    pub phone: String,
    pub category: String,
    pub organization_id: Option<i64>,
    /// `activation_link` or `temporary_password`; empty = the configured default.
    pub first_access: String,
}

pub(crate) fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<String, AppError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(invalid(field, "campo obbligatorio"));
    }
    if v.chars().count() > max {
        return Err(invalid(field, format!("al massimo {max} caratteri")));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(field, "contiene caratteri non ammessi"));
    }
    Ok(v.to_string())
}

pub(crate) fn check_email(
    field: &'static str,
    value: &str,
    required: bool,
) -> Result<Option<String>, AppError> {
    let v = check_text(field, value, 254, required)?;
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<lettre::Address>()
        .map_err(|_| invalid(field, format!("«{v}» non è un indirizzo e-mail valido")))?;
    Ok(Some(v))
}

impl App {
    fn throttle(&self) -> sportello_core::identity::ThrottlePolicy {
        self.config.login.policy()
    }

    /// The window of requests by e-mail (password reset, registration)
    /// accepted from one address.
    fn request_window(&self) -> sportello_core::identity::ThrottlePolicy {
        sportello_core::identity::ThrottlePolicy {
            address_failures: self.config.login.reset_requests_per_window,
            ..self.throttle()
        }
    }

    /// Refuses a request by e-mail from an address whose window is full.
    pub(crate) async fn check_request_window(
        &self,
        scope: &str,
        address: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let seen = credentials::address_failures(&self.db, scope, address).await?;
        match self.request_window().address_gate(&seen, now) {
            Gate::Locked { until } => Err(AppError::Throttled {
                seconds: (until - now) / 1_000_000 + 1,
            }),
            _ => Ok(()),
        }
    }

    /// Counts a request by e-mail against its address's window, in the
    /// caller's transaction.
    pub(crate) async fn count_request_in(
        &self,
        tx: &mut AnyConnection,
        scope: &str,
        address: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let seen = credentials::address_failures_in(tx, scope, address).await?;
        credentials::save_address_failures(
            tx,
            scope,
            address,
            &self.request_window().address_failure(&seen, now),
        )
        .await?;
        Ok(())
    }

    pub(crate) fn password_must_change(&self, user: &User, now: i64) -> bool {
        let p = &self.config.password;
        user.must_change_password != 0
            || user.password_changed_at.is_some_and(|at| {
                password_age(at, now, p.max_age_days, p.expiry_warning_days) == PasswordAge::Expired
            })
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!(
            "{}{path}?token={token}",
            self.config.public_base_url.trim_end_matches('/')
        )
    }

    /// Password login with per-address and per-account throttling. Every
    /// outcome is in the audit trail; a lockout also tells the user by e-mail.
    pub async fn login(
        &self,
        fiscal_code: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<LoginSuccess, AppError> {
        let code = FiscalCode::parse(fiscal_code)?;
        let now = now_micros();
        let policy = self.throttle();
        let address = origin.address.clone().unwrap_or_default();
        let by_address = credentials::address_failures(&self.db, LOGIN_SCOPE, &address).await?;
        if let Gate::Locked { until } = policy.address_gate(&by_address, now) {
            metrics::counter!("sportello_logins_total", "outcome" => "throttled").increment(1);
            return Err(AppError::Throttled {
                seconds: (until - now) / 1_000_000 + 1,
            });
        }
        let user = directory::user_by_fiscal_code(&self.db, code.as_str()).await?;
        if let Some(u) = &user {
            match policy.account_gate(&credentials::failures_of(u), now) {
                Gate::Open => {}
                Gate::Wait { seconds } => return Err(AppError::Throttled { seconds }),
                Gate::Locked { until } => return Err(AppError::Locked { until }),
            }
        }
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let ok = self.hasher.verify(password.to_string(), stored).await;
        let now = now_micros();
        let user = match (ok, user) {
            (true, Some(u)) => u,
            (_, user) => {
                self.login_failed(&code, user.as_ref(), &address, origin, now)
                    .await?;
                metrics::counter!("sportello_logins_total", "outcome" => "refused").increment(1);
                return Err(AppError::BadCredentials);
            }
        };
        match Status::from_code(&user.status) {
            Some(Status::Active) => {}
            Some(Status::PendingActivation) => {
                return Err(AppError::AccountNotActive(
                    "in attesa di attivazione".into(),
                ));
            }
            _ => return Err(AppError::AccountNotActive("disabilitata".into())),
        }
        let session_token = self.open_session(&user, "password", origin, now).await?;
        metrics::counter!("sportello_logins_total", "outcome" => "ok").increment(1);
        Ok(LoginSuccess {
            session_token,
            user_id: user.id,
            must_change_password: self.password_must_change(&user, now),
        })
    }

    async fn login_failed(
        &self,
        code: &FiscalCode,
        user: Option<&User>,
        address: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<(), AppError> {
        let policy = self.throttle();
        let mut tx = self.db.begin_write().await?;
        // Re-read inside the write lock so concurrent failures all count.
        let by_address = credentials::address_failures_in(&mut tx, LOGIN_SCOPE, address).await?;
        credentials::save_address_failures(
            &mut tx,
            LOGIN_SCOPE,
            address,
            &policy.address_failure(&by_address, now),
        )
        .await?;
        let target = match user {
            Some(u) => format!("user:{}", u.id),
            None => format!("fiscal_code:{code}"),
        };
        record(
            &mut tx,
            "anonymous",
            None,
            "auth.login_failed",
            &target,
            "{\"method\":\"password\"}",
            origin,
            now,
        )
        .await?;
        if let Some(u) = user {
            let current = directory::user_by_id_in(&mut tx, u.id)
                .await?
                .unwrap_or_else(|| u.clone());
            let (failures, locked_now) =
                policy.account_failure(&credentials::failures_of(&current), now);
            credentials::save_failures(&mut tx, u.id, &failures).await?;
            if locked_now {
                let detail = format!(
                    "{{\"failures\":{},\"minutes\":{}}}",
                    failures.count, policy.lockout_minutes
                );
                record(
                    &mut tx,
                    "system",
                    None,
                    "auth.lockout",
                    &target,
                    &detail,
                    origin,
                    now,
                )
                .await?;
                queue_mail(
                    &mut tx,
                    &MailMessage {
                        from: None,
                        to: vec![u.email.clone()],
                        subject: "Sportello: accesso sospeso per troppi tentativi".into(),
                        body: format!(
                            "Gentile {} {},\n\ndopo {} tentativi di accesso non riusciti il tuo accesso a Sportello è sospeso per {} minuti.\n\
                             Se non sei stato tu, cambia la password con la funzione «Reset password» e avvisa l'amministratore delle utenze del tuo ente.\n\n\
                             After {} failed login attempts your access is suspended for {} minutes.\n\nSportello",
                            u.given_name, u.family_name, failures.count, policy.lockout_minutes, failures.count, policy.lockout_minutes
                        ),
                    },
                    now,
                )
                .await?;
                metrics::counter!("sportello_lockouts_total").increment(1);
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Creates a session for a user who has proven who he is.
    pub(crate) async fn open_session(
        &self,
        user: &User,
        method: &str,
        origin: &Origin,
        now: i64,
    ) -> Result<String, AppError> {
        let token = random_token();
        let absolute = self.config.session.absolute_timeout_hours * 60 * MINUTE;
        let mut tx = self.db.begin_write().await?;
        sessions::create(
            &mut tx,
            &token_hash(&token),
            user.id,
            &random_token(),
            now,
            now + absolute,
            origin.address.as_deref(),
            method,
        )
        .await?;
        credentials::record_login(&mut tx, user.id, now).await?;
        let actor = format!("user:{}", user.id);
        let detail = format!("{{\"method\":\"{method}\"}}");
        record(
            &mut tx,
            &actor,
            user.organization_id,
            "auth.login",
            &actor,
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(token)
    }

    /// Smart-card (CNS) login: the certificate chain (from the TLS listener or
    /// a trusted terminator) must verify, its codice fiscale must belong to an
    /// active user, and the user must not have removed this certificate.
    /// The certificate is bound to the account at first use.
    pub async fn login_with_certificate(
        &self,
        chain: &[rustls::pki_types::CertificateDer<'static>],
        origin: &Origin,
    ) -> Result<LoginSuccess, AppError> {
        let verifier = self.cns.as_ref().ok_or_else(|| {
            AppError::Certificate("accesso con smart card non configurato".into())
        })?;
        let now = now_micros();
        let identity = match verifier.verify(chain, rustls::pki_types::UnixTime::now()) {
            Ok(id) => id,
            Err(e) => {
                let mut tx = self.db.begin_write().await?;
                let detail = format!(
                    "{{\"method\":\"cns\",\"reason\":\"{}\"}}",
                    e.to_string().replace('"', "'")
                );
                record(
                    &mut tx,
                    "anonymous",
                    None,
                    "auth.login_failed",
                    "certificate",
                    &detail,
                    origin,
                    now,
                )
                .await?;
                tx.commit().await.map_err(StoreError::from)?;
                metrics::counter!("sportello_logins_total", "outcome" => "refused").increment(1);
                return Err(AppError::Certificate(e.to_string()));
            }
        };
        let user = directory::user_by_fiscal_code(&self.db, identity.fiscal_code.as_str())
            .await?
            .filter(|u| u.status == Status::Active.code());
        let Some(user) = user else {
            return Err(AppError::Certificate(
                "il codice fiscale del certificato non corrisponde a nessuna utenza attiva".into(),
            ));
        };
        if let Some(bound) =
            credentials::certificate_by_fingerprint(&self.db, &identity.fingerprint).await?
            && (bound.removed_at.is_some() || bound.user_id != user.id)
        {
            return Err(AppError::Certificate("questo certificato è stato rimosso dall'utenza e non può essere usato per accedere".into()));
        }
        {
            let mut tx = self.db.begin_write().await?;
            credentials::bind_certificate(
                &mut tx,
                &credentials::NewCertificate {
                    user_id: user.id,
                    fingerprint: &identity.fingerprint,
                    subject: &identity.subject,
                    issuer: &identity.issuer,
                    serial: &identity.serial,
                    not_after: identity.not_after,
                },
                now,
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let session_token = self.open_session(&user, "cns", origin, now).await?;
        metrics::counter!("sportello_logins_total", "outcome" => "ok").increment(1);
        Ok(LoginSuccess {
            session_token,
            user_id: user.id,
            must_change_password: false,
        })
    }

    /// "Gestione CNS": the user removes a certificate from his account.
    pub async fn remove_certificate(
        &self,
        session: &SessionUser,
        id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if !credentials::remove_certificate(&mut tx, session.user.id, id, now).await? {
            return Err(AppError::NotFound);
        }
        let actor = format!("user:{}", session.user.id);
        record(
            &mut tx,
            &actor,
            session.user.organization_id,
            "auth.certificate_removed",
            &format!("certificate:{id}"),
            "{}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Checks a new password against the policy and the user's history.
    async fn acceptable_password(
        &self,
        user: &User,
        new: &str,
        confirm: &str,
    ) -> Result<(), AppError> {
        if new != confirm {
            return Err(invalid(
                "confirm_password",
                "le due password non coincidono",
            ));
        }
        if new.chars().count() > 256 {
            return Err(invalid("new_password", "al massimo 256 caratteri"));
        }
        self.config
            .password
            .check(
                new,
                &[&user.fiscal_code, &user.given_name, &user.family_name],
            )
            .map_err(|e| invalid("new_password", e.to_string()))?;
        let n = self.config.password.history.max(1) as i64;
        let mut previous = credentials::recent_password_hashes(&self.db, user.id, n).await?;
        if let Some(current) = &user.password_hash
            && !previous.contains(current)
        {
            previous.push(current.clone());
        }
        for hash in previous {
            if self.hasher.verify(new.to_string(), Some(hash)).await {
                return Err(invalid(
                    "new_password",
                    format!("la nuova password non può essere uguale a una delle ultime {n}"),
                ));
            }
        }
        Ok(())
    }

    /// "Cambio password": the current password, then a new one. Other
    /// sessions end; the user is told by e-mail.
    pub async fn change_password(
        &self,
        session: &SessionUser,
        current: &str,
        new: &str,
        confirm: &str,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let user = directory::user_by_id(&self.db, session.user.id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !self
            .hasher
            .verify(current.to_string(), user.password_hash.clone())
            .await
        {
            return Err(invalid(
                "current_password",
                "la password attuale non è corretta",
            ));
        }
        self.acceptable_password(&user, new, confirm).await?;
        let hash = self
            .hasher
            .hash(new.to_string())
            .await
            .map_err(AppError::Internal)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        credentials::set_password(&mut tx, user.id, &hash, false, now).await?;
        let ended = sessions::delete_others(&mut tx, user.id, &session.session_hash).await?;
        let actor = format!("user:{}", user.id);
        let detail = format!("{{\"other_sessions_ended\":{ended}}}");
        record(
            &mut tx,
            &actor,
            user.organization_id,
            "auth.password_changed",
            &actor,
            &detail,
            origin,
            now,
        )
        .await?;
        queue_mail(&mut tx, &password_changed_mail(&user), now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// "Reset password": asks for a link by e-mail. The answer is the same
    /// whether or not the account exists.
    pub async fn request_reset(
        &self,
        fiscal_code: &str,
        email: &str,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let code = FiscalCode::parse(fiscal_code)?;
        let email = check_email("email", email, true)?.unwrap_or_default();
        let now = now_micros();
        let address = origin.address.clone().unwrap_or_default();
        self.check_request_window(RESET_SCOPE, &address, now)
            .await?;
        let user = directory::user_by_fiscal_code(&self.db, code.as_str()).await?;
        let mut tx = self.db.begin_write().await?;
        self.count_request_in(&mut tx, RESET_SCOPE, &address, now)
            .await?;
        let eligible = user.filter(|u| {
            u.email.eq_ignore_ascii_case(&email)
                && matches!(
                    Status::from_code(&u.status),
                    Some(Status::Active | Status::PendingActivation)
                )
        });
        if let Some(u) = eligible {
            let token = random_token();
            let minutes = self.config.identity.reset_link_minutes;
            credentials::create_token(
                &mut tx,
                &token_hash(&token),
                u.id,
                RESET,
                now,
                now + minutes * MINUTE,
            )
            .await?;
            let target = format!("user:{}", u.id);
            record(
                &mut tx,
                "anonymous",
                None,
                "auth.reset_requested",
                &target,
                "{}",
                origin,
                now,
            )
            .await?;
            queue_mail(
                &mut tx,
                &MailMessage {
                    from: None,
                    to: vec![u.email.clone()],
                    subject: "Sportello: reimpostazione della password".into(),
                    body: format!(
                        "Gentile {} {},\n\nper scegliere una nuova password apri questo collegamento entro {minutes} minuti (vale una sola volta):\n\n{}\n\n\
                         Se non hai chiesto tu la reimpostazione, ignora questo messaggio: la password attuale resta valida.\n\n\
                         To choose a new password open the link above within {minutes} minutes (it works once).\n\nSportello",
                        u.given_name,
                        u.family_name,
                        self.link("/reset-password/nuova", &token)
                    ),
                },
                now,
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Whether an e-mailed link can still be used (to show the form or a clear refusal).
    pub async fn token_usable(&self, token: &str, purpose: &str) -> Result<bool, AppError> {
        let now = now_micros();
        Ok(
            credentials::find_token(&self.db, &token_hash(token), purpose)
                .await?
                .is_some_and(|t| t.used_at.is_none() && t.expires_at > now),
        )
    }

    /// Sets a new password from an e-mailed link (reset or first activation).
    pub async fn complete_with_token(
        &self,
        token: &str,
        purpose: &str,
        new: &str,
        confirm: &str,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let hash_of_token = token_hash(token);
        let now = now_micros();
        let found = credentials::find_token(&self.db, &hash_of_token, purpose).await?;
        let Some(t) = found.filter(|t| t.used_at.is_none() && t.expires_at > now) else {
            return Err(AppError::InvalidToken);
        };
        let user = directory::user_by_id(&self.db, t.user_id)
            .await?
            .ok_or(AppError::InvalidToken)?;
        self.acceptable_password(&user, new, confirm).await?;
        let hash = self
            .hasher
            .hash(new.to_string())
            .await
            .map_err(AppError::Internal)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if credentials::consume_token(&mut tx, &hash_of_token, purpose, now)
            .await?
            .is_none()
        {
            return Err(AppError::InvalidToken);
        }
        credentials::set_password(&mut tx, user.id, &hash, false, now).await?;
        if user.status == Status::PendingActivation.code() {
            credentials::set_status(&mut tx, user.id, Status::Active.code()).await?;
        }
        sessions::delete_for_user(&mut tx, user.id).await?;
        let target = format!("user:{}", user.id);
        let action = if purpose == ACTIVATION {
            "auth.activated"
        } else {
            "auth.password_reset"
        };
        record(
            &mut tx,
            &target,
            user.organization_id,
            action,
            &target,
            "{}",
            origin,
            now,
        )
        .await?;
        queue_mail(&mut tx, &password_changed_mail(&user), now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Creates a user and sends the first-access e-mail (activation link or
    /// temporary password). Central administrators and the local
    /// administrators of the organization (or of a body above it) may do it.
    pub async fn create_user(
        &self,
        who: Option<&SessionUser>,
        input: &NewUserInput,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        let org_id = input
            .organization_id
            .ok_or_else(|| invalid("organization_id", "scegli l'ente di appartenenza"))?;
        let path = directory::organization_path(&self.db, org_id).await?;
        if directory::organization(&self.db, org_id).await?.is_none() {
            return Err(invalid("organization_id", "ente sconosciuto"));
        }
        self.authorize(who, &Action::ManageUsersOf { org_path: &path })?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let code = FiscalCode::parse(&input.fiscal_code)?;
        let given = check_text("given_name", &input.given_name, 100, true)?;
        let family = check_text("family_name", &input.family_name, 100, true)?;
        let email = check_email("email", &input.email, true)?.unwrap_or_default();
        let pec = check_email("pec", &input.pec, false)?;
        let phone = check_text("phone", &input.phone, 20, false)?;
        if !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-/().".contains(c))
        {
            return Err(invalid("phone", "solo cifre, spazi e + - / ( ) ."));
        }
        let category = Category::from_code(&input.category)
            .ok_or_else(|| invalid("category", "categoria non valida"))?;
        let mode = if input.first_access.is_empty() {
            self.config.identity.first_access.as_str()
        } else {
            input.first_access.as_str()
        };
        if !matches!(mode, "activation_link" | "temporary_password") {
            return Err(invalid(
                "first_access",
                "modalità di primo accesso non valida",
            ));
        }
        if directory::user_by_fiscal_code(&self.db, code.as_str())
            .await?
            .is_some()
        {
            return Err(invalid(
                "fiscal_code",
                "esiste già un utente con questo codice fiscale",
            ));
        }
        let temporary = (mode == "temporary_password").then(temporary_password);
        let hash = match &temporary {
            Some(p) => Some(
                self.hasher
                    .hash(p.clone())
                    .await
                    .map_err(AppError::Internal)?,
            ),
            None => None,
        };
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let (user_id, created) = directory::ensure_user(
            &mut tx,
            &NewUser {
                fiscal_code: code.as_str(),
                given_name: &given,
                family_name: &family,
                email: &email,
                category: category.code(),
                status: if temporary.is_some() {
                    Status::Active.code()
                } else {
                    Status::PendingActivation.code()
                },
                organization_id: Some(org_id),
                password_hash: hash.as_deref(),
                must_change_password: temporary.is_some(),
                pec: pec.as_deref(),
                phone: (!phone.is_empty()).then_some(phone.as_str()),
            },
            now,
        )
        .await?;
        if !created {
            return Err(invalid(
                "fiscal_code",
                "esiste già un utente con questo codice fiscale",
            ));
        }
        if let Some(h) = &hash {
            credentials::set_password(&mut tx, user_id, h, true, now).await?;
        }
        let greeting =
            format!("Gentile {given} {family},\n\nsei stato registrato su Sportello dal tuo ente.");
        let body = match &temporary {
            Some(p) => format!(
                "{greeting}\n\nLa tua password provvisoria è: {p}\n\nAl primo accesso ({}/accedi) ti sarà chiesto di sceglierne una nuova.\n\n\
                 Your temporary password is above; you will be asked to change it at first login.\n\nSportello",
                self.config.public_base_url.trim_end_matches('/')
            ),
            None => {
                let token = random_token();
                let hours = self.config.identity.activation_link_hours;
                credentials::create_token(
                    &mut tx,
                    &token_hash(&token),
                    user_id,
                    ACTIVATION,
                    now,
                    now + hours * 60 * MINUTE,
                )
                .await?;
                format!(
                    "{greeting}\n\nPer attivare l'utenza e scegliere la password apri questo collegamento entro {hours} ore (vale una sola volta):\n\n{}\n\n\
                     To activate your account and choose a password open the link above within {hours} hours.\n\nSportello",
                    self.link("/attivazione", &token)
                )
            }
        };
        queue_mail(
            &mut tx,
            &MailMessage {
                from: None,
                to: vec![email.clone()],
                subject: "Sportello: la tua utenza".into(),
                body,
            },
            now,
        )
        .await?;
        let actor = format!("user:{}", who.user.id);
        let target = format!("user:{user_id}");
        let detail = format!("{{\"first_access\":\"{mode}\",\"organization\":{org_id}}}");
        record(
            &mut tx,
            &actor,
            who.user.organization_id,
            "user.create",
            &target,
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(user_id)
    }

    /// Lifts a lockout: an administrative act in the audit trail.
    pub async fn unlock_user(
        &self,
        who: Option<&SessionUser>,
        user_id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let user = directory::user_by_id(&self.db, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let path = match user.organization_id {
            Some(o) => directory::organization_path(&self.db, o).await?,
            None => Vec::new(),
        };
        self.authorize(who, &Action::ManageUsersOf { org_path: &path })?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        credentials::save_failures(&mut tx, user_id, &Default::default()).await?;
        let actor = format!("user:{}", who.user.id);
        record(
            &mut tx,
            &actor,
            who.user.organization_id,
            "user.unlock",
            &format!("user:{user_id}"),
            "{}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Ends every session of the user, this one included.
    pub async fn logout_everywhere(
        &self,
        session: &SessionUser,
        origin: &Origin,
    ) -> Result<u64, AppError> {
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let n = sessions::delete_for_user(&mut tx, session.user.id).await?;
        let actor = format!("user:{}", session.user.id);
        record(
            &mut tx,
            &actor,
            session.user.organization_id,
            "auth.logout_all",
            &actor,
            &format!("{{\"sessions\":{n}}}"),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(n)
    }

    /// Ends one other session of the user, named by the prefix of its id hash.
    pub async fn end_session(
        &self,
        session: &SessionUser,
        prefix: &str,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if !sessions::delete_for_user_by_prefix(&mut tx, session.user.id, prefix).await? {
            return Err(AppError::NotFound);
        }
        let actor = format!("user:{}", session.user.id);
        record(
            &mut tx,
            &actor,
            session.user.organization_id,
            "auth.session_ended",
            &actor,
            "{}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Queues the warning e-mail for passwords that expire within the warning
    /// period; each password is warned about once. Returns how many.
    pub async fn send_expiry_warnings(&self, now: i64) -> Result<usize, AppError> {
        let p = &self.config.password;
        let warn_from = now
            - i64::from(p.max_age_days.saturating_sub(p.expiry_warning_days)) * 24 * 60 * MINUTE;
        let expired_before = now - i64::from(p.max_age_days) * 24 * 60 * MINUTE;
        let users =
            credentials::passwords_to_warn(&self.db, expired_before, warn_from, 500).await?;
        let tz = jiff::tz::TimeZone::get(&self.config.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let mut sent = 0;
        for u in users {
            let Some(changed) = u.password_changed_at else {
                continue;
            };
            let expires = changed + i64::from(p.max_age_days) * 24 * 60 * MINUTE;
            let when = jiff::Timestamp::from_microsecond(expires)
                .map(|t| t.to_zoned(tz.clone()).strftime("%d/%m/%Y").to_string())
                .unwrap_or_default();
            let mut tx = self.db.begin_write().await?;
            credentials::mark_warning_sent(&mut tx, u.id, now).await?;
            queue_mail(
                &mut tx,
                &MailMessage {
                    from: None,
                    to: vec![u.email.clone()],
                    subject: "Sportello: la tua password sta per scadere".into(),
                    body: format!(
                        "Gentile {} {},\n\nla tua password scade il {when}. Cambiala prima di allora con la funzione «Cambio password» ({}/cambio-password): \
                         dopo la scadenza potrai accedere solo per cambiarla.\n\nYour password expires on {when}: change it before then.\n\nSportello",
                        u.given_name,
                        u.family_name,
                        self.config.public_base_url.trim_end_matches('/')
                    ),
                },
                now,
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            sent += 1;
        }
        Ok(sent)
    }
}

fn password_changed_mail(user: &User) -> MailMessage {
    MailMessage {
        from: None,
        to: vec![user.email.clone()],
        subject: "Sportello: password modificata".into(),
        body: format!(
            "Gentile {} {},\n\nla password della tua utenza Sportello è stata modificata. Se non sei stato tu, usa subito «Reset password» \
             e avvisa l'amministratore delle utenze del tuo ente.\n\nYour Sportello password has been changed.\n\nSportello",
            user.given_name, user.family_name
        ),
    }
}

/// A temporary password that satisfies any reasonable policy: 16 characters
/// from four classes, unambiguous letters only.
pub fn temporary_password() -> String {
    const LOWER: &[u8] = b"abcdefghjkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"-_.!@#%+=";
    let mut raw = [0u8; 16];
    getrandom::getrandom(&mut raw).expect("the operating system provides randomness");
    raw.iter()
        .enumerate()
        .map(|(i, b)| {
            let set = [LOWER, UPPER, DIGITS, SYMBOLS][i % 4];
            set[*b as usize % set.len()] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn temporary_passwords_pass_the_default_policy() {
        let policy = sportello_core::password_policy::PasswordPolicy::default();
        for _ in 0..50 {
            let p = super::temporary_password();
            assert_eq!(p.chars().count(), 16);
            assert!(policy.check(&p, &[]).is_ok(), "{p}");
        }
    }
}
