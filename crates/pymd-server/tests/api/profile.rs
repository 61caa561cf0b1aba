//! Spec §3 profile and the just-in-time user: roles only from the configured namespaced claim,
//! strictly typed; one user per subject however many first requests race.

use serde_json::{Value, json};

use crate::support::{ALL, TestApp, futures_join, sub};

#[tokio::test]
async fn the_profile_shows_the_subject_namespaced_roles_and_permissions() {
    let app = TestApp::spawn().await;
    let s = sub("profile");
    let t = app.token_with(&s, &["read:profile", "read:documents"], |c| {
        c.insert("https://pymd.io/roles".into(), json!(["admin", "user"]));
    });
    let r = app.get("/api/v1/profile", Some(&t)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let p = r.json();
    assert_eq!(p["user_id"], json!(s));
    assert_eq!(p["roles"], json!(["admin", "user"]));
    let mut perms: Vec<String> =
        serde_json::from_value(p["permissions"].clone()).expect("permissions");
    perms.sort();
    assert_eq!(perms, vec!["read:documents", "read:profile"]);
    for key in ["email", "name", "picture", "bio", "email_verified"] {
        assert!(p.get(key).is_some(), "{key} missing: {p}");
    }
    assert_eq!(p["email_verified"], json!(false));
}

#[tokio::test]
async fn roles_come_only_from_the_configured_claim_as_an_array_of_strings() {
    let app = TestApp::spawn().await;
    let cases: Vec<(&str, Value)> = vec![
        ("roles", json!(["admin"])),
        ("https://evil.example/roles", json!(["admin"])),
        ("https://pymd.io/roles/", json!(["admin"])),
        ("https://pymd.io/roles", json!("admin")),
        ("https://pymd.io/roles", json!([{"name": "admin"}])),
        ("https://pymd.io/roles", json!(["admin", 1])),
        ("https://pymd.io/roles", json!({"admin": true})),
    ];
    for (claim, value) in cases {
        let t = app.token_with(&sub("roles"), &["read:profile"], |c| {
            c.insert(claim.into(), value.clone());
        });
        let r = app.get("/api/v1/profile", Some(&t)).await;
        assert_eq!(r.status, 200, "{claim}={value}: {}", r.summary());
        assert_eq!(
            r.json()["roles"],
            json!([]),
            "{claim}={value} must not grant roles"
        );
    }
}

#[tokio::test]
async fn the_roles_claim_is_configurable() {
    let app = crate::support::TestApp::spawn_with(crate::support::SpawnOptions {
        vars: vec![(
            "PYMD_ROLES_CLAIM",
            "https://example.org/claims/roles".into(),
        )],
        ..Default::default()
    })
    .await;
    let t = app.token_with(&sub("custom-roles"), &["read:profile"], |c| {
        c.insert("https://example.org/claims/roles".into(), json!(["editor"]));
        c.insert("https://pymd.io/roles".into(), json!(["admin"]));
    });
    let r = app.get("/api/v1/profile", Some(&t)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.json()["roles"], json!(["editor"]));
}

#[tokio::test]
async fn the_profile_needs_read_profile() {
    let app = TestApp::spawn().await;
    let t = app.token(&sub("noprofile"), &["read:documents", "write:profile"]);
    let r = app.get("/api/v1/profile", Some(&t)).await;
    r.assert_error(403, "insufficient_scope");
    assert!(
        r.header("www-authenticate")
            .contains("scope=\"read:profile\""),
        "{}",
        r.summary()
    );
    let t = app.token(&sub("nowrite"), &["read:profile"]);
    let r = app
        .patch("/api/v1/profile", Some(&t), &json!({"bio": "x"}))
        .await;
    r.assert_error(403, "insufficient_scope");
    assert!(
        r.header("www-authenticate")
            .contains("scope=\"write:profile\"")
    );
}

#[tokio::test]
async fn profile_patches_with_bad_bodies_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let s = sub("badpatch");
    let t = app.token(&s, ALL);
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"picture": "javascript:alert(1)"}), "picture"),
        (json!({"bio": "x".repeat(2001)}), "bio"),
        (json!({"email": "evil@example.com"}), "email"),
        (json!({"user_id": "auth0|admin"}), "user_id"),
        (json!({}), "body"),
    ] {
        let r = app.patch("/api/v1/profile", Some(&t), &body).await;
        r.assert_validation(field);
    }
    let user = app.user(&s).await.expect("the JIT user");
    assert_eq!(user.name, None);
    assert_eq!(user.bio, None);
}

#[tokio::test]
async fn a_first_request_creates_the_user_just_in_time() {
    let app = TestApp::spawn().await;
    let s = sub("jit");
    assert!(app.user(&s).await.is_none());
    let t = app.token(&s, ALL);
    let r = app.get("/api/v1/documents", Some(&t)).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let user = app.user(&s).await.expect("created just in time");
    assert_eq!(user.auth0_id, s);
    // Further requests reuse it.
    app.get("/api/v1/profile", Some(&t)).await;
    assert_eq!(app.count_users_with_sub(&s).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_concurrent_first_requests_create_exactly_one_user() {
    let app = TestApp::spawn().await;
    for round in 0..3 {
        let s = sub(&format!("jit-race-{round}"));
        // Distinct tokens (different `iat`/claims would hit the cache otherwise only once).
        let tokens: Vec<String> = (0..20)
            .map(|i| {
                app.token_with(&s, ALL, |c| {
                    c.insert("jti".into(), json!(format!("{round}-{i}")));
                })
            })
            .collect();
        let results = futures_join(tokens.iter().enumerate().map(|(i, t)| {
            let path = if i % 2 == 0 {
                "/api/v1/documents"
            } else {
                "/api/v1/profile"
            };
            app.get(path, Some(t))
        }))
        .await;
        for r in &results {
            assert_eq!(r.status, 200, "{}", r.summary());
        }
        assert_eq!(
            app.count_users_with_sub(&s).await,
            1,
            "round {round}: concurrent first requests must create one user"
        );
        let ids: std::collections::HashSet<String> = results
            .iter()
            .filter(|r| r.json().get("user_id").is_some())
            .map(|r| r.json()["user_id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids.len(), 1, "every profile shows the same user: {ids:?}");
    }
}
