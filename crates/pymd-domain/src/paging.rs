//! Keyset paging for document lists: newest first, ordered by `(created_at, id)` descending, with
//! an opaque cursor naming the last row of the previous page. Unlike offsets, the cost of a page
//! does not grow with its depth and rows inserted meanwhile never shift a page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::DomainError;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;

/// The position after which the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `created_at` of the last row seen, in microseconds since the Unix epoch.
    pub created_at_micros: i64,
    pub id: Uuid,
}

/// Why a cursor could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor is not one this service issued")]
pub struct CursorError;

impl Cursor {
    /// The cursor that resumes after a row.
    pub fn after(created_at: OffsetDateTime, id: Uuid) -> Self {
        Cursor {
            created_at_micros: micros(created_at),
            id,
        }
    }

    /// The opaque text form given to clients.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.created_at_micros.to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a cursor from its text form.
    ///
    /// # Errors
    /// [`CursorError`] when the text is not exactly one of ours.
    pub fn decode(text: &str) -> Result<Self, CursorError> {
        if text.len() != 32 {
            return Err(CursorError);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| CursorError)?;
        let (ts, id) = bytes.split_at_checked(8).ok_or(CursorError)?;
        let ts = i64::from_be_bytes(ts.try_into().map_err(|_| CursorError)?);
        let id = Uuid::from_slice(id).map_err(|_| CursorError)?;
        Ok(Cursor {
            created_at_micros: ts,
            id,
        })
    }
}

/// Microseconds since the Unix epoch.
pub fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// The timestamp for a number of microseconds since the Unix epoch.
pub fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// Builds a page request from the raw `limit` and `cursor` query values.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] on `limit` (not an integer in 1–100) or `cursor` (not ours).
    pub fn new(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, DomainError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| {
                    DomainError::invalid(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let after = cursor
            .map(|c| Cursor::decode(c).map_err(|_| DomainError::invalid("cursor", "is invalid")))
            .transpose()?;
        Ok(PageRequest { limit, after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_cursor_survives_its_text_form(ts in any::<i64>(), id in any::<u128>()) {
            let c = Cursor { created_at_micros: ts, id: Uuid::from_u128(id) };
            prop_assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        }

        #[test]
        fn arbitrary_text_never_panics_the_cursor_reader(s in ".{0,64}") {
            let _ = Cursor::decode(&s);
        }
    }

    #[test]
    fn limits_outside_1_to_100_are_refused() {
        for bad in ["0", "101", "-1", "1000000", "abc", ""] {
            assert_eq!(
                PageRequest::new(Some(bad), None).unwrap_err().field(),
                "limit",
                "{bad}"
            );
        }
        assert_eq!(PageRequest::new(None, None).unwrap().limit, 50);
        assert_eq!(PageRequest::new(Some("100"), None).unwrap().limit, 100);
    }

    #[test]
    fn a_forged_cursor_is_refused() {
        assert_eq!(
            PageRequest::new(None, Some("not-a-cursor"))
                .unwrap_err()
                .field(),
            "cursor"
        );
    }
}
