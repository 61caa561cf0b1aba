//! `POST /__dev/token`: mints a full user token set for a seeded or signed-up user without a
//! login (what `pymd token --user` calls): the client (default: the first regular web app),
//! audience (default: the tenant's) and scope (default: `openid profile email` plus every
//! scope of the API) may be given.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::guard::{DevJson, bad};
use crate::config::ClientConfig;
use crate::error::OAuthError;
use crate::extract::Caller;
use crate::mint::{UserGrant, mint_user_response};
use crate::postlogin::Protocol;
use crate::postlogin::{self, FlowContext};
use crate::respond::no_store_json;
use crate::scope::split_scope;
use crate::state::AppState;
use crate::util::random_urlsafe;

/// `POST /__dev/token`.
pub async fn dev_token(
    State(state): State<AppState>,
    caller: Caller,
    DevJson(v): DevJson,
) -> Result<Response, OAuthError> {
    let Some(who) = v.get("user").and_then(Value::as_str) else {
        return Err(bad("user (email or user_id) is required"));
    };
    let client = client(&state, &v)?;
    let audience = audience(&state, &v)?;
    let scope = scope(&state, &v, audience.as_deref());
    let Some(user) = state.users.find(who).await else {
        return Err(OAuthError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "The user does not exist.",
        )
        .plain());
    };
    if user.blocked {
        return Err(OAuthError::user_blocked());
    }
    // As a login would: the post-login flow runs (protocol of the code flow) and shapes the
    // tokens.
    let (sid, auth_time) = (random_urlsafe(32), state.clock.unix());
    let flow = FlowContext {
        client,
        caller: &caller,
        protocol: Protocol::AuthorizationCode,
        scope: &scope,
        audience: audience.as_deref(),
        redirect: None,
        session_id: &sid,
        auth_time,
    };
    let roles = user.roles.clone();
    let action = postlogin::run(&state, &user, flow)
        .await
        .map_err(|f| OAuthError::new(StatusCode::FORBIDDEN, "access_denied", f.description()))?;
    let grant = UserGrant {
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        audience,
        scope,
        nonce: None,
        sid,
        auth_time,
        roles,
        action,
    };
    match mint_user_response(&state, client, &user, &grant).await {
        Ok((body, _)) => Ok(no_store_json(StatusCode::OK, body)),
        Err(e) => {
            tracing::error!(error = %e, "dev token signing failed");
            Err(OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "signing failed",
            ))
        }
    }
}

/// The named client, or the first regular web application.
fn client<'a>(state: &'a AppState, v: &Value) -> Result<&'a ClientConfig, OAuthError> {
    let client_id = v
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            state
                .cfg
                .first_client_of_type("regular_web")
                .map(|c| c.client_id.clone())
        });
    client_id
        .as_deref()
        .and_then(|id| state.cfg.client(id))
        .ok_or_else(|| bad("unknown client_id"))
}

/// The named API (which must exist) or the tenant's default audience.
fn audience(state: &AppState, v: &Value) -> Result<Option<String>, OAuthError> {
    let audience = match v.get("audience").and_then(Value::as_str) {
        Some(a) => Some(a.to_string()),
        None => state.cfg.tenant.default_audience.clone(),
    };
    if let Some(a) = &audience
        && state.cfg.resource_server(a).is_none()
    {
        return Err(bad(format!("Service not found: {a}")));
    }
    Ok(audience)
}

/// The asked scope, or `openid profile email` plus every scope of the API.
fn scope(state: &AppState, v: &Value, audience: Option<&str>) -> Vec<String> {
    if let Some(s) = v.get("scope").and_then(Value::as_str) {
        return split_scope(s);
    }
    let mut s = split_scope("openid profile email");
    if let Some(rs) = audience.and_then(|a| state.cfg.resource_server(a)) {
        s.extend(rs.scopes.iter().map(|(v, _)| v.clone()));
    }
    s
}
