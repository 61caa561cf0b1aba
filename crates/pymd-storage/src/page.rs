//! Turning a `limit + 1` fetch into a page: shared by both back ends so they cut pages and
//! derive cursors identically.

use pymd_domain::{Cursor, Document};

use crate::DocumentPage;

/// Largest page a back end will fetch, whatever the request says (the API allows 100).
pub(crate) const MAX_PAGE: u32 = 1000;

/// Cuts a `limit + 1` fetch down to `limit` rows and derives the next cursor from the last row
/// kept when there was more.
pub(crate) fn page_of(mut documents: Vec<Document>, limit: u32) -> DocumentPage {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if documents.len() > limit {
        documents.truncate(limit);
        documents
            .last()
            .map(|d| Cursor::after(d.created_at, d.id.0))
    } else {
        None
    };
    DocumentPage {
        documents,
        next_cursor,
    }
}
