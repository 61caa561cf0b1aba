//! Spec §3 admin routes and §7 audit: `GET /api/v1/admin/users` and `GET /api/v1/admin/audit`
//! need the `admin` role (a caller without it gets 403 `forbidden`, audited as `admin_denied`);
//! both are keyset paged (`?limit=` 1–100, `?cursor=`), the audit list filters by user, event and
//! time.

use std::collections::HashSet;
use std::time::Duration;

use pymd_domain::SyncUser;
use pymd_storage::NewAuditEvent;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::support::{ALL, TestApp, sub};

const USERS: &str = "/api/v1/admin/users";
const AUDIT: &str = "/api/v1/admin/audit";

fn admin_token(app: &TestApp, who: &str) -> String {
    app.token_with(who, &[], |c| {
        c.insert("https://pymd.io/roles".into(), json!(["admin"]));
    })
}

async fn add_user(app: &TestApp, tag: &str) -> String {
    let auth0_id = sub(tag);
    app.state
        .store
        .upsert_user(&SyncUser {
            auth0_id: auth0_id.clone(),
            email: Some(format!("{tag}@example.com")),
            name: Some(format!("User {tag}")),
            picture: None,
            email_verified: Some(true),
        })
        .await
        .expect("upsert_user");
    auth0_id
}

async fn add_event(app: &TestApp, event: &str, subject: &str) {
    app.state
        .store
        .record_audit(&NewAuditEvent {
            event: event.into(),
            outcome: "success".into(),
            subject: Some(subject.into()),
            ip: Some("198.51.100.7".into()),
            user_agent: Some("test-agent".into()),
            request_id: Some("req-1".into()),
            detail: json!({ "k": "v" }),
        })
        .await
        .expect("record_audit");
}

/// The audit list for `query` as an admin (200 asserted).
async fn audit(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app.get(&format!("{AUDIT}{query}"), Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    r.json()["events"].as_array().expect("events").clone()
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().expect("event name"))
        .collect()
}

#[tokio::test]
async fn a_caller_without_the_admin_role_is_refused_and_audited() {
    let app = TestApp::spawn().await;
    let user = sub("not-admin");
    let token = app.token(&user, ALL);
    let other_role = app.token_with(&sub("editor"), ALL, |c| {
        c.insert("https://pymd.io/roles".into(), json!(["editor"]));
    });
    for path in [USERS, AUDIT] {
        app.get(path, Some(&token))
            .await
            .assert_error(403, "forbidden");
        app.get(path, Some(&other_role))
            .await
            .assert_error(403, "forbidden");
    }
    let denied: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.event.event == "admin_denied")
        .collect();
    // One row per user and minute, however many refusals (each user's first one is kept).
    assert_eq!(denied.len(), 2);
    assert!(
        denied
            .iter()
            .any(|e| e.event.subject.as_deref() == Some(user.as_str())
                && e.event.detail["path"] == USERS)
    );
    for _ in 0..10 {
        app.get(AUDIT, Some(&token))
            .await
            .assert_error(403, "forbidden");
    }
    let after = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.event.event == "admin_denied")
        .count();
    assert_eq!(after, 2, "a flood of refusals is not a flood of writes");
}

#[tokio::test]
async fn without_a_token_both_routes_answer_401() {
    let app = TestApp::spawn().await;
    for path in [USERS, AUDIT] {
        assert_eq!(app.get(path, None).await.status, 401, "{path}");
    }
}

#[tokio::test]
async fn an_admin_lists_users_with_their_fields() {
    let app = TestApp::spawn().await;
    let alice = add_user(&app, "alice").await;
    let token = admin_token(&app, &sub("admin"));
    let r = app.get(USERS, Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let body = r.json();
    assert_eq!(body["next_cursor"], Value::Null);
    let users = body["users"].as_array().expect("users");
    assert_eq!(users.len(), 2, "alice and the admin (created on first use)");
    let stored = app.user(&alice).await.expect("alice stored");
    let view = users
        .iter()
        .find(|u| u["auth0_id"] == alice.as_str())
        .expect("alice listed");
    assert_eq!(view["user_id"], stored.id.to_string());
    assert_eq!(view["email"], "alice@example.com");
    assert_eq!(view["name"], "User alice");
    assert_eq!(view["picture"], Value::Null);
    assert_eq!(view["email_verified"], true);
    for field in ["created_at", "updated_at"] {
        let t = view[field].as_str().expect(field);
        time::OffsetDateTime::parse(t, &Rfc3339).expect("RFC 3339");
    }
    assert!(view.get("bio").is_none(), "only the listed fields");
}

#[tokio::test]
async fn limit_1_walks_every_user_once_and_ends_with_a_null_cursor() {
    let app = TestApp::spawn().await;
    let mut expected = HashSet::from([add_user(&app, "a").await, add_user(&app, "b").await]);
    expected.insert(add_user(&app, "c").await);
    let admin = sub("admin");
    let token = admin_token(&app, &admin);
    expected.insert(admin);

    let mut seen = Vec::new();
    let mut path = format!("{USERS}?limit=1");
    loop {
        let r = app.get(&path, Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.summary());
        let body = r.json();
        let users = body["users"].as_array().expect("users");
        assert_eq!(users.len(), 1, "{body}");
        seen.push(users[0]["auth0_id"].as_str().expect("auth0_id").to_owned());
        match body["next_cursor"].as_str() {
            Some(c) => path = format!("{USERS}?limit=1&cursor={c}"),
            None => break,
        }
        assert!(seen.len() <= expected.len(), "the walk does not end");
    }
    assert_eq!(seen.len(), expected.len(), "no duplicates: {seen:?}");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), expected);
}

#[tokio::test]
async fn bad_limits_and_cursors_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let token = admin_token(&app, &sub("admin"));
    for path in [USERS, AUDIT] {
        for limit in ["0", "101", "-1", "abc"] {
            app.get(&format!("{path}?limit={limit}"), Some(&token))
                .await
                .assert_validation("limit");
        }
        app.get(&format!("{path}?cursor=not-a-cursor"), Some(&token))
            .await
            .assert_validation("cursor");
        let r = app.get(&format!("{path}?limit=100"), Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.summary());
        app.get(&format!("{path}?limit=1&limit=2"), Some(&token))
            .await
            .assert_error(400, "invalid_request");
    }
}

#[tokio::test]
async fn the_audit_list_shows_events_newest_first_with_their_fields() {
    let app = TestApp::spawn().await;
    let user = sub("denied");
    app.get(USERS, Some(&app.token(&user, ALL)))
        .await
        .assert_error(403, "forbidden");
    let token = admin_token(&app, &sub("admin"));
    add_event(&app, "profile_update", "auth0|someone").await;

    let events = audit(&app, &token, "").await;
    assert_eq!(names(&events), ["profile_update", "admin_denied"]);
    let stored = app.audit_events().await;
    let denied = &events[1];
    assert_eq!(denied["id"], stored[1].id);
    assert_eq!(denied["outcome"], "refused");
    assert_eq!(denied["subject"], user.as_str());
    assert_eq!(denied["ip"], "127.0.0.1");
    assert_eq!(denied["detail"], json!({ "path": USERS }));
    assert!(denied["request_id"].is_string(), "{denied}");
    assert!(denied["user_agent"].is_string() || denied["user_agent"].is_null());
    let at = denied["at"].as_str().expect("at");
    time::OffsetDateTime::parse(at, &Rfc3339).expect("RFC 3339");
    assert_eq!(events[0]["user_agent"], "test-agent");
}

#[tokio::test]
async fn the_audit_list_filters_by_user_and_by_event() {
    let app = TestApp::spawn().await;
    let token = admin_token(&app, &sub("admin"));
    add_event(&app, "login_success", "auth0|alice").await;
    add_event(&app, "login_failure", "auth0|bob").await;
    add_event(&app, "logout", "auth0|alice").await;

    let alice = audit(&app, &token, "?user=auth0%7Calice").await;
    assert_eq!(names(&alice), ["logout", "login_success"]);
    assert!(alice.iter().all(|e| e["subject"] == "auth0|alice"));
    let failures = audit(&app, &token, "?event=login_failure").await;
    assert_eq!(names(&failures), ["login_failure"]);
    assert_eq!(failures[0]["subject"], "auth0|bob");
    let both = audit(&app, &token, "?user=auth0%7Calice&event=logout").await;
    assert_eq!(names(&both), ["logout"]);
    assert!(audit(&app, &token, "?user=auth0%7Cnobody").await.is_empty());
    app.get(&format!("{AUDIT}?user="), Some(&token))
        .await
        .assert_validation("user");
}

#[tokio::test]
async fn the_audit_list_filters_by_time() {
    let app = TestApp::spawn().await;
    let token = admin_token(&app, &sub("admin"));
    add_event(&app, "early", "auth0|x").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let middle = pymd_domain::now().format(&Rfc3339).expect("format");
    tokio::time::sleep(Duration::from_millis(20)).await;
    add_event(&app, "late", "auth0|x").await;
    let middle = middle.replace('+', "%2B");

    assert_eq!(
        names(&audit(&app, &token, &format!("?since={middle}")).await),
        ["late"]
    );
    assert_eq!(
        names(&audit(&app, &token, &format!("?until={middle}")).await),
        ["early"]
    );
    let window = audit(
        &app,
        &token,
        "?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(names(&window), ["late", "early"]);
    assert!(
        audit(&app, &token, "?until=2000-01-01T00:00:00Z")
            .await
            .is_empty()
    );

    for bad in ["yesterday", "2026-13-01T00:00:00Z", "2026-01-01"] {
        app.get(&format!("{AUDIT}?since={bad}"), Some(&token))
            .await
            .assert_validation("since");
        app.get(&format!("{AUDIT}?until={bad}"), Some(&token))
            .await
            .assert_validation("until");
    }
    app.get(
        &format!("{AUDIT}?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"),
        Some(&token),
    )
    .await
    .assert_validation("until");
}

#[tokio::test]
async fn the_audit_list_pages_with_a_cursor_until_null() {
    let app = TestApp::spawn().await;
    let token = admin_token(&app, &sub("admin"));
    for i in 0..5 {
        add_event(&app, &format!("e{i}"), "auth0|pager").await;
    }
    let mut seen = Vec::new();
    let mut query = "?user=auth0%7Cpager&limit=2".to_owned();
    loop {
        let r = app.get(&format!("{AUDIT}{query}"), Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.summary());
        let body = r.json();
        let events = body["events"].as_array().expect("events");
        assert!(!events.is_empty() && events.len() <= 2, "{body}");
        seen.extend(names(events).into_iter().map(str::to_owned));
        match body["next_cursor"].as_str() {
            Some(c) => query = format!("?user=auth0%7Cpager&limit=2&cursor={c}"),
            None => break,
        }
        assert!(seen.len() <= 5, "the walk does not end");
    }
    assert_eq!(seen, ["e4", "e3", "e2", "e1", "e0"]);
}

#[tokio::test]
async fn the_openapi_document_lists_both_admin_routes() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let paths = &r.json()["paths"];
    for path in [USERS, AUDIT] {
        let op = &paths[path]["get"];
        assert!(op.is_object(), "{path} missing");
        assert_eq!(op["tags"], json!(["admin"]), "{path}");
    }
}
