//! The shared state every handler receives: configuration, storage, the token verifier and the
//! outbound clients. Cheap to clone (everything is behind `Arc`).

use std::sync::Arc;

use pymd_auth::Verifier;
use pymd_storage::Store;
use secrecy::SecretString;

use crate::config::Config;
use crate::management::ManagementClient;

/// Handler state.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub verifier: Verifier,
    /// Bearer secret of the `/internal/*` webhooks.
    pub internal_token: Arc<SecretString>,
    /// Auth0 Management API client (profile changes).
    pub management: Arc<ManagementClient>,
    /// The regular web application client the web sign-in uses (`AUTH0_CLIENT_ID` /
    /// `AUTH0_CLIENT_SECRET`, or the dev tenant's).
    pub web_client: Option<Arc<(String, SecretString)>>,
    /// 32+ byte secret for cookie and token encryption (`AUTH0_SECRET`, or the dev one).
    pub cookie_secret: Arc<SecretString>,
    /// The HTTP client for the IdP (no redirects, bounded timeouts).
    pub http: reqwest::Client,
    /// Rate limits and IP blocks (spec §7): Redis when `REDIS_URL` is set, else this process.
    pub limiter: pymd_limits::Limiter,
}
