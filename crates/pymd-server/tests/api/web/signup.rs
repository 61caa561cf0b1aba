//! A new user's first sign-in, against the shipped tenant and its post-login Action: the Action
//! gives the default role during the login, the app fetches the role's permissions with one
//! refresh, and `PYMD_REQUIRE_VERIFIED_EMAIL` keeps unverified users out.

use std::sync::Arc;

use reqwest::StatusCode;

use crate::web::harness::{Browser, Env, between};

/// Signs up `email` on the tenant's sign-up page, starting from the app's `/auth/login`, and
/// returns the app's callback response.
async fn sign_up(env: &Env, b: &mut Browser, email: &str) -> crate::web::harness::Page {
    let start = b
        .get(&format!("{}/auth/login?returnTo=/dashboard", env.app))
        .await;
    let authorize = start.location.clone().expect("login redirects");
    let to_form = b.get(&format!("{authorize}&screen_hint=signup")).await;
    let form_url = to_form.location.clone().expect("the sign-up form");
    assert!(form_url.contains("/u/signup?"), "{form_url}");
    let form = b.get(&form_url).await;
    let csrf = between(&form.body, "name=\"csrf_token\" value=\"", "\"").expect("csrf_token");
    let done = b
        .post_form(
            &form_url,
            &[
                ("csrf_token", &csrf),
                ("email", email),
                ("password", "Newcomer-2026!"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "sign-up: {}", done.body);
    let callback = done.location.clone().expect("back to the app");
    b.get(&callback).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_reaches_their_dashboard_with_the_default_roles_permissions() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let landed = sign_up(&env, &mut b, "newcomer@example.com").await;
    assert_eq!(landed.status, StatusCode::FOUND, "{}", landed.body);
    let to = landed.location.clone().unwrap_or_default();
    assert!(to.ends_with("/dashboard"), "{to}");
    // The first access token could not carry the role the Action gave during this login; the
    // session holds the refreshed one, so the pages that need `read:documents` open.
    let dashboard = b.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
    let new = b.get(&format!("{}/documents/new", env.app)).await;
    assert_eq!(new.status, StatusCode::OK, "write:documents: {}", new.body);
    assert_eq!(
        env.code_exchanges().await,
        1,
        "one sign-in, one code exchange"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_verified_email_required_an_unverified_user_gets_a_page_and_no_session() {
    let env = Env::start_with(|state| {
        let mut config = (*state.config).clone();
        config.require_verified_email = true;
        state.config = Arc::new(config);
    })
    .await;
    let mut b = Browser::new();
    let landed = sign_up(&env, &mut b, "unverified@example.com").await;
    assert_eq!(landed.status, StatusCode::FORBIDDEN, "{}", landed.body);
    assert!(
        landed.body.contains("Please verify your email"),
        "{}",
        landed.body
    );
    assert!(
        b.cookie("pymd_session").is_none(),
        "no session for an unverified user"
    );
    assert_eq!(env.active_sessions().await, 0);
    // A verified user signs in as usual.
    let mut b = Browser::new();
    let done = b
        .login(&env, "/auth/login", crate::web::harness::ALICE)
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    assert!(b.cookie("pymd_session").is_some());
}
