//! The sessions area: how long a web session lives (spec §5) — `PYMD_SESSION_IDLE_TIMEOUT_SECS`
//! (inactivity, default one day) and `PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS` (whatever the
//! activity, default seven days).

use std::time::Duration;

use super::reader::Reader;

/// Session lifetimes, validated: each at least a minute and at most 400 days (the longest a
/// browser keeps a cookie), the idle timeout no longer than the absolute one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sessions {
    /// Inactivity after which a session ends.
    pub idle_timeout: Duration,
    /// The end of a session, counted from its start, whatever the activity.
    pub absolute_timeout: Duration,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(86_400),
            absolute_timeout: Duration::from_secs(604_800),
        }
    }
}

const MIN_SECS: u64 = 60;
const MAX_SECS: u64 = 400 * 86_400;

pub(super) fn read(r: &mut Reader<'_>) -> Sessions {
    let defaults = Sessions::default();
    let secs = |r: &mut Reader<'_>, name: &'static str, default: Duration| {
        let v = r.positive(name, default.as_secs());
        if !(MIN_SECS..=MAX_SECS).contains(&v) {
            r.problem(
                name,
                format!("must be between {MIN_SECS} seconds and {MAX_SECS} (400 days)"),
            );
            return default;
        }
        Duration::from_secs(v)
    };
    let idle_timeout = secs(r, "PYMD_SESSION_IDLE_TIMEOUT_SECS", defaults.idle_timeout);
    let absolute_timeout = secs(
        r,
        "PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS",
        defaults.absolute_timeout,
    );
    if idle_timeout > absolute_timeout {
        r.problem(
            "PYMD_SESSION_IDLE_TIMEOUT_SECS",
            format!(
                "must not exceed PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS ({} s)",
                absolute_timeout.as_secs()
            ),
        );
    }
    Sessions {
        idle_timeout,
        absolute_timeout,
    }
}
