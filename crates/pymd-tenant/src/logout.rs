//! Logout endpoints (stub while being built).
use axum::response::{IntoResponse, Response};
use axum::http::StatusCode;
/// `GET /v2/logout`.
pub async fn v2_logout() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
/// `GET /oidc/logout`.
pub async fn oidc_logout_get() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
/// `POST /oidc/logout`.
pub async fn oidc_logout_post() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
