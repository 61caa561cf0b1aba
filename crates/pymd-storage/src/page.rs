//! Turning a `limit + 1` fetch into a page: shared by both back ends so they cut pages and
//! derive cursors identically. Excerpts are remembered by document id and version: a version's
//! content never changes, and parsing the Markdown of every listed document on every list was
//! an eighth of the warm list's CPU (`docs/perf/`).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use pymd_domain::{Cursor, Document, DocumentSummary};
use uuid::Uuid;

use crate::DocumentPage;

/// Largest page a back end will fetch, whatever the request says (the API allows 100).
pub(crate) const MAX_PAGE: u32 = 1000;

/// Cuts a `limit + 1` fetch down to `limit` rows and derives the next cursor from the last row
/// kept when there was more. Each row's `content` is only the start the list statement read
/// (`EXCERPT_SOURCE_CHARS`), made into the summary's excerpt here.
pub(crate) fn page_of(documents: Vec<Document>, limit: u32) -> DocumentPage {
    let mut kept = EXCERPTS.lock().unwrap_or_else(PoisonError::into_inner);
    let mut documents: Vec<DocumentSummary> = documents
        .into_iter()
        .map(|mut d| {
            let start = std::mem::take(&mut d.content);
            let excerpt = excerpt_of(&mut kept, d.id.0, d.version, &start);
            DocumentSummary::with_excerpt(d, excerpt)
        })
        .collect();
    drop(kept);
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

/// How many excerpts are remembered; past it the map starts over (bounded memory, never a
/// wrong excerpt: the key names the version).
const EXCERPTS_KEPT: usize = 20_000;

static EXCERPTS: LazyLock<Mutex<HashMap<(Uuid, i64), String>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The excerpt of version `version` of document `id`, whose content starts with `start`.
fn excerpt_of(
    kept: &mut HashMap<(Uuid, i64), String>,
    id: Uuid,
    version: i64,
    start: &str,
) -> String {
    if let Some(excerpt) = kept.get(&(id, version)) {
        return excerpt.clone();
    }
    let excerpt = DocumentSummary::excerpt_of(start);
    if kept.len() >= EXCERPTS_KEPT {
        kept.clear();
    }
    kept.insert((id, version), excerpt.clone());
    excerpt
}
