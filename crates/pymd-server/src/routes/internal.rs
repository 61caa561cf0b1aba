//! `/internal/*`: webhooks called by the IdP, not by browsers. They authenticate with the shared
//! `INTERNAL_API_TOKEN` (compared in constant time) — a separate credential class from user
//! access tokens, which are refused here.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use pymd_domain::SyncUser;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::audit::{self, Event};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::principal::{bearer_token, refuse_query_token};
use crate::service::{log_stream, login};
use crate::state::AppState;

/// Proof that the request carried the internal bearer secret.
pub struct InternalCaller;

/// Compares two secrets in time that depends only on their lengths' digests, not on where
/// they first differ.
fn secrets_match(presented: &[u8], expected: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let a = Sha256::digest(presented);
    let b = Sha256::digest(expected);
    a.ct_eq(&b).into()
}

impl FromRequestParts<AppState> for InternalCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_query_token(parts).map_err(|_| ApiError::Unauthenticated)?;
        let presented = bearer_token(parts).map_err(|e| match e {
            ApiError::InvalidToken(_) => ApiError::InvalidToken("invalid internal token"),
            _ => ApiError::Unauthenticated,
        })?;
        if secrets_match(
            presented.as_bytes(),
            state.internal_token.expose_secret().as_bytes(),
        ) {
            Ok(InternalCaller)
        } else {
            let path = parts.uri.path().to_owned();
            audit::record(state, Event::InternalAuthFailed { path }, None).await;
            Err(ApiError::InvalidToken("invalid internal token"))
        }
    }
}

/// The post-login Action's body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncUserInput {
    auth0_id: String,
    email: String,
    name: Option<String>,
    picture: Option<String>,
    email_verified: Option<bool>,
}

/// The sync answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncUserOutput {
    success: bool,
    #[schema(format = Uuid)]
    user_id: String,
}

/// Called by the post-login Action on every login: creates or updates the local user.
/// Idempotent.
#[utoipa::path(post, path = "/internal/auth/sync-user", tag = "internal", request_body = SyncUserInput,
    responses((status = 200, body = SyncUserOutput), (status = 401), (status = 422)),
    security(("internal" = [])))]
pub async fn sync_user(
    State(state): State<AppState>,
    _caller: InternalCaller,
    ApiJson(input): ApiJson<SyncUserInput>,
) -> ApiResult<Json<SyncUserOutput>> {
    let sync = SyncUser {
        auth0_id: input.auth0_id,
        email: Some(input.email),
        name: input.name,
        picture: input.picture,
        email_verified: input.email_verified,
    };
    let user = login::sync_user(&state, sync).await?;
    Ok(Json(SyncUserOutput {
        success: true,
        user_id: user.id.to_string(),
    }))
}

/// How many events of a log-stream batch were accepted.
#[derive(Debug, Serialize)]
pub struct LogStreamOutput {
    accepted: usize,
}

/// Auth0 Log Streams custom webhook: a JSON array (or newline-delimited JSON) of Auth0 log
/// events, read and acted on by [`crate::service::log_stream`]. Failed logins and blocks become
/// audit events.
#[utoipa::path(post, path = "/internal/auth0/log-stream", tag = "internal",
    request_body(content = Vec<serde_json::Value>, description = "Auth0 log events: a JSON array or newline-delimited JSON"),
    responses((status = 200), (status = 401), (status = 400)),
    security(("internal" = [])))]
pub async fn log_stream(
    State(state): State<AppState>,
    _caller: InternalCaller,
    body: axum::body::Bytes,
) -> ApiResult<Json<LogStreamOutput>> {
    let events = log_stream::parse_batch(&body)?;
    let accepted = log_stream::ingest(&state, &events).await;
    Ok(Json(LogStreamOutput { accepted }))
}

#[cfg(test)]
mod tests {
    use super::secrets_match;

    #[test]
    fn only_the_exact_secret_matches() {
        let s = b"internal-secret-0123456789";
        assert!(secrets_match(s, s));
        for bad in [
            &b"internal-secret-012345678"[..],
            b"internal-secret-01234567890",
            b"Internal-secret-0123456789",
            b"internal-secret-0123456789\n",
            b"",
        ] {
            assert!(!secrets_match(bad, s));
        }
    }
}
