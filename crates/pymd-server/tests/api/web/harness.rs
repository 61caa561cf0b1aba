//! A running PyMD wired to a running dev tenant, both on 127.0.0.1:0, and a tiny "browser": a
//! reqwest client that never follows redirects and carries cookies by hand (name, value, path), so
//! each test can see every hop and every `Set-Cookie`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use pymd_server::IdpWiring;
use pymd_server::config::Config;
use pymd_storage::Store;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

pub const ALICE: (&str, &str) = ("alice@example.com", "Alice-Dev-2026!");
pub const BOB: (&str, &str) = ("bob@example.com", "Bob-Dev-2026!");

/// The app and the tenant.
pub struct Env {
    /// App base URL without a trailing slash, e.g. `http://127.0.0.1:41234`.
    pub app: String,
    /// Tenant issuer with a trailing slash.
    pub tenant: String,
    pub store: Arc<dyn Store>,
    pub db_path: PathBuf,
    dir: PathBuf,
    stop_app: Option<tokio::sync::oneshot::Sender<()>>,
    tenant_handle: Option<pymd_tenant::DevTenant>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(tx) = self.stop_app.take() {
            let _ = tx.send(());
        }
        drop(self.tenant_handle.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(|_| {}).await
    }

    /// Starts with a hook that may change the state before the app is built (e.g. its store).
    pub async fn start_with(customise: impl FnOnce(&mut pymd_server::state::AppState)) -> Env {
        Env::start_full(|_| {}, customise).await
    }

    /// Starts with a hook on the dev tenant's options too (e.g. its tenant file).
    pub async fn start_full(
        tenant_options: impl FnOnce(&mut pymd_tenant::TenantOptions),
        customise: impl FnOnce(&mut pymd_server::state::AppState),
    ) -> Env {
        let dir =
            std::env::temp_dir().join(format!("pymd-web-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind app");
        let app = format!("http://{}", app_listener.local_addr().expect("app addr"));
        let tenant_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind tenant");
        let mut options = pymd_tenant::TenantOptions::new(dir.clone());
        options.app_base_url = Url::parse(&app).expect("app url");
        tenant_options(&mut options);
        let tenant = pymd_tenant::start(tenant_listener, options)
            .await
            .expect("start the dev tenant");
        let issuer = tenant.issuer().to_owned();

        let db_path = dir.join("pymd.db");
        let vars: HashMap<String, String> = [
            ("AUTH0_BASE_URL", app.clone()),
            ("AUTH0_ISSUER_BASE_URL", issuer.clone()),
            ("DATABASE_URL", format!("sqlite://{}", db_path.display())),
            ("PYMD_DATA_DIR", dir.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let config = Config::from_vars(&vars).expect("config");
        let web = tenant.web_client();
        let m2m = tenant.m2m_client();
        let wiring = IdpWiring {
            issuer_base_url: Url::parse(&issuer).expect("issuer url"),
            m2m: Some((m2m.client_id, SecretString::from(m2m.client_secret))),
            web: Some((web.client_id, SecretString::from(web.client_secret))),
        };
        let mut state = web_state(config, wiring).await;
        customise(&mut state);
        let store = state.store.clone();
        let router = pymd_server::build_app(state);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = pymd_server::serve(app_listener, router, async move {
                let _ = stop_rx.await;
            })
            .await;
        });
        Env {
            app,
            tenant: issuer,
            store,
            db_path,
            dir,
            stop_app: Some(stop_tx),
            tenant_handle: Some(tenant),
        }
    }

    /// Sets a dev-tenant fault (`POST /__dev/faults`).
    pub async fn fault(&self, body: Value) {
        let r = client()
            .post(format!("{}__dev/faults", self.tenant))
            .json(&body)
            .send()
            .await
            .expect("set fault");
        assert!(r.status().is_success(), "fault not set: {}", r.status());
    }

    /// The tenant's log event types, oldest first.
    pub async fn tenant_log_types(&self) -> Vec<String> {
        let v: Value = client()
            .get(format!("{}__dev/logs", self.tenant))
            .send()
            .await
            .expect("tenant logs")
            .json()
            .await
            .expect("logs JSON");
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("type").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many code exchanges the tenant has seen (successful or failed).
    pub async fn code_exchanges(&self) -> usize {
        self.tenant_log_types()
            .await
            .iter()
            .filter(|t| *t == "seacft" || *t == "feacft")
            .count()
    }

    pub async fn active_sessions(&self) -> u64 {
        self.store
            .count_active_sessions(pymd_domain::now())
            .await
            .expect("count sessions")
    }
}

/// The app's state as the web tests run it: the given IdP wiring and fixed test-only secrets
/// (the same for every instance, so two instances share sessions as in production).
pub async fn web_state(config: Config, wiring: IdpWiring) -> pymd_server::state::AppState {
    pymd_server::state::AppState::builder(config)
        .idp(wiring)
        .internal_token(SecretString::from(
            "internal-token-for-web-tests-0123456789".to_owned(),
        ))
        .cookie_secret(SecretString::from(
            "cookie-secret-for-web-tests-0123456789abcdef".to_owned(),
        ))
        .build()
        .await
        .expect("build state")
}

/// Another app instance for `env`'s dev tenant, with pools, limiter and verifier of its own, on
/// the base variables plus `extra` (`DATABASE_URL`, `REDIS_URL`…); its base URL. It serves until
/// the test ends.
pub async fn another_instance(
    env: &Env,
    web: &(String, SecretString),
    extra: &[(&str, String)],
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let dir = env.db_path.parent().expect("data dir").to_path_buf();
    let mut vars: HashMap<String, String> = [
        ("AUTH0_BASE_URL", env.app.clone()),
        ("AUTH0_ISSUER_BASE_URL", env.tenant.clone()),
        ("PYMD_DATA_DIR", dir.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let config = Config::from_vars(&vars).expect("config");
    let wiring = IdpWiring {
        issuer_base_url: Url::parse(&env.tenant).expect("issuer"),
        m2m: None,
        web: Some((web.0.clone(), web.1.clone())),
    };
    let router = pymd_server::build_app(web_state(config, wiring).await);
    tokio::spawn(async move {
        let _ = pymd_server::serve(listener, router, std::future::pending()).await;
    });
    base
}

/// A new PostgreSQL database of this test's own on `PYMD_TEST_DATABASE_URL` (an admin URL), as
/// `(admin URL, database URL)`; `None` when the variable is unset. Drop it with [`drop_postgres`].
pub async fn fresh_postgres() -> Option<(String, String)> {
    use sqlx::Connection;
    let admin = std::env::var("PYMD_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!("pymd_web_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to PYMD_TEST_DATABASE_URL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let _ = conn.close().await;
    let mut url = Url::parse(&admin).expect("PYMD_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    Some((admin, url.to_string()))
}

/// For the tests of several instances as one service: a fresh PostgreSQL database (as
/// [`fresh_postgres`]) and the Redis URL, or `None` (after saying so) unless both
/// `PYMD_TEST_DATABASE_URL` and `PYMD_TEST_REDIS_URL` are set.
pub async fn postgres_and_redis() -> Option<(String, String, String)> {
    let (Ok(redis), Some((admin, database))) =
        (std::env::var("PYMD_TEST_REDIS_URL"), fresh_postgres().await)
    else {
        eprintln!("skipped: PYMD_TEST_DATABASE_URL and PYMD_TEST_REDIS_URL are both needed");
        return None;
    };
    Some((admin, database, redis))
}

/// Drops a database made by [`fresh_postgres`] (best effort: its pools must be closed).
pub async fn drop_postgres(admin: &str, url: &str) {
    use sqlx::Connection;
    let Some(name) = Url::parse(url)
        .ok()
        .map(|u| u.path().trim_start_matches('/').to_owned())
    else {
        return;
    };
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

pub fn client() -> reqwest::Client {
    pymd_test_support::http_client()
}

/// One response, read fully; `location` resolved against the requested URL.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl From<pymd_test_support::Resp> for Page {
    fn from(r: pymd_test_support::Resp) -> Page {
        Page {
            status: r.status,
            location: r.next_url(),
            set_cookies: r.set_cookies().into_iter().map(str::to_owned).collect(),
            headers: r.headers,
            body: r.text,
        }
    }
}

impl Page {
    /// The raw `Set-Cookie` line for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|c| c.split('=').next() == Some(name))
            .map(String::as_str)
    }
}

/// A browser (pymd-test-support's cookie jar and hops) whose pages are [`Page`]s. App and
/// tenant both listen on 127.0.0.1, and browsers do not isolate cookies by port: one jar.
#[derive(Default)]
pub struct Browser {
    inner: pymd_test_support::Browser,
}

impl Browser {
    pub fn new() -> Browser {
        Browser::default()
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.inner.cookie(name)
    }

    /// The names of the cookies the browser holds.
    pub fn cookie_names(&self) -> Vec<String> {
        self.inner.jar.names()
    }

    /// Forgets cookie `name` (for every host), as clearing it in the browser would.
    pub fn forget(&mut self, name: &str) {
        self.inner.jar.remove(name);
    }

    /// Plants cookie `name` for 127.0.0.1 on `Path=/`, as a script or an attacker could.
    pub fn set(&mut self, name: &str, value: &str) {
        let host = Url::parse("http://127.0.0.1/").expect("URL");
        self.inner.jar.set(&host, name, value);
    }

    pub async fn get(&mut self, url: &str) -> Page {
        self.inner.get(url).await.into()
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        self.inner.post_form(url, form).await.into()
    }

    /// `GET url` as a click on one of the app's own links (`Sec-Fetch-Site: same-origin`).
    pub async fn click(&mut self, url: &str) -> Page {
        self.inner.click(url).await.into()
    }

    /// Runs the login up to the point where the tenant redirects back to the app: returns the
    /// app's `/auth/login` response (to the tenant) and the callback URL (not yet visited).
    pub async fn login_until_callback(
        &mut self,
        env: &Env,
        path: &str,
        who: (&str, &str),
    ) -> (Page, String) {
        let start = self.get(&format!("{}{}", env.app, path)).await;
        assert_eq!(
            start.status,
            StatusCode::FOUND,
            "login start: {}",
            start.body
        );
        let authorize = start.location.clone().expect("login redirects");
        let callback = self.authorize_until_callback(env, &authorize, who).await;
        (start, callback)
    }

    /// From the IdP's authorize URL (as the app sent it, or tampered with) through the login
    /// form, up to the callback URL the IdP sends the browser back to (not followed).
    pub async fn authorize_until_callback(
        &mut self,
        env: &Env,
        authorize: &str,
        who: (&str, &str),
    ) -> String {
        self.authorize_until_callback_to(&env.app, authorize, who)
            .await
    }

    /// As [`Browser::authorize_until_callback`], for an app whose public base URL is `app`
    /// (e.g. an app run as a child process, without an [`Env`]).
    pub async fn authorize_until_callback_to(
        &mut self,
        app: &str,
        authorize: &str,
        who: (&str, &str),
    ) -> String {
        let to_form = self.get(authorize).await;
        assert_eq!(
            to_form.status,
            StatusCode::FOUND,
            "authorize: {}",
            to_form.body
        );
        let form_url = to_form
            .location
            .clone()
            .expect("authorize redirects to the login form");
        assert!(form_url.contains("/u/login?"), "{form_url}");
        let form = self.get(&form_url).await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf =
            between(&form.body, "name=\"csrf_token\" value=\"", "\"").expect("csrf_token field");
        let submitted = self
            .post_form(
                &form_url,
                &[("csrf_token", &csrf), ("email", who.0), ("password", who.1)],
            )
            .await;
        assert_eq!(
            submitted.status,
            StatusCode::FOUND,
            "login form: {}",
            submitted.body
        );
        let callback = submitted.location.clone().expect("back to the app");
        assert!(
            callback.starts_with(&format!("{app}/auth/callback?"))
                || callback.starts_with(&format!("{app}/spa/callback?")),
            "{callback}"
        );
        callback
    }

    /// A whole login; returns the callback's response.
    pub async fn login(&mut self, env: &Env, path: &str, who: (&str, &str)) -> Page {
        let (_, callback) = self.login_until_callback(env, path, who).await;
        self.get(&callback).await
    }
}

pub use pymd_test_support::{between, query};

/// Replaces one query parameter.
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = Url::parse(url).expect("URL");
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.into()
}
