//! The harness: a real `pymd-server` on `127.0.0.1:0` with a fresh SQLite database in its own
//! temp directory, wired to an in-test OIDC issuer (`TestIssuer`), plus HTTP helpers and direct
//! views of the database so tests can prove that nothing changed.

use std::collections::HashMap;
use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pymd_auth::testkit::TestIssuer;
use pymd_domain::{
    Document, DocumentDraft, DocumentId, PageRequest, ProfilePatch, SyncUser, User, UserId,
};
use pymd_server::config::Config;
use pymd_server::state::AppState;
use pymd_server::{build_app, serve};
use pymd_storage::{
    AuditEvent, AuditFilter, DocumentPage, NewAuditEvent, NewSession, Session, SessionRefresh,
    Store, StoreError,
};
use rand::Rng;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio::sync::oneshot;

/// `n` random lowercase letters and digits.
pub fn random_string(n: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(n)
        .map(|b| char::from(b).to_ascii_lowercase())
        .collect()
}

/// A fresh, unique temp directory.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pymd-api-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

/// Installs the process-wide Prometheus recorder, as `pymd serve` does before serving.
pub fn install_metrics() {
    let _ = pymd_server::telemetry::metrics_handle();
}

/// An HTTP response, read completely (through pymd-test-support's reader), seen as this suite
/// asserts on it: the status as a number, and the error envelope's fields.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "response {} is not JSON ({e}): {}",
                self.status,
                truncate(&self.text)
            )
        })
    }

    /// The `error` code of the error envelope (empty when absent or not JSON).
    pub fn error(&self) -> String {
        serde_json::from_str::<Value>(&self.text)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    }

    /// The `error_description` of the error envelope.
    pub fn description(&self) -> String {
        serde_json::from_str::<Value>(&self.text)
            .ok()
            .and_then(|v| {
                v.get("error_description")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }

    /// A header as text (empty when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// A short description for assertion messages.
    pub fn summary(&self) -> String {
        format!(
            "{} www-authenticate={:?} body={}",
            self.status,
            self.header("www-authenticate"),
            truncate(&self.text)
        )
    }

    /// Asserts the status and the `error` code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected status: {}", self.summary());
        assert_eq!(
            self.error(),
            code,
            "unexpected error code: {}",
            self.summary()
        );
    }

    /// Asserts a 422 `validation_failed` that names `field` in its description.
    #[track_caller]
    pub fn assert_validation(&self, field: &str) {
        self.assert_error(422, "validation_failed");
        let d = self.description();
        assert!(
            d.starts_with(&format!("{field}:")) || d.contains(&format!("`{field}`")),
            "the 422 does not name {field:?}: {}",
            self.summary()
        );
    }
}

pub fn truncate(s: &str) -> String {
    if s.len() > 400 {
        let mut end = 400;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…({} bytes)", &s[..end], s.len())
    } else {
        s.to_owned()
    }
}

/// Sends a request and reads the whole response; panics on a transport error.
pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    match try_send(rb).await {
        Ok(r) => r,
        Err(e) => panic!("request failed: {e}"),
    }
}

/// Sends a request and reads the whole response.
pub async fn try_send(rb: reqwest::RequestBuilder) -> Result<Resp, reqwest::Error> {
    let r = pymd_test_support::Resp::try_read(rb.send().await?).await?;
    Ok(Resp {
        status: r.status.as_u16(),
        headers: r.headers,
        text: r.text,
    })
}

/// A client that never follows redirects.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("build the HTTP client")
}

/// Sends raw bytes to `addr` (for requests reqwest refuses to build) and returns the status of
/// the answer, `None` when the server closed the connection without one.
pub async fn raw_http(addr: SocketAddr, request: Vec<u8>) -> Option<u16> {
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        s.write_all(&request).ok()?;
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        let line = text.lines().next()?;
        line.split(' ').nth(1)?.parse().ok()
    })
    .await
    .ok()
    .flatten()
}

/// A running app: base URL, shared state and helpers. Stops when dropped.
pub struct AppServer {
    pub base_url: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub internal_token: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for AppServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl AppServer {
    /// Serves `state` on an already bound listener.
    pub fn start(
        listener: tokio::net::TcpListener,
        state: AppState,
        internal_token: String,
        data_dir: PathBuf,
    ) -> AppServer {
        install_metrics();
        let addr = listener.local_addr().expect("listener address");
        let app = build_app(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = serve(listener, app, async move {
                let _ = rx.await;
            })
            .await;
        });
        AppServer {
            base_url: format!("http://{addr}"),
            addr,
            state,
            internal_token,
            client: http_client(),
            data_dir,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request with an optional bearer token.
    pub fn authed(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let rb = self.request(method, path);
        match bearer {
            Some(t) => rb.header(AUTHORIZATION, bearer_value(t)),
            None => rb,
        }
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Resp {
        send(self.authed(Method::GET, path, bearer)).await
    }

    pub async fn delete(&self, path: &str, bearer: Option<&str>) -> Resp {
        send(self.authed(Method::DELETE, path, bearer)).await
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> Resp {
        send(self.authed(Method::POST, path, bearer).json(body)).await
    }

    pub async fn put(&self, path: &str, bearer: Option<&str>, body: &Value) -> Resp {
        send(self.authed(Method::PUT, path, bearer).json(body)).await
    }

    pub async fn patch(&self, path: &str, bearer: Option<&str>, body: &Value) -> Resp {
        send(self.authed(Method::PATCH, path, bearer).json(body)).await
    }

    /// Creates a document over HTTP; returns its id and `ETag`.
    pub async fn create_document(
        &self,
        token: &str,
        title: &str,
        content: &str,
    ) -> (String, String) {
        let r = self
            .post(
                "/api/v1/documents",
                Some(token),
                &json!({"title": title, "content": content}),
            )
            .await;
        assert_eq!(r.status, 201, "create_document: {}", r.summary());
        let id = r.json()["document"]["id"]
            .as_str()
            .expect("document.id")
            .to_owned();
        (id, r.header("etag"))
    }

    /// The document as its owner sees it: the whole response (body bytes and headers).
    pub async fn read_as_owner(&self, owner_token: &str, id: &str) -> Resp {
        let r = self
            .get(&format!("/api/v1/documents/{id}"), Some(owner_token))
            .await;
        assert_eq!(r.status, 200, "owner read: {}", r.summary());
        r
    }

    pub async fn user(&self, sub: &str) -> Option<User> {
        self.state
            .store
            .find_user_by_auth0_id(sub)
            .await
            .expect("find_user_by_auth0_id")
    }

    /// Every user row.
    pub async fn all_users(&self) -> Vec<User> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .state
                .store
                .list_users(after, 100)
                .await
                .expect("list_users");
            let done = page.len() < 100;
            after = page.last().map(|u| u.id);
            out.extend(page);
            if done {
                return out;
            }
        }
    }

    /// How many user rows carry this subject.
    pub async fn count_users_with_sub(&self, sub: &str) -> usize {
        self.all_users()
            .await
            .iter()
            .filter(|u| u.auth0_id == sub)
            .count()
    }

    /// The documents stored for `owner_sub`, newest first (all pages).
    pub async fn documents_in_db(&self, owner_sub: &str) -> Vec<Document> {
        let Some(user) = self.user(owner_sub).await else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = PageRequest::new(Some("100"), cursor.as_deref()).expect("page request");
            let page = self
                .state
                .store
                .list_documents(user.id, page)
                .await
                .expect("list_documents");
            // Lists carry summaries: each document is read whole.
            for summary in page.documents {
                let whole = self.state.store.get_document(summary.id).await;
                out.push(
                    whole
                        .expect("get_document")
                        .expect("a listed document exists"),
                );
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c.encode()),
                None => return out,
            }
        }
    }

    pub async fn count_documents_in_db(&self, owner_sub: &str) -> usize {
        self.documents_in_db(owner_sub).await.len()
    }

    pub async fn audit_events(&self) -> Vec<AuditEvent> {
        self.state
            .store
            .list_audit(&AuditFilter {
                limit: 1000,
                ..AuditFilter::default()
            })
            .await
            .expect("list_audit")
    }
}

/// `Bearer <token>` as a header value (panics when the token cannot be a header value).
pub fn bearer_value(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}"))
        .unwrap_or_else(|_| panic!("token cannot be sent in a header"))
}

/// Wraps the real store (e.g. in a [`FlakyStore`]).
pub type StoreWrapper = Box<dyn FnOnce(Arc<dyn Store>) -> Arc<dyn Store> + Send>;

/// How to start a [`TestApp`].
#[derive(Default)]
pub struct SpawnOptions {
    /// Extra configuration variables (override the harness's).
    pub vars: Vec<(&'static str, String)>,
    /// Wraps the store before the app is built.
    pub wrap_store: Option<StoreWrapper>,
    /// Start the issuer in the "down" state (discovery and JWKS answer 503).
    pub issuer_down: bool,
    /// Replace the verifier by one with this unknown-`kid` / failed-load cooldown (the
    /// configuration has no variable for it; the default is 30 s).
    pub jwks_cooldown: Option<Duration>,
}

/// The app wired to an in-test issuer.
pub struct TestApp {
    pub issuer: TestIssuer,
    pub app: AppServer,
}

impl Deref for TestApp {
    type Target = AppServer;
    fn deref(&self) -> &AppServer {
        &self.app
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(SpawnOptions::default()).await
    }

    pub async fn spawn_with(options: SpawnOptions) -> TestApp {
        let issuer = TestIssuer::start().await;
        if options.issuer_down {
            issuer.set_down(true);
        }
        let data_dir = temp_dir();
        let internal_token = format!("pymd-internal-{}", random_string(32));
        let mut vars: HashMap<String, String> = HashMap::from([
            ("PYMD_DATA_DIR".to_owned(), data_dir.display().to_string()),
            (
                "AUTH0_ISSUER_BASE_URL".to_owned(),
                issuer.base_url().to_string(),
            ),
            ("INTERNAL_API_TOKEN".to_owned(), internal_token.clone()),
            ("AUTH0_BASE_URL".to_owned(), "http://127.0.0.1".to_owned()),
        ]);
        for (k, v) in options.vars {
            vars.insert(k.to_owned(), v);
        }
        let config = Config::from_vars(&vars).unwrap_or_else(|e| panic!("config: {e}"));
        let mut builder = AppState::builder(config)
            .internal_token(SecretString::from(internal_token.clone()))
            .cookie_secret(SecretString::from(random_string(64)));
        if let Some(cooldown) = options.jwks_cooldown {
            builder = builder.jwks_cooldown(cooldown);
        }
        let mut state = builder
            .build()
            .await
            .unwrap_or_else(|e| panic!("build the state: {e:#}"));
        if let Some(wrap) = options.wrap_store {
            state.store = wrap(state.store.clone());
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let app = AppServer::start(listener, state, internal_token, data_dir);
        TestApp { issuer, app }
    }

    /// A valid access token for `sub` with `permissions` (also in `scope`).
    pub fn token(&self, sub: &str, permissions: &[&str]) -> String {
        self.issuer.token(sub, permissions)
    }

    /// A valid token for `sub` whose claims `edit` changes (signed with the current key).
    pub fn token_with(
        &self,
        sub: &str,
        permissions: &[&str],
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> String {
        let mut claims = self.issuer.claims(sub, permissions);
        if let Value::Object(m) = &mut claims {
            edit(m);
        }
        self.issuer.sign(self.issuer.header(), claims)
    }
}

/// Every API permission.
pub const ALL: &[&str] = &[
    "read:documents",
    "write:documents",
    "delete:documents",
    "read:profile",
    "write:profile",
];

/// A unique subject for a test.
pub fn sub(tag: &str) -> String {
    format!("auth0|{tag}-{}", random_string(10))
}

// --- FlakyStore ---------------------------------------------------------------------------

type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A store that delegates to the real one, except that while `down` is set every call fails
/// with [`StoreError::Unavailable`] (as a lost database connection does).
pub struct FlakyStore {
    pub inner: Arc<dyn Store>,
    pub down: Arc<AtomicBool>,
}

impl FlakyStore {
    /// A wrapper for [`SpawnOptions::wrap_store`] and the switch that takes the database down.
    pub fn wrapper() -> (StoreWrapper, Arc<AtomicBool>) {
        let down = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&down);
        let wrap: StoreWrapper =
            Box::new(move |inner| Arc::new(FlakyStore { inner, down: flag }) as Arc<dyn Store>);
        (wrap, down)
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable(
                "connection refused (FlakyStore)".into(),
            ))
        } else {
            Ok(())
        }
    }
}

/// Implements `Store` methods (written out as `async_trait` expands them) that check the switch
/// and then delegate.
macro_rules! flaky_methods {
    ($( fn $name:ident < $($lt:lifetime),* > ( &'life0 self $(, $arg:ident : $ty:ty)* ) -> $ret:ty; )*) => {
        $(
            fn $name<'life0, $($lt,)* 'async_trait>(&'life0 self $(, $arg: $ty)*) -> StoreFuture<'async_trait, $ret>
            where
                'life0: 'async_trait,
                $($lt: 'async_trait,)*
                Self: 'async_trait,
            {
                Box::pin(async move {
                    self.check()?;
                    self.inner.$name($($arg),*).await
                })
            }
        )*
    };
}

impl Store for FlakyStore {
    flaky_methods! {
        fn ping<>(&'life0 self) -> ();
        fn upsert_user<'life1>(&'life0 self, user: &'life1 SyncUser) -> User;
        fn ensure_user<'life1>(&'life0 self, auth0_id: &'life1 str) -> User;
        fn find_user_by_auth0_id<'life1>(&'life0 self, auth0_id: &'life1 str) -> Option<User>;
        fn update_profile<'life1>(&'life0 self, id: UserId, patch: &'life1 ProfilePatch) -> User;
        fn list_users<>(&'life0 self, after: Option<UserId>, limit: u32) -> Vec<User>;
        fn create_document<'life1>(&'life0 self, owner: UserId, draft: &'life1 DocumentDraft) -> Document;
        fn get_document<>(&'life0 self, id: DocumentId) -> Option<Document>;
        fn list_documents<>(&'life0 self, owner: UserId, page: PageRequest) -> DocumentPage;
        fn update_document<'life1>(&'life0 self, id: DocumentId, owner: UserId, draft: &'life1 DocumentDraft, expected_version: Option<i64>) -> Document;
        fn delete_document<>(&'life0 self, id: DocumentId, owner: UserId) -> bool;
        fn record_audit<'life1>(&'life0 self, event: &'life1 NewAuditEvent) -> ();
        fn list_audit<'life1>(&'life0 self, filter: &'life1 AuditFilter) -> Vec<AuditEvent>;
        fn create_session<'life1>(&'life0 self, session: &'life1 NewSession) -> ();
        fn find_session<'life1>(&'life0 self, id_hash: &'life1 [u8]) -> Option<Session>;
        fn touch_session<'life1>(&'life0 self, id_hash: &'life1 [u8], now: OffsetDateTime) -> bool;
        fn delete_session<'life1>(&'life0 self, id_hash: &'life1 [u8]) -> bool;
        fn delete_sessions_by_idp<'life1, 'life2>(&'life0 self, idp_sid: Option<&'life1 str>, subject: Option<&'life2 str>) -> u64;
        fn delete_expired_sessions<>(&'life0 self, now: OffsetDateTime) -> u64;
        fn count_active_sessions<>(&'life0 self, now: OffsetDateTime) -> u64;
        fn try_lock_session_refresh<'life1>(&'life0 self, id_hash: &'life1 [u8], lease: time::Duration) -> Option<OffsetDateTime>;
        fn complete_session_refresh<'life1, 'life2>(&'life0 self, id_hash: &'life1 [u8], refresh: &'life2 SessionRefresh, expected_access_token_expires_at: OffsetDateTime) -> bool;
        fn release_session_refresh<'life1>(&'life0 self, id_hash: &'life1 [u8], lease_until: OffsetDateTime) -> bool;
        fn create_spa_transaction<'life1>(&'life0 self, tx: &'life1 pymd_storage::SpaTransaction) -> ();
        fn take_spa_transaction<'life1>(&'life0 self, state_hash: &'life1 [u8], now: OffsetDateTime) -> Option<pymd_storage::SpaTransaction>;
        fn record_spa_grant_token<'life1>(&'life0 self, token: &'life1 pymd_storage::SpaGrantToken) -> ();
        fn find_spa_grant_token<'life1>(&'life0 self, token_hash: &'life1 [u8]) -> Option<pymd_storage::SpaGrantToken>;
        fn end_spa_grant<>(&'life0 self, grant_id: uuid::Uuid) -> u64;
        fn end_spa_grants_by_idp<'life1, 'life2>(&'life0 self, idp_sid: Option<&'life1 str>, subject: Option<&'life2 str>) -> u64;
    }
}

/// Runs futures concurrently and collects their outputs in order.
pub async fn futures_join<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    join_all(set).await
}

async fn join_all<F: std::future::Future + Unpin>(mut futs: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match std::pin::Pin::new(f).poll(cx) {
                    Poll::Ready(v) => out[i] = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(out.iter_mut().map(|o| o.take().expect("ready")).collect())
        }
    })
    .await
}
