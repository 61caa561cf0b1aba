//! Spec §3 rules / security anchors §E: a permission is granted by the `permissions` array or
//! by an exact, space-separated `scope` token, and by nothing else.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ALL, Resp, TestApp, send, sub};

#[track_caller]
fn assert_insufficient_scope(r: &Resp, needed: &str) {
    r.assert_error(403, "insufficient_scope");
    let www = r.header("www-authenticate");
    assert!(
        www.starts_with("Bearer") && www.contains("error=\"insufficient_scope\""),
        "{}",
        r.summary()
    );
    assert!(
        www.contains(&format!("scope=\"{needed}\"")),
        "the challenge names {needed}: {}",
        r.summary()
    );
}

/// A token for `sub` whose grants are exactly `scope` and `permissions` (either may be absent).
fn grant_token(app: &TestApp, s: &str, scope: Option<Value>, permissions: Option<Value>) -> String {
    app.token_with(s, &[], |c| {
        c.remove("scope");
        c.remove("permissions");
        if let Some(v) = scope {
            c.insert("scope".into(), v);
        }
        if let Some(v) = permissions {
            c.insert("permissions".into(), v);
        }
    })
}

#[tokio::test]
async fn a_read_only_scope_allows_reading_but_not_writing_or_deleting() {
    let app = TestApp::spawn().await;
    let s = sub("readonly");
    let full = app.token(&s, ALL);
    let (id, _) = app.create_document(&full, "mine", "content").await;
    let before = app.read_as_owner(&full, &id).await;

    let reader = grant_token(&app, &s, Some(json!("openid read:documents")), None);
    let r = app.get("/api/v1/documents", Some(&reader)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let r = app
        .get(&format!("/api/v1/documents/{id}"), Some(&reader))
        .await;
    assert_eq!(r.status, 200, "{}", r.summary());

    let r = app
        .post(
            "/api/v1/documents",
            Some(&reader),
            &json!({"title": "t", "content": "c"}),
        )
        .await;
    assert_insufficient_scope(&r, "write:documents");
    let r = app
        .put(
            &format!("/api/v1/documents/{id}"),
            Some(&reader),
            &json!({"title": "t", "content": "c"}),
        )
        .await;
    assert_insufficient_scope(&r, "write:documents");
    let r = app
        .delete(&format!("/api/v1/documents/{id}"), Some(&reader))
        .await;
    assert_insufficient_scope(&r, "delete:documents");

    assert_eq!(app.count_documents_in_db(&s).await, 1);
    assert_eq!(app.read_as_owner(&full, &id).await.text, before.text);
}

#[tokio::test]
async fn write_without_delete_cannot_delete_and_delete_alone_can() {
    let app = TestApp::spawn().await;
    let s = sub("writer");
    let full = app.token(&s, ALL);
    let (id, _) = app.create_document(&full, "mine", "content").await;
    let writer = grant_token(
        &app,
        &s,
        None,
        Some(json!(["read:documents", "write:documents"])),
    );
    let r = app
        .delete(&format!("/api/v1/documents/{id}"), Some(&writer))
        .await;
    assert_insufficient_scope(&r, "delete:documents");
    let deleter = grant_token(&app, &s, Some(json!("delete:documents")), None);
    let r = app
        .delete(&format!("/api/v1/documents/{id}"), Some(&deleter))
        .await;
    assert_eq!(r.status, 204, "{}", r.summary());
}

#[tokio::test]
async fn the_permissions_array_grants_on_its_own() {
    let app = TestApp::spawn().await;
    let s = sub("rbac");
    let t = grant_token(
        &app,
        &s,
        Some(json!("openid profile")),
        Some(json!(["read:documents", "write:documents"])),
    );
    let (id, _) = app.create_document(&t, "via permissions", "c").await;
    let r = app.get(&format!("/api/v1/documents/{id}"), Some(&t)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    // And the scope string on its own, the other direction.
    let t2 = grant_token(
        &app,
        &s,
        Some(json!("write:documents read:documents")),
        Some(json!([])),
    );
    app.create_document(&t2, "via scope", "c").await;
    assert_eq!(app.count_documents_in_db(&s).await, 2);
}

#[tokio::test]
async fn near_miss_scopes_grant_nothing() {
    let app = TestApp::spawn().await;
    let s = sub("nearmiss");
    for scope in [
        "read:documentsX",
        "xread:documents",
        "READ:DOCUMENTS",
        "Read:Documents",
        "read:documents,write:documents",
        "read:documents\twrite:documents",
        "read:documents\nwrite:documents",
        "read:document",
        "read:*",
        "*",
    ] {
        let t = grant_token(&app, &s, Some(json!(scope)), None);
        let r = app.get("/api/v1/documents", Some(&t)).await;
        assert_eq!(r.status, 403, "scope {scope:?}: {}", r.summary());
        assert_insufficient_scope(&r, "read:documents");
        let r = app
            .post(
                "/api/v1/documents",
                Some(&t),
                &json!({"title": "t", "content": "c"}),
            )
            .await;
        assert_insufficient_scope(&r, "write:documents");
    }
    for perms in [
        json!(["read:documentsX", "WRITE:DOCUMENTS"]),
        json!(["read:documents write:documents"]),
    ] {
        let t = grant_token(&app, &s, None, Some(perms.clone()));
        let r = app.get("/api/v1/documents", Some(&t)).await;
        assert_eq!(r.status, 403, "permissions {perms}: {}", r.summary());
    }
    assert_eq!(app.count_documents_in_db(&s).await, 0);
}

#[tokio::test]
async fn mistyped_scope_or_permissions_claims_grant_nothing() {
    let app = TestApp::spawn().await;
    let s = sub("mistyped");
    let cases = [
        (Some(json!(["read:documents", "write:documents"])), None),
        (None, Some(json!("read:documents write:documents"))),
        (None, Some(json!(["read:documents", 1]))),
        (None, Some(json!({"read:documents": true}))),
        (Some(json!(1)), Some(json!(null))),
    ];
    for (scope, perms) in cases {
        let label = format!("scope={scope:?} permissions={perms:?}");
        let t = grant_token(&app, &s, scope, perms);
        let r = app.get("/api/v1/documents", Some(&t)).await;
        assert_eq!(r.status, 403, "{label}: {}", r.summary());
        assert_insufficient_scope(&r, "read:documents");
        let r = send(
            app.authed(Method::POST, "/api/v1/documents", Some(&t))
                .json(&json!({"title": "t", "content": "c"})),
        )
        .await;
        assert_eq!(r.status, 403, "{label}: {}", r.summary());
    }
    assert_eq!(app.count_documents_in_db(&s).await, 0);
}
