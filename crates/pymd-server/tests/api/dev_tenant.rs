//! End to end with the real dev tenant (spec §9): the app and the tenant each on their own
//! `127.0.0.1:0` listener, talking over HTTP exactly as with Auth0 — tokens minted by the tenant,
//! a real Authorization Code + PKCE login through its login page, the shipped post-login Action,
//! and profile changes through its Management API, including its failures.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use pymd_server::config::Config;
use pymd_server::state::AppState;
use pymd_tenant::{ClientCredentials, DevTenant, TenantOptions};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::support::{AppServer, Resp, http_client, random_string, send, temp_dir};

const ALICE_ID: &str = "auth0|64b1f0c2a1b2c3d4e5f60001";
const ALICE_EMAIL: &str = "alice@example.com";

struct Stack {
    // Field order matters for drop: the app first, then the tenant.
    app: AppServer,
    tenant: Option<DevTenant>,
    tenant_url: String,
    web: ClientCredentials,
    m2m: ClientCredentials,
    client: reqwest::Client,
}

impl Stack {
    async fn start() -> Stack {
        Stack::start_with(&[]).await
    }

    /// Starts with `extra` variables on top of the wiring to the tenant.
    async fn start_with(extra: &[(&str, &str)]) -> Stack {
        let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the app");
        let tenant_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the tenant");
        let app_url = format!("http://{}", app_listener.local_addr().expect("app addr"));
        let data_dir = temp_dir();
        let app_dir = data_dir.join("app");
        std::fs::create_dir_all(&app_dir).expect("app data dir");
        let internal_token = format!("pymd-internal-{}", random_string(32));

        let mut options = TenantOptions::new(data_dir.join("tenant"));
        options.app_base_url = Url::parse(&app_url).expect("app URL");
        // The shipped tenant directory, deployed with this app's internal token.
        options
            .keywords
            .insert("BACKEND_INTERNAL_TOKEN".into(), internal_token.clone());
        let tenant = pymd_tenant::start(tenant_listener, options)
            .await
            .unwrap_or_else(|e| panic!("dev tenant: {e}"));
        let tenant_url = tenant.issuer().to_owned();
        let web = tenant.web_client();
        let m2m = tenant.m2m_client();

        let vars: HashMap<String, String> = HashMap::from([
            ("PYMD_DATA_DIR".to_owned(), app_dir.display().to_string()),
            ("AUTH0_ISSUER_BASE_URL".to_owned(), tenant_url.clone()),
            ("AUTH0_BASE_URL".to_owned(), app_url.clone()),
            ("INTERNAL_API_TOKEN".to_owned(), internal_token.clone()),
            ("AUTH0_CLIENT_ID".to_owned(), web.client_id.clone()),
            ("AUTH0_CLIENT_SECRET".to_owned(), web.client_secret.clone()),
            ("AUTH0_M2M_CLIENT_ID".to_owned(), m2m.client_id.clone()),
            (
                "AUTH0_M2M_CLIENT_SECRET".to_owned(),
                m2m.client_secret.clone(),
            ),
        ]);
        let mut vars = vars;
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let config = Config::from_vars(&vars).unwrap_or_else(|e| panic!("config: {e}"));
        // The IdP and its clients come from the variables above, as with a real Auth0 tenant.
        let state = AppState::builder(config)
            .cookie_secret(SecretString::from(random_string(64)))
            .build()
            .await
            .unwrap_or_else(|e| panic!("build the state: {e:#}"));
        let app = AppServer::start(app_listener, state, internal_token, data_dir);
        Stack {
            app,
            tenant: Some(tenant),
            tenant_url,
            web,
            m2m,
            client: http_client(),
        }
    }

    fn tenant(&self, path: &str) -> String {
        format!("{}{}", self.tenant_url, path.trim_start_matches('/'))
    }

    /// `POST {tenant}/__dev/token`: an access token for a seeded user.
    async fn dev_token(&self, user: &str) -> String {
        let r = send(
            self.client
                .post(self.tenant("__dev/token"))
                .json(&json!({"user": user, "audience": "https://api.pymd.io"})),
        )
        .await;
        assert_eq!(r.status, 200, "__dev/token: {}", r.summary());
        r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// A Management API token (client credentials for `{issuer}api/v2/`).
    async fn m2m_token(&self) -> String {
        let audience = self.tenant("api/v2/");
        let r = send(self.client.post(self.tenant("oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", self.m2m.client_id.as_str()),
            ("client_secret", self.m2m.client_secret.as_str()),
            ("audience", audience.as_str()),
        ]))
        .await;
        assert_eq!(r.status, 200, "client_credentials: {}", r.summary());
        r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// A complete browser-style login: `/authorize` (code + PKCE S256) → login form → redirect
    /// to the app's callback with a code → code exchange at `/oauth/token`. Returns the token
    /// response.
    async fn login(&self, email: &str, password: &str) -> Value {
        let verifier = random_string(64);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let state = random_string(24);
        let nonce = random_string(24);
        let redirect_uri = self.app.url("/auth/callback");
        let mut authorize = Url::parse(&self.tenant("authorize")).expect("authorize URL");
        authorize
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.web.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", "openid profile email offline_access")
            .append_pair("audience", "https://api.pymd.io")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");

        let mut jar: HashMap<String, String> = HashMap::new();
        let r = self
            .browser(Method::GET, authorize.as_str(), &mut jar, None)
            .await;
        assert!(matches!(r.status, 302 | 303), "authorize: {}", r.summary());
        let login_url = resolve(authorize.as_str(), &r.header("location"));
        assert!(login_url.contains("/u/login"), "{login_url}");

        let page = self.browser(Method::GET, &login_url, &mut jar, None).await;
        assert_eq!(page.status, 200, "login page: {}", page.summary());
        let csrf = hidden_field(&page.text, "csrf_token").expect("csrf_token in the login form");

        let r = self
            .browser(
                Method::POST,
                &login_url,
                &mut jar,
                Some(&[
                    ("csrf_token", csrf.as_str()),
                    ("email", email),
                    ("password", password),
                ]),
            )
            .await;
        assert!(
            matches!(r.status, 302 | 303),
            "login submit: {}",
            r.summary()
        );
        let callback = resolve(&login_url, &r.header("location"));
        assert!(
            callback.starts_with(&redirect_uri),
            "redirected to {callback}, not the app's callback"
        );
        let params: HashMap<String, String> = Url::parse(&callback)
            .expect("callback URL")
            .query_pairs()
            .into_owned()
            .collect();
        assert_eq!(params.get("state"), Some(&state), "state round-trips");
        let code = params.get("code").expect("code").clone();

        let r = send(self.client.post(self.tenant("oauth/token")).form(&[
            ("grant_type", "authorization_code"),
            ("client_id", self.web.client_id.as_str()),
            ("client_secret", self.web.client_secret.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ]))
        .await;
        assert_eq!(r.status, 200, "code exchange: {}", r.summary());
        r.json()
    }

    /// One browser step: sends the jar's cookies and stores the `Set-Cookie`s it gets back.
    async fn browser(
        &self,
        method: Method,
        url: &str,
        jar: &mut HashMap<String, String>,
        form: Option<&[(&str, &str)]>,
    ) -> Resp {
        let mut rb = self.client.request(method, url);
        if !jar.is_empty() {
            let cookie: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            rb = rb.header("cookie", cookie.join("; "));
        }
        if let Some(form) = form {
            rb = rb.form(form);
        }
        let r = send(rb).await;
        for v in r.headers.get_all("set-cookie") {
            if let Some((k, v)) = v
                .to_str()
                .ok()
                .and_then(|s| s.split(';').next())
                .and_then(|kv| kv.split_once('='))
            {
                jar.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        r
    }

    async fn profile(&self, token: &str) -> Value {
        let r = self.app.get("/api/v1/profile", Some(token)).await;
        assert_eq!(r.status, 200, "profile: {}", r.summary());
        r.json()
    }
}

fn resolve(base: &str, location: &str) -> String {
    Url::parse(base)
        .and_then(|b| b.join(location))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| panic!("bad Location {location:?}"))
}

fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

#[tokio::test]
async fn tenant_tokens_and_a_real_pkce_login_work_and_the_login_syncs_the_user() {
    let stack = Stack::start().await;

    let dev = stack.dev_token(ALICE_EMAIL).await;
    let r = stack.app.get("/api/v1/documents", Some(&dev)).await;
    assert_eq!(r.status, 200, "dev-tenant token: {}", r.summary());

    let alice = stack
        .tenant
        .as_ref()
        .expect("tenant")
        .demo_logins()
        .into_iter()
        .find(|d| d.email == ALICE_EMAIL)
        .expect("alice is seeded");
    let tokens = stack.login(&alice.email, &alice.password).await;
    let access = tokens["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    assert!(tokens["id_token"].is_string(), "an ID token: {tokens}");

    // The post-login Action called the sync webhook (maybe asynchronously): poll, bounded.
    let deadline = Instant::now() + Duration::from_secs(10);
    let user = loop {
        let u = stack.app.user(ALICE_ID).await;
        if u.as_ref().is_some_and(|u| u.email.is_some()) || Instant::now() > deadline {
            break u;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let user = user.expect("alice was synced into the app database");
    assert_eq!(user.email.as_deref(), Some(ALICE_EMAIL));
    assert_eq!(user.name.as_deref(), Some("Alice Example"));
    assert!(user.email_verified);
    assert_eq!(stack.app.count_users_with_sub(ALICE_ID).await, 1);

    // The access token from the code exchange works against the API.
    let r = stack.app.get("/api/v1/documents", Some(&access)).await;
    assert_eq!(r.status, 200, "login token: {}", r.summary());
    let (id, _) = stack
        .app
        .create_document(&access, "From a login", "hi")
        .await;
    let r = stack
        .app
        .get(&format!("/api/v1/documents/{id}"), Some(&dev))
        .await;
    assert_eq!(
        r.status,
        200,
        "same user through both tokens: {}",
        r.summary()
    );
    let p = stack.profile(&access).await;
    assert_eq!(p["user_id"], json!(ALICE_ID));
    assert_eq!(p["email"], json!(ALICE_EMAIL));
    assert_eq!(p["roles"], json!(["user"]));
}

#[tokio::test]
async fn a_profile_change_goes_through_the_management_api_then_locally() {
    let stack = Stack::start().await;
    let token = stack.dev_token(ALICE_EMAIL).await;
    let r = stack
        .app
        .patch(
            "/api/v1/profile",
            Some(&token),
            &json!({"bio": "hello", "name": "Alice B"}),
        )
        .await;
    assert_eq!(r.status, 200, "PATCH /api/v1/profile: {}", r.summary());
    assert_eq!(r.json()["name"], json!("Alice B"));
    assert_eq!(r.json()["bio"], json!("hello"));
    let local = stack.app.user(ALICE_ID).await.expect("alice");
    assert_eq!(local.name.as_deref(), Some("Alice B"));
    assert_eq!(local.bio.as_deref(), Some("hello"));

    let m2m = stack.m2m_token().await;
    let mut url = Url::parse(&stack.tenant("api/v2/users/")).expect("users URL");
    url.path_segments_mut()
        .expect("base")
        .pop_if_empty()
        .push(ALICE_ID);
    let r = send(stack.client.get(url.as_str()).bearer_auth(&m2m)).await;
    assert_eq!(r.status, 200, "GET {url}: {}", r.summary());
    let remote = r.json();
    assert_eq!(remote["name"], json!("Alice B"), "{remote}");
    assert_eq!(remote["user_metadata"]["bio"], json!("hello"), "{remote}");
}

async fn assert_patch_refused_and_nothing_changed(stack: &Stack, token: &str, before: &Value) {
    let r = stack
        .app
        .patch(
            "/api/v1/profile",
            Some(token),
            &json!({"bio": "should not stick", "name": "Nope"}),
        )
        .await;
    assert!(
        matches!(r.status, 502 | 503),
        "expected 502/503: {}",
        r.summary()
    );
    assert_eq!(r.error(), "upstream_unavailable", "{}", r.summary());
    assert!(!r.description().is_empty());
    let after = stack.profile(token).await;
    assert_eq!(&after, before, "the local profile changed");
    let local = stack.app.user(ALICE_ID).await.expect("alice");
    assert_ne!(local.name.as_deref(), Some("Nope"));
    assert_eq!(local.bio, None);
}

#[tokio::test]
async fn with_the_tenant_token_endpoint_failing_a_profile_change_is_refused_and_nothing_changes() {
    let stack = Stack::start().await;
    let token = stack.dev_token(ALICE_EMAIL).await;
    let before = stack.profile(&token).await;
    let r = send(
        stack
            .client
            .post(stack.tenant("__dev/faults"))
            .json(&json!({"token": {"status": 503}})),
    )
    .await;
    assert_eq!(r.status, 200, "__dev/faults: {}", r.summary());
    assert_patch_refused_and_nothing_changed(&stack, &token, &before).await;
}

#[tokio::test]
async fn the_management_api_is_reached_on_auth0_management_domain_not_the_issuer() {
    // Nothing listens there: if the app used the issuer (the live tenant), the change would pass.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let domain = format!("http://{dead}");
    let stack = Stack::start_with(&[("AUTH0_MANAGEMENT_DOMAIN", domain.as_str())]).await;
    let token = stack.dev_token(ALICE_EMAIL).await;
    let before = stack.profile(&token).await;
    assert_patch_refused_and_nothing_changed(&stack, &token, &before).await;
}

#[tokio::test]
async fn with_the_tenant_down_a_profile_change_is_refused_and_nothing_changes() {
    let mut stack = Stack::start().await;
    let token = stack.dev_token(ALICE_EMAIL).await;
    // Warm the key cache so authentication keeps working without the tenant.
    let before = stack.profile(&token).await;
    stack.tenant.take().expect("tenant").shutdown().await;
    assert_patch_refused_and_nothing_changed(&stack, &token, &before).await;
}
