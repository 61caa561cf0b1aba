//! Test support: spawning tenants, a cookie-carrying browser, PKCE, JWT helpers, webhook receivers.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use pymd_tenant::{DevTenant, TenantOptions, TenantSource};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

pub const API: &str = "https://api.pymd.io";
pub const APP: &str = "http://localhost:3000";
pub const CALLBACK: &str = "http://localhost:3000/auth/callback";
pub const OTHER_CALLBACK: &str = "http://localhost:3000/api/auth/callback";
pub const ROLES_CLAIM: &str = "https://pymd.io/roles";

pub const WEB_CLIENT_ID: &str = "pymdWebDevClient7Hk2Lq9Xz4Rt8Vw1";
pub const WEB_CLIENT_SECRET: &str =
    "dev-web-secret-0f3c9a7e5b2d4816a9c0e7f1b3d5a7c9e1f3b5d7a9c1e3f5";
pub const M2M_CLIENT_ID: &str = "pymdM2MDevClient3Jd8Fp2Nc6Yb5Qs0";
pub const M2M_CLIENT_SECRET: &str =
    "dev-m2m-secret-7a1e4c9b2f6d8035b7e2a4c6f8d0b2e4a6c8e0f2b4d6a8c0";

pub const ALICE_ID: &str = "auth0|64b1f0c2a1b2c3d4e5f60001";
pub const ALICE_EMAIL: &str = "alice@example.com";
pub const ALICE_PASSWORD: &str = "Alice-Dev-2026!";
pub const BOB_ID: &str = "auth0|64b1f0c2a1b2c3d4e5f60002";
pub const BOB_EMAIL: &str = "bob@example.com";
pub const BOB_PASSWORD: &str = "Bob-Dev-2026!";
pub const ADMIN_ID: &str = "auth0|64b1f0c2a1b2c3d4e5f60003";
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "Admin-Dev-2026!";

pub const USER_PERMISSIONS: [&str; 5] = [
    "read:documents",
    "write:documents",
    "delete:documents",
    "read:profile",
    "write:profile",
];

pub const DEFAULT_SCOPE: &str = "openid profile email offline_access read:documents";

/// The shipped `tenant.yaml` (the repository's `auth0/`).
pub const DEFAULT_TENANT_YAML: &str = pymd_tenant::DEFAULT_TENANT_YAML;

/// The shipped tenant with what it sends to the app (the Action's sync-user call, the log
/// stream) aimed at `rx` instead, authenticated with `token` (the app's INTERNAL_API_TOKEN).
pub fn aimed_at(rx: &Receiver, token: &str) -> impl FnOnce(&mut TenantOptions) + use<> {
    let yaml = DEFAULT_TENANT_YAML.replace("##APP_BASE_URL##/internal/", "##RECEIVER##internal/");
    let (base, token) = (rx.base.to_string(), token.to_string());
    move |o| {
        o.source = TenantSource::Yaml(yaml);
        o.keywords.insert("RECEIVER".into(), base);
        o.keywords.insert("BACKEND_INTERNAL_TOKEN".into(), token);
    }
}

/// A tenant whose only post-login Action is `code` (declaring axios), with the shipped rest.
pub fn with_action(code: &str) -> impl FnOnce(&mut TenantOptions) + use<> {
    let yaml = DEFAULT_TENANT_YAML.replace(
        "./actions/pymd-post-login/code.js",
        "./actions/test-action/code.js",
    );
    let files =
        pymd_tenant::TenantFiles::from_yaml(yaml).with_code("actions/test-action/code.js", code);
    move |o| o.source = TenantSource::Files(files)
}

// ---------------------------------------------------------------------------------------------
// Spawning
// ---------------------------------------------------------------------------------------------

/// A data dir removed when dropped (for tests that start tenants by hand).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        TempDir(fresh_data_dir())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn fresh_data_dir() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("pymd-tenant-conformance-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("create temp data dir");
    dir
}

/// A running tenant plus an HTTP client that never follows redirects.
pub struct Tenant {
    dev: Option<DevTenant>,
    pub issuer: String,
    pub base: Url,
    pub http: reqwest::Client,
    pub data_dir: PathBuf,
    keep_dir: bool,
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

pub async fn spawn() -> Tenant {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut TenantOptions)) -> Tenant {
    spawn_in(fresh_data_dir(), configure).await
}

pub async fn spawn_in(data_dir: PathBuf, configure: impl FnOnce(&mut TenantOptions)) -> Tenant {
    let mut options = TenantOptions::new(data_dir.clone());
    configure(&mut options);
    let dev = try_start(options).await.expect("the tenant starts");
    let issuer = dev.issuer().to_string();
    Tenant {
        base: Url::parse(&issuer).expect("issuer is a URL"),
        issuer,
        dev: Some(dev),
        http: http_client(),
        data_dir,
        keep_dir: false,
    }
}

pub async fn try_start(options: TenantOptions) -> Result<DevTenant, pymd_tenant::TenantError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    pymd_tenant::start(listener, options).await
}

pub fn yaml_source(yaml: String) -> TenantSource {
    TenantSource::Yaml(yaml)
}

impl Drop for Tenant {
    fn drop(&mut self) {
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

pub use pymd_test_support::Resp;

/// Reads a response to the end.
pub async fn into_resp(r: reqwest::Response) -> Resp {
    Resp::read(r).await
}

impl Tenant {
    pub fn dev(&self) -> &DevTenant {
        self.dev.as_ref().expect("tenant running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path.trim_start_matches('/'))
    }

    /// Stops the tenant, keeping its data dir (for restart tests).
    pub async fn stop(mut self) -> PathBuf {
        self.keep_dir = true;
        let dev = self.dev.take().expect("running");
        dev.shutdown().await;
        self.data_dir.clone()
    }

    pub async fn get(&self, path: &str) -> Resp {
        into_resp(self.http.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Resp {
        into_resp(
            self.http
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Resp {
        into_resp(
            self.http
                .post(self.url(path))
                .json(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// `PATCH /api/v2/users/{id}` with `body` as `token`.
    pub async fn patch_user(&self, token: &str, id: &str, body: &Value) -> Resp {
        let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let r = self
            .http
            .patch(self.url(&format!("api/v2/users/{id}")))
            .bearer_auth(token)
            .json(body);
        into_resp(r.send().await.unwrap()).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        into_resp(
            self.http
                .delete(self.url(path))
                .send()
                .await
                .expect("DELETE"),
        )
        .await
    }

    /// `POST /oauth/token` with a form body.
    pub async fn token(&self, form: &[(&str, &str)]) -> Resp {
        into_resp(
            self.http
                .post(self.url("oauth/token"))
                .form(form)
                .send()
                .await
                .expect("POST /oauth/token"),
        )
        .await
    }

    pub async fn client_credentials(&self, audience: &str, scope: Option<&str>) -> Resp {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", M2M_CLIENT_ID),
            ("client_secret", M2M_CLIENT_SECRET),
            ("audience", audience),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(&form).await
    }

    pub fn management_audience(&self) -> String {
        self.url("api/v2/")
    }

    /// An M2M access token for the Management API (all granted scopes, or `scope`).
    pub async fn management_token(&self, scope: Option<&str>) -> String {
        let r = self
            .client_credentials(&self.management_audience(), scope)
            .await;
        assert_eq!(r.status, StatusCode::OK, "management token: {}", r.text);
        r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn refresh(&self, refresh_token: &str) -> Resp {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", WEB_CLIENT_ID),
            ("client_secret", WEB_CLIENT_SECRET),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    pub async fn exchange_code(&self, code: &str, verifier: &str, redirect_uri: &str) -> Resp {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB_CLIENT_ID),
            ("client_secret", WEB_CLIENT_SECRET),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect_uri),
        ])
        .await
    }

    pub async fn set_clock_offset(&self, offset_secs: i64) {
        let r = self
            .post_json("__dev/clock", &json!({ "offset_secs": offset_secs }))
            .await;
        assert!(
            r.status.is_success(),
            "POST /__dev/clock: {} {}",
            r.status,
            r.text
        );
    }

    pub async fn jwks(&self) -> Value {
        let r = self.get(".well-known/jwks.json").await;
        assert_eq!(r.status, StatusCode::OK, "jwks: {}", r.text);
        r.json()
    }

    pub async fn jwks_kids(&self) -> Vec<String> {
        self.jwks().await["keys"]
            .as_array()
            .expect("keys array")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_string())
            .collect()
    }

    /// Verifies the token's RS256 signature against the tenant's current JWKS; returns the claims.
    pub async fn verify(&self, token: &str) -> Result<Value, String> {
        verify_with_jwks(token, &self.jwks().await)
    }

    pub async fn logs(&self) -> Vec<Value> {
        let r = self.get("__dev/logs").await;
        assert_eq!(r.status, StatusCode::OK, "GET /__dev/logs: {}", r.text);
        r.json().as_array().expect("logs are an array").clone()
    }

    /// Waits (bounded) until a log event of `kind` satisfying `pred` is present.
    pub async fn wait_for_log(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let logs = self.logs().await;
            if let Some(e) = logs.iter().find(|e| e["type"] == kind && pred(e)) {
                return e.clone();
            }
            if Instant::now() > deadline {
                panic!("no `{kind}` log event appeared; logs: {logs:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(self)
    }

    /// Full login through the form for the web client; returns the token response JSON.
    pub async fn login_tokens(&self, email: &str, password: &str) -> Tokens {
        let mut b = self.browser();
        login_tokens_with(self, &mut b, &AuthRequest::web(), email, password).await
    }
}

/// Sends `n` copies of one `/oauth/token` form at the same moment, each from its own client (its
/// own, already open connection), released together by a barrier; returns the responses in
/// completion order.
pub async fn token_concurrently(t: &Tenant, n: usize, form: &[(&str, &str)]) -> Vec<Resp> {
    let form: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let url = t.url("oauth/token");
    let warm_up = t.url(".well-known/openid-configuration");
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (http, url, form, barrier) =
            (http_client(), url.clone(), form.clone(), barrier.clone());
        let warm_up = warm_up.clone();
        tasks.spawn(async move {
            // Open the connection first, so that after the barrier only the request travels.
            let r = http.get(warm_up).send().await.expect("warm-up GET");
            let _ = r.bytes().await;
            barrier.wait().await;
            into_resp(
                http.post(url)
                    .form(&form)
                    .send()
                    .await
                    .expect("POST /oauth/token"),
            )
            .await
        });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        out.push(r.expect("request task"));
    }
    out
}

/// Asserts a token-endpoint answer is marked `Cache-Control: no-store` (RFC 6749 §5.1), success or
/// error; returns it for further checks.
pub fn no_store(r: Resp) -> Resp {
    assert_eq!(
        r.header("cache-control"),
        Some("no-store"),
        "{} {}",
        r.status,
        r.text
    );
    r
}

/// The `auth0_csrf=…` pair a response set (what a browser sends back with the form).
pub fn csrf_cookie(r: &Resp) -> String {
    r.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("auth0_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("an auth0_csrf cookie")
        .to_string()
}

/// An HTTP client (no redirects) whose requests leave from `ip`, another loopback address.
pub fn http_client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .expect("reqwest client")
}

/// The parsed body of every request `rx` received on `path` (JSON, `Null` if not JSON), after
/// checking each carried `Authorization: Bearer {bearer}`.
pub fn received_json(rx: &Receiver, path: &str, bearer: &str) -> Vec<Value> {
    rx.all()
        .into_iter()
        .filter(|r| r.path == path)
        .map(|r| {
            assert_eq!(
                r.authorization.as_deref(),
                Some(format!("Bearer {bearer}").as_str())
            );
            serde_json::from_str(&r.body).unwrap_or(Value::Null)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// PKCE, JWT
// ---------------------------------------------------------------------------------------------

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let bytes: [u8; 32] = rand::random();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = s256(&verifier);
    Pkce {
        verifier,
        challenge,
    }
}

pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn random_token() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jwt_segment(token: &str, i: usize) -> Value {
    let seg = token
        .split('.')
        .nth(i)
        .unwrap_or_else(|| panic!("not a JWT: {token}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(seg)
        .unwrap_or_else(|e| panic!("segment {i} is not base64url: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("segment {i} is not JSON: {e}"))
}

pub fn jwt_claims(token: &str) -> Value {
    assert_eq!(token.split('.').count(), 3, "a JWS compact token: {token}");
    jwt_segment(token, 1)
}

pub fn jwt_header(token: &str) -> Value {
    jwt_segment(token, 0)
}

pub fn verify_with_jwks(token: &str, jwks: &Value) -> Result<Value, String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
    if header.alg != Algorithm::RS256 {
        return Err(format!("alg {:?}", header.alg));
    }
    let kid = header.kid.ok_or("no kid")?;
    let key = jwks["keys"]
        .as_array()
        .ok_or("no keys")?
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or_else(|| format!("kid {kid} not in JWKS"))?;
    let n = key["n"].as_str().ok_or("no n")?;
    let e = key["e"].as_str().ok_or("no e")?;
    let key = DecodingKey::from_rsa_components(n, e).map_err(|e| format!("key: {e}"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Signature only: time and audience are asserted by the tests themselves (some run with a
    // shifted tenant clock).
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| format!("verify: {e}"))
}

pub fn aud_list(claims: &Value) -> Vec<String> {
    match &claims["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        other => panic!("aud is neither string nor array: {other}"),
    }
}

pub fn scopes(s: &str) -> Vec<&str> {
    s.split(' ').filter(|s| !s.is_empty()).collect()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// ---------------------------------------------------------------------------------------------
// A minimal browser: cookie jar, manual redirects, HTML form parsing.
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub audience: Option<String>,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// `None` sends no code_challenge; `Some(c)` sends `c` (normally S256 of the verifier).
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub extra: Vec<(String, String)>,
}

impl AuthRequest {
    pub fn web() -> Self {
        let p = pkce();
        AuthRequest {
            client_id: WEB_CLIENT_ID.into(),
            redirect_uri: CALLBACK.into(),
            scope: DEFAULT_SCOPE.into(),
            audience: Some(API.into()),
            state: random_token(),
            nonce: random_token(),
            pkce_verifier: p.verifier,
            code_challenge: Some(p.challenge),
            code_challenge_method: Some("S256".into()),
            extra: vec![],
        }
    }

    pub fn with(mut self, k: &str, v: &str) -> Self {
        self.extra.push((k.into(), v.into()));
        self
    }

    pub fn url(&self, tenant: &Tenant) -> String {
        let mut url = Url::parse(&tenant.url("authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", &self.client_id);
            q.append_pair("redirect_uri", &self.redirect_uri);
            q.append_pair("scope", &self.scope);
            if let Some(a) = &self.audience {
                q.append_pair("audience", a);
            }
            q.append_pair("state", &self.state);
            q.append_pair("nonce", &self.nonce);
            if let Some(c) = &self.code_challenge {
                q.append_pair("code_challenge", c);
            }
            if let Some(m) = &self.code_challenge_method {
                q.append_pair("code_challenge_method", m);
            }
            for (k, v) in &self.extra {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    }
}

pub struct Tokens {
    pub json: Value,
    pub headers: HeaderMap,
    pub access_token: String,
    pub id_token: String,
    pub refresh_token: String,
    pub request: AuthRequest,
}

#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

/// Where a chain of redirects ended.
#[allow(
    clippy::large_enum_variant,
    reason = "a test value, built once per redirect chain"
)]
pub enum Landing {
    /// A redirect that leaves the tenant (e.g. to the app's callback): the absolute URL.
    Away(String),
    /// A non-redirect response from the tenant, and the URL it was served at.
    Page(String, Resp),
}

impl Landing {
    pub fn away(self) -> String {
        match self {
            Landing::Away(u) => u,
            Landing::Page(u, r) => panic!(
                "expected a redirect away from the tenant, got {} at {u}: {}",
                r.status,
                excerpt(&r.text)
            ),
        }
    }
    pub fn page(self) -> (String, Resp) {
        match self {
            Landing::Page(u, r) => (u, r),
            Landing::Away(u) => panic!("expected a tenant page, got a redirect to {u}"),
        }
    }
}

pub fn excerpt(s: &str) -> String {
    s.chars().take(600).collect()
}

pub struct Browser {
    pub http: reqwest::Client,
    pub base: Url,
    /// pymd-test-support's jar: per host, RFC 6265 paths, deleted by `Max-Age<=0`.
    pub jar: pymd_test_support::CookieJar,
}

impl Browser {
    pub fn new(tenant: &Tenant) -> Self {
        Browser {
            http: http_client(),
            base: tenant.base.clone(),
            jar: pymd_test_support::CookieJar::default(),
        }
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.jar.get(name).is_some()
    }

    /// The `Cookie` header for a request to `url`: only cookies whose `Path` matches.
    fn cookie_header(&self, url: &str) -> Option<String> {
        Url::parse(url).ok().and_then(|u| self.jar.header_for(&u))
    }

    fn store_cookies(&mut self, url: &str, headers: &HeaderMap) {
        if let Ok(u) = Url::parse(url) {
            self.jar.store(&u, headers);
        }
    }

    pub fn resolve(&self, url: &str) -> String {
        self.base.join(url).expect("resolvable URL").to_string()
    }

    fn same_origin(&self, url: &str) -> bool {
        match Url::parse(url) {
            Ok(u) => u.origin() == self.base.origin(),
            Err(_) => false,
        }
    }

    pub async fn get(&mut self, url: &str) -> Resp {
        let url = self.resolve(url);
        let mut req = self.http.get(&url);
        if self.same_origin(&url)
            && let Some(c) = self.cookie_header(&url)
        {
            req = req.header("cookie", c);
        }
        let r = into_resp(req.send().await.expect("GET")).await;
        self.store_cookies(&url, &r.headers);
        r
    }

    pub async fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> Resp {
        let url = self.resolve(url);
        let mut req = self.http.post(&url).form(fields);
        if let Some(c) = self.cookie_header(&url) {
            req = req.header("cookie", c);
        }
        let r = into_resp(req.send().await.expect("POST")).await;
        self.store_cookies(&url, &r.headers);
        r
    }

    /// Follows redirects that stay on the tenant, starting from `first` (served at `at`).
    pub async fn follow(&mut self, at: &str, first: Resp) -> Landing {
        let mut at = self.resolve(at);
        let mut resp = first;
        for _ in 0..10 {
            if !resp.is_redirect() {
                return Landing::Page(at, resp);
            }
            assert_ne!(
                resp.status,
                StatusCode::TEMPORARY_REDIRECT,
                "307 would re-POST credentials (RFC 9700 §4.12)"
            );
            let loc = resp.location().expect("redirect has a Location");
            let next = Url::parse(&at)
                .unwrap()
                .join(&loc)
                .expect("Location resolves")
                .to_string();
            if !self.same_origin(&next) {
                return Landing::Away(next);
            }
            at = next;
            resp = self.get(&at).await;
        }
        panic!("redirect loop at {at}");
    }

    pub async fn open(&mut self, url: &str) -> Landing {
        let first = self.get(url).await;
        self.follow(url, first).await
    }

    pub async fn authorize(&mut self, tenant: &Tenant, req: &AuthRequest) -> Landing {
        self.open(&req.url(tenant)).await
    }

    /// Opens /authorize and expects to land on the login form.
    pub async fn login_page(&mut self, tenant: &Tenant, req: &AuthRequest) -> (String, Form) {
        let (url, page) = self.authorize(tenant, req).await.page();
        assert_eq!(
            page.status,
            StatusCode::OK,
            "login page: {}",
            excerpt(&page.text)
        );
        let form = parse_form(&page.text).expect("the login page has a POST form");
        (url, form)
    }

    /// Submits a credential form (login or sign-up) found at `page_url`.
    pub async fn submit(
        &mut self,
        page_url: &str,
        form: &Form,
        email: &str,
        password: &str,
    ) -> (String, Resp) {
        let mut fields: Vec<(String, String)> = form
            .fields
            .iter()
            .filter(|(k, _)| k != "email" && k != "password" && k != "username")
            .cloned()
            .collect();
        fields.push(("email".into(), email.into()));
        fields.push(("password".into(), password.into()));
        let action = Url::parse(page_url)
            .unwrap()
            .join(if form.action.is_empty() {
                page_url
            } else {
                &form.action
            })
            .unwrap()
            .to_string();
        let r = self.post_form(&action, &fields).await;
        (action, r)
    }

    /// Runs the whole interactive login and returns the callback URL (with code and state).
    pub async fn login(
        &mut self,
        tenant: &Tenant,
        req: &AuthRequest,
        email: &str,
        password: &str,
    ) -> String {
        let (url, form) = self.login_page(tenant, req).await;
        let (action, r) = self.submit(&url, &form, email, password).await;
        let callback = self.follow(&action, r).await.away();
        assert!(
            callback.starts_with(&req.redirect_uri),
            "callback {callback} is not under {}",
            req.redirect_uri
        );
        callback
    }

    /// Logs in and returns the authorization code (after checking `state`).
    pub async fn login_code(
        &mut self,
        tenant: &Tenant,
        req: &AuthRequest,
        email: &str,
        password: &str,
    ) -> String {
        let callback = self.login(tenant, req, email, password).await;
        assert_eq!(
            query_param(&callback, "state").as_deref(),
            Some(req.state.as_str())
        );
        query_param(&callback, "code").unwrap_or_else(|| panic!("no code in {callback}"))
    }
}

/// Login through the form and exchange the code (web client, secret in the body, PKCE S256).
pub async fn login_tokens_with(
    tenant: &Tenant,
    browser: &mut Browser,
    req: &AuthRequest,
    email: &str,
    password: &str,
) -> Tokens {
    let code = browser.login_code(tenant, req, email, password).await;
    exchange_for_tokens(tenant, req, &code).await
}

/// Exchanges a login's code (web client, secret in the body, PKCE S256) and expects tokens.
pub async fn exchange_for_tokens(tenant: &Tenant, req: &AuthRequest, code: &str) -> Tokens {
    let r = tenant
        .exchange_code(code, &req.pkce_verifier, &req.redirect_uri)
        .await;
    assert_eq!(r.status, StatusCode::OK, "code exchange: {}", r.text);
    let json = r.json();
    let s = |k: &str| json[k].as_str().unwrap_or_default().to_string();
    Tokens {
        access_token: s("access_token"),
        id_token: s("id_token"),
        refresh_token: s("refresh_token"),
        headers: r.headers.clone(),
        json,
        request: req.clone(),
    }
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#x3D;", "=")
        .replace("&#61;", "=")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let start = from + i;
        from = start + name.len();
        let before_ok = start == 0 || lower.as_bytes()[start - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let offset = tag.len() - rest.len() + 1;
        let rest = tag[offset..].trim_start();
        let value = if let Some(r) = rest.strip_prefix('"') {
            &r[..r.find('"')?]
        } else if let Some(r) = rest.strip_prefix('\'') {
            &r[..r.find('\'')?]
        } else {
            let end = rest
                .find(|c: char| c.is_ascii_whitespace() || c == '>')
                .unwrap_or(rest.len());
            &rest[..end]
        };
        return Some(html_unescape(value));
    }
    None
}

/// Parses the first `<form method="post">` of a page: its action and named inputs.
pub fn parse_form(html: &str) -> Option<Form> {
    let lower = html.to_ascii_lowercase();
    let mut search = 0;
    while let Some(i) = lower[search..].find("<form") {
        let start = search + i;
        let tag_end = start + lower[start..].find('>')?;
        let tag = &html[start..=tag_end];
        let end = lower[tag_end..]
            .find("</form")
            .map(|j| tag_end + j)
            .unwrap_or(html.len());
        search = tag_end;
        if attr(tag, "method").map(|m| m.to_ascii_lowercase()) != Some("post".into()) {
            continue;
        }
        let body = &html[tag_end..end];
        let body_lower = &lower[tag_end..end];
        let mut fields = vec![];
        let mut p = 0;
        while let Some(j) = body_lower[p..].find("<input") {
            let s = p + j;
            let e = s + body_lower[s..].find('>').unwrap_or(body_lower.len() - s);
            let input = &body[s..e.min(body.len())];
            if let Some(name) = attr(input, "name") {
                fields.push((name, attr(input, "value").unwrap_or_default()));
            }
            p = e;
        }
        return Some(Form {
            action: attr(tag, "action").unwrap_or_default(),
            fields,
        });
    }
    None
}

pub fn form_value(form: &Form, name: &str) -> Option<String> {
    form.fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

// ---------------------------------------------------------------------------------------------
// Webhook receiver
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Ok,
    Fail500,
    Hang,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Clone)]
pub struct Receiver {
    pub base: Url,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }
    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
    /// Waits (bounded) until some received request satisfies `pred`.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Received) -> bool) -> Received {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(r) = self.all().into_iter().find(|r| pred(r)) {
                return r;
            }
            if Instant::now() > deadline {
                panic!("receiver never got {what}; got {:#?}", self.all());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub async fn receiver(behaviour: Behaviour) -> Receiver {
    use axum::extract::{Request, State};
    use axum::response::IntoResponse;

    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let state = (received.clone(), behaviour);
    async fn handle(
        State((log, behaviour)): State<(Arc<Mutex<Vec<Received>>>, Behaviour)>,
        req: Request,
    ) -> axum::response::Response {
        let (method, path, authorization, content_type) = {
            let h = |n: &str| {
                req.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            (
                req.method().to_string(),
                req.uri().path().to_string(),
                h("authorization"),
                h("content-type"),
            )
        };
        let bytes = axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap_or_default();
        log.lock().unwrap().push(Received {
            method,
            path,
            authorization,
            content_type,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        });
        match behaviour {
            Behaviour::Ok => axum::Json(json!({"ok": true})).into_response(),
            Behaviour::Fail500 => {
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
            }
            Behaviour::Hang => {
                std::future::pending::<()>().await;
                unreachable!()
            }
        }
    }
    let app = axum::Router::new().fallback(handle).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        base: Url::parse(&format!("http://{addr}/")).unwrap(),
        received,
    }
}

/// Finds every JSON object (at any depth) with `"type": kind`.
pub fn find_events(v: &Value, kind: &str) -> Vec<Value> {
    let mut out = vec![];
    fn walk(v: &Value, kind: &str, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                if m.get("type").and_then(Value::as_str) == Some(kind) {
                    out.push(v.clone());
                }
                m.values().for_each(|x| walk(x, kind, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, kind, out)),
            _ => {}
        }
    }
    walk(v, kind, &mut out);
    out
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// The tenant's sign-up page for a new web login: its request, URL, CSRF binding cookie and
/// token.
pub struct SignupPage {
    pub req: AuthRequest,
    pub url: String,
    pub binding: String,
    pub csrf: String,
}

impl SignupPage {
    pub async fn open(t: &Tenant) -> SignupPage {
        let req = AuthRequest::web().with("screen_hint", "signup");
        let r = into_resp(t.http.get(req.url(t)).send().await.unwrap()).await;
        let loc = r.location().unwrap();
        assert!(loc.starts_with("/u/signup?state="), "{loc}");
        let binding = csrf_cookie(&r);
        let url = t.base.join(&loc).unwrap().to_string();
        let page = t.http.get(&url).header("cookie", &binding).send();
        let form = parse_form(&page.await.unwrap().text().await.unwrap()).unwrap();
        let csrf = form_value(&form, "csrf_token").unwrap();
        SignupPage {
            req,
            url,
            binding,
            csrf,
        }
    }

    /// Posts the form.
    pub async fn submit(&self, t: &Tenant, email: &str, password: &str) -> Resp {
        let fields = [
            ("csrf_token", self.csrf.as_str()),
            ("email", email),
            ("password", password),
        ];
        let r = t
            .http
            .post(&self.url)
            .header("cookie", &self.binding)
            .form(&fields);
        into_resp(r.send().await.unwrap()).await
    }
}

/// Signs up through the sign-up page (`screen_hint=signup`) and exchanges the code the
/// completed sign-up returns: the new user's first login.
pub async fn signup_tokens(t: &Tenant, email: &str, password: &str) -> Tokens {
    let page = SignupPage::open(t).await;
    let r = page.submit(t, email, password).await;
    assert_eq!(r.status, StatusCode::FOUND, "sign-up: {}", excerpt(&r.text));
    let code = query_param(&r.location().unwrap(), "code").expect("a code after sign-up");
    exchange_for_tokens(t, &page.req, &code).await
}
