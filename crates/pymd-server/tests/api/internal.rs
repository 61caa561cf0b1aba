//! Spec §6 / security anchors §K: the post-login sync webhook and its shared bearer secret.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ALL, Resp, TestApp, send, sub};

const SYNC: &str = "/internal/auth/sync-user";

fn body_for(auth0_id: &str) -> Value {
    json!({
        "auth0Id": auth0_id,
        "email": "sync@example.com",
        "name": "Sync User",
        "picture": "https://example.com/p.png",
        "emailVerified": true
    })
}

#[track_caller]
fn assert_refused(r: &Resp, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.summary());
    assert!(
        r.header("www-authenticate").starts_with("Bearer"),
        "{what}: {}",
        r.summary()
    );
    assert!(!r.text.contains("success"), "{what}: {}", r.summary());
}

#[tokio::test]
async fn the_webhook_refuses_every_credential_but_the_exact_secret() {
    let app = TestApp::spawn().await;
    let secret = app.internal_token.clone();
    let victim = sub("webhook-victim");
    let body = body_for(&victim);

    // No credential at all.
    let r = app.post(SYNC, None, &body).await;
    assert_refused(&r, "no Authorization");

    let mut first_changed = secret.clone();
    first_changed.replace_range(0..1, "X");
    let mut last_changed = secret.clone();
    last_changed.pop();
    last_changed.push('!');
    let wrong: Vec<(&str, String)> = vec![
        ("a wrong secret", "wrong-secret-0123456789abcdef".into()),
        ("the first character changed", first_changed),
        ("the last character changed", last_changed),
        ("a prefix", secret[..secret.len() - 1].to_owned()),
        ("one extra character", format!("{secret}x")),
        ("a different case", secret.to_uppercase()),
        ("a percent-encoded trailing newline", format!("{secret}%0A")),
        ("a valid user access token", app.token(&victim, ALL)),
        ("an empty credential", String::new()),
    ];
    for (what, credential) in &wrong {
        let r = app.post(SYNC, Some(credential), &body).await;
        assert_refused(&r, what);
    }
    // Other schemes and the secret in the query string or the body.
    let r = send(
        app.request(Method::POST, SYNC)
            .header("authorization", format!("Basic {secret}"))
            .json(&body),
    )
    .await;
    assert_refused(&r, "Basic scheme");
    for q in ["access_token", "token", "secret"] {
        let r = app.post(&format!("{SYNC}?{q}={secret}"), None, &body).await;
        assert_refused(&r, &format!("?{q}="));
        assert!(!r.text.contains(&secret));
    }
    let mut with_secret = body.clone();
    with_secret["access_token"] = json!(secret);
    let r = app.post(SYNC, None, &with_secret).await;
    assert_refused(&r, "secret in the body");

    assert!(
        app.user(&victim).await.is_none(),
        "a refused webhook wrote a user"
    );
    assert!(app.all_users().await.is_empty());
    // The refusals are audited (and never contain the secret).
    let audit = app.audit_events().await;
    assert!(
        audit
            .iter()
            .any(|e| e.event.event == "internal_auth_failure"),
        "no internal_auth_failure audit event"
    );
    for e in &audit {
        assert!(!e.event.detail.to_string().contains(&secret));
    }
}

#[tokio::test]
async fn the_webhook_upserts_idempotently_with_the_secret() {
    let app = TestApp::spawn().await;
    let s = sub("synced");
    let secret = app.internal_token.clone();
    let r = app.post(SYNC, Some(&secret), &body_for(&s)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let first = r.json();
    assert_eq!(first["success"], json!(true));
    let user_id = first["user_id"].as_str().expect("user_id").to_owned();
    uuid::Uuid::parse_str(&user_id).expect("user_id is a UUID");

    let user = app.user(&s).await.expect("synced user");
    assert_eq!(user.id.to_string(), user_id);
    assert_eq!(user.email.as_deref(), Some("sync@example.com"));
    assert_eq!(user.name.as_deref(), Some("Sync User"));
    assert!(user.email_verified);

    // Same delivery again, then an update: one row, same id.
    let r = app.post(SYNC, Some(&secret), &body_for(&s)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.json()["user_id"], json!(user_id));
    let mut changed = body_for(&s);
    changed["name"] = json!("Renamed");
    let r = app.post(SYNC, Some(&secret), &changed).await;
    assert_eq!(r.json()["user_id"], json!(user_id));
    assert_eq!(app.count_users_with_sub(&s).await, 1);
    assert_eq!(
        app.user(&s).await.expect("user").name.as_deref(),
        Some("Renamed")
    );

    // The synced user and the JIT path agree on one row.
    let t = app.token(&s, ALL);
    let r = app.get("/api/v1/profile", Some(&t)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.json()["email"], json!("sync@example.com"));
    assert_eq!(app.count_users_with_sub(&s).await, 1);
}

#[tokio::test]
async fn bad_webhook_bodies_are_rejected_after_authentication_naming_the_field() {
    let app = TestApp::spawn().await;
    let secret = app.internal_token.clone();
    let s = sub("badsync");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"email": "a@example.com", "name": "A"}), "auth0Id"),
        (json!({"auth0Id": s, "email": 42, "name": "A"}), "email"),
        (
            json!({"auth0Id": s, "email": "a@example.com", "name": "A", "role": "admin"}),
            "role",
        ),
        (
            json!({"auth0Id": 7, "email": "a@example.com", "name": "A"}),
            "auth0Id",
        ),
        (
            json!({"auth0Id": "", "email": "a@example.com", "name": "A"}),
            "auth0Id",
        ),
        (
            json!({"auth0Id": s, "email": "not-an-email", "name": "A"}),
            "email",
        ),
        (
            json!({"auth0Id": s, "email": "a@example.com", "emailVerified": "yes"}),
            "emailVerified",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(SYNC, Some(&secret), &body).await;
        r.assert_validation(field);
    }
    let r = send(
        app.authed(Method::POST, SYNC, Some(&secret))
            .header("content-type", "application/json")
            .body("{\"auth0Id\":"),
    )
    .await;
    r.assert_error(400, "invalid_request");
    let r = send(
        app.authed(Method::POST, SYNC, Some(&secret))
            .header("content-type", "text/plain")
            .body(body_for(&s).to_string()),
    )
    .await;
    r.assert_error(415, "unsupported_media_type");
    // Without the secret, the same bad body is a 401 (authentication comes first).
    let r = app.post(SYNC, None, &json!({"email": 42})).await;
    assert_eq!(r.status, 401, "{}", r.summary());
    assert!(app.user(&s).await.is_none());
}

#[tokio::test]
async fn audit_events_carry_the_callers_ip_user_agent_and_request_id() {
    let app = TestApp::spawn().await;
    let s = sub("audited");
    let secret = app.internal_token.clone();
    let r = app
        .request(reqwest::Method::POST, SYNC)
        .bearer_auth(&secret)
        .header("user-agent", "audit-test/1.0")
        .header("x-request-id", "req-audit-1")
        // An untrusted peer cannot choose the IP the audit log records.
        .header("x-forwarded-for", "203.0.113.77")
        .json(&body_for(&s))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    // The request id is PyMD's own (the client's is logged aside), and the response names it.
    let id = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id")
        .to_owned();
    assert_ne!(id, "req-audit-1");
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let events = app.audit_events().await;
    let sync = events
        .iter()
        .find(|e| e.event.event == "sync_user" && e.event.subject.as_deref() == Some(s.as_str()))
        .expect("a sync_user audit event");
    assert_eq!(sync.event.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(sync.event.user_agent.as_deref(), Some("audit-test/1.0"));
    assert_eq!(sync.event.request_id.as_deref(), Some(id.as_str()));
}
