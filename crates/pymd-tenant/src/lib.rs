//! `pymd-tenant`: PyMD's dev tenant — a faithful, offline Auth0 emulator.
//!
//! It serves the Auth0 surface PyMD (and any Auth0 app) uses: OIDC discovery and JWKS,
//! `/authorize` with Universal-Login-style pages, `/oauth/token` (authorization code with
//! PKCE, rotating refresh tokens with reuse detection, client credentials), `/userinfo`,
//! logout, a Management API subset, the tenant's own post-login Actions (JavaScript, run in an
//! embedded engine), Auth0-format log events and log streams, and test controls under
//! `/__dev/*`. What it emulates, and how it differs from Auth0: `docs/dev-tenant.md`.
//!
//! Start it with [`start`] on a bound listener; the tenant is described by a tenant-as-code
//! directory in the Auth0 Deploy CLI layout (the repository's `auth0/` ships embedded).

// Module layers (each imports only from the layers above it in this list):
// foundations (util, clock, scope, passwords, keys, x509, config) → data owners (store::*,
// logs) → state → services (mint, access_token, actions, sweep) → HTTP plumbing (error,
// extract, respond, cookies, html) → handlers (discovery, authorize, login::*, oauth_token +
// grants::*, oauth_revoke, userinfo, logout, management::*, dev_controls::*,
// fault_injection) → router.

// Some extractors reject with a whole `Response`; boxing it buys nothing.
#![allow(clippy::result_large_err)]

mod access_token;
pub mod actions;
mod authorize;
mod backchannel;
mod clock;
pub mod config;
mod cookies;
mod dev_controls;
mod discovery;
mod error;
mod extract;
mod fault_injection;
mod grants;
mod html;
mod keys;
mod login;
mod logout;
mod logs;
mod management;
mod mint;
mod oauth_revoke;
mod oauth_token;
mod passwords;
mod postlogin;
mod respond;
mod router;
mod scope;
mod state;
mod store;
mod sweep;
mod userinfo;
mod util;
mod x509;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::sync::{mpsc, oneshot};

pub use config::{TenantConfig, TenantFileError, TenantFiles, parse_files, parse_tenant};
pub use keys::KeyError;

use crate::state::{RuntimeOptions, Tenant};

/// The shipped `tenant.yaml` (the repository's `auth0/tenant.yaml`).
pub const DEFAULT_TENANT_YAML: &str = include_str!("../../../auth0/tenant.yaml");

/// Where the tenant description comes from.
#[derive(Debug, Clone)]
pub enum TenantSource {
    /// The shipped `auth0/` directory, embedded at build time.
    Default,
    /// A tenant-as-code directory (`tenant.yaml`, Action code, optional `pymd-dev.yaml`).
    Dir(PathBuf),
    /// A `tenant.yaml` file; its directory holds the rest.
    File(PathBuf),
    /// `tenant.yaml` text, with the shipped `pymd-dev.yaml` and Action code.
    Yaml(String),
    /// Texts held in memory.
    Files(TenantFiles),
}

impl TenantSource {
    /// The texts this source names.
    ///
    /// # Errors
    /// [`TenantError::Io`] when a file cannot be read.
    pub fn files(&self) -> Result<TenantFiles, TenantError> {
        tenant_files(self)
    }

    /// A path given on a command line: a directory, or a `tenant.yaml` in one.
    pub fn from_path(path: PathBuf) -> TenantSource {
        if path.is_dir() {
            TenantSource::Dir(path)
        } else {
            TenantSource::File(path)
        }
    }
}

/// How to run the tenant.
#[derive(Debug, Clone)]
pub struct TenantOptions {
    /// Tenant description.
    pub source: TenantSource,
    /// Signing keys are persisted under `data_dir/dev-tenant/keys.json` (created if missing).
    pub data_dir: PathBuf,
    /// Public issuer base URL ending in `/`; `None` → `http://{listener local addr}/`.
    pub issuer: Option<url::Url>,
    /// Replaces `##APP_BASE_URL##` (without trailing slash).
    pub app_base_url: url::Url,
    /// Keyword values (`##NAME##`), as `AUTH0_KEYWORD_REPLACE_MAPPINGS` gives them to the
    /// Deploy CLI; over `pymd-dev.yaml`'s, under the tenant's own `TENANT_URL`/`APP_BASE_URL`.
    pub keywords: BTreeMap<String, String>,
    /// The post-login flow's time budget (Auth0's is 20 s).
    pub action_budget: Duration,
    /// Serve `/__dev/*`.
    pub dev_controls: bool,
    /// Management API requests per second; `None` = unlimited.
    pub management_rate_limit_per_sec: Option<u32>,
}

impl TenantOptions {
    /// Defaults: the shipped tenant, issuer from the listener, app at `http://localhost:3000`,
    /// no extra keywords, Auth0's 20 s Action budget, dev controls on, no Management API rate
    /// limit.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        TenantOptions {
            source: TenantSource::Default,
            data_dir: data_dir.into(),
            issuer: None,
            app_base_url: url::Url::parse("http://localhost:3000")
                .unwrap_or_else(|_| unreachable_url()),
            keywords: BTreeMap::new(),
            action_budget: actions::AUTH0_BUDGET,
            dev_controls: true,
            management_rate_limit_per_sec: None,
        }
    }
}

fn unreachable_url() -> url::Url {
    // "http://localhost:3000" always parses; this only satisfies the no-panic rule.
    url::Url::parse("http://127.0.0.1/").unwrap_or_else(|_| unreachable_url())
}

/// Why the tenant could not start.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The tenant file is invalid.
    #[error(transparent)]
    File(#[from] TenantFileError),
    /// Reading the tenant file or the listener address failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Signing keys could not be loaded or created.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// An option is invalid (e.g. a non-http(s) issuer).
    #[error("invalid dev-tenant option: {0}")]
    Options(String),
    /// The outbound HTTP client could not be built.
    #[error("cannot build the webhook HTTP client: {0}")]
    Http(String),
}

/// Client id and secret of a tenant application.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// A seeded demo login (dev only; printed in the `pymd serve` banner).
#[derive(Clone, PartialEq, Eq)]
pub struct DemoLogin {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Role names.
    pub roles: Vec<String>,
}

impl std::fmt::Debug for DemoLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoLogin")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("roles", &self.roles)
            .finish()
    }
}

/// A running dev tenant.
pub struct DevTenant {
    state: state::AppState,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    log_stop: Option<oneshot::Sender<()>>,
    log_task: Option<tokio::task::JoinHandle<()>>,
    sweeper: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for DevTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevTenant")
            .field("issuer", &self.state.issuer)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl DevTenant {
    /// The issuer, e.g. `http://127.0.0.1:41234/` (always ends in `/`).
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `regular_web` client.
    pub fn web_client(&self) -> ClientCredentials {
        creds(self.state.cfg.first_client_of_type("regular_web"))
    }

    /// The `non_interactive` (M2M) client.
    pub fn m2m_client(&self) -> ClientCredentials {
        creds(self.state.cfg.first_client_of_type("non_interactive"))
    }

    /// The tenant's default audience (`https://api.pymd.io` in the default file).
    pub fn audience(&self) -> &str {
        self.state
            .cfg
            .tenant
            .default_audience
            .as_deref()
            .unwrap_or("")
    }

    /// The seeded users with their passwords and roles.
    pub fn demo_logins(&self) -> Vec<DemoLogin> {
        self.state
            .cfg
            .users
            .iter()
            .map(|u| DemoLogin {
                email: u.email.clone(),
                password: u.password.clone(),
                roles: u.roles.clone(),
            })
            .collect()
    }

    /// Stops the listener (graceful), flushes the log stream and waits for both.
    pub async fn shutdown(mut self) {
        self.sweeper.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.server).await;
        if let Some(tx) = self.log_stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.log_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

fn creds(c: Option<&config::ClientConfig>) -> ClientCredentials {
    ClientCredentials {
        client_id: c.map(|c| c.client_id.clone()).unwrap_or_default(),
        client_secret: c.and_then(|c| c.client_secret.clone()).unwrap_or_default(),
    }
}

/// Starts the tenant on `listener` and returns once it is serving.
///
/// # Errors
/// [`TenantError::File`] for an invalid tenant file (with line and column),
/// [`TenantError::Io`] if the file or listener address cannot be read,
/// [`TenantError::Keys`] if signing keys cannot be loaded or created in `data_dir`,
/// [`TenantError::Options`] for an unusable issuer, [`TenantError::Http`] if the webhook
/// client cannot be built.
pub async fn start(
    listener: tokio::net::TcpListener,
    options: TenantOptions,
) -> Result<DevTenant, TenantError> {
    start_wrapped(listener, options, |app| app).await
}

/// [`start`], with the finished router passed through `wrap` (tests add layers in front).
async fn start_wrapped(
    listener: tokio::net::TcpListener,
    options: TenantOptions,
    wrap: impl FnOnce(Router) -> Router,
) -> Result<DevTenant, TenantError> {
    let addr = listener.local_addr().map_err(|source| TenantError::Io {
        context: "reading the dev tenant listener address".into(),
        source,
    })?;
    let issuer = issuer(&options, addr)?;
    let cfg = parse_files(
        &tenant_files(&options.source)?,
        &issuer,
        options.app_base_url.as_str(),
        &options.keywords,
    )?;
    let (tenant, (log_task, log_stop)) = build_tenant(&options, issuer, cfg).await?;
    let state = Arc::new(tenant);
    let app = wrap(router::router(state.clone()));
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let result = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "dev tenant server stopped");
        }
    });
    tracing::info!(issuer = %state.issuer, "dev tenant listening");
    let sweeper = sweep::spawn(&state);
    Ok(DevTenant {
        sweeper,
        state,
        addr,
        shutdown: Some(tx),
        server,
        log_stop,
        log_task,
    })
}

/// The issuer URL (ending in `/`): the option, or the listener's address.
fn issuer(options: &TenantOptions, addr: SocketAddr) -> Result<String, TenantError> {
    let Some(u) = &options.issuer else {
        return Ok(format!("http://{addr}/"));
    };
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(TenantError::Options(format!("issuer must be http(s): {u}")));
    }
    let s = u.as_str().to_string();
    Ok(if s.ends_with('/') { s } else { format!("{s}/") })
}

/// The tenant's texts.
fn tenant_files(source: &TenantSource) -> Result<TenantFiles, TenantError> {
    let read = |path: &std::path::Path, files: std::io::Result<TenantFiles>| {
        files.map_err(|source| TenantError::Io {
            context: format!("reading the tenant at {}", path.display()),
            source,
        })
    };
    match source {
        TenantSource::Default => Ok(TenantFiles::shipped()),
        TenantSource::Yaml(y) => Ok(TenantFiles::from_yaml(y.clone())),
        TenantSource::Files(f) => Ok(f.clone()),
        TenantSource::Dir(d) => read(d, TenantFiles::read_dir(d)),
        TenantSource::File(p) => read(p, TenantFiles::read_tenant_yaml(p)),
    }
}

/// The log-stream worker's task and stop signal, if a log stream is configured.
type LogStream = (
    Option<tokio::task::JoinHandle<()>>,
    Option<oneshot::Sender<()>>,
);

/// The tenant's state (keys opened, seeded users hashed, log stream started).
async fn build_tenant(
    options: &TenantOptions,
    issuer: String,
    cfg: TenantConfig,
) -> Result<(Tenant, LogStream), TenantError> {
    let issuer_url = url::Url::parse(&issuer).map_err(|e| TenantError::Options(e.to_string()))?;
    let host = issuer_url.host_str().unwrap_or("localhost").to_string();
    let clock = clock::Clock::default();
    let keys = keys::KeyStore::open(&options.data_dir.join("dev-tenant"), clock.unix(), &host)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| TenantError::Http(e.to_string()))?;
    let (log_tx, (log_task, log_stop)) = if cfg.log_streams.is_empty() {
        (None, (None, None))
    } else {
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let streams = cfg.log_streams.clone();
        let task = tokio::spawn(logs::stream_worker(rx, streams, http.clone(), stop_rx));
        (Some(tx), (Some(task), Some(stop_tx)))
    };
    let post_login =
        actions::PostLoginFlow::new(cfg.post_login.clone(), options.action_budget, http.clone());
    let users = seeded_users(&cfg, clock.now()).await?;
    let tenant = Tenant {
        logs: logs::LogSink::new(
            log_tx,
            host,
            cfg.database.name.clone(),
            cfg.database.id.clone(),
        ),
        secure: issuer_url.scheme() == "https",
        issuer,
        opts: RuntimeOptions {
            dev_controls: options.dev_controls,
            management_rate_limit_per_sec: options.management_rate_limit_per_sec,
        },
        post_login,
        clock,
        keys: keys::SigningKeys::new(keys),
        users,
        codes: Default::default(),
        refresh: Default::default(),
        sessions: Default::default(),
        transactions: Default::default(),
        brute_force: Default::default(),
        ip_throttle: Default::default(),
        opaque: Default::default(),
        faults: Default::default(),
        mailbox: Default::default(),
        rate: Default::default(),
        dummy_hash: passwords::PasswordHash::new("dummy-password-for-timing"),
        csrf_key: csrf_key(),
        cfg,
    };
    Ok((tenant, (log_task, log_stop)))
}

/// The seeded users, their passwords hashed off the async runtime.
async fn seeded_users(
    cfg: &TenantConfig,
    now: time::OffsetDateTime,
) -> Result<store::users::UserStore, TenantError> {
    let seeds = cfg.users.clone();
    let users = tokio::task::spawn_blocking(move || {
        seeds
            .iter()
            .map(|s| store::users::User::from_seed(s, now))
            .collect()
    })
    .await
    .map_err(|e| TenantError::Options(format!("hashing seeded passwords failed: {e}")))?;
    Ok(store::users::UserStore::new(users))
}

/// A random key for the login forms' CSRF tokens.
fn csrf_key() -> aws_lc_rs::hmac::Key {
    let mut k = [0u8; 32];
    util::fill_random(&mut k);
    aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &k)
}

#[cfg(test)]
mod test_support;
