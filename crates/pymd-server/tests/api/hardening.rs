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
async fn a_body_on_a_get_is_drained_not_answered_then_reset() {
    install_metrics();
    let app = TestApp::spawn().await;
    let body = "x".repeat(5000);
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: pymd\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The body is read and dropped: the whole answer arrives.
    let status = crate::support::raw_http(app.addr, request.into_bytes()).await;
    assert_eq!(status, Some(200));
    // A bigger body (here 200 KB) is drained too: the answer is whole.
    let big = "y".repeat(200_000);
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: pymd\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
        big.len()
    );
    let status = crate::support::raw_http(app.addr, request.into_bytes()).await;
    assert_eq!(status, Some(200));
    // One declared past the 4 MiB limit is answered 413 at once, without waiting for it.
    let request = "GET /healthz HTTP/1.1\r\nHost: pymd\r\nContent-Length: 10000000\r\n\r\nyyyy";
    let status = crate::support::raw_http(app.addr, request.as_bytes().to_vec()).await;
    assert_eq!(status, Some(413));
    // Without a body, as ever.
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_internal_bearers_is_one_audit_row_and_then_429() {
    let app = TestApp::spawn().await;
    let s = sub("flood");
    let body = json!({"auth0Id": s, "email": "flood@example.com"});
    let sync = |bearer: String| {
        let rb = app
            .request(Method::POST, "/internal/auth/sync-user")
            .bearer_auth(bearer)
            .json(&body);
        async move { send(rb).await }
    };
    for i in 0..11 {
        let r = sync(format!("wrong-{i}")).await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.summary());
    }
    // Blocked for a minute now: even the right secret is refused, and nothing is written.
    let r = sync(app.internal_token.clone()).await;
    r.assert_error(429, "rate_limited");
    assert!(app.user(&s).await.is_none(), "no user was synced");
    let rows = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.event.event == "internal_auth_failure")
        .count();
    assert_eq!(rows, 1, "one audit row per client and minute");
    // Without any credential the answer is still a plain 401: the block stops guessing only.
    let r = send(
        app.request(Method::POST, "/internal/auth/sync-user")
            .json(&json!({"auth0Id": sub("x"), "email": "x@example.com"})),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_field_sent_as_null_is_refused_not_read_as_leave_it() {
    let app = TestApp::spawn().await;
    let token = app.token(&sub("nullish"), crate::support::ALL);
    for field in ["name", "picture", "bio"] {
        let r = app
            .patch("/api/v1/profile", Some(&token), &json!({ field: null }))
            .await;
        r.assert_validation(field);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_stream_takes_json_only_and_a_redelivered_batch_changes_nothing() {
    let app = TestApp::spawn().await;
    let batch = json!([
        {"log_id": sub("log"), "data": {"type": "s", "user_id": sub("u"), "ip": "198.51.100.30"}},
        {"log_id": sub("log"), "data": {"type": "fp", "user_name": "x@example.com", "ip": "198.51.100.31"}}
    ]);
    let post = |content_type: &'static str| {
        let rb = app
            .request(Method::POST, "/internal/auth0/log-stream")
            .bearer_auth(&app.internal_token)
            .header("content-type", content_type)
            .body(batch.to_string());
        async move { send(rb).await }
    };
    let idp_rows = || async {
        app.audit_events()
            .await
            .iter()
            .filter(|e| e.event.event.starts_with("auth0_"))
            .count()
    };
    let r = post("text/plain").await;
    r.assert_error(415, "unsupported_media_type");
    assert_eq!(idp_rows().await, 0, "a refused batch records nothing");
    let r = post("application/json").await;
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.json()["accepted"], 2);
    let rows = idp_rows().await;
    assert_eq!(rows, 2);
    let again = post("application/json; charset=utf-8").await;
    assert_eq!(again.json()["accepted"], 0, "nothing new in a re-delivery");
    assert_eq!(idp_rows().await, rows, "no second audit row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_metrics_bind_metrics_leave_the_app_listener() {
    use crate::binary::process::{fresh_dir, listening_after, serve_on_loopback};
    let dir = fresh_dir("metrics");
    let mut serve = serve_on_loopback(&dir, &[("PYMD_METRICS_BIND", "127.0.0.1:0")]);
    let app = serve.wait_for("the app", listening_after("app:")).await;
    let metrics = serve
        .wait_for("the metrics", listening_after("metrics:"))
        .await;
    let client = crate::support::http_client();
    let on_app = send(client.get(format!("http://{app}/metrics"))).await;
    on_app.assert_error(404, "not_found");
    let on_metrics = send(client.get(format!("http://{metrics}/metrics"))).await;
    assert_eq!(on_metrics.status, 200, "{}", on_metrics.summary());
    assert!(
        on_metrics.text.contains("pymd_"),
        "{}",
        on_metrics.summary()
    );
    // Nothing else is served there.
    let other = send(client.get(format!("http://{metrics}/api/v1/documents"))).await;
    assert_eq!(other.status, 404);
    serve.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
