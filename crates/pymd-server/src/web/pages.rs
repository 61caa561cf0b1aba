//! Server-rendered HTML. Every page is a typed askama template under `templates/` extending one
//! layout (`base.html`), so askama's HTML escaping is the only escaping there is: a value from a
//! user or the IdP is never put into markup by hand. The only unescaped insertion is a document's
//! Markdown rendering, which pymd-domain has already sanitised. Pages load nothing from elsewhere
//! (the CSP is `default-src 'self'`); the one script is the editor's live preview, served from
//! the app itself, and every page works without it.
//!
//! This module holds what the pages share — the [`Page`] response, human dates, the one-time
//! [`Flash`] confirmation, the landing page, the dashboard, the logout confirmation and the error
//! page — and the static assets; the document and settings pages live next to their handlers,
//! and failures are [`super::error::PageError`].

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use pymd_domain::{Document, DocumentId, DocumentSummary, User};

use super::error::{Viewer, viewer_of};

/// The stylesheet, served at `/static/app.css`.
pub const STYLESHEET: &str = include_str!("app.css");

/// The icon, served at `/static/favicon.svg` (and `/favicon.ico`, where browsers look unasked).
pub const FAVICON: &str = include_str!("favicon.svg");

/// A file built into the binary, with its type and how long browsers may cache it.
pub fn static_asset(
    body: &'static str,
    content_type: &'static str,
    max_age: &'static str,
) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(max_age));
    r
}

/// `GET /static/favicon.svg`: the icon every page names, cached for a day.
pub async fn favicon() -> Response {
    static_asset(FAVICON, "image/svg+xml", "public, max-age=86400")
}

/// The editor's live preview script, served at `/static/editor.js`.
pub const EDITOR_SCRIPT: &str = include_str!("editor.js");

/// `GET /static/editor.js`.
pub async fn editor_script() -> Response {
    static_asset(
        EDITOR_SCRIPT,
        "text/javascript; charset=utf-8",
        "public, max-age=3600",
    )
}

/// The user's own name, when they have one that is not just their email address (a new
/// database user's name is their email until they change it).
pub fn real_name(user: &User) -> Option<&str> {
    user.name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && Some(*n) != user.email.as_deref())
}

/// The name to greet a user by: name, else email, else "there".
pub fn display_name(user: &User) -> &str {
    user.name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .or(user.email.as_deref())
        .unwrap_or("there")
}

/// An RFC 3339 timestamp for `<time datetime>`.
pub fn timestamp(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A date people read: `2 Dec 2026, 00:59 UTC`.
pub fn human_time(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A one-time confirmation shown on the page a successful form leads to ("Document saved."):
/// a short-lived cookie holding one of a closed set of codes, read and cleared by that page, so a
/// reload does not show it again and no text from the request ever reaches the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flash {
    Created,
    Saved,
    Deleted,
}

impl Flash {
    const COOKIE: &str = "pymd_flash";

    fn code(self) -> &'static str {
        match self {
            Flash::Created => "created",
            Flash::Saved => "saved",
            Flash::Deleted => "deleted",
        }
    }

    /// What the page says.
    pub fn message(self) -> &'static str {
        match self {
            Flash::Created => "Document created.",
            Flash::Saved => "Changes saved.",
            Flash::Deleted => "Document deleted.",
        }
    }

    /// A `303 See Other` to `location` that carries this confirmation.
    pub fn see_other(self, location: &str, https: bool) -> Response {
        let cookie = Cookie::build((Flash::COOKIE, self.code()))
            .path("/")
            .http_only(true)
            .secure(https)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::minutes(1));
        (CookieJar::new().add(cookie), see_other(location)).into_response()
    }

    /// The confirmation the request carries, if any, and the jar that clears it.
    pub fn take(jar: CookieJar) -> (Option<Flash>, CookieJar) {
        let Some(found) = jar.get(Flash::COOKIE).map(|c| c.value().to_owned()) else {
            return (None, jar);
        };
        let flash = [Flash::Created, Flash::Saved, Flash::Deleted]
            .into_iter()
            .find(|f| f.code() == found);
        (flash, jar.remove(Cookie::build(Flash::COOKIE).path("/")))
    }
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
    /// RFC 3339, for `<time datetime>`.
    pub updated: String,
    /// For people: `2 Dec 2026, 00:59 UTC`.
    pub updated_human: String,
}

impl DocumentItem {
    fn new(id: DocumentId, title: &str, updated_at: time::OffsetDateTime) -> Self {
        DocumentItem {
            id: id.0.to_string(),
            title: title.to_owned(),
            updated: timestamp(updated_at),
            updated_human: human_time(updated_at),
        }
    }
}

impl From<&DocumentSummary> for DocumentItem {
    fn from(d: &DocumentSummary) -> Self {
        DocumentItem::new(d.id, &d.title, d.updated_at)
    }
}

impl From<&Document> for DocumentItem {
    fn from(d: &Document) -> Self {
        DocumentItem::new(d.id, &d.title, d.updated_at)
    }
}

/// The landing page: a welcome back, or an invitation to log in.
#[derive(Template)]
#[template(path = "landing.html")]
pub struct Landing {
    pub viewer: Viewer,
}

/// The dashboard: a greeting by name (or a welcome and an invitation to add one) and the most
/// recent documents.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    pub viewer: Viewer,
    /// The user's own name (not their email standing in for it).
    pub name: Option<String>,
    pub email: Option<String>,
    pub documents: Vec<DocumentItem>,
}

impl Dashboard {
    /// The dashboard of `user`, listing `documents`.
    pub fn new(user: &User, documents: &[DocumentSummary]) -> Self {
        Dashboard {
            viewer: viewer_of(user),
            name: real_name(user).map(str::to_owned),
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
    fn dates_read_like_people_write_them() {
        let t = time::macros::datetime!(2026-12-02 00:59:20.55505 UTC);
        assert_eq!(human_time(t), "2 Dec 2026, 00:59 UTC");
        let later = time::macros::datetime!(2027-01-15 13:05:00 +02:00);
        assert_eq!(human_time(later), "15 Jan 2027, 11:05 UTC");
    }

    #[test]
    fn a_flash_cookie_names_only_a_known_confirmation() {
        let jar = |v: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(header::COOKIE, format!("pymd_flash={v}").parse().unwrap());
            CookieJar::from_headers(&h)
        };
        assert_eq!(Flash::take(jar("saved")).0, Some(Flash::Saved));
        assert_eq!(Flash::take(jar("<script>")).0, None);
        assert_eq!(Flash::take(CookieJar::new()).0, None);
    }

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
