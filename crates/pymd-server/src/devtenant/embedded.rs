//! The dev tenant inside `pymd serve`: started on its own listener when no IdP is configured and
//! wired to this app — its callback and logout URLs come from `AUTH0_BASE_URL`, the app's
//! internal token is the tenant directory's `BACKEND_INTERNAL_TOKEN` (so its post-login Action
//! syncs users and its log stream reaches the app), and the app talks to it over HTTP exactly as
//! to Auth0.

use std::net::SocketAddr;

use anyhow::Context;
use pymd_tenant::{DevTenant, TenantOptions, TenantSource};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::address::{self, TenantAddressRecord};
use crate::banner::{DemoLogin, TenantLines};
use crate::config::{Config, Environment};
use crate::state::IdpWiring;

/// A running embedded dev tenant, with the record of its address in the data directory.
pub struct EmbeddedTenant {
    tenant: DevTenant,
    _record: Option<TenantAddressRecord>,
}

/// Starts the dev tenant on `bind` for the app `config` describes (whose base URL must already be
/// the app's real one), and records its address for `pymd token`.
///
/// # Errors
/// `PYMD_ENV=production`, bind failures and invalid tenant files.
pub async fn start_embedded(
    config: &Config,
    bind: SocketAddr,
    internal_token: &SecretString,
) -> anyhow::Result<EmbeddedTenant> {
    if config.environment == Environment::Production {
        anyhow::bail!("the dev tenant never runs with PYMD_ENV=production");
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding PYMD_DEV_TENANT_BIND {bind}"))?;
    let mut options = TenantOptions::new(config.data_dir.clone());
    options.app_base_url = config.base_url.clone();
    options.source = tenant_source(config);
    options.keywords = tenant_keywords(config, internal_token);
    let tenant = pymd_tenant::start(listener, options)
        .await
        .context("starting the dev tenant")?;
    // Where `pymd token` finds this tenant when PYMD_DEV_TENANT_BIND says port 0.
    let record = address::record(&config.data_dir, tenant.issuer());
    Ok(EmbeddedTenant {
        tenant,
        _record: record,
    })
}

impl EmbeddedTenant {
    /// The tenant's issuer: its real address (it reads the listener), port 0 or not.
    pub fn issuer(&self) -> &str {
        self.tenant.issuer()
    }

    /// The app's IdP: this tenant, with its regular web and M2M clients.
    ///
    /// # Errors
    /// An issuer that is not a URL (never, for a running tenant).
    pub fn wiring(&self) -> anyhow::Result<IdpWiring> {
        let m2m = self.tenant.m2m_client();
        let web = self.tenant.web_client();
        Ok(IdpWiring {
            issuer_base_url: Url::parse(self.tenant.issuer()).context("dev tenant issuer")?,
            m2m: Some((m2m.client_id, SecretString::from(m2m.client_secret))),
            web: Some((web.client_id, SecretString::from(web.client_secret))),
        })
    }

    /// What the start banner says about the tenant.
    pub fn banner_lines(&self) -> TenantLines {
        banner_lines(&self.tenant)
    }

    /// Stops the tenant (flushing its last log events to the app) and removes its record.
    pub async fn shutdown(self) {
        self.tenant.shutdown().await;
    }
}

/// The keyword values the tenant directory is deployed with: `AUTH0_KEYWORD_REPLACE_MAPPINGS`,
/// and the app's internal token as `BACKEND_INTERNAL_TOKEN`.
pub(super) fn tenant_keywords(
    config: &Config,
    internal_token: &SecretString,
) -> std::collections::BTreeMap<String, String> {
    let mut keywords = config.tenant_keywords.clone();
    keywords.insert(
        "BACKEND_INTERNAL_TOKEN".into(),
        internal_token.expose_secret().to_owned(),
    );
    keywords
}

/// The tenant description: `PYMD_TENANT_FILE` when set, else the built-in PyMD tenant. The
/// embedded tenant, `pymd dev-tenant` (without `--config`) and `pymd token --m2m` all use it.
pub(super) fn tenant_source(config: &Config) -> TenantSource {
    match &config.tenant_file {
        Some(path) => TenantSource::from_path(path.clone()),
        None => TenantSource::Default,
    }
}

/// A running tenant's URL, address and demo logins, for a banner.
pub(super) fn banner_lines(tenant: &DevTenant) -> TenantLines {
    TenantLines {
        issuer: tenant.issuer().to_owned(),
        listening: tenant.local_addr(),
        logins: tenant
            .demo_logins()
            .into_iter()
            .map(|l| DemoLogin {
                email: l.email,
                password: l.password,
                roles: l.roles,
            })
            .collect(),
    }
}
