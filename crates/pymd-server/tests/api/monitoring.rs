//! Spec §8 monitoring: the Prometheus alert rules (`deploy/prometheus/pymd-alerts.yml`) pass
//! `promtool check rules` and their unit tests (`promtool test rules`), and every `pymd_…`
//! metric named by a rule or by the Grafana dashboard (`deploy/grafana/pymd-dashboard.json`) is
//! one the app really exports.
//!
//! Without `promtool` on PATH the promtool part is skipped, unless `CI` or
//! `PYMD_REQUIRE_PROMTOOL` is set: then a missing promtool is a failure.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ALL, TestApp, send, sub};

const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn rules_path() -> PathBuf {
    workspace_root().join("deploy/prometheus/pymd-alerts.yml")
}

fn rules_test_path() -> PathBuf {
    workspace_root().join("deploy/prometheus/pymd-alerts.test.yml")
}

fn dashboard_path() -> PathBuf {
    workspace_root().join("deploy/grafana/pymd-dashboard.json")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Whether a missing promtool must fail the run rather than be skipped.
fn promtool_required() -> bool {
    ["CI", "PYMD_REQUIRE_PROMTOOL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

fn promtool_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("promtool"))
        .find(|p| p.is_file())
}

fn run_promtool(promtool: &Path, args: &[&str], file: &Path) {
    let out = Command::new(promtool)
        .args(args)
        .arg(file)
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", promtool.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool {} {} failed ({}):\n{text}",
        args.join(" "),
        file.display(),
        out.status
    );
    println!("promtool {} {}:\n{text}", args.join(" "), file.display());
}

#[test]
fn alert_rules_pass_promtool_check_and_their_unit_tests() {
    let Some(promtool) = promtool_on_path() else {
        assert!(
            !promtool_required(),
            "promtool is not on PATH but CI / PYMD_REQUIRE_PROMTOOL is set: install it \
             (Debian: apt-get install -y --no-install-recommends prometheus)"
        );
        println!("skipped: promtool is not on PATH (set PYMD_REQUIRE_PROMTOOL=1 to require it)");
        return;
    };
    run_promtool(&promtool, &["check", "rules"], &rules_path());
    run_promtool(&promtool, &["test", "rules"], &rules_test_path());
}

/// The `pymd_…` metric names in a PromQL expression.
fn metric_names(expr: &str, into: &mut BTreeSet<String>) {
    let bytes = expr.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut i = 0;
    while let Some(pos) = expr[i..].find("pymd_") {
        let start = i + pos;
        let mut end = start;
        while end < bytes.len() && is_name(bytes[end]) {
            end += 1;
        }
        // Only a whole identifier: not the tail of a longer one.
        if start == 0 || !is_name(bytes[start - 1]) {
            into.insert(expr[start..end].to_owned());
        }
        i = end;
    }
}

/// The alert rules, parsed: (alert name, expr), after checking each has the required parts.
fn parsed_rules() -> Vec<(String, String)> {
    let doc: Value = yaml_serde::from_str(&read(&rules_path())).expect("pymd-alerts.yml is YAML");
    let mut rules = Vec::new();
    for group in doc["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            let name = rule["alert"].as_str().expect("every rule is an alert");
            let expr = rule["expr"].as_str().expect("expr");
            assert!(
                rule["labels"]["severity"].is_string(),
                "{name}: labels.severity"
            );
            for key in ["summary", "description"] {
                assert!(
                    rule["annotations"][key].is_string(),
                    "{name}: annotations.{key}"
                );
            }
            rules.push((name.to_owned(), expr.to_owned()));
        }
    }
    rules
}

/// Every `expr` in the dashboard (panels, rows' nested panels, template variable queries).
fn dashboard_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("expr" | "definition", Value::String(s)) => out.push(s.clone()),
                    ("query", Value::String(s)) => out.push(s.clone()),
                    _ => dashboard_exprs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|c| dashboard_exprs(c, out)),
        _ => {}
    }
}

/// Metric names the source registers: `metrics::counter!/gauge!/histogram!` with a literal
/// name or a `const …: &str = "pymd_…"` (histograms also as `_bucket`, `_sum`, `_count`).
fn source_metric_names() -> BTreeSet<String> {
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for krate in std::fs::read_dir(workspace_root().join("crates"))
        .expect("crates/")
        .flatten()
    {
        rust_files(&krate.path().join("src"), &mut files);
    }
    let sources: Vec<String> = files.iter().map(|f| read(f)).collect();
    let literal = |s: &str| -> Option<String> {
        let s = s.trim_start().strip_prefix('"')?;
        Some(s[..s.find('"')?].to_owned())
    };
    // const NAME: &str = "pymd_…";
    let mut consts = Vec::new();
    for src in &sources {
        for line in src.lines() {
            let Some(rest) = line
                .trim_start()
                .strip_prefix("pub const ")
                .or_else(|| line.trim_start().strip_prefix("const "))
            else {
                continue;
            };
            let Some((ident, value)) = rest.split_once(": &str =") else {
                continue;
            };
            if let Some(v) = literal(value).filter(|v| v.starts_with("pymd_")) {
                consts.push((ident.trim().to_owned(), v));
            }
        }
    }
    let mut names = BTreeSet::new();
    for src in &sources {
        for kind in ["counter", "gauge", "histogram"] {
            let needle = format!("metrics::{kind}!(");
            for (pos, _) in src.match_indices(&needle) {
                let arg = &src[pos + needle.len()..];
                let first = arg.split([',', ')']).next().unwrap_or("").trim();
                let name = literal(first).or_else(|| {
                    let ident = first.rsplit("::").next().unwrap_or(first);
                    consts
                        .iter()
                        .find(|(c, _)| c == ident)
                        .map(|(_, v)| v.clone())
                });
                let Some(name) = name.filter(|n| n.starts_with("pymd_")) else {
                    continue;
                };
                if kind == "histogram" {
                    for suffix in HISTOGRAM_SUFFIXES {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
                names.insert(name);
            }
        }
    }
    names
}

/// Metric names in a Prometheus text exposition (histograms also with their suffixes).
fn exposed_metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                if kind == "histogram" || kind == "summary" {
                    for suffix in HISTOGRAM_SUFFIXES {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
                names.insert(name.to_owned());
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap_or("");
            names.insert(name.to_owned());
        }
    }
    names
}

#[tokio::test]
async fn every_metric_the_rules_and_dashboard_name_is_one_the_app_exports() {
    // What the files reference.
    let mut referenced = BTreeSet::new();
    let rules = parsed_rules();
    let alerts: BTreeSet<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
    for alert in [
        "PymdFailedLoginRatioHigh",
        "PymdUnauthorizedSpike",
        "PymdJwtVerificationFailures",
        "PymdIdpUnreachable",
        "PymdBruteForceBlocks",
    ] {
        assert!(
            alerts.contains(alert),
            "alert {alert} missing from the rules"
        );
    }
    for (_, expr) in &rules {
        metric_names(expr, &mut referenced);
    }
    let dashboard: Value =
        serde_json::from_str(&read(&dashboard_path())).expect("pymd-dashboard.json is JSON");
    assert!(dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    assert!(
        dashboard["__inputs"]
            .as_array()
            .is_some_and(|i| i.iter().any(|i| i["name"] == "DS_PROMETHEUS")),
        "the dashboard asks for its Prometheus data source"
    );
    let mut exprs = Vec::new();
    dashboard_exprs(&dashboard["panels"], &mut exprs);
    dashboard_exprs(&dashboard["templating"], &mut exprs);
    assert!(exprs.len() >= 10, "only {} dashboard queries", exprs.len());
    for expr in &exprs {
        metric_names(expr, &mut referenced);
    }
    assert!(referenced.len() >= 10, "{referenced:?}");

    // What the running app exports, after a few requests.
    let app = TestApp::spawn().await;
    let r = app.get("/api/v1/documents", Some("not-a-jwt")).await;
    r.assert_error(401, "invalid_token");
    let t = app.token(&sub("monitoring"), ALL);
    assert_eq!(app.get("/api/v1/documents", Some(&t)).await.status, 200);
    let events = json!([
        {"log_id": sub("log"), "data": {"type": "s", "user_name": "ok@example.com", "ip": "198.51.100.7"}},
        {"log_id": sub("log"), "data": {"type": "fp", "user_name": "monitoring@example.com", "ip": "198.51.100.8"}}
    ]);
    let r = send(
        app.request(Method::POST, "/internal/auth0/log-stream")
            .bearer_auth(&app.internal_token)
            .json(&events),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let m = app.get("/metrics", None).await;
    assert_eq!(m.status, 200, "{}", m.summary());
    let live = exposed_metric_names(&m.text);
    for name in [
        "pymd_http_requests_total",
        "pymd_http_request_duration_seconds_bucket",
        "pymd_jwt_verification_failures_total",
        "pymd_jwks_refresh_total",
        "pymd_auth0_log_events_total",
        "pymd_failed_logins_total",
    ] {
        assert!(live.contains(name), "{name} missing from /metrics");
    }

    // Series that appear only after certain events (a browser login, a refresh, a block, Redis
    // going down) are checked against the names the source registers. The scan must see
    // everything /metrics shows, or it is not reading the source right.
    let source = source_metric_names();
    let live_pymd: BTreeSet<&String> = live.iter().filter(|n| n.starts_with("pymd_")).collect();
    for name in &live_pymd {
        assert!(
            source.contains(*name),
            "{name} is on /metrics but the source scan did not find it: {source:?}"
        );
    }
    let unknown: Vec<&String> = referenced
        .iter()
        .filter(|n| !live.contains(*n) && !source.contains(*n))
        .collect();
    assert!(
        unknown.is_empty(),
        "the alert rules / dashboard name metrics the app does not export: {unknown:?}\n\
         exported (live): {live_pymd:?}\nregistered (source): {source:?}"
    );
}

#[test]
fn the_metric_name_scan_finds_names_and_rejects_lookalikes() {
    let mut names = BTreeSet::new();
    metric_names(
        r#"sum(rate(pymd_http_requests_total{status="401"}[5m])) / xpymd_nope + pymd_a_bucket"#,
        &mut names,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["pymd_a_bucket", "pymd_http_requests_total"]
    );
    // A made-up name is neither exported nor registered.
    assert!(!source_metric_names().contains("pymd_logins_failed_total"));
}
