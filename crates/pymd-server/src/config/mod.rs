//! PyMD's one configuration value (spec §2): read from the environment (and `.env`) area by
//! area — the process ([`server`]), the identity provider ([`idp`]), the web face ([`web`]),
//! storage, limits and alerts — each parsed into types, and validated as a whole so that every
//! problem is reported at start, at once, naming the variable. Secrets are held in
//! [`SecretString`] and never appear in `Debug` or logs.
//!
//! The areas are read separately but the fields stay on one flat [`Config`] (with [`Limits`]
//! and [`Alerts`] grouped), the shape the handlers already read.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

mod alerts;
mod cidr;
mod idp;
mod limits;
mod reader;
mod server;
mod sessions;
mod storage;
mod web;

pub use alerts::Alerts;
pub use cidr::Cidr;
pub use idp::{DEFAULT_AUDIENCE, DEFAULT_ROLES_CLAIM, Idp};
pub use limits::Limits;
pub use reader::{ConfigError, ConfigProblem};
pub use server::{Environment, LogFormat};
pub use sessions::Sessions;

use reader::Reader;

/// The validated configuration.
#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub idp: Idp,
    pub audience: String,
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub m2m_client_id: Option<String>,
    pub m2m_client_secret: Option<SecretString>,
    pub base_url: Url,
    pub secret: Option<SecretString>,
    pub scope: String,
    pub internal_api_token: Option<SecretString>,
    pub database_url: Option<SecretString>,
    pub redis_url: Option<SecretString>,
    pub roles_claim: String,
    pub clock_leeway: Duration,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<Cidr>,
    pub log_format: LogFormat,
    pub tenant_file: Option<PathBuf>,
    /// `AUTH0_KEYWORD_REPLACE_MAPPINGS` for the dev tenant's `##NAME##` keywords.
    pub tenant_keywords: std::collections::BTreeMap<String, String>,
    /// `AUTH0_MANAGEMENT_DOMAIN`: the Management API's base URL (canonical tenant domain);
    /// `None` = the issuer.
    pub management_base_url: Option<Url>,
    /// `PYMD_REQUIRE_VERIFIED_EMAIL`: unverified users get a page, not a session.
    pub require_verified_email: bool,
    /// `PYMD_DEV_ALLOW_REMOTE`: the dev tenant (whose demo passwords are public) may listen on
    /// a non-loopback address.
    pub dev_allow_remote: bool,
    /// `PYMD_METRICS_BIND`: `/metrics` is served there instead of on the app's listener.
    pub metrics_bind: Option<SocketAddr>,
    /// Session lifetimes of spec §5.
    pub sessions: Sessions,
    /// Rate limits and blocks of spec §7.
    pub limits: Limits,
    /// The suspicious-login alert of spec §8.
    pub alerts: Alerts,
    /// Which defaults follow the address `pymd serve` binds.
    defaulted: web::Defaulted,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn redact(s: &Option<SecretString>) -> &'static str {
            if s.is_some() { "[redacted]" } else { "None" }
        }
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("idp", &self.idp)
            .field("audience", &self.audience)
            .field("algorithms", &self.algorithms)
            .field("client_id", &self.client_id)
            .field("client_secret", &redact(&self.client_secret))
            .field("m2m_client_id", &self.m2m_client_id)
            .field("m2m_client_secret", &redact(&self.m2m_client_secret))
            .field("base_url", &self.base_url.as_str())
            .field("secret", &redact(&self.secret))
            .field("scope", &self.scope)
            .field("internal_api_token", &redact(&self.internal_api_token))
            .field("database_url", &redact(&self.database_url))
            .field("redis_url", &redact(&self.redis_url))
            .field("roles_claim", &self.roles_claim)
            .field("clock_leeway", &self.clock_leeway)
            .field("cors_origins", &self.cors_origins)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("log_format", &self.log_format)
            .field("tenant_file", &self.tenant_file)
            .field(
                "tenant_keywords",
                &self.tenant_keywords.keys().collect::<Vec<_>>(),
            )
            .field("management_base_url", &self.management_base_url)
            .field("require_verified_email", &self.require_verified_email)
            .field("dev_allow_remote", &self.dev_allow_remote)
            .field("metrics_bind", &self.metrics_bind)
            .field("sessions", &self.sessions)
            .field("limits", &self.limits)
            .field("alerts", &self.alerts)
            .finish()
    }
}

impl Config {
    /// Reads the process environment, after loading `.env` from the working directory if present
    /// (variables already set win over `.env`).
    ///
    /// # Errors
    /// [`ConfigError`] listing every problem.
    pub fn from_env() -> Result<Config, ConfigError> {
        // `.env` in the working directory only (not in its parents, as `dotenvy::dotenv` would
        // look): a file that cannot be read or parsed is a configuration problem, not ignored.
        let dotenv = match dotenvy::from_path(".env") {
            Err(e) if e.not_found() => None,
            Err(e) => Some(ConfigProblem {
                variable: ".env",
                message: format!("cannot be read: {e}"),
            }),
            Ok(()) => None,
        };
        let vars: HashMap<String, String> = std::env::vars().collect();
        match (Config::from_vars(&vars), dotenv) {
            (result, None) => result,
            (Ok(_), Some(problem)) => Err(ConfigError {
                problems: vec![problem],
            }),
            (Err(mut e), Some(problem)) => {
                e.problems.insert(0, problem);
                Err(e)
            }
        }
    }

    /// Builds the configuration from a map of variables (the environment, or a test's map).
    ///
    /// # Errors
    /// [`ConfigError`] listing every problem, each naming its variable.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let mut r = Reader::new(vars);
        let server = server::read(&mut r);
        let idp = idp::read(&mut r, server.dev_tenant_bind);
        let web = web::read(&mut r);
        let storage = storage::read(&mut r);
        let sessions = sessions::read(&mut r);
        let limits = limits::read(&mut r);
        let alerts = alerts::read(&mut r);
        let config = Config {
            environment: server.environment,
            bind: server.bind,
            data_dir: server.data_dir,
            idp: idp.idp,
            audience: idp.audience,
            algorithms: idp.algorithms,
            client_id: idp.client_id,
            client_secret: idp.client_secret,
            m2m_client_id: idp.m2m_client_id,
            m2m_client_secret: idp.m2m_client_secret,
            base_url: web.base_url,
            secret: web.secret,
            scope: idp.scope,
            internal_api_token: web.internal_api_token,
            database_url: storage.database_url,
            redis_url: storage.redis_url,
            roles_claim: idp.roles_claim,
            clock_leeway: idp.clock_leeway,
            cors_origins: web.cors_origins,
            trusted_proxies: web.trusted_proxies,
            log_format: server.log_format,
            tenant_file: server.tenant_file,
            tenant_keywords: server.tenant_keywords,
            management_base_url: idp.management_base_url,
            require_verified_email: web.require_verified_email,
            dev_allow_remote: server.dev_allow_remote,
            metrics_bind: server.metrics_bind,
            sessions,
            limits,
            alerts,
            defaulted: web.defaulted,
        };
        config.check_production(&mut r);
        r.finish(config)
    }

    /// With the dev tenant (whose demo logins, admin included, are public), `variable`'s
    /// address `addr` must be loopback unless `PYMD_DEV_ALLOW_REMOTE=1`.
    ///
    /// # Errors
    /// The refusal, naming the variable.
    pub fn check_dev_exposure(&self, variable: &str, addr: SocketAddr) -> Result<(), String> {
        if self.dev_allow_remote || addr.ip().is_loopback() {
            return Ok(());
        }
        Err(format!(
            "{variable} {addr} is not a loopback address: with the dev tenant (public demo passwords, an admin among them) PyMD listens only on loopback; set PYMD_DEV_ALLOW_REMOTE=1 to allow it"
        ))
    }

    /// What `PYMD_ENV=production` requires on top: both secrets, https, a real IdP.
    fn check_production(&self, r: &mut Reader<'_>) {
        if self.environment != Environment::Production {
            return;
        }
        if self.secret.is_none() {
            r.problem("AUTH0_SECRET", "is required when PYMD_ENV=production");
        }
        if self.internal_api_token.is_none() {
            r.problem("INTERNAL_API_TOKEN", "is required when PYMD_ENV=production");
        }
        if self.base_url.scheme() != "https" {
            r.problem("AUTH0_BASE_URL", "must be https when PYMD_ENV=production");
        }
        if matches!(self.idp, Idp::DevTenant { .. }) {
            r.problem(
                "AUTH0_DOMAIN",
                "a real identity provider (AUTH0_DOMAIN or AUTH0_ISSUER_BASE_URL) is required when PYMD_ENV=production; the dev tenant never runs in production",
            );
        }
    }

    /// The database URL: `DATABASE_URL`, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.expose_secret().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("pymd.db").display()),
        }
    }

    /// Points the configuration at the address the app listener really has: `bind` becomes it,
    /// and the base URL (and the CORS origin) follow it when they were defaults. The default base
    /// URL of spec §2, `http://localhost:3000`, is what this gives for the default `PYMD_BIND`.
    pub fn follow_bound_address(&mut self, bound: SocketAddr) {
        self.bind = bound;
        if !self.defaulted.base_url {
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
                self.base_url = url;
                if self.defaulted.cors_origins {
                    self.cors_origins = vec![self.base_url.origin().ascii_serialization()];
                }
            }
            Err(e) => tracing::warn!(error = %e, "keeping the default base URL"),
        }
    }

    /// Whether the base URL is https (cookies get `Secure`, HSTS is sent).
    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

#[cfg(test)]
mod tests;
