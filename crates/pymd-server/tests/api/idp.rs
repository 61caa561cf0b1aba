//! Spec §4 and §10 / security anchors §F: the identity provider's availability. The app starts
//! while the IdP is down, answers 503 (not 401, not 500) while it has no keys, recovers by
//! itself, keeps verifying with warm keys, and never storms the JWKS endpoint.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{SpawnOptions, TestApp, futures_join, sub};

#[tokio::test]
async fn the_app_starts_and_is_healthy_while_the_idp_is_down_then_recovers_without_restart() {
    let app = TestApp::spawn_with(SpawnOptions {
        issuer_down: true,
        jwks_cooldown: Some(Duration::from_secs(1)),
        ..SpawnOptions::default()
    })
    .await;

    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200, "{}", health.summary());
    let ready = app.get("/readyz", None).await;
    assert_eq!(
        ready.status,
        200,
        "readiness depends on the database only: {}",
        ready.summary()
    );
    assert_eq!(
        ready.json()["checks"]["idp"],
        json!("degraded"),
        "{}",
        ready.summary()
    );

    let s = sub("idp-down");
    let token = app.token(&s, &["read:documents"]);
    let r = app.get("/api/v1/documents", Some(&token)).await;
    r.assert_error(503, "upstream_unavailable");
    assert!(r.has_header("retry-after"), "{}", r.summary());
    assert!(
        !r.has_header("www-authenticate")
            || !r.header("www-authenticate").contains("invalid_token"),
        "an outage is not the token's fault: {}",
        r.summary()
    );
    assert!(app.user(&s).await.is_none(), "nothing was written");

    // The IdP comes back: the same token works, without a restart.
    app.issuer.set_down(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    let last = loop {
        let r = app.get("/api/v1/documents", Some(&token)).await;
        if r.status == 200 || Instant::now() > deadline {
            break r;
        }
        assert_eq!(r.status, 503, "while recovering: {}", r.summary());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(last.status, 200, "after recovery: {}", last.summary());
    let ready = app.get("/readyz", None).await;
    assert_eq!(
        ready.json()["checks"]["idp"],
        json!("ok"),
        "{}",
        ready.summary()
    );
}

#[tokio::test]
async fn with_the_default_cooldown_a_down_idp_is_503_not_401() {
    let app = TestApp::spawn_with(SpawnOptions {
        issuer_down: true,
        ..SpawnOptions::default()
    })
    .await;
    let token = app.token(&sub("down-default"), &["read:documents"]);
    for _ in 0..3 {
        let r = app.get("/api/v1/documents", Some(&token)).await;
        r.assert_error(503, "upstream_unavailable");
    }
    // A malformed token is still the client's fault.
    let r = app.get("/api/v1/documents", Some("not-a-jwt")).await;
    r.assert_error(401, "invalid_token");
}

#[tokio::test]
async fn warm_keys_keep_verifying_while_the_idp_is_down() {
    let app = TestApp::spawn().await;
    let first = app.token(&sub("warm-a"), &["read:documents"]);
    assert_eq!(app.get("/api/v1/documents", Some(&first)).await.status, 200);

    app.issuer.set_down(true);
    // A token never seen before (not in the verified-token cache) with the cached kid.
    let s = sub("warm-b");
    let second = app.token(&s, &["read:documents"]);
    let r = app.get("/api/v1/documents", Some(&second)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    assert!(app.user(&s).await.is_some());
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "{}", ready.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cold_start_under_concurrent_load_fetches_the_jwks_once() {
    let app = TestApp::spawn().await;
    assert_eq!(app.issuer.jwks_fetches(), 0, "keys are loaded lazily");
    let tokens: Vec<String> = (0..50)
        .map(|i| app.token(&sub(&format!("cold-{i}")), &["read:documents"]))
        .collect();
    let results = futures_join(tokens.iter().map(|t| app.get("/api/v1/documents", Some(t)))).await;
    for r in &results {
        assert_eq!(r.status, 200, "{}", r.summary());
    }
    assert_eq!(
        app.issuer.jwks_fetches(),
        1,
        "50 concurrent first requests must share one JWKS fetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_unknown_kids_causes_exactly_one_extra_jwks_fetch() {
    // No cooldown, so every unknown kid may cause a refetch: only single flight keeps the flood
    // to one request (the slow JWKS holds it in flight while the hundred arrive).
    let app = TestApp::spawn_with(SpawnOptions {
        jwks_cooldown: Some(Duration::ZERO),
        ..SpawnOptions::default()
    })
    .await;
    let good = app.token(&sub("flood-ok"), &["read:documents"]);
    assert_eq!(app.get("/api/v1/documents", Some(&good)).await.status, 200);
    app.issuer.set_jwks_delay(Duration::from_millis(500));
    let before = app.issuer.jwks_fetches();

    let claims = app.issuer.claims("auth0|flood", &["read:documents"]);
    let tokens: Vec<String> = (0..100)
        .map(|i| {
            app.issuer.sign(
                json!({"alg": "RS256", "typ": "JWT", "kid": format!("unknown-kid-{i}")}),
                claims.clone(),
            )
        })
        .collect();
    let results = futures_join(tokens.iter().map(|t| app.get("/api/v1/documents", Some(t)))).await;
    for r in &results {
        r.assert_error(401, "invalid_token");
    }
    let extra = app.issuer.jwks_fetches() - before;
    assert_eq!(
        extra, 1,
        "100 concurrent unknown kids caused {extra} JWKS fetches"
    );
    app.issuer.set_jwks_delay(Duration::ZERO);
    // Valid tokens are unaffected.
    let good2 = app.token(&sub("flood-ok2"), &["read:documents"]);
    assert_eq!(app.get("/api/v1/documents", Some(&good2)).await.status, 200);
    assert!(app.user("auth0|flood").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_kids_right_after_a_load_cause_no_fetch_with_the_default_cooldown() {
    let app = TestApp::spawn().await;
    let good = app.token(&sub("cooldown"), &["read:documents"]);
    assert_eq!(app.get("/api/v1/documents", Some(&good)).await.status, 200);
    let before = app.issuer.jwks_fetches();
    let claims = app
        .issuer
        .claims("auth0|cooldown-flood", &["read:documents"]);
    let tokens: Vec<String> = (0..100)
        .map(|i| {
            app.issuer.sign(
                json!({"alg": "RS256", "kid": format!("random-{i}")}),
                claims.clone(),
            )
        })
        .collect();
    let results = futures_join(tokens.iter().map(|t| app.get("/api/v1/documents", Some(t)))).await;
    for r in &results {
        r.assert_error(401, "invalid_token");
    }
    assert!(app.issuer.jwks_fetches() - before <= 1);
}
