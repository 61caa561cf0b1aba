//! Spec §7 rate limits and blocks: `/auth/*` per client IP, failed logins (from the IdP's log
//! stream) blocking an IP, lifting a block as an admin, the trusted-proxy rule for the client
//! IP, and Redis: shared between instances when it answers, per-instance memory when it does not.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ALL, Resp, SpawnOptions, TestApp, send, sub};

async fn spawn(vars: Vec<(&'static str, String)>) -> TestApp {
    TestApp::spawn_with(SpawnOptions {
        vars,
        ..SpawnOptions::default()
    })
    .await
}

/// `GET path`, optionally as coming through a proxy for `forwarded_for`.
async fn get_from(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> Resp {
    let mut rb = app.request(Method::GET, path);
    if let Some(ip) = forwarded_for {
        rb = rb.header("x-forwarded-for", ip);
    }
    send(rb).await
}

/// The sign-in route the limits are probed with, and its alias (both count against one per-IP
/// budget). Without a web client configured it answers 503 when let through.
const PROBE: &str = "/auth/login?returnTo=/dashboard";
const PROBE_ALIAS: &str = "/api/auth/login?returnTo=/dashboard";
const ANSWERED: u16 = 503;

/// The refusal page of a rate-limited sign-in route: 429 with Retry-After.
fn assert_rate_limited(r: &Resp) {
    assert_eq!(r.status, 429, "{}", r.summary());
    assert!(
        r.header("content-type").starts_with("text/html"),
        "{}",
        r.summary()
    );
    let retry: u64 = r
        .header("retry-after")
        .parse()
        .expect("Retry-After seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
}

async fn audit_count(app: &TestApp, event: &str) -> usize {
    app.audit_events()
        .await
        .iter()
        .filter(|e| e.event.event == event)
        .count()
}

#[tokio::test]
async fn the_eleventh_auth_request_in_a_minute_from_one_ip_gets_429_with_retry_after() {
    let app = TestApp::spawn().await;
    // Ten requests (the route and its alias share the one per-IP count) are answered...
    for i in 0..10 {
        let path = if i % 2 == 0 { PROBE } else { PROBE_ALIAS };
        let r = get_from(&app, path, None).await;
        assert_eq!(r.status, ANSWERED, "request {}: {}", i + 1, r.summary());
    }
    // ...the eleventh is refused, with Retry-After, an audit event and a metric.
    assert_rate_limited(&get_from(&app, PROBE, None).await);
    assert_rate_limited(&get_from(&app, "/auth/callback?state=x", None).await);
    // Logging out and reading the session's profile never spend the sign-in budget.
    assert_eq!(get_from(&app, "/auth/profile", None).await.status, 401);
    assert_eq!(get_from(&app, "/api/auth/profile", None).await.status, 401);
    let out = get_from(&app, "/auth/logout", None).await;
    assert!(
        out.status < 400,
        "logout is never refused: {}",
        out.summary()
    );
    // A flood of refusals is one audit row per limit, IP and minute (the metric counts them all).
    for _ in 0..5 {
        assert_eq!(get_from(&app, PROBE, None).await.status, 429);
    }
    assert_eq!(audit_count(&app, "rate_limited").await, 1);
    let metrics = app.get("/metrics", None).await;
    assert!(
        metrics
            .text
            .lines()
            .any(|l| l.starts_with("pymd_rate_limited_total") && l.contains("limit=\"auth\"")),
        "pymd_rate_limited_total{{limit=\"auth\"}} missing"
    );
    // The API is not an /auth/* route: it keeps answering.
    let t = app.token(&sub("limits"), ALL);
    assert_eq!(app.get("/api/v1/documents", Some(&t)).await.status, 200);
}

#[tokio::test]
async fn the_auth_limit_is_configurable_and_cannot_be_switched_off() {
    let app = spawn(vec![("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "3".into())]).await;
    for _ in 0..3 {
        assert_eq!(get_from(&app, PROBE, None).await.status, ANSWERED);
    }
    assert_rate_limited(&get_from(&app, PROBE, None).await);

    let mut vars = std::collections::HashMap::new();
    vars.insert("PYMD_AUTH_RATE_LIMIT_PER_MINUTE".to_owned(), "0".to_owned());
    vars.insert("PYMD_FAILED_LOGINS_PER_HOUR".to_owned(), "many".to_owned());
    let err = pymd_server::config::Config::from_vars(&vars).expect_err("refused");
    assert!(err.names("PYMD_AUTH_RATE_LIMIT_PER_MINUTE"), "{err}");
    assert!(err.names("PYMD_FAILED_LOGINS_PER_HOUR"), "{err}");
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    // Not a trusted proxy: a client cannot dodge its limit by inventing X-Forwarded-For values.
    let direct = spawn(vec![("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "2".into())]).await;
    for i in 0..2 {
        let fake = format!("198.51.100.{i}");
        assert_eq!(get_from(&direct, PROBE, Some(&fake)).await.status, ANSWERED);
    }
    assert_rate_limited(&get_from(&direct, PROBE, Some("198.51.100.9")).await);

    // Behind a trusted proxy (the loopback peer), each forwarded client has its own count.
    let proxied = spawn(vec![
        ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "2".into()),
        ("PYMD_TRUSTED_PROXIES", "127.0.0.0/8".into()),
    ])
    .await;
    for _ in 0..2 {
        assert_eq!(
            get_from(&proxied, PROBE, Some("203.0.113.1")).await.status,
            ANSWERED
        );
    }
    assert_rate_limited(&get_from(&proxied, PROBE, Some("203.0.113.1")).await);
    assert_eq!(
        get_from(&proxied, PROBE, Some("203.0.113.2")).await.status,
        ANSWERED
    );
}

/// Posts Auth0 log events to the log-stream webhook.
async fn log_stream(app: &TestApp, events: Value) -> Resp {
    send(
        app.request(Method::POST, "/internal/auth0/log-stream")
            .bearer_auth(&app.internal_token)
            .json(&events),
    )
    .await
}

fn failed_login(email: &str, ip: &str) -> Value {
    json!({"log_id": sub("log"), "data": {
        "type": "fp", "user_name": email, "ip": ip, "description": "Wrong email or password.",
        "date": "2026-12-01T08:00:00.000Z"
    }})
}

#[tokio::test]
async fn five_failed_logins_for_one_email_block_that_ip_from_auth_until_an_admin_lifts_it() {
    let app = spawn(vec![
        ("PYMD_TRUSTED_PROXIES", "127.0.0.0/8".into()),
        ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "1000".into()),
    ])
    .await;
    let attacker = "203.0.113.66";
    // Four failures: not yet.
    let four: Vec<Value> = (0..4)
        .map(|_| failed_login("victim@example.com", attacker))
        .collect();
    assert_eq!(log_stream(&app, Value::Array(four)).await.status, 200);
    assert_eq!(get_from(&app, PROBE, Some(attacker)).await.status, ANSWERED);
    assert_eq!(audit_count(&app, "ip_blocked").await, 0);
    // Failures for other emails do not add up to this one's.
    let r = log_stream(
        &app,
        json!([failed_login("someone-else@example.com", attacker)]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(get_from(&app, PROBE, Some(attacker)).await.status, ANSWERED);

    // The fifth (emails compare case-insensitively) blocks the IP: 429 with the time left.
    let r = log_stream(&app, json!([failed_login("Victim@Example.com", attacker)])).await;
    assert_eq!(r.status, 200);
    let blocked = get_from(&app, PROBE, Some(attacker)).await;
    assert_eq!(blocked.status, 429, "{}", blocked.summary());
    let retry: u64 = blocked.header("retry-after").parse().expect("seconds");
    assert!(retry > 29 * 60 && retry <= 30 * 60, "Retry-After {retry}");
    let page = get_from(&app, "/auth/login", Some(attacker)).await;
    assert_eq!(page.status, 429);
    assert!(page.text.contains("paused"), "{}", page.text);
    // A blocked IP may still end its sessions.
    let out = get_from(&app, "/auth/logout", Some(attacker)).await;
    assert!(
        out.status < 400,
        "logout from a blocked IP: {}",
        out.summary()
    );
    assert_eq!(audit_count(&app, "ip_blocked").await, 1);
    // Other IPs are not affected.
    assert_eq!(
        get_from(&app, PROBE, Some("203.0.113.67")).await.status,
        ANSWERED
    );

    // Only an admin may lift it.
    let path = format!("/api/v1/admin/blocks/{attacker}");
    let user = app.token(&sub("not-admin"), ALL);
    app.delete(&path, Some(&user))
        .await
        .assert_error(403, "forbidden");
    assert_eq!(audit_count(&app, "admin_denied").await, 1);
    assert_eq!(
        get_from(&app, PROBE, Some(attacker)).await.status,
        429,
        "still blocked"
    );
    let admin = app.token_with(&sub("admin"), ALL, |c| {
        c.insert("https://pymd.io/roles".into(), json!(["admin"]));
    });
    app.delete("/api/v1/admin/blocks/not-an-ip", Some(&admin))
        .await
        .assert_validation("ip");
    app.delete("/api/v1/admin/blocks/192.0.2.1", Some(&admin))
        .await
        .assert_error(404, "not_found");
    let lifted = app.delete(&path, Some(&admin)).await;
    assert_eq!(lifted.status, 204, "{}", lifted.summary());
    assert_eq!(audit_count(&app, "ip_unblocked").await, 1);
    assert_eq!(get_from(&app, PROBE, Some(attacker)).await.status, ANSWERED);
}

#[tokio::test]
async fn with_redis_down_limits_fall_back_to_memory_and_requests_are_served() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let app = spawn(vec![
        ("REDIS_URL", format!("redis://127.0.0.1:{port}")),
        ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "3".into()),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(get_from(&app, PROBE, None).await.status, ANSWERED);
    }
    assert_rate_limited(&get_from(&app, PROBE, None).await);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "Redis down is degraded, not unready");
    assert_eq!(
        ready.json()["checks"]["rate_limits"],
        "memory (redis unavailable)"
    );
    let t = app.token(&sub("redis-down"), ALL);
    assert_eq!(app.get("/api/v1/documents", Some(&t)).await.status, 200);
}

#[tokio::test]
async fn two_instances_on_one_redis_share_the_auth_limit_and_the_blocks() {
    let Ok(url) = std::env::var("PYMD_TEST_REDIS_URL") else {
        eprintln!("skipped: PYMD_TEST_REDIS_URL is not set");
        return;
    };
    // A key prefix of this test's own, so runs never collide.
    let prefix = format!("pymd-test:{}:", uuid::Uuid::new_v4().simple());
    let vars = || {
        vec![
            ("REDIS_URL", url.clone()),
            ("PYMD_REDIS_KEY_PREFIX", prefix.clone()),
            ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "4".into()),
            ("PYMD_TRUSTED_PROXIES", "127.0.0.0/8".into()),
        ]
    };
    let one = spawn(vars()).await;
    let two = spawn(vars()).await;
    for app in [&one, &two, &one, &two] {
        assert_eq!(get_from(app, PROBE, None).await.status, ANSWERED);
    }
    assert_rate_limited(&get_from(&one, PROBE, None).await);
    assert_rate_limited(&get_from(&two, PROBE, None).await);
    assert_eq!(
        one.get("/readyz", None).await.json()["checks"]["rate_limits"],
        "redis"
    );

    // A block set through one instance's log stream holds on the other.
    let events: Vec<Value> = (0..5)
        .map(|_| failed_login("shared@example.com", "203.0.113.99"))
        .collect();
    assert_eq!(log_stream(&one, Value::Array(events)).await.status, 200);
    let blocked = get_from(&two, PROBE, Some("203.0.113.99")).await;
    assert_eq!(blocked.status, 429, "{}", blocked.summary());
    assert!(
        blocked.text.contains("paused"),
        "blocked, not just limited: {}",
        blocked.text
    );

    // What Redis holds: counters and blocks under the prefix, and no email address in any key.
    let client = redis::Client::open(url.as_str()).expect("redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    assert!(
        keys.iter().any(|k| k.contains("block:auth:203.0.113.99")),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.contains("failed_logins")), "{keys:?}");
    assert!(
        !keys.iter().any(|k| k.contains('@')),
        "an email in a Redis key: {keys:?}"
    );
}

#[tokio::test]
async fn a_redelivered_log_event_counts_once_and_a_block_is_raised_once() {
    let app = spawn(vec![
        ("PYMD_TRUSTED_PROXIES", "127.0.0.0/8".into()),
        ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "1000".into()),
    ])
    .await;
    let ip = "203.0.113.77";
    // Four failures, each delivered three times (log streams may re-send a batch): still four.
    let four: Vec<Value> = (0..4)
        .map(|_| failed_login("twice@example.com", ip))
        .collect();
    for _ in 0..3 {
        assert_eq!(
            log_stream(&app, Value::Array(four.clone())).await.status,
            200
        );
    }
    assert_eq!(
        get_from(&app, PROBE, Some(ip)).await.status,
        ANSWERED,
        "not blocked yet"
    );
    // The fifth blocks; later failures while blocked raise no further alert or audit row.
    for _ in 0..4 {
        let r = log_stream(&app, json!([failed_login("twice@example.com", ip)])).await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(get_from(&app, PROBE, Some(ip)).await.status, 429);
    assert_eq!(audit_count(&app, "ip_blocked").await, 1);
    // The email is not kept in clear in the counters' keys (they may live in Redis).
    let detail: Vec<String> = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.event.event == "ip_blocked")
        .map(|e| e.event.detail.to_string())
        .collect();
    assert!(
        detail.iter().all(|d| !d.contains("twice@example.com")),
        "{detail:?}"
    );
}

#[tokio::test]
async fn ipv6_clients_are_limited_by_their_64_and_mapped_ipv4_is_ipv4() {
    let app = spawn(vec![
        ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "2".into()),
        ("PYMD_TRUSTED_PROXIES", "127.0.0.0/8".into()),
    ])
    .await;
    // Three addresses of one /64 share one budget...
    for ip in ["2001:db8:1:2::1", "2001:db8:1:2::ffff"] {
        assert_eq!(
            get_from(&app, PROBE, Some(ip)).await.status,
            ANSWERED,
            "{ip}"
        );
    }
    assert_rate_limited(&get_from(&app, PROBE, Some("2001:db8:1:2:abcd::9")).await);
    // ...the next /64 has its own.
    assert_eq!(
        get_from(&app, PROBE, Some("2001:db8:1:3::1")).await.status,
        ANSWERED
    );
    // An IPv4-mapped address is that IPv4 client.
    for _ in 0..2 {
        assert_eq!(
            get_from(&app, PROBE, Some("198.51.100.20")).await.status,
            ANSWERED
        );
    }
    assert_rate_limited(&get_from(&app, PROBE, Some("::ffff:198.51.100.20")).await);
}

#[tokio::test]
async fn a_strangers_failures_for_a_victims_email_do_not_block_the_victim() {
    let app = spawn(vec![("PYMD_TRUSTED_PROXIES", "127.0.0.0/8".into())]).await;
    let (attacker, victim) = ("203.0.113.70", "198.51.100.71");
    let four: Vec<Value> = (0..4)
        .map(|_| failed_login("victim@example.com", attacker))
        .collect();
    assert_eq!(log_stream(&app, Value::Array(four)).await.status, 200);
    // The victim's own typo is their first failure, not the fifth.
    let typo = json!([failed_login("victim@example.com", victim)]);
    assert_eq!(log_stream(&app, typo).await.status, 200);
    assert_eq!(get_from(&app, PROBE, Some(victim)).await.status, ANSWERED);
    assert_eq!(audit_count(&app, "ip_blocked").await, 0);
    // The attacker's fifth blocks the attacker.
    let fifth = json!([failed_login("victim@example.com", attacker)]);
    assert_eq!(log_stream(&app, fifth).await.status, 200);
    assert_eq!(get_from(&app, PROBE, Some(attacker)).await.status, 429);
    assert_eq!(get_from(&app, PROBE, Some(victim)).await.status, ANSWERED);

    // A block is lifted by any spelling of the address: the IPv4-mapped form names it too.
    let admin = app.token_with(&sub("admin"), ALL, |c| {
        c.insert("https://pymd.io/roles".into(), json!(["admin"]));
    });
    let lifted = app
        .delete(
            &format!("/api/v1/admin/blocks/::ffff:{attacker}"),
            Some(&admin),
        )
        .await;
    assert_eq!(lifted.status, 204, "{}", lifted.summary());
    assert_eq!(get_from(&app, PROBE, Some(attacker)).await.status, ANSWERED);
}
