//! The settings page (spec §5): name, picture and bio go to the tenant's Management API first and
//! then to the local profile; when the IdP refuses or cannot be reached the form comes back with
//! a clear error and nothing is changed locally.

use std::sync::Arc;

use pymd_server::management::ManagementClient;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::web::documents_pages::{ALICE_SUB, csrf_of, m2m_token, same_origin, signed_in, submit};
use crate::web::harness::{ALICE, Env, between, client};

/// Alice as the tenant's Management API sees her.
async fn tenant_user(env: &Env) -> Value {
    let token = m2m_token(env, &format!("{}api/v2/", env.tenant), None).await;
    let r = client()
        .get(format!("{}api/v2/users/{}", env.tenant, ALICE_SUB))
        .bearer_auth(token)
        .send()
        .await
        .expect("management GET");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("user JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_reaches_the_tenant_and_the_local_profile() {
    let env = Env::start().await;
    let (mut b, alice) = signed_in(&env, ALICE).await;
    let page = b.get(&format!("{}/settings", env.app)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-testid=\"settings-name\""));
    assert!(page.body.contains("data-testid=\"settings-bio\""));
    assert!(
        page.body.contains("value=\"Alice Example\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script"));

    let bio = "Writes <em>the</em> docs & tests.\nSecond line.";
    let p = submit(
        &env,
        &b,
        "/settings",
        &same_origin(&env),
        &[
            ("csrf_token", &csrf_of(&page)),
            ("name", "Alice Renamed"),
            ("picture", "https://example.com/alice.png"),
            ("bio", bio),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/settings?saved=1"));

    let remote = tenant_user(&env).await;
    assert_eq!(remote["name"], "Alice Renamed", "{remote}");
    assert_eq!(remote["user_metadata"]["bio"], bio, "{remote}");
    assert_eq!(remote["picture"], "https://example.com/alice.png");

    let local = env
        .store
        .find_user_by_auth0_id(ALICE_SUB)
        .await
        .expect("store")
        .expect("alice");
    assert_eq!(local.id, alice.id);
    assert_eq!(local.name.as_deref(), Some("Alice Renamed"));
    assert_eq!(local.bio.as_deref(), Some(bio));
    assert_eq!(
        local.picture.as_deref(),
        Some("https://example.com/alice.png")
    );

    let saved = b.get(&format!("{}/settings?saved=1", env.app)).await;
    assert!(saved.body.contains("data-testid=\"settings-saved\""));
    assert!(
        saved
            .body
            .contains("Writes &#60;em&#62;the&#60;/em&#62; docs &#38; tests."),
        "the bio is escaped"
    );
    let dash = b.get(&format!("{}/dashboard", env.app)).await;
    assert!(
        dash.body
            .contains("data-testid=\"user-name\">Alice Renamed<")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_token_endpoint_failing_settings_shows_an_error_and_changes_nothing() {
    let env = Env::start().await;
    let (mut b, _) = signed_in(&env, ALICE).await;
    let before = env
        .store
        .find_user_by_auth0_id(ALICE_SUB)
        .await
        .expect("store")
        .expect("alice");
    let page = b.get(&format!("{}/settings", env.app)).await;
    env.fault(json!({"token": {"status": 503}})).await;
    let p = submit(
        &env,
        &b,
        "/settings",
        &same_origin(&env),
        &[
            ("csrf_token", &csrf_of(&page)),
            ("name", "Should Not Stick"),
            ("picture", ""),
            ("bio", "nope"),
        ],
    )
    .await;
    assert!(
        p.status == StatusCode::SERVICE_UNAVAILABLE || p.status == StatusCode::BAD_GATEWAY,
        "{}: {}",
        p.status,
        p.body
    );
    let error = between(&p.body, "data-testid=\"settings-error\"><p>", "</p>").expect("an error");
    assert!(error.contains("nothing was changed"), "{error}");
    assert!(
        p.body.contains("value=\"Should Not Stick\""),
        "the input is kept"
    );
    let after = env
        .store
        .find_user_by_auth0_id(ALICE_SUB)
        .await
        .expect("store")
        .expect("alice");
    assert_eq!(after.name, before.name, "nothing changed locally");
    assert_eq!(after.bio, before.bio);
    let cleared = client()
        .delete(format!("{}__dev/faults", env.tenant))
        .send()
        .await
        .expect("clear faults");
    assert!(cleared.status().is_success());
    let remote = tenant_user(&env).await;
    assert_eq!(remote["name"], "Alice Example", "nothing changed remotely");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_management_api_unreachable_settings_shows_an_error_and_changes_nothing() {
    // A port that was just free: nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let env = Env::start_with(|state| {
        let unreachable = url::Url::parse(&format!("http://{closed}/")).expect("url");
        state.management = Arc::new(ManagementClient::new(
            state.http.clone(),
            unreachable,
            Some((
                "client".to_owned(),
                secrecy::SecretString::from("secret".to_owned()),
            )),
        ));
    })
    .await;
    let (mut b, _) = signed_in(&env, ALICE).await;
    let before = env
        .store
        .find_user_by_auth0_id(ALICE_SUB)
        .await
        .expect("store")
        .expect("alice");
    let page = b.get(&format!("{}/settings", env.app)).await;
    let p = submit(
        &env,
        &b,
        "/settings",
        &same_origin(&env),
        &[
            ("csrf_token", &csrf_of(&page)),
            ("name", "Unreachable"),
            ("picture", ""),
            ("bio", "x"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{}", p.body);
    assert!(p.body.contains("data-testid=\"settings-error\""));
    assert!(p.body.contains("nothing was changed"));
    let after = env
        .store
        .find_user_by_auth0_id(ALICE_SUB)
        .await
        .expect("store")
        .expect("alice");
    assert_eq!(
        (after.name, after.bio),
        (before.name, before.bio),
        "nothing changed locally"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_validates_and_needs_the_csrf_token_and_same_origin() {
    let env = Env::start().await;
    let (mut b, _) = signed_in(&env, ALICE).await;
    let page = b.get(&format!("{}/settings", env.app)).await;
    let csrf = csrf_of(&page);

    for (what, name, picture, field) in [
        ("empty name", "  ", "", "name-error"),
        ("not a URL", "Alice", "javascript:alert(1)", "picture-error"),
    ] {
        let p = submit(
            &env,
            &b,
            "/settings",
            &same_origin(&env),
            &[
                ("csrf_token", &csrf),
                ("name", name),
                ("picture", picture),
                ("bio", "kept bio"),
            ],
        )
        .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert!(
            p.body.contains(&format!("data-testid=\"{field}\"")),
            "{what}"
        );
        assert!(p.body.contains("kept bio</textarea>"), "{what}");
    }
    let long_bio = "b".repeat(2001);
    let p = submit(
        &env,
        &b,
        "/settings",
        &same_origin(&env),
        &[("csrf_token", &csrf), ("name", "Alice"), ("bio", &long_bio)],
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("data-testid=\"bio-error\""));

    for (headers, token) in [
        (same_origin(&env), "wrong"),
        (same_origin(&env), ""),
        (
            vec![("sec-fetch-site", "cross-site".to_owned())],
            csrf.as_str(),
        ),
        (vec![], csrf.as_str()),
    ] {
        let p = submit(
            &env,
            &b,
            "/settings",
            &headers,
            &[("csrf_token", token), ("name", "Mallory"), ("bio", "pwned")],
        )
        .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{headers:?} {token}");
    }
    let remote = tenant_user(&env).await;
    assert_eq!(remote["name"], "Alice Example", "{remote}");
    let local = env
        .store
        .find_user_by_auth0_id(ALICE_SUB)
        .await
        .expect("store")
        .expect("alice");
    assert_eq!(local.name.as_deref(), Some("Alice Example"));
}
