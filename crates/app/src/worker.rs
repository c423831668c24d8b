//! Outbox workers: claim due items with a lease, deliver, record the result.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sportello_core::retry::{AfterFailure, RetryPolicy};
use sportello_store::Db;
use sportello_store::outbox::{self, Kinds};
use tokio::sync::{mpsc, watch};

use crate::AppError;
use crate::filings::courier::{Courier, OUTBOX_KIND as DELIVERY, Ready, Sent};
use crate::mail::{MailMessage, Mailer, OUTBOX_KIND as MAIL};
use crate::now_micros;

/// How often a worker refreshes the outbox depth gauges.
const DEPTH_EVERY: Duration = Duration::from_secs(1);

/// While deliveries have a backlog, the pause before each pass at the other
/// kinds of message.
const BACKLOG_PAUSE: Duration = Duration::from_secs(1);

/// How long the recorder waits for more answers to share a transaction.
const GATHER: Duration = Duration::from_millis(20);

/// Outbox items claimed per pass, in rounds of `filings.concurrency`.
const CLAIM_ROUNDS: i64 = 4;

#[derive(Clone)]
pub struct Worker {
    pub db: Db,
    pub mailer: Mailer,
    pub policy: RetryPolicy,
    pub lease: Duration,
    pub poll_interval: Duration,
    /// Delivers filings to agencies, several at once.
    pub courier: Courier,
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
}

impl std::ops::Add for Pass {
    type Output = Pass;

    fn add(self, other: Pass) -> Pass {
        Pass {
            sent: self.sent + other.sent,
            failed: self.failed + other.failed,
            dead: self.dead + other.dead,
        }
    }
}

impl Worker {
    /// Processes the items due now, of every kind. Returns what happened.
    pub async fn run_once(&self) -> sportello_store::Result<Pass> {
        let items = self.claim(Kinds::All).await?;
        let (deliveries, others): (Vec<_>, Vec<_>) =
            items.into_iter().partition(|i| i.kind == DELIVERY);
        let mut pass = Pass::default();
        if !deliveries.is_empty() {
            let n = deliveries.len();
            pass = match self.courier.send_batch(deliveries).await {
                Ok(sent) => self.record(sent).await,
                Err(e) => not_recorded(n, &e),
            };
        }
        Ok(pass + self.deliver_others(others).await?)
    }

    /// Items claimed per pass: a few rounds of deliveries, so that the commit
    /// that records them is shared by more.
    fn batch(&self) -> i64 {
        16.max(CLAIM_ROUNDS * self.courier.concurrency as i64)
    }

    async fn claim(&self, kinds: Kinds<'_>) -> sportello_store::Result<Vec<outbox::OutboxItem>> {
        outbox::claim_due(
            &self.db,
            now_micros(),
            self.lease.as_micros() as i64,
            self.batch(),
            kinds,
        )
        .await
    }

    /// Records what attempts at deliveries came to (one transaction with
    /// their outbox items).
    async fn record(&self, sent: Vec<Sent>) -> Pass {
        let n = sent.len();
        match self.courier.record_batch(sent, &self.policy).await {
            Ok(n) => {
                metrics::counter!("sportello_outbox_sent_total", "kind" => DELIVERY)
                    .increment(n as u64);
                Pass {
                    sent: n,
                    ..Pass::default()
                }
            }
            Err(e) => not_recorded(n, &e),
        }
    }

    /// Mails and other messages, one after the other. Delivered items are
    /// marked together at the end (one write for the lot); a crash before
    /// that re-sends them with the same Message-ID, which receivers
    /// recognise.
    async fn deliver_others(
        &self,
        items: Vec<outbox::OutboxItem>,
    ) -> sportello_store::Result<Pass> {
        let mut pass = Pass::default();
        let mut sent = Vec::new();
        for item in items {
            let result = self.deliver(&item).await;
            let now = now_micros();
            match result {
                Ok(()) => {
                    sent.push(item.id);
                    metrics::counter!("sportello_outbox_sent_total", "kind" => item.kind.clone())
                        .increment(1);
                    pass.sent += 1;
                }
                Err((error, permanent)) => {
                    metrics::counter!("sportello_outbox_failures_total", "kind" => item.kind.clone()).increment(1);
                    let decision = if permanent {
                        AfterFailure::GiveUp
                    } else {
                        self.policy.after_failure(
                            item.attempts.max(1) as u32,
                            jitter(item.id, item.attempts),
                        )
                    };
                    match decision {
                        AfterFailure::RetryIn(d) => {
                            tracing::warn!(outbox_id = item.id, attempts = item.attempts, retry_in_ms = d.as_millis() as u64, %error, "delivery failed, will retry");
                            outbox::mark_failed(
                                &self.db,
                                item.id,
                                &error,
                                Some(now + d.as_micros() as i64),
                                now,
                            )
                            .await?;
                            pass.failed += 1;
                        }
                        AfterFailure::GiveUp => {
                            tracing::error!(outbox_id = item.id, attempts = item.attempts, %error, "delivery failed for good: dead letter");
                            outbox::mark_failed(&self.db, item.id, &error, None, now).await?;
                            metrics::counter!("sportello_outbox_dead_total", "kind" => item.kind.clone()).increment(1);
                            pass.dead += 1;
                        }
                    }
                }
            }
        }
        outbox::mark_sent_many(&self.db, &sent, now_micros()).await?;
        Ok(pass)
    }

    async fn deliver(&self, item: &outbox::OutboxItem) -> Result<(), (String, bool)> {
        match item.kind.as_str() {
            MAIL => {
                let msg: MailMessage = serde_json::from_str(&item.payload)
                    .map_err(|e| (format!("payload non valido: {e}"), true))?;
                self.mailer
                    .send(item.id, &msg)
                    .await
                    .map_err(|e| (e.to_string(), e.is_permanent()))
            }
            crate::oidc::OUTBOX_KIND => crate::oidc::deliver(&self.db, &item.payload).await,
            other => Err((format!("tipo di messaggio sconosciuto «{other}»"), true)),
        }
    }

    /// Loops until `shutdown` turns true; the items in hand are always
    /// finished. Deliveries to agencies flow through their own pipeline
    /// ([`Worker::stream_deliveries`]); this loop takes the other kinds.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let backlog = Arc::new(AtomicBool::new(false));
        let deliveries = tokio::spawn(
            self.clone()
                .stream_deliveries(shutdown.clone(), backlog.clone()),
        );
        let mut gauged: Option<Instant> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Deliveries to agencies come first: while a backlog of them is
            // worked off, the other messages go out a batch per interval.
            if backlog.load(Ordering::Relaxed) {
                tokio::select! {
                    _ = tokio::time::sleep(BACKLOG_PAUSE) => {}
                    _ = shutdown.changed() => {}
                }
            }
            let busy = match self.claim(Kinds::AllBut(DELIVERY)).await {
                Ok(items) => {
                    let busy = !items.is_empty();
                    if let Err(e) = self.deliver_others(items).await {
                        worker_error(&e);
                    }
                    busy
                }
                Err(e) => {
                    worker_error(&e);
                    false
                }
            };
            // At most once per interval, not after every batch of a busy worker.
            if gauged.is_none_or(|t| t.elapsed() >= DEPTH_EVERY.max(self.poll_interval)) {
                gauged = Some(Instant::now());
                if let Ok((pending, dead)) = outbox::backlog(&self.db).await {
                    metrics::gauge!("sportello_outbox_depth", "state" => "pending")
                        .set(pending as f64);
                    metrics::gauge!("sportello_outbox_depth", "state" => "dead").set(dead as f64);
                }
            }
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        let _ = deliveries.await;
    }

    /// Deliveries as a stream, so that `filings.concurrency` requests stay
    /// on the wire at all times: a claimer keeps a queue of claimed
    /// deliveries filled a batch ahead; the sender keeps `concurrency`
    /// attempts going from it, a new one as soon as one answers; a recorder
    /// records the answers as they come, in one transaction for all those
    /// that arrived while the previous one committed. Nobody waits for
    /// another stage: the agencies are never left idle while the portal
    /// claims or writes to disk. At shutdown, attempts under way are
    /// finished and recorded; items still queued are left to their lease,
    /// unsent, and claimed again later.
    ///
    /// `backlog` tells whether the last claim found a whole batch due.
    async fn stream_deliveries(self, shutdown: watch::Receiver<bool>, backlog: Arc<AtomicBool>) {
        let batch = self.batch() as usize;
        let (queue, queued) = mpsc::channel::<Ready>(2 * batch);
        let (answered, mut answers) = mpsc::channel::<Sent>(2 * batch);

        let claimer = {
            let worker = self.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                while !*shutdown.borrow() {
                    // Room for a whole batch first: what is claimed is sent soon.
                    let Ok(room) = queue.reserve_many(batch).await else {
                        break;
                    };
                    let claimed = match worker.claim(Kinds::Only(DELIVERY)).await {
                        Ok(items) if items.is_empty() => {
                            backlog.store(false, Ordering::Relaxed);
                            None
                        }
                        Ok(items) => {
                            backlog.store(items.len() == batch, Ordering::Relaxed);
                            match worker.courier.prepare(items).await {
                                Ok(ready) => Some(ready),
                                Err(e) => {
                                    // The leases run out and the items are claimed again.
                                    tracing::error!(error = %e, "claimed deliveries not read");
                                    None
                                }
                            }
                        }
                        Err(e) => {
                            worker_error(&e);
                            None
                        }
                    };
                    match claimed {
                        Some(ready) => room.zip(ready).for_each(|(slot, r)| {
                            slot.send(r);
                        }),
                        None => {
                            drop(room);
                            tokio::select! {
                                _ = tokio::time::sleep(worker.poll_interval) => {}
                                _ = shutdown.changed() => {}
                            }
                        }
                    }
                }
            })
        };

        let sender = {
            let courier = self.courier.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                let stopping = async move {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                };
                let queued = futures_util::stream::unfold(queued, |mut q| async move {
                    q.recv().await.map(|r| (r, q))
                });
                let attempts = queued
                    .take_until(stopping)
                    .map(|r| courier.attempt(r))
                    .buffer_unordered(courier.concurrency.max(1));
                let mut attempts = std::pin::pin!(attempts);
                while let Some(sent) = attempts.next().await {
                    if answered.send(sent).await.is_err() {
                        break;
                    }
                }
            })
        };

        let recorder = {
            let worker = self.clone();
            tokio::spawn(async move {
                let mut sent = Vec::with_capacity(batch);
                while answers.recv_many(&mut sent, batch).await > 0 {
                    // A whole batch per transaction when answers flow; what
                    // came within GATHER when they trickle.
                    let deadline = tokio::time::Instant::now() + GATHER;
                    while sent.len() < batch {
                        let room = batch - sent.len();
                        let more = answers.recv_many(&mut sent, room);
                        match tokio::time::timeout_at(deadline, more).await {
                            Ok(n) if n > 0 => {}
                            _ => break,
                        }
                    }
                    worker.record(std::mem::take(&mut sent)).await;
                }
            })
        };

        let _ = tokio::join!(claimer, sender, recorder);
    }
}

fn not_recorded(n: usize, e: &AppError) -> Pass {
    // The leases run out and the items are claimed again.
    tracing::error!(error = %e, "deliveries to agencies not recorded");
    Pass {
        failed: n,
        ..Pass::default()
    }
}

fn worker_error(e: &dyn std::fmt::Display) {
    tracing::error!(error = %e, "outbox worker: database error");
    metrics::counter!("sportello_worker_errors_total").increment(1);
}

/// Deterministic spread in [0, 1) so that retries do not all fire together.
pub(crate) fn jitter(id: i64, attempts: i64) -> f64 {
    let x = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (attempts as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (x >> 11) as f64 / (1u64 << 53) as f64
}
