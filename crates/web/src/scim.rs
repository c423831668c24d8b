//! SCIM 2.0 provisioning (RFC 7643, RFC 7644) for a public body's HR system
//! (seed 001: bodies send the list of their employees, with their roles).
//!
//! A request authenticates with `Authorization: Bearer <token>`; the token
//! belongs to one organization and acts through that organization's service
//! account (a local administrator of it), so every call goes through the same
//! use cases, the single authorization gate and the audit trail. A token sees
//! and touches only the users of its organization and of the bodies under it;
//! anything else is "not found".
//!
//! - `/Users`: `userName` is the codice fiscale (validated, upper-cased,
//!   immutable), `name.givenName`/`name.familyName`, one e-mail address, one
//!   telephone number, `active` (disabled or not), `externalId`, the read-only
//!   `groups` (direct profiles), and the Sportello extension (`category`, the
//!   read-only `organization` code). New users get the activation link by
//!   e-mail; DELETE erases personal data and keeps the audit trail.
//! - `/Groups`: the catalogue's profiles, read-only except `members`; adding
//!   or removing members enables or revokes the profile under the catalogue's
//!   rules. Groups are neither created nor deleted here (403): the catalogue
//!   belongs to the central administrator.
//! - Discovery: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Map, Value, json};
use sportello_app::identity::NewUserInput;
use sportello_app::scim::UserChanges;
use sportello_app::{AppError, Origin, SessionUser};
use sportello_core::FiscalCode;
use sportello_core::catalogue::check_grant;
use sportello_core::identity::Category;
use sportello_store::catalogue::{self, Profile};
use sportello_store::directory;
use sportello_store::scim::{
    self as store, Column, Cond, Membership, Op as SqlOp, ScimUser, Value as SqlValue,
};

use crate::Shared;

const CONTENT_TYPE: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Sportello's extension of the User resource.
pub const EXTENSION_SCHEMA: &str = "urn:sportello:params:scim:schemas:extension:2.0:User";
const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const KNOWN_URNS: [&str; 3] = [USER_SCHEMA, GROUP_SCHEMA, EXTENSION_SCHEMA];

/// The largest page a list returns (ServiceProviderConfig `filter.maxResults`).
const MAX_RESULTS: i64 = 200;
const MAX_FILTER_LEN: usize = 2000;
const MAX_OPERATIONS: usize = 100;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/ResourceTypes",
            get(resource_types).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/ResourceTypes/{id}",
            get(resource_type).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Schemas",
            get(schemas).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Schemas/{id}",
            get(schema).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Users",
            get(list_users)
                .post(create_user)
                .fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Users/.search",
            post(search_users).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user)
                .fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Groups",
            get(list_groups)
                .post(create_group)
                .fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Groups/.search",
            post(search_groups).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group)
                .fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/.search",
            post(search_root).fallback(method_not_allowed),
        )
        .route("/scim/v2/Bulk", any(not_implemented))
        .route("/scim/v2/Me", any(not_implemented))
        .route("/scim/v2", any(not_found_route))
        .route("/scim/v2/", any(not_found_route))
        .route("/scim/v2/{*rest}", any(not_found_route))
}

// ---------------------------------------------------------------------------
// Responses and errors

fn scim_response(status: StatusCode, body: &Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    res
}

/// A SCIM error (RFC 7644 §3.12): status as a string, `scimType` when one applies.
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

fn error(
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: impl Into<String>,
) -> ScimError {
    ScimError {
        status,
        scim_type,
        detail: detail.into(),
    }
}

fn bad(scim_type: &'static str, detail: impl Into<String>) -> ScimError {
    error(StatusCode::BAD_REQUEST, Some(scim_type), detail)
}

fn not_found() -> ScimError {
    error(StatusCode::NOT_FOUND, None, "risorsa non trovata")
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        let mut res = scim_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"Sportello SCIM\""),
            );
        }
        res
    }
}

/// SCIM names of the fields the use cases report errors on.
fn scim_field(field: &str) -> &str {
    match field {
        "fiscal_code" => "userName",
        "given_name" => "name.givenName",
        "family_name" => "name.familyName",
        "email" => "emails",
        "phone" => "phoneNumbers",
        "external_id" => "externalId",
        "profile_id" => "members",
        other => other,
    }
}

fn internal(e: impl std::fmt::Display) -> ScimError {
    let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_uppercase();
    tracing::error!(error_ref = %reference, error = %e, "SCIM internal error");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        format!("errore interno (riferimento {reference})"),
    )
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid { field, message } => {
                if field == "fiscal_code" && message.starts_with("esiste già") {
                    error(
                        StatusCode::CONFLICT,
                        Some("uniqueness"),
                        format!("userName: {message}"),
                    )
                } else {
                    bad("invalidValue", format!("{}: {message}", scim_field(field)))
                }
            }
            AppError::InvalidFiscalCode(e) => bad("invalidValue", format!("userName: {e}")),
            AppError::NeedsLogin | AppError::BadCredentials | AppError::InvalidToken => error(
                StatusCode::UNAUTHORIZED,
                None,
                "token mancante, sconosciuto o revocato",
            ),
            AppError::Forbidden(reason) => error(
                StatusCode::FORBIDDEN,
                None,
                format!("operazione non consentita: {reason}"),
            ),
            AppError::AccountNotActive(m) => error(StatusCode::FORBIDDEN, None, m),
            AppError::Locked { .. } => error(StatusCode::FORBIDDEN, None, "utenza bloccata"),
            AppError::Throttled { seconds } => error(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                format!("troppe richieste: riprova tra {seconds} secondi"),
            ),
            AppError::Certificate(m) => bad("invalidValue", m),
            AppError::NotFound => not_found(),
            e @ (AppError::InvalidFields(_)
            | AppError::ChannelClosed { .. }
            | AppError::Conflict(_)) => bad("invalidValue", e.to_string()),
            AppError::Store(e) => internal(e),
            AppError::Internal(e) => internal(e),
        }
    }
}

impl From<sportello_store::StoreError> for ScimError {
    fn from(e: sportello_store::StoreError) -> Self {
        internal(e)
    }
}

async fn method_not_allowed() -> ScimError {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "metodo non consentito su questa risorsa",
    )
}

async fn not_implemented() -> ScimError {
    error(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "operazione non supportata da questo servizio (vedi /ServiceProviderConfig)",
    )
}

async fn not_found_route() -> ScimError {
    not_found()
}

// ---------------------------------------------------------------------------
// Authentication: the bearer token becomes the service account's session

/// The authenticated caller: the service account, the organizations it
/// reaches, the base URL of the endpoints, where the request came from.
pub struct ScimCtx {
    who: SessionUser,
    scope: Vec<i64>,
    base: String,
    origin: Origin,
}

impl FromRequestParts<Shared> for ScimCtx {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ScimError> {
        let unauthorized = || {
            error(
                StatusCode::UNAUTHORIZED,
                None,
                "autenticazione richiesta: Authorization: Bearer <token>",
            )
        };
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthorized)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or_else(unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthorized());
        }
        let who = state.app.scim_actor(token.trim()).await?;
        let org = who
            .user
            .organization_id
            .ok_or_else(|| internal("service account without organization"))?;
        let scope = directory::organization_subtree(&state.app.db, org).await?;
        let base = format!(
            "{}/scim/v2",
            state.app.config.public_base_url.trim_end_matches('/')
        );
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(ScimCtx {
            who,
            scope,
            base,
            origin: Origin { address },
        })
    }
}

// ---------------------------------------------------------------------------
// Attribute paths and filters (RFC 7644 §3.4.2.2, §3.5.2)

/// `[urn:] attr [.sub]`, names as written (compared case-insensitively).
#[derive(Clone, Debug, PartialEq)]
struct AttrPath {
    urn: Option<String>,
    attr: String,
    sub: Option<String>,
}

fn valid_name(s: &str) -> bool {
    s == "$ref"
        || (s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

/// Splits a known (or any `urn:`) schema prefix off a path: (urn, rest).
fn split_urn(s: &str) -> (Option<String>, &str) {
    for urn in KNOWN_URNS {
        if s.len() >= urn.len() && s[..urn.len()].eq_ignore_ascii_case(urn) {
            if s.len() == urn.len() {
                return (Some(urn.to_string()), "");
            }
            if s.as_bytes()[urn.len()] == b':' {
                return (Some(urn.to_string()), &s[urn.len() + 1..]);
            }
        }
    }
    if s.len() > 4
        && s[..4].eq_ignore_ascii_case("urn:")
        && let Some((urn, rest)) = s.rsplit_once(':')
    {
        return (Some(urn.to_string()), rest);
    }
    (None, s)
}

impl AttrPath {
    fn parse(s: &str) -> Result<AttrPath, String> {
        let (urn, rest) = split_urn(s.trim());
        if rest.is_empty() {
            return Err(format!("percorso di attributo non valido: «{s}»"));
        }
        let (attr, sub) = match rest.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (rest, None),
        };
        if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
            return Err(format!("percorso di attributo non valido: «{s}»"));
        }
        Ok(AttrPath {
            urn,
            attr: attr.to_string(),
            sub: sub.map(str::to_string),
        })
    }

    /// Like `parse`, also accepting the bare URN of the extension (for
    /// `attributes` and `excludedAttributes`): then `attr` is empty.
    fn parse_projection(s: &str) -> Result<AttrPath, String> {
        match split_urn(s.trim()) {
            (Some(urn), "") if urn == EXTENSION_SCHEMA => Ok(AttrPath {
                urn: Some(urn),
                attr: String::new(),
                sub: None,
            }),
            _ => AttrPath::parse(s),
        }
    }

    fn is(&self, attr: &str) -> bool {
        self.attr.eq_ignore_ascii_case(attr)
    }

    fn urn_is(&self, urn: &str) -> bool {
        self.urn
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(urn))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    fn parse(s: &str) -> Option<CmpOp> {
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "co" => CmpOp::Co,
            "sw" => CmpOp::Sw,
            "ew" => CmpOp::Ew,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            _ => return None,
        })
    }

    fn sql(self) -> SqlOp {
        match self {
            CmpOp::Eq => SqlOp::Eq,
            CmpOp::Ne => SqlOp::Ne,
            CmpOp::Co => SqlOp::Contains,
            CmpOp::Sw => SqlOp::StartsWith,
            CmpOp::Ew => SqlOp::EndsWith,
            CmpOp::Gt => SqlOp::Gt,
            CmpOp::Ge => SqlOp::Ge,
            CmpOp::Lt => SqlOp::Lt,
            CmpOp::Le => SqlOp::Le,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Filter {
    Cmp(AttrPath, CmpOp, Value),
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some value of a multi-valued attribute matches.
    ValuePath(AttrPath, Box<Filter>),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1;
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1;
            }
            '"' => {
                let mut j = i + 1;
                let mut escaped = false;
                while j < chars.len() {
                    let c = chars[j].1;
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return Err("stringa non terminata nel filtro".into());
                }
                let end = chars[j].0 + 1;
                let text: String = serde_json::from_str(&s[pos..end])
                    .map_err(|_| "stringa non valida nel filtro".to_string())?;
                out.push(Tok::Str(text));
                i = j + 1;
            }
            _ => {
                let mut j = i;
                while j < chars.len() {
                    let c = chars[j].1;
                    if c.is_whitespace() || "()[]\"".contains(c) {
                        break;
                    }
                    j += 1;
                }
                let end = if j < chars.len() { chars[j].0 } else { s.len() };
                out.push(Tok::Word(s[pos..end].to_string()));
                i = j;
            }
        }
    }
    Ok(out)
}

struct FilterParser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl FilterParser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn expect(&mut self, t: Tok, what: &str) -> Result<(), String> {
        if self.next() == Some(t) {
            Ok(())
        } else {
            Err(format!("filtro non valido: atteso {what}"))
        }
    }

    fn or(&mut self) -> Result<Filter, String> {
        self.depth += 1;
        if self.depth > 32 {
            return Err("filtro troppo annidato".into());
        }
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, String> {
        if self.keyword("not") && self.toks.get(self.pos + 1) == Some(&Tok::LParen) {
            self.pos += 2;
            let inner = self.or()?;
            self.expect(Tok::RParen, "«)»")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(Tok::RParen, "«)»")?;
            return Ok(inner);
        }
        let Some(Tok::Word(path)) = self.next() else {
            return Err("filtro non valido: atteso il nome di un attributo".into());
        };
        let path = AttrPath::parse(&path)?;
        if self.peek() == Some(&Tok::LBracket) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(Tok::RBracket, "«]»")?;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let Some(Tok::Word(op)) = self.next() else {
            return Err(
                "filtro non valido: atteso un operatore (eq, ne, co, sw, ew, gt, ge, lt, le, pr)"
                    .into(),
            );
        };
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CmpOp::parse(&op).ok_or_else(|| format!("operatore sconosciuto «{op}»"))?;
        let value = match self.next() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => serde_json::from_str::<serde_json::Number>(&w)
                    .map(Value::Number)
                    .map_err(|_| format!("valore non valido nel filtro: «{w}»"))?,
            },
            _ => return Err("filtro non valido: atteso un valore".into()),
        };
        Ok(Filter::Cmp(path, op, value))
    }
}

fn parse_filter(s: &str) -> Result<Filter, String> {
    if s.len() > MAX_FILTER_LEN {
        return Err(format!(
            "filtro troppo lungo (al massimo {MAX_FILTER_LEN} caratteri)"
        ));
    }
    let mut p = FilterParser {
        toks: tokenize(s)?,
        pos: 0,
        depth: 0,
    };
    if p.toks.is_empty() {
        return Err("filtro vuoto".into());
    }
    let f = p.or()?;
    if p.pos != p.toks.len() {
        return Err("filtro non valido: testo in eccesso dopo l'espressione".into());
    }
    Ok(f)
}

fn invalid_filter(detail: impl Into<String>) -> ScimError {
    bad("invalidFilter", detail)
}

/// The database column a User filter names.
fn user_column(p: &AttrPath) -> Option<Column> {
    if p.urn_is(EXTENSION_SCHEMA) {
        return (p.is("category") && p.sub.is_none()).then_some(Column::Category);
    }
    if p.urn.is_some() && !p.urn_is(USER_SCHEMA) {
        return None;
    }
    let sub = p.sub.as_deref().map(str::to_ascii_lowercase);
    Some(
        match (p.attr.to_ascii_lowercase().as_str(), sub.as_deref()) {
            ("id", None) => Column::Id,
            ("username", None) => Column::FiscalCode,
            ("externalid", None) => Column::ExternalId,
            ("name", Some("givenname")) => Column::GivenName,
            ("name", Some("familyname")) => Column::FamilyName,
            ("emails", None | Some("value")) => Column::Email,
            ("phonenumbers", None | Some("value")) => Column::Phone,
            ("active", None) => Column::Active,
            ("meta", Some("created")) => Column::CreatedAt,
            _ => return None,
        },
    )
}

fn user_condition(f: &Filter, within: Option<&str>) -> Result<Cond, ScimError> {
    let column = |p: &AttrPath| -> Result<Column, ScimError> {
        let path = match within {
            // Inside `emails[...]` only `value` is known.
            Some(parent) if p.is("value") && p.urn.is_none() && p.sub.is_none() => AttrPath {
                urn: None,
                attr: parent.to_string(),
                sub: Some("value".into()),
            },
            Some(parent) => {
                return Err(invalid_filter(format!(
                    "filtro non supportato su {parent}.{}: si può filtrare solo su value",
                    p.attr
                )));
            }
            None => p.clone(),
        };
        user_column(&path).ok_or_else(|| {
            invalid_filter(format!(
                "non si può filtrare su «{}»: sono supportati userName, externalId, id, name.givenName, name.familyName, emails.value, phoneNumbers.value, active, meta.created e {EXTENSION_SCHEMA}:category",
                display_path(p)
            ))
        })
    };
    Ok(match f {
        Filter::And(a, b) => Cond::And(
            Box::new(user_condition(a, within)?),
            Box::new(user_condition(b, within)?),
        ),
        Filter::Or(a, b) => Cond::Or(
            Box::new(user_condition(a, within)?),
            Box::new(user_condition(b, within)?),
        ),
        Filter::Not(a) => Cond::Not(Box::new(user_condition(a, within)?)),
        Filter::Present(p) => Cond::Present(column(p)?),
        Filter::ValuePath(p, inner) => {
            let parent = if p.is("emails") {
                "emails"
            } else if p.is("phoneNumbers") {
                "phoneNumbers"
            } else {
                return Err(invalid_filter(format!(
                    "filtro non supportato su «{}»",
                    display_path(p)
                )));
            };
            if within.is_some() || p.sub.is_some() {
                return Err(invalid_filter("filtro annidato non supportato"));
            }
            user_condition(inner, Some(parent))?
        }
        Filter::Cmp(p, op, v) => {
            let col = column(p)?;
            let value = match (col, v) {
                (Column::Active, Value::Bool(b)) => SqlValue::Bool(*b),
                (Column::Active, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
                    SqlValue::Bool(true)
                }
                (Column::Active, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
                    SqlValue::Bool(false)
                }
                (Column::Active, _) => {
                    return Err(invalid_filter("active si confronta con true o false"));
                }
                (Column::CreatedAt, Value::String(s)) => SqlValue::Int(
                    s.parse::<jiff::Timestamp>()
                        .map_err(|_| invalid_filter(format!("data non valida: «{s}»")))?
                        .as_microsecond(),
                ),
                (Column::CreatedAt, _) => {
                    return Err(invalid_filter("meta.created si confronta con una data"));
                }
                (_, Value::String(s)) => SqlValue::Text(s.clone()),
                (_, Value::Number(n)) => SqlValue::Text(n.to_string()),
                (_, _) => {
                    return Err(invalid_filter(format!(
                        "valore non confrontabile per «{}»",
                        display_path(p)
                    )));
                }
            };
            Cond::Cmp(col, op.sql(), value)
        }
    })
}

fn display_path(p: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(u) = &p.urn {
        s.push_str(u);
        s.push(':');
    }
    s.push_str(&p.attr);
    if let Some(sub) = &p.sub {
        s.push('.');
        s.push_str(sub);
    }
    s
}

fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn key_ci(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// The values an attribute path designates in a resource (flattened).
fn resolve<'a>(obj: &'a Value, p: &AttrPath) -> Vec<&'a Value> {
    let Some(map) = obj.as_object() else {
        return Vec::new();
    };
    let holder = match &p.urn {
        Some(u)
            if !u.eq_ignore_ascii_case(USER_SCHEMA) && !u.eq_ignore_ascii_case(GROUP_SCHEMA) =>
        {
            match get_ci(map, u).and_then(Value::as_object) {
                Some(m) => m,
                None => return Vec::new(),
            }
        }
        _ => map,
    };
    let Some(top) = get_ci(holder, &p.attr) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match &p.sub {
        None => items,
        Some(sub) => items
            .into_iter()
            .filter_map(|i| i.as_object().and_then(|o| get_ci(o, sub)))
            .collect(),
    }
}

fn compare(x: &Value, op: CmpOp, v: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (x, v) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = (a.to_lowercase(), b.to_lowercase());
            match op {
                CmpOp::Co => return a.contains(&b),
                CmpOp::Sw => return a.starts_with(&b),
                CmpOp::Ew => return a.ends_with(&b),
                _ => a.cmp(&b),
            }
        }
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Number(a), Value::Number(b)) => {
            match a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(a, b)| a.partial_cmp(&b))
            {
                Some(o) => o,
                None => return false,
            }
        }
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => return op == CmpOp::Ne,
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Co | CmpOp::Sw | CmpOp::Ew => false,
    }
}

/// Evaluates a filter on a resource (or on one value of a multi-valued attribute).
fn eval(f: &Filter, obj: &Value) -> bool {
    match f {
        Filter::And(a, b) => eval(a, obj) && eval(b, obj),
        Filter::Or(a, b) => eval(a, obj) || eval(b, obj),
        Filter::Not(a) => !eval(a, obj),
        Filter::Present(p) => resolve(obj, p).iter().any(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        }),
        Filter::Cmp(p, op, v) => {
            let found = resolve(obj, p);
            if found.is_empty() {
                return *op == CmpOp::Ne && !v.is_null();
            }
            found.iter().any(|x| compare(x, *op, v))
        }
        Filter::ValuePath(p, inner) => {
            let top = AttrPath {
                urn: p.urn.clone(),
                attr: p.attr.clone(),
                sub: None,
            };
            resolve(obj, &top).iter().any(|item| eval(inner, item))
        }
    }
}

/// Whether a filter names the attribute (at its top level).
fn names_attribute(f: &Filter, attr: &str) -> bool {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            names_attribute(a, attr) || names_attribute(b, attr)
        }
        Filter::Not(a) => names_attribute(a, attr),
        Filter::Present(p) | Filter::Cmp(p, _, _) | Filter::ValuePath(p, _) => p.is(attr),
    }
}

/// Checks that a Group filter names only Group attributes.
fn check_group_filter(f: &Filter, within_members: bool) -> Result<(), ScimError> {
    let known = |p: &AttrPath| -> bool {
        if p.urn.is_some() && !p.urn_is(GROUP_SCHEMA) {
            return false;
        }
        let attr = p.attr.to_ascii_lowercase();
        let sub = p.sub.as_deref().map(str::to_ascii_lowercase);
        if within_members {
            return sub.is_none() && matches!(attr.as_str(), "value" | "display" | "type" | "$ref");
        }
        matches!(
            (attr.as_str(), sub.as_deref()),
            ("id" | "displayname" | "externalid", None)
                | (
                    "members",
                    None | Some("value" | "display" | "type" | "$ref")
                )
                | ("meta", Some("resourcetype" | "location"))
        )
    };
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_group_filter(a, within_members)?;
            check_group_filter(b, within_members)
        }
        Filter::Not(a) => check_group_filter(a, within_members),
        Filter::Present(p) | Filter::Cmp(p, _, _) => {
            if known(p) {
                Ok(())
            } else {
                Err(invalid_filter(format!(
                    "non si può filtrare i gruppi su «{}»",
                    display_path(p)
                )))
            }
        }
        Filter::ValuePath(p, inner) => {
            if within_members || !p.is("members") || p.sub.is_some() {
                return Err(invalid_filter(format!(
                    "filtro non supportato su «{}»",
                    display_path(p)
                )));
            }
            check_group_filter(inner, true)
        }
    }
}

// ---------------------------------------------------------------------------
// attributes / excludedAttributes (RFC 7644 §3.4.2.5)

#[derive(Default)]
struct Projection {
    attributes: Vec<AttrPath>,
    excluded: Vec<AttrPath>,
}

fn parse_attr_list(list: &[String]) -> Result<Vec<AttrPath>, ScimError> {
    let mut out = Vec::new();
    for item in list.iter().flat_map(|s| s.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        out.push(AttrPath::parse_projection(item).map_err(|e| bad("invalidValue", e))?);
    }
    Ok(out)
}

impl Projection {
    fn new(attributes: &[String], excluded: &[String]) -> Result<Projection, ScimError> {
        let p = Projection {
            attributes: parse_attr_list(attributes)?,
            excluded: parse_attr_list(excluded)?,
        };
        if !p.attributes.is_empty() && !p.excluded.is_empty() {
            return Err(bad(
                "invalidSyntax",
                "attributes ed excludedAttributes non si usano insieme",
            ));
        }
        Ok(p)
    }

    /// Whether an attribute returned only on request (`returned: request`)
    /// is asked for.
    fn requests(&self, urn: &str, attr: &str) -> bool {
        self.attributes
            .iter()
            .any(|p| p.urn_is(urn) && (p.attr.is_empty() || p.is(attr)))
    }

    fn wants_members(&self) -> bool {
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(|p| p.is("members"));
        }
        !self
            .excluded
            .iter()
            .any(|p| p.is("members") && p.sub.is_none())
    }

    fn apply(&self, resource: Value, core: &str) -> Value {
        let Value::Object(mut full) = resource else {
            return resource;
        };
        // Which object holds the path: the resource or an extension inside it.
        let holder_key = |p: &AttrPath| -> Option<String> {
            match &p.urn {
                Some(u) if !u.eq_ignore_ascii_case(core) => Some(u.clone()),
                _ => None,
            }
        };
        if !self.attributes.is_empty() {
            let mut out = Map::new();
            for always in ["schemas", "id"] {
                if let Some(v) = full.get(always) {
                    out.insert(always.into(), v.clone());
                }
            }
            for p in &self.attributes {
                match holder_key(p) {
                    Some(ext) => {
                        let Some(k) = key_ci(&full, &ext) else {
                            continue;
                        };
                        let Some(src) = full.get(&k).and_then(Value::as_object) else {
                            continue;
                        };
                        if p.attr.is_empty() {
                            out.insert(k.clone(), Value::Object(src.clone()));
                            continue;
                        }
                        let entry = out
                            .entry(k.clone())
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Value::Object(dst) = entry {
                            copy_path(src, dst, p);
                        }
                    }
                    None => copy_path(&full, &mut out, p),
                }
            }
            // Drop extension objects left empty.
            out.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
            return Value::Object(out);
        }
        for p in &self.excluded {
            if p.attr.is_empty() {
                if let Some(k) = holder_key(p).and_then(|ext| key_ci(&full, &ext)) {
                    full.remove(&k);
                }
                continue;
            }
            let holder: &mut Map<String, Value> = match holder_key(p) {
                Some(ext) => match key_ci(&full, &ext).and_then(|k| full.get_mut(&k)) {
                    Some(Value::Object(m)) => m,
                    _ => continue,
                },
                None => &mut full,
            };
            let Some(k) = key_ci(holder, &p.attr) else {
                continue;
            };
            if k == "id" || k == "schemas" {
                continue;
            }
            match &p.sub {
                None => {
                    holder.remove(&k);
                }
                Some(sub) => match holder.get_mut(&k) {
                    Some(Value::Array(items)) => {
                        for item in items {
                            if let Some(o) = item.as_object_mut()
                                && let Some(sk) = key_ci(o, sub)
                            {
                                o.remove(&sk);
                            }
                        }
                    }
                    Some(Value::Object(o)) => {
                        if let Some(sk) = key_ci(o, sub) {
                            o.remove(&sk);
                        }
                    }
                    _ => {}
                },
            }
        }
        Value::Object(full)
    }
}

/// Copies the attribute (or the sub-attribute, in each value) `p` names.
fn copy_path(src: &Map<String, Value>, dst: &mut Map<String, Value>, p: &AttrPath) {
    let Some(k) = key_ci(src, &p.attr) else {
        return;
    };
    let value = &src[&k];
    let Some(sub) = &p.sub else {
        dst.insert(k, value.clone());
        return;
    };
    let pick = |v: &Value| -> Option<(String, Value)> {
        let o = v.as_object()?;
        let sk = key_ci(o, sub)?;
        Some((sk.clone(), o[&sk].clone()))
    };
    match value {
        Value::Array(items) => {
            let existing = dst
                .entry(k)
                .or_insert_with(|| Value::Array(vec![Value::Object(Map::new()); items.len()]));
            if let Value::Array(dst_items) = existing {
                for (i, item) in items.iter().enumerate() {
                    if let (Some((sk, sv)), Some(Value::Object(d))) =
                        (pick(item), dst_items.get_mut(i))
                    {
                        d.insert(sk, sv);
                    }
                }
            }
        }
        Value::Object(_) => {
            if let Some((sk, sv)) = pick(value) {
                let existing = dst.entry(k).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(d) = existing {
                    d.insert(sk, sv);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Query parameters and list responses

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

struct ListParams {
    filter: Option<String>,
    start_index: i64,
    count: i64,
    projection: Projection,
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn pairs(q: QueryPairs) -> Result<Vec<(String, String)>, ScimError> {
    q.map(|Query(p)| p)
        .map_err(|e| bad("invalidSyntax", format!("parametri non validi: {e}")))
}

fn projection_from_query(pairs: &[(String, String)]) -> Result<Projection, ScimError> {
    let list = |name: &str| -> Vec<String> {
        param(pairs, name)
            .map(|v| vec![v.to_string()])
            .unwrap_or_default()
    };
    Projection::new(&list("attributes"), &list("excludedAttributes"))
}

fn paging(start: Option<i64>, count: Option<i64>) -> (i64, i64) {
    let start = start.unwrap_or(1).max(1);
    let count = count.unwrap_or(MAX_RESULTS).clamp(0, MAX_RESULTS);
    (start, count)
}

fn list_params_from_query(pairs: &[(String, String)]) -> Result<ListParams, ScimError> {
    let int = |name: &str| -> Result<Option<i64>, ScimError> {
        match param(pairs, name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                bad(
                    "invalidValue",
                    format!("{name} dev'essere un numero intero"),
                )
            }),
        }
    };
    let (start_index, count) = paging(int("startIndex")?, int("count")?);
    Ok(ListParams {
        filter: param(pairs, "filter").map(str::to_string),
        start_index,
        count,
        projection: projection_from_query(pairs)?,
    })
}

fn parse_body(body: &Bytes) -> Result<Value, ScimError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| bad("invalidSyntax", format!("il corpo non è JSON valido: {e}")))?;
    if !v.is_object() {
        return Err(bad("invalidSyntax", "il corpo dev'essere un oggetto JSON"));
    }
    Ok(v)
}

/// The request must name `schema` in its `schemas`.
fn require_schema(v: &Value, schema: &str) -> Result<(), ScimError> {
    let ok = v
        .as_object()
        .and_then(|o| get_ci(o, "schemas"))
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(schema)))
        });
    if ok {
        Ok(())
    } else {
        Err(bad(
            "invalidSyntax",
            format!("«schemas» deve contenere {schema}"),
        ))
    }
}

fn list_params_from_search(v: &Value) -> Result<ListParams, ScimError> {
    require_schema(v, SEARCH_SCHEMA)?;
    let o = v
        .as_object()
        .ok_or_else(|| bad("invalidSyntax", "oggetto atteso"))?;
    let strings = |name: &str| -> Result<Vec<String>, ScimError> {
        match get_ci(o, name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad("invalidValue", format!("{name}: stringhe attese")))
                })
                .collect(),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(_) => Err(bad(
                "invalidValue",
                format!("{name}: elenco di stringhe atteso"),
            )),
        }
    };
    let int = |name: &str| -> Result<Option<i64>, ScimError> {
        match get_ci(o, name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                bad(
                    "invalidValue",
                    format!("{name} dev'essere un numero intero"),
                )
            }),
        }
    };
    let filter = match get_ci(o, "filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("invalidFilter", "filter dev'essere una stringa")),
    };
    let (start_index, count) = paging(int("startIndex")?, int("count")?);
    Ok(ListParams {
        filter,
        start_index,
        count,
        projection: Projection::new(&strings("attributes")?, &strings("excludedAttributes")?)?,
    })
}

fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Response {
    scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

// ---------------------------------------------------------------------------
// Users

/// `organization` is returned only on request (`returned: request`).
fn user_json(
    u: &ScimUser,
    memberships: &[&Membership],
    base: &str,
    with_organization: bool,
) -> Value {
    let location = format!("{base}/Users/{}", u.id);
    let mut v = json!({
        "schemas": [USER_SCHEMA, EXTENSION_SCHEMA],
        "id": u.id.to_string(),
        "userName": u.fiscal_code,
        "name": {
            "givenName": u.given_name,
            "familyName": u.family_name,
        },
        "active": u.status != "disabled",
        EXTENSION_SCHEMA: {
            "category": u.category,
        },
        "meta": {
            "resourceType": "User",
            "created": crate::api::rfc3339(u.created_at),
            "location": location,
        },
    });
    if !u.email.is_empty() {
        v["emails"] = json!([{ "value": u.email }]);
    }
    if let Some(p) = u.phone.as_deref().filter(|p| !p.is_empty()) {
        v["phoneNumbers"] = json!([{ "value": p }]);
    }
    if let Some(e) = &u.external_id {
        v["externalId"] = json!(e);
    }
    if with_organization && let Some(code) = &u.organization_code {
        v[EXTENSION_SCHEMA]["organization"] = json!(code);
    }
    if !memberships.is_empty() {
        v["groups"] = Value::Array(
            memberships
                .iter()
                .map(|m| {
                    json!({
                        "value": m.profile_id.to_string(),
                        "$ref": format!("{base}/Groups/{}", m.profile_id),
                        "display": format!("{} - {}", m.application_name, m.profile_name),
                    })
                })
                .collect(),
        );
    }
    v
}

/// A user of the caller's scope (not deleted, not a service account), or 404.
async fn scoped_user(state: &Shared, ctx: &ScimCtx, id: &str) -> Result<ScimUser, ScimError> {
    let id: i64 = id.trim().parse().map_err(|_| not_found())?;
    store::user(&state.app.db, id)
        .await?
        .filter(|u| {
            u.status != "deleted"
                && !store::is_service_account(&u.fiscal_code)
                && u.organization_id.is_some_and(|o| ctx.scope.contains(&o))
        })
        .ok_or_else(not_found)
}

async fn render_users(
    state: &Shared,
    ctx: &ScimCtx,
    users: &[ScimUser],
    projection: &Projection,
) -> Result<Vec<Value>, ScimError> {
    let with_organization = projection.requests(EXTENSION_SCHEMA, "organization");
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let memberships = store::memberships_of(&state.app.db, &ids).await?;
    Ok(users
        .iter()
        .map(|u| {
            let mine: Vec<&Membership> = memberships.iter().filter(|m| m.user_id == u.id).collect();
            user_json(u, &mine, &ctx.base, with_organization)
        })
        .collect())
}

async fn user_response(
    state: &Shared,
    ctx: &ScimCtx,
    id: i64,
    status: StatusCode,
    projection: &Projection,
) -> Result<Response, ScimError> {
    let u = scoped_user(state, ctx, &id.to_string()).await?;
    let v = render_users(state, ctx, std::slice::from_ref(&u), projection)
        .await?
        .pop()
        .unwrap_or(Value::Null);
    let location = v["meta"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut res = scim_response(status, &projection.apply(v, USER_SCHEMA));
    if status == StatusCode::CREATED
        && let Ok(l) = HeaderValue::from_str(&location)
    {
        res.headers_mut().insert(header::LOCATION, l);
    }
    Ok(res)
}

/// A window of the users matching `cond`, rendered, and how many match.
async fn users_window(
    state: &Shared,
    ctx: &ScimCtx,
    cond: &Cond,
    offset: i64,
    count: i64,
    projection: &Projection,
) -> Result<(Vec<Value>, i64), ScimError> {
    let (users, total) = store::users_page(&state.app.db, &ctx.scope, cond, offset, count)
        .await
        .map_err(|e| match e {
            store::PageError::Filter(e) => invalid_filter(e.0),
            store::PageError::Store(e) => internal(e),
        })?;
    Ok((render_users(state, ctx, &users, projection).await?, total))
}

async fn search_users_with(
    state: &Shared,
    ctx: &ScimCtx,
    p: ListParams,
) -> Result<Response, ScimError> {
    let cond = match parsed_filter(&p)? {
        Some(f) => user_condition(&f, None)?,
        None => Cond::True,
    };
    let (users, total) =
        users_window(state, ctx, &cond, p.start_index - 1, p.count, &p.projection).await?;
    let resources = users
        .into_iter()
        .map(|v| p.projection.apply(v, USER_SCHEMA))
        .collect();
    Ok(list_response(total, p.start_index, resources))
}

async fn list_users(
    State(state): State<Shared>,
    ctx: ScimCtx,
    q: QueryPairs,
) -> Result<Response, ScimError> {
    let p = list_params_from_query(&pairs(q)?)?;
    search_users_with(&state, &ctx, p).await
}

async fn search_users(
    State(state): State<Shared>,
    ctx: ScimCtx,
    body: Bytes,
) -> Result<Response, ScimError> {
    let p = list_params_from_search(&parse_body(&body)?)?;
    search_users_with(&state, &ctx, p).await
}

async fn get_user(
    State(state): State<Shared>,
    ctx: ScimCtx,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response, ScimError> {
    let projection = projection_from_query(&pairs(q)?)?;
    let u = scoped_user(&state, &ctx, &id).await?;
    user_response(&state, &ctx, u.id, StatusCode::OK, &projection).await
}

/// What SCIM can set on a user, before validation by the use cases.
#[derive(Clone, Debug, PartialEq)]
struct UserDraft {
    user_name: String,
    given_name: String,
    family_name: String,
    email: String,
    phone: Option<String>,
    active: bool,
    external_id: Option<String>,
    category: String,
}

impl UserDraft {
    fn of(u: &ScimUser) -> UserDraft {
        UserDraft {
            user_name: u.fiscal_code.clone(),
            given_name: u.given_name.clone(),
            family_name: u.family_name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone().filter(|p| !p.is_empty()),
            active: u.status != "disabled",
            external_id: u.external_id.clone(),
            category: u.category.clone(),
        }
    }

    fn changes(&self) -> UserChanges {
        UserChanges {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            external_id: self.external_id.clone(),
            category: self.category.clone(),
        }
    }

    /// Reads a full User resource (POST, PUT). `base` is the current state
    /// for a PUT: what may be omitted (`active`, the extension) is kept, and
    /// `userName` may not change.
    fn from_resource(v: &Value, base: Option<&UserDraft>) -> Result<UserDraft, ScimError> {
        let o = v
            .as_object()
            .ok_or_else(|| bad("invalidSyntax", "oggetto atteso"))?;
        let user_name = match get_ci(o, "userName") {
            Some(Value::String(s)) => s.trim().to_uppercase(),
            Some(_) => return Err(bad("invalidValue", "userName dev'essere una stringa")),
            None => match base {
                Some(b) => b.user_name.clone(),
                None => {
                    return Err(bad(
                        "invalidValue",
                        "userName: campo obbligatorio (il codice fiscale)",
                    ));
                }
            },
        };
        if let Some(b) = base
            && user_name != b.user_name
        {
            return Err(bad(
                "mutability",
                "userName (il codice fiscale) non si può cambiare",
            ));
        }
        let mut d = UserDraft {
            user_name,
            given_name: String::new(),
            family_name: String::new(),
            email: String::new(),
            phone: None,
            active: base.is_none_or(|b| b.active),
            external_id: None,
            category: base
                .map(|b| b.category.clone())
                .unwrap_or_else(|| Category::PublicEmployee.code().to_string()),
        };
        if let Some(name) = get_ci(o, "name") {
            set_name(&mut d, "replace", name)?;
        }
        if let Some(emails) = get_ci(o, "emails") {
            d.email = pick_value(emails, "emails")?.unwrap_or_default();
        }
        if let Some(phones) = get_ci(o, "phoneNumbers") {
            d.phone = pick_value(phones, "phoneNumbers")?;
        }
        if let Some(a) = get_ci(o, "active") {
            d.active = boolean(a, "active")?;
        }
        if let Some(e) = get_ci(o, "externalId") {
            d.external_id = optional_string(e, "externalId")?;
        }
        if let Some(ext) = get_ci(o, EXTENSION_SCHEMA) {
            let ext = ext.as_object().ok_or_else(|| {
                bad(
                    "invalidValue",
                    format!("{EXTENSION_SCHEMA}: oggetto atteso"),
                )
            })?;
            if let Some(c) = get_ci(ext, "category") {
                d.category = string(c, "category")?;
            }
        }
        Ok(d)
    }
}

fn string(v: &Value, field: &str) -> Result<String, ScimError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| bad("invalidValue", format!("{field} dev'essere una stringa")))
}

fn optional_string(v: &Value, field: &str) -> Result<Option<String>, ScimError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(bad(
            "invalidValue",
            format!("{field} dev'essere una stringa"),
        )),
    }
}

/// Booleans, also as the strings "true"/"false" some clients send.
fn boolean(v: &Value, field: &str) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(bad(
            "invalidValue",
            format!("{field} dev'essere true o false"),
        )),
    }
}

/// The value kept from a multi-valued attribute: the primary one, else the
/// first. `None` for an empty list or null.
fn pick_value(v: &Value, field: &str) -> Result<Option<String>, ScimError> {
    let items: Vec<&Value> = match v {
        Value::Null => return Ok(None),
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let primary = items.iter().find(|i| {
        i.as_object()
            .and_then(|o| get_ci(o, "primary"))
            .is_some_and(|p| boolean(p, "primary").unwrap_or(false))
    });
    let Some(item) = primary.or(items.first()) else {
        return Ok(None);
    };
    let value = match item {
        Value::Object(o) => get_ci(o, "value").cloned().unwrap_or(Value::Null),
        Value::String(s) => Value::String(s.clone()),
        _ => {
            return Err(bad(
                "invalidValue",
                format!("{field}: elenco di oggetti con «value» atteso"),
            ));
        }
    };
    optional_string(&value, &format!("{field}.value"))
}

fn set_name(d: &mut UserDraft, op: &str, v: &Value) -> Result<(), ScimError> {
    let o = v
        .as_object()
        .ok_or_else(|| bad("invalidValue", "name: oggetto atteso"))?;
    let given = get_ci(o, "givenName");
    let family = get_ci(o, "familyName");
    if op == "replace" || given.is_some() {
        d.given_name = match given {
            Some(g) => optional_string(g, "name.givenName")?.unwrap_or_default(),
            None => String::new(),
        };
    }
    if op == "replace" || family.is_some() {
        d.family_name = match family {
            Some(f) => optional_string(f, "name.familyName")?.unwrap_or_default(),
            None => String::new(),
        };
    }
    Ok(())
}

/// A PATCH path: `[urn:]attr[[filter]][.sub]`.
struct PatchPath {
    urn: Option<String>,
    attr: String,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn parse_patch_path(s: &str) -> Result<PatchPath, ScimError> {
    let invalid = |detail: String| bad("invalidPath", detail);
    let s = s.trim();
    let (urn, rest) = split_urn(s);
    if rest.is_empty() {
        return Ok(PatchPath {
            urn,
            attr: String::new(),
            filter: None,
            sub: None,
        });
    }
    let (attr, filter, sub) = match rest.find('[') {
        Some(open) => {
            let close = rest
                .rfind(']')
                .filter(|c| *c > open)
                .ok_or_else(|| invalid(format!("percorso non valido: «{s}»")))?;
            let filter = parse_filter(&rest[open + 1..close]).map_err(invalid)?;
            let after = &rest[close + 1..];
            let sub = match after.strip_prefix('.') {
                Some(sub) if valid_name(sub) => Some(sub.to_string()),
                None if after.is_empty() => None,
                _ => return Err(invalid(format!("percorso non valido: «{s}»"))),
            };
            (&rest[..open], Some(filter), sub)
        }
        None => match rest.split_once('.') {
            Some((a, b)) => (a, None, Some(b.to_string())),
            None => (rest, None, None),
        },
    };
    if !valid_name(attr) || sub.as_deref().is_some_and(|s| !valid_name(s)) {
        return Err(invalid(format!("percorso non valido: «{s}»")));
    }
    Ok(PatchPath {
        urn,
        attr: attr.to_string(),
        filter,
        sub,
    })
}

/// The single e-mail address or telephone number under PATCH: filters are
/// evaluated on it as the primary work value; add and replace set it (only
/// one is kept), remove clears it.
fn patch_single_value(
    current: &mut Option<String>,
    op: &str,
    path: &PatchPath,
    value: Option<&Value>,
    field: &str,
) -> Result<(), ScimError> {
    let item = current
        .as_ref()
        .map(|c| json!({ "value": c, "type": "work", "primary": true }));
    let matched = match (&path.filter, &item) {
        (None, _) => true,
        (Some(f), Some(item)) => eval(f, item),
        (Some(_), None) => false,
    };
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    match (op, sub.as_deref()) {
        ("remove", None | Some("value")) => {
            if path.filter.is_some() && !matched {
                return Err(bad(
                    "noTarget",
                    format!("{field}: nessun valore corrisponde al filtro"),
                ));
            }
            *current = None;
        }
        ("remove", Some(_)) => {}
        (_, Some("value")) => {
            let v = value.ok_or_else(|| bad("invalidValue", format!("{field}: manca «value»")))?;
            *current = optional_string(v, &format!("{field}.value"))?;
        }
        (_, None) => {
            let v = value.ok_or_else(|| bad("invalidValue", format!("{field}: manca «value»")))?;
            *current = pick_value(v, field)?;
        }
        // type, primary, display: not kept, accepted and ignored.
        (_, Some(_)) => {}
    }
    Ok(())
}

fn apply_user_attribute(
    d: &mut UserDraft,
    op: &str,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let shown = {
        let mut s = path.attr.clone();
        if let Some(sub) = &path.sub {
            s = format!("{s}.{sub}");
        }
        s
    };
    let need = || value.ok_or_else(|| bad("invalidValue", format!("{shown}: manca «value»")));
    if path
        .urn
        .as_deref()
        .is_some_and(|u| u.eq_ignore_ascii_case(EXTENSION_SCHEMA))
    {
        if path.attr.is_empty() {
            // The whole extension.
            if op == "remove" {
                return Err(bad(
                    "invalidValue",
                    "category è obbligatorio: non si può rimuovere",
                ));
            }
            let obj = need()?.as_object().ok_or_else(|| {
                bad(
                    "invalidValue",
                    format!("{EXTENSION_SCHEMA}: oggetto atteso"),
                )
            })?;
            for (k, v) in obj {
                if k.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let p = PatchPath {
                    urn: Some(EXTENSION_SCHEMA.into()),
                    attr: k.clone(),
                    filter: None,
                    sub: None,
                };
                apply_user_attribute(d, op, &p, Some(v))?;
            }
            return Ok(());
        }
        if path.filter.is_some() || path.sub.is_some() {
            return Err(bad(
                "invalidPath",
                format!("percorso non supportato: {shown}"),
            ));
        }
        return match path.attr.to_ascii_lowercase().as_str() {
            "category" if op == "remove" => Err(bad(
                "invalidValue",
                "category è obbligatorio: non si può rimuovere",
            )),
            "category" => {
                d.category = string(need()?, "category")?;
                Ok(())
            }
            "organization" => Err(bad(
                "mutability",
                "organization è in sola lettura: l'ente è quello del token",
            )),
            _ => Err(bad(
                "invalidPath",
                format!("attributo non supportato: {shown}"),
            )),
        };
    }
    if path.urn.is_some()
        && !path
            .urn
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(USER_SCHEMA))
    {
        return Err(bad(
            "invalidPath",
            format!(
                "schema sconosciuto: {}",
                path.urn.as_deref().unwrap_or_default()
            ),
        ));
    }
    let attr = path.attr.to_ascii_lowercase();
    let simple = path.filter.is_none() && path.sub.is_none();
    match attr.as_str() {
        "username" if simple => {
            if op == "remove" {
                return Err(bad("mutability", "userName non si può rimuovere"));
            }
            let v = string(need()?, "userName")?.trim().to_uppercase();
            if v != d.user_name {
                return Err(bad(
                    "mutability",
                    "userName (il codice fiscale) non si può cambiare",
                ));
            }
        }
        "name" if path.filter.is_none() => match path.sub.as_deref().map(str::to_ascii_lowercase) {
            None if op == "remove" => {
                d.given_name.clear();
                d.family_name.clear();
            }
            None => set_name(d, op, need()?)?,
            Some(s) if s == "givenname" || s == "familyname" => {
                let new = if op == "remove" {
                    String::new()
                } else {
                    optional_string(need()?, &shown)?.unwrap_or_default()
                };
                if s == "givenname" {
                    d.given_name = new;
                } else {
                    d.family_name = new;
                }
            }
            Some(_) => {
                return Err(bad(
                    "invalidPath",
                    format!("attributo non supportato: {shown}"),
                ));
            }
        },
        "emails" => {
            let mut current = Some(d.email.clone()).filter(|e| !e.is_empty());
            patch_single_value(&mut current, op, path, value, "emails")?;
            d.email = current.unwrap_or_default();
        }
        "phonenumbers" => patch_single_value(&mut d.phone, op, path, value, "phoneNumbers")?,
        "active" if simple => {
            if op == "remove" {
                return Err(bad(
                    "invalidValue",
                    "active è obbligatorio: non si può rimuovere",
                ));
            }
            d.active = boolean(need()?, "active")?;
        }
        "externalid" if simple => {
            d.external_id = if op == "remove" {
                None
            } else {
                optional_string(need()?, "externalId")?
            };
        }
        "groups" => {
            return Err(bad(
                "mutability",
                "groups è in sola lettura: i profili si assegnano tramite /Groups",
            ));
        }
        "id" | "meta" | "schemas" => {
            return Err(bad("mutability", format!("{shown} è in sola lettura")));
        }
        _ => {
            return Err(bad(
                "invalidPath",
                format!("attributo non supportato: {shown}"),
            ));
        }
    }
    Ok(())
}

/// One PATCH operation: (op, path, value).
type Operation = (String, Option<String>, Option<Value>);

/// The operations of a PATCH request, checked for shape.
fn operations(v: &Value) -> Result<Vec<Operation>, ScimError> {
    require_schema(v, PATCH_SCHEMA)?;
    let ops = v
        .as_object()
        .and_then(|o| get_ci(o, "Operations"))
        .and_then(Value::as_array)
        .ok_or_else(|| bad("invalidSyntax", "«Operations» dev'essere un elenco"))?;
    if ops.is_empty() {
        return Err(bad("invalidSyntax", "«Operations» è vuoto"));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(bad(
            "invalidSyntax",
            format!("al massimo {MAX_OPERATIONS} operazioni per richiesta"),
        ));
    }
    ops.iter()
        .map(|op| {
            let o = op
                .as_object()
                .ok_or_else(|| bad("invalidSyntax", "ogni operazione dev'essere un oggetto"))?;
            let kind = get_ci(o, "op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .filter(|k| matches!(k.as_str(), "add" | "replace" | "remove"))
                .ok_or_else(|| bad("invalidSyntax", "«op» dev'essere add, replace o remove"))?;
            let path = match get_ci(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(bad("invalidPath", "«path» dev'essere una stringa")),
            };
            if kind == "remove" && path.is_none() {
                return Err(bad("noTarget", "remove richiede «path»"));
            }
            let value = get_ci(o, "value").cloned();
            if kind != "remove" && value.is_none() {
                return Err(bad("invalidValue", format!("{kind} richiede «value»")));
            }
            Ok((kind, path, value))
        })
        .collect()
}

fn apply_user_patch(d: &mut UserDraft, v: &Value) -> Result<(), ScimError> {
    for (op, path, value) in operations(v)? {
        match path {
            Some(p) => {
                let path = parse_patch_path(&p)?;
                if path.attr.is_empty()
                    && !path
                        .urn
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(EXTENSION_SCHEMA))
                {
                    return Err(bad("invalidPath", format!("percorso non valido: «{p}»")));
                }
                apply_user_attribute(d, &op, &path, value.as_ref())?;
            }
            None => {
                let obj = value.as_ref().and_then(Value::as_object).ok_or_else(|| {
                    bad(
                        "invalidValue",
                        "senza «path», «value» dev'essere un oggetto",
                    )
                })?;
                for (k, v) in obj {
                    if k.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    let path = parse_patch_path(k)?;
                    apply_user_attribute(d, &op, &path, Some(v))?;
                }
            }
        }
    }
    Ok(())
}

/// Writes a draft through the use cases: attribute changes, then the status.
async fn save_user(
    state: &Shared,
    ctx: &ScimCtx,
    current: &ScimUser,
    draft: &UserDraft,
) -> Result<(), ScimError> {
    let before = UserDraft::of(current);
    if draft.changes() != before.changes() {
        state
            .app
            .update_user_attributes(Some(&ctx.who), current.id, &draft.changes(), &ctx.origin)
            .await?;
    }
    if draft.active != before.active {
        state
            .app
            .set_user_disabled(Some(&ctx.who), current.id, !draft.active, &ctx.origin)
            .await?;
    }
    Ok(())
}

async fn create_user(
    State(state): State<Shared>,
    ctx: ScimCtx,
    q: QueryPairs,
    body: Bytes,
) -> Result<Response, ScimError> {
    let projection = projection_from_query(&pairs(q)?)?;
    let v = parse_body(&body)?;
    require_schema(&v, USER_SCHEMA)?;
    let draft = UserDraft::from_resource(&v, None)?;
    let code = FiscalCode::parse(&draft.user_name)
        .map_err(|e| bad("invalidValue", format!("userName: {e}")))?;
    if directory::user_by_fiscal_code(&state.app.db, code.as_str())
        .await?
        .is_some()
    {
        return Err(error(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!(
                "userName: esiste già un utente con il codice fiscale {}",
                code.as_str()
            ),
        ));
    }
    let organization_id = ctx.who.user.organization_id;
    let id = state
        .app
        .create_user(
            Some(&ctx.who),
            &NewUserInput {
                fiscal_code: code.as_str().to_string(),
                given_name: draft.given_name.clone(),
                family_name: draft.family_name.clone(),
                email: draft.email.clone(),
                pec: String::new(),
                phone: draft.phone.clone().unwrap_or_default(),
                category: draft.category.clone(),
                organization_id,
                first_access: "activation_link".into(),
            },
            &ctx.origin,
        )
        .await?;
    // What create_user does not take: the external id, a disabled start.
    if draft.external_id.is_some() || !draft.active {
        let created = scoped_user(&state, &ctx, &id.to_string()).await?;
        save_user(&state, &ctx, &created, &draft).await?;
    }
    user_response(&state, &ctx, id, StatusCode::CREATED, &projection).await
}

async fn replace_user(
    State(state): State<Shared>,
    ctx: ScimCtx,
    Path(id): Path<String>,
    q: QueryPairs,
    body: Bytes,
) -> Result<Response, ScimError> {
    let projection = projection_from_query(&pairs(q)?)?;
    let current = scoped_user(&state, &ctx, &id).await?;
    let v = parse_body(&body)?;
    require_schema(&v, USER_SCHEMA)?;
    let draft = UserDraft::from_resource(&v, Some(&UserDraft::of(&current)))?;
    save_user(&state, &ctx, &current, &draft).await?;
    user_response(&state, &ctx, current.id, StatusCode::OK, &projection).await
}

async fn patch_user(
    State(state): State<Shared>,
    ctx: ScimCtx,
    Path(id): Path<String>,
    q: QueryPairs,
    body: Bytes,
) -> Result<Response, ScimError> {
    let projection = projection_from_query(&pairs(q)?)?;
    let current = scoped_user(&state, &ctx, &id).await?;
    let v = parse_body(&body)?;
    let mut draft = UserDraft::of(&current);
    apply_user_patch(&mut draft, &v)?;
    save_user(&state, &ctx, &current, &draft).await?;
    user_response(&state, &ctx, current.id, StatusCode::OK, &projection).await
}

async fn delete_user(
    State(state): State<Shared>,
    ctx: ScimCtx,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let current = scoped_user(&state, &ctx, &id).await?;
    state
        .app
        .delete_user(Some(&ctx.who), current.id, &ctx.origin)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------
// Groups: the catalogue's profiles

fn group_json(p: &Profile, members: Option<&[Membership]>, base: &str) -> Value {
    let mut v = json!({
        "schemas": [GROUP_SCHEMA],
        "id": p.id.to_string(),
        "displayName": format!("{} - {}", p.application_name, p.name),
        "meta": {
            "resourceType": "Group",
            "location": format!("{base}/Groups/{}", p.id),
        },
    });
    if let Some(members) = members {
        v["members"] = Value::Array(
            members
                .iter()
                .map(|m| {
                    json!({
                        "value": m.user_id.to_string(),
                        "$ref": format!("{base}/Users/{}", m.user_id),
                        "display": format!("{} {}", m.given_name, m.family_name),
                        "type": "User",
                    })
                })
                .collect(),
        );
    }
    v
}

async fn group_profile(state: &Shared, id: &str) -> Result<Profile, ScimError> {
    let id: i64 = id.trim().parse().map_err(|_| not_found())?;
    catalogue::profile(&state.app.db, id)
        .await?
        .ok_or_else(not_found)
}

/// Every group matching `filter` (the catalogue is small), with its members
/// in the caller's scope when they are asked for or filtered on.
async fn matching_groups(
    state: &Shared,
    ctx: &ScimCtx,
    filter: Option<&Filter>,
    projection: &Projection,
) -> Result<Vec<Value>, ScimError> {
    let needs_members =
        projection.wants_members() || filter.is_some_and(|f| names_attribute(f, "members"));
    let mut matching = Vec::new();
    for profile in catalogue::profiles(&state.app.db).await? {
        let members = if needs_members {
            Some(store::profile_members(&state.app.db, profile.id, &ctx.scope).await?)
        } else {
            None
        };
        let v = group_json(&profile, members.as_deref(), &ctx.base);
        if filter.is_none_or(|f| eval(f, &v)) {
            matching.push(v);
        }
    }
    Ok(matching)
}

fn parsed_filter(p: &ListParams) -> Result<Option<Filter>, ScimError> {
    match &p.filter {
        Some(f) if !f.trim().is_empty() => Ok(Some(parse_filter(f).map_err(invalid_filter)?)),
        _ => Ok(None),
    }
}

async fn search_groups_with(
    state: &Shared,
    ctx: &ScimCtx,
    p: ListParams,
) -> Result<Response, ScimError> {
    let filter = parsed_filter(&p)?;
    if let Some(f) = &filter {
        check_group_filter(f, false)?;
    }
    let matching = matching_groups(state, ctx, filter.as_ref(), &p.projection).await?;
    let total = matching.len() as i64;
    let resources = matching
        .into_iter()
        .skip((p.start_index - 1) as usize)
        .take(p.count as usize)
        .map(|v| p.projection.apply(v, GROUP_SCHEMA))
        .collect();
    Ok(list_response(total, p.start_index, resources))
}

fn any_leaf(f: &Filter, test: &dyn Fn(&Filter) -> bool) -> bool {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => any_leaf(a, test) || any_leaf(b, test),
        Filter::Not(a) => any_leaf(a, test),
        leaf => test(leaf),
    }
}

/// Whether a comparison names a User attribute.
fn applies_to_users(leaf: &Filter) -> bool {
    match leaf {
        Filter::Cmp(p, _, _) | Filter::Present(p) => user_column(p).is_some(),
        Filter::ValuePath(p, _) => p.is("emails") || p.is("phoneNumbers"),
        _ => false,
    }
}

/// The User condition of a filter over several resource types: comparisons
/// on attributes users do not have match no user.
fn root_user_condition(f: &Filter) -> Result<Cond, ScimError> {
    Ok(match f {
        Filter::And(a, b) => Cond::And(
            Box::new(root_user_condition(a)?),
            Box::new(root_user_condition(b)?),
        ),
        Filter::Or(a, b) => Cond::Or(
            Box::new(root_user_condition(a)?),
            Box::new(root_user_condition(b)?),
        ),
        Filter::Not(a) => Cond::Not(Box::new(root_user_condition(a)?)),
        leaf if applies_to_users(leaf) => user_condition(leaf, None)?,
        _ => Cond::False,
    })
}

/// `POST /.search` (RFC 7644 §3.4.3): users first, then groups. A comparison
/// on an attribute one resource type does not have matches none of its
/// resources.
async fn search_root(
    State(state): State<Shared>,
    ctx: ScimCtx,
    body: Bytes,
) -> Result<Response, ScimError> {
    let p = list_params_from_search(&parse_body(&body)?)?;
    let filter = parsed_filter(&p)?;
    if let Some(f) = &filter
        && !any_leaf(f, &|leaf| {
            applies_to_users(leaf) || check_group_filter(leaf, false).is_ok()
        })
    {
        return Err(invalid_filter(
            "il filtro non nomina attributi né degli utenti né dei gruppi",
        ));
    }
    let user_cond = match &filter {
        None => Cond::True,
        Some(f) => root_user_condition(f)?,
    };
    let offset = p.start_index - 1;
    let (users, users_total) =
        users_window(&state, &ctx, &user_cond, offset, p.count, &p.projection).await?;
    // Attributes groups do not have simply match nothing in them.
    let groups = matching_groups(&state, &ctx, filter.as_ref(), &p.projection).await?;
    let total = users_total + groups.len() as i64;
    let remaining = (p.count as usize).saturating_sub(users.len());
    let resources = users
        .into_iter()
        .map(|v| p.projection.apply(v, USER_SCHEMA))
        .chain(
            groups
                .into_iter()
                .skip((offset - users_total).max(0) as usize)
                .take(remaining)
                .map(|v| p.projection.apply(v, GROUP_SCHEMA)),
        )
        .collect();
    Ok(list_response(total, p.start_index, resources))
}

async fn list_groups(
    State(state): State<Shared>,
    ctx: ScimCtx,
    q: QueryPairs,
) -> Result<Response, ScimError> {
    let p = list_params_from_query(&pairs(q)?)?;
    search_groups_with(&state, &ctx, p).await
}

async fn search_groups(
    State(state): State<Shared>,
    ctx: ScimCtx,
    body: Bytes,
) -> Result<Response, ScimError> {
    let p = list_params_from_search(&parse_body(&body)?)?;
    search_groups_with(&state, &ctx, p).await
}

async fn group_response(
    state: &Shared,
    ctx: &ScimCtx,
    profile: &Profile,
    projection: &Projection,
) -> Result<Response, ScimError> {
    let members = if projection.wants_members() {
        Some(store::profile_members(&state.app.db, profile.id, &ctx.scope).await?)
    } else {
        None
    };
    Ok(scim_response(
        StatusCode::OK,
        &projection.apply(
            group_json(profile, members.as_deref(), &ctx.base),
            GROUP_SCHEMA,
        ),
    ))
}

async fn get_group(
    State(state): State<Shared>,
    ctx: ScimCtx,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response, ScimError> {
    let projection = projection_from_query(&pairs(q)?)?;
    let profile = group_profile(&state, &id).await?;
    group_response(&state, &ctx, &profile, &projection).await
}

fn catalogue_is_central() -> ScimError {
    error(
        StatusCode::FORBIDDEN,
        None,
        "i gruppi sono i profili del catalogo delle applicazioni, gestito dall'amministratore centrale: \
         non si creano né si eliminano via SCIM; si modificano solo i membri",
    )
}

async fn create_group(_ctx: ScimCtx) -> ScimError {
    catalogue_is_central()
}

async fn delete_group(_ctx: ScimCtx, Path(_id): Path<String>) -> ScimError {
    catalogue_is_central()
}

/// User ids named by a `members` value, each a user of the caller's scope.
async fn member_ids(state: &Shared, ctx: &ScimCtx, v: &Value) -> Result<Vec<i64>, ScimError> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for item in items {
        let raw = match item {
            Value::Object(o) => get_ci(o, "value").cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        let id = match &raw {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(bad(
                    "invalidValue",
                    "members: ogni membro ha un «value» (l'id dell'utente)",
                ));
            }
        };
        let user = scoped_user(state, ctx, &id).await.map_err(|_| {
            bad(
                "invalidValue",
                format!("members: utente sconosciuto «{id}»"),
            )
        })?;
        if !out.contains(&user.id) {
            out.push(user.id);
        }
    }
    Ok(out)
}

/// Applies the member set a PATCH or PUT asks for: the catalogue's rules are
/// checked for every addition before anything changes; then revocations and
/// enablements go through the use cases.
async fn save_members(
    state: &Shared,
    ctx: &ScimCtx,
    profile: &Profile,
    current: &[Membership],
    desired: &BTreeSet<i64>,
) -> Result<(), ScimError> {
    let db = &state.app.db;
    let held: BTreeMap<i64, &Membership> = current.iter().map(|m| (m.user_id, m)).collect();
    let to_add: Vec<i64> = desired
        .iter()
        .filter(|u| !held.contains_key(u))
        .copied()
        .collect();
    let to_remove: Vec<&Membership> = current
        .iter()
        .filter(|m| !desired.contains(&m.user_id))
        .collect();
    if !to_add.is_empty() {
        let rule = catalogue::profile_rule(db, profile.id)
            .await?
            .ok_or_else(not_found)?;
        for user_id in &to_add {
            let user = store::user(db, *user_id).await?.ok_or_else(not_found)?;
            let org_kind = match user.organization_id {
                Some(o) => directory::organization(db, o).await?.map(|o| o.kind),
                None => None,
            };
            let other = match catalogue::enablement_for(db, user.id, rule.application_id).await? {
                Some(e) => catalogue::profile_rule(db, e.profile_id).await?,
                None => None,
            };
            if let Err(refusal) = check_grant(&rule, org_kind.as_deref(), other.as_ref()) {
                return Err(bad(
                    "invalidValue",
                    format!(
                        "members: {} {} (id {}): {refusal}",
                        user.given_name, user.family_name, user.id
                    ),
                ));
            }
        }
    }
    for m in to_remove {
        state
            .app
            .revoke_enablement(Some(&ctx.who), m.enablement_id, &ctx.origin)
            .await?;
    }
    for user_id in to_add {
        state
            .app
            .enable_user(Some(&ctx.who), user_id, profile.id, &ctx.origin)
            .await?;
    }
    Ok(())
}

fn group_attribute_error(
    profile: &Profile,
    key: &str,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let attr = split_urn(key).1.to_ascii_lowercase();
    match attr.as_str() {
        "displayname" => {
            let current = format!("{} - {}", profile.application_name, profile.name);
            if value
                .and_then(Value::as_str)
                .is_some_and(|v| v.trim() == current)
            {
                Ok(())
            } else {
                Err(bad(
                    "mutability",
                    "displayName è definito dal catalogo e non si può cambiare",
                ))
            }
        }
        "id" | "meta" | "externalid" => {
            Err(bad("mutability", format!("{key} non si può cambiare")))
        }
        _ => Err(bad(
            "invalidPath",
            format!("attributo non supportato: {key}"),
        )),
    }
}

async fn patch_group(
    State(state): State<Shared>,
    ctx: ScimCtx,
    Path(id): Path<String>,
    q: QueryPairs,
    body: Bytes,
) -> Result<Response, ScimError> {
    let projection = projection_from_query(&pairs(q)?)?;
    let profile = group_profile(&state, &id).await?;
    let v = parse_body(&body)?;
    let ops = operations(&v)?;
    let current = store::profile_members(&state.app.db, profile.id, &ctx.scope).await?;
    let mut desired: BTreeSet<i64> = current.iter().map(|m| m.user_id).collect();
    for (op, path, value) in ops {
        let (path, value) = match path {
            Some(p) => (p, value),
            None => {
                // No path: an object whose keys are attributes.
                let obj = value.as_ref().and_then(Value::as_object).ok_or_else(|| {
                    bad(
                        "invalidValue",
                        "senza «path», «value» dev'essere un oggetto",
                    )
                })?;
                for (k, v) in obj {
                    if k.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    if split_urn(k).1.eq_ignore_ascii_case("members") {
                        let ids = member_ids(&state, &ctx, v).await?;
                        if op == "replace" {
                            desired.clear();
                        }
                        desired.extend(ids);
                    } else {
                        group_attribute_error(&profile, k, Some(v))?;
                    }
                }
                continue;
            }
        };
        let pp = parse_patch_path(&path)?;
        if pp
            .urn
            .as_deref()
            .is_some_and(|u| !u.eq_ignore_ascii_case(GROUP_SCHEMA))
            || pp.attr.is_empty()
        {
            return Err(bad("invalidPath", format!("percorso non valido: «{path}»")));
        }
        if !pp.attr.eq_ignore_ascii_case("members") {
            if pp.filter.is_some() || pp.sub.is_some() || op == "remove" {
                return Err(group_attribute_error(&profile, &pp.attr, None)
                    .err()
                    .unwrap_or_else(|| {
                        bad("mutability", format!("{} non si può cambiare", pp.attr))
                    }));
            }
            group_attribute_error(&profile, &pp.attr, value.as_ref())?;
            continue;
        }
        if pp.sub.is_some() {
            return Err(bad(
                "invalidPath",
                format!("percorso non supportato: «{path}»"),
            ));
        }
        match (op.as_str(), &pp.filter) {
            ("remove", Some(f)) => {
                let matched: Vec<i64> = desired
                    .iter()
                    .copied()
                    .filter(|u| eval(f, &json!({ "value": u.to_string(), "type": "User" })))
                    .collect();
                if matched.is_empty() {
                    return Err(bad(
                        "noTarget",
                        "members: nessun membro corrisponde al filtro",
                    ));
                }
                for u in matched {
                    desired.remove(&u);
                }
            }
            ("remove", None) => match &value {
                Some(v) if !v.is_null() => {
                    for u in member_ids(&state, &ctx, v).await? {
                        desired.remove(&u);
                    }
                }
                _ => desired.clear(),
            },
            (_, Some(_)) => {
                return Err(bad(
                    "invalidPath",
                    "members con filtro si usa solo con remove",
                ));
            }
            ("replace", None) => {
                let ids = member_ids(&state, &ctx, value.as_ref().unwrap_or(&Value::Null)).await?;
                desired = ids.into_iter().collect();
            }
            (_, None) => {
                let ids = member_ids(&state, &ctx, value.as_ref().unwrap_or(&Value::Null)).await?;
                desired.extend(ids);
            }
        }
    }
    save_members(&state, &ctx, &profile, &current, &desired).await?;
    group_response(&state, &ctx, &profile, &projection).await
}

async fn replace_group(
    State(state): State<Shared>,
    ctx: ScimCtx,
    Path(id): Path<String>,
    q: QueryPairs,
    body: Bytes,
) -> Result<Response, ScimError> {
    let projection = projection_from_query(&pairs(q)?)?;
    let profile = group_profile(&state, &id).await?;
    let v = parse_body(&body)?;
    require_schema(&v, GROUP_SCHEMA)?;
    let o = v
        .as_object()
        .ok_or_else(|| bad("invalidSyntax", "oggetto atteso"))?;
    if let Some(name) = get_ci(o, "displayName") {
        group_attribute_error(&profile, "displayName", Some(name))?;
    }
    let desired: BTreeSet<i64> = match get_ci(o, "members") {
        Some(m) => member_ids(&state, &ctx, m).await?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    let current = store::profile_members(&state.app.db, profile.id, &ctx.scope).await?;
    save_members(&state, &ctx, &profile, &current, &desired).await?;
    group_response(&state, &ctx, &profile, &projection).await
}

// ---------------------------------------------------------------------------
// Discovery

async fn service_provider_config(ctx: ScimCtx) -> Response {
    scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [SPC_SCHEMA],
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": MAX_RESULTS },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": false },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "Token issued to the organization's provisioning system by its local administrator \
                                (or with `sportello scim-token`), sent as Authorization: Bearer <token>.",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", ctx.base),
            },
        }),
    )
}

fn resource_type_json(id: &str, base: &str) -> Option<Value> {
    let v = match id {
        "User" => json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "Users of the token's organization and of the bodies under it. userName is the codice fiscale. \
                            New users receive an activation link by e-mail; DELETE erases their personal data.",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": EXTENSION_SCHEMA, "required": true }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        "Group" => json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "The profiles of the application catalogue. Only members can be changed (add/remove = enable/revoke \
                            the profile, under the catalogue's rules); groups are not created nor deleted through SCIM (403).",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
        _ => return None,
    };
    Some(v)
}

async fn resource_types(ctx: ScimCtx) -> Response {
    let all: Vec<Value> = ["User", "Group"]
        .iter()
        .filter_map(|id| resource_type_json(id, &ctx.base))
        .collect();
    list_response(all.len() as i64, 1, all)
}

async fn resource_type(ctx: ScimCtx, Path(id): Path<String>) -> Result<Response, ScimError> {
    let v = resource_type_json(&id, &ctx.base).ok_or_else(not_found)?;
    Ok(scim_response(StatusCode::OK, &v))
}

async fn schemas(ctx: ScimCtx) -> Response {
    let all = all_schemas(&ctx.base);
    list_response(all.len() as i64, 1, all)
}

async fn schema(ctx: ScimCtx, Path(id): Path<String>) -> Result<Response, ScimError> {
    let v = all_schemas(&ctx.base)
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(&id))
        })
        .ok_or_else(not_found)?;
    Ok(scim_response(StatusCode::OK, &v))
}

/// One attribute definition of a schema (RFC 7643 §7).
#[derive(Clone)]
struct Attr {
    name: &'static str,
    ty: &'static str,
    description: &'static str,
    multi: bool,
    required: bool,
    mutability: &'static str,
    returned: &'static str,
    uniqueness: &'static str,
    case_exact: bool,
    canonical: Vec<&'static str>,
    refs: &'static [&'static str],
    subs: Vec<Attr>,
}

fn attr(name: &'static str, ty: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        ty,
        description,
        multi: false,
        required: false,
        mutability: "readWrite",
        returned: "default",
        uniqueness: "none",
        case_exact: false,
        canonical: Vec::new(),
        refs: &[],
        subs: Vec::new(),
    }
}

/// A read-only attribute (discovery schemas).
fn ro(name: &'static str, ty: &'static str, description: &'static str) -> Attr {
    attr(name, ty, description).mutability("readOnly")
}

impl Attr {
    fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn mutability(mut self, m: &'static str) -> Self {
        self.mutability = m;
        self
    }
    fn returned(mut self, r: &'static str) -> Self {
        self.returned = r;
        self
    }
    fn unique(mut self) -> Self {
        self.uniqueness = "server";
        self
    }
    fn exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    fn canonical(mut self, values: Vec<&'static str>) -> Self {
        self.canonical = values;
        self
    }
    fn refs(mut self, refs: &'static [&'static str]) -> Self {
        self.refs = refs;
        self
    }
    fn subs(mut self, subs: Vec<Attr>) -> Self {
        self.subs = subs;
        self
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "type": self.ty,
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        });
        if !self.canonical.is_empty() {
            v["canonicalValues"] = json!(self.canonical);
        }
        if !self.refs.is_empty() {
            v["referenceTypes"] = json!(self.refs);
        }
        if !self.subs.is_empty() {
            v["subAttributes"] = Value::Array(self.subs.iter().map(Attr::to_json).collect());
        }
        v
    }
}

fn schema_json(id: &str, name: &str, description: &str, attrs: Vec<Attr>, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attrs.iter().map(Attr::to_json).collect::<Vec<_>>(),
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") },
    })
}

fn attribute_definition_subs(with_sub_attributes: bool) -> Vec<Attr> {
    let mut subs = vec![
        ro("name", "string", "The attribute's name.")
            .required()
            .exact(),
        ro("type", "string", "The attribute's data type.")
            .required()
            .canonical(vec![
                "string",
                "complex",
                "boolean",
                "decimal",
                "integer",
                "dateTime",
                "reference",
                "binary",
            ]),
        ro(
            "multiValued",
            "boolean",
            "Whether the attribute is multi-valued.",
        )
        .required(),
        ro("description", "string", "The attribute's description.").exact(),
        ro("required", "boolean", "Whether the attribute is required."),
        ro("canonicalValues", "string", "Suggested canonical values.")
            .multi()
            .exact(),
        ro(
            "caseExact",
            "boolean",
            "Whether a string attribute is case sensitive.",
        ),
        ro(
            "mutability",
            "string",
            "When the attribute can be (re)defined.",
        )
        .exact()
        .canonical(vec!["readOnly", "readWrite", "immutable", "writeOnly"]),
        ro("returned", "string", "When the attribute is returned.")
            .exact()
            .canonical(vec!["always", "never", "default", "request"]),
        ro("uniqueness", "string", "How uniqueness is enforced.")
            .exact()
            .canonical(vec!["none", "server", "global"]),
        ro(
            "referenceTypes",
            "string",
            "The resource types a reference may refer to.",
        )
        .multi()
        .exact(),
    ];
    if with_sub_attributes {
        subs.push(
            ro(
                "subAttributes",
                "complex",
                "The sub-attributes of a complex attribute.",
            )
            .multi()
            .subs(attribute_definition_subs(false)),
        );
    }
    subs
}

fn all_schemas(base: &str) -> Vec<Value> {
    let categories: Vec<&'static str> = Category::ALL.iter().map(|c| c.code()).collect();
    let user = vec![
        attr(
            "userName",
            "string",
            "The codice fiscale (16 characters, check character verified; stored upper-case). It identifies the person: \
             it is set at creation and cannot change.",
        )
        .required()
        .unique()
        .mutability("immutable"),
        attr("name", "complex", "The person's name.")
            .required()
            .subs(vec![
                attr("givenName", "string", "Given name (at most 100 characters).").required(),
                attr("familyName", "string", "Family name (at most 100 characters).").required(),
            ]),
        attr(
            "emails",
            "complex",
            "The e-mail address where the activation link and notices are sent. One address is kept: \
             the primary one, or the first; adding an address replaces it.",
        )
        .multi()
        .required()
        .subs(vec![attr("value", "string", "The e-mail address.").required()]),
        attr(
            "phoneNumbers",
            "complex",
            "A telephone number (digits, spaces and + - / ( ) .). One number is kept: the primary one, or the first.",
        )
        .multi()
        .subs(vec![attr("value", "string", "The telephone number.")]),
        attr(
            "active",
            "boolean",
            "false disables the account (its sessions end); true re-enables it. Always present; when omitted at creation, true.",
        )
        .required(),
        attr(
            "groups",
            "complex",
            "The profiles the user holds directly (see /Groups).",
        )
        .multi()
        .mutability("readOnly")
        .subs(vec![
            attr("value", "string", "The group's id.").mutability("readOnly"),
            attr("$ref", "reference", "The group's URI.")
                .mutability("readOnly")
                .refs(&["Group"])
                .exact(),
            attr("display", "string", "Application - profile.").mutability("readOnly"),
        ]),
    ];
    let extension = vec![
        attr(
            "category",
            "string",
            "The user's category. Always present; when omitted at creation, public_employee.",
        )
        .required()
        .exact()
        .canonical(categories),
        attr(
            "organization",
            "string",
            "Code of the organization the user belongs to (the token's organization or a body under it). \
             Returned only when asked for with attributes.",
        )
        .mutability("readOnly")
        .returned("request")
        .exact(),
    ];
    let group = vec![
        attr(
            "displayName",
            "string",
            "Application - profile, as defined by the catalogue.",
        )
        .required()
        .mutability("readOnly"),
        attr(
            "members",
            "complex",
            "The users of the token's scope who hold the profile directly. Adding a member enables him to the profile \
             (refused, with the reason, when the catalogue does not allow it for his organization or he already holds \
             another profile of the application); removing him revokes it.",
        )
        .multi()
        .subs(vec![
            attr("value", "string", "The user's id.").mutability("immutable"),
            attr("$ref", "reference", "The user's URI.")
                .mutability("immutable")
                .refs(&["User"])
                .exact(),
            attr("display", "string", "The user's name.").mutability("readOnly"),
            attr("type", "string", "Always User.")
                .mutability("immutable")
                .canonical(vec!["User"]),
        ]),
    ];
    let spc = vec![
        ro(
            "documentationUri",
            "reference",
            "Documentation of this service.",
        )
        .refs(&["external"])
        .exact(),
        ro("patch", "complex", "PATCH configuration.")
            .required()
            .subs(vec![
                ro("supported", "boolean", "Whether PATCH is supported.").required(),
            ]),
        ro("bulk", "complex", "Bulk configuration.")
            .required()
            .subs(vec![
                ro("supported", "boolean", "Whether bulk is supported.").required(),
                ro("maxOperations", "integer", "Maximum number of operations.").required(),
                ro(
                    "maxPayloadSize",
                    "integer",
                    "Maximum payload size in bytes.",
                )
                .required(),
            ]),
        ro("filter", "complex", "Filter configuration.")
            .required()
            .subs(vec![
                ro("supported", "boolean", "Whether filters are supported.").required(),
                ro(
                    "maxResults",
                    "integer",
                    "Maximum number of resources returned.",
                )
                .required(),
            ]),
        ro(
            "changePassword",
            "complex",
            "Password change configuration.",
        )
        .required()
        .subs(vec![
            ro("supported", "boolean", "Whether it is supported.").required(),
        ]),
        ro("sort", "complex", "Sort configuration.")
            .required()
            .subs(vec![
                ro("supported", "boolean", "Whether sorting is supported.").required(),
            ]),
        ro("etag", "complex", "ETag configuration.")
            .required()
            .subs(vec![
                ro("supported", "boolean", "Whether ETags are supported.").required(),
            ]),
        ro(
            "authenticationSchemes",
            "complex",
            "Supported authentication schemes.",
        )
        .multi()
        .required()
        .subs(vec![
            ro("type", "string", "The authentication scheme.")
                .required()
                .canonical(vec![
                    "oauth",
                    "oauth2",
                    "oauthbearertoken",
                    "httpbasic",
                    "httpdigest",
                ]),
            ro("name", "string", "The scheme's name.").required(),
            ro("description", "string", "The scheme's description.").required(),
            ro("specUri", "reference", "The scheme's specification.")
                .refs(&["external"])
                .exact(),
            ro(
                "documentationUri",
                "reference",
                "The scheme's documentation.",
            )
            .refs(&["external"])
            .exact(),
            ro(
                "primary",
                "boolean",
                "Whether this is the preferred scheme.",
            ),
        ]),
    ];
    let resource_type = vec![
        ro("name", "string", "The resource type's name.")
            .required()
            .exact()
            .unique(),
        ro("description", "string", "The resource type's description."),
        ro(
            "endpoint",
            "reference",
            "The endpoint, relative to the base URL.",
        )
        .required()
        .exact()
        .unique()
        .refs(&["uri"]),
        ro("schema", "reference", "The core schema.")
            .required()
            .exact()
            .refs(&["uri"]),
        ro("schemaExtensions", "complex", "The schema extensions.")
            .multi()
            .subs(vec![
                ro("schema", "reference", "The extension's URI.")
                    .required()
                    .exact()
                    .refs(&["uri"]),
                ro("required", "boolean", "Whether the extension is required.").required(),
            ]),
    ];
    let schema = vec![
        ro("name", "string", "The schema's name."),
        ro("description", "string", "The schema's description."),
        ro("attributes", "complex", "The schema's attributes.")
            .multi()
            .required()
            .subs(attribute_definition_subs(true)),
    ];
    vec![
        schema_json(USER_SCHEMA, "User", "User Account", user, base),
        schema_json(
            EXTENSION_SCHEMA,
            "SportelloUser",
            "Sportello's extension of the User: category and organization",
            extension,
            base,
        ),
        schema_json(
            GROUP_SCHEMA,
            "Group",
            "Group: a profile of the application catalogue",
            group,
            base,
        ),
        schema_json(
            SPC_SCHEMA,
            "ServiceProviderConfig",
            "Service Provider Configuration",
            spc,
            base,
        ),
        schema_json(
            RESOURCE_TYPE_SCHEMA,
            "ResourceType",
            "Resource Type",
            resource_type,
            base,
        ),
        schema_json(SCHEMA_SCHEMA, "Schema", "Schema definition", schema, base),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }

    #[test]
    fn filters_parse_with_precedence_and_urns() {
        let f = parse_filter(
            r#"userName eq "RSSMRA80A01H501U" and active eq true or not (externalId pr)"#,
        )
        .unwrap();
        let Filter::Or(left, right) = f else {
            panic!("or binds loosest")
        };
        assert!(matches!(*left, Filter::And(_, _)));
        assert!(matches!(*right, Filter::Not(_)));
        let f = parse_filter(&format!(
            r#"{EXTENSION_SCHEMA}:category eq "public_employee""#
        ))
        .unwrap();
        let Filter::Cmp(p, CmpOp::Eq, _) = f else {
            panic!()
        };
        assert_eq!(p.urn.as_deref(), Some(EXTENSION_SCHEMA));
        assert_eq!(p.attr, "category");
        let f = parse_filter(r#"emails[value eq "a@b.it"]"#).unwrap();
        assert!(matches!(f, Filter::ValuePath(_, _)));
        assert_eq!(
            path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName")
                .sub
                .as_deref(),
            Some("givenName")
        );
    }

    #[test]
    fn bad_filters_are_refused_with_a_reason() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName xx "a""#,
            r#"userName eq "a" and"#,
            r#"(userName eq "a""#,
            r#"userName eq "unterminated"#,
            r#"userName eq "a" extra"#,
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
        let deep = format!("{}userName pr{}", "(".repeat(100), ")".repeat(100));
        assert!(parse_filter(&deep).is_err());
    }

    #[test]
    fn user_filters_map_to_columns_and_unknown_ones_are_invalid() {
        let f = parse_filter(r#"emails[value eq "a@b.it"] and name.familyName sw "Ro""#).unwrap();
        assert!(user_condition(&f, None).is_ok());
        let f = parse_filter(r#"title eq "x""#).unwrap();
        let e = user_condition(&f, None).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidFilter"));
        let f = parse_filter(r#"emails[type eq "work"]"#).unwrap();
        assert!(user_condition(&f, None).is_err());
    }

    #[test]
    fn in_memory_evaluation_matches_multi_valued_attributes() {
        let g = json!({"id": "3", "displayName": "PTT - Ente impositore", "members": [{"value": "7"}, {"value": "9"}]});
        assert!(eval(
            &parse_filter(r#"displayName eq "ptt - ente impositore""#).unwrap(),
            &g
        ));
        assert!(eval(&parse_filter(r#"members[value eq "9"]"#).unwrap(), &g));
        assert!(eval(&parse_filter(r#"members.value eq "7""#).unwrap(), &g));
        assert!(!eval(&parse_filter(r#"members.value eq "8""#).unwrap(), &g));
        assert!(eval(
            &parse_filter(r#"displayName co "ente" and not (id eq "4")"#).unwrap(),
            &g
        ));
    }

    fn draft() -> UserDraft {
        UserDraft {
            user_name: "RSSMRA80A01H501U".into(),
            given_name: "Mario".into(),
            family_name: "Rossi".into(),
            email: "mario@example.it".into(),
            phone: None,
            active: true,
            external_id: None,
            category: "public_employee".into(),
        }
    }

    fn patch(d: &mut UserDraft, ops: Value) -> Result<(), ScimError> {
        apply_user_patch(d, &json!({"schemas": [PATCH_SCHEMA], "Operations": ops}))
    }

    #[test]
    fn user_patches_follow_the_paths_clients_send() {
        let mut d = draft();
        patch(
            &mut d,
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.it"},
                {"op": "add", "path": "phoneNumbers", "value": [{"value": "0532 123456", "type": "work"}]},
                {"op": "replace", "value": {"name.givenName": "Maria", "active": "False", "externalId": "HR-1"}},
                {"op": "replace", "path": format!("{EXTENSION_SCHEMA}:category"), "value": "contractor_employee"},
            ]),
        )
        .unwrap();
        assert_eq!(d.email, "new@example.it");
        assert_eq!(d.phone.as_deref(), Some("0532 123456"));
        assert_eq!(d.given_name, "Maria");
        assert!(!d.active);
        assert_eq!(d.external_id.as_deref(), Some("HR-1"));
        assert_eq!(d.category, "contractor_employee");
        patch(
            &mut d,
            json!([{"op": "remove", "path": "phoneNumbers[value eq \"0532 123456\"]"}]),
        )
        .unwrap();
        assert_eq!(d.phone, None);
        let e = patch(
            &mut d,
            json!([{"op": "remove", "path": "phoneNumbers[value eq \"x\"]"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("noTarget"));
    }

    #[test]
    fn user_patches_refuse_what_cannot_change() {
        let cases = [
            (
                json!([{"op": "replace", "path": "userName", "value": "VRDNNA82D50D548K"}]),
                "mutability",
            ),
            (json!([{"op": "remove", "path": "active"}]), "invalidValue"),
            (
                json!([{"op": "add", "path": "groups", "value": [{"value": "1"}]}]),
                "mutability",
            ),
            (
                json!([{"op": "add", "path": "nickName", "value": "x"}]),
                "invalidPath",
            ),
            (json!([{"op": "remove"}]), "noTarget"),
            (
                json!([{"op": "move", "path": "active", "value": true}]),
                "invalidSyntax",
            ),
            (json!([]), "invalidSyntax"),
        ];
        for (ops, expected) in cases {
            let mut d = draft();
            let e = patch(&mut d, ops.clone()).unwrap_err();
            assert_eq!(e.scim_type, Some(expected), "{ops}");
            assert_eq!(d, draft(), "a refused patch changes nothing");
        }
    }

    #[test]
    fn projection_keeps_id_and_schemas_and_handles_sub_attributes() {
        let v = json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "X",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@b.it"}],
            EXTENSION_SCHEMA: {"category": "c", "organization": "o"},
        });
        let p = Projection::new(&["name.familyName,emails".into()], &[]).unwrap();
        let out = p.apply(v.clone(), USER_SCHEMA);
        assert_eq!(out["id"], "1");
        assert_eq!(out["name"], json!({"familyName": "B"}));
        assert!(out.get("userName").is_none());
        assert!(out.get(EXTENSION_SCHEMA).is_none());
        let p = Projection::new(&[], &[format!("emails,{EXTENSION_SCHEMA}:organization")]).unwrap();
        let out = p.apply(v, USER_SCHEMA);
        assert!(out.get("emails").is_none());
        assert_eq!(out[EXTENSION_SCHEMA], json!({"category": "c"}));
    }
}
