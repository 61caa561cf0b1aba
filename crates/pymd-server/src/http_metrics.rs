//! The two per-request HTTP metrics (`pymd_http_requests_total`, `pymd_http_request_duration_seconds`)
//! with their handles registered once per route template, method and status, then reused: the
//! hot path neither allocates label strings nor searches the recorder's registry per request.
//! Every label stays from a bounded set — route templates (or `unmatched`), a fixed list of
//! methods and HTTP status codes.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use metrics::{Counter, Histogram};

/// One route template's handles.
#[derive(Default)]
struct RouteHandles {
    requests: HashMap<(&'static str, u16), Counter>,
    duration: HashMap<&'static str, Histogram>,
}

static ROUTES: LazyLock<RwLock<HashMap<Box<str>, RouteHandles>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// Counts one answered request of `route` (a template such as `/api/v1/documents/{id}`) and
/// records how long it took.
pub fn record(route: &str, method: &'static str, status: u16, seconds: f64) {
    if let Ok(routes) = ROUTES.read()
        && let Some(handles) = routes.get(route)
        && let (Some(requests), Some(duration)) = (
            handles.requests.get(&(method, status)),
            handles.duration.get(method),
        )
    {
        requests.increment(1);
        duration.record(seconds);
        return;
    }
    let Ok(mut routes) = ROUTES.write() else {
        return;
    };
    let handles = routes.entry(route.into()).or_default();
    handles
        .requests
        .entry((method, status))
        .or_insert_with(|| {
            metrics::counter!("pymd_http_requests_total", "route" => route.to_owned(), "method" => method, "status" => status.to_string())
        })
        .increment(1);
    handles
        .duration
        .entry(method)
        .or_insert_with(|| {
            metrics::histogram!("pymd_http_request_duration_seconds", "route" => route.to_owned(), "method" => method)
        })
        .record(seconds);
}
