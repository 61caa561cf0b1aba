//! The example single-page app at `/spa/` (issue: the source plan's SPA flow, made real): one
//! static page and one same-origin script, no build step, CSP unchanged. The page signs in
//! through the SPA token API (`crate::routes::spa_auth`), keeps its tokens in memory, lists the
//! user's documents with the access token and renews it before it expires. `/spa/callback` is the
//! same page: the script finishes the sign-in there.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::state::AppState;

const PAGE: &str = include_str!("spa/index.html");
const SCRIPT: &str = include_str!("spa/app.js");

/// `/spa/`, `/spa/callback` and `/spa/app.js`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/spa", get(|| async { Redirect::permanent("/spa/") }))
        .route("/spa/", get(page))
        .route("/spa/callback", get(page))
        .route("/spa/app.js", get(script))
}

async fn page() -> Response {
    let mut r = axum::response::Html(PAGE).into_response();
    // The callback URL carries a one-use code: never cached, never sent on as a referrer.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn script() -> Response {
    super::pages::static_asset(
        SCRIPT,
        "text/javascript; charset=utf-8",
        "public, max-age=3600",
    )
}
