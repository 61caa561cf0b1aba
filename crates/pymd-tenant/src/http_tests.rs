//! End-to-end unit tests over real HTTP on 127.0.0.1 (the conformance suite in `tests/`
//! is separate); they pin the flows this crate's own logic must get right.

use std::collections::HashMap;

use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::{DevTenant, TenantOptions, start};
use crate::util::{b64url, b64url_decode, sha256};

pub(crate) async fn tenant_with(f: impl FnOnce(&mut TenantOptions)) -> DevTenant {
    let dir = std::env::temp_dir().join(format!("pymd-tenant-test-{}", crate::util::random_hex(10)));
    let mut opts = TenantOptions::new(dir);
    f(&mut opts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, opts).await.unwrap()
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
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
    let d: Value = c.get(format!("{iss}.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(d["issuer"], iss);
    assert_eq!(d["end_session_endpoint"], format!("{iss}oidc/logout"));
    let jwks: Value = c.get(format!("{iss}.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k["use"] == "sig" && k["alg"] == "RS256" && k.get("d").is_none()));

    let r = c.post(format!("{iss}__dev/token"))
        .json(&json!({"user": "alice@example.com", "scope": "openid profile email read:documents offline_access"}))
        .send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["iss"], iss);
    assert_eq!(at["aud"], json!(["https://api.pymd.io", format!("{iss}userinfo")]));
    assert_eq!(at["scope"], "openid profile email read:documents offline_access");
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
    u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}
