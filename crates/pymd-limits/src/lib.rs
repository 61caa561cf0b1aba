//! Shared counters for PyMD's rate limits and blocks (spec §7).
//!
//! A limit is a fixed window: the first hit on a key opens a window of `window` length, every
//! hit in it counts, and once the count passes `max` the caller is told how long until the
//! window ends (`Retry-After`). Blocks (an IP barred from `/auth/*` for 30 minutes) are keys with
//! a time to live. Both live behind the [`Counters`] trait, with two implementations and one
//! conformance suite run against both:
//!
//! - [`MemoryCounters`]: in this process (the embedded default, and the fallback);
//! - [`RedisCounters`]: in Redis (`REDIS_URL`), so that every instance sees the same limits.
//!
//! [`Limiter`] is what the app uses: Redis when configured, and when Redis cannot be reached the
//! same limits per instance in memory (logged and counted in
//! `pymd_rate_limit_fallback_total`), never "no limit".

mod limiter;
mod memory;
mod redis_store;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use limiter::{Decision, Limit, Limiter};
pub use memory::MemoryCounters;
pub use redis_store::RedisCounters;

/// The boxed future of a call through [`Counters`].
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The count of a window after a hit, and how long until it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Hits in the current window, this one included.
    pub count: u64,
    /// Time until the window ends (never zero: at least one millisecond).
    pub resets_in: Duration,
}

/// Why a counter could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    /// The back end cannot be reached (connection refused, timed out, …).
    #[error("counter back end unavailable: {0}")]
    Unavailable(String),
    /// The back end answered something unusable.
    #[error("counter back end error: {0}")]
    Internal(String),
}

/// Fixed-window counters and expiring flags, keyed by strings the caller builds (e.g.
/// `auth:ip:203.0.113.7`).
#[async_trait::async_trait]
pub trait Counters: Send + Sync + 'static {
    /// Counts one hit on `key`. The first hit opens a window of `window`; later hits in it add
    /// to its count; after it ends the next hit opens a new one.
    ///
    /// # Errors
    /// [`CounterError::Unavailable`] when the back end cannot be reached.
    async fn hit(&self, key: &str, window: Duration) -> Result<Hit, CounterError>;

    /// Sets the flag `key` for `ttl` (replacing any time left on it).
    ///
    /// # Errors
    /// [`CounterError::Unavailable`] when the back end cannot be reached.
    async fn set_flag(&self, key: &str, ttl: Duration) -> Result<(), CounterError>;

    /// The time left on flag `key`, `None` when it is not set (or has run out).
    ///
    /// # Errors
    /// [`CounterError::Unavailable`] when the back end cannot be reached.
    async fn flag(&self, key: &str) -> Result<Option<Duration>, CounterError>;

    /// Removes `key` (a counter or a flag); returns whether it existed.
    ///
    /// # Errors
    /// [`CounterError::Unavailable`] when the back end cannot be reached.
    async fn remove(&self, key: &str) -> Result<bool, CounterError>;
}
