//! `GET /authorize` (validation order and error routing of auth0-surface §3.2): an unknown
//! client or `redirect_uri` gets the error page, any later problem a redirect back to the
//! client. A live SSO session completes the login at once (`prompt=none` silently);
//! otherwise a login transaction starts and the browser goes to `/u/login` or `/u/signup`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::config::ClientConfig;
use crate::cookies::{SESSION_COOKIE, cookie};
use crate::error::OAuthError;
use crate::extract::{Caller, QueryParams};
use crate::login::complete::{LoginKind, complete_login};
use crate::login::csrf::{browser_binding, is_b64url};
use crate::respond::{found, with_optional_cookie};
use crate::scope::split_scope;
use crate::state::AppState;
use crate::store::sessions::Session;
use crate::store::transactions::AuthRequest;
use crate::util::random_urlsafe;

/// A refusal sent back to the client's redirect URI: error code and description.
type Refusal = (&'static str, String);

fn refusal(error: &'static str, description: &str) -> Refusal {
    (error, description.to_string())
}

/// `GET /authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    params: QueryParams,
) -> Result<Response, OAuthError> {
    let (req, prompt_none) = validate(&state, &params)?;
    let now = state.clock.unix();
    let session = current_session(&state, &headers)
        .await
        .filter(|s| req.max_age.is_none_or(|m| now - s.auth_time <= m));
    if prompt_none {
        let Some(s) = session else {
            return Err(redirect(&req, refusal("login_required", "Login required")));
        };
        return complete_login(&state, &req, &s, &caller, LoginKind::Silent, None).await;
    }
    if let Some(s) = session
        && !req.prompt_login
    {
        return complete_login(&state, &req, &s, &caller, LoginKind::Interactive, None).await;
    }
    let tx = random_urlsafe(32);
    let path = if req.signup { "/u/signup" } else { "/u/login" };
    state.transactions.begin(tx.clone(), req, now).await;
    let r = found(&format!("{path}?state={tx}"));
    Ok(with_optional_cookie(
        r,
        browser_binding(&state, &headers).1.as_deref(),
    ))
}

fn redirect(req: &AuthRequest, (error, description): Refusal) -> OAuthError {
    OAuthError::redirect(&req.redirect_uri, req.state.as_deref(), error, description)
}

/// The live session for the request's `auth0` cookie, touching its idle timer.
async fn current_session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let now = state.clock.unix();
    state
        .sessions
        .current(&token, state.session_lifetimes(), now)
        .await
}

/// Validates the request in Auth0's order; returns it and whether `prompt=none` was asked.
fn validate(state: &AppState, p: &QueryParams) -> Result<(AuthRequest, bool), OAuthError> {
    let client = client(state, p)?;
    let redirect_uri = redirect_uri(client, p)?;
    let st = p.get("state").cloned();
    let to_client = |(error, description): Refusal| {
        OAuthError::redirect(&redirect_uri, st.as_deref(), error, description)
    };
    check_response(client, p).map_err(to_client)?;
    let code_challenge = pkce_challenge(p).map_err(to_client)?;
    check_connection(state, client, p).map_err(to_client)?;
    let audience = audience(state, p).map_err(to_client)?;
    let (prompt_none, prompt_login) = prompts(p).map_err(to_client)?;
    let max_age = max_age(p).map_err(to_client)?;
    let req = AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        scope: split_scope(p.get("scope").map(String::as_str).unwrap_or("")),
        audience,
        state: st,
        nonce: p.get("nonce").cloned(),
        code_challenge: Some(code_challenge),
        prompt_login,
        signup: p.get("screen_hint").map(String::as_str) == Some("signup"),
        login_hint: p.get("login_hint").cloned(),
        max_age,
    };
    Ok((req, prompt_none))
}

fn client<'a>(state: &'a AppState, p: &QueryParams) -> Result<&'a ClientConfig, OAuthError> {
    p.get("client_id")
        .and_then(|id| state.cfg.client(id))
        .ok_or_else(|| {
            OAuthError::bad_page(
                "Unknown client: the client_id is missing or does not belong to this tenant.",
            )
        })
}

fn redirect_uri(client: &ClientConfig, p: &QueryParams) -> Result<String, OAuthError> {
    match p.get("redirect_uri") {
        Some(r) if client.callbacks.iter().any(|c| c == r) => Ok(r.clone()),
        Some(r) => Err(OAuthError::page(
            StatusCode::BAD_REQUEST,
            "Callback URL mismatch.",
            format!(
                "Callback URL mismatch. {r} is not in the list of allowed callback URLs. Please go to the Application Settings page and make sure you are sending a valid callback url from your application."
            ),
        )),
        None => Err(OAuthError::bad_page(
            "The request is missing a required parameter: redirect_uri",
        )),
    }
}

/// `response_type=code`, the client may use the code grant, `response_mode` is `query`.
fn check_response(client: &ClientConfig, p: &QueryParams) -> Result<(), Refusal> {
    match p.get("response_type").map(String::as_str) {
        None => {
            return Err(refusal(
                "invalid_request",
                "Missing required parameter: response_type",
            ));
        }
        Some("code") => {}
        Some(other) => {
            return Err((
                "unsupported_response_type",
                format!("Unsupported response type: {other}"),
            ));
        }
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(refusal(
            "unauthorized_client",
            "Grant type 'authorization_code' not allowed for the client.",
        ));
    }
    match p.get("response_mode") {
        Some(mode) if mode != "query" => Err((
            "invalid_request",
            format!("Unsupported response_mode: {mode}"),
        )),
        _ => Ok(()),
    }
}

/// PKCE is required, with S256 (RFC 7636's default, `plain`, is refused).
fn pkce_challenge(p: &QueryParams) -> Result<String, Refusal> {
    match p.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        None if p.contains_key("code_challenge") => {
            return Err(refusal(
                "invalid_request",
                "code_challenge_method 'plain' is not allowed; use S256",
            ));
        }
        None => {}
        Some(other) => {
            return Err((
                "invalid_request",
                format!("code_challenge_method '{other}' is not allowed; use S256"),
            ));
        }
    }
    match p.get("code_challenge") {
        Some(c) if c.len() == 43 && is_b64url(c) => Ok(c.clone()),
        Some(_) => Err(refusal(
            "invalid_request",
            "Invalid code_challenge: expected 43 characters of base64url (S256)",
        )),
        None => Err(refusal(
            "invalid_request",
            "Missing required parameter: code_challenge (PKCE S256 is required)",
        )),
    }
}

/// A named connection must be the database connection, which must be enabled for the client.
fn check_connection(
    state: &AppState,
    client: &ClientConfig,
    p: &QueryParams,
) -> Result<(), Refusal> {
    if let Some(conn) = p.get("connection")
        && conn != &state.cfg.database.name
    {
        return Err(refusal("invalid_request", "the connection was not found"));
    }
    let db = &state.cfg.database;
    if !db.enabled_clients.iter().any(|c| c == &client.client_id) {
        return Err(refusal(
            "invalid_request",
            "no connections enabled for the client",
        ));
    }
    Ok(())
}

/// The asked API (which must exist) or the tenant's default audience.
fn audience(state: &AppState, p: &QueryParams) -> Result<Option<String>, Refusal> {
    match p.get("audience").filter(|a| !a.is_empty()) {
        Some(a) if state.cfg.resource_server(a).is_some() => Ok(Some(a.clone())),
        Some(a) => Err(("access_denied", format!("Service not found: {a}"))),
        None => Ok(state.cfg.tenant.default_audience.clone()),
    }
}

/// `(prompt=none, prompt=login)`; `none` stands alone.
fn prompts(p: &QueryParams) -> Result<(bool, bool), Refusal> {
    let prompts = split_scope(p.get("prompt").map(String::as_str).unwrap_or(""));
    let none = prompts.iter().any(|x| x == "none");
    if none && prompts.len() > 1 {
        return Err(refusal(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok((none, prompts.iter().any(|x| x == "login")))
}

fn max_age(p: &QueryParams) -> Result<Option<i64>, Refusal> {
    match p.get("max_age").map(|m| m.parse::<i64>()) {
        None => Ok(None),
        Some(Ok(v)) if v >= 0 => Ok(Some(v)),
        Some(_) => Err(refusal(
            "invalid_request",
            "max_age must be a non-negative integer",
        )),
    }
}
