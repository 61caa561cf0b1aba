//! The shared state every handler receives — configuration, storage, the token verifier and the
//! outbound clients — and [`StateBuilder`], the one way to make it: `pymd serve` and the tests
//! both build their state through it. Cheap to clone: one `Arc`, so the per-request clones axum
//! makes (one per stateful middleware and handler) cost one atomic increment each, not one per
//! field.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pymd_auth::{Verifier, VerifierConfig};
use pymd_storage::{ConnectOptions, Store};
use secrecy::SecretString;
use url::Url;

use crate::config::{Config, Idp};
use crate::management::ManagementClient;

/// Handler state: the parts below ([`Parts`]) behind one `Arc`. Reads go through `Deref`
/// (`state.config`); a test's hook may change a part before the app is built (`DerefMut`, which
/// copies the parts only if the state is already shared).
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Parts {
        Arc::make_mut(&mut self.0)
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct Parts {
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
    /// Which user each token subject is (the bearer path's just-in-time lookup, remembered).
    pub user_ids: crate::user_ids::UserIds,
}

impl AppState {
    /// Starts building the state for `config`.
    pub fn builder(config: Config) -> StateBuilder {
        StateBuilder {
            config,
            idp: None,
            internal_token: None,
            cookie_secret: None,
            jwks_cooldown: None,
        }
    }
}

/// Where the IdP is, as the app reaches it over HTTP.
#[derive(Clone)]
pub struct IdpWiring {
    /// Issuer base URL (discovery is read under it).
    pub issuer_base_url: Url,
    /// The M2M client for the Management API.
    pub m2m: Option<(String, SecretString)>,
    /// The regular web application client for the web sign-in.
    pub web: Option<(String, SecretString)>,
}

impl IdpWiring {
    /// The configured external IdP (`AUTH0_DOMAIN` / `AUTH0_ISSUER_BASE_URL`) with the clients of
    /// `AUTH0_CLIENT_*` and `AUTH0_M2M_CLIENT_*`; `None` when the configuration names no IdP
    /// (the dev tenant's wiring then comes from the running tenant).
    pub fn from_config(config: &Config) -> Option<IdpWiring> {
        match &config.idp {
            Idp::External { issuer_base_url } => Some(IdpWiring::external(config, issuer_base_url)),
            Idp::DevTenant { .. } => None,
        }
    }

    /// The IdP at `issuer_base_url` with the clients the configuration names.
    pub(crate) fn external(config: &Config, issuer_base_url: &Url) -> IdpWiring {
        IdpWiring {
            issuer_base_url: issuer_base_url.clone(),
            m2m: config
                .m2m_client_id
                .clone()
                .zip(config.m2m_client_secret.clone()),
            web: config.client_id.clone().zip(config.client_secret.clone()),
        }
    }
}

/// Builds an [`AppState`]: what the configuration does not say (the IdP a dev tenant provides,
/// development secrets) is given by the caller; the rest is read from the configuration.
#[must_use]
pub struct StateBuilder {
    config: Config,
    idp: Option<IdpWiring>,
    internal_token: Option<SecretString>,
    cookie_secret: Option<SecretString>,
    jwks_cooldown: Option<Duration>,
}

impl StateBuilder {
    /// The IdP to use (default: [`IdpWiring::from_config`]).
    pub fn idp(mut self, idp: IdpWiring) -> Self {
        self.idp = Some(idp);
        self
    }

    /// The `/internal/*` bearer (default: `INTERNAL_API_TOKEN`).
    pub fn internal_token(mut self, token: SecretString) -> Self {
        self.internal_token = Some(token);
        self
    }

    /// The cookie and token encryption secret (default: `AUTH0_SECRET`).
    pub fn cookie_secret(mut self, secret: SecretString) -> Self {
        self.cookie_secret = Some(secret);
        self
    }

    /// The verifier's cooldown after an unknown `kid` or a failed key load (no variable sets
    /// it; the default is 30 s). Tests shorten it.
    pub fn jwks_cooldown(mut self, cooldown: Duration) -> Self {
        self.jwks_cooldown = Some(cooldown);
        self
    }

    /// Connects (and migrates) the store and creates the verifier (which fetches nothing until
    /// the first token arrives, so a down IdP does not stop the start), the Management API client
    /// and the limiter.
    ///
    /// # Errors
    /// When no IdP or secret is known (neither given nor configured), the database cannot be
    /// opened or migrated, `REDIS_URL` is unusable, or the TLS stack cannot be initialised.
    pub async fn build(self) -> anyhow::Result<AppState> {
        let config = self.config;
        let idp = match self.idp {
            Some(idp) => idp,
            None => IdpWiring::from_config(&config).context(
                "no identity provider: set AUTH0_DOMAIN or AUTH0_ISSUER_BASE_URL, or wire the dev tenant",
            )?,
        };
        let internal_token = self
            .internal_token
            .or_else(|| config.internal_api_token.clone())
            .context("INTERNAL_API_TOKEN is required")?;
        let cookie_secret = self
            .cookie_secret
            .or_else(|| config.secret.clone())
            .context("AUTH0_SECRET is required")?;
        let store = pymd_storage::connect(&config.database_url(), &ConnectOptions::default())
            .await
            .context("opening the database")?;
        let http = idp_http_client()?;
        let verifier = verifier(&config, &idp, self.jwks_cooldown, http.clone());
        let management_base = config
            .management_base_url
            .clone()
            .unwrap_or_else(|| with_slash(&idp.issuer_base_url));
        let management = ManagementClient::new(http.clone(), management_base, idp.m2m);
        let limiter = limiter(&config)?;
        Ok(AppState(Arc::new(Parts {
            config: Arc::new(config),
            store,
            verifier,
            internal_token: Arc::new(internal_token),
            management: Arc::new(management),
            web_client: idp.web.map(Arc::new),
            cookie_secret: Arc::new(cookie_secret),
            http,
            limiter,
            user_ids: crate::user_ids::UserIds::default(),
        })))
    }
}

/// The access-token verifier for the IdP's issuer and the configured audience, algorithms and
/// leeway.
fn verifier(
    config: &Config,
    idp: &IdpWiring,
    cooldown: Option<Duration>,
    http: reqwest::Client,
) -> Verifier {
    let mut verifier_config =
        VerifierConfig::new(idp.issuer_base_url.clone(), config.audience.clone());
    verifier_config.algorithms = config.algorithms.clone();
    verifier_config.leeway = config.clock_leeway;
    if let Some(cooldown) = cooldown {
        verifier_config.unknown_kid_cooldown = cooldown;
    }
    Verifier::new(verifier_config, http)
}

/// Rate limits shared through Redis when `REDIS_URL` is set, else kept in this process.
fn limiter(config: &Config) -> anyhow::Result<pymd_limits::Limiter> {
    Ok(match &config.redis_url {
        Some(url) => pymd_limits::Limiter::shared(Arc::new(
            pymd_limits::RedisCounters::new(url, &config.limits.redis_key_prefix)
                .context("REDIS_URL")?,
        )),
        None => pymd_limits::Limiter::in_memory(),
    })
}

/// `url` with a path ending in `/` (the Management API's URLs are joined under it).
fn with_slash(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// The HTTP client used for the IdP: no redirects (SSRF), bounded timeouts.
///
/// # Errors
/// When the TLS stack cannot be initialised.
pub fn idp_http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("pymd/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")
}
