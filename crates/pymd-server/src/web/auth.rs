//! The sign-in routes (spec §5): `/auth/login` starts an Authorization Code + PKCE (S256) flow with
//! a random `state` and `nonce`, keeping the transaction in an encrypted, short-lived cookie of its
//! own (one per login, so two tabs do not clobber each other); `/auth/callback` checks and spends
//! that transaction, exchanges the code, validates the ID token and the access token, upserts the
//! user and opens a brand-new server-side session; `/auth/logout` ends it and sends the browser to
//! the IdP's logout; `/auth/profile` shows the session's user as JSON. Every failure renders a
//! clear page with a "try again" link, creates no session and writes an audit event.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, PrivateCookieJar, SameSite};
use pymd_domain::SyncUser;
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

use super::crypto::{self, ct_eq};
use super::oidc::{self, ExchangeError, Expected, IdTokenError};
use super::pages::{self, error_page};
use super::session::{self, IdpTokens};
use crate::state::AppState;

/// Where a login goes when `returnTo` is missing or unsafe.
pub const DEFAULT_RETURN_TO: &str = "/dashboard";
/// Prefix of the login-transaction cookies (followed by the start of the `state`).
pub const TX_COOKIE_PREFIX: &str = "pymd_tx_";
/// How long a login may take, from `/auth/login` to the callback.
pub const TX_MAX_AGE_SECS: i64 = 600;
const TX_PATH: &str = "/auth";
const STATE_LEN: usize = 43;

/// The login transaction, sealed in its cookie.
#[derive(Serialize, Deserialize)]
struct Transaction {
    /// `state`.
    s: String,
    /// `nonce`.
    n: String,
    /// PKCE `code_verifier`.
    v: String,
    /// Where to go afterwards (already validated).
    r: String,
    /// Started at, Unix milliseconds.
    t: u64,
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn now_secs_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `returnTo` made safe: a local path on this app (a single leading `/`, no `//` or `\`, no
/// scheme, no control characters, also after one round of percent-decoding), normalised against
/// the base URL; anything else — and the `/auth/*` routes themselves — gives `/dashboard`.
pub fn safe_return_to(base: &Url, raw: Option<&str>) -> String {
    let Some(raw) = raw.filter(|r| !r.is_empty() && r.len() <= 2048) else {
        return DEFAULT_RETURN_TO.to_owned();
    };
    let decoded = percent_decode(raw);
    let local = |s: &str| {
        s.starts_with('/')
            && !s.starts_with("//")
            && !s.contains('\\')
            && !s.chars().any(char::is_control)
    };
    if !local(raw) || !local(&decoded) {
        return DEFAULT_RETURN_TO.to_owned();
    }
    let origin = base.origin();
    let Ok(joined) = base.join(raw) else {
        return DEFAULT_RETURN_TO.to_owned();
    };
    if joined.origin() != origin {
        return DEFAULT_RETURN_TO.to_owned();
    }
    let path = joined.path();
    if path == "/auth" || path.starts_with("/auth/") || path.starts_with("/api/auth/") {
        return DEFAULT_RETURN_TO.to_owned();
    }
    match joined.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn redirect_uri(state: &AppState) -> String {
    format!(
        "{}/auth/callback",
        state.config.base_url.as_str().trim_end_matches('/')
    )
}

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(_) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "The redirect could not be built.",
            Some("/auth/login"),
        ),
    }
}

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn unavailable_idp() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is unavailable",
        "The identity provider cannot be reached right now. Please try again in a moment.",
        Some("/auth/login"),
    )
}

/// `GET /auth/login?returnTo=/path`.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = query_pairs(q.as_deref());
    let return_to = safe_return_to(
        &state.config.base_url,
        params
            .iter()
            .find(|(k, _)| k == "returnTo")
            .map(|(_, v)| v.as_str()),
    );
    let Some(client) = state.web_client.clone() else {
        tracing::error!("web sign-in is not configured: no web client (AUTH0_CLIENT_ID)");
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is not configured",
            "This PyMD has no web application client (AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET).",
            None,
        );
    };
    let meta = match state.verifier.provider_metadata().await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "discovery failed at login");
            return unavailable_idp();
        }
    };
    let key = match crypto::cookie_key(&state.cookie_secret) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "cookie key");
            return internal_error();
        }
    };
    let (Ok(tx_state), Ok(nonce), Ok(verifier)) = (
        crypto::random_token::<32>(),
        crypto::random_token::<32>(),
        crypto::random_token::<32>(),
    ) else {
        return internal_error();
    };
    let tx = Transaction {
        s: tx_state.clone(),
        n: nonce.clone(),
        v: verifier.clone(),
        r: return_to,
        t: now_millis(),
    };
    let Ok(tx_json) = serde_json::to_string(&tx) else {
        return internal_error();
    };
    let mut url = meta.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.0)
        .append_pair("redirect_uri", &redirect_uri(&state))
        .append_pair("scope", &state.config.scope)
        .append_pair("audience", &state.config.audience)
        .append_pair("state", &tx_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &crypto::pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256");
    let cookie = Cookie::build((tx_cookie_name(&tx_state), tx_json))
        .path(TX_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.is_https())
        .max_age(time::Duration::seconds(TX_MAX_AGE_SECS))
        .build();
    // Start from the request's cookies only to drop stale transactions of this browser.
    let jar = PrivateCookieJar::from_headers(&headers, key.clone());
    let mut out = PrivateCookieJar::new(key);
    let stale: Vec<String> = jar
        .iter()
        .map(|c| c.name().to_owned())
        .filter(|n| n.starts_with(TX_COOKIE_PREFIX))
        .collect();
    if stale.len() >= 4 {
        for name in stale {
            out = out.remove(Cookie::build(name).path(TX_PATH));
        }
    }
    let out = out.add(cookie);
    (out, found(url.as_str())).into_response()
}

fn tx_cookie_name(state: &str) -> String {
    let prefix: String = state.chars().take(16).collect();
    format!("{TX_COOKIE_PREFIX}{prefix}")
}

fn internal_error() -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sign-in failed",
        "Something went wrong on our side. Please try again.",
        Some("/auth/login"),
    )
}

/// A failed login: metric, audit event, error page (no session is created).
async fn fail(
    state: &AppState,
    status: StatusCode,
    reason: &str,
    subject: Option<&str>,
    title: &str,
    message: &str,
) -> Response {
    metrics::counter!("pymd_logins_total", "result" => "failure").increment(1);
    let reason = reason.to_owned();
    crate::audit::record(state, crate::audit::Event::LoginFailed { reason }, subject).await;
    error_page(status, title, message, Some("/auth/login"))
}

/// `GET /auth/callback?code&state` (or `?error&error_description&state`).
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = query_pairs(q.as_deref());
    let single = |name: &str| -> Result<Option<&str>, ()> {
        let mut it = params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = it.next();
        if it.next().is_some() {
            Err(())
        } else {
            Ok(first)
        }
    };
    let (Ok(code), Ok(tx_state), Ok(error), Ok(iss)) = (
        single("code"),
        single("state"),
        single("error"),
        single("iss"),
    ) else {
        return fail(
            &state,
            StatusCode::BAD_REQUEST,
            "duplicate_parameter",
            None,
            "Sign-in failed",
            "The sign-in response was malformed. Please try again.",
        )
        .await;
    };
    let Some(tx_state) = tx_state.filter(|s| !s.is_empty()) else {
        return fail(
            &state,
            StatusCode::BAD_REQUEST,
            "missing_state",
            None,
            "Sign-in failed",
            "The sign-in response is missing its state. Please start again.",
        )
        .await;
    };
    let Ok(key) = crypto::cookie_key(&state.cookie_secret) else {
        return internal_error();
    };
    let jar = PrivateCookieJar::from_headers(&headers, key);
    let valid_shape = tx_state.len() == STATE_LEN
        && tx_state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let name = tx_cookie_name(tx_state);
    let tx: Option<Transaction> = if valid_shape {
        jar.get(&name)
            .and_then(|c| serde_json::from_str::<Transaction>(c.value()).ok())
            .filter(|t| ct_eq(&t.s, tx_state))
    } else {
        None
    };
    let Some(tx) = tx else {
        return fail(&state, StatusCode::BAD_REQUEST, "invalid_state", None,
            "Sign-in failed",
            "This sign-in response does not belong to a login started in this browser, or it was already used. Please start again.").await;
    };
    // The transaction is spent whatever happens next.
    let jar = jar.remove(Cookie::build(name).path(TX_PATH));
    let response = finish(&state, &headers, tx, code, error, iss).await;
    (jar, response).into_response()
}

async fn finish(
    state: &AppState,
    headers: &HeaderMap,
    tx: Transaction,
    code: Option<&str>,
    error: Option<&str>,
    iss: Option<&str>,
) -> Response {
    let age_ms = now_millis().saturating_sub(tx.t);
    if age_ms > u64::try_from(TX_MAX_AGE_SECS).unwrap_or(600) * 1000 {
        return fail(
            state,
            StatusCode::BAD_REQUEST,
            "transaction_expired",
            None,
            "Sign-in took too long",
            "The sign-in was not completed in time. Please try again.",
        )
        .await;
    }
    if let Some(error) = error {
        let reason: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        let message = if code.is_some() {
            "The sign-in response was malformed. Please try again."
        } else if reason == "access_denied" {
            "Sign-in was cancelled or access was denied."
        } else {
            "The identity provider could not sign you in."
        };
        return fail(
            state,
            StatusCode::BAD_REQUEST,
            &format!("idp_{reason}"),
            None,
            "Sign-in failed",
            message,
        )
        .await;
    }
    let Some(code) = code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return fail(
            state,
            StatusCode::BAD_REQUEST,
            "missing_code",
            None,
            "Sign-in failed",
            "The sign-in response is missing its code. Please try again.",
        )
        .await;
    };
    let Some(client) = state.web_client.clone() else {
        return internal_error();
    };
    let meta = match state.verifier.provider_metadata().await {
        Ok(m) => m,
        Err(_) => return unavailable_idp(),
    };
    if iss.is_some_and(|i| i != meta.issuer) {
        return fail(
            state,
            StatusCode::BAD_REQUEST,
            "bad_iss_parameter",
            None,
            "Sign-in failed",
            "The sign-in response came from an unexpected issuer.",
        )
        .await;
    }
    let tokens =
        match oidc::exchange_code(state, &meta, &client, code, &tx.v, &redirect_uri(state)).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "code exchange failed");
                let reason = match &e {
                    ExchangeError::Unavailable(_) => "token_endpoint_unavailable".to_owned(),
                    ExchangeError::Refused { error, .. } => format!("token_endpoint_{error}"),
                };
                return fail(
                    state,
                    StatusCode::BAD_GATEWAY,
                    &reason,
                    None,
                    "Sign-in failed",
                    "The identity provider did not complete the sign-in. Please try again.",
                )
                .await;
            }
        };
    let leeway = state.config.clock_leeway.as_secs_f64();
    let expected = Expected {
        issuer: &meta.issuer,
        client_id: &client.0,
        nonce: &tx.n,
        leeway_secs: leeway,
        now: now_secs_f64(),
    };
    let claims = match oidc::verify_id_token(state, &meta, &tokens.id_token, &expected).await {
        Ok(c) => c,
        Err(IdTokenError::KeysUnavailable) => {
            return fail(
                state,
                StatusCode::BAD_GATEWAY,
                "jwks_unavailable",
                None,
                "Sign-in failed",
                "The identity provider's keys could not be fetched. Please try again.",
            )
            .await;
        }
        Err(e) => {
            tracing::warn!(reason = e.reason(), "ID token refused");
            return fail(
                state,
                StatusCode::BAD_REQUEST,
                &format!("id_token_{}", e.reason()),
                None,
                "Sign-in failed",
                "The identity provider's answer could not be verified.",
            )
            .await;
        }
    };
    let access = match state.verifier.verify(&tokens.access_token).await {
        Ok(t) => t,
        Err(e) if e.is_unavailable() => {
            return fail(
                state,
                StatusCode::BAD_GATEWAY,
                "access_token_keys_unavailable",
                Some(&claims.sub),
                "Sign-in failed",
                "The identity provider's keys could not be fetched. Please try again.",
            )
            .await;
        }
        Err(e) => {
            tracing::warn!(reason = e.reason(), "access token refused at login");
            return fail(
                state,
                StatusCode::BAD_REQUEST,
                "access_token_invalid",
                Some(&claims.sub),
                "Sign-in failed",
                "The access token issued for PyMD could not be verified.",
            )
            .await;
        }
    };
    if access.sub != claims.sub {
        return fail(
            state,
            StatusCode::BAD_REQUEST,
            "subject_mismatch",
            Some(&claims.sub),
            "Sign-in failed",
            "The identity provider's tokens disagree about who you are.",
        )
        .await;
    }
    let user = match state.store.upsert_user(&profile(&claims)).await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "user upsert failed at login");
            return fail(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                Some(&claims.sub),
                "Sign-in failed",
                "PyMD cannot reach its database right now. Please try again in a moment.",
            )
            .await;
        }
    };
    // Session fixation / switching users: whatever session id the browser holds is ended; the
    // new session always gets a fresh id.
    let presented = CookieJar::from_headers(headers);
    if let Some(old) = session::presented_id(&presented)
        && let Err(e) = state.store.delete_session(&session::hash_id(&old)).await
    {
        tracing::warn!(error = %e, "the previous session could not be deleted");
    }
    let expires = time::OffsetDateTime::from_unix_timestamp(access.expires_at)
        .unwrap_or_else(|_| pymd_domain::now());
    let idp_tokens = IdpTokens {
        access_token: &tokens.access_token,
        refresh_token: tokens.refresh_token.as_deref(),
        id_token: &tokens.id_token,
        access_token_expires_at: expires,
        idp_sid: claims.sid.clone(),
    };
    let raw = match session::create(state, &user, &idp_tokens).await {
        Ok(raw) => raw,
        Err(e) => {
            tracing::warn!(error = %e, "session creation failed");
            return fail(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "session_create_failed",
                Some(&claims.sub),
                "Sign-in failed",
                "Your session could not be created. Please try again in a moment.",
            )
            .await;
        }
    };
    let elapsed = now_millis().saturating_sub(tx.t) as f64 / 1000.0;
    metrics::counter!("pymd_logins_total", "result" => "success").increment(1);
    metrics::histogram!("pymd_login_duration_seconds").record(elapsed);
    let event = crate::audit::Event::LoginSucceeded { user_id: user.id };
    crate::audit::record(state, event, Some(&user.auth0_id)).await;
    crate::alerts::record_login(
        state,
        &user.auth0_id,
        crate::request_meta::current().and_then(|m| m.ip),
    )
    .await;
    update_active_sessions_gauge(state).await;
    let jar = CookieJar::new().add(session::cookie(state, &raw));
    (jar, found(&tx.r)).into_response()
}

/// The profile fields from the ID token, dropping any that fail validation rather than the login.
fn profile(c: &oidc::IdClaims) -> SyncUser {
    let base = SyncUser {
        auth0_id: c.sub.clone(),
        email: None,
        name: None,
        picture: None,
        email_verified: c.email_verified,
    };
    let ok = |u: SyncUser| u.validate().is_ok();
    let email = c.email.clone().filter(|e| {
        ok(SyncUser {
            email: Some(e.clone()),
            ..base.clone()
        })
    });
    let name = c.name.clone().filter(|n| {
        ok(SyncUser {
            name: Some(n.clone()),
            ..base.clone()
        })
    });
    let picture = c.picture.clone().filter(|p| {
        ok(SyncUser {
            picture: Some(p.clone()),
            ..base.clone()
        })
    });
    SyncUser {
        email,
        name,
        picture,
        ..base
    }
}

async fn update_active_sessions_gauge(state: &AppState) {
    if let Ok(n) = state.store.count_active_sessions(pymd_domain::now()).await {
        metrics::gauge!("pymd_active_sessions").set(n as f64);
    }
}

/// `GET /auth/logout`: ends the session here, then at the IdP. A cross-site request only gets a
/// confirmation page (logout CSRF).
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let jar = CookieJar::from_headers(&headers);
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
    let current = match session::load(&state, &jar).await {
        Ok(s) => s,
        Err(e) => {
            let clear = CookieJar::new().add(session::removal(&state));
            return (clear, e).into_response();
        }
    };
    if cross_site && current.is_some() {
        return pages::confirm_logout(current.as_ref().map(|s| &s.user));
    }
    let mut idp_sid = None;
    if let Some(s) = &current {
        idp_sid = s.session.idp_sid.clone();
        if let Err(e) = state.store.delete_session(&s.session.id_hash).await {
            tracing::warn!(error = %e, "session delete failed at logout");
            let clear = CookieJar::new().add(session::removal(&state));
            return (clear, pages::unavailable()).into_response();
        }
        let subject = Some(s.user.auth0_id.as_str());
        crate::audit::record(&state, crate::audit::Event::LoggedOut, subject).await;
        update_active_sessions_gauge(&state).await;
    }
    let clear = CookieJar::new().add(session::removal(&state));
    let target = idp_logout_url(&state, idp_sid.as_deref()).await;
    (clear, found(&target)).into_response()
}

/// The IdP logout: `end_session_endpoint` when discovered, else Auth0's `/v2/logout`; `/` when
/// the IdP cannot be asked. The IdP session is named with `client_id` + `logout_hint` (its
/// `sid`), never `id_token_hint`: an ID token must not travel in a browser URL, where it would
/// reach history, logs and `Referer` headers.
async fn idp_logout_url(state: &AppState, idp_sid: Option<&str>) -> String {
    let Ok(meta) = state.verifier.provider_metadata().await else {
        return "/".to_owned();
    };
    let back = state.config.base_url.as_str();
    let client_id = state.web_client.as_ref().map(|c| c.0.clone());
    match &meta.end_session_endpoint {
        Some(end) => {
            let mut url = end.clone();
            {
                let mut q = url.query_pairs_mut();
                if let Some(sid) = idp_sid {
                    q.append_pair("logout_hint", sid);
                }
                if let Some(id) = &client_id {
                    q.append_pair("client_id", id);
                }
                q.append_pair("post_logout_redirect_uri", back);
            }
            url.into()
        }
        None => {
            let issuer = if meta.issuer.ends_with('/') {
                meta.issuer.clone()
            } else {
                format!("{}/", meta.issuer)
            };
            match Url::parse(&format!("{issuer}v2/logout")) {
                Ok(mut url) => {
                    {
                        let mut q = url.query_pairs_mut();
                        if let Some(id) = &client_id {
                            q.append_pair("client_id", id);
                        }
                        q.append_pair("returnTo", back);
                    }
                    url.into()
                }
                Err(_) => "/".to_owned(),
            }
        }
    }
}

/// `GET /auth/profile`: the session's user as JSON; 401 without a session.
pub async fn profile_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let jar = CookieJar::from_headers(&headers);
    let mut response = match session::load(&state, &jar).await {
        Ok(Some(s)) => Json(json!({
            "user_id": s.user.id.0.to_string(),
            "sub": s.user.auth0_id,
            "email": s.user.email,
            "email_verified": s.user.email_verified,
            "name": s.user.name,
            "picture": s.user.picture,
            "bio": s.user.bio,
        }))
        .into_response(),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "login_required", "error_description": "there is no session; log in at /auth/login"})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e.0, "session lookup failed");
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "upstream_unavailable", "error_description": "the database is unavailable; retry later"})),
            )
                .into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            r
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://app.example/").unwrap()
    }

    #[test]
    fn local_paths_are_kept() {
        for (raw, want) in [
            ("/dashboard", "/dashboard"),
            ("/documents/abc?x=1", "/documents/abc?x=1"),
            ("/settings", "/settings"),
            ("/a/../b", "/b"),
        ] {
            assert_eq!(safe_return_to(&base(), Some(raw)), want, "{raw}");
        }
    }

    #[test]
    fn anything_that_could_leave_the_origin_falls_back_to_the_dashboard() {
        for raw in [
            "//evil.example",
            "https://evil.example",
            "http://app.example/x",
            "/\\evil.example",
            "\\\\evil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "//app.example@evil.example",
            "/%2f%2fevil.example",
            "/%5cevil.example",
            "/x\r\nSet-Cookie: a=b",
            "evil.example",
            "",
            "/auth/logout",
            "/api/auth/login",
        ] {
            assert_eq!(
                safe_return_to(&base(), Some(raw)),
                DEFAULT_RETURN_TO,
                "{raw:?}"
            );
        }
        assert_eq!(safe_return_to(&base(), None), DEFAULT_RETURN_TO);
        assert_eq!(
            safe_return_to(&base(), Some(&format!("/{}", "a".repeat(3000)))),
            DEFAULT_RETURN_TO
        );
    }
}
