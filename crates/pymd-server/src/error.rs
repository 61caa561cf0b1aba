//! The API's one error type and its one `IntoResponse`: every failure becomes
//! `{"error","error_description"}` with the status and headers of spec §3 and RFC 6750. The cause
//! of a 5xx is logged here, once, and never sent to the client. The lower layers' errors
//! ([`ServiceError`], [`ManagementError`], [`StoreError`], [`DomainError`], [`VerifyError`]) are
//! mapped by the `From` impls below, so handlers use `?`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pymd_auth::VerifyError;
use pymd_domain::DomainError;
use pymd_storage::StoreError;
use serde::Serialize;

use crate::management::ManagementError;
use crate::service::ServiceError;

/// What a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_request`.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// 400 with an OAuth error code (`invalid_grant`, ...): the SPA token API passes the IdP's
    /// refusal through, from a fixed set of codes.
    #[error("{code}: {description}")]
    OAuth {
        code: &'static str,
        description: String,
    },
    /// 401 without `error=` (no credentials were presented).
    #[error("authentication required")]
    Unauthenticated,
    /// 401 `invalid_token` (credentials were presented and refused).
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// 403 `insufficient_scope`, naming the permission needed.
    #[error("insufficient scope: {0}")]
    InsufficientScope(&'static str),
    /// 403 `forbidden`.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 404 `not_found`.
    #[error("not found")]
    NotFound,
    /// 405 `method_not_allowed` (the route exists; its `Allow` header names the methods).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409 `conflict`.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412 `precondition_failed`.
    #[error("precondition failed")]
    PreconditionFailed,
    /// 413 `payload_too_large`.
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// 415 `unsupported_media_type`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422 `validation_failed`, naming the field.
    #[error("validation failed: {field}: {message}")]
    Validation { field: String, message: String },
    /// 429 `rate_limited` with `Retry-After` seconds.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// 502/503 `upstream_unavailable`: the IdP, the Management API or the database.
    #[error("upstream unavailable: {description}")]
    Upstream {
        status: StatusCode,
        description: &'static str,
        cause: String,
    },
    /// 500: a bug or broken dependency; the cause goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl ApiError {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientScope(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::OAuth { .. } => StatusCode::BAD_REQUEST,
            ApiError::Upstream { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` code of the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::Unauthenticated | ApiError::InvalidToken(_) => "invalid_token",
            ApiError::InsufficientScope(_) => "insufficient_scope",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed => "precondition_failed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::OAuth { code, .. } => code,
            ApiError::Upstream { .. } => "upstream_unavailable",
            ApiError::Internal(_) => "server_error",
        }
    }

    fn description(&self) -> String {
        match self {
            ApiError::InvalidRequest(d) => d.clone(),
            ApiError::Unauthenticated => "an access token is required".into(),
            ApiError::InvalidToken(d) => (*d).into(),
            ApiError::InsufficientScope(p) => format!("the {p} permission is required"),
            ApiError::Forbidden(d) => (*d).into(),
            ApiError::NotFound => "the resource does not exist".into(),
            ApiError::MethodNotAllowed => {
                "this method is not allowed here (see the Allow header)".into()
            }
            ApiError::Conflict(d) => d.clone(),
            ApiError::PreconditionFailed => {
                "the document changed since it was read (If-Match does not match)".into()
            }
            ApiError::PayloadTooLarge(d) => d.clone(),
            ApiError::UnsupportedMediaType => "the body must be application/json".into(),
            ApiError::Validation { field, message } => format!("{field}: {message}"),
            ApiError::RateLimited { .. } => "too many requests; retry later".into(),
            ApiError::OAuth { description, .. } => description.clone(),
            ApiError::Upstream { description, .. } => (*description).into(),
            ApiError::Internal(_) => "internal error".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(cause) => tracing::error!(error = %cause, "request failed"),
            ApiError::Upstream { cause, .. } => {
                tracing::warn!(error = %cause, status = status.as_u16(), "upstream unavailable")
            }
            _ => {}
        }
        let description = self.description();
        let body = Body {
            error: self.code(),
            error_description: &description,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        let www = match &self {
            ApiError::Unauthenticated => Some("Bearer realm=\"pymd\"".to_owned()),
            ApiError::InvalidToken(d) => Some(format!(
                "Bearer realm=\"pymd\", error=\"invalid_token\", error_description=\"{d}\""
            )),
            ApiError::InsufficientScope(p) => Some(format!(
                "Bearer realm=\"pymd\", error=\"insufficient_scope\", scope=\"{p}\""
            )),
            _ => None,
        };
        if let Some(v) = www.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, v);
        }
        match &self {
            ApiError::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Upstream { status, .. } if *status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::TooLarge { field, limit } => {
                ApiError::PayloadTooLarge(format!("{field} is larger than {limit} bytes"))
            }
            DomainError::Invalid { field, message } => ApiError::Validation {
                field: field.to_owned(),
                message: message.into_owned(),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::VersionConflict { .. } => ApiError::PreconditionFailed,
            StoreError::Unavailable(cause) => ApiError::Upstream {
                status: StatusCode::SERVICE_UNAVAILABLE,
                description: "the database is unavailable; retry later",
                cause,
            },
            StoreError::Config(cause) | StoreError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        if e.is_unavailable() {
            ApiError::Upstream {
                status: StatusCode::SERVICE_UNAVAILABLE,
                description: "the identity provider's keys are unavailable; retry later",
                cause: e.to_string(),
            }
        } else {
            ApiError::InvalidToken(e.description())
        }
    }
}

impl From<ManagementError> for ApiError {
    fn from(e: ManagementError) -> Self {
        match e {
            ManagementError::BadIssuer(cause) => ApiError::Internal(cause),
            other => ApiError::Upstream {
                status: if other.is_transient() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::BAD_GATEWAY
                },
                description: other.description(),
                cause: other.to_string(),
            },
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(e) => e.into(),
            ServiceError::NotFound => ApiError::NotFound,
            ServiceError::NotOwner => ApiError::Forbidden("this document belongs to another user"),
            ServiceError::VersionMismatch => ApiError::PreconditionFailed,
            ServiceError::Management(e) => e.into(),
            ServiceError::ProfileNotStored(e) | ServiceError::Store(e) => e.into(),
            ServiceError::MalformedLogBatch => ApiError::InvalidRequest(
                "the body must be a JSON array or newline-delimited JSON of log events".into(),
            ),
        }
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
