//! Who is calling: the `Principal` extractor takes the bearer token from the `Authorization`
//! header (and only there: RFC 6750 §2.3 tokens in the URL or body are refused), verifies it,
//! and loads or creates the caller's user record just in time. Handlers then ask it for the
//! permission they need.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use pymd_auth::VerifiedToken;
use pymd_domain::{Permission, User};

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token: Arc<VerifiedToken>,
    pub user: User,
}

impl Principal {
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
    let value = value
        .to_str()
        .map_err(|_| ApiError::InvalidToken("malformed token"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated);
    }
    if rest.is_empty() {
        return Err(ApiError::Unauthenticated);
    }
    if rest.chars().any(|c| c.is_ascii_whitespace()) {
        return Err(ApiError::InvalidToken("malformed token"));
    }
    Ok(rest)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_query_token(parts)?;
        let raw = bearer_token(parts)?;
        let token = state.verifier.verify(raw).await?;
        let user = state.store.ensure_user(&token.sub).await?;
        Ok(Principal { token, user })
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
