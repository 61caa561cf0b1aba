//! The rate limits and blocks of spec §7 as the app applies them.
//!
//! - The sign-in routes `/auth/login`, `/auth/callback` (and their `/api/auth/*` aliases): at
//!   most `PYMD_AUTH_RATE_LIMIT_PER_MINUTE` requests a minute per client (the socket peer, or
//!   the right-most untrusted `X-Forwarded-For` hop behind `PYMD_TRUSTED_PROXIES`; IPv6 clients
//!   by their /64, see [`client_key`]), and none at all from a blocked client (see
//!   [`record_failed_login`]). Logout and `/auth/profile` are never limited.
//! - Failed logins: under hosted login the app never sees a password, so the IdP's log stream
//!   (`/internal/auth0/log-stream`) reports them. `PYMD_FAILED_LOGINS_PER_HOUR` failures for one
//!   email from one client block that client for `PYMD_IP_BLOCK_MINUTES`, with an audit event,
//!   an alert log line and a metric.
//!
//! A refusal is a 429 page with `Retry-After`, an audit event (one per limit, client and
//! minute) and `pymd_rate_limited_total{limit}`.
//! The counters are shared through Redis when it is configured and kept per instance when it is
//! not or cannot be reached (see `pymd_limits::Limiter`).

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pymd_limits::{Decision, Limit};

use crate::audit::Event;
use crate::state::AppState;

/// The metric every refusal counts in.
pub const METRIC_LIMITED: &str = "pymd_rate_limited_total";
/// The name IP blocks are kept under.
pub const AUTH_BLOCK: &str = "auth";

/// The key a client IP is limited and blocked under: IPv4 (also IPv4-mapped IPv6) as itself,
/// IPv6 by its /64 — one subscriber's prefix, which hands out addresses without end.
pub fn client_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The `/auth/*` limit of the configuration.
fn auth_limit(state: &AppState) -> Limit {
    Limit {
        name: "auth",
        max: state.config.limits.auth_per_minute,
        window: Duration::from_secs(60),
    }
}

/// Why a sign-in request is refused: the limit (`ip_block` or `auth`) and the seconds to wait.
pub struct AuthRefusal {
    pub limit: &'static str,
    pub retry_after_secs: u64,
}

/// The `/auth/*` checks, whichever face answers: a blocked client is refused, then the request
/// is counted against the per-client limit. A refusal is counted in the metric and audited (once
/// a minute per limit and client) here.
///
/// # Errors
/// The [`AuthRefusal`] the caller answers with (a page or JSON).
pub async fn check_auth_client(state: &AppState) -> Result<(), AuthRefusal> {
    let Some(ip) = crate::request_meta::current().and_then(|m| m.ip) else {
        // Only an app embedded without connection info has no peer; nothing to key on.
        return Ok(());
    };
    let ip = client_key(ip);
    let refusal = if let Some(left) = state.limiter.blocked(AUTH_BLOCK, &ip).await {
        AuthRefusal {
            limit: "ip_block",
            retry_after_secs: secs(left),
        }
    } else {
        match state.limiter.check(&auth_limit(state), &ip).await {
            Decision::Allowed { .. } => return Ok(()),
            Decision::Limited { retry_after_secs } => AuthRefusal {
                limit: "auth",
                retry_after_secs,
            },
        }
    };
    let limit = refusal.limit;
    metrics::counter!(METRIC_LIMITED, "limit" => limit).increment(1);
    if first_this_minute(state, &format!("{limit}:{ip}")).await {
        crate::audit::record(state, Event::RateLimited { limit }, None).await;
    }
    Err(refusal)
}

/// Middleware for the `/auth/*` pages: [`check_auth_client`], refused with the 429 page.
pub async fn limit_auth_routes(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    match check_auth_client(&state).await {
        Ok(()) => next.run(req).await,
        Err(refusal) => crate::web::error::PageError::RateLimited {
            blocked: refusal.limit == "ip_block",
            retry_after_secs: refusal.retry_after_secs,
        }
        .into_response(),
    }
}

impl From<AuthRefusal> for crate::error::ApiError {
    fn from(r: AuthRefusal) -> Self {
        crate::error::ApiError::RateLimited {
            retry_after_secs: r.retry_after_secs,
        }
    }
}

fn secs(d: Duration) -> u64 {
    u64::try_from(d.as_millis().div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1)
}

/// At most one `rate_limited` audit row per limit, client IP and minute: a flood of refused
/// requests must not turn into a flood of database writes (the metric counts every one).
const AUDIT_REFUSALS: Limit = Limit {
    name: "audit_refusals",
    max: 1,
    window: Duration::from_secs(60),
};

/// Whether this is the first refusal of `what` (a limit and a client, a user and a route…) this
/// minute: refusals worth an audit row are recorded once a minute, however many there are.
pub async fn first_this_minute(state: &AppState, what: &str) -> bool {
    matches!(
        state.limiter.check(&AUDIT_REFUSALS, what).await,
        Decision::Allowed { .. }
    )
}

/// Counts one access-token refresh for `user` (the SPA's `POST /api/v1/auth/refresh` and a web
/// session's own refresh share the count) against `PYMD_REFRESH_RATE_LIMIT_PER_HOUR`. Over it,
/// the refusal is counted in `pymd_rate_limited_total{limit="refresh"}` and audited (once a
/// minute per user), and the seconds to wait are returned.
///
/// # Errors
/// `Err(retry_after_secs)` when the user has used up the hour's refreshes.
pub async fn count_refresh(
    state: &AppState,
    user: pymd_domain::UserId,
    subject: &str,
) -> Result<(), u64> {
    let limit = Limit {
        name: "refresh",
        max: state.config.limits.refresh_per_hour,
        window: Duration::from_secs(3600),
    };
    let user = user.to_string();
    match state.limiter.check(&limit, &user).await {
        Decision::Allowed { .. } => Ok(()),
        Decision::Limited { retry_after_secs } => {
            metrics::counter!(METRIC_LIMITED, "limit" => "refresh").increment(1);
            if first_this_minute(state, &format!("refresh:{user}")).await {
                let event = Event::RateLimited { limit: "refresh" };
                crate::audit::record(state, event, Some(subject)).await;
            }
            Err(retry_after_secs)
        }
    }
}

/// Whether the log event `log_id` was already taken within the hour (and marks it taken).
/// An empty or oversized id is never "seen".
pub async fn seen_log_event(state: &AppState, log_id: &str) -> bool {
    if log_id.is_empty() || log_id.len() > 256 {
        return false;
    }
    matches!(
        state.limiter.check(&SEEN_LOG_EVENTS, log_id).await,
        Decision::Limited { .. }
    )
}

/// Log events already counted (Auth0 may deliver a batch more than once), by `log_id`.
const SEEN_LOG_EVENTS: Limit = Limit {
    name: "seen_log_events",
    max: 1,
    window: Duration::from_secs(3600),
};

/// The counter key of an email: a keyed hash (the cookie secret's), so that no address is kept
/// in Redis keys, its logs or its backups.
fn email_key(state: &AppState, email: &str) -> String {
    use aws_lc_rs::hmac;
    use secrecy::ExposeSecret;
    let key = hmac::Key::new(
        hmac::HMAC_SHA256,
        state.cookie_secret.expose_secret().as_bytes(),
    );
    let tag = hmac::sign(&key, email.trim().to_lowercase().as_bytes());
    tag.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Counts a failed login for `email` (from the IdP's log stream, already de-duplicated). The one that reaches `PYMD_FAILED_LOGINS_PER_HOUR` within an hour blocks
/// `ip` from `/auth/*` for `PYMD_IP_BLOCK_MINUTES`: audit event `ip_blocked`, an alert log line,
/// and `pymd_rate_limited_total{limit="failed_logins"}` — once per block: further failures from
/// an IP that is already blocked neither extend the block nor raise another alert. Returns
/// whether this failure blocked the IP.
pub async fn record_failed_login(state: &AppState, email: &str, ip: Option<IpAddr>) -> bool {
    let limit = Limit {
        name: "failed_logins",
        max: state.config.limits.failed_logins_per_hour.saturating_sub(1),
        window: Duration::from_secs(3600),
    };
    // Counted per (email, client): a stranger's failures for a victim's email cannot make the
    // victim's own typo block the victim.
    let ip = ip.map(|ip| ip.to_canonical());
    let counted = match ip {
        Some(ip) => format!("{}:{}", email_key(state, email), client_key(ip)),
        None => email_key(state, email),
    };
    let over = matches!(
        state.limiter.check(&limit, &counted).await,
        Decision::Limited { .. }
    );
    let Some(ip) = ip.filter(|_| over) else {
        return false;
    };
    let key = client_key(ip);
    if state.limiter.blocked(AUTH_BLOCK, &key).await.is_some() {
        return false;
    }
    state
        .limiter
        .block(AUTH_BLOCK, &key, state.config.limits.ip_block)
        .await;
    metrics::counter!(METRIC_LIMITED, "limit" => "failed_logins").increment(1);
    tracing::warn!(
        alert = "brute_force",
        ip = %ip,
        minutes = state.config.limits.ip_block.as_secs() / 60,
        "too many failed logins for one account: the IP is blocked from /auth/*"
    );
    let minutes = state.config.limits.ip_block.as_secs() / 60;
    crate::audit::record(state, Event::IpBlocked { ip, minutes }, None).await;
    true
}
