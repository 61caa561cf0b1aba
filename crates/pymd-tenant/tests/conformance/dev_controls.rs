//! The `/__dev` test controls answer the developer's own tools and nothing a web page in their
//! browser can send: cross-site requests, non-JSON bodies and foreign Host headers are refused.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

/// The tenant clock's offset, read through `GET /__dev/clock`.
async fn clock_offset(t: &Tenant) -> i64 {
    let r = t.get("__dev/clock").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()["offset_secs"].as_i64().expect("offset_secs")
}

#[tokio::test]
async fn a_cross_site_text_plain_post_is_refused_and_the_clock_does_not_move() {
    let t = spawn().await;
    let clock = t.url("__dev/clock");
    let body = r#"{"offset_secs": 999999}"#;
    // What a page on another site can send from the developer's browser without a preflight.
    let r = t
        .http
        .post(&clock)
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", "https://attacker.example")
        .header("sec-fetch-site", "cross-site")
        .body(body);
    let r = into_resp(r.send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"], "access_denied", "{}", r.text);
    // Each signal on its own is enough.
    for (name, value, status) in [
        ("origin", "https://attacker.example", 403),
        ("origin", "null", 403),
        ("sec-fetch-site", "cross-site", 403),
        ("sec-fetch-site", "same-site", 403),
        ("content-type", "text/plain", 415),
        ("content-type", "application/x-www-form-urlencoded", 415),
    ] {
        let mut req = t.http.post(&clock).body(body);
        if name != "content-type" {
            req = req.header("content-type", "application/json");
        }
        let r = into_resp(req.header(name, value).send().await.unwrap()).await;
        assert_eq!(r.status.as_u16(), status, "{name}: {value}");
        assert!(r.json()["error_description"].is_string(), "{}", r.text);
    }
    // A JSON body with no Content-Type at all is refused too.
    let r = into_resp(t.http.post(&clock).body(body).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.json()["error"], "invalid_request");
    assert_eq!(clock_offset(&t).await, 0, "the clock did not move");
}

#[tokio::test]
async fn same_origin_json_and_loopback_hosts_are_answered() {
    let t = spawn().await;
    let origin = t.issuer.trim_end_matches('/').to_string();
    // A same-origin request from a browser on the tenant's own page.
    let r = t
        .http
        .post(t.url("__dev/clock"))
        .header("origin", &origin)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"offset_secs": 60}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(clock_offset(&t).await, 60);
    // Typed into the address bar; other loopback spellings of the host.
    let port = t.base.port().unwrap();
    for host in [
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("127.9.8.7:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_string(),
    ] {
        let r = t
            .http
            .get(t.url("__dev/clock"))
            .header("host", &host)
            .header("sec-fetch-site", "none")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{host}");
    }
    // `pymd token`'s request: plain reqwest JSON, Host 127.0.0.1:PORT.
    let r = t
        .post_json("__dev/token", &json!({"user": ALICE_EMAIL}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Body-less POSTs need no Content-Type.
    let r = t
        .http
        .post(t.url("__dev/keys/rotate"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
