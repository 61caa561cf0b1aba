//! A browser for tests: never follows a redirect by itself, carries cookies in a [`CookieJar`].

use reqwest::RequestBuilder;
use reqwest::header::COOKIE;
use url::Url;

use crate::{CookieJar, Resp};

/// A reqwest client plus a cookie jar; each call is one hop.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The client (no redirects); use it for requests [`Browser`] has no method for.
    pub http: reqwest::Client,
    /// The cookies this browser holds.
    pub jar: CookieJar,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    /// A browser with an empty jar.
    pub fn new() -> Browser {
        Browser::with_client(crate::http_client())
    }

    /// A browser that sends through `http` (e.g. a client bound to another local address).
    pub fn with_client(http: reqwest::Client) -> Browser {
        Browser {
            http,
            jar: CookieJar::default(),
        }
    }

    /// The value of cookie `name`, for any host.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.get(name).map(str::to_owned)
    }

    /// Whether the jar holds cookie `name`.
    pub fn has_cookie(&self, name: &str) -> bool {
        self.jar.get(name).is_some()
    }

    /// Sends `request` to `url` with the cookies that match it, keeps the response's cookies.
    pub async fn send(&mut self, request: RequestBuilder, url: &Url) -> Resp {
        let request = match self.jar.header_for(url) {
            Some(cookies) => request.header(COOKIE, cookies),
            None => request,
        };
        let response = request
            .send()
            .await
            .expect("the request reaches the server");
        let resp = Resp::read(response).await;
        self.jar.store(url, &resp.headers);
        resp
    }

    /// `GET url`.
    pub async fn get(&mut self, url: &str) -> Resp {
        let url = Url::parse(url).expect("absolute URL");
        let request = self.http.get(url.clone());
        self.send(request, &url).await
    }

    /// `GET url` as a click on a link of a page of the same origin: with `Sec-Fetch-Site:
    /// same-origin`, as browsers send it.
    pub async fn click(&mut self, url: &str) -> Resp {
        let url = Url::parse(url).expect("absolute URL");
        let request = self
            .http
            .get(url.clone())
            .header("sec-fetch-site", "same-origin");
        self.send(request, &url).await
    }

    /// `POST url` with a form body.
    pub async fn post_form<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        url: &str,
        form: &[(K, V)],
    ) -> Resp {
        let url = Url::parse(url).expect("absolute URL");
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        let request = self.http.post(url.clone()).form(&pairs);
        self.send(request, &url).await
    }
}
