//! Access-token verification for PyMD (product specification, section 4).
//!
//! The API side of PyMD accepts Auth0 RS256 access tokens. This crate discovers the issuer
//! (`{base}/.well-known/openid-configuration`), keeps its JWKS cached (lazy first load,
//! background refresh, single-flight refetch on unknown `kid`, last-known-good keys while the
//! IdP is down) and verifies tokens strictly: size and strict base64url before any JSON or
//! crypto, duplicate JSON members refused, an exact `alg` allow-list of RSA algorithms, no
//! `crit`/`cty`/`enc`/`zip`, header keys (`jku`, `x5u`, `jwk`, `x5c`) ignored, keys filtered
//! (RSA ≥ 2048 bits, signature use, no duplicates), and claims with strict JSON types.
//!
//! The JWS layer is also usable on its own ([`jws::verify_compact`]) so that public test
//! vectors can be run against it. With the `testkit` feature, [`testkit`] provides an in-test
//! OIDC issuer and a catalogue of hostile tokens.

mod b64;
mod cache;
mod claims;
mod config;
mod discovery;
mod error;
mod json;
mod jwks;
pub mod jws;
mod verifier;

#[cfg(feature = "testkit")]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test-only issuer behind the `testkit` feature: a broken fixture should stop the test loudly"
)]
pub mod testkit;

pub use claims::VerifiedToken;
pub use config::VerifierConfig;
pub use discovery::{MAX_BODY_BYTES, ProviderMetadata};
pub use error::VerifyError;
pub use verifier::{COLD_START_RETRY, JwksHealth, METRIC_FAILURES, METRIC_JWKS_REFRESH, Verifier};

/// Strict base64url helpers (unpadded, canonical), exposed for tests and tooling.
pub mod base64url {
    pub use crate::b64::encode;

    /// Decodes strictly: no padding, no `+/`, no whitespace, canonical trailing bits.
    pub fn decode(segment: &str) -> Option<Vec<u8>> {
        crate::b64::decode(segment)
    }
}
