//! Shared tenant state: configuration, keys, clock and one lock per concern (users, codes,
//! refresh-token families, sessions, login transactions, brute-force counters, faults,
//! mailbox), all in memory except the signing keys.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, RwLock};

use crate::Webhook;
use crate::clock::Clock;
use crate::config::TenantConfig;
use crate::keys::KeyStore;
use crate::logs::LogSink;
use crate::passwords::PasswordHash;
use crate::users::Users;

/// The handle every handler gets.
pub type AppState = Arc<Tenant>;

/// Runtime options copied out of `TenantOptions`.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Post-login sync target.
    pub sync_webhook: Option<Webhook>,
    /// Bound on the post-login call.
    pub action_timeout: Duration,
    /// `/__dev/*` enabled.
    pub dev_controls: bool,
    /// Namespaced roles claim.
    pub roles_claim: String,
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
    pub keys: RwLock<KeyStore>,
    /// Users.
    pub users: RwLock<Users>,
    /// Authorization codes.
    pub codes: Mutex<HashMap<String, AuthCode>>,
    /// Refresh tokens.
    pub refresh: Mutex<RefreshStore>,
    /// SSO sessions by cookie value.
    pub sessions: Mutex<HashMap<String, Session>>,
    /// Login transactions by id (the `state` of `/u/login`).
    pub transactions: Mutex<HashMap<String, Transaction>>,
    /// Failed logins per (identifier, IP).
    pub brute: Mutex<HashMap<(String, Option<IpAddr>), FailedLogins>>,
    /// Opaque `/userinfo`-only access tokens.
    pub opaque: Mutex<HashMap<String, OpaqueToken>>,
    /// Injected faults.
    pub faults: Mutex<Faults>,
    /// Dev mailbox.
    pub mailbox: Mutex<Vec<Mail>>,
    /// Management API rate window.
    pub rate: Mutex<RateWindow>,
    /// Log events.
    pub logs: LogSink,
    /// Outbound client for webhooks.
    pub http: reqwest::Client,
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

/// An issued authorization code.
#[derive(Debug, Clone)]
pub struct AuthCode {
    /// Client.
    pub client_id: String,
    /// Exact redirect_uri of `/authorize`.
    pub redirect_uri: String,
    /// User.
    pub user_id: String,
    /// Session id (`sid`).
    pub sid: String,
    /// Requested scopes.
    pub scope: Vec<String>,
    /// Audience (None = userinfo only).
    pub audience: Option<String>,
    /// Nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// Issued at (unix).
    pub issued_at: i64,
    /// Authentication time.
    pub auth_time: i64,
    /// Already redeemed.
    pub used: bool,
    /// Presented again after its redemption (the family minted from it must be revoked).
    pub reused: bool,
    /// Refresh-token family minted from it (revoked on reuse).
    pub family: Option<String>,
}

/// One refresh token.
#[derive(Debug, Clone)]
pub struct RefreshEntry {
    /// Family id.
    pub family: String,
    /// When it was first exchanged (rotating clients), unix.
    pub used_at: Option<i64>,
    /// Rotation generation (0 for the first token of the family).
    pub generation: u32,
    /// Successors issued from this token (rotating clients) and not rolled back: the first
    /// exchange and any reuse inside the overlap period each count one.
    pub successors: u32,
}

/// A refresh-token family (one grant).
#[derive(Debug, Clone)]
pub struct Family {
    /// Client.
    pub client_id: String,
    /// User.
    pub user_id: String,
    /// Audience.
    pub audience: Option<String>,
    /// Scopes granted at login.
    pub scope: Vec<String>,
    /// Session id.
    pub sid: String,
    /// Authentication time.
    pub auth_time: i64,
    /// Created (unix).
    pub created_at: i64,
    /// Last successful exchange (unix).
    pub last_used: i64,
    /// Revoked.
    pub revoked: bool,
    /// Highest generation issued so far.
    pub latest_generation: u32,
}

/// Refresh tokens (keyed by SHA-256 of the token) and their families.
#[derive(Debug, Default)]
pub struct RefreshStore {
    /// Tokens.
    pub tokens: HashMap<[u8; 32], RefreshEntry>,
    /// Families.
    pub families: HashMap<String, Family>,
}

/// An SSO session (`auth0` cookie).
#[derive(Debug, Clone)]
pub struct Session {
    /// `sid` (32 URL-safe chars).
    pub sid: String,
    /// User.
    pub user_id: String,
    /// Created (unix).
    pub created_at: i64,
    /// Last used (unix).
    pub last_active: i64,
    /// Authentication time.
    pub auth_time: i64,
}

/// A pending `/authorize` waiting for the login form (its forms' CSRF token is derived from
/// the id and the browser's CSRF cookie, see `authorize::csrf_token`).
#[derive(Debug, Clone)]
pub struct Transaction {
    /// The validated request.
    pub req: crate::authorize::AuthRequest,
    /// Created (unix).
    pub created_at: i64,
}

/// Consecutive failed logins for one (identifier, IP) pair.
#[derive(Debug, Clone, Copy)]
pub struct FailedLogins {
    /// How many.
    pub count: u32,
    /// The last one (unix); the count lapses [`FailedLogins::LAPSE_SECS`] after it.
    pub last: i64,
}

impl FailedLogins {
    /// Auth0 lifts a brute-force block 30 days after the last failed attempt.
    pub const LAPSE_SECS: i64 = 30 * 86_400;

    /// The count still in force at `now`.
    pub fn current(&self, now: i64) -> u32 {
        if now - self.last > Self::LAPSE_SECS {
            0
        } else {
            self.count
        }
    }
}

/// An opaque `/userinfo` token.
#[derive(Debug, Clone)]
pub struct OpaqueToken {
    /// User.
    pub user_id: String,
    /// Scopes.
    pub scope: Vec<String>,
    /// Expiry (unix).
    pub exp: i64,
}

/// One injected fault.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct Fault {
    /// Status to answer with (None = healthy).
    #[serde(default)]
    pub status: Option<u16>,
    /// Delay before answering.
    #[serde(default)]
    pub delay_ms: u64,
}

/// Faults per endpoint family.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct Faults {
    /// `/.well-known/jwks.json`.
    #[serde(default)]
    pub jwks: Option<Fault>,
    /// `/oauth/token`.
    #[serde(default)]
    pub token: Option<Fault>,
    /// `/.well-known/openid-configuration`.
    #[serde(default)]
    pub discovery: Option<Fault>,
}

/// A verification mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// The verification link.
    pub link: String,
    /// Sent (unix).
    pub sent_at: i64,
    /// The ticket id.
    pub ticket: String,
    /// User it verifies.
    pub user_id: String,
    /// Already used.
    pub used: bool,
}

/// A fixed one-second window.
#[derive(Debug, Default)]
pub struct RateWindow {
    /// Window start (unix secs).
    pub second: i64,
    /// Requests in it.
    pub count: u32,
}
