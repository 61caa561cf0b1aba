//! The side-by-side run (`cargo run --release -p pymd-bench`): PyMD on SQLite and on
//! PostgreSQL, the naive axum + jsonwebtoken peer (`peer.rs`) and the source plan's FastAPI +
//! python-jose stack (`fastapi.rs`), all verifying tokens of one in-process issuer, then a full
//! browser sign-in against the dev tenant. Every server runs for the whole run but only one is
//! under load at a time, and the scenarios that are compared run back to back, so the noise of
//! a shared machine falls on all of them alike.

use std::sync::Arc;
use std::time::Duration;

use pymd_auth::testkit::TestIssuer;

use crate::load::{Load, Outcome, drive, drive_logins};
use crate::pg::FreshDatabase;
use crate::report::{Ratio, Row, ratio};
use crate::servers::{PymdMode, Server, pymd_binary, start_pymd};

/// Keep-alive connections of every load scenario.
pub const CONNECTIONS: usize = 100;
/// The subject of every token in the run.
const SUBJECT: &str = "auth0|bench-user";

/// The side-by-side run's options.
pub struct Options {
    pub duration: Duration,
    /// Append the run to `docs/benchmarks.md`.
    pub record: bool,
    /// Pre-minted tokens of the distinct-token scenarios.
    pub distinct_tokens: usize,
}

/// Which server a row measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Sqlite,
    Postgres,
    Peer,
    FastApi,
    DevTenant,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Sqlite => "PyMD (SQLite)",
            Target::Postgres => "PyMD (PostgreSQL)",
            Target::Peer => "naive axum + jsonwebtoken",
            Target::FastApi => "FastAPI + python-jose, uvicorn ×2",
            Target::DevTenant => "PyMD + dev tenant",
        }
    }
}

/// What a row measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Warm,
    Distinct,
    Forged,
    Public,
    SignIn,
}

impl Kind {
    fn label(self, target: Target) -> &'static str {
        match (self, target) {
            (Kind::Warm, _) => "`GET /api/v1/documents`, one valid token",
            (Kind::Distinct, _) => "`GET /api/v1/documents`, a distinct token per request",
            (Kind::Forged, _) => "`GET /api/v1/documents`, forged signature → 401",
            (Kind::Public, Target::Peer) => "`GET /` (public, bare route)",
            (Kind::Public, _) => "`GET /healthz` (public)",
            (Kind::SignIn, _) => "full browser sign-in (login → form → callback → session)",
        }
    }
}

/// The servers of the API scenarios and the PostgreSQL database made for this run.
struct Fleet {
    servers: Vec<(Target, Server)>,
    database: Option<FreshDatabase>,
}

/// The tokens every server is sent.
struct Tokens {
    warm: Arc<Vec<String>>,
    distinct: Arc<Vec<String>>,
    forged: Arc<Vec<String>>,
}

/// What was measured: rows keyed by server and scenario, and why anything was skipped.
#[derive(Default)]
struct Measured {
    outcomes: Vec<(Target, Kind, Outcome)>,
    rss: Vec<(Target, Option<u64>)>,
    skipped: Vec<String>,
}

impl Measured {
    fn rate(&self, t: Target, k: Kind) -> Option<f64> {
        self.find(t, k).map(Outcome::rate)
    }

    fn find(&self, t: Target, k: Kind) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|(tt, kk, _)| *tt == t && *kk == k)
            .map(|(_, _, o)| o)
    }

    fn rss(&self, t: Target) -> Option<u64> {
        self.rss
            .iter()
            .find(|(tt, _)| *tt == t)
            .and_then(|(_, r)| *r)
    }
}

/// Runs every server side by side, prints the table and the ratios, and records them.
///
/// # Errors
/// The `pymd` binary is missing, or PyMD on SQLite or the peer could not be started.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let pymd = pymd_binary()?;
    println!(
        "PyMD side-by-side benchmark: {CONNECTIONS} connections, {} s per scenario, loopback",
        options.duration.as_secs()
    );
    let issuer = TestIssuer::start().await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let mut measured = Measured::default();
    let fleet = start_fleet(&pymd, &issuer, &client, &mut measured.skipped).await?;
    let tokens = mint_tokens(&issuer, options.distinct_tokens);
    api_scenarios(&fleet, &tokens, &client, options.duration, &mut measured).await;
    stop_fleet(fleet, &mut measured).await;
    match signin_scenario(&pymd, options.duration).await {
        Ok((outcome, rss)) => {
            measured
                .outcomes
                .push((Target::DevTenant, Kind::SignIn, outcome));
            measured.rss.push((Target::DevTenant, rss));
        }
        Err(e) => measured.skipped.push(format!("sign-in row skipped: {e:#}")),
    }
    finish(&measured, &options)
}

/// Starts PyMD on SQLite, PyMD on a fresh PostgreSQL database, the peer and uvicorn, each
/// answering and (for PyMD) seeded with ten documents. A PostgreSQL or Python that is not
/// there skips its server, with the reason in `skipped`.
async fn start_fleet(
    pymd: &std::path::Path,
    issuer: &TestIssuer,
    client: &reqwest::Client,
    skipped: &mut Vec<String>,
) -> anyhow::Result<Fleet> {
    let issuer_url = issuer.issuer();
    let writer = issuer.token(SUBJECT, &["read:documents", "write:documents"]);
    let mut servers = Vec::new();
    let mut sqlite = start_pymd(
        pymd,
        PymdMode::Sqlite {
            issuer: &issuer_url,
        },
    )?;
    sqlite
        .wait_ready(client, "/healthz", Duration::from_secs(30))
        .await?;
    seed_documents(client, &sqlite.base, &writer).await?;
    servers.push((Target::Sqlite, sqlite));
    let mut peer = crate::peer::start(&issuer_url, issuer.audience()).await?;
    peer.wait_ready(client, "/", Duration::from_secs(10))
        .await?;
    servers.push((Target::Peer, peer));
    let database = match start_postgres(pymd, &issuer_url, client, &writer).await {
        Ok((server, db)) => {
            servers.push((Target::Postgres, server));
            Some(db)
        }
        Err(e) => {
            skipped.push(format!("PyMD (PostgreSQL) skipped: {e:#}"));
            None
        }
    };
    match start_fastapi(issuer, client).await {
        Ok(server) => servers.push((Target::FastApi, server)),
        Err(e) => skipped.push(format!("FastAPI + python-jose skipped: {e:#}")),
    }
    Ok(Fleet { servers, database })
}

/// PyMD on a fresh database of `PYMD_BENCH_DATABASE_URL`'s server, answering and seeded.
async fn start_postgres(
    pymd: &std::path::Path,
    issuer: &str,
    client: &reqwest::Client,
    writer: &str,
) -> anyhow::Result<(Server, FreshDatabase)> {
    let db = FreshDatabase::create(&crate::pg::admin_url()).await?;
    let started = async {
        let mut server = start_pymd(
            pymd,
            PymdMode::Database {
                url: &db.url,
                issuer,
            },
        )?;
        let ready = server
            .wait_ready(client, "/healthz", Duration::from_secs(30))
            .await;
        let seeded = match ready {
            Ok(()) => seed_documents(client, &server.base, writer).await,
            Err(e) => Err(e),
        };
        match seeded {
            Ok(()) => Ok(server),
            Err(e) => {
                server.stop().await;
                Err(e)
            }
        }
    }
    .await;
    match started {
        Ok(server) => Ok((server, db)),
        Err(e) => {
            db.drop_now().await;
            Err(e)
        }
    }
}

/// uvicorn with the plan's app, its virtualenv made first if needed.
async fn start_fastapi(issuer: &TestIssuer, client: &reqwest::Client) -> anyhow::Result<Server> {
    let venv = crate::fastapi::venv_dir()?;
    crate::fastapi::ensure_venv(&venv).await?;
    let mut server = crate::fastapi::start(&venv, &issuer.issuer(), issuer.audience())?;
    if let Err(e) = server
        .wait_ready(client, "/", Duration::from_secs(60))
        .await
    {
        server.stop().await;
        return Err(e);
    }
    Ok(server)
}

/// Ten documents for the bench user, so PyMD's list does real work.
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

/// The warm token, the distinct tokens (a distinct `jti` each, minted on both cores before any
/// clock starts) and a forged one.
fn mint_tokens(issuer: &TestIssuer, distinct: usize) -> Tokens {
    let warm = issuer.token(SUBJECT, &["read:documents"]);
    let distinct = std::thread::scope(|scope| {
        let halves: Vec<_> = (0..2)
            .map(|half| {
                scope.spawn(move || {
                    (0..distinct / 2)
                        .map(|i| {
                            let mut claims = issuer.claims(SUBJECT, &["read:documents"]);
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
    });
    Tokens {
        forged: Arc::new(vec![forged_token(issuer, &warm)]),
        warm: Arc::new(vec![warm]),
        distinct: Arc::new(distinct),
    }
}

/// A well-formed token whose signature belongs to other claims: refused only by the RSA
/// verification itself (a corrupted base64 tail would be refused before any crypto).
fn forged_token(issuer: &TestIssuer, valid: &str) -> String {
    let other = issuer.token("auth0|someone-else", &["read:documents"]);
    let signing_input = &valid[..valid.rfind('.').unwrap_or(0)];
    let foreign_signature = other.rsplit('.').next().unwrap_or("");
    format!("{signing_input}.{foreign_signature}")
}

/// The API scenarios in their interleaved order: each comparison's rows back to back.
fn schedule() -> [(Target, Kind); 9] {
    [
        (Target::Sqlite, Kind::Warm),
        (Target::Peer, Kind::Warm),
        (Target::Postgres, Kind::Warm),
        (Target::FastApi, Kind::Warm),
        (Target::Sqlite, Kind::Distinct),
        (Target::Peer, Kind::Distinct),
        (Target::Sqlite, Kind::Public),
        (Target::Peer, Kind::Public),
        (Target::Sqlite, Kind::Forged),
    ]
}

/// Runs [`schedule`] against the servers that started, each after a short warm-up.
async fn api_scenarios(
    fleet: &Fleet,
    tokens: &Tokens,
    client: &reqwest::Client,
    duration: Duration,
    measured: &mut Measured,
) {
    for (target, kind) in schedule() {
        let Some((_, server)) = fleet.servers.iter().find(|(t, _)| *t == target) else {
            continue;
        };
        let load = scenario_load(&server.base, target, kind, tokens, duration);
        let warm_up = Load {
            tokens: tokens.warm.clone(),
            cycle: true,
            expect: load.expect,
            duration: Duration::from_millis(500),
            ..load.clone()
        };
        let _ = drive(client, &warm_up).await;
        let outcome = drive(client, &load).await;
        print_progress(target, kind, &outcome);
        measured.outcomes.push((target, kind, outcome));
    }
}

fn scenario_load(
    base: &str,
    target: Target,
    kind: Kind,
    tokens: &Tokens,
    duration: Duration,
) -> Load {
    let documents = format!("{base}/api/v1/documents");
    let (url, tokens, cycle, expect) = match kind {
        Kind::Warm | Kind::SignIn => (documents, tokens.warm.clone(), true, 200),
        Kind::Distinct => (documents, tokens.distinct.clone(), false, 200),
        Kind::Forged => (documents, tokens.forged.clone(), true, 401),
        Kind::Public if target == Target::Peer => {
            (format!("{base}/"), tokens.warm.clone(), true, 200)
        }
        Kind::Public => (format!("{base}/healthz"), tokens.warm.clone(), true, 200),
    };
    Load {
        url,
        tokens,
        cycle,
        expect,
        connections: CONNECTIONS,
        duration,
    }
}

fn print_progress(target: Target, kind: Kind, o: &Outcome) {
    println!(
        "  {:<34} {:<58} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
        target.label(),
        kind.label(target),
        o.rate(),
        o.percentile_ms(0.5),
        o.percentile_ms(0.99),
        o.errors
    );
}

/// Reads every server's peak memory, stops it, and drops the PostgreSQL database.
async fn stop_fleet(fleet: Fleet, measured: &mut Measured) {
    for (target, server) in fleet.servers {
        measured.rss.push((target, server.peak_rss_kib()));
        server.stop().await;
    }
    if let Some(db) = fleet.database {
        db.drop_now().await;
    }
}

/// Full sign-ins against `pymd serve` with its embedded dev tenant; the outcome and the
/// process's peak memory.
async fn signin_scenario(
    pymd: &std::path::Path,
    duration: Duration,
) -> anyhow::Result<(Outcome, Option<u64>)> {
    let mut server = start_pymd(pymd, PymdMode::DevTenant)?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    server
        .wait_ready(&client, "/healthz", Duration::from_secs(30))
        .await?;
    let outcome = drive_logins(&client, &server.base, CONNECTIONS, duration).await;
    print_progress(Target::DevTenant, Kind::SignIn, &outcome);
    let rss = server.peak_rss_kib();
    server.stop().await;
    Ok((outcome, rss))
}

/// Issue 9's targets, as ratios of this run.
fn ratios(m: &Measured) -> Vec<Ratio> {
    use Kind::*;
    use Target::*;
    let pymd_rss = [m.rss(Sqlite), m.rss(Postgres)].into_iter().flatten().max();
    vec![
        Ratio::at_least(
            "PyMD warm ÷ naive warm",
            ratio(m.rate(Sqlite, Warm), m.rate(Peer, Warm)),
            1.5,
            "≥ 1.5",
        ),
        // Issue 9: "≥ 1.5× the naive peer (which is ≥ 30× FastAPI)" — 1.5 × the issue's
        // measured 21.6× (naive ÷ FastAPI) is ~32×, so the 30× is PyMD's own multiple.
        Ratio::at_least(
            "PyMD warm ÷ FastAPI warm",
            ratio(m.rate(Sqlite, Warm), m.rate(FastApi, Warm)),
            30.0,
            "≥ 30",
        ),
        Ratio {
            name: "naive warm ÷ FastAPI warm (for reference)",
            value: ratio(m.rate(Peer, Warm), m.rate(FastApi, Warm)),
            target: "—",
            met: None,
            unit: "×",
        },
        Ratio::at_least(
            "PyMD distinct ÷ naive distinct",
            ratio(m.rate(Sqlite, Distinct), m.rate(Peer, Distinct)),
            0.9,
            "≥ 0.9",
        ),
        Ratio::at_least(
            "PyMD `/healthz` ÷ naive `/`",
            ratio(m.rate(Sqlite, Public), m.rate(Peer, Public)),
            0.8,
            "≥ 0.8",
        ),
        Ratio::at_least(
            "PyMD-PG warm ÷ naive warm",
            ratio(m.rate(Postgres, Warm), m.rate(Peer, Warm)),
            0.8,
            "≥ 0.8",
        ),
        Ratio::below(
            "PyMD peak RSS (API servers)",
            pymd_rss.map(|k| k as f64 / 1024.0),
            64.0,
            "< 64 MiB",
            " MiB",
        ),
        Ratio {
            name: "full browser sign-ins per second",
            value: m.rate(DevTenant, SignIn),
            target: "≥ 200/s",
            met: m.rate(DevTenant, SignIn).map(|r| r >= 200.0),
            unit: "/s",
        },
        Ratio::below(
            "PyMD warm p99",
            m.find(Sqlite, Warm).map(|o| o.percentile_ms(0.99)),
            10.0,
            "< 10 ms",
            " ms",
        ),
    ]
}

/// The rows in schedule order, each with its server's peak memory.
fn rows(m: &Measured) -> Vec<Row> {
    m.outcomes
        .iter()
        .map(|(t, k, o)| Row {
            server: t.label(),
            scenario: k.label(*t),
            outcome: o.clone(),
            rss_kib: m.rss(*t),
        })
        .collect()
}

/// Prints the table, the ratios and the skips, and appends them to the docs unless told not to.
fn finish(m: &Measured, options: &Options) -> anyhow::Result<()> {
    let table = crate::report::table(&rows(m));
    let ratios = crate::report::ratio_table(&ratios(m));
    let skipped: String = m.skipped.iter().map(|s| format!("- {s}\n")).collect();
    println!("\n{table}\n{ratios}");
    if !skipped.is_empty() {
        println!("{skipped}");
    }
    if !options.record {
        println!("(--no-record: docs/benchmarks.md left as it is)");
        return Ok(());
    }
    let machine: String = crate::report::machine()
        .iter()
        .map(|l| format!("- {l}\n"))
        .collect();
    let section = format!(
        "## {} — side by side ({CONNECTIONS} connections, {} s per scenario)\n\n{machine}\n{table}\n{ratios}\n{skipped}",
        crate::report::now_utc(),
        options.duration.as_secs()
    );
    let path = crate::report::append_to_docs(&section)?;
    println!("recorded in {}", path.display());
    Ok(())
}
