//! Expiry sweep of the tenant's in-memory data (authorization codes, login transactions, SSO
//! sessions, opaque `/userinfo` tokens, brute-force counters, refresh-token families and their
//! tokens, dev-mailbox mails whose verification link has expired). Every read path already
//! refuses an expired entry; the sweep only reclaims memory. It runs on a timer task owned by
//! the tenant ([`spawn`]), asking each owner to sweep itself under its own lock, judged by the
//! tenant clock (so `/__dev/clock` shifts count).

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::state::Tenant;

/// How often the timer task sweeps.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Authorization codes past their retention.
    pub codes: usize,
    /// Login transactions past their lifetime.
    pub transactions: usize,
    /// SSO sessions past their absolute or idle lifetime.
    pub sessions: usize,
    /// Opaque `/userinfo` tokens past `exp`.
    pub opaque: usize,
    /// Brute-force counters that have lapsed.
    pub brute: usize,
    /// Refresh-token families revoked or past their lifetimes.
    pub families: usize,
    /// Refresh tokens whose family is gone.
    pub refresh_tokens: usize,
    /// Dev-mailbox mails whose verification link has expired.
    pub mails: usize,
}

/// One pass over every owner.
pub async fn sweep(state: &Tenant) -> Swept {
    let now = state.clock.unix();
    let (families, refresh_tokens) = state
        .refresh
        .sweep(now, |client| {
            state.cfg.client(client).map(|c| &c.refresh_token)
        })
        .await;
    Swept {
        codes: state.codes.sweep(now).await,
        transactions: state.transactions.sweep(now).await,
        sessions: state.sessions.sweep(state.session_lifetimes(), now).await,
        opaque: state.opaque.sweep(now).await,
        brute: state.brute_force.sweep(now).await,
        families,
        refresh_tokens,
        mails: state.mailbox.sweep(now).await,
    }
}

/// Starts the timer task; it ends by itself once the tenant is dropped (it holds only a weak
/// reference) and is aborted by `DevTenant::shutdown`.
pub fn spawn(state: &Arc<Tenant>) -> tokio::task::JoinHandle<()> {
    let weak: Weak<Tenant> = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; nothing has expired yet
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else {
                return;
            };
            let swept = sweep(&state).await;
            if swept != Swept::default() {
                tracing::debug!(?swept, "dev tenant swept expired entries");
            }
        }
    })
}
