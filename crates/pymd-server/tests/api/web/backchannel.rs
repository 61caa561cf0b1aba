//! OpenID Connect Back-Channel Logout at `POST /auth/backchannel-logout`: a valid logout token
//! ends the sessions it names (by `sid`, by `sid` + `sub`, or all of a `sub`), and every hostile
//! token or request is 400 and ends nothing. Tokens are signed by an in-test issuer
//! (`TestIssuer`), whose keys the app trusts; the sessions are rows put in the store directly.
//! Further down: the end-to-end path (a logout at the dev tenant ends that browser's PyMD session)
//! and two instances on one database with the `jti` store in Redis (skipped, saying so, without
//! `PYMD_TEST_REDIS_URL`).

use std::sync::{Arc, Mutex};

use pymd_storage::{AuditFilter, NewSession, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use crate::support::{SpawnOptions, TestApp};
use crate::web::harness::{ALICE, Browser, Env, client};

const CLIENT_ID: &str = "bcl-web-client";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

async fn app() -> TestApp {
    TestApp::spawn_with(SpawnOptions {
        vars: vec![
            ("AUTH0_CLIENT_ID", CLIENT_ID.to_owned()),
            ("AUTH0_CLIENT_SECRET", "bcl-web-client-secret".to_owned()),
        ],
        ..SpawnOptions::default()
    })
    .await
}

fn unix_now() -> i64 {
    pymd_auth::testkit::unix_now()
}

fn jti() -> String {
    format!("jti-{}", uuid::Uuid::new_v4().simple())
}

/// A valid logout token's claims for `sub` in IdP session `sid`.
fn claims(app: &TestApp, sub: &str, sid: &str) -> Value {
    let now = unix_now();
    json!({
        "iss": app.issuer.issuer(), "aud": CLIENT_ID, "sub": sub, "sid": sid,
        "iat": now, "exp": now + 120, "jti": jti(),
        "events": { EVENT: {} }
    })
}

fn header(app: &TestApp) -> Value {
    json!({"alg": "RS256", "typ": "logout+jwt", "kid": app.issuer.current_kid()})
}

fn edit(mut v: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    if let Value::Object(m) = &mut v {
        f(m);
    }
    v
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn session_row(store: &dyn Store, tag: u8, sub: &str, sid: Option<&str>) -> Vec<u8> {
    let user = store.ensure_user(sub).await.expect("user");
    let now = pymd_domain::now();
    let mut id_hash = vec![0x5A; 32];
    id_hash[0] = tag;
    store
        .create_session(&NewSession {
            id_hash: id_hash.clone(),
            user_id: user.id,
            subject: sub.to_owned(),
            idp_sid: sid.map(str::to_owned),
            access_token: vec![1],
            refresh_token: None,
            id_token: None,
            access_token_expires_at: now + Duration::hours(1),
            created_at: now,
            idle_timeout_secs: 3600,
            expires_at: now + Duration::days(1),
        })
        .await
        .expect("create session");
    id_hash
}

async fn alive(store: &dyn Store, id_hash: &[u8]) -> bool {
    store.find_session(id_hash).await.expect("find").is_some()
}

async fn post_token(app: &TestApp, token: &str) -> crate::support::Resp {
    post_body(
        app,
        "application/x-www-form-urlencoded",
        format!("logout_token={token}").into_bytes(),
    )
    .await
}

async fn post_body(app: &TestApp, content_type: &str, body: Vec<u8>) -> crate::support::Resp {
    crate::support::send(
        app.client
            .post(app.url("/auth/backchannel-logout"))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_logout_token_ends_the_sessions_of_its_sid_only() {
    let app = app().await;
    let store = app.state.store.clone();
    let a1 = session_row(&*store, 1, "auth0|bcl-alice", Some("sid-A")).await;
    let a2 = session_row(&*store, 2, "auth0|bcl-alice", Some("sid-A")).await;
    let b = session_row(&*store, 3, "auth0|bcl-alice", Some("sid-B")).await;
    let bob = session_row(&*store, 4, "auth0|bcl-bob", Some("sid-C")).await;

    let token = app
        .issuer
        .sign(header(&app), claims(&app, "auth0|bcl-alice", "sid-A"));
    let r = post_token(&app, &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert!(!alive(&*store, &a1).await && !alive(&*store, &a2).await);
    assert!(
        alive(&*store, &b).await,
        "another IdP session of the user stays"
    );
    assert!(alive(&*store, &bob).await);

    // Without `typ` and with only `sub`: every session of that user ends.
    let token = app.issuer.sign(
        json!({"alg": "RS256", "kid": app.issuer.current_kid()}),
        edit(claims(&app, "auth0|bcl-alice", "x"), |m| {
            m.remove("sid");
        }),
    );
    let r = post_token(&app, &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!alive(&*store, &b).await);
    assert!(alive(&*store, &bob).await);

    let events = store
        .list_audit(&AuditFilter {
            event: Some("backchannel_logout".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    let ended: Vec<(String, i64)> = events
        .iter()
        .map(|e| {
            (
                e.event.outcome.clone(),
                e.event.detail["sessions_ended"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        ended,
        vec![("success".to_owned(), 1), ("success".to_owned(), 2)],
        "newest first"
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pymd_backchannel_logout_total{result=\"success\"}")),
        "the metric is exported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_logout_tokens_are_each_refused_with_400_and_end_nothing() {
    let app = app().await;
    let store = app.state.store.clone();
    let sub = "auth0|bcl-victim";
    let sid = "sid-victim";
    let row = session_row(&*store, 9, sub, Some(sid)).await;
    let good = claims(&app, sub, sid);
    let hdr = header(&app);
    let kid = app.issuer.current_kid();
    let now = unix_now();
    let sign = |h: Value, c: Value| app.issuer.sign(h, c);
    let with_claims = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        sign(hdr.clone(), edit(good.clone(), |m| f(m)))
    };
    let with_header = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        sign(edit(hdr.clone(), |m| f(m)), good.clone())
    };
    let unsigned = |h: Value| {
        format!(
            "{}.{}.",
            b64(&serde_json::to_vec(&h).expect("json")),
            b64(&serde_json::to_vec(&good).expect("json"))
        )
    };
    let hs256 = {
        use aws_lc_rs::hmac;
        // The "secret" an attacker has: the issuer's public JWKS.
        let secret = serde_json::to_vec(&app.issuer.jwks()).expect("jwks");
        let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
        let input = format!(
            "{}.{}",
            b64(
                &serde_json::to_vec(&json!({"alg": "HS256", "typ": "logout+jwt", "kid": kid}))
                    .expect("json")
            ),
            b64(&serde_json::to_vec(&good).expect("json"))
        );
        let tag = hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", b64(tag.as_ref()))
    };
    // Another key (the next one of a rotation this issuer never made), under this issuer's kid.
    let stranger = pymd_auth::testkit::TestIssuer::start().await;
    stranger.rotate();
    let foreign_key = stranger.sign(hdr.clone(), good.clone());
    // A real signature over other claims, glued to these claims.
    let valid = sign(hdr.clone(), good.clone());
    let other = sign(hdr.clone(), claims(&app, "auth0|someone-else", sid));
    let mut parts: Vec<&str> = valid.split('.').collect();
    let other_sig = other.rsplit('.').next().unwrap_or_default().to_owned();
    parts[2] = &other_sig;
    let wrong_signature = parts.join(".");

    let cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            unsigned(json!({"alg": "none", "typ": "logout+jwt"})),
        ),
        (
            "alg RS512",
            with_header(&|m| {
                m.insert("alg".into(), json!("RS512"));
            }),
        ),
        ("HS256 with the public key", hs256),
        ("another key under the kid", foreign_key),
        ("a signature of other claims", wrong_signature),
        (
            "typ at+jwt",
            with_header(&|m| {
                m.insert("typ".into(), json!("at+jwt"));
            }),
        ),
        (
            "typ JWT",
            with_header(&|m| {
                m.insert("typ".into(), json!("JWT"));
            }),
        ),
        (
            "wrong iss",
            with_claims(&|m| {
                m.insert("iss".into(), json!("https://evil.example/"));
            }),
        ),
        (
            "wrong aud",
            with_claims(&|m| {
                m.insert("aud".into(), json!("another-client"));
            }),
        ),
        (
            "no events",
            with_claims(&|m| {
                m.remove("events");
            }),
        ),
        (
            "events without the member",
            with_claims(&|m| {
                m.insert(
                    "events".into(),
                    json!({"http://schemas.openid.net/event/other": {}}),
                );
            }),
        ),
        (
            "a nonce",
            with_claims(&|m| {
                m.insert("nonce".into(), json!("n-0S6_WzA2Mj"));
            }),
        ),
        (
            "neither sid nor sub",
            with_claims(&|m| {
                m.remove("sid");
                m.remove("sub");
            }),
        ),
        (
            "no jti",
            with_claims(&|m| {
                m.remove("jti");
            }),
        ),
        (
            "iat in the future",
            with_claims(&|m| {
                m.insert("iat".into(), json!(now + 3600));
            }),
        ),
        (
            "iat an hour old",
            with_claims(&|m| {
                m.insert("iat".into(), json!(now - 3600));
            }),
        ),
        (
            "no iat",
            with_claims(&|m| {
                m.remove("iat");
            }),
        ),
        (
            "expired",
            with_claims(&|m| {
                m.insert("exp".into(), json!(now - 600));
            }),
        ),
        (
            "an ID token",
            app.issuer.sign(
                json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
                json!({"iss": app.issuer.issuer(), "aud": CLIENT_ID, "sub": sub, "sid": sid,
                   "iat": now, "exp": now + 3600, "nonce": "n"}),
            ),
        ),
        (
            "an access token",
            app.issuer.token(sub, &["read:documents"]),
        ),
        ("garbage", "not-a-jwt".into()),
    ];
    for (name, token) in &cases {
        let r = post_token(&app, token).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        let body = r.json();
        assert_eq!(body["error"], "invalid_request", "{name}");
        assert!(body["error_description"].is_string(), "{name}");
        assert_eq!(
            r.headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{name}"
        );
        assert!(alive(&*store, &row).await, "{name} ended the session");
    }

    // Not a form, no token, two tokens, an oversized body.
    let token = sign(hdr.clone(), good.clone());
    let json_body = serde_json::to_vec(&json!({"logout_token": token})).expect("json");
    let bad_requests: Vec<(&str, &str, Vec<u8>)> = vec![
        ("JSON", "application/json", json_body),
        (
            "text",
            "text/plain",
            format!("logout_token={token}").into_bytes(),
        ),
        (
            "no token",
            "application/x-www-form-urlencoded",
            b"token=x".to_vec(),
        ),
        (
            "two tokens",
            "application/x-www-form-urlencoded",
            format!("logout_token={token}&logout_token={token}").into_bytes(),
        ),
        (
            "17 KiB",
            "application/x-www-form-urlencoded",
            format!("logout_token={token}&pad={}", "a".repeat(17 * 1024)).into_bytes(),
        ),
    ];
    for (name, ct, body) in bad_requests {
        let r = post_body(&app, ct, body).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        assert!(alive(&*store, &row).await, "{name} ended the session");
    }

    // The same token, sent properly, works once; its replay is refused.
    let r = post_token(&app, &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!alive(&*store, &row).await);
    let again = session_row(&*store, 10, sub, Some(sid)).await;
    let r = post_token(&app, &token).await;
    assert_eq!(r.status, 400, "a replayed jti");
    assert!(alive(&*store, &again).await, "a replay ends nothing");
    let refused = store
        .list_audit(&AuditFilter {
            event: Some("backchannel_logout".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(refused[0].event.outcome, "refused");
    assert_eq!(refused[0].event.detail["reason"], "replayed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_takes_no_cookie_or_origin_check_and_is_not_the_sign_in_rate_limit() {
    // The IdP posts cross-site with no Origin of ours and no CSRF token; a strict sign-in rate
    // limit must not apply to it either (PYMD_AUTH_RATE_LIMIT_PER_MINUTE=2).
    let app = TestApp::spawn_with(SpawnOptions {
        vars: vec![
            ("AUTH0_CLIENT_ID", CLIENT_ID.to_owned()),
            ("AUTH0_CLIENT_SECRET", "bcl-web-client-secret".to_owned()),
            ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "2".to_owned()),
        ],
        ..SpawnOptions::default()
    })
    .await;
    for i in 0..5 {
        let token = app.issuer.sign(
            header(&app),
            claims(&app, "auth0|bcl-many", &format!("sid-{i}")),
        );
        let r = app
            .client
            .post(app.url("/auth/backchannel-logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", "https://idp.example")
            .body(format!("logout_token={token}"))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::OK, "call {i}");
    }
    let r = app
        .client
        .get(app.url("/auth/backchannel-logout"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

// ---------------------------------------------------------------------------------------------
// Through the dev tenant, and across instances.

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn profile_status(app: &str, b: &Browser) -> u16 {
    let cookie = b.cookie("pymd_session").unwrap_or_default();
    client()
        .get(format!("{app}/auth/profile"))
        .header("cookie", format!("pymd_session={cookie}"))
        .send()
        .await
        .expect("profile")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_at_the_tenant_ends_that_browsers_pymd_session_and_not_the_others() {
    let captured: Arc<Mutex<Option<String>>> = Arc::default();
    let keep = captured.clone();
    let env = Env::start_with(move |s| {
        *keep.lock().expect("lock") = s.web_client.as_ref().map(|c| c.0.clone());
    })
    .await;
    let client_id = captured.lock().expect("lock").clone().expect("web client");
    let (mut one, mut two) = (Browser::new(), Browser::new());
    for b in [&mut one, &mut two] {
        let done = b.login(&env, "/auth/login", ALICE).await;
        assert_eq!(done.status, StatusCode::FOUND, "login: {}", done.body);
        assert_eq!(profile_status(&env.app, b).await, 200);
    }
    assert_eq!(env.active_sessions().await, 2);

    // Browser one logs out at the tenant directly (not through PyMD).
    let r = one
        .get(&format!(
            "{}v2/logout?client_id={client_id}&returnTo={}",
            env.tenant,
            enc(&env.app)
        ))
        .await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    // The delivery is asynchronous; its log event says it was answered 200.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !env
        .tenant_log_types()
        .await
        .iter()
        .any(|t| t == "oidc_backchannel_logout_succeeded")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery: {:?}",
            env.tenant_log_types().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(profile_status(&env.app, &one).await, 401);
    let page = one.get(&format!("{}/dashboard", env.app)).await;
    assert!(
        matches!(page.status, StatusCode::FOUND | StatusCode::SEE_OTHER),
        "{}",
        page.status
    );
    assert!(
        page.location
            .as_deref()
            .is_some_and(|l| l.contains("/auth/login")),
        "{:?}",
        page.location
    );
    // The other browser's IdP session is another sid: its PyMD session lives on.
    assert_eq!(profile_status(&env.app, &two).await, 200);
    assert_eq!(env.active_sessions().await, 1);
}

/// A third-party endpoint that only records what the tenant posts to it.
async fn recorder() -> (String, Arc<Mutex<Vec<String>>>) {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().fallback(move |body: String| {
        let keep = keep.clone();
        async move {
            keep.lock().expect("lock").push(body);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_a_logout_token_ends_a_session_made_elsewhere_and_its_replay_is_refused() {
    let Some((admin, database, redis)) = crate::web::harness::postgres_and_redis().await else {
        return;
    };
    let (recorder_url, got) = recorder().await;
    let captured: Arc<Mutex<Option<(String, secrecy::SecretString)>>> = Arc::default();
    let keep = captured.clone();
    let env = Env::start_full(
        move |o| {
            let yaml = pymd_tenant::DEFAULT_TENANT_YAML.replace(
                "\"##APP_BASE_URL##/auth/backchannel-logout\"",
                "\"##RECORDER##\"",
            );
            o.source = pymd_tenant::TenantSource::Yaml(yaml);
            o.keywords.insert("RECORDER".into(), recorder_url);
        },
        move |s| {
            *keep.lock().expect("lock") = s.web_client.as_ref().map(|c| (c.0.clone(), c.1.clone()));
        },
    )
    .await;
    let web = captured.lock().expect("lock").clone().expect("web client");
    let client_id = web.0.clone();
    // Two instances on one PostgreSQL database and one Redis.
    let vars = [("DATABASE_URL", database.clone()), ("REDIS_URL", redis)];
    let a = crate::web::harness::another_instance(&env, &web, &vars).await;
    let c = crate::web::harness::another_instance(&env, &web, &vars).await;

    // The session is made through instance A (the IdP sends the browser back to the public base
    // URL; a load balancer would hand the callback to A).
    let mut b = Browser::new();
    let start = b.get(&format!("{a}/auth/login")).await;
    let authorize = start.location.clone().expect("login redirects");
    let callback = b.authorize_until_callback(&env, &authorize, ALICE).await;
    let done = b.get(&callback.replacen(&env.app, &a, 1)).await;
    assert_eq!(done.status, StatusCode::FOUND, "login: {}", done.body);
    assert_eq!(profile_status(&c, &b).await, 200, "every instance knows it");
    let r = b
        .get(&format!(
            "{}v2/logout?client_id={client_id}&returnTo={}",
            env.tenant,
            enc(&env.app)
        ))
        .await;
    assert_eq!(r.status, StatusCode::FOUND);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let body = loop {
        if let Some(body) = got.lock().expect("lock").first().cloned() {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "no logout token");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };

    let post = |base: String, body: String| async move {
        client()
            .post(format!("{base}/auth/backchannel-logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("post")
            .status()
            .as_u16()
    };
    assert_eq!(
        post(a.clone(), body.clone()).await,
        200,
        "instance A takes it"
    );
    assert_eq!(profile_status(&c, &b).await, 401, "ended everywhere");
    assert_eq!(
        post(c.clone(), body.clone()).await,
        400,
        "the replay to C is refused"
    );
    assert_eq!(post(a, body).await, 400, "and to A");
    crate::web::harness::drop_postgres(&admin, &database).await;
}
