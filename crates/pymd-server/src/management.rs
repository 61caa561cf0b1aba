//! A small Auth0 Management API client: gets (and caches) an M2M token with client credentials,
//! and patches users. Used for profile changes, so that Auth0 stays the source of truth.

use std::time::{Duration, Instant};

use pymd_domain::ProfilePatch;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

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

/// Why a Management API call failed. Every variant means nothing was changed at the IdP.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    /// No M2M client credentials are configured.
    #[error("no M2M credentials")]
    NotConfigured,
    /// The IdP could not be reached (connection, timeout).
    #[error("{0}")]
    Unreachable(String),
    /// The token endpoint refused the M2M credentials (with its HTTP status).
    #[error("token endpoint answered {0}")]
    CredentialsRefused(u16),
    /// An answer could not be read.
    #[error("{0}")]
    Unreadable(String),
    /// The Management API refused the change (with its HTTP status).
    #[error("Management API answered {0}")]
    Refused(u16),
    /// The configured issuer URL cannot address the Management API (a configuration bug).
    #[error("{0}")]
    BadIssuer(String),
}

impl ManagementError {
    /// Whether the failure is on the IdP's side and may pass (unreachable, 5xx, 429, not
    /// configured): callers answer "unavailable, retry later" rather than "refused".
    pub fn is_transient(&self) -> bool {
        match self {
            ManagementError::NotConfigured | ManagementError::Unreachable(_) => true,
            ManagementError::CredentialsRefused(status) => *status >= 500,
            ManagementError::Refused(status) => *status >= 500 || *status == 429,
            ManagementError::Unreadable(_) | ManagementError::BadIssuer(_) => false,
        }
    }

    /// A sentence for the caller (no cause, no secret).
    pub fn description(&self) -> &'static str {
        match self {
            ManagementError::NotConfigured => {
                "profile changes are not configured (AUTH0_M2M_CLIENT_ID / AUTH0_M2M_CLIENT_SECRET)"
            }
            ManagementError::Unreachable(_) => {
                "the identity provider is unreachable; nothing was changed"
            }
            ManagementError::CredentialsRefused(_) => {
                "the identity provider refused PyMD's management credentials; nothing was changed"
            }
            ManagementError::Unreadable(_) => {
                "the identity provider gave an unreadable answer; nothing was changed"
            }
            ManagementError::Refused(_) => {
                "the identity provider refused the profile change; nothing was changed"
            }
            ManagementError::BadIssuer(_) => "internal error",
        }
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

    async fn token(&self) -> Result<SecretString, ManagementError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let Some((client_id, client_secret)) = &self.credentials else {
            return Err(ManagementError::NotConfigured);
        };
        let (token, lifetime) = self.fetch_token(client_id, client_secret).await?;
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// A new M2M token from the IdP's token endpoint, and how long to keep it (a minute less
    /// than it lives, an hour when the IdP does not say).
    async fn fetch_token(
        &self,
        client_id: &str,
        client_secret: &SecretString,
    ) -> Result<(SecretString, Duration), ManagementError> {
        let url = self
            .issuer
            .join("oauth/token")
            .map_err(|e| ManagementError::BadIssuer(e.to_string()))?;
        let audience = self
            .issuer
            .join("api/v2/")
            .map_err(|e| ManagementError::BadIssuer(e.to_string()))?;
        let response = self
            .http
            .post(url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose_secret()),
                ("audience", audience.as_str()),
            ])
            .send()
            .await
            .map_err(|e| ManagementError::Unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(ManagementError::CredentialsRefused(
                response.status().as_u16(),
            ));
        }
        let body: TokenResponse = response
            .json()
            .await
            .map_err(|e| ManagementError::Unreadable(e.to_string()))?;
        let lifetime =
            Duration::from_secs(body.expires_in.unwrap_or(3600).saturating_sub(60).max(1));
        Ok((SecretString::from(body.access_token), lifetime))
    }

    /// Applies a profile patch to the Auth0 user `auth0_id` (`bio` goes to `user_metadata`).
    ///
    /// # Errors
    /// A [`ManagementError`] (nothing was changed): [`ManagementError::is_transient`] when Auth0
    /// cannot be reached, fails or is not configured, otherwise it refused.
    pub async fn update_user(
        &self,
        auth0_id: &str,
        patch: &ProfilePatch,
    ) -> Result<(), ManagementError> {
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
            .map_err(|e| ManagementError::BadIssuer(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|_| ManagementError::BadIssuer("issuer URL cannot be a base".into()))?
            .pop_if_empty()
            .push(auth0_id);
        let response = self
            .http
            .patch(url)
            .bearer_auth(token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| ManagementError::Unreachable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            *self.token.lock().await = None;
        }
        Err(ManagementError::Refused(status.as_u16()))
    }
}
