//! `/api/v1/admin/*`: operator actions for callers with the `admin` role (read strictly from the
//! namespaced roles claim, `PYMD_ROLES_CLAIM`). A caller without it gets 403 `forbidden` and an
//! `admin_denied` audit event.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
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
        crate::audit::record(
            state,
            "admin_denied",
            "refused",
            Some(&principal.user.auth0_id),
            json!({ "path": parts.uri.path() }),
        )
        .await;
        Err(ApiError::Forbidden("the admin role is required"))
    }
}

/// Lift a client IP's block from `/auth/*` (set after too many failed logins).
#[utoipa::path(delete, path = "/api/v1/admin/blocks/{ip}", tag = "admin",
    params(("ip" = String, Path, description = "an IPv4 or IPv6 address")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn lift_block(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(ip): Path<String>,
) -> ApiResult<StatusCode> {
    let ip: IpAddr = ip.parse().map_err(|_| ApiError::Validation {
        field: "ip".into(),
        message: "must be an IPv4 or IPv6 address".into(),
    })?;
    if !state
        .limiter
        .unblock(crate::limits::AUTH_BLOCK, &ip.to_string())
        .await
    {
        return Err(ApiError::NotFound);
    }
    crate::audit::record(
        &state,
        "ip_unblocked",
        "success",
        Some(&admin.user.auth0_id),
        json!({ "ip": ip.to_string() }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
