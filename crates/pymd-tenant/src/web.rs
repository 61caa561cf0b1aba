//! HTTP plumbing shared by the handlers: request metadata (client IP, user agent, cookies,
//! form-or-JSON bodies) and the OAuth / HTML response shapes with their headers.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Who is calling: socket peer and user agent.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Socket peer.
    pub ip: Option<std::net::IpAddr>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
}

impl Caller {
    /// From the connection info and headers.
    pub fn new(peer: Option<SocketAddr>, headers: &HeaderMap) -> Caller {
        Caller {
            ip: peer.map(|p| p.ip()),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(512).collect()),
        }
    }

    /// IP as text.
    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|i| i.to_string())
    }
}

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
        Some(a) => format!("auth0={value}; Path=/; HttpOnly; Max-Age={a}{flags}"),
        None => format!("auth0={value}; Path=/; HttpOnly{flags}"),
    }
}

/// Name of the login forms' CSRF cookie (a random per-browser value; see `authorize`).
pub const CSRF_COOKIE: &str = "auth0_csrf";

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

/// Parses an `application/x-www-form-urlencoded` or `application/json` body into string
/// parameters (JSON arrays of strings are joined with spaces, as for `scope`).
///
/// # Errors
/// `Err(())` when the body is neither valid form data nor a JSON object.
pub fn parse_params(headers: &HeaderMap, body: &Bytes) -> Result<HashMap<String, String>, ()> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("application/json") {
        let v: Value = serde_json::from_slice(body).map_err(|_| ())?;
        let obj = v.as_object().ok_or(())?;
        let mut out = HashMap::new();
        for (k, v) in obj {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                Value::Null => continue,
                Value::Object(_) => return Err(()),
            };
            out.insert(k.clone(), s);
        }
        Ok(out)
    } else {
        Ok(url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect())
    }
}

/// Query-string parameters (last value wins).
pub fn query_params(q: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A JSON response with `Cache-Control: no-store` (every token-endpoint answer).
pub fn no_store_json(status: StatusCode, body: Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// An OAuth error (`{"error","error_description"}`), no-store.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store_json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// A 302 redirect (never 307: credentials must not be re-posted).
pub fn found(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Appends a `Set-Cookie` header.
pub fn with_cookie(mut r: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Appends query parameters to a URL (keeps an existing query string).
pub fn add_query(base: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => base.to_string(),
    }
}
