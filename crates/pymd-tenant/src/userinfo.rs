//! `/userinfo` (stub while being built).
use axum::response::{IntoResponse, Response};
use axum::http::StatusCode;
/// `GET|POST /userinfo`.
pub async fn userinfo() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
