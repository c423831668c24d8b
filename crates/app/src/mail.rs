//! Outgoing mail. Messages are queued in the outbox as `MailMessage` JSON and
//! sent by a worker, through an SMTP relay or into a local maildir.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::config::MailConfig;

pub const OUTBOX_KIND: &str = "mail";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MailMessage {
    /// Sent from this address (an office's functional mailbox) instead of
    /// the portal's sender; replies reach the office.
    #[serde(default)]
    pub from: Option<String>,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Maildir(PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    sender: Mailbox,
    transport: Transport,
    host: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("messaggio non valido: {0}")]
    Invalid(String),
    #[error("invio fallito: {0}")]
    Send(String),
}

impl MailError {
    /// A malformed message will never succeed: do not retry it.
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Invalid(_))
    }
}

impl Mailer {
    pub fn from_config(
        config: &MailConfig,
        data_dir: &Path,
        public_host: &str,
    ) -> Result<Mailer, String> {
        let sender: Mailbox = config
            .sender
            .parse()
            .map_err(|e| format!("mail.sender: {e}"))?;
        let transport = if config.smtp_url.is_empty() {
            Transport::Maildir(data_dir.join("maildir"))
        } else {
            Transport::Smtp(smtp_transport(
                &config.smtp_url,
                Duration::from_secs(config.timeout_seconds),
            )?)
        };
        Ok(Mailer {
            sender,
            transport,
            host: public_host.to_string(),
        })
    }

    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "smtp".into(),
            Transport::Maildir(p) => format!("maildir {}", p.display()),
        }
    }

    /// Sends one queued message. The Message-ID derives from the outbox id,
    /// so a receiver can recognise a re-delivery after a crash.
    pub async fn send(&self, outbox_id: i64, msg: &MailMessage) -> Result<(), MailError> {
        let from = match &msg.from {
            Some(f) => f
                .parse()
                .map_err(|e| MailError::Invalid(format!("mittente «{f}»: {e}")))?,
            None => self.sender.clone(),
        };
        let mut builder = Message::builder()
            .from(from)
            .subject(msg.subject.clone())
            .message_id(Some(format!("<outbox-{outbox_id}@{}>", self.host)));
        if msg.to.is_empty() {
            return Err(MailError::Invalid("nessun destinatario".into()));
        }
        for to in &msg.to {
            let mb: Mailbox = to
                .parse()
                .map_err(|e| MailError::Invalid(format!("destinatario «{to}»: {e}")))?;
            builder = builder.to(mb);
        }
        let email = builder
            .header(ContentType::TEXT_PLAIN)
            .body(msg.body.clone())
            .map_err(|e| MailError::Invalid(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(t) => t
                .send(email)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Send(e.to_string())),
            Transport::Maildir(dir) => write_maildir(dir, outbox_id, &email.formatted())
                .await
                .map_err(|e| MailError::Send(format!("maildir {}: {e}", dir.display()))),
        }
    }
}

fn smtp_transport(
    url: &str,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let u = url::Url::parse(url).map_err(|e| format!("mail.smtp_url: {e}"))?;
    let host = u
        .host_str()
        .ok_or("mail.smtp_url: manca l'host")?
        .to_string();
    let implicit_tls = u.scheme() == "smtps";
    let starttls = u.query_pairs().any(|(k, v)| k == "tls" && v == "required");
    let port = u.port().unwrap_or(if implicit_tls {
        465
    } else if starttls {
        587
    } else {
        25
    });
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
        .port(port)
        .timeout(Some(timeout));
    if implicit_tls || starttls {
        let params = TlsParameters::new(host).map_err(|e| format!("mail.smtp_url: {e}"))?;
        b = b.tls(if implicit_tls {
            Tls::Wrapper(params)
        } else {
            Tls::Required(params)
        });
    }
    if !u.username().is_empty() {
        let user = percent_decode(u.username()).ok_or("mail.smtp_url: utente non UTF-8")?;
        let pass = percent_decode(u.password().unwrap_or(""))
            .ok_or("mail.smtp_url: password non UTF-8")?;
        b = b.credentials(Credentials::new(user, pass));
    }
    Ok(b.build())
}

/// `%XX` decoding of a URL component (`+` stays a plus); `None` if the
/// result is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Writes into `dir/tmp` then renames into `dir/new`, as maildir readers expect.
async fn write_maildir(dir: &Path, outbox_id: i64, bytes: &[u8]) -> std::io::Result<()> {
    let (tmp, new) = (dir.join("tmp"), dir.join("new"));
    tokio::fs::create_dir_all(&tmp).await?;
    tokio::fs::create_dir_all(&new).await?;
    let name = format!("{}.outbox-{outbox_id}.sportello", crate::now_micros());
    let tmp_path = tmp.join(&name);
    tokio::fs::write(&tmp_path, bytes).await?;
    tokio::fs::rename(&tmp_path, new.join(&name)).await
}
