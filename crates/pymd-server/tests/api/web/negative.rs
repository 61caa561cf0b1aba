//! Callbacks that must not sign anyone in: missing or tampered state, replays, IdP errors, a
//! failing token endpoint, and open-redirect attempts through `returnTo`.

use pymd_storage::AuditFilter;
use reqwest::StatusCode;

use crate::web::harness::{ALICE, Browser, Env, between, query, with_param};

fn assert_no_session_cookie(p: &crate::web::harness::Page) {
    assert!(
        !p.set_cookies
            .iter()
            .any(|c| c.starts_with("pymd_session=") && !c.contains("Max-Age=0")),
        "no session cookie may be set: {:?}",
        p.set_cookies
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_without_state_is_refused_without_a_token_request() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let (_, callback) = b.login_until_callback(&env, "/auth/login", ALICE).await;
    let code = query(&callback).get("code").cloned().expect("code");
    let before = env.code_exchanges().await;

    let p = b
        .get(&format!("{}/auth/callback?code={code}", env.app))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(
        p.body.contains("href=\"/auth/login\""),
        "a try-again link: {}",
        p.body
    );
    assert_no_session_cookie(&p);
    assert_eq!(
        env.code_exchanges().await,
        before,
        "no token request was made"
    );
    assert_eq!(env.active_sessions().await, 0);

    // The code was not spent: the genuine callback still works.
    let ok = b.get(&callback).await;
    assert_eq!(ok.status, StatusCode::FOUND, "{}", ok.body);
    assert!(ok.set_cookie("pymd_session").is_some());
    assert_eq!(env.code_exchanges().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_foreign_state_is_refused_and_a_replay_too() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let (_, callback) = b.login_until_callback(&env, "/auth/login", ALICE).await;
    let state = query(&callback).get("state").cloned().expect("state");
    let before = env.code_exchanges().await;

    let mut flipped = state.clone();
    let last = if flipped.ends_with('A') { 'B' } else { 'A' };
    flipped.pop();
    flipped.push(last);
    for bad in [flipped.as_str(), "x", &"A".repeat(10_000)] {
        let p = b.get(&with_param(&callback, "state", bad)).await;
        assert_eq!(
            p.status,
            StatusCode::BAD_REQUEST,
            "state {}",
            &bad[..bad.len().min(20)]
        );
        assert_no_session_cookie(&p);
    }
    // Duplicate parameters are refused too.
    let dup = b.get(&format!("{callback}&state={state}")).await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        env.code_exchanges().await,
        before,
        "no token request for a bad state"
    );
    assert_eq!(env.active_sessions().await, 0);

    // Login CSRF: the same (valid) callback in another browser, which never started a login.
    let mut victim = Browser::new();
    let p = victim.get(&callback).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_no_session_cookie(&p);

    // The real one works once; replaying it is refused (the transaction is spent).
    let ok = b.get(&callback).await;
    assert_eq!(ok.status, StatusCode::FOUND, "{}", ok.body);
    let replay = b.get(&callback).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        env.code_exchanges().await,
        before + 1,
        "one token request in all"
    );
    assert_eq!(env.active_sessions().await, 1);

    let failures = env
        .store
        .list_audit(&AuditFilter {
            event: Some("login_failure".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert!(failures.len() >= 5, "{}", failures.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_issued_for_another_nonce_is_refused_at_the_callback() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let start = b.get(&format!("{}/auth/login", env.app)).await;
    let authorize = start.location.clone().expect("login redirects");
    let sent = query(&authorize).get("nonce").cloned().expect("a nonce");
    // The authorization request is altered on its way (a hostile extension or proxy): the IdP
    // issues its ID token for another nonce, while state and the PKCE pair still match — only the
    // nonce check stands between this response and a session.
    let planted = "planted-nonce-0123456789abcdef";
    assert_ne!(sent, planted);
    let callback = b
        .authorize_until_callback(&env, &with_param(&authorize, "nonce", planted), ALICE)
        .await;
    let before = env.code_exchanges().await;
    let p = b.get(&callback).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(p.body.contains("href=\"/auth/login\""), "{}", p.body);
    assert_no_session_cookie(&p);
    assert_eq!(env.code_exchanges().await, before + 1, "the code was spent");
    assert_eq!(env.active_sessions().await, 0);
    let failures = env
        .store
        .list_audit(&AuditFilter {
            event: Some("login_failure".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert!(
        failures
            .iter()
            .any(|f| f.event.detail.to_string().contains("bad_nonce")),
        "{failures:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idp_error_shows_a_page_with_a_try_again_link_and_no_session() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let start = b.get(&format!("{}/auth/login", env.app)).await;
    let state = query(start.location.as_deref().expect("authorize"))
        .get("state")
        .cloned()
        .expect("state");
    let p = b
        .get(&format!(
            "{}/auth/callback?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={state}",
            env.app
        ))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("href=\"/auth/login\""), "{}", p.body);
    assert!(p.body.contains("Try again"));
    assert!(
        !p.body.contains("<script>alert(1)"),
        "the description is never echoed raw"
    );
    assert_no_session_cookie(&p);
    assert!(
        p.set_cookies
            .iter()
            .any(|c| c.starts_with("pymd_tx_") && c.contains("Max-Age=0")),
        "the transaction is consumed"
    );
    assert_eq!(env.active_sessions().await, 0);
    let failures = env
        .store
        .list_audit(&AuditFilter {
            event: Some("login_failure".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert!(
        failures
            .iter()
            .any(|e| e.event.detail["reason"] == "idp_access_denied"),
        "{failures:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_token_endpoint_gives_502_and_no_session() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let (_, callback) = b.login_until_callback(&env, "/auth/login", ALICE).await;
    env.fault(serde_json::json!({"token": {"status": 503}}))
        .await;
    let p = b.get(&callback).await;
    assert_eq!(p.status, StatusCode::BAD_GATEWAY, "{}", p.body);
    assert!(p.body.contains("href=\"/auth/login\""));
    assert_no_session_cookie(&p);
    assert_eq!(env.active_sessions().await, 0, "no half-made session");
    assert_eq!(b.cookie("pymd_session"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_redirects_through_return_to_land_on_the_dashboard() {
    let env = Env::start().await;
    for evil in [
        "//evil.example",
        "https://evil.example",
        "/%5Cevil.example",
        "javascript:alert(1)",
    ] {
        let mut b = Browser::new();
        let enc: String = url::form_urlencoded::byte_serialize(evil.as_bytes()).collect();
        let done = b
            .login(&env, &format!("/auth/login?returnTo={enc}"), ALICE)
            .await;
        assert_eq!(done.status, StatusCode::FOUND, "{evil}: {}", done.body);
        assert_eq!(
            done.location.as_deref(),
            Some(format!("{}/dashboard", env.app).as_str()),
            "{evil}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_logout_request_does_not_end_the_session() {
    let env = Env::start().await;
    let mut b = Browser::new();
    b.login(&env, "/auth/login", ALICE).await;
    let raw = b.cookie("pymd_session").expect("session");
    let r = crate::web::harness::client()
        .get(format!("{}/auth/logout", env.app))
        .header("cookie", format!("pymd_session={raw}"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("logout");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a confirmation page, not a logout"
    );
    assert_eq!(env.active_sessions().await, 1);
    let p = b.get(&format!("{}/auth/profile", env.app)).await;
    assert_eq!(p.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_that_is_not_plainly_the_apps_own_is_confirmed_by_a_csrf_protected_post() {
    let env = Env::start().await;
    let mut b = Browser::new();
    b.login(&env, "/auth/login", ALICE).await;
    // A same-site page (a sibling subdomain) or a browser without Fetch Metadata: asked first.
    let logout = format!("{}/auth/logout", env.app);
    for site in [Some("same-site"), None] {
        let raw = b.cookie("pymd_session").expect("session");
        let mut rb = crate::web::harness::client()
            .get(&logout)
            .header("cookie", format!("pymd_session={raw}"));
        if let Some(site) = site {
            rb = rb.header("sec-fetch-site", site);
        }
        let r = rb.send().await.expect("logout");
        assert_eq!(r.status(), StatusCode::OK, "{site:?}: a confirmation page");
        assert_eq!(env.active_sessions().await, 1, "{site:?}");
    }
    let page = b.get(&logout).await;
    assert!(
        page.body
            .contains("method=\"post\" action=\"/auth/logout\""),
        "{}",
        page.body
    );
    let csrf = between(&page.body, "name=\"csrf_token\" value=\"", "\"").expect("csrf_token");
    // Without the token, or with another, the session stays.
    use crate::web::documents_pages::{same_origin, submit};
    let headers = same_origin(&env);
    let forged = submit(
        &env,
        &b,
        "/auth/logout",
        &headers,
        &[("csrf_token", "forged")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let cross = [("sec-fetch-site", "cross-site".to_owned())];
    let forged = submit(&env, &b, "/auth/logout", &cross, &[("csrf_token", &csrf)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(env.active_sessions().await, 1);
    // With it, the session ends and the browser goes to the IdP's logout.
    let done = submit(&env, &b, "/auth/logout", &headers, &[("csrf_token", &csrf)]).await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    assert!(
        done.location
            .as_deref()
            .is_some_and(|l| l.starts_with(&env.tenant))
    );
    assert_eq!(env.active_sessions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_sends_iss_must_send_it_on_every_callback() {
    let yaml = pymd_tenant::DEFAULT_TENANT_YAML.replacen(
        "\ntenant:\n",
        "\ntenant:\n  authorization_response_iss_parameter_supported: true\n",
        1,
    );
    let env = crate::web::harness::Env::start_full(
        |o| o.source = pymd_tenant::TenantSource::Yaml(yaml),
        |_| {},
    )
    .await;
    // With `iss` as the provider sends it, the sign-in completes.
    let mut b = crate::web::harness::Browser::new();
    let (_, callback) = b
        .login_until_callback(&env, "/auth/login", crate::web::harness::ALICE)
        .await;
    assert_eq!(
        crate::web::harness::query(&callback)
            .get("iss")
            .map(String::as_str),
        Some(env.tenant.as_str())
    );
    let ok = b.get(&callback).await;
    assert_eq!(ok.status, reqwest::StatusCode::FOUND, "{}", ok.body);
    // Without it (a mix-up: another provider's response), the sign-in is refused.
    let mut b = crate::web::harness::Browser::new();
    let (_, callback) = b
        .login_until_callback(&env, "/auth/login", crate::web::harness::ALICE)
        .await;
    let mut url = url::Url::parse(&callback).expect("url");
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "iss")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    let refused = b.get(url.as_str()).await;
    assert_eq!(
        refused.status,
        reqwest::StatusCode::BAD_REQUEST,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("unexpected issuer"),
        "{}",
        refused.body
    );
    assert!(b.cookie("pymd_session").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_outage_does_not_fail_a_login_while_the_keys_are_cached() {
    let env = crate::web::harness::Env::start().await;
    let mut b = crate::web::harness::Browser::new();
    let first = b
        .login(&env, "/auth/login", crate::web::harness::ALICE)
        .await;
    assert_eq!(first.status, reqwest::StatusCode::FOUND, "{}", first.body);
    // The IdP's key endpoint goes down; the ID token is checked with the cached keys.
    env.fault(serde_json::json!({"jwks": {"status": 503}}))
        .await;
    let mut b = crate::web::harness::Browser::new();
    let second = b
        .login(&env, "/auth/login", crate::web::harness::ALICE)
        .await;
    assert_eq!(second.status, reqwest::StatusCode::FOUND, "{}", second.body);
    assert!(b.cookie("pymd_session").is_some());
}
