//! `/api/v1/documents`: a user's Markdown documents (spec §3), with permissions, ownership,
//! keyset paging and optimistic concurrency (`ETag` / `If-Match`). The handlers translate HTTP
//! to [`crate::service::documents`], where the ownership and versioning rules live.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{ETAG, IF_MATCH, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use pymd_domain::{Document, DocumentSummary, PageRequest, Permission, VersionCheck};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::principal::Principal;
use crate::service::documents;
use crate::state::AppState;

/// A document as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    #[schema(value_type = String, format = Uuid)]
    id: String,
    title: String,
    content: String,
    #[schema(value_type = String, format = Uuid)]
    owner_id: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: String,
    #[schema(value_type = String, format = DateTime)]
    updated_at: String,
    version: i64,
    /// Sanitised HTML rendering, with `?format=html`.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<String>,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl DocumentView {
    fn new(d: Document, html: bool) -> Self {
        DocumentView {
            content_html: html.then(|| pymd_domain::markdown::render_html(&d.content)),
            id: d.id.to_string(),
            owner_id: d.owner_id.to_string(),
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
            version: d.version,
            title: d.title,
            content: d.content,
        }
    }
}

/// `{"document": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentEnvelope {
    document: DocumentView,
}

/// A document in a list: no content (up to 1 MiB each), a short plain-text excerpt instead;
/// `GET /api/v1/documents/{id}` has the whole document.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentSummaryView {
    #[schema(value_type = String, format = Uuid)]
    id: String,
    title: String,
    /// The content's first words as plain text (no Markdown, no HTML), at most 200 characters,
    /// ending in `…` when cut.
    #[schema(max_length = 200)]
    excerpt: String,
    #[schema(value_type = String, format = Uuid)]
    owner_id: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: String,
    #[schema(value_type = String, format = DateTime)]
    updated_at: String,
    version: i64,
}

impl From<DocumentSummary> for DocumentSummaryView {
    fn from(d: DocumentSummary) -> Self {
        DocumentSummaryView {
            id: d.id.to_string(),
            owner_id: d.owner_id.to_string(),
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
            version: d.version,
            title: d.title,
            excerpt: d.excerpt,
        }
    }
}

/// One page of documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    documents: Vec<DocumentSummaryView>,
    /// Pass as `?cursor=` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// Body of create and replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    /// 1–200 characters once trimmed, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    title: String,
    /// Markdown, at most 1 MiB (UTF-8), no NUL.
    #[schema(max_length = 262144, pattern = r"^[^\u0000]*$")]
    content: String,
}

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// 1–100, default 50.
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Rendering parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct FormatParams {
    /// `html` adds `content_html`.
    format: Option<String>,
}

/// `{"document": …}` with the document's `ETag`.
fn document_response(status: StatusCode, doc: Document, html: bool) -> Response {
    let etag = HeaderValue::from_str(&doc.etag());
    let body = Json(DocumentEnvelope {
        document: DocumentView::new(doc, html),
    });
    let mut response = (status, body).into_response();
    if let Ok(v) = etag {
        response.headers_mut().insert(ETAG, v);
    }
    response
}

/// A document the caller owns, loaded after checking the permission its method needs:
/// GET → `read:documents`, PUT → `write:documents`, DELETE → `delete:documents`. The ownership
/// rule is [`documents::get_owned`]'s: a malformed or unknown id is a 404, another user's
/// document a 403.
pub struct OwnedDocument {
    pub principal: Principal,
    pub document: Document,
}

impl FromRequestParts<AppState> for OwnedDocument {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let needed = match parts.method {
            Method::GET | Method::HEAD => Permission::ReadDocuments,
            Method::DELETE => Permission::DeleteDocuments,
            _ => Permission::WriteDocuments,
        };
        principal.require(needed)?;
        let Path(raw_id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let document = documents::get_owned(state, principal.user_id, &raw_id).await?;
        Ok(OwnedDocument {
            principal,
            document,
        })
    }
}

/// List the caller's documents, newest first.
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", params(ListParams),
    responses((status = 200, body = DocumentList), (status = 401), (status = 403)),
    security(("bearer" = ["read:documents"])))]
pub async fn list_documents(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<DocumentList>> {
    principal.require(Permission::ReadDocuments)?;
    let page = PageRequest::new(params.limit.as_deref(), params.cursor.as_deref())?;
    let page = documents::list(&state, principal.user_id, page).await?;
    Ok(Json(DocumentList {
        documents: page
            .documents
            .into_iter()
            .map(DocumentSummaryView::from)
            .collect(),
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// Create a document.
#[utoipa::path(post, path = "/api/v1/documents", tag = "documents", request_body = DocumentInput,
    responses((status = 201, body = DocumentEnvelope), (status = 400), (status = 401), (status = 403), (status = 413), (status = 415), (status = 422)),
    security(("bearer" = ["write:documents"])))]
pub async fn create_document(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<DocumentInput>,
) -> ApiResult<Response> {
    principal.require(Permission::WriteDocuments)?;
    let doc = documents::create(&state, principal.user_id, &input.title, input.content).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/documents/{}", doc.id));
    let mut response = document_response(StatusCode::CREATED, doc, false);
    if let Ok(v) = location {
        response.headers_mut().insert(LOCATION, v);
    }
    Ok(response)
}

/// Read one of the caller's documents.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents", params(("id" = String, Path, format = Uuid), FormatParams),
    responses((status = 200, body = DocumentEnvelope), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = ["read:documents"])))]
pub async fn get_document(
    owned: OwnedDocument,
    ApiQuery(params): ApiQuery<FormatParams>,
) -> ApiResult<Response> {
    let html = match params.format.as_deref() {
        None | Some("markdown") => false,
        Some("html") => true,
        Some(_) => {
            return Err(ApiError::Validation {
                field: "format".into(),
                message: "must be html or markdown".into(),
            });
        }
    };
    Ok(document_response(StatusCode::OK, owned.document, html))
}

/// The version checks of a request's `If-Match` fields (several fields are one
/// comma-separated list, RFC 9110 §5.3); none is "any version".
fn if_match(headers: &HeaderMap) -> Result<Vec<VersionCheck>, ApiError> {
    let values: Vec<&str> = headers
        .get_all(IF_MATCH)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .collect();
    let joined = (!values.is_empty()).then(|| values.join(", "));
    Ok(VersionCheck::from_if_match(joined.as_deref())?)
}

/// Replace a document's title and content. With `If-Match`, a stale version gets 412 and
/// nothing changes.
#[utoipa::path(put, path = "/api/v1/documents/{id}", tag = "documents", params(("id" = String, Path, format = Uuid)),
    request_body = DocumentInput,
    responses((status = 200, body = DocumentEnvelope), (status = 400), (status = 401), (status = 403), (status = 404), (status = 412), (status = 413), (status = 415), (status = 422)),
    security(("bearer" = ["write:documents"])))]
pub async fn replace_document(
    State(state): State<AppState>,
    owned: OwnedDocument,
    headers: HeaderMap,
    ApiJson(input): ApiJson<DocumentInput>,
) -> ApiResult<Response> {
    let checks = if_match(&headers)?;
    let owner = owned.principal.user_id;
    let (title, content) = (&input.title, input.content);
    let doc = documents::replace(&state, owner, &owned.document, &checks, title, content).await?;
    Ok(document_response(StatusCode::OK, doc, false))
}

/// Delete a document.
#[utoipa::path(delete, path = "/api/v1/documents/{id}", tag = "documents", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = ["delete:documents"])))]
pub async fn delete_document(
    State(state): State<AppState>,
    owned: OwnedDocument,
) -> ApiResult<StatusCode> {
    let owner = owned.principal.user_id;
    documents::delete(&state, owner, owned.document.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
