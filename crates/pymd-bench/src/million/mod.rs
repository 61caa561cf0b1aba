//! `cargo run --release -p pymd-bench -- million [--documents 1000000] [--users 10000]`: issue 9's
//! million-document scenario. For each back end (SQLite, then PostgreSQL on a fresh database of
//! `PYMD_BENCH_DATABASE_URL`'s server, skipped with the reason when unreachable) it runs `pymd
//! migrate`, seeds the rows set-based (`seed.rs`), starts `pymd serve` on them, and from one
//! connection measures a typical user's first page, the heavy user's first page and the heavy
//! user's page 50 (its cursor found once by following `next_cursor`, then requested over and
//! over): p50/p99 from the client and the server's own time (`serverside.rs`). The target is
//! the server's p99 under 5 ms. It prints the results and appends them to `docs/benchmarks.md` unless
//! `--no-record`.

mod seed;
mod serverside;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use pymd_auth::testkit::TestIssuer;

use crate::load::{Load, Outcome, drive};
use crate::pg::FreshDatabase;
use crate::servers::{PymdMode, Server, pymd_binary, start_pymd};
use seed::Plan;
use serverside::Histogram;

/// The page the deep-page row asks for.
const DEEP_PAGE: u32 = 50;
/// Documents a page holds (the API's default).
const PAGE_SIZE: u32 = 50;

/// The scenario's options.
struct Options {
    documents: u64,
    users: u64,
    duration: Duration,
    record: bool,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut o = Options {
            documents: 1_000_000,
            users: 10_000,
            duration: Duration::from_secs(5),
            record: true,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--documents" => o.documents = crate::number(a, it.next(), 1_000..=20_000_000)?,
                "--users" => o.users = crate::number(a, it.next(), 2..=1_000_000)?,
                "--duration" => {
                    o.duration = Duration::from_secs(crate::number(a, it.next(), 1..=120)?)
                }
                "--no-record" => o.record = false,
                "-h" | "--help" => {
                    println!("{}", crate::USAGE);
                    std::process::exit(0);
                }
                other => anyhow::bail!("unknown argument {other:?}\n{}", crate::USAGE),
            }
        }
        anyhow::ensure!(
            o.users < o.documents,
            "--users must be fewer than --documents"
        );
        Ok(o)
    }
}

/// One measured page request.
struct PageRow {
    name: String,
    outcome: Outcome,
    server: Histogram,
}

impl PageRow {
    /// Issue 9's target: the server's p99 within 5 ms (its histogram bucket), no errors.
    fn meets_target(&self) -> bool {
        self.outcome.errors == 0
            && self
                .server
                .quantile_bound_ms(0.99)
                .is_some_and(|b| b <= 5.0)
    }
}

/// One back end's results.
struct BackendResult {
    backend: &'static str,
    seed: Duration,
    size_bytes: u64,
    rows: Vec<PageRow>,
}

/// Runs the scenario.
///
/// # Errors
/// Bad arguments, the `pymd` binary is missing, or the SQLite run failed.
pub async fn main(args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let pymd = pymd_binary()?;
    let issuer = TestIssuer::start().await;
    println!(
        "million: {} documents across {} users, {} s per page scenario, 1 connection",
        options.documents,
        options.users,
        options.duration.as_secs()
    );
    let mut results = vec![run_sqlite(&pymd, &issuer, &options).await?];
    let mut skipped = None;
    match run_postgres(&pymd, &issuer, &options).await {
        Ok(r) => results.push(r),
        Err(e) => skipped = Some(format!("PostgreSQL skipped: {e:#}")),
    }
    let text = render(&results, skipped.as_deref(), &options);
    println!("\n{text}");
    if options.record {
        let section = format!(
            "## {} — one million documents\n\n{}\n{text}",
            crate::report::now_utc(),
            crate::report::machine()
                .iter()
                .map(|l| format!("- {l}\n"))
                .collect::<String>()
        );
        let path = crate::report::append_to_docs(&section)?;
        println!("recorded in {}", path.display());
    }
    Ok(())
}

/// The SQLite run: `pymd.db` in a scratch directory, removed afterwards.
async fn run_sqlite(
    pymd: &Path,
    issuer: &TestIssuer,
    o: &Options,
) -> anyhow::Result<BackendResult> {
    let issuer_url = issuer.issuer();
    let dir = std::env::temp_dir().join(format!(
        "pymd-bench-million-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}", dir.join("pymd.db").display());
    let result = async {
        migrate(pymd, &url, &issuer_url).await?;
        let plan = Plan::ending_now(o.documents, o.users);
        let t0 = Instant::now();
        seed::sqlite(&url, plan).await.context("seeding SQLite")?;
        let seed = t0.elapsed();
        let size_bytes = dir_size(&dir);
        println!(
            "  SQLite: seeded in {:.1} s, {:.0} MiB",
            seed.as_secs_f64(),
            size_bytes as f64 / 1048576.0
        );
        let server = start_pymd(
            pymd,
            PymdMode::Database {
                url: &url,
                issuer: &issuer_url,
            },
        )?;
        let rows = measure(server, issuer, plan, o.duration).await?;
        Ok(BackendResult {
            backend: "SQLite",
            seed,
            size_bytes,
            rows,
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The PostgreSQL run, on a database created for it and dropped after.
async fn run_postgres(
    pymd: &Path,
    issuer: &TestIssuer,
    o: &Options,
) -> anyhow::Result<BackendResult> {
    let db = FreshDatabase::create(&crate::pg::admin_url()).await?;
    let issuer_url = issuer.issuer();
    let result = async {
        migrate(pymd, &db.url, &issuer_url).await?;
        let plan = Plan::ending_now(o.documents, o.users);
        let t0 = Instant::now();
        seed::postgres(&db.url, plan)
            .await
            .context("seeding PostgreSQL")?;
        let seed = t0.elapsed();
        let size_bytes = u64::try_from(seed::postgres_size(&db.url).await?).unwrap_or(0);
        println!(
            "  PostgreSQL: seeded in {:.1} s, {:.0} MiB",
            seed.as_secs_f64(),
            size_bytes as f64 / 1048576.0
        );
        let server = start_pymd(
            pymd,
            PymdMode::Database {
                url: &db.url,
                issuer: &issuer_url,
            },
        )?;
        let rows = measure(server, issuer, plan, o.duration).await?;
        Ok(BackendResult {
            backend: "PostgreSQL",
            seed,
            size_bytes,
            rows,
        })
    }
    .await;
    db.drop_now().await;
    result
}

/// `pymd migrate` on `url`.
async fn migrate(pymd: &Path, url: &str, issuer: &str) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(pymd)
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("AUTH0_ISSUER_BASE_URL", issuer)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .context("running pymd migrate")?;
    anyhow::ensure!(
        out.status.success(),
        "pymd migrate failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// The bytes of every file in `dir` (the database, its WAL and shared memory).
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// The three page scenarios against a started server, which is stopped afterwards.
async fn measure(
    mut server: Server,
    issuer: &TestIssuer,
    plan: Plan,
    duration: Duration,
) -> anyhow::Result<Vec<PageRow>> {
    let client = reqwest::Client::new();
    let result = async {
        server
            .wait_ready(&client, "/healthz", Duration::from_secs(60))
            .await?;
        let list = format!("{}/api/v1/documents?limit={PAGE_SIZE}", server.base);
        let heavy = issuer.token(&seed::subject(0), &["read:documents"]);
        let typical = issuer.token(&seed::subject(1), &["read:documents"]);
        let (deep_url, page) = deep_page(&client, &list, &heavy).await?;
        let plans = [
            (
                format!(
                    "first page, a user with ~{} documents",
                    plan.typical_documents()
                ),
                list.clone(),
                typical,
            ),
            (
                format!(
                    "first page, the user with {} documents",
                    plan.heavy_documents()
                ),
                list,
                heavy.clone(),
            ),
            (
                format!("page {page} of that user (its cursor over and over)"),
                deep_url,
                heavy,
            ),
        ];
        let mut rows = Vec::new();
        for (name, url, token) in plans {
            rows.push(page_row(&client, &server.base, name, url, token, duration).await?);
        }
        Ok(rows)
    }
    .await;
    server.stop().await;
    result
}

/// Follows `next_cursor` from the first page to page [`DEEP_PAGE`] (or the last page, when
/// there are fewer): that page's URL and number.
async fn deep_page(
    client: &reqwest::Client,
    list: &str,
    token: &str,
) -> anyhow::Result<(String, u32)> {
    let mut url = list.to_owned();
    for page in 1..DEEP_PAGE {
        let body: serde_json::Value = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let Some(cursor) = body["next_cursor"].as_str() else {
            return Ok((url, page));
        };
        url = url::Url::parse_with_params(list, &[("cursor", cursor)])?.to_string();
    }
    Ok((url, DEEP_PAGE))
}

/// One page scenario at one connection: client-side latencies and the server's histogram.
async fn page_row(
    client: &reqwest::Client,
    base: &str,
    name: String,
    url: String,
    token: String,
    duration: Duration,
) -> anyhow::Result<PageRow> {
    let load = Load {
        url,
        tokens: Arc::new(vec![token]),
        cycle: true,
        expect: 200,
        connections: 1,
        duration,
    };
    let _ = drive(
        client,
        &Load {
            duration: Duration::from_millis(300),
            ..load.clone()
        },
    )
    .await;
    let before = serverside::read(client, base).await?;
    let outcome = drive(client, &load).await;
    let server = serverside::read(client, base).await?.since(&before);
    println!(
        "    {name}: p50 {:.2} ms, p99 {:.2} ms, errors {}; server {}",
        outcome.percentile_ms(0.5),
        outcome.percentile_ms(0.99),
        outcome.errors,
        server.describe()
    );
    Ok(PageRow {
        name,
        outcome,
        server,
    })
}

/// The results as Markdown: one table for all back ends, then the target.
fn render(results: &[BackendResult], skipped: Option<&str>, o: &Options) -> String {
    let mut s = format!(
        "{} documents across {} users; 1 connection, {} s per row; target: the server's p99 under 5 ms.\n\n",
        o.documents,
        o.users,
        o.duration.as_secs()
    );
    s.push_str("| back end | seed time | DB size | page | requests | errors | p50 ms | p99 ms | server side | server p99 ≤ 5 ms |\n|---|---:|---:|---|---:|---:|---:|---:|---|---|\n");
    for r in results {
        for row in &r.rows {
            let p99 = row.outcome.percentile_ms(0.99);
            let _ = writeln!(
                s,
                "| {} | {:.1} s | {:.0} MiB | {} | {} | {} | {:.2} | {:.2} | {} | {} |",
                r.backend,
                r.seed.as_secs_f64(),
                r.size_bytes as f64 / 1048576.0,
                row.name,
                row.outcome.requests,
                row.outcome.errors,
                row.outcome.percentile_ms(0.5),
                p99,
                row.server.describe(),
                if row.meets_target() {
                    "met"
                } else {
                    "**not met**"
                }
            );
        }
    }
    if let Some(reason) = skipped {
        let _ = writeln!(s, "\n- {reason}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(buckets: Vec<(f64, f64)>, errors: usize) -> PageRow {
        let count = buckets.last().map_or(0.0, |b| b.1);
        PageRow {
            name: "first page".into(),
            outcome: Outcome {
                requests: 100,
                errors,
                elapsed: Duration::from_secs(1),
                latencies_us: vec![1000; 100],
            },
            server: Histogram {
                buckets,
                sum: 0.1,
                count,
            },
        }
    }

    #[test]
    fn a_page_meets_the_target_when_the_servers_p99_is_within_5_ms_and_nothing_failed() {
        assert!(row(vec![(0.001, 90.0), (0.005, 100.0)], 0).meets_target());
        assert!(!row(vec![(0.005, 98.0), (0.01, 100.0)], 0).meets_target());
        assert!(!row(vec![(0.001, 100.0)], 1).meets_target());
        assert!(!row(Vec::new(), 0).meets_target());
    }

    #[test]
    fn options_default_to_a_million_documents_across_ten_thousand_users() {
        let o = Options::parse(&[]).expect("defaults");
        assert_eq!((o.documents, o.users, o.record), (1_000_000, 10_000, true));
        let args: Vec<String> = ["--documents", "5000", "--users", "50", "--no-record"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let o = Options::parse(&args).expect("valid");
        assert_eq!((o.documents, o.users, o.record), (5_000, 50, false));
        let too_many_users: Vec<String> = ["--documents", "1000", "--users", "1000"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert!(Options::parse(&too_many_users).is_err());
    }
}
