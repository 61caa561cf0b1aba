//! PyMD's storage: one [`Store`] trait that the server talks to, with SQLite (embedded default)
//! and PostgreSQL (at scale) implementations that pass the same conformance suite. Everything the
//! API needs to stay consistent under concurrency (optimistic versions, idempotent upserts, keyset
//! paging) is guaranteed here, inside one statement or transaction, never by the caller.

use async_trait::async_trait;
use pymd_domain::{
    Document, DocumentDraft, DocumentId, PageRequest, ProfilePatch, SyncUser, User, UserId,
};
use time::OffsetDateTime;

mod connect;
mod error;
mod page;
pub mod postgres;
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
    pub documents: Vec<Document>,
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
}
