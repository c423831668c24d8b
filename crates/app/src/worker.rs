//! Outbox workers: claim due items with a lease, deliver, record the result.

use std::time::{Duration, Instant};

use sportello_core::retry::{AfterFailure, RetryPolicy};
use sportello_store::{Db, outbox};
use tokio::sync::watch;

use crate::filings::courier::{Courier, OUTBOX_KIND as DELIVERY};
use crate::mail::{MailMessage, Mailer, OUTBOX_KIND as MAIL};
use crate::now_micros;

/// How often a worker refreshes the outbox depth gauges.
const DEPTH_EVERY: Duration = Duration::from_secs(1);

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

impl Worker {
    /// Processes the items due now. Returns what happened.
    pub async fn run_once(&self) -> sportello_store::Result<Pass> {
        let mut pass = Pass::default();
        let items = outbox::claim_due(
            &self.db,
            now_micros(),
            self.lease.as_micros() as i64,
            // A few rounds of deliveries per pass: the commit that records
            // them is shared by more.
            16.max(CLAIM_ROUNDS * self.courier.concurrency as i64),
        )
        .await?;
        // Deliveries to agencies go out together and are recorded in one
        // transaction with their outbox items.
        let (deliveries, items): (Vec<_>, Vec<_>) =
            items.into_iter().partition(|i| i.kind == DELIVERY);
        if !deliveries.is_empty() {
            match self.courier.deliver_batch(&deliveries, &self.policy).await {
                Ok(n) => {
                    metrics::counter!("sportello_outbox_sent_total", "kind" => DELIVERY)
                        .increment(n as u64);
                    pass.sent += n;
                }
                Err(e) => {
                    // The leases run out and the items are claimed again.
                    tracing::error!(error = %e, "deliveries to agencies not recorded");
                    pass.failed += deliveries.len();
                }
            }
        }
        // Delivered items are marked together at the end of the pass (one
        // write for up to 16); a crash before that re-sends them with the
        // same Message-ID, which receivers recognise.
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

    /// Loops until `shutdown` turns true; the item in hand is always finished.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut gauged: Option<Instant> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let busy = match self.run_once().await {
                Ok(p) => p.sent + p.failed + p.dead > 0,
                Err(e) => {
                    tracing::error!(error = %e, "outbox worker: database error");
                    metrics::counter!("sportello_worker_errors_total").increment(1);
                    false
                }
            };
            // Counting the outbox reads all of it: at most once per interval,
            // not after every batch of a busy worker.
            if gauged.is_none_or(|t| t.elapsed() >= DEPTH_EVERY.max(self.poll_interval)) {
                gauged = Some(Instant::now());
                if let Ok(d) = outbox::depth(&self.db).await {
                    metrics::gauge!("sportello_outbox_depth", "state" => "pending")
                        .set(d.pending as f64);
                    metrics::gauge!("sportello_outbox_depth", "state" => "dead").set(d.dead as f64);
                }
            }
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

/// Deterministic spread in [0, 1) so that retries do not all fire together.
pub(crate) fn jitter(id: i64, attempts: i64) -> f64 {
    let x = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (attempts as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (x >> 11) as f64 / (1u64 << 53) as f64
}
