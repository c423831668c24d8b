//! The assistance desk (seeds 002 and 003): channels configured as data,
//! requests registered with a protocol number in the same transaction that
//! stores them, routed to an office, worked to closure, with their
//! correspondence by e-mail.

pub mod admin;
pub mod demo;
pub mod files;
pub mod group;
pub mod imap;
pub mod intake;
pub mod mailgate;
pub mod reports;
pub mod work;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use sportello_core::desk::hours::OpeningHours;
use sportello_core::desk::protocol::ProtocolNumber;
use sportello_core::desk::routing::{self, OfficeCandidate, RuleTarget};
use sportello_core::desk::workflow::RequestState;
use sportello_store::desk::{self as store, Channel, DeskOffice, Request};
use sportello_store::{AnyConnection, StoreError};

use crate::mail::MailMessage;
use crate::{App, AppError, Origin, queue_mail, record};

pub use files::Upload;

/// How a request arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intake {
    Web,
    Mail,
    Phone,
}

impl Intake {
    pub fn code(self) -> &'static str {
        match self {
            Intake::Web => "web",
            Intake::Mail => "mail",
            Intake::Phone => "phone",
        }
    }
}

/// What a new registration needs, whatever the intake.
pub(crate) struct Registration {
    pub channel: Channel,
    pub intake: Intake,
    pub requester_user_id: Option<i64>,
    pub requester_name: String,
    pub requester_email: Option<String>,
    pub requester_phone: Option<String>,
    pub contact_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub fields: BTreeMap<String, String>,
    /// The impronta of the registered document: the raw mail's hash, or
    /// the hash of the form's content.
    pub document_hash: String,
    pub attachments: Vec<files::CheckedFile>,
    /// Offices the requester is associated with (empty = the channel's).
    pub preferred_offices: Vec<i64>,
    pub requester_province: Option<String>,
    /// Who acted: the requester himself, or the operator who took the call.
    pub actor_user_id: Option<i64>,
    pub actor_label: String,
    pub acting_organization: Option<i64>,
}

/// A request just registered: what the requester is told.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Registered {
    pub id: i64,
    pub protocol: String,
    pub registered_at: i64,
    pub office_code: String,
    pub office_name: String,
}

impl App {
    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.config.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// Year and day (yyyymmdd) of an instant in the business time zone.
    pub fn civil_day(&self, at: i64) -> (i32, i64) {
        let zoned = jiff::Timestamp::from_microsecond(at)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(self.time_zone());
        let d = zoned.date();
        (d.year() as i32, reports::day_number(d))
    }

    /// "25/11/2026 10:32" in the business time zone.
    pub fn format_time(&self, at: i64) -> String {
        jiff::Timestamp::from_microsecond(at)
            .map(|t| {
                t.to_zoned(self.time_zone())
                    .strftime("%d/%m/%Y %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// Registers a request in the caller's transaction: the protocol number,
    /// the routing, the record, its first event and attachments, the report
    /// counters, the audit event and the mails to the office and the requester.
    pub(crate) async fn register_in(
        &self,
        tx: &mut AnyConnection,
        r: Registration,
        origin: &Origin,
        now: i64,
    ) -> Result<Registered, AppError> {
        let channel = &r.channel;
        let register_code = store::register_code_in(tx, channel.register_id).await?;
        // The number first (art. 53: assigned by the system as the request
        // arrives), then the routing; a failure after it gives it back.
        let (year, day) = self.civil_day(now);
        let number = store::next_protocol_number_in(tx, channel.register_id, year).await?;
        let office = self
            .route_in(
                tx,
                channel,
                &r.subject,
                &r.fields,
                &r.preferred_offices,
                r.requester_province.as_deref(),
            )
            .await?;
        let protocol = ProtocolNumber {
            register: register_code,
            year,
            number,
        }
        .to_string();
        let hours = channel_hours(channel)?;
        let tz = self.time_zone();
        let due = |minutes: i64| {
            (minutes > 0)
                .then(|| hours.add_open_micros(now, minutes * 60_000_000, &tz))
                .flatten()
        };
        let fields_json = serde_json::to_string(&r.fields).unwrap_or_else(|_| "{}".into());
        let region = office.region.clone().unwrap_or_default();
        let request = Request {
            id: 0,
            channel_id: channel.id,
            register_id: channel.register_id,
            year: year as i64,
            number,
            protocol: protocol.clone(),
            registered_at: now,
            intake: r.intake.code().into(),
            requester_user_id: r.requester_user_id,
            requester_name: r.requester_name.clone(),
            requester_email: r.requester_email.clone(),
            requester_phone: r.requester_phone.clone(),
            contact_name: r.contact_name.clone(),
            subject: r.subject.clone(),
            body: r.body.clone(),
            fields: fields_json,
            document_hash: r.document_hash.clone(),
            office_id: office.id,
            region: region.clone(),
            assignee_id: None,
            state: RequestState::New.code().into(),
            outcome: None,
            taken_at: None,
            closed_at: None,
            paused_since: None,
            paused_micros: 0,
            take_due_at: due(channel.sla_take_minutes),
            close_due_at: due(channel.sla_close_minutes),
            sla_flag: "ok".into(),
            annulled_at: None,
            annul_reason: None,
            updated_at: now,
        };
        let id = store::insert_request_in(tx, &request).await?;
        let detail =
            serde_json::json!({ "intake": r.intake.code(), "office": office.code }).to_string();
        let event = store::add_event_in(
            tx,
            id,
            now,
            r.actor_user_id,
            &r.actor_label,
            "registered",
            true,
            &r.body,
            &detail,
        )
        .await?;
        for f in &r.attachments {
            store::add_attachment_in(
                tx,
                id,
                Some(event),
                &f.filename,
                &f.content_type,
                &f.sha256,
                &f.data,
                now,
            )
            .await?;
        }
        store::bump_stat_in(tx, office.id, &region, day, "opened", 1).await?;
        store::move_open_in(tx, office.id, None, Some(RequestState::New.code())).await?;
        let actor = match r.actor_user_id {
            Some(u) => format!("user:{u}"),
            None => format!("mail:{}", r.requester_email.as_deref().unwrap_or("?")),
        };
        record(
            tx,
            &actor,
            r.acting_organization,
            "desk.request.register",
            &format!("request:{id}"),
            &serde_json::json!({
                "protocol": protocol,
                "channel": channel.code,
                "intake": r.intake.code(),
                "office": office.code,
                "document_hash": r.document_hash,
                "attachments": r.attachments.len(),
            })
            .to_string(),
            origin,
            now,
        )
        .await?;
        let when = self.format_time(now);
        let link = format!("{}/ufficio/richieste/{id}", self.config.public_base_url);
        if let Some(mailbox) = office.mailbox.as_deref() {
            queue_mail(
                tx,
                &MailMessage {
                    from: None,
                    to: vec![mailbox.to_string()],
                    subject: format!(
                        "[{protocol}] Nuova richiesta di assistenza {}: {}",
                        channel.code, r.subject
                    ),
                    body: format!(
                        "Nuova richiesta di assistenza sul canale {} ({}).\n\n\
                         Protocollo: {protocol} del {when}\n\
                         Richiedente: {}\n\
                         Referente: {}\n\
                         Telefono: {}\n\
                         E-mail: {}\n\
                         Oggetto: {}\n\n{}\n\n{}\
                         Da prendere in carico: {link}\n",
                        channel.name,
                        r.intake.code(),
                        r.requester_name,
                        r.contact_name.as_deref().unwrap_or("-"),
                        r.requester_phone.as_deref().unwrap_or("-"),
                        r.requester_email.as_deref().unwrap_or("-"),
                        r.subject,
                        r.body,
                        fields_text(channel, &r.fields),
                    ),
                },
                now,
            )
            .await?;
        }
        if let Some(email) = r.requester_email.as_deref() {
            queue_mail(
                tx,
                &MailMessage {
                    from: office.mailbox.clone(),
                    to: vec![email.to_string()],
                    subject: format!("[{protocol}] Richiesta di assistenza registrata"),
                    body: format!(
                        "La sua richiesta di assistenza sul canale {} è stata registrata.\n\n\
                         Protocollo: {protocol} del {when}\n\
                         Oggetto: {}\n\
                         Ufficio: {}\n\n\
                         Conservi il numero di protocollo: le servirà se sarà contattato \
                         dall'ufficio. Per inviare documenti risponda a questo messaggio \
                         lasciando il numero di protocollo nell'oggetto.\n\n\
                         Può seguire la richiesta in {}/assistenza/richieste/{id}\n",
                        channel.name, r.subject, office.name, self.config.public_base_url,
                    ),
                },
                now,
            )
            .await?;
        }
        Ok(Registered {
            id,
            protocol,
            registered_at: now,
            office_code: office.code,
            office_name: office.name,
        })
    }

    /// The office a new request goes to: the channel's routing rules first,
    /// then the least loaded accepting office among those the requester is
    /// associated with (or all the channel's offices).
    async fn route_in(
        &self,
        tx: &mut AnyConnection,
        channel: &Channel,
        subject: &str,
        fields: &BTreeMap<String, String>,
        preferred: &[i64],
        requester_province: Option<&str>,
    ) -> Result<DeskOffice, AppError> {
        let offices = store::channel_offices_in(tx, channel.id).await?;
        let candidate = |o: &DeskOffice| OfficeCandidate {
            office_id: o.id,
            code: o.code.clone(),
            province: o.province.clone(),
            open_requests: o.open_requests,
            accepting: o.accepting_requests != 0,
            open_now: o.accepting_requests != 0,
        };
        let rules = routing::parse_rules(&channel.routing_rules)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let all: Vec<OfficeCandidate> = offices.iter().map(candidate).collect();
        let chosen = match routing::first_match(&rules, subject, fields) {
            // A rule may name an office outside the channel's own.
            Some(RuleTarget::Office(code)) => {
                match store::desk_office_by_code_in(tx, code).await? {
                    Some(o) if o.accepting_requests != 0 => return Ok(o),
                    _ => None,
                }
            }
            Some(RuleTarget::CompetentOffice) => {
                routing::competent_office(&all, requester_province)
            }
            None => None,
        };
        let chosen = match chosen {
            Some(id) => Some(id),
            None => {
                let narrowed: Vec<OfficeCandidate> = all
                    .iter()
                    .filter(|c| preferred.contains(&c.office_id))
                    .cloned()
                    .collect();
                routing::choose_office(&narrowed).or_else(|| routing::choose_office(&all))
            }
        };
        chosen
            .and_then(|id| offices.into_iter().find(|o| o.id == id))
            .ok_or_else(|| AppError::Invalid {
                field: "channel",
                message: "nessun ufficio del canale accetta richieste in questo momento".into(),
            })
    }
}

impl App {
    /// The channel's checks on attachments: its size limit, the configured types.
    pub(crate) fn check_attachments(
        &self,
        channel: &Channel,
        uploads: &[Upload],
    ) -> Result<Vec<files::CheckedFile>, Vec<files::Problem>> {
        files::check(
            uploads,
            channel.max_attachment_bytes,
            &self.config.desk.attachment_types,
        )
    }
}

/// The channel's opening hours, as configured.
pub(crate) fn channel_hours(channel: &Channel) -> Result<OpeningHours, AppError> {
    OpeningHours::parse(&channel.hours_weekly, &channel.hours_holidays)
        .map_err(|e| AppError::Internal(format!("canale {}: {e}", channel.code)))
}

/// The channel's form fields as "Label: value" lines for mails.
pub(crate) fn fields_text(channel: &Channel, values: &BTreeMap<String, String>) -> String {
    let spec = sportello_core::desk::form::FormSpec::parse(&channel.form_spec).ok();
    let mut out = String::new();
    for (k, v) in values {
        let label = spec
            .as_ref()
            .and_then(|s| s.fields.iter().find(|f| &f.key == k))
            .map(|f| f.label.clone())
            .unwrap_or_else(|| k.clone());
        out.push_str(&format!("{label}: {v}\n"));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// SHA-256 of the registered content of a web or phone request.
pub(crate) fn content_hash(
    subject: &str,
    body: &str,
    fields: &BTreeMap<String, String>,
    files: &[files::CheckedFile],
) -> String {
    let mut h = Sha256::new();
    h.update(subject.as_bytes());
    h.update([0]);
    h.update(body.as_bytes());
    for (k, v) in fields {
        h.update([0]);
        h.update(k.as_bytes());
        h.update([b'=']);
        h.update(v.as_bytes());
    }
    for f in files {
        h.update([0]);
        h.update(f.sha256.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A store conflict (someone acted first) becomes a message for the user.
pub(crate) fn conflict(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(m) => AppError::Conflict(m),
        other => AppError::Store(other),
    }
}
