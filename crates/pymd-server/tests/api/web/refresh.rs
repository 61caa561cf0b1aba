//! Access-token refresh of web sessions (spec §5, §10 last row; security anchors #122–#124, #182):
//! one refresh at the IdP per session under concurrent requests, also across two app instances on
//! one database; the rotated refresh token is kept (a second refresh works and the IdP never sees
//! a reuse); a refused refresh ends the session; an unreachable token endpoint keeps it; a lease
//! left by a crashed instance does not block. The token is made "about to expire" by rewriting the
//! app's view of its expiry in the session row (through the store), never by waiting.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pymd_server::IdpWiring;
use pymd_server::config::Config;
use pymd_server::state::AppState;
use pymd_storage::{AuditFilter, Session, SessionRefresh, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::Duration;
use url::Url;

use crate::web::harness::{ALICE, Browser, Env, client, web_state};

fn hash_of(cookie: &str) -> Vec<u8> {
    Sha256::digest(URL_SAFE_NO_PAD.decode(cookie).expect("base64url id")).to_vec()
}

async fn row(env_store: &Arc<dyn Store>, hash: &[u8]) -> Option<Session> {
    env_store.find_session(hash).await.expect("find_session")
}

/// Sets the app's view of when the session's access token expires (the tokens stay as they are).
async fn set_token_expiry(store: &Arc<dyn Store>, hash: &[u8], at: time::OffsetDateTime) {
    let current = row(store, hash).await.expect("the session exists");
    let same_tokens = SessionRefresh {
        access_token: current.access_token.clone(),
        refresh_token: None,
        id_token: None,
        access_token_expires_at: at,
    };
    assert!(
        store
            .complete_session_refresh(hash, &same_tokens, current.access_token_expires_at)
            .await
            .expect("rewrite the expiry"),
        "the expiry was rewritten"
    );
}

/// A logged-in browser's session cookie and its hash.
async fn signed_in(env: &Env) -> (Browser, String, Vec<u8>) {
    let mut b = Browser::new();
    let done = b.login(env, "/auth/login", ALICE).await;
    assert_eq!(done.status, StatusCode::FOUND, "login: {}", done.body);
    let cookie = b.cookie("pymd_session").expect("session cookie");
    let hash = hash_of(&cookie);
    let s = row(&env.store, &hash).await.expect("the session row");
    assert!(
        s.refresh_token.is_some(),
        "offline_access gave a refresh token"
    );
    assert!(
        s.access_token_expires_at > pymd_domain::now() + Duration::minutes(30),
        "a fresh login's token is far from expiry"
    );
    (b, cookie, hash)
}

async fn list_documents(base: &str, cookie: &str) -> (StatusCode, Value) {
    let r = client()
        .get(format!("{base}/api/v1/documents"))
        .header("cookie", format!("pymd_session={cookie}"))
        .send()
        .await
        .expect("send");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn count(env: &Env, kind: &str) -> usize {
    env.tenant_log_types()
        .await
        .iter()
        .filter(|t| *t == kind)
        .count()
}

async fn audit(env: &Env, event: &str) -> Vec<(String, Value)> {
    env.store
        .list_audit(&AuditFilter {
            event: Some(event.to_owned()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("list_audit")
        .into_iter()
        .map(|e| (e.event.outcome, e.event.detail))
        .collect()
}

/// `n` concurrent `GET /api/v1/documents`, spread over `bases`; every status.
async fn concurrent_lists(bases: &[String], cookie: &str, n: usize) -> Vec<StatusCode> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let base = bases[i % bases.len()].clone();
        let cookie = cookie.to_owned();
        tasks.push(tokio::spawn(async move {
            list_documents(&base, &cookie).await.0
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_requests_on_an_expiring_session_refresh_once_and_keep_the_new_token() {
    let env = Env::start().await;
    let (_b, cookie, hash) = signed_in(&env).await;
    let before = row(&env.store, &hash).await.expect("row");
    set_token_expiry(
        &env.store,
        &hash,
        pymd_domain::now() + Duration::seconds(30),
    )
    .await;

    let statuses = concurrent_lists(std::slice::from_ref(&env.app), &cookie, 20).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "every request succeeds: {statuses:?}"
    );
    assert_eq!(
        count(&env, "sertft").await,
        1,
        "exactly one refresh at the IdP"
    );
    assert_eq!(count(&env, "ferrt").await, 0, "no refresh-token reuse");

    let after = row(&env.store, &hash).await.expect("the session is kept");
    assert_ne!(
        after.access_token, before.access_token,
        "a new access token"
    );
    assert_ne!(
        after.refresh_token, before.refresh_token,
        "the rotated refresh token is stored"
    );
    assert!(after.access_token_expires_at > pymd_domain::now() + Duration::minutes(30));
    assert_eq!(after.refresh_lock_until, None, "the lease is released");
    let successes = audit(&env, "refresh_success").await;
    assert_eq!(successes.len(), 1, "{successes:?}");

    // A fresh token is not refreshed again.
    assert_eq!(list_documents(&env.app, &cookie).await.0, StatusCode::OK);
    assert_eq!(count(&env, "sertft").await, 1);

    // The stored (rotated) refresh token works: a second cycle refreshes once more, no reuse.
    set_token_expiry(&env.store, &hash, pymd_domain::now() + Duration::seconds(5)).await;
    let statuses = concurrent_lists(std::slice::from_ref(&env.app), &cookie, 10).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(count(&env, "sertft").await, 2);
    assert_eq!(count(&env, "ferrt").await, 0);

    // The metric is exported.
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
            .any(|l| l.starts_with("pymd_token_refresh_total{") && l.contains("result=\"success\"")),
        "pymd_token_refresh_total{{result=\"success\"}} in /metrics"
    );
}

/// A second app instance on the same SQLite file as `env`'s, with its own pool, verifier and HTTP
/// client. Returns its base URL and a sender that stops it.
async fn second_instance(
    env: &Env,
    state: &AppState,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let data_dir = env.db_path.parent().expect("data dir").to_path_buf();
    let vars: std::collections::HashMap<String, String> = [
        ("AUTH0_BASE_URL", env.app.clone()),
        ("AUTH0_ISSUER_BASE_URL", env.tenant.clone()),
        (
            "DATABASE_URL",
            format!("sqlite://{}", env.db_path.display()),
        ),
        ("PYMD_DATA_DIR", data_dir.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = Config::from_vars(&vars).expect("config");
    let web = state.web_client.as_ref().expect("web client");
    let wiring = IdpWiring {
        issuer_base_url: Url::parse(&env.tenant).expect("issuer"),
        m2m: None,
        web: Some((web.0.clone(), web.1.clone())),
    };
    let second = web_state(config, wiring).await;
    assert!(
        !Arc::ptr_eq(&second.store, &state.store),
        "the instances share only the database"
    );
    let router = pymd_server::build_app(second);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = pymd_server::serve(listener, router, async move {
            let _ = rx.await;
        })
        .await;
    });
    (base, tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database_refresh_a_session_once() {
    let captured: Arc<Mutex<Option<AppState>>> = Arc::new(Mutex::new(None));
    let keep = captured.clone();
    let env = Env::start_with(move |s| {
        *keep.lock().expect("lock") = Some(s.clone());
    })
    .await;
    let first_state = captured.lock().expect("lock").clone().expect("state");
    let (second, _stop) = second_instance(&env, &first_state).await;
    let (_b, cookie, hash) = signed_in(&env).await;
    // The second instance knows the session too.
    assert_eq!(list_documents(&second, &cookie).await.0, StatusCode::OK);
    let before = row(&env.store, &hash).await.expect("row");

    set_token_expiry(
        &env.store,
        &hash,
        pymd_domain::now() + Duration::seconds(20),
    )
    .await;
    let statuses = concurrent_lists(&[env.app.clone(), second.clone()], &cookie, 20).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(
        count(&env, "sertft").await,
        1,
        "one refresh across both instances"
    );
    assert_eq!(count(&env, "ferrt").await, 0);
    let after = row(&env.store, &hash).await.expect("row");
    assert_ne!(after.refresh_token, before.refresh_token);

    // And again, with the rotated token, the other way round.
    set_token_expiry(
        &env.store,
        &hash,
        pymd_domain::now() + Duration::seconds(20),
    )
    .await;
    let statuses = concurrent_lists(&[second.clone(), env.app.clone()], &cookie, 20).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(count(&env, "sertft").await, 2);
    assert_eq!(count(&env, "ferrt").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_refresh_ends_the_session_api_401_and_pages_go_to_login() {
    let env = Env::start().await;
    let (_a, api_cookie, api_hash) = signed_in(&env).await;
    let (mut page_browser, _, page_hash) = signed_in(&env).await;
    let subject = row(&env.store, &api_hash).await.expect("row").subject;
    let user_id: String = url::form_urlencoded::byte_serialize(subject.as_bytes()).collect();
    let r = client()
        .post(format!(
            "{}__dev/users/{user_id}/revoke-refresh-tokens",
            env.tenant
        ))
        .send()
        .await
        .expect("revoke");
    assert!(r.status().is_success(), "{}", r.status());
    let v: Value = r.json().await.expect("JSON");
    assert!(v["revoked_families"].as_u64().unwrap_or(0) >= 2, "{v}");

    // Not yet due: the revoked refresh token is not even tried.
    assert_eq!(
        list_documents(&env.app, &api_cookie).await.0,
        StatusCode::OK
    );

    let soon = pymd_domain::now() + Duration::seconds(30);
    set_token_expiry(&env.store, &api_hash, soon).await;
    set_token_expiry(&env.store, &page_hash, soon).await;

    let (status, body) = list_documents(&env.app, &api_cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        row(&env.store, &api_hash).await.is_none(),
        "the session row is gone"
    );
    // Later calls stay signed out.
    assert_eq!(
        list_documents(&env.app, &api_cookie).await.0,
        StatusCode::UNAUTHORIZED
    );

    let p = page_browser.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
    assert_eq!(
        p.location.as_deref(),
        Some(format!("{}/auth/login?returnTo=%2Fdashboard", env.app).as_str())
    );
    assert!(row(&env.store, &page_hash).await.is_none());

    assert_eq!(count(&env, "sertft").await, 0);
    let failures = audit(&env, "refresh_failure").await;
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures
            .iter()
            .all(|(outcome, d)| outcome == "failure" && d["session_ended"] == json!(true)),
        "{failures:?}"
    );
    // Logging in again works.
    let (_c, fresh_cookie, _) = signed_in(&env).await;
    assert_eq!(
        list_documents(&env.app, &fresh_cookie).await.0,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_token_endpoint_keeps_the_session_and_uses_a_still_valid_token() {
    // 503: down; 429 (rate limited) and 408 are "not now" too, never a refusal that signs out.
    for status in [503, 429, 408] {
        a_token_endpoint_answering_keeps_the_session(status).await;
    }
}

async fn a_token_endpoint_answering_keeps_the_session(fault_status: u16) {
    let env = Env::start().await;
    let (_b, cookie, hash) = signed_in(&env).await;
    let before = row(&env.store, &hash).await.expect("row");
    env.fault(json!({"token": {"status": fault_status}})).await;
    set_token_expiry(
        &env.store,
        &hash,
        pymd_domain::now() + Duration::seconds(40),
    )
    .await;

    let (status, body) = list_documents(&env.app, &cookie).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{fault_status}: the still-valid token is used: {body}"
    );
    let kept = row(&env.store, &hash).await.expect("the session is kept");
    assert_eq!(kept.access_token, before.access_token);
    assert_eq!(kept.refresh_token, before.refresh_token);
    assert_eq!(kept.refresh_lock_until, None, "the lease is released");
    let failures = audit(&env, "refresh_failure").await;
    assert!(
        failures
            .iter()
            .any(|(o, d)| o == "error" && d["session_ended"] == json!(false)),
        "{failures:?}"
    );

    // The IdP is back: the next request refreshes.
    let r = client()
        .delete(format!("{}__dev/faults", env.tenant))
        .send()
        .await
        .expect("clear faults");
    assert!(r.status().is_success());
    assert_eq!(list_documents(&env.app, &cookie).await.0, StatusCode::OK);
    assert_eq!(count(&env, "sertft").await, 1);
    let after = row(&env.store, &hash).await.expect("row");
    assert_ne!(after.refresh_token, before.refresh_token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_token_endpoint_with_an_expired_token_is_503_and_keeps_the_session() {
    let env = Env::start().await;
    let (mut b, cookie, hash) = signed_in(&env).await;
    let before = row(&env.store, &hash).await.expect("row");
    env.fault(json!({"token": {"status": 503}})).await;
    set_token_expiry(
        &env.store,
        &hash,
        pymd_domain::now() - Duration::seconds(10),
    )
    .await;

    let (status, body) = list_documents(&env.app, &cookie).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "upstream_unavailable", "{body}");
    let p = b.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{}", p.body);
    assert!(p.headers.contains_key("retry-after"));

    let kept = row(&env.store, &hash).await.expect("the session is kept");
    assert_eq!(kept.refresh_token, before.refresh_token);
    assert_eq!(kept.refresh_lock_until, None);
    assert_eq!(count(&env, "sertft").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_left_by_a_crashed_instance_does_not_block_the_next_refresh() {
    let env = Env::start().await;
    let (_b, cookie, hash) = signed_in(&env).await;
    let now = pymd_domain::now();
    set_token_expiry(&env.store, &hash, now + Duration::seconds(30)).await;
    // A lease that already ran out (its holder died long ago).
    assert!(
        env.store
            .try_lock_session_refresh(&hash, Duration::seconds(-50))
            .await
            .expect("plant a stale lease")
            .is_some()
    );
    let started = Instant::now();
    let statuses = concurrent_lists(std::slice::from_ref(&env.app), &cookie, 5).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "no waiting on a stale lease: {:?}",
        started.elapsed()
    );
    assert_eq!(count(&env, "sertft").await, 1);

    // A lease still running when its holder dies: the request waits for it to run out (1 s
    // here), then refreshes itself.
    let now = pymd_domain::now();
    set_token_expiry(&env.store, &hash, now + Duration::seconds(30)).await;
    assert!(
        env.store
            .try_lock_session_refresh(&hash, Duration::seconds(1))
            .await
            .expect("plant a live lease")
            .is_some()
    );
    let statuses = concurrent_lists(std::slice::from_ref(&env.app), &cookie, 5).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(count(&env, "sertft").await, 2);
    assert_eq!(count(&env, "ferrt").await, 0);
    assert_eq!(
        row(&env.store, &hash)
            .await
            .expect("row")
            .refresh_lock_until,
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_whose_request_is_dropped_still_stores_the_rotated_token() {
    let env = Env::start().await;
    let (_b, cookie, hash) = signed_in(&env).await;
    let before = row(&env.store, &hash).await.expect("row");
    set_token_expiry(
        &env.store,
        &hash,
        pymd_domain::now() + Duration::seconds(30),
    )
    .await;
    // The IdP answers slowly; the client gives up long before (the request future is dropped).
    env.fault(json!({"token": {"delay_ms": 800}})).await;
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(150))
        .build()
        .expect("client");
    let dropped = impatient
        .get(format!("{}/api/v1/documents", env.app))
        .header("cookie", format!("pymd_session={cookie}"))
        .send()
        .await;
    assert!(dropped.is_err(), "the client gave up: {dropped:?}");
    // The exchange finishes anyway and its tokens are stored.
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    let after = loop {
        let r = row(&env.store, &hash).await.expect("the session is kept");
        if r.access_token != before.access_token {
            break r;
        }
        assert!(Instant::now() < deadline, "the refresh was not stored");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_ne!(
        after.refresh_token, before.refresh_token,
        "the rotated token is kept"
    );
    env.fault(json!({})).await;
    // The next refresh presents the new refresh token: no reuse, no family revocation.
    set_token_expiry(&env.store, &hash, pymd_domain::now() + Duration::seconds(5)).await;
    assert_eq!(list_documents(&env.app, &cookie).await.0, StatusCode::OK);
    assert_eq!(count(&env, "sertft").await, 2);
    assert_eq!(
        count(&env, "ferrt").await,
        0,
        "the spent token was never replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_users_refreshes_beyond_the_hourly_limit_are_429_until_the_token_expires_then_refused() {
    let env = Env::start_with(|state| {
        let mut config = (*state.config).clone();
        config.limits.refresh_per_hour = 2;
        state.config = Arc::new(config);
    })
    .await;
    let (_b, cookie, hash) = signed_in(&env).await;
    // Two refreshes are allowed in the hour.
    for n in 1..=2 {
        set_token_expiry(
            &env.store,
            &hash,
            pymd_domain::now() + Duration::seconds(30),
        )
        .await;
        assert_eq!(list_documents(&env.app, &cookie).await.0, StatusCode::OK);
        assert_eq!(count(&env, "sertft").await, n);
    }
    // The third is not made: while the token is still valid the request is served with it...
    set_token_expiry(
        &env.store,
        &hash,
        pymd_domain::now() + Duration::seconds(30),
    )
    .await;
    let before = row(&env.store, &hash).await.expect("row");
    assert_eq!(list_documents(&env.app, &cookie).await.0, StatusCode::OK);
    assert_eq!(count(&env, "sertft").await, 2, "no third exchange");
    // ...and once it has expired, the answer is 429 with Retry-After; the session stays.
    set_token_expiry(&env.store, &hash, pymd_domain::now() - Duration::seconds(1)).await;
    let r = client()
        .get(format!("{}/api/v1/documents", env.app))
        .header("cookie", format!("pymd_session={cookie}"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=3600).contains(&retry), "{retry}");
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["error"], "rate_limited", "{body}");
    assert_eq!(count(&env, "sertft").await, 2);
    let after = row(&env.store, &hash).await.expect("the session is kept");
    assert_eq!(after.refresh_token, before.refresh_token);
    assert_eq!(after.refresh_lock_until, None, "the lease was released");
    let limited = audit(&env, "rate_limited").await;
    assert!(
        limited.iter().any(|(_, d)| d["limit"] == "refresh"),
        "{limited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_lives_as_long_as_the_configured_timeouts_say() {
    let env = Env::start_with(|state| {
        let mut config = (*state.config).clone();
        config.sessions.idle_timeout = std::time::Duration::from_secs(600);
        config.sessions.absolute_timeout = std::time::Duration::from_secs(3600);
        state.config = Arc::new(config);
    })
    .await;
    let (_b, _cookie, hash) = signed_in(&env).await;
    let s = row(&env.store, &hash).await.expect("row");
    assert_eq!(s.idle_timeout_secs, 600);
    assert_eq!(s.expires_at - s.created_at, Duration::seconds(3600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_revokes_the_sessions_refresh_token_at_the_idp() {
    let (mut secret, mut web) = (None, None);
    let env = Env::start_with(|state| {
        secret = Some(state.cookie_secret.clone());
        web = state.web_client.clone();
    })
    .await;
    let secret = secret.expect("the cookie secret");
    let web = web.expect("the web client");
    let (client_id, client_secret) = (&web.0, &web.1);
    let (mut b, _cookie, hash) = signed_in(&env).await;
    let sealed = row(&env.store, &hash)
        .await
        .and_then(|s| s.refresh_token)
        .expect("a refresh token");
    let sealer = pymd_server::web::crypto::TokenSealer::new(&secret).expect("sealer");
    let refresh_token =
        String::from_utf8(sealer.open(&hash, &sealed).expect("open")).expect("UTF-8");
    let out = b.click(&format!("{}/auth/logout", env.app)).await;
    assert_eq!(out.status, StatusCode::FOUND, "{}", out.body);
    assert!(row(&env.store, &hash).await.is_none());
    // Best effort and off the logout's path: wait (bounded) for its audit row, then the IdP
    // must refuse the token.
    let started = Instant::now();
    while audit(&env, "token_revocation").await.is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "no revocation within 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(audit(&env, "token_revocation").await[0].0, "success");
    let r = client()
        .post(format!("{}oauth/token", env.tenant))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id.as_str()),
            (
                "client_secret",
                secrecy::ExposeSecret::expose_secret(client_secret),
            ),
            ("refresh_token", refresh_token.as_str()),
        ])
        .send()
        .await
        .expect("token endpoint");
    assert!(r.status().is_client_error(), "{}", r.status());
    let v: Value = r.json().await.expect("JSON");
    assert_eq!(
        v["error"], "invalid_grant",
        "the revoked token is refused: {v}"
    );
}
