//! `pymd token`: asks a local dev tenant for an access token (a user's through its `__dev/token`
//! endpoint, or an M2M client's through `/oauth/token`) and prints it, for curl / HTTPie. It
//! refuses anything that is not a local `http` dev tenant, so it never asks a real Auth0 domain.

use anyhow::Context;
use pymd_tenant::TenantSource;
use secrecy::ExposeSecret;
use url::Url;

use super::TokenRequest;
use super::address::recorded_issuer;
use super::embedded::tenant_source;
use crate::config::{Config, Idp};

/// Mints the token and prints it on stdout.
///
/// # Errors
/// A non-local issuer, an unreachable tenant, or a refusal (the tenant's answer is shown; it
/// carries no secret).
pub async fn run_token(config: Config, request: TokenRequest) -> anyhow::Result<()> {
    let issuer = dev_tenant_issuer(&config)?;
    let audience = request
        .audience
        .clone()
        .unwrap_or_else(|| config.audience.clone());
    let http = crate::state::idp_http_client()?;
    let sent = if request.m2m {
        let (client_id, client_secret) = m2m_client(&config, &issuer)?;
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
            ("audience", audience.as_str()),
        ];
        // Without a scope, Auth0 grants everything the client grant allows.
        if let Some(scope) = request.scope.as_deref() {
            form.push(("scope", scope));
        }
        http.post(issuer.join("oauth/token")?)
            .form(&form)
            .send()
            .await
    } else {
        let scope = request
            .scope
            .unwrap_or_else(|| pymd_domain::Permission::ALL.map(|p| p.as_str()).join(" "));
        let body =
            serde_json::json!({ "user": request.user, "scope": scope, "audience": audience });
        http.post(issuer.join("__dev/token")?)
            .json(&body)
            .send()
            .await
    };
    let response = sent.with_context(|| {
        format!("the dev tenant at {issuer} is not reachable (is `pymd serve` or `pymd dev-tenant` running?)")
    })?;
    println!("{}", access_token(response).await?);
    Ok(())
}

/// The `access_token` of a successful answer.
async fn access_token(response: reqwest::Response) -> anyhow::Result<String> {
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("reading the dev tenant's answer")?;
    if !status.is_success() {
        anyhow::bail!("the dev tenant refused: {status} {body}");
    }
    body.get("access_token")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .context("no access_token in the answer")
}

/// The dev tenant's issuer, refusing anything that is not a local dev tenant. The address a
/// running tenant recorded in the data directory comes first (required when
/// `PYMD_DEV_TENANT_BIND` names port 0), then `PYMD_DEV_TENANT_BIND`.
fn dev_tenant_issuer(config: &Config) -> anyhow::Result<Url> {
    let issuer = match &config.idp {
        Idp::DevTenant { bind } if bind.port() == 0 => recorded_issuer(&config.data_dir)?,
        // A running tenant's own record wins (it may have been started with
        // `--dev-tenant-bind`, on port 0); without one, the configured address.
        Idp::DevTenant { bind } => match recorded_issuer(&config.data_dir) {
            Ok(recorded) => recorded,
            Err(_) => Url::parse(&format!("http://{bind}/")).context("PYMD_DEV_TENANT_BIND")?,
        },
        Idp::External { issuer_base_url } => issuer_base_url.clone(),
    };
    let local = matches!(issuer.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(issuer.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || issuer.host_str() == Some("localhost");
    if local && issuer.scheme() == "http" {
        Ok(issuer)
    } else {
        anyhow::bail!("pymd token only mints tokens from a local dev tenant, not from {issuer}")
    }
}

/// The M2M client `pymd token --m2m` presents: `AUTH0_M2M_CLIENT_*` when set, else the one of
/// the tenant file the dev tenant runs with (`PYMD_TENANT_FILE`, else the built-in tenant).
fn m2m_client(config: &Config, issuer: &Url) -> anyhow::Result<(String, String)> {
    if let (Some(id), Some(secret)) = (&config.m2m_client_id, &config.m2m_client_secret) {
        return Ok((id.clone(), secret.expose_secret().to_owned()));
    }
    let source = tenant_source(config);
    let name = match &source {
        TenantSource::Dir(p) | TenantSource::File(p) => format!("PYMD_TENANT_FILE {}", p.display()),
        _ => "the built-in tenant".to_owned(),
    };
    let files = source.files().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let tenant = pymd_tenant::parse_files(
        &files,
        issuer.as_str(),
        config.base_url.as_str().trim_end_matches('/'),
        &config.tenant_keywords,
    )
    .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let client = tenant
        .first_client_of_type("non_interactive")
        .with_context(|| format!("{name} has no machine-to-machine (non_interactive) client"))?;
    Ok((
        client.client_id.clone(),
        client.client_secret.clone().unwrap_or_default(),
    ))
}
