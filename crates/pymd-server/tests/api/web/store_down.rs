//! With the database unreachable, a request that carries a session cookie fails with 503: it is
//! never served as signed out (or as anyone). Requests without a cookie need no database.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;

use crate::support::FlakyStore;
use crate::web::harness::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_a_session_cookie_gets_503_never_anonymous() {
    let env = crate::web::harness::Env::start_with(|state| {
        // A store whose database is always unreachable.
        let inner = Arc::clone(&state.store);
        state.store = Arc::new(FlakyStore {
            inner,
            down: Arc::new(AtomicBool::new(true)),
        });
    })
    .await;
    let cookie = URL_SAFE_NO_PAD.encode([9u8; 32]);

    // Without a cookie nothing needs the database.
    let mut anon = Browser::new();
    let home = anon.get(&format!("{}/", env.app)).await;
    assert_eq!(home.status, StatusCode::OK);
    let dash = anon.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(dash.status, StatusCode::FOUND);

    let mut b = Browser::new();
    b.set("pymd_session", &cookie);
    for path in [
        "/",
        "/dashboard",
        "/documents/00000000-0000-0000-0000-000000000000",
    ] {
        let p = b.get(&format!("{}{path}", env.app)).await;
        assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            p.body.contains("Temporarily unavailable"),
            "{path}: {}",
            p.body
        );
        assert!(
            !p.body.contains("Sign in to see your documents"),
            "never shown as signed out"
        );
        assert!(p.headers.get("retry-after").is_some(), "{path}");
    }
    let p = b.get(&format!("{}/auth/profile", env.app)).await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
    let v: serde_json::Value = serde_json::from_str(&p.body).expect("JSON");
    assert_eq!(v["error"], "upstream_unavailable");
}
