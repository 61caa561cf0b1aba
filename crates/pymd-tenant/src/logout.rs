//! Logout: `GET /v2/logout` (§9: `returnTo` checked against the application's or tenant's
//! Allowed Logout URLs, query string ignored) and `GET|POST /oidc/logout` (§10: RP-initiated
//! logout with `id_token_hint`, `logout_hint`, `post_logout_redirect_uri`, `state`, exact
//! match). Both clear the `auth0` session cookie and log `slo`.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::html;
use crate::logs::LogEvent;
use crate::state::{AppState, Session};
use crate::web::{
    Caller, add_query, clear_session_cookie, cookie, found, query_params, with_cookie,
};

fn strip_query(u: &str) -> &str {
    let end = u.find(['?', '#']).unwrap_or(u.len());
    &u[..end]
}

fn not_allowed(url: &str) -> Response {
    html::error_page(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!(
            "The \"returnTo\" querystring parameter \"{url}\" is not defined as a valid URL in \"Allowed Logout URLs\". To add a new URL, please do it here: https://manage.auth0.com/#/account/advanced"
        ),
    )
}

/// Ends the browser's session (if `only_sid` is set, only when it is that session).
async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    client_id: Option<&str>,
    only_sid: Option<&str>,
) -> bool {
    let Some(tok) = cookie(headers, "auth0") else {
        return false;
    };
    let removed: Option<Session> = {
        let mut sessions = state.sessions.lock().await;
        match sessions.get(&tok) {
            Some(s) if only_sid.is_none_or(|sid| sid == s.sid) => sessions.remove(&tok),
            _ => None,
        }
    };
    let Some(s) = removed else {
        return false;
    };
    let email = state
        .users
        .read()
        .await
        .get(&s.user_id)
        .map(|u| u.email.clone());
    let client = client_id.and_then(|id| state.cfg.client(id));
    state.logs.emit(
        state.clock.now(),
        LogEvent {
            kind: "slo",
            description: "User successfully logged out".into(),
            client_id: client.map(|c| c.client_id.clone()),
            client_name: client.map(|c| c.name.clone()),
            ip: caller.ip_string(),
            user_agent: caller.user_agent.clone(),
            user_id: Some(s.user_id.clone()),
            user_name: email,
            connection: true,
            details: Some(serde_json::json!({"session_id": s.sid})),
            ..Default::default()
        },
    );
    true
}

fn logged_out_page() -> Response {
    html::notice("Logged out", "You have been logged out.")
}

/// `GET /v2/logout?client_id&returnTo`.
pub async fn v2_logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = query_params(q.as_deref());
    let caller = Caller::new(Some(peer), &headers);
    let client = match p.get("client_id") {
        Some(id) => match state.cfg.client(id) {
            Some(c) => Some(c.clone()),
            None => {
                return html::error_page(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Unknown client: the client_id does not belong to this tenant.",
                );
            }
        },
        None => None,
    };
    let allowed: &[String] = match &client {
        Some(c) => &c.allowed_logout_urls,
        None => &state.cfg.tenant.allowed_logout_urls,
    };
    let target = match p.get("returnTo") {
        Some(rt) => {
            let base = strip_query(rt);
            if !allowed.iter().any(|a| a == rt || strip_query(a) == base) {
                return not_allowed(rt);
            }
            Some(rt.clone())
        }
        None => client
            .as_ref()
            .and_then(|c| c.allowed_logout_urls.first().cloned()),
    };
    end_session(
        &state,
        &headers,
        &caller,
        client.as_ref().map(|c| c.client_id.as_str()),
        None,
    )
    .await;
    let r = match target {
        Some(t) => found(&t),
        None => logged_out_page(),
    };
    with_cookie(r, &clear_session_cookie(state.secure))
}

/// `GET /oidc/logout`.
pub async fn oidc_logout_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = query_params(q.as_deref());
    oidc_logout(state, peer, headers, p).await
}

/// `POST /oidc/logout` (form body).
pub async fn oidc_logout_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = crate::web::parse_params(&headers, &body).unwrap_or_default();
    oidc_logout(state, peer, headers, p).await
}

async fn oidc_logout(
    state: AppState,
    peer: SocketAddr,
    headers: HeaderMap,
    p: HashMap<String, String>,
) -> Response {
    let caller = Caller::new(Some(peer), &headers);
    let bad = |msg: &str| html::error_page(StatusCode::BAD_REQUEST, "invalid_request", msg);
    // The hint may be expired; only its signature and issuer matter.
    let hint = match p.get("id_token_hint") {
        Some(t) => match state.keys.read().await.verify(t) {
            Ok(c) if c.get("iss").and_then(Value::as_str) == Some(state.issuer.as_str()) => Some(c),
            _ => return bad("The id_token_hint is invalid."),
        },
        None => None,
    };
    let hint_aud = hint
        .as_ref()
        .and_then(|c| c.get("aud"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let hint_sid = hint
        .as_ref()
        .and_then(|c| c.get("sid"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (Some(cid), Some(aud)) = (p.get("client_id"), &hint_aud)
        && cid != aud
    {
        return bad("The client_id does not match the audience of the id_token_hint.");
    }
    if let (Some(lh), Some(sid)) = (p.get("logout_hint"), &hint_sid)
        && lh != sid
    {
        return bad("The logout_hint does not match the session of the id_token_hint.");
    }
    let client_id = p.get("client_id").cloned().or(hint_aud);
    let client = match &client_id {
        Some(id) => match state.cfg.client(id) {
            Some(c) => Some(c.clone()),
            None => return bad("Unknown client: the client_id does not belong to this tenant."),
        },
        None => None,
    };
    let target = match (p.get("post_logout_redirect_uri"), &client) {
        (Some(u), Some(c)) => {
            if !c.allowed_logout_urls.iter().any(|a| a == u) {
                return bad(&format!(
                    "The \"post_logout_redirect_uri\" parameter \"{u}\" is not defined as a valid URL in \"Allowed Logout URLs\"."
                ));
            }
            Some(u.clone())
        }
        (Some(u), None) => {
            if !p.contains_key("logout_hint") {
                return bad(
                    "post_logout_redirect_uri requires client_id, id_token_hint or logout_hint.",
                );
            }
            if !state.cfg.tenant.allowed_logout_urls.iter().any(|a| a == u) {
                return bad(&format!(
                    "The \"post_logout_redirect_uri\" parameter \"{u}\" is not defined as a valid URL in \"Allowed Logout URLs\"."
                ));
            }
            Some(u.clone())
        }
        (None, Some(c)) => c.allowed_logout_urls.first().cloned(),
        (None, None) => None,
    };
    let sid = p.get("logout_hint").cloned().or(hint_sid);
    let ended = end_session(
        &state,
        &headers,
        &caller,
        client_id.as_deref(),
        sid.as_deref(),
    )
    .await;
    let r = match target {
        Some(t) => match p.get("state") {
            Some(s) => found(&add_query(&t, &[("state", s)])),
            None => found(&t),
        },
        None => logged_out_page(),
    };
    if ended || sid.is_none() {
        with_cookie(r, &clear_session_cookie(state.secure))
    } else {
        r
    }
}
