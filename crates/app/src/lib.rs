//! Sportello's use cases. Each one is a single database transaction that
//! checks authorization, changes state, appends the audit event and queues
//! outgoing work in the outbox, so a 2xx answer means all of it is committed.

pub mod bulk;
pub mod cades;
pub mod catalogue_admin;
pub mod cns;
pub mod config;
pub mod delegation;
pub mod demo;
pub mod desk;
pub mod filings;
pub mod identity;
pub mod import;
pub mod kb;
pub mod mail;
pub mod mail_in;
pub mod oidc;
pub mod organizations;
pub mod registration;
pub mod scim;
pub mod security;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use sportello_core::authz::{self, Action, Actor, Decision};
use sportello_core::retry::RetryPolicy;
use sportello_store::directory::{self, User};
use sportello_store::{Db, StoreError, audit, outbox, sessions};

pub use config::Config;
pub use sportello_store::now_micros;

use crate::mail::{MailMessage, Mailer};
use crate::security::{PasswordHasherConfig, token_hash};

#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub config: Arc<Config>,
    pub mailer: Mailer,
    pub hasher: PasswordHasherConfig,
    /// Smart-card verification, when a CA bundle is configured.
    pub cns: Option<Arc<cns::CnsVerifier>>,
    /// The secret the mail gate presents to `/api/v1/mailgate`.
    pub mailgate_token: Arc<String>,
    /// Concurrent web submissions share one commit.
    pub group: Arc<desk::group::GroupCommit>,
    /// The search index of the knowledge base, under `<data_dir>/kb-index`.
    pub kb: Arc<kb::KbIndex>,
}

/// Errors a use case reports to its caller.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input rejected: which field, and why.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A codice fiscale that does not validate (the reason says why).
    #[error("codice fiscale: {0}")]
    InvalidFiscalCode(#[from] sportello_core::fiscal_code::FiscalCodeError),
    /// Wrong password or unknown account: deliberately indistinguishable.
    #[error("codice fiscale o password non corretti")]
    BadCredentials,
    /// Too many attempts from this address or on this account: wait.
    #[error("troppi tentativi: riprova tra {seconds} secondi")]
    Throttled { seconds: i64 },
    /// The account is locked after repeated failures, until the given instant.
    #[error("accesso sospeso per troppi tentativi falliti")]
    Locked { until: i64 },
    /// An e-mailed link that is unknown, already used or expired.
    #[error("il collegamento non è valido, è già stato usato o è scaduto")]
    InvalidToken,
    /// Correct credentials, but the account cannot be used (not yet activated, disabled).
    #[error("utenza non attiva ({0})")]
    AccountNotActive(String),
    /// A smart-card certificate refused (the reason is for the user).
    #[error("{0}")]
    Certificate(String),
    #[error("accesso richiesto")]
    NeedsLogin,
    #[error("operazione non consentita: {0}")]
    Forbidden(&'static str),
    #[error("non trovato")]
    NotFound,
    /// Several fields rejected at once (a configurable form): key and reason.
    #[error("dati non validi: {}", .0.iter().map(|(k, m)| format!("{k}: {m}")).collect::<Vec<_>>().join("; "))]
    InvalidFields(Vec<(String, String)>),
    /// The channel is outside its opening hours; when it reopens (µs UTC).
    #[error("il canale è chiuso in questo momento")]
    ChannelClosed { reopens_at: Option<i64> },
    /// Someone else changed the record first; nothing was written.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// A logged-in user as the web layer sees it.
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub session_hash: String,
    pub csrf_token: String,
    pub user: User,
    pub organization_name: Option<String>,
    pub actor: Actor,
    /// A temporary or expired password: only the change page is open.
    pub must_change_password: bool,
}

/// Where a request comes from, for the audit trail.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub address: Option<String>,
}

pub struct LoginSuccess {
    /// The new session id, for the cookie; only its hash is stored.
    pub session_token: String,
    pub user_id: i64,
    /// The password is temporary or expired: it must be changed first.
    pub must_change_password: bool,
}

/// Appends an audit event inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record(
    conn: &mut sportello_store::AnyConnection,
    actor: &str,
    acting_organization: Option<i64>,
    action: &str,
    target: &str,
    detail: &str,
    origin: &Origin,
    now: i64,
) -> Result<i64, AppError> {
    let org = acting_organization.map(|o| format!("org:{o}"));
    Ok(audit::append(
        conn,
        &audit::NewEvent {
            actor,
            acting_organization: org.as_deref(),
            action,
            target,
            detail,
            source_address: origin.address.as_deref(),
        },
        now,
    )
    .await?)
}

impl App {
    pub async fn new(config: Config, db: Db) -> Result<App, String> {
        let host = url::Url::parse(&config.public_base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".into());
        let mailer = Mailer::from_config(&config.mail, &config.data_dir, &host)?;
        let hasher = PasswordHasherConfig::new(&config.argon2)?;
        if let Ok(start) = config.clock_start.parse::<jiff::Timestamp>() {
            sportello_store::start_clock_at(start.as_microsecond());
            tracing::warn!(clock_start = %config.clock_start, "the clock starts at a configured instant");
        }
        let cns = if config.cns.client_ca_bundle.is_empty() {
            None
        } else {
            let crls: Vec<std::path::PathBuf> = config
                .cns
                .crl_files
                .iter()
                .map(std::path::PathBuf::from)
                .collect();
            Some(Arc::new(
                cns::CnsVerifier::from_pem_files(
                    std::path::Path::new(&config.cns.client_ca_bundle),
                    &crls,
                )
                .map_err(|e| format!("cns.client_ca_bundle: {e}"))?,
            ))
        };
        let mailgate_token = Arc::new(desk::mailgate::mailgate_token(&config, false)?);
        let kb = kb::search::open_shared(&config.data_dir.join("kb-index"))?;
        Ok(App {
            group: Arc::default(),
            kb,
            mailgate_token,
            db,
            config: Arc::new(config),
            mailer,
            hasher,
            cns,
        })
    }

    pub fn worker(&self) -> worker::Worker {
        let o = &self.config.outbox;
        worker::Worker {
            db: self.db.clone(),
            mailer: self.mailer.clone(),
            policy: RetryPolicy {
                base_delay: Duration::from_millis(o.base_delay_ms),
                max_delay: Duration::from_secs(o.max_delay_seconds),
                max_attempts: o.max_attempts,
            },
            lease: Duration::from_secs(o.lease_seconds),
            poll_interval: Duration::from_millis(o.poll_interval_ms),
            courier: self.courier(),
        }
    }

    /// Resolves a session cookie, enforcing idle and absolute timeouts.
    pub async fn session_user(&self, token: &str) -> Result<Option<SessionUser>, AppError> {
        let hash = token_hash(token);
        let Some(s) = sessions::find(&self.db, &hash).await? else {
            return Ok(None);
        };
        let now = now_micros();
        let idle = self.config.session.idle_timeout_minutes * 60_000_000;
        if now > s.expires_at || now - s.last_seen_at > idle {
            let mut tx = self.db.begin_write().await?;
            sessions::delete(&mut tx, &hash).await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(None);
        }
        let Some(user) = directory::user_by_id(&self.db, s.user_id).await? else {
            return Ok(None);
        };
        if user.status != "active" {
            return Ok(None);
        }
        // Refresh the idle clock at most once a minute to spare writes.
        if now - s.last_seen_at > 60_000_000 {
            sessions::touch(&self.db, &hash, now).await?;
        }
        let organization_name = match user.organization_id {
            Some(id) => directory::organization(&self.db, id).await?.map(|o| o.name),
            None => None,
        };
        let grants = directory::grants(&self.db, user.id).await?;
        // A smart-card session is not held back by an expired password.
        let must_change_password = s.method == "password" && self.password_must_change(&user, now);
        Ok(Some(SessionUser {
            must_change_password,
            session_hash: hash,
            csrf_token: s.csrf_token,
            actor: Actor {
                user_id: user.id,
                organization_id: user.organization_id,
                grants,
            },
            organization_name,
            user,
        }))
    }

    pub async fn logout(&self, session: &SessionUser, origin: &Origin) -> Result<(), AppError> {
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        sessions::delete(&mut tx, &session.session_hash).await?;
        let actor = format!("user:{}", session.user.id);
        audit::append(
            &mut tx,
            &audit::NewEvent {
                actor: &actor,
                acting_organization: None,
                action: "auth.logout",
                target: &actor,
                detail: "{}",
                source_address: origin.address.as_deref(),
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The organizations whose users `who` manages: all of them for the central
    /// administrator; for a local administrator his bodies and those under them.
    pub async fn managed_organizations(&self, who: &SessionUser) -> Result<Vec<i64>, AppError> {
        use sportello_core::authz::Role;
        if who.actor.has(Role::CentralAdmin) {
            return Ok(directory::organizations(&self.db)
                .await?
                .into_iter()
                .map(|o| o.id)
                .collect());
        }
        let mut ids = Vec::new();
        for g in who
            .actor
            .grants
            .iter()
            .filter(|g| g.role == Role::LocalAdmin)
        {
            if let Some(org) = g.organization_id {
                for id in directory::organization_subtree(&self.db, org).await? {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        Ok(ids)
    }

    /// The single authorization gate every handler goes through.
    pub fn authorize(
        &self,
        who: Option<&SessionUser>,
        action: &Action<'_>,
    ) -> Result<(), AppError> {
        match authz::decide(who.map(|s| &s.actor), action) {
            Decision::Allow => Ok(()),
            Decision::NeedsLogin => Err(AppError::NeedsLogin),
            Decision::Deny(reason) => {
                tracing::warn!(
                    user = who.map(|s| s.user.id),
                    ?action,
                    reason,
                    "access denied"
                );
                Err(AppError::Forbidden(reason))
            }
        }
    }

    /// Puts a dead letter back in the queue: an audited administrative act.
    pub async fn requeue_outbox(
        &self,
        who: Option<&SessionUser>,
        id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        self.authorize(who, &Action::RetryOutbox)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if !outbox::requeue(&mut tx, id, now).await? {
            return Err(AppError::NotFound);
        }
        let actor = format!("user:{}", who.user.id);
        let target = format!("outbox:{id}");
        audit::append(
            &mut tx,
            &audit::NewEvent {
                actor: &actor,
                acting_organization: who
                    .user
                    .organization_id
                    .map(|o| format!("org:{o}"))
                    .as_deref(),
                action: "outbox.requeue",
                target: &target,
                detail: "{}",
                source_address: origin.address.as_deref(),
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

/// Queues a mail inside the caller's transaction: it leaves only if the
/// transaction commits.
pub async fn queue_mail(
    conn: &mut sportello_store::AnyConnection,
    msg: &MailMessage,
    now: i64,
) -> Result<i64, AppError> {
    let payload = serde_json::to_string(msg).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(outbox::enqueue(conn, mail::OUTBOX_KIND, &payload, now).await?)
}
