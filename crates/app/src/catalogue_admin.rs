//! The central administrator edits the application catalogue: applications,
//! their profiles, and the rules (organization kinds, capabilities, implied
//! profiles). Data, not code: no release is needed to add a service.

use sportello_core::authz::Action;
use sportello_core::catalogue::ORG_KINDS;
use sportello_store::{StoreError, catalogue, directory};

use crate::{App, AppError, Origin, SessionUser, now_micros, record};

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        message: message.into(),
    }
}

fn check_code(field: &'static str, code: &str, upper: bool) -> Result<String, AppError> {
    let c = code.trim();
    let ok_char = |ch: char| {
        ch.is_ascii_digit()
            || ch == '_'
            || ch == '-'
            || if upper {
                ch.is_ascii_uppercase()
            } else {
                ch.is_ascii_lowercase()
            }
    };
    if c.len() < 2 || c.len() > 40 || !c.chars().all(ok_char) {
        let case = if upper { "maiuscole" } else { "minuscole" };
        return Err(invalid(
            field,
            format!("da 2 a 40 caratteri: lettere {case}, cifre, - e _"),
        ));
    }
    Ok(c.to_string())
}

fn check_name(field: &'static str, v: &str, max: usize) -> Result<String, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(invalid(field, "campo obbligatorio"));
    }
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(invalid(field, format!("al massimo {max} caratteri")));
    }
    Ok(v.to_string())
}

fn check_url(v: &str) -> Result<String, AppError> {
    let v = v.trim();
    if v.is_empty() || (v.starts_with('/') && !v.starts_with("//")) {
        return Ok(v.to_string());
    }
    match url::Url::parse(v) {
        Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(v.to_string()),
        _ => Err(invalid(
            "url",
            "indirizzo https://… o percorso che inizia con /",
        )),
    }
}

impl App {
    pub async fn create_application(
        &self,
        who: Option<&SessionUser>,
        code: &str,
        name: &str,
        description: &str,
        url: &str,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        self.authorize(who, &Action::ManageCatalogue)?;
        let code = check_code("code", code, true)?;
        let name = check_name("name", name, 120)?;
        let description = check_name("description", description, 500)?;
        let url = check_url(url)?;
        if catalogue::application_by_code(&self.db, &code)
            .await?
            .is_some()
        {
            return Err(invalid(
                "code",
                "esiste già un'applicazione con questo codice",
            ));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let id = directory::ensure_application(&mut tx, &code, &name, &description, now).await?;
        catalogue::set_application_url(&mut tx, id, &url).await?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "catalogue.application_created",
            &format!("application:{id}"),
            &format!("{{\"code\":\"{code}\"}}"),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    pub async fn create_profile(
        &self,
        who: Option<&SessionUser>,
        application_id: i64,
        code: &str,
        name: &str,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        self.authorize(who, &Action::ManageCatalogue)?;
        let code = check_code("code", code, false)?;
        let name = check_name("name", name, 120)?;
        let apps = catalogue::applications(&self.db).await?;
        if !apps.iter().any(|a| a.id == application_id) {
            return Err(invalid("application_id", "applicazione sconosciuta"));
        }
        if catalogue::profiles(&self.db)
            .await?
            .iter()
            .any(|p| p.application_id == application_id && p.code == code)
        {
            return Err(invalid(
                "code",
                "esiste già un profilo con questo codice per l'applicazione",
            ));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let id = directory::ensure_profile(&mut tx, application_id, &code, &name).await?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "catalogue.profile_created",
            &format!("profile:{id}"),
            &format!("{{\"application\":{application_id},\"code\":\"{code}\"}}"),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// Replaces a profile's rules: who may hold it, what it allows, what it opens.
    pub async fn set_profile_rules(
        &self,
        who: Option<&SessionUser>,
        profile_id: i64,
        org_kinds: &[String],
        capabilities: &[String],
        implied: &[i64],
        origin: &Origin,
    ) -> Result<(), AppError> {
        self.authorize(who, &Action::ManageCatalogue)?;
        let profile = catalogue::profile(&self.db, profile_id)
            .await?
            .ok_or(AppError::NotFound)?;
        for k in org_kinds {
            if !ORG_KINDS.iter().any(|(c, _)| c == k) {
                return Err(invalid(
                    "org_kinds",
                    format!("tipo di ente sconosciuto «{k}»"),
                ));
            }
        }
        let mut caps: Vec<String> = Vec::new();
        for c in capabilities
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
        {
            if c.len() > 60
                || !c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '.' || ch == '_'
                })
            {
                return Err(invalid(
                    "capabilities",
                    format!("«{c}»: solo minuscole, cifre, punto e trattino basso"),
                ));
            }
            if !caps.iter().any(|x| x == c) {
                caps.push(c.to_string());
            }
        }
        for i in implied {
            let other = catalogue::profile(&self.db, *i)
                .await?
                .ok_or_else(|| invalid("implied", "profilo implicato sconosciuto"))?;
            if other.application_id == profile.application_id {
                return Err(invalid(
                    "implied",
                    "un profilo può implicare solo profili di altre applicazioni",
                ));
            }
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let kinds: Vec<&str> = org_kinds.iter().map(String::as_str).collect();
        let caps_ref: Vec<&str> = caps.iter().map(String::as_str).collect();
        catalogue::set_profile_org_kinds(&mut tx, profile_id, &kinds).await?;
        catalogue::set_profile_capabilities(&mut tx, profile_id, &caps_ref).await?;
        catalogue::set_profile_implications(&mut tx, profile_id, implied).await?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let detail = format!(
            "{{\"org_kinds\":{:?},\"capabilities\":{:?},\"implied\":{:?}}}",
            kinds, caps_ref, implied
        );
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "catalogue.rules_changed",
            &format!("profile:{profile_id}"),
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}
