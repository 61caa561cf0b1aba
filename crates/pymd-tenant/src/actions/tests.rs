//! The engine against small Actions: what the code asks for is what the outcome holds, and
//! every way an Action can fail ends the flow with the right failure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::*;

fn action(code: &str) -> Action {
    Action {
        name: "test-action".into(),
        code: code.into(),
        secrets: vec![("API_KEY".into(), "s3cret".into())],
        dependencies: vec!["axios".into()],
    }
}

fn flow(codes: &[&str], budget: Duration) -> PostLoginFlow {
    let actions = codes
        .iter()
        .enumerate()
        .map(|(i, c)| Action {
            name: format!("action-{i}"),
            ..action(c)
        })
        .collect();
    PostLoginFlow::new(actions, budget, reqwest::Client::new())
}

fn event() -> Value {
    json!({
        "user": {"user_id": "auth0|1", "email": "a@example.com", "user_metadata": {}, "app_metadata": {}},
        "authorization": {"roles": ["user"]},
        "stats": {"logins_count": 1},
        "transaction": {"protocol": "oidc-basic-profile"},
        "secrets": {},
    })
}

async fn run(code: &str) -> Result<Outcome, Failure> {
    flow(&[code], Duration::from_secs(5)).run(event()).await
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, String, String)>>>);

/// A local server: `/json` answers JSON, `/echo` records method, authorization and body,
/// `/fail` answers 500, `/slow` never answers within a test.
async fn server() -> (String, Seen) {
    let seen = Seen::default();
    let s = seen.clone();
    let app = Router::new()
        .route(
            "/json",
            get(|| async { axum::Json(json!({"hello": "world"})) }),
        )
        .route(
            "/echo",
            post(move |headers: HeaderMap, body: String| {
                let s = s.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let ct = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    s.0.lock().unwrap().push((auth, ct, body.clone()));
                    axum::Json(json!({"received": body}))
                }
            }),
        )
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_claims_and_scopes_come_from_the_code() {
    let out = run(r#"
        exports.onExecutePostLogin = async (event, api) => {
          api.accessToken.setCustomClaim('https://example.com/roles', event.authorization.roles);
          api.idToken.setCustomClaim('https://example.com/email', event.user.email);
          api.accessToken.setCustomClaim('https://example.com/secret', event.secrets.API_KEY);
          api.accessToken.addScope('read:extra');
          api.accessToken.removeScope('write:documents');
        };"#)
    .await
    .expect("the flow passes");
    assert_eq!(
        out.access_claims["https://example.com/roles"],
        json!(["user"])
    );
    assert_eq!(
        out.access_claims["https://example.com/secret"],
        json!("s3cret")
    );
    assert_eq!(
        out.id_claims["https://example.com/email"],
        json!("a@example.com")
    );
    let mut claims = serde_json::Map::new();
    claims.insert(
        "scope".into(),
        json!("openid read:documents write:documents"),
    );
    out.shape_access_token(&mut claims);
    assert_eq!(claims["scope"], json!("openid read:documents read:extra"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_claims_are_dropped_as_auth0_drops_them() {
    let out = run(r#"
        exports.onExecutePostLogin = async (event, api) => {
          api.accessToken.setCustomClaim('sub', 'someone-else');
          api.accessToken.setCustomClaim('permissions', ['admin:everything']);
          api.accessToken.setCustomClaim('https://auth0.com/x', 1);
          api.accessToken.setCustomClaim('https://example.com/ok', 1);
          api.accessToken.setCustomClaim('plain', 'non-namespaced claims are allowed');
        };"#)
    .await
    .unwrap();
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!("auth0|1"));
    out.shape_access_token(&mut claims);
    assert_eq!(claims["sub"], json!("auth0|1"));
    assert!(!claims.contains_key("permissions"));
    assert!(!claims.contains_key("https://auth0.com/x"));
    assert_eq!(claims["https://example.com/ok"], json!(1));
    assert_eq!(claims["plain"], json!("non-namespaced claims are allowed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_ends_the_flow_with_the_reason_and_later_actions_do_not_run() {
    let f = flow(
        &[
            "exports.onExecutePostLogin = async (e, api) => { api.access.deny('No entry today'); };",
            "exports.onExecutePostLogin = async (e, api) => { throw new Error('must not run'); };",
        ],
        Duration::from_secs(5),
    );
    assert_eq!(
        f.run(event()).await,
        Err(Failure::Denied("No entry today".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thrown_error_fails_the_flow_with_its_message() {
    let r = run("exports.onExecutePostLogin = async () => { throw new Error('kaput'); };").await;
    assert_eq!(
        r,
        Err(Failure::Threw {
            action: "action-0".into(),
            message: "kaput".into()
        })
    );
    let sync = run("exports.onExecutePostLogin = () => { null.x; };").await;
    assert!(
        matches!(&sync, Err(Failure::Threw { message, .. }) if message.contains("null")),
        "{sync:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_loop_is_stopped_at_the_budget() {
    let started = Instant::now();
    let r = flow(
        &["exports.onExecutePostLogin = async () => { while (true) {} };"],
        Duration::from_millis(300),
    )
    .run(event())
    .await;
    assert!(matches!(r, Err(Failure::TimedOut { .. })), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        r.unwrap_err().description(),
        "Script Execution Time Exceeded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_past_the_budget_times_out_and_a_short_one_fires() {
    let r = flow(
        &["exports.onExecutePostLogin = async () => { await new Promise(r => setTimeout(r, 60000)); };"],
        Duration::from_millis(200),
    )
    .run(event())
    .await;
    assert!(matches!(r, Err(Failure::TimedOut { .. })), "{r:?}");
    let out = run(r#"
        exports.onExecutePostLogin = async (e, api) => {
          await new Promise(r => setTimeout(r, 20));
          api.idToken.setCustomClaim('https://example.com/waited', true);
        };"#)
    .await
    .unwrap();
    assert_eq!(out.id_claims["https://example.com/waited"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promise_nothing_can_settle_fails_the_flow() {
    let r = run("exports.onExecutePostLogin = () => new Promise(() => {});").await;
    assert!(matches!(r, Err(Failure::NeverSettles { .. })), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_reaches_http_servers_and_reads_json() {
    let (base, seen) = server().await;
    let out = run(&format!(
        r#"
        exports.onExecutePostLogin = async (event, api) => {{
          const r = await fetch('{base}/json');
          const body = await r.json();
          const p = await fetch('{base}/echo', {{
            method: 'POST',
            headers: {{ Authorization: `Bearer ${{event.secrets.API_KEY}}`, 'Content-Type': 'application/json' }},
            body: JSON.stringify({{ id: event.user.user_id }}),
          }});
          api.idToken.setCustomClaim('https://example.com/got', [r.status, r.ok, body.hello, p.status]);
        }};"#
    ))
    .await
    .unwrap();
    assert_eq!(
        out.id_claims["https://example.com/got"],
        json!([200, true, "world", 200])
    );
    let calls = seen.0.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![(
            "Bearer s3cret".to_string(),
            "application/json".to_string(),
            r#"{"id":"auth0|1"}"#.to_string()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axios_posts_json_and_rejects_on_error_statuses_and_timeouts() {
    let (base, seen) = server().await;
    let out = run(&format!(
        r#"
        const axios = require('axios');
        exports.onExecutePostLogin = async (event, api) => {{
          const ok = await axios.post('{base}/echo', {{ a: 1 }}, {{ headers: {{ Authorization: 'Bearer x' }} }});
          let failed = null, timedOut = null;
          try {{ await axios.get('{base}/fail'); }} catch (e) {{ failed = [e.isAxiosError, e.response.status, e.message]; }}
          try {{ await axios.get('{base}/slow', {{ timeout: 100 }}); }} catch (e) {{ timedOut = e.code; }}
          api.idToken.setCustomClaim('https://example.com/r', [ok.status, ok.data.received, failed, timedOut]);
        }};"#
    ))
    .await
    .unwrap();
    assert_eq!(
        out.id_claims["https://example.com/r"],
        json!([
            200,
            "{\"a\":1}",
            [true, 500, "Request failed with status code 500"],
            "ECONNABORTED"
        ])
    );
    let calls = seen.0.lock().unwrap().clone();
    assert_eq!(calls[0].0, "Bearer x");
    assert_eq!(calls[0].1, "application/json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_that_outlives_the_budget_fails_the_flow() {
    let (base, _) = server().await;
    let started = Instant::now();
    let r = flow(
        &[&format!(
            "exports.onExecutePostLogin = async () => {{ await fetch('{base}/slow'); }};"
        )],
        Duration::from_millis(300),
    )
    .run(event())
    .await;
    assert!(matches!(r, Err(Failure::TimedOut { .. })), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_gives_only_declared_provided_modules() {
    let r = run("const _ = require('lodash'); exports.onExecutePostLogin = async () => {};").await;
    assert!(
        matches!(&r, Err(Failure::Threw { message, .. }) if message == "Cannot find module 'lodash'"),
        "{r:?}"
    );
    let r = run("const c = require('crypto'); exports.onExecutePostLogin = async () => {};").await;
    assert!(
        matches!(&r, Err(Failure::Threw { message, .. }) if message.contains("crypto")),
        "{r:?}"
    );
    let undeclared = Action {
        dependencies: vec![],
        ..action("require('axios'); exports.onExecutePostLogin = async () => {};")
    };
    let r = PostLoginFlow::new(
        vec![undeclared],
        Duration::from_secs(5),
        reqwest::Client::new(),
    )
    .run(event())
    .await;
    assert!(
        matches!(&r, Err(Failure::Threw { message, .. }) if message == "Cannot find module 'axios'"),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_api_calls_fail_clearly() {
    let r = run(
        "exports.onExecutePostLogin = async (e, api) => { api.redirect.sendUserTo('https://x'); };",
    )
    .await;
    assert!(
        matches!(&r, Err(Failure::Threw { message, .. })
            if message == "api.redirect.sendUserTo is not supported by the PyMD dev tenant"),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_lines_are_kept_and_metadata_reaches_the_next_action() {
    let f = flow(
        &[
            r#"exports.onExecutePostLogin = async (e, api) => {
                 console.log('hello', { n: 1 });
                 api.user.setAppMetadata('plan', 'gold');
                 api.user.setUserMetadata('theme', 'dark');
               };"#,
            r#"exports.onExecutePostLogin = async (e, api) => {
                 api.idToken.setCustomClaim('https://example.com/plan', e.user.app_metadata.plan);
               };"#,
        ],
        Duration::from_secs(5),
    );
    let out = f.run(event()).await.unwrap();
    assert_eq!(out.id_claims["https://example.com/plan"], json!("gold"));
    assert_eq!(out.app_metadata["plan"], json!("gold"));
    assert_eq!(out.user_metadata["theme"], json!("dark"));
    let lines = f.console();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].text, r#"hello {"n":1}"#);
}

#[test]
fn syntax_errors_are_found_before_any_login() {
    assert!(check_syntax("exports.onExecutePostLogin = async () => {};").is_ok());
    let e = check_syntax("exports.onExecutePostLogin = async () => {").unwrap_err();
    assert!(e.contains("SyntaxError") || e.contains("expecting"), "{e}");
}
