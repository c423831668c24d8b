//! Bulk enablement (seed 001: a body sends the list of its employees with
//! their roles). Parsing is in `import`; here each valid row is planned
//! against the directory and the catalogue, then, unless it is a dry run,
//! applied: a row is applied whole or not at all.

use sportello_core::authz::Action;
use sportello_core::catalogue::check_grant;
use sportello_core::identity::Status;
use sportello_store::credentials::{self, ACTIVATION};
use sportello_store::directory::{self, NewUser};
use sportello_store::{StoreError, audit, catalogue};

use crate::import::{ImportRow, ParsedImport, RowError};
use crate::mail::MailMessage;
use crate::security::{random_token, token_hash};
use crate::{App, AppError, Origin, SessionUser, now_micros, queue_mail, record};

/// What happens (or would happen) to one row.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Outcome {
    /// A new user, and the profile if the row names one.
    Create { profile: Option<String> },
    /// An existing user of the organization gets the profile.
    Enable { profile: String },
    /// Nothing to do: the user exists and already holds the profile (or none was asked).
    Unchanged,
    /// The row cannot be applied: why.
    Refused(String),
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct RowReport {
    pub line: usize,
    pub fiscal_code: String,
    pub name: String,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ImportReport {
    pub format: String,
    pub dry_run: bool,
    pub rows: Vec<RowReport>,
    /// Rows the parser rejected (line, column, message) and warnings (line 1).
    pub errors: Vec<(usize, Option<String>, String)>,
    pub created: usize,
    pub enabled: usize,
    pub unchanged: usize,
    pub refused: usize,
}

struct Planned {
    row: ImportRow,
    existing: Option<i64>,
    profile: Option<(i64, i64, String)>, // application id, profile id, display name
}

const CHUNK: usize = 250;

impl App {
    /// Plans every row and, unless `dry_run`, applies the valid ones in
    /// chunks of transactions; `progress` is told how many rows are done.
    pub async fn import_users(
        &self,
        who: Option<&SessionUser>,
        organization_id: i64,
        parsed: ParsedImport,
        dry_run: bool,
        origin: &Origin,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ImportReport, AppError> {
        let path = directory::organization_path(&self.db, organization_id).await?;
        self.authorize(who, &Action::ManageUsersOf { org_path: &path })?;
        self.import_inner(who, organization_id, parsed, dry_run, origin, progress)
            .await
    }

    async fn import_inner(
        &self,
        who: Option<&SessionUser>,
        organization_id: i64,
        parsed: ParsedImport,
        dry_run: bool,
        origin: &Origin,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ImportReport, AppError> {
        let org = directory::organization(&self.db, organization_id)
            .await?
            .ok_or_else(|| AppError::Invalid {
                field: "organization_id",
                message: "ente sconosciuto".into(),
            })?;
        let actor_id = who.map(|w| w.user.id);
        let subtree = directory::organization_subtree(&self.db, organization_id).await?;

        // Catalogue lookups once, not per row.
        let mut profiles = std::collections::HashMap::new();
        for p in catalogue::profiles(&self.db).await? {
            if let Some(rule) = catalogue::profile_rule(&self.db, p.id).await? {
                profiles.insert((p.application_code.clone(), p.code.clone()), (p, rule));
            }
        }
        let errors: Vec<(usize, Option<String>, String)> = parsed
            .errors
            .iter()
            .map(
                |RowError {
                     line,
                     column,
                     message,
                 }| (*line, column.clone(), message.clone()),
            )
            .collect();
        let mut report = ImportReport {
            format: parsed.format.clone(),
            dry_run,
            rows: Vec::with_capacity(parsed.rows.len()),
            errors,
            created: 0,
            enabled: 0,
            unchanged: 0,
            refused: 0,
        };
        let mut plan = Vec::new();
        let total = parsed.rows.len();
        // Existing users and their enablements, fetched in a few queries.
        let codes: Vec<String> = parsed
            .rows
            .iter()
            .map(|r| r.fiscal_code.to_string())
            .collect();
        let known: std::collections::HashMap<String, directory::User> =
            directory::users_by_fiscal_codes(&self.db, &codes)
                .await?
                .into_iter()
                .map(|u| (u.fiscal_code.clone(), u))
                .collect();
        let ids: Vec<i64> = known.values().map(|u| u.id).collect();
        let mut held_by: std::collections::HashMap<(i64, i64), catalogue::Enablement> =
            std::collections::HashMap::new();
        for e in catalogue::enablements_of_users(&self.db, &ids).await? {
            held_by.insert((e.user_id, e.application_id), e);
        }
        for row in parsed.rows {
            let existing = known.get(row.fiscal_code.as_str()).cloned();
            let name = format!("{} {}", row.given_name, row.family_name);
            let mut outcome = None;
            if let Some(u) = &existing {
                if !u.organization_id.is_some_and(|o| subtree.contains(&o)) {
                    outcome = Some(Outcome::Refused(
                        "l'utente appartiene a un altro ente".into(),
                    ));
                } else if u.status == Status::Deleted.code() || u.status == Status::Disabled.code()
                {
                    outcome = Some(Outcome::Refused(
                        "l'utenza è disabilitata o eliminata".into(),
                    ));
                }
            }
            let mut profile = None;
            if outcome.is_none()
                && let (Some(app), Some(prof)) = (&row.application, &row.profile)
            {
                match profiles.get(&(app.clone(), prof.clone())) {
                    None => {
                        outcome = Some(Outcome::Refused(format!(
                            "profilo «{prof}» dell'applicazione «{app}» sconosciuto"
                        )))
                    }
                    Some((p, rule)) => {
                        let held = existing
                            .as_ref()
                            .and_then(|u| held_by.get(&(u.id, p.application_id)).cloned());
                        match held {
                            Some(h) if h.profile_id == p.id => outcome = Some(Outcome::Unchanged),
                            Some(h) => {
                                outcome = Some(Outcome::Refused(format!(
                                    "l'utente ha già il profilo «{}» per questa applicazione",
                                    h.profile_name
                                )))
                            }
                            None => match check_grant(rule, Some(&org.kind), None) {
                                Ok(()) => {
                                    profile = Some((p.application_id, p.id, rule.name.clone()))
                                }
                                Err(e) => outcome = Some(Outcome::Refused(e.to_string())),
                            },
                        }
                    }
                }
            }
            let outcome = outcome.unwrap_or_else(|| match (&existing, &profile) {
                (None, p) => Outcome::Create {
                    profile: p.as_ref().map(|(_, _, n)| n.clone()),
                },
                (Some(_), Some((_, _, n))) => Outcome::Enable { profile: n.clone() },
                (Some(_), None) => Outcome::Unchanged,
            });
            match &outcome {
                Outcome::Create { .. } => report.created += 1,
                Outcome::Enable { .. } => report.enabled += 1,
                Outcome::Unchanged => report.unchanged += 1,
                Outcome::Refused(_) => report.refused += 1,
            }
            if matches!(outcome, Outcome::Create { .. } | Outcome::Enable { .. }) {
                plan.push(Planned {
                    row: row.clone(),
                    existing: existing.map(|u| u.id),
                    profile,
                });
            }
            report.rows.push(RowReport {
                line: row.line,
                fiscal_code: row.fiscal_code.to_string(),
                name,
                outcome,
            });
        }
        if dry_run {
            progress(total, total);
            return Ok(report);
        }
        let mut done = 0;
        for chunk in plan.chunks(CHUNK) {
            let now = now_micros();
            let mut tx = self.db.begin_write().await?;
            let mut events: Vec<(&'static str, String, String)> = Vec::new();
            for p in chunk {
                self.apply_row(&mut tx, p, organization_id, actor_id, now, &mut events)
                    .await?;
            }
            // One append for the chunk: the chain head is locked once.
            let actor = actor_id
                .map(|a| format!("user:{a}"))
                .unwrap_or_else(|| "system".into());
            let acting_org = who
                .and_then(|w| w.user.organization_id)
                .map(|o| format!("org:{o}"));
            let new_events: Vec<audit::NewEvent<'_>> = events
                .iter()
                .map(|(action, target, detail)| audit::NewEvent {
                    actor: &actor,
                    acting_organization: acting_org.as_deref(),
                    action,
                    target,
                    detail,
                    source_address: origin.address.as_deref(),
                })
                .collect();
            audit::append_many(&mut tx, &new_events, now).await?;
            tx.commit().await.map_err(StoreError::from)?;
            done += chunk.len();
            progress(done, plan.len());
        }
        let detail = format!(
            "{{\"organization\":{organization_id},\"created\":{},\"enabled\":{},\"refused\":{},\"rejected_rows\":{}}}",
            report.created,
            report.enabled,
            report.refused,
            report.errors.iter().filter(|e| e.0 > 1).count()
        );
        let mut tx = self.db.begin_write().await?;
        let actor = actor_id
            .map(|a| format!("user:{a}"))
            .unwrap_or_else(|| "system".into());
        record(
            &mut tx,
            &actor,
            who.and_then(|w| w.user.organization_id),
            "user.import",
            &format!("org:{organization_id}"),
            &detail,
            origin,
            now_micros(),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(report)
    }

    /// The command-line import: the operator of the machine acts as the system.
    pub async fn import_users_as_system(
        &self,
        organization_id: i64,
        parsed: ParsedImport,
        dry_run: bool,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ImportReport, AppError> {
        self.import_inner(
            None,
            organization_id,
            parsed,
            dry_run,
            &Origin::default(),
            progress,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_row(
        &self,
        tx: &mut sportello_store::AnyConnection,
        p: &Planned,
        organization_id: i64,
        actor_id: Option<i64>,
        now: i64,
        events: &mut Vec<(&'static str, String, String)>,
    ) -> Result<(), AppError> {
        let r = &p.row;
        let (user_id, new) = match p.existing {
            Some(id) => (id, false),
            None => {
                let (id, created) = directory::ensure_user(
                    tx,
                    &NewUser {
                        fiscal_code: r.fiscal_code.as_str(),
                        given_name: &r.given_name,
                        family_name: &r.family_name,
                        email: &r.email,
                        category: r.category.code(),
                        status: Status::PendingActivation.code(),
                        organization_id: Some(organization_id),
                        pec: r.pec.as_deref(),
                        phone: r.phone.as_deref(),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
                if created {
                    events.push((
                        "user.create",
                        format!("user:{id}"),
                        "{\"source\":\"import\"}".into(),
                    ));
                }
                (id, created)
            }
        };
        let mut lines = Vec::new();
        if let Some((app_id, profile_id, name)) = &p.profile {
            catalogue::grant(tx, user_id, *app_id, *profile_id, actor_id, now).await?;
            let detail = format!(
                "{{\"application\":{app_id},\"profile\":{profile_id},\"source\":\"import\"}}"
            );
            events.push(("user.enable", format!("user:{user_id}"), detail));
            lines.push(format!("sei stato abilitato al servizio {name}."));
        }
        if new {
            let token = random_token();
            let hours = self.config.identity.activation_link_hours;
            credentials::create_token(
                tx,
                &token_hash(&token),
                user_id,
                ACTIVATION,
                now,
                now + hours * 3_600_000_000,
            )
            .await?;
            lines.push(format!(
                "Per il primo accesso scegli la tua password da questo collegamento, valido {hours} ore e una sola volta:\n\n{}/attivazione?token={token}",
                self.config.public_base_url.trim_end_matches('/')
            ));
        } else {
            lines.push("Accedi con le credenziali che già possiedi.".into());
        }
        queue_mail(
            tx,
            &MailMessage {
                from: None,
                to: vec![r.email.clone()],
                subject: if new {
                    "Sportello: la tua utenza".into()
                } else {
                    "Sportello: nuova abilitazione".into()
                },
                body: format!(
                    "Gentile {} {},\n\n{}\n\nSportello",
                    r.given_name,
                    r.family_name,
                    lines.join("\n\n")
                ),
            },
            now,
        )
        .await?;
        Ok(())
    }
}
