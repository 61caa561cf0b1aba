//! One browser-style sign-in against `pymd serve` and its IdP (the dev tenant), shared by the
//! benchmark's login scenario and the fault soak: app `/auth/login` → tenant `/authorize` →
//! login form → POST → app `/auth/callback` → session cookie. Each sign-in is a fresh browser
//! (its own cookie jar), so the tenant's form and password check run every time. When a sign-in
//! fails, the error says at which hop, so the soak can tell "the IdP is down" from "the app
//! answered 500".

/// The session cookie `pymd serve` sets at the end of a sign-in.
pub const SESSION_COOKIE: &str = "pymd_session";

/// Where a sign-in stopped: the hop's side (`app` or `idp`), its path (no query) and what came
/// back. Built from a fixed set of routes, so it is fit to count by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignInFailure {
    /// `app` (PyMD) or `idp` (any other origin).
    pub side: &'static str,
    /// The request path of the hop that failed, without its query.
    pub path: String,
    /// The HTTP status that ended the sign-in, if one came back.
    pub status: Option<u16>,
    /// `connect`, `timeout`, `other` for a request that got no answer; `unexpected` for an
    /// answer that was neither a redirect nor the login form; `loop` when no session came after
    /// eight hops.
    pub what: &'static str,
}

impl std::fmt::Display for SignInFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "{} {} → {} ({})", self.side, self.path, s, self.what),
            None => write!(f, "{} {} → {}", self.side, self.path, self.what),
        }
    }
}

/// Keeps each `Set-Cookie` of a response in the sign-in's jar (a later value replaces an
/// earlier one).
fn absorb_cookies(jar: &mut Vec<(String, String)>, headers: &reqwest::header::HeaderMap) {
    for sc in headers.get_all("set-cookie") {
        if let Some((k, v)) = sc
            .to_str()
            .ok()
            .and_then(|s| s.split(';').next())
            .and_then(|kv| kv.split_once('='))
        {
            jar.retain(|(name, _)| name != k);
            jar.push((k.to_owned(), v.to_owned()));
        }
    }
}

/// The tenant's login form filled in for alice, URL-encoded (`None` without a CSRF field).
fn login_form(page: &str) -> Option<String> {
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())?;
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    Some(format!(
        "csrf_token={}&email={}&password={}",
        enc(csrf),
        enc("alice@example.com"),
        enc("Alice-Dev-2026!")
    ))
}

/// The origin (`scheme://host:port`) of an absolute URL.
fn origin_of(url: &str) -> String {
    url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/")
}

/// The path of an absolute URL, without its query.
fn path_of(url: &str) -> String {
    let rest = url.splitn(4, '/').nth(3).unwrap_or("");
    format!("/{}", rest.split(['?', '#']).next().unwrap_or(""))
}

/// One browser-style sign-in as alice through `base` (the app's origin, which must not end in
/// `/`); `client` must not follow redirects. Returns the session cookie's value.
///
/// # Errors
/// The hop where the sign-in stopped ([`SignInFailure`]).
pub async fn one_login(client: &reqwest::Client, base: &str) -> Result<String, SignInFailure> {
    let app_origin = origin_of(base);
    let mut jar: Vec<(String, String)> = Vec::new();
    let mut url = format!("{base}/auth/login");
    let mut form: Option<String> = None;
    let failure = |url: &str, status: Option<u16>, what: &'static str| SignInFailure {
        side: if origin_of(url) == app_origin {
            "app"
        } else {
            "idp"
        },
        path: path_of(url),
        status,
        what,
    };
    for _ in 0..8 {
        let cookie_header = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let rb = match form.take() {
            Some(body) => client
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
            None => client.get(&url),
        };
        let r = match rb.header("cookie", cookie_header).send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connect"
                } else {
                    "other"
                };
                return Err(failure(&url, None, what));
            }
        };
        absorb_cookies(&mut jar, r.headers());
        if let Some((_, session)) = jar
            .iter()
            .find(|(k, v)| k == SESSION_COOKIE && !v.is_empty())
        {
            return Ok(session.clone());
        }
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let body = r.text().await.unwrap_or_default();
        if status.is_redirection() {
            let Some(next) = location else {
                return Err(failure(&url, Some(status.as_u16()), "unexpected"));
            };
            url = if next.starts_with('/') {
                format!("{}{next}", origin_of(&url))
            } else {
                next
            };
        } else if status.is_success() && body.contains("name=\"csrf_token\"") {
            let Some(filled) = login_form(&body) else {
                return Err(failure(&url, Some(status.as_u16()), "unexpected"));
            };
            form = Some(filled);
        } else {
            return Err(failure(&url, Some(status.as_u16()), "unexpected"));
        }
    }
    Err(failure(&url, None, "loop"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_origins_leave_the_query_out() {
        let url = "http://127.0.0.1:4000/authorize?client_id=x&state=y";
        assert_eq!(origin_of(url), "http://127.0.0.1:4000");
        assert_eq!(path_of(url), "/authorize");
        assert_eq!(path_of("http://127.0.0.1:4000"), "/");
    }

    #[test]
    fn the_login_form_is_filled_with_the_pages_csrf_token() {
        let page = r#"<form><input type="hidden" name="csrf_token" value="a b+c"></form>"#;
        let form = login_form(page).unwrap();
        assert!(form.starts_with("csrf_token=a%20b%2Bc&"), "{form}");
        assert!(form.contains("email=alice%40example.com"), "{form}");
        assert_eq!(login_form("<form></form>"), None);
    }
}
