//! The document pages of the web app (spec §5): the list (newest first, keyset paged), the
//! rendered document, and the forms that create, edit and delete one, over the same
//! [`crate::service::documents`] as the JSON API: `DocumentDraft` validates, updates are
//! optimistic (the form carries the `version` it was opened at, so a concurrent change is never
//! silently overwritten), another user's document is a 403 page and an unknown one a 404 page.
//! Who may do what is checked by the extractors of [`super::access`] before a handler runs.
//!
//! The editor previews the Markdown through the same renderer and sanitiser as a saved document:
//! its Preview button re-renders the form with the preview (no script needed), and the
//! same-origin `/static/editor.js` keeps the preview live through `POST /documents/preview`.
//! A successful save or delete leads to a page showing a one-time [`Flash`] confirmation.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use pymd_domain::{Document, DocumentId, DomainError, PageRequest, Permission, VersionCheck};
use serde::Deserialize;

use super::access::{
    DeleteDocuments, OwnedDocument, Posted, ReadDocuments, Signed, WriteDocuments,
};
use super::error::{BadInput, PageError, Viewer, viewer_of};
use super::forms::{self, CsrfProtected};
use super::pages::{DocumentItem, Flash, Page};
use super::session::SessionUser;
use crate::service::{ServiceError, documents};
use crate::state::AppState;

/// Documents per page of the list.
pub const PAGE_SIZE: &str = "20";

/// The query of `/documents`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// The page's number, for its label only (the cursor says where it starts).
    page: Option<u32>,
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
    /// `preview`: show the rendered Markdown and save nothing.
    intent: String,
}

impl DocumentForm {
    fn wants_preview(&self) -> bool {
        self.intent == "preview"
    }
}

/// The body of `POST /documents/preview`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PreviewForm {
    csrf_token: String,
    content: String,
}

impl CsrfProtected for PreviewForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
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

/// `GET /documents`: the caller's documents, newest first, with "Newest" and "Older" links.
pub async fn list(
    State(state): State<AppState>,
    signed: Signed<ReadDocuments>,
    query: Result<Query<ListQuery>, QueryRejection>,
    jar: CookieJar,
) -> Result<(CookieJar, Page<ListPage>), PageError> {
    let user = &signed.session.user;
    let (cursor, number) = match query {
        Ok(Query(q)) => (q.cursor, q.page),
        Err(_) => (None, None),
    };
    let Ok(request) = PageRequest::new(Some(PAGE_SIZE), cursor.as_deref()) else {
        return Err(PageError::BadRequest(viewer_of(user), BadInput::Cursor));
    };
    let found = documents::list(&state, user.id, request).await?;
    let (flash, jar) = Flash::take(jar);
    let number = if cursor.is_some() {
        number.unwrap_or(2).clamp(2, 100_000)
    } else {
        1
    };
    let page = ListPage {
        viewer: viewer_of(user),
        flash,
        documents: found.documents.iter().map(DocumentItem::from).collect(),
        number,
        next_cursor: found.next_cursor.map(|next| encode(&next.encode())),
        can_write: signed.may(Permission::WriteDocuments),
    };
    Ok((jar, Page(StatusCode::OK, page)))
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /documents/new`: an empty form.
pub async fn new(
    State(state): State<AppState>,
    signed: Signed<WriteDocuments>,
) -> Page<EditorPage> {
    editor(&state, &signed.session, Editor::default(), StatusCode::OK)
}

/// `POST /documents`: create, then `303` to the new document.
pub async fn create(
    State(state): State<AppState>,
    Posted { guard, form }: Posted<Signed<WriteDocuments>, DocumentForm>,
) -> Result<Response, PageError> {
    let s = &guard.session;
    if form.wants_preview() {
        let ed = Editor::submitted(None, form).previewed();
        return Ok(editor(&state, s, ed, StatusCode::OK).into_response());
    }
    let created = documents::create(&state, s.user.id, &form.title, form.content.clone()).await;
    match created {
        Ok(doc) => {
            Ok(Flash::Created
                .see_other(&format!("/documents/{}", doc.id.0), state.config.is_https()))
        }
        Err(ServiceError::Invalid(e)) => {
            let ed = Editor::submitted(None, form).with_error(&e);
            Ok(editor(&state, s, ed, StatusCode::UNPROCESSABLE_ENTITY).into_response())
        }
        Err(e) => Err(PageError::service(e, viewer_of(&s.user))),
    }
}

/// `GET /documents/{id}`: the document, its Markdown rendered and sanitised, with Edit and
/// Delete when the session may do them.
pub async fn view(
    State(state): State<AppState>,
    OwnedDocument { signed, document }: OwnedDocument<ReadDocuments>,
    jar: CookieJar,
) -> (CookieJar, Page<ViewPage>) {
    let can_delete = signed.may(Permission::DeleteDocuments);
    let (flash, jar) = Flash::take(jar);
    let page = ViewPage {
        viewer: viewer_of(&signed.session.user),
        flash,
        html: pymd_domain::markdown::render_html(&document.content),
        doc: DocumentItem::from(&document),
        version: document.version,
        can_write: signed.may(Permission::WriteDocuments),
        delete_csrf: can_delete.then(|| forms::csrf_token(&state, &signed.session)),
    };
    (jar, Page(StatusCode::OK, page))
}

/// `GET /documents/{id}/edit`: the form, filled in, with the version it was opened at.
pub async fn edit(
    State(state): State<AppState>,
    OwnedDocument { signed, document }: OwnedDocument<WriteDocuments>,
) -> Page<EditorPage> {
    let ed = Editor {
        id: Some(document.id),
        version: document.version.to_string(),
        title: document.title,
        content: document.content,
        ..Editor::default()
    }
    .previewed();
    editor(&state, &signed.session, ed, StatusCode::OK)
}

/// `POST /documents/{id}`: replace title and content if the document is still at the version
/// the form was opened at; otherwise `409` with the form again, the user's text kept.
pub async fn update(
    State(state): State<AppState>,
    Posted { guard, form }: Posted<OwnedDocument<WriteDocuments>, DocumentForm>,
) -> Result<Response, PageError> {
    let OwnedDocument { signed, document } = guard;
    let s = &signed.session;
    let Ok(expected) = form.version.trim().parse::<i64>() else {
        return Err(PageError::BadRequest(viewer_of(&s.user), BadInput::Form));
    };
    if form.wants_preview() {
        let ed = Editor::submitted(Some(document.id), form).previewed();
        return Ok(editor(&state, s, ed, StatusCode::OK).into_response());
    }
    let ed = Editor::submitted(Some(document.id), form);
    let checks = [VersionCheck::Exactly(expected)];
    let (title, content) = (ed.title.as_str(), ed.content.clone());
    match documents::replace(&state, s.user.id, &document, &checks, title, content).await {
        Ok(doc) => Ok(
            Flash::Saved.see_other(&format!("/documents/{}", doc.id.0), state.config.is_https())
        ),
        Err(ServiceError::Invalid(e)) => {
            let ed = ed.with_error(&e);
            Ok(editor(&state, s, ed, StatusCode::UNPROCESSABLE_ENTITY).into_response())
        }
        Err(ServiceError::VersionMismatch) => conflict(&state, s, ed, document.id).await,
        Err(e) => Err(PageError::service(e, viewer_of(&s.user))),
    }
}

/// The form again with the `409` notice: what is saved now, so that a second save replaces it
/// knowingly.
async fn conflict(
    state: &AppState,
    s: &SessionUser,
    mut ed: Editor,
    id: DocumentId,
) -> Result<Response, PageError> {
    match documents::get_owned(state, s.user.id, &id.0.to_string()).await {
        Ok(current) => {
            ed.version = current.version.to_string();
            ed.conflict = Some(current);
            Ok(editor(state, s, ed, StatusCode::CONFLICT).into_response())
        }
        // Deleted meanwhile.
        Err(ServiceError::NotFound | ServiceError::NotOwner) => {
            Err(PageError::NotFound(viewer_of(&s.user)))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /documents/{id}/delete`: delete, then `303` to the list.
pub async fn delete(
    State(state): State<AppState>,
    Posted { guard, .. }: Posted<OwnedDocument<DeleteDocuments>, DeleteForm>,
) -> Result<Response, PageError> {
    let OwnedDocument { signed, document } = guard;
    let user = &signed.session.user;
    match documents::delete(&state, user.id, document.id).await {
        Ok(()) => Ok(Flash::Deleted.see_other("/documents", state.config.is_https())),
        Err(e) => Err(PageError::service(e, viewer_of(user))),
    }
}

/// `POST /documents/preview`: the Markdown of the form rendered and sanitised exactly as a saved
/// document's, as an HTML fragment for the editor's live preview. Nothing is stored.
pub async fn preview(Posted { form, .. }: Posted<Signed<WriteDocuments>, PreviewForm>) -> Response {
    if form.content.len() > pymd_domain::document::MAX_CONTENT_BYTES {
        return Page(StatusCode::PAYLOAD_TOO_LARGE, PreviewFragment::default()).into_response();
    }
    let html = pymd_domain::markdown::render_html(&form.content);
    Page(StatusCode::OK, PreviewFragment { html }).into_response()
}

/// The preview fragment.
#[derive(Default, Template)]
#[template(path = "documents/preview.html")]
pub struct PreviewFragment {
    /// Rendered and sanitised by pymd-domain.
    html: String,
}

/// What the create/edit form shows.
#[derive(Default)]
pub struct Editor {
    /// `None` for a new document.
    id: Option<DocumentId>,
    version: String,
    title: String,
    content: String,
    title_error: Option<String>,
    content_error: Option<String>,
    /// The document as saved now, when the submitted version was stale.
    conflict: Option<Document>,
    /// The content rendered and sanitised (shown in the preview pane).
    preview: String,
}

impl Editor {
    /// The form as submitted, for document `id` (`None`: a new one).
    fn submitted(id: Option<DocumentId>, form: DocumentForm) -> Self {
        Editor {
            id,
            version: form.version.trim().to_owned(),
            title: form.title,
            content: form.content,
            ..Editor::default()
        }
    }

    /// The form with its content rendered in the preview pane.
    fn previewed(mut self) -> Self {
        self.preview = pymd_domain::markdown::render_html(&self.content);
        self
    }

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

fn editor(state: &AppState, s: &SessionUser, ed: Editor, status: StatusCode) -> Page<EditorPage> {
    let page = EditorPage {
        viewer: viewer_of(&s.user),
        csrf: forms::csrf_token(state, s),
        ed,
    };
    Page(status, page)
}

/// The create/edit form page.
#[derive(Template)]
#[template(path = "documents/editor.html")]
pub struct EditorPage {
    viewer: Viewer,
    csrf: String,
    ed: Editor,
}

impl EditorPage {
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

/// `GET /documents`.
#[derive(Template)]
#[template(path = "documents/list.html")]
pub struct ListPage {
    viewer: Viewer,
    flash: Option<Flash>,
    documents: Vec<DocumentItem>,
    /// The page's number (1: the newest documents).
    number: u32,
    /// The next page's cursor, URL-encoded.
    next_cursor: Option<String>,
    can_write: bool,
}

/// `GET /documents/{id}`.
#[derive(Template)]
#[template(path = "documents/view.html")]
pub struct ViewPage {
    viewer: Viewer,
    flash: Option<Flash>,
    doc: DocumentItem,
    version: i64,
    /// The Markdown rendered by pymd-domain, sanitised there.
    html: String,
    can_write: bool,
    /// The CSRF token of the delete form, when the session may delete.
    delete_csrf: Option<String>,
}
