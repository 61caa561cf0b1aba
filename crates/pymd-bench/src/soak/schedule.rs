//! The soak's fault schedule: which dependency is stopped or restarted when, as fractions of the
//! run, so that a longer run stretches every phase alike. The faults are taken one at a time
//! with a calm phase after each (so the recovery from each is seen alone), then one pair that
//! overlaps (PostgreSQL crashed while Redis goes down too), then a calm end.

use std::time::Duration;

/// A dependency the soak can take away from `pymd serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dep {
    /// The soak's own PostgreSQL.
    Postgres,
    /// The soak's own Redis.
    Redis,
    /// The IdP: `pymd dev-tenant` in its own process.
    Idp,
}

impl Dep {
    /// The name used in the report.
    pub fn name(self) -> &'static str {
        match self {
            Dep::Postgres => "PostgreSQL",
            Dep::Redis => "Redis",
            Dep::Idp => "IdP",
        }
    }
}

/// What the scheduler does to a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `pg_ctl stop -m immediate`: every backend quits at once, no checkpoint (crash recovery at
    /// the next start).
    PgStopImmediate,
    /// SIGKILL of the postmaster's PID: its children notice and quit; the next start must wait
    /// until the old shared memory is released.
    PgKill,
    /// `pg_ctl start -w` on the same port and data directory.
    PgStart,
    /// SIGKILL of `redis-server` (no persistence: it comes back empty).
    RedisKill,
    /// `redis-server` again on the same port.
    RedisStart,
    /// SIGKILL of `pymd dev-tenant`.
    IdpKill,
    /// `pymd dev-tenant` again on the same port and data directory (same signing keys).
    IdpStart,
}

impl Action {
    /// The dependency acted on and whether it is down after the action.
    pub fn effect(self) -> (Dep, bool) {
        match self {
            Action::PgStopImmediate | Action::PgKill => (Dep::Postgres, true),
            Action::PgStart => (Dep::Postgres, false),
            Action::RedisKill => (Dep::Redis, true),
            Action::RedisStart => (Dep::Redis, false),
            Action::IdpKill => (Dep::Idp, true),
            Action::IdpStart => (Dep::Idp, false),
        }
    }

    /// How the report names it.
    pub fn describe(self) -> &'static str {
        match self {
            Action::PgStopImmediate => "PostgreSQL stopped (pg_ctl stop -m immediate)",
            Action::PgKill => "PostgreSQL postmaster killed (SIGKILL)",
            Action::PgStart => "PostgreSQL started again",
            Action::RedisKill => "Redis killed (SIGKILL)",
            Action::RedisStart => "Redis started again (empty)",
            Action::IdpKill => "IdP killed (SIGKILL)",
            Action::IdpStart => "IdP started again (same port, same keys)",
        }
    }
}

/// One scheduled action and the phase that begins with it.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// When, as a fraction of the run (0–1).
    pub at: f64,
    /// What is done.
    pub action: Action,
    /// The name of the phase that begins with this action.
    pub phase: &'static str,
}

/// The name of the phase before the first action.
pub const FIRST_PHASE: &str = "calm (baseline)";

/// The schedule, in order. In tenths of the run: PostgreSQL stopped 1–2, Redis 3–4, the IdP
/// 5–6, PostgreSQL crashed 7–7.8 overlapping Redis 7.4–8.2; calm between and after.
pub fn plan() -> Vec<Step> {
    let step = |tenths: f64, action, phase| Step {
        at: tenths / 10.0,
        action,
        phase,
    };
    vec![
        step(
            1.0,
            Action::PgStopImmediate,
            "PostgreSQL down (immediate stop)",
        ),
        step(2.0, Action::PgStart, "after PostgreSQL"),
        step(3.0, Action::RedisKill, "Redis down"),
        step(4.0, Action::RedisStart, "after Redis"),
        step(5.0, Action::IdpKill, "IdP down"),
        step(6.0, Action::IdpStart, "after IdP"),
        step(7.0, Action::PgKill, "PostgreSQL down (postmaster killed)"),
        step(7.4, Action::RedisKill, "PostgreSQL and Redis down"),
        step(7.8, Action::PgStart, "Redis down, PostgreSQL back"),
        step(8.2, Action::RedisStart, "calm (final)"),
    ]
}

/// The offset of `step` in a run of `total`.
pub fn offset(step: &Step, total: Duration) -> Duration {
    total.mul_f64(step.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_is_undone_and_the_run_ends_calm() {
        let plan = plan();
        let mut down = std::collections::BTreeSet::new();
        let mut last = 0.0;
        for s in &plan {
            assert!(s.at > last && s.at < 1.0, "steps in order inside the run");
            last = s.at;
            let (dep, goes_down) = s.action.effect();
            assert_eq!(
                down.contains(&dep),
                !goes_down,
                "{s:?} acts on a dep in the other state"
            );
            if goes_down {
                down.insert(dep);
            } else {
                down.remove(&dep);
            }
        }
        assert!(down.is_empty(), "everything is back at the end");
        assert!(last <= 0.85, "a calm end of at least 15% of the run");
    }
}
