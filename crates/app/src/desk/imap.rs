//! Intake from a mailbox (`desk.imap_url`): a poller that reads the unseen
//! messages of one IMAP folder and hands each to [`App::receive_mail`], as
//! the mail gate does for an MTA. A message the desk has kept (whatever its
//! status, a duplicate included) or refused as malformed is marked `\Seen`
//! so that it is never read again; on any other failure (the database, say)
//! it stays unseen and the pass stops, to be tried again at the next one.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::{App, AppError, Origin};

/// Connecting, the TLS handshake and the greeting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// One IMAP command and its answer (a fetch may carry a large message).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest wait between passes after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_secs(900);

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Messages read from the mailbox (one over `desk.max_message_bytes` is
    /// not read: it only counts as malformed).
    pub fetched: usize,
    /// Messages the desk kept: opened, attached, ignored, in triage, or
    /// already kept before (a duplicate). All of them are now `\Seen`.
    pub stored: usize,
    /// Messages refused as malformed or too large: they would never be
    /// accepted, so they are `\Seen` too (and stay in the mailbox for a person
    /// to look at).
    pub malformed: usize,
    /// Unseen messages left for the next pass after a failure.
    pub left_for_retry: usize,
}

/// A parsed `imap://` or `imaps://` URL.
#[derive(Clone, PartialEq, Eq)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    user: String,
    password: String,
    mailbox: String,
}

impl Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let shown = redact(url);
        let u = url::Url::parse(url).map_err(|e| format!("«{shown}» non è un URL valido: {e}"))?;
        let tls = match u.scheme() {
            "imap" => false,
            "imaps" => true,
            _ => return Err(format!("«{shown}» non è un URL imap:// o imaps://")),
        };
        let host = match u.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(format!("«{shown}»: manca l'host")),
        };
        let user = crate::mail::percent_decode(u.username())
            .ok_or_else(|| format!("«{shown}»: utente non valido (UTF-8 codificato con %)"))?;
        if user.is_empty() {
            return Err(format!(
                "«{shown}»: manca l'utente (imap://UTENTE:PASSWORD@HOST/CARTELLA)"
            ));
        }
        let password = crate::mail::percent_decode(u.password().unwrap_or(""))
            .ok_or_else(|| format!("«{shown}»: password non valida (UTF-8 codificato con %)"))?;
        let mailbox = crate::mail::percent_decode(u.path().trim_start_matches('/'))
            .ok_or_else(|| format!("«{shown}»: cartella non valida (UTF-8 codificato con %)"))?;
        Ok(Target {
            tls,
            host,
            port: u.port().unwrap_or(if tls { 993 } else { 143 }),
            user,
            password,
            mailbox: if mailbox.is_empty() {
                "INBOX".into()
            } else {
                mailbox
            },
        })
    }
}

/// Checks `desk.imap_url` at load: scheme, host and user.
pub fn check_url(url: &str) -> Result<(), String> {
    Target::parse(url).map(|_| ())
}

/// The URL with its password replaced by `***`, for logs and errors.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            if u.set_password(Some("***")).is_ok() {
                u.to_string()
            } else {
                sportello_store::redact_url(url)
            }
        }
        Ok(u) => u.to_string(),
        Err(_) => sportello_store::redact_url(url),
    }
}

/// One pass over the mailbox of `url`: every unseen message is handed to
/// the desk. An error means the pass could not talk to the server (or was
/// refused by it); what the desk did before that stays done.
pub async fn poll_once(app: &App, url: &str) -> Result<PollReport, String> {
    pass(app, url, None).await
}

/// Polls `url` every `every` until `stop` turns true; after a failure the
/// wait doubles, up to 15 minutes, and is back to `every` after a good pass.
pub async fn run_poller(app: App, url: String, every: Duration, mut stop: watch::Receiver<bool>) {
    let shown = redact(&url);
    tracing::info!(mailbox = %shown, every_seconds = every.as_secs(), "desk IMAP poller started");
    let mut wait = every;
    loop {
        if *stop.borrow() {
            break;
        }
        match pass(&app, &url, Some(&stop)).await {
            Ok(report) => {
                if report.fetched > 0 || report.left_for_retry > 0 {
                    tracing::info!(
                        mailbox = %shown,
                        fetched = report.fetched,
                        stored = report.stored,
                        malformed = report.malformed,
                        left_for_retry = report.left_for_retry,
                        "desk IMAP pass"
                    );
                }
                wait = if report.left_for_retry > 0 {
                    backoff(wait, every)
                } else {
                    every
                };
            }
            Err(e) => {
                wait = backoff(wait, every);
                tracing::error!(
                    mailbox = %shown,
                    error = %e,
                    retry_in_seconds = wait.as_secs(),
                    "desk IMAP pass failed"
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    tracing::info!(mailbox = %shown, "desk IMAP poller stopped");
}

fn backoff(current: Duration, every: Duration) -> Duration {
    let cap = MAX_BACKOFF.max(every);
    (current.max(every) * 2).min(cap)
}

/// An error as one line for the log.
trait Describe {
    fn describe(&self) -> String;
}

impl Describe for std::io::Error {
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl Describe for async_imap::error::Error {
    fn describe(&self) -> String {
        use async_imap::error::Error;
        match self {
            Error::No(s) => format!("il server risponde NO: {}", server_text(s)),
            Error::Bad(s) => format!("il server risponde BAD: {}", server_text(s)),
            Error::ConnectionLost => "connessione chiusa dal server".into(),
            e => e.to_string(),
        }
    }
}

/// The server's own words in a NO or BAD answer, as the client reports it
/// (`code: …, info: Some("…")`).
fn server_text(s: &str) -> String {
    s.split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map(|(text, _)| text.replace("\\\"", "\"").replace("\\\\", "\\"))
        .unwrap_or_else(|| s.trim().to_string())
}

/// Awaits `fut` for at most `limit`, turning both failures into one line.
async fn step<T, E: Describe>(
    what: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {}", e.describe())),
        Err(_) => Err(format!("{what}: nessuna risposta in {} s", limit.as_secs())),
    }
}

async fn pass(
    app: &App,
    url: &str,
    stop: Option<&watch::Receiver<bool>>,
) -> Result<PollReport, String> {
    let target = Target::parse(url)?;
    let shown = redact(url);
    let tcp = step(
        &format!("connessione a {}:{}", target.host, target.port),
        CONNECT_TIMEOUT,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|e| format!("IMAP {shown}: {e}"))?;
    let origin = Origin {
        address: tcp.peer_addr().ok().map(|a| a.ip().to_string()),
    };
    let result = if target.tls {
        let tls = connect_tls(tcp, &target.host)
            .await
            .map_err(|e| format!("IMAP {shown}: {e}"))?;
        session_pass(app, Client::new(tls), &target, &origin, stop).await
    } else {
        session_pass(app, Client::new(tcp), &target, &origin, stop).await
    };
    result.map_err(|e| format!("IMAP {shown}: {e}"))
}

async fn connect_tls(
    tcp: TcpStream,
    host: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("TLS: nome del server «{host}» non valido: {e}"))?;
    step(
        "TLS",
        CONNECT_TIMEOUT,
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
}

async fn session_pass<T>(
    app: &App,
    mut client: Client<T>,
    target: &Target,
    origin: &Origin,
    stop: Option<&watch::Receiver<bool>>,
) -> Result<PollReport, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    let greeting = step("saluto del server", CONNECT_TIMEOUT, client.read_response())
        .await?
        .ok_or("il server ha chiuso la connessione prima del saluto")?;
    if let async_imap::imap_proto::Response::Data {
        status: async_imap::imap_proto::Status::Bye,
        ..
    } = greeting.parsed()
    {
        return Err("il server rifiuta la connessione (BYE)".into());
    }
    let mut session = match tokio::time::timeout(
        COMMAND_TIMEOUT,
        client.login(&target.user, &target.password),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err((async_imap::error::Error::No(why), _))) => {
            let why = server_text(&why);
            return Err(if why.contains("[UNAVAILABLE]") {
                format!("il server non può verificare l'accesso ora (errore temporaneo): {why}")
            } else {
                format!(
                    "accesso rifiutato per l'utente «{}» (utente o password errati?): {why}",
                    target.user
                )
            });
        }
        Ok(Err((e, _))) => return Err(format!("accesso: {}", e.describe())),
        Err(_) => {
            return Err(format!(
                "accesso: nessuna risposta in {} s",
                COMMAND_TIMEOUT.as_secs()
            ));
        }
    };
    let outcome = messages_pass(app, &mut session, target, origin, stop).await;
    // The pass is over either way; a failed LOGOUT changes nothing.
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, session.logout()).await;
    outcome
}

async fn messages_pass<T>(
    app: &App,
    session: &mut Session<T>,
    target: &Target,
    origin: &Origin,
    stop: Option<&watch::Receiver<bool>>,
) -> Result<PollReport, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    step(
        &format!("cartella «{}»", target.mailbox),
        COMMAND_TIMEOUT,
        session.select(&target.mailbox),
    )
    .await?;
    let mut uids: Vec<u32> = step(
        "ricerca dei messaggi non letti",
        COMMAND_TIMEOUT,
        session.uid_search("UNSEEN"),
    )
    .await?
    .into_iter()
    .collect();
    uids.sort_unstable();

    let mut report = PollReport::default();
    for (i, uid) in uids.iter().enumerate() {
        if stop.is_some_and(|s| *s.borrow()) {
            report.left_for_retry = uids.len() - i;
            break;
        }
        // Larger than the desk accepts: refused like any malformed message,
        // without reading it into memory.
        let sizes = step(
            &format!("dimensione del messaggio UID {uid}"),
            COMMAND_TIMEOUT,
            async {
                session
                    .uid_fetch(uid.to_string(), "RFC822.SIZE")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
        )
        .await?;
        let Some(size) = sizes.iter().find_map(|f| f.size) else {
            continue; // gone meanwhile (expunged by another client)
        };
        if size as usize > app.config.desk.max_message_bytes {
            report.malformed += 1;
            tracing::warn!(
                uid,
                mailbox = %target.mailbox,
                size,
                limit = app.config.desk.max_message_bytes,
                "desk IMAP message larger than desk.max_message_bytes; marked as read"
            );
            mark_seen(session, *uid).await?;
            continue;
        }
        let fetches = step(
            &format!("lettura del messaggio UID {uid}"),
            COMMAND_TIMEOUT,
            async {
                session
                    .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
        )
        .await?;
        // Gone meanwhile (expunged by another client): nothing to do.
        let Some(raw) = fetches.iter().find_map(|f| f.body()) else {
            continue;
        };
        report.fetched += 1;
        match app.receive_mail(raw, origin).await {
            Ok(outcome) => {
                report.stored += 1;
                tracing::debug!(
                    uid,
                    status = %outcome.status,
                    inbound_id = outcome.inbound_id,
                    "desk IMAP message kept"
                );
            }
            Err(AppError::Invalid { message, .. }) => {
                report.malformed += 1;
                tracing::warn!(
                    uid,
                    mailbox = %target.mailbox,
                    reason = %message,
                    "desk IMAP message refused as malformed; marked as read"
                );
            }
            Err(e) => {
                report.left_for_retry = uids.len() - i;
                tracing::error!(
                    uid,
                    mailbox = %target.mailbox,
                    error = %e,
                    left = report.left_for_retry,
                    "desk IMAP message not stored; left unread for the next pass"
                );
                break;
            }
        }
        mark_seen(session, *uid).await?;
    }
    Ok(report)
}

async fn mark_seen<T>(session: &mut Session<T>, uid: u32) -> Result<(), String>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    step(
        &format!("segno di lettura del messaggio UID {uid}"),
        COMMAND_TIMEOUT,
        async {
            session
                .uid_store(uid.to_string(), "+FLAGS (\\Seen)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        },
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_with_their_defaults_and_decoded() {
        let t = Target::parse("imap://desk%40ente.it:p%2Bw%3Ad@mail.ente.it/Desk%20In").unwrap();
        assert_eq!(
            t,
            Target {
                tls: false,
                host: "mail.ente.it".into(),
                port: 143,
                user: "desk@ente.it".into(),
                password: "p+w:d".into(),
                mailbox: "Desk In".into(),
            }
        );
        let t = Target::parse("imaps://desk:pw@[::1]").unwrap();
        assert!(t.tls);
        assert_eq!((t.host.as_str(), t.port), ("::1", 993));
        assert_eq!(t.mailbox, "INBOX");
        let t = Target::parse("imaps://desk:pw@127.0.0.1:1993/INBOX").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 1993));
        assert!(!format!("{t:?}").contains("pw"));
    }

    #[test]
    fn bad_urls_are_refused_without_showing_the_password() {
        for bad in [
            "pop3://desk:segreta@mail.ente.it",
            "imap://mail.ente.it/INBOX",
            "imap://:segreta@mail.ente.it",
            "imap:///INBOX",
            "mail.ente.it",
            "imap://desk:%ff@mail.ente.it",
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(!e.contains("segreta"), "{e}");
        }
        assert_eq!(
            redact("imaps://desk:segreta@mail.ente.it:993/INBOX"),
            "imaps://desk:***@mail.ente.it:993/INBOX"
        );
        assert_eq!(redact("imap://mail.ente.it"), "imap://mail.ente.it");
    }

    #[test]
    fn percent_decoding_keeps_plus_and_stray_percent_signs() {
        assert_eq!(
            crate::mail::percent_decode("a+b%20c%").as_deref(),
            Some("a+b c%")
        );
        assert_eq!(
            crate::mail::percent_decode("%zz%4").as_deref(),
            Some("%zz%4")
        );
        assert_eq!(crate::mail::percent_decode("%è").as_deref(), Some("%è"));
        assert_eq!(crate::mail::percent_decode("%C3%A8").as_deref(), Some("è"));
        assert_eq!(crate::mail::percent_decode("%ff"), None);
    }

    #[test]
    fn the_servers_words_are_kept_from_a_refusal() {
        assert_eq!(
            server_text(
                r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication \"failed\".")"#
            ),
            r#"[AUTHENTICATIONFAILED] Authentication "failed"."#
        );
        assert_eq!(server_text(" outcome: No "), "outcome: No");
    }

    #[test]
    fn the_wait_doubles_after_failures_up_to_a_cap() {
        let every = Duration::from_secs(60);
        let mut w = every;
        let mut seen = Vec::new();
        for _ in 0..6 {
            w = backoff(w, every);
            seen.push(w.as_secs());
        }
        assert_eq!(seen, [120, 240, 480, 900, 900, 900]);
        let slow = Duration::from_secs(3600);
        assert_eq!(backoff(slow, slow), slow);
    }
}
