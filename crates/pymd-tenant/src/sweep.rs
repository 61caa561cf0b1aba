//! Expiry sweep of the tenant's in-memory maps (authorization codes, login transactions, SSO
//! sessions, opaque `/userinfo` tokens, brute-force counters, refresh-token families and their
//! tokens, dev-mailbox mails whose verification link has expired). Every read path already refuses an expired entry; the sweep only reclaims memory.
//! It runs on a timer task owned by the tenant ([`spawn`]), each pass one `retain` per map
//! under that map's lock alone, judged by the tenant clock (so `/__dev/clock` shifts count).

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::state::{FailedLogins, Tenant};

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

/// One pass over every map.
pub async fn sweep(state: &Tenant) -> Swept {
    let now = state.clock.unix();
    let t = &state.cfg.tenant;
    let codes = retain(&mut *state.codes.lock().await, |c| {
        now - c.issued_at <= crate::token::CODE_RETENTION
    });
    let transactions = retain(&mut *state.transactions.lock().await, |t| {
        now - t.created_at <= crate::authorize::TRANSACTION_TTL
    });
    let sessions = retain(&mut *state.sessions.lock().await, |s| {
        now - s.created_at <= t.session_lifetime_secs
            && now - s.last_active <= t.idle_session_lifetime_secs
    });
    let opaque = retain(&mut *state.opaque.lock().await, |o| o.exp > now);
    let brute = retain(&mut *state.brute.lock().await, |f: &FailedLogins| {
        f.current(now) > 0
    });
    let mails = {
        let mut mailbox = state.mailbox.lock().await;
        let before = mailbox.len();
        mailbox.retain(|m| now - m.sent_at <= crate::authorize::EMAIL_TICKET_TTL);
        before - mailbox.len()
    };
    let mut guard = state.refresh.lock().await;
    let store = &mut *guard;
    let families = retain(&mut store.families, |f| {
        let Some(client) = state.cfg.client(&f.client_id) else {
            return false;
        };
        let rt = &client.refresh_token;
        !f.revoked
            && rt
                .token_lifetime_secs
                .is_none_or(|l| now - f.created_at <= l)
            && rt
                .idle_token_lifetime_secs
                .is_none_or(|l| now - f.last_used <= l)
    });
    let live = &store.families;
    let refresh_tokens = retain(&mut store.tokens, |e| live.contains_key(&e.family));
    Swept {
        codes,
        transactions,
        sessions,
        opaque,
        brute,
        families,
        refresh_tokens,
        mails,
    }
}

fn retain<K, V>(map: &mut std::collections::HashMap<K, V>, keep: impl Fn(&V) -> bool) -> usize {
    let before = map.len();
    map.retain(|_, v| keep(v));
    before - map.len()
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
