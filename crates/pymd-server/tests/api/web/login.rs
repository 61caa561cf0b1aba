//! The happy path: login → dashboard → profile → logout, and what each hop must look like.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pymd_storage::AuditFilter;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::web::harness::{ALICE, Browser, Env, query};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_login_shows_the_dashboard_and_profile_and_logout_ends_the_session() {
    let env = Env::start().await;
    let mut b = Browser::new();

    // 1. /auth/login → the tenant's /authorize with everything the flow needs.
    let start = b
        .get(&format!("{}/auth/login?returnTo=/dashboard", env.app))
        .await;
    assert_eq!(start.status, StatusCode::FOUND);
    let authorize = start.location.clone().expect("Location");
    assert!(
        authorize.starts_with(&format!("{}authorize?", env.tenant)),
        "{authorize}"
    );
    let q = query(&authorize);
    assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert_eq!(q.get("code_challenge").map(String::len), Some(43));
    assert_eq!(
        q.get("audience").map(String::as_str),
        Some("https://api.pymd.io")
    );
    assert_eq!(
        q.get("scope").map(String::as_str),
        Some("openid profile email offline_access")
    );
    assert_eq!(
        q.get("redirect_uri").map(String::as_str),
        Some(format!("{}/auth/callback", env.app).as_str())
    );
    let state = q.get("state").expect("state");
    let state_bytes = URL_SAFE_NO_PAD.decode(state).expect("state is base64url");
    assert!(state_bytes.len() >= 16, "state carries at least 128 bits");
    assert!(q.get("nonce").is_some_and(|n| n.len() >= 22));
    assert!(q.contains_key("client_id"));
    // The transaction cookie: encrypted (nothing of the state or verifier readable), scoped.
    let tx = start
        .set_cookies
        .iter()
        .find(|c| c.starts_with("pymd_tx_"))
        .expect("a transaction cookie");
    assert!(
        tx.contains("HttpOnly") && tx.contains("SameSite=Lax") && tx.contains("Path=/auth"),
        "{tx}"
    );
    assert!(tx.contains("Max-Age=600"), "{tx}");
    let tx_value = tx
        .split(';')
        .next()
        .and_then(|nv| nv.split_once('='))
        .map(|(_, v)| v)
        .unwrap_or("");
    assert!(
        !tx_value.contains(state.as_str()) && !tx_value.contains("dashboard"),
        "{tx}"
    );

    // 2. Through the tenant's login form and back.
    let to_form = b.get(&authorize).await;
    let form_url = to_form.location.clone().expect("to the login form");
    let form = b.get(&form_url).await;
    let csrf = crate::web::harness::between(&form.body, "name=\"csrf_token\" value=\"", "\"")
        .expect("csrf");
    let back = b
        .post_form(
            &form_url,
            &[
                ("csrf_token", &csrf),
                ("email", ALICE.0),
                ("password", ALICE.1),
            ],
        )
        .await;
    let callback = back.location.clone().expect("callback");
    let cq = query(&callback);
    assert!(cq.contains_key("code"));
    assert_eq!(cq.get("state"), Some(state));
    let done = b.get(&callback).await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{}/dashboard", env.app).as_str())
    );
    let set = done.set_cookie("pymd_session").expect("a session cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "plain-http base URL: no Secure");
    assert!(
        done.set_cookies
            .iter()
            .any(|c| c.starts_with("pymd_tx_") && c.contains("Max-Age=0")),
        "the transaction cookie is cleared: {:?}",
        done.set_cookies
    );
    assert!(!b.cookie_names().iter().any(|k| k.starts_with("pymd_tx_")));
    let raw = b.cookie("pymd_session").expect("session cookie kept");
    assert_eq!(
        URL_SAFE_NO_PAD.decode(&raw).expect("base64url").len(),
        32,
        "a 256-bit id"
    );

    // 3. The dashboard shows the user's name.
    let dash = b.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(
        dash.body
            .contains("data-testid=\"user-name\">Alice Example<"),
        "{}",
        dash.body
    );
    assert!(dash.headers.get("content-security-policy").is_some());
    assert!(!dash.body.contains("<script"));
    assert!(!dash.body.contains("eyJ"), "no token reaches the page");

    // The landing page greets the user.
    let home = b.get(&format!("{}/", env.app)).await;
    assert!(
        home.body
            .contains("Welcome, <span data-testid=\"user-name\">Alice Example</span>"),
        "{}",
        home.body
    );
    assert!(home.body.contains("href=\"/auth/logout\""));

    // 4. /auth/profile and its alias.
    for path in ["/auth/profile", "/api/auth/profile"] {
        let p = b.get(&format!("{}{path}", env.app)).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        let v: serde_json::Value = serde_json::from_str(&p.body).expect("JSON");
        assert_eq!(v["name"], "Alice Example");
        assert_eq!(v["email"], "alice@example.com");
        assert_eq!(v["email_verified"], true);
        assert_eq!(v["sub"], "auth0|64b1f0c2a1b2c3d4e5f60001");
        assert!(!p.body.contains("eyJ"), "no token in the profile");
    }

    // The row exists under the hash of the id.
    let hash: Vec<u8> = Sha256::digest(URL_SAFE_NO_PAD.decode(&raw).expect("id")).to_vec();
    let row = env
        .store
        .find_session(&hash)
        .await
        .expect("find")
        .expect("the session row");
    assert_eq!(row.subject, "auth0|64b1f0c2a1b2c3d4e5f60001");
    assert!(
        row.refresh_token.is_some(),
        "offline_access gave a refresh token"
    );
    assert!(row.access_token_expires_at > row.created_at);
    assert_eq!(row.expires_at - row.created_at, time::Duration::days(7));
    assert_eq!(row.idle_timeout_secs, 86_400);

    // 5. Logout: row deleted, cookie cleared, off to the tenant's logout.
    let out = b.click(&format!("{}/auth/logout", env.app)).await;
    assert_eq!(out.status, StatusCode::FOUND);
    let to = out.location.clone().expect("to the IdP logout");
    assert!(
        to.starts_with(&format!("{}oidc/logout?", env.tenant)),
        "{to}"
    );
    let lq = query(&to);
    assert_eq!(
        lq.get("post_logout_redirect_uri").map(String::as_str),
        Some(format!("{}/", env.app).as_str())
    );
    // No ID token in a browser URL: the IdP session is named by client_id + logout_hint (sid).
    assert!(!lq.contains_key("id_token_hint"), "{to}");
    assert!(!to.contains("eyJ"), "{to}");
    assert_eq!(lq.get("logout_hint"), row.idp_sid.as_ref());
    assert!(row.idp_sid.is_some());
    assert!(lq.contains_key("client_id"), "{to}");
    let cleared = out.set_cookie("pymd_session").expect("cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(
        env.store.find_session(&hash).await.expect("find").is_none(),
        "row deleted"
    );
    // The tenant accepts the logout and comes back to the app.
    let idp = b.get(&to).await;
    assert_eq!(idp.status, StatusCode::FOUND, "{}", idp.body);
    assert_eq!(
        idp.location.as_deref(),
        Some(format!("{}/", env.app).as_str())
    );

    // 6. The old cookie no longer works.
    let mut replay = Browser::new();
    replay.set("pymd_session", &raw);
    let p = replay.get(&format!("{}/auth/profile", env.app)).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let d = replay.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(d.status, StatusCode::FOUND);
    assert!(
        d.location
            .as_deref()
            .is_some_and(|l| l.contains("/auth/login?returnTo=%2Fdashboard"))
    );

    // Audit trail.
    let events = env
        .store
        .list_audit(&AuditFilter {
            subject: Some("auth0|64b1f0c2a1b2c3d4e5f60001".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .expect("audit");
    let names: Vec<&str> = events.iter().map(|e| e.event.event.as_str()).collect();
    assert!(names.contains(&"login_success"), "{names:?}");
    assert!(names.contains(&"logout"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_aliases_sign_in_too_and_return_to_is_honoured() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let done = b
        .login(
            &env,
            "/api/auth/login?returnTo=%2Fdocuments%2Fx%3Fa%3D1",
            ALICE,
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{}/documents/x?a=1", env.app).as_str())
    );
    let out = b.click(&format!("{}/api/auth/logout", env.app)).await;
    assert_eq!(out.status, StatusCode::FOUND);
    assert_eq!(env.active_sessions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_page_offers_login_and_the_stylesheet_is_served_locally() {
    let env = Env::start().await;
    let mut b = Browser::new();
    let home = b.get(&format!("{}/", env.app)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("href=\"/auth/login\""), "{}", home.body);
    assert!(home.body.contains(">Log in<"));
    assert!(home.body.contains("href=\"/static/app.css\""));
    let css = b.get(&format!("{}/static/app.css", env.app)).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/css"))
    );
    let csp = home
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(csp.contains("default-src 'self'"), "{csp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_lists_recent_documents_escaped_and_links_to_them() {
    let env = Env::start().await;
    let mut b = Browser::new();
    b.login(&env, "/auth/login", ALICE).await;
    let alice = env
        .store
        .find_user_by_auth0_id("auth0|64b1f0c2a1b2c3d4e5f60001")
        .await
        .expect("find")
        .expect("alice was upserted at login");
    let mut ids = Vec::new();
    for i in 0..12 {
        let title = if i == 11 {
            "<b>newest</b> & \"quoted\"".to_owned()
        } else {
            format!("doc {i}")
        };
        let draft = pymd_domain::DocumentDraft::new(
            &title,
            format!("# Heading {i}\n\n<script>alert(1)</script>"),
        )
        .expect("draft");
        ids.push(
            env.store
                .create_document(alice.id, &draft)
                .await
                .expect("create")
                .id,
        );
    }
    let dash = b.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(
        dash.body
            .contains("&#60;b&#62;newest&#60;/b&#62; &#38; &#34;quoted&#34;"),
        "{}",
        dash.body
    );
    assert!(!dash.body.contains("<b>newest"));
    assert_eq!(
        dash.body.matches("<li><a href=\"/documents/").count(),
        10,
        "the 10 most recent"
    );
    assert!(
        dash.body
            .contains(&format!("href=\"/documents/{}\"", ids[11].0))
    );
    assert!(
        !dash
            .body
            .contains(&format!("href=\"/documents/{}\"", ids[0].0)),
        "the oldest is not listed"
    );

    let doc = b.get(&format!("{}/documents/{}", env.app, ids[11].0)).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body.contains("<h1>Heading 11</h1>"), "{}", doc.body);
    assert!(!doc.body.contains("<script>alert(1)"), "sanitised");

    // Bob's document is not Alice's to read.
    let bob = env
        .store
        .ensure_user("auth0|someone-else")
        .await
        .expect("user");
    let draft = pymd_domain::DocumentDraft::new("private", "secret".to_owned()).expect("draft");
    let other = env
        .store
        .create_document(bob.id, &draft)
        .await
        .expect("create");
    let p = b
        .get(&format!("{}/documents/{}", env.app, other.id.0))
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(!p.body.contains("secret"));
}

/// An app whose base URL is https, behind a trusted proxy (the loopback peer).
async fn https_env() -> Env {
    Env::start_with(|state| {
        let mut config = (*state.config).clone();
        config.base_url = url::Url::parse("https://pymd.example").expect("url");
        config.trusted_proxies =
            vec![pymd_server::config::Cidr::parse("127.0.0.0/8").expect("cidr")];
        state.config = std::sync::Arc::new(config);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_transaction_cookie_is_a_host_cookie() {
    let env = https_env().await;
    let start = crate::web::harness::client()
        .get(format!("{}/auth/login", env.app))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("login");
    assert_eq!(start.status(), StatusCode::FOUND);
    let tx = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("pymd_tx_"))
        .expect("a transaction cookie")
        .to_owned();
    assert!(tx.starts_with("__Host-pymd_tx_"), "{tx}");
    assert!(tx.contains("Path=/;") || tx.ends_with("Path=/"), "{tx}");
    assert!(tx.contains("Secure") && !tx.contains("Domain"), "{tx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_https_base_url_plain_http_is_redirected_or_refused() {
    let env = https_env().await;
    let c = crate::web::harness::client();
    let get = |path: &str, proto: Option<&str>| {
        let mut rb = c.get(format!("{}{path}", env.app));
        if let Some(p) = proto {
            rb = rb.header("x-forwarded-proto", p);
        }
        rb.send()
    };
    // A page over http: 301 to the same path on the https base URL (never the Host header's).
    let r = c
        .get(format!("{}/documents?x=1", env.app))
        .header("host", "evil.example")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("https://pymd.example/documents?x=1")
    );
    // The API and the webhooks over http are refused, whatever they carry.
    let r = get("/api/v1/documents", Some("http")).await.expect("api");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    let r = c
        .post(format!("{}/internal/auth/sync-user", env.app))
        .json(&serde_json::json!({"auth0Id": "auth0|x", "email": "x@example.com"}))
        .send()
        .await
        .expect("internal");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Over https (as the trusted proxy says) it is served; health checks always are.
    assert_eq!(
        get("/", Some("https")).await.expect("page").status(),
        StatusCode::OK
    );
    assert_eq!(
        get("/healthz", None).await.expect("health").status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_proto_is_believed_only_from_a_trusted_proxy() {
    let env = Env::start_with(|state| {
        let mut config = (*state.config).clone();
        config.base_url = url::Url::parse("https://pymd.example").expect("url");
        state.config = std::sync::Arc::new(config);
    })
    .await;
    let r = crate::web::harness::client()
        .get(format!("{}/dashboard", env.app))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("page");
    assert_eq!(
        r.status(),
        StatusCode::MOVED_PERMANENTLY,
        "an untrusted peer's claim is ignored"
    );
}
