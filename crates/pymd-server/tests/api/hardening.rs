//! Issue 10's findings, each sent as the hostile input it describes: the status and error code,
//! and that nothing changed.

use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, install_metrics, random_string, send, sub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_methods_and_log_types_never_become_metric_labels() {
    install_metrics();
    let app = TestApp::spawn().await;
    let marker = random_string(12);
    for i in 0..40 {
        let name = format!("X{marker}{i}{}", "Q".repeat(2000));
        let method = Method::from_bytes(name.as_bytes()).expect("a token is a valid method");
        let r = send(app.request(method, "/healthz")).await;
        assert!(r.status < 500, "{}", r.summary());
    }
    let events: Vec<_> = (0..40)
        .map(|i| json!({"log_id": sub("log"), "data": {"type": format!("t{marker}{i}")}}))
        .collect();
    let r = send(
        app.request(Method::POST, "/internal/auth0/log-stream")
            .bearer_auth(&app.internal_token)
            .json(&events),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let m = app.get("/metrics", None).await;
    assert_eq!(m.status, 200);
    assert!(
        !m.text.contains(&marker),
        "a sender-chosen value became a label"
    );
    assert!(
        m.text.contains("method=\"other\""),
        "invented methods count as other"
    );
    assert!(
        m.text
            .lines()
            .any(|l| l.starts_with("pymd_auth0_log_events_total") && l.contains("type=\"other\"")),
        "invented log types count as other"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_request_id_of_any_length_never_becomes_the_request_id() {
    let app = TestApp::spawn().await;
    let huge = format!("{}\t<script>", "r".repeat(10_000));
    let sent = reqwest::header::HeaderValue::from_bytes(huge.as_bytes()).expect("header");
    let r = send(
        app.request(Method::GET, "/healthz")
            .header("x-request-id", sent),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let id = r.header("x-request-id");
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "PyMD's own id, not the client's: {id:.80}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_api_answers_are_never_cached() {
    let app = TestApp::spawn().await;
    let token = app.token(&sub("cache"), crate::support::ALL);
    let (created, _) = app.create_document(&token, "private", "secret text").await;
    for path in [
        "/api/v1/documents".to_owned(),
        format!("/api/v1/documents/{created}"),
    ] {
        let r = app.get(&path, Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.summary());
        assert_eq!(r.header("cache-control"), "no-store", "{path}");
    }
    // Refusals too: a 401 must not be cached in place of the next user's answer.
    let r = app.get("/api/v1/documents", Some("not-a-jwt")).await;
    assert_eq!(r.header("cache-control"), "no-store");
}
