//! Security anchors §A: how the bearer token travels (RFC 6750) and how refusals look.

use reqwest::Method;
use serde_json::json;

use crate::support::{ALL, TestApp, send, sub};

const BARE_CHALLENGE: &str = "Bearer realm=\"pymd\"";

#[tokio::test]
async fn no_credentials_get_401_with_a_bare_bearer_challenge() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/api/v1/documents"),
        (Method::POST, "/api/v1/documents"),
        (Method::GET, "/api/v1/profile"),
    ] {
        let mut rb = app.request(method.clone(), path);
        if method == Method::POST {
            rb = rb.json(&json!({"title": "t", "content": "c"}));
        }
        let r = send(rb).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.summary());
        assert_eq!(
            r.header("www-authenticate"),
            BARE_CHALLENGE,
            "{method} {path}: no error= without credentials (RFC 6750 §3)"
        );
    }
    assert!(app.all_users().await.is_empty());
}

#[tokio::test]
async fn a_basic_credential_is_answered_like_no_credential() {
    let app = TestApp::spawn().await;
    let r = send(
        app.request(Method::GET, "/api/v1/documents")
            .header("authorization", "Basic dXNlcjpwdw=="),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.summary());
    assert_eq!(r.header("www-authenticate"), BARE_CHALLENGE);
}

#[tokio::test]
async fn an_empty_bearer_credential_gets_401_never_500() {
    let app = TestApp::spawn().await;
    for value in ["Bearer", "Bearer ", "bearer"] {
        let r = send(
            app.request(Method::GET, "/api/v1/documents")
                .header("authorization", value),
        )
        .await;
        assert_eq!(r.status, 401, "{value:?}: {}", r.summary());
        assert!(
            r.header("www-authenticate").starts_with(BARE_CHALLENGE),
            "{value:?}: {}",
            r.summary()
        );
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let token = app.token(&sub("scheme"), &["read:documents"]);
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let r = send(
            app.request(Method::GET, "/api/v1/documents")
                .header("authorization", format!("{scheme} {token}")),
        )
        .await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.summary());
    }
}

#[tokio::test]
async fn a_token_in_the_query_string_is_refused_with_400_alone_or_with_the_header() {
    let app = TestApp::spawn().await;
    let s = sub("query");
    let token = app.token(&s, ALL);
    let path = format!("/api/v1/documents?access_token={token}");
    // Alone.
    let r = app.get(&path, None).await;
    r.assert_error(400, "invalid_request");
    assert!(!r.text.contains(&token), "the token is echoed");
    let r = app
        .post(&path, None, &json!({"title": "t", "content": "c"}))
        .await;
    r.assert_error(400, "invalid_request");
    // With the header too ("more than one method", RFC 6750 §3.1).
    let r = app.get(&path, Some(&token)).await;
    r.assert_error(400, "invalid_request");
    let r = app
        .post(&path, Some(&token), &json!({"title": "t", "content": "c"}))
        .await;
    r.assert_error(400, "invalid_request");
    assert_eq!(
        app.count_documents_in_db(&s).await,
        0,
        "nothing was created"
    );
}

#[tokio::test]
async fn a_token_in_a_form_body_is_refused_with_400() {
    let app = TestApp::spawn().await;
    let s = sub("form");
    let token = app.token(&s, ALL);
    let form = [
        ("access_token", token.as_str()),
        ("title", "t"),
        ("content", "c"),
    ];
    // With the header as well: two methods.
    let r = send(
        app.request(Method::POST, "/api/v1/documents")
            .bearer_auth(&token)
            .form(&form),
    )
    .await;
    r.assert_error(400, "invalid_request");
    assert_eq!(app.count_documents_in_db(&s).await, 0);
    // The form body alone (RFC 6750 §2.2 method, which PyMD does not support: spec §3 says 400).
    let r = send(app.request(Method::POST, "/api/v1/documents").form(&form)).await;
    assert!(!r.text.contains(&token), "the token is echoed");
    r.assert_error(400, "invalid_request");
    assert_eq!(app.count_documents_in_db(&s).await, 0);
}

#[tokio::test]
async fn two_authorization_headers_are_an_invalid_request() {
    let app = TestApp::spawn().await;
    let s = sub("twoheaders");
    let token = app.token(&s, ALL);
    for (first, second) in [
        (format!("Bearer {token}"), "Bearer garbage".to_owned()),
        ("Bearer garbage".to_owned(), format!("Bearer {token}")),
        (format!("Bearer {token}"), format!("Bearer {token}")),
    ] {
        let r = send(
            app.request(Method::POST, "/api/v1/documents")
                .header("authorization", first)
                .header("authorization", second)
                .json(&json!({"title": "t", "content": "c"})),
        )
        .await;
        r.assert_error(400, "invalid_request");
    }
    assert_eq!(app.count_documents_in_db(&s).await, 0);
    assert!(app.user(&s).await.is_none(), "no user was created");
}

#[tokio::test]
async fn extra_whitespace_or_a_tab_separator_is_refused_with_401() {
    let app = TestApp::spawn().await;
    let s = sub("spaces");
    let token = app.token(&s, &["read:documents"]);
    // Note: a *trailing* space cannot be tested over HTTP: it is optional whitespace that
    // the HTTP layer strips before the app sees the field (RFC 9110 §5.5).
    for value in [
        format!("Bearer  {token}"),
        format!("Bearer\t{token}"),
        format!("Bearer {token} x"),
        format!("Bearer %20{token}"),
    ] {
        let r = send(
            app.request(Method::GET, "/api/v1/documents")
                .header("authorization", value.as_str()),
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.summary());
        assert!(
            r.header("www-authenticate").starts_with(BARE_CHALLENGE),
            "{}",
            r.summary()
        );
        assert!(!r.text.contains(&token));
    }
    assert!(app.user(&s).await.is_none());
}

#[tokio::test]
async fn a_64_kb_token_is_refused_without_a_server_error() {
    let app = TestApp::spawn().await;
    let huge = "A".repeat(64 * 1024);
    let r = app.get("/api/v1/documents", Some(&huge)).await;
    assert!(
        r.status == 401 || r.status == 431,
        "expected 401 or 431: {}",
        r.summary()
    );
    if r.status == 401 {
        assert_eq!(r.error(), "invalid_token");
    }
    // And the app still answers.
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

#[tokio::test]
async fn a_management_api_token_and_an_id_token_are_not_access_tokens() {
    let app = TestApp::spawn().await;
    let s = sub("confusion");
    let iss = app.issuer.issuer();
    let mgmt = app.token_with(&s, ALL, |c| {
        c.insert("aud".into(), json!(format!("{iss}api/v2/")));
    });
    let now = pymd_auth::testkit::unix_now();
    let id_token = app.issuer.sign(
        app.issuer.header(),
        json!({
            "iss": iss, "sub": s, "aud": pymd_auth::testkit::TEST_CLIENT_ID,
            "iat": now, "exp": now + 3600, "nonce": "n-0S6_WzA2Mj",
            "email": "victim@example.com", "name": "Victim", "sid": "s1"
        }),
    );
    for (what, t) in [("management API token", mgmt), ("ID token", id_token)] {
        let r = app.get("/api/v1/documents", Some(&t)).await;
        r.assert_error(401, "invalid_token");
        assert!(
            r.header("www-authenticate")
                .contains("error=\"invalid_token\""),
            "{what}: {}",
            r.summary()
        );
    }
    assert!(app.user(&s).await.is_none());
}

#[tokio::test]
async fn the_webhook_secret_is_not_a_user_token() {
    let app = TestApp::spawn().await;
    let r = app
        .get("/api/v1/documents", Some(&app.internal_token))
        .await;
    r.assert_error(401, "invalid_token");
    assert!(!r.text.contains(&app.internal_token));
}

/// Seconds since the Unix epoch.
fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn the_clock_leeway_comes_from_pymd_clock_leeway_secs_and_bounds_exp_nbf_and_iat() {
    let wide = TestApp::spawn_with(crate::support::SpawnOptions {
        vars: vec![("PYMD_CLOCK_LEEWAY_SECS", "60".to_owned())],
        ..Default::default()
    })
    .await;
    let narrow = TestApp::spawn().await; // the default, 5 s
    let t = now();
    // (claim edits, accepted with 60 s of leeway, accepted with 5 s)
    let cases: [(&str, serde_json::Value, bool, bool); 6] = [
        ("exp", json!(t - 30), true, false),
        ("exp", json!(t - 2), true, true),
        ("exp", json!(t - 90), false, false),
        ("nbf", json!(t + 30), true, false),
        ("iat", json!(t + 30), true, false),
        ("iat", json!(t + 90), false, false),
    ];
    for (claim, value, wide_ok, narrow_ok) in cases {
        for (app, ok, label) in [(&wide, wide_ok, "60 s"), (&narrow, narrow_ok, "5 s")] {
            let s = sub("leeway");
            let token = app.token_with(&s, ALL, |c| {
                c.insert(claim.to_owned(), value.clone());
            });
            let r = app.get("/api/v1/documents", Some(&token)).await;
            if ok {
                assert_eq!(
                    r.status,
                    200,
                    "{claim}={value} with {label}: {}",
                    r.summary()
                );
            } else {
                r.assert_error(401, "invalid_token");
                assert!(
                    r.header("www-authenticate")
                        .contains("error=\"invalid_token\""),
                    "{claim}={value} with {label}"
                );
                assert!(
                    app.user(&s).await.is_none(),
                    "a refused token creates no user"
                );
            }
        }
    }
}
