//! The application layer both faces call: the JSON API (`crate::routes`) and the web pages
//! (`crate::web`). Each flow is written here once — documents with their ownership and
//! versioning rules, a profile change (the IdP first, then the local store), the non-HTTP part
//! of a web sign-in, the post-login sync and the IdP's log stream — and the faces only translate
//! HTTP into these calls and [`ServiceError`] back into their own answer (`ApiError` for JSON,
//! an error page for HTML).
//!
//! Functions take the shared [`AppState`](crate::state::AppState) and domain values (a
//! [`UserId`](pymd_domain::UserId), a [`User`](pymd_domain::User), raw field text), never an
//! HTTP type; permission checks stay with the faces' extractors, which know how to refuse.

pub mod documents;
pub mod log_stream;
pub mod login;
pub mod profile;

use pymd_domain::DomainError;
use pymd_storage::StoreError;

use crate::management::ManagementError;

/// Why an application-layer call failed. The faces map each variant to their answer; causes
/// are logged there, once.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// An input failed validation (names the field).
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// No such document (or a malformed id).
    #[error("not found")]
    NotFound,
    /// The document exists but belongs to another user.
    #[error("the document belongs to another user")]
    NotOwner,
    /// The document is no longer at the version the caller expected; nothing changed.
    #[error("the document changed since it was read")]
    VersionMismatch,
    /// The IdP's Management API refused or failed; nothing changed.
    #[error("management API: {0}")]
    Management(#[from] ManagementError),
    /// The IdP took a profile change but the local store did not: the IdP stays the source of
    /// truth and the local copy catches up on the next change or sign-in sync.
    #[error("the profile was changed at the IdP but not stored locally: {0}")]
    ProfileNotStored(StoreError),
    /// A log-stream body that is neither a JSON array nor newline-delimited JSON.
    #[error("the body must be a JSON array or newline-delimited JSON of log events")]
    MalformedLogBatch,
    /// The store failed (unavailable or a bug).
    #[error("storage: {0}")]
    Store(StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::VersionConflict { .. } => ServiceError::VersionMismatch,
            other => ServiceError::Store(other),
        }
    }
}

/// Result alias of the layer.
pub type ServiceResult<T> = Result<T, ServiceError>;
