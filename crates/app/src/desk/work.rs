//! Working a request: the office manager assigns, the operator takes it,
//! writes notes and messages, asks for documents, closes with an outcome or
//! transfers it to a local office; the requester reads and answers.

use sportello_core::authz::Action;
use sportello_core::desk::workflow::{self, RequestEvent, RequestState};
use sportello_store::desk::{
    self as store, AttachmentInfo, Channel, DeskOffice, Request, RequestEvent as Event, StaffMember,
};
use sportello_store::{AnyConnection, StoreError};

use super::files::{self, Upload};
use super::{channel_hours, conflict};
use crate::mail::MailMessage;
use crate::{App, AppError, Origin, SessionUser, now_micros, queue_mail, record};

/// What an office worker (or the requester) does to a request.
#[derive(Clone, Debug)]
pub enum WorkAct {
    /// Manager: give the request to an operator (or himself).
    Assign { assignee_id: i64 },
    /// Operator or manager: start working it.
    Take,
    /// An internal note, never shown to the requester.
    Note { text: String },
    /// A message to the requester, by e-mail from the office's mailbox;
    /// `ask_documents` also stops the clock until he answers.
    Message { text: String, ask_documents: bool },
    /// Closure with one of the channel's outcomes; the requester is told.
    Close { outcome: String, text: String },
    /// Hand-over to a local office agreed with the requester, with the appointment.
    Transfer {
        office_code: String,
        appointment: String,
    },
}

/// A request with everything its page shows to the viewer.
#[derive(Clone, Debug)]
pub struct RequestView {
    pub request: Request,
    pub channel: Channel,
    pub office: DeskOffice,
    pub events: Vec<Event>,
    pub attachments: Vec<AttachmentInfo>,
    pub assignee_name: Option<String>,
    pub is_requester: bool,
    pub can_work: bool,
    pub can_manage: bool,
    pub staff: Vec<StaffMember>,
    pub outcomes: Vec<String>,
    pub fields: Vec<(String, String)>,
}

impl App {
    pub async fn request_view(
        &self,
        who: Option<&SessionUser>,
        id: i64,
    ) -> Result<RequestView, AppError> {
        let who_s = who.ok_or(AppError::NeedsLogin)?;
        let request = store::request(&self.db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.authorize(
            who,
            &Action::ViewRequest {
                requester_id: request.requester_user_id,
                office_id: request.office_id,
                region: &request.region,
            },
        )?;
        let channel = store::channel(&self.db, request.channel_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut conn = self.db.pool().acquire().await.map_err(StoreError::from)?;
        let office = store::desk_office_in(&mut conn, request.office_id)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(conn);
        let can =
            |a: &Action<'_>| sportello_core::authz::decide(Some(&who_s.actor), a).is_allowed();
        let can_work = can(&Action::WorkOffice {
            office_id: request.office_id,
        });
        let can_manage = can(&Action::ManageOffice {
            office_id: request.office_id,
        });
        let is_requester = request.requester_user_id == Some(who_s.user.id);
        let staff_view = can_work || can_manage;
        let mut events = store::events(&self.db, id).await?;
        let mut attachments = store::attachments(&self.db, id).await?;
        if !staff_view {
            events.retain(|e| e.public != 0);
            let shown: Vec<i64> = events.iter().map(|e| e.id).collect();
            attachments.retain(|a| a.event_id.is_some_and(|e| shown.contains(&e)));
        }
        let staff = if staff_view {
            store::office_staff(&self.db, request.office_id).await?
        } else {
            Vec::new()
        };
        let assignee_name = match request.assignee_id {
            Some(a) => sportello_store::directory::user_by_id(&self.db, a)
                .await?
                .map(|u| format!("{} {}", u.given_name, u.family_name)),
            None => None,
        };
        let values: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&request.fields).unwrap_or_default();
        let spec = sportello_core::desk::form::FormSpec::parse(&channel.form_spec).ok();
        let label = |k: &str| {
            spec.as_ref()
                .and_then(|s| s.fields.iter().find(|f| f.key == k))
                .map(|f| f.label.clone())
                .unwrap_or_else(|| match k {
                    "tipo_atto" => "Tipo di atto".into(),
                    "modello" => "Modello di dichiarazione".into(),
                    "anno_imposta" => "Anno d'imposta".into(),
                    _ => k.to_string(),
                })
        };
        let fields = values.iter().map(|(k, v)| (label(k), v.clone())).collect();
        Ok(RequestView {
            outcomes: channel.outcome_list(),
            request,
            channel,
            office,
            events,
            attachments,
            assignee_name,
            is_requester,
            can_work,
            can_manage,
            staff,
            fields,
        })
    }

    /// One attachment, for whoever may see its request (and its event).
    pub async fn request_attachment(
        &self,
        who: Option<&SessionUser>,
        request_id: i64,
        attachment_id: i64,
    ) -> Result<(AttachmentInfo, Vec<u8>), AppError> {
        let view = self.request_view(who, request_id).await?;
        if !view.attachments.iter().any(|a| a.id == attachment_id) {
            return Err(AppError::NotFound);
        }
        store::attachment(&self.db, attachment_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// An office worker acts on a request: one transaction with the history
    /// event, the report counters, the audit event and the mails.
    pub async fn work_request(
        &self,
        who: Option<&SessionUser>,
        id: i64,
        act: WorkAct,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let who_s = who.ok_or(AppError::NeedsLogin)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let req = store::request_in(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        match &act {
            WorkAct::Assign { .. } => self.authorize(
                who,
                &Action::ManageOffice {
                    office_id: req.office_id,
                },
            )?,
            _ => self.authorize(
                who,
                &Action::WorkOffice {
                    office_id: req.office_id,
                },
            )?,
        }
        let channel = store::channel_in(&mut tx, req.channel_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let office = store::desk_office_in(&mut tx, req.office_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let me = format!("{} {}", who_s.user.given_name, who_s.user.family_name);
        let state = RequestState::from_code(&req.state)
            .ok_or_else(|| AppError::Internal(format!("stato sconosciuto {}", req.state)))?;
        let mut next = req.clone();
        let (kind, public, body, audit_action, detail);
        let mut mails: Vec<MailMessage> = Vec::new();
        let office_from = office.mailbox.clone();
        let requester_mail = |subject: String, text: String| {
            req.requester_email.as_ref().map(|to| MailMessage {
                from: office_from.clone(),
                to: vec![to.clone()],
                subject: format!("[{}] {subject}", req.protocol),
                body: format!(
                    "{text}\n\n--\n{}\nRichiesta di assistenza {} del {}, canale {}.\n\
                     Per rispondere o inviare documenti mantenga il numero di protocollo nell'oggetto.\n",
                    office.name,
                    req.protocol,
                    self.format_time(req.registered_at),
                    channel.name
                ),
            })
        };
        match act {
            WorkAct::Assign { assignee_id } => {
                let staff = store::office_staff_in(&mut tx, req.office_id).await?;
                let Some(person) = staff.iter().find(|s| s.user_id == assignee_id) else {
                    return Err(AppError::Invalid {
                        field: "assignee_id",
                        message: "non è un operatore o gestore di questo ufficio".into(),
                    });
                };
                next.state = transition(state, RequestEvent::Assign)?;
                next.assignee_id = Some(assignee_id);
                let name = format!("{} {}", person.given_name, person.family_name);
                kind = "assigned";
                public = false;
                body = format!("Assegnata a {name}");
                audit_action = "desk.request.assign";
                detail = serde_json::json!({ "assignee": assignee_id });
                if assignee_id != who_s.user.id {
                    mails.push(MailMessage {
                        from: None,
                        to: vec![person.email.clone()],
                        subject: format!("[{}] Richiesta assegnata a lei", req.protocol),
                        body: format!(
                            "{me} le ha assegnato la richiesta {} ({}).\n\nOggetto: {}\n\n{}/ufficio/richieste/{}\n",
                            req.protocol, channel.code, req.subject, self.config.public_base_url, req.id
                        ),
                    });
                }
            }
            WorkAct::Take => {
                if state == RequestState::Assigned
                    && req.assignee_id != Some(who_s.user.id)
                    && !sportello_core::authz::decide(
                        Some(&who_s.actor),
                        &Action::ManageOffice {
                            office_id: req.office_id,
                        },
                    )
                    .is_allowed()
                {
                    return Err(AppError::Forbidden("assigned to another operator"));
                }
                next.state = transition(state, RequestEvent::Take)?;
                next.assignee_id = Some(who_s.user.id);
                next.taken_at = Some(now);
                kind = "taken";
                public = true;
                body = "Presa in carico".into();
                audit_action = "desk.request.take";
                detail = serde_json::json!({});
            }
            WorkAct::Note { text } => {
                let text = required(text, "text", 10_000)?;
                if state == RequestState::Closed {
                    return Err(AppError::Conflict("la richiesta è chiusa".into()));
                }
                kind = "note";
                public = false;
                body = text;
                audit_action = "desk.request.note";
                detail = serde_json::json!({});
            }
            WorkAct::Message {
                text,
                ask_documents,
            } => {
                let text = required(text, "text", 10_000)?;
                if ask_documents {
                    next.state = transition(state, RequestEvent::AskDocuments)?;
                    next.paused_since = Some(now);
                } else if state == RequestState::Closed {
                    return Err(AppError::Conflict("la richiesta è chiusa".into()));
                }
                if req.requester_email.is_none() {
                    return Err(AppError::Invalid {
                        field: "text",
                        message: "il richiedente non ha indicato un indirizzo e-mail".into(),
                    });
                }
                let subject = if ask_documents {
                    "Richiesta di documentazione".to_string()
                } else {
                    req.subject.clone()
                };
                mails.extend(requester_mail(subject, text.clone()));
                kind = if ask_documents {
                    "documents_requested"
                } else {
                    "message_out"
                };
                public = true;
                body = text;
                audit_action = "desk.request.message";
                detail = serde_json::json!({ "ask_documents": ask_documents });
            }
            WorkAct::Close { outcome, text } => {
                let outcomes = channel.outcome_list();
                if !outcomes.contains(&outcome) {
                    return Err(AppError::Invalid {
                        field: "outcome",
                        message: format!(
                            "esito non previsto; scegliere tra: {}",
                            outcomes.join(", ")
                        ),
                    });
                }
                next.state = transition(state, RequestEvent::Close)?;
                self.resume_clock(&channel, &mut next, now)?;
                next.outcome = Some(outcome.clone());
                next.closed_at = Some(now);
                let text = text.trim().to_string();
                mails.extend(requester_mail(
                    format!("Esito della richiesta di assistenza: {outcome}"),
                    format!(
                        "La richiesta di assistenza {} è stata chiusa.\n\nEsito: {outcome}\n{}",
                        req.protocol,
                        if text.is_empty() {
                            String::new()
                        } else {
                            format!("\n{text}\n")
                        }
                    ),
                ));
                kind = "closed";
                public = true;
                body = if text.is_empty() {
                    format!("Esito: {outcome}")
                } else {
                    format!("Esito: {outcome}\n\n{text}")
                };
                audit_action = "desk.request.close";
                detail = serde_json::json!({ "outcome": outcome });
            }
            WorkAct::Transfer {
                office_code,
                appointment,
            } => {
                let appointment = required(appointment, "appointment", 2_000)?;
                let Some(target) =
                    store::desk_office_by_code_in(&mut tx, office_code.trim()).await?
                else {
                    return Err(AppError::Invalid {
                        field: "office_code",
                        message: format!("ufficio «{}» inesistente", office_code.trim()),
                    });
                };
                if target.id == req.office_id {
                    return Err(AppError::Invalid {
                        field: "office_code",
                        message: "la richiesta è già di questo ufficio".into(),
                    });
                }
                next.state = transition(state, RequestEvent::Transfer)?;
                self.resume_clock(&channel, &mut next, now)?;
                next.office_id = target.id;
                next.region = target.region.clone().unwrap_or_default();
                next.assignee_id = None;
                next.taken_at = None;
                mails.extend(requester_mail(
                    format!("Trasferita a {}", target.name),
                    format!(
                        "La richiesta non può essere conclusa dal canale {} ed è stata \
                         assegnata all'ufficio {}, come concordato.\n\nAppuntamento e modalità:\n{appointment}",
                        channel.name, target.name
                    ),
                ));
                if let Some(mb) = &target.mailbox {
                    mails.push(MailMessage {
                        from: None,
                        to: vec![mb.clone()],
                        subject: format!("[{}] Richiesta trasferita al vostro ufficio", req.protocol),
                        body: format!(
                            "{} ({}) ha trasferito la richiesta {} al vostro ufficio.\n\n\
                             Oggetto: {}\nRichiedente: {}\nAppuntamento: {appointment}\n\n{}/ufficio/richieste/{}\n",
                            office.name, me, req.protocol, req.subject, req.requester_name,
                            self.config.public_base_url, req.id
                        ),
                    });
                }
                kind = "transferred";
                public = true;
                body = format!("Trasferita a {}.\nAppuntamento: {appointment}", target.name);
                audit_action = "desk.request.transfer";
                detail = serde_json::json!({ "from": office.code, "to": target.code });
            }
        }
        if next.state != req.state
            || next.office_id != req.office_id
            || next.assignee_id != req.assignee_id
        {
            store::update_request_in(&mut tx, &next, &req.state, now)
                .await
                .map_err(conflict)?;
            self.count_move(&mut tx, &req, &next, now).await?;
        }
        store::add_event_in(
            &mut tx,
            id,
            now,
            Some(who_s.user.id),
            &me,
            kind,
            public,
            &body,
            &detail.to_string(),
        )
        .await?;
        let mut audit_detail = detail;
        audit_detail["protocol"] = req.protocol.clone().into();
        record(
            &mut tx,
            &format!("user:{}", who_s.user.id),
            who_s.user.organization_id,
            audit_action,
            &format!("request:{id}"),
            &audit_detail.to_string(),
            origin,
            now,
        )
        .await?;
        for m in &mails {
            queue_mail(&mut tx, m, now).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Annuls a registration (DPR 445/2000 art. 54): its fixed fields stay
    /// readable with the mark, the date, who annulled it and the reference of
    /// the act that authorised it. Reserved to the register's keepers.
    pub async fn annul_registration(
        &self,
        who: Option<&SessionUser>,
        id: i64,
        reason: String,
        origin: &Origin,
    ) -> Result<(), AppError> {
        self.authorize(who, &Action::ExportRegister)?;
        let who_s = who.ok_or(AppError::NeedsLogin)?;
        let reason = required(reason, "reason", 500)?;
        if reason.chars().count() < 10 {
            return Err(AppError::Invalid {
                field: "reason",
                message: "indicare il motivo e gli estremi dell'atto che autorizza l'annullamento"
                    .into(),
            });
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let req = store::request_in(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !store::annul_request_in(&mut tx, id, who_s.user.id, &reason, now).await? {
            return Err(AppError::Conflict(format!(
                "la registrazione {} è già annullata",
                req.protocol
            )));
        }
        let me = format!("{} {}", who_s.user.given_name, who_s.user.family_name);
        store::add_event_in(
            &mut tx,
            id,
            now,
            Some(who_s.user.id),
            &me,
            "annulled",
            true,
            &format!("Registrazione annullata: {reason}"),
            "{}",
        )
        .await?;
        let (_, day) = self.civil_day(now);
        store::bump_stat_in(&mut tx, req.office_id, &req.region, day, "annulled", 1).await?;
        record(
            &mut tx,
            &format!("user:{}", who_s.user.id),
            who_s.user.organization_id,
            "desk.register.annul",
            &format!("request:{id}"),
            &serde_json::json!({ "protocol": req.protocol, "reason": reason }).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The requester answers on the portal, with documents if asked.
    pub async fn reply_to_request(
        &self,
        who: Option<&SessionUser>,
        id: i64,
        text: String,
        uploads: Vec<Upload>,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let who_s = who.ok_or(AppError::NeedsLogin)?;
        let req = store::request(&self.db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if req.requester_user_id != Some(who_s.user.id) {
            return Err(AppError::Forbidden("only the requester answers here"));
        }
        let channel = store::channel(&self.db, req.channel_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut problems = Vec::new();
        let text = text.trim().to_string();
        super::intake::check_text(&mut problems, "text", &text, 10_000);
        let checked = self
            .check_attachments(&channel, &uploads)
            .unwrap_or_else(|list| {
                problems.extend(list);
                Vec::new()
            });
        if !problems.is_empty() {
            return Err(AppError::InvalidFields(problems));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let label = format!("{} {}", who_s.user.given_name, who_s.user.family_name);
        self.add_requester_message_in(
            &mut tx,
            &req,
            &channel,
            &text,
            &checked,
            Some(who_s.user.id),
            &label,
            now,
        )
        .await?;
        record(
            &mut tx,
            &format!("user:{}", who_s.user.id),
            who_s.user.organization_id,
            "desk.request.reply",
            &format!("request:{id}"),
            &serde_json::json!({ "protocol": req.protocol, "attachments": checked.len() })
                .to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Adds the requester's message (web or mail) to the correspondence;
    /// a request waiting for documents goes back to work, the clock restarts,
    /// and the office is told.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn add_requester_message_in(
        &self,
        tx: &mut AnyConnection,
        req: &Request,
        channel: &Channel,
        text: &str,
        files: &[files::CheckedFile],
        actor_user_id: Option<i64>,
        actor_label: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let state = RequestState::from_code(&req.state)
            .ok_or_else(|| AppError::Internal(format!("stato sconosciuto {}", req.state)))?;
        if state == RequestState::Closed {
            return Err(AppError::Conflict("la richiesta è già chiusa".into()));
        }
        if state == RequestState::WaitingRequester {
            let mut next = req.clone();
            next.state = transition(state, RequestEvent::RequesterReplied)?;
            self.resume_clock(channel, &mut next, now)?;
            store::update_request_in(tx, &next, &req.state, now)
                .await
                .map_err(conflict)?;
            self.count_move(tx, req, &next, now).await?;
        }
        let event = store::add_event_in(
            tx,
            req.id,
            now,
            actor_user_id,
            actor_label,
            "message_in",
            true,
            text,
            &serde_json::json!({ "attachments": files.len() }).to_string(),
        )
        .await?;
        for f in files {
            store::add_attachment_in(
                tx,
                req.id,
                Some(event),
                &f.filename,
                &f.content_type,
                &f.sha256,
                &f.data,
                now,
            )
            .await?;
        }
        let office = store::desk_office_in(tx, req.office_id).await?;
        let to = match req.assignee_id {
            Some(a) => sportello_store::directory::user_by_id_in(tx, a)
                .await?
                .map(|u| u.email),
            None => None,
        }
        .or_else(|| office.as_ref().and_then(|o| o.mailbox.clone()));
        if let Some(to) = to {
            queue_mail(
                tx,
                &MailMessage {
                    from: None,
                    to: vec![to],
                    subject: format!("[{}] Nuovo messaggio del richiedente", req.protocol),
                    body: format!(
                        "{actor_label} ha scritto sulla richiesta {} ({} allegati).\n\n{text}\n\n{}/ufficio/richieste/{}\n",
                        req.protocol,
                        files.len(),
                        self.config.public_base_url,
                        req.id
                    ),
                },
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Leaving "waiting for the requester": the paused open time is added to
    /// the pause total and the closing deadline moves by as much.
    fn resume_clock(&self, channel: &Channel, r: &mut Request, now: i64) -> Result<(), AppError> {
        if let Some(since) = r.paused_since.take() {
            let hours = channel_hours(channel)?;
            let tz = self.time_zone();
            let paused = hours.open_micros_between(since, now, &tz);
            r.paused_micros += paused;
            if let Some(due) = r.close_due_at {
                r.close_due_at = hours.add_open_micros(due, paused, &tz).or(Some(due));
            }
        }
        Ok(())
    }

    /// Keeps the report counters in step with a change of state or office.
    async fn count_move(
        &self,
        tx: &mut AnyConnection,
        before: &Request,
        after: &Request,
        now: i64,
    ) -> Result<(), AppError> {
        fn open(r: &Request) -> Option<&str> {
            (r.state != RequestState::Closed.code()).then_some(r.state.as_str())
        }
        if before.office_id == after.office_id {
            if before.state != after.state {
                store::move_open_in(tx, before.office_id, open(before), open(after)).await?;
            }
        } else {
            store::move_open_in(tx, before.office_id, open(before), None).await?;
            store::move_open_in(tx, after.office_id, None, open(after)).await?;
        }
        let (_, day) = self.civil_day(now);
        if before.office_id != after.office_id {
            store::bump_stat_in(
                tx,
                before.office_id,
                &before.region,
                day,
                "transferred_out",
                1,
            )
            .await?;
            store::bump_stat_in(tx, after.office_id, &after.region, day, "transferred_in", 1)
                .await?;
        }
        if after.state == RequestState::InProgress.code()
            && before.taken_at.is_none()
            && after.taken_at.is_some()
        {
            store::bump_stat_in(tx, after.office_id, &after.region, day, "taken", 1).await?;
        }
        if after.state == RequestState::Closed.code() && before.state != after.state {
            store::bump_stat_in(tx, after.office_id, &after.region, day, "closed", 1).await?;
            let outcome = after.outcome.as_deref().unwrap_or("-");
            store::bump_stat_in(
                tx,
                after.office_id,
                &after.region,
                day,
                &format!("outcome:{outcome}"),
                1,
            )
            .await?;
        }
        Ok(())
    }
}

/// The next state's code, or why the step is not allowed now.
fn transition(state: RequestState, event: RequestEvent) -> Result<String, AppError> {
    workflow::next(state, event)
        .map(|s| s.code().to_string())
        .map_err(|e| AppError::Conflict(e.to_string()))
}

fn required(text: String, field: &'static str, max: usize) -> Result<String, AppError> {
    let t = text.trim().to_string();
    if t.is_empty() {
        return Err(AppError::Invalid {
            field,
            message: "campo obbligatorio".into(),
        });
    }
    if t.chars().count() > max {
        return Err(AppError::Invalid {
            field,
            message: format!("al massimo {max} caratteri"),
        });
    }
    Ok(t)
}
