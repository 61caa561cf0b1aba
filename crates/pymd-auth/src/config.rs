//! What the verifier needs to know about the identity provider and the API, with the
//! defaults from the product specification (section 4).

use std::time::Duration;

use jsonwebtoken::Algorithm;
use url::Url;

/// Configuration of a [`crate::Verifier`].
///
/// Build it with [`VerifierConfig::new`] and adjust fields as needed.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// Base URL of the issuer; discovery is fetched from
    /// `{base without trailing slash}/.well-known/openid-configuration`.
    pub issuer_base_url: Url,
    /// The API audience that every token's `aud` must contain.
    pub audience: String,
    /// Allowed `alg` values (default `[RS256]`). Only RSA algorithms (RS*/PS*) are honoured;
    /// any other entry is dropped (with a warning) when the verifier is built.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated for `exp`, `nbf` and `iat` (default 5 s).
    pub leeway: Duration,
    /// Minimum time between two JWKS fetches caused by unknown `kid`s or by failed loads
    /// (default 30 s).
    pub unknown_kid_cooldown: Duration,
    /// Period of the background JWKS refresh (default 600 s).
    pub refresh_interval: Duration,
    /// Total time allowed for one discovery or JWKS fetch (default 5 s).
    pub fetch_timeout: Duration,
    /// Longest accepted token in bytes (default 16 KiB).
    pub max_token_bytes: usize,
    /// Entries of the verified-token cache (default 10 000; 0 disables the cache).
    pub cache_capacity: usize,
}

impl VerifierConfig {
    /// A configuration with the specification's defaults.
    pub fn new(issuer_base_url: Url, audience: impl Into<String>) -> Self {
        Self {
            issuer_base_url,
            audience: audience.into(),
            algorithms: vec![Algorithm::RS256],
            leeway: Duration::from_secs(5),
            unknown_kid_cooldown: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(600),
            fetch_timeout: Duration::from_secs(5),
            max_token_bytes: 16 * 1024,
            cache_capacity: 10_000,
        }
    }

    /// The discovery document URL derived from `issuer_base_url`.
    pub fn discovery_url(&self) -> String {
        let base = self.issuer_base_url.as_str();
        let base = base.strip_suffix('/').unwrap_or(base);
        format!("{base}/.well-known/openid-configuration")
    }
}
