//! `GET|POST /userinfo` (§8): the latest profile for the token's scopes, or 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"` for missing, expired or foreign tokens.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::access_token::verify_access;
use crate::error::OAuthError;
use crate::extract::Bearer;
use crate::scope::split_scope;
use crate::state::AppState;

const INVALID: &str = "invalid or expired token";

/// `GET|POST /userinfo`.
pub async fn userinfo(
    State(state): State<AppState>,
    bearer: Bearer,
) -> Result<Response, OAuthError> {
    let Bearer::Token(token) = bearer else {
        return Err(OAuthError::invalid_token(
            "missing or malformed bearer token",
        ));
    };
    let (user_id, scope) = token_grant(&state, &token).await?;
    if !scope.iter().any(|s| s == "openid") {
        return Err(OAuthError::invalid_token(
            "the token was not issued with the openid scope",
        ));
    }
    let Some(user) = state.users.get(&user_id).await else {
        return Err(OAuthError::invalid_token("user not found"));
    };
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.user_id));
    user.profile_claims(&scope, &mut out);
    let mut r = (StatusCode::OK, axum::Json(Value::Object(out))).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The user and scopes a token grants: a JWT for the `/userinfo` audience or an opaque token.
async fn token_grant(state: &AppState, token: &str) -> Result<(String, Vec<String>), OAuthError> {
    if !token.contains('.') {
        let now = state.clock.unix();
        return match state.opaque.get(token, now).await {
            Some(o) => Ok((o.user_id, o.scope)),
            None => Err(OAuthError::invalid_token(INVALID)),
        };
    }
    let aud = format!("{}userinfo", state.issuer);
    let c = verify_access(state, token, &aud)
        .await
        .map_err(|_| OAuthError::invalid_token(INVALID))?;
    let sub = c.get("sub").and_then(Value::as_str).unwrap_or("");
    let scope = split_scope(c.get("scope").and_then(Value::as_str).unwrap_or(""));
    Ok((sub.to_string(), scope))
}
