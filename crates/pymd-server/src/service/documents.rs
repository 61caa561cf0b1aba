//! A user's documents: the ownership rule (another user's document is
//! [`ServiceError::NotOwner`], a malformed or unknown id [`ServiceError::NotFound`]) and
//! optimistic versioning, written once for the API and the pages.

use pymd_domain::{Document, DocumentDraft, DocumentId, PageRequest, UserId, VersionCheck};
use pymd_storage::DocumentPage;

use super::{ServiceError, ServiceResult};
use crate::state::AppState;

/// One page of `owner`'s documents, newest first.
///
/// # Errors
/// [`ServiceError::Store`].
pub async fn list(
    state: &AppState,
    owner: UserId,
    page: PageRequest,
) -> ServiceResult<DocumentPage> {
    Ok(state.store.list_documents(owner, page).await?)
}

/// Creates a document for `owner` from the submitted title and Markdown.
///
/// # Errors
/// [`ServiceError::Invalid`] naming `title` or `content` (too long: `TooLarge`);
/// [`ServiceError::Store`].
pub async fn create(
    state: &AppState,
    owner: UserId,
    title: &str,
    content: String,
) -> ServiceResult<Document> {
    let draft = DocumentDraft::new(title, content)?;
    Ok(state.store.create_document(owner, &draft).await?)
}

/// The document `raw_id` if `owner` owns it.
///
/// # Errors
/// [`ServiceError::NotFound`] for a malformed or unknown id; [`ServiceError::NotOwner`] for
/// another user's document; [`ServiceError::Store`].
pub async fn get_owned(state: &AppState, owner: UserId, raw_id: &str) -> ServiceResult<Document> {
    let id = DocumentId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
    let document = state
        .store
        .get_document(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if document.owner_id != owner {
        return Err(ServiceError::NotOwner);
    }
    Ok(document)
}

/// The version an update may apply to, from the caller's checks (the API's `If-Match`, a form's
/// version): `None` for "any", the current version when one check names it.
///
/// # Errors
/// [`ServiceError::VersionMismatch`] when no check matches the current version.
pub fn expected_version(current: &Document, checks: &[VersionCheck]) -> ServiceResult<Option<i64>> {
    if checks.contains(&VersionCheck::Any) {
        Ok(None)
    } else if checks.contains(&VersionCheck::Exactly(current.version)) {
        Ok(Some(current.version))
    } else {
        Err(ServiceError::VersionMismatch)
    }
}

/// Replaces the title and content of `current` (a document `owner` owns, from [`get_owned`]),
/// if it is still at a version `checks` accepts. The checks come first, then the fields are
/// validated, then the store applies the change atomically against that version (a concurrent
/// change in between is a mismatch too).
///
/// # Errors
/// [`ServiceError::VersionMismatch`] (nothing changed); [`ServiceError::Invalid`];
/// [`ServiceError::NotFound`] when it was deleted meanwhile; [`ServiceError::Store`].
pub async fn replace(
    state: &AppState,
    owner: UserId,
    current: &Document,
    checks: &[VersionCheck],
    title: &str,
    content: String,
) -> ServiceResult<Document> {
    let expected = expected_version(current, checks)?;
    let draft = DocumentDraft::new(title, content)?;
    Ok(state
        .store
        .update_document(current.id, owner, &draft, expected)
        .await?)
}

/// Deletes `owner`'s document `id`.
///
/// # Errors
/// [`ServiceError::NotFound`] when there is no such document of `owner`'s;
/// [`ServiceError::Store`].
pub async fn delete(state: &AppState, owner: UserId, id: DocumentId) -> ServiceResult<()> {
    if state.store.delete_document(id, owner).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(version: i64) -> Document {
        let now = pymd_domain::now();
        Document {
            id: DocumentId::new_random(),
            owner_id: UserId::new_random(),
            title: "t".into(),
            content: String::new(),
            version,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn any_check_applies_to_any_version() {
        assert_eq!(
            expected_version(&doc(3), &[VersionCheck::Any]).unwrap(),
            None
        );
    }

    #[test]
    fn one_matching_tag_pins_the_current_version() {
        let checks = [VersionCheck::Exactly(1), VersionCheck::Exactly(3)];
        assert_eq!(expected_version(&doc(3), &checks).unwrap(), Some(3));
    }

    #[test]
    fn stale_tags_are_a_mismatch() {
        assert!(matches!(
            expected_version(&doc(3), &[VersionCheck::Exactly(2)]),
            Err(ServiceError::VersionMismatch)
        ));
        assert!(matches!(
            expected_version(&doc(3), &[]),
            Err(ServiceError::VersionMismatch)
        ));
    }
}
