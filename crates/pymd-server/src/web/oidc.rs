//! The relying-party half of OpenID Connect: the code exchange at the token endpoint
//! (`client_secret_post` + PKCE verifier, bounded time and size) and ID-token validation (RS256
//! signature against the IdP's JWKS through `pymd_auth::jws`, then `iss` exactly, `aud` naming
//! the client id and no untrusted audience, `azp` equal to it when present or when `aud` has several
//! entries, `nonce`, `exp`, `iat`, `sub`, each with strict
//! JSON types). Errors carry no token material.

use std::time::Duration;

use pymd_auth::ProviderMetadata;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::crypto::ct_eq;
use crate::state::AppState;

/// Bound on the code exchange and the JWKS fetch.
pub const IDP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest token response or JWKS accepted.
const MAX_BODY: usize = 1024 * 1024;
/// How old an ID token's `iat` may be (it was minted for this login moments ago).
const MAX_IAT_AGE_SECS: f64 = 3600.0;

/// Why the code exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The IdP could not be reached, timed out, or answered 5xx / garbage.
    #[error("the token endpoint is unavailable: {0}")]
    Unavailable(String),
    /// The IdP refused the code (4xx, e.g. `invalid_grant`).
    #[error("the token endpoint refused the code: {error}")]
    Refused { status: u16, error: String },
}

/// The token endpoint's answer.
pub struct TokenResponse {
    pub access_token: String,
    pub id_token: String,
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Reads an IdP response body of at most `max` bytes (the token endpoint, the JWKS).
///
/// # Errors
/// A short, safe reason: too large, or the transport's [`short`] reason.
pub(crate) async fn read_capped(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, &'static str> {
    if resp.content_length().is_some_and(|l| l > max as u64) {
        return Err("response too large");
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| short(&e))? {
        if body.len() + chunk.len() > max {
            return Err("response too large");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error as a short reason that names no URL or token.
pub(crate) fn short(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the body failed"
    } else {
        "request failed"
    }
}

/// Exchanges an authorization code (`grant_type=authorization_code`, `client_secret_post`,
/// `code_verifier`, `redirect_uri`).
///
/// # Errors
/// [`ExchangeError`].
pub async fn exchange_code(
    state: &AppState,
    meta: &ProviderMetadata,
    client: &(String, SecretString),
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<TokenResponse, ExchangeError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client.0.as_str()),
        ("client_secret", client.1.expose_secret()),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", redirect_uri),
    ];
    let json = post_token_endpoint(state, meta, &form, IDP_TIMEOUT, MAX_BODY).await?;
    let string = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_owned);
    let token_type_ok = string("token_type").is_none_or(|t| t.eq_ignore_ascii_case("bearer"));
    match (string("access_token"), string("id_token")) {
        (Some(access_token), Some(id_token)) if token_type_ok => Ok(TokenResponse {
            access_token,
            id_token,
            refresh_token: string("refresh_token"),
        }),
        _ => Err(ExchangeError::Unavailable(
            "the token response lacks access_token or id_token".into(),
        )),
    }
}

/// One request to the token endpoint (the code exchange, the session refresh): the form posted,
/// the whole exchange bounded by `timeout`, the body by `max`. A 200 gives its JSON object;
/// a 4xx other than 408/429 is a refusal naming the IdP's `error` (sanitised); anything else —
/// transport failure, timeout, 408, 429, 5xx, garbage — is "unavailable, try again later".
///
/// # Errors
/// [`ExchangeError`].
pub(crate) async fn post_token_endpoint(
    state: &AppState,
    meta: &ProviderMetadata,
    form: &[(&str, &str)],
    timeout: std::time::Duration,
    max: usize,
) -> Result<Map<String, Value>, ExchangeError> {
    let work = async {
        let resp = state
            .http
            .post(meta.token_endpoint.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| ExchangeError::Unavailable(short(&e).into()))?;
        let status = resp.status();
        let body = read_capped(resp, max)
            .await
            .map_err(|e| ExchangeError::Unavailable(e.into()))?;
        let json: Option<Map<String, Value>> = serde_json::from_slice(&body).ok();
        // 408 and 429 say "not now", not "no".
        let temporary = matches!(status.as_u16(), 408 | 429);
        if status.is_client_error() && !temporary {
            let error = json
                .as_ref()
                .and_then(|j| j.get("error"))
                .and_then(Value::as_str)
                .unwrap_or("invalid_request")
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(ExchangeError::Refused {
                status: status.as_u16(),
                error,
            });
        }
        if status != reqwest::StatusCode::OK {
            return Err(ExchangeError::Unavailable(format!(
                "status {}",
                status.as_u16()
            )));
        }
        json.ok_or_else(|| ExchangeError::Unavailable("not a JSON object".into()))
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(ExchangeError::Unavailable("timed out".into())))
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the IdP's keys could not be fetched")]
    KeysUnavailable,
    #[error("bad signature or header")]
    Signature,
    #[error("the payload is not a JSON object")]
    Payload,
    #[error("iss mismatch")]
    Issuer,
    #[error("aud does not contain the client id")]
    Audience,
    #[error("azp is not the client id")]
    AuthorizedParty,
    #[error("nonce mismatch")]
    Nonce,
    #[error("expired or missing exp")]
    Expired,
    #[error("iat missing, in the future or too old")]
    IssuedAt,
    #[error("sub missing")]
    Subject,
}

impl IdTokenError {
    /// A short label for audit details and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            IdTokenError::KeysUnavailable => "jwks_unavailable",
            IdTokenError::Signature => "bad_signature",
            IdTokenError::Payload => "bad_payload",
            IdTokenError::Issuer => "bad_iss",
            IdTokenError::Audience => "bad_aud",
            IdTokenError::AuthorizedParty => "bad_azp",
            IdTokenError::Nonce => "bad_nonce",
            IdTokenError::Expired => "expired",
            IdTokenError::IssuedAt => "bad_iat",
            IdTokenError::Subject => "no_sub",
        }
    }
}

/// The ID token's claims after validation.
#[derive(Debug, Clone)]
pub struct IdClaims {
    pub sub: String,
    pub sid: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub picture: Option<String>,
}

/// Now, in Unix seconds with a fraction: the clock IdP tokens' `iat`/`exp` are checked against.
pub fn now_secs_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// What an ID token is checked against.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub leeway_secs: f64,
    pub now: f64,
}

/// Verifies an ID token's signature with the verifier's cached IdP keys (the same ones access
/// tokens are checked with: a JWKS blip does not fail a login while the keys are cached) and
/// validates its claims.
///
/// # Errors
/// [`IdTokenError`].
pub async fn verify_id_token(
    state: &AppState,
    token: &str,
    expected: &Expected<'_>,
) -> Result<IdClaims, IdTokenError> {
    let payload = state
        .verifier
        .verify_signed_payload(token)
        .await
        .map_err(|e| {
            if e.is_unavailable() {
                IdTokenError::KeysUnavailable
            } else {
                IdTokenError::Signature
            }
        })?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&payload).map_err(|_| IdTokenError::Payload)?;
    check_claims(&claims, expected)
}

/// A finite numeric claim (`iat`, `exp`…).
pub(crate) fn number(claims: &Map<String, Value>, name: &str) -> Option<f64> {
    claims
        .get(name)
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite())
}

/// Validates ID-token claims (a pure function, so every rule is unit-tested).
///
/// # Errors
/// [`IdTokenError`] naming the first failed rule.
pub fn check_claims(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<IdClaims, IdTokenError> {
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == expected.issuer => {}
        _ => return Err(IdTokenError::Issuer),
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => {
            let strings: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
            strings.ok_or(IdTokenError::Audience)?
        }
        _ => return Err(IdTokenError::Audience),
    };
    // The client must be an audience, and no other (untrusted) audience may be listed.
    if audiences.is_empty() || audiences.iter().any(|a| *a != expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    match claims.get("azp") {
        None if audiences.len() == 1 => {}
        Some(Value::String(azp)) if azp == expected.client_id => {}
        _ => return Err(IdTokenError::AuthorizedParty),
    }
    match claims.get("nonce").and_then(Value::as_str) {
        Some(n) if ct_eq(n, expected.nonce) => {}
        _ => return Err(IdTokenError::Nonce),
    }
    match number(claims, "exp") {
        Some(exp) if exp + expected.leeway_secs > expected.now => {}
        _ => return Err(IdTokenError::Expired),
    }
    match number(claims, "iat") {
        Some(iat)
            if iat <= expected.now + expected.leeway_secs
                && iat >= expected.now - MAX_IAT_AGE_SECS - expected.leeway_secs => {}
        _ => return Err(IdTokenError::IssuedAt),
    }
    let sub = match claims.get("sub").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => return Err(IdTokenError::Subject),
    };
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(IdClaims {
        sub,
        sid: text("sid"),
        email: text("email"),
        email_verified: claims.get("email_verified").and_then(Value::as_bool),
        name: text("name"),
        picture: text("picture"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_800_000_000.0;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://tenant.example/",
            client_id: "client-1",
            nonce: "n-0S6_WzA2Mj",
            leeway_secs: 5.0,
            now: NOW,
        }
    }

    fn good() -> Map<String, Value> {
        let v = json!({
            "iss": "https://tenant.example/", "aud": "client-1", "sub": "auth0|1",
            "nonce": "n-0S6_WzA2Mj", "iat": NOW - 2.0, "exp": NOW + 36000.0,
            "sid": "s1", "name": "Alice", "email": "a@example.com", "email_verified": true
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
    fn a_good_id_token_passes_and_yields_its_profile() {
        let c = check_claims(&good(), &expected()).unwrap();
        assert_eq!(c.sub, "auth0|1");
        assert_eq!(c.sid.as_deref(), Some("s1"));
        assert_eq!(c.name.as_deref(), Some("Alice"));
        assert_eq!(c.email_verified, Some(true));
    }

    #[test]
    fn a_one_element_audience_array_passes() {
        let c = with(good(), "aud", Some(json!(["client-1"])));
        assert!(check_claims(&c, &expected()).is_ok());
    }

    #[test]
    fn each_broken_claim_is_refused_for_its_reason() {
        use IdTokenError::*;
        let cases: Vec<(&str, Option<Value>, IdTokenError)> = vec![
            ("iss", None, Issuer),
            ("iss", Some(json!("https://tenant.example")), Issuer),
            ("iss", Some(json!(["https://tenant.example/"])), Issuer),
            ("aud", None, Audience),
            ("aud", Some(json!("other")), Audience),
            ("aud", Some(json!(["client-1", 5])), Audience),
            ("aud", Some(json!(["client-1", "untrusted"])), Audience),
            ("aud", Some(json!([])), Audience),
            ("azp", Some(json!("other")), AuthorizedParty),
            ("nonce", None, Nonce),
            ("nonce", Some(json!("n-0S6_WzA2Mk")), Nonce),
            ("exp", None, Expired),
            ("exp", Some(json!(NOW - 6.0)), Expired),
            ("exp", Some(json!("9999999999")), Expired),
            ("iat", None, IssuedAt),
            ("iat", Some(json!(NOW + 60.0)), IssuedAt),
            ("iat", Some(json!(NOW - 7200.0)), IssuedAt),
            ("sub", None, Subject),
            ("sub", Some(json!("")), Subject),
        ];
        for (k, v, want) in cases {
            let c = with(good(), k, v.clone());
            assert_eq!(
                check_claims(&c, &expected()).unwrap_err(),
                want,
                "{k} = {v:?}"
            );
        }
    }

    #[test]
    fn an_extra_audience_is_refused_even_with_azp_and_azp_must_be_the_client() {
        let c = with(good(), "aud", Some(json!(["client-1", "other"])));
        let c = with(c, "azp", Some(json!("client-1")));
        assert_eq!(
            check_claims(&c, &expected()).unwrap_err(),
            IdTokenError::Audience
        );
        let c = with(good(), "azp", Some(json!("client-1")));
        assert!(check_claims(&c, &expected()).is_ok());
        let c = with(good(), "aud", Some(json!(["client-1", "client-1"])));
        assert_eq!(
            check_claims(&c, &expected()).unwrap_err(),
            IdTokenError::AuthorizedParty
        );
    }
}
