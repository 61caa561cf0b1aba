//! Brute-force protection's counters: consecutive failed logins per (identifier, IP) — or
//! per identifier alone — lapsing after 30 days and cleared by a completed login.
//!
//! A password check takes a slot before the slow hash and settles it after: failed (the slot
//! becomes a failure), released (refused for another reason) or cleared (a login). Failures and
//! open slots together never exceed the limit, so parallel guesses cannot all pass the check
//! while the hashes run; an attempt that finds no free slot waits for one (bounded) instead of
//! being refused, so a burst of correct logins for one account is served, not refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::{Mutex, Notify};

use super::retain;

/// Whom a counter counts: the identifier, and the IP unless counting per identifier only.
pub type AttemptKey = (String, Option<IpAddr>);

/// How long an attempt waits for a slot before it is refused as blocked.
const SLOT_WAIT: Duration = Duration::from_secs(10);

/// Consecutive failed logins for one key, and the checks in flight.
#[derive(Debug, Clone, Copy)]
pub struct FailedLogins {
    /// Failed logins.
    pub count: u32,
    /// The last one (unix); the count lapses [`FailedLogins::LAPSE_SECS`] after it.
    pub last: i64,
    /// Password checks in flight for this key.
    pub in_flight: u32,
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
    settled: Notify,
}

/// What [`BruteForce::reserve`] found.
enum Slot {
    Taken(u32),
    Blocked,
    Wait,
}

impl BruteForce {
    /// Takes a slot for one password check of `key`; returns the failures plus the checks in
    /// flight, this one included. `None` when `key` is blocked (`limit` failures and
    /// `enforced`), or when no slot freed within [`SLOT_WAIT`].
    pub async fn reserve(
        &self,
        key: &AttemptKey,
        limit: u32,
        enforced: bool,
        now: i64,
    ) -> Option<u32> {
        let deadline = tokio::time::Instant::now() + SLOT_WAIT;
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_reserve(key, limit, enforced, now).await {
                Slot::Taken(n) => return Some(n),
                Slot::Blocked => return None,
                Slot::Wait => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    async fn try_reserve(&self, key: &AttemptKey, limit: u32, enforced: bool, now: i64) -> Slot {
        let mut counters = self.counters.lock().await;
        let f = counters.entry(key.clone()).or_insert(FailedLogins {
            count: 0,
            last: now,
            in_flight: 0,
        });
        let failures = f.current(now);
        if failures != f.count {
            f.count = failures;
        }
        if enforced && failures >= limit {
            return Slot::Blocked;
        }
        if enforced && failures + f.in_flight >= limit {
            return Slot::Wait;
        }
        f.in_flight += 1;
        Slot::Taken(failures + f.in_flight)
    }

    /// Settles a slot as a failed login; returns the failures now counted.
    pub async fn fail(&self, key: &AttemptKey, now: i64) -> u32 {
        let count = {
            let mut counters = self.counters.lock().await;
            let f = counters.entry(key.clone()).or_insert(FailedLogins {
                count: 0,
                last: now,
                in_flight: 1,
            });
            f.in_flight = f.in_flight.saturating_sub(1);
            f.count = f.current(now) + 1;
            f.last = now;
            f.count
        };
        self.settled.notify_waiters();
        count
    }

    /// Gives a slot back without a failure (the attempt was refused for another reason).
    pub async fn release(&self, key: &AttemptKey) {
        {
            let mut counters = self.counters.lock().await;
            if let Some(f) = counters.get_mut(key) {
                f.in_flight = f.in_flight.saturating_sub(1);
                if f.count == 0 && f.in_flight == 0 {
                    counters.remove(key);
                }
            }
        }
        self.settled.notify_waiters();
    }

    /// Settles a slot as a completed login: the failures are cleared.
    pub async fn clear(&self, key: &AttemptKey) {
        {
            let mut counters = self.counters.lock().await;
            if let Some(f) = counters.get_mut(key) {
                f.in_flight = f.in_flight.saturating_sub(1);
                f.count = 0;
                if f.in_flight == 0 {
                    counters.remove(key);
                }
            }
        }
        self.settled.notify_waiters();
    }

    /// Sets a counter (tests).
    #[cfg(test)]
    pub async fn set(&self, key: AttemptKey, failed: FailedLogins) {
        self.counters.lock().await.insert(key, failed);
    }

    /// The sum of all failure counters (tests).
    #[cfg(test)]
    pub async fn total(&self) -> u32 {
        self.counters.lock().await.values().map(|f| f.count).sum()
    }

    /// Drops lapsed counters with nothing in flight; returns how many.
    pub async fn sweep(&self, now: i64) -> usize {
        retain(&mut *self.counters.lock().await, |f| {
            f.current(now) > 0 || f.in_flight > 0
        })
    }

    /// How many counters are kept.
    #[cfg(test)]
    pub async fn len(&self) -> usize {
        self.counters.lock().await.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn key() -> AttemptKey {
        ("a@example.com".into(), None)
    }

    #[tokio::test]
    async fn failures_and_checks_in_flight_never_exceed_the_limit_and_a_burst_waits() {
        let bf = Arc::new(BruteForce::default());
        for _ in 0..3 {
            assert!(bf.reserve(&key(), 3, true, 0).await.is_some());
        }
        // A fourth parallel check waits for a slot instead of being refused...
        let waiter = {
            let bf = bf.clone();
            tokio::spawn(async move { bf.reserve(&key(), 3, true, 0).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        // ...and gets one when a check settles as a login.
        bf.clear(&key()).await;
        assert!(waiter.await.unwrap().is_some());
        // Three failures block the key.
        for _ in 0..3 {
            bf.fail(&key(), 0).await;
        }
        assert_eq!(bf.reserve(&key(), 3, true, 0).await, None);
        assert_eq!(bf.total().await, 3);
    }
}
