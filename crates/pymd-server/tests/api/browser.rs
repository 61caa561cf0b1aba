//! The project's Playwright suite (`tests/browser/` at the repository's root) in a real browser:
//! this test starts the app and the dev tenant on `127.0.0.1:0` (the web harness), a small
//! loopback "test control" server, and runs the suite with `node` against them, in Debian's
//! Chromium (`/usr/bin/chromium`, never a downloaded browser). The suite's output is the failure
//! message.
//!
//! Needs `node`, a Chromium and `npm ci` in `tests/browser/`. Without any of them the test prints
//! `skipped: …` and passes, unless `PYMD_REQUIRE_BROWSER` is set (`.ci/run` installs them and
//! sets it). `PYMD_NODE` and `PYMD_CHROMIUM` name other executables; `PYMD_BROWSER_GREP` runs
//! only the scenarios whose title matches; `PYMD_UPDATE_SCREENSHOTS=1` also writes the
//! screenshots to `docs/screenshots/`.
//!
//! The test control server lets the suite do what a browser cannot, without sleeping: make the
//! session's access token look expired to the app (the same rewrite of the session row as
//! `web/refresh.rs`), and read back when it now expires, so "an access token that expires
//! mid-session is refreshed without the user noticing" is checked at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pymd_storage::{SessionRefresh, Store};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::web::harness::Env;

/// The longest the whole suite may run before the test gives up on it.
const SUITE_TIMEOUT: Duration = Duration::from_secs(600);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn suite_dir() -> PathBuf {
    repo_root().join("tests/browser")
}

/// Where the screenshots, traces and reports go (`target/browser`, or under `CARGO_TARGET_DIR`).
fn artifacts_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("browser")
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `node`, the browser and the installed suite, or why the suite cannot run.
fn tools() -> Result<(PathBuf, PathBuf), String> {
    let node = match std::env::var_os("PYMD_NODE") {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => on_path("node"),
    }
    .ok_or("node is not installed (set PYMD_NODE or PATH)")?;
    let chromium = std::env::var_os("PYMD_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return Err(format!(
            "no browser at {} (apt-get install chromium, or set PYMD_CHROMIUM)",
            chromium.display()
        ));
    }
    if !suite_dir().join("node_modules/@playwright/test").is_dir() {
        return Err("the suite's packages are not installed (run npm ci in tests/browser)".into());
    }
    Ok((node, chromium))
}

/// The session row of a `pymd_session` cookie value.
fn hash_of(cookie: &str) -> Option<Vec<u8>> {
    let id = URL_SAFE_NO_PAD.decode(cookie).ok()?;
    Some(Sha256::digest(id).to_vec())
}

#[derive(Deserialize)]
struct CookieParam {
    cookie: String,
}

/// `POST /sessions/expire {"cookie"}`: the app now believes the session's access token expired a
/// second ago (the tokens themselves are unchanged).
async fn expire(
    State(store): State<Arc<dyn Store>>,
    Json(p): Json<CookieParam>,
) -> (StatusCode, Json<Value>) {
    let Some(hash) = hash_of(&p.cookie) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "cookie"})));
    };
    let Ok(Some(current)) = store.find_session(&hash).await else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no session"})));
    };
    let same_tokens = SessionRefresh {
        access_token: current.access_token.clone(),
        refresh_token: None,
        id_token: None,
        access_token_expires_at: pymd_domain::now() - time::Duration::seconds(1),
    };
    match store
        .complete_session_refresh(&hash, &same_tokens, current.access_token_expires_at)
        .await
    {
        Ok(true) => (
            StatusCode::OK,
            Json(json!({"was": current.access_token_expires_at.unix_timestamp()})),
        ),
        _ => (
            StatusCode::CONFLICT,
            Json(json!({"error": "not rewritten"})),
        ),
    }
}

/// `GET /sessions/expiry?cookie=…`: when the app believes the session's access token expires
/// (Unix seconds), and the time now.
async fn expiry(
    State(store): State<Arc<dyn Store>>,
    Query(p): Query<CookieParam>,
) -> (StatusCode, Json<Value>) {
    let Some(hash) = hash_of(&p.cookie) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "cookie"})));
    };
    match store.find_session(&hash).await {
        Ok(Some(s)) => (
            StatusCode::OK,
            Json(json!({
                "expires_at": s.access_token_expires_at.unix_timestamp(),
                "now": pymd_domain::now().unix_timestamp(),
            })),
        ),
        _ => (StatusCode::NOT_FOUND, Json(json!({"error": "no session"}))),
    }
}

/// Starts the test control server on 127.0.0.1:0; returns its base URL.
async fn start_control(store: Arc<dyn Store>) -> String {
    let app = Router::new()
        .route("/sessions/expire", post(expire))
        .route("/sessions/expiry", get(expiry))
        .with_state(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind control");
    let url = format!("http://{}", listener.local_addr().expect("control addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playwright_suite_passes_in_chromium() {
    let (node, chromium) = match tools() {
        Ok(found) => found,
        Err(why) => {
            assert!(
                std::env::var_os("PYMD_REQUIRE_BROWSER").is_none_or(|v| v.is_empty()),
                "the browser suite cannot run but PYMD_REQUIRE_BROWSER is set: {why}"
            );
            println!("skipped: {why}");
            return;
        }
    };
    // Every test signs in at least once: the suite runs well above the default sign-in rate
    // limit of 10 per minute per IP (which `limits.rs` tests on its own).
    let env = Env::start_with(|state| {
        let mut config = (*state.config).clone();
        config.limits.auth_per_minute = 10_000;
        state.config = Arc::new(config);
    })
    .await;
    let control = start_control(env.store.clone()).await;
    let artifacts = artifacts_dir();
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");

    let mut command = tokio::process::Command::new(&node);
    command.arg("node_modules/@playwright/test/cli.js").args([
        "test",
        "--config",
        "playwright.config.js",
    ]);
    // While working on one scenario: PYMD_BROWSER_GREP=<part of its title>.
    if let Some(grep) = std::env::var_os("PYMD_BROWSER_GREP").filter(|g| !g.is_empty()) {
        command.arg("--grep").arg(grep);
    }
    let run = command
        .current_dir(suite_dir())
        .env("PYMD_APP_URL", &env.app)
        .env("PYMD_TENANT_URL", &env.tenant)
        .env("PYMD_CONTROL_URL", &control)
        .env("PYMD_CHROMIUM", &chromium)
        .env("PYMD_BROWSER_ARTIFACTS", &artifacts)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .env("CI", "1")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SUITE_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("the browser suite ran longer than {SUITE_TIMEOUT:?}"))
        .expect("run node");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the browser suite failed ({}); artifacts in {}:\n{}",
        out.status,
        artifacts.display(),
        tail(&text, 200)
    );
    println!("{}", tail(&text, 80));
}
