//! Spec §10 "database down" / security anchors §N 173: 503 with `Retry-After` on routes that
//! need the database, authentication still first, readiness fails while liveness holds, and
//! recovery without a restart.

use std::sync::atomic::Ordering;

use serde_json::json;

use crate::support::{ALL, FlakyStore, SpawnOptions, TestApp, sub};

#[tokio::test]
async fn with_the_database_down_requests_get_503_and_recover_without_a_restart() {
    let (wrap, down) = FlakyStore::wrapper();
    let app = TestApp::spawn_with(SpawnOptions {
        wrap_store: Some(wrap),
        ..SpawnOptions::default()
    })
    .await;
    let s = sub("dbdown");
    let t = app.token(&s, ALL);
    let (id, _) = app.create_document(&t, "before the outage", "kept").await;
    assert_eq!(app.get("/readyz", None).await.status, 200);

    down.store(true, Ordering::SeqCst);

    // A known user with a valid token, and a brand-new user (the JIT path).
    let newcomer = app.token(&sub("dbdown-new"), ALL);
    for token in [&t, &newcomer] {
        let r = app.get("/api/v1/documents", Some(token)).await;
        r.assert_error(503, "upstream_unavailable");
        assert!(r.has_header("retry-after"), "{}", r.summary());
        for leak in ["FlakyStore", "connection refused", "sqlite", "SELECT"] {
            assert!(
                !r.text.contains(leak),
                "5xx body leaks {leak:?}: {}",
                r.summary()
            );
        }
    }
    let r = app
        .post(
            "/api/v1/documents",
            Some(&t),
            &json!({"title": "during the outage", "content": "x"}),
        )
        .await;
    r.assert_error(503, "upstream_unavailable");
    let r = app.get(&format!("/api/v1/documents/{id}"), Some(&t)).await;
    r.assert_error(503, "upstream_unavailable");
    let r = app
        .post(
            "/internal/auth/sync-user",
            Some(&app.internal_token),
            &json!({"auth0Id": "auth0|during-outage", "email": "o@example.com", "name": "O"}),
        )
        .await;
    r.assert_error(503, "upstream_unavailable");

    // Authentication happens before the database: a bad token is still a 401.
    let r = app
        .get("/api/v1/documents", Some("garbage.token.here"))
        .await;
    r.assert_error(401, "invalid_token");
    let forged = app.issuer.token(&s, ALL).replace('.', ".x");
    let r = app.get("/api/v1/documents", Some(&forged)).await;
    r.assert_error(401, "invalid_token");
    let r = app.get("/api/v1/documents", None).await;
    assert_eq!(r.status, 401, "{}", r.summary());

    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 503, "{}", ready.summary());
    assert_eq!(ready.json()["checks"]["database"], json!("unavailable"));
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200, "{}", health.summary());

    // The database returns: same process, same tokens.
    down.store(false, Ordering::SeqCst);
    let r = app.get("/api/v1/documents", Some(&t)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let listed = r.json()["documents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        listed.len(),
        1,
        "the document from before the outage is intact"
    );
    assert_eq!(listed[0]["id"], json!(id));
    assert_eq!(app.get("/readyz", None).await.status, 200);
    app.create_document(&t, "after the outage", "ok").await;
    assert_eq!(app.count_documents_in_db(&s).await, 2);
    assert!(app.user("auth0|during-outage").await.is_none());
}
