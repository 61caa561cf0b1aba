//! Server-rendered HTML. Every page is a typed askama template under `templates/` extending one
//! layout (`base.html`), so askama's HTML escaping is the only escaping there is: a value from a
//! user or the IdP is never put into markup by hand. The only unescaped insertion is a document's
//! Markdown rendering, which pymd-domain has already sanitised. Pages carry no script and load
//! nothing from elsewhere (the CSP is `default-src 'self'`).
//!
//! This module holds what the pages share — the [`Page`] response, the landing page, the
//! dashboard, the logout confirmation and the error page — and the stylesheet; the document and
//! settings pages live next to their handlers.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use pymd_domain::{Document, User};

/// The stylesheet, served at `/static/app.css`.
pub const STYLESHEET: &str = include_str!("app.css");

/// The name to greet a user by: name, else email, else "there".
pub fn display_name(user: &User) -> &str {
    user.name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .or(user.email.as_deref())
        .unwrap_or("there")
}

/// The layout's navigation for `user`: their display name, or `None` when signed out.
pub fn viewer(user: Option<&User>) -> Option<&str> {
    user.map(display_name)
}

/// An RFC 3339 timestamp for `<time datetime>` and display.
pub fn timestamp(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A rendered template with its status: `text/html`, never cached (pages may show personal
/// data). A template that fails to render (only a failing `Display` could) is a plain 500.
pub struct Page<T>(pub StatusCode, pub T);

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        let Page(status, template) = self;
        let html = match template.render() {
            Ok(html) => html,
            Err(e) => {
                tracing::error!(error = %e, "a page could not be rendered");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
        };
        let mut r = (status, html).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

/// A `303 See Other` to `location` (after a successful form submission).
pub fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// A document in a list: its link, title and last change.
pub struct DocumentItem {
    pub id: String,
    pub title: String,
    pub updated: String,
}

impl From<&Document> for DocumentItem {
    fn from(d: &Document) -> Self {
        DocumentItem {
            id: d.id.0.to_string(),
            title: d.title.clone(),
            updated: timestamp(d.updated_at),
        }
    }
}

/// The landing page: a welcome back, or an invitation to log in.
#[derive(Template)]
#[template(path = "landing.html")]
pub struct Landing<'a> {
    pub viewer: Option<&'a str>,
}

/// The dashboard: the user's name and their most recent documents.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard<'a> {
    pub viewer: Option<&'a str>,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub documents: Vec<DocumentItem>,
}

impl<'a> Dashboard<'a> {
    /// The dashboard of `user`, listing `documents`.
    pub fn new(user: &'a User, documents: &[Document]) -> Self {
        Dashboard {
            viewer: Some(display_name(user)),
            name: display_name(user),
            email: user.email.as_deref(),
            documents: documents.iter().map(DocumentItem::from).collect(),
        }
    }
}

/// A page that asks before logging out (a cross-site request must not end the session).
#[derive(Template)]
#[template(path = "confirm_logout.html")]
pub struct ConfirmLogout<'a> {
    pub viewer: Option<&'a str>,
}

/// A clear error page, with a "try again" link when there is somewhere to try again.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub viewer: Option<&'a str>,
    pub title: &'a str,
    pub message: &'a str,
    pub retry: Option<&'a str>,
}

/// The landing page.
pub fn landing(user: Option<&User>) -> Response {
    Page(
        StatusCode::OK,
        Landing {
            viewer: viewer(user),
        },
    )
    .into_response()
}

/// The dashboard.
pub fn dashboard(user: &User, documents: &[Document]) -> Response {
    Page(StatusCode::OK, Dashboard::new(user, documents)).into_response()
}

/// The logout confirmation.
pub fn confirm_logout(user: Option<&User>) -> Response {
    Page(
        StatusCode::OK,
        ConfirmLogout {
            viewer: viewer(user),
        },
    )
    .into_response()
}

/// A clear error page with a "try again" link.
pub fn error_page(status: StatusCode, title: &str, message: &str, retry: Option<&str>) -> Response {
    error_page_for(None, status, title, message, retry)
}

/// [`error_page`] with the signed-in user's navigation.
pub fn error_page_for(
    user: Option<&User>,
    status: StatusCode,
    title: &str,
    message: &str,
    retry: Option<&str>,
) -> Response {
    let page = ErrorPage {
        viewer: viewer(user),
        title,
        message,
        retry,
    };
    Page(status, page).into_response()
}

/// `503`: the database is unreachable, so a session cannot be checked.
pub fn unavailable() -> Response {
    let mut r = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "PyMD cannot reach its database right now. Please try again in a moment.",
        None,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// `503`: the identity provider's signing keys cannot be fetched, so the session's token cannot
/// be checked.
pub fn idp_unavailable() -> Response {
    let mut r = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "PyMD cannot reach the sign-in service to check your access right now. Please try again in a moment.",
        None,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_including_both_quotes() {
        let page = ErrorPage {
            viewer: Some("<b>Mallory</b>"),
            title: "t",
            message: "<script>alert('x')</script> & \"y\"",
            retry: Some("/a\"onclick=\"x"),
        };
        let html = page.render().unwrap();
        assert!(
            html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; &#34;y&#34;"),
            "{html}"
        );
        assert!(html.contains("&#60;b&#62;Mallory&#60;/b&#62;"));
        assert!(html.contains("href=\"/a&#34;onclick=&#34;x\""));
        assert!(!html.contains("<script") && !html.contains("<b>"));
    }

    #[test]
    fn the_layout_loads_only_the_local_stylesheet_and_no_script() {
        let page = Landing { viewer: None }.render().unwrap();
        assert!(page.contains("href=\"/static/app.css\""));
        assert!(!page.contains("<script"));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }
}
