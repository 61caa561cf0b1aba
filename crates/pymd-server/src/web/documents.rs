//! The document pages of the web app (spec §5): the list (newest first, keyset paged), the
//! rendered document, and the forms that create, edit and delete one. The same domain rules and
//! storage calls as the JSON API (`routes/documents.rs`): `DocumentDraft` validates, updates are
//! optimistic (the form carries the `version` it was opened at, so a concurrent change is never
//! silently overwritten), another user's document is a 403 page and an unknown one a 404 page.
//! Every form carries the session's CSRF token and every POST is checked by [`forms`] first.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pymd_domain::{Document, DocumentDraft, DocumentId, DomainError, PageRequest, Permission};
use pymd_storage::StoreError;
use serde::Deserialize;

use super::forms::{self, CheckedForm, CsrfProtected};
use super::pages::{self, DocumentItem, Page};
use super::session::SessionUser;
use crate::state::AppState;

/// Documents per page of the list.
pub const PAGE_SIZE: &str = "20";

/// The query of `/documents`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The body of the create and edit forms. Missing fields are empty (and then refused by the
/// checks), so a hand-made body gets a page, not a bare rejection.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DocumentForm {
    csrf_token: String,
    title: String,
    content: String,
    /// The version the edit form was opened at (edit only).
    version: String,
}

impl CsrfProtected for DocumentForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The body of the delete form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    csrf_token: String,
}

impl CsrfProtected for DeleteForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

fn not_found(s: &SessionUser) -> Response {
    pages::error_page_for(
        Some(&s.user),
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such document.",
        None,
    )
}

fn forbidden(s: &SessionUser) -> Response {
    pages::error_page_for(
        Some(&s.user),
        StatusCode::FORBIDDEN,
        "Forbidden",
        "This document belongs to someone else.",
        None,
    )
}

fn store_failed(e: &StoreError) -> Response {
    tracing::warn!(error = %e, "document page: storage failed");
    pages::unavailable()
}

/// The caller's document `raw_id`: a 404 page for a malformed or unknown id, 403 for another
/// user's.
async fn owned(state: &AppState, s: &SessionUser, raw_id: &str) -> Result<Document, Response> {
    let Ok(id) = DocumentId::parse(raw_id) else {
        return Err(not_found(s));
    };
    match state.store.get_document(id).await {
        Ok(Some(doc)) if doc.owner_id == s.user.id => Ok(doc),
        Ok(Some(_)) => Err(forbidden(s)),
        Ok(None) => Err(not_found(s)),
        Err(e) => Err(store_failed(&e)),
    }
}

/// `GET /documents`: the caller's documents, newest first, with an "Older" link.
pub async fn list(
    State(state): State<AppState>,
    s: SessionUser,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let cursor = query.ok().and_then(|Query(q)| q.cursor);
    let return_to = match &cursor {
        Some(c) => format!("/documents?cursor={}", encode(c)),
        None => "/documents".to_owned(),
    };
    let token = match forms::require(&state, &s, Permission::ReadDocuments, &return_to).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Ok(page) = PageRequest::new(Some(PAGE_SIZE), cursor.as_deref()) else {
        return pages::error_page_for(
            Some(&s.user),
            StatusCode::BAD_REQUEST,
            "Bad request",
            "That page of documents does not exist.",
            Some("/documents"),
        );
    };
    let page = match state.store.list_documents(s.user.id, page).await {
        Ok(p) => p,
        Err(e) => return store_failed(&e),
    };
    let listing = ListPage {
        viewer: pages::viewer(Some(&s.user)),
        documents: page.documents.iter().map(DocumentItem::from).collect(),
        older_page: cursor.is_some(),
        next_cursor: page.next_cursor.map(|next| encode(&next.encode())),
        can_write: token.has_permission(Permission::WriteDocuments.as_str()),
    };
    Page(StatusCode::OK, listing).into_response()
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /documents/new`: an empty form.
pub async fn new(State(state): State<AppState>, s: SessionUser) -> Response {
    if let Err(r) = forms::require(&state, &s, Permission::WriteDocuments, "/documents/new").await {
        return r;
    }
    editor(&state, &s, &Editor::default(), StatusCode::OK)
}

/// `POST /documents`: create, then `303` to the new document.
pub async fn create(
    State(state): State<AppState>,
    CheckedForm {
        session: s,
        form: f,
    }: CheckedForm<DocumentForm>,
) -> Response {
    if let Err(r) = forms::require(&state, &s, Permission::WriteDocuments, "/documents/new").await {
        return r;
    }
    let draft = match DocumentDraft::new(&f.title, f.content.clone()) {
        Ok(d) => d,
        Err(e) => {
            let ed = Editor {
                title: f.title,
                content: f.content,
                ..Editor::default()
            }
            .with_error(&e);
            return editor(&state, &s, &ed, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    match state.store.create_document(s.user.id, &draft).await {
        Ok(doc) => pages::see_other(&format!("/documents/{}", doc.id.0)),
        Err(e) => store_failed(&e),
    }
}

/// `GET /documents/{id}`: the document, its Markdown rendered and sanitised, with Edit and
/// Delete when the session may do them.
pub async fn view(
    State(state): State<AppState>,
    s: SessionUser,
    Path(id): Path<String>,
) -> Response {
    let return_to = format!("/documents/{}", encode(&id));
    let token = match forms::require(&state, &s, Permission::ReadDocuments, &return_to).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let doc = match owned(&state, &s, &id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let can_delete = token.has_permission(Permission::DeleteDocuments.as_str());
    let page = ViewPage {
        viewer: pages::viewer(Some(&s.user)),
        html: pymd_domain::markdown::render_html(&doc.content),
        doc: DocumentItem::from(&doc),
        version: doc.version,
        can_write: token.has_permission(Permission::WriteDocuments.as_str()),
        delete_csrf: can_delete.then(|| forms::csrf_token(&state, &s)),
    };
    Page(StatusCode::OK, page).into_response()
}

/// `GET /documents/{id}/edit`: the form, filled in, with the version it was opened at.
pub async fn edit(
    State(state): State<AppState>,
    s: SessionUser,
    Path(id): Path<String>,
) -> Response {
    let return_to = format!("/documents/{}/edit", encode(&id));
    if let Err(r) = forms::require(&state, &s, Permission::WriteDocuments, &return_to).await {
        return r;
    }
    let doc = match owned(&state, &s, &id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let ed = Editor {
        id: Some(doc.id),
        version: doc.version.to_string(),
        title: doc.title,
        content: doc.content,
        ..Editor::default()
    };
    editor(&state, &s, &ed, StatusCode::OK)
}

/// `POST /documents/{id}`: replace title and content if the document is still at the version
/// the form was opened at; otherwise `409` with the form again, the user's text kept.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CheckedForm {
        session: s,
        form: f,
    }: CheckedForm<DocumentForm>,
) -> Response {
    let return_to = format!("/documents/{}/edit", encode(&id));
    if let Err(r) = forms::require(&state, &s, Permission::WriteDocuments, &return_to).await {
        return r;
    }
    let doc = match owned(&state, &s, &id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Ok(expected) = f.version.trim().parse::<i64>() else {
        return forms::bad_form(&s);
    };
    let mut ed = Editor {
        id: Some(doc.id),
        version: f.version.trim().to_owned(),
        title: f.title,
        content: f.content,
        ..Editor::default()
    };
    let draft = match DocumentDraft::new(&ed.title, ed.content.clone()) {
        Ok(d) => d,
        Err(e) => {
            let ed = ed.with_error(&e);
            return editor(&state, &s, &ed, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    match state
        .store
        .update_document(doc.id, s.user.id, &draft, Some(expected))
        .await
    {
        Ok(doc) => pages::see_other(&format!("/documents/{}", doc.id.0)),
        Err(StoreError::VersionConflict { .. }) => {
            // Show what is saved now and let a second save replace it knowingly.
            match state.store.get_document(doc.id).await {
                Ok(Some(current)) if current.owner_id == s.user.id => {
                    ed.version = current.version.to_string();
                    ed.conflict = Some(current);
                    editor(&state, &s, &ed, StatusCode::CONFLICT)
                }
                Ok(_) => not_found(&s),
                Err(e) => store_failed(&e),
            }
        }
        Err(StoreError::NotFound) => not_found(&s),
        Err(e) => store_failed(&e),
    }
}

/// `POST /documents/{id}/delete`: delete, then `303` to the list.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CheckedForm {
        session: s,
        form: _,
    }: CheckedForm<DeleteForm>,
) -> Response {
    let return_to = format!("/documents/{}", encode(&id));
    if let Err(r) = forms::require(&state, &s, Permission::DeleteDocuments, &return_to).await {
        return r;
    }
    let doc = match owned(&state, &s, &id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match state.store.delete_document(doc.id, s.user.id).await {
        Ok(true) => pages::see_other("/documents"),
        Ok(false) => not_found(&s),
        Err(e) => store_failed(&e),
    }
}

/// What the create/edit form shows.
#[derive(Default)]
struct Editor {
    /// `None` for a new document.
    id: Option<DocumentId>,
    version: String,
    title: String,
    content: String,
    title_error: Option<String>,
    content_error: Option<String>,
    /// The document as saved now, when the submitted version was stale.
    conflict: Option<Document>,
}

impl Editor {
    /// Puts a validation message next to the field it is about.
    fn with_error(mut self, e: &DomainError) -> Self {
        let field = e.field();
        let message = match e {
            DomainError::TooLarge { limit, .. } => {
                format!("The {field} is too long: at most {} KiB.", limit / 1024)
            }
            DomainError::Invalid { message, .. } => format!("The {field} {message}."),
        };
        if field == "title" {
            self.title_error = Some(message);
        } else {
            self.content_error = Some(message);
        }
        self
    }
}

/// The create/edit form page.
#[derive(Template)]
#[template(path = "documents/editor.html")]
struct EditorPage<'a> {
    viewer: Option<&'a str>,
    csrf: String,
    ed: &'a Editor,
}

impl EditorPage<'_> {
    fn heading(&self) -> &'static str {
        match self.ed.id {
            Some(_) => "Edit document",
            None => "New document",
        }
    }

    /// Where the form posts to, and where Cancel goes.
    fn action(&self) -> String {
        match self.ed.id {
            Some(id) => format!("/documents/{}", id.0),
            None => "/documents".to_owned(),
        }
    }
}

fn editor(state: &AppState, s: &SessionUser, ed: &Editor, status: StatusCode) -> Response {
    let page = EditorPage {
        viewer: pages::viewer(Some(&s.user)),
        csrf: forms::csrf_token(state, s),
        ed,
    };
    Page(status, page).into_response()
}

/// `GET /documents`.
#[derive(Template)]
#[template(path = "documents/list.html")]
struct ListPage<'a> {
    viewer: Option<&'a str>,
    documents: Vec<DocumentItem>,
    /// Not the first page: "Newest" leads back to it.
    older_page: bool,
    /// The next page's cursor, URL-encoded.
    next_cursor: Option<String>,
    can_write: bool,
}

/// `GET /documents/{id}`.
#[derive(Template)]
#[template(path = "documents/view.html")]
struct ViewPage<'a> {
    viewer: Option<&'a str>,
    doc: DocumentItem,
    version: i64,
    /// The Markdown rendered by pymd-domain, sanitised there.
    html: String,
    can_write: bool,
    /// The CSRF token of the delete form, when the session may delete.
    delete_csrf: Option<String>,
}
