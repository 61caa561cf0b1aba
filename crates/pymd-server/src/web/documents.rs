//! The document pages of the web app (spec §5): the list (newest first, keyset paged), the
//! rendered document, and the forms that create, edit and delete one. The same domain rules and
//! storage calls as the JSON API (`routes/documents.rs`): `DocumentDraft` validates, updates are
//! optimistic (the form carries the `version` it was opened at, so a concurrent change is never
//! silently overwritten), another user's document is a 403 page and an unknown one a 404 page.
//! Every form carries the session's CSRF token and every POST is checked by [`forms`] first.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use pymd_domain::{Document, DocumentDraft, DocumentId, DomainError, PageRequest, Permission};
use pymd_storage::StoreError;
use serde::Deserialize;

use super::forms::{self, CheckedForm, CsrfProtected};
use super::pages::{self, esc};
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
    let items = if page.documents.is_empty() {
        if cursor.is_some() {
            "<p class=\"empty\">No older documents.</p>".to_owned()
        } else {
            "<p class=\"empty\">No documents yet.</p>".to_owned()
        }
    } else {
        let rows: String = page
            .documents
            .iter()
            .map(|d| {
                let updated = pages::timestamp(d.updated_at);
                format!(
                    "<li><a href=\"/documents/{id}\" data-testid=\"document-link\">{title}</a> <time datetime=\"{updated}\">{updated}</time></li>",
                    id = d.id.0,
                    title = esc(&d.title),
                    updated = esc(&updated),
                )
            })
            .collect();
        format!("<ul class=\"documents\" data-testid=\"documents\">{rows}</ul>")
    };
    let mut paging = String::new();
    if cursor.is_some() {
        paging.push_str("<a href=\"/documents\" data-testid=\"newest\">Newest</a>");
    }
    if let Some(next) = page.next_cursor {
        paging.push_str(&format!(
            "<a href=\"/documents?cursor={}\" data-testid=\"older\" rel=\"next\">Older</a>",
            esc(&encode(&next.encode()))
        ));
    }
    let new_button = if token.has_permission(Permission::WriteDocuments.as_str()) {
        "<a class=\"button\" href=\"/documents/new\" data-testid=\"new-document\">New document</a>"
    } else {
        ""
    };
    let body = format!(
        "<section class=\"card\"><div class=\"section-head\"><h1>Your documents</h1>\
<p class=\"actions\">{new_button}</p></div>{items}<nav class=\"paging\">{paging}</nav></section>"
    );
    pages::html(
        StatusCode::OK,
        pages::layout("Documents", Some(&s.user), &body),
    )
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
    let id = doc.id.0;
    let mut actions = String::new();
    if token.has_permission(Permission::WriteDocuments.as_str()) {
        actions.push_str(&format!(
            "<a class=\"button\" href=\"/documents/{id}/edit\" data-testid=\"edit\">Edit</a>"
        ));
    }
    if token.has_permission(Permission::DeleteDocuments.as_str()) {
        actions.push_str(&delete_form(&state, &s, &doc));
    }
    let body = format!(
        "<article class=\"card\"><div class=\"section-head\"><h1 data-testid=\"document-heading\">{title}</h1>\
<div class=\"actions\">{actions}</div></div>\
<p class=\"sub\">Updated <time datetime=\"{updated}\">{updated}</time> · version {version}</p>\
<div class=\"markdown\" data-testid=\"document-body\">{html}</div></article>\
<p><a href=\"/documents\">All documents</a> · <a href=\"/dashboard\">Back to the dashboard</a></p>",
        title = esc(&doc.title),
        updated = esc(&pages::timestamp(doc.updated_at)),
        version = doc.version,
        html = pymd_domain::markdown::render_html(&doc.content),
    );
    pages::html(
        StatusCode::OK,
        pages::layout(&doc.title, Some(&s.user), &body),
    )
}

/// The delete button: a `<details>` that asks for confirmation without any script.
fn delete_form(state: &AppState, s: &SessionUser, doc: &Document) -> String {
    format!(
        "<details class=\"confirm\"><summary data-testid=\"delete-toggle\">Delete…</summary>\
<form method=\"post\" action=\"/documents/{id}/delete\">{csrf}\
<p>Delete “{title}” for good?</p>\
<button type=\"submit\" class=\"danger\" data-testid=\"delete\">Delete</button></form></details>",
        id = doc.id.0,
        csrf = forms::hidden_field(state, s),
        title = esc(&doc.title),
    )
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

fn field_error(error: Option<&String>, id: &str) -> String {
    error
        .map(|m| {
            format!(
                "<p class=\"field-error\" id=\"{id}\" role=\"alert\" data-testid=\"{id}\">{}</p>",
                esc(m)
            )
        })
        .unwrap_or_default()
}

fn editor(state: &AppState, s: &SessionUser, ed: &Editor, status: StatusCode) -> Response {
    let (heading, action, cancel) = match ed.id {
        Some(id) => (
            "Edit document",
            format!("/documents/{}", id.0),
            format!("/documents/{}", id.0),
        ),
        None => (
            "New document",
            "/documents".to_owned(),
            "/documents".to_owned(),
        ),
    };
    let version = if ed.id.is_some() {
        format!(
            "<input type=\"hidden\" name=\"version\" value=\"{}\">",
            esc(&ed.version)
        )
    } else {
        String::new()
    };
    let conflict = match &ed.conflict {
        Some(current) => format!(
            "<div class=\"notice warning\" role=\"alert\" data-testid=\"conflict\">\
<p><strong>This document was changed since you opened it</strong> (in another tab or by another \
device). Your text is kept below and nothing was saved. Compare it with the saved version, then \
save again to replace the saved version with yours.</p>\
<details><summary>The saved version: “{title}”, version {version}</summary>\
<pre class=\"saved\">{content}</pre></details></div>",
            title = esc(&current.title),
            version = current.version,
            content = esc(&current.content),
        ),
        None => String::new(),
    };
    let invalid = |e: &Option<String>, id: &str| match e {
        Some(_) => format!(" aria-invalid=\"true\" aria-describedby=\"{id}\""),
        None => String::new(),
    };
    let body = format!(
        "<section class=\"card\"><h1>{heading}</h1>{conflict}\
<form method=\"post\" action=\"{action}\" class=\"editor\">{csrf}{version}\
<label for=\"title\">Title</label>\
<input type=\"text\" id=\"title\" name=\"title\" value=\"{title}\" required data-testid=\"document-title\"{title_invalid}>\
{title_error}\
<label for=\"content\">Content <span class=\"hint\">Markdown</span></label>\
<textarea id=\"content\" name=\"content\" rows=\"18\" data-testid=\"document-content\"{content_invalid}>\n{content}</textarea>\
{content_error}\
<p class=\"actions\"><button type=\"submit\" data-testid=\"save\">Save</button> <a href=\"{cancel}\">Cancel</a></p>\
</form></section>",
        csrf = forms::hidden_field(state, s),
        title = esc(&ed.title),
        content = esc(&ed.content),
        title_invalid = invalid(&ed.title_error, "title-error"),
        content_invalid = invalid(&ed.content_error, "content-error"),
        title_error = field_error(ed.title_error.as_ref(), "title-error"),
        content_error = field_error(ed.content_error.as_ref(), "content-error"),
    );
    pages::html(status, pages::layout(heading, Some(&s.user), &body))
}
