//! `pymd dev-tenant`: the dev tenant on its own, for any Auth0 app, until Ctrl-C / SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use pymd_tenant::{TenantOptions, TenantSource};

use super::StandaloneOptions;
use super::address;
use super::embedded::{banner_lines, tenant_keywords, tenant_source};
use crate::config::{Config, Environment, Idp};

/// Runs the dev tenant until Ctrl-C / SIGTERM, printing its start lines.
///
/// # Errors
/// `PYMD_ENV=production`, bind failures, an unreadable data directory, invalid tenant
/// directories.
pub async fn run_standalone(config: Config, options: StandaloneOptions) -> anyhow::Result<()> {
    if config.environment == Environment::Production {
        anyhow::bail!("the dev tenant never runs with PYMD_ENV=production");
    }
    let bind = options.bind.unwrap_or(match config.idp {
        Idp::DevTenant { bind } => bind,
        Idp::External { .. } => SocketAddr::from(([127, 0, 0, 1], 3001)),
    });
    config
        .check_dev_exposure(
            "the dev tenant's address (--bind / PYMD_DEV_TENANT_BIND)",
            bind,
        )
        .map_err(|e| anyhow::anyhow!(e))?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let tenant_options = tenant_options(&config, options)?;
    let tenant = pymd_tenant::start(listener, tenant_options)
        .await
        .context("starting the dev tenant")?;
    let record = address::record(&config.data_dir, tenant.issuer());
    tracing::info!(
        issuer = tenant.issuer(),
        listening = %tenant.local_addr(),
        "pymd dev-tenant is running"
    );
    print!("{}", crate::banner::dev_tenant(&banner_lines(&tenant)));
    crate::startup::shutdown_signal().await;
    tenant.shutdown().await;
    drop(record);
    Ok(())
}

/// The tenant's options: the app's base URL, the tenant directory, and its keywords (the app's
/// `INTERNAL_API_TOKEN`, else the development one `pymd serve` keeps in the same data directory,
/// as `BACKEND_INTERNAL_TOKEN`).
fn tenant_options(config: &Config, options: StandaloneOptions) -> anyhow::Result<TenantOptions> {
    let mut tenant = TenantOptions::new(config.data_dir.clone());
    tenant.app_base_url = config.base_url.clone();
    tenant.issuer = options.issuer;
    tenant.source = match options.file {
        Some(path) => TenantSource::from_path(path),
        None => tenant_source(config),
    };
    let internal_token = match &config.internal_api_token {
        Some(t) => t.clone(),
        None => crate::dev_secrets::load_or_create(&config.data_dir)?.internal_api_token,
    };
    tenant.keywords = tenant_keywords(config, &internal_token);
    tenant.management_rate_limit_per_sec = options.management_rate_limit;
    Ok(tenant)
}
