//! Spec §8 suspicious-login alert: one user signing in from many IPs within minutes raises one
//! alert per window (log line, audit event `suspicious_login`, `pymd_alerts_total`, and the
//! optional `PYMD_ALERT_WEBHOOK`). Logins are driven through the IdP's log stream.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{Resp, SpawnOptions, TestApp, send, sub};

async fn spawn(vars: Vec<(&'static str, String)>) -> TestApp {
    TestApp::spawn_with(SpawnOptions {
        vars,
        ..SpawnOptions::default()
    })
    .await
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

/// An Auth0 successful-login event (`s`) for `user_id` from `ip`.
fn login(user_id: &str, ip: &str) -> Value {
    json!({"log_id": sub("log"), "data": {
        "type": "s", "user_id": user_id, "user_name": "someone@example.com", "ip": ip,
        "client_id": "web", "description": "Successful login", "date": "2026-12-01T08:00:00.000Z"
    }})
}

async fn logins(app: &TestApp, user_id: &str, ips: &[String]) {
    let events: Vec<Value> = ips.iter().map(|ip| login(user_id, ip)).collect();
    let r = log_stream(app, Value::Array(events)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
}

fn ips(range: std::ops::Range<u8>) -> Vec<String> {
    range.map(|i| format!("198.51.100.{i}")).collect()
}

/// The `suspicious_login` audit events of `subject`.
async fn alerts_for(app: &TestApp, subject: &str) -> Vec<Value> {
    app.audit_events()
        .await
        .into_iter()
        .filter(|e| {
            e.event.event == "suspicious_login" && e.event.subject.as_deref() == Some(subject)
        })
        .map(|e| e.event.detail)
        .collect()
}

#[tokio::test]
async fn the_fifth_distinct_ip_in_the_window_raises_exactly_one_alert() {
    let app = TestApp::spawn().await;
    let user = format!("auth0|{}", sub("alerts"));
    // Four distinct IPs: nothing.
    logins(&app, &user, &ips(1..5)).await;
    assert!(alerts_for(&app, &user).await.is_empty());
    // The fifth: one alert naming the user and the count.
    logins(&app, &user, &ips(5..6)).await;
    let alerts = alerts_for(&app, &user).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["distinct_ips"], 5);
    assert_eq!(alerts[0]["window_minutes"], 10);
    // Further IPs (and repeats) in the same window: still one.
    logins(&app, &user, &ips(6..12)).await;
    logins(&app, &user, &ips(1..6)).await;
    assert_eq!(alerts_for(&app, &user).await.len(), 1);

    let metrics = app.get("/metrics", None).await;
    assert!(
        metrics.text.lines().any(|l| l.starts_with("pymd_alerts_total")
            && l.contains("alert=\"suspicious_login\"")),
        "pymd_alerts_total{{alert=\"suspicious_login\"}} missing"
    );
}

#[tokio::test]
async fn the_same_ip_repeated_never_alerts_and_other_users_are_unaffected() {
    let app = TestApp::spawn().await;
    let user = format!("auth0|{}", sub("alerts"));
    let other = format!("auth0|{}", sub("alerts"));
    let same: Vec<String> = (0..20).map(|_| "203.0.113.9".to_owned()).collect();
    logins(&app, &user, &same).await;
    assert!(alerts_for(&app, &user).await.is_empty());
    // An IPv4-mapped IPv6 address is the same client.
    logins(&app, &user, &["::ffff:203.0.113.9".to_owned()]).await;

    // Another user from four IPs, interleaved with the first user's logins: neither alerts,
    // counts are per user.
    logins(&app, &other, &ips(1..5)).await;
    logins(&app, &user, &ips(1..4)).await;
    assert!(alerts_for(&app, &user).await.is_empty());
    assert!(alerts_for(&app, &other).await.is_empty());
    // The other user's fifth alerts for them only.
    logins(&app, &other, &ips(5..6)).await;
    assert_eq!(alerts_for(&app, &other).await.len(), 1);
    assert!(alerts_for(&app, &user).await.is_empty());
    // Failed logins and logins without an IP or user id are not counted.
    let r = log_stream(
        &app,
        json!([
            {"data": {"type": "fp", "user_id": user, "user_name": "x@example.com", "ip": "192.0.2.1"}},
            {"data": {"type": "s", "user_id": user}},
            {"data": {"type": "s", "user_id": user, "ip": "not-an-ip"}},
            {"data": {"type": "s", "ip": "192.0.2.2"}},
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.summary());
    assert!(alerts_for(&app, &user).await.is_empty());
}

#[tokio::test]
async fn the_thresholds_are_configurable_and_bad_values_are_refused_naming_the_variable() {
    let app = spawn(vec![("PYMD_ALERT_DISTINCT_IPS", "2".into())]).await;
    let user = format!("auth0|{}", sub("alerts"));
    logins(&app, &user, &ips(1..2)).await;
    assert!(alerts_for(&app, &user).await.is_empty());
    logins(&app, &user, &ips(2..3)).await;
    assert_eq!(alerts_for(&app, &user).await.len(), 1);

    let mut vars = std::collections::HashMap::new();
    vars.insert("PYMD_ALERT_DISTINCT_IPS".to_owned(), "0".to_owned());
    vars.insert("PYMD_ALERT_WINDOW_MINUTES".to_owned(), "soon".to_owned());
    vars.insert("PYMD_ALERT_WEBHOOK".to_owned(), "not a url".to_owned());
    let err = pymd_server::config::Config::from_vars(&vars).expect_err("refused");
    for v in [
        "PYMD_ALERT_DISTINCT_IPS",
        "PYMD_ALERT_WINDOW_MINUTES",
        "PYMD_ALERT_WEBHOOK",
    ] {
        assert!(err.names(v), "{v} not named in {err}");
    }
}

/// A webhook receiver on `127.0.0.1:0`: every JSON body it gets goes to the channel.
async fn webhook_receiver() -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    let router = axum::Router::new()
        .route(
            "/hook",
            post(
                |State(tx): State<mpsc::UnboundedSender<Value>>, Json(body): Json<Value>| async move {
                    let _ = tx.send(body);
                    "ok"
                },
            ),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}/hook"), rx)
}

#[tokio::test]
async fn the_webhook_receives_one_json_body_naming_the_subject() {
    let (url, mut rx) = webhook_receiver().await;
    let app = spawn(vec![
        ("PYMD_ALERT_WEBHOOK", url),
        ("PYMD_ALERT_DISTINCT_IPS", "3".into()),
    ])
    .await;
    let user = format!("auth0|{}", sub("alerts"));
    logins(&app, &user, &ips(1..3)).await;
    logins(&app, &user, &ips(3..4)).await;
    let body = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the webhook is called within 10 s")
        .expect("a body");
    assert_eq!(body["alert"], "suspicious_login");
    assert_eq!(body["subject"], user.as_str());
    assert_eq!(body["distinct_ips"], 3);
    assert_eq!(body["ip"], "198.51.100.3");
    // Later logins in the window do not call it again.
    logins(&app, &user, &ips(4..8)).await;
    assert_eq!(alerts_for(&app, &user).await.len(), 1);
    let again = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
    assert!(again.is_err(), "a second webhook call: {again:?}");
}

#[tokio::test]
async fn an_unreachable_or_hanging_webhook_never_fails_or_delays_the_login() {
    // A port nothing listens on (refused), and one that accepts and never answers.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hanging_addr = hanging.local_addr().expect("addr");
    for url in [
        format!("http://{refused}/hook"),
        format!("http://{hanging_addr}/hook"),
    ] {
        let app = spawn(vec![
            ("PYMD_ALERT_WEBHOOK", url),
            ("PYMD_ALERT_DISTINCT_IPS", "2".into()),
        ])
        .await;
        let user = format!("auth0|{}", sub("alerts"));
        let started = Instant::now();
        logins(&app, &user, &ips(1..3)).await;
        // The webhook's own timeout is 5 s; the login does not wait for it.
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the log stream waited {:?}",
            started.elapsed()
        );
        assert_eq!(alerts_for(&app, &user).await.len(), 1);
    }
    drop(hanging);
}

#[tokio::test]
async fn with_redis_the_distinct_ips_add_up_across_instances() {
    let Ok(url) = std::env::var("PYMD_TEST_REDIS_URL") else {
        eprintln!("skipped: PYMD_TEST_REDIS_URL is not set");
        return;
    };
    let prefix = format!("pymd-test:{}:", sub("alerts"));
    let vars = || {
        vec![
            ("REDIS_URL", url.clone()),
            ("PYMD_REDIS_KEY_PREFIX", prefix.clone()),
        ]
    };
    let one = spawn(vars()).await;
    let two = spawn(vars()).await;
    let user = format!("auth0|{}", sub("alerts"));
    logins(&one, &user, &ips(1..4)).await;
    // Two of these were already seen by the other instance; 4 and 5 make five.
    logins(&two, &user, &ips(2..6)).await;
    assert!(alerts_for(&one, &user).await.is_empty());
    assert_eq!(alerts_for(&two, &user).await.len(), 1);
    logins(&one, &user, &ips(6..9)).await;
    assert!(alerts_for(&one, &user).await.is_empty());
}
