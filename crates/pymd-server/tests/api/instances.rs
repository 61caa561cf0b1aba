//! Several instances as one service (issue 9, point 7), proven with real processes: two
//! `pymd serve` children of this test on free 127.0.0.1 ports, one PostgreSQL database made for
//! the test (dropped at the end), one Redis under a key prefix of the test's own, the same
//! `AUTH0_SECRET` and `INTERNAL_API_TOKEN`, and the dev tenant (in process here, reached by the
//! children only over HTTP). Instance A's URL is the service's public base URL (where the IdP
//! sends browsers back); B is a second node behind the same name. What only the processes share —
//! the database, Redis and the secrets — is all that carries a session, a logout, a limit, a
//! refresh lease or a write from one to the other.
//!
//! Skipped, saying so, unless both `PYMD_TEST_DATABASE_URL` and `PYMD_TEST_REDIS_URL` are set
//! (`.ci/run` sets both).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::web::harness::{ALICE, BOB, Browser, client, drop_postgres, postgres_and_redis};

/// How long a child may take to answer `/readyz` 200 (it migrates the database first).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// A free port on 127.0.0.1 (bound and released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One `pymd serve` child process. Dropping it sends SIGKILL to its PID and reaps it.
struct Instance {
    base: String,
    log: PathBuf,
    child: Option<std::process::Child>,
}

impl Instance {
    /// Starts `pymd serve` on `port` with a clean environment (`PATH`, `RUST_LOG=warn` and
    /// `vars`), its output in `dir/{name}.log`. Not ready yet: see [`Instance::wait_ready`].
    fn spawn(dir: &Path, name: &str, port: u16, vars: &[(String, String)]) -> Instance {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let data = dir.join(name);
        std::fs::create_dir_all(&data).expect("data dir");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_pymd"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("PYMD_BIND", format!("127.0.0.1:{port}"))
            .env("PYMD_DATA_DIR", &data)
            .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&data)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn pymd serve");
        Instance {
            base: format!("http://127.0.0.1:{port}"),
            log,
            child: Some(child),
        }
    }

    /// Polls `/readyz` until it answers 200; panics with the child's log when it exits first or
    /// [`READY_WITHIN`] passes.
    async fn wait_ready(&mut self) {
        let started = Instant::now();
        let url = format!("{}/readyz", self.base);
        loop {
            let ready = client().get(&url).send().await;
            if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .is_none_or(|c| !matches!(c.try_wait(), Ok(None)));
            assert!(
                !exited && started.elapsed() < READY_WITHIN,
                "pymd serve at {} not ready (exited: {exited}); its log:\n{}",
                self.base,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL to the child's PID, then reaps it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the child is still running.
    fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The test's PostgreSQL database; dropping the guard drops the database (on a panic too).
struct Database {
    admin: String,
    url: String,
}

impl Drop for Database {
    fn drop(&mut self) {
        // Drop may run inside the test's runtime, where nothing can be awaited: the database
        // goes in a thread of its own with a runtime of its own.
        let (admin, url) = (self.admin.clone(), self.url.clone());
        let dropped = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_postgres(&admin, &url));
            }
        })
        .join();
        if dropped.is_err() {
            eprintln!("the test database was not dropped");
        }
    }
}

/// A work directory, removed when the guard is dropped.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The service: instances A and B, the dev tenant, the test's database and work directory.
/// Fields drop in this order: both children are killed before the database is dropped.
struct Service {
    a: Instance,
    b: Instance,
    _tenant: pymd_tenant::DevTenant,
    tenant_url: String,
    db: Database,
    _dir: WorkDir,
}

impl Service {
    /// Starts the service with `extra` variables for both instances; `None` (after saying so)
    /// without PostgreSQL and Redis.
    async fn start(extra: &[(&str, &str)]) -> Option<Service> {
        let (admin, url, redis) = postgres_and_redis().await?;
        let db = Database { admin, url };
        let dir = WorkDir(
            std::env::temp_dir().join(format!("pymd-instances-{}", uuid::Uuid::new_v4().simple())),
        );
        std::fs::create_dir_all(&dir.0).expect("work dir");
        let (port_a, port_b) = (free_port(), free_port());
        let public = format!("http://127.0.0.1:{port_a}");
        let internal_token = format!("internal-{}", uuid::Uuid::new_v4().simple());
        let tenant = start_tenant(&dir.0, &public, &internal_token).await;
        let mut vars = shared_vars(&tenant, &public, &internal_token, &db.url, &redis);
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        // Both start at once on the fresh database: their migrations race, as on a deployment.
        let mut a = Instance::spawn(&dir.0, "a", port_a, &vars);
        let mut b = Instance::spawn(&dir.0, "b", port_b, &vars);
        tokio::join!(a.wait_ready(), b.wait_ready());
        Some(Service {
            a,
            b,
            tenant_url: tenant.issuer().to_owned(),
            _tenant: tenant,
            db,
            _dir: dir,
        })
    }

    /// How many of the tenant's log events are of type `kind` (`sertft`: a refresh-token
    /// exchange that succeeded; `ferrt`: a refresh token reused).
    async fn tenant_events(&self, kind: &str) -> usize {
        let v: Value = client()
            .get(format!("{}__dev/logs", self.tenant_url))
            .send()
            .await
            .expect("tenant logs")
            .json()
            .await
            .expect("logs JSON");
        v.as_array()
            .map_or(0, |a| a.iter().filter(|e| e["type"] == kind).count())
    }

    /// An access token for a seeded user, minted by the tenant (`POST /__dev/token`).
    async fn bearer_for(&self, user: &str) -> String {
        let r = client()
            .post(format!("{}__dev/token", self.tenant_url))
            .json(&json!({"user": user, "audience": "https://api.pymd.io"}))
            .send()
            .await
            .expect("__dev/token");
        assert_eq!(r.status(), StatusCode::OK, "__dev/token");
        let v: Value = r.json().await.expect("token JSON");
        v["access_token"].as_str().expect("access_token").to_owned()
    }

    /// A connection to the service's database, for what a test reads or rewrites by SQL.
    async fn sql(&self) -> sqlx::PgConnection {
        use sqlx::Connection as _;
        sqlx::PgConnection::connect(&self.db.url)
            .await
            .expect("connect to the test database")
    }
}

/// The dev tenant on 127.0.0.1:0, sending browsers back to `public` and calling the app with
/// `internal_token` (its post-login Action's `BACKEND_INTERNAL_TOKEN`).
async fn start_tenant(dir: &Path, public: &str, internal_token: &str) -> pymd_tenant::DevTenant {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the tenant");
    let mut options = pymd_tenant::TenantOptions::new(dir.join("tenant"));
    options.app_base_url = Url::parse(public).expect("public URL");
    options
        .keywords
        .insert("BACKEND_INTERNAL_TOKEN".into(), internal_token.to_owned());
    pymd_tenant::start(listener, options)
        .await
        .expect("start the dev tenant")
}

/// The variables both instances share: one public base URL, the IdP and its clients, one
/// `AUTH0_SECRET` and internal token, one database, one Redis under a key prefix of this test's.
fn shared_vars(
    tenant: &pymd_tenant::DevTenant,
    public: &str,
    internal_token: &str,
    database: &str,
    redis: &str,
) -> Vec<(String, String)> {
    let (web, m2m) = (tenant.web_client(), tenant.m2m_client());
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let prefix = format!("pymd-instances:{}:", uuid::Uuid::new_v4().simple());
    [
        ("AUTH0_BASE_URL", public.to_owned()),
        ("AUTH0_ISSUER_BASE_URL", tenant.issuer().to_owned()),
        ("AUTH0_CLIENT_ID", web.client_id),
        ("AUTH0_CLIENT_SECRET", web.client_secret),
        ("AUTH0_M2M_CLIENT_ID", m2m.client_id),
        ("AUTH0_M2M_CLIENT_SECRET", m2m.client_secret),
        ("AUTH0_SECRET", secret),
        ("INTERNAL_API_TOKEN", internal_token.to_owned()),
        ("DATABASE_URL", database.to_owned()),
        ("REDIS_URL", redis.to_owned()),
        ("PYMD_REDIS_KEY_PREFIX", prefix),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Browsers and requests.

/// A browser signed in as `who`: the sign-in starts on `start_on` (its transaction cookie made
/// there), the IdP sends the browser back to the public base URL (instance A), whose callback
/// makes the session. Returns the browser and its session cookie.
async fn signed_in(service: &Service, start_on: &str, who: (&str, &str)) -> (Browser, String) {
    let mut b = Browser::new();
    let start = b.get(&format!("{start_on}/auth/login")).await;
    assert_eq!(start.status, StatusCode::FOUND, "login: {}", start.body);
    let authorize = start.location.clone().expect("login redirects to the IdP");
    let callback = b
        .authorize_until_callback_to(&service.a.base, &authorize, who)
        .await;
    let done = b.get(&callback).await;
    assert_eq!(done.status, StatusCode::FOUND, "callback: {}", done.body);
    let cookie = b.cookie("pymd_session").expect("a session cookie");
    (b, cookie)
}

/// The session row's key: SHA-256 of the cookie's 256-bit id.
fn session_hash(cookie: &str) -> Vec<u8> {
    Sha256::digest(URL_SAFE_NO_PAD.decode(cookie).expect("a base64url id")).to_vec()
}

/// `method base+path` with the session cookie (and a same-origin proof, as a page's script
/// would send), optionally with a JSON body; the status and the JSON answer.
async fn with_cookie(
    method: reqwest::Method,
    base: &str,
    path: &str,
    cookie: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = client()
        .request(method, format!("{base}{path}"))
        .header("cookie", format!("pymd_session={cookie}"))
        .header("sec-fetch-site", "same-origin");
    if let Some(body) = body {
        rb = rb.json(&body);
    }
    let r = rb.send().await.expect("send");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn list_with_cookie(base: &str, cookie: &str) -> StatusCode {
    with_cookie(
        reqwest::Method::GET,
        base,
        "/api/v1/documents",
        cookie,
        None,
    )
    .await
    .0
}

/// A page fetched with only the session cookie (a copy of it, as another tab or a thief holds).
async fn page_with_cookie(base: &str, path: &str, cookie: &str) -> (StatusCode, String, String) {
    let r = client()
        .get(format!("{base}{path}"))
        .header("cookie", format!("pymd_session={cookie}"))
        .send()
        .await
        .expect("send");
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, location, r.text().await.unwrap_or_default())
}

async fn readyz(base: &str) -> Value {
    client()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("readyz JSON")
}

// ---------------------------------------------------------------------------------------------
// Sessions.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_instance_works_on_the_other() {
    let Some(service) = Service::start(&[]).await else {
        return;
    };
    let (a, b) = (service.a.base.clone(), service.b.base.clone());
    assert_ne!(a, b);
    for base in [&a, &b] {
        assert_eq!(
            readyz(base).await["checks"]["rate_limits"],
            "redis",
            "{base}"
        );
    }
    // Started on B, completed on A (the public base URL): the session is A's making.
    let (mut browser, cookie) = signed_in(&service, &b, ALICE).await;

    // B knows it: the dashboard and the JSON API.
    let dash = browser.get(&format!("{b}/dashboard")).await;
    assert_eq!(dash.status, StatusCode::OK, "{}", dash.body);
    assert!(
        dash.body
            .contains("data-testid=\"user-name\">Alice Example<"),
        "{}",
        dash.body
    );
    let (status, profile) =
        with_cookie(reqwest::Method::GET, &b, "/api/v1/profile", &cookie, None).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["email"], "alice@example.com");

    // A write through B with the cookie is read through A, and the other way round.
    let doc = json!({"title": "Written on B", "content": "*one service*"});
    let (status, made) = with_cookie(
        reqwest::Method::POST,
        &b,
        "/api/v1/documents",
        &cookie,
        Some(doc),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["document"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/documents/{id}");
    let (status, read) = with_cookie(reqwest::Method::GET, &a, &path, &cookie, None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["document"]["title"], "Written on B");
    let edit = json!({"title": "Edited on A", "content": "still one"});
    let (status, _) = with_cookie(reqwest::Method::PUT, &a, &path, &cookie, Some(edit)).await;
    assert_eq!(status, StatusCode::OK);
    let page = browser.get(&format!("{b}/dashboard")).await;
    assert!(page.body.contains("Edited on A"), "{}", page.body);

    // Another user's session is refused her document on either instance.
    let (_, bobs) = signed_in(&service, &a, BOB).await;
    for base in [&a, &b] {
        let (status, v) = with_cookie(reqwest::Method::GET, base, &path, &bobs, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{base}: {v}");
        assert_eq!(v["error"], "forbidden", "{base}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_ends_the_session_on_both() {
    let Some(service) = Service::start(&[]).await else {
        return;
    };
    let (a, b) = (service.a.base.clone(), service.b.base.clone());
    let (mut browser, cookie) = signed_in(&service, &a, ALICE).await;
    let (_, other) = signed_in(&service, &b, ALICE).await;
    // Both instances have served the session (anything they would cache, they have).
    for base in [&a, &b] {
        assert_eq!(
            list_with_cookie(base, &cookie).await,
            StatusCode::OK,
            "{base}"
        );
        assert_eq!(
            page_with_cookie(base, "/dashboard", &cookie).await.0,
            StatusCode::OK
        );
    }

    let out = browser.click(&format!("{a}/auth/logout")).await;
    assert_eq!(out.status, StatusCode::FOUND, "{}", out.body);
    assert!(
        browser.cookie("pymd_session").is_none(),
        "the browser's cookie is cleared"
    );

    // A copy of the cookie is worth nothing on either instance, at once.
    for base in [&b, &a] {
        let (status, v) = with_cookie(
            reqwest::Method::GET,
            base,
            "/api/v1/documents",
            &cookie,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{base}: {v}");
        let (status, location, _) = page_with_cookie(base, "/dashboard", &cookie).await;
        assert_eq!(status, StatusCode::FOUND, "{base}");
        assert!(location.contains("/auth/login"), "{base}: {location}");
    }
    let mut db = service.sql().await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE id_hash = $1")
        .bind(session_hash(&cookie))
        .fetch_one(&mut db)
        .await
        .expect("count the session's rows");
    assert_eq!(rows, 0, "the session row is gone");
    // The user's other session (another sign-in) lives on, on both.
    for base in [&a, &b] {
        assert_eq!(
            list_with_cookie(base, &other).await,
            StatusCode::OK,
            "{base}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Limits.

/// The sign-in route, as coming from `ip` through a trusted proxy.
async fn sign_in_from(base: &str, ip: &str) -> reqwest::Response {
    client()
        .get(format!("{base}/auth/login?returnTo=/dashboard"))
        .header("x-forwarded-for", ip)
        .send()
        .await
        .expect("send")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_limit_counts_requests_split_across_both_instances() {
    let Some(service) = Service::start(&[
        ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "4"),
        ("PYMD_TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await
    else {
        return;
    };
    let (a, b) = (service.a.base.clone(), service.b.base.clone());
    let ip = "198.51.100.7";
    // Four requests, two on each: every instance alone has seen only two of its four.
    for base in [&a, &b, &a, &b] {
        let r = sign_in_from(base, ip).await;
        assert_eq!(r.status(), StatusCode::FOUND, "{base}");
    }
    // The fifth and sixth, whichever instance takes them, are over the shared limit.
    for base in [&a, &b] {
        let r = sign_in_from(base, ip).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{base}");
        assert!(r.headers().contains_key("retry-after"), "{base}");
    }
    // Another client is not limited by it.
    assert_eq!(
        sign_in_from(&b, "198.51.100.8").await.status(),
        StatusCode::FOUND
    );
}

/// Makes the instances see the session's access token as expiring at now + `secs` (negative:
/// already expired), by rewriting the session row; the tokens themselves stay.
async fn expire_token_in(service: &Service, cookie: &str, secs: f64) {
    let mut db = service.sql().await;
    let done = sqlx::query(
        "UPDATE sessions SET access_token_expires_at = now() + make_interval(secs => $2) \
         WHERE id_hash = $1",
    )
    .bind(session_hash(cookie))
    .bind(secs)
    .execute(&mut db)
    .await
    .expect("rewrite the token's expiry");
    assert_eq!(done.rows_affected(), 1, "the session's row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_refreshes_are_counted_once_across_both_instances() {
    let Some(service) = Service::start(&[("PYMD_REFRESH_RATE_LIMIT_PER_HOUR", "2")]).await else {
        return;
    };
    let (a, b) = (service.a.base.clone(), service.b.base.clone());
    let (_browser, cookie) = signed_in(&service, &a, ALICE).await;
    // One refresh through A, one through B: the hour's two.
    for (n, base) in [(1, &a), (2, &b)] {
        expire_token_in(&service, &cookie, 30.0).await;
        assert_eq!(
            list_with_cookie(base, &cookie).await,
            StatusCode::OK,
            "{base}"
        );
        assert_eq!(service.tenant_events("sertft").await, n, "refresh {n}");
    }
    // A third through A (its own second) is not made: the still-valid token serves...
    expire_token_in(&service, &cookie, 30.0).await;
    assert_eq!(list_with_cookie(&a, &cookie).await, StatusCode::OK);
    assert_eq!(
        service.tenant_events("sertft").await,
        2,
        "no third exchange"
    );
    // ...and once it has expired, B answers 429 too.
    expire_token_in(&service, &cookie, -1.0).await;
    let (status, v) =
        with_cookie(reqwest::Method::GET, &b, "/api/v1/documents", &cookie, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"], "rate_limited", "{v}");
    assert_eq!(service.tenant_events("sertft").await, 2);
}

// ---------------------------------------------------------------------------------------------
// Refresh.

/// The stored (sealed) refresh token of the cookie's session, and its lease.
async fn stored_refresh(service: &Service, cookie: &str) -> (Option<Vec<u8>>, bool) {
    let mut db = service.sql().await;
    let (token, leased): (Option<Vec<u8>>, bool) = sqlx::query_as(
        "SELECT refresh_token, refresh_lock_until IS NOT NULL FROM sessions WHERE id_hash = $1",
    )
    .bind(session_hash(cookie))
    .fetch_one(&mut db)
    .await
    .expect("the session's row");
    (token, leased)
}

/// `n` concurrent `GET /api/v1/documents` with the cookie, alternating between `bases`.
async fn concurrent_lists(bases: [&str; 2], cookie: &str, n: usize) -> Vec<StatusCode> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (base, cookie) = (bases[i % 2].to_owned(), cookie.to_owned());
            tokio::spawn(async move { list_with_cookie(&base, &cookie).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sessions_refresh_token_is_spent_once_under_concurrent_requests_split_across_both() {
    let Some(service) = Service::start(&[]).await else {
        return;
    };
    let (a, b) = (service.a.base.clone(), service.b.base.clone());
    let (_browser, cookie) = signed_in(&service, &a, ALICE).await;
    let (first, _) = stored_refresh(&service, &cookie).await;
    assert!(first.is_some(), "offline_access gave a refresh token");

    // Expired: none of the ten can be served before someone refreshes.
    expire_token_in(&service, &cookie, -1.0).await;
    let statuses = concurrent_lists([&a, &b], &cookie, 10).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(
        service.tenant_events("sertft").await,
        1,
        "one exchange for ten requests"
    );
    assert_eq!(
        service.tenant_events("ferrt").await,
        0,
        "no refresh token reused"
    );
    let (second, leased) = stored_refresh(&service, &cookie).await;
    assert_ne!(second, first, "the rotated refresh token is stored");
    assert!(!leased, "the lease is released");

    // About to expire, B first this time: the rotated token is the one spent, once.
    expire_token_in(&service, &cookie, 20.0).await;
    let statuses = concurrent_lists([&b, &a], &cookie, 10).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(service.tenant_events("sertft").await, 2);
    assert_eq!(service.tenant_events("ferrt").await, 0);

    // The session still works on both, with no further exchange.
    for base in [&a, &b] {
        assert_eq!(
            list_with_cookie(base, &cookie).await,
            StatusCode::OK,
            "{base}"
        );
        assert_eq!(
            page_with_cookie(base, "/dashboard", &cookie).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(service.tenant_events("sertft").await, 2);
}

// ---------------------------------------------------------------------------------------------
// Killing an instance mid-write.

/// What one writer knows of one of its documents: the last write acknowledged (version and
/// content), and the content of a write sent after it that got no answer (applied or not).
struct Known {
    id: String,
    version: i64,
    content: String,
    unanswered: Option<String>,
}

/// One writer's documents and counts.
#[derive(Default)]
struct Written {
    docs: Vec<Known>,
    acknowledged: usize,
    unanswered: usize,
}

/// What the writers share: the two bases, whether A is gone, the writes in flight to A, and
/// the acknowledged writes so far.
struct Writers {
    a: String,
    b: String,
    a_killed: AtomicBool,
    stop: AtomicBool,
    in_flight_to_a: AtomicUsize,
    acknowledged: AtomicUsize,
    acknowledged_by_a: AtomicUsize,
    acknowledged_by_b_after_kill: AtomicUsize,
}

impl Writers {
    /// The instance for a writer's `n`th request: alternating while A lives, B afterwards.
    fn base(&self, writer: usize, n: usize) -> &str {
        if !self.a_killed.load(Ordering::SeqCst) && (writer + n).is_multiple_of(2) {
            &self.a
        } else {
            &self.b
        }
    }

    fn new(a: &str, b: &str) -> Writers {
        Writers {
            a: a.to_owned(),
            b: b.to_owned(),
            a_killed: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            in_flight_to_a: AtomicUsize::new(0),
            acknowledged: AtomicUsize::new(0),
            acknowledged_by_a: AtomicUsize::new(0),
            acknowledged_by_b_after_kill: AtomicUsize::new(0),
        }
    }

    /// [`write`] to `base`, counted in flight while it goes to A.
    async fn send(
        &self,
        base: &str,
        token: &str,
        doc: Option<&Known>,
        content: &str,
    ) -> Option<Value> {
        let to_a = base == self.a;
        if to_a {
            self.in_flight_to_a.fetch_add(1, Ordering::SeqCst);
        }
        let answer = write(base, token, doc, content).await;
        if to_a {
            self.in_flight_to_a.fetch_sub(1, Ordering::SeqCst);
        }
        assert!(
            answer.is_some() || to_a,
            "B left a write unanswered: {content}"
        );
        answer
    }

    fn count_ack(&self, base: &str, killed_before: bool) {
        self.acknowledged.fetch_add(1, Ordering::SeqCst);
        if base == self.a {
            self.acknowledged_by_a.fetch_add(1, Ordering::SeqCst);
        } else if killed_before {
            self.acknowledged_by_b_after_kill
                .fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// One write: `POST` a new document, or `PUT` with `If-Match` on `doc`. `Some(json)` for a 2xx
/// answer, `None` for no answer (the connection died); any other answer fails the test.
async fn write(base: &str, token: &str, doc: Option<&Known>, content: &str) -> Option<Value> {
    let body = json!({"title": "kill test", "content": content});
    let rb = match doc {
        None => client().post(format!("{base}/api/v1/documents")),
        Some(d) => client()
            .put(format!("{base}/api/v1/documents/{}", d.id))
            .header("if-match", format!("\"{}\"", d.version)),
    };
    let Ok(r) = rb.bearer_auth(token).json(&body).send().await else {
        return None;
    };
    let status = r.status();
    let text = r.text().await.ok()?;
    assert!(status.is_success(), "{base} answered {status}: {text}");
    Some(serde_json::from_str(&text).expect("a document JSON"))
}

/// A writer: creates a document, then updates it (each write on the next instance in turn)
/// until a write goes unanswered, then starts a new one; until told to stop.
async fn writer(shared: Arc<Writers>, w: usize, token: String) -> Written {
    let mut out = Written::default();
    let mut n = 0usize;
    while !shared.stop.load(Ordering::SeqCst) {
        n += 1;
        let content = format!("writer {w} write {n}");
        let killed_before = shared.a_killed.load(Ordering::SeqCst);
        let base = shared.base(w, n).to_owned();
        let current = out.docs.last().filter(|d| d.unanswered.is_none());
        match (
            shared.send(&base, &token, current, &content).await,
            current.is_some(),
        ) {
            (Some(v), updated) => {
                let doc = &v["document"];
                let known = Known {
                    id: doc["id"].as_str().expect("id").to_owned(),
                    version: doc["version"].as_i64().expect("version"),
                    content: content.clone(),
                    unanswered: None,
                };
                assert_eq!(doc["content"], content.as_str());
                if updated {
                    out.docs.pop();
                }
                out.docs.push(known);
                out.acknowledged += 1;
                shared.count_ack(&base, killed_before);
            }
            (None, true) => {
                out.unanswered += 1;
                if let Some(last) = out.docs.last_mut() {
                    last.unanswered = Some(content);
                }
            }
            // An unanswered create: the document may exist; it holds no acknowledged write.
            (None, false) => out.unanswered += 1,
        }
    }
    out
}

/// Polls (every millisecond) until `cond` holds, failing after `within`.
async fn until(what: &str, within: Duration, cond: impl Fn() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < within, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Reads every document back from `base`: it must hold its acknowledged version and content,
/// or the next version holding the write sent after it that got no answer.
async fn check_read_back(base: &str, token: &str, written: &Written) -> usize {
    let mut later = 0;
    for d in &written.docs {
        let r = client()
            .get(format!("{base}/api/v1/documents/{}", d.id))
            .bearer_auth(token)
            .send()
            .await
            .expect("read back");
        assert_eq!(r.status(), StatusCode::OK, "document {} is lost", d.id);
        let v: Value = r.json().await.expect("document JSON");
        let (version, content) = (&v["document"]["version"], &v["document"]["content"]);
        if *version == d.version && *content == d.content.as_str() {
            continue;
        }
        let applied =
            d.unanswered.as_deref().is_some_and(|u| *content == u) && *version == d.version + 1;
        assert!(
            applied,
            "document {}: acknowledged v{} {:?}, read {version} {content}",
            d.id, d.version, d.content
        );
        later += 1;
    }
    later
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_instance_mid_write_loses_no_acknowledged_write() {
    let Some(mut service) = Service::start(&[]).await else {
        return;
    };
    let tokens = [
        service.bearer_for(ALICE.0).await,
        service.bearer_for(BOB.0).await,
    ];
    let shared = Arc::new(Writers::new(&service.a.base, &service.b.base));
    let writers: Vec<_> = (0..6)
        .map(|w| tokio::spawn(writer(shared.clone(), w, tokens[w % 2].clone())))
        .collect();

    // Past 60 acknowledged writes, at a moment when writes to A are in flight.
    until(
        "60 acknowledged writes, some in flight to A",
        Duration::from_secs(10),
        || {
            shared.acknowledged.load(Ordering::SeqCst) >= 60
                && shared.in_flight_to_a.load(Ordering::SeqCst) >= 2
        },
    )
    .await;
    shared.a_killed.store(true, Ordering::SeqCst);
    service.a.kill();
    until("60 more acknowledged by B", Duration::from_secs(10), || {
        shared.acknowledged_by_b_after_kill.load(Ordering::SeqCst) >= 60
    })
    .await;
    shared.stop.store(true, Ordering::SeqCst);
    let mut results = Vec::new();
    for t in writers {
        results.push(t.await.expect("writer"));
    }

    let by_a = shared.acknowledged_by_a.load(Ordering::SeqCst);
    assert!(by_a > 0, "A acknowledged writes before the kill");
    assert!(service.b.is_running(), "B keeps running");
    assert_eq!(readyz(&service.b.base).await["status"], "ready");
    let (mut documents, mut unanswered, mut applied) = (0, 0, 0);
    for (w, written) in results.iter().enumerate() {
        applied += check_read_back(&service.b.base, &tokens[w % 2], written).await;
        documents += written.docs.len();
        unanswered += written.unanswered;
    }
    let acknowledged: usize = results.iter().map(|r| r.acknowledged).sum();
    eprintln!(
        "{acknowledged} writes acknowledged ({by_a} by A) over {documents} documents, all read \
         back from B; {unanswered} unanswered at the kill, {applied} of those found applied"
    );
}
