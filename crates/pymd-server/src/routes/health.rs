//! Liveness and readiness (spec §8): `/healthz` says the process is up; `/readyz` says the
//! database answers, and reports the IdP's keys and the rate-limit back end (Redis, or memory
//! while Redis is down) without failing on them, since the app keeps serving.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// Process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready to serve: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200), (status = 503)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.store.ping().await;
    let jwks = state.verifier.health();
    let idp = if jwks.keys > 0 && jwks.last_refresh_ok != Some(false) {
        "ok"
    } else {
        "degraded"
    };
    let (status, text) = match &database {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
    };
    let body = json!({
        "status": text,
        "checks": {
            "database": if database.is_ok() { "ok" } else { "unavailable" },
            "idp": idp,
            "idp_keys": jwks.keys,
            // Redis down is degraded, not unready: limits fall back to this instance's memory.
            "rate_limits": state.limiter.backend(),
        }
    });
    (status, Json(body))
}
