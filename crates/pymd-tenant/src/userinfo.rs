//! `GET|POST /userinfo` (§8): the latest profile for the token's scopes, or 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"` for missing, expired or foreign tokens.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::state::AppState;
use crate::tokens::{bearer, verify_access};

fn unauthorized(description: &str) -> Response {
    let mut r = (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    let v = format!(
        "Bearer realm=\"userinfo\", error=\"invalid_token\", error_description=\"{description}\""
    );
    if let Ok(v) = HeaderValue::from_str(&v) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// `GET|POST /userinfo`.
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(Ok(token)) = bearer(&headers) else {
        return unauthorized("missing or malformed bearer token");
    };
    let (user_id, scope) = if token.contains('.') {
        let aud = format!("{}userinfo", state.issuer);
        match verify_access(&state, &token, &aud).await {
            Ok(c) => (
                c.get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                crate::tokens::split_scope(c.get("scope").and_then(Value::as_str).unwrap_or("")),
            ),
            Err(_) => return unauthorized("invalid or expired token"),
        }
    } else {
        let now = state.clock.unix();
        match state.opaque.lock().await.get(&token) {
            Some(o) if o.exp > now => (o.user_id.clone(), o.scope.clone()),
            _ => return unauthorized("invalid or expired token"),
        }
    };
    if !scope.iter().any(|s| s == "openid") {
        return unauthorized("the token was not issued with the openid scope");
    }
    let Some(user) = state.users.read().await.get(&user_id).cloned() else {
        return unauthorized("user not found");
    };
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.user_id));
    user.profile_claims(&scope, &mut out);
    out.insert(state.opts.roles_claim.clone(), json!(user.roles));
    let mut r = (StatusCode::OK, axum::Json(Value::Object(out))).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
