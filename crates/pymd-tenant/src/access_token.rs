//! Verification of the tenant's own access tokens, for the endpoints that accept them as
//! bearer tokens: the Management API and `/userinfo`.

use serde_json::Value;

use crate::keys::VerifyError;
use crate::state::AppState;

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessError {
    /// Not a JWT of ours.
    Malformed,
    /// Bad signature / unknown kid.
    Signature,
    /// Past `exp`.
    Expired,
    /// Wrong `iss` or `aud`.
    Claims,
}

/// Verifies an access token issued by this tenant for `audience`; returns its claims.
///
/// # Errors
/// [`AccessError`] naming the failed check.
pub async fn verify_access(
    state: &AppState,
    token: &str,
    audience: &str,
) -> Result<Value, AccessError> {
    let claims = state.keys.verify(token).await.map_err(|e| match e {
        VerifyError::Malformed => AccessError::Malformed,
        VerifyError::Signature => AccessError::Signature,
    })?;
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|e| e <= state.clock.unix())
    {
        return Err(AccessError::Expired);
    }
    if claims.get("iss").and_then(Value::as_str) != Some(state.issuer.as_str()) {
        return Err(AccessError::Claims);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(AccessError::Claims);
    }
    Ok(claims)
}
