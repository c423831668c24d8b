//! Group commit of web submissions. Concurrent registrations are written in
//! one transaction, each inside its own savepoint: a submission that fails
//! rolls back to its savepoint (its protocol number is given back, so the
//! numbers stay gapless) and is answered with its error, the others go on;
//! one durable commit then covers them all, and only after it does each
//! submitter get his protocol number. Whoever finds the commit slot free
//! takes everything queued so far; the others wait for their answer.

use std::sync::Mutex;

use sportello_store::desk::{self as store, Contact};
use sportello_store::{AnyConnection, StoreError};
use tokio::sync::oneshot;

use super::{Registered, Registration};
use crate::{App, AppError, Origin, now_micros};

/// One web submission, checked and ready to register.
pub(crate) struct WebJob {
    pub user_id: i64,
    pub organization_id: Option<i64>,
    pub contact: Contact,
    pub origin: Origin,
    pub registration: Registration,
}

struct Pending {
    job: WebJob,
    reply: oneshot::Sender<Result<Registered, AppError>>,
}

#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<Vec<Pending>>,
    slot: tokio::sync::Mutex<()>,
}

impl App {
    pub(crate) async fn register_grouped(&self, job: WebJob) -> Result<Registered, AppError> {
        let (reply, answer) = oneshot::channel();
        self.group
            .queue
            .lock()
            .map_err(|_| AppError::Internal("coda delle registrazioni non disponibile".into()))?
            .push(Pending { job, reply });
        {
            let _slot = self.group.slot.lock().await;
            let batch = match self.group.queue.lock() {
                Ok(mut q) => std::mem::take(&mut *q),
                Err(_) => Vec::new(),
            };
            if !batch.is_empty() {
                // Its own task: a submitter who goes away does not cut the
                // batch of the others short.
                let app = self.clone();
                let _ = tokio::spawn(async move { app.commit_batch(batch).await }).await;
            }
        }
        answer
            .await
            .map_err(|_| AppError::Internal("registrazione interrotta".into()))?
    }

    async fn commit_batch(&self, batch: Vec<Pending>) {
        metrics::histogram!("sportello_desk_group_commit_size").record(batch.len() as f64);
        let now = now_micros();
        let mut tx = match self.db.begin_write().await {
            Ok(tx) => tx,
            Err(e) => {
                let message = e.to_string();
                for p in batch {
                    let _ = p.reply.send(Err(AppError::Internal(message.clone())));
                }
                return;
            }
        };
        let mut registered = Vec::new();
        for p in batch {
            let step = async {
                store::savepoint_in(&mut tx, store::Savepoint::Begin).await?;
                match self.web_job_in(&mut tx, &p.job, now).await {
                    Ok(r) => {
                        store::savepoint_in(&mut tx, store::Savepoint::Release).await?;
                        Ok(Ok(r))
                    }
                    Err(e) => {
                        store::savepoint_in(&mut tx, store::Savepoint::RollBack).await?;
                        store::savepoint_in(&mut tx, store::Savepoint::Release).await?;
                        Ok::<_, StoreError>(Err(e))
                    }
                }
            }
            .await;
            match step {
                Ok(Ok(r)) => registered.push((p.reply, r)),
                Ok(Err(e)) => {
                    let _ = p.reply.send(Err(e));
                }
                Err(e) => {
                    // The transaction itself is broken: nobody in it is committed.
                    let message = e.to_string();
                    let _ = p.reply.send(Err(AppError::Internal(message.clone())));
                    for (reply, _) in registered {
                        let _ = reply.send(Err(AppError::Internal(message.clone())));
                    }
                    return;
                }
            }
        }
        match tx.commit().await {
            Ok(()) => {
                for (reply, r) in registered {
                    let _ = reply.send(Ok(r));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for (reply, _) in registered {
                    let _ = reply.send(Err(AppError::Internal(message.clone())));
                }
            }
        }
    }

    async fn web_job_in(
        &self,
        tx: &mut AnyConnection,
        job: &WebJob,
        now: i64,
    ) -> Result<Registered, AppError> {
        let province = match job.organization_id {
            Some(org) => store::organization_province_in(tx, org).await?,
            None => None,
        };
        store::save_contact_in(tx, job.user_id, &job.contact, now).await?;
        let r = &job.registration;
        self.register_in(
            tx,
            Registration {
                channel: r.channel.clone(),
                intake: r.intake,
                requester_user_id: r.requester_user_id,
                requester_name: r.requester_name.clone(),
                requester_email: r.requester_email.clone(),
                requester_phone: r.requester_phone.clone(),
                contact_name: r.contact_name.clone(),
                subject: r.subject.clone(),
                body: r.body.clone(),
                fields: r.fields.clone(),
                document_hash: r.document_hash.clone(),
                attachments: r.attachments.clone(),
                preferred_offices: r.preferred_offices.clone(),
                requester_province: province,
                actor_user_id: r.actor_user_id,
                actor_label: r.actor_label.clone(),
                acting_organization: r.acting_organization,
            },
            &job.origin,
            now,
        )
        .await
    }
}
