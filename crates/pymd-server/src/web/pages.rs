//! Server-rendered HTML: one small layout, the landing page, the dashboard, error pages and the
//! stylesheet (the document and settings pages live in `documents.rs` and `settings.rs`). Pages carry no script and load nothing from elsewhere (the CSP is
//! `default-src 'self'`); every value that came from a user or the IdP goes through [`esc`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pymd_domain::{Document, User};

/// The stylesheet, served at `/static/app.css`.
pub const STYLESHEET: &str = include_str!("app.css");

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The name to greet a user by: name, else email, else "there".
pub fn display_name(user: &User) -> &str {
    user.name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .or(user.email.as_deref())
        .unwrap_or("there")
}

/// Wraps `body` in the layout; `user` switches the navigation between **Log in** and **Log out**.
pub fn layout(title: &str, user: Option<&User>, body: &str) -> String {
    let nav = match user {
        Some(u) => format!(
            "<a href=\"/dashboard\">Dashboard</a><a href=\"/documents\" data-testid=\"nav-documents\">Documents</a>\
<a href=\"/settings\" data-testid=\"nav-settings\">Settings</a><span class=\"who\">{}</span>\
<a class=\"button\" href=\"/auth/logout\" data-testid=\"logout\">Log out</a>",
            esc(display_name(u))
        ),
        None => "<a class=\"button\" href=\"/auth/login\">Log in</a>".to_owned(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · PyMD</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
<body><header class=\"top\"><a class=\"brand\" href=\"/\">PyMD</a><nav>{nav}</nav></header>\
<main>{body}</main><footer>PyMD · Markdown documents behind Auth0</footer></body></html>\n",
        title = esc(title),
    )
}

/// An HTML response that is never cached (pages may show personal data).
pub fn html(status: StatusCode, page: String) -> Response {
    let mut r = (status, page).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
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
    let retry = match retry {
        Some(href) => format!(
            "<p><a class=\"button\" href=\"{}\" data-testid=\"try-again\">Try again</a> <a href=\"/\">Home</a></p>",
            esc(href)
        ),
        None => "<p><a href=\"/\">Home</a></p>".to_owned(),
    };
    let body = format!(
        "<section class=\"card error\"><h1>{}</h1><p>{}</p>{retry}</section>",
        esc(title),
        esc(message)
    );
    html(status, layout(title, user, &body))
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

/// A `303 See Other` to `location` (after a successful form submission).
pub fn see_other(location: &str) -> Response {
    axum::response::Redirect::to(location).into_response()
}

/// An RFC 3339 timestamp for `<time datetime>` and display.
pub fn timestamp(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The landing page.
pub fn landing(user: Option<&User>) -> Response {
    let body = match user {
        Some(u) => format!(
            "<section class=\"hero\"><h1>Welcome, <span data-testid=\"user-name\">{}</span></h1>\
<p>Your Markdown documents are waiting.</p>\
<p><a class=\"button\" href=\"/dashboard\">Go to your dashboard</a> <a href=\"/auth/logout\">Log out</a></p></section>",
            esc(display_name(u))
        ),
        None => "<section class=\"hero\"><h1>Markdown documents, signed in with Auth0</h1>\
<p>Write, keep and share Markdown. Sign in to see your documents.</p>\
<p><a class=\"button\" href=\"/auth/login\" data-testid=\"login\">Log in</a></p></section>"
            .to_owned(),
    };
    html(StatusCode::OK, layout("Home", user, &body))
}

/// The dashboard: the user's name and their most recent documents.
pub fn dashboard(user: &User, documents: &[Document]) -> Response {
    let list = if documents.is_empty() {
        "<p class=\"empty\">No documents yet.</p>".to_owned()
    } else {
        let items: String = documents
            .iter()
            .map(|d| {
                let updated = timestamp(d.updated_at);
                format!(
                    "<li><a href=\"/documents/{id}\">{title}</a> <time datetime=\"{updated}\">{updated}</time></li>",
                    id = d.id.0,
                    title = esc(&d.title),
                    updated = esc(&updated),
                )
            })
            .collect();
        format!("<ul class=\"documents\" data-testid=\"documents\">{items}</ul>")
    };
    let email = user
        .email
        .as_deref()
        .map(|e| format!("<p class=\"sub\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "<section class=\"card\"><h1>Hello, <span data-testid=\"user-name\">{name}</span></h1>{email}</section>\
<section class=\"card\"><div class=\"section-head\"><h2>Recent documents</h2>\
<p class=\"actions\"><a href=\"/documents\">All documents</a> \
<a class=\"button\" href=\"/documents/new\" data-testid=\"new-document\">New document</a></p></div>{list}</section>",
        name = esc(display_name(user)),
    );
    html(StatusCode::OK, layout("Dashboard", Some(user), &body))
}

/// A page that asks before logging out (a cross-site request must not end the session).
pub fn confirm_logout(user: Option<&User>) -> Response {
    let body = "<section class=\"card\"><h1>Log out?</h1>\
<p><a class=\"button\" href=\"/auth/logout\">Log out</a> <a href=\"/\">Stay signed in</a></p></section>";
    html(StatusCode::OK, layout("Log out", user, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    #[test]
    fn the_layout_loads_only_the_local_stylesheet_and_no_script() {
        let page = layout("t", None, "");
        assert!(page.contains("href=\"/static/app.css\""));
        assert!(!page.contains("<script"));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }
}
