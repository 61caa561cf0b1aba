//! HTTP helpers for PyMD's integration suites (a dev-dependency only, never in a build).
//!
//! Every suite that drives a login needs the same two things: a response read completely, so a
//! test can assert on its status, headers and body in any order ([`Resp`]), and a "browser" that
//! follows no redirect by itself (so each hop is seen) and keeps cookies the way a browser does —
//! per host, with RFC 6265 paths, deleted by `Max-Age=0` or a past `Expires` ([`Browser`],
//! [`CookieJar`]). They lived as three near-copies in the server's and the tenant's suites.
//!
//! Helpers panic on transport errors: in a test, a request that cannot be sent is a failure.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test-only helpers: a request that cannot be sent fails the test"
)]

mod browser;
mod cookies;
mod resp;

pub use browser::Browser;
pub use cookies::CookieJar;
pub use resp::Resp;

use std::collections::HashMap;

/// The text between `start` and the next `end` (e.g. a hidden form field's value).
pub fn between(haystack: &str, start: &str, end: &str) -> Option<String> {
    let i = haystack.find(start)? + start.len();
    let j = haystack[i..].find(end)? + i;
    Some(haystack[i..j].to_owned())
}

/// The query parameters of an absolute URL (empty when it does not parse).
pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The first 600 characters of `s`, for assertion messages.
pub fn excerpt(s: &str) -> String {
    s.chars().take(600).collect()
}

/// A reqwest client that follows no redirect (tests look at every hop).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}
