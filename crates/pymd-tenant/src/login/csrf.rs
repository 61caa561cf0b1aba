//! Login CSRF protection (RFC 9700 §4.7): a random per-browser `auth0_csrf` cookie, and the
//! forms' token — an HMAC over the transaction id and that cookie — so a form only works
//! from the browser that loaded it.

use axum::http::HeaderMap;

use crate::cookies::{CSRF_COOKIE, cookie, csrf_cookie};
use crate::state::AppState;
use crate::util::{b64url, random_urlsafe};

/// Whether `s` is base64url text.
pub fn is_b64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn well_formed_binding(v: &str) -> bool {
    v.len() == 43 && is_b64url(v)
}

/// The browser's CSRF cookie value, if it sent a well-formed one.
pub fn sent_binding(headers: &HeaderMap) -> Option<String> {
    cookie(headers, CSRF_COOKIE).filter(|v| well_formed_binding(v))
}

/// The browser's CSRF cookie value, and a `Set-Cookie` when the browser has none yet.
pub fn browser_binding(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    match sent_binding(headers) {
        Some(v) => (v, None),
        None => {
            let v = random_urlsafe(43);
            let set = csrf_cookie(&v, state.secure);
            (v, Some(set))
        }
    }
}

/// The forms' CSRF token for transaction `tx_id` in the browser bound by `binding`.
pub fn csrf_token(state: &AppState, tx_id: &str, binding: &str) -> String {
    let msg = format!("login-form|{tx_id}|{binding}");
    b64url(aws_lc_rs::hmac::sign(&state.csrf_key, msg.as_bytes()).as_ref())
}
