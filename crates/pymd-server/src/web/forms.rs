//! What every web form and protected page checks before it acts (spec §5, §7).
//!
//! - **CSRF**: every form carries a hidden `csrf_token`, HMAC-SHA-256 of the session's id hash
//!   under a key derived (HKDF-SHA-256, its own label) from the cookie secret. It is bound to the
//!   session, needs no storage, and is compared in constant time. Every POST must also carry a
//!   same-origin signal: `Sec-Fetch-Site: same-origin` (or `none`, a user-typed request), or,
//!   for browsers without Fetch Metadata, an `Origin` equal to the base URL's origin. Either
//!   check failing gives a 403 page and changes nothing.
//!
//! [`super::access::Posted`] runs these checks for every form, before its handler.

use aws_lc_rs::{hkdf, hmac};
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};

use super::crypto;
use super::error::{PageError, Refusal};
use super::session::SessionUser;
use crate::state::AppState;

/// The name of the hidden form field.
pub const FIELD: &str = "csrf_token";

const SALT: &[u8] = b"pymd web v1";
const CSRF_LABEL: &[u8] = b"pymd form csrf key";
const CSRF_CONTEXT: &[u8] = b"pymd csrf v1\0";

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn csrf_key(secret: &SecretString) -> Option<hmac::Key> {
    let secret = secret.expose_secret().as_bytes();
    if secret.len() < 32 {
        return None;
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret);
    let labels = [CSRF_LABEL];
    let mut bytes = [0u8; 32];
    prk.expand(&labels, Len(bytes.len()))
        .and_then(|okm| okm.fill(&mut bytes))
        .ok()?;
    Some(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

/// The CSRF token for a session (the value of the hidden `csrf_token` field); empty when no key
/// can be derived, which no submission can then match.
pub fn csrf_token(state: &AppState, session: &SessionUser) -> String {
    token_for(&state.cookie_secret, &session.session.id_hash).unwrap_or_default()
}

/// The CSRF token of the session stored under `id_hash`; `None` for a secret too short to
/// derive a key from.
pub fn token_for(secret: &SecretString, id_hash: &[u8]) -> Option<String> {
    let key = csrf_key(secret)?;
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(CSRF_CONTEXT);
    ctx.update(id_hash);
    Some(URL_SAFE_NO_PAD.encode(ctx.sign().as_ref()))
}

/// Whether `presented` is this session's CSRF token (constant-time comparison).
pub fn csrf_valid(state: &AppState, session: &SessionUser, presented: &str) -> bool {
    let expected = csrf_token(state, session);
    !expected.is_empty() && crypto::ct_eq(&expected, presented)
}

/// Whether the request provably comes from our own pages: `Sec-Fetch-Site: same-origin` (or
/// `none`: the user started it from the address bar or a bookmark, which no other site can
/// forge), or, for browsers without Fetch Metadata, an `Origin` equal to `base_origin`. Shared by
/// the web forms and the API's cookie path.
pub fn same_origin(headers: &HeaderMap, base_origin: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match header("sec-fetch-site") {
        Some(site) => site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"),
        None => header("origin").is_some_and(|o| o == base_origin),
    }
}

/// The same-origin check of a form POST, before its body is read.
///
/// # Errors
/// [`Refusal::CrossSite`] when the request does not come from this site.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), PageError> {
    let origin = state.config.base_url.origin().ascii_serialization();
    if same_origin(headers, &origin) {
        Ok(())
    } else {
        Err(PageError::Forbidden(Refusal::CrossSite))
    }
}

/// The CSRF check of a submitted form.
///
/// # Errors
/// [`Refusal::StaleForm`] when the token is missing or is not this session's.
pub fn check_token(
    state: &AppState,
    session: &SessionUser,
    presented: &str,
) -> Result<(), PageError> {
    if csrf_valid(state, session, presented) {
        Ok(())
    } else {
        Err(PageError::Forbidden(Refusal::StaleForm))
    }
}

/// A form body that carries the session's CSRF token in [`FIELD`].
pub trait CsrfProtected {
    /// The submitted `csrf_token`.
    fn csrf_token(&self) -> &str;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn tokens_are_bound_to_the_session_and_the_secret() {
        let s = secret("0123456789abcdef0123456789abcdef");
        let a = token_for(&s, &[1u8; 32]).unwrap();
        assert_eq!(a, token_for(&s, &[1u8; 32]).unwrap(), "stable per session");
        assert_eq!(a.len(), 43, "256-bit tag, base64url");
        assert_ne!(a, token_for(&s, &[2u8; 32]).unwrap(), "another session");
        let other = secret("0123456789abcdef0123456789abcdeX");
        assert_ne!(a, token_for(&other, &[1u8; 32]).unwrap(), "another secret");
        assert!(token_for(&secret("short"), &[1u8; 32]).is_none());
    }

    #[test]
    fn the_same_origin_signal_prefers_fetch_metadata() {
        let origin = "http://127.0.0.1:3000";
        let h = |pairs: &[(&'static str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, v.parse().unwrap());
            }
            m
        };
        assert!(same_origin(
            &h(&[("sec-fetch-site", "same-origin")]),
            origin
        ));
        assert!(same_origin(&h(&[("sec-fetch-site", "none")]), origin));
        assert!(same_origin(&h(&[("origin", origin)]), origin));
        for bad in [
            h(&[]),
            h(&[("sec-fetch-site", "cross-site")]),
            h(&[("sec-fetch-site", "same-site")]),
            h(&[("sec-fetch-site", "cross-site"), ("origin", origin)]),
            h(&[("origin", "null")]),
            h(&[("origin", "http://127.0.0.1:3001")]),
        ] {
            assert!(!same_origin(&bad, origin), "{bad:?}");
        }
    }
}
