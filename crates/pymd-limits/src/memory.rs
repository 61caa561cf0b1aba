//! Counters in this process: the embedded default, and what [`crate::Limiter`] falls back to
//! when Redis cannot be reached. One mutex over one map; expired entries are swept at most once
//! a second (a sweep is O(n)) and whenever the map passes its size bound, so memory stays bounded
//! under a stream of distinct keys (one per client IP).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::{CounterError, Counters, Hit};

/// Entries kept at most; past it the oldest-expiring half is dropped (a limit then resets early
/// for some keys, which is better than unbounded memory under a flood of distinct IPs).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: u64,
    expires_at: Instant,
}

struct Inner {
    map: HashMap<String, Entry>,
    last_sweep: Instant,
}

/// In-process fixed-window counters and flags.
pub struct MemoryCounters {
    inner: Mutex<Inner>,
}

impl Default for MemoryCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCounters {
    /// Empty counters.
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    /// How many keys are held (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live(inner: &mut Inner, key: &str, now: Instant) -> Option<Entry> {
        match inner.map.get(key) {
            Some(e) if e.expires_at > now => Some(*e),
            Some(_) => {
                inner.map.remove(key);
                None
            }
            None => None,
        }
    }

    fn sweep(inner: &mut Inner, now: Instant) {
        let due = now.duration_since(inner.last_sweep) >= Duration::from_secs(1);
        if !due && inner.map.len() < MAX_ENTRIES {
            return;
        }
        inner.last_sweep = now;
        inner.map.retain(|_, e| e.expires_at > now);
        if inner.map.len() >= MAX_ENTRIES {
            let mut expiries: Vec<Instant> = inner.map.values().map(|e| e.expires_at).collect();
            expiries.sort_unstable();
            let cut = expiries[expiries.len() / 2];
            inner.map.retain(|_, e| e.expires_at > cut);
        }
    }
}

fn at_least_a_millisecond(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

#[async_trait::async_trait]
impl Counters for MemoryCounters {
    async fn hit(&self, key: &str, window: Duration) -> Result<Hit, CounterError> {
        let now = Instant::now();
        let mut inner = self.lock();
        Self::sweep(&mut inner, now);
        let entry = match Self::live(&mut inner, key, now) {
            Some(e) => Entry {
                count: e.count.saturating_add(1),
                ..e
            },
            None => Entry {
                count: 1,
                expires_at: now + at_least_a_millisecond(window),
            },
        };
        inner.map.insert(key.to_owned(), entry);
        Ok(Hit {
            count: entry.count,
            resets_in: at_least_a_millisecond(entry.expires_at.duration_since(now)),
        })
    }

    async fn set_flag(&self, key: &str, ttl: Duration) -> Result<(), CounterError> {
        let now = Instant::now();
        let mut inner = self.lock();
        Self::sweep(&mut inner, now);
        inner.map.insert(
            key.to_owned(),
            Entry {
                count: 1,
                expires_at: now + at_least_a_millisecond(ttl),
            },
        );
        Ok(())
    }

    async fn flag(&self, key: &str) -> Result<Option<Duration>, CounterError> {
        let now = Instant::now();
        let mut inner = self.lock();
        Ok(Self::live(&mut inner, key, now)
            .map(|e| at_least_a_millisecond(e.expires_at.duration_since(now))))
    }

    async fn remove(&self, key: &str) -> Result<bool, CounterError> {
        let now = Instant::now();
        let mut inner = self.lock();
        Ok(Self::live(&mut inner, key, now).is_some() && inner.map.remove(key).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expired_entries_are_swept_so_distinct_keys_do_not_grow_memory() {
        let c = MemoryCounters::new();
        for i in 0..50 {
            c.hit(&format!("k{i}"), Duration::from_millis(1))
                .await
                .unwrap();
        }
        assert_eq!(c.len(), 50);
        // Past their window and past the sweep interval, the next write sweeps them.
        c.lock().last_sweep = Instant::now() - Duration::from_secs(2);
        std::thread::sleep(Duration::from_millis(5));
        c.hit("fresh", Duration::from_secs(60)).await.unwrap();
        assert_eq!(c.len(), 1);
    }
}
