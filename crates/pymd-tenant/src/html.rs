//! The dev tenant's pages (login, sign-up, error, notices, the dev mailbox), rendered from typed
//! askama templates under `templates/` that all extend one layout, `base.html`. Askama escapes
//! every value it writes (the one escaping path); pages load no external asset and run no script,
//! and each is served with the same strict Content-Security-Policy and no-store headers.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Auth0's generic error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    error: &'a str,
    description: &'a str,
}

/// What goes on a login or sign-up form.
pub struct FormPage<'a> {
    /// Tenant friendly name.
    pub tenant: &'a str,
    /// Application name.
    pub client: &'a str,
    /// Transaction id.
    pub state: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// Pre-filled email.
    pub email: &'a str,
    /// Error headline.
    pub error: Option<&'a str>,
    /// Error details (policy rules).
    pub details: Vec<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a, 'f> {
    form: &'f FormPage<'a>,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage<'a, 'f> {
    form: &'f FormPage<'a>,
    /// The password policy, one rule a line.
    rules: Vec<&'f str>,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage<'a> {
    title: &'a str,
    text: &'a str,
}

/// One row of the dev mailbox page.
pub struct MailRow<'a> {
    /// Recipient.
    pub to: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// The verification link the mail carries.
    pub link: &'a str,
    /// Whether the link was followed already.
    pub used: bool,
}

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage<'a, 'r> {
    mails: &'r [MailRow<'a>],
}

/// Renders `page` with `status` and the security headers. A template that fails to render (it
/// cannot with these types, but askama's API is fallible) is logged and answered with a bare 500.
fn respond(status: StatusCode, page: &impl Template) -> Response {
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a dev tenant page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Auth0's generic error page (`error`, `error_description`).
pub fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    respond(status, &ErrorPage { error, description })
}

/// The login form (`POST /u/login?state=…`).
pub fn login(status: StatusCode, form: &FormPage<'_>) -> Response {
    respond(status, &LoginPage { form })
}

/// The sign-up form (`POST /u/signup?state=…`) with the password `policy` (one rule a line).
pub fn signup(status: StatusCode, form: &FormPage<'_>, policy: &str) -> Response {
    let rules = policy.lines().collect();
    respond(status, &SignupPage { form, rules })
}

/// A simple notice page.
pub fn notice(title: &str, text: &str) -> Response {
    respond(StatusCode::OK, &NoticePage { title, text })
}

/// The dev mailbox: `mails` in the order given (the caller puts the newest first).
pub fn mailbox(mails: &[MailRow<'_>]) -> Response {
    respond(StatusCode::OK, &MailboxPage { mails })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn every_value_is_escaped_by_the_template_engine() {
        let hostile = "<a href=\"x\">'&";
        let html = body(error_page(StatusCode::BAD_REQUEST, hostile, hostile)).await;
        assert!(!html.contains(hostile), "{html}");
        assert!(
            html.contains("&#60;a href=&#34;x&#34;&#62;&#39;&#38;"),
            "{html}"
        );
        let form = FormPage {
            tenant: hostile,
            client: hostile,
            state: "a b&c",
            csrf: "\"><script>",
            email: hostile,
            error: Some(hostile),
            details: vec![hostile.to_string()],
        };
        let html = body(signup(StatusCode::OK, &form, hostile)).await;
        assert!(
            !html.contains(hostile) && !html.contains("<script>"),
            "{html}"
        );
        assert!(
            html.contains("action=\"/u/signup?state=a%20b%26c\""),
            "{html}"
        );
    }

    #[tokio::test]
    async fn pages_share_the_layout_and_the_security_headers() {
        let r = notice("Logged out", "You have been logged out.");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
        let html = body(r).await;
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains("<title>Logged out</title>"), "{html}");
        assert!(html.contains("<h1>Logged out</h1>"), "{html}");
        let html = body(mailbox(&[])).await;
        assert!(html.contains("<main class=\"wide\">"), "{html}");
        assert!(html.contains("No mail yet."), "{html}");
    }
}
