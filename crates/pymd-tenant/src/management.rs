//! Management API v2 subset (stub while being built).
use axum::Router;
use crate::state::AppState;
/// `/api/v2` routes.
pub fn router(_state: AppState) -> Router<AppState> { Router::new() }
