//! JWKS cache behaviour: lazy start, single flight, cooldown, stale-if-error, rotation,
//! revocation, refused metadata, timeouts (security anchors, section F).

use std::time::{Duration, Instant};

use pymd_auth::testkit::TestIssuer;
use pymd_auth::{Verifier, VerifyError};
use serde_json::json;

use crate::support::{eventually, no_cooldown, warm_verifier};

#[tokio::test]
async fn new_does_no_io_and_verification_works_once_the_issuer_is_up() {
    let issuer = TestIssuer::start().await;
    issuer.set_down(true);
    let verifier = issuer.verifier_with(no_cooldown(&issuer));
    assert_eq!(
        issuer.jwks_fetches() + issuer.discovery_fetches(),
        0,
        "Verifier::new is lazy"
    );

    let token = issuer.token("auth0|lazy", &[]);
    let err = verifier.verify(&token).await.expect_err("issuer down");
    assert_eq!(err, VerifyError::Unavailable);
    assert!(err.is_unavailable());
    assert_eq!(err.reason(), "unavailable");

    issuer.set_down(false);
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn unavailable_when_no_key_was_ever_loaded_and_the_cooldown_stops_hammering() {
    let issuer = TestIssuer::start().await;
    issuer.set_down(true);
    let verifier = issuer.verifier();
    for i in 0..5 {
        let token = issuer.token(&format!("auth0|down{i}"), &[]);
        assert_eq!(
            verifier.verify(&token).await.err(),
            Some(VerifyError::Unavailable)
        );
    }
    assert_eq!(
        issuer.discovery_fetches(),
        1,
        "one attempt per cooldown while down"
    );
    let h = verifier.health();
    assert_eq!((h.keys, h.last_refresh_ok), (0, Some(false)));
    assert!(h.last_error.is_some());
}

#[tokio::test]
async fn after_a_cold_start_outage_keys_are_picked_up_within_seconds_not_the_cooldown() {
    let issuer = TestIssuer::start().await;
    issuer.set_down(true);
    // The default 30 s unknown-kid cooldown.
    let verifier = issuer.verifier_with(pymd_auth::VerifierConfig::new(
        issuer.base_url(),
        issuer.audience(),
    ));
    let token = issuer.token("auth0|recovering", &[]);
    assert_eq!(
        verifier.verify(&token).await.err(),
        Some(VerifyError::Unavailable)
    );
    issuer.set_down(false);
    let started = Instant::now();
    loop {
        match verifier.verify(&token).await {
            Ok(_) => break,
            Err(VerifyError::Unavailable) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
        assert!(
            started.elapsed() < pymd_auth::COLD_START_RETRY + Duration::from_secs(3),
            "still unavailable after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Polling every 100 ms caused no storm: one attempt per retry interval at most.
    assert!(
        issuer.discovery_fetches() <= 3,
        "{}",
        issuer.discovery_fetches()
    );
}

#[tokio::test]
async fn cached_keys_keep_verifying_while_the_issuer_is_down() {
    let issuer = TestIssuer::start().await;
    let verifier = warm_verifier(&issuer, no_cooldown(&issuer)).await;
    issuer.set_down(true);
    assert_eq!(
        verifier.refresh_now().await.err(),
        Some(VerifyError::Unavailable)
    );
    // A token never seen before (not in the verified-token cache) still verifies.
    let fresh = issuer.token("auth0|stale", &["read:documents"]);
    assert!(verifier.verify(&fresh).await.is_ok());
    let h = verifier.health();
    assert_eq!((h.keys, h.last_refresh_ok), (1, Some(false)));
}

#[tokio::test]
async fn broken_jwks_answers_keep_the_last_known_good_keys() {
    let issuer = TestIssuer::start().await;
    let mut config = no_cooldown(&issuer);
    config.fetch_timeout = Duration::from_millis(300);
    let verifier = warm_verifier(&issuer, config).await;
    type Breakage = Box<dyn Fn(&TestIssuer)>;
    let cases: Vec<(&str, Breakage)> = vec![
        (
            "HTML page",
            Box::new(|i| i.set_jwks_raw_response(Some((200, "<html>login</html>".into())))),
        ),
        (
            "keys is a string",
            Box::new(|i| i.set_jwks_override(Some(json!({"keys": "x"})))),
        ),
        (
            "empty keys",
            Box::new(|i| i.set_jwks_override(Some(json!({"keys": []})))),
        ),
        (
            "only unusable keys",
            Box::new(|i| {
                i.set_jwks_override(Some(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})))
            }),
        ),
        (
            "duplicate keys member",
            Box::new(|i| i.set_jwks_raw_response(Some((200, r#"{"keys":[],"keys":[]}"#.into())))),
        ),
        (
            "5 MB body",
            Box::new(|i| {
                i.set_jwks_raw_response(Some((
                    200,
                    format!("{{\"keys\":[\"{}\"]}}", "A".repeat(5 * 1024 * 1024)),
                )))
            }),
        ),
        (
            "status 500",
            Box::new(|i| i.set_jwks_raw_response(Some((500, "oops".into())))),
        ),
        (
            "status 404",
            Box::new(|i| i.set_jwks_raw_response(Some((404, "nope".into())))),
        ),
        (
            "timeout",
            Box::new(|i| i.set_jwks_delay(Duration::from_secs(5))),
        ),
    ];
    for (name, break_it) in cases {
        break_it(&issuer);
        assert_eq!(
            verifier.refresh_now().await.err(),
            Some(VerifyError::Unavailable),
            "{name}"
        );
        assert_eq!(
            verifier.health().keys,
            1,
            "{name}: last known good keys kept"
        );
        let fresh = issuer.token(&format!("auth0|{name}"), &[]);
        assert!(
            verifier.verify(&fresh).await.is_ok(),
            "{name}: cached key still verifies"
        );
        issuer.set_jwks_override(None);
        issuer.set_jwks_raw_response(None);
        issuer.set_jwks_delay(Duration::ZERO);
    }
    assert!(verifier.refresh_now().await.is_ok());
}

/// Sends `n` tokens with distinct unknown `kid`s at once; each must be refused as unknown.
async fn flood_of_unknown_kids(issuer: &TestIssuer, verifier: &Verifier, n: usize) {
    let kid = issuer.current_kid();
    let mut tasks = Vec::new();
    for i in 0..n {
        let v = verifier.clone();
        let mut claims = issuer.claims("auth0|flood", &[]);
        claims["n"] = json!(i);
        let token = issuer.sign(
            json!({"alg": "RS256", "kid": format!("{kid}-unknown-{i}")}),
            claims,
        );
        tasks.push(tokio::spawn(async move { v.verify(&token).await }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task").err(), Some(VerifyError::UnknownKid));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_unknown_kids_past_the_cooldown_cause_exactly_one_fetch() {
    let issuer = TestIssuer::start().await;
    // No cooldown: every unknown kid may refetch, so only single flight keeps this to one
    // request (the slow JWKS keeps that fetch in flight while all hundred arrive).
    let mut config = issuer.verifier_config();
    config.unknown_kid_cooldown = Duration::ZERO;
    let verifier = warm_verifier(&issuer, config).await;
    issuer.set_jwks_delay(Duration::from_millis(500));
    let before = issuer.jwks_fetches();
    flood_of_unknown_kids(&issuer, &verifier, 100).await;
    assert_eq!(
        issuer.jwks_fetches() - before,
        1,
        "one fetch in flight for all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_kids_within_the_cooldown_cause_no_fetch() {
    let issuer = TestIssuer::start().await;
    // The default 30 s cooldown starts with the warm-up fetch.
    let verifier = warm_verifier(&issuer, issuer.verifier_config()).await;
    let before = issuer.jwks_fetches();
    flood_of_unknown_kids(&issuer, &verifier, 100).await;
    flood_of_unknown_kids(&issuer, &verifier, 10).await;
    assert_eq!(issuer.jwks_fetches() - before, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cold_start_under_load_makes_one_fetch() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_delay(Duration::from_millis(200));
    let verifier = issuer.verifier();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let v = verifier.clone();
        let token = issuer.token(&format!("auth0|cold{i}"), &[]);
        tasks.push(tokio::spawn(async move {
            v.verify(&token).await.map(|t| t.sub.clone())
        }));
    }
    for t in tasks {
        assert!(t.await.expect("task").is_ok());
    }
    assert_eq!(issuer.jwks_fetches(), 1);
    assert_eq!(issuer.discovery_fetches(), 1);
}

#[tokio::test]
async fn rotation_costs_one_refetch_and_old_tokens_keep_working() {
    let issuer = TestIssuer::start().await;
    // No cooldown: the rotation happens right after the warm-up fetch.
    let verifier = warm_verifier(&issuer, no_cooldown(&issuer)).await;
    let old_kid = issuer.current_kid();
    let old_token = issuer.token("auth0|old", &[]);
    let before = issuer.jwks_fetches();

    let new_kid = issuer.rotate();
    assert_ne!(new_kid, old_kid);
    let new_token = issuer.token("auth0|new", &[]);
    assert!(
        verifier.verify(&new_token).await.is_ok(),
        "new key found after one refetch"
    );
    assert_eq!(issuer.jwks_fetches() - before, 1);
    assert!(verifier.verify(&old_token).await.is_ok());
    let another_old = issuer
        .token_with_kid(&old_kid, "auth0|old2", &[])
        .expect("old key");
    assert!(verifier.verify(&another_old).await.is_ok());
    assert_eq!(issuer.jwks_fetches() - before, 1);
    assert_eq!(verifier.health().keys, 2);
}

#[tokio::test]
async fn a_revoked_key_stops_working_after_refresh_now_even_for_cached_tokens() {
    let issuer = TestIssuer::start().await;
    let verifier = warm_verifier(&issuer, issuer.verifier_config()).await;
    let old_kid = issuer.current_kid();
    let cached = issuer.token("auth0|victim", &[]);
    assert!(verifier.verify(&cached).await.is_ok());
    issuer.rotate();
    issuer.revoke(&old_kid);
    assert!(verifier.verify(&cached).await.is_ok(), "not refreshed yet");
    verifier.refresh_now().await.expect("refresh");
    assert_eq!(
        verifier.verify(&cached).await.err(),
        Some(VerifyError::UnknownKid)
    );
    let fresh_old = issuer
        .token_with_kid(&old_kid, "auth0|victim2", &[])
        .expect("old key");
    assert_eq!(
        verifier.verify(&fresh_old).await.err(),
        Some(VerifyError::UnknownKid)
    );
    assert!(
        verifier
            .verify(&issuer.token("auth0|new", &[]))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unknown_kid_after_a_successful_refresh_is_a_token_error_not_an_outage() {
    let issuer = TestIssuer::start().await;
    let verifier = warm_verifier(&issuer, no_cooldown(&issuer)).await;
    let token = issuer.sign(
        json!({"alg": "RS256", "kid": "nope"}),
        issuer.claims("auth0|x", &[]),
    );
    let err = verifier.verify(&token).await.expect_err("unknown kid");
    assert_eq!(err, VerifyError::UnknownKid);
    assert!(!err.is_unavailable());
}

#[tokio::test]
async fn a_slow_jwks_fails_within_the_fetch_timeout() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_delay(Duration::from_secs(30));
    let mut config = issuer.verifier_config();
    config.fetch_timeout = Duration::from_millis(300);
    let verifier = issuer.verifier_with(config);
    let started = Instant::now();
    let err = verifier
        .verify(&issuer.token("auth0|slow", &[]))
        .await
        .expect_err("timeout");
    assert_eq!(err, VerifyError::Unavailable);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn discovery_with_another_issuer_is_refused() {
    let issuer = TestIssuer::start().await;
    let mut doc = issuer.discovery_document();
    doc["issuer"] = json!("https://evil.example/");
    issuer.set_discovery_override(Some(doc));
    let verifier = issuer.verifier();
    assert_eq!(
        verifier.provider_metadata().await.err(),
        Some(VerifyError::MetadataRejected)
    );
    let err = verifier
        .verify(&issuer.token("auth0|x", &[]))
        .await
        .expect_err("refused metadata");
    assert_eq!(err, VerifyError::MetadataRejected);
    assert!(err.is_unavailable());
    assert_eq!(
        issuer.jwks_fetches(),
        0,
        "no JWKS fetched from refused metadata"
    );
}

#[tokio::test]
async fn a_jwks_uri_on_another_origin_is_refused() {
    let issuer = TestIssuer::start().await;
    let mut doc = issuer.discovery_document();
    doc["jwks_uri"] = json!("http://127.0.0.1:9/.well-known/jwks.json");
    issuer.set_discovery_override(Some(doc));
    let verifier = issuer.verifier();
    assert_eq!(
        verifier.refresh_now().await.err(),
        Some(VerifyError::MetadataRejected)
    );
    assert_eq!(verifier.health().last_refresh_ok, Some(false));
}

#[tokio::test]
async fn background_refresh_loads_keys_without_a_request() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier();
    let handle = verifier.spawn_background_refresh();
    assert!(eventually(Duration::from_secs(5), || verifier.health().keys == 1).await);
    assert_eq!(issuer.jwks_fetches(), 1);
    assert!(
        verifier
            .verify(&issuer.token("auth0|bg", &[]))
            .await
            .is_ok()
    );
    assert_eq!(
        issuer.jwks_fetches(),
        1,
        "the request used the preloaded keys"
    );
    handle.abort();
}

#[tokio::test]
async fn verifier_clones_share_one_cache() {
    let issuer = TestIssuer::start().await;
    let a = warm_verifier(&issuer, issuer.verifier_config()).await;
    let b = a.clone();
    assert!(b.verify(&issuer.token("auth0|clone", &[])).await.is_ok());
    assert_eq!(issuer.jwks_fetches(), 1);
}
