//! Delivery of filings to the agencies' connectors: signed HTTP requests
//! (ModI-style `Digest` + `Agid-JWT-Signature`), an idempotency key per
//! (filing, recipient), timeouts, backoff through the outbox, and polling for
//! protocols and outcomes that come later.
//!
//! Every answer is recorded in one transaction with the outbox item it
//! settles, so a crash at any point re-sends under the same key at worst,
//! and the agency answers with what it recorded the first time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sportello_core::filings::{
    self as rules, Attempt, Change, Contradiction, Delivery as DeliveryRule, DeliveryState, News,
};
use sportello_core::retry::{AfterFailure, RetryPolicy};
use sportello_store::filings::{self as store, DeliveryUpdate, Outgoing};
use sportello_store::{AnyConnection, Db, StoreError, outbox};
use tokio::sync::Mutex;

use crate::mail::{MailMessage, OUTBOX_KIND as MAIL};
use crate::oidc::JwsSigner;
use crate::security::random_token;
use crate::{AppError, now_micros};

pub const OUTBOX_KIND: &str = "filing.delivery";
const SIGNING_ALG: &str = "ES256";
const SECOND: i64 = 1_000_000;
/// Longest pause between two polls of a delivery that still owes news.
const MAX_POLL_GAP: i64 = 24 * 3600 * SECOND;
/// How long a signing key is used before the store is read again (rotation).
const KEY_CACHE: i64 = 60 * SECOND;

/// A claimed outbox item with its delivery (None when the delivery is
/// unknown), ready to be sent.
pub struct Ready {
    item: outbox::OutboxItem,
    delivery: Option<Outgoing>,
}

/// A claimed item after its attempt, waiting to be recorded. `answer` is
/// None when nothing was sent (unknown delivery, or no longer in flight).
pub struct Sent {
    item: outbox::OutboxItem,
    delivery: Option<Outgoing>,
    answer: Option<Answer>,
}

/// Sends deliveries and polls agencies; shared by the outbox workers.
#[derive(Clone)]
pub struct Courier {
    pub db: Db,
    /// The portal's public URL: `iss` of the signatures, base of the callback URL.
    pub issuer: String,
    pub client: reqwest::Client,
    pub concurrency: usize,
    pub poll_every: Duration,
    signer: Arc<Mutex<Option<CachedSigner>>>,
    /// The connectors' endpoints, parsed once: parsing a URL (IDNA included)
    /// costs more than hashing the request's body.
    endpoints: Arc<std::sync::RwLock<HashMap<String, reqwest::Url>>>,
}

/// The signing key in use, and when it was read.
type CachedSigner = (i64, Arc<JwsSigner>);

/// The claims of `Agid-JWT-Signature` (docs/AGENCY-CONNECTOR.md).
#[derive(serde::Serialize)]
struct ModiClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: &'a str,
    signed_headers: &'a [SignedHeader<'a>],
}

/// One entry of `signed_headers`: `{"name": "value"}`.
struct SignedHeader<'a>(&'static str, &'a str);

impl serde::Serialize for SignedHeader<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

/// What one attempt at an agency came to.
enum Answer {
    News(News),
    /// Technical failure; `permanent` when retrying will not help.
    Failure {
        error: String,
        permanent: bool,
    },
}

impl Courier {
    pub fn new(db: Db, issuer: String, concurrency: usize, poll_every: Duration) -> Courier {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(concurrency.max(8))
            .build()
            .unwrap_or_default();
        Courier {
            db,
            issuer: issuer.trim_end_matches('/').to_string(),
            client,
            concurrency: concurrency.max(1),
            poll_every,
            signer: Arc::default(),
            endpoints: Arc::default(),
        }
    }

    /// `endpoint` parsed, from the cache when it was seen before.
    fn endpoint_url(&self, endpoint: &str) -> Result<reqwest::Url, String> {
        let cached = |m: &HashMap<String, reqwest::Url>| m.get(endpoint).cloned();
        if let Some(url) = cached(&self.endpoints.read().unwrap_or_else(|e| e.into_inner())) {
            return Ok(url);
        }
        let url = reqwest::Url::parse(endpoint).map_err(|e| e.to_string())?;
        let mut endpoints = self.endpoints.write().unwrap_or_else(|e| e.into_inner());
        // A few connectors; a bound in case endpoints keep changing.
        if endpoints.len() >= 256 {
            endpoints.clear();
        }
        endpoints.insert(endpoint.to_string(), url.clone());
        Ok(url)
    }

    pub fn callback_url(&self) -> String {
        format!("{}/api/v1/filings/callback", self.issuer)
    }

    async fn signer(&self) -> Result<Arc<JwsSigner>, String> {
        let now = now_micros();
        let mut cached = self.signer.lock().await;
        if let Some((at, signer)) = cached.as_ref()
            && now - at < KEY_CACHE
        {
            return Ok(signer.clone());
        }
        let key = crate::oidc::active_key(&self.db, SIGNING_ALG)
            .await
            .map_err(|e| e.to_string())?;
        let signer = Arc::new(JwsSigner::new(&key, "JWT").map_err(|e| e.to_string())?);
        *cached = Some((now, signer.clone()));
        Ok(signer)
    }

    /// The ModI-style headers for a request to `url` with `body`.
    async fn signed_headers(
        &self,
        url: &str,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<Vec<(&'static str, String)>, String> {
        let digest = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
        let mut signed = vec![
            SignedHeader("digest", &digest),
            SignedHeader("content-type", "application/json"),
        ];
        if let Some(k) = idempotency_key {
            signed.push(SignedHeader("idempotency-key", k));
        }
        let now = now_micros() / SECOND;
        let claims = ModiClaims {
            iss: &self.issuer,
            aud: url,
            iat: now,
            nbf: now,
            exp: now + 300,
            jti: &random_token(),
            signed_headers: &signed,
        };
        let jws = self
            .signer()
            .await?
            .sign(&claims)
            .map_err(|e| e.to_string())?;
        let mut headers = vec![
            ("content-type", "application/json".to_string()),
            ("digest", digest),
            ("agid-jwt-signature", jws),
        ];
        if let Some(k) = idempotency_key {
            headers.push(("idempotency-key", k.to_string()));
        }
        Ok(headers)
    }

    /// One attempt at handing a delivery to its agency.
    async fn send(&self, d: &Outgoing) -> Answer {
        let headers = match self
            .signed_headers(&d.endpoint, d.payload.as_bytes(), Some(&d.idempotency_key))
            .await
        {
            Ok(h) => h,
            Err(error) => {
                return Answer::Failure {
                    error: format!("firma: {error}"),
                    permanent: false,
                };
            }
        };
        let url = match self.endpoint_url(&d.endpoint) {
            Ok(url) => url,
            Err(error) => {
                return Answer::Failure {
                    error: format!("indirizzo dell'ente non valido: {error}"),
                    permanent: true,
                };
            }
        };
        let mut req = self
            .client
            .post(url)
            .timeout(Duration::from_millis(d.timeout_ms.max(100) as u64))
            .body(d.payload.clone());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        answer_of(req.send().await).await
    }

    /// Asks the agency where a delivery stands.
    async fn poll(&self, d: &Outgoing) -> Answer {
        let url = format!("{}/{}", d.endpoint.trim_end_matches('/'), d.idempotency_key);
        let headers = match self.signed_headers(&url, b"", None).await {
            Ok(h) => h,
            Err(error) => {
                return Answer::Failure {
                    error,
                    permanent: false,
                };
            }
        };
        let mut req = self
            .client
            .get(&url)
            .timeout(Duration::from_millis(d.timeout_ms.max(100) as u64));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        answer_of(req.send().await).await
    }

    /// Reads the deliveries of claimed outbox items.
    pub async fn prepare(&self, items: Vec<outbox::OutboxItem>) -> Result<Vec<Ready>, AppError> {
        let delivery_id = |i: &outbox::OutboxItem| i.payload.trim().parse::<i64>().unwrap_or(-1);
        let ids: Vec<i64> = items.iter().map(delivery_id).collect();
        let mut outgoing: HashMap<i64, Outgoing> = store::outgoing(&self.db, &ids)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        Ok(items
            .into_iter()
            .map(|item| Ready {
                delivery: outgoing.remove(&delivery_id(&item)),
                item,
            })
            .collect())
    }

    /// One attempt at a claimed delivery. Nothing is written:
    /// [`Courier::record_batch`] records what it came to.
    pub async fn attempt(&self, ready: Ready) -> Sent {
        let answer = match &ready.delivery {
            // Only deliveries still being handed over are sent.
            Some(d) if is_in_flight(&d.state) => Some(self.send(d).await),
            _ => None,
        };
        Sent {
            item: ready.item,
            delivery: ready.delivery,
            answer,
        }
    }

    /// Sends the deliveries of claimed outbox items, at most `concurrency`
    /// at once (a slow agency holds up one slot, not a whole round).
    pub async fn send_batch(&self, items: Vec<outbox::OutboxItem>) -> Result<Vec<Sent>, AppError> {
        let ready = self.prepare(items).await?;
        Ok(futures_util::stream::iter(ready)
            .map(|r| self.attempt(r))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await)
    }

    /// Records what attempts came to, with their outbox items, in one
    /// transaction; returns how many items it settled or rescheduled.
    pub async fn record_batch(
        &self,
        sent: Vec<Sent>,
        policy: &RetryPolicy,
    ) -> Result<usize, AppError> {
        let _turn = self.db.write_turn().await;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let filings: Vec<i64> = sent
            .iter()
            .filter(|s| s.answer.is_some())
            .filter_map(|s| s.delivery.as_ref().map(|d| d.filing_id))
            .collect();
        let mut recorder = Recorder::load(&mut tx, &filings, self.poll_every, now).await?;
        let mut settled = Vec::new();
        let done = sent.len();
        for Sent {
            item,
            delivery,
            answer,
        } in sent
        {
            let outbox_id = item.id;
            match (delivery, answer) {
                (Some(d), Some(Answer::News(news))) => {
                    // A contradiction from the agency's own answer is logged; the
                    // item is settled either way (retrying would repeat it).
                    if let Err(e) = recorder.news(d.id, &news, "delivery") {
                        tracing::warn!(delivery = d.id, error = %e, "agency answer not recorded");
                    }
                    settled.push(outbox_id);
                }
                (Some(d), Some(Answer::Failure { error, permanent })) => {
                    let attempts = item.attempts.max(1);
                    let decision = if permanent || attempts >= d.max_attempts {
                        AfterFailure::GiveUp
                    } else {
                        policy.after_failure(attempts as u32, crate::worker::jitter(d.id, attempts))
                    };
                    recorder.failure(d.id, &error, decision == AfterFailure::GiveUp)?;
                    match decision {
                        AfterFailure::RetryIn(wait) => {
                            outbox::reschedule_in(
                                &mut tx,
                                outbox_id,
                                &error,
                                now + wait.as_micros() as i64,
                            )
                            .await?
                        }
                        AfterFailure::GiveUp => settled.push(outbox_id),
                    }
                }
                // Unknown delivery, or no longer in flight (answered meanwhile).
                _ => settled.push(outbox_id),
            }
        }
        recorder.flush(&mut tx).await?;
        outbox::mark_sent_many_in(&mut tx, &settled, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(done)
    }

    /// Polls the deliveries whose agencies owe news; returns how many.
    pub async fn poll_due(&self, limit: i64) -> Result<usize, AppError> {
        let due = store::due_polls(&self.db, now_micros(), limit).await?;
        let mut answers = Vec::new();
        for chunk in due.chunks(self.concurrency) {
            answers.extend(
                join_all(chunk.iter().map(|d| async move { (d, self.poll(d).await) })).await,
            );
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        for (d, answer) in &answers {
            match answer {
                Answer::News(news) => {
                    match apply_news_in(&mut tx, d.id, news, "poll", self.poll_every, now).await {
                        Ok(true) => {}
                        Ok(false) => self.poll_later_in(&mut tx, d, now).await?,
                        Err(e) => {
                            tracing::warn!(delivery = d.id, error = %e, "polled answer not recorded");
                            self.poll_later_in(&mut tx, d, now).await?;
                        }
                    }
                }
                Answer::Failure { error, .. } => {
                    tracing::info!(delivery = d.id, %error, "poll failed, will ask again");
                    self.poll_later_in(&mut tx, d, now).await?;
                }
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(answers.len())
    }

    /// Nothing new: ask again later, less and less often.
    async fn poll_later_in(
        &self,
        tx: &mut AnyConnection,
        d: &Outgoing,
        now: i64,
    ) -> Result<(), AppError> {
        let Some(current) = store::delivery_in(tx, d.id).await? else {
            return Ok(());
        };
        let state: DeliveryState = current.state.parse().map_err(AppError::Internal)?;
        let next = next_poll(state, current.polls + 1, self.poll_every, now);
        store::update_delivery_in(
            tx,
            d.id,
            &DeliveryUpdate {
                state: state.code(),
                last_error: current.last_error.as_deref(),
                next_poll_at: next,
                polled: true,
                ..Default::default()
            },
            now,
        )
        .await?;
        Ok(())
    }
}

fn is_in_flight(state: &str) -> bool {
    state
        .parse::<DeliveryState>()
        .is_ok_and(DeliveryState::is_in_flight)
}

/// When to ask next about a delivery in `state` after `polls` polls.
fn next_poll(state: DeliveryState, polls: i64, every: Duration, now: i64) -> Option<i64> {
    if !state.awaits_news() {
        return None;
    }
    let base = every.as_micros() as i64;
    let factor = 1i64 << polls.clamp(0, 20);
    Some(now + base.saturating_mul(factor).min(MAX_POLL_GAP))
}

/// Reads an agency's HTTP answer as news or a failure (see
/// docs/AGENCY-CONNECTOR.md for the table).
async fn answer_of(result: Result<reqwest::Response, reqwest::Error>) -> Answer {
    let res = match result {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                "tempo scaduto"
            } else if e.is_connect() {
                "ente non raggiungibile"
            } else {
                "errore di rete"
            };
            return Answer::Failure {
                error: format!("{what}: {e}"),
                permanent: false,
            };
        }
    };
    let status = res.status().as_u16();
    let body: Value = match res.bytes().await {
        Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        Err(e) => {
            return Answer::Failure {
                error: format!("risposta interrotta: {e}"),
                permanent: false,
            };
        }
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    match status {
        200..=299 => match news_of(&body) {
            Some(n) => Answer::News(n),
            None => Answer::Failure {
                error: format!("HTTP {status}: risposta dell'ente non comprensibile"),
                permanent: false,
            },
        },
        422 => Answer::News(News::Rejected {
            protocol: text("protocol"),
            reason: text("reason").unwrap_or_else(|| "dati respinti dall'ente".into()),
        }),
        408 | 429 | 500..=599 => Answer::Failure {
            error: format!(
                "HTTP {status}{}",
                text("error").map(|e| format!(": {e}")).unwrap_or_default()
            ),
            permanent: false,
        },
        _ => Answer::Failure {
            error: format!(
                "HTTP {status}{}",
                text("error").map(|e| format!(": {e}")).unwrap_or_default()
            ),
            permanent: true,
        },
    }
}

/// The news in an agency's JSON (answer, poll or callback).
pub fn news_of(body: &Value) -> Option<News> {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    Some(match body.get("state")?.as_str()? {
        "received" => News::Received,
        "taken_in_charge" => News::TakenInCharge {
            protocol: text("protocol")?,
        },
        "accepted" => News::Accepted {
            protocol: text("protocol"),
        },
        "rejected" => News::Rejected {
            protocol: text("protocol"),
            reason: text("reason").unwrap_or_else(|| "nessun motivo indicato".into()),
        },
        _ => return None,
    })
}

/// Records news about a delivery in the caller's transaction: the state
/// change, its event, the next poll, and the mails (every recipient has taken
/// charge; a rejection). Returns whether anything changed.
pub(crate) async fn apply_news_in(
    tx: &mut AnyConnection,
    delivery_id: i64,
    news: &News,
    source: &str,
    poll_every: Duration,
    now: i64,
) -> Result<bool, NewsError> {
    let filing_id = store::delivery_in(tx, delivery_id)
        .await?
        .ok_or(NewsError::UnknownDelivery)?
        .filing_id;
    let mut r = Recorder::load(tx, &[filing_id], poll_every, now).await?;
    let changed = r.news(delivery_id, news, source)?;
    r.flush(tx).await?;
    Ok(changed)
}

/// A filing as the recorder needs it.
struct FilingState {
    filing: store::FilingNotice,
    /// Whom to tell (owner and preparer); nobody is told when empty.
    contacts: Vec<String>,
    /// Its deliveries' ids, in order.
    deliveries: Vec<i64>,
}

/// One delivery's change, as [`store::update_delivery_in`] writes it.
struct Write {
    delivery_id: i64,
    state: &'static str,
    protocol: Option<String>,
    reason: Option<String>,
    last_error: Option<String>,
    next_poll_at: Option<i64>,
    attempted: bool,
}

/// Records what happened to the deliveries of some filings, in the caller's
/// transaction and with few statements: the filings are locked once (so
/// concurrent changes to their deliveries are serialized and the "all
/// started" mail goes once), their deliveries read once, the rules applied
/// in memory one piece of news after the other, and the changes, events and
/// mails written at [`Recorder::flush`]. One recorder serves a batch of
/// deliveries as well as one callback or poll, so the effects are the same.
pub(crate) struct Recorder {
    poll_every: Duration,
    now: i64,
    deliveries: HashMap<i64, store::Delivery>,
    filings: HashMap<i64, FilingState>,
    writes: Vec<Write>,
    /// (delivery, kind, detail)
    events: Vec<(i64, String, String)>,
    mails: Vec<MailMessage>,
    notified: Vec<i64>,
}

impl Recorder {
    /// Locks the filings and reads them with their deliveries and contacts.
    pub(crate) async fn load(
        tx: &mut AnyConnection,
        filing_ids: &[i64],
        poll_every: Duration,
        now: i64,
    ) -> Result<Recorder, AppError> {
        let mut ids = filing_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut filings: HashMap<i64, FilingState> = store::lock_filing_notices_in(tx, &ids)
            .await?
            .into_iter()
            .map(|f| {
                let mut contacts: Vec<String> = [&f.owner_email, &f.preparer_email]
                    .into_iter()
                    .filter(|a| !a.is_empty())
                    .cloned()
                    .collect();
                contacts.sort_unstable();
                contacts.dedup();
                (
                    f.id,
                    FilingState {
                        filing: f,
                        contacts,
                        deliveries: Vec::new(),
                    },
                )
            })
            .collect();
        let mut deliveries = HashMap::new();
        for d in store::deliveries_of_filings_in(tx, &ids).await? {
            if let Some(f) = filings.get_mut(&d.filing_id) {
                f.deliveries.push(d.id);
            }
            deliveries.insert(d.id, d);
        }
        Ok(Recorder {
            poll_every,
            now,
            deliveries,
            filings,
            writes: Vec::new(),
            events: Vec::new(),
            mails: Vec::new(),
            notified: Vec::new(),
        })
    }

    /// News from the agency (`source`: delivery, callback, poll): the state
    /// change, its event, the next poll and the mails. Returns whether
    /// anything changed; a contradiction changes nothing.
    pub(crate) fn news(
        &mut self,
        delivery_id: i64,
        news: &News,
        source: &str,
    ) -> Result<bool, NewsError> {
        let now = self.now;
        let d = self
            .deliveries
            .get_mut(&delivery_id)
            .ok_or(NewsError::UnknownDelivery)?;
        let current: DeliveryState = d.state.parse().map_err(AppError::Internal)?;
        let change = rules::on_news(
            &DeliveryRule {
                state: current,
                protocol: d.protocol.clone(),
            },
            news,
        )?;
        let Change::To {
            state,
            protocol,
            reason,
        } = change
        else {
            return Ok(false);
        };
        let next_poll_at = next_poll(state, 0, self.poll_every, now);
        d.state = state.code().to_string();
        if let Some(p) = &protocol {
            d.started_at = d.started_at.or(Some(now));
            d.protocol = Some(p.clone());
        }
        if let Some(r) = &reason {
            d.reason = Some(r.clone());
        }
        d.last_error = None;
        d.next_poll_at = next_poll_at;
        d.updated_at = now;
        let (filing_id, agency) = (d.filing_id, d.connector_name.clone());
        let detail = match (&protocol, &reason) {
            (_, Some(r)) => r.clone(),
            (Some(p), None) if state == DeliveryState::TakenInCharge => format!("protocollo {p}"),
            _ => String::new(),
        };
        self.events
            .push((delivery_id, format!("{}:{source}", state.code()), detail));
        self.notify(filing_id, &agency, state, reason.as_deref());
        self.writes.push(Write {
            delivery_id,
            state: state.code(),
            protocol,
            reason,
            last_error: None,
            next_poll_at,
            attempted: false,
        });
        Ok(true)
    }

    /// A technical failure of an attempt: retrying, or failed for good (the
    /// user is told). Nothing changes for a delivery no longer in flight.
    fn failure(&mut self, delivery_id: i64, error: &str, give_up: bool) -> Result<(), AppError> {
        let now = self.now;
        let Some(d) = self.deliveries.get_mut(&delivery_id) else {
            return Ok(());
        };
        let state: DeliveryState = d.state.parse().map_err(AppError::Internal)?;
        let change = rules::on_attempt(
            &DeliveryRule {
                state,
                protocol: d.protocol.clone(),
            },
            &Attempt::Failed { give_up },
        )
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let Change::To { state: next, .. } = change else {
            return Ok(());
        };
        d.state = next.code().to_string();
        d.last_error = Some(error.to_string());
        d.next_poll_at = None;
        d.attempts += 1;
        d.updated_at = now;
        let (filing_id, agency) = (d.filing_id, d.connector_name.clone());
        if next == DeliveryState::Failed {
            self.events
                .push((delivery_id, "failed".into(), error.to_string()));
            self.notify(filing_id, &agency, next, Some(error));
        }
        self.writes.push(Write {
            delivery_id,
            state: next.code(),
            protocol: None,
            reason: None,
            last_error: Some(error.to_string()),
            next_poll_at: None,
            attempted: true,
        });
        Ok(())
    }

    /// Mails about a filing after one of its deliveries changed: when it
    /// needs the user's action, and when every recipient has taken charge
    /// (once).
    fn notify(&mut self, filing_id: i64, agency: &str, state: DeliveryState, why: Option<&str>) {
        let Some(f) = self.filings.get_mut(&filing_id) else {
            return;
        };
        if f.contacts.is_empty() {
            return;
        }
        let reference = f.filing.reference.clone().unwrap_or_default();
        if state.needs_action() {
            let what = if state == DeliveryState::Failed {
                "non è stato possibile consegnarla. Dalla scrivania puoi reinviarla a questo solo destinatario."
            } else {
                "l'ente l'ha respinta."
            };
            self.mails.push(MailMessage {
                from: None,
                to: f.contacts.clone(),
                subject: format!("Pratica {reference}: azione richiesta per {agency}"),
                body: format!(
                    "La pratica {reference} ({}) richiede la tua attenzione: per {agency} {what}\n\nMotivo: {}\n\nApri «La mia scrivania» per i dettagli.\n\nSportello",
                    f.filing.service_name,
                    why.unwrap_or("non indicato")
                ),
            });
        }
        if f.filing.all_started_notified != 0 {
            return;
        }
        let deliveries: Vec<&store::Delivery> = f
            .deliveries
            .iter()
            .filter_map(|id| self.deliveries.get(id))
            .collect();
        let states: Vec<DeliveryState> = deliveries
            .iter()
            .filter_map(|d| d.state.parse().ok())
            .collect();
        // A payload the agency refused (rejected, no protocol) was never
        // taken in charge there.
        if !rules::all_started(&states) || deliveries.iter().any(|d| d.protocol.is_none()) {
            return;
        }
        let lines: Vec<String> = deliveries
            .iter()
            .map(|d| {
                format!(
                    "- {}: protocollo {}",
                    d.connector_name,
                    d.protocol.as_deref().unwrap_or("—")
                )
            })
            .collect();
        self.mails.push(MailMessage {
            from: None,
            to: f.contacts.clone(),
            subject: format!("Pratica {reference}: presa in carico da tutti gli enti"),
            body: format!(
                "La pratica {reference} ({}) è stata presa in carico da tutti gli enti destinatari:\n\n{}\n\nDa ora risulta avviata presso ciascuno di essi.\n\nSportello",
                f.filing.service_name,
                lines.join("\n")
            ),
        });
        f.filing.all_started_notified = 1;
        self.notified.push(filing_id);
    }

    /// Writes what was recorded, in the caller's transaction.
    pub(crate) async fn flush(self, tx: &mut AnyConnection) -> Result<(), AppError> {
        let updates: Vec<(i64, DeliveryUpdate)> = self
            .writes
            .iter()
            .map(|w| {
                (
                    w.delivery_id,
                    DeliveryUpdate {
                        state: w.state,
                        protocol: w.protocol.as_deref(),
                        reason: w.reason.as_deref(),
                        last_error: w.last_error.as_deref(),
                        next_poll_at: w.next_poll_at,
                        attempted: w.attempted,
                        ..Default::default()
                    },
                )
            })
            .collect();
        store::update_deliveries_in(tx, &updates, self.now).await?;
        store::add_events_in(tx, &self.events, self.now).await?;
        let mails = self
            .mails
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        outbox::enqueue_many(tx, MAIL, &mails, self.now).await?;
        let changed: Vec<i64> = self
            .writes
            .iter()
            .filter_map(|w| self.deliveries.get(&w.delivery_id))
            .map(|d| d.filing_id)
            .collect();
        store::touch_filings_in(tx, &changed, &self.notified, self.now).await?;
        Ok(())
    }
}

/// Why news could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum NewsError {
    #[error("nessuna consegna con questa chiave")]
    UnknownDelivery,
    #[error(transparent)]
    Contradiction(#[from] Contradiction),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<StoreError> for NewsError {
    fn from(e: StoreError) -> Self {
        NewsError::App(AppError::Store(e))
    }
}
