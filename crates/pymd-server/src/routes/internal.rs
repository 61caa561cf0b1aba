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
        let client = crate::request_meta::current()
            .and_then(|m| m.ip)
            .map(crate::limits::client_key);
        // A request without any credential is simply unauthenticated; the block only stops a
        // client that keeps guessing.
        let presents = parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION);
        if presents
            && let Some(client) = &client
            && let Some(left) = state.limiter.blocked(INTERNAL_BLOCK, client).await
        {
            let retry_after_secs = left.as_secs().max(1);
            return Err(ApiError::RateLimited { retry_after_secs });
        }
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
            failed(state, parts.uri.path(), client.as_deref()).await;
            Err(ApiError::InvalidToken("invalid internal token"))
        }
    }
}

/// Wrong internal bearers a client may send in a minute before it is refused for one.
const INTERNAL_FAILURES: pymd_limits::Limit = pymd_limits::Limit {
    name: "internal_failures",
    max: 10,
    window: std::time::Duration::from_secs(60),
};
/// The name internal-endpoint blocks are kept under.
const INTERNAL_BLOCK: &str = "internal";

/// A wrong bearer: counted per client (the tenth in a minute blocks the client from
/// `/internal/*` for a minute, answered 429), audited at most once per client and minute, so an
/// unauthenticated flood is neither a flood of rows nor an unlimited guessing oracle.
async fn failed(state: &AppState, path: &str, client: Option<&str>) {
    let Some(client) = client else {
        let path = path.to_owned();
        audit::record(state, Event::InternalAuthFailed { path }, None).await;
        return;
    };
    if crate::limits::first_this_minute(state, &format!("internal:{client}")).await {
        let path = path.to_owned();
        audit::record(state, Event::InternalAuthFailed { path }, None).await;
    }
    if let pymd_limits::Decision::Limited { .. } =
        state.limiter.check(&INTERNAL_FAILURES, client).await
    {
        state
            .limiter
            .block(INTERNAL_BLOCK, client, INTERNAL_FAILURES.window)
            .await;
        metrics::counter!(crate::limits::METRIC_LIMITED, "limit" => "internal_failures")
            .increment(1);
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
    responses((status = 200, body = SyncUserOutput), (status = 400), (status = 401), (status = 415), (status = 422), (status = 429)),
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
    responses((status = 200), (status = 400), (status = 401), (status = 415), (status = 429)),
    security(("internal" = [])))]
pub async fn log_stream(
    State(state): State<AppState>,
    _caller: InternalCaller,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<LogStreamOutput>> {
    // Auth0 sends `application/json` (a JSON array, or JSON lines); nothing else is taken.
    let media = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    if !matches!(
        media.as_deref(),
        Some("application/json" | "application/x-ndjson" | "application/jsonl")
    ) {
        return Err(ApiError::UnsupportedMediaType);
    }
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
