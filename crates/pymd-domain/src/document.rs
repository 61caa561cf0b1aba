//! Documents: what a user writes. The rules on titles and content are checked once, here, when a
//! draft is made; storage only ever sees a valid [`DocumentDraft`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{DomainError, UserId};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Largest content, in bytes (1 MiB).
pub const MAX_CONTENT_BYTES: usize = 1024 * 1024;

/// A document's id: a random UUID, so ids cannot be guessed or enumerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocumentId(pub Uuid);

impl DocumentId {
    /// A new random id.
    pub fn new_random() -> Self {
        DocumentId(Uuid::new_v4())
    }

    /// Parses a path segment. Errors with [`DomainError::Invalid`] on `id` when it is not a UUID.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Uuid::try_parse(s)
            .map(DocumentId)
            .map_err(|_| DomainError::invalid("id", "must be a UUID"))
    }
}

impl std::fmt::Display for DocumentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: DocumentId,
    pub owner_id: UserId,
    pub title: String,
    pub content: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Starts at 1 and grows by one with every update; the API's `ETag` and `If-Match` use it.
    pub version: i64,
}

/// A document as lists show it: everything but the content, which can be up to 1 MiB, and in
/// its place a short plain-text excerpt ([`crate::markdown::excerpt`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSummary {
    pub id: DocumentId,
    pub owner_id: UserId,
    pub title: String,
    /// The content's first words as plain text, at most [`EXCERPT_CHARS`] characters.
    pub excerpt: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

/// The longest excerpt, in characters.
pub const EXCERPT_CHARS: usize = 200;
/// How much of a document's start a list reads to make its excerpt (in characters): enough for
/// [`EXCERPT_CHARS`] of text under any reasonable amount of Markdown markup.
pub const EXCERPT_SOURCE_CHARS: usize = 2000;

impl DocumentSummary {
    /// The summary of a whole document.
    pub fn of(d: &Document) -> Self {
        Self::from_parts(d.clone(), &d.content)
    }

    /// The summary of a document whose content is given separately (the storage reads only its
    /// first [`EXCERPT_SOURCE_CHARS`] characters); `d.content` is not used.
    pub fn from_parts(d: Document, content_start: &str) -> Self {
        let excerpt = Self::excerpt_of(content_start);
        Self::with_excerpt(d, excerpt)
    }

    /// The excerpt a summary of `content_start` carries.
    pub fn excerpt_of(content_start: &str) -> String {
        crate::markdown::excerpt(content_start, EXCERPT_CHARS)
    }

    /// The summary of `d` with an excerpt already made by [`DocumentSummary::excerpt_of`] (e.g.
    /// remembered for this version); `d.content` is not used.
    pub fn with_excerpt(d: Document, excerpt: String) -> Self {
        DocumentSummary {
            excerpt,
            id: d.id,
            owner_id: d.owner_id,
            title: d.title,
            created_at: d.created_at,
            updated_at: d.updated_at,
            version: d.version,
        }
    }
}

impl Document {
    /// The strong entity tag for this version, quotes included (`"3"`).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// A validated title and content, ready to be created or to replace a document's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentDraft {
    title: String,
    content: String,
}

impl DocumentDraft {
    /// Validates a title and content.
    ///
    /// # Errors
    /// - [`DomainError::TooLarge`] on `content` over [`MAX_CONTENT_BYTES`];
    /// - [`DomainError::Invalid`] on `title` when, once trimmed, it is empty, longer than
    ///   [`MAX_TITLE_CHARS`] characters, or holds control characters.
    pub fn new(title: &str, content: String) -> Result<Self, DomainError> {
        if content.len() > MAX_CONTENT_BYTES {
            return Err(DomainError::TooLarge {
                field: "content",
                limit: MAX_CONTENT_BYTES,
            });
        }
        let title = title.trim();
        if title.is_empty() {
            return Err(DomainError::invalid("title", "must not be empty"));
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(DomainError::invalid(
                "title",
                format!("must be at most {MAX_TITLE_CHARS} characters"),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "title",
                "must not contain control characters",
            ));
        }
        if content.contains('\0') {
            return Err(DomainError::invalid("content", "must not contain NUL"));
        }
        Ok(DocumentDraft {
            title: title.to_owned(),
            content,
        })
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn content(&self) -> &str {
        &self.content
    }
}

/// How an update's `If-Match` is to be honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionCheck {
    /// No `If-Match`: last writer wins.
    Any,
    /// `If-Match: "N"`: the update applies only when the stored version is still N.
    Exactly(i64),
}

impl VersionCheck {
    /// Reads an `If-Match` header value: `*`, or one or more entity tags `"N"` (weak tags never
    /// match, RFC 9110 §13.1.1 uses the strong comparison).
    ///
    /// # Errors
    /// [`DomainError::Invalid`] on `If-Match` when the value is not a list of our tags.
    pub fn from_if_match(value: Option<&str>) -> Result<Vec<VersionCheck>, DomainError> {
        let Some(value) = value else {
            return Ok(vec![VersionCheck::Any]);
        };
        let value = value.trim();
        if value == "*" {
            return Ok(vec![VersionCheck::Any]);
        }
        let mut out = Vec::new();
        for tag in value.split(',').map(str::trim) {
            if tag.starts_with("W/") {
                // A weak tag never matches strongly; keep an impossible version.
                out.push(VersionCheck::Exactly(-1));
                continue;
            }
            let inner = tag
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .ok_or_else(|| DomainError::invalid("If-Match", "must be \"*\" or entity tags"))?;
            let version = inner.parse::<i64>().unwrap_or(-1);
            out.push(VersionCheck::Exactly(version));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_trimmed_and_must_not_be_empty() {
        assert_eq!(
            DocumentDraft::new("  Notes ", String::new())
                .unwrap()
                .title(),
            "Notes"
        );
        let err = DocumentDraft::new("   ", String::new()).unwrap_err();
        assert_eq!(err.field(), "title");
    }

    #[test]
    fn a_title_may_have_200_characters_but_not_201() {
        assert!(DocumentDraft::new(&"é".repeat(200), String::new()).is_ok());
        assert!(matches!(
            DocumentDraft::new(&"é".repeat(201), String::new()),
            Err(DomainError::Invalid { field: "title", .. })
        ));
    }

    #[test]
    fn content_of_one_mebibyte_is_accepted_and_one_byte_more_is_too_large() {
        assert!(DocumentDraft::new("t", "a".repeat(MAX_CONTENT_BYTES)).is_ok());
        assert_eq!(
            DocumentDraft::new("t", "a".repeat(MAX_CONTENT_BYTES + 1)),
            Err(DomainError::TooLarge {
                field: "content",
                limit: MAX_CONTENT_BYTES
            })
        );
    }

    #[test]
    fn a_title_with_control_characters_is_refused() {
        assert!(DocumentDraft::new("a\u{0}b", String::new()).is_err());
        assert!(DocumentDraft::new("a\nb", String::new()).is_err());
    }

    #[test]
    fn if_match_accepts_star_and_strong_tags_only() {
        assert_eq!(
            VersionCheck::from_if_match(Some("*")).unwrap(),
            vec![VersionCheck::Any]
        );
        assert_eq!(
            VersionCheck::from_if_match(Some("\"3\", \"4\"")).unwrap(),
            vec![VersionCheck::Exactly(3), VersionCheck::Exactly(4)]
        );
        assert_eq!(
            VersionCheck::from_if_match(Some("W/\"3\"")).unwrap(),
            vec![VersionCheck::Exactly(-1)]
        );
        assert!(VersionCheck::from_if_match(Some("3")).is_err());
    }

    #[test]
    fn document_ids_must_be_uuids() {
        for bad in ["../x", "1 OR 1=1", "", "%2e%2e%2f", "abc\0"] {
            assert!(DocumentId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
