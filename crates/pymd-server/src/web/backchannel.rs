//! OpenID Connect Back-Channel Logout 1.0 (§2.5–2.8), the relying party's side: the IdP POSTs a
//! signed logout token to `/auth/backchannel-logout` when a user's IdP session ends, and PyMD
//! ends the web sessions opened in that IdP session (or all of the user's) on every instance, since
//! sessions live in the shared database.
//!
//! The route is server to server: no cookie, no same-origin or CSRF check, no per-IP rate limit (a
//! user must not be able to block the IdP's calls). What guards it is the token: an RS256
//! signature by the IdP's keys (the verifier's cached key set and algorithm allow-list), `typ`
//! `logout+jwt` or none (never an access or ID token's), `iss`, `aud`, `iat`, `exp`, the
//! back-channel `events` member, a `sid` and/or `sub`, no `nonce`, and a `jti` never seen
//! before (remembered through the shared limiter store, Redis when configured, so a replay to
//! another instance is refused too). The body is at most [`MAX_BODY`] bytes.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pymd_limits::{Decision, Limit};
use serde_json::{Map, Value, json};

use super::oidc::number;
use crate::audit::{self, Event};
use crate::state::AppState;

/// The largest request body taken (a logout token is well under 2 KiB).
pub const MAX_BODY: usize = 16 * 1024;
/// The `events` member that makes a JWT a logout token (§2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How old a logout token's `iat` may be: it is sent the moment the IdP session ends.
pub const MAX_IAT_AGE_SECS: f64 = 600.0;
/// The longest `jti` remembered (Auth0's are short; anything longer is refused).
const MAX_JTI_BYTES: usize = 256;
/// The `jti`s already used. The window is longer than any token is accepted for
/// ([`MAX_IAT_AGE_SECS`] plus leeway), so a token is refused as a replay as long as it could
/// otherwise still pass.
const SEEN_LOGOUT_TOKENS: Limit = Limit {
    name: "seen_logout_tokens",
    max: 1,
    window: Duration::from_secs(3600),
};
/// The metric counting back-channel logout requests by `result`.
pub const METRIC: &str = "pymd_backchannel_logout_total";

/// Why a logout request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogoutTokenError {
    #[error("the request is not a form with one logout_token")]
    Request,
    #[error("bad signature or header")]
    Signature,
    #[error("the payload is not a JSON object")]
    Payload,
    #[error("iss mismatch")]
    Issuer,
    #[error("aud does not contain the client id")]
    Audience,
    #[error("iat missing, in the future or too old")]
    IssuedAt,
    #[error("expired")]
    Expired,
    #[error("no back-channel logout event")]
    Events,
    #[error("neither sid nor sub")]
    Subject,
    #[error("a nonce is present")]
    Nonce,
    #[error("jti missing or malformed")]
    Jti,
    #[error("jti already used")]
    Replayed,
}

impl LogoutTokenError {
    /// A short label for audit details and logs (a bounded set).
    pub fn reason(self) -> &'static str {
        match self {
            LogoutTokenError::Request => "bad_request",
            LogoutTokenError::Signature => "bad_signature",
            LogoutTokenError::Payload => "bad_payload",
            LogoutTokenError::Issuer => "bad_iss",
            LogoutTokenError::Audience => "bad_aud",
            LogoutTokenError::IssuedAt => "bad_iat",
            LogoutTokenError::Expired => "expired",
            LogoutTokenError::Events => "bad_events",
            LogoutTokenError::Subject => "no_sid_or_sub",
            LogoutTokenError::Nonce => "nonce_present",
            LogoutTokenError::Jti => "bad_jti",
            LogoutTokenError::Replayed => "replayed",
        }
    }
}

/// What a valid logout token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutClaims {
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub jti: String,
}

/// What a logout token is checked against.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub leeway_secs: f64,
    pub now: f64,
}

/// Validates logout-token claims (§2.6 steps 3–6; a pure function, so every rule is
/// unit-tested).
///
/// # Errors
/// [`LogoutTokenError`] naming the first failed rule.
pub fn check_claims(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<LogoutClaims, LogoutTokenError> {
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == expected.issuer => {}
        _ => return Err(LogoutTokenError::Issuer),
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expected.client_id,
        Some(Value::Array(list)) => {
            list.iter().all(Value::is_string)
                && list.iter().any(|a| a.as_str() == Some(expected.client_id))
        }
        _ => false,
    };
    if !aud_ok {
        return Err(LogoutTokenError::Audience);
    }
    match number(claims, "iat") {
        Some(iat)
            if iat <= expected.now + expected.leeway_secs
                && iat >= expected.now - MAX_IAT_AGE_SECS - expected.leeway_secs => {}
        _ => return Err(LogoutTokenError::IssuedAt),
    }
    match claims.get("exp") {
        None => {}
        Some(_) => match number(claims, "exp") {
            Some(exp) if exp + expected.leeway_secs > expected.now => {}
            _ => return Err(LogoutTokenError::Expired),
        },
    }
    let event_ok = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(LOGOUT_EVENT))
        .is_some_and(Value::is_object);
    if !event_ok {
        return Err(LogoutTokenError::Events);
    }
    // §2.6 step 6: a logout token must not carry a nonce (so an ID token cannot pass as one).
    if claims.contains_key("nonce") {
        return Err(LogoutTokenError::Nonce);
    }
    let text = |name: &str| -> Result<Option<String>, LogoutTokenError> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(LogoutTokenError::Subject),
        }
    };
    let (sid, sub) = (text("sid")?, text("sub")?);
    if sid.is_none() && sub.is_none() {
        return Err(LogoutTokenError::Subject);
    }
    let jti = match claims.get("jti").and_then(Value::as_str) {
        Some(j)
            if !j.is_empty()
                && j.len() <= MAX_JTI_BYTES
                && j.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            j.to_owned()
        }
        _ => return Err(LogoutTokenError::Jti),
    };
    Ok(LogoutClaims { sid, sub, jti })
}

/// Takes the one `logout_token` of an `application/x-www-form-urlencoded` body.
///
/// # Errors
/// [`LogoutTokenError::Request`]: not a form, not UTF-8, none or several `logout_token`s.
pub fn logout_token_of(headers: &HeaderMap, body: &[u8]) -> Result<String, LogoutTokenError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form || std::str::from_utf8(body).is_err() {
        return Err(LogoutTokenError::Request);
    }
    let mut tokens = url::form_urlencoded::parse(body)
        .filter(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned());
    match (tokens.next(), tokens.next()) {
        (Some(t), None) if !t.is_empty() => Ok(t),
        _ => Err(LogoutTokenError::Request),
    }
}

/// `POST /auth/backchannel-logout`.
pub async fn backchannel_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = handle(&state, &headers, body).await;
    let result = match &outcome {
        Ok(_) => "success",
        Err(Failure::Refused(LogoutTokenError::Replayed)) => "replayed",
        Err(Failure::Refused(_)) => "invalid_token",
        Err(Failure::Unavailable(_)) => "unavailable",
    };
    metrics::counter!(METRIC, "result" => result).increment(1);
    let mut response = match outcome {
        Ok(_) => StatusCode::OK.into_response(),
        Err(Failure::Refused(e)) => {
            tracing::info!(reason = e.reason(), "back-channel logout refused");
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({
                    "error": "invalid_request",
                    "error_description": format!("the logout token was refused: {e}"),
                })),
            )
                .into_response()
        }
        Err(Failure::Unavailable(what)) => {
            tracing::warn!(what, "back-channel logout could not be processed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, HeaderValue::from_static("5"))],
                axum::Json(json!({
                    "error": "temporarily_unavailable",
                    "error_description": format!("{what} is unavailable; retry later"),
                })),
            )
                .into_response()
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

enum Failure {
    Refused(LogoutTokenError),
    Unavailable(&'static str),
}

impl From<LogoutTokenError> for Failure {
    fn from(e: LogoutTokenError) -> Self {
        Failure::Refused(e)
    }
}

/// Reads, verifies and acts on one logout request; returns how many sessions ended.
async fn handle(state: &AppState, headers: &HeaderMap, body: Body) -> Result<u64, Failure> {
    let found = verified_claims(state, headers, body).await?;
    end_what_it_names(state, &found).await
}

/// The claims of the request's logout token once it passed every check and was not seen before.
/// A token signed by the IdP yet refused is audited; unsigned garbage is only counted (by the
/// caller), so that nobody can fill the audit table through this open route.
async fn verified_claims(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<LogoutClaims, Failure> {
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| LogoutTokenError::Request)?;
    let token = logout_token_of(headers, &body)?;
    let Some(client) = state.web_client.clone() else {
        return Err(Failure::Unavailable("the web client configuration"));
    };
    let payload = state
        .verifier
        .verify_logout_token_payload(&token)
        .await
        .map_err(|e| {
            if e.is_unavailable() {
                Failure::Unavailable("the IdP's key set")
            } else {
                Failure::Refused(LogoutTokenError::Signature)
            }
        })?;
    let meta = state
        .verifier
        .provider_metadata()
        .await
        .map_err(|_| Failure::Unavailable("the IdP's metadata"))?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&payload).map_err(|_| LogoutTokenError::Payload)?;
    let expected = Expected {
        issuer: &meta.issuer,
        client_id: &client.0,
        leeway_secs: state.config.clock_leeway.as_secs_f64(),
        now: super::oidc::now_secs_f64(),
    };
    let found = match check_claims(&claims, &expected) {
        Ok(found) => found,
        Err(e) => {
            let sub = claims.get("sub").and_then(Value::as_str);
            audit::record(
                state,
                Event::BackchannelLogoutRefused { reason: e.reason() },
                sub,
            )
            .await;
            return Err(e.into());
        }
    };
    if matches!(
        state.limiter.check(&SEEN_LOGOUT_TOKENS, &found.jti).await,
        Decision::Limited { .. }
    ) {
        let reason = LogoutTokenError::Replayed.reason();
        audit::record(
            state,
            Event::BackchannelLogoutRefused { reason },
            found.sub.as_deref(),
        )
        .await;
        return Err(LogoutTokenError::Replayed.into());
    }
    Ok(found)
}

/// Ends the web sessions and the SPA grants a verified logout token names, and audits it.
async fn end_what_it_names(state: &AppState, found: &LogoutClaims) -> Result<u64, Failure> {
    let ended = state
        .store
        .delete_sessions_by_idp(found.sid.as_deref(), found.sub.as_deref())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "ending sessions for a back-channel logout failed");
            Failure::Unavailable("the database")
        })?;
    // The browser apps' grants of that IdP session (or user) end with it: their refresh tokens
    // no longer renew through PyMD.
    if let Err(e) = state
        .store
        .end_spa_grants_by_idp(found.sid.as_deref(), found.sub.as_deref())
        .await
    {
        tracing::warn!(error = %e, "ending SPA grants for a back-channel logout failed");
    }
    audit::record(
        state,
        Event::BackchannelLogout {
            sessions_ended: ended,
            by_sid: found.sid.is_some(),
        },
        found.sub.as_deref(),
    )
    .await;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_800_000_000.0;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://tenant.example/",
            client_id: "client-1",
            leeway_secs: 5.0,
            now: NOW,
        }
    }

    fn good() -> Map<String, Value> {
        let v = json!({
            "iss": "https://tenant.example/", "aud": "client-1", "sub": "auth0|1",
            "iat": NOW - 2.0, "exp": NOW + 120.0, "jti": "j-1", "sid": "s1",
            "events": { LOGOUT_EVENT: {} }
        });
        v.as_object().cloned().unwrap_or_default()
    }

    fn with(mut c: Map<String, Value>, k: &str, v: Option<Value>) -> Map<String, Value> {
        match v {
            Some(v) => c.insert(k.into(), v),
            None => c.remove(k),
        };
        c
    }

    #[test]
    fn a_good_logout_token_passes_with_sid_sub_or_both() {
        let c = check_claims(&good(), &expected()).unwrap();
        assert_eq!(c.sid.as_deref(), Some("s1"));
        assert_eq!(c.sub.as_deref(), Some("auth0|1"));
        assert_eq!(c.jti, "j-1");
        let only_sid = check_claims(&with(good(), "sub", None), &expected()).unwrap();
        assert_eq!((only_sid.sid.as_deref(), only_sid.sub), (Some("s1"), None));
        let only_sub = check_claims(&with(good(), "sid", None), &expected()).unwrap();
        assert_eq!(
            (only_sub.sid, only_sub.sub.as_deref()),
            (None, Some("auth0|1"))
        );
        let no_exp = with(good(), "exp", None);
        assert!(check_claims(&no_exp, &expected()).is_ok());
        let aud_list = with(good(), "aud", Some(json!(["other", "client-1"])));
        assert!(check_claims(&aud_list, &expected()).is_ok());
    }

    #[test]
    fn each_broken_claim_is_refused_for_its_reason() {
        use LogoutTokenError::*;
        let cases: Vec<(&str, Option<Value>, LogoutTokenError)> = vec![
            ("iss", None, Issuer),
            ("iss", Some(json!("https://evil.example/")), Issuer),
            ("aud", None, Audience),
            ("aud", Some(json!("other")), Audience),
            ("aud", Some(json!(["other"])), Audience),
            ("aud", Some(json!(["client-1", 5])), Audience),
            ("iat", None, IssuedAt),
            ("iat", Some(json!("1800000000")), IssuedAt),
            ("iat", Some(json!(NOW + 60.0)), IssuedAt),
            ("iat", Some(json!(NOW - 3600.0)), IssuedAt),
            ("exp", Some(json!(NOW - 60.0)), Expired),
            ("exp", Some(json!("soon")), Expired),
            ("events", None, Events),
            ("events", Some(json!({})), Events),
            ("events", Some(json!({ LOGOUT_EVENT: "yes" })), Events),
            ("events", Some(json!([LOGOUT_EVENT])), Events),
            ("nonce", Some(json!("n-1")), Nonce),
            ("sid", Some(json!(5)), Subject),
            ("sub", Some(json!("")), Subject),
            ("jti", None, Jti),
            ("jti", Some(json!("")), Jti),
            ("jti", Some(json!("a b")), Jti),
            ("jti", Some(json!("x".repeat(300))), Jti),
        ];
        for (k, v, want) in cases {
            let c = with(good(), k, v.clone());
            assert_eq!(
                check_claims(&c, &expected()).unwrap_err(),
                want,
                "{k} = {v:?}"
            );
        }
        let neither = with(with(good(), "sid", None), "sub", None);
        assert_eq!(check_claims(&neither, &expected()).unwrap_err(), Subject);
    }

    #[test]
    fn the_body_must_be_a_form_with_exactly_one_logout_token() {
        let form = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            h
        };
        let f = form("application/x-www-form-urlencoded; charset=UTF-8");
        assert_eq!(logout_token_of(&f, b"logout_token=a.b.c").unwrap(), "a.b.c");
        for bad in [
            &b""[..],
            b"logout_token=",
            b"token=a.b.c",
            b"logout_token=a&logout_token=b",
            b"logout_token=\xff",
        ] {
            assert_eq!(logout_token_of(&f, bad), Err(LogoutTokenError::Request));
        }
        for ct in ["application/json", "text/plain", "multipart/form-data"] {
            assert_eq!(
                logout_token_of(&form(ct), b"logout_token=a.b.c"),
                Err(LogoutTokenError::Request),
                "{ct}"
            );
        }
        assert_eq!(
            logout_token_of(&HeaderMap::new(), b"logout_token=a.b.c"),
            Err(LogoutTokenError::Request)
        );
    }
}
