//! `pymd serve` from a [`Config`] to a running app: [`App::build`] binds the app's listener,
//! points the configuration at the address it really got, finds the IdP (the configured one, or
//! the dev tenant it starts), and builds the state; [`App::serve`] then serves until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::config::{Config, Environment, Idp};
use crate::devtenant::{EmbeddedTenant, start_embedded};
use crate::state::{AppState, IdpWiring};

/// A built app, its listener bound, ready to serve.
pub struct App {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
    tenant: Option<EmbeddedTenant>,
}

impl App {
    /// Builds everything `pymd serve` runs. `PYMD_BIND` and `PYMD_DEV_TENANT_BIND` may name
    /// port 0; the base URL (and the CORS origin), when they were defaults, follow the port the
    /// system chose, before the dev tenant starts (its callback and webhook URLs come from them).
    ///
    /// # Errors
    /// Missing production secrets, bind failures, the dev tenant failing to start (or missing
    /// from this build), the database.
    pub async fn build(mut config: Config) -> anyhow::Result<App> {
        if let Idp::DevTenant { bind } = config.idp {
            config
                .check_dev_exposure("PYMD_BIND", config.bind)
                .and_then(|()| config.check_dev_exposure("PYMD_DEV_TENANT_BIND", bind))
                .map_err(|e| anyhow::anyhow!(e))?;
        }
        let (internal_token, cookie_secret) = secrets(&config)?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding PYMD_BIND {}", config.bind))?;
        let bound = listener
            .local_addr()
            .context("reading the app listener's address")?;
        config.follow_bound_address(bound);
        let metrics_listener = match config.metrics_bind {
            Some(addr) => {
                let l = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding PYMD_METRICS_BIND {addr}"))?;
                // The real address (port 0 names one), for the banner.
                config.metrics_bind = Some(l.local_addr().context("reading the metrics address")?);
                Some(l)
            }
            None => None,
        };
        let (idp, tenant) = find_idp(&config, &internal_token).await?;
        let state = AppState::builder(config)
            .idp(idp)
            .internal_token(internal_token)
            .cookie_secret(cookie_secret)
            .build()
            .await?;
        Ok(App {
            listener,
            metrics_listener,
            state,
            tenant,
        })
    }

    /// The address the app listens on.
    ///
    /// # Errors
    /// The listener's I/O error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The configuration the app runs with (its `bind` and base URL are the real ones).
    pub fn config(&self) -> &Arc<Config> {
        &self.state.config
    }

    /// The start banner: where things are and how to sign in.
    pub fn banner(&self) -> String {
        let tenant = self.tenant.as_ref().map(EmbeddedTenant::banner_lines);
        crate::banner::serve(&self.state.config, tenant.as_ref())
    }

    /// Serves until `shutdown` completes, with the background work (key refresh, session
    /// sweeping) running. On shutdown the dev tenant stops first, while the app still takes the
    /// log-stream webhook its last events are flushed to; then the app stops.
    ///
    /// # Errors
    /// The listener's I/O errors.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App {
            listener,
            metrics_listener,
            state,
            tenant,
        } = self;
        let (metrics_stop, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics = metrics_listener.map(|l| {
            tokio::spawn(crate::serve(l, crate::app::metrics_app(), async move {
                let _ = metrics_stopped.await;
            }))
        });
        let _refresh = state.verifier.spawn_background_refresh();
        let _sweeper = spawn_session_sweeper(state.store.clone());
        let stop = async move {
            shutdown.await;
            if let Some(t) = tenant {
                t.shutdown().await;
            }
        };
        let served = crate::serve(listener, crate::build_app(state), stop).await;
        let _ = metrics_stop.send(());
        if let Some(task) = metrics {
            let _ = task.await;
        }
        served?;
        Ok(())
    }
}

/// `pymd serve`: builds the app, logs and prints where it runs, and serves until Ctrl-C /
/// SIGTERM.
///
/// # Errors
/// Start-up failures (see [`App::build`]) and the listener's I/O errors.
pub async fn run_serve(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let _ = crate::telemetry::metrics_handle();
    tracing::info!(
        app = %app.config().base_url,
        listening = %app.config().bind,
        dev_tenant = app.tenant.as_ref().map(EmbeddedTenant::issuer),
        "pymd serve is running"
    );
    print!("{}", app.banner());
    app.serve(shutdown_signal()).await
}

/// The configured IdP, or else the embedded dev tenant, started now.
async fn find_idp(
    config: &Config,
    internal_token: &SecretString,
) -> anyhow::Result<(IdpWiring, Option<EmbeddedTenant>)> {
    match &config.idp {
        Idp::External { issuer_base_url } => {
            Ok((IdpWiring::external(config, issuer_base_url), None))
        }
        Idp::DevTenant { bind } => {
            let tenant = start_embedded(config, *bind, internal_token).await?;
            Ok((tenant.wiring()?, Some(tenant)))
        }
    }
}

/// The `/internal/*` bearer and the cookie secret: the configured ones, else (in development
/// only) the ones kept in the data directory.
fn secrets(config: &Config) -> anyhow::Result<(SecretString, SecretString)> {
    let dev = match config.environment {
        Environment::Development => Some(crate::dev_secrets::load_or_create(&config.data_dir)?),
        Environment::Production => None,
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
    Ok((internal_token, cookie_secret))
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
