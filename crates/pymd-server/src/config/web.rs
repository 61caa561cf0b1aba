//! The web area: where the app is reached and who may call it — `AUTH0_BASE_URL`, the cookie
//! secret `AUTH0_SECRET`, the webhooks' `INTERNAL_API_TOKEN`, `PYMD_CORS_ORIGINS` and the
//! proxies whose forwarding headers are believed (`PYMD_TRUSTED_PROXIES`).

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::cidr::Cidr;
use super::reader::Reader;

/// The web area, as read.
pub(super) struct Web {
    pub base_url: Url,
    pub secret: Option<SecretString>,
    pub internal_api_token: Option<SecretString>,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<Cidr>,
    pub require_verified_email: bool,
    pub defaulted: Defaulted,
}

/// Which of the configuration's defaults were taken because the variable was not set, and so
/// follow the address `pymd serve` actually bound (which differs from `PYMD_BIND` on port 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Defaulted {
    /// `AUTH0_BASE_URL` was not set: the base URL is `http://localhost:{bound port}`.
    pub base_url: bool,
    /// `PYMD_CORS_ORIGINS` was not set: the allowed origin is the base URL's.
    pub cors_origins: bool,
}

pub(super) fn read(r: &mut Reader<'_>) -> Web {
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
    let defaulted = Defaulted {
        base_url: r.raw("AUTH0_BASE_URL").is_none(),
        cors_origins: r.raw("PYMD_CORS_ORIGINS").is_none(),
    };
    let cors_origins =
        cors_origins(r).unwrap_or_else(|| vec![base_url.origin().ascii_serialization()]);
    Web {
        base_url,
        secret,
        internal_api_token,
        cors_origins,
        trusted_proxies: trusted_proxies(r),
        require_verified_email: r.flag("PYMD_REQUIRE_VERIFIED_EMAIL", false),
        defaulted,
    }
}

/// `http://localhost:3000`, the default `AUTH0_BASE_URL`.
fn default_base_url() -> Url {
    #[allow(clippy::expect_used)]
    Url::parse("http://localhost:3000").expect("a constant URL parses")
}

/// `PYMD_CORS_ORIGINS`: a comma-separated list of origins; `None` when unset.
fn cors_origins(r: &mut Reader<'_>) -> Option<Vec<String>> {
    let list = r.raw("PYMD_CORS_ORIGINS")?;
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
    Some(out)
}

/// `PYMD_TRUSTED_PROXIES`: a comma-separated list of CIDR blocks (default: none).
fn trusted_proxies(r: &mut Reader<'_>) -> Vec<Cidr> {
    let mut out = Vec::new();
    let Some(list) = r.raw("PYMD_TRUSTED_PROXIES") else {
        return out;
    };
    for c in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        match Cidr::parse(c) {
            Some(c) => out.push(c),
            None => {
                let c = c.to_owned();
                r.problem(
                    "PYMD_TRUSTED_PROXIES",
                    format!("{c:?} is not a CIDR like 10.0.0.0/8"),
                );
            }
        }
    }
    out
}
