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
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
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
        let state = pymd_server::state::AppState::builder(config)
            .idp(wiring)
            .internal_token(SecretString::from(
                "internal-token-for-web-tests-0123456789".to_owned(),
            ))
            .cookie_secret(SecretString::from(
                "cookie-secret-for-web-tests-0123456789abcdef".to_owned(),
            ))
            .build()
            .await
            .expect("build state");
        let mut state = state;
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

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

/// A cookie as the browser keeps it.
#[derive(Debug, Clone)]
pub struct StoredCookie {
    pub value: String,
    pub path: String,
}

/// One response, read fully.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
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

/// A browser: one cookie jar for 127.0.0.1 (browsers do not isolate cookies by port).
#[derive(Default)]
pub struct Browser {
    pub cookies: HashMap<String, StoredCookie>,
    http: Option<reqwest::Client>,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            cookies: HashMap::new(),
            http: Some(client()),
        }
    }

    fn http(&self) -> reqwest::Client {
        self.http.clone().unwrap_or_else(client)
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.get(name).map(|c| c.value.clone())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.cookies.insert(
            name.to_owned(),
            StoredCookie {
                value: value.to_owned(),
                path: "/".to_owned(),
            },
        );
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        let path = url.path();
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|(_, c)| {
                path == c.path
                    || path.starts_with(&format!("{}/", c.path.trim_end_matches('/')))
                    || c.path == "/"
            })
            .map(|(n, c)| format!("{n}={}", c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn absorb(&mut self, set_cookies: &[String]) {
        for line in set_cookies {
            let mut parts = line.split(';');
            let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
                continue;
            };
            let mut path = "/".to_owned();
            let mut removed = false;
            for attr in parts {
                let attr = attr.trim();
                let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
                if k.eq_ignore_ascii_case("path") {
                    path = v.to_owned();
                }
                if k.eq_ignore_ascii_case("max-age") && v.trim().starts_with(['0', '-']) {
                    removed = true;
                }
            }
            if removed {
                self.cookies.remove(name.trim());
            } else {
                self.cookies.insert(
                    name.trim().to_owned(),
                    StoredCookie {
                        value: value.to_owned(),
                        path,
                    },
                );
            }
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder, url: &Url) -> Page {
        let req = match self.cookie_header(url) {
            Some(c) => req.header(COOKIE, c),
            None => req,
        };
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| {
                url.join(l)
                    .map(String::from)
                    .unwrap_or_else(|_| l.to_owned())
            });
        let set_cookies: Vec<String> = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        self.absorb(&set_cookies);
        let body = resp.text().await.unwrap_or_default();
        Page {
            status,
            location,
            set_cookies,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let u = Url::parse(url).expect("absolute URL");
        let req = self.http().get(u.clone());
        self.send(req, &u).await
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let u = Url::parse(url).expect("absolute URL");
        let req = self.http().post(u.clone()).form(form);
        self.send(req, &u).await
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
        let to_form = self.get(&authorize).await;
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
            callback.starts_with(&format!("{}/auth/callback?", env.app)),
            "{callback}"
        );
        (start, callback)
    }

    /// A whole login; returns the callback's response.
    pub async fn login(&mut self, env: &Env, path: &str, who: (&str, &str)) -> Page {
        let (_, callback) = self.login_until_callback(env, path, who).await;
        self.get(&callback).await
    }
}

/// The text between `start` and the next `end`.
pub fn between(haystack: &str, start: &str, end: &str) -> Option<String> {
    let i = haystack.find(start)? + start.len();
    let j = haystack[i..].find(end)? + i;
    Some(haystack[i..j].to_owned())
}

/// The query parameters of a URL.
pub fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

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
