//! Group 3c: refresh tokens — rotation, family revocation on reuse, lifetimes
//! (auth0-surface §4.4, §4.5; security-anchors §I 125–129).

use reqwest::StatusCode;

use crate::support::*;

const DAY: i64 = 86_400;

fn assert_invalid_refresh_token(r: &Resp) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let body = r.json();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(
        body["error_description"], "Unknown or invalid refresh token.",
        "{body}"
    );
    assert!(body.get("access_token").is_none());
}

fn new_rt(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()["refresh_token"]
        .as_str()
        .expect("a rotating client gets a new refresh token")
        .to_string()
}

#[tokio::test]
async fn each_refresh_rotates_the_refresh_token_and_returns_fresh_tokens() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let r1 = t.refresh(&tokens.refresh_token).await;
    let rt2 = new_rt(&r1);
    let body = r1.json();
    assert!(
        r1.header("cache-control")
            .unwrap_or_default()
            .contains("no-store")
    );
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["scope"].is_string());
    assert!(
        body["id_token"].is_string(),
        "openid was granted → a new ID token"
    );
    let at = t
        .verify(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(at["sub"], ALICE_ID);
    assert_eq!(
        aud_list(&at),
        aud_list(&jwt_claims(&tokens.access_token)),
        "same audience as the family"
    );
    assert_eq!(
        jwt_claims(body["id_token"].as_str().unwrap())[ROLES_CLAIM],
        serde_json::json!(["user"])
    );

    let rt3 = new_rt(&t.refresh(&rt2).await);
    assert_ne!(rt2, tokens.refresh_token);
    assert_ne!(rt3, rt2);
    assert_ne!(rt3, tokens.refresh_token);
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_family() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let rt1 = tokens.refresh_token.clone();
    let rt2 = new_rt(&t.refresh(&rt1).await);
    let rt3 = new_rt(&t.refresh(&rt2).await);

    // RT1 was rotated away long ago (leeway 0): presenting it again is a breach signal.
    assert_invalid_refresh_token(&t.refresh(&rt1).await);
    // …so even the newest token of the family is now dead.
    assert_invalid_refresh_token(&t.refresh(&rt3).await);

    t.wait_for_log("ferrt", |_| true).await;
}

#[tokio::test]
async fn family_revocation_does_not_touch_another_login_of_the_same_user() {
    let t = spawn().await;
    let a = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let b = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let a2 = new_rt(&t.refresh(&a.refresh_token).await);
    assert_invalid_refresh_token(&t.refresh(&a.refresh_token).await);
    assert_invalid_refresh_token(&t.refresh(&a2).await);
    new_rt(&t.refresh(&b.refresh_token).await);
}

#[tokio::test]
async fn a_refresh_token_of_the_web_client_is_refused_to_the_m2m_client() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let r = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", M2M_CLIENT_ID),
            ("client_secret", M2M_CLIENT_SECRET),
            ("refresh_token", &tokens.refresh_token),
        ])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    // invalid_grant (token of another client) or unauthorized_client (the M2M client has no
    // refresh_token grant); both are Auth0-shaped 403s.
    assert!(
        error == "invalid_grant" || error == "unauthorized_client",
        "{}",
        r.text
    );
    assert!(r.json().get("access_token").is_none());
}

#[tokio::test]
async fn a_refresh_token_needs_the_right_client_secret() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let r = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", WEB_CLIENT_ID),
            ("client_secret", "wrong"),
            ("refresh_token", &tokens.refresh_token),
        ])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // The token itself is still good for its owner.
    new_rt(&t.refresh(&tokens.refresh_token).await);
}

#[tokio::test]
async fn refresh_tokens_die_when_the_users_tokens_are_revoked() {
    let t = spawn().await;
    let alice = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let bob = t.login_tokens(BOB_EMAIL, BOB_PASSWORD).await;
    let path = format!(
        "__dev/users/{}/revoke-refresh-tokens",
        url::form_urlencoded::byte_serialize(ALICE_ID.as_bytes()).collect::<String>()
    );
    let r = t.post_json(&path, &serde_json::json!({})).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    assert_invalid_refresh_token(&t.refresh(&alice.refresh_token).await);
    new_rt(&t.refresh(&bob.refresh_token).await);
}

#[tokio::test]
async fn a_refresh_token_idle_for_more_than_thirty_days_is_refused() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    t.set_clock_offset(31 * DAY).await;
    assert_invalid_refresh_token(&t.refresh(&tokens.refresh_token).await);
}

#[tokio::test]
async fn activity_renews_the_idle_lifetime_but_not_the_ninety_day_absolute_lifetime() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let mut rt = tokens.refresh_token.clone();
    for days in [29, 58, 87] {
        t.set_clock_offset(days * DAY).await;
        rt = new_rt(&t.refresh(&rt).await);
    }
    // Day 91: only four idle days, but past the family's absolute lifetime.
    t.set_clock_offset(91 * DAY).await;
    assert_invalid_refresh_token(&t.refresh(&rt).await);
}

#[tokio::test]
async fn an_unknown_refresh_token_is_refused() {
    let t = spawn().await;
    assert_invalid_refresh_token(&t.refresh("v1.not-a-refresh-token").await);
}

#[tokio::test]
async fn a_successful_refresh_is_logged_as_sertft() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    new_rt(&t.refresh(&tokens.refresh_token).await);
    t.wait_for_log("sertft", |_| true).await;
}

#[tokio::test]
async fn no_refresh_token_without_offline_access() {
    let t = spawn().await;
    let mut req = AuthRequest::web();
    req.scope = "openid profile email read:documents".into();
    let code = t
        .browser()
        .login_code(&t, &req, ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    let r = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json().get("refresh_token").is_none(), "{}", r.text);
}

fn refresh_form(rt: &str) -> [(&str, &str); 4] {
    [
        ("grant_type", "refresh_token"),
        ("client_id", WEB_CLIENT_ID),
        ("client_secret", WEB_CLIENT_SECRET),
        ("refresh_token", rt),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_use_of_one_refresh_token_revokes_the_family() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let answers = token_concurrently(&t, 16, &refresh_form(&tokens.refresh_token)).await;

    let (won, lost): (Vec<&Resp>, Vec<&Resp>) =
        answers.iter().partition(|r| r.status == StatusCode::OK);
    assert_eq!(
        won.len(),
        1,
        "exactly one exchange wins: {:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(lost.len(), 15);
    for r in &lost {
        assert_invalid_refresh_token(r);
    }
    // The others were reuse (leeway 0): the family is revoked, the winner's new token with it…
    let winners_rt = new_rt(won[0]);
    assert_invalid_refresh_token(&t.refresh(&winners_rt).await);
    // …and the original token stays dead.
    assert_invalid_refresh_token(&t.refresh(&tokens.refresh_token).await);
    t.wait_for_log("ferrt", |_| true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_use_inside_the_overlap_period_is_allowed() {
    let yaml = DEFAULT_TENANT_YAML.replace("leeway: 0 ", "leeway: 30 ");
    let t = spawn_with(|o| o.source = yaml_source(yaml)).await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let answers = token_concurrently(&t, 16, &refresh_form(&tokens.refresh_token)).await;

    // Auth0: within the overlap period the just-used token is accepted again and each
    // exchange returns a new refresh token, without reuse detection.
    let mut fresh: Vec<String> = answers.iter().map(new_rt).collect();
    fresh.sort();
    fresh.dedup();
    assert_eq!(fresh.len(), 16, "every exchange got its own refresh token");
    // No revocation happened: the new tokens work.
    new_rt(&t.refresh(&fresh[0]).await);
    assert!(
        !t.logs().await.iter().any(|e| e["type"] == "ferrt"),
        "no failed exchange was logged"
    );
}

#[tokio::test]
async fn a_refreshed_access_token_carries_gty_refresh_token() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    assert!(jwt_claims(&tokens.access_token).get("gty").is_none());
    let r = t.refresh(&tokens.refresh_token).await;
    new_rt(&r);
    let body = r.json();
    let at = t
        .verify(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(at["gty"], "refresh_token", "auth0-surface §5.2");
    let id = jwt_claims(body["id_token"].as_str().unwrap());
    assert!(id.get("gty").is_none(), "gty is an access-token claim");
    assert!(
        id.get("nonce").is_none(),
        "a refreshed ID token has no nonce"
    );
}

/// Logs in through the form with a fresh browser (no SSO session) and checks the POST's answer:
/// a 302 whose first cookie is the `auth0` session. Returns the callback's `code`.
async fn form_login_code(t: &Tenant, req: &AuthRequest) -> String {
    let mut b = t.browser();
    let (url, form) = b.login_page(t, req).await;
    let (action, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", excerpt(&r.text));
    let first_cookie = r.header("set-cookie").unwrap_or_default();
    assert!(first_cookie.starts_with("auth0="), "{first_cookie}");
    let to = b.follow(&action, r).await.away();
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some(req.state.as_str())
    );
    query_param(&to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

#[tokio::test]
async fn a_code_flow_then_rotation_then_reuse_revokes_each_family_and_is_logged() {
    let t = spawn().await;
    let mut req = AuthRequest::web();
    req.audience = None;
    let code = form_login_code(&t, &req).await;
    let r = no_store(t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await);
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    let id = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], req.nonce.as_str());
    assert_eq!(id["sid"].as_str().unwrap().len(), 32);
    let at = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        at["scope"],
        "openid profile email offline_access read:documents"
    );
    let rt1 = body["refresh_token"].as_str().unwrap().to_string();

    // Code reuse: 403, and the family minted from the code is revoked.
    let r = no_store(t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await);
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_grant");
    assert_eq!(r.json()["error_description"], "Invalid authorization code");
    assert_eq!(
        no_store(t.refresh(&rt1).await).status,
        StatusCode::FORBIDDEN
    );

    // A new login, then rotation and reuse detection.
    let req = AuthRequest::web();
    let code = form_login_code(&t, &req).await;
    let r = no_store(t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await);
    let rt1 = new_rt(&r);
    let r = no_store(t.refresh(&rt1).await);
    let rt2 = new_rt(&r);
    assert_ne!(rt1, rt2);
    assert!(r.json()["id_token"].is_string());
    // Reusing rt1 revokes the family: rt2 fails too.
    assert_invalid_refresh_token(&no_store(t.refresh(&rt1).await));
    assert_eq!(
        no_store(t.refresh(&rt2).await).status,
        StatusCode::FORBIDDEN
    );
    let logs = t.logs().await;
    let types: Vec<&str> = logs.iter().filter_map(|l| l["type"].as_str()).collect();
    assert!(
        types.contains(&"ferrt") && types.contains(&"sertft") && types.contains(&"s"),
        "{types:?}"
    );
}

#[tokio::test]
async fn leeway_allows_only_the_immediately_previous_token() {
    let yaml = DEFAULT_TENANT_YAML.replace("leeway: 0 ", "leeway: 30 ");
    let t = spawn_with(|o| o.source = yaml_source(yaml)).await;
    let r = t
        .post_json(
            "__dev/token",
            &serde_json::json!({"user": ALICE_EMAIL, "scope": "openid offline_access"}),
        )
        .await;
    let rt1 = r.json()["refresh_token"].as_str().unwrap().to_string();
    let rt2 = new_rt(&t.refresh(&rt1).await);
    // Reuse of rt1 inside the leeway: a fresh pair, no revocation.
    let rt3 = new_rt(&t.refresh(&rt1).await);
    // rt2 is still valid and becomes used → rt1 is now second-to-last → breach.
    new_rt(&t.refresh(&rt2).await);
    assert_eq!(t.refresh(&rt1).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.refresh(&rt3).await.status,
        StatusCode::FORBIDDEN,
        "family revoked"
    );
}
