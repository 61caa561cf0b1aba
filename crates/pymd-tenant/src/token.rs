//! `/oauth/token` and `/oauth/revoke` (stub while being built).

use axum::response::{IntoResponse, Response};
use axum::http::StatusCode;
use crate::state::AppState;

/// `POST /oauth/token`.
pub async fn token() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
/// `POST /oauth/revoke`.
pub async fn revoke() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }

/// Revokes every refresh-token family of a user; returns how many.
pub async fn revoke_user_families(state: &AppState, user_id: &str) -> usize {
    let mut store = state.refresh.lock().await;
    let mut n = 0;
    for f in store.families.values_mut() {
        if f.user_id == user_id && !f.revoked {
            f.revoked = true;
            n += 1;
        }
    }
    n
}
