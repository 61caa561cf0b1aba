//! The dev tenant (an offline Auth0 emulator, crate `pymd-tenant`) as the `pymd` binary uses it:
//! started inside `pymd serve` when no IdP is configured and wired to the app, run on its own by
//! `pymd dev-tenant`, its address recorded in the data directory (`dev-tenant.json`), and the
//! `pymd token` client that asks it for tokens.
//!
//! All of it sits behind the default-on cargo feature `dev-tenant`. A build without it
//! (`--no-default-features`) leaves `pymd-tenant` out entirely: the same entry points then exist
//! but refuse, saying so, and [`EmbeddedTenant`] is a type with no values.

use std::net::SocketAddr;
use std::path::PathBuf;

use url::Url;

#[cfg(feature = "dev-tenant")]
mod address;
#[cfg(feature = "dev-tenant")]
mod embedded;
#[cfg(feature = "dev-tenant")]
mod standalone;
#[cfg(feature = "dev-tenant")]
mod token;

#[cfg(feature = "dev-tenant")]
pub use embedded::{EmbeddedTenant, start_embedded};
#[cfg(feature = "dev-tenant")]
pub use standalone::run_standalone;
#[cfg(feature = "dev-tenant")]
pub use token::run_token;

#[cfg(not(feature = "dev-tenant"))]
mod absent;
#[cfg(not(feature = "dev-tenant"))]
pub use absent::{EmbeddedTenant, run_standalone, run_token, start_embedded};

/// What `pymd dev-tenant` was asked for (its command-line options).
#[derive(Debug, Default, clap::Args)]
pub struct StandaloneOptions {
    /// Tenant directory in the Auth0 Deploy CLI layout, or a tenant.yaml in one (default: the
    /// built-in PyMD tenant, the repository's auth0/).
    #[arg(long = "config")]
    pub file: Option<PathBuf>,
    /// Address to listen on (default: PYMD_DEV_TENANT_BIND or 127.0.0.1:3001); port 0 lets
    /// the system choose, and the start lines name the port.
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Public issuer base URL, if not http://{bind}/.
    #[arg(long)]
    pub issuer: Option<Url>,
    /// Management API rate limit, requests per second (429 with x-ratelimit-* beyond it).
    #[arg(long)]
    pub management_rate_limit: Option<u32>,
}

/// What `pymd token` was asked for (its command-line options).
#[derive(Debug, clap::Args)]
pub struct TokenRequest {
    /// The user (email or user_id) to mint for.
    #[arg(long, default_value = "alice@example.com")]
    pub user: String,
    /// Space-separated scopes to ask for (default: a user gets the five API permissions, an
    /// M2M client everything its client grant allows).
    #[arg(long)]
    pub scope: Option<String>,
    /// A machine-to-machine token (client credentials) instead of a user's.
    #[arg(long)]
    pub m2m: bool,
    /// Audience (default: AUTH0_AUDIENCE).
    #[arg(long)]
    pub audience: Option<String>,
}
