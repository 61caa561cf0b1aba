//! Helpers for the unit tests that drive a real tenant over HTTP and then look inside its
//! state (what a client cannot observe; everything a client can observe is pinned by
//! `tests/conformance`): starting a tenant, a non-redirecting client, PKCE, the login form.

use std::collections::HashMap;

use reqwest::redirect::Policy;
use serde_json::Value;

use crate::util::{b64url, sha256};
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

pub(crate) async fn exchange(
    t: &DevTenant,
    c: &reqwest::Client,
    form: &[(&str, &str)],
) -> (u16, Value) {
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

/// A tenant whose every request appears to come from `peer` (the real socket is on loopback).
pub(crate) async fn tenant_seen_from(peer: std::net::SocketAddr) -> DevTenant {
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
