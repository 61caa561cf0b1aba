//! Group 3b: `/oauth/token` for authorization_code and client_credentials, client authentication
//! (auth0-surface §4.2, §4.3, §4.6, §4.8; security-anchors §J 135–143).

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

fn assert_oauth_error(r: &Resp, status: StatusCode, error: &str, description: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.text);
    let body = r.json();
    assert_eq!(body["error"], error, "{body}");
    if let Some(d) = description {
        assert_eq!(body["error_description"], d, "{body}");
    }
    assert!(body.get("access_token").is_none());
}

async fn code_for(t: &Tenant, req: &AuthRequest) -> String {
    t.browser()
        .login_code(t, req, ALICE_EMAIL, ALICE_PASSWORD)
        .await
}

#[tokio::test]
async fn a_wrong_code_verifier_is_refused_and_consumes_the_code() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let code = code_for(&t, &req).await;
    let wrong = pkce().verifier;
    let r = t.exchange_code(&code, &wrong, CALLBACK).await;
    assert_oauth_error(
        &r,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Failed to verify code verifier"),
    );
    // The right verifier no longer helps: a failed verification burns the code.
    let r = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_oauth_error(
        &r,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid authorization code"),
    );
}

#[tokio::test]
async fn a_missing_code_verifier_is_refused_when_a_challenge_was_sent() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let code = code_for(&t, &req).await;
    let r = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB_CLIENT_ID),
            ("client_secret", WEB_CLIENT_SECRET),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ])
        .await;
    assert_oauth_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Parameter 'code_verifier' is required"),
    );
}

#[tokio::test]
async fn a_verifier_of_invalid_length_or_alphabet_is_refused() {
    let t = spawn().await;
    for bad in [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+/=", "a".repeat(40)),
    ] {
        let mut req = AuthRequest::web();
        req.code_challenge = Some(s256(&bad));
        req.pkce_verifier = bad.clone();
        let code = code_for(&t, &req).await;
        let r = t.exchange_code(&code, &bad, CALLBACK).await;
        assert!(
            r.status == StatusCode::FORBIDDEN || r.status == StatusCode::BAD_REQUEST,
            "verifier {bad:?}: {} {}",
            r.status,
            r.text
        );
        assert!(
            r.json().get("access_token").is_none(),
            "verifier {bad:?} accepted"
        );
    }
}

#[tokio::test]
async fn pkce_cannot_be_downgraded_by_omitting_the_challenge() {
    let t = spawn().await;
    let mut req = AuthRequest::web();
    req.code_challenge = None;
    req.code_challenge_method = None;
    let mut b = t.browser();
    match b.authorize(&t, &req).await {
        // Refused up front: no code can exist without a challenge.
        Landing::Away(to) => {
            assert!(query_param(&to, "code").is_none(), "{to}");
            assert!(query_param(&to, "error").is_some(), "{to}");
        }
        // Or a code is issued, but a verifier presented for it must then be refused.
        Landing::Page(url, page) => {
            let form = parse_form(&page.text).expect("login form");
            let (action, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
            let to = b.follow(&action, r).await.away();
            let code = query_param(&to, "code").expect("code");
            let r = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
            assert_oauth_error(&r, StatusCode::FORBIDDEN, "invalid_grant", None);
        }
    }
}

#[tokio::test]
async fn a_code_can_be_exchanged_only_once() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let code = code_for(&t, &req).await;
    let first = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let again = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_oauth_error(
        &again,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid authorization code"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemption_of_one_code_succeeds_once_and_revokes_what_it_minted() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let code = code_for(&t, &req).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", WEB_CLIENT_ID),
        ("client_secret", WEB_CLIENT_SECRET),
        ("code", code.as_str()),
        ("code_verifier", req.pkce_verifier.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let answers = token_concurrently(&t, 16, &form).await;
    let (won, lost): (Vec<&Resp>, Vec<&Resp>) =
        answers.iter().partition(|r| r.status == StatusCode::OK);
    assert_eq!(
        won.len(),
        1,
        "exactly one redemption wins: {:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in &lost {
        assert_oauth_error(
            r,
            StatusCode::FORBIDDEN,
            "invalid_grant",
            Some("Invalid authorization code"),
        );
    }
    // A replay revokes what the first redemption minted, however the requests interleaved.
    let rt = won[0].json()["refresh_token"]
        .as_str()
        .expect("the winner got a refresh token")
        .to_string();
    let r = t.refresh(&rt).await;
    assert_oauth_error(
        &r,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Unknown or invalid refresh token."),
    );
}

#[tokio::test]
async fn an_unknown_code_is_an_invalid_authorization_code() {
    let t = spawn().await;
    let r = t
        .exchange_code("not-a-real-code", &pkce().verifier, CALLBACK)
        .await;
    assert_oauth_error(
        &r,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid authorization code"),
    );
}

#[tokio::test]
async fn a_code_cannot_be_redeemed_by_another_client() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let code = code_for(&t, &req).await;
    let r = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", M2M_CLIENT_ID),
            ("client_secret", M2M_CLIENT_SECRET),
            ("code", &code),
            ("code_verifier", &req.pkce_verifier),
            ("redirect_uri", CALLBACK),
        ])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error == "invalid_grant" || error == "unauthorized_client",
        "{}",
        r.text
    );
    assert!(r.json().get("access_token").is_none());
}

#[tokio::test]
async fn a_code_cannot_be_redeemed_with_another_redirect_uri() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let code = code_for(&t, &req).await;
    // OTHER_CALLBACK is registered for the client, but it is not the one the code was issued for.
    let r = t
        .exchange_code(&code, &req.pkce_verifier, OTHER_CALLBACK)
        .await;
    assert_oauth_error(&r, StatusCode::FORBIDDEN, "invalid_grant", None);
}

#[tokio::test]
async fn a_code_older_than_ten_minutes_is_refused() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let code = code_for(&t, &req).await;
    t.set_clock_offset(601).await;
    let r = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_oauth_error(
        &r,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid authorization code"),
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_401_client_authentication_failure() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let code = code_for(&t, &req).await;
    let r = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB_CLIENT_ID),
            ("client_secret", "dev-web-secret-wrong"),
            ("code", &code),
            ("code_verifier", &req.pkce_verifier),
            ("redirect_uri", CALLBACK),
        ])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    // Auth0 has been observed sending access_denied/"Unauthorized"; its OAS documents
    // invalid_client/"Client authentication failed" (auth0-surface §4.2). Either is Auth0.
    assert!(
        error == "invalid_client" || error == "access_denied",
        "{}",
        r.text
    );
    // The failed attempt did not burn the code for the real client.
    let ok = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
}

#[tokio::test]
async fn a_missing_client_secret_or_unknown_client_is_a_401() {
    let t = spawn().await;
    let no_secret = t
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", M2M_CLIENT_ID),
            ("audience", API),
        ])
        .await;
    assert_eq!(
        no_secret.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        no_secret.text
    );
    let unknown = t
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "unknownClient000000000000000000000"),
            ("client_secret", "whatever"),
            ("audience", API),
        ])
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "{}", unknown.text);
}

#[tokio::test]
async fn a_wrong_secret_in_basic_is_a_401_with_www_authenticate() {
    let t = spawn().await;
    let r = into_resp(
        t.http
            .post(t.url("oauth/token"))
            .header("authorization", basic(M2M_CLIENT_ID, "wrong"))
            .form(&[("grant_type", "client_credentials"), ("audience", API)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(
        r.header("www-authenticate").is_some(),
        "RFC 6749 §5.2: Basic failure challenges"
    );
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    let t = spawn().await;
    let r = t
        .token(&[
            ("grant_type", "urn:example:made-up"),
            ("client_id", WEB_CLIENT_ID),
            ("client_secret", WEB_CLIENT_SECRET),
        ])
        .await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "unsupported_grant_type", None);
}

#[tokio::test]
async fn the_password_grant_is_not_enabled_for_the_web_client() {
    let t = spawn().await;
    let r = t
        .token(&[
            ("grant_type", "password"),
            ("client_id", WEB_CLIENT_ID),
            ("client_secret", WEB_CLIENT_SECRET),
            ("username", ALICE_EMAIL),
            ("password", ALICE_PASSWORD),
        ])
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error == "unauthorized_client" || error == "unsupported_grant_type",
        "{}",
        r.text
    );
}

#[tokio::test]
async fn client_credentials_is_not_allowed_for_the_web_client() {
    let t = spawn().await;
    let r = t
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", WEB_CLIENT_ID),
            ("client_secret", WEB_CLIENT_SECRET),
            ("audience", API),
        ])
        .await;
    assert_oauth_error(
        &r,
        StatusCode::FORBIDDEN,
        "unauthorized_client",
        Some("Grant type 'client_credentials' not allowed for the client."),
    );
}

#[tokio::test]
async fn client_credentials_with_a_scope_outside_the_grant_is_access_denied() {
    let t = spawn().await;
    let r = t
        .client_credentials(&t.management_audience(), Some("read:users delete:users"))
        .await;
    assert_oauth_error(
        &r,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Client has not been granted scopes: delete:users"),
    );
    // write:profile is defined on the API but not granted to the M2M client.
    let r = t.client_credentials(API, Some("write:profile")).await;
    assert_oauth_error(&r, StatusCode::FORBIDDEN, "access_denied", None);
}

#[tokio::test]
async fn client_credentials_for_an_unknown_audience_is_service_not_enabled() {
    let t = spawn().await;
    let r = t.client_credentials("https://nope.example", None).await;
    assert_oauth_error(
        &r,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Service not enabled within domain: https://nope.example"),
    );
}

#[tokio::test]
async fn the_token_endpoint_fault_control_makes_it_fail_until_cleared() {
    let t = spawn().await;
    let r = t
        .post_json(
            "__dev/faults",
            &json!({"token": {"status": 503, "delay_ms": 0}}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = t.client_credentials(API, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    let r = t.delete("__dev/faults").await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = t.client_credentials(API, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn client_credentials_for_the_management_api_and_its_refusals_are_not_cacheable() {
    let t = spawn().await;
    let aud = t.management_audience();
    let r = no_store(t.client_credentials(&aud, None).await);
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let at = jwt_claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(at["gty"], "client-credentials");
    assert_eq!(at["sub"], format!("{M2M_CLIENT_ID}@clients"));
    let r = no_store(
        t.client_credentials(&aud, Some("read:users delete:users"))
            .await,
    );
    assert_oauth_error(
        &r,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("Client has not been granted scopes: delete:users"),
    );
    let wrong_secret = [
        ("grant_type", "client_credentials"),
        ("client_id", M2M_CLIENT_ID),
        ("client_secret", "wrong"),
        ("audience", aud.as_str()),
    ];
    let r = no_store(t.token(&wrong_secret).await);
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let r = no_store(
        t.token(&[("grant_type", "foo"), ("client_id", M2M_CLIENT_ID)])
            .await,
    );
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
