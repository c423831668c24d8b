//! Intake by e-mail (seed 002: documents arrive with the protocol number in
//! the subject; seed 003: the channel's acronym in the subject opens a
//! request). Every message is kept: it opens a request, joins one, is
//! ignored (auto-replies, bounces) or waits in the triage list with the reason.

use std::collections::BTreeMap;

use sportello_core::authz::Action;
use sportello_core::desk::protocol::{self, ProtocolRef};
use sportello_store::desk::{self as store, Channel, Request};
use sportello_store::directory::User;
use sportello_store::{AnyConnection, StoreError};

use super::files::{CheckedFile, Upload};
use super::{Intake, Registration};
use crate::mail_in::{self, InboundMail, MailKind};
use crate::{App, AppError, Origin, SessionUser, now_micros, record};

/// Where the generated mail-gate token is kept when none is configured.
pub const MAILGATE_TOKEN_FILE: &str = "mailgate.token";

/// The secret the mail gate presents: `desk.mailgate_token`, or the one kept
/// in `<data_dir>/mailgate.token`; with `persist`, one is generated and kept
/// there (mode 0600) if none exists yet, otherwise a fresh one lives in memory.
pub fn mailgate_token(config: &crate::Config, persist: bool) -> Result<String, String> {
    if !config.desk.mailgate_token.is_empty() {
        return Ok(config.desk.mailgate_token.clone());
    }
    let path = config.data_dir.join(MAILGATE_TOKEN_FILE);
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_string();
        if t.len() >= 32 {
            return Ok(t);
        }
    }
    let token = crate::security::random_token();
    if persist {
        crate::demo::write_private(&path, &token)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(token)
}

impl App {
    /// Keeps the mail gate's token in the data dir for `sportello mailgate`
    /// (when none is configured). Called by `serve`.
    pub fn persist_mailgate_token(&self) -> Result<(), String> {
        if !self.config.desk.mailgate_token.is_empty() {
            return Ok(());
        }
        let path = self.config.data_dir.join(MAILGATE_TOKEN_FILE);
        if std::fs::read_to_string(&path).is_ok_and(|t| t.trim() == self.mailgate_token.as_str()) {
            return Ok(());
        }
        crate::demo::write_private(&path, &self.mailgate_token)
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// What became of an inbound message.
#[derive(Clone, Debug, serde::Serialize, PartialEq)]
pub struct MailOutcome {
    /// `opened`, `attached`, `ignored`, `triage` or `duplicate`.
    pub status: String,
    pub inbound_id: i64,
    pub request_id: Option<i64>,
    pub protocol: Option<String>,
    pub reason: String,
}

/// What a triage worker decides for a message.
#[derive(Clone, Debug)]
pub enum TriageDecision {
    /// Add it to the request with this protocol number.
    Attach { protocol: String },
    /// Open a new request on this channel.
    Open { channel_code: String },
    /// Nothing to do (spam, wrong address); the reason stays on record.
    Discard { reason: String },
}

enum Route {
    Attach(Box<(Request, Channel)>),
    Open(Box<(Channel, User)>),
    Triage(String),
}

impl App {
    /// Takes one RFC 5322 message (from `sportello mailgate`, an MTA or the
    /// IMAP poller). Malformed input is refused and nothing is stored.
    pub async fn receive_mail(&self, raw: &[u8], origin: &Origin) -> Result<MailOutcome, AppError> {
        let mail = mail_in::parse(raw, self.config.desk.max_message_bytes).map_err(|e| {
            AppError::Invalid {
                field: "message",
                message: e.to_string(),
            }
        })?;
        // Decide on a pooled connection first: the write transaction below
        // must not wait for a second connection while it holds the lock.
        let route = match mail.kind {
            MailKind::Normal => {
                let mut conn = self.db.pool().acquire().await.map_err(StoreError::from)?;
                Some(self.route_mail_in(&mut conn, &mail).await?)
            }
            _ => None,
        };
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if let Some(mid) = mail.message_id.as_deref()
            && let Some(seen) = store::inbound_by_message_id_in(&mut tx, mid).await?
        {
            // The MTA delivered it again: answer as before, store nothing.
            return Ok(MailOutcome {
                status: "duplicate".into(),
                inbound_id: seen.id,
                request_id: seen.request_id,
                protocol: None,
                reason: format!("messaggio già ricevuto ({})", seen.status),
            });
        }
        let outcome = match mail.kind {
            MailKind::AutoReply => {
                self.keep_in(
                    &mut tx,
                    &mail,
                    raw,
                    "ignored",
                    "risposta automatica",
                    None,
                    now,
                )
                .await?
            }
            MailKind::Bounce => {
                self.keep_in(
                    &mut tx,
                    &mail,
                    raw,
                    "ignored",
                    "notifica di mancato recapito",
                    None,
                    now,
                )
                .await?
            }
            MailKind::Normal => match route.ok_or(AppError::NotFound)? {
                Route::Triage(reason) => {
                    self.keep_in(&mut tx, &mail, raw, "triage", &reason, None, now)
                        .await?
                }
                Route::Attach(found) => {
                    let (req, channel) = *found;
                    match check_files(self, &mail, &channel) {
                        Err(reason) => {
                            self.keep_in(&mut tx, &mail, raw, "triage", &reason, None, now)
                                .await?
                        }
                        Ok(files) => {
                            self.attach_mail_in(&mut tx, &mail, &req, &channel, &files, None, now)
                                .await?;
                            let mut o = self
                                .keep_in(&mut tx, &mail, raw, "attached", "", Some(req.id), now)
                                .await?;
                            o.protocol = Some(req.protocol.clone());
                            o
                        }
                    }
                }
                Route::Open(found) => {
                    let (channel, sender) = *found;
                    match check_files(self, &mail, &channel) {
                        Err(reason) => {
                            self.keep_in(&mut tx, &mail, raw, "triage", &reason, None, now)
                                .await?
                        }
                        Ok(files) => {
                            let reg = self
                                .open_from_mail_in(
                                    &mut tx,
                                    &mail,
                                    &channel,
                                    Some(&sender),
                                    files,
                                    None,
                                    origin,
                                    now,
                                )
                                .await?;
                            let mut o = self
                                .keep_in(&mut tx, &mail, raw, "opened", "", Some(reg.id), now)
                                .await?;
                            o.protocol = Some(reg.protocol);
                            o
                        }
                    }
                }
            },
        };
        tx.commit().await.map_err(StoreError::from)?;
        metrics::counter!("sportello_desk_inbound_mail_total", "status" => outcome.status.clone())
            .increment(1);
        Ok(outcome)
    }

    #[allow(clippy::too_many_arguments)]
    async fn keep_in(
        &self,
        tx: &mut AnyConnection,
        mail: &InboundMail,
        raw: &[u8],
        status: &str,
        reason: &str,
        request_id: Option<i64>,
        now: i64,
    ) -> Result<MailOutcome, AppError> {
        let kind = match mail.kind {
            MailKind::Normal => "normal",
            MailKind::AutoReply => "auto_reply",
            MailKind::Bounce => "bounce",
        };
        let id = store::insert_inbound_in(
            tx,
            mail.message_id.as_deref(),
            mail.from_address.as_deref(),
            mail.to.first().map(String::as_str),
            &mail.subject,
            kind,
            status,
            reason,
            request_id,
            &mail.sha256,
            raw,
            now,
        )
        .await?;
        Ok(MailOutcome {
            status: status.into(),
            inbound_id: id,
            request_id,
            protocol: None,
            reason: reason.into(),
        })
    }

    /// Decides where a normal message goes, from its subject and addresses.
    async fn route_mail_in(
        &self,
        tx: &mut AnyConnection,
        mail: &InboundMail,
    ) -> Result<Route, AppError> {
        let addressed = store::channels_addressed_in(tx, &mail.to).await?;
        let refs = protocol::find_references(&mail.subject);
        if let Some(first) = refs.first() {
            return self.route_reference_in(tx, first, &addressed).await;
        }
        let all = store::channels_in(tx).await?;
        let candidates: Vec<&Channel> = all
            .iter()
            .filter(|c| c.active != 0 && c.intake_mail != 0)
            .collect();
        let codes: Vec<&str> = candidates.iter().map(|c| c.code.as_str()).collect();
        let Some(code) = protocol::find_acronym(&mail.subject, &codes) else {
            return Ok(Route::Triage(
                "nell'oggetto non c'è né un numero di protocollo né la sigla di un canale".into(),
            ));
        };
        let channel = candidates
            .iter()
            .find(|c| c.code == code)
            .map(|c| (*c).clone())
            .ok_or(AppError::NotFound)?;
        let Some(from) = mail.from_address.as_deref() else {
            return Ok(Route::Triage("mittente mancante".into()));
        };
        let users = store::active_users_by_email_in(tx, from).await?;
        let [user] = users.as_slice() else {
            return Ok(Route::Triage(if users.is_empty() {
                format!("mittente sconosciuto: {from} non corrisponde a un'utenza attiva")
            } else {
                format!("mittente ambiguo: più utenze con l'indirizzo {from}")
            }));
        };
        if !self.eligibility(&channel, user).await?.0 {
            return Ok(Route::Triage(format!(
                "il mittente {from} non è tra i richiedenti del canale {}",
                channel.code
            )));
        }
        Ok(Route::Open(Box::new((channel, user.clone()))))
    }

    async fn route_reference_in(
        &self,
        tx: &mut AnyConnection,
        r: &ProtocolRef,
        addressed: &[Channel],
    ) -> Result<Route, AppError> {
        let shown = match &r.register {
            Some(code) => format!("{code}-{}-{:07}", r.year, r.number),
            None => format!("{}/{:07}", r.year, r.number),
        };
        let register_id = match &r.register {
            Some(code) => match store::register_by_code_in(tx, code).await? {
                Some(reg) => reg.id,
                None => {
                    return Ok(Route::Triage(format!(
                        "protocollo {shown}: registro «{code}» sconosciuto"
                    )));
                }
            },
            None => {
                let mut regs: Vec<i64> = addressed.iter().map(|c| c.register_id).collect();
                regs.dedup();
                match regs.as_slice() {
                    [one] => *one,
                    _ => {
                        return Ok(Route::Triage(format!(
                            "protocollo {shown} senza sigla del registro e indirizzo che non individua un canale"
                        )));
                    }
                }
            }
        };
        let Some(req) =
            store::request_by_protocol_in(tx, register_id, r.year as i64, r.number).await?
        else {
            return Ok(Route::Triage(format!("protocollo {shown} inesistente")));
        };
        if !addressed.is_empty() && !addressed.iter().any(|c| c.register_id == req.register_id) {
            return Ok(Route::Triage(format!(
                "il protocollo {} è di un altro canale rispetto all'indirizzo di destinazione",
                req.protocol
            )));
        }
        if req.state == "closed" {
            return Ok(Route::Triage(format!(
                "la richiesta {} è già chiusa",
                req.protocol
            )));
        }
        if req.annulled_at.is_some() {
            return Ok(Route::Triage(format!(
                "la registrazione {} è annullata",
                req.protocol
            )));
        }
        let channel = store::channel_in(tx, req.channel_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(Route::Attach(Box::new((req, channel))))
    }

    #[allow(clippy::too_many_arguments)]
    async fn attach_mail_in(
        &self,
        tx: &mut AnyConnection,
        mail: &InboundMail,
        req: &Request,
        channel: &Channel,
        files: &[CheckedFile],
        handled_by: Option<&SessionUser>,
        now: i64,
    ) -> Result<(), AppError> {
        let from = mail.from_address.clone().unwrap_or_default();
        let label = match &mail.from_name {
            Some(n) if !n.is_empty() => format!("{n} <{from}>"),
            _ => from.clone(),
        };
        let text = if mail.text.is_empty() {
            format!("(messaggio senza testo) Oggetto: {}", mail.subject)
        } else {
            mail.text.clone()
        };
        self.add_requester_message_in(tx, req, channel, &text, files, None, &label, now)
            .await?;
        let actor = match handled_by {
            Some(s) => format!("user:{}", s.user.id),
            None => format!("mail:{from}"),
        };
        record(
            tx,
            &actor,
            handled_by.and_then(|s| s.user.organization_id),
            "desk.request.mail_in",
            &format!("request:{}", req.id),
            &serde_json::json!({
                "protocol": req.protocol,
                "from": from,
                "message_sha256": mail.sha256,
                "attachments": files.len(),
            })
            .to_string(),
            &Origin::default(),
            now,
        )
        .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn open_from_mail_in(
        &self,
        tx: &mut AnyConnection,
        mail: &InboundMail,
        channel: &Channel,
        sender: Option<&User>,
        files: Vec<CheckedFile>,
        opened_by: Option<&SessionUser>,
        origin: &Origin,
        now: i64,
    ) -> Result<super::Registered, AppError> {
        let from = mail.from_address.clone();
        let name = sender
            .map(|s| format!("{} {}", s.given_name, s.family_name))
            .or_else(|| mail.from_name.clone().filter(|n| !n.is_empty()))
            .or_else(|| from.clone())
            .unwrap_or_else(|| "mittente sconosciuto".into());
        let province = match sender.and_then(|s| s.organization_id) {
            Some(org) => store::organization_province_in(tx, org).await?,
            None => None,
        };
        let preferred = match sender {
            Some(s) => store::member_offices_in(tx, channel.id, s.id).await?,
            None => Vec::new(),
        };
        let subject: String = if mail.subject.is_empty() {
            "(senza oggetto)".into()
        } else {
            mail.subject.chars().take(200).collect()
        };
        let (actor_user_id, actor_label, org) = match opened_by {
            Some(s) => (
                Some(s.user.id),
                format!("{} {} (da e-mail)", s.user.given_name, s.user.family_name),
                s.user.organization_id,
            ),
            None => (
                sender.map(|s| s.id),
                name.clone(),
                sender.and_then(|s| s.organization_id),
            ),
        };
        self.register_in(
            tx,
            Registration {
                channel: channel.clone(),
                intake: Intake::Mail,
                requester_user_id: sender.map(|s| s.id),
                requester_name: name.clone(),
                requester_email: from,
                requester_phone: sender.and_then(|s| s.phone.clone()),
                contact_name: Some(name),
                subject,
                body: if mail.text.is_empty() {
                    "(messaggio senza testo)".into()
                } else {
                    mail.text.clone()
                },
                fields: BTreeMap::new(),
                document_hash: mail.sha256.clone(),
                attachments: files,
                preferred_offices: preferred,
                requester_province: province,
                actor_user_id,
                actor_label,
                acting_organization: org,
            },
            origin,
            now,
        )
        .await
    }

    /// The messages waiting in triage, for the staff of any channel office.
    pub async fn triage_list(
        &self,
        who: Option<&SessionUser>,
    ) -> Result<Vec<store::InboundMail>, AppError> {
        let offices = store::channel_office_ids(&self.db).await?;
        self.authorize(
            who,
            &Action::WorkAnyOffice {
                office_ids: &offices,
            },
        )?;
        Ok(store::inbound_list(&self.db, "triage", 200).await?)
    }

    /// A triage worker decides what a waiting message is.
    pub async fn resolve_triage(
        &self,
        who: Option<&SessionUser>,
        inbound_id: i64,
        decision: TriageDecision,
        origin: &Origin,
    ) -> Result<MailOutcome, AppError> {
        let offices = store::channel_office_ids(&self.db).await?;
        self.authorize(
            who,
            &Action::WorkAnyOffice {
                office_ids: &offices,
            },
        )?;
        let who_s = who.ok_or(AppError::NeedsLogin)?;
        let raw = store::inbound_raw(&self.db, inbound_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mail =
            mail_in::parse(&raw, usize::MAX).map_err(|e| AppError::Internal(e.to_string()))?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let (status, request_id, protocol, reason) = match decision {
            TriageDecision::Discard { reason } => {
                let reason = reason.trim().to_string();
                if reason.is_empty() {
                    return Err(AppError::Invalid {
                        field: "reason",
                        message: "indicare il motivo".into(),
                    });
                }
                ("discarded", None, None, reason)
            }
            TriageDecision::Attach { protocol } => {
                let pn: sportello_core::desk::protocol::ProtocolNumber =
                    protocol.trim().parse().map_err(|e| AppError::Invalid {
                        field: "protocol",
                        message: format!("{e}"),
                    })?;
                let reg = store::register_by_code_in(&mut tx, &pn.register)
                    .await?
                    .ok_or(AppError::Invalid {
                        field: "protocol",
                        message: "registro sconosciuto".into(),
                    })?;
                let req = store::request_by_protocol_in(&mut tx, reg.id, pn.year as i64, pn.number)
                    .await?
                    .ok_or(AppError::Invalid {
                        field: "protocol",
                        message: "protocollo inesistente".into(),
                    })?;
                self.authorize(
                    who,
                    &Action::WorkOffice {
                        office_id: req.office_id,
                    },
                )?;
                let channel = store::channel_in(&mut tx, req.channel_id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let files = check_files(self, &mail, &channel).map_err(|m| AppError::Invalid {
                    field: "protocol",
                    message: m,
                })?;
                self.attach_mail_in(&mut tx, &mail, &req, &channel, &files, Some(who_s), now)
                    .await?;
                ("attached", Some(req.id), Some(req.protocol), String::new())
            }
            TriageDecision::Open { channel_code } => {
                let channel = store::channel_by_code_in(&mut tx, channel_code.trim())
                    .await?
                    .ok_or(AppError::Invalid {
                        field: "channel_code",
                        message: "canale inesistente".into(),
                    })?;
                let channel_offices: Vec<i64> = store::channel_offices_in(&mut tx, channel.id)
                    .await?
                    .iter()
                    .map(|o| o.id)
                    .collect();
                self.authorize(
                    who,
                    &Action::WorkAnyOffice {
                        office_ids: &channel_offices,
                    },
                )?;
                let files = check_files(self, &mail, &channel).map_err(|m| AppError::Invalid {
                    field: "channel_code",
                    message: m,
                })?;
                let sender = match mail.from_address.as_deref() {
                    Some(f) => match store::active_users_by_email_in(&mut tx, f)
                        .await?
                        .as_slice()
                    {
                        [u] => Some(u.clone()),
                        _ => None,
                    },
                    None => None,
                };
                let reg = self
                    .open_from_mail_in(
                        &mut tx,
                        &mail,
                        &channel,
                        sender.as_ref(),
                        files,
                        Some(who_s),
                        origin,
                        now,
                    )
                    .await?;
                ("opened", Some(reg.id), Some(reg.protocol), String::new())
            }
        };
        if !store::resolve_inbound_in(&mut tx, inbound_id, status, request_id, who_s.user.id, now)
            .await?
        {
            return Err(AppError::Conflict("messaggio già smistato".into()));
        }
        record(
            &mut tx,
            &format!("user:{}", who_s.user.id),
            who_s.user.organization_id,
            "desk.mail.triage",
            &format!("inbound_mail:{inbound_id}"),
            &serde_json::json!({ "status": status, "request": request_id, "reason": reason })
                .to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(MailOutcome {
            status: status.into(),
            inbound_id,
            request_id,
            protocol,
            reason,
        })
    }
}

fn check_files(
    app: &App,
    mail: &InboundMail,
    channel: &Channel,
) -> Result<Vec<CheckedFile>, String> {
    let uploads: Vec<Upload> = mail
        .attachments
        .iter()
        .map(|a| Upload {
            filename: a.filename.clone(),
            data: a.data.clone(),
        })
        .collect();
    app.check_attachments(channel, &uploads).map_err(|list| {
        format!(
            "allegati non accettati: {}",
            list.into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}
