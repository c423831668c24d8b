//! The JSON API (`/api/v1`) over the same use cases as the pages, described
//! by an OpenAPI document at `/api/v1/openapi.json`.
//!
//! Authentication: the portal's session cookie (state-changing requests then
//! carry the session's CSRF token in `X-CSRF-Token`), or
//! `Authorization: Bearer <token>` issued to an organization's system.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sportello_app::identity::NewUserInput;
use sportello_app::{AppError, Origin, SessionUser};
use sportello_core::authz::{Action, Role};
use sportello_store::{audit, catalogue, directory, lifecycle};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::Shared;
use crate::ctx::{LoadedSession, cookie};

/// An API error: a machine code, the field at fault if any, and an Italian message.
#[derive(Serialize, ToSchema, Debug)]
pub struct ApiError {
    #[serde(skip)]
    status: u16,
    /// `invalid`, `unauthenticated`, `forbidden`, `not_found`, `throttled`, `internal`.
    pub error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, error: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            field: None,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid { field, message } => ApiError {
                status: 400,
                error: "invalid",
                field: Some(field.into()),
                message,
            },
            AppError::InvalidFiscalCode(e) => ApiError {
                status: 400,
                error: "invalid",
                field: Some("fiscal_code".into()),
                message: format!("codice fiscale: {e}"),
            },
            AppError::NeedsLogin => ApiError::new(401, "unauthenticated", "accesso richiesto"),
            AppError::Forbidden(_) => ApiError::new(403, "forbidden", "operazione non consentita"),
            AppError::NotFound => ApiError::new(404, "not_found", "non trovato"),
            AppError::InvalidFields(ref list) => ApiError {
                status: 400,
                error: "invalid",
                field: list.first().map(|(k, _)| k.clone()),
                message: e.to_string(),
            },
            AppError::ChannelClosed { .. } => ApiError::new(409, "channel_closed", e.to_string()),
            AppError::Conflict(m) => ApiError::new(409, "conflict", m),
            AppError::Throttled { seconds } => {
                ApiError::new(429, "throttled", format!("riprova tra {seconds} s"))
            }
            AppError::InvalidToken => ApiError::new(
                400,
                "invalid",
                "collegamento non valido, già usato o scaduto",
            ),
            AppError::Certificate(m) => ApiError::new(400, "invalid", m),
            AppError::BadCredentials | AppError::Locked { .. } | AppError::AccountNotActive(_) => {
                ApiError::new(403, "forbidden", e.to_string())
            }
            AppError::Store(e) => internal(e.to_string()),
            AppError::Internal(e) => internal(e),
        }
    }
}

fn internal(e: String) -> ApiError {
    let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_uppercase();
    tracing::error!(error_ref = %reference, error = %e, "API internal error");
    ApiError::new(
        500,
        "internal",
        format!("errore interno, riferimento {reference}"),
    )
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// A stored instant (µs UTC) as RFC 3339, as the JSON APIs show times.
pub(crate) fn rfc3339(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Who calls the API.
pub struct ApiActor {
    pub who: SessionUser,
    pub origin: Origin,
}

impl FromRequestParts<Shared> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared,
    ) -> Result<Self, Self::Rejection> {
        let origin = Origin {
            address: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
        };
        if let Some(bearer) = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            let who = state.app.scim_actor(bearer.trim()).await.map_err(|_| {
                ApiError::new(401, "unauthenticated", "token non valido o revocato")
            })?;
            return Ok(ApiActor { who, origin });
        }
        let session = match parts.extensions.get::<LoadedSession>() {
            Some(l) => l.0.clone(),
            None => match cookie(&parts.headers, crate::ctx::SESSION_COOKIE) {
                Some(t) => state.app.session_user(&t).await.map_err(ApiError::from)?,
                None => None,
            },
        };
        let who =
            session.ok_or_else(|| ApiError::new(401, "unauthenticated", "accesso richiesto"))?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let token = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !sportello_app::security::same_secret(&who.csrf_token, token) {
                return Err(ApiError::new(
                    403,
                    "forbidden",
                    "intestazione X-CSRF-Token mancante o errata",
                ));
            }
        }
        Ok(ApiActor { who, origin })
    }
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub fiscal_code: String,
    pub given_name: String,
    pub family_name: String,
    pub organization: Option<String>,
    pub roles: Vec<String>,
    pub services: Vec<Service>,
}

#[derive(Serialize, ToSchema)]
pub struct Service {
    pub application: String,
    pub application_name: String,
    pub profile: String,
    pub profile_name: String,
    /// `direct`, `implied` or `delegated`.
    pub source: String,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "identity", responses((status = 200, body = Me), (status = 401, body = ApiError)))]
pub async fn me(State(state): State<Shared>, a: ApiActor) -> ApiResult<Me> {
    let services =
        catalogue::held_profiles(&state.app.db, a.who.user.id, sportello_app::now_micros())
            .await
            .map_err(AppError::from)?
            .into_iter()
            .map(|h| Service {
                application: h.application_code,
                application_name: h.application_name,
                profile: h.profile_code,
                profile_name: h.profile_name,
                source: h.source,
            })
            .collect();
    Ok(Json(Me {
        id: a.who.user.id,
        fiscal_code: a.who.user.fiscal_code.clone(),
        given_name: a.who.user.given_name.clone(),
        family_name: a.who.user.family_name.clone(),
        organization: a.who.organization_name.clone(),
        roles: a
            .who
            .actor
            .grants
            .iter()
            .map(|g| g.role.code().to_string())
            .collect(),
        services,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Organization {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub region: Option<String>,
}

/// The organizations whose users the caller manages.
async fn scope(state: &Shared, who: &SessionUser) -> Result<Vec<i64>, ApiError> {
    Ok(state.app.managed_organizations(who).await?)
}

#[utoipa::path(get, path = "/api/v1/organizations", tag = "directory", responses((status = 200, body = [Organization])))]
pub async fn organizations(
    State(state): State<Shared>,
    a: ApiActor,
) -> ApiResult<Vec<Organization>> {
    let ids = scope(&state, &a.who).await?;
    let list = directory::organizations(&state.app.db)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .filter(|o| ids.contains(&o.id))
        .map(|o| Organization {
            id: o.id,
            code: o.code,
            name: o.name,
            kind: o.kind,
            parent_id: o.parent_id,
            region: o.region,
        })
        .collect();
    Ok(Json(list))
}

#[derive(Deserialize, ToSchema)]
pub struct NewOrganization {
    pub code: String,
    pub name: String,
    /// A kind code, e.g. `municipality`, `concessionaire`, `tax_agency`.
    pub kind: String,
    /// Codice fiscale / partita IVA (11 digits with check digit).
    #[serde(default)]
    pub fiscal_code: String,
    pub parent_id: Option<i64>,
    #[serde(default)]
    pub region: String,
}

#[utoipa::path(post, path = "/api/v1/organizations", tag = "directory", request_body = NewOrganization,
    responses((status = 201, body = Created), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn create_organization(
    State(state): State<Shared>,
    a: ApiActor,
    Json(b): Json<NewOrganization>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let input = sportello_app::organizations::OrganizationInput {
        code: b.code,
        name: b.name,
        kind: b.kind,
        fiscal_code: b.fiscal_code,
        parent_id: b.parent_id,
        region: b.region,
    };
    let id = state
        .app
        .create_organization(Some(&a.who), &input, &a.origin)
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, ToSchema)]
pub struct Application {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub url: String,
    pub profiles: Vec<Profile>,
}

#[derive(Serialize, ToSchema)]
pub struct Profile {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// Organization kinds allowed to hold it; empty = any.
    pub org_kinds: Vec<String>,
    pub capabilities: Vec<String>,
    /// Profiles of other applications it also opens.
    pub implies: Vec<i64>,
}

#[utoipa::path(get, path = "/api/v1/applications", tag = "catalogue", responses((status = 200, body = [Application])))]
pub async fn applications(
    State(state): State<Shared>,
    _a: ApiActor,
) -> ApiResult<Vec<Application>> {
    let db = &state.app.db;
    let profiles = catalogue::profiles(db).await.map_err(AppError::from)?;
    let mut out = Vec::new();
    for app in catalogue::applications(db).await.map_err(AppError::from)? {
        let mut ps = Vec::new();
        for p in profiles.iter().filter(|p| p.application_id == app.id) {
            let rule = catalogue::profile_rule(db, p.id)
                .await
                .map_err(AppError::from)?
                .ok_or_else(|| internal("profile vanished".into()))?;
            ps.push(Profile {
                id: p.id,
                code: p.code.clone(),
                name: p.name.clone(),
                org_kinds: rule.org_kinds,
                capabilities: rule.capabilities.into_iter().collect(),
                implies: catalogue::implied_profiles(db, p.id)
                    .await
                    .map_err(AppError::from)?,
            });
        }
        out.push(Application {
            id: app.id,
            code: app.code,
            name: app.name,
            description: app.description,
            url: app.url,
            profiles: ps,
        });
    }
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema)]
pub struct NewApplication {
    pub code: String,
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

#[utoipa::path(post, path = "/api/v1/applications", tag = "catalogue", request_body = NewApplication,
    responses((status = 201, body = Created), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn create_application(
    State(state): State<Shared>,
    a: ApiActor,
    Json(b): Json<NewApplication>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = state
        .app
        .create_application(
            Some(&a.who),
            &b.code,
            &b.name,
            &b.description,
            &b.url,
            &a.origin,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, ToSchema)]
pub struct NewProfile {
    pub code: String,
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/profiles", tag = "catalogue", request_body = NewProfile, params(("id" = i64, Path)),
    responses((status = 201, body = Created), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn create_profile(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<NewProfile>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = state
        .app
        .create_profile(Some(&a.who), id, &b.code, &b.name, &a.origin)
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, ToSchema)]
pub struct Rules {
    #[serde(default)]
    pub org_kinds: Vec<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub implies: Vec<i64>,
}

#[utoipa::path(put, path = "/api/v1/profiles/{id}/rules", tag = "catalogue", request_body = Rules, params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn set_rules(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<Rules>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_profile_rules(
            Some(&a.who),
            id,
            &b.org_kinds,
            &b.capabilities,
            &b.implies,
            &a.origin,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub fiscal_code: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub category: String,
    /// `pending_activation`, `active`, `disabled`, `deleted`.
    pub status: String,
    pub organization_id: Option<i64>,
    pub locked: bool,
}

impl User {
    fn from(u: directory::User) -> Self {
        let now = sportello_app::now_micros();
        User {
            id: u.id,
            locked: u.locked_until.is_some_and(|t| t > now),
            fiscal_code: u.fiscal_code,
            given_name: u.given_name,
            family_name: u.family_name,
            email: u.email,
            category: u.category,
            status: u.status,
            organization_id: u.organization_id,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct UserQuery {
    /// Search in codice fiscale, name and e-mail.
    #[serde(default)]
    pub q: String,
    /// Restrict to one organization of the caller's scope (and the bodies under it).
    pub organization_id: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "directory", params(UserQuery), responses((status = 200, body = [User]), (status = 403, body = ApiError)))]
pub async fn users(
    State(state): State<Shared>,
    a: ApiActor,
    Query(q): Query<UserQuery>,
) -> ApiResult<Vec<User>> {
    let db = &state.app.db;
    let mut ids = scope(&state, &a.who).await?;
    if ids.is_empty() {
        return Err(ApiError::new(403, "forbidden", "operazione non consentita"));
    }
    if let Some(o) = q.organization_id {
        if !ids.contains(&o) {
            return Err(ApiError::new(403, "forbidden", "ente fuori dal tuo ambito"));
        }
        ids = directory::organization_subtree(db, o)
            .await
            .map_err(AppError::from)?;
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let search: String = q.q.chars().take(100).collect();
    let central = a.who.actor.has(Role::CentralAdmin) && q.organization_id.is_none();
    let list = directory::users_of(db, &ids, central, &search, limit)
        .await
        .map_err(AppError::from)?;
    Ok(Json(list.into_iter().map(User::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUser {
    pub fiscal_code: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    #[serde(default)]
    pub pec: String,
    #[serde(default)]
    pub phone: String,
    /// One of `public_employee`, `contractor_employee`, `private_person`, `company`, `professional`, `intermediary`, `court_auxiliary`.
    pub category: String,
    pub organization_id: i64,
    /// `activation_link` (default) or `temporary_password`.
    #[serde(default)]
    pub first_access: String,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "directory", request_body = NewUser,
    responses((status = 201, body = Created), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn create_user(
    State(state): State<Shared>,
    a: ApiActor,
    Json(b): Json<NewUser>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let input = NewUserInput {
        fiscal_code: b.fiscal_code,
        given_name: b.given_name,
        family_name: b.family_name,
        email: b.email,
        pec: b.pec,
        phone: b.phone,
        category: b.category,
        organization_id: Some(b.organization_id),
        first_access: b.first_access,
    };
    let id = state
        .app
        .create_user(Some(&a.who), &input, &a.origin)
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: User,
    pub enablements: Vec<Enablement>,
}

#[derive(Serialize, ToSchema)]
pub struct Enablement {
    pub id: i64,
    pub application: String,
    pub profile: String,
    pub profile_id: i64,
}

async fn managed(state: &Shared, a: &ApiActor, id: i64) -> Result<directory::User, ApiError> {
    let db = &state.app.db;
    let user = directory::user_by_id(db, id)
        .await
        .map_err(AppError::from)?;
    let path = match user.as_ref().and_then(|u| u.organization_id) {
        Some(o) => directory::organization_path(db, o)
            .await
            .map_err(AppError::from)?,
        None => Vec::new(),
    };
    state
        .app
        .authorize(Some(&a.who), &Action::ManageUsersOf { org_path: &path })?;
    user.ok_or_else(|| ApiError::new(404, "not_found", "utente sconosciuto"))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "directory", params(("id" = i64, Path)),
    responses((status = 200, body = UserDetail), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn user(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<UserDetail> {
    let u = managed(&state, &a, id).await?;
    let enablements = catalogue::enablements_of(&state.app.db, u.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|e| Enablement {
            id: e.id,
            application: e.application_code,
            profile: e.profile_code,
            profile_id: e.profile_id,
        })
        .collect();
    Ok(Json(UserDetail {
        user: User::from(u),
        enablements,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ProfileChoice {
    pub profile_id: i64,
}

#[utoipa::path(post, path = "/api/v1/users/{id}/enablements", tag = "directory", request_body = ProfileChoice, params(("id" = i64, Path)),
    responses((status = 201, body = Created), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn enable(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<ProfileChoice>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = state
        .app
        .enable_user(Some(&a.who), id, b.profile_id, &a.origin)
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(put, path = "/api/v1/enablements/{id}", tag = "directory", request_body = ProfileChoice, params(("id" = i64, Path)),
    responses((status = 200, body = Created), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn change_profile(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<ProfileChoice>,
) -> ApiResult<Created> {
    let id = state
        .app
        .change_profile(Some(&a.who), id, b.profile_id, &a.origin)
        .await?;
    Ok(Json(Created { id }))
}

#[utoipa::path(delete, path = "/api/v1/enablements/{id}", tag = "directory", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn revoke(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .revoke_enablement(Some(&a.who), id, &a.origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct AccountState {
    /// false disables the account (sessions and sub-delegations end), true re-enables it.
    pub active: bool,
}

#[utoipa::path(put, path = "/api/v1/users/{id}/active", tag = "directory", request_body = AccountState, params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn set_active(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<AccountState>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_user_disabled(Some(&a.who), id, !b.active, &a.origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "directory", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ApiError)))]
pub async fn unlock(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.app.unlock_user(Some(&a.who), id, &a.origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "directory", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ApiError)))]
pub async fn delete_user(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_user(Some(&a.who), id, &a.origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Subdelegation {
    pub id: i64,
    pub delegate_fiscal_code: String,
    pub application_name: String,
    pub profile_name: String,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/subdelegations", tag = "delegation", responses((status = 200, body = [Subdelegation])))]
pub async fn subdelegations(
    State(state): State<Shared>,
    a: ApiActor,
) -> ApiResult<Vec<Subdelegation>> {
    let list = catalogue::subdelegations_by(&state.app.db, a.who.user.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|d| Subdelegation {
            id: d.id,
            delegate_fiscal_code: d.delegate_fiscal_code,
            application_name: d.application_name,
            profile_name: d.profile_name,
            expires_at: d.expires_at,
            revoked_at: d.revoked_at,
        })
        .collect();
    Ok(Json(list))
}

#[derive(Deserialize, ToSchema)]
pub struct NewSubdelegation {
    /// The caller's own enablement the delegation hangs on.
    pub enablement_id: i64,
    pub delegate_fiscal_code: String,
    pub profile_id: i64,
    /// Microseconds since the epoch (UTC); none = until revoked.
    pub expires_at: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/subdelegations", tag = "delegation", request_body = NewSubdelegation,
    responses((status = 201, body = Created), (status = 400, body = ApiError)))]
pub async fn subdelegate(
    State(state): State<Shared>,
    a: ApiActor,
    Json(b): Json<NewSubdelegation>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = state
        .app
        .subdelegate(
            &a.who,
            b.enablement_id,
            &b.delegate_fiscal_code,
            b.profile_id,
            b.expires_at,
            &a.origin,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(delete, path = "/api/v1/subdelegations/{id}", tag = "delegation", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ApiError)))]
pub async fn revoke_subdelegation(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .revoke_subdelegation(&a.who, id, &a.origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Appointment {
    pub id: i64,
    pub organization_id: i64,
    pub organization_name: String,
    pub candidate_fiscal_code: String,
    pub candidate_name: String,
    pub requester_name: String,
    pub letter_sha256: String,
    /// `pending`, `approved`, `rejected`.
    pub status: String,
}

#[utoipa::path(get, path = "/api/v1/appointments", tag = "delegation", responses((status = 200, body = [Appointment]), (status = 403, body = ApiError)))]
pub async fn appointments(State(state): State<Shared>, a: ApiActor) -> ApiResult<Vec<Appointment>> {
    state
        .app
        .authorize(Some(&a.who), &Action::DecideAppointments)?;
    let list = lifecycle::appointments(&state.app.db, None)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|r| Appointment {
            id: r.id,
            organization_id: r.organization_id,
            organization_name: r.organization_name,
            candidate_fiscal_code: r.candidate_fiscal_code,
            candidate_name: format!("{} {}", r.candidate_given_name, r.candidate_family_name),
            requester_name: r.requester_name,
            letter_sha256: r.letter_sha256,
            status: r.status,
        })
        .collect();
    Ok(Json(list))
}

#[derive(Deserialize, ToSchema)]
pub struct Decision {
    pub approve: bool,
    /// Required when rejecting.
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/decision", tag = "delegation", request_body = Decision, params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn decide(
    State(state): State<Shared>,
    a: ApiActor,
    Path(id): Path<i64>,
    Json(b): Json<Decision>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .decide_appointment(Some(&a.who), id, b.approve, &b.note, &a.origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct AuditEvent {
    pub seq: i64,
    /// Microseconds since the epoch (UTC).
    pub occurred_at: i64,
    pub actor: String,
    pub acting_organization: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    pub organization_id: i64,
    /// Action prefix, e.g. `user.`.
    #[serde(default)]
    pub action: String,
    /// Exact target, e.g. `user:12`.
    #[serde(default)]
    pub target: String,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, body = [AuditEvent]), (status = 403, body = ApiError)))]
pub async fn audit_history(
    State(state): State<Shared>,
    a: ApiActor,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Vec<AuditEvent>> {
    let db = &state.app.db;
    let path = directory::organization_path(db, q.organization_id)
        .await
        .map_err(AppError::from)?;
    state
        .app
        .authorize(Some(&a.who), &Action::ViewAuditOf { org_path: &path })?;
    let subtree = directory::organization_subtree(db, q.organization_id)
        .await
        .map_err(AppError::from)?;
    let action: String = q
        .action
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
        .take(60)
        .collect();
    let target: String = q
        .target
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '_')
        .take(60)
        .collect();
    let list = audit::history(db, &subtree, &action, &target, 500)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|e| AuditEvent {
            seq: e.seq,
            occurred_at: e.occurred_at,
            actor: e.actor,
            acting_organization: e.acting_organization,
            action: e.action,
            target: e.target,
            detail: e.detail,
        })
        .collect();
    Ok(Json(list))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sportello API", description = "Delegated access administration: directory, catalogue, sub-delegation, appointments, audit."),
    paths(me, organizations, create_organization, applications, create_application, create_profile, set_rules, users, create_user, user, enable, change_profile, revoke,
          set_active, unlock, delete_user, subdelegations, subdelegate, revoke_subdelegation, appointments, decide, audit_history),
    components(schemas(ApiError, Me, Service, Organization, NewOrganization, Application, Profile, NewApplication, NewProfile, Rules, Created, User, NewUser,
                       UserDetail, Enablement, ProfileChoice, AccountState, Subdelegation, NewSubdelegation, Appointment, Decision, AuditEvent)),
    tags((name = "identity"), (name = "directory"), (name = "catalogue"), (name = "delegation"), (name = "audit"))
)]
pub struct ApiDoc;

pub async fn openapi() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], {
        let mut doc = ApiDoc::openapi();
        doc.merge(crate::desk_api::DeskApiDoc::openapi());
        doc.merge(crate::kb_api::KbApiDoc::openapi());
        doc.merge(crate::filing_api::FilingApiDoc::openapi());
        doc.to_pretty_json().unwrap_or_default()
    })
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(404, "not_found", "risorsa API sconosciuta")
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/me", get(me))
        .route(
            "/api/v1/organizations",
            get(organizations).post(create_organization),
        )
        .route(
            "/api/v1/applications",
            get(applications).post(create_application),
        )
        .route("/api/v1/applications/{id}/profiles", post(create_profile))
        .route("/api/v1/profiles/{id}/rules", put(set_rules))
        .route("/api/v1/users", get(users).post(create_user))
        .route("/api/v1/users/{id}", get(user).delete(delete_user))
        .route("/api/v1/users/{id}/enablements", post(enable))
        .route("/api/v1/users/{id}/active", put(set_active))
        .route("/api/v1/users/{id}/unlock", post(unlock))
        .route(
            "/api/v1/enablements/{id}",
            put(change_profile).delete(revoke),
        )
        .route(
            "/api/v1/subdelegations",
            get(subdelegations).post(subdelegate),
        )
        .route("/api/v1/subdelegations/{id}", delete(revoke_subdelegation))
        .route("/api/v1/appointments", get(appointments))
        .route("/api/v1/appointments/{id}/decision", post(decide))
        .route("/api/v1/audit", get(audit_history))
        .route(
            "/api/v1/{*rest}",
            get(not_found)
                .post(not_found)
                .put(not_found)
                .delete(not_found),
        )
}
