//! Test controls under `/__dev/*` (only when `dev_controls` is on): key rotation and
//! revocation, fault injection for JWKS/token/discovery, the tenant clock, refresh-token
//! revocation, direct token minting (`pymd token --user`), the log and the dev mailbox.
//! They are unauthenticated, so they answer only to loopback peers (403 otherwise).

use std::time::Duration;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::state::{AppState, Faults};
use crate::tokens::{UserGrant, mint_user_response, split_scope};
use crate::util::random_urlsafe;
use crate::web::{no_store_json, oauth_error, query_params};

/// Which endpoint family a fault applies to.
#[derive(Debug, Clone, Copy)]
pub enum FaultTarget {
    /// JWKS.
    Jwks,
    /// Token endpoint.
    Token,
    /// Discovery.
    Discovery,
}

/// Applies an injected fault: sleeps `delay_ms`, then answers `status` if one is set and
/// it is not a success status.
pub async fn apply_fault(state: &AppState, target: FaultTarget) -> Option<Response> {
    let fault = {
        let f = state.faults.lock().await;
        match target {
            FaultTarget::Jwks => f.jwks.clone(),
            FaultTarget::Token => f.token.clone(),
            FaultTarget::Discovery => f.discovery.clone(),
        }
    }?;
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms.min(120_000))).await;
    }
    // A 2xx status (or none) means "healthy, after the delay": serve the real answer.
    let status = StatusCode::from_u16(fault.status?)
        .ok()
        .filter(|s| !s.is_success())?;
    Some(match target {
        FaultTarget::Token => oauth_error(status, "server_error", "Injected fault (dev tenant)"),
        _ => (status, axum::Json(json!({"error": "injected fault"}))).into_response(),
    })
}

/// The `/__dev` routes.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/keys/rotate", post(rotate))
        .route("/keys/revoke", post(revoke))
        .route(
            "/faults",
            post(set_faults).delete(clear_faults).get(get_faults),
        )
        .route("/clock", post(set_clock).get(get_clock))
        .route(
            "/users/{user_id}/revoke-refresh-tokens",
            post(revoke_user_rts),
        )
        .route("/token", post(dev_token))
        .route("/logs", get(logs))
        .route("/mailbox", get(mailbox))
        .layer(axum::middleware::from_fn_with_state(state, loopback_only))
}

const NOT_LOOPBACK: &str =
    "The dev tenant's /__dev test controls answer only to clients on this machine (loopback).";
const NOT_LOCAL_HOST: &str = "The dev tenant's /__dev test controls answer only to requests addressed to a loopback host (localhost, 127.0.0.1, [::1]) or the issuer's host.";
const FOREIGN_ORIGIN: &str =
    "The dev tenant's /__dev test controls refuse requests made by pages from other origins.";
const CROSS_SITE: &str =
    "The dev tenant's /__dev test controls refuse cross-site and same-site browser requests.";
const NOT_JSON: &str = "The dev tenant's /__dev test controls accept only Content-Type: application/json request bodies.";

/// Guards every `/__dev` request (the controls mint tokens for any user without
/// authentication). Refused (403) unless the socket peer is a loopback address (fails closed
/// when the peer is unknown) and the request cannot have come from a web page the developer
/// opened: the `Host` must be a loopback name/address or the issuer's host (DNS rebinding), an
/// `Origin` must be a loopback (or the issuer's) origin, and `Sec-Fetch-Site` must not be
/// `cross-site`/`same-site`. A POST with a non-JSON `Content-Type` gets 415 (a form or
/// `text/plain` POST needs no CORS preflight).
async fn loopback_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let loopback = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| peer.ip().to_canonical().is_loopback());
    if !loopback {
        return oauth_error(StatusCode::FORBIDDEN, "access_denied", NOT_LOOPBACK);
    }
    let issuer_host = url::Url::parse(&state.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    let headers = req.headers();
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let host_ok = host
        .as_deref()
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .is_some_and(|a| local_host(a.host(), issuer_host.as_deref()));
    if !host_ok {
        return oauth_error(StatusCode::FORBIDDEN, "access_denied", NOT_LOCAL_HOST);
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| url::Url::parse(o).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .and_then(|u| u.host_str().map(str::to_string))
            .is_some_and(|h| local_host(&h, issuer_host.as_deref()));
        if !ok {
            return oauth_error(StatusCode::FORBIDDEN, "access_denied", FOREIGN_ORIGIN);
        }
    }
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    if matches!(fetch_site.as_deref(), Some("cross-site" | "same-site")) {
        return oauth_error(StatusCode::FORBIDDEN, "access_denied", CROSS_SITE);
    }
    if req.method() == axum::http::Method::POST
        && headers.contains_key(axum::http::header::CONTENT_TYPE)
        && !is_json(headers)
    {
        return not_json();
    }
    next.run(req).await
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
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

fn not_json() -> Response {
    oauth_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request",
        NOT_JSON,
    )
}

fn bad(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "invalid_request", "error_description": msg})),
    )
        .into_response()
}

fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    if !is_json(headers) {
        return Err(not_json());
    }
    serde_json::from_slice(body).map_err(|_| bad("body must be JSON"))
}

async fn rotate(State(state): State<AppState>) -> Response {
    let now = state.clock.unix();
    match state.keys.write().await.rotate(now) {
        Ok(kid) => axum::Json(json!({"kid": kid})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "key rotation failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"error": "rotation failed"})),
            )
                .into_response()
        }
    }
}

async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let v = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(kid) = v.get("kid").and_then(Value::as_str) else {
        return bad("kid is required");
    };
    match state.keys.write().await.revoke(kid) {
        Ok(()) => axum::Json(json!({"kid": kid, "revoked": true})).into_response(),
        Err(e) => bad(&e.to_string()),
    }
}

async fn set_faults(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let v = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let new: Faults = match serde_json::from_value(v.clone()) {
        Ok(f) => f,
        Err(e) => return bad(&format!("invalid faults: {e}")),
    };
    let mut f = state.faults.lock().await;
    // Parts not mentioned keep their current setting; `null` clears one.
    if let Some(obj) = v.as_object() {
        if obj.contains_key("jwks") {
            f.jwks = new.jwks;
        }
        if obj.contains_key("token") {
            f.token = new.token;
        }
        if obj.contains_key("discovery") {
            f.discovery = new.discovery;
        }
    }
    axum::Json(json!(*f)).into_response()
}

async fn clear_faults(State(state): State<AppState>) -> Response {
    *state.faults.lock().await = Faults::default();
    StatusCode::NO_CONTENT.into_response()
}

async fn get_faults(State(state): State<AppState>) -> Response {
    axum::Json(json!(*state.faults.lock().await)).into_response()
}

async fn set_clock(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let v = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(off) = v.get("offset_secs").and_then(Value::as_i64) else {
        return bad("offset_secs (integer) is required");
    };
    state.clock.set_offset(off);
    get_clock(State(state)).await
}

async fn get_clock(State(state): State<AppState>) -> Response {
    axum::Json(json!({"offset_secs": state.clock.offset(), "now": state.clock.unix()}))
        .into_response()
}

async fn revoke_user_rts(State(state): State<AppState>, Path(user_id): Path<String>) -> Response {
    let n = crate::token::revoke_user_families(&state, &user_id).await;
    axum::Json(json!({"user_id": user_id, "revoked_families": n})).into_response()
}

async fn dev_token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let v = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(who) = v.get("user").and_then(Value::as_str) else {
        return bad("user (email or user_id) is required");
    };
    let client_id = v
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            state
                .cfg
                .first_client_of_type("regular_web")
                .map(|c| c.client_id.clone())
        });
    let Some(client) = client_id
        .as_deref()
        .and_then(|id| state.cfg.client(id))
        .cloned()
    else {
        return bad("unknown client_id");
    };
    let audience = match v.get("audience").and_then(Value::as_str) {
        Some(a) => Some(a.to_string()),
        None => state.cfg.tenant.default_audience.clone(),
    };
    if let Some(a) = &audience
        && state.cfg.resource_server(a).is_none()
    {
        return bad(&format!("Service not found: {a}"));
    }
    let scope = match v.get("scope").and_then(Value::as_str) {
        Some(s) => split_scope(s),
        None => {
            let mut s = split_scope("openid profile email");
            if let Some(rs) = audience
                .as_deref()
                .and_then(|a| state.cfg.resource_server(a))
            {
                s.extend(rs.scopes.iter().map(|(v, _)| v.clone()));
            }
            s
        }
    };
    let user = match state.users.read().await.find(who).cloned() {
        Some(u) => u,
        None => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(
                    json!({"error": "not_found", "error_description": "The user does not exist."}),
                ),
            )
                .into_response();
        }
    };
    if user.blocked {
        return oauth_error(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked");
    }
    let now = state.clock.unix();
    let grant = UserGrant {
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        audience,
        scope,
        nonce: None,
        sid: random_urlsafe(32),
        auth_time: now,
    };
    match mint_user_response(&state, &client, &user, &grant).await {
        Ok((body, _)) => no_store_json(StatusCode::OK, body),
        Err(e) => {
            tracing::error!(error = %e, "dev token signing failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "signing failed",
            )
        }
    }
}

async fn logs(State(state): State<AppState>) -> Response {
    axum::Json(Value::Array(state.logs.all())).into_response()
}

async fn mailbox(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mails = state.mailbox.lock().await.clone();
    let want_json = query_params(q.as_deref()).get("format").map(String::as_str) == Some("json")
        || headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("application/json"));
    if want_json {
        let list: Vec<Value> = mails
            .iter()
            .map(|m| {
                json!({"to": m.to, "subject": m.subject, "link": m.link, "user_id": m.user_id,
                       "sent_at": m.sent_at, "used": m.used})
            })
            .collect();
        return axum::Json(Value::Array(list)).into_response();
    }
    let rows: Vec<crate::html::MailRow<'_>> = mails
        .iter()
        .rev()
        .map(|m| crate::html::MailRow {
            to: &m.to,
            subject: &m.subject,
            link: &m.link,
            used: m.used,
        })
        .collect();
    crate::html::mailbox(&rows)
}
