//! Group 7: JWKS contents, key persistence, rotation and revocation, fault injection
//! (auth0-surface §7.2, §7.3; security-anchors §J 145).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn jwks_publishes_only_public_rsa_2048_signing_keys() {
    let t = spawn().await;
    let jwks = t.jwks().await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    let mut kids = std::collections::BTreeSet::new();
    for k in keys {
        let obj = k.as_object().unwrap();
        for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert!(
                !obj.contains_key(private),
                "private member {private} in {k}"
            );
        }
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["use"], "sig");
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["e"], "AQAB");
        let n = URL_SAFE_NO_PAD
            .decode(k["n"].as_str().unwrap())
            .expect("n is base64url");
        let bits = n.len() * 8 - n[0].leading_zeros() as usize;
        assert!(bits >= 2048, "modulus is {bits} bits");
        let kid = k["kid"].as_str().expect("kid");
        assert!(kids.insert(kid.to_string()), "kid {kid} is unique");
    }
    assert!(
        !t.get(".well-known/jwks.json")
            .await
            .text
            .contains("PRIVATE KEY"),
        "no PEM private key"
    );
}

#[tokio::test]
async fn signing_keys_persist_across_restarts_on_the_same_data_dir() {
    let t = spawn().await;
    let before = jwt_header(
        &t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD)
            .await
            .access_token,
    )["kid"]
        .clone();
    let kids_before = t.jwks_kids().await;
    let dir = t.stop().await;

    let t = spawn_in(dir, |_| {}).await;
    let after = jwt_header(
        &t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD)
            .await
            .access_token,
    )["kid"]
        .clone();
    assert_eq!(before, after, "same signing kid after a restart");
    assert_eq!(kids_before, t.jwks_kids().await);
}

#[tokio::test]
async fn separate_data_dirs_get_separate_keys() {
    let a = spawn().await;
    let b = spawn().await;
    let ka = a.jwks_kids().await;
    let kb = b.jwks_kids().await;
    assert!(ka.iter().all(|k| !kb.contains(k)), "{ka:?} vs {kb:?}");
}

#[tokio::test]
async fn rotation_publishes_both_keys_signs_with_the_new_one_and_old_tokens_still_verify() {
    let t = spawn().await;
    let old_token = t.client_credentials(API, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let old_kid = jwt_header(&old_token)["kid"].as_str().unwrap().to_string();

    let r = t.post_json("__dev/keys/rotate", &json!({})).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    let new_kid = r.json()["kid"]
        .as_str()
        .expect("rotate returns the new kid")
        .to_string();
    assert_ne!(new_kid, old_kid);

    let kids = t.jwks_kids().await;
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );

    let new_token = t.client_credentials(API, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(jwt_header(&new_token)["kid"], new_kid.as_str());
    t.verify(&new_token).await.expect("new token verifies");
    t.verify(&old_token)
        .await
        .expect("old token still verifies after rotation");

    // ID tokens from a login after rotation use the new key too.
    let tokens = t.login_tokens(BOB_EMAIL, BOB_PASSWORD).await;
    assert_eq!(jwt_header(&tokens.id_token)["kid"], new_kid.as_str());
}

#[tokio::test]
async fn revoking_the_previous_key_removes_it_from_the_jwks() {
    let t = spawn().await;
    let old_token = t.client_credentials(API, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let old_kid = jwt_header(&old_token)["kid"].as_str().unwrap().to_string();
    let new_kid = t.post_json("__dev/keys/rotate", &json!({})).await.json()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .post_json("__dev/keys/revoke", &json!({"kid": old_kid}))
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    let kids = t.jwks_kids().await;
    assert!(
        !kids.contains(&old_kid),
        "revoked kid still published: {kids:?}"
    );
    assert!(kids.contains(&new_kid));
    assert!(
        t.verify(&old_token).await.is_err(),
        "old tokens no longer verify"
    );
}

#[tokio::test]
async fn the_current_signing_key_cannot_be_revoked() {
    let t = spawn().await;
    let token = t.client_credentials(API, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let current = jwt_header(&token)["kid"].as_str().unwrap().to_string();
    let r = t
        .post_json("__dev/keys/revoke", &json!({"kid": current}))
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
    assert!(t.jwks_kids().await.contains(&current));
}

#[tokio::test]
async fn the_jwks_fault_control_makes_jwks_answer_503_until_cleared() {
    let t = spawn().await;
    let r = t
        .post_json(
            "__dev/faults",
            &json!({"jwks": {"status": 503, "delay_ms": 0}}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_eq!(
        t.get(".well-known/jwks.json").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Only the JWKS is affected.
    assert_eq!(t.client_credentials(API, None).await.status, StatusCode::OK);
    assert!(t.delete("__dev/faults").await.status.is_success());
    assert_eq!(t.get(".well-known/jwks.json").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_fault_control_can_slow_the_jwks_down() {
    let t = spawn().await;
    let r = t
        .post_json(
            "__dev/faults",
            &json!({"jwks": {"status": 200, "delay_ms": 400}}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let started = Instant::now();
    let r = t.get(".well-known/jwks.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert!(r.json()["keys"].is_array());
}

#[tokio::test]
async fn dev_controls_are_absent_when_disabled() {
    let t = spawn_with(|o| o.dev_controls = false).await;
    for path in [
        "__dev/keys/rotate",
        "__dev/clock",
        "__dev/token",
        "__dev/faults",
    ] {
        let r = t.post_json(path, &json!({"offset_secs": 1000})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
    }
    assert_eq!(t.get("__dev/logs").await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get(".well-known/jwks.json").await.status, StatusCode::OK);
}

#[tokio::test]
async fn rotation_puts_the_new_key_first_revocation_drops_the_old_and_the_clock_expires_tokens() {
    let t = spawn().await;
    let user = json!({"user": ALICE_EMAIL});
    let old = t.post_json("__dev/token", &user).await.json();
    let new_kid = t.post_json("__dev/keys/rotate", &json!({})).await.json()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let jwks = t.jwks().await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
    assert_eq!(
        jwks["keys"][0]["kid"],
        new_kid.as_str(),
        "the new key first"
    );
    let old_kid = jwt_header(old["access_token"].as_str().unwrap())["kid"].clone();
    let r = t
        .post_json("__dev/keys/revoke", &json!({"kid": old_kid}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(t.jwks().await["keys"].as_array().unwrap().len(), 2);
    t.post_json("__dev/faults", &json!({"jwks": {"status": 503}}))
        .await;
    assert_eq!(
        t.get(".well-known/jwks.json").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    t.delete("__dev/faults").await;
    assert_eq!(t.get(".well-known/jwks.json").await.status, StatusCode::OK);

    // The clock: an access token has expired for /userinfo after the shift.
    let body = json!({"user": ALICE_EMAIL, "scope": "openid"});
    let tok = t.post_json("__dev/token", &body).await.json();
    t.set_clock_offset(90_000).await;
    let r = t
        .get_bearer("userinfo", tok["access_token"].as_str().unwrap())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
