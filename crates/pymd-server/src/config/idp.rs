//! The identity-provider area: where tokens come from (`AUTH0_ISSUER_BASE_URL` or
//! `AUTH0_DOMAIN`, else the dev tenant), what they must say (`AUTH0_AUDIENCE`,
//! `AUTH0_ALGORITHMS`, `PYMD_ROLES_CLAIM`, `PYMD_CLOCK_LEEWAY_SECS`), and the app's clients
//! (`AUTH0_CLIENT_*`, `AUTH0_M2M_CLIENT_*`, `AUTH0_SCOPE`).

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::reader::Reader;

/// Default API audience.
pub const DEFAULT_AUDIENCE: &str = "https://api.pymd.io";
/// Default roles claim.
pub const DEFAULT_ROLES_CLAIM: &str = "https://pymd.io/roles";

/// Where access tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idp {
    /// No `AUTH0_DOMAIN` / `AUTH0_ISSUER_BASE_URL`: the dev tenant is started in-process on
    /// `bind` and PyMD talks to it over HTTP like to Auth0.
    DevTenant { bind: SocketAddr },
    /// A real IdP; `issuer_base_url` is where discovery is read.
    External { issuer_base_url: Url },
}

/// The IdP area, as read.
pub(super) struct IdpSettings {
    pub idp: Idp,
    pub audience: String,
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub m2m_client_id: Option<String>,
    pub m2m_client_secret: Option<SecretString>,
    pub scope: String,
    pub roles_claim: String,
    pub clock_leeway: Duration,
    pub management_base_url: Option<Url>,
}

/// Reads the area; without a configured IdP, the dev tenant on `dev_tenant_bind`.
pub(super) fn read(r: &mut Reader<'_>, dev_tenant_bind: SocketAddr) -> IdpSettings {
    let idp = idp(r, dev_tenant_bind);
    let audience = r
        .string("AUTH0_AUDIENCE")
        .or_else(|| r.string("AUTH0_API_AUDIENCE"))
        .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
    let algorithms = algorithms(r);
    let leeway_secs: u64 = r.parse("PYMD_CLOCK_LEEWAY_SECS", 5, "a number of seconds (0–300)");
    if leeway_secs > 300 {
        r.problem("PYMD_CLOCK_LEEWAY_SECS", "must be at most 300 seconds");
    }
    IdpSettings {
        idp,
        audience,
        algorithms,
        client_id: r.string("AUTH0_CLIENT_ID"),
        client_secret: r.secret("AUTH0_CLIENT_SECRET"),
        m2m_client_id: r.string("AUTH0_M2M_CLIENT_ID"),
        m2m_client_secret: r.secret("AUTH0_M2M_CLIENT_SECRET"),
        scope: r
            .string("AUTH0_SCOPE")
            .unwrap_or_else(|| "openid profile email offline_access".to_owned()),
        roles_claim: r
            .string("PYMD_ROLES_CLAIM")
            .unwrap_or_else(|| DEFAULT_ROLES_CLAIM.to_owned()),
        clock_leeway: Duration::from_secs(leeway_secs),
        management_base_url: management_base_url(r),
    }
}

/// `AUTH0_MANAGEMENT_DOMAIN`: the tenant's canonical domain (`TENANT.REGION.auth0.com`, or a
/// URL), where the Management API and its audience live when `AUTH0_DOMAIN` is a custom domain.
fn management_base_url(r: &mut Reader<'_>) -> Option<Url> {
    let raw = r.raw("AUTH0_MANAGEMENT_DOMAIN")?;
    let text = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("https://{raw}/")
    };
    match Url::parse(&text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            let s = u.as_str();
            Url::parse(&if s.ends_with('/') {
                s.to_owned()
            } else {
                format!("{s}/")
            })
            .ok()
        }
        _ => {
            r.problem(
                "AUTH0_MANAGEMENT_DOMAIN",
                "must be a host name like my-tenant.eu.auth0.com (or an http(s) URL)",
            );
            None
        }
    }
}

/// `AUTH0_ISSUER_BASE_URL` wins over `AUTH0_DOMAIN` (a host name, served over https).
fn idp(r: &mut Reader<'_>, dev_tenant_bind: SocketAddr) -> Idp {
    let dev_tenant = Idp::DevTenant {
        bind: dev_tenant_bind,
    };
    if let Some(issuer_base_url) = r.url("AUTH0_ISSUER_BASE_URL") {
        return Idp::External { issuer_base_url };
    }
    let Some(domain) = r.raw("AUTH0_DOMAIN") else {
        return dev_tenant;
    };
    let domain = domain.trim_start_matches("https://").trim_end_matches('/');
    match Url::parse(&format!("https://{domain}/")) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) && u.path() == "/" => {
            Idp::External { issuer_base_url: u }
        }
        _ => {
            r.problem(
                "AUTH0_DOMAIN",
                "must be a host name like your-tenant.auth0.com",
            );
            dev_tenant
        }
    }
}

/// `AUTH0_ALGORITHMS`: RSA signatures only (default RS256).
fn algorithms(r: &mut Reader<'_>) -> Vec<jsonwebtoken::Algorithm> {
    use jsonwebtoken::Algorithm;
    let mut algorithms = Vec::new();
    for name in r.raw("AUTH0_ALGORITHMS").unwrap_or("RS256").split(',') {
        match name.trim() {
            "RS256" => algorithms.push(Algorithm::RS256),
            "RS384" => algorithms.push(Algorithm::RS384),
            "RS512" => algorithms.push(Algorithm::RS512),
            "PS256" => algorithms.push(Algorithm::PS256),
            "PS384" => algorithms.push(Algorithm::PS384),
            "PS512" => algorithms.push(Algorithm::PS512),
            other => {
                let other = other.to_owned();
                r.problem(
                    "AUTH0_ALGORITHMS",
                    format!("{other:?} is not allowed: only RSA signatures (RS256, RS384, RS512, PS256, PS384, PS512)"),
                );
            }
        }
    }
    algorithms
}
