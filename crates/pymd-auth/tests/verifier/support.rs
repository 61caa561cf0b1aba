//! Shared helpers for the verifier integration tests.

use std::time::Duration;

use pymd_auth::testkit::TestIssuer;
use pymd_auth::{Verifier, VerifierConfig};

/// A configuration for `issuer` with no cooldown, so that every unknown `kid` or failed load
/// may refetch (for tests that are about recovery rather than rate limiting).
pub fn no_cooldown(issuer: &TestIssuer) -> VerifierConfig {
    let mut c = issuer.verifier_config();
    c.unknown_kid_cooldown = Duration::ZERO;
    c
}

/// A verifier that has already loaded the issuer's keys (one JWKS fetch).
pub async fn warm_verifier(issuer: &TestIssuer, config: VerifierConfig) -> Verifier {
    let v = issuer.verifier_with(config);
    let token = issuer.token("auth0|warmup", &[]);
    assert!(v.verify(&token).await.is_ok(), "warm-up token must verify");
    v
}

/// Polls `cond` every 10 ms until it holds or `limit` passes; returns whether it held.
pub async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
