//! `/userinfo`, `/v2/logout`, `/oidc/logout` (auth0-surface §8–§10; security-anchors §J 144).

use reqwest::StatusCode;

use crate::support::*;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn userinfo_returns_the_latest_profile_for_a_user_access_token() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let r = t.get_bearer("userinfo", &tokens.access_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = r.json();
    assert_eq!(u["sub"], ALICE_ID);
    assert_eq!(u["email"], ALICE_EMAIL);
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["name"], "Alice Example");
    assert!(u["updated_at"].is_string(), "updated_at is a string: {u}");
}

#[tokio::test]
async fn userinfo_refuses_missing_garbage_and_foreign_audience_tokens() {
    let t = spawn().await;
    let r = t.get("userinfo").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(challenge.contains("invalid_token"), "{challenge}");

    let r = t.get_bearer("userinfo", "garbage").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.header("www-authenticate")
            .unwrap_or_default()
            .contains("invalid_token")
    );

    // An M2M token for the API has no /userinfo audience.
    let m2m = t.client_credentials(API, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t.get_bearer("userinfo", &m2m).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);

    // Neither has a user's token for the API only (no `openid`).
    let body = serde_json::json!({"user": BOB_EMAIL, "scope": "read:documents"});
    let api_only = t.post_json("__dev/token", &body).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t.get_bearer("userinfo", &api_only).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

#[tokio::test]
async fn userinfo_returns_only_the_claims_the_scope_allows() {
    let t = spawn().await;
    let body = serde_json::json!({"user": BOB_EMAIL, "scope": "openid email"});
    let token = t.post_json("__dev/token", &body).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t.get_bearer("userinfo", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = r.json();
    assert_eq!(u["email"], BOB_EMAIL);
    assert!(u.get("name").is_none(), "no profile scope: {u}");
}

#[tokio::test]
async fn v2_logout_clears_the_session_and_redirects_to_an_allowed_url() {
    let t = spawn().await;
    let mut b = t.browser();
    b.login_code(&t, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    assert!(b.has_cookie("auth0"));

    let url = format!("v2/logout?client_id={WEB_CLIENT_ID}&returnTo={}", enc(APP));
    let r = b.get(&t.url(&url)).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", excerpt(&r.text));
    assert_eq!(r.location().as_deref(), Some(APP));
    assert!(!b.has_cookie("auth0"), "the session cookie is cleared");

    let req = AuthRequest::web().with("prompt", "none");
    let to = b.authorize(&t, &req).await.away();
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("login_required"),
        "{to}"
    );
    t.wait_for_log("slo", |_| true).await;
}

#[tokio::test]
async fn v2_logout_refuses_a_return_to_that_is_not_allowed() {
    let t = spawn().await;
    let url = format!(
        "v2/logout?client_id={WEB_CLIENT_ID}&returnTo={}",
        enc("https://evil.example/")
    );
    let r = t.get(&url).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.location().is_none(), "no open redirect");
}

#[tokio::test]
async fn oidc_logout_with_a_client_id_redirects_with_state() {
    let t = spawn().await;
    let url = format!(
        "oidc/logout?client_id={WEB_CLIENT_ID}&post_logout_redirect_uri={}&state=xyz",
        enc("http://localhost:3000/")
    );
    let r = t.get(&url).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", excerpt(&r.text));
    assert_eq!(
        r.location().as_deref(),
        Some("http://localhost:3000/?state=xyz")
    );
}

#[tokio::test]
async fn oidc_logout_with_an_id_token_hint_redirects_with_state() {
    let t = spawn().await;
    let mut b = t.browser();
    let req = AuthRequest::web();
    let tokens = login_tokens_with(&t, &mut b, &req, ALICE_EMAIL, ALICE_PASSWORD).await;
    let url = format!(
        "oidc/logout?id_token_hint={}&post_logout_redirect_uri={}&state=xyz",
        tokens.id_token,
        enc(APP)
    );
    let r = b.get(&t.url(&url)).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", excerpt(&r.text));
    let loc = r.location().unwrap();
    assert!(loc.starts_with(APP), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("xyz"));
    let to = b
        .authorize(&t, &AuthRequest::web().with("prompt", "none"))
        .await
        .away();
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("login_required"),
        "{to}"
    );
}

#[tokio::test]
async fn oidc_logout_refuses_an_unregistered_post_logout_redirect_uri() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let url = format!(
        "oidc/logout?id_token_hint={}&post_logout_redirect_uri={}",
        tokens.id_token,
        enc("https://evil.example/")
    );
    let r = t.get(&url).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.location().is_none());
}
