//! Spec §3, §7, §8: security headers on every response, CORS, the OpenAPI document, metrics and
//! the error envelope for unknown routes.

use reqwest::Method;
use serde_json::Value;

use crate::support::{ALL, Resp, TestApp, send, sub};

#[track_caller]
fn assert_security_headers(r: &Resp, what: &str) {
    let csp = r.header("content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{what}: CSP {csp:?}");
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert!(!csp.contains("'unsafe-inline'"), "{what}: CSP {csp:?}");
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
    assert!(
        !r.header("referrer-policy").is_empty(),
        "{what}: no Referrer-Policy"
    );
    assert!(
        !r.header("x-request-id").is_empty(),
        "{what}: no x-request-id"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    let t = app.token(&sub("headers"), ALL);
    let responses = [
        ("200 list", app.get("/api/v1/documents", Some(&t)).await),
        ("200 healthz", app.get("/healthz", None).await),
        ("200 landing", app.get("/", None).await),
        ("401", app.get("/api/v1/documents", None).await),
        (
            "401 invalid",
            app.get("/api/v1/documents", Some("x.y.z")).await,
        ),
        (
            "403",
            app.get("/api/v1/profile", Some(&app.token(&sub("h403"), &[])))
                .await,
        ),
        ("404 route", app.get("/no/such/route", None).await),
        (
            "404 document",
            app.get(
                &format!("/api/v1/documents/{}", uuid::Uuid::new_v4()),
                Some(&t),
            )
            .await,
        ),
    ];
    for (what, r) in &responses {
        assert_security_headers(r, what);
    }
    // Request ids differ per request.
    let ids: std::collections::HashSet<String> = responses
        .iter()
        .map(|(_, r)| r.header("x-request-id"))
        .collect();
    assert_eq!(ids.len(), responses.len());
    // A 401 is not cacheable.
    assert!(responses[3].1.header("cache-control").contains("no-store"));
}

#[tokio::test]
async fn an_unknown_route_is_a_404_json_envelope() {
    let app = TestApp::spawn().await;
    for path in [
        "/nope",
        "/api/v1/nope",
        "/api/v2/documents",
        "/internal/nope",
    ] {
        let r = app.get(path, None).await;
        r.assert_error(404, "not_found");
        assert!(
            r.header("content-type").starts_with("application/json"),
            "{path}"
        );
        assert!(!r.description().is_empty());
    }
}

#[tokio::test]
async fn cors_allows_only_the_configured_origin_with_credentials() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &'static str| {
        send(
            app.request(Method::OPTIONS, "/api/v1/documents")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                ),
        )
    };
    let ok = preflight("http://127.0.0.1").await;
    assert!(ok.status < 300, "{}", ok.summary());
    assert_eq!(ok.header("access-control-allow-origin"), "http://127.0.0.1");
    assert_eq!(ok.header("access-control-allow-credentials"), "true");
    let methods = ok.header("access-control-allow-methods").to_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let allowed = ok.header("access-control-allow-headers").to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");

    for evil in [
        "https://evil.example",
        "http://127.0.0.1.evil.example",
        "null",
    ] {
        let r = preflight(evil).await;
        assert!(
            !r.has_header("access-control-allow-origin"),
            "{evil} was allowed: {:?}",
            r.headers
        );
        // (tower-http still sends `Access-Control-Allow-Credentials: true`; without an
        // `Access-Control-Allow-Origin` the browser refuses the response either way.)
    }
    // Simple requests from another origin get no CORS grant either.
    let t = app.token(&sub("cors"), ALL);
    let r = send(
        app.authed(Method::GET, "/api/v1/documents", Some(&t))
            .header("origin", "https://evil.example"),
    )
    .await;
    assert!(!r.has_header("access-control-allow-origin"));
}

#[tokio::test]
async fn the_openapi_document_lists_the_api() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    assert!(r.header("content-type").starts_with("application/json"));
    let doc: Value = r.json();
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "not an OpenAPI 3 document"
    );
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/documents",
        "/api/v1/documents/{id}",
        "/api/v1/profile",
        "/internal/auth/sync-user",
    ] {
        assert!(paths.contains_key(p), "{p} missing from {:?}", paths.keys());
    }
    for m in ["get", "post"] {
        assert!(
            paths["/api/v1/documents"].get(m).is_some(),
            "{m} /api/v1/documents"
        );
    }
    for m in ["get", "put", "delete"] {
        assert!(
            paths["/api/v1/documents/{id}"].get(m).is_some(),
            "{m} /api/v1/documents/{{id}}"
        );
    }
    assert!(doc["components"]["securitySchemes"].get("bearer").is_some());
}

#[tokio::test]
async fn metrics_count_requests_and_verification_failures() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/v1/documents", Some("not-a-jwt")).await;
    r.assert_error(401, "invalid_token");
    let t = app.token(&sub("metrics"), ALL);
    assert_eq!(app.get("/api/v1/documents", Some(&t)).await.status, 200);
    let m = app.get("/metrics", None).await;
    assert_eq!(m.status, 200, "{}", m.summary());
    assert!(m.header("content-type").starts_with("text/plain"));
    for needle in [
        "pymd_http_requests_total",
        "pymd_jwt_verification_failures_total",
        "reason=\"malformed\"",
        "pymd_http_request_duration_seconds",
    ] {
        assert!(m.text.contains(needle), "{needle} missing from /metrics");
    }
    let line = m
        .text
        .lines()
        .find(|l| {
            l.starts_with("pymd_http_requests_total")
                && l.contains("route=\"/api/v1/documents\"")
                && l.contains("status=\"401\"")
        })
        .unwrap_or_else(|| panic!("no 401 series for /api/v1/documents"));
    let value: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("value");
    assert!(value >= 1.0, "{line}");
    assert!(!m.text.contains("not-a-jwt"), "metrics carry token text");
}

/// The value of the `pymd_jwt_verification_failures_total{reason="malformed"}` series.
async fn malformed_failures(app: &TestApp) -> f64 {
    let m = app.get("/metrics", None).await;
    m.text
        .lines()
        .find(|l| {
            l.starts_with("pymd_jwt_verification_failures_total")
                && l.contains("reason=\"malformed\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_credential_refused_before_verification_still_counts_as_a_failure() {
    let app = TestApp::spawn().await;
    // Whitespace inside the credential never reaches the verifier: the header parser refuses it.
    let before = malformed_failures(&app).await;
    let r = send(
        app.request(reqwest::Method::GET, "/api/v1/documents")
            .header("authorization", "Bearer a.b\t.c"),
    )
    .await;
    r.assert_error(401, "invalid_token");
    assert!(
        r.header("www-authenticate")
            .contains("error=\"invalid_token\"")
    );
    let after = malformed_failures(&app).await;
    assert!(after >= before + 1.0, "{before} -> {after}");
}
