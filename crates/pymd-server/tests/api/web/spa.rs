//! The SPA token API end to end against the dev tenant: a browser app keeps its PKCE verifier,
//! starts the sign-in at `POST /api/v1/auth/authorize`, signs in at the tenant, hands the code to
//! `POST /api/v1/auth/callback`, and renews through `POST /api/v1/auth/refresh` — with every
//! refusal recording nothing.

use std::sync::Arc;

use pymd_storage::{AuditFilter, SpaTransaction};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use crate::web::harness::{ALICE, Browser, Env, client, query};

/// A PKCE pair (RFC 7636 appendix B's verifier shape: 43 unreserved characters).
/// The app and the tenant, with room for many sign-in requests from this one test client (the
/// per-IP limit of the sign-in routes has tests of its own).
async fn start(refresh_per_hour: Option<u64>) -> Env {
    Env::start_with(|state| {
        let mut config = (*state.config).clone();
        config.limits.auth_per_minute = 1000;
        if let Some(n) = refresh_per_hour {
            config.limits.refresh_per_hour = n;
        }
        state.config = Arc::new(config);
    })
    .await
}

fn pkce() -> (String, String) {
    let verifier = pymd_server::web::crypto::random_token::<32>().expect("random");
    let challenge = pymd_server::web::crypto::pkce_challenge(&verifier);
    (verifier, challenge)
}

async fn post(env: &Env, path: &str, body: Value) -> (StatusCode, Value) {
    post_to(&env.app, path, body).await
}

/// Starts a sign-in and signs Alice in at the tenant: `(code, state)` from the redirect back.
async fn code_for(env: &Env, challenge: &str) -> (String, String) {
    let (status, started) = post(
        env,
        "/api/v1/auth/authorize",
        json!({ "codeChallenge": challenge }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let url = started["authorizeUrl"].as_str().expect("authorizeUrl");
    let q = query(url);
    assert_eq!(
        q.get("redirect_uri").map(String::as_str),
        Some(format!("{}/spa/callback", env.app).as_str())
    );
    assert_eq!(q.get("code_challenge").map(String::as_str), Some(challenge));
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert_eq!(
        q.get("state"),
        started["state"].as_str().map(str::to_owned).as_ref()
    );
    assert!(q.get("nonce").is_some_and(|n| n.len() >= 22));
    let mut b = Browser::new();
    let back = b.authorize_until_callback(env, url, ALICE).await;
    let back = query(&back);
    (
        back.get("code").cloned().expect("code"),
        back.get("state").cloned().expect("state"),
    )
}

async fn logins(env: &Env) -> usize {
    env.store
        .list_audit(&AuditFilter {
            event: Some("login_success".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("audit")
        .len()
}

async fn signed_in(env: &Env) -> Value {
    let (verifier, challenge) = pkce();
    let (code, state) = code_for(env, &challenge).await;
    let (status, tokens) = post(
        env,
        "/api/v1/auth/callback",
        json!({ "code": code, "state": state, "codeVerifier": verifier }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_spa_signs_in_with_its_own_verifier_and_calls_the_api_with_the_token() {
    let env = start(None).await;
    let tokens = signed_in(&env).await;
    assert_eq!(tokens["user"]["email"], "alice@example.com", "{tokens}");
    assert!(
        tokens["user"]["userId"]
            .as_str()
            .is_some_and(|s| s.starts_with("auth0|"))
    );
    assert!(
        tokens["refreshToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let expires_in = tokens["expiresIn"].as_i64().expect("expiresIn");
    assert!((3000..=3600).contains(&expires_in), "{expires_in}");
    let r = client()
        .get(format!("{}/api/v1/documents", env.app))
        .bearer_auth(tokens["accessToken"].as_str().expect("accessToken"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(logins(&env).await, 1, "the sign-in is audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_state_a_wrong_verifier_or_redirect_and_an_idp_refusal_record_nothing() {
    let env = start(None).await;
    // A wrong verifier: refused before the IdP is asked, and the state is spent.
    let (_, challenge) = pkce();
    let (code, state) = code_for(&env, &challenge).await;
    let (other_verifier, _) = pkce();
    let before = env.code_exchanges().await;
    let (status, body) = post(
        &env,
        "/api/v1/auth/callback",
        json!({ "code": code, "state": state, "codeVerifier": other_verifier }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(env.code_exchanges().await, before, "no token request");
    // Replaying the same state (now with anything) finds nothing.
    let (status, body) = post(
        &env,
        "/api/v1/auth/callback",
        json!({ "code": code, "state": state, "codeVerifier": other_verifier }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");

    // Another redirect URI than the one the sign-in started with.
    let (verifier, challenge) = pkce();
    let (code, state) = code_for(&env, &challenge).await;
    let (status, body) = post(
        &env,
        "/api/v1/auth/callback",
        json!({ "code": code, "state": state, "codeVerifier": verifier,
                "redirectUri": format!("{}/elsewhere", env.app) }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");

    // The IdP refuses a code it never issued: its `invalid_grant` is passed through.
    let (verifier, challenge) = pkce();
    let (_, state) = code_for(&env, &challenge).await;
    let (status, body) = post(
        &env,
        "/api/v1/auth/callback",
        json!({ "code": "not-a-code-the-idp-issued", "state": state, "codeVerifier": verifier }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // An expired transaction.
    let (verifier, challenge) = pkce();
    let stale_state = pymd_server::web::crypto::random_token::<32>().expect("random");
    let long_ago = pymd_domain::truncate_to_micros(pymd_domain::now() - Duration::minutes(11));
    env.store
        .create_spa_transaction(&SpaTransaction {
            state_hash: pymd_server::web::crypto::sha256(stale_state.as_bytes()).to_vec(),
            nonce: "n".repeat(43),
            code_challenge: challenge,
            redirect_uri: format!("{}/spa/callback", env.app),
            return_to: "/spa/".into(),
            created_at: long_ago,
            expires_at: long_ago + Duration::minutes(10),
        })
        .await
        .expect("plant");
    let (status, body) = post(
        &env,
        "/api/v1/auth/callback",
        json!({ "code": "x", "state": stale_state, "codeVerifier": verifier }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");

    assert_eq!(logins(&env).await, 0, "no sign-in was recorded");
    assert_eq!(env.active_sessions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_refuses_a_bad_challenge_or_an_unregistered_redirect_uri() {
    let env = start(None).await;
    for (body, field) in [
        (json!({ "codeChallenge": "short" }), "codeChallenge"),
        (json!({ "codeChallenge": "!".repeat(43) }), "codeChallenge"),
        (
            json!({ "codeChallenge": pkce().1, "redirectUri": "https://evil.example/cb" }),
            "redirectUri",
        ),
    ] {
        let (status, answer) = post(&env, "/api/v1/auth/authorize", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["error"], "validation_failed");
        assert!(
            answer["error_description"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{answer}"
        );
    }
    let (status, _) = post(
        &env,
        "/api/v1/auth/authorize",
        json!({ "codeChallenge": pkce().1, "plain": true }),
    )
    .await;
    assert!(status.is_client_error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_rotates_and_a_reused_token_ends_the_whole_family() {
    let env = start(None).await;
    let first = signed_in(&env).await;
    let old = first["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let (status, renewed) =
        post(&env, "/api/v1/auth/refresh", json!({ "refreshToken": old })).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let new = renewed["refreshToken"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(new, old, "rotated");
    assert!(
        renewed["accessToken"]
            .as_str()
            .is_some_and(|t| t != first["accessToken"])
    );
    // The spent token again: Auth0 answers invalid_grant and revokes the family...
    let (status, body) = post(&env, "/api/v1/auth/refresh", json!({ "refreshToken": old })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // ...so the newer one stops working too.
    let (status, body) = post(&env, "/api/v1/auth/refresh", json!({ "refreshToken": new })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // A token PyMD never issued is refused without asking the IdP.
    let (status, body) = post(
        &env,
        "/api/v1/auth/refresh",
        json!({ "refreshToken": "made-up" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_beyond_the_users_hourly_limit_are_429_with_retry_after() {
    let env = start(Some(2)).await;
    let mut token = signed_in(&env).await["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    for _ in 0..2 {
        let (status, renewed) = post(
            &env,
            "/api/v1/auth/refresh",
            json!({ "refreshToken": token }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{renewed}");
        token = renewed["refreshToken"]
            .as_str()
            .expect("rotated")
            .to_owned();
    }
    let r = client()
        .post(format!("{}/api/v1/auth/refresh", env.app))
        .json(&json!({ "refreshToken": token }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["error"], "rate_limited");
    let limited = env
        .store
        .list_audit(&AuditFilter {
            event: Some("rate_limited".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert!(
        limited.iter().any(|e| e.event.detail["limit"] == "refresh"),
        "{limited:?}"
    );
    let metrics = client()
        .get(format!("{}/metrics", env.app))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pymd_rate_limited_total{limit=\"refresh\"}")),
        "pymd_rate_limited_total{{limit=\"refresh\"}} in /metrics"
    );
}

async fn post_to(base: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r = client()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_postgres_and_redis_share_grants_and_the_refresh_limit() {
    let Some((admin, database, redis)) = crate::web::harness::postgres_and_redis().await else {
        return;
    };
    let mut web = None;
    let env = Env::start_with(|state| web = state.web_client.clone()).await;
    let web = web.expect("the web client");
    let prefix = format!("pymd-test:{}:", uuid::Uuid::new_v4().simple());
    let vars = [
        ("DATABASE_URL", database.clone()),
        ("REDIS_URL", redis),
        ("PYMD_REDIS_KEY_PREFIX", prefix),
        ("PYMD_REFRESH_RATE_LIMIT_PER_HOUR", "3".to_owned()),
        ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "1000".to_owned()),
    ];
    let one = crate::web::harness::another_instance(&env, &web, &vars).await;
    let two = crate::web::harness::another_instance(&env, &web, &vars).await;

    // Started on one instance, finished on the other: the transaction is in the shared database.
    let (verifier, challenge) = pkce();
    let (status, started) = post_to(
        &one,
        "/api/v1/auth/authorize",
        json!({ "codeChallenge": challenge }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let url = started["authorizeUrl"].as_str().expect("authorizeUrl");
    let back = query(
        &Browser::new()
            .authorize_until_callback(&env, url, ALICE)
            .await,
    );
    let (status, tokens) = post_to(
        &two,
        "/api/v1/auth/callback",
        json!({ "code": back["code"], "state": back["state"], "codeVerifier": verifier }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // Three refreshes in the hour, counted together whichever instance serves them.
    let mut token = tokens["refreshToken"].as_str().expect("refresh").to_owned();
    for base in [&one, &two, &one] {
        let (status, renewed) = post_to(
            base,
            "/api/v1/auth/refresh",
            json!({ "refreshToken": token }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{renewed}");
        token = renewed["refreshToken"]
            .as_str()
            .expect("rotated")
            .to_owned();
    }
    for base in [&two, &one] {
        let (status, body) = post_to(
            base,
            "/api/v1/auth/refresh",
            json!({ "refreshToken": token }),
        )
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["error"], "rate_limited");
    }
    crate::web::harness::drop_postgres(&admin, &database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_at_the_idp_ends_the_spas_grant_through_the_back_channel() {
    let mut web = None;
    let env = Env::start_with(|state| {
        web = state.web_client.clone();
        let mut config = (*state.config).clone();
        config.limits.auth_per_minute = 1000;
        state.config = Arc::new(config);
    })
    .await;
    let client_id = web.expect("the web client").0.clone();
    let (verifier, challenge) = pkce();
    let (status, started) = post(
        &env,
        "/api/v1/auth/authorize",
        json!({ "codeChallenge": challenge }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    // This browser keeps its session at the tenant, to log out of it.
    let mut b = Browser::new();
    let url = started["authorizeUrl"].as_str().expect("authorizeUrl");
    let back = query(&b.authorize_until_callback(&env, url, ALICE).await);
    let (status, tokens) = post(
        &env,
        "/api/v1/auth/callback",
        json!({ "code": back["code"], "state": back["state"], "codeVerifier": verifier }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let return_to: String = url::form_urlencoded::byte_serialize(env.app.as_bytes()).collect();
    let out = b
        .get(&format!(
            "{}v2/logout?client_id={client_id}&returnTo={return_to}",
            env.tenant
        ))
        .await;
    assert_eq!(out.status, StatusCode::FOUND, "{}", out.body);
    // The tenant posts its logout token off the request path: wait (bounded) for PyMD's audit.
    let started_at = std::time::Instant::now();
    loop {
        let seen = env
            .store
            .list_audit(&AuditFilter {
                event: Some("backchannel_logout".into()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .expect("audit");
        if seen.iter().any(|e| e.event.outcome == "success") {
            break;
        }
        assert!(
            started_at.elapsed() < std::time::Duration::from_secs(10),
            "no back-channel logout arrived: {seen:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, body) = post(
        &env,
        "/api/v1/auth/refresh",
        json!({ "refreshToken": tokens["refreshToken"] }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_for_another_nonce_is_refused_and_records_nothing() {
    let env = start(None).await;
    let (verifier, challenge) = pkce();
    let (status, started) = post(
        &env,
        "/api/v1/auth/authorize",
        json!({ "codeChallenge": challenge }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    // The authorize request is altered on its way: the IdP issues the ID token for another nonce
    // while state and the PKCE pair still match.
    let url = crate::web::harness::with_param(
        started["authorizeUrl"].as_str().expect("authorizeUrl"),
        "nonce",
        "planted-nonce-0123456789abcdef",
    );
    let back = query(
        &Browser::new()
            .authorize_until_callback(&env, &url, ALICE)
            .await,
    );
    let (status, body) = post(
        &env,
        "/api/v1/auth/callback",
        json!({ "code": back["code"], "state": back["state"], "codeVerifier": verifier }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(body.get("accessToken").is_none());
    assert_eq!(logins(&env).await, 0, "no sign-in recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_routes_are_in_the_openapi_document_with_their_refusals() {
    let env = start(None).await;
    let doc: Value = client()
        .get(format!("{}/api/openapi.json", env.app))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("JSON");
    for path in ["authorize", "callback", "refresh"] {
        let op = &doc["paths"][format!("/api/v1/auth/{path}")]["post"];
        assert!(op.is_object(), "{path} is documented");
        for status in ["200", "415", "422", "429"] {
            assert!(op["responses"][status].is_object(), "{path} lists {status}");
        }
    }
    // The deployment's registered redirect URI is listed as the only value (or none).
    assert_eq!(
        doc["components"]["schemas"]["AuthorizeInput"]["properties"]["redirectUri"]["enum"],
        json!([format!("{}/spa/callback", env.app), null])
    );
}
