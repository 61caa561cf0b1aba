//! A small Auth0 Management API client: gets (and caches) an M2M token with client credentials,
//! and patches users. Used for profile changes, so that Auth0 stays the source of truth.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use pymd_domain::ProfilePatch;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use crate::error::ApiError;

/// The Management API client.
pub struct ManagementClient {
    http: reqwest::Client,
    /// Issuer base URL, ending in `/` (`https://tenant.auth0.com/`).
    issuer: Url,
    credentials: Option<(String, SecretString)>,
    token: Mutex<Option<(SecretString, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

fn upstream(status: StatusCode, description: &'static str, cause: impl Into<String>) -> ApiError {
    ApiError::Upstream {
        status,
        description,
        cause: cause.into(),
    }
}

impl ManagementClient {
    /// A client for the tenant at `issuer`, authenticating with the M2M client's credentials.
    pub fn new(
        http: reqwest::Client,
        issuer: Url,
        credentials: Option<(String, SecretString)>,
    ) -> Self {
        ManagementClient {
            http,
            issuer,
            credentials,
            token: Mutex::new(None),
        }
    }

    async fn token(&self) -> Result<SecretString, ApiError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let Some((client_id, client_secret)) = &self.credentials else {
            return Err(upstream(
                StatusCode::SERVICE_UNAVAILABLE,
                "profile changes are not configured (AUTH0_M2M_CLIENT_ID / AUTH0_M2M_CLIENT_SECRET)",
                "no M2M credentials",
            ));
        };
        let url = self
            .issuer
            .join("oauth/token")
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let audience = self
            .issuer
            .join("api/v2/")
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let response = self
            .http
            .post(url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.expose_secret()),
                ("audience", audience.as_str()),
            ])
            .send()
            .await
            .map_err(|e| {
                upstream(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the identity provider is unreachable; nothing was changed",
                    e.to_string(),
                )
            })?;
        if !response.status().is_success() {
            let status = response.status();
            return Err(upstream(
                if status.is_server_error() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::BAD_GATEWAY
                },
                "the identity provider refused PyMD's management credentials; nothing was changed",
                format!("token endpoint answered {status}"),
            ));
        }
        let body: TokenResponse = response.json().await.map_err(|e| {
            upstream(
                StatusCode::BAD_GATEWAY,
                "the identity provider gave an unreadable answer; nothing was changed",
                e.to_string(),
            )
        })?;
        let lifetime =
            Duration::from_secs(body.expires_in.unwrap_or(3600).saturating_sub(60).max(1));
        let token = SecretString::from(body.access_token);
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Applies a profile patch to the Auth0 user `auth0_id` (`bio` goes to `user_metadata`).
    ///
    /// # Errors
    /// [`ApiError::Upstream`]: 503 when Auth0 cannot be reached or fails, 502 when it refuses.
    pub async fn update_user(&self, auth0_id: &str, patch: &ProfilePatch) -> Result<(), ApiError> {
        let token = self.token().await?;
        let mut body = serde_json::Map::new();
        if let Some(name) = &patch.name {
            body.insert("name".into(), name.clone().into());
        }
        if let Some(picture) = &patch.picture {
            body.insert("picture".into(), picture.clone().into());
        }
        if let Some(bio) = &patch.bio {
            body.insert("user_metadata".into(), serde_json::json!({ "bio": bio }));
        }
        let mut url = self
            .issuer
            .join("api/v2/users/")
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|_| ApiError::Internal("issuer URL cannot be a base".into()))?
            .pop_if_empty()
            .push(auth0_id);
        let response = self
            .http
            .patch(url)
            .bearer_auth(token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                upstream(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the identity provider is unreachable; nothing was changed",
                    e.to_string(),
                )
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status == StatusCode::UNAUTHORIZED {
            *self.token.lock().await = None;
        }
        Err(upstream(
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_GATEWAY
            },
            "the identity provider refused the profile change; nothing was changed",
            format!("Management API answered {status}"),
        ))
    }
}
