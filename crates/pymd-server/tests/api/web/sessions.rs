//! Session handling: protected pages, fixation, expiry, and what the database holds.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pymd_storage::{NewSession, Store};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use time::Duration;

use crate::web::harness::{ALICE, BOB, Browser, Env};

fn hash_of(cookie: &str) -> Vec<u8> {
    Sha256::digest(URL_SAFE_NO_PAD.decode(cookie).expect("base64url id")).to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_pages_without_a_session_redirect_to_login_and_profile_is_401() {
    let env = Env::start().await;
    let mut b = Browser::new();
    for (path, want) in [
        ("/dashboard", "/auth/login?returnTo=%2Fdashboard"),
        (
            "/documents/abc?x=1",
            "/auth/login?returnTo=%2Fdocuments%2Fabc%3Fx%3D1",
        ),
    ] {
        let p = b.get(&format!("{}{path}", env.app)).await;
        assert_eq!(p.status, StatusCode::FOUND, "{path}");
        assert_eq!(
            p.location.as_deref(),
            Some(format!("{}{want}", env.app).as_str()),
            "{path}"
        );
    }
    let p = b.get(&format!("{}/auth/profile", env.app)).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let v: serde_json::Value = serde_json::from_str(&p.body).expect("JSON");
    assert!(v["error"].is_string());
    // A garbage or forged cookie is no session either.
    for forged in ["x", "AAAA", &URL_SAFE_NO_PAD.encode([7u8; 32])] {
        let mut f = Browser::new();
        f.set("pymd_session", forged);
        let p = f.get(&format!("{}/auth/profile", env.app)).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{forged}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_id_sent_before_login_is_never_reused() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let planted = URL_SAFE_NO_PAD.encode([42u8; 32]);
    b.set("pymd_session", &planted);
    let done = b.login(&env, "/auth/login", ALICE).await;
    assert_eq!(done.status, StatusCode::FOUND);
    let issued = b.cookie("pymd_session").expect("a session cookie");
    assert_ne!(issued, planted, "a fresh id, not the planted one");
    assert!(
        env.store
            .find_session(&hash_of(&planted))
            .await
            .expect("find")
            .is_none()
    );
    let mut attacker = Browser::new();
    attacker.set("pymd_session", &planted);
    let p = attacker.get(&format!("{}/auth/profile", env.app)).await;
    assert_eq!(
        p.status,
        StatusCode::UNAUTHORIZED,
        "the planted id never authenticates"
    );

    // Logging in again (as someone else, after leaving the IdP's own session) ends the previous
    // session and issues a new id.
    b.forget("auth0");
    let again = b.login(&env, "/auth/login", BOB).await;
    assert_eq!(again.status, StatusCode::FOUND);
    let second = b.cookie("pymd_session").expect("second cookie");
    assert_ne!(second, issued);
    assert!(
        env.store
            .find_session(&hash_of(&issued))
            .await
            .expect("find")
            .is_none(),
        "A's session is gone"
    );
    let p = b.get(&format!("{}/auth/profile", env.app)).await;
    let v: serde_json::Value = serde_json::from_str(&p.body).expect("JSON");
    assert_eq!(v["email"], "bob@example.com");
    assert_eq!(env.active_sessions().await, 1);
}

async fn plant(
    store: &Arc<dyn Store>,
    tag: u8,
    created: time::OffsetDateTime,
    last_seen: time::OffsetDateTime,
    expires: time::OffsetDateTime,
) -> String {
    let user = store.ensure_user("auth0|expiry-test").await.expect("user");
    let raw = [tag; 32];
    let hash = Sha256::digest(raw).to_vec();
    store
        .create_session(&NewSession {
            id_hash: hash.clone(),
            user_id: user.id,
            subject: user.auth0_id.clone(),
            idp_sid: None,
            access_token: vec![1, 2, 3],
            refresh_token: None,
            id_token: None,
            // Valid for the session's whole life: no refresh (there is no refresh token).
            access_token_expires_at: expires,
            created_at: created,
            idle_timeout_secs: 86_400,
            expires_at: expires,
        })
        .await
        .expect("plant a session");
    if last_seen > created {
        store.touch_session(&hash, last_seen).await.expect("touch");
    }
    URL_SAFE_NO_PAD.encode(raw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_send_the_user_to_login_and_are_deleted() {
    let env = Env::start().await;
    let now = pymd_domain::now();
    let live = plant(
        &env.store,
        1,
        now - Duration::hours(1),
        now - Duration::minutes(5),
        now + Duration::days(6),
    )
    .await;
    let idle = plant(
        &env.store,
        2,
        now - Duration::days(2),
        now - Duration::hours(25),
        now + Duration::days(5),
    )
    .await;
    let absolute = plant(
        &env.store,
        3,
        now - Duration::days(8),
        now - Duration::minutes(1),
        now - Duration::seconds(1),
    )
    .await;

    let mut b = Browser::new();
    b.set("pymd_session", &live);
    let p = b.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(
        p.status,
        StatusCode::OK,
        "the live planted session works: {}",
        p.body
    );
    let row = env
        .store
        .find_session(&hash_of(&live))
        .await
        .expect("find")
        .expect("live row");
    assert!(
        row.last_seen_at >= now,
        "activity recorded (last seen was 5 minutes ago)"
    );

    for (name, cookie) in [("idle", &idle), ("absolute", &absolute)] {
        let mut b = Browser::new();
        b.set("pymd_session", cookie);
        let p = b.get(&format!("{}/dashboard", env.app)).await;
        assert_eq!(p.status, StatusCode::FOUND, "{name}");
        assert!(
            p.location
                .as_deref()
                .is_some_and(|l| l.contains("/auth/login?returnTo=%2Fdashboard")),
            "{name}"
        );
        assert!(
            env.store
                .find_session(&hash_of(cookie))
                .await
                .expect("find")
                .is_none(),
            "{name} row deleted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_holds_a_hash_of_the_id_and_no_plaintext_token() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let done = b.login(&env, "/auth/login", ALICE).await;
    assert_eq!(done.status, StatusCode::FOUND);
    let cookie = b.cookie("pymd_session").expect("cookie");
    let raw = URL_SAFE_NO_PAD.decode(&cookie).expect("id");
    let hash = hash_of(&cookie);
    let row = env
        .store
        .find_session(&hash)
        .await
        .expect("find")
        .expect("row");
    assert!(row.id_token.is_some());

    let mut bytes = std::fs::read(&env.db_path).expect("db file");
    if let Ok(wal) = std::fs::read(env.db_path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(&hash), "the hash is stored");
    assert!(!contains(&raw), "the raw id is not stored");
    assert!(
        !contains(cookie.as_bytes()),
        "the cookie value is not stored"
    );
    // Every JWT the IdP issued (access, ID) starts with a base64url JSON header.
    for jwt_start in [&b"eyJhbGci"[..], b"eyJ0eXAi", b"eyJraWQi"] {
        assert!(!contains(jwt_start), "a plaintext JWT is in the database");
    }
    // The sealed values are not the plaintext either (they are longer and random).
    assert!(row.access_token.len() > 100);
    assert!(!row.access_token.starts_with(b"eyJ"));
    assert!(row.refresh_token.as_ref().is_some_and(|r| r.len() > 28));
}
