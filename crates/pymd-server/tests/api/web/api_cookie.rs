//! The JSON API with the web session cookie instead of a bearer token (spec §3): reads work,
//! changes need a same-origin proof (CSRF), and a signed-out cookie is refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::web::harness::{ALICE, Browser, Env, client};

async fn api(
    env: &Env,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = client()
        .request(method, format!("{}{path}", env.app))
        .header("cookie", format!("pymd_session={cookie}"));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("send");
    let status = r.status();
    let v = r.json().await.unwrap_or(Value::Null);
    (status, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_accepts_the_session_cookie_and_refuses_cross_site_changes() {
    let env = Env::start().await;
    let mut b = Browser::new();
    b.login(&env, "/auth/login", ALICE).await;
    let cookie = b.cookie("pymd_session").expect("session cookie");
    let doc = json!({"title": "From the browser", "content": "*hi*"});
    let list = |env: &Env, cookie: String| {
        let env_app = env.app.clone();
        async move {
            let r = client()
                .get(format!("{env_app}/api/v1/documents"))
                .header("cookie", format!("pymd_session={cookie}"))
                .send()
                .await
                .expect("send");
            let v: Value = r.json().await.expect("json");
            v["documents"].as_array().map_or(0, Vec::len)
        }
    };

    // Reads need no origin proof.
    let (status, v) = api(
        &env,
        reqwest::Method::GET,
        "/api/v1/profile",
        &cookie,
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["email"], "alice@example.com");
    assert!(
        v["permissions"].as_array().is_some_and(|p| !p.is_empty()),
        "{v}"
    );

    // Changes without a same-origin proof are refused, and nothing is written.
    for headers in [
        vec![],
        vec![("origin", "https://evil.example")],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", env.app.as_str()),
        ],
        vec![("origin", "null")],
    ] {
        let (status, v) = api(
            &env,
            reqwest::Method::POST,
            "/api/v1/documents",
            &cookie,
            &headers,
            Some(doc.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}: {v}");
        assert_eq!(v["error"], "forbidden", "{headers:?}");
    }
    assert_eq!(list(&env, cookie.clone()).await, 0);

    // From our own origin they work, with the session token's permissions.
    let (status, v) = api(
        &env,
        reqwest::Method::POST,
        "/api/v1/documents",
        &cookie,
        &[("origin", env.app.as_str())],
        Some(doc.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, _) = api(
        &env,
        reqwest::Method::POST,
        "/api/v1/documents",
        &cookie,
        &[("sec-fetch-site", "same-origin")],
        Some(doc),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(list(&env, cookie.clone()).await, 2);

    // After logout the cookie is worth nothing.
    b.click(&format!("{}/auth/logout", env.app)).await;
    let (status, v) = api(
        &env,
        reqwest::Method::GET,
        "/api/v1/documents",
        &cookie,
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"], "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_session_cookie_is_unauthenticated() {
    let env = Env::start().await;
    let forged = "A".repeat(43);
    let (status, v) = api(
        &env,
        reqwest::Method::GET,
        "/api/v1/documents",
        &forged,
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    let (status, _) = api(
        &env,
        reqwest::Method::GET,
        "/api/v1/documents",
        "not-a-session",
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
