//! `/api/v1/admin/*`: operator actions for callers with the `admin` role (read strictly from the
//! namespaced roles claim, `PYMD_ROLES_CLAIM`). A caller without it gets 403 `forbidden` and an
//! `admin_denied` audit event.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use pymd_domain::{PageRequest, User, UserId};
use pymd_storage::{AuditEvent, AuditFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::audit::{self, Event};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::principal::Principal;
use crate::state::AppState;

/// The role the admin routes need.
pub const ADMIN_ROLE: &str = "admin";

/// A caller with the `admin` role.
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal
            .roles(&state.config.roles_claim)
            .iter()
            .any(|r| r == ADMIN_ROLE)
        {
            return Ok(Admin(principal));
        }
        // One audit row per user and minute: a caller cannot turn refusals into a write flood.
        if crate::limits::first_this_minute(state, &format!("admin_denied:{}", principal.user_id.0))
            .await
        {
            let path = parts.uri.path().to_owned();
            let subject = Some(principal.token.sub.as_str());
            audit::record(state, Event::AdminDenied { path }, subject).await;
        }
        Err(ApiError::Forbidden("the admin role is required"))
    }
}

/// The block's address in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BlockPath {
    /// An IPv4 or IPv6 address (an IPv6 address names its /64).
    #[param(schema_with = ip_address_schema)]
    #[allow(dead_code)] // read through `Path<String>`; here for the document
    ip: String,
}

/// `anyOf` an IPv4 and an IPv6 address.
fn ip_address_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{
        AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
    };
    let address = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    let any = AnyOfBuilder::new()
        .item(address(KnownFormat::Ipv4))
        .item(address(KnownFormat::Ipv6))
        .build();
    utoipa::openapi::RefOr::T(Schema::AnyOf(any))
}

/// Lift a client IP's block from `/auth/*` (set after too many failed logins).
#[utoipa::path(delete, path = "/api/v1/admin/blocks/{ip}", tag = "admin",
    params(BlockPath),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn lift_block(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(ip): Path<String>,
) -> ApiResult<StatusCode> {
    // `::ffff:1.2.3.4` is 1.2.3.4; an IPv6 address names its /64 (how clients are keyed).
    let ip: IpAddr = ip.parse().map_err(|_| ApiError::Validation {
        field: "ip".into(),
        message: "must be an IPv4 or IPv6 address".into(),
    })?;
    if !state
        .limiter
        .unblock(crate::limits::AUTH_BLOCK, &crate::limits::client_key(ip))
        .await
    {
        return Err(ApiError::NotFound);
    }
    audit::record(
        &state,
        Event::IpUnblocked {
            ip: ip.to_canonical(),
        },
        Some(&admin.token.sub),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Validation {
        field: field.into(),
        message: message.into(),
    }
}

/// `?limit=` as the document list reads it: 1–100, default 50 (422 naming `limit` otherwise).
fn page_limit(limit: Option<&str>) -> Result<u32, ApiError> {
    Ok(PageRequest::new(limit, None)?.limit)
}

/// A user as an admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    /// The local user id.
    #[schema(value_type = String, format = Uuid)]
    user_id: String,
    /// The IdP's subject (`sub`).
    auth0_id: String,
    email: Option<String>,
    name: Option<String>,
    picture: Option<String>,
    email_verified: bool,
    #[schema(value_type = String, format = DateTime)]
    created_at: String,
    #[schema(value_type = String, format = DateTime)]
    updated_at: String,
}

impl From<User> for AdminUserView {
    fn from(u: User) -> Self {
        AdminUserView {
            user_id: u.id.to_string(),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
            auth0_id: u.auth0_id,
            email: u.email,
            name: u.name,
            picture: u.picture,
            email_verified: u.email_verified,
        }
    }
}

/// One page of users, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserList {
    users: Vec<AdminUserView>,
    /// Pass as `?cursor=` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// Paging parameters of the user list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct UserListParams {
    /// 1–100, default 50.
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List users, oldest first (keyset paged).
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(UserListParams),
    responses((status = 200, body = AdminUserList), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(params): ApiQuery<UserListParams>,
) -> ApiResult<Json<AdminUserList>> {
    let limit = page_limit(params.limit.as_deref())?;
    let after = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse()
                .map(UserId)
                .map_err(|_| invalid("cursor", "is invalid"))
        })
        .transpose()?;
    // One more than asked tells whether another page follows.
    let mut users = state.store.list_users(after, limit + 1).await?;
    let more = users.len() > limit as usize;
    users.truncate(limit as usize);
    let next_cursor = more
        .then(|| users.last().map(|u| u.id.to_string()))
        .flatten();
    Ok(Json(AdminUserList {
        users: users.into_iter().map(AdminUserView::from).collect(),
        next_cursor,
    }))
}

/// An audit event as an admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    id: i64,
    #[schema(value_type = String, format = DateTime)]
    at: String,
    event: String,
    /// `success`, `failure`, `refused`, …
    outcome: String,
    /// The IdP subject, when known.
    subject: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    #[schema(value_type = Object)]
    detail: serde_json::Value,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        AuditEventView {
            id: e.id,
            at: rfc3339(e.at),
            event: e.event.event,
            outcome: e.event.outcome,
            subject: e.event.subject,
            ip: e.event.ip,
            user_agent: e.event.user_agent,
            request_id: e.event.request_id,
            detail: e.event.detail,
        }
    }
}

/// One page of audit events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    events: Vec<AuditEventView>,
    /// Pass as `?cursor=` for the next (older) page; `null` on the last page.
    next_cursor: Option<String>,
}

/// Filter and paging parameters of the audit list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    /// Only events about this IdP subject (`sub`).
    user: Option<String>,
    /// Only events with this name, e.g. `login_failure`, `admin_denied`.
    event: Option<String>,
    /// Only events at or after this time (RFC 3339).
    since: Option<String>,
    /// Only events at or before this time (RFC 3339).
    until: Option<String>,
    /// 1–100, default 50.
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn time_param(field: &str, raw: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    raw.map(|t| {
        OffsetDateTime::parse(t, &Rfc3339)
            .map_err(|_| invalid(field, "must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z"))
    })
    .transpose()
}

fn text_param(field: &str, raw: Option<String>) -> Result<Option<String>, ApiError> {
    match raw {
        Some(v) if v.is_empty() => Err(invalid(field, "must not be empty")),
        other => Ok(other),
    }
}

impl AuditParams {
    /// The store filter (with `limit` one above the page size), or a 422 naming the bad field.
    fn filter(self) -> Result<AuditFilter, ApiError> {
        let limit = page_limit(self.limit.as_deref())?;
        let since = time_param("since", self.since.as_deref())?;
        let until = time_param("until", self.until.as_deref())?;
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err(invalid("until", "must not be before since"));
        }
        let before_id = self
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| invalid("cursor", "is invalid"))
            })
            .transpose()?;
        Ok(AuditFilter {
            subject: text_param("user", self.user)?,
            event: text_param("event", self.event)?,
            since,
            until,
            before_id,
            limit: limit + 1,
        })
    }
}

/// List audit events, newest first, optionally by user, event and time.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditParams),
    responses((status = 200, body = AuditEventList), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn list_audit(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditEventList>> {
    let filter = params.filter()?;
    let page = (filter.limit - 1) as usize;
    let mut events = state.store.list_audit(&filter).await?;
    let more = events.len() > page;
    events.truncate(page);
    let next_cursor = more
        .then(|| events.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(Json(AuditEventList {
        events: events.into_iter().map(AuditEventView::from).collect(),
        next_cursor,
    }))
}
