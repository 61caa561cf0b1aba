//! PyMD's one configuration value (spec §2): read from the environment (and `.env`), parsed into
//! types, and validated as a whole so that every problem is reported at start, at once, naming
//! the variable. Secrets are held in [`SecretString`] and never appear in `Debug` or logs.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// `development` or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where access tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idp {
    /// No `AUTH0_DOMAIN` / `AUTH0_ISSUER_BASE_URL`: the dev tenant is started in-process on
    /// `bind` and PyMD talks to it over HTTP like to Auth0.
    DevTenant { bind: SocketAddr },
    /// A real IdP; `issuer_base_url` is where discovery is read.
    External { issuer_base_url: Url },
}

/// A CIDR block (`10.0.0.0/8`, `::1/128`) whose forwarding headers are believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix` or a bare address.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = s.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

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
    /// Rate limits and blocks of spec §7.
    pub limits: Limits,
    /// The suspicious-login alert of spec §8.
    pub alerts: Alerts,
}

/// The rate limits and blocks of spec §7 (all configurable; none can be switched off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Requests to `/auth/*` (and `/api/auth/*`) per minute per client IP
    /// (`PYMD_AUTH_RATE_LIMIT_PER_MINUTE`, default 10).
    pub auth_per_minute: u64,
    /// Failed logins per hour for one email before the IP they came from is blocked
    /// (`PYMD_FAILED_LOGINS_PER_HOUR`, default 5).
    pub failed_logins_per_hour: u64,
    /// How long such an IP is blocked from `/auth/*` (`PYMD_IP_BLOCK_MINUTES`, default 30).
    pub ip_block: Duration,
    /// Prefix of every Redis key (`PYMD_REDIS_KEY_PREFIX`, default `pymd:`), so that several
    /// deployments (or test runs) can share one Redis.
    pub redis_key_prefix: String,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            auth_per_minute: 10,
            failed_logins_per_hour: 5,
            ip_block: Duration::from_secs(30 * 60),
            redis_key_prefix: "pymd:".to_owned(),
        }
    }
}

/// The suspicious-login alert of spec §8: one user signing in from many IPs within minutes.
#[derive(Clone)]
pub struct Alerts {
    /// Distinct client IPs for one user within the window that raise the alert
    /// (`PYMD_ALERT_DISTINCT_IPS`, default 5, at least 2).
    pub distinct_ips: u64,
    /// The window (`PYMD_ALERT_WINDOW_MINUTES`, default 10).
    pub window: Duration,
    /// Where alerts are also POSTed as JSON (`PYMD_ALERT_WEBHOOK`, optional absolute http(s)
    /// URL). Held as a secret: chat and incident webhooks carry their token in the URL.
    pub webhook: Option<SecretString>,
}

impl Default for Alerts {
    fn default() -> Self {
        Self {
            distinct_ips: 5,
            window: Duration::from_secs(10 * 60),
            webhook: None,
        }
    }
}

impl fmt::Debug for Alerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alerts")
            .field("distinct_ips", &self.distinct_ips)
            .field("window", &self.window)
            .field(
                "webhook",
                &if self.webhook.is_some() {
                    "[redacted]"
                } else {
                    "None"
                },
            )
            .finish()
    }
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
            .field("limits", &self.limits)
            .field("alerts", &self.alerts)
            .finish()
    }
}

/// One configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub variable: &'static str,
    pub message: String,
}

/// Every configuration problem found, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem(s)):",
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  {}: {}", p.variable, p.message)?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// Whether a problem names this variable.
    pub fn names(&self, variable: &str) -> bool {
        self.problems.iter().any(|p| p.variable == variable)
    }
}

/// Default API audience.
pub const DEFAULT_AUDIENCE: &str = "https://api.pymd.io";
/// Default roles claim.
pub const DEFAULT_ROLES_CLAIM: &str = "https://pymd.io/roles";

struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    problems: Vec<ConfigProblem>,
}

impl<'a> Reader<'a> {
    fn raw(&self, name: &str) -> Option<&'a str> {
        self.vars
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    fn problem(&mut self, variable: &'static str, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            variable,
            message: message.into(),
        });
    }

    fn string(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_owned)
    }

    fn secret(&self, name: &str) -> Option<SecretString> {
        self.raw(name).map(|s| SecretString::from(s.to_owned()))
    }

    fn parse<T: std::str::FromStr>(&mut self, name: &'static str, default: T, what: &str) -> T {
        match self.raw(name) {
            None => default,
            Some(raw) => match raw.parse::<T>() {
                Ok(v) => v,
                Err(_) => {
                    self.problem(name, format!("must be {what}"));
                    default
                }
            },
        }
    }

    fn url(&mut self, name: &'static str) -> Option<Url> {
        let raw = self.raw(name)?;
        match Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            _ => {
                self.problem(name, "must be an absolute http(s) URL");
                None
            }
        }
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
        let mut r = Reader {
            vars,
            problems: Vec::new(),
        };
        let environment = match r.raw("PYMD_ENV") {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(_) => {
                r.problem("PYMD_ENV", "must be development or production");
                Environment::Development
            }
        };
        let bind = r.parse(
            "PYMD_BIND",
            SocketAddr::from(([127, 0, 0, 1], 3000)),
            "an address like 127.0.0.1:3000",
        );
        let tenant_bind = r.parse(
            "PYMD_DEV_TENANT_BIND",
            SocketAddr::from(([127, 0, 0, 1], 3001)),
            "an address like 127.0.0.1:3001",
        );
        let data_dir = PathBuf::from(r.raw("PYMD_DATA_DIR").unwrap_or("./.pymd"));

        let issuer_base_url = r.url("AUTH0_ISSUER_BASE_URL");
        let domain = r.string("AUTH0_DOMAIN");
        let idp = match (issuer_base_url, domain) {
            (Some(url), _) => Idp::External {
                issuer_base_url: url,
            },
            (None, Some(domain)) => {
                let domain = domain
                    .trim_start_matches("https://")
                    .trim_end_matches('/')
                    .to_owned();
                match Url::parse(&format!("https://{domain}/")) {
                    Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) && u.path() == "/" => {
                        Idp::External { issuer_base_url: u }
                    }
                    _ => {
                        r.problem(
                            "AUTH0_DOMAIN",
                            "must be a host name like your-tenant.auth0.com",
                        );
                        Idp::DevTenant { bind: tenant_bind }
                    }
                }
            }
            (None, None) => Idp::DevTenant { bind: tenant_bind },
        };

        let audience = r
            .string("AUTH0_AUDIENCE")
            .or_else(|| r.string("AUTH0_API_AUDIENCE"))
            .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());

        let mut algorithms = Vec::new();
        for name in r.raw("AUTH0_ALGORITHMS").unwrap_or("RS256").split(',') {
            let name = name.trim();
            match name {
                "RS256" => algorithms.push(jsonwebtoken::Algorithm::RS256),
                "RS384" => algorithms.push(jsonwebtoken::Algorithm::RS384),
                "RS512" => algorithms.push(jsonwebtoken::Algorithm::RS512),
                "PS256" => algorithms.push(jsonwebtoken::Algorithm::PS256),
                "PS384" => algorithms.push(jsonwebtoken::Algorithm::PS384),
                "PS512" => algorithms.push(jsonwebtoken::Algorithm::PS512),
                other => {
                    let other = other.to_owned();
                    r.problem(
                        "AUTH0_ALGORITHMS",
                        format!("{other:?} is not allowed: only RSA signatures (RS256, RS384, RS512, PS256, PS384, PS512)"),
                    );
                }
            }
        }

        let base_url = r.url("AUTH0_BASE_URL").unwrap_or_else(default_base_url);
        let secret = r.secret("AUTH0_SECRET");
        if let Some(s) = &secret
            && s.expose_secret().len() < 32
        {
            r.problem("AUTH0_SECRET", "must be at least 32 bytes");
        }
        let internal_api_token = r.secret("INTERNAL_API_TOKEN");
        if let Some(t) = &internal_api_token
            && t.expose_secret().len() < 16
        {
            r.problem("INTERNAL_API_TOKEN", "must be at least 16 characters");
        }
        let database_url = r.secret("DATABASE_URL");
        if let Some(u) = &database_url {
            let u = u.expose_secret();
            if !(u.starts_with("sqlite:")
                || u.starts_with("postgres://")
                || u.starts_with("postgresql://"))
            {
                r.problem("DATABASE_URL", "must start with sqlite: or postgres://");
            }
        }
        let redis_url = r.secret("REDIS_URL");
        if let Some(u) = &redis_url {
            let u = u.expose_secret();
            if !(u.starts_with("redis://") || u.starts_with("rediss://")) {
                r.problem("REDIS_URL", "must start with redis:// or rediss://");
            }
        }
        let leeway_secs: u64 = r.parse("PYMD_CLOCK_LEEWAY_SECS", 5, "a number of seconds (0–300)");
        if leeway_secs > 300 {
            r.problem("PYMD_CLOCK_LEEWAY_SECS", "must be at most 300 seconds");
        }
        let defaults = Limits::default();
        let mut positive = |name: &'static str, default: u64| {
            let v: u64 = r.parse(name, default, "a whole number of at least 1");
            if v == 0 {
                r.problem(name, "must be at least 1 (a limit cannot be switched off)");
            }
            v.max(1)
        };
        let alert_defaults = Alerts::default();
        let alert_window = Duration::from_secs(
            positive(
                "PYMD_ALERT_WINDOW_MINUTES",
                alert_defaults.window.as_secs() / 60,
            )
            .saturating_mul(60),
        );
        let limits = Limits {
            auth_per_minute: positive("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", defaults.auth_per_minute),
            failed_logins_per_hour: positive(
                "PYMD_FAILED_LOGINS_PER_HOUR",
                defaults.failed_logins_per_hour,
            ),
            ip_block: Duration::from_secs(
                positive("PYMD_IP_BLOCK_MINUTES", defaults.ip_block.as_secs() / 60)
                    .saturating_mul(60),
            ),
            redis_key_prefix: r
                .string("PYMD_REDIS_KEY_PREFIX")
                .unwrap_or(defaults.redis_key_prefix),
        };
        let distinct_ips: u64 = r.parse(
            "PYMD_ALERT_DISTINCT_IPS",
            alert_defaults.distinct_ips,
            "a whole number of at least 2",
        );
        if distinct_ips < 2 {
            r.problem(
                "PYMD_ALERT_DISTINCT_IPS",
                "must be at least 2 (one IP is every sign-in, and the alert cannot be switched off)",
            );
        }
        let alerts = Alerts {
            distinct_ips: distinct_ips.max(2),
            window: alert_window,
            webhook: r
                .url("PYMD_ALERT_WEBHOOK")
                .map(|u| SecretString::from(String::from(u))),
        };
        let cors_origins = match r.raw("PYMD_CORS_ORIGINS") {
            Some(list) => {
                let mut out = Vec::new();
                for o in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                    match Url::parse(o) {
                        Ok(u)
                            if matches!(u.scheme(), "http" | "https")
                                && u.host().is_some()
                                && u.path() == "/"
                                && u.query().is_none() =>
                        {
                            out.push(u.origin().ascii_serialization())
                        }
                        _ => {
                            let o = o.to_owned();
                            r.problem(
                                "PYMD_CORS_ORIGINS",
                                format!("{o:?} is not an origin like https://app.example.com"),
                            );
                        }
                    }
                }
                out
            }
            None => vec![base_url.origin().ascii_serialization()],
        };
        let mut trusted_proxies = Vec::new();
        if let Some(list) = r.raw("PYMD_TRUSTED_PROXIES") {
            for c in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                match Cidr::parse(c) {
                    Some(c) => trusted_proxies.push(c),
                    None => {
                        let c = c.to_owned();
                        r.problem(
                            "PYMD_TRUSTED_PROXIES",
                            format!("{c:?} is not a CIDR like 10.0.0.0/8"),
                        );
                    }
                }
            }
        }
        let log_format = match r.raw("PYMD_LOG_FORMAT") {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => {
                r.problem("PYMD_LOG_FORMAT", "must be text or json");
                LogFormat::Text
            }
        };
        let roles_claim = r
            .string("PYMD_ROLES_CLAIM")
            .unwrap_or_else(|| DEFAULT_ROLES_CLAIM.to_owned());

        if environment == Environment::Production {
            if secret.is_none() {
                r.problem("AUTH0_SECRET", "is required when PYMD_ENV=production");
            }
            if internal_api_token.is_none() {
                r.problem("INTERNAL_API_TOKEN", "is required when PYMD_ENV=production");
            }
            if base_url.scheme() != "https" {
                r.problem("AUTH0_BASE_URL", "must be https when PYMD_ENV=production");
            }
            if matches!(idp, Idp::DevTenant { .. }) {
                r.problem(
                    "AUTH0_DOMAIN",
                    "a real identity provider (AUTH0_DOMAIN or AUTH0_ISSUER_BASE_URL) is required when PYMD_ENV=production; the dev tenant never runs in production",
                );
            }
        }

        let config = Config {
            environment,
            bind,
            data_dir,
            idp,
            audience,
            algorithms,
            client_id: r.string("AUTH0_CLIENT_ID"),
            client_secret: r.secret("AUTH0_CLIENT_SECRET"),
            m2m_client_id: r.string("AUTH0_M2M_CLIENT_ID"),
            m2m_client_secret: r.secret("AUTH0_M2M_CLIENT_SECRET"),
            base_url,
            secret,
            scope: r
                .string("AUTH0_SCOPE")
                .unwrap_or_else(|| "openid profile email offline_access".to_owned()),
            internal_api_token,
            database_url,
            redis_url,
            roles_claim,
            clock_leeway: Duration::from_secs(leeway_secs),
            cors_origins,
            trusted_proxies,
            log_format,
            tenant_file: r.raw("PYMD_TENANT_FILE").map(PathBuf::from),
            limits,
            alerts,
        };
        if r.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError {
                problems: r.problems,
            })
        }
    }

    /// The database URL: `DATABASE_URL`, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.expose_secret().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("pymd.db").display()),
        }
    }

    /// Whether the base URL is https (cookies get `Secure`, HSTS is sent).
    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

/// `http://localhost:3000`, the default `AUTH0_BASE_URL`.
fn default_base_url() -> Url {
    #[allow(clippy::expect_used)]
    Url::parse("http://localhost:3000").expect("a constant URL parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_defaults_start_the_dev_tenant_with_sqlite() {
        let c = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(
            c.idp,
            Idp::DevTenant {
                bind: "127.0.0.1:3001".parse().unwrap()
            }
        );
        assert_eq!(c.bind, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(c.audience, "https://api.pymd.io");
        assert_eq!(c.algorithms, vec![jsonwebtoken::Algorithm::RS256]);
        assert!(c.database_url().starts_with("sqlite://"));
        assert_eq!(c.cors_origins, vec!["http://localhost:3000".to_owned()]);
        assert_eq!(c.clock_leeway, Duration::from_secs(5));
    }

    #[test]
    fn an_auth0_domain_gives_an_https_issuer_with_a_trailing_slash() {
        let c = Config::from_vars(&vars(&[("AUTH0_DOMAIN", "tenant.eu.auth0.com")])).unwrap();
        let Idp::External { issuer_base_url } = c.idp else {
            panic!("external expected")
        };
        assert_eq!(issuer_base_url.as_str(), "https://tenant.eu.auth0.com/");
    }

    #[test]
    fn the_issuer_base_url_overrides_the_domain_and_may_be_local_http() {
        let c = Config::from_vars(&vars(&[
            ("AUTH0_DOMAIN", "tenant.auth0.com"),
            ("AUTH0_ISSUER_BASE_URL", "http://127.0.0.1:4700"),
        ]))
        .unwrap();
        let Idp::External { issuer_base_url } = c.idp else {
            panic!("external expected")
        };
        assert_eq!(issuer_base_url.as_str(), "http://127.0.0.1:4700/");
    }

    #[test]
    fn the_api_audience_alias_is_read() {
        let c = Config::from_vars(&vars(&[("AUTH0_API_AUDIENCE", "https://x")])).unwrap();
        assert_eq!(c.audience, "https://x");
    }

    #[test]
    fn every_problem_is_reported_at_once_naming_the_variable() {
        let err = Config::from_vars(&vars(&[
            ("PYMD_BIND", "not-an-address"),
            ("AUTH0_ALGORITHMS", "RS256,HS256"),
            ("AUTH0_SECRET", "short"),
            ("DATABASE_URL", "mysql://x"),
            ("PYMD_CLOCK_LEEWAY_SECS", "soon"),
            ("PYMD_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("PYMD_LOG_FORMAT", "xml"),
            ("AUTH0_BASE_URL", "ftp://x"),
        ]))
        .unwrap_err();
        for v in [
            "PYMD_BIND",
            "AUTH0_ALGORITHMS",
            "AUTH0_SECRET",
            "DATABASE_URL",
            "PYMD_CLOCK_LEEWAY_SECS",
            "PYMD_TRUSTED_PROXIES",
            "PYMD_LOG_FORMAT",
            "AUTH0_BASE_URL",
        ] {
            assert!(err.names(v), "{v} not named in {err}");
        }
        assert_eq!(err.problems.len(), 8, "{err}");
    }

    #[test]
    fn production_refuses_to_start_without_secrets_https_and_a_real_idp() {
        let err = Config::from_vars(&vars(&[("PYMD_ENV", "production")])).unwrap_err();
        for v in [
            "AUTH0_SECRET",
            "INTERNAL_API_TOKEN",
            "AUTH0_BASE_URL",
            "AUTH0_DOMAIN",
        ] {
            assert!(err.names(v), "{v} not named in {err}");
        }
    }

    #[test]
    fn production_starts_with_everything_it_needs() {
        let c = Config::from_vars(&vars(&[
            ("PYMD_ENV", "production"),
            ("AUTH0_DOMAIN", "t.auth0.com"),
            ("AUTH0_SECRET", "0123456789abcdef0123456789abcdef"),
            ("INTERNAL_API_TOKEN", "internal-token-0123456789"),
            ("AUTH0_BASE_URL", "https://pymd.example.com"),
        ]))
        .unwrap();
        assert_eq!(c.environment, Environment::Production);
        assert!(c.is_https());
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let c = Config::from_vars(&vars(&[
            ("AUTH0_SECRET", "super-secret-value-0123456789abcdef"),
            ("INTERNAL_API_TOKEN", "internal-token-value-xyz"),
            ("AUTH0_CLIENT_SECRET", "client-secret-value"),
            ("DATABASE_URL", "postgres://u:dbpassword@h/db"),
        ]))
        .unwrap();
        let debug = format!("{c:?}");
        for s in [
            "super-secret-value",
            "internal-token-value",
            "client-secret-value",
            "dbpassword",
        ] {
            assert!(!debug.contains(s), "{s} leaked in {debug}");
        }
    }

    #[test]
    fn alert_thresholds_default_and_bad_values_are_refused_naming_the_variable() {
        let c = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(c.alerts.distinct_ips, 5);
        assert_eq!(c.alerts.window, Duration::from_secs(600));
        assert!(c.alerts.webhook.is_none());

        let c = Config::from_vars(&vars(&[
            ("PYMD_ALERT_DISTINCT_IPS", "3"),
            ("PYMD_ALERT_WINDOW_MINUTES", "2"),
            (
                "PYMD_ALERT_WEBHOOK",
                "https://hooks.example.com/T0/secret-path-token",
            ),
        ]))
        .unwrap();
        assert_eq!(c.alerts.distinct_ips, 3);
        assert_eq!(c.alerts.window, Duration::from_secs(120));
        assert!(!format!("{c:?}").contains("secret-path-token"));

        let err = Config::from_vars(&vars(&[
            ("PYMD_ALERT_DISTINCT_IPS", "1"),
            ("PYMD_ALERT_WINDOW_MINUTES", "0"),
            ("PYMD_ALERT_WEBHOOK", "ftp://hooks.example.com/x"),
        ]))
        .unwrap_err();
        for v in [
            "PYMD_ALERT_DISTINCT_IPS",
            "PYMD_ALERT_WINDOW_MINUTES",
            "PYMD_ALERT_WEBHOOK",
        ] {
            assert!(err.names(v), "{v} not named in {err}");
        }
        let err = Config::from_vars(&vars(&[
            ("PYMD_ALERT_DISTINCT_IPS", "many"),
            ("PYMD_ALERT_WEBHOOK", "/relative"),
        ]))
        .unwrap_err();
        assert!(err.names("PYMD_ALERT_DISTINCT_IPS"), "{err}");
        assert!(err.names("PYMD_ALERT_WEBHOOK"), "{err}");
    }

    #[test]
    fn cidrs_match_addresses_inside_them() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(
            Cidr::parse("127.0.0.1")
                .unwrap()
                .contains("::ffff:127.0.0.1".parse().unwrap())
        );
        assert!(
            Cidr::parse("::1/128")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
    }
}
