//! Brute-force protection's counters: consecutive failed logins per (identifier, IP) — or
//! per identifier alone — reserved before the password is checked, given back when the
//! refusal was for another reason, cleared by a completed login, lapsing after 30 days.

use std::collections::HashMap;
use std::net::IpAddr;

use tokio::sync::Mutex;

use super::retain;

/// Whom a counter counts: the identifier, and the IP unless counting per identifier only.
pub type AttemptKey = (String, Option<IpAddr>);

/// Consecutive failed logins for one key.
#[derive(Debug, Clone, Copy)]
pub struct FailedLogins {
    /// How many.
    pub count: u32,
    /// The last one (unix); the count lapses [`FailedLogins::LAPSE_SECS`] after it.
    pub last: i64,
}

impl FailedLogins {
    /// Auth0 lifts a brute-force block 30 days after the last failed attempt.
    pub const LAPSE_SECS: i64 = 30 * 86_400;

    /// The count still in force at `now`.
    pub fn current(&self, now: i64) -> u32 {
        if now - self.last > Self::LAPSE_SECS {
            0
        } else {
            self.count
        }
    }
}

/// The failure counters.
#[derive(Debug, Default)]
pub struct BruteForce {
    counters: Mutex<HashMap<AttemptKey, FailedLogins>>,
}

impl BruteForce {
    /// Checks and reserves one attempt in one critical section: the attempt counts as a
    /// failure from here on (so N parallel guesses cannot all pass the check while the slow
    /// hash runs). Returns the count including this attempt, or `None` when `key` is blocked
    /// (`limit` reached and `enforced`).
    pub async fn reserve(
        &self,
        key: &AttemptKey,
        limit: u32,
        enforced: bool,
        now: i64,
    ) -> Option<u32> {
        let mut counters = self.counters.lock().await;
        let f = counters.entry(key.clone()).or_insert(FailedLogins {
            count: 0,
            last: now,
        });
        let current = f.current(now);
        if enforced && current >= limit {
            return None;
        }
        f.count = current + 1;
        f.last = now;
        Some(f.count)
    }

    /// Gives back one reserved attempt (the counter never goes below zero).
    pub async fn release(&self, key: &AttemptKey) {
        let mut counters = self.counters.lock().await;
        if let Some(f) = counters.get_mut(key) {
            f.count = f.count.saturating_sub(1);
            if f.count == 0 {
                counters.remove(key);
            }
        }
    }

    /// Clears a counter (a completed login).
    pub async fn clear(&self, key: &AttemptKey) {
        self.counters.lock().await.remove(key);
    }

    /// Sets a counter (tests).
    #[cfg(test)]
    pub async fn set(&self, key: AttemptKey, failed: FailedLogins) {
        self.counters.lock().await.insert(key, failed);
    }

    /// The sum of all counters (tests).
    #[cfg(test)]
    pub async fn total(&self) -> u32 {
        self.counters.lock().await.values().map(|f| f.count).sum()
    }

    /// Drops lapsed counters; returns how many.
    pub async fn sweep(&self, now: i64) -> usize {
        retain(&mut *self.counters.lock().await, |f| f.current(now) > 0)
    }

    /// How many counters are kept.
    #[cfg(test)]
    pub async fn len(&self) -> usize {
        self.counters.lock().await.len()
    }
}
