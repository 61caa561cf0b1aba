//! Test controls under `/__dev/*` (only when `dev_controls` is on): key rotation and
//! revocation, fault injection for JWKS/token/discovery, the tenant clock, refresh-token
//! revocation, direct token minting (`pymd token --user`), the log and the dev mailbox.
//! They are unauthenticated, so they answer only to loopback peers (see [`guard`]).

pub mod guard;
pub mod user_token;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::error::OAuthError;
use crate::extract::QueryParams;
use crate::state::AppState;
use crate::store::faults::FaultSettings;
use guard::{DevJson, bad};

/// The `/__dev` routes.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/keys/rotate", post(rotate))
        .route("/keys/revoke", post(revoke))
        .route(
            "/faults",
            post(set_faults).delete(clear_faults).get(get_faults),
        )
        .route("/clock", post(set_clock).get(get_clock))
        .route(
            "/users/{user_id}/revoke-refresh-tokens",
            post(revoke_user_rts),
        )
        .route("/token", post(user_token::dev_token))
        .route("/logs", get(logs))
        .route("/actions/console", get(action_console))
        .route("/mailbox", get(mailbox))
        .layer(axum::middleware::from_fn_with_state(
            state,
            guard::loopback_only,
        ))
}

async fn rotate(State(state): State<AppState>) -> Result<Response, OAuthError> {
    match state.keys.rotate(state.clock.unix()).await {
        Ok(kid) => Ok(axum::Json(json!({"kid": kid})).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "key rotation failed");
            Err(OAuthError::bare(
                StatusCode::INTERNAL_SERVER_ERROR,
                "rotation failed",
            ))
        }
    }
}

async fn revoke(
    State(state): State<AppState>,
    DevJson(v): DevJson,
) -> Result<Response, OAuthError> {
    let Some(kid) = v.get("kid").and_then(Value::as_str) else {
        return Err(bad("kid is required"));
    };
    state
        .keys
        .revoke(kid)
        .await
        .map_err(|e| bad(e.to_string()))?;
    Ok(axum::Json(json!({"kid": kid, "revoked": true})).into_response())
}

async fn set_faults(
    State(state): State<AppState>,
    DevJson(v): DevJson,
) -> Result<Response, OAuthError> {
    let new: FaultSettings =
        serde_json::from_value(v.clone()).map_err(|e| bad(format!("invalid faults: {e}")))?;
    // Parts not mentioned keep their current setting; `null` clears one.
    let mentioned = |k: &str| v.as_object().is_some_and(|o| o.contains_key(k));
    let now = state.faults.update(new, mentioned).await;
    Ok(axum::Json(json!(now)).into_response())
}

async fn clear_faults(State(state): State<AppState>) -> Response {
    state.faults.clear().await;
    StatusCode::NO_CONTENT.into_response()
}

async fn get_faults(State(state): State<AppState>) -> Response {
    axum::Json(json!(state.faults.current().await)).into_response()
}

async fn set_clock(
    State(state): State<AppState>,
    DevJson(v): DevJson,
) -> Result<Response, OAuthError> {
    let Some(off) = v.get("offset_secs").and_then(Value::as_i64) else {
        return Err(bad("offset_secs (integer) is required"));
    };
    state.clock.set_offset(off);
    Ok(get_clock(State(state)).await)
}

async fn get_clock(State(state): State<AppState>) -> Response {
    axum::Json(json!({"offset_secs": state.clock.offset(), "now": state.clock.unix()}))
        .into_response()
}

async fn revoke_user_rts(State(state): State<AppState>, Path(user_id): Path<String>) -> Response {
    let n = state.refresh.revoke_user(&user_id).await;
    axum::Json(json!({"user_id": user_id, "revoked_families": n})).into_response()
}

async fn logs(State(state): State<AppState>) -> Response {
    axum::Json(Value::Array(state.logs.all())).into_response()
}

/// What the post-login Actions wrote with `console.*`, oldest first (Auth0 shows it in the
/// Action's real-time logs).
async fn action_console(State(state): State<AppState>) -> Response {
    axum::Json(state.post_login.console()).into_response()
}

async fn mailbox(State(state): State<AppState>, q: QueryParams, headers: HeaderMap) -> Response {
    let mails = state.mailbox.all().await;
    let want_json = q.get("format").map(String::as_str) == Some("json")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("application/json"));
    if want_json {
        let list: Vec<Value> = mails
            .iter()
            .map(|m| {
                json!({"to": m.to, "subject": m.subject, "link": m.link, "user_id": m.user_id,
                       "sent_at": m.sent_at, "used": m.used})
            })
            .collect();
        return axum::Json(Value::Array(list)).into_response();
    }
    let rows: Vec<crate::html::MailRow<'_>> = mails
        .iter()
        .rev()
        .map(|m| crate::html::MailRow {
            to: &m.to,
            subject: &m.subject,
            link: &m.link,
            used: m.used,
        })
        .collect();
    crate::html::mailbox(&rows)
}
