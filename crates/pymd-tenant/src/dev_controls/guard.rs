//! The guard in front of every `/__dev` control (they mint tokens for any user without
//! authentication): loopback peers only, addressed to a loopback or the issuer's host, never
//! from another origin's page, and JSON bodies only.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::OAuthError;
use crate::state::AppState;

const NOT_LOOPBACK: &str =
    "The dev tenant's /__dev test controls answer only to clients on this machine (loopback).";
const NOT_LOCAL_HOST: &str = "The dev tenant's /__dev test controls answer only to requests addressed to a loopback host (localhost, 127.0.0.1, [::1]) or the issuer's host.";
const FOREIGN_ORIGIN: &str =
    "The dev tenant's /__dev test controls refuse requests made by pages from other origins.";
const CROSS_SITE: &str =
    "The dev tenant's /__dev test controls refuse cross-site and same-site browser requests.";
const NOT_JSON: &str = "The dev tenant's /__dev test controls accept only Content-Type: application/json request bodies.";

/// 415 for a body that is not JSON.
pub fn not_json() -> OAuthError {
    OAuthError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request",
        NOT_JSON,
    )
}

/// Refused (403) unless the socket peer is a loopback address (fails closed when the peer is
/// unknown) and the request cannot have come from a web page the developer opened: the
/// `Host` must be a loopback name/address or the issuer's host (DNS rebinding), an `Origin`
/// must be a loopback (or the issuer's) origin, and `Sec-Fetch-Site` must not be
/// `cross-site`/`same-site`. A POST with a non-JSON `Content-Type` gets 415 (a form or
/// `text/plain` POST needs no CORS preflight).
pub async fn loopback_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match check(&state, &req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn check(state: &AppState, req: &Request) -> Result<(), OAuthError> {
    let loopback = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| peer.ip().to_canonical().is_loopback());
    if !loopback {
        return Err(OAuthError::access_denied(NOT_LOOPBACK));
    }
    let issuer_host = url::Url::parse(&state.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    let issuer_host = issuer_host.as_deref();
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let host_ok = host
        .as_deref()
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .is_some_and(|a| local_host(a.host(), issuer_host));
    if !host_ok {
        return Err(OAuthError::access_denied(NOT_LOCAL_HOST));
    }
    if !origin_ok(headers, issuer_host) {
        return Err(OAuthError::access_denied(FOREIGN_ORIGIN));
    }
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    if matches!(fetch_site.as_deref(), Some("cross-site" | "same-site")) {
        return Err(OAuthError::access_denied(CROSS_SITE));
    }
    if req.method() == axum::http::Method::POST
        && headers.contains_key(header::CONTENT_TYPE)
        && !is_json(headers)
    {
        return Err(not_json());
    }
    Ok(())
}

/// No `Origin`, or a loopback (or the issuer's) http(s) origin.
fn origin_ok(headers: &HeaderMap, issuer_host: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    origin
        .to_str()
        .ok()
        .and_then(|o| url::Url::parse(o).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .and_then(|u| u.host_str().map(str::to_string))
        .is_some_and(|h| local_host(&h, issuer_host))
}

/// A loopback name or address (`localhost`, any `127.x`, `[::1]`), or the issuer's host.
fn local_host(host: &str, issuer_host: Option<&str>) -> bool {
    let host = host.to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
        || issuer_host.is_some_and(|i| i.trim_start_matches('[').trim_end_matches(']') == bare)
}

/// Whether the request's `Content-Type` is `application/json` (parameters allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}
