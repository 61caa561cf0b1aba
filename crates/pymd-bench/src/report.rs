//! The run's report: the table of rows (one scenario on one server each), the ratios issue 9
//! sets as targets with met / not met, the machine it ran on, and the dated section appended to
//! `docs/benchmarks.md` (unless `--no-record`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::load::Outcome;

/// One measured scenario on one server.
pub struct Row {
    pub server: &'static str,
    pub scenario: &'static str,
    pub outcome: Outcome,
    /// Peak resident memory of the server's process(es), KiB, read when it stopped.
    pub rss_kib: Option<u64>,
}

/// A ratio (or a bound) with its target.
pub struct Ratio {
    pub name: &'static str,
    /// The measured value, `None` when a row it needs was skipped.
    pub value: Option<f64>,
    /// `≥ 1.5`, `< 64 MiB`, …
    pub target: &'static str,
    pub met: Option<bool>,
    /// How the value is printed (`×`, ` MiB`, ` ms`, `/s`).
    pub unit: &'static str,
}

impl Ratio {
    /// `value ÷ base`, met when at least `min`.
    pub fn at_least(
        name: &'static str,
        value: Option<f64>,
        min: f64,
        target: &'static str,
    ) -> Ratio {
        Ratio {
            name,
            value,
            target,
            met: value.map(|v| v >= min),
            unit: "×",
        }
    }

    /// An absolute figure with an upper bound (exclusive).
    pub fn below(
        name: &'static str,
        value: Option<f64>,
        max: f64,
        target: &'static str,
        unit: &'static str,
    ) -> Ratio {
        Ratio {
            name,
            value,
            target,
            met: value.map(|v| v < max),
            unit,
        }
    }
}

/// `a ÷ b` when both exist and `b` is not zero.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("—".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// The table of rows, as Markdown (printed and recorded alike).
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| server | scenario | req/s | p50 ms | p99 ms | requests | errors | peak RSS MiB |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let o = &r.outcome;
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            r.server,
            r.scenario,
            o.rate(),
            o.percentile_ms(0.50),
            o.percentile_ms(0.99),
            o.requests,
            o.errors,
            mib(r.rss_kib)
        );
    }
    s
}

/// The ratios with their targets, as Markdown.
pub fn ratio_table(ratios: &[Ratio]) -> String {
    let mut s = String::from("| ratio | value | target | result |\n|---|---:|---|---|\n");
    for r in ratios {
        let value = r.value.map_or("—".to_owned(), |v| match r.unit {
            "×" => format!("{v:.2}×"),
            unit => format!("{v:.1}{unit}"),
        });
        let met = match (r.met, r.value) {
            (Some(true), _) => "met",
            (Some(false), _) => "**not met**",
            (None, Some(_)) => "(no target)",
            (None, None) => "not measured",
        };
        let _ = writeln!(s, "| {} | {value} | {} | {met} |", r.name, r.target);
    }
    s
}

/// The machine and build a run was taken on, one line each.
pub fn machine() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or("?".to_owned(), |k| format!("{:.1}", k / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    vec![
        format!("{cores} cores, {model}, {ram_gib} GiB RAM"),
        format!("Linux {}", kernel.trim()),
        command_line("rustc", &["--version"]),
        format!("commit {}", git_commit()),
    ]
}

/// The first line a command prints, or `<program> unavailable`.
fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .current_dir(repo_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| format!("{program} unavailable"))
}

/// The checked-out commit, `+ local changes` when the tree differs from it.
fn git_commit() -> String {
    let head = command_line("git", &["rev-parse", "--short=12", "HEAD"]);
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(repo_root())
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    if dirty {
        format!("{head} + local changes")
    } else {
        head
    }
}

/// The repository this bench was built from.
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// Today's date and time (UTC), for a section's title.
pub fn now_utc() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    now.format(&format)
        .unwrap_or_else(|_| "unknown date".to_owned())
}

/// Appends `section` (which starts with its own `## ` title) to `docs/benchmarks.md`.
///
/// # Errors
/// The file cannot be opened or written.
pub fn append_to_docs(section: &str) -> anyhow::Result<PathBuf> {
    use std::io::Write as _;
    let path = repo_root().join("docs/benchmarks.md");
    let mut f = std::fs::OpenOptions::new().append(true).open(&path)?;
    write!(f, "\n{section}")?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_ratio_is_met_only_at_its_target_and_unmeasured_without_its_rows() {
        assert_eq!(ratio(Some(3.0), Some(2.0)), Some(1.5));
        assert_eq!(ratio(Some(3.0), Some(0.0)), None);
        assert_eq!(
            Ratio::at_least("r", Some(1.5), 1.5, "≥ 1.5").met,
            Some(true)
        );
        assert_eq!(
            Ratio::at_least("r", Some(1.49), 1.5, "≥ 1.5").met,
            Some(false)
        );
        assert_eq!(
            Ratio::below("p", Some(10.0), 10.0, "< 10 ms", " ms").met,
            Some(false)
        );
        let t = ratio_table(&[Ratio::at_least("naive ÷ FastAPI", None, 30.0, "≥ 30")]);
        assert!(
            t.contains("| naive ÷ FastAPI | — | ≥ 30 | not measured |"),
            "{t}"
        );
    }

    #[test]
    fn a_row_prints_its_rate_percentiles_and_memory() {
        let outcome = Outcome {
            requests: 4,
            errors: 1,
            elapsed: Duration::from_secs(2),
            latencies_us: vec![1000, 2000, 3000, 4000],
        };
        let t = table(&[Row {
            server: "peer",
            scenario: "warm",
            outcome,
            rss_kib: Some(2048),
        }]);
        assert!(
            t.ends_with("| peer | warm | 2 | 3.00 | 4.00 | 4 | 1 | 2.0 |\n"),
            "{t}"
        );
    }

    #[test]
    fn the_machine_names_cores_kernel_and_commit() {
        let m = machine();
        assert_eq!(m.len(), 4);
        assert!(m[0].contains("cores"), "{m:?}");
        assert!(m[1].starts_with("Linux "), "{m:?}");
        assert!(m[3].starts_with("commit "), "{m:?}");
    }
}
