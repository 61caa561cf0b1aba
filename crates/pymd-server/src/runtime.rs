//! Turning a [`Config`] into running parts: secrets for development, the store, the embedded dev
//! tenant when no IdP is configured, the token verifier, and the shared state.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pymd_auth::{Verifier, VerifierConfig};
use pymd_storage::ConnectOptions;
use secrecy::SecretString;
use url::Url;

use crate::config::Config;
use crate::management::ManagementClient;
use crate::state::AppState;

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

/// Development secrets kept in the data directory, so cookies and webhooks survive restarts.
pub struct DevSecrets {
    pub auth0_secret: SecretString,
    pub internal_api_token: SecretString,
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Reads `secrets.json` from the data directory, creating it (mode 0600) with fresh random
/// values when missing.
///
/// # Errors
/// I/O errors, or a file that is not ours.
pub fn load_or_create_dev_secrets(data_dir: &Path) -> anyhow::Result<DevSecrets> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join("secrets.json");
    let value: serde_json::Value = match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let value = serde_json::json!({
                "auth0_secret": random_hex(32),
                "internal_api_token": random_hex(32),
            });
            write_private(&path, value.to_string().as_bytes())?;
            value
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let field = |name: &str| -> anyhow::Result<SecretString> {
        value
            .get(name)
            .and_then(|v| v.as_str())
            .map(|s| SecretString::from(s.to_owned()))
            .with_context(|| format!("{} lacks {name}", path.display()))
    };
    Ok(DevSecrets {
        auth0_secret: field("auth0_secret")?,
        internal_api_token: field("internal_api_token")?,
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
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

/// Builds the state: connects (and migrates) the store and creates the verifier (which fetches
/// nothing until the first token arrives, so a down IdP does not stop the start).
///
/// # Errors
/// When the database cannot be opened or migrated.
pub async fn build_state(
    config: Config,
    idp: IdpWiring,
    internal_token: SecretString,
    cookie_secret: SecretString,
) -> anyhow::Result<AppState> {
    let store = pymd_storage::connect(&config.database_url(), &ConnectOptions::default())
        .await
        .context("opening the database")?;
    let http = idp_http_client()?;
    let mut verifier_config =
        VerifierConfig::new(idp.issuer_base_url.clone(), config.audience.clone());
    verifier_config.algorithms = config.algorithms.clone();
    verifier_config.leeway = config.clock_leeway;
    let verifier = Verifier::new(verifier_config, http.clone());
    let mut issuer = idp.issuer_base_url.clone();
    if !issuer.path().ends_with('/') {
        let path = format!("{}/", issuer.path());
        issuer.set_path(&path);
    }
    let management = ManagementClient::new(http.clone(), issuer, idp.m2m.clone());
    let limiter = match &config.redis_url {
        Some(url) => pymd_limits::Limiter::shared(Arc::new(
            pymd_limits::RedisCounters::new(url, &config.limits.redis_key_prefix)
                .context("REDIS_URL")?,
        )),
        None => pymd_limits::Limiter::in_memory(),
    };
    Ok(AppState {
        config: Arc::new(config),
        store,
        verifier,
        internal_token: Arc::new(internal_token),
        management: Arc::new(management),
        web_client: idp.web.map(Arc::new),
        cookie_secret: Arc::new(cookie_secret),
        http,
        limiter,
    })
}

/// Which of the configuration's defaults were taken because the variable was not set, and so
/// follow the address `pymd serve` actually bound (which differs from `PYMD_BIND` on port 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnsetDefaults {
    /// `AUTH0_BASE_URL` was not set: the base URL is `http://localhost:{bound port}`.
    pub base_url: bool,
    /// `PYMD_CORS_ORIGINS` was not set: the allowed origin is the base URL's.
    pub cors_origins: bool,
}

/// Points the configuration at the address the app listener really has: `bind` becomes it, and
/// the base URL (and the CORS origin) follow it when they were defaults. The default base URL of
/// spec §2, `http://localhost:3000`, is what this gives for the default `PYMD_BIND`.
pub fn follow_bound_address(config: &mut Config, bound: SocketAddr, unset: UnsetDefaults) {
    config.bind = bound;
    if !unset.base_url {
        return;
    }
    let ip = bound.ip();
    let host = if ip.is_loopback() || ip.is_unspecified() {
        "localhost".to_owned()
    } else {
        match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        }
    };
    match Url::parse(&format!("http://{host}:{}/", bound.port())) {
        Ok(url) => {
            config.base_url = url;
            if unset.cors_origins {
                config.cors_origins = vec![config.base_url.origin().ascii_serialization()];
            }
        }
        Err(e) => tracing::warn!(error = %e, "keeping the default base URL"),
    }
}

/// `pymd serve`: runs until Ctrl-C / SIGTERM. `PYMD_BIND` and `PYMD_DEV_TENANT_BIND` may name
/// port 0; the banner (and a log line) then give the ports the system chose.
///
/// # Errors
/// Start-up failures (bind, database, dev tenant).
pub async fn run_serve(mut config: Config, unset: UnsetDefaults) -> anyhow::Result<()> {
    let dev = match config.environment {
        crate::config::Environment::Development => {
            Some(load_or_create_dev_secrets(&config.data_dir)?)
        }
        crate::config::Environment::Production => None,
    };
    let internal_token = match (&config.internal_api_token, &dev) {
        (Some(t), _) => t.clone(),
        (None, Some(d)) => d.internal_api_token.clone(),
        (None, None) => anyhow::bail!("INTERNAL_API_TOKEN is required"),
    };
    let cookie_secret = match (&config.secret, &dev) {
        (Some(s), _) => s.clone(),
        (None, Some(d)) => d.auth0_secret.clone(),
        (None, None) => anyhow::bail!("AUTH0_SECRET is required"),
    };
    let app_listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding PYMD_BIND {}", config.bind))?;
    let bound = app_listener
        .local_addr()
        .context("reading the app listener's address")?;
    // Before the tenant starts: its callback, logout and webhook URLs come from the base URL.
    follow_bound_address(&mut config, bound, unset);

    let mut tenant = None;
    let idp = match &config.idp {
        crate::config::Idp::External { issuer_base_url } => IdpWiring {
            issuer_base_url: issuer_base_url.clone(),
            m2m: config
                .m2m_client_id
                .clone()
                .zip(config.m2m_client_secret.clone()),
            web: config.client_id.clone().zip(config.client_secret.clone()),
        },
        crate::config::Idp::DevTenant { bind } => {
            let t = crate::cli::start_embedded_tenant(&config, *bind, &internal_token).await?;
            // The tenant's issuer is its real address (it reads the listener), port 0 or not.
            let wiring = IdpWiring {
                issuer_base_url: Url::parse(t.issuer()).context("dev tenant issuer")?,
                m2m: Some((
                    t.m2m_client().client_id.clone(),
                    SecretString::from(t.m2m_client().client_secret.clone()),
                )),
                web: Some((
                    t.web_client().client_id.clone(),
                    SecretString::from(t.web_client().client_secret.clone()),
                )),
            };
            tenant = Some(t);
            wiring
        }
    };
    // Where `pymd token` finds this tenant when PYMD_DEV_TENANT_BIND says port 0.
    let _address_record = tenant
        .as_ref()
        .and_then(|t| crate::cli::record_tenant_address(&config.data_dir, t.issuer()));
    let state = build_state(config.clone(), idp, internal_token, cookie_secret).await?;
    let _refresh = state.verifier.spawn_background_refresh();
    let _sweeper = spawn_session_sweeper(state.store.clone());
    let _ = crate::telemetry::metrics_handle();
    tracing::info!(
        app = %config.base_url,
        listening = %bound,
        dev_tenant = tenant.as_ref().map(|t| t.issuer()),
        "pymd serve is running"
    );
    crate::cli::print_banner(&config, tenant.as_ref());
    let app = crate::build_app(state);
    // On Ctrl-C / SIGTERM the tenant stops first, while the app still takes the log-stream
    // webhook its last events are flushed to; then the app stops.
    let stop = async move {
        shutdown_signal().await;
        if let Some(t) = tenant {
            t.shutdown().await;
        }
    };
    crate::serve(app_listener, app, stop).await?;
    Ok(())
}

/// Deletes expired sessions every minute and keeps `pymd_active_sessions` current.
pub fn spawn_session_sweeper(store: Arc<dyn pymd_storage::Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = pymd_domain::now();
            match store.delete_expired_sessions(now).await {
                Ok(n) if n > 0 => tracing::debug!(deleted = n, "expired sessions deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not delete expired sessions"),
            }
            if let Ok(n) = store.count_active_sessions(now).await {
                metrics::gauge!("pymd_active_sessions").set(n as f64);
            }
        }
    })
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
