//! The `pymd` command line: `serve`, `dev-tenant`, `token` and `migrate` (spec §1). This module
//! only parses the arguments, reads the configuration and hands over: `serve` to
//! [`crate::startup`], `dev-tenant` and `token` to [`crate::devtenant`].

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, Idp};
use crate::devtenant::{StandaloneOptions, TokenRequest};

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
    DevTenant(StandaloneOptions),
    /// Mint a dev-tenant access token for curl / HTTPie (never against a real Auth0 domain).
    Token(TokenRequest),
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
            crate::startup::run_serve(config).await
        }
        Command::Migrate => {
            pymd_storage::migrate(&config.database_url())
                .await
                .context("migrating")?;
            println!("migrations applied");
            Ok(())
        }
        Command::DevTenant(options) => crate::devtenant::run_standalone(config, options).await,
        Command::Token(request) => crate::devtenant::run_token(config, request).await,
    }
}
