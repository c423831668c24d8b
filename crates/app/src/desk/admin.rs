//! Channel configuration by the central administrator, notices loaded for
//! the CIVIS form, offices' desk settings and requesters' associations.

use sportello_core::authz::Action;
use sportello_core::desk::form::FormSpec;
use sportello_core::desk::hours::OpeningHours;
use sportello_core::desk::routing;
use sportello_core::fiscal_code::FiscalCode;
use sportello_core::vat_number::VatNumber;
use sportello_store::desk::{self as store, Channel, Notice};
use sportello_store::{StoreError, catalogue, directory};

use crate::{App, AppError, Origin, SessionUser, now_micros, record};

/// A channel's settings as the administrator enters them.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct ChannelInput {
    pub code: String,
    pub name: String,
    pub description: String,
    pub register_code: String,
    pub register_name: String,
    pub aoo: String,
    /// Application whose enabled users may write (empty = anyone logged in).
    pub application_code: String,
    pub requester_categories: String,
    pub require_association: bool,
    pub hours_weekly: String,
    pub hours_holidays: String,
    pub form_spec: String,
    pub outcomes: String,
    pub routing_rules: String,
    pub mail_address: String,
    pub intake_web: bool,
    pub intake_mail: bool,
    pub intake_phone: bool,
    pub notice_lookup: bool,
    pub sla_take_minutes: i64,
    pub sla_close_minutes: i64,
    pub max_attachment_mb: i64,
    /// Codes of the offices that work the channel.
    pub office_codes: Vec<String>,
    pub active: bool,
}

impl ChannelInput {
    pub fn from_channel(
        c: &Channel,
        register: &store::Register,
        app_code: Option<String>,
        offices: Vec<String>,
    ) -> Self {
        ChannelInput {
            code: c.code.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            register_code: register.code.clone(),
            register_name: register.name.clone(),
            aoo: register.aoo.clone(),
            application_code: app_code.unwrap_or_default(),
            requester_categories: c.requester_categories.clone(),
            require_association: c.require_association != 0,
            hours_weekly: c.hours_weekly.clone(),
            hours_holidays: c.hours_holidays.clone(),
            form_spec: c.form_spec.clone(),
            outcomes: c.outcomes.clone(),
            routing_rules: c.routing_rules.clone(),
            mail_address: c.mail_address.clone().unwrap_or_default(),
            intake_web: c.intake_web != 0,
            intake_mail: c.intake_mail != 0,
            intake_phone: c.intake_phone != 0,
            notice_lookup: c.notice_lookup != 0,
            sla_take_minutes: c.sla_take_minutes,
            sla_close_minutes: c.sla_close_minutes,
            max_attachment_mb: c.max_attachment_bytes / (1024 * 1024),
            office_codes: offices,
            active: c.active != 0,
        }
    }
}

fn is_code(s: &str) -> bool {
    (2..=16).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl App {
    /// Creates or updates a channel; every setting is checked first and all
    /// problems are reported together.
    pub async fn save_channel(
        &self,
        who: Option<&SessionUser>,
        input: ChannelInput,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        self.authorize(who, &Action::ManageChannels)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let mut p: Vec<(String, String)> = Vec::new();
        let mut bad = |k: &str, m: String| p.push((k.to_string(), m));
        let code = input.code.trim().to_uppercase();
        if !is_code(&code) {
            bad(
                "code",
                "sigla di 2-16 lettere maiuscole o cifre (es. CIVIS, BDNA)".into(),
            );
        }
        if input.name.trim().is_empty() {
            bad("name", "campo obbligatorio".into());
        }
        let register_code = input.register_code.trim().to_uppercase();
        if !is_code(&register_code) {
            bad(
                "register_code",
                "sigla del registro di 2-16 lettere maiuscole o cifre".into(),
            );
        }
        if input.aoo.trim().is_empty() {
            bad(
                "aoo",
                "indicare il codice dell'amministrazione (AOO) per la segnatura".into(),
            );
        }
        if let Err(e) = OpeningHours::parse(&input.hours_weekly, &input.hours_holidays) {
            bad("hours_weekly", e.to_string());
        }
        if let Err(e) = FormSpec::parse(&input.form_spec) {
            bad("form_spec", e.to_string());
        }
        if let Err(e) = routing::parse_rules(&input.routing_rules) {
            bad("routing_rules", e.to_string());
        }
        let outcomes: Vec<&str> = input
            .outcomes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if outcomes.is_empty() {
            bad("outcomes", "indicare almeno un esito, uno per riga".into());
        }
        if outcomes.iter().any(|o| o.chars().count() > 80) {
            bad("outcomes", "ogni esito al massimo 80 caratteri".into());
        }
        let mail = input.mail_address.trim().to_lowercase();
        if !mail.is_empty() && mail.parse::<lettre::Address>().is_err() {
            bad(
                "mail_address",
                format!("«{mail}» non è un indirizzo e-mail valido"),
            );
        }
        for c in input
            .requester_categories
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            if sportello_core::identity::Category::from_code(c).is_none() {
                bad(
                    "requester_categories",
                    format!("categoria «{c}» sconosciuta"),
                );
            }
        }
        if input.sla_take_minutes < 0 || input.sla_close_minutes < 0 {
            bad(
                "sla_take_minutes",
                "i tempi non possono essere negativi".into(),
            );
        }
        if !(1..=100).contains(&input.max_attachment_mb) {
            bad("max_attachment_mb", "da 1 a 100 MB".into());
        }
        let application_id = match input.application_code.trim() {
            "" => None,
            a => match catalogue::application_by_code(&self.db, a).await? {
                Some(app) => Some(app.id),
                None => {
                    bad(
                        "application_code",
                        format!("applicazione «{a}» inesistente"),
                    );
                    None
                }
            },
        };
        let all_offices = directory::offices(&self.db).await?;
        let mut office_ids = Vec::new();
        for oc in input
            .office_codes
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
        {
            match all_offices.iter().find(|o| o.code == oc) {
                Some(o) => office_ids.push(o.id),
                None => bad("office_codes", format!("ufficio «{oc}» inesistente")),
            }
        }
        if office_ids.is_empty() {
            bad(
                "office_codes",
                "almeno un ufficio deve lavorare il canale".into(),
            );
        }
        if !p.is_empty() {
            return Err(AppError::InvalidFields(p));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let register_id = store::ensure_register(
            &mut tx,
            &register_code,
            input
                .register_name
                .trim()
                .is_empty()
                .then(|| format!("Registro {register_code}"))
                .as_deref()
                .unwrap_or(input.register_name.trim()),
            input.aoo.trim(),
            now,
        )
        .await?;
        let channel = Channel {
            id: 0,
            code: code.clone(),
            name: input.name.trim().into(),
            description: input.description.trim().into(),
            register_id,
            application_id,
            requester_categories: input.requester_categories.trim().into(),
            require_association: input.require_association as i64,
            hours_weekly: input.hours_weekly.trim().into(),
            hours_holidays: input.hours_holidays.trim().into(),
            form_spec: input.form_spec.trim().into(),
            outcomes: outcomes.join("\n"),
            routing_rules: input.routing_rules.trim().into(),
            mail_address: (!mail.is_empty()).then_some(mail),
            intake_web: input.intake_web as i64,
            intake_mail: input.intake_mail as i64,
            intake_phone: input.intake_phone as i64,
            notice_lookup: input.notice_lookup as i64,
            sla_take_minutes: input.sla_take_minutes,
            sla_close_minutes: input.sla_close_minutes,
            max_attachment_bytes: input.max_attachment_mb * 1024 * 1024,
            active: input.active as i64,
        };
        let id = store::save_channel_in(&mut tx, &channel, now).await?;
        store::set_channel_offices_in(&mut tx, id, &office_ids).await?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "desk.channel.save",
            &format!("channel:{code}"),
            &serde_json::to_string(&input).unwrap_or_default(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// Loads notices (comunicazioni di irregolarità, avvisi telematici) for the
    /// CIVIS form; all rows are checked before any is stored. Returns how many were new.
    pub async fn load_notices(
        &self,
        who: Option<&SessionUser>,
        notices: Vec<Notice>,
        origin: &Origin,
    ) -> Result<usize, AppError> {
        self.authorize(who, &Action::ManageChannels)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let mut p = Vec::new();
        let mut clean = Vec::new();
        for (i, n) in notices.into_iter().enumerate() {
            let at = |k: &str| format!("notices[{i}].{k}");
            let number = n.notice_number.trim().to_string();
            if number.is_empty() || number.len() > 40 {
                p.push((at("notice_number"), "da 1 a 40 caratteri".to_string()));
            }
            let tp = n.taxpayer_fiscal_code.trim().to_uppercase();
            if tp.parse::<FiscalCode>().is_err() && VatNumber::parse(&tp).is_err() {
                p.push((
                    at("taxpayer_fiscal_code"),
                    "codice fiscale o partita IVA non valido".into(),
                ));
            }
            if !matches!(n.kind.as_str(), "comunicazione" | "avviso") {
                p.push((at("kind"), "valori ammessi: comunicazione, avviso".into()));
            }
            if !(1990..=2100).contains(&n.tax_year) {
                p.push((at("tax_year"), "anno d'imposta non valido".into()));
            }
            if n.model.trim().is_empty() {
                p.push((at("model"), "campo obbligatorio".into()));
            }
            clean.push(Notice {
                notice_number: number,
                taxpayer_fiscal_code: tp,
                kind: n.kind,
                model: n.model.trim().into(),
                tax_year: n.tax_year,
            });
        }
        if !p.is_empty() {
            return Err(AppError::InvalidFields(p));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let mut new = 0;
        for n in &clean {
            if store::upsert_notice_in(&mut tx, n, now).await? {
                new += 1;
            }
        }
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "desk.notices.load",
            "notices",
            &serde_json::json!({ "rows": clean.len(), "new": new }).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(new)
    }

    /// Associates a requester with an office of a channel (seed 002: the
    /// intermediaries enabled by the offices and the regional directorate).
    /// The central administrator or the office's manager may do it.
    pub async fn associate_requester(
        &self,
        who: Option<&SessionUser>,
        channel_code: &str,
        fiscal_code: &str,
        office_code: &str,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let channel = store::channel_by_code(&self.db, channel_code)
            .await?
            .ok_or(AppError::NotFound)?;
        let office = directory::offices(&self.db)
            .await?
            .into_iter()
            .find(|o| o.code == office_code.trim())
            .ok_or(AppError::Invalid {
                field: "office_code",
                message: "ufficio inesistente".into(),
            })?;
        if self.authorize(who, &Action::ManageChannels).is_err() {
            self.authorize(
                who,
                &Action::ManageOffice {
                    office_id: office.id,
                },
            )?;
        }
        let who = who.ok_or(AppError::NeedsLogin)?;
        let cf: FiscalCode = fiscal_code.trim().to_uppercase().parse()?;
        let user = directory::user_by_fiscal_code(&self.db, cf.as_str())
            .await?
            .ok_or(AppError::Invalid {
                field: "fiscal_code",
                message: "nessuna utenza con questo codice fiscale".into(),
            })?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        store::add_member_in(&mut tx, channel.id, user.id, office.id, now).await?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "desk.channel.associate",
            &format!("user:{}", user.id),
            &serde_json::json!({ "channel": channel.code, "office": office.code }).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Opens or closes an office to new requests (routing skips closed ones).
    pub async fn set_office_accepting(
        &self,
        who: Option<&SessionUser>,
        office_id: i64,
        accepting: bool,
        origin: &Origin,
    ) -> Result<(), AppError> {
        if self.authorize(who, &Action::ManageChannels).is_err() {
            self.authorize(who, &Action::ManageOffice { office_id })?;
        }
        let who = who.ok_or(AppError::NeedsLogin)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let office = store::desk_office_in(&mut tx, office_id)
            .await?
            .ok_or(AppError::NotFound)?;
        store::set_office_desk_settings_in(
            &mut tx,
            office_id,
            office.province.as_deref(),
            accepting,
        )
        .await?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "desk.office.accepting",
            &format!("office:{}", office.code),
            &serde_json::json!({ "accepting": accepting }).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}
