//! Counters in Redis (`REDIS_URL`), so that every `pymd serve` behind a load balancer counts
//! against one limit. A hit is one Lua script (`INCR`, and `PEXPIRE` when the window opens), so
//! concurrent hits from any number of instances are counted exactly. Nothing is asked of Redis
//! at construction: the connection is made on first use (the app starts while Redis is down),
//! every call is bounded by short timeouts, and after a failure Redis is not asked again for
//! [`RETRY_AFTER_FAILURE`], so an outage costs the requests nothing but the fallback.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};

use crate::{CounterError, Counters, Hit};

/// Bound on connecting and on each command.
pub const TIMEOUT: Duration = Duration::from_millis(500);
/// After a failure, calls fail at once for this long before Redis is tried again.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);

/// `KEYS[1]` the counter, `ARGV[1]` the window in ms → `{count, ms until the window ends}`.
const HIT: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

/// Fixed-window counters and flags in Redis, under a key prefix.
pub struct RedisCounters {
    client: redis::Client,
    prefix: String,
    hit: redis::Script,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    failed_at: Mutex<Option<Instant>>,
}

impl RedisCounters {
    /// Counters in the Redis at `url` (`redis://` or `rediss://`), every key under `prefix`
    /// (e.g. `pymd:`; tests use one of their own). Does no I/O.
    ///
    /// # Errors
    /// [`CounterError::Internal`] for a URL the client cannot use (the URL itself is not
    /// repeated: it may hold a password).
    pub fn new(url: &SecretString, prefix: &str) -> Result<Self, CounterError> {
        let client = redis::Client::open(url.expose_secret())
            .map_err(|_| CounterError::Internal("REDIS_URL is not a usable Redis URL".into()))?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            hit: redis::Script::new(HIT),
            conn: tokio::sync::Mutex::new(None),
            failed_at: Mutex::new(None),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn unavailable(&self, e: &redis::RedisError) -> CounterError {
        *self
            .failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        // The error's text may name the address, never the password: redis-rs does not print it.
        CounterError::Unavailable(format!("{:?}: {}", e.kind(), e.category()))
    }

    fn recently_failed(&self) -> Result<(), CounterError> {
        let failed = self
            .failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|t| t.elapsed() < RETRY_AFTER_FAILURE);
        if failed {
            Err(CounterError::Unavailable(
                "Redis failed moments ago; not asked again yet".into(),
            ))
        } else {
            Ok(())
        }
    }

    async fn conn(&self) -> Result<ConnectionManager, CounterError> {
        self.recently_failed()?;
        // One connection attempt at a time; the requests that queued behind a failed one fail at
        // once (checked again under the lock) instead of each trying in turn.
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        self.recently_failed()?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(0);
        let connect = ConnectionManager::new_with_config(self.client.clone(), config);
        let conn = match tokio::time::timeout(TIMEOUT * 2, connect).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(self.unavailable(&e)),
            Err(_) => {
                *self
                    .failed_at
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                return Err(CounterError::Unavailable("connecting timed out".into()));
            }
        };
        *slot = Some(conn.clone());
        Ok(conn)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, CounterError> {
        let mut conn = self.conn().await?;
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(&e))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait::async_trait]
impl Counters for RedisCounters {
    async fn hit(&self, key: &str, window: Duration) -> Result<Hit, CounterError> {
        let mut conn = self.conn().await?;
        let (count, ttl): (u64, i64) = self
            .hit
            .key(self.key(key))
            .arg(millis(window))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(Hit {
            count,
            resets_in: Duration::from_millis(u64::try_from(ttl).unwrap_or(1).max(1)),
        })
    }

    async fn set_flag(&self, key: &str, ttl: Duration) -> Result<(), CounterError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(1).arg("PX").arg(millis(ttl));
        self.run::<()>(&cmd).await
    }

    async fn flag(&self, key: &str) -> Result<Option<Duration>, CounterError> {
        let mut cmd = redis::cmd("PTTL");
        cmd.arg(self.key(key));
        let ttl: i64 = self.run(&cmd).await?;
        // -2: no such key; -1: no expiry (never set by us; treat as not blocked).
        Ok(u64::try_from(ttl)
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis))
    }

    async fn remove(&self, key: &str) -> Result<bool, CounterError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(key));
        let removed: i64 = self.run(&cmd).await?;
        Ok(removed > 0)
    }
}
