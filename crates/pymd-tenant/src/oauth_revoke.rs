//! `POST /oauth/revoke` (RFC 7009): revokes a refresh token's family for the authenticated
//! client; 200 with an empty body even for unknown tokens.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::OAuthError;
use crate::extract::ClientRequest;
use crate::state::AppState;

/// `POST /oauth/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    req: ClientRequest,
) -> Result<Response, OAuthError> {
    let client = req.auth.authenticate(&state.cfg).map_err(|e| {
        if e.status() == StatusCode::UNAUTHORIZED {
            OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed",
            )
        } else {
            e
        }
    })?;
    let Some(token) = req.params.get("token") else {
        return Err(OAuthError::invalid_request(
            "Missing required parameter: token",
        ));
    };
    state.refresh.revoke_token(token, &client.client_id).await;
    let mut r = StatusCode::OK.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
