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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_bodies_are_not_buffered_where_no_form_is_taken() {
    let app = TestApp::spawn().await;
    let s = sub("formprobe");
    // A big form body to the JSON API is refused after a small read, before authentication.
    let big = format!("title=t&content={}", "a".repeat(1 << 20));
    let r = send(
        app.request(Method::POST, "/api/v1/documents")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big),
    )
    .await;
    r.assert_error(413, "payload_too_large");
    // A small one without a token is simply the wrong media type.
    let token = app.token(&s, crate::support::ALL);
    let r = send(
        app.request(Method::POST, "/api/v1/documents")
            .bearer_auth(&token)
            .form(&[("title", "t"), ("content", "c")]),
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.summary());
    assert_eq!(app.count_documents_in_db(&s).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_on_a_get_is_refused_whole_not_answered_then_reset() {
    install_metrics();
    let app = TestApp::spawn().await;
    let body = "x".repeat(5000);
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: pymd\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let status = crate::support::raw_http(app.addr, request.into_bytes()).await;
    assert_eq!(status, Some(400));
    let huge = "y".repeat(200_000);
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: pymd\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{huge}",
        huge.len()
    );
    let status = crate::support::raw_http(app.addr, request.into_bytes()).await;
    assert_eq!(status, Some(413));
    // Without a body, as ever.
    assert_eq!(app.get("/healthz", None).await.status, 200);
}
