//! Group 5: the post-login Action's sync-user call and the log stream
//! (PRODUCT §9; auth0-surface §13; security-anchors §K).

use std::time::{Duration, Instant};

use pymd_tenant::Webhook;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const BEARER: &str = "sync-secret-for-tests-0123456789";

async fn tenant_with_sync(rx: &Receiver, timeout: Option<Duration>) -> Tenant {
    let url = rx.url("internal/auth/sync-user");
    spawn_with(move |o| {
        o.sync_webhook = Some(Webhook {
            url,
            bearer: BEARER.into(),
        });
        if let Some(d) = timeout {
            o.action_timeout = d;
        }
    })
    .await
}

#[tokio::test]
async fn a_login_calls_sync_user_once_with_the_bearer_and_the_profile() {
    let rx = receiver(Behaviour::Ok).await;
    let t = tenant_with_sync(&rx, None).await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    assert!(!tokens.access_token.is_empty());

    // The Action runs before the code is issued, so the call has happened by now.
    let calls = rx.all();
    assert_eq!(
        calls.len(),
        1,
        "exactly one sync call per login: {calls:#?}"
    );
    let call = &calls[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.path, "/internal/auth/sync-user");
    assert_eq!(
        call.authorization.as_deref(),
        Some(format!("Bearer {BEARER}").as_str())
    );
    assert!(
        call.content_type
            .as_deref()
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let body: Value = serde_json::from_str(&call.body).expect("JSON body");
    assert_eq!(body["auth0Id"], ALICE_ID, "{body}");
    assert_eq!(body["email"], ALICE_EMAIL, "{body}");
    assert_eq!(body["name"], "Alice Example", "{body}");
}

#[tokio::test]
async fn a_failing_sync_endpoint_does_not_block_the_login() {
    let rx = receiver(Behaviour::Fail500).await;
    let t = tenant_with_sync(&rx, None).await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(jwt_claims(&tokens.id_token)["sub"], ALICE_ID);
    assert_eq!(
        jwt_claims(&tokens.access_token)[ROLES_CLAIM],
        serde_json::json!(["user"])
    );
    assert_eq!(rx.all().len(), 1, "the call was attempted");
}

#[tokio::test]
async fn a_hanging_sync_endpoint_does_not_block_the_login_beyond_the_action_timeout() {
    let rx = receiver(Behaviour::Hang).await;
    let t = tenant_with_sync(&rx, Some(Duration::from_millis(300))).await;
    let req = AuthRequest::web();
    let mut b = t.browser();
    let (url, form) = b.login_page(&t, &req).await;
    let started = Instant::now();
    let (action, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    let to = b.follow(&action, r).await.away();
    let took = started.elapsed();
    assert!(query_param(&to, "code").is_some(), "{to}");
    assert!(
        took < Duration::from_secs(2),
        "the login waited {took:?} for a hung Action"
    );
    rx.wait_for("the sync call", |r| r.path == "/internal/auth/sync-user")
        .await;
}

#[tokio::test]
async fn an_unreachable_sync_endpoint_does_not_block_the_login() {
    // Bind then drop a listener: nothing listens on that port any more.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let url = url::Url::parse(&format!("http://{addr}/internal/auth/sync-user")).unwrap();
    let t = spawn_with(move |o| {
        o.sync_webhook = Some(Webhook {
            url,
            bearer: BEARER.into(),
        })
    })
    .await;
    t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
}

#[tokio::test]
async fn the_log_stream_receives_a_batch_with_the_success_login_event() {
    let rx = receiver(Behaviour::Ok).await;
    let url = rx.url("logs");
    let t = spawn_with(move |o| {
        o.log_stream = Some(Webhook {
            url,
            bearer: "log-stream-token".into(),
        })
    })
    .await;
    t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let batch = rx
        .wait_for("a batch with an `s` event", |r| {
            serde_json::from_str::<Value>(&r.body)
                .map(|v| !find_events(&v, "s").is_empty())
                .unwrap_or(false)
        })
        .await;
    assert_eq!(batch.method, "POST");
    assert!(
        batch
            .authorization
            .as_deref()
            .unwrap_or_default()
            .contains("log-stream-token"),
        "the stream authenticates with the configured token: {:?}",
        batch.authorization
    );
    let v: Value = serde_json::from_str(&batch.body).unwrap();
    assert!(v.is_array(), "a batch is a JSON array: {v}");
    let s = &find_events(&v, "s")[0];
    assert_eq!(s["user_id"], ALICE_ID, "{s}");
}

#[tokio::test]
async fn a_failing_log_stream_does_not_affect_logins() {
    let rx = receiver(Behaviour::Fail500).await;
    let url = rx.url("logs");
    let t = spawn_with(move |o| {
        o.log_stream = Some(Webhook {
            url,
            bearer: "log-stream-token".into(),
        })
    })
    .await;
    t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    t.login_tokens(BOB_EMAIL, BOB_PASSWORD).await;
    let r = t.get("__dev/logs").await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_sign_up_calls_sync_user_streams_its_logs_and_mails_a_working_link() {
    let rx = receiver(Behaviour::Ok).await;
    let hook = |path: &str| Webhook {
        url: rx.url(path),
        bearer: "s3cret".into(),
    };
    let (sync, logs) = (hook("sync"), hook("logs"));
    let t = spawn_with(move |o| {
        o.sync_webhook = Some(sync);
        o.log_stream = Some(logs);
    })
    .await;
    let req = AuthRequest::web().with("screen_hint", "signup");
    let r = into_resp(t.http.get(req.url(&t)).send().await.unwrap()).await;
    let loc = r.location().unwrap();
    assert!(loc.starts_with("/u/signup?state="), "{loc}");
    let binding = csrf_cookie(&r);
    let page_url = t.base.join(&loc).unwrap().to_string();
    let page = t.http.get(&page_url).header("cookie", &binding).send();
    let form = parse_form(&page.await.unwrap().text().await.unwrap()).unwrap();
    let csrf = form_value(&form, "csrf_token").unwrap();
    let post = |password: &str, email: &str| {
        let fields = [
            ("csrf_token", &*csrf),
            ("email", email),
            ("password", password),
        ];
        let r = t
            .http
            .post(&page_url)
            .header("cookie", &binding)
            .form(&fields);
        async move { into_resp(r.send().await.unwrap()).await }
    };
    let r = post("weak", "carol@example.com").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("Password is too weak"),
        "{}",
        excerpt(&r.text)
    );
    let r = post("Password123!", "carol@example.com").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post("Carol-Dev-2026!", ALICE_EMAIL).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post("Carol-Dev-2026!", "carol@example.com").await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", excerpt(&r.text));
    assert!(query_param(&r.location().unwrap(), "code").is_some());

    let sync = received_json(&rx, "/sync", "s3cret");
    assert_eq!(sync[0]["email"], "carol@example.com");
    assert_eq!(sync[0]["emailVerified"], false);
    // The mailbox's link verifies the address; the next tokens say so.
    let mails = t.get("__dev/mailbox?format=json").await.json();
    let link = mails[0]["link"].as_str().unwrap();
    assert_eq!(t.http.get(link).send().await.unwrap().status(), 200);
    let body = serde_json::json!({"user": "carol@example.com", "scope": "openid email"});
    let tokens = t.post_json("__dev/token", &body).await.json();
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["email_verified"], true);

    // Shutting down flushes the log stream.
    let _ = std::fs::remove_dir_all(t.stop().await);
    let batches = received_json(&rx, "/logs", "s3cret");
    let events: Vec<&Value> = batches
        .iter()
        .filter_map(Value::as_array)
        .flatten()
        .collect();
    let types: Vec<&str> = events
        .iter()
        .filter_map(|l| l["data"]["type"].as_str())
        .collect();
    assert!(
        types.contains(&"ss") && types.contains(&"fs") && types.contains(&"s"),
        "{types:?}"
    );
}
