//! Who is calling: the `Principal` extractor takes the bearer token from the `Authorization`
//! header (and only there: RFC 6750 §2.3 tokens in the URL or body are refused), verifies it,
//! and loads or creates the caller's user record just in time. Without an `Authorization` header,
//! the web session cookie is accepted instead (spec §3), with a same-origin check on
//! state-changing methods (CSRF). Handlers then ask it for the permission they need.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;
use pymd_auth::VerifiedToken;
use pymd_domain::{Permission, User, UserId};

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token: Arc<VerifiedToken>,
    /// The local user the token's `sub` is (created on first sight).
    pub user_id: UserId,
}

impl Principal {
    /// The caller's user as stored now (name, email, bio), for the routes that show or change
    /// it; everything else needs only [`Principal::user_id`].
    ///
    /// # Errors
    /// The store's errors, as [`ApiError`].
    pub async fn user(&self, state: &AppState) -> Result<User, ApiError> {
        Ok(state.store.ensure_user(&self.token.sub).await?)
    }

    /// Succeeds when the token grants `permission` (in `permissions` or `scope`).
    ///
    /// # Errors
    /// [`ApiError::InsufficientScope`] naming the permission.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.token.has_permission(permission.as_str()) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(permission.as_str()))
        }
    }

    /// The caller's roles, read strictly from the configured namespaced claim.
    pub fn roles(&self, claim: &str) -> Vec<String> {
        self.token.string_array_claim(claim)
    }

    /// The API permissions this token grants.
    pub fn permissions(&self) -> Vec<&'static str> {
        Permission::ALL
            .iter()
            .filter(|p| self.token.has_permission(p.as_str()))
            .map(|p| p.as_str())
            .collect()
    }
}

/// Refuses a request that carries an access token in its query string (RFC 6750 §2.3 is not
/// supported: URLs end up in logs and histories).
///
/// # Errors
/// [`ApiError::InvalidRequest`].
pub fn refuse_query_token(parts: &Parts) -> Result<(), ApiError> {
    let Some(query) = parts.uri.query() else {
        return Ok(());
    };
    let carries_token = url::form_urlencoded::parse(query.as_bytes())
        .any(|(k, _)| k.eq_ignore_ascii_case("access_token") || k.eq_ignore_ascii_case("id_token"));
    if carries_token {
        Err(ApiError::InvalidRequest(
            "access tokens are accepted only in the Authorization header".into(),
        ))
    } else {
        Ok(())
    }
}

/// The bearer token of the request.
///
/// # Errors
/// [`ApiError::InvalidRequest`] for more than one `Authorization` header;
/// [`ApiError::Unauthenticated`] when there is no bearer credential;
/// [`ApiError::InvalidToken`] when the credential is not a single token.
pub fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(ApiError::Unauthenticated);
    };
    if values.next().is_some() {
        return Err(ApiError::InvalidRequest(
            "only one Authorization header is allowed".into(),
        ));
    }
    let value = value.to_str().map_err(|_| malformed_token())?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated);
    }
    if rest.is_empty() {
        return Err(ApiError::Unauthenticated);
    }
    if rest.chars().any(|c| c.is_ascii_whitespace()) {
        return Err(malformed_token());
    }
    Ok(rest)
}

/// A credential refused before it reaches the verifier still counts as a verification failure
/// (spec §4: every failure increments `pymd_jwt_verification_failures_total{reason}`).
fn malformed_token() -> ApiError {
    let reason = pymd_auth::VerifyError::Malformed;
    metrics::counter!(pymd_auth::METRIC_FAILURES, "reason" => reason.reason()).increment(1);
    ApiError::InvalidToken(reason.description())
}

/// Whether a cookie-authenticated request provably comes from our own pages: `Sec-Fetch-Site:
/// same-origin` (or `none`), or (for browsers without Fetch Metadata) an `Origin` equal to the base URL's.
/// Safe methods need no proof.
///
/// # Errors
/// [`ApiError::Forbidden`] for a state-changing request without that proof (CSRF).
pub fn require_same_origin(parts: &Parts, base_origin: &str) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if crate::web::forms::same_origin(&parts.headers, base_origin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "a cookie-authenticated change must come from this site (same-origin check failed)",
        ))
    }
}

impl Principal {
    /// The caller of a request that has no `Authorization` header but a web session cookie: the
    /// session's access token, verified like a bearer token (its permissions are what the
    /// session may do), and the session's user.
    async fn from_session(parts: &Parts, state: &AppState) -> Result<Option<Self>, ApiError> {
        let jar = CookieJar::from_headers(&parts.headers);
        if crate::web::session::presented_id(&jar).is_none() {
            return Ok(None);
        }
        require_same_origin(parts, &state.config.base_url.origin().ascii_serialization())?;
        let session = crate::web::session::load_fresh(state, &jar).await?;
        let Some(session) = session else {
            return Ok(None);
        };
        let raw = session
            .access_token(state)
            .ok_or(ApiError::InvalidToken("the session's token cannot be read"))?;
        let token = state.verifier.verify(&raw).await?;
        if token.sub != session.user.auth0_id {
            return Err(ApiError::InvalidToken(
                "the session's token is not its user's",
            ));
        }
        Ok(Some(Principal {
            token,
            user_id: session.user.id,
        }))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_query_token(parts)?;
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Principal::from_session(parts, state)
                .await?
                .ok_or(ApiError::Unauthenticated);
        }
        let raw = bearer_token(parts)?;
        let token = state.verifier.verify(raw).await?;
        let user_id = match state.user_ids.get(&token.sub) {
            Some(id) => id,
            None => {
                let id = state.store.ensure_user(&token.sub).await?.id;
                state.user_ids.remember(&token.sub, id);
                id
            }
        };
        Ok(Principal { token, user_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)], uri: &str) -> Parts {
        let mut b = Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let p = parts(&[("authorization", &format!("{scheme} abc.def.ghi"))], "/");
            assert_eq!(bearer_token(&p).unwrap(), "abc.def.ghi");
        }
    }

    #[test]
    fn a_missing_or_foreign_scheme_is_unauthenticated_without_an_error_code() {
        for h in [
            vec![],
            vec![("authorization", "Basic dXNlcjpwdw==")],
            vec![("authorization", "Bearer")],
            vec![("authorization", "Bearer ")],
        ] {
            let p = parts(&h, "/");
            assert!(
                matches!(bearer_token(&p), Err(ApiError::Unauthenticated)),
                "{h:?}"
            );
        }
    }

    #[test]
    fn two_authorization_headers_are_an_invalid_request() {
        let p = parts(
            &[
                ("authorization", "Bearer a.b.c"),
                ("authorization", "Bearer x.y.z"),
            ],
            "/",
        );
        assert!(matches!(bearer_token(&p), Err(ApiError::InvalidRequest(_))));
    }

    #[test]
    fn extra_whitespace_makes_the_token_invalid() {
        for v in ["Bearer  a.b.c", "Bearer a.b.c ", "Bearer a.b\t.c"] {
            let p = parts(&[("authorization", v)], "/");
            assert!(
                matches!(bearer_token(&p), Err(ApiError::InvalidToken(_))),
                "{v:?}"
            );
        }
    }

    #[test]
    fn cookie_authenticated_changes_need_a_same_origin_proof() {
        let origin = "http://localhost:3000";
        let req = |method: &str, headers: &[(&str, &str)]| {
            let mut b = Request::builder().method(method).uri("/");
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            b.body(()).unwrap().into_parts().0
        };
        assert!(require_same_origin(&req("GET", &[]), origin).is_ok());
        assert!(
            require_same_origin(&req("POST", &[("sec-fetch-site", "same-origin")]), origin).is_ok()
        );
        assert!(require_same_origin(&req("POST", &[("origin", origin)]), origin).is_ok());
        for bad in [
            req("POST", &[]),
            req("DELETE", &[("origin", "https://evil.example")]),
            req(
                "PUT",
                &[("sec-fetch-site", "cross-site"), ("origin", origin)],
            ),
            req("PATCH", &[("sec-fetch-site", "same-site")]),
            req("POST", &[("origin", "null")]),
        ] {
            assert!(matches!(
                require_same_origin(&bad, origin),
                Err(ApiError::Forbidden(_))
            ));
        }
    }

    #[test]
    fn a_token_in_the_query_string_is_refused() {
        for uri in ["/?access_token=x", "/?a=1&ACCESS_TOKEN=x", "/?id_token=x"] {
            assert!(
                matches!(
                    refuse_query_token(&parts(&[], uri)),
                    Err(ApiError::InvalidRequest(_))
                ),
                "{uri}"
            );
        }
        assert!(refuse_query_token(&parts(&[], "/?limit=5")).is_ok());
    }
}
