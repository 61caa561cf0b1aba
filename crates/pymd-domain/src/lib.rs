//! PyMD's domain core: the documents, users and permissions the service is about, and the rules
//! that hold whatever the transport or the database. Nothing here knows about HTTP or SQL, so the
//! same rules apply to the JSON API, the web pages and every storage back end.

pub mod document;
pub mod markdown;
pub mod paging;
pub mod permission;
pub mod user;

pub use document::{Document, DocumentDraft, DocumentId, DocumentSummary, VersionCheck};
pub use paging::{Cursor, CursorError, PageRequest};
pub use permission::Permission;
pub use user::{ProfilePatch, SyncUser, User, UserId};

use std::borrow::Cow;

/// A rule of the domain that an input broke. `field` names the offending input (JSON field name)
/// so every layer above can tell the client exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The value is malformed or out of range (the API answers 422 `validation_failed`).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: Cow<'static, str>,
    },
    /// The value is larger than the service accepts (the API answers 413 `payload_too_large`).
    #[error("{field} is larger than {limit} bytes")]
    TooLarge { field: &'static str, limit: usize },
}

impl DomainError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        DomainError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The input field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            DomainError::Invalid { field, .. } | DomainError::TooLarge { field, .. } => field,
        }
    }
}

/// The current time, truncated to whole microseconds: the precision both SQLite and PostgreSQL
/// keep, so a value read back compares equal to the value written (keyset paging relies on it).
pub fn now() -> time::OffsetDateTime {
    truncate_to_micros(time::OffsetDateTime::now_utc())
}

/// Truncates a timestamp to whole microseconds, in UTC.
pub fn truncate_to_micros(t: time::OffsetDateTime) -> time::OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.microsecond();
    t.replace_microsecond(micros).unwrap_or(t)
}
