//! The tenant's two browser cookies: `auth0` (the SSO session) and `auth0_csrf` (the login
//! forms' per-browser CSRF binding) — reading them and their `Set-Cookie` values.

use axum::http::{HeaderMap, header};

/// Name of the SSO session cookie.
pub const SESSION_COOKIE: &str = "auth0";

/// Name of the login forms' CSRF cookie (a random per-browser value).
pub const CSRF_COOKIE: &str = "auth0_csrf";

/// The value of one cookie.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value for the session cookie.
pub fn session_cookie(value: &str, secure: bool, max_age: Option<i64>) -> String {
    let flags = if secure {
        "; Secure; SameSite=None"
    } else {
        "; SameSite=Lax"
    };
    match max_age {
        Some(a) => format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; Max-Age={a}{flags}"),
        None => format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly{flags}"),
    }
}

/// A `Set-Cookie` value for the CSRF cookie: browser-session lifetime, never readable by
/// script and never sent on cross-site POSTs. `Path=/`, not `/u`: `/authorize` must see an
/// existing cookie and reuse it, or a second tab would replace it and break the first tab's form.
pub fn csrf_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

/// A `Set-Cookie` that clears the session cookie.
pub fn clear_session_cookie(secure: bool) -> String {
    session_cookie("", secure, Some(0))
}
