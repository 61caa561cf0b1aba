//! Logout: `GET /v2/logout` (§9: `returnTo` checked against the application's or tenant's
//! Allowed Logout URLs, query string ignored) and `GET|POST /oidc/logout` (§10: RP-initiated
//! logout with `id_token_hint`, `logout_hint`, `post_logout_redirect_uri`, `state`, exact
//! match). Both clear the `auth0` session cookie and log `slo`, and send back-channel logout
//! tokens to the session's clients that have back-channel URLs (`crate::backchannel`).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use crate::config::ClientConfig;
use crate::cookies::{SESSION_COOKIE, clear_session_cookie, cookie};
use crate::error::OAuthError;
use crate::extract::{Caller, Params, QueryParams};
use crate::html;
use crate::logs::LogEvent;
use crate::respond::{add_query, found, with_cookie};
use crate::state::AppState;

const UNKNOWN_CLIENT: &str = "Unknown client: the client_id does not belong to this tenant.";

fn strip_query(u: &str) -> &str {
    let end = u.find(['?', '#']).unwrap_or(u.len());
    &u[..end]
}

/// A known client, or none named.
fn named_client(state: &AppState, id: Option<&String>) -> Result<Option<ClientConfig>, OAuthError> {
    match id {
        Some(id) => match state.cfg.client(id) {
            Some(c) => Ok(Some(c.clone())),
            None => Err(OAuthError::bad_page(UNKNOWN_CLIENT)),
        },
        None => Ok(None),
    }
}

/// Ends the browser's session (if `only_sid` is set, only when it is that session) and logs
/// `slo`; returns whether a session ended.
async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    client_id: Option<&str>,
    only_sid: Option<&str>,
) -> bool {
    let Some(tok) = cookie(headers, SESSION_COOKIE) else {
        return false;
    };
    let Some(s) = state.sessions.end(&tok, only_sid).await else {
        return false;
    };
    let email = state.users.get(&s.user_id).await.map(|u| u.email);
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
    crate::backchannel::notify(state, &s, crate::backchannel::RP_LOGOUT);
    true
}

fn logged_out_page() -> Response {
    html::notice("Logged out", "You have been logged out.")
}

/// `GET /v2/logout?client_id&returnTo`.
pub async fn v2_logout(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    p: QueryParams,
) -> Result<Response, OAuthError> {
    let client = named_client(&state, p.get("client_id"))?;
    let allowed: &[String] = match &client {
        Some(c) => &c.allowed_logout_urls,
        None => &state.cfg.tenant.allowed_logout_urls,
    };
    let target = match p.get("returnTo") {
        Some(rt) => {
            let base = strip_query(rt);
            if !allowed.iter().any(|a| a == rt || strip_query(a) == base) {
                return Err(OAuthError::bad_page(format!(
                    "The \"returnTo\" querystring parameter \"{rt}\" is not defined as a valid URL in \"Allowed Logout URLs\". To add a new URL, please do it here: https://manage.auth0.com/#/account/advanced"
                )));
            }
            Some(rt.clone())
        }
        None => client
            .as_ref()
            .and_then(|c| c.allowed_logout_urls.first().cloned()),
    };
    let client_id = client.as_ref().map(|c| c.client_id.as_str());
    end_session(&state, &headers, &caller, client_id, None).await;
    let r = match target {
        Some(t) => found(&t),
        None => logged_out_page(),
    };
    Ok(with_cookie(r, &clear_session_cookie(state.secure)))
}

/// `GET /oidc/logout`.
pub async fn oidc_logout_get(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    p: QueryParams,
) -> Result<Response, OAuthError> {
    oidc_logout(&state, &caller, &headers, &p).await
}

/// `POST /oidc/logout` (form body; an unreadable body counts as no parameters).
pub async fn oidc_logout_post(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    p: Result<Params, Response>,
) -> Result<Response, OAuthError> {
    let p = p.unwrap_or_default();
    oidc_logout(&state, &caller, &headers, &p).await
}

/// What an `id_token_hint` says: its audience and session.
#[derive(Debug, Default)]
struct Hint {
    aud: Option<String>,
    sid: Option<String>,
}

/// Reads the hint (it may be expired; only its signature and issuer matter) and checks that
/// `client_id` and `logout_hint` agree with it.
async fn id_token_hint(state: &AppState, p: &HashMap<String, String>) -> Result<Hint, OAuthError> {
    let Some(t) = p.get("id_token_hint") else {
        return Ok(Hint::default());
    };
    let claims = match state.keys.verify(t).await {
        Ok(c) if c.get("iss").and_then(Value::as_str) == Some(state.issuer.as_str()) => c,
        _ => return Err(OAuthError::bad_page("The id_token_hint is invalid.")),
    };
    let claim = |k| claims.get(k).and_then(Value::as_str).map(str::to_string);
    let hint = Hint {
        aud: claim("aud"),
        sid: claim("sid"),
    };
    if let (Some(cid), Some(aud)) = (p.get("client_id"), &hint.aud)
        && cid != aud
    {
        return Err(OAuthError::bad_page(
            "The client_id does not match the audience of the id_token_hint.",
        ));
    }
    if let (Some(lh), Some(sid)) = (p.get("logout_hint"), &hint.sid)
        && lh != sid
    {
        return Err(OAuthError::bad_page(
            "The logout_hint does not match the session of the id_token_hint.",
        ));
    }
    Ok(hint)
}

/// Where to go after logout: a `post_logout_redirect_uri` allowed for the client (or the
/// tenant, with a `logout_hint`), else the client's first logout URL.
fn logout_target(
    state: &AppState,
    p: &HashMap<String, String>,
    client: Option<&ClientConfig>,
) -> Result<Option<String>, OAuthError> {
    let not_allowed = |u: &str| {
        OAuthError::bad_page(format!(
            "The \"post_logout_redirect_uri\" parameter \"{u}\" is not defined as a valid URL in \"Allowed Logout URLs\"."
        ))
    };
    match (p.get("post_logout_redirect_uri"), client) {
        (Some(u), Some(c)) if !c.allowed_logout_urls.iter().any(|a| a == u) => Err(not_allowed(u)),
        (Some(u), Some(_)) => Ok(Some(u.clone())),
        (Some(_), None) if !p.contains_key("logout_hint") => Err(OAuthError::bad_page(
            "post_logout_redirect_uri requires client_id, id_token_hint or logout_hint.",
        )),
        (Some(u), None) if !state.cfg.tenant.allowed_logout_urls.iter().any(|a| a == u) => {
            Err(not_allowed(u))
        }
        (Some(u), None) => Ok(Some(u.clone())),
        (None, Some(c)) => Ok(c.allowed_logout_urls.first().cloned()),
        (None, None) => Ok(None),
    }
}

async fn oidc_logout(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let hint = id_token_hint(state, p).await?;
    let client_id = p.get("client_id").cloned().or(hint.aud);
    let client = named_client(state, client_id.as_ref())?;
    let target = logout_target(state, p, client.as_ref())?;
    let sid = p.get("logout_hint").cloned().or(hint.sid);
    let ended = end_session(state, headers, caller, client_id.as_deref(), sid.as_deref()).await;
    let r = match (target, p.get("state")) {
        (Some(t), Some(s)) => found(&add_query(&t, &[("state", s)])),
        (Some(t), None) => found(&t),
        (None, _) => logged_out_page(),
    };
    if ended || sid.is_none() {
        Ok(with_cookie(r, &clear_session_cookie(state.secure)))
    } else {
        Ok(r)
    }
}
