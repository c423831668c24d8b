//! Organizations in a tree (seed 001: a concessionaire or municipal company
//! hangs under the local authority it serves) and their offices.

use sportello_core::VatNumber;
use sportello_core::authz::{Action, Role};
use sportello_core::catalogue::{ORG_KINDS, is_dependent_kind};
use sportello_store::StoreError;
use sportello_store::directory::{self, NewOffice, NewOrganization};

use crate::{App, AppError, Origin, SessionUser, now_micros, record};

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        message: message.into(),
    }
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct OrganizationInput {
    pub code: String,
    pub name: String,
    pub kind: String,
    /// Codice fiscale / partita IVA of the body (11 digits with check digit).
    #[serde(default)]
    pub fiscal_code: String,
    pub parent_id: Option<i64>,
    #[serde(default)]
    pub region: String,
}

impl App {
    /// Central administrators create any organization; a local administrator
    /// may register a concessionaire or municipal company under his own body.
    pub async fn create_organization(
        &self,
        who: Option<&SessionUser>,
        input: &OrganizationInput,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        let who_s = who.ok_or(AppError::NeedsLogin)?;
        let code = input.code.trim().to_uppercase();
        if code.len() < 2
            || code.len() > 40
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "code",
                "da 2 a 40 caratteri: lettere, cifre, - e _",
            ));
        }
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(invalid("name", "obbligatorio, al massimo 200 caratteri"));
        }
        if !ORG_KINDS.iter().any(|(k, _)| *k == input.kind) {
            return Err(invalid("kind", "tipo di ente non valido"));
        }
        let fiscal = input.fiscal_code.trim();
        let fiscal = if fiscal.is_empty() {
            None
        } else {
            Some(
                VatNumber::parse(fiscal)
                    .map_err(|e| {
                        invalid("fiscal_code", format!("codice fiscale / partita IVA: {e}"))
                    })?
                    .to_string(),
            )
        };
        let region = input.region.trim();
        if region.chars().count() > 60 {
            return Err(invalid("region", "al massimo 60 caratteri"));
        }
        let parent_path = match input.parent_id {
            Some(p) => {
                if directory::organization(&self.db, p).await?.is_none() {
                    return Err(invalid("parent_id", "ente superiore sconosciuto"));
                }
                directory::organization_path(&self.db, p).await?
            }
            None => Vec::new(),
        };
        if !who_s.actor.has(Role::CentralAdmin) {
            // A local administrator: only dependent bodies, only under his scope.
            if !is_dependent_kind(&input.kind) || input.parent_id.is_none() {
                return Err(AppError::Forbidden(
                    "local administrators register only concessionaires and municipal companies under their body",
                ));
            }
            self.authorize(
                who,
                &Action::ManageUsersOf {
                    org_path: &parent_path,
                },
            )?;
        } else {
            self.authorize(who, &Action::ManageCatalogue)?;
        }
        if directory::organization_by_code(&self.db, &code)
            .await?
            .is_some()
        {
            return Err(invalid("code", "esiste già un ente con questo codice"));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let id = directory::ensure_organization(
            &mut tx,
            &NewOrganization {
                code: &code,
                name,
                kind: &input.kind,
                fiscal_code: fiscal.as_deref(),
                parent_id: input.parent_id,
                region: (!region.is_empty()).then_some(region),
            },
            now,
        )
        .await?;
        let detail = format!(
            "{{\"code\":\"{code}\",\"kind\":\"{}\",\"parent\":{}}}",
            input.kind,
            input
                .parent_id
                .map(|p| p.to_string())
                .unwrap_or("null".into())
        );
        record(
            &mut tx,
            &format!("user:{}", who_s.user.id),
            who_s.user.organization_id,
            "organization.create",
            &format!("org:{id}"),
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// Adds an office (with its functional mailbox) to an organization.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_office(
        &self,
        who: Option<&SessionUser>,
        organization_id: i64,
        code: &str,
        name: &str,
        region: &str,
        mailbox: &str,
        origin: &Origin,
    ) -> Result<i64, AppError> {
        self.authorize(who, &Action::ManageCatalogue)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        if directory::organization(&self.db, organization_id)
            .await?
            .is_none()
        {
            return Err(invalid("organization_id", "ente sconosciuto"));
        }
        let code = code.trim().to_uppercase();
        if code.len() < 2
            || code.len() > 40
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "code",
                "da 2 a 40 caratteri: lettere, cifre, - e _",
            ));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(invalid("name", "obbligatorio, al massimo 200 caratteri"));
        }
        let mailbox = mailbox.trim();
        if !mailbox.is_empty() && mailbox.parse::<lettre::Address>().is_err() {
            return Err(invalid("mailbox", "casella funzionale non valida"));
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let id = directory::ensure_office(
            &mut tx,
            &NewOffice {
                organization_id,
                code: &code,
                name,
                region: (!region.trim().is_empty()).then_some(region.trim()),
                mailbox: (!mailbox.is_empty()).then_some(mailbox),
            },
            now,
        )
        .await?;
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "office.create",
            &format!("office:{id}"),
            &format!("{{\"organization\":{organization_id}}}"),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }
}
