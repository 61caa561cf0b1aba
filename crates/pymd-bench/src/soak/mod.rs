//! The fault soak (`cargo run --release -p pymd-bench -- soak [--duration SECONDS]`): the
//! release `pymd serve` on its own PostgreSQL, Redis and IdP (`pymd dev-tenant`), all started
//! here on free 127.0.0.1 ports, under API traffic and browser sign-ins for the whole run while
//! the schedule (`schedule.rs`) stops and restarts each dependency. Afterwards every
//! acknowledged write is read back, and the report (`report.rs`) says what the app answered in
//! each phase, how fast it recovered, and whether anything happened that the specification's
//! §10 rules out. The exit status is non-zero when it did. How to run it and a recorded run:
//! `docs/reliability.md`.

mod load;
mod procs;
mod report;
mod schedule;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use procs::{Postgres, Pymd, Redis, free_port, memory_kib};
use report::{ActionRecord, LogSummary, Run};
use schedule::Action;

/// The web and M2M clients of the dev tenant (`auth0/pymd-dev.yaml`; public, dev only).
const WEB_CLIENT: (&str, &str) = (
    "pymdWebDevClient7Hk2Lq9Xz4Rt8Vw1",
    "dev-web-secret-0f3c9a7e5b2d4816a9c0e7f1b3d5a7c9e1f3b5d7a9c1e3f5",
);
const M2M_CLIENT: (&str, &str) = (
    "pymdM2MDevClient3Jd8Fp2Nc6Yb5Qs0",
    "dev-m2m-secret-7a1e4c9b2f6d8035b7e2a4c6f8d0b2e4a6c8e0f2b4d6a8c0",
);
/// The seeded users the API workers act as, in turn.
const USERS: [&str; 2] = ["alice@example.com", "bob@example.com"];

/// The soak's command-line options.
#[derive(Debug)]
struct Options {
    duration: Duration,
    api_workers: usize,
    signin_workers: usize,
    keep: bool,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut o = Options {
            duration: Duration::from_secs(120),
            api_workers: 8,
            signin_workers: 2,
            keep: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut number = |name: &str, range: std::ops::RangeInclusive<u64>| {
                it.next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|v| range.contains(v))
                    .with_context(|| {
                        format!(
                            "{name} takes a number from {} to {}",
                            range.start(),
                            range.end()
                        )
                    })
            };
            match a.as_str() {
                "--duration" => o.duration = Duration::from_secs(number(a, 60..=1800)?),
                "--api-workers" => o.api_workers = number(a, 1..=64)? as usize,
                "--signin-workers" => o.signin_workers = number(a, 0..=16)? as usize,
                "--keep" => o.keep = true,
                "-h" | "--help" => {
                    println!(
                        "pymd-bench soak [--duration SECONDS (60-1800, default 120)] \
                         [--api-workers N (default 8)] [--signin-workers N (default 2)] [--keep]\n\
                         Runs pymd serve on its own PostgreSQL, Redis and dev tenant, stops and \
                         restarts each under load, and checks that no acknowledged write is lost.\n\
                         --keep keeps the work directory (logs) even when the soak passes."
                    );
                    std::process::exit(0);
                }
                other => anyhow::bail!("unknown soak option {other:?} (try --help)"),
            }
        }
        Ok(o)
    }
}

/// Runs the soak with `args` (what follows `soak` on the command line).
///
/// # Errors
/// Bad options, a process that cannot be started, an interruption, or a soak that found a
/// problem.
pub async fn main(args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let pymd = std::env::current_exe()?.with_file_name("pymd");
    anyhow::ensure!(
        pymd.exists(),
        "{} not found: run `cargo build --release` first",
        pymd.display()
    );
    let dir = std::env::temp_dir().join(format!("pymd-soak-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("tenant"))?;
    std::fs::create_dir_all(dir.join("app"))?;
    // Dropping `run` (Ctrl-C) drops the processes it owns, which stops them.
    let result = tokio::select! {
        r = run(&options, &pymd, &dir) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match &result {
        Ok(true) if !options.keep => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        _ => println!(
            "\nlogs (app.log, tenant.log, redis.log, pg/postgres.log) kept in {}",
            dir.display()
        ),
    }
    anyhow::ensure!(
        result?,
        "the fault soak found problems (see the report above)"
    );
    Ok(())
}

/// The processes a soak runs, each started on a free port of 127.0.0.1.
struct Stack {
    pg: Postgres,
    redis: Redis,
    idp: Pymd,
    app: Pymd,
    app_base: String,
    pid: u32,
}

impl Stack {
    /// Starts PostgreSQL, Redis, the dev tenant and `pymd serve` on them, in that order.
    async fn start(pymd: &Path, dir: &Path, http: &reqwest::Client) -> anyhow::Result<Stack> {
        let pg = Postgres::init(&dir.join("pg")).await?;
        pg.start().await.context("starting PostgreSQL")?;
        let mut redis = Redis::new(dir)?;
        redis.start().await.context("starting Redis")?;
        let app_port = free_port()?;
        let app_base = format!("http://127.0.0.1:{app_port}");
        let internal_token = format!("soak-internal-{}", uuid::Uuid::new_v4().simple());
        let tenant_port = free_port()?;
        let mut idp = Pymd::dev_tenant(pymd, dir, tenant_port, &app_base, &internal_token);
        idp.start(http).await.context("starting the dev tenant")?;
        let env = app_env(
            dir,
            app_port,
            &idp.base(),
            &internal_token,
            &pg.url(),
            &redis.url(),
        );
        let mut app = Pymd::serve(pymd, dir, app_port, env);
        app.start(http).await.context("starting pymd serve")?;
        let pid = app.pid().context("pymd serve's PID")?;
        Ok(Stack {
            pg,
            redis,
            idp,
            app,
            app_base,
            pid,
        })
    }
}

/// Starts everything, runs the load and the schedule, checks the writes and prints the report;
/// returns whether the soak passed.
async fn run(options: &Options, pymd: &Path, dir: &Path) -> anyhow::Result<bool> {
    let http = load::client()?;
    println!("fault soak: work directory {}", dir.display());
    let Stack {
        pg,
        mut redis,
        mut idp,
        mut app,
        app_base,
        pid,
    } = Stack::start(pymd, dir, &http).await?;

    let mut tokens = Vec::new();
    for w in 0..options.api_workers {
        tokens.push(idp.token_for(USERS[w % USERS.len()]).await?);
    }
    println!(
        "running: PostgreSQL (log {}), Redis, IdP {}, pymd serve {app_base} (PID {pid}); load for {} s",
        pg.log().display(),
        idp.base(),
        options.duration.as_secs()
    );
    let (rss_start_kib, _) = memory_kib(pid);

    let clock = load::Clock::start();
    let t0 = clock.t0;
    let mut load = Load::start(&http, &app_base, &tokens, options.signin_workers, &clock);

    let (actions, lag) = play_schedule(options, &clock, &pg, &mut redis, &mut idp, &http).await;
    tokio::time::sleep_until((t0 + options.duration + lag).into()).await;
    clock.stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let (workers, mut records) = load.finish().await?;
    let load_end = clock.now();
    let (rss_end_kib, hwm_kib) = memory_kib(pid);
    println!(
        "{:>6.1} s  load ended; reading back every document",
        load_end.as_secs_f64()
    );

    let checked = read_back(&http, &app_base, workers, &tokens).await?;
    records.extend(checked.records);
    let probes = load.probes().await?;
    let metrics = interesting_metrics(&http, &app_base).await;
    let app_alive = app.is_running();
    let log = LogSummary::of(&std::fs::read_to_string(app.log()).unwrap_or_default());
    let tenant_log = LogSummary::of(&std::fs::read_to_string(idp.log()).unwrap_or_default());

    let passed = report::print(&Run {
        duration: options.duration,
        load_end,
        api_workers: options.api_workers,
        signin_workers: options.signin_workers,
        actions,
        records,
        probes,
        documents: checked.documents,
        acknowledged_writes: checked.acknowledged_writes,
        pending_applied: checked.pending_applied,
        verified_acknowledged: checked.verified_acknowledged,
        verified_pending_applied: checked.verified_pending_applied,
        lost: checked.lost,
        violations: checked.violations,
        rss_start_kib,
        rss_end_kib,
        hwm_kib,
        app_alive,
        log,
        tenant_log,
        metrics,
    });
    app.kill().await?;
    idp.kill().await?;
    redis.kill().await?;
    drop(pg);
    Ok(passed)
}

/// The environment of the soak's `pymd serve`: its own dependencies, the dev tenant's clients
/// and fresh secrets.
fn app_env(
    dir: &Path,
    app_port: u16,
    idp_base: &str,
    internal_token: &str,
    database_url: &str,
    redis_url: &str,
) -> Vec<(String, String)> {
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    [
        ("PYMD_BIND", format!("127.0.0.1:{app_port}")),
        ("PYMD_DATA_DIR", dir.join("app").display().to_string()),
        ("AUTH0_BASE_URL", format!("http://127.0.0.1:{app_port}")),
        ("AUTH0_ISSUER_BASE_URL", idp_base.to_owned()),
        ("AUTH0_CLIENT_ID", WEB_CLIENT.0.to_owned()),
        ("AUTH0_CLIENT_SECRET", WEB_CLIENT.1.to_owned()),
        ("AUTH0_M2M_CLIENT_ID", M2M_CLIENT.0.to_owned()),
        ("AUTH0_M2M_CLIENT_SECRET", M2M_CLIENT.1.to_owned()),
        ("AUTH0_SECRET", secret),
        ("INTERNAL_API_TOKEN", internal_token.to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("REDIS_URL", redis_url.to_owned()),
        // Every browser of the soak signs in from 127.0.0.1, over and over: the per-IP limit
        // of /auth/* (10 a minute) would turn the sign-ins into 429s.
        ("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "100000000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The traffic of the soak: the API workers, the sign-in workers and the `/readyz` probe.
struct Load {
    api: Vec<tokio::task::JoinHandle<load::ApiResult>>,
    signins: Vec<tokio::task::JoinHandle<Vec<load::Record>>>,
    stop_probe: tokio::sync::watch::Sender<bool>,
    probe: tokio::task::JoinHandle<Vec<load::Probe>>,
}

impl Load {
    /// Starts one API worker per token, `signin_workers` sign-in workers and the probe; they run
    /// until `clock` stops (the probe until [`Load::probes`]).
    fn start(
        http: &reqwest::Client,
        base: &str,
        tokens: &[String],
        signin_workers: usize,
        clock: &load::Clock,
    ) -> Load {
        let api = tokens
            .iter()
            .enumerate()
            .map(|(w, token)| {
                tokio::spawn(load::api_worker(
                    w,
                    http.clone(),
                    base.to_owned(),
                    token.clone(),
                    clock.clone(),
                ))
            })
            .collect();
        let signins = (0..signin_workers)
            .map(|_| {
                tokio::spawn(load::signin_worker(
                    http.clone(),
                    base.to_owned(),
                    clock.clone(),
                ))
            })
            .collect();
        let (stop_probe, stopped) = tokio::sync::watch::channel(false);
        let probe = tokio::spawn(load::probe(
            http.clone(),
            base.to_owned(),
            clock.clone(),
            stopped,
        ));
        Load {
            api,
            signins,
            stop_probe,
            probe,
        }
    }

    /// Waits for the API and sign-in workers (after the clock stopped): what each API worker
    /// wrote, and every sign-in's record.
    async fn finish(&mut self) -> anyhow::Result<(Vec<load::ApiResult>, Vec<load::Record>)> {
        let mut workers = Vec::new();
        for h in self.api.drain(..) {
            workers.push(h.await?);
        }
        let mut records = Vec::new();
        for h in self.signins.drain(..) {
            records.extend(h.await?);
        }
        Ok((workers, records))
    }

    /// Stops the probe and returns its samples.
    async fn probes(self) -> anyhow::Result<Vec<load::Probe>> {
        let _ = self.stop_probe.send(true);
        Ok(self.probe.await?)
    }
}

/// Plays the fault schedule against the dependencies. The time the actions took shifts the rest
/// of the schedule, so that a slow restart does not eat the calm phase after it: every phase
/// keeps its planned length. Returns what was done and the total shift.
async fn play_schedule(
    options: &Options,
    clock: &load::Clock,
    pg: &Postgres,
    redis: &mut Redis,
    idp: &mut Pymd,
    http: &reqwest::Client,
) -> (Vec<ActionRecord>, Duration) {
    let t0 = clock.t0;
    let mut lag = Duration::ZERO;
    let mut actions = Vec::new();
    for step in schedule::plan() {
        let at = t0 + schedule::offset(&step, options.duration) + lag;
        tokio::time::sleep_until(at.into()).await;
        let began = clock.now();
        println!("{:>6.1} s  {}", began.as_secs_f64(), step.action.describe());
        let result = match step.action {
            Action::PgStopImmediate => pg.stop_immediate().await,
            Action::PgKill => pg.kill().await,
            Action::PgStart => pg.start().await,
            Action::RedisKill => redis.kill().await,
            Action::RedisStart => redis.start().await,
            Action::IdpKill => idp.kill().await,
            Action::IdpStart => idp.start(http).await,
        };
        let done = clock.now();
        lag += done - began;
        actions.push(ActionRecord {
            step,
            began,
            done,
            error: result.err().map(|e| format!("{e:#}")),
        });
    }
    (actions, lag)
}

/// What reading every document back found.
#[derive(Default)]
struct ReadBack {
    documents: usize,
    acknowledged_writes: usize,
    pending_applied: usize,
    verified_acknowledged: usize,
    verified_pending_applied: usize,
    lost: Vec<String>,
    violations: Vec<String>,
    records: Vec<load::Record>,
}

/// Reads back every document each API worker wrote (one task per worker), checking that every
/// acknowledged write is there.
async fn read_back(
    http: &reqwest::Client,
    base: &str,
    workers: Vec<load::ApiResult>,
    tokens: &[String],
) -> anyhow::Result<ReadBack> {
    let checks: Vec<_> = workers
        .into_iter()
        .zip(tokens.iter().cloned())
        .map(|(mut result, token)| {
            let (http, base) = (http.clone(), base.to_owned());
            tokio::spawn(async move {
                let verdict = load::verify(&http, &base, &token, &mut result.docs).await;
                (result, verdict)
            })
        })
        .collect();
    let mut out = ReadBack::default();
    for h in checks {
        let (result, (a, p, l)) = h.await?;
        out.documents += result.docs.len();
        out.acknowledged_writes += result.acknowledged_writes;
        out.pending_applied += result.pending_applied;
        out.verified_acknowledged += a;
        out.verified_pending_applied += p;
        out.lost.extend(l);
        out.violations.extend(result.violations);
        out.records.extend(result.records);
    }
    Ok(out)
}

/// The `/metrics` lines that show the faults from the inside: the rate-limit fallback while
/// Redis was down, the JWKS refreshes, the HTTP statuses of the API.
async fn interesting_metrics(http: &reqwest::Client, base: &str) -> Vec<String> {
    let Ok(r) = http.get(format!("{base}/metrics")).send().await else {
        return Vec::new();
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| {
            l.starts_with("pymd_rate_limit_fallback_total")
                || l.starts_with("pymd_jwks_refresh_total")
                || l.starts_with("pymd_logins_total")
                || (l.starts_with("pymd_http_requests_total")
                    && (l.contains("status=\"5") || l.contains("status=\"4")))
        })
        .map(str::to_owned)
        .collect()
}
