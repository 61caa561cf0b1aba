//! Group 6: the Management API subset (auth0-surface §12; security-anchors §J 149–150).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn user_path(id: &str) -> String {
    format!("api/v2/users/{}", enc(id))
}

fn assert_mgmt_error(r: &Resp, status: StatusCode) -> Value {
    assert_eq!(r.status, status, "{}", r.text);
    let body = r.json();
    assert_eq!(body["statusCode"], status.as_u16(), "{body}");
    assert_eq!(body["error"], status.canonical_reason().unwrap(), "{body}");
    assert!(body["message"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn without_a_token_the_management_api_answers_401() {
    let t = spawn().await;
    let r = t.get(&user_path(ALICE_ID)).await;
    assert_mgmt_error(&r, StatusCode::UNAUTHORIZED);
    // No limit is configured, so none is advertised.
    assert!(r.header("x-ratelimit-limit").is_none());
    let r = t.get_bearer(&user_path(ALICE_ID), "not.a.jwt").await;
    assert_mgmt_error(&r, StatusCode::UNAUTHORIZED);
    // Another authentication scheme is a malformed request.
    let r = t
        .http
        .get(t.url(&user_path(ALICE_ID)))
        .header("authorization", "Basic x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_token_without_read_users_cannot_read_a_user() {
    let t = spawn().await;
    let narrow = t.management_token(Some("read:roles")).await;
    let r = t.get_bearer(&user_path(ALICE_ID), &narrow).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.json()["errorCode"], "insufficient_scope");
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_with_401() {
    let t = spawn().await;
    let api_token = t.client_credentials(API, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t.get_bearer(&user_path(ALICE_ID), &api_token).await;
    let body = assert_mgmt_error(&r, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "Invalid token", "{body}");

    // A user's access token is not a Management API token either.
    let user = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let r = t.get_bearer(&user_path(ALICE_ID), &user.access_token).await;
    assert_mgmt_error(&r, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn patch_without_update_users_scope_is_403_insufficient_scope() {
    let t = spawn().await;
    let token = t.management_token(Some("read:users")).await;
    let r = t
        .patch_user(&token, ALICE_ID, &json!({"user_metadata": {"x": 1}}))
        .await;
    let body = assert_mgmt_error(&r, StatusCode::FORBIDDEN);
    assert_eq!(body["errorCode"], "insufficient_scope", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Insufficient scope"),
        "{body}"
    );
    // Nothing changed.
    let r = t.get_bearer(&user_path(ALICE_ID), &token).await;
    assert!(r.json()["user_metadata"].get("x").is_none());
}

#[tokio::test]
async fn get_user_returns_the_auth0_user_object_without_secrets() {
    let t = spawn().await;
    let token = t.management_token(None).await;
    let r = t.get_bearer(&user_path(ALICE_ID), &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let u = r.json();
    assert_eq!(u["user_id"], ALICE_ID);
    assert_eq!(u["email"], ALICE_EMAIL);
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["name"], "Alice Example");
    assert_eq!(u["nickname"], "alice");
    assert_eq!(u["user_metadata"]["bio"], "Writes the docs.");
    let identity = &u["identities"][0];
    assert_eq!(identity["connection"], "Username-Password-Authentication");
    assert_eq!(identity["provider"], "auth0");
    assert_eq!(identity["isSocial"], false);
    for k in ["created_at", "updated_at"] {
        let s = u[k].as_str().unwrap_or_else(|| panic!("{k} is a string"));
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{k}={s}: {e}"));
    }
    fn no_secrets(v: &Value, path: &str) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let lk = k.to_lowercase();
                    assert!(
                        !(lk == "password" || lk.contains("hash") || lk.contains("secret")),
                        "secret-looking member {path}.{k}"
                    );
                    no_secrets(x, &format!("{path}.{k}"));
                }
            }
            Value::Array(a) => a.iter().for_each(|x| no_secrets(x, path)),
            Value::String(s) => assert!(!s.starts_with("$argon2"), "hash at {path}"),
            _ => {}
        }
    }
    no_secrets(&u, "user");
}

#[tokio::test]
async fn users_by_email_returns_an_array() {
    let t = spawn().await;
    let token = t.management_token(None).await;
    let r = t
        .get_bearer(
            &format!("api/v2/users-by-email?email={}", enc(BOB_EMAIL)),
            &token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let users = r.json();
    let users = users.as_array().expect("a JSON array");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["user_id"], BOB_ID);
    let r = t
        .get_bearer("api/v2/users-by-email?email=admin%40example.com", &token)
        .await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(r.json()[0]["user_id"], ADMIN_ID);

    let r = t
        .get_bearer("api/v2/users-by-email?email=nobody%40example.com", &token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json(), json!([]));
}

#[tokio::test]
async fn patch_merges_user_metadata_one_level_deep_and_null_deletes() {
    let t = spawn().await;
    let token = t.management_token(None).await;
    let before = t.get_bearer(&user_path(ALICE_ID), &token).await.json();

    let r = t
        .patch_user(
            &token,
            ALICE_ID,
            &json!({"user_metadata": {"theme": "dark", "prefs": {"a": 1, "b": 2}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json()["user_metadata"],
        json!({"bio": "Writes the docs.", "theme": "dark", "prefs": {"a": 1, "b": 2}})
    );
    assert_ne!(
        r.json()["updated_at"],
        before["updated_at"],
        "updated_at moves on PATCH"
    );

    let r = t
        .patch_user(
            &token,
            ALICE_ID,
            &json!({"user_metadata": {"bio": null, "prefs": {"a": 3}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json()["user_metadata"],
        json!({"theme": "dark", "prefs": {"a": 3}}),
        "top-level keys replace, nested objects are not merged, null deletes"
    );

    // Persisted, not just echoed.
    let u = t.get_bearer(&user_path(ALICE_ID), &token).await.json();
    assert_eq!(
        u["user_metadata"],
        json!({"theme": "dark", "prefs": {"a": 3}})
    );
}

#[tokio::test]
async fn one_patch_sets_user_metadata_app_metadata_and_root_attributes() {
    let t = spawn_with(|o| o.management_rate_limit_per_sec = Some(1000)).await;
    let token = t.management_token(None).await;
    let body = json!({
        "user_metadata": {"bio": null, "theme": "dark"},
        "app_metadata": {"plan": "pro"},
        "name": "Alice A."
    });
    let r = t.patch_user(&token, ALICE_ID, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = r.json();
    assert_eq!(u["user_metadata"], json!({"theme": "dark"}));
    assert_eq!(u["app_metadata"], json!({"plan": "pro"}));
    assert_eq!(u["name"], "Alice A.");
}

#[tokio::test]
async fn patch_replaces_root_attributes_and_the_next_tokens_carry_them() {
    let t = spawn().await;
    let token = t.management_token(None).await;
    let r = t
        .patch_user(&token, BOB_ID, &json!({"name": "Robert Example"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["name"], "Robert Example");
    let tokens = t.login_tokens(BOB_EMAIL, BOB_PASSWORD).await;
    assert_eq!(jwt_claims(&tokens.id_token)["name"], "Robert Example");
}

#[tokio::test]
async fn an_unknown_user_is_404_inexistent_user() {
    let t = spawn().await;
    let token = t.management_token(None).await;
    let expected = json!({
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user"
    });
    let r = t
        .get_bearer(&user_path("auth0|000000000000000000000000"), &token)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.json(), expected);
    let r = t
        .patch_user(
            &token,
            "auth0|000000000000000000000000",
            &json!({"user_metadata": {"a": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.json(), expected);
}

#[tokio::test]
async fn an_encoded_traversal_in_the_user_id_is_not_found_never_500() {
    let t = spawn().await;
    let token = t.management_token(None).await;
    let r = t
        .get_bearer("api/v2/users/..%2F..%2F__dev%2Flogs", &token)
        .await;
    assert!(
        r.status == StatusCode::NOT_FOUND || r.status == StatusCode::BAD_REQUEST,
        "{} {}",
        r.status,
        r.text
    );
}

#[tokio::test]
async fn invalid_json_in_a_patch_is_400_and_changes_nothing() {
    let t = spawn().await;
    let token = t.management_token(None).await;
    let r = into_resp(
        t.http
            .patch(t.url(&user_path(ALICE_ID)))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{\"user_metadata\": {\"bio\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_mgmt_error(&r, StatusCode::BAD_REQUEST);
    let u = t.get_bearer(&user_path(ALICE_ID), &token).await.json();
    assert_eq!(u["user_metadata"]["bio"], "Writes the docs.");
}

#[tokio::test]
async fn an_unknown_root_property_in_a_patch_is_400_invalid_body() {
    let t = spawn().await;
    let token = t.management_token(None).await;
    let r = t
        .patch_user(&token, ALICE_ID, &json!({"favourite_colour": "blue"}))
        .await;
    let body = assert_mgmt_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorCode"], "invalid_body", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Additional properties not allowed"),
        "{body}"
    );
}

#[tokio::test]
async fn user_roles_and_permissions_are_readable() {
    let t = spawn().await;
    let token = t.management_token(None).await;
    let r = t
        .get_bearer(&format!("{}/roles", user_path(ADMIN_ID)), &token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let roles = r.json();
    let names: BTreeSet<&str> = roles
        .as_array()
        .expect("a bare array without include_totals")
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["user", "admin"]));
    for role in roles.as_array().unwrap() {
        assert!(role["id"].as_str().unwrap().starts_with("rol_"), "{role}");
    }

    let r = t
        .get_bearer(&format!("{}/permissions", user_path(ALICE_ID)), &token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let perms = r.json();
    let pairs: BTreeSet<(String, String)> = perms
        .as_array()
        .expect("a bare array")
        .iter()
        .map(|p| {
            (
                p["resource_server_identifier"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                p["permission_name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = USER_PERMISSIONS
        .iter()
        .map(|p| (API.to_string(), p.to_string()))
        .collect();
    assert_eq!(pairs, expected);
    let r = t
        .get_bearer(&format!("{}/permissions", user_path(ADMIN_ID)), &token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json().as_array().unwrap().len(), 5);

    let r = t
        .get_bearer(
            &format!(
                "{}/roles?include_totals=true&page=0&per_page=50",
                user_path(ADMIN_ID)
            ),
            &token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let page = r.json();
    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(page["roles"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn management_responses_carry_rate_limit_headers() {
    let t = spawn_with(|o| o.management_rate_limit_per_sec = Some(50)).await;
    let token = t.management_token(None).await;
    let r = t.get_bearer(&user_path(ALICE_ID), &token).await;
    assert_eq!(r.status, StatusCode::OK);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        let v = r.header(h).unwrap_or_else(|| panic!("{h} present"));
        v.parse::<u64>()
            .unwrap_or_else(|_| panic!("{h}={v} is a number"));
    }
}

#[tokio::test]
async fn exceeding_the_management_rate_limit_gives_429() {
    let t = spawn_with(|o| o.management_rate_limit_per_sec = Some(2)).await;
    let token = t.management_token(None).await;
    let mut limited = None;
    for _ in 0..20 {
        let r = t.get_bearer(&user_path(ALICE_ID), &token).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = limited.expect("a 429 within 20 quick requests at 2/s");
    let body = assert_mgmt_error(&r, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["errorCode"], "too_many_requests", "{body}");
    assert!(r.header("x-ratelimit-limit").is_some());
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert!(r.header("x-ratelimit-reset").is_some());
}

#[tokio::test]
async fn unauthenticated_requests_count_against_the_rate_limit_too() {
    let t = spawn_with(|o| o.management_rate_limit_per_sec = Some(2)).await;
    let mut saw_429 = false;
    for _ in 0..6 {
        let r = t.get("api/v2/users/x").await;
        assert!(r.header("x-ratelimit-remaining").is_some());
        saw_429 |= r.status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(saw_429);
}
