//! Group 2: tokens look exactly like Auth0's (auth0-surface §4.1, §5).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

fn set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn strs(a: &[&str]) -> BTreeSet<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn access_tokens_are_rs256_jwts_with_a_kid_published_in_the_jwks() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    for token in [&tokens.access_token, &tokens.id_token] {
        let header = jwt_header(token);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        let kid = header["kid"].as_str().expect("kid in the header");
        assert!(t.jwks_kids().await.iter().any(|k| k == kid));
        t.verify(token).await.expect("signature verifies");
    }
}

#[tokio::test]
async fn user_access_token_has_issuer_audience_pair_azp_scope_and_rbac_permissions() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let at = t.verify(&tokens.access_token).await.unwrap();
    assert_eq!(at["iss"], t.issuer);
    assert_eq!(at["sub"], ALICE_ID);
    assert_eq!(
        at["aud"],
        serde_json::json!([API, format!("{}userinfo", t.issuer)]),
        "aud is exactly [api, ISSUER/userinfo] when openid and an API audience are asked"
    );
    assert_eq!(at["azp"], WEB_CLIENT_ID);
    let scope = at["scope"].as_str().expect("scope claim");
    for s in [
        "openid",
        "profile",
        "email",
        "offline_access",
        "read:documents",
    ] {
        assert!(scopes(scope).contains(&s), "{s} in {scope}");
    }
    assert_eq!(set(&at["permissions"]), strs(&USER_PERMISSIONS));
    assert!(at.get("gty").is_none(), "no gty for authorization_code");
    assert!(at["iat"].is_i64() && at["exp"].is_i64());
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        3600
    );
}

#[tokio::test]
async fn access_token_audience_is_a_plain_string_without_openid() {
    let t = spawn().await;
    let mut req = AuthRequest::web();
    req.scope = "read:documents".into();
    let code = t
        .browser()
        .login_code(&t, &req, ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    let r = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let json = r.json();
    assert!(json.get("id_token").is_none(), "no ID token without openid");
    let at = jwt_claims(json["access_token"].as_str().unwrap());
    assert_eq!(at["aud"], API);
}

#[tokio::test]
async fn authorize_without_audience_uses_the_tenant_default_audience() {
    let t = spawn().await;
    let mut req = AuthRequest::web();
    req.audience = None;
    let code = t
        .browser()
        .login_code(&t, &req, ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    let r = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let at = jwt_claims(r.json()["access_token"].as_str().unwrap());
    assert!(aud_list(&at).contains(&API.to_string()), "{at}");
}

#[tokio::test]
async fn roles_claim_is_on_both_id_and_access_tokens() {
    let t = spawn().await;
    let admin = t.login_tokens(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for token in [&admin.access_token, &admin.id_token] {
        let claims = jwt_claims(token);
        assert_eq!(
            set(&claims[ROLES_CLAIM]),
            strs(&["user", "admin"]),
            "{claims}"
        );
    }
    let alice = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    for token in [&alice.access_token, &alice.id_token] {
        assert_eq!(jwt_claims(token)[ROLES_CLAIM], serde_json::json!(["user"]));
    }
}

#[tokio::test]
async fn id_token_has_nonce_sid_profile_and_email_claims() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let id = t.verify(&tokens.id_token).await.unwrap();
    assert_eq!(id["iss"], t.issuer);
    assert_eq!(
        id["aud"], WEB_CLIENT_ID,
        "ID token aud is the client id (a string)"
    );
    assert_eq!(id["sub"], ALICE_ID);
    assert_eq!(id["nonce"], tokens.request.nonce.as_str());
    let sid = id["sid"].as_str().expect("sid");
    assert!(!sid.is_empty());
    assert_eq!(id["email"], ALICE_EMAIL);
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Alice Example");
    assert_eq!(id["nickname"], "alice");
    let updated_at = id["updated_at"]
        .as_str()
        .expect("updated_at is a string, as Auth0 sends");
    time::OffsetDateTime::parse(updated_at, &time::format_description::well_known::Rfc3339)
        .expect("updated_at is RFC 3339");
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        36000
    );
}

#[tokio::test]
async fn token_response_has_auth0_fields_and_is_not_cacheable() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let cc = tokens
        .headers
        .get("cache-control")
        .expect("Cache-Control")
        .to_str()
        .unwrap();
    assert!(cc.contains("no-store"), "{cc}");
    assert!(
        tokens.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "JSON token response"
    );
    assert_eq!(tokens.json["token_type"], "Bearer");
    assert_eq!(
        tokens.json["expires_in"], 3600,
        "the PyMD API's token lifetime (the source plan: one hour)"
    );
    assert!(tokens.json["scope"].is_string());
    assert!(
        !tokens.refresh_token.is_empty(),
        "offline_access gives a refresh token"
    );
}

#[tokio::test]
async fn m2m_token_has_gty_client_credentials_and_clients_subject() {
    let t = spawn().await;
    let r = t.client_credentials(API, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.header("cache-control")
            .unwrap_or_default()
            .contains("no-store")
    );
    let json = r.json();
    assert_eq!(json["token_type"], "Bearer");
    assert!(json.get("refresh_token").is_none() && json.get("id_token").is_none());
    let at = t
        .verify(json["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(at["gty"], "client-credentials");
    assert_eq!(at["sub"], format!("{M2M_CLIENT_ID}@clients"));
    assert_eq!(at["azp"], M2M_CLIENT_ID);
    assert_eq!(at["iss"], t.issuer);
    assert_eq!(at["aud"], API, "a single API audience is a string");
    let granted: BTreeSet<String> = scopes(at["scope"].as_str().unwrap())
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(
        granted,
        strs(&[
            "read:documents",
            "write:documents",
            "delete:documents",
            "read:profile"
        ]),
        "no scope asked → every scope of the client grant"
    );
}

#[tokio::test]
async fn m2m_token_with_a_requested_subset_carries_only_that_subset() {
    let t = spawn().await;
    let r = t.client_credentials(API, Some("read:documents")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let at = jwt_claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(at["scope"], "read:documents");
}

#[tokio::test]
async fn the_token_endpoint_accepts_json_bodies() {
    let t = spawn().await;
    let r = t
        .post_json(
            "oauth/token",
            &serde_json::json!({
                "grant_type": "client_credentials",
                "client_id": M2M_CLIENT_ID,
                "client_secret": M2M_CLIENT_SECRET,
                "audience": API,
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json()["access_token"].is_string());
}

#[tokio::test]
async fn the_dev_token_control_mints_a_user_token_like_a_login_would() {
    let t = spawn().await;
    let r = t
        .post_json(
            "__dev/token",
            &serde_json::json!({"user": ALICE_EMAIL, "scope": "openid read:documents"}),
        )
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    let json = r.json();
    let token = json["access_token"].as_str().expect("access_token");
    let at = t.verify(token).await.expect("verifies against the JWKS");
    assert_eq!(at["sub"], ALICE_ID);
    assert!(aud_list(&at).contains(&API.to_string()));
    assert_eq!(set(&at["permissions"]), strs(&USER_PERMISSIONS));
}

#[tokio::test]
async fn discovery_jwks_and_the_dev_token_control_agree_on_the_issuer() {
    let t = spawn().await;
    let iss = t.issuer.as_str();
    assert!(iss.starts_with("http://127.0.0.1:") && iss.ends_with('/'));
    let d = t.get(".well-known/openid-configuration").await.json();
    assert_eq!(d["issuer"], iss);
    assert_eq!(d["end_session_endpoint"], format!("{iss}oidc/logout"));
    let jwks = t.jwks().await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k["use"] == "sig" && k["alg"] == "RS256" && k.get("d").is_none())
    );

    let scope = "openid profile email read:documents offline_access";
    let r = t
        .post_json(
            "__dev/token",
            &serde_json::json!({"user": ALICE_EMAIL, "scope": scope}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = no_store(r).json();
    let at = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["iss"], iss);
    assert_eq!(
        at["aud"],
        serde_json::json!([API, format!("{iss}userinfo")])
    );
    assert_eq!(at["scope"], scope);
    assert_eq!(at[ROLES_CLAIM], serde_json::json!(["user"]));
    assert_eq!(at["permissions"].as_array().unwrap().len(), 5);
    let id = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], t.dev().web_client().client_id);
    assert_eq!(id["email"], ALICE_EMAIL);
    assert!(id["updated_at"].as_str().unwrap().ends_with('Z'));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("v1."));
}
