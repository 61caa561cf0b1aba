//! `cargo run --release -p pymd-bench`: the benchmark of spec §11.
//!
//! It starts the release `pymd` binary (built next to this one) with SQLite and a local
//! in-process OIDC issuer (test keys only), then drives it over loopback with 100 concurrent
//! keep-alive connections for a bounded time per scenario, and prints requests/s, p50/p99
//! latency and PyMD's peak resident memory (VmHWM of the `pymd` process). Scenarios:
//! `GET /api/v1/documents` with one valid token (verification cache hits), with a distinct
//! token per request (every request verifies an RS256 signature), with an invalid token, and a
//! full browser-style sign-in against the dev tenant (`pymd serve` with no IdP configured).
//! Every request goes to 127.0.0.1 only.
//!
//! `cargo run --release -p pymd-bench -- soak [--duration SECONDS]` runs the fault soak instead
//! (see the `soak` module and `docs/reliability.md`).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use pymd_auth::testkit::TestIssuer;

mod signin;
mod soak;

const CONNECTIONS: usize = 100;

struct Outcome {
    name: &'static str,
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Outcome {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }

    fn print(&self) {
        println!(
            "| {:<44} | {:>9.0} | {:>8.2} | {:>8.2} | {:>8} | {:>6} |",
            self.name,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.percentile(0.50),
            self.percentile(0.99),
            self.requests,
            self.errors
        );
    }
}

/// Runs `CONNECTIONS` workers for `duration`; worker `w`'s request `i` uses `tokens[(w, i)]`.
async fn drive(
    name: &'static str,
    client: &reqwest::Client,
    url: &str,
    tokens: Arc<Vec<String>>,
    cycle: bool,
    expect: u16,
    duration: Duration,
) -> Outcome {
    let start = Instant::now();
    let deadline = start + duration;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..CONNECTIONS {
        let client = client.clone();
        let url = url.to_owned();
        let tokens = tokens.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let i = if cycle { i % tokens.len() } else { i };
                let Some(token) = tokens.get(i) else { break };
                let t0 = Instant::now();
                match client.get(&url).bearer_auth(token).send().await {
                    Ok(r) => {
                        let ok = r.status().as_u16() == expect;
                        let _ = r.bytes().await;
                        if !ok {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
                lat.push(t0.elapsed().as_micros() as u64);
            }
            (lat, errors)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for h in handles {
        if let Ok((lat, e)) = h.await {
            latencies_us.extend(lat);
            errors += e;
        }
    }
    let elapsed = start.elapsed();
    latencies_us.sort_unstable();
    Outcome {
        name,
        requests: latencies_us.len(),
        errors,
        elapsed,
        latencies_us,
    }
}

/// Full sign-ins from `CONNECTIONS` concurrent fresh browsers for `duration`.
async fn drive_logins(client: &reqwest::Client, base: &str, duration: Duration) -> Outcome {
    let start = Instant::now();
    let deadline = start + duration;
    let mut handles = Vec::new();
    for _ in 0..CONNECTIONS {
        let client = client.clone();
        let base = base.to_owned();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                if signin::one_login(&client, &base).await.is_err() {
                    errors += 1;
                }
                lat.push(t0.elapsed().as_micros() as u64);
            }
            (lat, errors)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for h in handles {
        if let Ok((lat, e)) = h.await {
            latencies_us.extend(lat);
            errors += e;
        }
    }
    latencies_us.sort_unstable();
    Outcome {
        name: "full login (authorize → form → callback → session)",
        requests: latencies_us.len(),
        errors,
        elapsed: start.elapsed(),
        latencies_us,
    }
}

/// Starts `pymd serve` with the embedded dev tenant on free loopback ports.
async fn start_with_dev_tenant(
    pymd: &std::path::Path,
    data_dir: &std::path::Path,
) -> anyhow::Result<(tokio::process::Child, String)> {
    let free = || -> anyhow::Result<u16> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port())
    };
    let (port, tenant_port) = (free()?, free()?);
    let child = tokio::process::Command::new(pymd)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PYMD_BIND", format!("127.0.0.1:{port}"))
        .env("PYMD_DEV_TENANT_BIND", format!("127.0.0.1:{tenant_port}"))
        .env("PYMD_DATA_DIR", data_dir)
        .env("AUTH0_BASE_URL", format!("http://127.0.0.1:{port}"))
        // 100 browsers on one loopback address sign in over and over: the per-IP limit of
        // /auth/* (10 a minute) would measure the limiter, not the sign-in.
        .env("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "100000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting pymd with the dev tenant")?;
    Ok((child, format!("http://127.0.0.1:{port}")))
}

async fn wait_ready(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let ready = Instant::now();
    loop {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return Ok(());
        }
        anyhow::ensure!(
            ready.elapsed() < Duration::from_secs(30),
            "pymd did not answer within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The `pymd serve` child of the API scenarios, pointed at the test issuer.
struct ApiServer {
    child: tokio::process::Child,
    pid: u32,
    base: String,
    data_dir: std::path::PathBuf,
}

async fn start_api_server(
    pymd: &std::path::Path,
    issuer: &TestIssuer,
) -> anyhow::Result<ApiServer> {
    let data_dir =
        std::env::temp_dir().join(format!("pymd-bench-{}", uuid::Uuid::new_v4().simple()));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let child = tokio::process::Command::new(pymd)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PYMD_BIND", format!("127.0.0.1:{port}"))
        .env("PYMD_DATA_DIR", &data_dir)
        .env("AUTH0_ISSUER_BASE_URL", issuer.base_url().as_str())
        .env("AUTH0_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting pymd")?;
    let pid = child.id().context("pymd pid")?;
    Ok(ApiServer {
        child,
        pid,
        base: format!("http://127.0.0.1:{port}"),
        data_dir,
    })
}

/// Ten documents for the bench user, so the list does real work.
async fn seed_documents(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<()> {
    for i in 0..10 {
        client
            .post(format!("{base}/api/v1/documents"))
            .bearer_auth(token)
            .json(&serde_json::json!({"title": format!("Document {i}"), "content": "# Bench\n\nSome *Markdown*."}))
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(())
}

/// Distinct tokens (a distinct `jti` each), minted on both cores before the clock starts; the
/// scenario ends early if it uses them all, so no token is ever verified twice.
fn distinct_tokens(issuer: &TestIssuer) -> Vec<String> {
    let count: usize = std::env::var("PYMD_BENCH_DISTINCT_TOKENS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000);
    std::thread::scope(|scope| {
        let halves: Vec<_> = (0..2)
            .map(|half| {
                scope.spawn(move || {
                    (0..count / 2)
                        .map(|i| {
                            let mut claims = issuer.claims("auth0|bench-user", &["read:documents"]);
                            claims["jti"] = serde_json::json!(format!("bench-{half}-{i}"));
                            issuer.sign(issuer.header(), claims)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// A well-formed token whose signature belongs to other claims: refused only by the RSA
/// verification itself (a corrupted base64 tail would be refused before any crypto).
fn forged_token(issuer: &TestIssuer, valid: &str) -> String {
    let other = issuer.token("auth0|someone-else", &["read:documents"]);
    let signing_input = &valid[..valid.rfind('.').unwrap_or(0)];
    let foreign_signature = other.rsplit('.').next().unwrap_or("");
    format!("{signing_input}.{foreign_signature}")
}

/// The four API scenarios against one server; returns its peak resident memory.
async fn api_scenarios(pymd: &std::path::Path, duration: Duration) -> anyhow::Result<Option<u64>> {
    let issuer = TestIssuer::start().await;
    let mut server = start_api_server(pymd, &issuer).await?;
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    wait_ready(&client, &base).await?;
    let one = issuer.token("auth0|bench-user", &["read:documents", "write:documents"]);
    seed_documents(&client, &base, &one).await?;
    let url = format!("{base}/api/v1/documents");
    let scenarios: [(&'static str, String, Vec<String>, bool, u16); 4] = [
        (
            "GET /healthz (baseline: no auth, no database)",
            format!("{base}/healthz"),
            vec![one.clone()],
            true,
            200,
        ),
        (
            "GET /api/v1/documents, warm (one token)",
            url.clone(),
            vec![one.clone()],
            true,
            200,
        ),
        (
            "GET /api/v1/documents, distinct token each",
            url.clone(),
            distinct_tokens(&issuer),
            false,
            200,
        ),
        (
            "GET /api/v1/documents, forged signature (401)",
            url,
            vec![forged_token(&issuer, &one)],
            true,
            401,
        ),
    ];
    for (name, url, tokens, cycle, expect) in scenarios {
        drive(
            name,
            &client,
            &url,
            Arc::new(tokens),
            cycle,
            expect,
            duration,
        )
        .await
        .print();
    }
    let peak = peak_rss_kib(server.pid);
    let _ = server.child.start_kill();
    let _ = server.child.wait().await;
    let _ = std::fs::remove_dir_all(&server.data_dir);
    Ok(peak)
}

/// Full sign-ins against the dev tenant (embedded in the same `pymd` process); returns the
/// process's peak resident memory.
async fn login_scenario(pymd: &std::path::Path, duration: Duration) -> anyhow::Result<Option<u64>> {
    let login_dir =
        std::env::temp_dir().join(format!("pymd-bench-{}", uuid::Uuid::new_v4().simple()));
    let (mut login_child, login_base) = start_with_dev_tenant(pymd, &login_dir).await?;
    let login_pid = login_child.id().context("pymd pid")?;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    wait_ready(&no_redirects, &login_base).await?;
    drive_logins(&no_redirects, &login_base, duration)
        .await
        .print();
    let peak = peak_rss_kib(login_pid);
    let _ = login_child.start_kill();
    let _ = login_child.wait().await;
    let _ = std::fs::remove_dir_all(&login_dir);
    Ok(peak)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("soak") {
        return soak::main(&args[1..]).await;
    }
    let seconds: u64 = std::env::var("PYMD_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let duration = Duration::from_secs(seconds.clamp(1, 120));
    let exe = std::env::current_exe()?;
    let pymd = exe.with_file_name("pymd");
    anyhow::ensure!(
        pymd.exists(),
        "{} not found: run `cargo build --release` first",
        pymd.display()
    );
    println!("PyMD benchmark: {CONNECTIONS} connections, {seconds} s per scenario, loopback");
    println!(
        "| scenario                                     |     req/s |  p50 ms  |  p99 ms  | requests | errors |"
    );
    println!(
        "|----------------------------------------------|-----------|----------|----------|----------|--------|"
    );
    let api_peak = api_scenarios(&pymd, duration).await?;
    let login_peak = login_scenario(&pymd, duration).await?;
    let mib = |k: Option<u64>| {
        k.map_or("unavailable".to_owned(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    println!(
        "\npymd peak resident memory (VmHWM): API scenarios {}; login scenario (app + dev tenant) {}",
        mib(api_peak),
        mib(login_peak)
    );
    Ok(())
}
