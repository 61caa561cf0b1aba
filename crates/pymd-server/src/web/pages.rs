//! Server-rendered HTML. Every page is a typed askama template under `templates/` extending one
//! layout (`base.html`), so askama's HTML escaping is the only escaping there is: a value from a
//! user or the IdP is never put into markup by hand. The only unescaped insertion is a document's
//! Markdown rendering, which pymd-domain has already sanitised. Pages carry no script and load
//! nothing from elsewhere (the CSP is `default-src 'self'`).
//!
//! This module holds what the pages share — the [`Page`] response, the landing page, the
//! dashboard, the logout confirmation and the error page — and the stylesheet; the document and
//! settings pages live next to their handlers, and failures are [`super::error::PageError`].

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use pymd_domain::{Document, User};

use super::error::{Viewer, viewer_of};

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
pub struct Landing {
    pub viewer: Viewer,
}

/// The dashboard: the user's name and their most recent documents.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    pub viewer: Viewer,
    pub name: String,
    pub email: Option<String>,
    pub documents: Vec<DocumentItem>,
}

impl Dashboard {
    /// The dashboard of `user`, listing `documents`.
    pub fn new(user: &User, documents: &[Document]) -> Self {
        Dashboard {
            viewer: viewer_of(user),
            name: display_name(user).to_owned(),
            email: user.email.clone(),
            documents: documents.iter().map(DocumentItem::from).collect(),
        }
    }
}

/// A page that asks before logging out: a GET that is not plainly this app's own (another
/// site's link or image, a sibling subdomain, a browser without Fetch Metadata) must not end the
/// session. Confirming POSTs the session's CSRF token.
#[derive(Template)]
#[template(path = "confirm_logout.html")]
pub struct ConfirmLogout {
    pub viewer: Viewer,
    pub csrf: String,
}

/// A clear error page, with a "try again" link when there is somewhere to try again (see
/// [`super::error::PageError`], which decides what it says).
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub viewer: Option<&'a str>,
    pub title: &'a str,
    pub message: &'a str,
    pub retry: Option<&'a str>,
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
