//! The app's view of the counters: named limits, blocks, and the fallback. With Redis
//! configured every instance shares one count; when Redis cannot be asked the same limit is kept
//! per instance in memory (a warning when that starts, one when Redis answers again, and
//! `pymd_rate_limit_fallback_total` for every call that fell back), never "no limit".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::{CounterError, Counters, Hit, MemoryCounters};

/// Counted for every call answered from memory because the shared counters failed.
pub const METRIC_FALLBACK: &str = "pymd_rate_limit_fallback_total";

/// A named fixed-window limit: at most `max` hits per `window` for one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Names the limit in keys, metrics and audit events (`auth`, `refresh`, …).
    pub name: &'static str,
    /// Hits allowed per window.
    pub max: u64,
    /// The window.
    pub window: Duration,
}

/// The answer to one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit.
    Allowed {
        /// Hits left in this window.
        remaining: u64,
    },
    /// Over the limit until the window ends.
    Limited {
        /// Whole seconds until the window ends (at least 1): the `Retry-After` value.
        retry_after_secs: u64,
    },
}

/// Named limits and blocks over shared counters (Redis), falling back to memory.
#[derive(Clone)]
pub struct Limiter {
    shared: Option<Arc<dyn Counters>>,
    local: Arc<MemoryCounters>,
    degraded: Arc<AtomicBool>,
}

impl Limiter {
    /// Limits kept in this process only.
    pub fn in_memory() -> Self {
        Self {
            shared: None,
            local: Arc::new(MemoryCounters::new()),
            degraded: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Limits shared through `counters` (Redis), with memory as the fallback.
    pub fn shared(counters: Arc<dyn Counters>) -> Self {
        Self {
            shared: Some(counters),
            ..Self::in_memory()
        }
    }

    /// `"redis"`, `"memory"`, or `"memory (redis unavailable)"` while falling back.
    pub fn backend(&self) -> &'static str {
        match (&self.shared, self.degraded.load(Ordering::Relaxed)) {
            (None, _) => "memory",
            (Some(_), false) => "redis",
            (Some(_), true) => "memory (redis unavailable)",
        }
    }

    /// Whether the shared counters failed on the last call (readiness reports it as degraded).
    pub fn is_degraded(&self) -> bool {
        self.shared.is_some() && self.degraded.load(Ordering::Relaxed)
    }

    async fn with_fallback<T: Default, F>(&self, op: &'static str, call: F) -> T
    where
        F: for<'c> Fn(&'c dyn Counters) -> crate::BoxFuture<'c, Result<T, CounterError>>,
    {
        if let Some(shared) = &self.shared {
            match call(shared.as_ref()).await {
                Ok(v) => {
                    if self.degraded.swap(false, Ordering::Relaxed) {
                        tracing::warn!("Redis answers again: rate limits are shared again");
                    }
                    return v;
                }
                Err(e) => {
                    if !self.degraded.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, op, "Redis unavailable: rate limits fall back to this instance's memory");
                    }
                    metrics::counter!(METRIC_FALLBACK, "op" => op).increment(1);
                }
            }
        }
        match call(self.local.as_ref()).await {
            Ok(v) => v,
            // Memory never fails; keep an answer all the same.
            Err(e) => {
                tracing::error!(error = %e, op, "in-memory counters failed");
                T::default()
            }
        }
    }

    /// Counts one hit of `subject` against `limit`.
    pub async fn check(&self, limit: &Limit, subject: &str) -> Decision {
        let key = format!("limit:{}:{subject}", limit.name);
        let window = limit.window;
        let hit: Option<Hit> = self
            .with_fallback("hit", |c| {
                let key = key.clone();
                Box::pin(async move { c.hit(&key, window).await.map(Some) })
            })
            .await;
        decide(limit, hit)
    }

    /// Blocks `subject` under `name` for `ttl` (e.g. an IP from `/auth/*` for 30 minutes).
    pub async fn block(&self, name: &'static str, subject: &str, ttl: Duration) {
        let key = format!("block:{name}:{subject}");
        self.with_fallback("block", |c| {
            let key = key.clone();
            Box::pin(async move { c.set_flag(&key, ttl).await.map(|()| Some(())) })
        })
        .await;
    }

    /// Time left on `subject`'s block under `name`; `None` when it is not blocked.
    pub async fn blocked(&self, name: &'static str, subject: &str) -> Option<Duration> {
        let key = format!("block:{name}:{subject}");
        self.with_fallback("blocked", |c| {
            let key = key.clone();
            Box::pin(async move { c.flag(&key).await })
        })
        .await
    }

    /// Lifts `subject`'s block under `name` (in the shared counters and in this instance's
    /// memory); returns whether there was one.
    pub async fn unblock(&self, name: &'static str, subject: &str) -> bool {
        let key = format!("block:{name}:{subject}");
        let local = self.local.remove(&key).await.unwrap_or(false);
        let shared = match &self.shared {
            Some(_) => self
                .with_fallback("unblock", |c| {
                    let key = key.clone();
                    Box::pin(async move { c.remove(&key).await.map(Some) })
                })
                .await
                .unwrap_or(false),
            None => false,
        };
        local || shared
    }
}

fn decide(limit: &Limit, hit: Option<Hit>) -> Decision {
    match hit {
        Some(h) if h.count > limit.max => Decision::Limited {
            retry_after_secs: h.resets_in.as_millis().div_ceil(1000).max(1) as u64,
        },
        Some(h) => Decision::Allowed {
            remaining: limit.max - h.count,
        },
        None => Decision::Allowed {
            remaining: limit.max,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let limit = Limit {
            name: "t",
            max: 1,
            window: Duration::from_secs(60),
        };
        let over = |ms| {
            decide(
                &limit,
                Some(Hit {
                    count: 2,
                    resets_in: Duration::from_millis(ms),
                }),
            )
        };
        assert_eq!(
            over(1),
            Decision::Limited {
                retry_after_secs: 1
            }
        );
        assert_eq!(
            over(1000),
            Decision::Limited {
                retry_after_secs: 1
            }
        );
        assert_eq!(
            over(1001),
            Decision::Limited {
                retry_after_secs: 2
            }
        );
        assert_eq!(
            decide(
                &limit,
                Some(Hit {
                    count: 1,
                    resets_in: Duration::from_secs(3)
                })
            ),
            Decision::Allowed { remaining: 0 }
        );
    }
}
