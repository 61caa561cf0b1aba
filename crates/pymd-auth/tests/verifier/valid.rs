//! Tokens that must be accepted, and what the verifier exposes about them.

use pymd_auth::VerifyError;
use pymd_auth::testkit::TestIssuer;
use serde_json::json;

use crate::support::warm_verifier;

#[tokio::test]
async fn an_auth0_shaped_access_token_is_accepted() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier();
    let token = issuer.token("auth0|alice", &["read:documents", "write:documents"]);
    let t = verifier.verify(&token).await.expect("valid token");
    assert_eq!(t.sub, "auth0|alice");
    assert_eq!(t.issuer, issuer.issuer());
    assert!(t.issuer.ends_with('/'));
    assert!(t.has_permission("read:documents"));
    assert!(t.has_permission("write:documents"));
    assert!(!t.has_permission("delete:documents"));
    assert_eq!(t.permissions, vec!["read:documents", "write:documents"]);
    assert!(t.scopes.contains(&"openid".to_owned()));
    assert_eq!(t.string_claim("azp"), Some("pymd-test-client"));
    assert!(t.expires_at > pymd_auth::testkit::unix_now());
}

#[tokio::test]
async fn the_health_snapshot_counts_only_usable_keys() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier();
    let before = verifier.health();
    assert_eq!(before.keys, 0);
    assert_eq!(before.last_refresh_ok, None);
    verifier.refresh_now().await.expect("refresh");
    let after = verifier.health();
    // The JWKS also publishes ten decoy entries; only the real key is usable.
    assert!(issuer.jwks()["keys"].as_array().map_or(0, Vec::len) > 5);
    assert_eq!(after.keys, 1);
    assert_eq!(after.last_refresh_ok, Some(true));
    assert_eq!(after.last_error, None);
}

#[tokio::test]
async fn provider_metadata_is_the_discovery_document() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier();
    let m = verifier.provider_metadata().await.expect("metadata");
    assert_eq!(m.issuer, issuer.issuer());
    assert_eq!(
        m.jwks_uri.as_str(),
        format!("{}.well-known/jwks.json", issuer.issuer())
    );
    assert_eq!(
        m.token_endpoint.as_str(),
        format!("{}oauth/token", issuer.issuer())
    );
    assert!(m.end_session_endpoint.is_some());
    // Cached: a second call does not refetch.
    let fetches = issuer.discovery_fetches();
    verifier.provider_metadata().await.expect("metadata");
    assert_eq!(issuer.discovery_fetches(), fetches);
}

#[tokio::test]
async fn typ_variants_and_float_exp_are_accepted() {
    let issuer = TestIssuer::start().await;
    let verifier = warm_verifier(&issuer, issuer.verifier_config()).await;
    let kid = issuer.current_kid();
    for header in [
        json!({"alg": "RS256", "kid": kid}),
        json!({"alg": "RS256", "kid": kid, "typ": "at+jwt"}),
        json!({"alg": "RS256", "kid": kid, "typ": "application/at+jwt"}),
        json!({"alg": "RS256", "kid": kid, "typ": "jwt"}),
    ] {
        let token = issuer.sign(header.clone(), issuer.claims("auth0|typ", &[]));
        assert!(verifier.verify(&token).await.is_ok(), "{header}");
    }
    let mut claims = issuer.claims("auth0|float", &[]);
    claims["exp"] = json!(pymd_auth::testkit::unix_now() as f64 + 3600.5);
    assert!(
        verifier
            .verify(&issuer.sign(issuer.header(), claims))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_token_without_kid_needs_exactly_one_usable_key() {
    let issuer = TestIssuer::start().await;
    let verifier = warm_verifier(&issuer, issuer.verifier_config()).await;
    let no_kid = issuer.sign(
        json!({"alg": "RS256", "typ": "JWT"}),
        issuer.claims("auth0|nokid", &[]),
    );
    assert!(
        verifier.verify(&no_kid).await.is_ok(),
        "one usable key: accepted"
    );

    issuer.rotate();
    verifier.refresh_now().await.expect("refresh");
    let no_kid = issuer.sign(
        json!({"alg": "RS256", "typ": "JWT"}),
        issuer.claims("auth0|nokid2", &[]),
    );
    assert_eq!(
        verifier.verify(&no_kid).await.err(),
        Some(VerifyError::AmbiguousKey)
    );
}

#[tokio::test]
async fn repeated_verification_is_served_from_the_cache_without_refetching() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier();
    let token = issuer.token("auth0|cache", &["read:documents"]);
    let first = verifier.verify(&token).await.expect("valid");
    let second = verifier.verify(&token).await.expect("valid");
    assert!(
        std::sync::Arc::ptr_eq(&first, &second),
        "the second answer is the cached one"
    );
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test]
async fn mistyped_scope_and_permissions_grant_nothing_but_do_not_refuse() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier();
    let mut claims = issuer.claims("auth0|types", &[]);
    claims["scope"] = json!(["read:documents"]);
    claims["permissions"] = json!("read:documents");
    let t = verifier
        .verify(&issuer.sign(issuer.header(), claims))
        .await
        .expect("accepted");
    assert!(!t.has_permission("read:documents"));
}
