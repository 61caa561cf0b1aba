//! The dev tenant's entry points in a build without the `dev-tenant` feature: each refuses,
//! naming the missing feature, and [`EmbeddedTenant`] cannot be made.

use std::net::SocketAddr;

use secrecy::SecretString;

use super::{StandaloneOptions, TokenRequest};
use crate::banner::TenantLines;
use crate::config::Config;
use crate::state::IdpWiring;

const NOT_BUILT: &str = "this pymd was built without the dev tenant (cargo feature `dev-tenant`)";

/// A running embedded dev tenant: none can exist in this build.
pub enum EmbeddedTenant {}

impl EmbeddedTenant {
    /// Never called: there is no value to call it on.
    pub fn issuer(&self) -> &str {
        match *self {}
    }

    /// Never called: there is no value to call it on.
    ///
    /// # Errors
    /// None.
    pub fn wiring(&self) -> anyhow::Result<IdpWiring> {
        match *self {}
    }

    /// Never called: there is no value to call it on.
    pub fn banner_lines(&self) -> TenantLines {
        match *self {}
    }

    /// Never called: there is no value to call it on.
    pub async fn shutdown(self) {
        match self {}
    }
}

/// Refuses: `pymd serve` needs a real IdP in this build.
///
/// # Errors
/// Always.
pub async fn start_embedded(
    _config: &Config,
    _bind: SocketAddr,
    _internal_token: &SecretString,
) -> anyhow::Result<EmbeddedTenant> {
    anyhow::bail!(
        "no identity provider is configured and {NOT_BUILT}: set AUTH0_DOMAIN or AUTH0_ISSUER_BASE_URL"
    )
}

/// Refuses: `pymd dev-tenant` needs the feature.
///
/// # Errors
/// Always.
pub async fn run_standalone(_config: Config, _options: StandaloneOptions) -> anyhow::Result<()> {
    anyhow::bail!("`pymd dev-tenant` is not available: {NOT_BUILT}")
}

/// Refuses: `pymd token` only talks to a dev tenant.
///
/// # Errors
/// Always.
pub async fn run_token(_config: Config, _request: TokenRequest) -> anyhow::Result<()> {
    anyhow::bail!("`pymd token` is not available: {NOT_BUILT}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serve_without_an_idp_dev_tenant_and_token_refuse_naming_the_missing_feature() {
        let config = Config::from_vars(&Default::default()).unwrap();
        let bind = "127.0.0.1:0".parse().unwrap();
        let secret = SecretString::from("x".to_owned());
        // `Ok` cannot happen: there is no `EmbeddedTenant` value.
        let Err(e) = start_embedded(&config, bind, &secret).await;
        let e = e.to_string();
        assert!(
            e.contains("AUTH0_DOMAIN") && e.contains("`dev-tenant`"),
            "{e}"
        );
        let e = run_standalone(config.clone(), StandaloneOptions::default()).await;
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("without the dev tenant")
        );
        let request = TokenRequest {
            user: "alice@example.com".to_owned(),
            scope: None,
            m2m: false,
            audience: None,
        };
        let e = run_token(config, request).await;
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("without the dev tenant")
        );
    }
}
