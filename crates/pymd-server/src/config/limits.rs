//! The limits area: the rate limits and blocks of spec §7 (all configurable; none can be
//! switched off) and the prefix of their Redis keys.

use std::time::Duration;

use super::reader::Reader;

/// The rate limits and blocks of spec §7 (all configurable; none can be switched off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Requests to `/auth/*` (and `/api/auth/*`) per minute per client IP
    /// (`PYMD_AUTH_RATE_LIMIT_PER_MINUTE`, default 10).
    pub auth_per_minute: u64,
    /// Failed logins per hour for one email before the IP they came from is blocked
    /// (`PYMD_FAILED_LOGINS_PER_HOUR`, default 5).
    pub failed_logins_per_hour: u64,
    /// How long such an IP is blocked from `/auth/*` (`PYMD_IP_BLOCK_MINUTES`, default 30).
    pub ip_block: Duration,
    /// Access-token refreshes per hour per user, counted across the SPA's
    /// `POST /api/v1/auth/refresh` and the web sessions' own refreshes
    /// (`PYMD_REFRESH_RATE_LIMIT_PER_HOUR`, default 30).
    pub refresh_per_hour: u64,
    /// Prefix of every Redis key (`PYMD_REDIS_KEY_PREFIX`, default `pymd:`), so that several
    /// deployments (or test runs) can share one Redis.
    pub redis_key_prefix: String,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            auth_per_minute: 10,
            failed_logins_per_hour: 5,
            ip_block: Duration::from_secs(30 * 60),
            refresh_per_hour: 30,
            redis_key_prefix: "pymd:".to_owned(),
        }
    }
}

pub(super) fn read(r: &mut Reader<'_>) -> Limits {
    let defaults = Limits::default();
    Limits {
        auth_per_minute: r.positive("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", defaults.auth_per_minute),
        failed_logins_per_hour: r.positive(
            "PYMD_FAILED_LOGINS_PER_HOUR",
            defaults.failed_logins_per_hour,
        ),
        ip_block: Duration::from_secs(
            r.positive("PYMD_IP_BLOCK_MINUTES", defaults.ip_block.as_secs() / 60)
                .saturating_mul(60),
        ),
        refresh_per_hour: r.positive(
            "PYMD_REFRESH_RATE_LIMIT_PER_HOUR",
            defaults.refresh_per_hour,
        ),
        redis_key_prefix: r
            .string("PYMD_REDIS_KEY_PREFIX")
            .unwrap_or(defaults.redis_key_prefix),
    }
}
