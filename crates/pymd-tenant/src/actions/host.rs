//! The one door from an Action to the network: `__host.fetch`, which the prelude's `fetch` and
//! `axios` both go through. It speaks JSON strings with the prelude (so no JavaScript object
//! crosses into Rust), allows only `http`/`https`, bounds every exchange by the request's own
//! timeout and what is left of the flow's budget, and caps the body it reads back.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

/// Largest response body handed to an Action.
const MAX_BODY: usize = 1 << 20;

/// What `fetch` needs from the world: a client, the tokio runtime to block on, the deadline.
pub(super) struct Fetcher {
    pub(super) http: reqwest::Client,
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) deadline: Instant,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    /// The request's own timeout in ms (`0` = none: only the flow's budget bounds it).
    timeout_ms: f64,
}

/// Performs one exchange; answers `{status, statusText, headers, body, url}` or
/// `{error, timedOut}`.
pub(super) fn fetch(f: &Fetcher, request: &str) -> String {
    let req: Request = match serde_json::from_str(request) {
        Ok(r) => r,
        Err(e) => return failed(&format!("bad request from the prelude: {e}"), false),
    };
    let left = f.deadline.saturating_duration_since(Instant::now());
    let own = (req.timeout_ms > 0.0).then(|| Duration::from_millis(req.timeout_ms as u64));
    let timeout = own.map_or(left, |t| t.min(left));
    let Ok(url) = url::Url::parse(&req.url) else {
        return failed(&format!("Invalid URL: {}", req.url), false);
    };
    if !matches!(url.scheme(), "http" | "https") {
        return failed(
            &format!("only http and https URLs can be fetched, not {url}"),
            false,
        );
    }
    let Ok(method) = reqwest::Method::from_bytes(req.method.as_bytes()) else {
        return failed(&format!("invalid method {}", req.method), false);
    };
    let mut builder = f.http.request(method, url.clone()).timeout(timeout);
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    if let Some(body) = req.body {
        builder = builder.body(body);
    }
    let exchange = async move {
        let mut resp = builder.send().await?;
        let status = resp.status();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Ok(Err(format!("response body over {MAX_BODY} bytes")));
            }
        }
        Ok::<_, reqwest::Error>(Ok(json!({
            "status": status.as_u16(),
            "statusText": status.canonical_reason().unwrap_or(""),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
            "url": url.as_str(),
        })))
    };
    match f.runtime.block_on(exchange) {
        Ok(Ok(reply)) => reply.to_string(),
        Ok(Err(message)) => failed(&message, false),
        Err(e) => {
            let timed_out = e.is_timeout();
            failed(&e.without_url().to_string(), timed_out)
        }
    }
}

fn failed(message: &str, timed_out: bool) -> String {
    json!({"error": message, "timedOut": timed_out}).to_string()
}
