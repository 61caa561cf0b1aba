//! A cookie jar that sends what a browser would send: cookies are kept per host (browsers do not
//! isolate them by port), sent only to request paths inside their `Path` (RFC 6265 §5.1.4, with
//! the default path of §5.1.4 when none is given), and removed by `Max-Age<=0` or an `Expires`
//! in the past.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, SET_COOKIE};
use url::Url;

#[derive(Debug, Clone)]
struct Cookie {
    value: String,
    path: String,
}

/// Cookies by (host, name).
#[derive(Debug, Default, Clone)]
pub struct CookieJar {
    cookies: BTreeMap<(String, String), Cookie>,
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}

/// RFC 6265 §5.1.4 default-path: the request path up to (not including) its last `/`.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request_path[..i].to_owned(),
    }
}

fn host(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

impl CookieJar {
    /// Keeps the cookies of a response to `url`.
    pub fn store(&mut self, url: &Url, headers: &HeaderMap) {
        for line in headers.get_all(SET_COOKIE) {
            if let Ok(line) = line.to_str() {
                self.store_line(url, line);
            }
        }
    }

    /// Keeps one `Set-Cookie` line received from `url`.
    pub fn store_line(&mut self, url: &Url, line: &str) {
        let mut parts = line.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let mut path = default_path(url.path());
        let mut expired = false;
        for attr in parts {
            let (k, v) = attr.trim().split_once('=').unwrap_or((attr.trim(), ""));
            let (k, v) = (k.trim(), v.trim());
            if k.eq_ignore_ascii_case("path") && v.starts_with('/') {
                path = v.to_owned();
            }
            if k.eq_ignore_ascii_case("max-age") && v.parse::<i64>().is_ok_and(|s| s <= 0) {
                expired = true;
            }
            if k.eq_ignore_ascii_case("expires") && v.contains("1970") {
                expired = true;
            }
        }
        let key = (host(url), name.trim().to_owned());
        if expired {
            self.cookies.remove(&key);
        } else {
            let value = value.trim().to_owned();
            self.cookies.insert(key, Cookie { value, path });
        }
    }

    /// The `Cookie` header a browser sends with a request to `url`.
    pub fn header_for(&self, url: &Url) -> Option<String> {
        let host = host(url);
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|((h, _), c)| *h == host && path_matches(url.path(), &c.path))
            .map(|((_, name), c)| format!("{name}={}", c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Whether a request to `url` would carry cookie `name`.
    pub fn has(&self, url: &Url, name: &str) -> bool {
        let host = host(url);
        self.cookies
            .iter()
            .any(|((h, n), c)| *h == host && n == name && path_matches(url.path(), &c.path))
    }

    /// The value of cookie `name` for any host.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|((_, n), _)| n == name)
            .map(|(_, c)| c.value.as_str())
    }

    /// Sets cookie `name` for `url`'s host on `Path=/`, as a script or an attacker could.
    pub fn set(&mut self, url: &Url, name: &str, value: &str) {
        let cookie = Cookie {
            value: value.to_owned(),
            path: "/".to_owned(),
        };
        self.cookies.insert((host(url), name.to_owned()), cookie);
    }

    /// Forgets cookie `name` for every host.
    pub fn remove(&mut self, name: &str) {
        self.cookies.retain(|(_, n), _| n != name);
    }

    /// The names of the cookies held for any host.
    pub fn names(&self) -> Vec<String> {
        self.cookies.keys().map(|(_, n)| n.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_cookie_goes_only_to_paths_inside_its_path() {
        let mut jar = CookieJar::default();
        jar.store_line(&url("http://127.0.0.1:1/u/login"), "a=1; Path=/u; HttpOnly");
        assert_eq!(
            jar.header_for(&url("http://127.0.0.1:2/u/login"))
                .as_deref(),
            Some("a=1")
        );
        assert_eq!(
            jar.header_for(&url("http://127.0.0.1:2/u")).as_deref(),
            Some("a=1")
        );
        assert_eq!(jar.header_for(&url("http://127.0.0.1:2/user")), None);
        assert_eq!(jar.header_for(&url("http://localhost:2/u")), None);
    }

    #[test]
    fn the_default_path_is_the_request_directory() {
        let mut jar = CookieJar::default();
        jar.store_line(&url("http://h/a/b/c"), "x=1");
        assert_eq!(
            jar.header_for(&url("http://h/a/b/d")).as_deref(),
            Some("x=1")
        );
        assert_eq!(jar.header_for(&url("http://h/a")), None);
    }

    #[test]
    fn max_age_zero_and_a_past_expiry_remove_a_cookie() {
        let mut jar = CookieJar::default();
        let at = url("http://h/");
        jar.store_line(&at, "s=1; Path=/");
        jar.store_line(&at, "t=1; Path=/");
        jar.store_line(&at, "s=; Path=/; Max-Age=0");
        jar.store_line(&at, "t=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(jar.header_for(&at), None);
        assert!(jar.names().is_empty());
    }
}
