//! `cargo run --release -p pymd-bench`: the benchmark of spec §11 and issue 9.
//!
//! With no subcommand it runs every server side by side (`compare.rs`): PyMD on SQLite and on
//! PostgreSQL, a naive axum + jsonwebtoken peer (`peer.rs`) and the source plan's FastAPI +
//! python-jose stack (`fastapi.rs`), all against one in-process OIDC issuer (test keys), 100
//! keep-alive connections over loopback, then a full browser sign-in against the dev tenant. It
//! prints req/s, p50/p99, errors and peak memory per row and the ratios issue 9 targets, and
//! appends the run to `docs/benchmarks.md` (`--no-record` to skip that).
//!
//! `… -- million [--documents N] [--users N]` seeds a million documents on SQLite and on
//! PostgreSQL and measures first and deep pages of a user's list (`million.rs`).
//!
//! `… -- soak [--duration SECONDS]` runs the fault soak (the `soak` module and
//! `docs/reliability.md`). Every request goes to 127.0.0.1 only.

use std::time::Duration;

use anyhow::Context;

mod compare;
mod fastapi;
mod load;
mod million;
mod peer;
mod pg;
mod report;
mod servers;
mod signin;
mod soak;

const USAGE: &str = "pymd-bench [--duration SECONDS (1-120, default 8)] [--no-record] \
[--distinct-tokens N]\n\
pymd-bench million [--documents N] [--users N] [--duration SECONDS] [--no-record]\n\
pymd-bench soak [--duration SECONDS]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("soak") => soak::main(&args[1..]).await,
        Some("million") => million::main(&args[1..]).await,
        Some(peer::SUBCOMMAND) => peer::main(&args[1..]).await,
        _ => compare::run(compare_options(&args)?).await,
    }
}

/// The next argument as a number within `range`, for `flag`.
pub fn number(
    flag: &str,
    value: Option<&String>,
    range: std::ops::RangeInclusive<u64>,
) -> anyhow::Result<u64> {
    value
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|v| range.contains(v))
        .with_context(|| {
            format!(
                "{flag} takes a number from {} to {}\n{USAGE}",
                range.start(),
                range.end()
            )
        })
}

/// The side-by-side run's options: flags first, then `PYMD_BENCH_SECONDS` and
/// `PYMD_BENCH_DISTINCT_TOKENS`, then the defaults (8 s; 5,000 tokens a second of scenario).
fn compare_options(args: &[String]) -> anyhow::Result<compare::Options> {
    let env = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    let mut seconds = env("PYMD_BENCH_SECONDS").unwrap_or(8).clamp(1, 120);
    let mut tokens = env("PYMD_BENCH_DISTINCT_TOKENS");
    let mut record = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--duration" => seconds = number(a, it.next(), 1..=120)?,
            "--distinct-tokens" => tokens = Some(number(a, it.next(), 100..=1_000_000)?),
            "--no-record" => record = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(compare::Options {
        duration: Duration::from_secs(seconds),
        record,
        distinct_tokens: tokens.unwrap_or((seconds * 5_000).max(10_000)) as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn flags_set_the_duration_the_token_count_and_recording() {
        let o = compare_options(&args(&["--duration", "2", "--no-record"])).expect("valid");
        assert_eq!(o.duration, Duration::from_secs(2));
        assert!(!o.record);
        assert_eq!(o.distinct_tokens, 10_000);
        let o = compare_options(&args(&["--distinct-tokens", "500"])).expect("valid");
        assert_eq!(o.distinct_tokens, 500);
        assert!(o.record);
    }

    #[test]
    fn out_of_range_and_unknown_flags_are_refused() {
        assert!(compare_options(&args(&["--duration", "0"])).is_err());
        assert!(compare_options(&args(&["--duration"])).is_err());
        assert!(compare_options(&args(&["--fast"])).is_err());
    }
}
