//! The dev tenant runs the tenant's own post-login Action JavaScript, as Auth0 does: the code
//! alone shapes the tokens, may deny the login, fails it by throwing or running past the time
//! budget, reaches HTTP servers through `fetch` and `axios`, and runs again at every
//! refresh-token exchange (auth0-actions.md).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Logs alice in and returns where the tenant sent the browser back to.
async fn login_landing(t: &Tenant) -> String {
    let req = AuthRequest::web();
    let mut b = t.browser();
    let (url, form) = b.login_page(t, &req).await;
    let (action, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    b.follow(&action, r).await.away()
}

#[tokio::test]
async fn the_actions_code_alone_shapes_the_tokens() {
    let t = spawn_with(with_action(
        r#"exports.onExecutePostLogin = async (event, api) => {
             api.accessToken.setCustomClaim('https://example.com/plan', 'gold');
             api.idToken.setCustomClaim('https://example.com/who', {
               logins: event.stats.logins_count,
               roles: event.authorization.roles,
               client: event.client.name,
               connection: event.connection.name,
               protocol: event.transaction.protocol,
               audience: event.resource_server.identifier,
               ip: event.request.ip,
             });
           };"#,
    ))
    .await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let access = jwt_claims(&tokens.access_token);
    let id = jwt_claims(&tokens.id_token);
    assert_eq!(access["https://example.com/plan"], "gold");
    assert_eq!(
        id["https://example.com/who"],
        json!({
            "logins": 1, "roles": ["user"], "client": "PyMD Web",
            "connection": "Username-Password-Authentication", "protocol": "oidc-basic-profile",
            "audience": API, "ip": "127.0.0.1",
        })
    );
    // Nothing is invented: this Action sets no roles claim, so no token carries one.
    assert!(access.get(ROLES_CLAIM).is_none(), "{access}");
    assert!(id.get(ROLES_CLAIM).is_none(), "{id}");
    let again = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(
        jwt_claims(&again.id_token)["https://example.com/who"]["logins"],
        2
    );
}

#[tokio::test]
async fn deny_ends_the_login_at_the_callback_with_access_denied_and_the_reason() {
    let t = spawn_with(with_action(
        "exports.onExecutePostLogin = async (event, api) => { api.access.deny('Members only'); };",
    ))
    .await;
    let to = login_landing(&t).await;
    assert!(to.starts_with(CALLBACK), "{to}");
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        query_param(&to, "error_description").as_deref(),
        Some("Members only")
    );
    assert!(query_param(&to, "code").is_none(), "{to}");
    assert!(query_param(&to, "state").is_some(), "{to}");
    let failed = t
        .wait_for_log("f", |e| e["description"] == "Members only")
        .await;
    assert_eq!(failed["user_id"], ALICE_ID);
}

#[tokio::test]
async fn a_throwing_action_fails_the_login_with_its_message() {
    let t = spawn_with(with_action(
        "exports.onExecutePostLogin = async () => { throw new Error('database of bans is down'); };",
    ))
    .await;
    let to = login_landing(&t).await;
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        query_param(&to, "error_description").as_deref(),
        Some("database of bans is down")
    );
}

#[tokio::test]
async fn an_action_past_the_time_budget_fails_the_login() {
    let code = "exports.onExecutePostLogin = async () => { while (true) {} };";
    let configure = with_action(code);
    let t = spawn_with(move |o| {
        configure(o);
        o.action_budget = Duration::from_millis(400);
    })
    .await;
    let started = Instant::now();
    let to = login_landing(&t).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        query_param(&to, "error_description").as_deref(),
        Some("Script Execution Time Exceeded")
    );
}

#[tokio::test]
async fn fetch_and_axios_reach_http_servers_from_the_action() {
    let rx = receiver(Behaviour::Ok).await;
    let code = format!(
        r#"const axios = require('axios');
           exports.onExecutePostLogin = async (event, api) => {{
             const f = await fetch('{base}hook/fetch', {{ method: 'POST', body: event.user.email }});
             const a = await axios.post('{base}hook/axios', {{ id: event.user.user_id }},
               {{ headers: {{ Authorization: 'Bearer from-axios' }} }});
             api.idToken.setCustomClaim('https://example.com/statuses', [f.status, a.status]);
           }};"#,
        base = rx.base
    );
    let t = spawn_with(with_action(&code)).await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(
        jwt_claims(&tokens.id_token)["https://example.com/statuses"],
        json!([200, 200])
    );
    let calls = rx.all();
    let fetched = calls
        .iter()
        .find(|r| r.path == "/hook/fetch")
        .expect("fetch call");
    assert_eq!(fetched.body, ALICE_EMAIL);
    let posted = calls
        .iter()
        .find(|r| r.path == "/hook/axios")
        .expect("axios call");
    assert_eq!(posted.authorization.as_deref(), Some("Bearer from-axios"));
    let body: Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(body["id"], ALICE_ID);
}

#[tokio::test]
async fn refresh_token_exchange_runs_the_action_again_and_it_may_deny() {
    let t = spawn_with(with_action(
        r#"exports.onExecutePostLogin = async (event, api) => {
             if (event.transaction.protocol === 'oauth2-refresh-token' && event.user.app_metadata.frozen) {
               api.access.deny('Account frozen');
               return;
             }
             api.accessToken.setCustomClaim('https://example.com/protocol', event.transaction.protocol);
             if (event.transaction.protocol === 'oauth2-refresh-token') api.user.setAppMetadata('frozen', true);
           };"#,
    ))
    .await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(
        jwt_claims(&tokens.access_token)["https://example.com/protocol"],
        "oidc-basic-profile"
    );
    let r = t.refresh(&tokens.refresh_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let refreshed = r.json();
    let access = jwt_claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(
        access["https://example.com/protocol"],
        "oauth2-refresh-token"
    );
    // The metadata the Action set is stored: the next exchange is denied by it.
    let m = t.management_token(Some("read:users")).await;
    let user = t
        .get_bearer(&format!("api/v2/users/{ALICE_ID}"), &m)
        .await
        .json();
    assert_eq!(user["app_metadata"]["frozen"], true, "{user}");
    let next = refreshed["refresh_token"].as_str().unwrap();
    let r = t.refresh(next).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.json()["error"], "access_denied");
    assert_eq!(r.json()["error_description"], "Account frozen");
}

#[tokio::test]
async fn console_output_reaches_the_tenants_action_console() {
    let t = spawn_with(with_action(
        "exports.onExecutePostLogin = async (event) => { console.log('hello', event.user.email); };",
    ))
    .await;
    t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let lines = t.get("__dev/actions/console").await.json();
    assert_eq!(
        lines,
        json!([{"level": "log", "text": "hello alice@example.com"}])
    );
}

#[tokio::test]
async fn a_dependency_the_dev_tenant_cannot_provide_stops_it_at_start() {
    let yaml = DEFAULT_TENANT_YAML.replace(
        "- name: axios\n        version: 1.7.9",
        "- name: lodash\n        version: 4.17.21",
    );
    assert_ne!(yaml, DEFAULT_TENANT_YAML);
    let data = TempDir::new();
    let mut options = pymd_tenant::TenantOptions::new(data.0.clone());
    options.source = pymd_tenant::TenantSource::Yaml(yaml);
    let err = try_start(options).await.expect_err("lodash is refused");
    let msg = err.to_string();
    assert!(msg.starts_with("tenant.yaml:"), "{msg}");
    assert!(msg.contains("lodash") && msg.contains("axios"), "{msg}");
}

#[tokio::test]
async fn an_action_that_does_not_compile_stops_the_tenant_at_start() {
    let configure = with_action("exports.onExecutePostLogin = async () => {");
    let data = TempDir::new();
    let mut options = pymd_tenant::TenantOptions::new(data.0.clone());
    configure(&mut options);
    let msg = try_start(options)
        .await
        .expect_err("a syntax error")
        .to_string();
    assert!(msg.contains("does not compile"), "{msg}");
}
