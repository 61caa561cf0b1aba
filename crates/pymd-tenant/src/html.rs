//! Server-rendered pages (login, sign-up, error, mailbox, notices): hand-written HTML with
//! every dynamic value escaped, no external assets and no script, served with a strict
//! Content-Security-Policy.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::util::esc;

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1f2328}\
main{max-width:380px;margin:8vh auto;background:#fff;border-radius:8px;padding:32px;box-shadow:0 2px 12px rgba(0,0,0,.08)}\
h1{font-size:1.4rem;margin:0 0 4px}p.sub{color:#57606a;margin:0 0 20px}label{display:block;font-size:.9rem;margin:12px 0 4px}\
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:10px;border:1px solid #d0d7de;border-radius:6px;font-size:1rem}\
button{margin-top:20px;width:100%;padding:11px;border:0;border-radius:6px;background:#635dff;color:#fff;font-size:1rem;cursor:pointer}\
.error{background:#fff0f0;border:1px solid #f3b5b5;color:#a40e26;padding:10px;border-radius:6px;margin-bottom:8px}\
.error ul{margin:6px 0 0 18px;padding:0}.alt{margin-top:16px;font-size:.9rem;text-align:center}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:6px;text-align:left;font-size:.9rem}\
main.wide{max-width:900px}code{word-break:break-all}";

/// Wraps `body` in the page layout and sets the security headers.
pub fn page(status: StatusCode, title: &str, body: &str, wide: bool) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\"><title>{}</title><style>{STYLE}</style></head>\
<body><main{}>{body}</main></body></html>",
        esc(title),
        if wide { " class=\"wide\"" } else { "" },
    );
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
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
    r
}

/// Auth0's generic error page (`error`, `error_description`).
pub fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    let body = format!(
        "<h1>Oops!, something went wrong</h1><p class=\"sub\">There could be a misconfiguration in the system or a service outage.</p>\
<div class=\"error\"><strong>{}</strong><br>{}</div>",
        esc(error),
        esc(description)
    );
    page(status, "Error", &body, false)
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

fn error_block(f: &FormPage<'_>) -> String {
    match f.error {
        None => String::new(),
        Some(e) => {
            let items: String = f
                .details
                .iter()
                .map(|d| format!("<li>{}</li>", esc(d)))
                .collect();
            if items.is_empty() {
                format!(
                    "<div class=\"error\" role=\"alert\" id=\"error-element\">{}</div>",
                    esc(e)
                )
            } else {
                format!(
                    "<div class=\"error\" role=\"alert\" id=\"error-element\">{}<ul>{items}</ul></div>",
                    esc(e)
                )
            }
        }
    }
}

/// The login form (`POST /u/login?state=…`).
pub fn login(status: StatusCode, f: &FormPage<'_>) -> Response {
    let st = url::form_urlencoded::byte_serialize(f.state.as_bytes()).collect::<String>();
    let body = format!(
        "<h1>Welcome</h1><p class=\"sub\">Log in to {tenant} to continue to {client}.</p>{err}\
<form method=\"post\" action=\"/u/login?state={st}\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<label for=\"email\">Email address</label><input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required autofocus>\
<label for=\"password\">Password</label><input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\" name=\"action\" value=\"default\">Continue</button></form>\
<p class=\"alt\">Don't have an account? <a href=\"/u/signup?state={st}\">Sign up</a></p>",
        tenant = esc(f.tenant),
        client = esc(f.client),
        err = error_block(f),
        csrf = esc(f.csrf),
        email = esc(f.email),
    );
    page(status, &format!("Log in | {}", f.tenant), &body, false)
}

/// The sign-up form (`POST /u/signup?state=…`).
pub fn signup(status: StatusCode, f: &FormPage<'_>, policy: &str) -> Response {
    let st = url::form_urlencoded::byte_serialize(f.state.as_bytes()).collect::<String>();
    let rules: String = policy.lines().map(|l| format!("{}<br>", esc(l))).collect();
    let body = format!(
        "<h1>Create Your Account</h1><p class=\"sub\">Sign up to {tenant} to continue to {client}.</p>{err}\
<form method=\"post\" action=\"/u/signup?state={st}\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<label for=\"email\">Email address</label><input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required autofocus>\
<label for=\"password\">Password</label><input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"new-password\" required>\
<p class=\"sub\" style=\"font-size:.8rem;margin-top:8px\">Your password must contain:<br>{rules}</p>\
<button type=\"submit\" name=\"action\" value=\"default\">Continue</button></form>\
<p class=\"alt\">Already have an account? <a href=\"/u/login?state={st}\">Log in</a></p>",
        tenant = esc(f.tenant),
        client = esc(f.client),
        err = error_block(f),
        csrf = esc(f.csrf),
        email = esc(f.email),
    );
    page(status, &format!("Sign up | {}", f.tenant), &body, false)
}

/// A simple notice page.
pub fn notice(title: &str, text: &str) -> Response {
    page(
        StatusCode::OK,
        title,
        &format!("<h1>{}</h1><p>{}</p>", esc(title), esc(text)),
        false,
    )
}
