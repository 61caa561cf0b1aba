//! Turning a `limit + 1` fetch into a page: shared by both back ends so they cut pages and
//! derive cursors identically.

use pymd_domain::{Cursor, Document, DocumentSummary};

use crate::DocumentPage;

/// Largest page a back end will fetch, whatever the request says (the API allows 100).
pub(crate) const MAX_PAGE: u32 = 1000;

/// Cuts a `limit + 1` fetch down to `limit` rows and derives the next cursor from the last row
/// kept when there was more. Each row's `content` is only the start the list statement read
/// (`EXCERPT_SOURCE_CHARS`), made into the summary's excerpt here.
pub(crate) fn page_of(documents: Vec<Document>, limit: u32) -> DocumentPage {
    let mut documents: Vec<DocumentSummary> = documents
        .into_iter()
        .map(|mut d| {
            let start = std::mem::take(&mut d.content);
            DocumentSummary::from_parts(d, &start)
        })
        .collect();
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
