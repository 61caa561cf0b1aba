//! The Management API's bearer check: a tenant-signed access token for the Management API
//! audience carrying any of the scopes an endpoint accepts, refused with Auth0's messages.

use axum::http::StatusCode;
use serde_json::Value;

use crate::access_token::{AccessError, verify_access};
use crate::error::ManagementError;
use crate::extract::Bearer;
use crate::scope::split_scope;
use crate::state::AppState;

/// Checks the bearer token: audience `ISSUER/api/v2/` and any of `scopes`; returns its claims.
///
/// # Errors
/// 401 for a missing or rejected token, 400 for a malformed header, 403
/// `insufficient_scope`.
pub async fn require(
    state: &AppState,
    bearer: Bearer,
    scopes: &[&str],
) -> Result<Value, ManagementError> {
    let token = match bearer {
        Bearer::Missing => {
            return Err(ManagementError::new(
                StatusCode::UNAUTHORIZED,
                "Missing authentication",
                None,
            ));
        }
        Bearer::Malformed => {
            return Err(ManagementError::new(
                StatusCode::BAD_REQUEST,
                "Bad HTTP authentication header format",
                Some("Bearer"),
            ));
        }
        Bearer::Token(t) => t,
    };
    let claims = verify_access(state, &token, &state.cfg.management_audience())
        .await
        .map_err(|e| {
            ManagementError::bad_token(match e {
                AccessError::Expired => "Expired token received for JSON Web Token validation",
                AccessError::Signature => {
                    "Invalid signature received for JSON Web Token validation"
                }
                AccessError::Malformed | AccessError::Claims => "Invalid token",
            })
        })?;
    let granted = split_scope(claims.get("scope").and_then(Value::as_str).unwrap_or(""));
    if !scopes.iter().any(|s| granted.iter().any(|g| g == s)) {
        return Err(ManagementError::new(
            StatusCode::FORBIDDEN,
            format!("Insufficient scope, expected any of: {}", scopes.join(",")),
            Some("insufficient_scope"),
        ));
    }
    Ok(claims)
}
