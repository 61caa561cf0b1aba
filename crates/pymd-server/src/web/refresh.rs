//! Access-token refresh of web sessions (spec §5). When a session's stored access token is within
//! [`REFRESH_MARGIN`] of expiry, the request that notices it refreshes it first, and **exactly one
//! refresh per session happens even under concurrent requests, across app instances**: Auth0
//! rotates refresh tokens and revokes the whole family when a used one is presented again, so two
//! concurrent exchanges of one refresh token would end the user's session at the IdP.
//!
//! The coordination lives in the database every instance shares, with no extra service: a lease
//! column on the session row ([`Store::try_lock_session_refresh`], one conditional `UPDATE` judged on
//! the database's clock, so exactly one caller wins whatever the instances' clocks say). The winner exchanges the refresh token (`grant_type=refresh_token`,
//! `client_secret_post`, bounded by [`TOKEN_TIMEOUT`], well inside the [`LEASE`]), verifies the new
//! access token, and stores the new tokens — always the new, rotated refresh token — with a
//! compare-and-swap on the old expiry that also clears the lease. The others poll the row every
//! [`POLL_INTERVAL`] until its access token changes; if the holder's lease runs out first (it
//! crashed), they try to take it themselves, so a crash never deadlocks a session.
//!
//! Outcomes (security anchors #122–#124, #182): a refused refresh (any 4xx from the token endpoint,
//! e.g. `invalid_grant`) deletes the session: the request is signed out. An unreachable IdP (5xx,
//! timeout, garbage) keeps the session: the caller proceeds with the current token while it is
//! still valid, and answers 503 otherwise. Each attempt by a lease holder counts in
//! `pymd_token_refresh_total{result}` (`success`, `failure`, `unavailable`) and writes a
//! `refresh_success` / `refresh_failure` audit event. No token is ever logged.

use std::time::{Duration as StdDuration, Instant};

use pymd_storage::{Session, SessionRefresh, StoreError};
use secrecy::ExposeSecret;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::crypto::TokenSealer;
use crate::state::AppState;
use crate::web::oidc::{ExchangeError, post_token_endpoint};

/// A token expiring within this margin is refreshed before the request uses it.
pub const REFRESH_MARGIN: Duration = Duration::seconds(60);
/// How long a refresh lease is held at most (a crashed holder blocks others this long).
pub const LEASE: Duration = Duration::seconds(10);
/// Bound on the token-endpoint request (kept well inside [`LEASE`]).
pub const TOKEN_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Bound on verifying the new access token (a JWKS fetch at worst); with [`TOKEN_TIMEOUT`] the
/// whole exchange stays well inside [`LEASE`].
pub const VERIFY_TIMEOUT: StdDuration = StdDuration::from_secs(2);
/// How often a request waiting for another's refresh re-reads the session.
pub const POLL_INTERVAL: StdDuration = StdDuration::from_millis(50);
/// How long a request waits in all for a refresh (its own or another's) before giving up.
const MAX_WAIT: StdDuration = StdDuration::from_secs(25);
/// Largest token response accepted.
const MAX_BODY: usize = 256 * 1024;

/// What became of a session that needed a refresh.
#[derive(Debug)]
pub enum Outcome {
    /// The session now holds fresh tokens (refreshed by this request, another request or another
    /// instance): the row as stored.
    Fresh(Box<Session>),
    /// The IdP refused the refresh (or the session was deleted meanwhile): the session is gone.
    Ended,
    /// The user has used up the hour's refreshes (`PYMD_REFRESH_RATE_LIMIT_PER_HOUR`): nothing
    /// was exchanged; retry after this many seconds.
    Limited { retry_after_secs: u64 },
    /// The refresh could not be completed (IdP unreachable, or waiting for another instance took
    /// too long). The session is kept as it was.
    Unavailable,
}

/// Whether `session`'s access token must be refreshed before use at `now`.
pub fn needs_refresh(session: &Session, now: OffsetDateTime) -> bool {
    session.access_token_expires_at - now <= REFRESH_MARGIN
}

/// Brings `seen` (the session as the request loaded it) up to date: refreshes its tokens under the
/// lease, or waits for whoever holds it.
///
/// # Errors
/// [`StoreError`] when the database cannot be asked (the session is left as it was; a lease this
/// request held is released when possible, and runs out otherwise).
pub async fn refresh(state: &AppState, seen: &Session) -> Result<Outcome, StoreError> {
    let hash = seen.id_hash.as_slice();
    let started = Instant::now();
    loop {
        // The database sets the lease and judges whether a held one ran out on its own clock,
        // so instances whose clocks drift apart still agree on the holder.
        if let Some(until) = state.store.try_lock_session_refresh(hash, LEASE).await? {
            return refresh_detached(state, hash.to_vec(), until).await;
        }
        // Another request (here or on another instance) is refreshing: wait for its result, and
        // try the lease again meanwhile — it runs out if its holder crashed or hung.
        if started.elapsed() >= MAX_WAIT {
            tracing::warn!("gave up waiting for another request's token refresh");
            return Ok(Outcome::Unavailable);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
        let Some(row) = state.store.find_session(hash).await? else {
            return Ok(Outcome::Ended);
        };
        if row.access_token != seen.access_token {
            return Ok(Outcome::Fresh(Box::new(row)));
        }
        if row.refresh_lock_until.is_none() {
            // Released without new tokens: the holder could not reach the IdP.
            return Ok(Outcome::Unavailable);
        }
    }
}

/// Runs the exchange and the store of its result on a task of its own: once the IdP has rotated
/// the refresh token, the new one must be stored even if this request is dropped (the client
/// went away, the request timed out) — else the next request would present the spent token and
/// the IdP would revoke the whole family. The request waits for the task's outcome.
async fn refresh_detached(
    state: &AppState,
    hash: Vec<u8>,
    until: OffsetDateTime,
) -> Result<Outcome, StoreError> {
    let state = state.clone();
    let task = tokio::spawn(async move {
        let lease = Lease { hash: &hash, until };
        let result = refresh_holding_lease(&state, &lease).await;
        if result.is_err() {
            // Best effort; otherwise the lease runs out by itself.
            let _ = lease.release(&state).await;
        }
        result
    });
    task.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "the token refresh task failed");
        Ok(Outcome::Unavailable)
    })
}

/// Why the token endpoint did not give new tokens.
#[derive(Debug)]
enum ExchangeFailure {
    /// Refused for good (4xx such as `invalid_grant`, an unreadable stored token, a token for
    /// someone else): the session must end. The label goes to the audit detail.
    Refused(String),
    /// Not reachable, timed out, 5xx or garbage: try again later.
    Unavailable(&'static str),
}

/// The token endpoint's answer to a refresh.
struct Refreshed {
    access_token: String,
    refresh_token: Option<String>,
    id_token: Option<String>,
    expires_in: Option<i64>,
}

/// A refresh lease this request holds.
struct Lease<'a> {
    hash: &'a [u8],
    until: OffsetDateTime,
}

impl Lease<'_> {
    /// Releases the lease if it is still this request's.
    async fn release(&self, state: &AppState) -> Result<bool, StoreError> {
        state
            .store
            .release_session_refresh(self.hash, self.until)
            .await
    }
}

async fn refresh_holding_lease(state: &AppState, lease: &Lease<'_>) -> Result<Outcome, StoreError> {
    let hash = lease.hash;
    let Some(row) = state.store.find_session(hash).await? else {
        return Ok(Outcome::Ended);
    };
    // Someone completed a refresh between this request's load and its lease.
    if !needs_refresh(&row, pymd_domain::now()) {
        lease.release(state).await?;
        return Ok(Outcome::Fresh(Box::new(row)));
    }
    if let Err(retry_after_secs) =
        crate::limits::count_refresh(state, row.user_id, &row.subject).await
    {
        lease.release(state).await?;
        return Ok(Outcome::Limited { retry_after_secs });
    }
    let sealer = match TokenSealer::new(&state.cookie_secret) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "the token sealer cannot be built");
            lease.release(state).await?;
            return Ok(Outcome::Unavailable);
        }
    };
    let exchanged = match exchange(state, &sealer, &row).await {
        Ok(new) => finish(state, &sealer, &row, new).await,
        Err(e) => Err(e),
    };
    match exchanged {
        Ok(refresh) => store_refreshed(state, &row, &refresh).await,
        Err(failure) => refresh_failed(state, lease, &row, failure).await,
    }
}

/// Stores a completed refresh (compare-and-swap on the old expiry), counts and audits it.
async fn store_refreshed(
    state: &AppState,
    row: &Session,
    refresh: &SessionRefresh,
) -> Result<Outcome, StoreError> {
    let hash = row.id_hash.as_slice();
    if !state
        .store
        .complete_session_refresh(hash, refresh, row.access_token_expires_at)
        .await?
    {
        // Only possible if this lease ran out and another request refreshed meanwhile.
        tracing::warn!("a token refresh completed after its lease; keeping the stored one");
        return Ok(match state.store.find_session(hash).await? {
            Some(current) if current.access_token != row.access_token => {
                Outcome::Fresh(Box::new(current))
            }
            Some(_) => Outcome::Unavailable,
            None => Outcome::Ended,
        });
    }
    metrics::counter!("pymd_token_refresh_total", "result" => "success").increment(1);
    let event = crate::audit::Event::RefreshSucceeded {
        user_id: row.user_id,
    };
    crate::audit::record(state, event, Some(&row.subject)).await;
    Ok(match state.store.find_session(hash).await? {
        Some(current) => Outcome::Fresh(Box::new(current)),
        None => Outcome::Ended,
    })
}

/// A refresh the IdP refused ends the session; one it could not answer keeps it (and releases
/// the lease). Either way it is counted and audited.
async fn refresh_failed(
    state: &AppState,
    lease: &Lease<'_>,
    row: &Session,
    failure: ExchangeFailure,
) -> Result<Outcome, StoreError> {
    let (reason, ended) = match failure {
        ExchangeFailure::Refused(reason) => {
            tracing::info!(reason = %reason, "token refresh refused; ending the session");
            state.store.delete_session(lease.hash).await?;
            (reason, true)
        }
        ExchangeFailure::Unavailable(reason) => {
            tracing::warn!(reason, "token refresh failed; the session is kept");
            lease.release(state).await?;
            (reason.to_owned(), false)
        }
    };
    let result = if ended { "failure" } else { "unavailable" };
    metrics::counter!("pymd_token_refresh_total", "result" => result).increment(1);
    let event = crate::audit::Event::RefreshFailed {
        user_id: row.user_id,
        reason,
        session_ended: ended,
    };
    crate::audit::record(state, event, Some(&row.subject)).await;
    Ok(if ended {
        Outcome::Ended
    } else {
        Outcome::Unavailable
    })
}

/// Verifies the new access token and seals what is to be stored.
async fn finish(
    state: &AppState,
    sealer: &TokenSealer,
    row: &Session,
    new: Refreshed,
) -> Result<SessionRefresh, ExchangeFailure> {
    let hash = row.id_hash.as_slice();
    let now = pymd_domain::now();
    // Bounded too, so the new tokens are stored before the lease can run out: the refresh token
    // is spent already. A verification that cannot finish in time is treated like unusable keys.
    let verified = tokio::time::timeout(VERIFY_TIMEOUT, state.verifier.verify(&new.access_token))
        .await
        .unwrap_or(Err(pymd_auth::VerifyError::Unavailable));
    let expires_at = match verified {
        Ok(token) if token.sub == row.subject => {
            OffsetDateTime::from_unix_timestamp(token.expires_at)
                .map_err(|_| ExchangeFailure::Refused("access_token_invalid".into()))?
        }
        Ok(_) => return Err(ExchangeFailure::Refused("subject_mismatch".into())),
        // The refresh token was spent and a new one issued: keep it even though the keys cannot be
        // fetched right now (the request itself will answer 503 when it verifies the token).
        Err(e) if e.is_unavailable() => {
            now + Duration::seconds(new.expires_in.unwrap_or(0).clamp(0, 86_400 * 30))
        }
        Err(e) => {
            tracing::warn!(reason = e.reason(), "refreshed access token refused");
            return Err(ExchangeFailure::Refused("access_token_invalid".into()));
        }
    };
    let seal = |plain: &str| {
        sealer
            .seal(hash, plain.as_bytes())
            .map_err(|_| ExchangeFailure::Unavailable("sealing failed"))
    };
    Ok(SessionRefresh {
        access_token: seal(&new.access_token)?,
        refresh_token: new.refresh_token.as_deref().map(seal).transpose()?,
        id_token: new.id_token.as_deref().map(seal).transpose()?,
        access_token_expires_at: pymd_domain::truncate_to_micros(expires_at),
    })
}

/// `grant_type=refresh_token` at the token endpoint (`client_secret_post`).
async fn exchange(
    state: &AppState,
    sealer: &TokenSealer,
    row: &Session,
) -> Result<Refreshed, ExchangeFailure> {
    let Some(sealed) = row.refresh_token.as_deref() else {
        return Err(ExchangeFailure::Refused("no_refresh_token".into()));
    };
    let refresh_token = sealer
        .open(&row.id_hash, sealed)
        .ok()
        .and_then(|p| String::from_utf8(p).ok())
        .ok_or_else(|| ExchangeFailure::Refused("refresh_token_unreadable".into()))?;
    let Some(client) = state.web_client.clone() else {
        return Err(ExchangeFailure::Unavailable("no web client configured"));
    };
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client.0.as_str()),
        ("client_secret", client.1.expose_secret()),
        ("refresh_token", refresh_token.as_str()),
    ];
    // Discovery and the exchange share one deadline, well inside the lease.
    let work = async {
        let meta = state
            .verifier
            .provider_metadata()
            .await
            .map_err(|_| ExchangeFailure::Unavailable("discovery unavailable"))?;
        let json = post_token_endpoint(state, &meta, &form, TOKEN_TIMEOUT, MAX_BODY)
            .await
            .map_err(|e| match e {
                ExchangeError::Refused { status, error } => {
                    ExchangeFailure::Refused(format!("token_endpoint_{error}_{status}"))
                }
                ExchangeError::Unavailable(_) => {
                    ExchangeFailure::Unavailable("token endpoint unavailable")
                }
            })?;
        let string = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_owned);
        let bearer = string("token_type").is_none_or(|t| t.eq_ignore_ascii_case("bearer"));
        match string("access_token") {
            Some(access_token) if bearer && !access_token.is_empty() => Ok(Refreshed {
                access_token,
                refresh_token: string("refresh_token").filter(|t| !t.is_empty()),
                id_token: string("id_token").filter(|t| !t.is_empty()),
                expires_in: json.get("expires_in").and_then(Value::as_i64),
            }),
            _ => Err(ExchangeFailure::Unavailable(
                "token response lacks an access token",
            )),
        }
    };
    tokio::time::timeout(TOKEN_TIMEOUT, work)
        .await
        .unwrap_or(Err(ExchangeFailure::Unavailable("timed out")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pymd_domain::UserId;

    fn session(expires_in: Duration, now: OffsetDateTime) -> Session {
        Session {
            id_hash: vec![0; 32],
            user_id: UserId::new_random(),
            subject: "auth0|x".into(),
            idp_sid: None,
            access_token: vec![1],
            refresh_token: Some(vec![2]),
            id_token: None,
            access_token_expires_at: now + expires_in,
            created_at: now,
            last_seen_at: now,
            idle_timeout_secs: 86_400,
            expires_at: now + Duration::days(7),
            refresh_lock_until: None,
        }
    }

    #[test]
    fn a_token_is_refreshed_within_sixty_seconds_of_expiry_and_after_it() {
        let now = pymd_domain::now();
        assert!(!needs_refresh(&session(Duration::seconds(61), now), now));
        assert!(needs_refresh(&session(Duration::seconds(60), now), now));
        assert!(needs_refresh(&session(Duration::seconds(1), now), now));
        assert!(needs_refresh(&session(Duration::seconds(-3600), now), now));
    }

    #[test]
    fn the_token_request_ends_well_inside_the_lease() {
        let lease = StdDuration::try_from(LEASE).unwrap_or_default();
        assert!(TOKEN_TIMEOUT * 2 <= lease);
        assert!(TOKEN_TIMEOUT + VERIFY_TIMEOUT + StdDuration::from_secs(2) <= lease);
        assert!(POLL_INTERVAL < TOKEN_TIMEOUT);
    }
}
