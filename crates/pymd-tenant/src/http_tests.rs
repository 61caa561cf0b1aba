//! End-to-end unit tests over real HTTP on 127.0.0.1 (the conformance suite in `tests/`
//! is separate); they pin the flows this crate's own logic must get right.

use std::collections::HashMap;

use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::util::{b64url, b64url_decode, sha256};
use crate::{DevTenant, TenantOptions, start};

pub(crate) async fn tenant_with(f: impl FnOnce(&mut TenantOptions)) -> DevTenant {
    let dir =
        std::env::temp_dir().join(format!("pymd-tenant-test-{}", crate::util::random_hex(10)));
    let mut opts = TenantOptions::new(dir);
    f(&mut opts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, opts).await.unwrap()
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&b64url_decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn discovery_jwks_and_dev_token() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let iss = t.issuer().to_string();
    assert!(iss.starts_with("http://127.0.0.1:") && iss.ends_with('/'));
    let d: Value = c
        .get(format!("{iss}.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], iss);
    assert_eq!(d["end_session_endpoint"], format!("{iss}oidc/logout"));
    let jwks: Value = c
        .get(format!("{iss}.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k["use"] == "sig" && k["alg"] == "RS256" && k.get("d").is_none())
    );

    let r = c.post(format!("{iss}__dev/token"))
        .json(&json!({"user": "alice@example.com", "scope": "openid profile email read:documents offline_access"}))
        .send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["iss"], iss);
    assert_eq!(
        at["aud"],
        json!(["https://api.pymd.io", format!("{iss}userinfo")])
    );
    assert_eq!(
        at["scope"],
        "openid profile email read:documents offline_access"
    );
    assert_eq!(at["https://pymd.io/roles"], json!(["user"]));
    assert_eq!(at["permissions"].as_array().unwrap().len(), 5);
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], t.web_client().client_id);
    assert_eq!(id["email"], "alice@example.com");
    assert!(id["updated_at"].as_str().unwrap().ends_with('Z'));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("v1."));
    t.shutdown().await;
}

/// PKCE pair.
pub(crate) fn pkce() -> (String, String) {
    let verifier = crate::util::random_urlsafe(64);
    let challenge = b64url(&sha256(verifier.as_bytes()));
    (verifier, challenge)
}

pub(crate) fn location_params(r: &reqwest::Response) -> HashMap<String, String> {
    let loc = r.headers()["location"].to_str().unwrap();
    let u = url::Url::parse(loc).unwrap();
    u.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) const CB: &str = "http://localhost:3000/auth/callback";

/// Runs /authorize → /u/login → POST and returns (redirect response params, session cookie).
pub(crate) async fn login(
    t: &DevTenant,
    c: &reqwest::Client,
    email: &str,
    password: &str,
    challenge: &str,
    extra: &str,
) -> (reqwest::Response, Option<String>) {
    let iss = t.issuer();
    let web = t.web_client();
    let url = format!(
        "{iss}authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile%20email%20offline_access%20read:documents&state=st-1&nonce=n-1&code_challenge={challenge}&code_challenge_method=S256{extra}",
        web.client_id,
        urlenc(CB)
    );
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("/u/login?state="), "{loc}");
    let binding = csrf_cookie_of(&r);
    let page = c
        .get(format!("{}{}", iss.trim_end_matches('/'), loc))
        .header("cookie", &binding)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{loc}\"")), "{html}");
    let csrf = between(&html, "name=\"csrf_token\" value=\"", "\"");
    let r = c
        .post(format!("{}{}", iss.trim_end_matches('/'), loc))
        .header("cookie", &binding)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    (r, cookie)
}

/// The `auth0_csrf=…` pair the tenant set on a response (what a browser sends back).
pub(crate) fn csrf_cookie_of(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("auth0_csrf="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string()
}

pub(crate) fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn between(s: &str, a: &str, b: &str) -> String {
    let start = s.find(a).unwrap() + a.len();
    let end = s[start..].find(b).unwrap() + start;
    s[start..end].to_string()
}

async fn exchange(t: &DevTenant, c: &reqwest::Client, form: &[(&str, &str)]) -> (u16, Value) {
    let r = c
        .post(format!("{}oauth/token", t.issuer()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn code_flow_refresh_rotation_and_reuse() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let (verifier, challenge) = pkce();
    let (r, cookie) = login(
        &t,
        &c,
        "alice@example.com",
        "Alice-Dev-2026!",
        &challenge,
        "",
    )
    .await;
    assert_eq!(r.status(), 302);
    assert!(cookie.unwrap().starts_with("auth0="));
    let q = location_params(&r);
    assert_eq!(q["state"], "st-1");
    let code = q["code"].clone();
    let web = t.web_client();
    let base = [
        ("grant_type", "authorization_code"),
        ("client_id", web.client_id.as_str()),
        ("client_secret", web.client_secret.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("code_verifier", verifier.as_str()),
    ];
    let (s, body) = exchange(&t, &c, &base).await;
    assert_eq!(s, 200, "{body}");
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["sid"].as_str().unwrap().len(), 32);
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        at["scope"],
        "openid profile email offline_access read:documents"
    );
    let rt1 = body["refresh_token"].as_str().unwrap().to_string();

    // Code reuse: 403 and the family minted from it is revoked.
    let (s, body) = exchange(&t, &c, &base).await;
    assert_eq!((s, body["error"].as_str()), (403, Some("invalid_grant")));
    assert_eq!(body["error_description"], "Invalid authorization code");
    let rf = |rt: String| {
        vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", web.client_id.clone()),
            ("client_secret", web.client_secret.clone()),
            ("refresh_token", rt),
        ]
    };
    let form = rf(rt1.clone());
    let form: Vec<(&str, &str)> = form.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let (s, _) = exchange(&t, &c, &form).await;
    assert_eq!(s, 403);

    // New login, then rotation + reuse detection.
    let (verifier, challenge) = pkce();
    let (r, _) = login(
        &t,
        &c,
        "alice@example.com",
        "Alice-Dev-2026!",
        &challenge,
        "",
    )
    .await;
    let code = location_params(&r)["code"].clone();
    let mut f = base.to_vec();
    f[3] = ("code", code.as_str());
    f[5] = ("code_verifier", verifier.as_str());
    let (s, body) = exchange(&t, &c, &f).await;
    assert_eq!(s, 200);
    let rt1 = body["refresh_token"].as_str().unwrap().to_string();
    let form = rf(rt1.clone());
    let form: Vec<(&str, &str)> = form.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let (s, body) = exchange(&t, &c, &form).await;
    assert_eq!(s, 200, "{body}");
    let rt2 = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert!(body["id_token"].is_string());
    // reuse rt1 → 403 + family revoked → rt2 fails too
    let (s, body) = exchange(&t, &c, &form).await;
    assert_eq!(
        (s, body["error_description"].as_str()),
        (403, Some("Unknown or invalid refresh token."))
    );
    let form2 = rf(rt2);
    let form2: Vec<(&str, &str)> = form2.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let (s, _) = exchange(&t, &c, &form2).await;
    assert_eq!(s, 403);
    let logs: Value = c
        .get(format!("{}__dev/logs", t.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"ferrt") && types.contains(&"sertft") && types.contains(&"s"),
        "{types:?}"
    );
    t.shutdown().await;
}

#[tokio::test]
async fn wrong_password_brute_force_and_session() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let (_, challenge) = pkce();
    let (r, _) = login(&t, &c, "nobody@example.com", "whatever", &challenge, "").await;
    let unknown_status = r.status();
    assert!(r.text().await.unwrap().contains("Wrong email or password."));
    for _ in 0..10 {
        let (r, _) = login(&t, &c, "bob@example.com", "nope", &challenge, "").await;
        assert_eq!(r.status(), unknown_status);
    }
    // 10 failures → blocked, even with the right password
    let (r, _) = login(&t, &c, "bob@example.com", "Bob-Dev-2026!", &challenge, "").await;
    assert_eq!(r.status(), 429);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("blocked after multiple consecutive login attempts")
    );
    // another IP is not blocked
    let other = reqwest::Client::builder()
        .redirect(Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let (r, _) = login(
        &t,
        &other,
        "bob@example.com",
        "Bob-Dev-2026!",
        &challenge,
        "",
    )
    .await;
    assert_eq!(r.status(), 302);
    // SSO session skips the form
    let (r, cookie) = login(
        &t,
        &c,
        "alice@example.com",
        "Alice-Dev-2026!",
        &challenge,
        "",
    )
    .await;
    assert_eq!(r.status(), 302);
    let cookie = cookie.unwrap();
    let url = format!(
        "{}authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s2&code_challenge={challenge}&code_challenge_method=S256&prompt=none",
        t.issuer(),
        t.web_client().client_id,
        urlenc(CB)
    );
    let r = c.get(&url).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert!(location_params(&r).contains_key("code"));
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(location_params(&r)["error"], "login_required");
    assert_eq!(location_params(&r)["state"], "s2");
    t.shutdown().await;
}

#[tokio::test]
async fn client_credentials_grant() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let m2m = t.m2m_client();
    let aud = format!("{}api/v2/", t.issuer());
    let (s, body) = exchange(
        &t,
        &c,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &m2m.client_id),
            ("client_secret", &m2m.client_secret),
            ("audience", &aud),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["gty"], "client-credentials");
    assert_eq!(at["sub"], format!("{}@clients", m2m.client_id));
    let (s, body) = exchange(
        &t,
        &c,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &m2m.client_id),
            ("client_secret", &m2m.client_secret),
            ("audience", &aud),
            ("scope", "read:users delete:users"),
        ],
    )
    .await;
    assert_eq!((s, body["error"].as_str()), (403, Some("access_denied")));
    assert_eq!(
        body["error_description"],
        "Client has not been granted scopes: delete:users"
    );
    let (s, body) = exchange(
        &t,
        &c,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &m2m.client_id),
            ("client_secret", "wrong"),
            ("audience", &aud),
        ],
    )
    .await;
    assert_eq!(s, 401, "{body}");
    let (s, _) = exchange(
        &t,
        &c,
        &[("grant_type", "foo"), ("client_id", &m2m.client_id)],
    )
    .await;
    assert_eq!(s, 400);
    t.shutdown().await;
}

async fn m2m_token(t: &DevTenant, c: &reqwest::Client, scope: Option<&str>) -> String {
    let m2m = t.m2m_client();
    let aud = format!("{}api/v2/", t.issuer());
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", m2m.client_id.as_str()),
        ("client_secret", m2m.client_secret.as_str()),
        ("audience", aud.as_str()),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let (_, body) = exchange(t, c, &form).await;
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn management_api() {
    let t = tenant_with(|o| o.management_rate_limit_per_sec = Some(1000)).await;
    let c = client();
    let base = format!("{}api/v2/", t.issuer());
    let tok = m2m_token(&t, &c, None).await;
    let alice = "auth0%7C64b1f0c2a1b2c3d4e5f60001";
    let r = c.get(format!("{base}users/{alice}")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-ratelimit-limit"));
    let r = c
        .get(format!("{base}users/{alice}"))
        .header("authorization", "Basic x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(format!("{base}users/{alice}"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["email"], "alice@example.com");
    assert_eq!(u["user_metadata"]["bio"], "Writes the docs.");
    let r = c
        .get(format!("{base}users/auth0%7Cnope"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["errorCode"], "inexistent_user");
    // PATCH merge semantics
    let r = c.patch(format!("{base}users/{alice}")).bearer_auth(&tok)
        .json(&json!({"user_metadata": {"bio": null, "theme": "dark"}, "app_metadata": {"plan": "pro"}, "name": "Alice A."}))
        .send().await.unwrap();
    assert_eq!(r.status(), 200);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["user_metadata"], json!({"theme": "dark"}));
    assert_eq!(u["app_metadata"], json!({"plan": "pro"}));
    assert_eq!(u["name"], "Alice A.");
    let r = c
        .patch(format!("{base}users/{alice}"))
        .bearer_auth(&tok)
        .json(&json!({"foo": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .patch(format!("{base}users/{alice}"))
        .bearer_auth(&tok)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // by email, roles, permissions
    let r: Value = c
        .get(format!("{base}users-by-email?email=admin%40example.com"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r.as_array().unwrap().len(), 1);
    let admin = urlenc(r[0]["user_id"].as_str().unwrap());
    let roles: Value = c
        .get(format!("{base}users/{admin}/roles"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(roles.as_array().unwrap().len(), 2);
    let perms: Value = c
        .get(format!("{base}users/{admin}/permissions"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(perms.as_array().unwrap().len(), 5);
    // insufficient scope
    let narrow = m2m_token(&t, &c, Some("read:roles")).await;
    let r = c
        .get(format!("{base}users/{alice}"))
        .bearer_auth(&narrow)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["errorCode"], "insufficient_scope");
    t.shutdown().await;
}

#[tokio::test]
async fn management_rate_limit() {
    let t = tenant_with(|o| o.management_rate_limit_per_sec = Some(2)).await;
    let c = client();
    let mut saw_429 = false;
    for _ in 0..6 {
        let r = c
            .get(format!("{}api/v2/users/x", t.issuer()))
            .send()
            .await
            .unwrap();
        assert!(r.headers().contains_key("x-ratelimit-remaining"));
        saw_429 |= r.status() == 429;
    }
    assert!(saw_429);
    t.shutdown().await;
}

#[tokio::test]
async fn userinfo_and_logout() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let body: Value = c
        .post(format!("{}__dev/token", t.issuer()))
        .json(&json!({"user": "bob@example.com", "scope": "openid email"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = body["access_token"].as_str().unwrap();
    let r = c
        .get(format!("{}userinfo", t.issuer()))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["email"], "bob@example.com");
    assert!(u.get("name").is_none());
    let r = c
        .get(format!("{}userinfo", t.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // token for the API only (no openid) → foreign audience for /userinfo
    let body: Value = c
        .post(format!("{}__dev/token", t.issuer()))
        .json(&json!({"user": "bob@example.com", "scope": "read:documents"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = c
        .get(format!("{}userinfo", t.issuer()))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let web = t.web_client();
    let ok = format!(
        "{}v2/logout?client_id={}&returnTo={}",
        t.issuer(),
        web.client_id,
        urlenc("http://localhost:3000")
    );
    let r = c.get(&ok).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "http://localhost:3000");
    let bad = format!(
        "{}v2/logout?client_id={}&returnTo={}",
        t.issuer(),
        web.client_id,
        urlenc("https://evil.example")
    );
    let r = c.get(&bad).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(format!(
            "{}oidc/logout?client_id={}&post_logout_redirect_uri={}&state=xyz",
            t.issuer(),
            web.client_id,
            urlenc("http://localhost:3000/")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "http://localhost:3000/?state=xyz");
    t.shutdown().await;
}

async fn receiver() -> (
    String,
    std::sync::Arc<tokio::sync::Mutex<Vec<(String, Value)>>>,
) {
    use axum::routing::post;
    let got = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        post(
            move |axum::extract::Path(p): axum::extract::Path<String>,
                  h: axum::http::HeaderMap,
                  body: axum::body::Bytes| {
                let g = g.clone();
                async move {
                    let auth = h
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    assert_eq!(auth, "Bearer s3cret");
                    g.lock()
                        .await
                        .push((p, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                    "{}"
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.ok() });
    (format!("http://{addr}/"), got)
}

#[tokio::test]
async fn signup_action_webhook_log_stream_and_mailbox() {
    let (base, got) = receiver().await;
    let hook = |p: &str| crate::Webhook {
        url: url::Url::parse(&format!("{base}{p}")).unwrap(),
        bearer: "s3cret".into(),
    };
    let t = tenant_with(|o| {
        o.sync_webhook = Some(hook("sync"));
        o.log_stream = Some(hook("logs"));
    })
    .await;
    let c = client();
    let (_, challenge) = pkce();
    let web = t.web_client();
    let url = format!(
        "{}authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s&code_challenge={challenge}&code_challenge_method=S256&screen_hint=signup",
        t.issuer(),
        web.client_id,
        urlenc(CB)
    );
    let r = c.get(&url).send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("/u/signup?state="));
    let binding = csrf_cookie_of(&r);
    let page_url = format!("{}{}", t.issuer().trim_end_matches('/'), loc);
    let html = c
        .get(&page_url)
        .header("cookie", &binding)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&html, "name=\"csrf_token\" value=\"", "\"");
    let post = |pw: &'static str, email: &'static str| {
        let c = c.clone();
        let page_url = page_url.clone();
        let csrf = csrf.clone();
        let binding = binding.clone();
        async move {
            c.post(&page_url)
                .header("cookie", binding)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("email", email),
                    ("password", pw),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = post("weak", "carol@example.com").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Password is too weak"));
    let r = post("Password123!", "carol@example.com").await;
    assert_eq!(r.status(), 400);
    let r = post("Carol-Dev-2026!", "alice@example.com").await;
    assert_eq!(r.status(), 400);
    let r = post("Carol-Dev-2026!", "carol@example.com").await;
    assert_eq!(r.status(), 302);
    assert!(location_params(&r).contains_key("code"));
    let sync = got
        .lock()
        .await
        .iter()
        .find(|(p, _)| p == "sync")
        .cloned()
        .unwrap();
    assert_eq!(sync.1["email"], "carol@example.com");
    assert_eq!(sync.1["emailVerified"], false);
    // mailbox → verify
    let mails: Value = c
        .get(format!("{}__dev/mailbox?format=json", t.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = mails[0]["link"].as_str().unwrap().to_string();
    assert_eq!(c.get(&link).send().await.unwrap().status(), 200);
    let body: Value = c
        .post(format!("{}__dev/token", t.issuer()))
        .json(&json!({"user": "carol@example.com", "scope": "openid email"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["email_verified"],
        true
    );
    t.shutdown().await;
    let logs: Vec<Value> = got
        .lock()
        .await
        .iter()
        .filter(|(p, _)| p == "logs")
        .flat_map(|(_, v)| v.as_array().cloned().unwrap_or_default())
        .collect();
    let types: Vec<&str> = logs
        .iter()
        .filter_map(|l| l["data"]["type"].as_str())
        .collect();
    assert!(
        types.contains(&"ss") && types.contains(&"fs") && types.contains(&"s"),
        "{types:?}"
    );
}

#[tokio::test]
async fn slow_sync_does_not_block_login() {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/sync",
        post(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            "late"
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.ok() });
    let t = tenant_with(|o| {
        o.sync_webhook = Some(crate::Webhook {
            url: url::Url::parse(&format!("http://{addr}/sync")).unwrap(),
            bearer: "x".into(),
        });
        o.action_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    let c = client();
    let (_, challenge) = pkce();
    let started = std::time::Instant::now();
    let (r, _) = login(
        &t,
        &c,
        "alice@example.com",
        "Alice-Dev-2026!",
        &challenge,
        "",
    )
    .await;
    assert_eq!(r.status(), 302);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    t.shutdown().await;
}

#[tokio::test]
async fn authorize_error_routing() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let web = t.web_client();
    let (_, ch) = pkce();
    let r = c
        .get(format!(
            "{}authorize?response_type=code&client_id=nope&redirect_uri={}",
            t.issuer(),
            urlenc(CB)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(format!(
            "{}authorize?response_type=code&client_id={}&redirect_uri={}",
            t.issuer(),
            web.client_id,
            urlenc("http://localhost:3000/auth/callback/")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Callback URL mismatch"));
    let r = c.get(format!("{}authorize?response_type=code&client_id={}&redirect_uri={}&state=q&code_challenge={ch}&code_challenge_method=plain", t.issuer(), web.client_id, urlenc(CB))).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(location_params(&r)["error"], "invalid_request");
    assert_eq!(location_params(&r)["state"], "q");
    let r = c.get(format!("{}authorize?response_type=code&client_id={}&redirect_uri={}&state=q&code_challenge={ch}&code_challenge_method=S256&audience=https://nope", t.issuer(), web.client_id, urlenc(CB))).send().await.unwrap();
    assert_eq!(location_params(&r)["error"], "access_denied");
    let r = c
        .get(format!(
            "{}authorize?response_type=token&client_id={}&redirect_uri={}",
            t.issuer(),
            web.client_id,
            urlenc(CB)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location_params(&r)["error"], "unsupported_response_type");
    t.shutdown().await;
}

#[tokio::test]
async fn dev_controls_keys_faults_clock() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let iss = t.issuer().to_string();
    let old: Value = c
        .post(format!("{iss}__dev/token"))
        .json(&json!({"user": "alice@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r: Value = c
        .post(format!("{iss}__dev/keys/rotate"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = r["kid"].as_str().unwrap().to_string();
    let jwks: Value = c
        .get(format!("{iss}.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
    assert_eq!(jwks["keys"][0]["kid"], new_kid);
    let old_kid = {
        let h = old["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap();
        let v: Value = serde_json::from_slice(&b64url_decode(h).unwrap()).unwrap();
        v["kid"].as_str().unwrap().to_string()
    };
    let r = c
        .post(format!("{iss}__dev/keys/revoke"))
        .json(&json!({"kid": old_kid}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let jwks: Value = c
        .get(format!("{iss}.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    c.post(format!("{iss}__dev/faults"))
        .json(&json!({"jwks": {"status": 503}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.get(format!("{iss}.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    c.delete(format!("{iss}__dev/faults")).send().await.unwrap();
    assert_eq!(
        c.get(format!("{iss}.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // clock: an access token expires for /userinfo after the shift
    let tok: Value = c
        .post(format!("{iss}__dev/token"))
        .json(&json!({"user": "alice@example.com", "scope": "openid"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.post(format!("{iss}__dev/clock"))
        .json(&json!({"offset_secs": 90000}))
        .send()
        .await
        .unwrap();
    let r = c
        .get(format!("{iss}userinfo"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    t.shutdown().await;
}

#[tokio::test]
async fn leeway_allows_only_the_immediately_previous_token() {
    let yaml = crate::DEFAULT_TENANT_YAML.replace("leeway: 0 ", "leeway: 30 ");
    let t = tenant_with(|o| o.source = crate::TenantSource::Yaml(yaml)).await;
    let c = client();
    let web = t.web_client();
    let body: Value = c
        .post(format!("{}__dev/token", t.issuer()))
        .json(&json!({"user": "alice@example.com", "scope": "openid offline_access"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = |rt: String| {
        let c = c.clone();
        let web = web.clone();
        let url = format!("{}oauth/token", t.issuer());
        async move {
            let r = c
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", web.client_id.as_str()),
                    ("client_secret", web.client_secret.as_str()),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let rt1 = body["refresh_token"].as_str().unwrap().to_string();
    let (s, b) = refresh(rt1.clone()).await;
    assert_eq!(s, 200);
    let rt2 = b["refresh_token"].as_str().unwrap().to_string();
    // reuse of rt1 inside the leeway: a fresh pair, no revocation
    let (s, b) = refresh(rt1.clone()).await;
    assert_eq!(s, 200, "{b}");
    // rt2 is still valid and becomes used → rt1 is now second-to-last → breach
    let (s, _) = refresh(rt2.clone()).await;
    assert_eq!(s, 200);
    let (s, _) = refresh(rt1).await;
    assert_eq!(s, 403);
    let (s, _) = refresh(b["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!(s, 403, "family revoked");
    t.shutdown().await;
}

/// A tenant whose every request appears to come from `peer` (the real socket is on loopback).
async fn tenant_seen_from(peer: std::net::SocketAddr) -> DevTenant {
    use axum::extract::{ConnectInfo, Request};
    use axum::middleware::{Next, from_fn};
    let dir =
        std::env::temp_dir().join(format!("pymd-tenant-test-{}", crate::util::random_hex(10)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    crate::start_wrapped(listener, TenantOptions::new(dir), move |app| {
        app.layer(from_fn(move |mut req: Request, next: Next| async move {
            req.extensions_mut().insert(ConnectInfo(peer));
            next.run(req).await
        }))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn dev_controls_refuse_a_peer_that_is_not_on_loopback() {
    let t = tenant_seen_from("192.0.2.7:40000".parse().unwrap()).await;
    let c = client();
    let iss = t.issuer().to_string();
    let refused = json!({
        "error": "access_denied",
        "error_description": "The dev tenant's /__dev test controls answer only to clients on this machine (loopback)."
    });
    let r = c
        .post(format!("{iss}__dev/token"))
        .json(&json!({"user": "alice@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap(), refused);
    let r = c
        .post(format!("{iss}__dev/clock"))
        .json(&json!({"offset_secs": 999}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap(), refused);
    // Nothing changed: no token family was minted, the clock was not moved.
    assert!(t.state.refresh.lock().await.families.is_empty());
    assert_eq!(t.state.clock.offset(), 0);
    // The rest of the tenant still answers that peer.
    let r = c
        .get(format!("{iss}.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    t.shutdown().await;
}

#[tokio::test]
async fn dev_controls_answer_an_ipv4_mapped_loopback_peer() {
    let t = tenant_seen_from("[::ffff:127.0.0.1]:40000".parse().unwrap()).await;
    let r = client()
        .get(format!("{}__dev/clock", t.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    t.shutdown().await;
}

#[tokio::test]
async fn dev_controls_refuse_a_cross_site_text_plain_post_and_the_clock_does_not_move() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let iss = t.issuer().to_string();
    // What a page on another site can send from the developer's browser without a preflight.
    let r = c
        .post(format!("{iss}__dev/clock"))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", "https://attacker.example")
        .header("sec-fetch-site", "cross-site")
        .body(r#"{"offset_secs": 999999}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "access_denied", "{v}");
    // Each signal on its own is enough.
    for (name, value, status) in [
        ("origin", "https://attacker.example", 403),
        ("origin", "null", 403),
        ("sec-fetch-site", "cross-site", 403),
        ("sec-fetch-site", "same-site", 403),
        ("content-type", "text/plain", 415),
        ("content-type", "application/x-www-form-urlencoded", 415),
    ] {
        let mut req = c
            .post(format!("{iss}__dev/clock"))
            .body(r#"{"offset_secs": 999999}"#);
        if name != "content-type" {
            req = req.header("content-type", "application/json");
        }
        let r = req.header(name, value).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{name}: {value}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error_description"].is_string(), "{v}");
    }
    // A JSON body with no Content-Type at all is refused too.
    let r = c
        .post(format!("{iss}__dev/clock"))
        .body(r#"{"offset_secs": 999999}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    assert_eq!(t.state.clock.offset(), 0, "the clock did not move");
    t.shutdown().await;
}

#[tokio::test]
async fn dev_controls_refuse_a_rebinding_host_and_mint_no_token() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let iss = t.issuer().to_string();
    for host in [
        "attacker.example",
        "attacker.example:80",
        "127.0.0.1.attacker.example",
    ] {
        let r = c
            .post(format!("{iss}__dev/token"))
            .header("host", host)
            .json(&json!({"user": "alice@example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{host}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "access_denied", "{v}");
        assert!(v.get("access_token").is_none());
        let r = c
            .get(format!("{iss}__dev/mailbox?format=json"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{host}");
    }
    assert!(
        t.state.refresh.lock().await.families.is_empty(),
        "no token minted"
    );
    t.shutdown().await;
}

#[tokio::test]
async fn dev_controls_answer_same_origin_json_and_loopback_hosts() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let iss = t.issuer().to_string();
    let origin = iss.trim_end_matches('/').to_string();
    // A same-origin request from a browser on the tenant's own page.
    let r = c
        .post(format!("{iss}__dev/clock"))
        .header("origin", &origin)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"offset_secs": 60}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(t.state.clock.offset(), 60);
    // Typed into the address bar; other loopback spellings of the host.
    let port = url::Url::parse(&iss).unwrap().port().unwrap();
    for host in [
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("127.9.8.7:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_string(),
    ] {
        let r = c
            .get(format!("{iss}__dev/clock"))
            .header("host", &host)
            .header("sec-fetch-site", "none")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
    // `pymd token`'s request: plain reqwest JSON, Host 127.0.0.1:PORT.
    let r = c
        .post(format!("{iss}__dev/token"))
        .json(&json!({"user": "alice@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Body-less POSTs need no Content-Type.
    let r = c
        .post(format!("{iss}__dev/keys/rotate"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    t.shutdown().await;
}

#[tokio::test]
async fn expired_entries_are_swept_from_every_in_memory_map() {
    use crate::state::{FailedLogins, OpaqueToken};
    use crate::sweep::{Swept, sweep};
    let t = tenant_with(|_| {}).await;
    let c = client();
    // A real login leaves a session, a redeemed code and a refresh-token family…
    let (verifier, challenge) = pkce();
    let (r, _) = login(
        &t,
        &c,
        "alice@example.com",
        "Alice-Dev-2026!",
        &challenge,
        "",
    )
    .await;
    let code = location_params(&r)["code"].clone();
    let web = t.web_client();
    let (status, _) = exchange(
        &t,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", web.client_id.as_str()),
            ("client_secret", web.client_secret.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", CB),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 200);
    // …an abandoned /authorize leaves a transaction; add a failed-login counter and an opaque
    // /userinfo token.
    let abandoned = c
        .get(format!(
            "{}authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256",
            t.issuer(),
            web.client_id,
            urlenc(CB)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(abandoned.status(), 302);
    let now = t.state.clock.unix();
    t.state.brute.lock().await.insert(
        ("bob@example.com".into(), None),
        FailedLogins {
            count: 3,
            last: now,
        },
    );
    t.state.opaque.lock().await.insert(
        "opaque-token".into(),
        OpaqueToken {
            user_id: "auth0|64b1f0c2a1b2c3d4e5f60001".into(),
            scope: vec!["openid".into()],
            exp: now + 86_400,
        },
    );
    let sizes = |t: &DevTenant| {
        let s = t.state.clone();
        async move {
            let refresh = s.refresh.lock().await;
            [
                s.codes.lock().await.len(),
                s.transactions.lock().await.len(),
                s.sessions.lock().await.len(),
                s.opaque.lock().await.len(),
                s.brute.lock().await.len(),
                refresh.families.len(),
                refresh.tokens.len(),
            ]
        }
    };
    assert_eq!(sizes(&t).await, [1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(
        sweep(&t.state).await,
        Swept::default(),
        "nothing is due yet"
    );

    // Two hours on: the code (kept an hour for replay detection) and the transaction are gone.
    t.state.clock.set_offset(2 * 3600);
    let swept = sweep(&t.state).await;
    assert_eq!(
        swept,
        Swept {
            codes: 1,
            transactions: 1,
            ..Swept::default()
        }
    );
    assert_eq!(sizes(&t).await, [0, 0, 1, 1, 1, 1, 1]);

    // 91 days on: past the session, the opaque token, the 30-day brute-force lapse and the
    // refresh family's 90-day absolute lifetime.
    t.state.clock.set_offset(91 * 86_400);
    let swept = sweep(&t.state).await;
    assert_eq!(
        swept,
        Swept {
            sessions: 1,
            opaque: 1,
            brute: 1,
            families: 1,
            refresh_tokens: 1,
            ..Swept::default()
        }
    );
    assert_eq!(sizes(&t).await, [0; 7]);
    t.shutdown().await;
}

#[tokio::test]
async fn a_revoked_refresh_family_is_swept_with_all_its_tokens() {
    use crate::sweep::sweep;
    let t = tenant_with(|_| {}).await;
    let c = client();
    let body: Value = c
        .post(format!("{}__dev/token", t.issuer()))
        .json(&json!({"user": "alice@example.com", "scope": "openid offline_access"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let web = t.web_client();
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    let form = |rt: &str| {
        [
            ("grant_type", "refresh_token".to_string()),
            ("client_id", web.client_id.clone()),
            ("client_secret", web.client_secret.clone()),
            ("refresh_token", rt.to_string()),
        ]
    };
    let url = format!("{}oauth/token", t.issuer());
    let r = c.post(&url).form(&form(&rt)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Reuse revokes the family; the sweep then drops it and both of its tokens.
    let r = c.post(&url).form(&form(&rt)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let swept = sweep(&t.state).await;
    assert_eq!((swept.families, swept.refresh_tokens), (1, 2));
    // Presenting a swept token still gets Auth0's answer.
    let r = c.post(&url).form(&form(&rt)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
    );
    t.shutdown().await;
}

/// Opens the login form `n` times for `c`; returns (form URL, CSRF cookie, csrf_token) each.
async fn open_login_forms(
    t: &DevTenant,
    c: &reqwest::Client,
    n: usize,
) -> Vec<(String, String, String)> {
    let iss = t.issuer().trim_end_matches('/').to_string();
    let (_, challenge) = pkce();
    let mut forms = Vec::new();
    for _ in 0..n {
        let url = format!(
            "{iss}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st&code_challenge={challenge}&code_challenge_method=S256",
            t.web_client().client_id,
            urlenc(CB)
        );
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 302);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let binding = csrf_cookie_of(&r);
        let html = c
            .get(format!("{iss}{loc}"))
            .header("cookie", &binding)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = between(&html, "name=\"csrf_token\" value=\"", "\"");
        forms.push((format!("{iss}{loc}"), binding, csrf));
    }
    forms
}

#[tokio::test]
async fn parallel_wrong_passwords_get_no_more_than_the_allowed_attempts() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let forms = open_login_forms(&t, &c, 30).await;
    let mut posts = tokio::task::JoinSet::new();
    for (url, binding, csrf) in forms {
        let c = c.clone();
        posts.spawn(async move {
            let r = c
                .post(url)
                .header("cookie", binding)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("email", "bob@example.com"),
                    ("password", "nope"),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        });
    }
    let (mut wrong, mut blocked) = (0, 0);
    while let Some(res) = posts.join_next().await {
        let (status, body) = res.unwrap();
        match status {
            400 => {
                assert!(body.contains("Wrong email or password."), "{body}");
                wrong += 1;
            }
            429 => {
                assert!(body.contains("blocked after multiple consecutive login attempts"));
                blocked += 1;
            }
            s => panic!("unexpected status {s}: {body}"),
        }
    }
    assert_eq!(
        (wrong, blocked),
        (10, 20),
        "exactly 10 guesses are evaluated"
    );
    // The pair stays blocked even with the right password…
    let (_, challenge) = pkce();
    let (r, _) = login(&t, &c, "bob@example.com", "Bob-Dev-2026!", &challenge, "").await;
    assert_eq!(r.status(), 429);
    // …while another IP still signs in.
    let other = reqwest::Client::builder()
        .redirect(Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let (r, _) = login(
        &t,
        &other,
        "bob@example.com",
        "Bob-Dev-2026!",
        &challenge,
        "",
    )
    .await;
    assert_eq!(r.status(), 302);
    t.shutdown().await;
}

#[tokio::test]
async fn a_correct_password_clears_the_failure_counter() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let (_, challenge) = pkce();
    for _ in 0..9 {
        let (r, _) = login(&t, &c, "bob@example.com", "nope", &challenge, "").await;
        assert_eq!(r.status(), 400);
    }
    let (r, _) = login(&t, &c, "bob@example.com", "Bob-Dev-2026!", &challenge, "").await;
    assert_eq!(r.status(), 302);
    assert!(t.state.brute.lock().await.is_empty(), "cleared on success");
    let (r, _) = login(&t, &c, "bob@example.com", "nope", &challenge, "").await;
    assert_eq!(r.status(), 400);
    let count = |t: &DevTenant| {
        let s = t.state.clone();
        async move { s.brute.lock().await.values().map(|f| f.count).sum::<u32>() }
    };
    assert_eq!(count(&t).await, 1);
    t.shutdown().await;
}

#[tokio::test]
async fn an_expired_verification_link_changes_nothing_and_is_swept() {
    use crate::state::Mail;
    let t = tenant_with(|_| {}).await;
    let c = client();
    let user_id = {
        let mut users = t.state.users.write().await;
        let id = users.by_email("bob@example.com").unwrap().user_id.clone();
        users.get_mut(&id).unwrap().email_verified = false;
        id
    };
    let now = t.state.clock.unix();
    let mail = |ticket: &str, sent_at: i64| Mail {
        to: "bob@example.com".into(),
        subject: "Verify your email".into(),
        link: format!("{}u/email-verification?ticket={ticket}", t.issuer()),
        sent_at,
        ticket: ticket.into(),
        user_id: user_id.clone(),
        used: false,
    };
    t.state.mailbox.lock().await.extend([
        mail("old-ticket", now),
        mail("new-ticket", now + 2 * 86_400),
    ]);
    // 5 days and a minute on: the first link has expired, the second has not.
    t.state.clock.set_offset(5 * 86_400 + 60);
    let r = c
        .get(format!(
            "{}u/email-verification?ticket=old-ticket",
            t.issuer()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("invalid or has expired"));
    let verified = |t: &DevTenant| {
        let s = t.state.clone();
        let id = user_id.clone();
        async move { s.users.read().await.get(&id).unwrap().email_verified }
    };
    assert!(!verified(&t).await, "an expired link verifies nothing");
    assert!(!t.state.mailbox.lock().await[0].used);
    // The sweep drops the expired mail and keeps the live one.
    let swept = crate::sweep::sweep(&t.state).await;
    assert_eq!(swept.mails, 1);
    let left: Vec<String> = t
        .state
        .mailbox
        .lock()
        .await
        .iter()
        .map(|m| m.ticket.clone())
        .collect();
    assert_eq!(left, ["new-ticket"]);
    let r = c
        .get(format!(
            "{}u/email-verification?ticket=new-ticket",
            t.issuer()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(verified(&t).await);
    t.shutdown().await;
}
