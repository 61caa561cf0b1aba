//! The guard in front of every `/__dev` control (they mint tokens for any user without
//! authentication): loopback peers only, addressed to a loopback or the issuer's host, never
//! from another origin's page, and JSON bodies only ([`DevJson`]).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

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

/// A control's 400 (`invalid_request`, without cache headers).
pub fn bad(msg: impl Into<String>) -> OAuthError {
    OAuthError::invalid_request(msg.into()).plain()
}

/// A control's JSON body: an empty body is `{}`; anything else must be JSON.
#[derive(Debug, Clone)]
pub struct DevJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for DevJson {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if body.is_empty() {
            return Ok(DevJson(json!({})));
        }
        if !json {
            return Err(not_json().into_response());
        }
        serde_json::from_slice(&body)
            .map(DevJson)
            .map_err(|_| bad("body must be JSON").into_response())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::test_support::{client, tenant_seen_from, tenant_with};

    #[tokio::test]
    async fn dev_controls_refuse_a_peer_that_is_not_on_loopback() {
        let t = tenant_seen_from("192.0.2.7:40000".parse().unwrap()).await;
        let c = client();
        let iss = t.issuer().to_string();
        let refused = json!({
            "error": "access_denied",
            "error_description": "The dev tenant's /__dev test controls answer only to clients on this machine (loopback)."
        });
        let r = c
            .post(format!("{iss}__dev/token"))
            .json(&json!({"user": "alice@example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().await.unwrap(), refused);
        let r = c
            .post(format!("{iss}__dev/clock"))
            .json(&json!({"offset_secs": 999}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().await.unwrap(), refused);
        // Nothing changed: no token family was minted, the clock was not moved.
        assert_eq!(t.state.refresh.len().await.0, 0);
        assert_eq!(t.state.clock.offset(), 0);
        // The rest of the tenant still answers that peer.
        let r = c
            .get(format!("{iss}.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        t.shutdown().await;
    }

    #[tokio::test]
    async fn dev_controls_answer_an_ipv4_mapped_loopback_peer() {
        let t = tenant_seen_from("[::ffff:127.0.0.1]:40000".parse().unwrap()).await;
        let r = client()
            .get(format!("{}__dev/clock", t.issuer()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        t.shutdown().await;
    }

    #[tokio::test]
    async fn dev_controls_refuse_a_rebinding_host_and_mint_no_token() {
        let t = tenant_with(|_| {}).await;
        let c = client();
        let iss = t.issuer().to_string();
        for host in [
            "attacker.example",
            "attacker.example:80",
            "127.0.0.1.attacker.example",
        ] {
            let r = c
                .post(format!("{iss}__dev/token"))
                .header("host", host)
                .json(&json!({"user": "alice@example.com"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{host}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"], "access_denied", "{v}");
            assert!(v.get("access_token").is_none());
            let r = c
                .get(format!("{iss}__dev/mailbox?format=json"))
                .header("host", host)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{host}");
        }
        assert_eq!(t.state.refresh.len().await.0, 0, "no token minted");
        t.shutdown().await;
    }
}
