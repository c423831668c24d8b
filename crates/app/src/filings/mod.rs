//! Integrated filings ("la mia scrivania", seed 004): services defined as data,
//! drafts, submission to several agencies, resend of a failed delivery to
//! that agency alone, archive and search, the agencies' callbacks.

pub mod admin;
pub mod courier;
pub mod demo;

use std::collections::BTreeMap;

use serde::Serialize;
use sportello_core::authz::Action;
use sportello_core::desk::form::FormSpec;
use sportello_core::desk::protocol::ProtocolNumber;
use sportello_core::filings::mapping::Mapping;
use sportello_core::filings::{self as rules, Attempt, Change, DeliveryState, Requirement, Tray};
use sportello_store::desk as desk_store;
use sportello_store::filings::{self as store, Delivery, DeliveryEvent, DeliveryUpdate, Filing};
use sportello_store::{StoreError, catalogue, outbox};

use crate::filings::courier::{NewsError, apply_news_in, news_of};
use crate::security::{same_secret, token_hash};
use crate::{App, AppError, Origin, SessionUser, now_micros, record};

/// The register the portal's references come from (informative numbers).
pub const REFERENCE_REGISTER: &str = "SI";
const VALUE_MAX: usize = 10_000;
/// Capabilities of the service's application profiles.
pub const PREPARE: &str = "filing.prepare";
pub const SUBMIT: &str = "filing.submit";

/// For whom a user may work on a service: himself, or a delegator.
#[derive(Clone, Debug, Serialize)]
pub struct Acting {
    pub owner_id: i64,
    pub owner_name: String,
    pub for_self: bool,
    pub can_prepare: bool,
    pub can_submit: bool,
    /// Recipients at which the owner lacks the authorization: he is told
    /// before he starts.
    pub missing: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecipientView {
    pub code: String,
    pub name: String,
    /// Labels of the form fields this recipient receives.
    pub fields: Vec<String>,
    pub requirement: String,
}

/// A service as the desk shows it to one user.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceView {
    pub code: String,
    pub name: String,
    pub description: String,
    pub form: FormSpec,
    pub recipients: Vec<RecipientView>,
    pub acting: Vec<Acting>,
}

impl ServiceView {
    pub fn acting_for(&self, owner_id: i64) -> Option<&Acting> {
        self.acting.iter().find(|a| a.owner_id == owner_id)
    }
}

/// A filing with its deliveries, as listed on the desk.
#[derive(Clone, Debug, Serialize)]
pub struct FilingSummary {
    pub filing: Filing,
    pub tray: Tray,
    pub deliveries: Vec<Delivery>,
}

/// One filing in full.
#[derive(Clone, Debug, Serialize)]
pub struct FilingDetail {
    pub summary: FilingSummary,
    pub form: FormSpec,
    pub values: BTreeMap<String, String>,
    pub events: Vec<DeliveryEvent>,
    /// The viewer may still send this draft, or resend failed deliveries.
    pub can_submit: bool,
    /// Recipients the owner lacks authorization for (drafts only).
    pub missing: Vec<String>,
}

/// What the desk's search asks for.
#[derive(Clone, Debug, Default)]
pub struct FilingQuery {
    pub tray: Option<Tray>,
    pub text: Option<String>,
    pub delivery_state: Option<DeliveryState>,
    /// yyyy-mm-dd, in the business time zone; inclusive.
    pub from: Option<String>,
    pub until: Option<String>,
    pub limit: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Submitted {
    pub filing_id: i64,
    pub reference: String,
}

/// Why an agency's callback was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("token mancante o non valido")]
    Unauthorized,
    #[error("nessuna pratica con questa chiave per questo ente")]
    UnknownFiling,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    App(#[from] AppError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        message: message.into(),
    }
}

/// Lower-cased values joined: what the desk's text search looks in.
fn search_text(values: &BTreeMap<String, String>) -> String {
    values
        .values()
        .map(|v| v.to_lowercase())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The known, non-empty, trimmed values of a form, each within bounds.
fn clean_values(
    form: &FormSpec,
    values: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AppError> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for f in &form.fields {
        if let Some(v) = values.get(&f.key).map(|v| v.trim())
            && !v.is_empty()
        {
            if v.chars().count() > VALUE_MAX {
                errors.push((f.key.clone(), format!("al massimo {VALUE_MAX} caratteri")));
            } else {
                out.insert(f.key.clone(), v.to_string());
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AppError::InvalidFields(errors))
    }
}

fn parse_form(spec: &str) -> Result<FormSpec, AppError> {
    FormSpec::parse(spec).map_err(|e| AppError::Internal(format!("modulo del servizio: {e}")))
}

fn tray_of(f: &Filing, deliveries: &[Delivery]) -> Tray {
    let states: Vec<DeliveryState> = deliveries
        .iter()
        .filter_map(|d| d.state.parse().ok())
        .collect();
    rules::tray(
        f.state == store::SUBMITTED,
        f.archived_at.is_some(),
        &states,
    )
}

impl App {
    /// For whom `who` may work on `service`, with what, and what each owner
    /// lacks at the agencies.
    async fn acting(
        &self,
        who: &SessionUser,
        service: &store::Service,
        recipients: &[store::Recipient],
    ) -> Result<Vec<Acting>, AppError> {
        let now = now_micros();
        let mut owners: Vec<(i64, bool, Vec<String>)> = Vec::new();
        let own = catalogue::held_profiles(&self.db, who.user.id, now).await?;
        if let Some(p) = own
            .iter()
            .find(|p| p.application_id == service.application_id && p.source != "delegated")
        {
            owners.push((
                who.user.id,
                true,
                catalogue::capabilities(&self.db, p.profile_id).await?,
            ));
        }
        for (delegator, profile) in
            store::delegators_of(&self.db, who.user.id, service.application_id, now).await?
        {
            owners.push((
                delegator,
                false,
                catalogue::capabilities(&self.db, profile).await?,
            ));
        }
        let requirements: Vec<Requirement> = recipients
            .iter()
            .map(|r| Requirement {
                recipient: r.connector_name.clone(),
                application: r.required_application_code.clone(),
                profile: r.required_profile_code.clone(),
            })
            .collect();
        let mut out = Vec::new();
        for (owner_id, for_self, caps) in owners {
            let (name, held) = if for_self {
                (
                    format!("{} {}", who.user.given_name, who.user.family_name),
                    own.clone(),
                )
            } else {
                let Some(u) = sportello_store::directory::user_by_id(&self.db, owner_id).await?
                else {
                    continue;
                };
                (
                    format!("{} {}", u.given_name, u.family_name),
                    catalogue::held_profiles(&self.db, owner_id, now).await?,
                )
            };
            let pairs: Vec<(String, String)> = held
                .iter()
                .map(|h| (h.application_code.clone(), h.profile_code.clone()))
                .collect();
            out.push(Acting {
                owner_id,
                owner_name: name,
                for_self,
                can_prepare: caps.iter().any(|c| c == PREPARE || c == SUBMIT),
                can_submit: caps.iter().any(|c| c == SUBMIT),
                missing: rules::missing_authorizations(&requirements, &pairs)
                    .into_iter()
                    .map(|r| r.recipient.clone())
                    .collect(),
            });
        }
        Ok(out)
    }

    async fn service_view(
        &self,
        who: &SessionUser,
        service: &store::Service,
    ) -> Result<ServiceView, AppError> {
        let recipients = store::recipients(&self.db, service.id).await?;
        let form = parse_form(&service.form_spec)?;
        let mut views = Vec::new();
        for r in &recipients {
            let mapping = Mapping::parse(&r.mapping, &form)
                .map_err(|e| AppError::Internal(format!("{}: {e}", r.connector_code)))?;
            views.push(RecipientView {
                code: r.connector_code.clone(),
                name: r.connector_name.clone(),
                fields: mapping
                    .fields()
                    .iter()
                    .filter_map(|k| form.fields.iter().find(|f| f.key == *k))
                    .map(|f| f.label.clone())
                    .collect(),
                requirement: match &r.required_profile_code {
                    Some(p) => format!("{} (profilo {p})", r.required_application_name),
                    None => r.required_application_name.clone(),
                },
            });
        }
        Ok(ServiceView {
            code: service.code.clone(),
            name: service.name.clone(),
            description: service.description.clone(),
            form,
            recipients: views,
            acting: self.acting(who, service, &recipients).await?,
        })
    }

    /// The integrated services this user may work on (for himself or for a
    /// delegator), each with what is missing at the agencies.
    pub async fn integrated_services(
        &self,
        who: &SessionUser,
    ) -> Result<Vec<ServiceView>, AppError> {
        let mut out = Vec::new();
        for s in store::services(&self.db).await? {
            if s.active == 0 {
                continue;
            }
            let view = self.service_view(who, &s).await?;
            if !view.acting.is_empty() {
                out.push(view);
            }
        }
        Ok(out)
    }

    /// One service for this user; not found when he may not use it.
    pub async fn integrated_service(
        &self,
        who: &SessionUser,
        code: &str,
    ) -> Result<ServiceView, AppError> {
        let service = store::service_by_code(&self.db, code)
            .await?
            .filter(|s| s.active == 1)
            .ok_or(AppError::NotFound)?;
        let view = self.service_view(who, &service).await?;
        if view.acting.is_empty() {
            return Err(AppError::Forbidden(
                "servizio non compreso tra le tue abilitazioni",
            ));
        }
        Ok(view)
    }

    /// The one authorization check of every act on a filing.
    fn check_acting<'a>(
        &self,
        who: &SessionUser,
        view: &'a ServiceView,
        owner_id: i64,
        capability: &str,
    ) -> Result<&'a Acting, AppError> {
        let acting = view.acting_for(owner_id);
        let delegators: Vec<i64> = view
            .acting
            .iter()
            .filter(|a| !a.for_self)
            .map(|a| a.owner_id)
            .collect();
        let capable = acting.is_some_and(|a| {
            if capability == SUBMIT {
                a.can_submit
            } else {
                a.can_prepare
            }
        });
        self.authorize(
            Some(who),
            &Action::Filing {
                owner_id,
                delegators: &delegators,
                capable,
            },
        )?;
        acting.ok_or(AppError::NotFound)
    }

    /// Saves a draft (new, or an existing one of the same owner and
    /// service); values are checked in full only when the filing is sent.
    pub async fn save_filing_draft(
        &self,
        who: &SessionUser,
        service_code: &str,
        owner_id: i64,
        draft_id: Option<i64>,
        values: &BTreeMap<String, String>,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        let view = self.integrated_service(who, service_code).await?;
        self.check_acting(who, &view, owner_id, PREPARE)?;
        let service = store::service_by_code(&self.db, service_code)
            .await?
            .ok_or(AppError::NotFound)?;
        let values = clean_values(&view.form, values)?;
        let data = serde_json::to_string(&values).map_err(|e| AppError::Internal(e.to_string()))?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let id = match draft_id {
            Some(id) => {
                self.draft_of_in(&mut tx, id, service.id, owner_id).await?;
                store::update_draft_in(&mut tx, id, who.user.id, &data, &search_text(&values), now)
                    .await?;
                id
            }
            None => {
                store::insert_filing_in(
                    &mut tx,
                    service.id,
                    owner_id,
                    who.user.id,
                    &data,
                    &search_text(&values),
                    now,
                )
                .await?
            }
        };
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "filing.save_draft",
            &format!("filing:{id}"),
            &serde_json::json!({"service": service_code, "owner": owner_id}).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// A draft of this service and owner, still unsent.
    async fn draft_of_in(
        &self,
        tx: &mut sportello_store::AnyConnection,
        id: i64,
        service_id: i64,
        owner_id: i64,
    ) -> Result<Filing, AppError> {
        let f = store::filing_in(tx, id)
            .await?
            .filter(|f| f.service_id == service_id && f.owner_id == owner_id)
            .ok_or(AppError::NotFound)?;
        if f.state != store::DRAFT {
            return Err(AppError::Conflict("la pratica è già stata inviata".into()));
        }
        Ok(f)
    }

    /// Sends a filing: every field checked, the owner's authorization at each
    /// agency checked, a portal reference given, one delivery per recipient
    /// queued in the outbox, all in one transaction.
    pub async fn submit_filing(
        &self,
        who: &SessionUser,
        service_code: &str,
        owner_id: i64,
        draft_id: Option<i64>,
        values: &BTreeMap<String, String>,
        origin: &Origin,
    ) -> Result<Submitted, AppError> {
        let view = self.integrated_service(who, service_code).await?;
        let acting = self.check_acting(who, &view, owner_id, SUBMIT)?;
        if !acting.missing.is_empty() {
            return Err(invalid(
                "owner_id",
                format!(
                    "{} non è abilitato a operare on line presso: {}",
                    if acting.for_self {
                        "il tuo profilo".to_string()
                    } else {
                        acting.owner_name.clone()
                    },
                    acting.missing.join(", ")
                ),
            ));
        }
        let values = view
            .form
            .validate(&clean_values(&view.form, values)?)
            .map_err(|errors| {
                AppError::InvalidFields(errors.into_iter().map(|e| (e.key, e.message)).collect())
            })?;
        let service = store::service_by_code(&self.db, service_code)
            .await?
            .ok_or(AppError::NotFound)?;
        let data = serde_json::to_string(&values).map_err(|e| AppError::Internal(e.to_string()))?;
        let now = now_micros();
        let submitted_at = jiff::Timestamp::from_microsecond(now)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let callback_url = format!(
            "{}/api/v1/filings/callback",
            self.config.public_base_url.trim_end_matches('/')
        );
        let mut tx = self.db.begin_write().await?;
        let recipients = store::recipients_in(&mut tx, service.id).await?;
        if recipients.is_empty() {
            return Err(AppError::Conflict(
                "il servizio non ha enti destinatari".into(),
            ));
        }
        let id = match draft_id {
            Some(id) => {
                self.draft_of_in(&mut tx, id, service.id, owner_id).await?;
                store::update_draft_in(&mut tx, id, who.user.id, &data, &search_text(&values), now)
                    .await?;
                id
            }
            None => {
                store::insert_filing_in(
                    &mut tx,
                    service.id,
                    owner_id,
                    who.user.id,
                    &data,
                    &search_text(&values),
                    now,
                )
                .await?
            }
        };
        let register = desk_store::ensure_register(
            &mut tx,
            REFERENCE_REGISTER,
            "Servizi integrati",
            "SPORTELLO",
            now,
        )
        .await?;
        let (year, _) = self.civil_day(now);
        let number = desk_store::next_protocol_number_in(&mut tx, register, year).await?;
        let reference = ProtocolNumber::new(REFERENCE_REGISTER, year, number).to_string();
        if !store::mark_submitted_in(&mut tx, id, &reference, now).await? {
            return Err(AppError::Conflict("la pratica è già stata inviata".into()));
        }
        for r in &recipients {
            let mapping = Mapping::parse(&r.mapping, &view.form)
                .map_err(|e| AppError::Internal(format!("{}: {e}", r.connector_code)))?;
            let payload = serde_json::json!({
                "reference": reference,
                "service": service.code,
                "recipient": r.connector_code,
                "submitted_at": submitted_at,
                "callback_url": callback_url,
                "data": mapping.apply(&values),
            })
            .to_string();
            let key = uuid::Uuid::new_v4().to_string();
            let delivery =
                store::insert_delivery_in(&mut tx, id, r.id, r.connector_id, &key, &payload, now)
                    .await?;
            store::add_event_in(&mut tx, delivery, "queued", "", Some(who.user.id), now).await?;
            outbox::enqueue(&mut tx, courier::OUTBOX_KIND, &delivery.to_string(), now).await?;
        }
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "filing.submit",
            &format!("filing:{id}"),
            &serde_json::json!({"reference": reference, "service": service.code, "owner": owner_id,
                "recipients": recipients.iter().map(|r| r.connector_code.as_str()).collect::<Vec<_>>()})
            .to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Submitted {
            filing_id: id,
            reference,
        })
    }

    /// A filing this user may see (his, or a delegator's), with the service
    /// view it belongs to.
    async fn visible_filing(
        &self,
        who: &SessionUser,
        id: i64,
        capability: &str,
    ) -> Result<(Filing, ServiceView), AppError> {
        let filing = store::filing(&self.db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let service = store::service(&self.db, filing.service_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let view = self.service_view(who, &service).await?;
        self.check_acting(who, &view, filing.owner_id, capability)
            .map_err(|e| match e {
                // Someone else's filing does not exist for this user.
                AppError::Forbidden(_) => AppError::NotFound,
                other => other,
            })?;
        Ok((filing, view))
    }

    pub async fn filing_detail(
        &self,
        who: &SessionUser,
        id: i64,
    ) -> Result<FilingDetail, AppError> {
        let (filing, view) = self.visible_filing(who, id, PREPARE).await?;
        let deliveries = store::deliveries_of(&self.db, id).await?;
        let events = store::events_of_filing(&self.db, id).await?;
        let values: BTreeMap<String, String> =
            serde_json::from_str(&filing.data).unwrap_or_default();
        let acting = view.acting_for(filing.owner_id);
        Ok(FilingDetail {
            can_submit: acting.is_some_and(|a| a.can_submit),
            missing: acting.map(|a| a.missing.clone()).unwrap_or_default(),
            summary: FilingSummary {
                tray: tray_of(&filing, &deliveries),
                filing,
                deliveries,
            },
            form: view.form,
            values,
            events,
        })
    }

    /// Resends a failed delivery to that recipient alone, under the same
    /// idempotency key (the agency never files it twice).
    pub async fn resend_delivery(
        &self,
        who: &SessionUser,
        filing_id: i64,
        delivery_id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        self.visible_filing(who, filing_id, SUBMIT).await?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        store::lock_filing_in(&mut tx, filing_id, now).await?;
        let d = store::delivery_in(&mut tx, delivery_id)
            .await?
            .filter(|d| d.filing_id == filing_id)
            .ok_or(AppError::NotFound)?;
        let state: DeliveryState = d.state.parse().map_err(AppError::Internal)?;
        let change = rules::on_attempt(
            &rules::Delivery {
                state,
                protocol: d.protocol.clone(),
            },
            &Attempt::ResendByHand,
        )
        .map_err(|e| AppError::Conflict(e.to_string()))?;
        let Change::To { state: next, .. } = change else {
            return Ok(());
        };
        store::update_delivery_in(
            &mut tx,
            d.id,
            &DeliveryUpdate {
                state: next.code(),
                reset_attempts: true,
                ..Default::default()
            },
            now,
        )
        .await?;
        store::add_event_in(&mut tx, d.id, "resent", "", Some(who.user.id), now).await?;
        outbox::enqueue(&mut tx, courier::OUTBOX_KIND, &d.id.to_string(), now).await?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "filing.resend",
            &format!("filing:{filing_id}"),
            &serde_json::json!({"recipient": d.connector_code}).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Files a filing away, or brings it back; archived filings stay searchable.
    pub async fn archive_filing(
        &self,
        who: &SessionUser,
        id: i64,
        archived: bool,
        origin: &Origin,
    ) -> Result<(), AppError> {
        self.visible_filing(who, id, PREPARE).await?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        store::set_archived_in(&mut tx, id, archived.then_some(now), now).await?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            if archived {
                "filing.archive"
            } else {
                "filing.unarchive"
            },
            &format!("filing:{id}"),
            "{}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Deletes a draft that was never sent.
    pub async fn delete_filing_draft(
        &self,
        who: &SessionUser,
        id: i64,
        origin: &Origin,
    ) -> Result<(), AppError> {
        self.visible_filing(who, id, PREPARE).await?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if !store::delete_draft_in(&mut tx, id).await? {
            return Err(AppError::Conflict(
                "una pratica inviata non si cancella: si può archiviare".into(),
            ));
        }
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "filing.delete_draft",
            &format!("filing:{id}"),
            "{}",
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The owners whose filings this user sees: himself and those who
    /// sub-delegated him a service's application.
    async fn desk_owners(&self, who: &SessionUser) -> Result<Vec<i64>, AppError> {
        let now = now_micros();
        let mut owners = vec![who.user.id];
        let mut apps: Vec<i64> = store::services(&self.db)
            .await?
            .iter()
            .map(|s| s.application_id)
            .collect();
        apps.dedup();
        for app in apps {
            for (delegator, _) in store::delegators_of(&self.db, who.user.id, app, now).await? {
                if !owners.contains(&delegator) {
                    owners.push(delegator);
                }
            }
        }
        Ok(owners)
    }

    /// The desk: a tray, or a search across all of them.
    pub async fn search_filings(
        &self,
        who: &SessionUser,
        q: &FilingQuery,
    ) -> Result<Vec<FilingSummary>, AppError> {
        let day = |field: &'static str,
                   s: &Option<String>,
                   next: bool|
         -> Result<Option<i64>, AppError> {
            let Some(s) = s.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
                return Ok(None);
            };
            let date: jiff::civil::Date = s
                .parse()
                .map_err(|_| invalid(field, format!("«{s}» non è una data (aaaa-mm-gg)")))?;
            let date = if next {
                date.tomorrow().map_err(|e| invalid(field, e.to_string()))?
            } else {
                date
            };
            let at = date
                .to_zoned(self.time_zone())
                .map_err(|e| invalid(field, e.to_string()))?;
            Ok(Some(at.timestamp().as_microsecond()))
        };
        let filter = store::FilingFilter {
            owner_ids: self.desk_owners(who).await?,
            tray: q.tray.map(|t| t.code().to_string()),
            text: q.text.clone().filter(|t| !t.trim().is_empty()),
            delivery_state: q.delivery_state.map(|s| s.code().to_string()),
            from: day("from", &q.from, false)?,
            until: day("until", &q.until, true)?,
            limit: if q.limit <= 0 { 200 } else { q.limit },
        };
        let filings = store::list_filings(&self.db, &filter).await?;
        let ids: Vec<i64> = filings.iter().map(|f| f.id).collect();
        let mut deliveries = store::deliveries_of_many(&self.db, &ids).await?;
        Ok(filings
            .into_iter()
            .map(|f| {
                let mine: Vec<Delivery> = {
                    let (a, b): (Vec<Delivery>, Vec<Delivery>) =
                        deliveries.drain(..).partition(|d| d.filing_id == f.id);
                    deliveries = b;
                    a
                };
                FilingSummary {
                    tray: tray_of(&f, &mine),
                    filing: f,
                    deliveries: mine,
                }
            })
            .collect())
    }

    /// Checks an agency's callback token: it must be some connector's.
    /// Returns its hash (connectors may share a token, as the demo agencies
    /// do: which deliveries it reaches is checked per delivery).
    pub async fn callback_token(&self, bearer: Option<&str>) -> Result<String, CallbackError> {
        let token = bearer
            .filter(|t| !t.is_empty())
            .ok_or(CallbackError::Unauthorized)?;
        let hash = token_hash(token);
        store::connector_by_token_hash(&self.db, &hash)
            .await
            .map_err(AppError::from)?
            .ok_or(CallbackError::Unauthorized)?;
        Ok(hash)
    }

    /// News from an agency by callback, authenticated by the connector's token.
    pub async fn filing_callback(
        &self,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<bool, CallbackError> {
        let hash = self.callback_token(bearer).await?;
        let key = body
            .get("idempotency_key")
            .and_then(|v| v.as_str())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| CallbackError::Invalid("idempotency_key: campo obbligatorio".into()))?;
        let news = news_of(body).ok_or_else(|| {
            CallbackError::Invalid(
                "state: atteso received, taken_in_charge (con protocol), accepted o rejected"
                    .into(),
            )
        })?;
        let delivery = store::delivery_by_key(&self.db, key)
            .await
            .map_err(AppError::from)?
            .ok_or(CallbackError::UnknownFiling)?;
        // The token must be that of the delivery's own connector.
        let connector = store::connector(&self.db, delivery.connector_id)
            .await
            .map_err(AppError::from)?;
        if !connector.is_some_and(|c| same_secret(&c.callback_token_hash, &hash)) {
            return Err(CallbackError::UnknownFiling);
        }
        let poll_every = std::time::Duration::from_secs(self.config.filings.poll_seconds);
        let now = now_micros();
        let mut tx = self.db.begin_write().await.map_err(AppError::from)?;
        let recorded = match apply_news_in(&mut tx, delivery.id, &news, "callback", poll_every, now)
            .await
        {
            Ok(r) => r,
            Err(NewsError::UnknownDelivery) => return Err(CallbackError::UnknownFiling),
            Err(NewsError::Contradiction(c)) => return Err(CallbackError::Conflict(c.to_string())),
            Err(NewsError::App(e)) => return Err(e.into()),
        };
        tx.commit()
            .await
            .map_err(|e| AppError::from(StoreError::from(e)))?;
        Ok(recorded)
    }

    /// The courier the outbox workers and callbacks share settings with.
    pub fn courier(&self) -> courier::Courier {
        courier::Courier::new(
            self.db.clone(),
            self.config.public_base_url.clone(),
            self.config.filings.concurrency,
            std::time::Duration::from_secs(self.config.filings.poll_seconds),
        )
    }
}
