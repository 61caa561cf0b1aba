//! The `pymd` command line: `serve`, `dev-tenant`, `token` and `migrate` (spec §1).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use pymd_tenant::{DevTenant, TenantOptions, TenantSource, Webhook};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::config::{Config, Environment, Idp};

/// PyMD: Markdown documents behind Auth0.
#[derive(Debug, Parser)]
#[command(name = "pymd", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web app and API (and the dev tenant when no IdP is configured).
    Serve {
        /// Address to listen on (default: PYMD_BIND or 127.0.0.1:3000); port 0 lets the system
        /// choose, and the banner names the port.
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Address of the embedded dev tenant (default: PYMD_DEV_TENANT_BIND or 127.0.0.1:3001).
        #[arg(long)]
        dev_tenant_bind: Option<SocketAddr>,
    },
    /// Run only the dev tenant (an offline Auth0 emulator), for any Auth0 app.
    DevTenant {
        /// Tenant file in the Auth0 Deploy CLI layout (default: the built-in PyMD tenant).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (default: PYMD_DEV_TENANT_BIND or 127.0.0.1:3001); port 0 lets
        /// the system choose, and the start lines name the port.
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Public issuer base URL, if not http://{bind}/.
        #[arg(long)]
        issuer: Option<Url>,
        /// The app's post-login sync webhook (the Action calls it on every login).
        #[arg(long)]
        sync_url: Option<Url>,
        /// The app's Auth0 log-stream webhook (log events are posted there in batches).
        #[arg(long)]
        log_stream_url: Option<Url>,
        /// Management API rate limit, requests per second (429 with x-ratelimit-* beyond it).
        #[arg(long)]
        management_rate_limit: Option<u32>,
    },
    /// Mint a dev-tenant access token for curl / HTTPie (never against a real Auth0 domain).
    Token {
        /// The user (email or user_id) to mint for.
        #[arg(long, default_value = "alice@example.com")]
        user: String,
        /// Space-separated scopes to ask for (default: a user gets the five API permissions, an
        /// M2M client everything its client grant allows).
        #[arg(long)]
        scope: Option<String>,
        /// A machine-to-machine token (client credentials) instead of a user's.
        #[arg(long)]
        m2m: bool,
        /// Audience (default: AUTH0_AUDIENCE).
        #[arg(long)]
        audience: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
}

/// Entry point of the binary.
///
/// # Errors
/// Whatever the command fails with; configuration errors list every problem.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::telemetry::init_logging(config.log_format);
    match cli.command {
        Command::Serve {
            bind,
            dev_tenant_bind,
        } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            if let (Some(new), Idp::DevTenant { bind }) = (dev_tenant_bind, &mut config.idp) {
                *bind = new;
            }
            crate::runtime::run_serve(config, unset_defaults()).await
        }
        Command::Migrate => {
            pymd_storage::migrate(&config.database_url())
                .await
                .context("migrating")?;
            println!("migrations applied");
            Ok(())
        }
        Command::DevTenant {
            config: file,
            bind,
            issuer,
            sync_url,
            log_stream_url,
            management_rate_limit,
        } => {
            let hooks = TenantHooks {
                sync_url,
                log_stream_url,
                management_rate_limit,
            };
            run_dev_tenant(config, file, bind, issuer, hooks).await
        }
        Command::Token {
            user,
            scope,
            m2m,
            audience,
        } => run_token(config, user, scope, m2m, audience).await,
    }
}

/// Which defaults `pymd serve` may move to the address it binds. `Config::from_env` has loaded
/// `.env` into the environment by now, so a variable set there counts as set.
fn unset_defaults() -> crate::runtime::UnsetDefaults {
    let unset = |name: &str| std::env::var(name).map_or(true, |v| v.trim().is_empty());
    crate::runtime::UnsetDefaults {
        base_url: unset("AUTH0_BASE_URL"),
        cors_origins: unset("PYMD_CORS_ORIGINS"),
    }
}

/// The tenant description: `PYMD_TENANT_FILE` when set, else the built-in PyMD tenant. The
/// embedded tenant, `pymd dev-tenant` (without `--config`) and `pymd token --m2m` all use it.
fn tenant_source(config: &Config) -> TenantSource {
    match &config.tenant_file {
        Some(file) => TenantSource::File(file.clone()),
        None => TenantSource::Default,
    }
}

/// Starts the dev tenant inside `pymd serve`, wired to this app: its callbacks and logout URLs
/// come from `AUTH0_BASE_URL`, it calls the sync webhook with the app's internal token and
/// streams its logs to the app.
///
/// # Errors
/// Bind failures and invalid tenant files.
pub async fn start_embedded_tenant(
    config: &Config,
    bind: SocketAddr,
    internal_token: &SecretString,
) -> anyhow::Result<DevTenant> {
    if config.environment == Environment::Production {
        anyhow::bail!("the dev tenant never runs with PYMD_ENV=production");
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding PYMD_DEV_TENANT_BIND {bind}"))?;
    let mut options = TenantOptions::new(config.data_dir.clone());
    options.app_base_url = config.base_url.clone();
    options.roles_claim = config.roles_claim.clone();
    options.source = tenant_source(config);
    let webhook = |path: &str| -> anyhow::Result<Webhook> {
        Ok(Webhook {
            url: config.base_url.join(path).context("AUTH0_BASE_URL")?,
            bearer: internal_token.expose_secret().to_owned(),
        })
    };
    options.sync_webhook = Some(webhook("internal/auth/sync-user")?);
    options.log_stream = Some(webhook("internal/auth0/log-stream")?);
    pymd_tenant::start(listener, options)
        .await
        .context("starting the dev tenant")
}

/// Prints where things are and how to sign in: the app's URL and the address it really listens
/// on, the dev tenant's URL and the demo logins (development only; their passwords are meant to
/// be read). Nothing secret beyond those.
pub fn print_banner(config: &Config, tenant: Option<&DevTenant>) {
    println!();
    println!("  PyMD is running");
    println!(
        "  app:        {}  (listening on {})",
        config.base_url, config.bind
    );
    println!(
        "  API docs:   {}api/openapi.json",
        with_slash(&config.base_url)
    );
    match tenant {
        Some(t) => {
            print_tenant(t);
            println!("  a token for curl: cargo run -- token --user alice@example.com");
        }
        None => {
            if let Idp::External { issuer_base_url } = &config.idp {
                println!("  identity provider: {issuer_base_url}");
            }
        }
    }
    println!();
}

/// The dev tenant's lines of a banner: its URL, where it listens, the demo logins.
fn print_tenant(t: &DevTenant) {
    println!(
        "  dev tenant: {}  (listening on {}; an offline Auth0 emulator, not for production)",
        t.issuer(),
        t.local_addr()
    );
    println!("  demo logins:");
    for login in t.demo_logins() {
        println!(
            "    {:<22} {:<18} roles: {}",
            login.email,
            login.password,
            login.roles.join(", ")
        );
    }
}

/// Where a running dev tenant recorded its issuer, so that `pymd token` finds it when
/// `PYMD_DEV_TENANT_BIND` names port 0. Not a secret: the issuer is public.
fn tenant_address_file(data_dir: &Path) -> PathBuf {
    data_dir.join("dev-tenant.json")
}

/// The record of a running dev tenant's address; removed again when dropped (unless another
/// tenant has replaced it meanwhile).
pub struct TenantAddressRecord {
    path: PathBuf,
    contents: String,
}

impl Drop for TenantAddressRecord {
    fn drop(&mut self) {
        if std::fs::read_to_string(&self.path).is_ok_and(|c| c == self.contents) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `{data_dir}/dev-tenant.json` naming the tenant's issuer (atomically, so a concurrent
/// `pymd token` never reads half a file). A failure is logged, not fatal: only `pymd token`
/// against a port-0 tenant needs the record.
pub fn record_tenant_address(data_dir: &Path, issuer: &str) -> Option<TenantAddressRecord> {
    let path = tenant_address_file(data_dir);
    let contents = serde_json::json!({ "issuer": issuer }).to_string();
    let partial = data_dir.join(format!("dev-tenant.json.{}", std::process::id()));
    let written = std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&partial, &contents))
        .and_then(|()| std::fs::rename(&partial, &path));
    match written {
        Ok(()) => Some(TenantAddressRecord { path, contents }),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            tracing::warn!(error = %e, path = %path.display(), "could not record the dev tenant's address; `pymd token` will not find it on port 0");
            None
        }
    }
}

/// The issuer a running dev tenant recorded in the data directory.
fn recorded_tenant_issuer(data_dir: &Path) -> anyhow::Result<Url> {
    let path = tenant_address_file(data_dir);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "PYMD_DEV_TENANT_BIND names port 0, so the dev tenant's address is read from {}, \
             which a running `pymd serve` or `pymd dev-tenant` with the same PYMD_DATA_DIR writes",
            path.display()
        )
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let issuer = value
        .get("issuer")
        .and_then(|v| v.as_str())
        .with_context(|| format!("{} names no issuer", path.display()))?;
    Url::parse(issuer).with_context(|| format!("the issuer in {}", path.display()))
}

fn with_slash(u: &Url) -> String {
    let s = u.as_str();
    if s.ends_with('/') {
        s.to_owned()
    } else {
        format!("{s}/")
    }
}

/// Where a standalone dev tenant sends its webhooks, and its Management API limit.
struct TenantHooks {
    sync_url: Option<Url>,
    log_stream_url: Option<Url>,
    management_rate_limit: Option<u32>,
}

async fn run_dev_tenant(
    config: Config,
    file: Option<PathBuf>,
    bind: Option<SocketAddr>,
    issuer: Option<Url>,
    hooks: TenantHooks,
) -> anyhow::Result<()> {
    if config.environment == Environment::Production {
        anyhow::bail!("the dev tenant never runs with PYMD_ENV=production");
    }
    let bind = bind.unwrap_or(match config.idp {
        Idp::DevTenant { bind } => bind,
        Idp::External { .. } => SocketAddr::from(([127, 0, 0, 1], 3001)),
    });
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let mut options = TenantOptions::new(config.data_dir.clone());
    options.app_base_url = config.base_url.clone();
    options.roles_claim = config.roles_claim.clone();
    options.issuer = issuer;
    options.source = match file {
        Some(file) => TenantSource::File(file),
        None => tenant_source(&config),
    };
    // The webhooks authenticate with the app's INTERNAL_API_TOKEN, as the embedded tenant does.
    let bearer = config
        .internal_api_token
        .as_ref()
        .map(|t| t.expose_secret().to_owned());
    let hook = |url: Option<Url>, flag: &str| -> anyhow::Result<Option<Webhook>> {
        match (url, &bearer) {
            (None, _) => Ok(None),
            (Some(url), Some(bearer)) => Ok(Some(Webhook {
                url,
                bearer: bearer.clone(),
            })),
            (Some(_), None) => {
                anyhow::bail!("{flag} needs INTERNAL_API_TOKEN, the bearer the app expects")
            }
        }
    };
    options.sync_webhook = hook(hooks.sync_url, "--sync-url")?;
    options.log_stream = hook(hooks.log_stream_url, "--log-stream-url")?;
    options.management_rate_limit_per_sec = hooks.management_rate_limit;
    let tenant = pymd_tenant::start(listener, options)
        .await
        .context("starting the dev tenant")?;
    let record = record_tenant_address(&config.data_dir, tenant.issuer());
    tracing::info!(
        issuer = tenant.issuer(),
        listening = %tenant.local_addr(),
        "pymd dev-tenant is running"
    );
    println!();
    println!("  PyMD dev tenant is running");
    print_tenant(&tenant);
    println!();
    crate::runtime::shutdown_signal().await;
    tenant.shutdown().await;
    drop(record);
    Ok(())
}

/// The dev tenant's issuer for `pymd token`, refusing anything that is not a local dev tenant.
/// The address a running tenant recorded in the data directory comes first (required when
/// `PYMD_DEV_TENANT_BIND` names port 0), then `PYMD_DEV_TENANT_BIND`.
fn dev_tenant_issuer(config: &Config) -> anyhow::Result<Url> {
    let issuer = match &config.idp {
        Idp::DevTenant { bind } if bind.port() == 0 => recorded_tenant_issuer(&config.data_dir)?,
        // A running tenant's own record wins (it may have been started with
        // `--dev-tenant-bind`, on port 0); without one, the configured address.
        Idp::DevTenant { bind } => match recorded_tenant_issuer(&config.data_dir) {
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

/// The M2M client of the tenant file the dev tenant runs with (`PYMD_TENANT_FILE`, else the
/// built-in tenant), as `pymd token --m2m` presents it when `AUTH0_M2M_CLIENT_*` are not set.
fn tenant_m2m_client(config: &Config, issuer: &Url) -> anyhow::Result<(String, String)> {
    let (yaml, name) = match tenant_source(config) {
        TenantSource::File(file) => (
            std::fs::read_to_string(&file)
                .with_context(|| format!("reading PYMD_TENANT_FILE {}", file.display()))?,
            file.display().to_string(),
        ),
        TenantSource::Yaml(yaml) => (yaml, "the tenant".to_owned()),
        TenantSource::Default => (
            pymd_tenant::DEFAULT_TENANT_YAML.to_owned(),
            "the built-in tenant".to_owned(),
        ),
    };
    let tenant = pymd_tenant::parse_tenant(
        &yaml,
        issuer.as_str(),
        config.base_url.as_str().trim_end_matches('/'),
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

async fn run_token(
    config: Config,
    user: String,
    scope: Option<String>,
    m2m: bool,
    audience: Option<String>,
) -> anyhow::Result<()> {
    let issuer = dev_tenant_issuer(&config)?;
    let audience = audience.unwrap_or_else(|| config.audience.clone());
    let http = crate::runtime::idp_http_client()?;
    let response = if m2m {
        let (client_id, client_secret) = match (&config.m2m_client_id, &config.m2m_client_secret) {
            (Some(id), Some(secret)) => (id.clone(), secret.expose_secret().to_owned()),
            _ => tenant_m2m_client(&config, &issuer)?,
        };
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
            ("audience", audience.as_str()),
        ];
        // Without a scope, Auth0 grants everything the client grant allows.
        if let Some(scope) = scope.as_deref() {
            form.push(("scope", scope));
        }
        http.post(issuer.join("oauth/token")?).form(&form).send().await
    } else {
        http.post(issuer.join("__dev/token")?)
            .json(&serde_json::json!({
                "user": user,
                "scope": scope.unwrap_or_else(|| pymd_domain::Permission::ALL.map(|p| p.as_str()).join(" ")),
                "audience": audience,
            }))
            .send()
            .await
    }
    .with_context(|| format!("the dev tenant at {issuer} is not reachable (is `pymd serve` or `pymd dev-tenant` running?)"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("reading the dev tenant's answer")?;
    if !status.is_success() {
        anyhow::bail!("the dev tenant refused: {status} {body}");
    }
    let token = body
        .get("access_token")
        .and_then(|t| t.as_str())
        .context("no access_token in the answer")?;
    println!("{token}");
    Ok(())
}

/// The secret as a `SecretString` (helper for callers holding plain strings).
pub fn secret(s: impl Into<String>) -> SecretString {
    SecretString::from(s.into())
}
