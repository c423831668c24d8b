//! Reports (seed 002): an office manager sees his office's requests to take,
//! in progress and closed by outcome; regional and central managers see the
//! same by office and region over a period, with the trend per day. Counts
//! come from counters kept in the same transactions as the changes, so they
//! cost the same with a thousand requests or millions.
//! Also the service-level check and the daily protocol register.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use sportello_core::authz::Action;
use sportello_core::desk::sla::{self, SlaFlag};
use sportello_core::desk::workflow::RequestState;
use sportello_store::desk::{self as store, RegisterEntry, StatRow};
use sportello_store::{StoreError, directory};

use super::channel_hours;
use crate::mail::MailMessage;
use crate::{App, AppError, Origin, SessionUser, now_micros, queue_mail, record};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportScope {
    Office(i64),
    Region(String),
    Nation,
}

/// Counts of one office, region or the nation.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Counts {
    /// Now: new and assigned, not yet taken.
    pub to_take: i64,
    /// Now: being worked or waiting for the requester.
    pub in_progress: i64,
    /// In the period.
    pub opened: i64,
    pub taken: i64,
    pub closed: i64,
    pub transferred_out: i64,
    /// In the period: requests not written because an article of the
    /// knowledge base answered ("La risposta mi ha aiutato"), on the
    /// channels of the scope's offices.
    pub deflected: i64,
    /// Closed in the period, per outcome.
    pub outcomes: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ReportRow {
    pub code: String,
    pub label: String,
    pub counts: Counts,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct DayPoint {
    pub day: i64,
    pub opened: i64,
    pub closed: i64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub title: String,
    pub from_day: i64,
    pub to_day: i64,
    pub totals: Counts,
    /// Per office (region report) or per region (national report).
    pub rows: Vec<ReportRow>,
    pub series: Vec<DayPoint>,
}

/// The scopes a user may see reports of.
#[derive(Clone, Debug, Default)]
pub struct ReportChoices {
    pub offices: Vec<(i64, String)>,
    pub regions: Vec<String>,
    pub nation: bool,
}

fn add_metric(c: &mut Counts, metric: &str, n: i64) {
    match metric {
        "opened" => c.opened += n,
        "taken" => c.taken += n,
        "closed" => c.closed += n,
        "transferred_out" => c.transferred_out += n,
        m => {
            if let Some(outcome) = m.strip_prefix("outcome:") {
                *c.outcomes.entry(outcome.to_string()).or_default() += n;
            }
        }
    }
}

fn add_open(c: &mut Counts, state: &str, n: i64) {
    match RequestState::from_code(state).map(RequestState::bucket) {
        Some("to_take") => c.to_take += n,
        Some("in_progress") => c.in_progress += n,
        _ => {}
    }
}

/// The date → its day number yyyymmdd, as the report counters key days.
pub fn day_number(d: jiff::civil::Date) -> i64 {
    d.year() as i64 * 10_000 + d.month() as i64 * 100 + d.day() as i64
}

/// Day number yyyymmdd → the date.
pub fn day_date(day: i64) -> Option<jiff::civil::Date> {
    jiff::civil::Date::new(
        (day / 10_000) as i16,
        ((day / 100) % 100) as i8,
        (day % 100) as i8,
    )
    .ok()
}

impl App {
    pub async fn report_choices(
        &self,
        who: Option<&SessionUser>,
    ) -> Result<ReportChoices, AppError> {
        let who = who.ok_or(AppError::NeedsLogin)?;
        let mut out = ReportChoices::default();
        let offices = store::desk_offices(&self.db).await?;
        let can = |a: &Action<'_>| sportello_core::authz::decide(Some(&who.actor), a).is_allowed();
        for o in &offices {
            let region = o.region.clone().unwrap_or_default();
            if can(&Action::ManageOffice { office_id: o.id })
                || can(&Action::ViewRegionReports { region: &region })
            {
                out.offices.push((o.id, o.name.clone()));
            }
            if !region.is_empty()
                && !out.regions.contains(&region)
                && can(&Action::ViewRegionReports { region: &region })
            {
                out.regions.push(region);
            }
        }
        out.nation = can(&Action::ViewNationalReports);
        Ok(out)
    }

    pub async fn report(
        &self,
        who: Option<&SessionUser>,
        scope: &ReportScope,
        from_day: i64,
        to_day: i64,
    ) -> Result<Report, AppError> {
        if day_date(from_day).is_none() || day_date(to_day).is_none() || from_day > to_day {
            return Err(AppError::Invalid {
                field: "from",
                message: "periodo non valido".into(),
            });
        }
        // The offices' names, loaded once when the report needs them.
        let mut labels = None;
        let (title, level, key, open_ids, row_level, row_region) = match scope {
            ReportScope::Office(id) => {
                let mut conn = self.db.pool().acquire().await.map_err(StoreError::from)?;
                let office = store::desk_office_in(&mut conn, *id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                drop(conn);
                let region = office.region.clone().unwrap_or_default();
                let allowed = sportello_core::authz::decide(
                    who.map(|w| &w.actor),
                    &Action::ManageOffice { office_id: *id },
                )
                .is_allowed();
                if !allowed {
                    self.authorize(who, &Action::ViewRegionReports { region: &region })?;
                }
                (
                    office.name,
                    "office",
                    id.to_string(),
                    Some(vec![*id]),
                    None,
                    None,
                )
            }
            ReportScope::Region(region) => {
                self.authorize(who, &Action::ViewRegionReports { region })?;
                let offices = store::office_labels(&self.db).await?;
                let ids: Vec<i64> = offices
                    .iter()
                    .filter(|o| o.region.as_deref() == Some(region.as_str()))
                    .map(|o| o.id)
                    .collect();
                labels = Some(offices);
                (
                    format!("Regione {region}"),
                    "region",
                    region.clone(),
                    Some(ids),
                    Some("office"),
                    Some(region.clone()),
                )
            }
            ReportScope::Nation => {
                self.authorize(who, &Action::ViewNationalReports)?;
                (
                    "Italia".to_string(),
                    "nation",
                    String::new(),
                    None,
                    Some("region"),
                    None,
                )
            }
        };
        let mut totals = Counts::default();
        let open = store::open_counts(&self.db, open_ids.as_deref()).await?;
        for c in &open {
            add_open(&mut totals, &c.state, c.n);
        }
        for r in store::period_totals(
            &self.db,
            level,
            store::StatScopes::One(&key),
            from_day,
            to_day,
        )
        .await?
        {
            add_metric(&mut totals, &r.metric, r.n);
        }
        totals.deflected =
            sportello_store::kb::deflections_total(&self.db, open_ids.as_deref(), from_day, to_day)
                .await?;
        let daily = store::stats(
            &self.db,
            level,
            &key,
            from_day,
            to_day,
            &["opened", "closed"],
        )
        .await?;
        let mut series: BTreeMap<i64, DayPoint> = BTreeMap::new();
        for StatRow { day, metric, n, .. } in &daily {
            let p = series.entry(*day).or_insert(DayPoint {
                day: *day,
                opened: 0,
                closed: 0,
            });
            match metric.as_str() {
                "opened" => p.opened += n,
                "closed" => p.closed += n,
                _ => {}
            }
        }
        // Every day of the period, so a chart shows quiet days as zero.
        let mut points = Vec::new();
        if let (Some(mut d), Some(end)) = (day_date(from_day), day_date(to_day)) {
            while d <= end && points.len() < 1000 {
                let key = day_number(d);
                points.push(series.remove(&key).unwrap_or(DayPoint {
                    day: key,
                    opened: 0,
                    closed: 0,
                }));
                match d.tomorrow() {
                    Ok(next) => d = next,
                    Err(_) => break,
                }
            }
        }
        let mut rows = Vec::new();
        if let Some(row_level) = row_level {
            let offices = match labels {
                Some(l) => l,
                None => store::office_labels(&self.db).await?,
            };
            let mut by_scope: BTreeMap<String, Counts> = BTreeMap::new();
            let scopes = match row_region.as_deref() {
                Some(r) => store::StatScopes::Region(r),
                None => store::StatScopes::All,
            };
            for r in store::period_totals(&self.db, row_level, scopes, from_day, to_day).await? {
                add_metric(by_scope.entry(r.scope.clone()).or_default(), &r.metric, r.n);
            }
            for c in &open {
                let office = offices.iter().find(|o| o.id == c.office_id);
                let scope = match row_level {
                    "office" => c.office_id.to_string(),
                    _ => office.and_then(|o| o.region.clone()).unwrap_or_default(),
                };
                add_open(by_scope.entry(scope).or_default(), &c.state, c.n);
            }
            for (scope, counts) in by_scope {
                let label = if row_level == "office" {
                    offices
                        .iter()
                        .find(|o| o.id.to_string() == scope)
                        .map(|o| o.name.clone())
                        .unwrap_or_else(|| scope.clone())
                } else {
                    scope.clone()
                };
                let code = if row_level == "office" {
                    offices
                        .iter()
                        .find(|o| o.id.to_string() == scope)
                        .map(|o| o.code.clone())
                        .unwrap_or_else(|| scope.clone())
                } else {
                    scope.clone()
                };
                rows.push(ReportRow {
                    code,
                    label,
                    counts,
                });
            }
        }
        Ok(Report {
            title,
            from_day,
            to_day,
            totals,
            rows,
            series: points,
        })
    }

    /// Flags open requests nearing (80 %) or past their service-level targets,
    /// counted in the channel's opening hours, and tells the office once per
    /// change of flag. Returns how many flags changed.
    pub async fn check_service_levels(&self) -> Result<usize, AppError> {
        let now = now_micros();
        let tz = self.time_zone();
        let mut changed = 0;
        let channels = store::channels(&self.db).await?;
        // Nearest deadlines first: if these are not near, later ones are not either.
        let open = store::open_requests_by_deadline(&self.db, 2000).await?;
        for r in open {
            let Some(channel) = channels.iter().find(|c| c.id == r.channel_id) else {
                continue;
            };
            let hours = channel_hours(channel)?;
            let flag_for = |target_min: i64, until: i64, paused: i64| {
                sla::flag(
                    hours.open_micros_between(r.registered_at, until, &tz) - paused,
                    target_min * 60_000_000,
                )
            };
            let take = if r.taken_at.is_none() {
                flag_for(channel.sla_take_minutes, now, 0)
            } else {
                SlaFlag::Ok
            };
            let paused_now = r
                .paused_since
                .map(|s| hours.open_micros_between(s, now, &tz))
                .unwrap_or(0);
            let close = flag_for(channel.sla_close_minutes, now, r.paused_micros + paused_now);
            let worst = [take, close]
                .into_iter()
                .max_by_key(|f| match f {
                    SlaFlag::Ok => 0,
                    SlaFlag::Near => 1,
                    SlaFlag::Breached => 2,
                })
                .unwrap_or(SlaFlag::Ok);
            if worst.code() == r.sla_flag {
                continue;
            }
            let mut tx = self.db.begin_write().await?;
            store::set_sla_flag_in(&mut tx, r.id, worst.code()).await?;
            let mut conn_office = store::desk_office_in(&mut tx, r.office_id).await?;
            let managers: Vec<String> = store::office_staff_in(&mut tx, r.office_id)
                .await?
                .into_iter()
                .filter(|s| s.role == "office_manager")
                .map(|s| s.email)
                .collect();
            let mut to = managers;
            if let Some(mb) = conn_office.as_mut().and_then(|o| o.mailbox.take()) {
                to.push(mb);
            }
            if !to.is_empty() && worst != SlaFlag::Ok {
                let what = match worst {
                    SlaFlag::Near => "è vicina al termine previsto",
                    _ => "ha superato il termine previsto",
                };
                queue_mail(
                    &mut tx,
                    &MailMessage {
                        from: None,
                        to,
                        subject: format!("[{}] Livello di servizio: {}", r.protocol, worst.label_it()),
                        body: format!(
                            "La richiesta {} ({}) {what}.\nStato: {}\nOggetto: {}\n\n{}/ufficio/richieste/{}\n",
                            r.protocol,
                            channel.code,
                            RequestState::from_code(&r.state).map(|s| s.label_it()).unwrap_or(""),
                            r.subject,
                            self.config.public_base_url,
                            r.id
                        ),
                    },
                    now,
                )
                .await?;
            }
            record(
                &mut tx,
                "system:sla",
                None,
                "desk.request.sla",
                &format!("request:{}", r.id),
                &serde_json::json!({ "protocol": r.protocol, "flag": worst.code() }).to_string(),
                &Origin::default(),
                now,
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            changed += 1;
        }
        Ok(changed)
    }

    /// The daily protocol register of one day (Europe/Rome): every
    /// registration and annulment of that day, as CSV with its SHA-256. The
    /// export is recorded, and its hash is in the audit trail.
    pub async fn daily_register(
        &self,
        who: Option<&SessionUser>,
        register_code: &str,
        day: jiff::civil::Date,
        origin: &Origin,
    ) -> Result<RegisterDay, AppError> {
        self.authorize(who, &Action::ExportRegister)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let register = store::registers(&self.db)
            .await?
            .into_iter()
            .find(|r| r.code.eq_ignore_ascii_case(register_code))
            .ok_or(AppError::NotFound)?;
        let tz = self.time_zone();
        let start = day
            .to_zoned(tz.clone())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let end = start
            .tomorrow()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let from = start.timestamp().as_microsecond();
        let to = end.timestamp().as_microsecond();
        if from > now_micros() {
            return Err(AppError::Invalid {
                field: "day",
                message: "il giorno non è ancora iniziato".into(),
            });
        }
        let entries = store::register_entries(&self.db, register.id, from, to).await?;
        let offices = directory::offices(&self.db).await?;
        let mut csv = String::from(
            "numero_protocollo;data_registrazione;canale_ingresso;mittente;oggetto;ufficio;impronta_sha256;annullato_il;motivo_annullamento\r\n",
        );
        for e in &entries {
            let office = offices
                .iter()
                .find(|o| o.id == e.office_id)
                .map(|o| o.code.as_str())
                .unwrap_or("");
            let cells = [
                e.protocol.clone(),
                self.format_time(e.registered_at),
                e.intake.clone(),
                e.requester_name.clone(),
                e.subject.clone(),
                office.to_string(),
                e.document_hash.clone(),
                e.annulled_at
                    .map(|a| self.format_time(a))
                    .unwrap_or_default(),
                e.annul_reason.clone().unwrap_or_default(),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            csv.push_str(&line.join(";"));
            csv.push_str("\r\n");
        }
        let sha256 = hex::encode(Sha256::digest(csv.as_bytes()));
        let day_num = day_number(day);
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        store::record_register_export_in(
            &mut tx,
            register.id,
            day_num,
            entries.len() as i64,
            &sha256,
            Some(who.user.id),
            now,
        )
        .await?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "desk.register.export",
            &format!("register:{}", register.code),
            &serde_json::json!({ "day": day.to_string(), "entries": entries.len(), "sha256": sha256 })
                .to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(RegisterDay {
            register_code: register.code,
            register_name: register.name,
            aoo: register.aoo,
            day,
            entries,
            csv,
            sha256,
        })
    }
}

#[derive(Clone, Debug)]
pub struct RegisterDay {
    pub register_code: String,
    pub register_name: String,
    pub aoo: String,
    pub day: jiff::civil::Date,
    pub entries: Vec<RegisterEntry>,
    pub csv: String,
    pub sha256: String,
}

/// A CSV cell for Italian spreadsheets (semicolon separated); a leading
/// formula character is neutralised so a subject cannot run in Excel.
pub fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}
