//! Intake by web form and by phone (registered by an operator). Intake by
//! e-mail is in `mailgate`.

use std::collections::BTreeMap;

use sportello_core::authz::Action;
use sportello_core::desk::form::{FieldKind, FormSpec};
use sportello_core::fiscal_code::FiscalCode;
use sportello_store::desk::{self as store, Channel, Contact, Notice};
use sportello_store::{StoreError, catalogue, directory};

use super::files::Upload;
use super::{Intake, Registered, Registration, channel_hours, content_hash};
use crate::{App, AppError, Origin, SessionUser, now_micros};

/// Form keys that identify a notice (CIVIS), and those filled from it.
pub const NOTICE_NUMBER: &str = "numero_comunicazione";
pub const NOTICE_TAXPAYER: &str = "codice_fiscale";
pub const NOTICE_FILLED: [&str; 3] = ["tipo_atto", "modello", "anno_imposta"];

/// What the requester typed on the web form.
#[derive(Clone, Debug, Default)]
pub struct WebSubmission {
    pub subject: String,
    pub body: String,
    pub fields: BTreeMap<String, String>,
    pub contact: Contact,
    pub attachments: Vec<Upload>,
}

/// A call taken by an operator.
#[derive(Clone, Debug, Default)]
pub struct PhoneCall {
    pub caller_name: String,
    pub caller_fiscal_code: String,
    pub phone: String,
    pub email: String,
    pub subject: String,
    pub body: String,
    pub fields: BTreeMap<String, String>,
}

/// A channel as one user sees it: may he write, is it open, what is pre-filled.
#[derive(Clone, Debug)]
pub struct ChannelAccess {
    pub channel: Channel,
    pub form: FormSpec,
    pub eligible: bool,
    pub open_now: bool,
    /// When a closed channel opens again (µs UTC).
    pub reopens_at: Option<i64>,
    pub requester_name: String,
    /// The contact details given last time, offered again (seed 002).
    pub last_contact: Option<Contact>,
}

impl App {
    /// Whether `who` belongs to the channel's requesters; the offices he is
    /// associated with.
    pub(crate) async fn eligibility(
        &self,
        channel: &Channel,
        who: &directory::User,
    ) -> Result<(bool, Vec<i64>), AppError> {
        let categories: Vec<&str> = channel
            .requester_categories
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if !categories.is_empty() && !categories.contains(&who.category.as_str()) {
            return Ok((false, Vec::new()));
        }
        if let Some(app) = channel.application_id
            && !catalogue::holds_application(&self.db, who.id, app, now_micros()).await?
        {
            return Ok((false, Vec::new()));
        }
        let members = store::member_offices(&self.db, channel.id, who.id).await?;
        if channel.require_association != 0 && members.is_empty() {
            return Ok((false, members));
        }
        Ok((channel.active != 0 && channel.intake_web != 0, members))
    }

    /// The channels a user may write to on the web.
    pub async fn channels_for(&self, who: &SessionUser) -> Result<Vec<Channel>, AppError> {
        let mut out = Vec::new();
        for c in store::channels(&self.db).await? {
            if self.eligibility(&c, &who.user).await?.0 {
                out.push(c);
            }
        }
        Ok(out)
    }

    pub async fn channel_access(
        &self,
        who: Option<&SessionUser>,
        code: &str,
    ) -> Result<ChannelAccess, AppError> {
        let (access, _) = self.channel_access_with(who, code, true).await?;
        Ok(access)
    }

    /// The channel as `who` sees it, and the offices he is associated with;
    /// the last contact details only when asked (the form shows them).
    async fn channel_access_with(
        &self,
        who: Option<&SessionUser>,
        code: &str,
        with_contact: bool,
    ) -> Result<(ChannelAccess, Vec<i64>), AppError> {
        let who = who.ok_or(AppError::NeedsLogin)?;
        let channel = store::channel_by_code(&self.db, code)
            .await?
            .ok_or(AppError::NotFound)?;
        let (eligible, members) = self.eligibility(&channel, &who.user).await?;
        let hours = channel_hours(&channel)?;
        let now = now_micros();
        let tz = self.time_zone();
        let form =
            FormSpec::parse(&channel.form_spec).map_err(|e| AppError::Internal(e.to_string()))?;
        let last_contact = if with_contact {
            store::contact(&self.db, who.user.id).await?
        } else {
            None
        };
        Ok((
            ChannelAccess {
                form,
                eligible,
                open_now: hours.is_open(now, &tz),
                reopens_at: hours.next_opening(now, &tz),
                requester_name: format!("{} {}", who.user.given_name, who.user.family_name),
                last_contact,
                channel,
            },
            members,
        ))
    }

    /// The notice a CIVIS request is about, if the taxpayer matches.
    pub async fn lookup_notice(
        &self,
        who: Option<&SessionUser>,
        code: &str,
        number: &str,
        taxpayer: &str,
    ) -> Result<Notice, AppError> {
        let access = self.channel_access(who, code).await?;
        self.authorize(
            who,
            &Action::SubmitRequest {
                eligible: access.eligible,
            },
        )?;
        let mut problems = Vec::new();
        let notice = find_notice(&self.db, number, taxpayer, &mut problems).await?;
        match notice {
            Some(n) if problems.is_empty() => Ok(n),
            _ => Err(AppError::InvalidFields(problems)),
        }
    }

    /// A request written by its requester on the web form.
    pub async fn submit_request(
        &self,
        who: Option<&SessionUser>,
        code: &str,
        sub: WebSubmission,
        origin: &Origin,
    ) -> Result<Registered, AppError> {
        let (access, preferred) = self.channel_access_with(who, code, false).await?;
        self.authorize(
            who,
            &Action::SubmitRequest {
                eligible: access.eligible,
            },
        )?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        if !access.open_now {
            return Err(AppError::ChannelClosed {
                reopens_at: access.reopens_at,
            });
        }
        let channel = &access.channel;
        let mut problems = Vec::new();
        let subject = sub.subject.trim().to_string();
        let body = sub.body.trim().to_string();
        check_text(&mut problems, "subject", &subject, 200);
        check_text(&mut problems, "body", &body, 10_000);
        let mut fields = validate_into(&access.form, &sub.fields, &mut problems);
        let contact = Contact {
            contact_name: sub.contact.contact_name.trim().to_string(),
            phone: sub.contact.phone.trim().to_string(),
            email: sub.contact.email.trim().to_lowercase(),
        };
        check_text(&mut problems, "contact_name", &contact.contact_name, 120);
        check_phone(&mut problems, "phone", &contact.phone, true);
        check_email(&mut problems, "email", &contact.email, true);
        if channel.notice_lookup != 0 {
            // Look the notice up with what was typed even when another field
            // failed, so its own problems are reported too (once per field).
            let typed = |k: &str| {
                fields
                    .get(k)
                    .or_else(|| sub.fields.get(k))
                    .cloned()
                    .unwrap_or_default()
            };
            let (number, taxpayer) = (typed(NOTICE_NUMBER), typed(NOTICE_TAXPAYER));
            let mut notice_problems = Vec::new();
            let found = find_notice(&self.db, &number, &taxpayer, &mut notice_problems).await?;
            for (k, m) in notice_problems {
                if !problems.iter().any(|(pk, _)| *pk == k) {
                    problems.push((k, m));
                }
            }
            if let Some(n) = found {
                fields.insert("tipo_atto".into(), n.kind);
                fields.insert("modello".into(), n.model);
                fields.insert("anno_imposta".into(), n.tax_year.to_string());
            }
        }
        let checked = self
            .check_attachments(channel, &sub.attachments)
            .unwrap_or_else(|list| {
                problems.extend(list);
                Vec::new()
            });
        if !problems.is_empty() {
            return Err(AppError::InvalidFields(problems));
        }
        // Concurrent submissions share one durable commit, each in its own
        // savepoint: its own number, all or nothing.
        let registered = self
            .register_grouped(super::group::WebJob {
                user_id: who.user.id,
                organization_id: who.user.organization_id,
                contact: contact.clone(),
                origin: origin.clone(),
                registration: Registration {
                    channel: channel.clone(),
                    intake: Intake::Web,
                    requester_user_id: Some(who.user.id),
                    requester_name: access.requester_name.clone(),
                    requester_email: Some(contact.email.clone()),
                    requester_phone: Some(contact.phone.clone()),
                    contact_name: Some(contact.contact_name.clone()),
                    document_hash: content_hash(&subject, &body, &fields, &checked),
                    subject,
                    body,
                    fields,
                    attachments: checked,
                    preferred_offices: preferred,
                    requester_province: None,
                    actor_user_id: Some(who.user.id),
                    actor_label: access.requester_name.clone(),
                    acting_organization: who.user.organization_id,
                },
            })
            .await?;
        metrics::counter!("sportello_desk_requests_total", "intake" => "web").increment(1);
        Ok(registered)
    }

    /// A request taken on the phone by an operator of one of the channel's offices.
    pub async fn register_phone_request(
        &self,
        who: Option<&SessionUser>,
        code: &str,
        call: PhoneCall,
        origin: &Origin,
    ) -> Result<Registered, AppError> {
        let channel = store::channel_by_code(&self.db, code)
            .await?
            .ok_or(AppError::NotFound)?;
        let offices: Vec<i64> = store::channel_offices(&self.db, channel.id)
            .await?
            .iter()
            .map(|o| o.id)
            .collect();
        self.authorize(
            who,
            &Action::WorkAnyOffice {
                office_ids: &offices,
            },
        )?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let mut problems = Vec::new();
        if channel.intake_phone == 0 || channel.active == 0 {
            problems.push((
                "channel".to_string(),
                "il canale non accetta richieste telefoniche".to_string(),
            ));
        }
        let caller_name = call.caller_name.trim().to_string();
        let subject = call.subject.trim().to_string();
        let body = call.body.trim().to_string();
        check_text(&mut problems, "caller_name", &caller_name, 120);
        check_text(&mut problems, "subject", &subject, 200);
        check_text(&mut problems, "body", &body, 10_000);
        check_phone(&mut problems, "phone", call.phone.trim(), true);
        let email = call.email.trim().to_lowercase();
        check_email(&mut problems, "email", &email, false);
        let mut caller = None;
        let cf = call.caller_fiscal_code.trim().to_uppercase();
        if !cf.is_empty() {
            match cf.parse::<FiscalCode>() {
                Ok(_) => caller = directory::user_by_fiscal_code(&self.db, &cf).await?,
                Err(e) => problems.push(("caller_fiscal_code".into(), e.to_string())),
            }
        }
        // Documents cannot come by phone: attachment fields are not asked.
        let mut form =
            FormSpec::parse(&channel.form_spec).map_err(|e| AppError::Internal(e.to_string()))?;
        for f in &mut form.fields {
            if matches!(f.kind, FieldKind::Attachment) {
                f.required = false;
            }
        }
        let fields = validate_into(&form, &call.fields, &mut problems);
        if !problems.is_empty() {
            return Err(AppError::InvalidFields(problems));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let province = match caller.as_ref().and_then(|u| u.organization_id) {
            Some(org) => store::organization_province_in(&mut tx, org).await?,
            None => None,
        };
        let preferred = match &caller {
            Some(u) => store::member_offices_in(&mut tx, channel.id, u.id).await?,
            None => Vec::new(),
        };
        let operator = format!("{} {}", who.user.given_name, who.user.family_name);
        let registered = self
            .register_in(
                &mut tx,
                Registration {
                    channel: channel.clone(),
                    intake: Intake::Phone,
                    requester_user_id: caller.as_ref().map(|u| u.id),
                    requester_name: caller_name.clone(),
                    requester_email: (!email.is_empty()).then(|| email.clone()),
                    requester_phone: Some(call.phone.trim().to_string()),
                    contact_name: Some(caller_name),
                    document_hash: content_hash(&subject, &body, &fields, &[]),
                    subject,
                    body,
                    fields,
                    attachments: Vec::new(),
                    preferred_offices: preferred,
                    requester_province: province,
                    actor_user_id: Some(who.user.id),
                    actor_label: format!("{operator} (telefono)"),
                    acting_organization: who.user.organization_id,
                },
                origin,
                now,
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        metrics::counter!("sportello_desk_requests_total", "intake" => "phone").increment(1);
        Ok(registered)
    }
}

async fn find_notice(
    db: &sportello_store::Db,
    number: &str,
    taxpayer: &str,
    problems: &mut Vec<(String, String)>,
) -> Result<Option<Notice>, AppError> {
    let number = number.trim();
    let taxpayer = taxpayer.trim().to_uppercase();
    if number.is_empty() {
        problems.push((NOTICE_NUMBER.into(), "campo obbligatorio".into()));
        return Ok(None);
    }
    match store::notice(db, number).await? {
        None => {
            problems.push((
                NOTICE_NUMBER.into(),
                format!("nessuna comunicazione o avviso con numero «{number}»"),
            ));
            Ok(None)
        }
        Some(n) if n.taxpayer_fiscal_code != taxpayer => {
            problems.push((
                NOTICE_TAXPAYER.into(),
                "non è il codice fiscale del contribuente destinatario della comunicazione".into(),
            ));
            Ok(None)
        }
        Some(n) => Ok(Some(n)),
    }
}

/// The form's normalized values, its problems added to `problems`.
fn validate_into(
    form: &FormSpec,
    values: &BTreeMap<String, String>,
    problems: &mut Vec<(String, String)>,
) -> BTreeMap<String, String> {
    form.validate(values).unwrap_or_else(|errors| {
        problems.extend(errors.into_iter().map(|e| (e.key, e.message)));
        BTreeMap::new()
    })
}

pub(crate) fn check_text(problems: &mut Vec<(String, String)>, key: &str, v: &str, max: usize) {
    if v.is_empty() {
        problems.push((key.into(), "campo obbligatorio".into()));
    } else if v.chars().count() > max {
        problems.push((key.into(), format!("al massimo {max} caratteri")));
    }
}

pub(crate) fn check_email(
    problems: &mut Vec<(String, String)>,
    key: &str,
    v: &str,
    required: bool,
) {
    if v.is_empty() {
        if required {
            problems.push((key.into(), "campo obbligatorio".into()));
        }
    } else if v.parse::<lettre::Address>().is_err() || !v.contains('.') {
        problems.push((
            key.into(),
            format!("«{v}» non è un indirizzo e-mail valido"),
        ));
    }
}

pub(crate) fn check_phone(
    problems: &mut Vec<(String, String)>,
    key: &str,
    v: &str,
    required: bool,
) {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let shape = v
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '/' | '.'));
    if v.is_empty() {
        if required {
            problems.push((key.into(), "campo obbligatorio".into()));
        }
    } else if !shape || !(6..=20).contains(&digits) {
        problems.push((
            key.into(),
            "numero di telefono non valido (da 6 a 20 cifre)".into(),
        ));
    }
}
