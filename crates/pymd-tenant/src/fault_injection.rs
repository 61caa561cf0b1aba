//! Injected faults applied in front of the JWKS, token and discovery endpoints (as route
//! layers, so a fault answers before the request body is read): the configured delay, then
//! the configured status if it is not a success status.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::OAuthError;
use crate::state::AppState;
use crate::store::faults::FaultTarget;

/// Faults of `/oauth/token`: an OAuth `server_error`.
pub async fn token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    strike(&state, FaultTarget::Token, req, next).await
}

/// Faults of `/.well-known/jwks.json`.
pub async fn jwks(State(state): State<AppState>, req: Request, next: Next) -> Response {
    strike(&state, FaultTarget::Jwks, req, next).await
}

/// Faults of the discovery documents.
pub async fn discovery(State(state): State<AppState>, req: Request, next: Next) -> Response {
    strike(&state, FaultTarget::Discovery, req, next).await
}

async fn strike(state: &AppState, target: FaultTarget, req: Request, next: Next) -> Response {
    // A 2xx status (or none) means "healthy, after the delay": serve the real answer.
    let status = state
        .faults
        .strike(target)
        .await
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| !s.is_success());
    match (status, target) {
        (None, _) => next.run(req).await,
        (Some(s), FaultTarget::Token) => {
            OAuthError::new(s, "server_error", "Injected fault (dev tenant)").into_response()
        }
        (Some(s), _) => OAuthError::bare(s, "injected fault").into_response(),
    }
}
