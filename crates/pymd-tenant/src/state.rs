//! The tenant as its handlers see it: the validated configuration and runtime options, and
//! one owner per kind of data (keys, users, codes, refresh tokens, sessions, login
//! transactions, brute-force counters, opaque tokens, faults, mailbox, Management API rate
//! window, log). Each owner keeps its own lock; see `store`.

use std::sync::Arc;

use crate::actions::PostLoginFlow;
use crate::clock::Clock;
use crate::config::TenantConfig;
use crate::keys::SigningKeys;
use crate::logs::LogSink;
use crate::passwords::PasswordHash;
use crate::store::brute_force::BruteForce;
use crate::store::codes::AuthCodes;
use crate::store::faults::Faults;
use crate::store::ip_throttle::IpThrottle;
use crate::store::mailbox::Mailbox;
use crate::store::opaque::OpaqueTokens;
use crate::store::rate_window::RateWindow;
use crate::store::refresh::RefreshTokens;
use crate::store::sessions::{Lifetimes, Sessions};
use crate::store::transactions::Transactions;
use crate::store::users::UserStore;

/// The handle every handler gets.
pub type AppState = Arc<Tenant>;

/// Runtime options copied out of `TenantOptions`.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// `/__dev/*` enabled.
    pub dev_controls: bool,
    /// Management API requests per second (None = unlimited).
    pub management_rate_limit_per_sec: Option<u32>,
}

/// Everything the tenant knows.
pub struct Tenant {
    /// Validated configuration.
    pub cfg: TenantConfig,
    /// Issuer (ends in `/`).
    pub issuer: String,
    /// Whether the issuer is https (cookie flags).
    pub secure: bool,
    /// Options.
    pub opts: RuntimeOptions,
    /// Tenant clock.
    pub clock: Clock,
    /// Signing keys.
    pub keys: SigningKeys,
    /// Users.
    pub users: UserStore,
    /// Authorization codes.
    pub codes: AuthCodes,
    /// Refresh tokens and their families.
    pub refresh: RefreshTokens,
    /// SSO sessions.
    pub sessions: Sessions,
    /// Login transactions (the `state` of `/u/login`).
    pub transactions: Transactions,
    /// Failed-login counters.
    pub brute_force: BruteForce,
    /// Suspicious-IP throttling's per-IP budgets.
    pub ip_throttle: IpThrottle,
    /// Opaque `/userinfo`-only access tokens.
    pub opaque: OpaqueTokens,
    /// Injected faults.
    pub faults: Faults,
    /// Dev mailbox.
    pub mailbox: Mailbox,
    /// Management API rate window.
    pub rate: RateWindow,
    /// Log events.
    pub logs: LogSink,
    /// The Actions bound to `post-login`.
    pub post_login: PostLoginFlow,
    /// Hash checked for unknown users so timing matches known users.
    pub dummy_hash: PasswordHash,
    /// Key of the login forms' CSRF tokens (random per start).
    pub csrf_key: aws_lc_rs::hmac::Key,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// The tenant's SSO session lifetimes.
    pub fn session_lifetimes(&self) -> Lifetimes {
        Lifetimes {
            absolute: self.cfg.tenant.session_lifetime_secs,
            idle: self.cfg.tenant.idle_session_lifetime_secs,
        }
    }

    /// A client's display name (empty for an unknown client).
    pub fn client_name(&self, client_id: &str) -> String {
        self.cfg
            .client(client_id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }
}
