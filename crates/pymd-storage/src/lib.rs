//! PyMD's storage: one [`Store`] trait that the server talks to, with SQLite (embedded default)
//! and PostgreSQL (at scale) implementations that pass the same conformance suite. Everything the
//! API needs to stay consistent under concurrency (optimistic versions, idempotent upserts, keyset
//! paging) is guaranteed here, inside one statement or transaction, never by the caller.
//!
//! Both back ends share one implementation of [`Store`] (`sql`: the statements, the row mapping
//! and every operation, written once); each only runs statements — PostgreSQL through sqlx's
//! pool, SQLite through `rusqlite` on the calling thread (see [`sqlite`] for why).

use async_trait::async_trait;
use pymd_domain::{
    Document, DocumentDraft, DocumentId, PageRequest, ProfilePatch, SyncUser, User, UserId,
};
use time::OffsetDateTime;

mod connect;
mod error;
mod page;
pub mod postgres;
mod sql;
pub mod sqlite;

pub use connect::{ConnectOptions, connect, migrate};

/// What went wrong in storage. The server maps these to HTTP statuses: `NotFound` → 404,
/// `VersionConflict` → 412, `Unavailable` → 503, `Internal` → 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or is not the caller's).
    #[error("not found")]
    NotFound,
    /// An optimistic update lost: the stored version is not the expected one.
    #[error("version conflict: stored version is {current}")]
    VersionConflict { current: i64 },
    /// The database cannot be reached right now (connection refused, pool timed out, I/O error).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database URL or options are wrong (reported at start).
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// Anything else (a bug or a broken database); details are for the log only.
    #[error("database error: {0}")]
    Internal(String),
}

/// One page of a user's documents, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentPage {
    /// Summaries, not whole documents: a page of 100 stays small however long the contents are.
    pub documents: Vec<pymd_domain::DocumentSummary>,
    /// Present when more documents follow.
    pub next_cursor: Option<pymd_domain::Cursor>,
}

/// An audit event to record (spec §7): who did what, from where, with what outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// Event name, e.g. `login_success`, `sync_user`, `profile_update`, `rate_limited`.
    pub event: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// The IdP subject, when known.
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Extra structured detail (never tokens or secrets).
    pub detail: serde_json::Value,
}

/// A recorded audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: i64,
    pub at: OffsetDateTime,
    pub event: NewAuditEvent,
}

/// Filter for listing audit events, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub subject: Option<String>,
    pub event: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Only events with an id below this (keyset paging).
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Length of a session id hash (SHA-256).
pub const SESSION_HASH_LEN: usize = 32;

/// A web session to create (spec §5). The caller hashes the random id it gives the browser and
/// encrypts the IdP tokens; the store never sees either in the clear.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 of the session id (exactly [`SESSION_HASH_LEN`] bytes); the primary key.
    pub id_hash: Vec<u8>,
    /// The signed-in user.
    pub user_id: UserId,
    /// The IdP subject (`sub`) the session was opened for.
    pub subject: String,
    /// The IdP's session id (`sid` of the ID token), for logout hints.
    pub idp_sid: Option<String>,
    /// The encrypted access token.
    pub access_token: Vec<u8>,
    /// The encrypted refresh token, when the IdP issued one.
    pub refresh_token: Option<Vec<u8>>,
    /// The encrypted ID token.
    pub id_token: Option<Vec<u8>>,
    /// When the access token expires.
    pub access_token_expires_at: OffsetDateTime,
    /// When the session was created (also its first `last_seen_at`).
    pub created_at: OffsetDateTime,
    /// Inactivity after which the session ends, in seconds (> 0).
    pub idle_timeout_secs: i64,
    /// Absolute end of the session, whatever the activity.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("user_id", &self.user_id)
            .field("subject", &self.subject)
            .field("access_token_expires_at", &self.access_token_expires_at)
            .field("created_at", &self.created_at)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A stored web session: what was created plus the last activity.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: Vec<u8>,
    pub user_id: UserId,
    pub subject: String,
    pub idp_sid: Option<String>,
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub id_token: Option<Vec<u8>>,
    pub access_token_expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    /// Last request seen (updated by [`Store::touch_session`]).
    pub last_seen_at: OffsetDateTime,
    pub idle_timeout_secs: i64,
    pub expires_at: OffsetDateTime,
    /// Until when an access-token refresh lease is held (see
    /// [`Store::try_lock_session_refresh`]); `None` when nobody holds one.
    pub refresh_lock_until: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .field("subject", &self.subject)
            .field("access_token_expires_at", &self.access_token_expires_at)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("expires_at", &self.expires_at)
            .field("refresh_lock_until", &self.refresh_lock_until)
            .finish_non_exhaustive()
    }
}

/// The tokens a completed access-token refresh stores (all encrypted by the caller, like
/// [`NewSession`]'s).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRefresh {
    /// The new encrypted access token.
    pub access_token: Vec<u8>,
    /// The new encrypted refresh token (IdPs that rotate always send one); `None` keeps the
    /// stored one.
    pub refresh_token: Option<Vec<u8>>,
    /// The new encrypted ID token; `None` keeps the stored one.
    pub id_token: Option<Vec<u8>>,
    /// When the new access token expires.
    pub access_token_expires_at: OffsetDateTime,
}

impl std::fmt::Debug for SessionRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRefresh")
            .field("refresh_token", &self.refresh_token.is_some())
            .field("id_token", &self.id_token.is_some())
            .field("access_token_expires_at", &self.access_token_expires_at)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// When inactivity ends the session: `last_seen_at` + the idle timeout.
    pub fn idle_expires_at(&self) -> OffsetDateTime {
        self.last_seen_at + time::Duration::seconds(self.idle_timeout_secs)
    }

    /// Whether the session has ended at `now` (idle timeout or absolute lifetime reached).
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at || now >= self.idle_expires_at()
    }
}

/// Checks a session hash has the right length.
pub(crate) fn check_hash(what: &'static str, id_hash: &[u8]) -> Result<(), StoreError> {
    if id_hash.len() == SESSION_HASH_LEN {
        Ok(())
    } else {
        Err(StoreError::Internal(format!(
            "{what}: a session hash must be {SESSION_HASH_LEN} bytes"
        )))
    }
}

/// A sign-in started by a browser app through `POST /api/v1/auth/authorize` (the SPA flow), kept
/// server-side until its callback spends it: the callback can then check the `state` it was
/// given (stored as its SHA-256 only) and the ID token's `nonce`, and that the code is redeemed
/// for the redirect URI it was issued to.
#[derive(Clone, PartialEq, Eq)]
pub struct SpaTransaction {
    /// SHA-256 of the `state` handed to the app.
    pub state_hash: Vec<u8>,
    pub nonce: String,
    /// The app's PKCE challenge (S256), as sent to the IdP.
    pub code_challenge: String,
    pub redirect_uri: String,
    pub return_to: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for SpaTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpaTransaction")
            .field("redirect_uri", &self.redirect_uri)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// One refresh token of a browser app's grant (the SPA flow), known by its SHA-256 only. Every
/// token a grant has had stays recorded until the grant ends, so that a reused, already rotated
/// token is still recognised — counted against its user's refresh limit and passed on to the
/// IdP, which detects the reuse and revokes the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaGrantToken {
    /// SHA-256 of the refresh token.
    pub token_hash: Vec<u8>,
    /// The grant (the family of rotated tokens) this token belongs to.
    pub grant_id: uuid::Uuid,
    pub user_id: UserId,
    pub subject: String,
    /// The IdP session (`sid` of the ID token) the grant was issued in.
    pub idp_sid: Option<String>,
    pub created_at: OffsetDateTime,
}

/// The storage the server needs. Implementations must be safe to share between requests and
/// between several app instances on one database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks the database answers (readiness).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates or updates the user with this `auth0_id`, in one statement (idempotent: the same
    /// sync twice leaves one row). Fields that are `None` keep their stored value.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn upsert_user(&self, user: &SyncUser) -> Result<User, StoreError>;

    /// Returns the user with this `auth0_id`, creating a bare record if there is none (the
    /// just-in-time creation on a first authenticated request). Concurrent calls for one new
    /// subject create exactly one row.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn ensure_user(&self, auth0_id: &str) -> Result<User, StoreError>;

    /// The user with this `auth0_id`, if any.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn find_user_by_auth0_id(&self, auth0_id: &str) -> Result<Option<User>, StoreError>;

    /// Applies a validated profile patch to a user.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user does not exist; otherwise as above.
    async fn update_profile(&self, id: UserId, patch: &ProfilePatch) -> Result<User, StoreError>;

    /// Users, oldest first, keyset-paged by id (`after` excluded).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn list_users(&self, after: Option<UserId>, limit: u32) -> Result<Vec<User>, StoreError>;

    /// Creates a document owned by `owner`, version 1.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn create_document(
        &self,
        owner: UserId,
        draft: &DocumentDraft,
    ) -> Result<Document, StoreError>;

    /// The document with this id, whoever owns it (the caller checks ownership).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn get_document(&self, id: DocumentId) -> Result<Option<Document>, StoreError>;

    /// One page of `owner`'s documents, newest first by `(created_at, id)`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn list_documents(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> Result<DocumentPage, StoreError>;

    /// Replaces title and content of `owner`'s document, bumping its version, atomically. With
    /// `expected_version`, the update applies only if the stored version still equals it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no such document belongs to `owner`;
    /// [`StoreError::VersionConflict`] when `expected_version` is stale (nothing is changed).
    async fn update_document(
        &self,
        id: DocumentId,
        owner: UserId,
        draft: &DocumentDraft,
        expected_version: Option<i64>,
    ) -> Result<Document, StoreError>;

    /// Deletes `owner`'s document. Returns whether a row was deleted.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn delete_document(&self, id: DocumentId, owner: UserId) -> Result<bool, StoreError>;

    /// Appends an audit event (there is no way to change or delete one).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn record_audit(&self, event: &NewAuditEvent) -> Result<(), StoreError>;

    /// Audit events matching the filter, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;

    /// Stores a new web session (its `last_seen_at` is its `created_at`).
    ///
    /// # Errors
    /// [`StoreError::Internal`] when a session with this hash already exists (a fresh 256-bit
    /// id never collides, so this only refuses reuse), for a hash that is not
    /// [`SESSION_HASH_LEN`] bytes, an unknown user or a non-positive idle timeout;
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;

    /// The session with this id hash, whether or not it has expired (check
    /// [`Session::is_expired`]).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn find_session(&self, id_hash: &[u8]) -> Result<Option<Session>, StoreError>;

    /// Records activity: sets `last_seen_at` to `now` if that is later than the stored value
    /// (never moves it back, never extends the absolute `expires_at`). Returns whether the
    /// session exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn touch_session(&self, id_hash: &[u8], now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Deletes the session. Returns whether a row was deleted (deleting twice is not an error).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, StoreError>;

    /// Deletes the sessions an IdP logout names (OpenID Connect Back-Channel Logout): with a
    /// `sid`, the sessions opened in that IdP session (and, when `subject` is given too, only
    /// those of that subject); with only a `subject`, every session of that subject. Returns how
    /// many were deleted. Naming neither deletes nothing (0).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn delete_sessions_by_idp(
        &self,
        idp_sid: Option<&str>,
        subject: Option<&str>,
    ) -> Result<u64, StoreError>;

    /// Deletes every session that has expired at `now` (idle or absolute) and returns how many.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// How many sessions are live at `now` (for `pymd_active_sessions`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Internal`].
    async fn count_active_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// Takes the session's access-token refresh lease for `lease` from now, in one conditional
    /// statement: it succeeds only when nobody holds the lease (never taken, released, or run out),
    /// so of any number of concurrent callers — in one process or in several app instances on one
    /// database — exactly one wins. "Now" is the **database's** clock, both for the end of the new
    /// lease and for whether the old one has run out: instances whose clocks disagree still agree
    /// on who holds the lease. A lease left by a crashed holder runs out by itself. A lease of zero
    /// or less is taken and has already run out (tests use it to leave a crashed holder's lease).
    ///
    /// Returns the end of the lease as stored — the value that releases it
    /// ([`Store::release_session_refresh`]) — or `None` when the lease is held or the session does
    /// not exist.
    ///
    /// # Errors
    /// [`StoreError::Internal`] for a hash that is not [`SESSION_HASH_LEN`] bytes; [`StoreError::Unavailable`] when the database cannot be reached.
    async fn try_lock_session_refresh(
        &self,
        id_hash: &[u8],
        lease: time::Duration,
    ) -> Result<Option<OffsetDateTime>, StoreError>;

    /// Stores the tokens of a completed refresh and releases the lease, as a compare-and-swap:
    /// only if the stored `access_token_expires_at` still equals `expected_access_token_expires_at`
    /// (the value the refresh started from). Returns whether the row was changed; `false` (a
    /// stale expected value or no such session) changes nothing, not even the lease.
    ///
    /// # Errors
    /// [`StoreError::Internal`] for a hash that is not [`SESSION_HASH_LEN`] bytes; [`StoreError::Unavailable`] when the database cannot be reached.
    async fn complete_session_refresh(
        &self,
        id_hash: &[u8],
        refresh: &SessionRefresh,
        expected_access_token_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Releases the refresh lease taken until `lease_until` without changing the tokens (the
    /// refresh failed and the session is kept). Only the holder's own lease is released: if it ran
    /// out and another caller has taken the lease since, that lease stays. Returns whether a lease
    /// was released.
    ///
    /// # Errors
    /// [`StoreError::Internal`] for a hash that is not [`SESSION_HASH_LEN`] bytes; [`StoreError::Unavailable`] when the database cannot be reached.
    async fn release_session_refresh(
        &self,
        id_hash: &[u8],
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Keeps a new SPA sign-in transaction (and drops those that have expired).
    ///
    /// # Errors
    /// [`StoreError::Internal`] for a `state_hash` that is not 32 bytes or a `state` already
    /// stored; [`StoreError::Unavailable`] when the database cannot be reached.
    async fn create_spa_transaction(&self, tx: &SpaTransaction) -> Result<(), StoreError>;

    /// Spends the transaction of `state_hash`, once: it is deleted and returned if it had not
    /// expired at `now`. Unknown, spent or expired: `None`.
    ///
    /// # Errors
    /// [`StoreError::Internal`] for a hash that is not 32 bytes; [`StoreError::Unavailable`] when
    /// the database cannot be reached.
    async fn take_spa_transaction(
        &self,
        state_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<SpaTransaction>, StoreError>;

    /// Records a refresh token of an SPA grant (its first, or the one a refresh rotated to).
    ///
    /// # Errors
    /// [`StoreError::Internal`] for a hash that is not 32 bytes, a token already recorded or an
    /// unknown user; [`StoreError::Unavailable`] when the database cannot be reached.
    async fn record_spa_grant_token(&self, token: &SpaGrantToken) -> Result<(), StoreError>;

    /// The recorded refresh token of `token_hash`, if its grant has not ended.
    ///
    /// # Errors
    /// [`StoreError::Internal`] for a hash that is not 32 bytes; [`StoreError::Unavailable`] when
    /// the database cannot be reached.
    async fn find_spa_grant_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<SpaGrantToken>, StoreError>;

    /// Ends an SPA grant: forgets every token it had. Returns how many were forgotten.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn end_spa_grant(&self, grant_id: uuid::Uuid) -> Result<u64, StoreError>;

    /// Ends the SPA grants an IdP logout names, as [`Store::delete_sessions_by_idp`] selects
    /// sessions: with a `sid`, the grants issued in that IdP session (only that `subject`'s when
    /// given too); with only a `subject`, all of that subject's. Every token of such a grant is
    /// forgotten. Returns how many tokens were; naming neither ends nothing (0).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn end_spa_grants_by_idp(
        &self,
        idp_sid: Option<&str>,
        subject: Option<&str>,
    ) -> Result<u64, StoreError>;
}

/// A refresh lease in microseconds, bounded to a day either way (a lease is seconds long; the bound
/// keeps the database's interval arithmetic far from overflow).
pub(crate) fn lease_micros(lease: time::Duration) -> i64 {
    let day = time::Duration::DAY;
    i64::try_from(lease.clamp(-day, day).whole_microseconds()).unwrap_or(0)
}
