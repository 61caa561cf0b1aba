//! What the soak saw, judged and printed: requests by outcome per phase, sign-ins completed and
//! failed (and where they stopped), the recovery time after each fault, `pymd`'s memory, the
//! check of every acknowledged write, and the list of problems (anything the specification's §10
//! says must not happen). The tables are Markdown, so a run can be pasted into
//! `docs/reliability.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::load::{Op, Outcome, Probe, Record};
use super::schedule::{Action, Dep, FIRST_PHASE, Step};

/// After a dependency is back, requests that need it get this long before a failure counts as a
/// problem (the recovery time is reported separately).
pub const GRACE: Duration = Duration::from_secs(5);
/// A fault whose recovery takes longer than this (or never comes) is a problem.
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(10);

/// One scheduled action as it happened.
pub struct ActionRecord {
    pub step: Step,
    /// When it was begun and when it was done (the dependency dead, or answering again).
    pub began: Duration,
    pub done: Duration,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// The lines of `pymd serve`'s log by level.
#[derive(Default)]
pub struct LogSummary {
    pub warn: usize,
    pub error: usize,
    pub panics: usize,
}

impl LogSummary {
    /// Counts the levels in a text-format log (its colour codes, if any, left out).
    pub fn of(text: &str) -> Self {
        let mut s = Self::default();
        for line in text.lines().map(strip_ansi) {
            // The level is the second field of a text line (after the time stamp).
            let mut fields = line.split_whitespace();
            let stamped = fields
                .next()
                .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit()));
            match fields.next() {
                Some("WARN") if stamped => s.warn += 1,
                Some("ERROR") if stamped => s.error += 1,
                _ => {}
            }
            if line.contains("panicked") {
                s.panics += 1;
            }
        }
        s
    }
}

/// `line` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Everything the report is made from.
pub struct Run {
    pub duration: Duration,
    pub load_end: Duration,
    pub api_workers: usize,
    pub signin_workers: usize,
    pub actions: Vec<ActionRecord>,
    pub records: Vec<Record>,
    pub probes: Vec<Probe>,
    pub documents: usize,
    pub acknowledged_writes: usize,
    pub pending_applied: usize,
    pub verified_acknowledged: usize,
    pub verified_pending_applied: usize,
    pub lost: Vec<String>,
    pub violations: Vec<String>,
    pub rss_start_kib: Option<u64>,
    pub rss_end_kib: Option<u64>,
    pub hwm_kib: Option<u64>,
    pub app_alive: bool,
    pub log: LogSummary,
    pub tenant_log: LogSummary,
    pub metrics: Vec<String>,
}

/// A period when a dependency was down: from the fault's start to its restart's end.
struct Down {
    dep: Dep,
    from: Duration,
    until: Duration,
}

fn downs(run: &Run) -> Vec<Down> {
    let mut open: BTreeMap<Dep, Duration> = BTreeMap::new();
    let mut out = Vec::new();
    for a in &run.actions {
        let (dep, goes_down) = a.step.action.effect();
        if goes_down {
            open.insert(dep, a.began);
        } else if let Some(from) = open.remove(&dep) {
            // A restart that failed leaves it down to the end.
            let until = if a.error.is_some() {
                Duration::MAX
            } else {
                a.done
            };
            out.push(Down { dep, from, until });
        }
    }
    out.extend(open.into_iter().map(|(dep, from)| Down {
        dep,
        from,
        until: Duration::MAX,
    }));
    out
}

/// What a request needs to succeed. Redis is needed by nothing: limits fall back to memory.
fn needs(op: Op) -> &'static [Dep] {
    match op {
        Op::SignIn => &[Dep::Postgres, Dep::Idp],
        _ => &[Dep::Postgres],
    }
}

/// Whether nothing `r` needs was down during it, nor came back less than [`GRACE`] before it.
fn should_succeed(r: &Record, downs: &[Down]) -> bool {
    downs
        .iter()
        .filter(|d| needs(r.op).contains(&d.dep))
        .all(|d| r.end <= d.from || r.start >= d.until.saturating_add(GRACE))
}

/// The problem a request shows, if any.
fn problem(r: &Record, downs: &[Down]) -> Option<&'static str> {
    match &r.outcome {
        Outcome::Timeout => return Some("no answer within the client's 15 s (a hang)"),
        Outcome::Connect | Outcome::Broken => {
            return Some("transport error talking to the app (refused, reset or cut short)");
        }
        Outcome::Answered {
            status,
            retry_after,
        } => {
            if *status >= 500 && *status != 503 {
                return Some("5xx other than 503");
            }
            if *status == 503 && !retry_after {
                return Some("503 without Retry-After");
            }
            let fine = (200..300).contains(status)
                || *status == 503
                || (r.op == Op::Update && *status == 412);
            if !fine {
                return Some("unexpected status for a valid request");
            }
        }
        Outcome::SignInFailed(f) if f.side == "app" => match (f.status, f.what) {
            (Some(s), _) if s >= 500 && s != 503 => return Some("5xx other than 503"),
            (Some(s), _) if s < 500 => {
                return Some("unexpected status from the app during a sign-in");
            }
            (None, "timeout") => return Some("no answer within the client's 15 s (a hang)"),
            (None, "connect" | "other") => {
                return Some("transport error talking to the app (refused, reset or cut short)");
            }
            _ => {}
        },
        _ => {}
    }
    (!r.outcome.is_success(r.op) && should_succeed(r, downs))
        .then_some("failed although what it needs was up (past the grace period)")
}

fn secs(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64())
}

fn mib(k: Option<u64>) -> String {
    k.map_or("unavailable".to_owned(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    })
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Answered { status, .. } => status.to_string(),
        Outcome::Connect => "connect error".into(),
        Outcome::Timeout => "timeout".into(),
        Outcome::Broken => "transport error".into(),
        Outcome::SignedIn => "signed in".into(),
        Outcome::SignInFailed(f) => f.to_string(),
    }
}

/// Counts of one phase (or the whole run).
#[derive(Default)]
struct Tally {
    api: usize,
    ok: usize,
    client_errors: BTreeMap<u16, usize>,
    s503: usize,
    other_5xx: usize,
    transport: usize,
    timeouts: usize,
    signins_ok: usize,
    signins_failed: usize,
    dashboard_ok: usize,
    dashboard: usize,
    slowest_api: Duration,
    slowest_signin: Duration,
}

impl Tally {
    fn add(&mut self, r: &Record) {
        let took = r.end.saturating_sub(r.start);
        match r.op {
            Op::SignIn => {
                self.slowest_signin = self.slowest_signin.max(took);
                if r.outcome == Outcome::SignedIn {
                    self.signins_ok += 1;
                } else {
                    self.signins_failed += 1;
                }
                return;
            }
            Op::Dashboard => {
                self.dashboard += 1;
                if matches!(r.outcome, Outcome::Answered { status: 200, .. }) {
                    self.dashboard_ok += 1;
                }
                return;
            }
            _ => {
                self.api += 1;
                self.slowest_api = self.slowest_api.max(took);
            }
        }
        match r.outcome {
            Outcome::Answered { status, .. } if (200..300).contains(&status) => self.ok += 1,
            Outcome::Answered { status: 503, .. } => self.s503 += 1,
            Outcome::Answered { status, .. } if status >= 500 => self.other_5xx += 1,
            Outcome::Answered { status, .. } => {
                *self.client_errors.entry(status).or_default() += 1;
            }
            Outcome::Timeout => self.timeouts += 1,
            _ => self.transport += 1,
        }
    }

    fn row(&self, name: &str, span: &str) -> String {
        let client = if self.client_errors.is_empty() {
            "0".to_owned()
        } else {
            self.client_errors
                .iter()
                .map(|(s, n)| format!("{s}×{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!(
            "| {name} | {span} | {} | {} | {client} | {} | {} | {} / {} | {} / {} | {} / {} | {} / {} |",
            self.api,
            self.ok,
            self.s503,
            self.other_5xx,
            self.transport,
            self.timeouts,
            self.signins_ok,
            self.signins_failed,
            self.dashboard_ok,
            self.dashboard,
            secs(self.slowest_api),
            secs(self.slowest_signin)
        )
    }
}

/// The phases: `(name, start, end)`. A fault's phase starts when the fault began, the phase after
/// a restart when the dependency answered again.
fn phases(run: &Run) -> Vec<(&'static str, Duration, Duration)> {
    let mut starts = vec![(FIRST_PHASE, Duration::ZERO)];
    starts.extend(run.actions.iter().map(|a| {
        let at = if a.step.action.effect().1 {
            a.began
        } else {
            a.done
        };
        (a.step.phase, at)
    }));
    let mut out = Vec::new();
    for (i, (name, start)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(run.load_end, |(_, s)| *s);
        out.push((*name, *start, end));
    }
    out
}

/// When the app recovered after a restart: `(what was measured, time after the dependency
/// answered again)`.
fn recovery(run: &Run, action: Action, back: Duration) -> (&'static str, Option<Duration>) {
    let first_record = |op_ok: &dyn Fn(&Record) -> bool| {
        run.records
            .iter()
            .filter(|r| r.start >= back && op_ok(r) && r.outcome.is_success(r.op))
            .map(|r| r.end - back)
            .min()
    };
    match action {
        Action::PgStart => (
            "first API write answered 2xx",
            first_record(&|r| matches!(r.op, Op::Create | Op::Update)),
        ),
        Action::RedisStart => (
            "first /readyz with rate_limits \"redis\"",
            run.probes
                .iter()
                .find(|p| p.at >= back && p.rate_limits == "redis")
                .map(|p| p.at - back),
        ),
        _ => (
            "first sign-in completed",
            first_record(&|r| r.op == Op::SignIn),
        ),
    }
}

/// Prints the report; returns whether the run found no problem.
pub fn print(run: &Run) -> bool {
    let downs = downs(run);
    println!(
        "\n## Fault soak: {} s planned + {} s of restarts, {} API workers, {} sign-in workers\n",
        run.duration.as_secs(),
        secs(run.load_end.saturating_sub(run.duration)),
        run.api_workers,
        run.signin_workers
    );
    let mut ok = print_schedule(run);
    print_phases(run);
    print_readyz(run);
    ok &= print_recovery(run);
    ok &= print_writes(run);
    ok &= print_process(run);
    ok &= print_problems(run, &downs);
    println!(
        "\nVerdict: {}",
        if ok { "PASS" } else { "FAIL (see above)" }
    );
    ok
}

/// The schedule as it ran; false when an action failed.
fn print_schedule(run: &Run) -> bool {
    let mut ok = true;
    println!("### Schedule (as run)\n");
    println!("| at s | action | took s | result |\n|---:|---|---:|---|");
    for a in &run.actions {
        println!(
            "| {} | {} | {} | {} |",
            secs(a.began),
            a.step.action.describe(),
            secs(a.done - a.began),
            a.error.as_deref().unwrap_or("ok")
        );
        if a.error.is_some() {
            ok = false;
        }
    }
    ok
}

/// Requests by phase and outcome, and where failed sign-ins stopped.
fn print_phases(run: &Run) {
    println!("\n### Requests by phase\n");
    println!(
        "| phase | s | API requests | 2xx | 4xx | 503 | other 5xx | transport errors / timeouts | sign-ins ok / failed | dashboard 200 / opened | slowest API / sign-in s |"
    );
    println!("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|");
    let mut total = Tally::default();
    let mut failures: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    for (name, start, end) in phases(run) {
        let mut t = Tally::default();
        for r in run
            .records
            .iter()
            // A request counts in the phase in which its answer came (or its sign-in ended).
            .filter(|r| r.end >= start && r.end < end)
        {
            t.add(r);
            total.add(r);
            if let Outcome::SignInFailed(f) = &r.outcome {
                *failures.entry((name, f.to_string())).or_default() += 1;
            }
        }
        println!("{}", t.row(name, &format!("{}–{}", secs(start), secs(end))));
    }
    println!("{}", total.row("**whole run**", &secs(run.load_end)));

    if !failures.is_empty() {
        println!("\nSign-ins that failed, by phase and where they stopped:\n");
        for ((phase, hop), n) in &failures {
            println!("- {phase}: {hop} ×{n}");
        }
    }
}

/// What `/readyz` said in each phase.
fn print_readyz(run: &Run) {
    println!("\n### /readyz by phase (sampled every 250 ms)\n");
    println!("| phase | status · database · rate limits · idp × samples |\n|---|---|");
    for (name, start, end) in phases(run) {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for p in run.probes.iter().filter(|p| p.at >= start && p.at < end) {
            let status = p.status.map_or("no answer".to_owned(), |s| s.to_string());
            let key = format!("{status} · {} · {} · {}", p.database, p.rate_limits, p.idp);
            *seen.entry(key).or_default() += 1;
        }
        let cells: Vec<String> = seen.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        println!("| {name} | {} |", cells.join("; "));
    }
}

/// How long the app took to recover after each fault; false when it took too long.
fn print_recovery(run: &Run) -> bool {
    let mut ok = true;
    println!("\n### Recovery after each fault\n");
    println!(
        "| dependency back at s | restart took s | measured | recovered after s |\n|---:|---:|---|---:|"
    );
    for a in run.actions.iter().filter(|a| !a.step.action.effect().1) {
        let (what, after) = recovery(run, a.step.action, a.done);
        let shown = after.map_or("never".to_owned(), secs);
        let late = after.is_none_or(|d| d > RECOVERY_LIMIT);
        println!(
            "| {} ({}) | {} | {what} | {shown}{} |",
            secs(a.done),
            a.step.action.effect().0.name(),
            secs(a.done - a.began),
            if late { " ⚠" } else { "" }
        );
        if late {
            ok = false;
        }
    }
    ok
}

/// The writes and their read-back; false when one was lost or inconsistent.
fn print_writes(run: &Run) -> bool {
    let mut ok = true;
    println!("\n### Writes\n");
    println!(
        "- documents created and acknowledged: {}; acknowledged writes (creates + updates): {}",
        run.documents, run.acknowledged_writes
    );
    println!(
        "- writes answered 5xx or not at all that a later read found applied (allowed: the \
         answer, not the write, was lost): {} during the run, {} after it",
        run.pending_applied, run.verified_pending_applied
    );
    println!(
        "- read back after the run: {} of {} documents hold their last acknowledged write (or a \
         later unanswered one); {} lost",
        run.verified_acknowledged + run.verified_pending_applied,
        run.documents,
        run.lost.len()
    );
    for l in &run.lost {
        println!("  - LOST: {l}");
    }
    for v in &run.violations {
        println!("  - INCONSISTENT while running: {v}");
    }
    if !run.lost.is_empty() || !run.violations.is_empty() {
        ok = false;
    }
    ok
}

/// Memory, liveness and log counts of `pymd serve` and the IdP; false on a crash or a panic.
fn print_process(run: &Run) -> bool {
    let mut ok = true;
    println!("\n### pymd serve\n");
    println!(
        "- resident memory: VmRSS {} at the start, {} at the end; peak (VmHWM) {}",
        mib(run.rss_start_kib),
        mib(run.rss_end_kib),
        mib(run.hwm_kib)
    );
    println!(
        "- still running at the end: {}; log: {} WARN, {} ERROR, {} panics",
        if run.app_alive { "yes" } else { "NO" },
        run.log.warn,
        run.log.error,
        run.log.panics
    );
    println!(
        "- the IdP's log (all its runs): {} WARN, {} ERROR, {} panics",
        run.tenant_log.warn, run.tenant_log.error, run.tenant_log.panics
    );
    if !run.app_alive || run.log.panics > 0 || run.tenant_log.panics > 0 {
        ok = false;
    }
    if !run.metrics.is_empty() {
        println!("- from /metrics at the end:");
        for m in &run.metrics {
            println!("  - `{m}`");
        }
    }
    ok
}

/// Failures while what they needed was up; false when there are any.
fn print_problems(run: &Run, downs: &[Down]) -> bool {
    let mut ok = true;
    let mut problems: BTreeMap<(&'static str, Op, String), (usize, Duration)> = BTreeMap::new();
    for r in &run.records {
        if let Some(p) = problem(r, downs) {
            let e = problems
                .entry((p, r.op, describe(&r.outcome)))
                .or_insert((0, r.start));
            e.0 += 1;
        }
    }
    println!("\n### Problems\n");
    if problems.is_empty() {
        println!("none");
    } else {
        ok = false;
        for ((p, op, outcome), (n, first)) in &problems {
            println!(
                "- {p}: {op:?} → {outcome} ×{n} (first at {} s)",
                secs(*first)
            );
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::SignInFailure;

    fn rec(op: Op, start: u64, end: u64, outcome: Outcome) -> Record {
        Record {
            op,
            start: Duration::from_secs(start),
            end: Duration::from_secs(end),
            outcome,
        }
    }

    fn answered(status: u16, retry_after: bool) -> Outcome {
        Outcome::Answered {
            status,
            retry_after,
        }
    }

    fn run_with(actions: Vec<ActionRecord>) -> Run {
        Run {
            duration: Duration::from_secs(60),
            load_end: Duration::from_secs(70),
            api_workers: 1,
            signin_workers: 0,
            actions,
            records: Vec::new(),
            probes: Vec::new(),
            documents: 0,
            acknowledged_writes: 0,
            pending_applied: 0,
            verified_acknowledged: 0,
            verified_pending_applied: 0,
            lost: Vec::new(),
            violations: Vec::new(),
            rss_start_kib: None,
            rss_end_kib: None,
            hwm_kib: None,
            app_alive: true,
            log: LogSummary::default(),
            tenant_log: LogSummary::default(),
            metrics: Vec::new(),
        }
    }

    #[test]
    fn a_slow_restart_belongs_to_the_outage_and_the_calm_phase_starts_when_it_is_back() {
        let plan = crate::soak::schedule::plan();
        let action = |i: usize, began: u64, done: u64| ActionRecord {
            step: plan[i],
            began: Duration::from_secs(began),
            done: Duration::from_secs(done),
            error: None,
        };
        let run = run_with(vec![action(0, 6, 6), action(1, 12, 28)]);
        let p = phases(&run);
        assert_eq!(p[0], (FIRST_PHASE, Duration::ZERO, Duration::from_secs(6)));
        assert_eq!(
            p[1].1..p[1].2,
            Duration::from_secs(6)..Duration::from_secs(28)
        );
        assert_eq!(
            p[2].1..p[2].2,
            Duration::from_secs(28)..Duration::from_secs(70)
        );
        let d = downs(&run);
        assert_eq!(
            (d[0].from, d[0].until),
            (Duration::from_secs(6), Duration::from_secs(28))
        );
        // A restart that failed leaves the dependency down to the end.
        let mut failed = action(1, 12, 40);
        failed.error = Some("pg_ctl start failed".into());
        let d = downs(&run_with(vec![action(0, 6, 6), failed]));
        assert_eq!(d[0].until, Duration::MAX);
    }

    #[test]
    fn log_levels_are_counted_through_colour_codes() {
        let log = "\u{1b}[2m2026-12-03T15:59:10Z\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m sqlx: x\n\
                   2026 \u{1b}[31mERROR\u{1b}[0m tower_http: y\n2026 ERROR z\n  demo ERROR line\n";
        let s = LogSummary::of(log);
        assert_eq!((s.warn, s.error, s.panics), (1, 2, 0));
    }

    #[test]
    fn failures_count_only_when_what_the_request_needs_was_up() {
        let downs = vec![Down {
            dep: Dep::Postgres,
            from: Duration::from_secs(10),
            until: Duration::from_secs(20),
        }];
        let during = rec(Op::Read, 12, 13, answered(503, true));
        assert_eq!(problem(&during, &downs), None);
        let in_grace = rec(Op::Read, 22, 23, answered(503, true));
        assert_eq!(problem(&in_grace, &downs), None);
        let after = rec(Op::Read, 30, 31, answered(503, true));
        assert!(problem(&after, &downs).is_some());
        let no_retry_after = rec(Op::Read, 12, 13, answered(503, false));
        assert_eq!(
            problem(&no_retry_after, &downs),
            Some("503 without Retry-After")
        );
        let internal = rec(Op::List, 12, 13, answered(500, false));
        assert_eq!(problem(&internal, &downs), Some("5xx other than 503"));
        let hang = rec(Op::List, 1, 16, Outcome::Timeout);
        assert!(problem(&hang, &downs).is_some());
        // The IdP being down fails sign-ins, not API requests.
        let idp = vec![Down {
            dep: Dep::Idp,
            from: Duration::from_secs(10),
            until: Duration::from_secs(20),
        }];
        let refused = Outcome::SignInFailed(SignInFailure {
            side: "idp",
            path: "/authorize".into(),
            status: None,
            what: "connect",
        });
        assert_eq!(problem(&rec(Op::SignIn, 12, 13, refused), &idp), None);
        let list = rec(Op::List, 12, 13, answered(503, true));
        assert!(problem(&list, &idp).is_some());
    }
}
