//! The tenant's two response-facing error types, each with one `IntoResponse`:
//! [`OAuthError`] for the Authentication API (token-endpoint JSON, the browser-facing error
//! page, the error redirect to the client's `redirect_uri`, `/userinfo`'s bearer challenge)
//! and [`ManagementError`] for the Management API's `{"statusCode","error","message"}`
//! envelope. Bodies, statuses and headers are Auth0's (auth0-surface §4.8, §3.2, §8, §12).

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::html;
use crate::respond::{add_query, found, no_store_json};

/// How an [`OAuthError`] is rendered.
#[derive(Debug, Clone)]
enum Shape {
    /// `{"error","error_description"}` JSON.
    Json {
        /// With `Cache-Control: no-store` and `Pragma: no-cache` (every token-endpoint answer).
        no_store: bool,
        /// An `error_uri` member.
        error_uri: Option<&'static str>,
        /// `WWW-Authenticate: Basic realm="oauth"` (HTTP Basic client authentication failed).
        basic_challenge: bool,
    },
    /// `{"error"}` JSON alone (dev-control failures without a description).
    Bare,
    /// The HTML error page.
    Page,
    /// A 302 to the client's redirect URI with `error`, `error_description` and `state`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
    },
    /// `/userinfo`'s 401 `Unauthorized` with `WWW-Authenticate: Bearer … invalid_token`.
    BearerChallenge,
}

/// An Authentication API error: an OAuth error code, a description and how to answer.
#[derive(Debug, Clone)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: Cow<'static, str>,
    shape: Shape,
}

impl OAuthError {
    /// A no-store JSON error.
    pub fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> OAuthError {
        OAuthError {
            status,
            error,
            description: description.into(),
            shape: Shape::Json {
                no_store: true,
                error_uri: None,
                basic_challenge: false,
            },
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 403 `invalid_grant`.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(StatusCode::FORBIDDEN, "invalid_grant", description)
    }

    /// 403 `access_denied`.
    pub fn access_denied(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(StatusCode::FORBIDDEN, "access_denied", description)
    }

    /// 401 `unauthorized` "user is blocked".
    pub fn user_blocked() -> OAuthError {
        OAuthError::new(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked")
    }

    /// 500 `server_error` "Internal error" (the cause is logged by the caller, never shown).
    pub fn internal() -> OAuthError {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal error",
        )
    }

    /// 403 `unauthorized_client` for a grant type the client may not use.
    pub fn grant_not_allowed(grant_type: &str) -> OAuthError {
        OAuthError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            format!("Grant type '{grant_type}' not allowed for the client."),
        )
    }

    /// 401 `access_denied` "Unauthorized": client authentication failed.
    pub fn client_unauthorized(basic_used: bool) -> OAuthError {
        let e = OAuthError::new(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
        if basic_used {
            e.with_basic_challenge()
        } else {
            e
        }
    }

    /// The same error as JSON without the no-store headers (`/__dev` answers).
    pub fn plain(mut self) -> OAuthError {
        if let Shape::Json { no_store, .. } = &mut self.shape {
            *no_store = false;
        }
        self
    }

    /// Adds an `error_uri` member.
    pub fn with_error_uri(mut self, uri: &'static str) -> OAuthError {
        if let Shape::Json { error_uri, .. } = &mut self.shape {
            *error_uri = Some(uri);
        }
        self
    }

    /// Adds `WWW-Authenticate: Basic realm="oauth"`.
    pub fn with_basic_challenge(mut self) -> OAuthError {
        if let Shape::Json {
            basic_challenge, ..
        } = &mut self.shape
        {
            *basic_challenge = true;
        }
        self
    }

    /// `{"error": error}` alone, without cache headers.
    pub fn bare(status: StatusCode, error: &'static str) -> OAuthError {
        OAuthError {
            status,
            error,
            description: Cow::Borrowed(""),
            shape: Shape::Bare,
        }
    }

    /// The HTML error page.
    pub fn page(
        status: StatusCode,
        error: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> OAuthError {
        OAuthError {
            status,
            error,
            description: description.into(),
            shape: Shape::Page,
        }
    }

    /// A 400 `invalid_request` HTML error page.
    pub fn bad_page(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::page(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// A redirect to the client with the error (its `state` echoed).
    pub fn redirect(
        redirect_uri: &str,
        state: Option<&str>,
        error: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> OAuthError {
        OAuthError {
            status: StatusCode::FOUND,
            error,
            description: description.into(),
            shape: Shape::Redirect {
                redirect_uri: redirect_uri.to_string(),
                state: state.map(str::to_string),
            },
        }
    }

    /// `/userinfo`'s 401 bearer challenge.
    pub fn invalid_token(description: &'static str) -> OAuthError {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: Cow::Borrowed(description),
            shape: Shape::BearerChallenge,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The human description (what the tenant log records).
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, error, description) = (self.status, self.error, self.description);
        match self.shape {
            Shape::Json {
                no_store,
                error_uri,
                basic_challenge,
            } => {
                let mut body = json!({"error": error, "error_description": description});
                if let Some(uri) = error_uri {
                    body["error_uri"] = json!(uri);
                }
                let mut r = if no_store {
                    no_store_json(status, body)
                } else {
                    (status, axum::Json(body)).into_response()
                };
                if basic_challenge {
                    r.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"oauth\""),
                    );
                }
                r
            }
            Shape::Bare => (status, axum::Json(json!({"error": error}))).into_response(),
            Shape::Page => html::error_page(status, error, &description),
            Shape::Redirect {
                redirect_uri,
                state,
            } => {
                let mut params = vec![("error", error), ("error_description", &description)];
                if let Some(s) = &state {
                    params.push(("state", s));
                }
                found(&add_query(&redirect_uri, &params))
            }
            Shape::BearerChallenge => {
                let mut r = (status, "Unauthorized").into_response();
                let v = format!(
                    "Bearer realm=\"userinfo\", error=\"invalid_token\", error_description=\"{description}\""
                );
                if let Ok(v) = HeaderValue::from_str(&v) {
                    r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                r
            }
        }
    }
}

/// A Management API error: `{"statusCode","error","message"[,"errorCode"]}` with
/// `application/json; charset=utf-8`.
#[derive(Debug, Clone)]
pub struct ManagementError {
    status: StatusCode,
    message: Cow<'static, str>,
    code: Option<&'static str>,
    /// Token failures repeat the message under `attributes.error`.
    attributes: bool,
}

impl ManagementError {
    /// An error with an optional `errorCode`.
    pub fn new(
        status: StatusCode,
        message: impl Into<Cow<'static, str>>,
        code: Option<&'static str>,
    ) -> ManagementError {
        ManagementError {
            status,
            message: message.into(),
            code,
            attributes: false,
        }
    }

    /// A 401 for a rejected access token.
    pub fn bad_token(message: &'static str) -> ManagementError {
        ManagementError {
            attributes: true,
            ..ManagementError::new(StatusCode::UNAUTHORIZED, message, None)
        }
    }

    /// 400 `invalid_body` "Payload validation error: …".
    pub fn invalid_body(detail: &str) -> ManagementError {
        ManagementError::new(
            StatusCode::BAD_REQUEST,
            format!("Payload validation error: {detail}"),
            Some("invalid_body"),
        )
    }

    /// 404 `inexistent_user`.
    pub fn inexistent_user() -> ManagementError {
        ManagementError::new(
            StatusCode::NOT_FOUND,
            "The user does not exist.",
            Some("inexistent_user"),
        )
    }

    /// 500 "Internal error".
    pub fn internal() -> ManagementError {
        ManagementError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", None)
    }
}

impl IntoResponse for ManagementError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "statusCode": self.status.as_u16(),
            "error": self.status.canonical_reason().unwrap_or(""),
            "message": self.message,
        });
        if let Some(c) = self.code {
            body["errorCode"] = json!(c);
        }
        if self.attributes {
            body["attributes"] = json!({"error": self.message});
        }
        management_json(self.status, body)
    }
}

/// A Management API JSON answer (`application/json; charset=utf-8`).
pub fn management_json(status: StatusCode, body: Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}
