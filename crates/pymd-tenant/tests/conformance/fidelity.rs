//! Auth0 behaviours the dev tenant once skipped: a blocked user's login and refresh, the
//! narrow `update:users_app_metadata` scope, password history and dictionary, and
//! suspicious-IP throttling (auth0-surface; research notes of issue 8).

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

async fn block_alice(t: &Tenant) {
    let token = t.management_token(Some("update:users")).await;
    let r = t
        .patch_user(&token, ALICE_ID, &json!({"blocked": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// A tenant started from the shipped `tenant.yaml` with `edits` (from, to) applied.
fn edited(edits: &[(&str, &str)]) -> impl FnOnce(&mut pymd_tenant::TenantOptions) + use<> {
    let mut yaml = DEFAULT_TENANT_YAML.to_string();
    for (from, to) in edits {
        assert!(yaml.contains(from), "the shipped tenant.yaml has {from:?}");
        yaml = yaml.replacen(from, to, 1);
    }
    move |o| o.source = pymd_tenant::TenantSource::Yaml(yaml)
}

#[tokio::test]
async fn a_blocked_user_is_sent_back_to_the_client_with_unauthorized() {
    let t = spawn().await;
    block_alice(&t).await;
    let req = AuthRequest::web();
    let mut b = t.browser();
    let (url, form) = b.login_page(&t, &req).await;
    let (action, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    let to = b.follow(&action, r).await.away();
    assert!(to.starts_with(CALLBACK), "{to}");
    assert_eq!(query_param(&to, "error").as_deref(), Some("unauthorized"));
    assert_eq!(
        query_param(&to, "error_description").as_deref(),
        Some("user is blocked")
    );
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some(req.state.as_str())
    );
    assert!(query_param(&to, "code").is_none());
    assert!(!b.has_cookie("auth0"), "no SSO session for a blocked user");
}

#[tokio::test]
async fn a_blocked_users_refresh_is_403_invalid_grant() {
    let t = spawn().await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    block_alice(&t).await;
    let r = t.refresh(&tokens.refresh_token).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"error": "invalid_grant", "error_description": "user is blocked"})
    );
}

#[tokio::test]
async fn update_users_app_metadata_may_change_app_metadata_and_nothing_else() {
    let t = spawn_with(edited(&[(
        "      - read:users              # profile pages: read the user\n",
        "      - read:users              # profile pages: read the user\n      - update:users_app_metadata\n",
    )]))
    .await;
    let token = t.management_token(Some("update:users_app_metadata")).await;
    let r = t
        .patch_user(&token, ALICE_ID, &json!({"app_metadata": {"plan": "gold"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["app_metadata"]["plan"], "gold");
    for body in [
        json!({"name": "Mallory"}),
        json!({"user_metadata": {"bio": "x"}}),
        json!({"blocked": true}),
    ] {
        let r = t.patch_user(&token, ALICE_ID, &body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{body}: {}", r.text);
        assert_eq!(r.json()["errorCode"], "insufficient_scope", "{}", r.text);
    }
    let read = t.management_token(Some("read:users")).await;
    let alice = t
        .get_bearer(
            &format!("api/v2/users/{}", ALICE_ID.replace('|', "%7C")),
            &read,
        )
        .await
        .json();
    assert_eq!(alice["name"], "Alice Example", "nothing else changed");
    assert!(alice.get("blocked").is_none(), "{alice}");
}

#[tokio::test]
async fn a_password_change_may_not_repeat_the_last_five_passwords() {
    let t = spawn().await;
    let token = t.management_token(Some("update:users")).await;
    let set = |pw: &'static str| {
        let (t, token) = (&t, token.clone());
        async move {
            t.patch_user(&token, ALICE_ID, &json!({"password": pw}))
                .await
        }
    };
    let r = set(ALICE_PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "the current one: {}",
        r.text
    );
    assert_eq!(
        r.json()["message"],
        "PasswordHistoryError: Password has previously been used"
    );
    for (i, pw) in [
        "Kettle-Green-41",
        "Kettle-Green-42",
        "Kettle-Green-43",
        "Kettle-Green-44",
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(set(pw).await.status, StatusCode::OK, "change {i}");
    }
    // Alice's first password is the fifth back: still refused, and the login keeps the new one.
    assert_eq!(set(ALICE_PASSWORD).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(set("Kettle-Green-42").await.status, StatusCode::BAD_REQUEST);
    t.login_tokens(ALICE_EMAIL, "Kettle-Green-44").await;
    // One more change pushes it out of the five.
    assert_eq!(set("Kettle-Green-45").await.status, StatusCode::OK);
    assert_eq!(
        set(ALICE_PASSWORD).await.status,
        StatusCode::OK,
        "six changes back"
    );
}

#[tokio::test]
async fn dictionary_passwords_are_refused_at_sign_up_and_password_change() {
    let t = spawn_with(edited(&[(
        "        dictionary: []",
        "        dictionary: [pymdrocks2026]",
    )]))
    .await;
    let token = t.management_token(Some("update:users")).await;
    for pw in ["Password2026", "PymdRocks2026"] {
        let r = t
            .patch_user(&token, ALICE_ID, &json!({"password": pw}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{pw}: {}", r.text);
        assert_eq!(
            r.json()["message"],
            "PasswordDictionaryError: Password is too common"
        );
    }
    let page = SignupPage::open(&t).await;
    let r = page.submit(&t, "dora@example.com", "Password2026").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("Password is too common"),
        "{}",
        excerpt(&r.text)
    );
    t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
}

#[tokio::test]
async fn an_ip_with_too_many_failed_logins_across_accounts_is_throttled() {
    let t = spawn_with(edited(&[(
        "        max_attempts: 100\n        rate: 864000",
        "        max_attempts: 3\n        rate: 864000",
    )]))
    .await;
    for email in ["a@example.com", "b@example.com", BOB_EMAIL] {
        let req = AuthRequest::web();
        let mut b = t.browser();
        let (url, form) = b.login_page(&t, &req).await;
        let (_, r) = b.submit(&url, &form, email, "Wrong-Password-1").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", excerpt(&r.text));
    }
    let req = AuthRequest::web();
    let mut b = t.browser();
    let (url, form) = b.login_page(&t, &req).await;
    let (_, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        excerpt(&r.text)
    );
    assert!(
        r.text.contains("suspicious login behavior"),
        "{}",
        excerpt(&r.text)
    );
    t.wait_for_log("limit_mu", |_| true).await;
}

#[tokio::test]
async fn an_allowlisted_ip_is_never_throttled_and_sign_ups_have_their_own_budget() {
    let t = spawn_with(edited(&[(
        "        max_attempts: 50\n        rate: 1200",
        "        max_attempts: 2\n        rate: 600000",
    )]))
    .await;
    for email in ["s1@example.com", "s2@example.com"] {
        signup_tokens(&t, email, "Signer-Upper-77").await;
    }
    let page = SignupPage::open(&t).await;
    let r = page.submit(&t, "s3@example.com", "Signer-Upper-77").await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        excerpt(&r.text)
    );
    assert!(r.text.contains("suspicious login behavior"));
    // Logins from the same IP are a separate budget.
    t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;

    let t = spawn_with(edited(&[
        (
            "        max_attempts: 50\n        rate: 1200",
            "        max_attempts: 1\n        rate: 600000",
        ),
        (
            "    allowlist: []\n    stage:",
            "    allowlist: [127.0.0.1]\n    stage:",
        ),
    ]))
    .await;
    for email in ["s1@example.com", "s2@example.com", "s3@example.com"] {
        signup_tokens(&t, email, "Signer-Upper-77").await;
    }
}

#[tokio::test]
async fn with_rfc_9207_on_every_authorization_response_carries_iss() {
    let t = spawn_with(edited(&[(
        "\ntenant:\n",
        "\ntenant:\n  authorization_response_iss_parameter_supported: true\n",
    )]))
    .await;
    let doc = t.get(".well-known/openid-configuration").await.json();
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let req = AuthRequest::web();
    let mut b = t.browser();
    let callback = b.login(&t, &req, ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(t.issuer.as_str())
    );
    // An error response too: a blocked user.
    block_alice(&t).await;
    let mut b = t.browser();
    let (url, form) = b.login_page(&t, &req).await;
    let (action, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    let to = b.follow(&action, r).await.away();
    assert_eq!(query_param(&to, "error").as_deref(), Some("unauthorized"));
    assert_eq!(query_param(&to, "iss").as_deref(), Some(t.issuer.as_str()));
    // Off (the default), no response carries it and discovery does not claim it.
    let plain = spawn().await;
    let doc = plain.get(".well-known/openid-configuration").await.json();
    assert!(
        doc.get("authorization_response_iss_parameter_supported")
            .is_none()
    );
    let callback = plain
        .browser()
        .login(&plain, &req, ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    assert!(query_param(&callback, "iss").is_none());
}
