//! A response read completely: status, headers and body, with the accessors tests use.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;
use url::Url;

/// An HTTP response, read to the end.
#[derive(Debug, Clone)]
pub struct Resp {
    /// The URL that was requested (redirects are never followed).
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    /// Reads `response` to the end; panics if the body cannot be read.
    pub async fn read(response: reqwest::Response) -> Resp {
        Resp::try_read(response).await.expect("read the body")
    }

    /// Reads `response` to the end.
    ///
    /// # Errors
    /// The connection failed while the body was being read (e.g. the server reset it).
    pub async fn try_read(response: reqwest::Response) -> Result<Resp, reqwest::Error> {
        let url = response.url().clone();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        Ok(Resp {
            url,
            status,
            headers,
            text,
        })
    }

    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {} {}",
                self.status,
                crate::excerpt(&self.text)
            )
        })
    }

    /// A header's value as text (`None` when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Location` as the server wrote it.
    pub fn location(&self) -> Option<String> {
        self.header(LOCATION.as_str()).map(str::to_owned)
    }

    /// `Location` resolved against the requested URL, as a browser would follow it.
    pub fn next_url(&self) -> Option<String> {
        let raw = self.header(LOCATION.as_str())?;
        Some(
            self.url
                .join(raw)
                .map(String::from)
                .unwrap_or_else(|_| raw.to_owned()),
        )
    }

    /// Whether the status is a 3xx.
    pub fn is_redirect(&self) -> bool {
        self.status.is_redirection()
    }

    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The raw `Set-Cookie` line that sets `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies()
            .into_iter()
            .find(|line| line.split('=').next().map(str::trim) == Some(name))
    }
}
