//! `/authorize` and the Universal-Login-style pages (stub while being built).

use axum::response::{IntoResponse, Response};
use axum::http::StatusCode;

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// Client.
    pub client_id: String,
}

/// `GET /authorize`.
pub async fn authorize() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
/// `GET /u/login`.
pub async fn login_page() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
/// `POST /u/login`.
pub async fn login_submit() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
/// `GET /u/signup`.
pub async fn signup_page() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
/// `POST /u/signup`.
pub async fn signup_submit() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
/// `GET /u/email-verification`.
pub async fn verify_email() -> Response { StatusCode::NOT_IMPLEMENTED.into_response() }
