//! SCIM provisioning (seed 001: a public body sends the list of its employees):
//! bearer tokens for an organization's HR system, each acting through the
//! organization's *service account*, a user holding the local administrator
//! role on that organization. A SCIM request becomes a [`SessionUser`] for that
//! account, so it goes through the same use cases, the same authorization gate
//! and the same audit trail as the console.

use sportello_core::authz::{Action, Actor, Grant, Role};
use sportello_core::identity::{Category, Status};
use sportello_store::StoreError;
use sportello_store::directory::{self, NewUser};
use sportello_store::scim::{self, ScimToken, UserAttributes, service_account_code};

use crate::security::{random_token, token_hash};
use crate::{App, AppError, Origin, SessionUser, now_micros, record};

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        message: message.into(),
    }
}

fn text(field: &'static str, value: &str, max: usize, required: bool) -> Result<String, AppError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(invalid(field, "campo obbligatorio"));
    }
    if v.chars().count() > max {
        return Err(invalid(field, format!("al massimo {max} caratteri")));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(field, "contiene caratteri non ammessi"));
    }
    Ok(v.to_string())
}

/// What provisioning may change on an existing user (the codice fiscale and
/// the organization are not among them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub category: String,
}

impl App {
    /// A local administrator (or the central one) issues a provisioning token
    /// for an organization in his scope. The token is returned once; only its
    /// SHA-256 is stored.
    pub async fn issue_scim_token(
        &self,
        who: Option<&SessionUser>,
        organization_id: i64,
        label: &str,
        origin: &Origin,
    ) -> Result<String, AppError> {
        if directory::organization(&self.db, organization_id)
            .await?
            .is_none()
        {
            return Err(invalid("organization_id", "ente sconosciuto"));
        }
        let path = directory::organization_path(&self.db, organization_id).await?;
        self.authorize(who, &Action::ManageUsersOf { org_path: &path })?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        self.issue_token(
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            Some(who.user.id),
            organization_id,
            label,
            origin,
        )
        .await
    }

    /// The same, done by the system (the `sportello scim-token` command),
    /// for the organization with the given code.
    pub async fn issue_scim_token_as_system(
        &self,
        organization_code: &str,
        label: &str,
        origin: &Origin,
    ) -> Result<String, AppError> {
        let org = directory::organizations(&self.db)
            .await?
            .into_iter()
            .find(|o| o.code == organization_code.trim())
            .ok_or_else(|| {
                invalid(
                    "organization",
                    format!("nessun ente con codice «{}»", organization_code.trim()),
                )
            })?;
        self.issue_token("system", None, None, org.id, label, origin)
            .await
    }

    async fn issue_token(
        &self,
        actor: &str,
        acting_organization: Option<i64>,
        created_by: Option<i64>,
        organization_id: i64,
        label: &str,
        origin: &Origin,
    ) -> Result<String, AppError> {
        let label = text("label", label, 100, true)?;
        let token = random_token();
        let hash = token_hash(&token);
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let code = service_account_code(organization_id);
        let (service_id, created) = directory::ensure_user(
            &mut tx,
            &NewUser {
                fiscal_code: &code,
                given_name: "Servizio di provisioning",
                family_name: "SCIM",
                email: "",
                category: Category::PublicEmployee.code(),
                status: Status::Active.code(),
                organization_id: Some(organization_id),
                ..Default::default()
            },
            now,
        )
        .await?;
        directory::ensure_role(
            &mut tx,
            service_id,
            &Grant {
                role: Role::LocalAdmin,
                organization_id: Some(organization_id),
                office_id: None,
                region: None,
            },
        )
        .await?;
        scim::insert_token(&mut tx, &hash, organization_id, &label, created_by, now).await?;
        let detail = serde_json::json!({
            "organization": organization_id,
            "label": label,
            "service_account": service_id,
            "service_account_created": created,
        })
        .to_string();
        record(
            &mut tx,
            actor,
            acting_organization,
            "scim.token_issued",
            &format!("scim_token:{}", &hash[..16]),
            &detail,
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(token)
    }

    /// The tokens of an organization (hashes and labels, never the secrets).
    pub async fn scim_tokens(
        &self,
        who: Option<&SessionUser>,
        organization_id: i64,
    ) -> Result<Vec<ScimToken>, AppError> {
        let path = directory::organization_path(&self.db, organization_id).await?;
        self.authorize(who, &Action::ManageUsersOf { org_path: &path })?;
        Ok(scim::tokens_of(&self.db, organization_id).await?)
    }

    /// Revokes a token, named by its SHA-256 (as [`App::scim_tokens`] lists it).
    pub async fn revoke_scim_token(
        &self,
        who: Option<&SessionUser>,
        token_hash: &str,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let t = scim::token(&self.db, token_hash)
            .await?
            .ok_or(AppError::NotFound)?;
        let path = directory::organization_path(&self.db, t.organization_id).await?;
        self.authorize(who, &Action::ManageUsersOf { org_path: &path })?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if !scim::revoke_token(&mut tx, token_hash, now).await? {
            return Err(AppError::NotFound);
        }
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "scim.token_revoked",
            &format!("scim_token:{}", &token_hash[..16.min(token_hash.len())]),
            &serde_json::json!({ "organization": t.organization_id, "label": t.label }).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Resolves a bearer token to the session of its organization's service
    /// account. Unknown or revoked tokens: `NeedsLogin`; a disabled service
    /// account or one whose role was withdrawn: `Forbidden`.
    pub async fn scim_actor(&self, bearer: &str) -> Result<SessionUser, AppError> {
        let bearer = bearer.trim();
        if bearer.is_empty() || bearer.len() > 256 {
            return Err(AppError::NeedsLogin);
        }
        let t = scim::token(&self.db, &token_hash(bearer))
            .await?
            .filter(|t| t.revoked_at.is_none())
            .ok_or(AppError::NeedsLogin)?;
        let user =
            directory::user_by_fiscal_code(&self.db, &service_account_code(t.organization_id))
                .await?
                .ok_or(AppError::NeedsLogin)?;
        if user.status != Status::Active.code() {
            return Err(AppError::Forbidden(
                "the organization's provisioning service account is disabled",
            ));
        }
        let grants = directory::grants(&self.db, user.id).await?;
        let organization_name = directory::organization(&self.db, t.organization_id)
            .await?
            .map(|o| o.name);
        Ok(SessionUser {
            session_hash: String::new(),
            csrf_token: String::new(),
            actor: Actor {
                user_id: user.id,
                organization_id: user.organization_id,
                grants,
            },
            organization_name,
            user,
            must_change_password: false,
        })
    }

    /// Changes a user's personal data, e-mail, telephone, external id and
    /// category (provisioning). Returns false when nothing changed (and then
    /// nothing is written nor audited).
    pub async fn update_user_attributes(
        &self,
        who: Option<&SessionUser>,
        user_id: i64,
        changes: &UserChanges,
        origin: &Origin,
    ) -> Result<bool, AppError> {
        let current = scim::user(&self.db, user_id)
            .await?
            .filter(|u| u.status != Status::Deleted.code());
        let path = match current.as_ref().and_then(|u| u.organization_id) {
            Some(o) => directory::organization_path(&self.db, o).await?,
            None => Vec::new(),
        };
        self.authorize(who, &Action::ManageUsersOf { org_path: &path })?;
        let current = current.ok_or(AppError::NotFound)?;
        let who = who.ok_or(AppError::NeedsLogin)?;
        let given = text("given_name", &changes.given_name, 100, true)?;
        let family = text("family_name", &changes.family_name, 100, true)?;
        let email = text("email", &changes.email, 254, true)?;
        email.parse::<lettre::Address>().map_err(|_| {
            invalid(
                "email",
                format!("«{email}» non è un indirizzo e-mail valido"),
            )
        })?;
        let phone = match &changes.phone {
            Some(p) => Some(text("phone", p, 20, false)?).filter(|p| !p.is_empty()),
            None => None,
        };
        if let Some(p) = &phone
            && !p
                .chars()
                .all(|c| c.is_ascii_digit() || " +-/().".contains(c))
        {
            return Err(invalid("phone", "solo cifre, spazi e + - / ( ) ."));
        }
        let external_id = match &changes.external_id {
            Some(e) => Some(text("external_id", e, 200, false)?).filter(|e| !e.is_empty()),
            None => None,
        };
        let category = Category::from_code(changes.category.trim())
            .ok_or_else(|| invalid("category", "categoria non valida"))?;
        let mut changed = Vec::new();
        if given != current.given_name || family != current.family_name {
            changed.push("name");
        }
        if email != current.email {
            changed.push("email");
        }
        if phone != current.phone {
            changed.push("phone");
        }
        if external_id != current.external_id {
            changed.push("external_id");
        }
        if category.code() != current.category {
            changed.push("category");
        }
        if changed.is_empty() {
            return Ok(false);
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if !scim::update_user(
            &mut tx,
            user_id,
            &UserAttributes {
                given_name: &given,
                family_name: &family,
                email: &email,
                phone: phone.as_deref(),
                external_id: external_id.as_deref(),
                category: category.code(),
            },
        )
        .await?
        {
            return Err(AppError::NotFound);
        }
        record(
            &mut tx,
            &format!("user:{}", who.user.id),
            who.user.organization_id,
            "user.update",
            &format!("user:{user_id}"),
            &serde_json::json!({ "changed": changed }).to_string(),
            origin,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(true)
    }
}
