//! The JWS layer: compact-serialisation structure, header rules, key selection and the RSA
//! signature check, without any claim validation.
//!
//! Everything before the signature check is done on bytes we decoded ourselves, strictly,
//! so that nothing the attacker controls (`alg`, `jwk`, `jku`, `x5u`, `x5c`, `kid`) can pick
//! the algorithm or the key: the algorithm must be one of the configured RSA algorithms and
//! the key comes only from the JWKS fetched from the discovered `jwks_uri`.
//! [`verify_compact`] exposes this layer on its own for test vectors.

use aws_lc_rs::signature::{self, RsaParameters, RsaPublicKeyComponents};
use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::error::VerifyError;
use crate::jwks::{KeySet, RsaKey, Selection};
use crate::{b64, json};

/// Longest `kid` we look up; longer values are refused outright (they are never legitimate
/// and would only be used to probe the key lookup).
pub(crate) const MAX_KID_BYTES: usize = 256;

/// The JOSE name of an RSA algorithm, or `None` for anything else.
pub fn algorithm_name(alg: Algorithm) -> Option<&'static str> {
    Some(match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        _ => return None,
    })
}

/// The RSA algorithm with exactly this (case-sensitive) JOSE name.
pub(crate) fn algorithm_from_name(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        _ => return None,
    })
}

fn parameters(alg: Algorithm) -> Option<&'static RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// A compact JWS whose structure and header passed every pre-check.
pub(crate) struct Parsed<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    signing_input: &'a str,
    pub(crate) payload: Vec<u8>,
    signature: Vec<u8>,
}

impl std::fmt::Debug for Parsed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print token material.
        f.debug_struct("Parsed")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Is this `typ` one of `JWT` / `at+jwt` (media types compare case-insensitively and may
/// omit the `application/` prefix, RFC 7515 §4.1.9)?
fn typ_ok(typ: &str) -> bool {
    let t = typ.to_ascii_lowercase();
    let t = t.strip_prefix("application/").unwrap_or(&t);
    t == "jwt" || t == "at+jwt"
}

/// Structure and header checks, before any key is used.
///
/// # Errors
/// [`VerifyError::Malformed`] for structure/encoding/JSON problems,
/// [`VerifyError::AlgNotAllowed`], [`VerifyError::CritHeader`], [`VerifyError::BadHeader`].
pub(crate) fn parse_compact<'a>(
    token: &'a str,
    allowed: &[Algorithm],
) -> Result<Parsed<'a>, VerifyError> {
    parse_compact_typed(token, allowed, typ_ok)
}

/// Is this `typ` the one of an OpenID Connect Back-Channel Logout token (`logout+jwt`, §2.4)?
/// No other type is: an access or ID token must never pass as a logout token.
pub(crate) fn logout_typ_ok(typ: &str) -> bool {
    let t = typ.to_ascii_lowercase();
    t.strip_prefix("application/").unwrap_or(&t) == "logout+jwt"
}

/// [`parse_compact`] with the rule a present `typ` must satisfy (an absent one always passes).
///
/// # Errors
/// As [`parse_compact`].
pub(crate) fn parse_compact_typed<'a>(
    token: &'a str,
    allowed: &[Algorithm],
    typ_allowed: fn(&str) -> bool,
) -> Result<Parsed<'a>, VerifyError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let header_bytes = b64::decode(h).ok_or(VerifyError::Malformed)?;
    let payload = b64::decode(p).ok_or(VerifyError::Malformed)?;
    let signature = b64::decode(s).ok_or(VerifyError::Malformed)?;
    let header = json::parse_object(&header_bytes).ok_or(VerifyError::Malformed)?;

    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(algorithm_from_name)
        .filter(|a| allowed.contains(a))
        .ok_or(VerifyError::AlgNotAllowed)?;
    if header.contains_key("crit") {
        return Err(VerifyError::CritHeader);
    }
    for refused in ["b64", "enc", "zip", "cty"] {
        if header.contains_key(refused) {
            return Err(VerifyError::BadHeader);
        }
    }
    if let Some(typ) = header.get("typ") {
        match typ.as_str() {
            Some(t) if typ_allowed(t) => {}
            _ => return Err(VerifyError::BadHeader),
        }
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if k.len() <= MAX_KID_BYTES => Some(k.clone()),
        Some(_) => return Err(VerifyError::BadHeader),
    };
    // `jku`, `x5u`, `jwk`, `x5c`, `x5t`, ... are deliberately ignored: never fetched, never used.
    let signing_input_len = h.len() + 1 + p.len();
    Ok(Parsed {
        alg,
        kid,
        signing_input: &token[..signing_input_len],
        payload,
        signature,
    })
}

/// Verifies the signature of a parsed token with the selected key.
///
/// # Errors
/// [`VerifyError::BadSignature`] when the signature does not verify (wrong length,
/// not reduced, wrong padding, other key, ...).
pub(crate) fn verify_signature(parsed: &Parsed<'_>, key: &RsaKey) -> Result<(), VerifyError> {
    let params = parameters(parsed.alg).ok_or(VerifyError::AlgNotAllowed)?;
    let components = RsaPublicKeyComponents {
        n: &key.n[..],
        e: &key.e[..],
    };
    components
        .verify(params, parsed.signing_input.as_bytes(), &parsed.signature)
        .map_err(|_| VerifyError::BadSignature)
}

/// Maps a key lookup to the error a token gets when no single key is found.
pub(crate) fn selection_result(sel: Selection) -> Result<std::sync::Arc<RsaKey>, VerifyError> {
    match sel {
        Selection::Found(k) => Ok(k),
        Selection::Ambiguous => Err(VerifyError::AmbiguousKey),
        Selection::NotFound => Err(VerifyError::UnknownKid),
    }
}

/// Verifies a compact JWS against a JWK Set document, allowing only `RS256`, and returns
/// the payload bytes. No claim is looked at (the payload need not even be JSON).
///
/// This is the JWS layer of [`crate::Verifier::verify`] on its own: structure and strict
/// base64url, header rules (`alg`, `crit`, `typ`, `cty`, `enc`, `zip`, `kid`), JWKS key
/// filtering and selection, and the signature.
///
/// # Errors
/// The same [`VerifyError`] classes as [`crate::Verifier::verify`]; a JWK Set document that
/// cannot be used at all gives [`VerifyError::UnknownKid`].
pub fn verify_compact(token: &str, jwk_set_json: &str) -> Result<Vec<u8>, VerifyError> {
    verify_compact_with(token, jwk_set_json, &[Algorithm::RS256])
}

/// [`verify_compact`] with an explicit algorithm allow-list (non-RSA entries never match).
///
/// # Errors
/// As [`verify_compact`].
pub fn verify_compact_with(
    token: &str,
    jwk_set_json: &str,
    algorithms: &[Algorithm],
) -> Result<Vec<u8>, VerifyError> {
    let parsed = parse_compact(token, algorithms)?;
    let keys =
        KeySet::parse(jwk_set_json.as_bytes(), algorithms).map_err(|_| VerifyError::UnknownKid)?;
    let key = selection_result(keys.select(parsed.kid.as_deref(), parsed.alg))?;
    verify_signature(&parsed, &key)?;
    Ok(parsed.payload)
}

/// How many keys of a JWK Set document the verifier would use with these algorithms
/// (RSA, signature use, 2048–8192 bits, odd e ≥ 3, no ROCA fingerprint, no duplicate `kid`).
///
/// # Errors
/// `Err(())` when the document itself is unusable (not a JWK Set, or an empty `keys` array).
#[allow(clippy::result_unit_err)]
pub fn usable_key_count(jwk_set_json: &str, algorithms: &[Algorithm]) -> Result<usize, ()> {
    KeySet::parse(jwk_set_json.as_bytes(), algorithms)
        .map(|k| k.usable_count())
        .map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(header: &str) -> String {
        format!(
            "{}.{}.{}",
            b64::encode(header.as_bytes()),
            b64::encode(b"{}"),
            b64::encode(b"sig")
        )
    }

    fn check(header: &str) -> Result<(), VerifyError> {
        parse_compact(&tok(header), &[Algorithm::RS256]).map(|_| ())
    }

    #[test]
    fn a_plain_rs256_header_passes() {
        assert_eq!(check(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#), Ok(()));
        assert_eq!(check(r#"{"alg":"RS256"}"#), Ok(()));
    }

    #[test]
    fn typ_values() {
        for ok in [
            "JWT",
            "jwt",
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "application/JWT",
        ] {
            assert_eq!(
                check(&format!(r#"{{"alg":"RS256","typ":"{ok}"}}"#)),
                Ok(()),
                "{ok}"
            );
        }
        for bad in [
            "secevent+jwt",
            "logout+jwt",
            "dpop+jwt",
            "id_token",
            "JOSE",
            "",
            " JWT",
        ] {
            assert_eq!(
                check(&format!(r#"{{"alg":"RS256","typ":"{bad}"}}"#)),
                Err(VerifyError::BadHeader),
                "{bad}"
            );
        }
        assert_eq!(
            check(r#"{"alg":"RS256","typ":1}"#),
            Err(VerifyError::BadHeader)
        );
    }

    #[test]
    fn a_logout_token_takes_only_logout_jwt_or_no_typ() {
        let logout = |header: &str| {
            let t = tok(header);
            parse_compact_typed(&t, &[Algorithm::RS256], logout_typ_ok).map(|_| ())
        };
        for ok in [
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"RS256","typ":"logout+jwt"}"#,
            r#"{"alg":"RS256","typ":"application/logout+JWT"}"#,
        ] {
            assert_eq!(logout(ok), Ok(()), "{ok}");
        }
        for bad in [
            "at+jwt",
            "JWT",
            "id_token",
            "secevent+jwt",
            "",
            "logout+jwt ",
        ] {
            assert_eq!(
                logout(&format!(r#"{{"alg":"RS256","typ":"{bad}"}}"#)),
                Err(VerifyError::BadHeader),
                "{bad}"
            );
        }
        assert_eq!(
            logout(r#"{"alg":"HS256","typ":"logout+jwt"}"#),
            Err(VerifyError::AlgNotAllowed)
        );
    }

    #[test]
    fn alg_must_match_exactly() {
        for bad in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"None"}"#,
            r#"{"alg":"rs256"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"ES256"}"#,
            r#"{"alg":"RS384"}"#,
            r#"{"alg":"RS256 "}"#,
            r#"{"alg":["RS256"]}"#,
            r#"{"kid":"k"}"#,
        ] {
            assert_eq!(check(bad), Err(VerifyError::AlgNotAllowed), "{bad}");
        }
    }

    #[test]
    fn refused_header_members() {
        assert_eq!(
            check(r#"{"alg":"RS256","crit":["exp"]}"#),
            Err(VerifyError::CritHeader)
        );
        assert_eq!(
            check(r#"{"alg":"RS256","crit":[]}"#),
            Err(VerifyError::CritHeader)
        );
        for m in [
            r#""cty":"JWT""#,
            r#""enc":"A128GCM""#,
            r#""zip":"DEF""#,
            r#""b64":false"#,
            r#""kid":7"#,
        ] {
            assert_eq!(
                check(&format!(r#"{{"alg":"RS256",{m}}}"#)),
                Err(VerifyError::BadHeader),
                "{m}"
            );
        }
        let long_kid = "k".repeat(MAX_KID_BYTES + 1);
        assert_eq!(
            check(&format!(r#"{{"alg":"RS256","kid":"{long_kid}"}}"#)),
            Err(VerifyError::BadHeader)
        );
    }

    #[test]
    fn header_keys_are_ignored_not_used() {
        assert_eq!(
            check(
                r#"{"alg":"RS256","jku":"http://169.254.169.254/","x5u":"http://x/","jwk":{"kty":"RSA"},"x5c":["AA"]}"#
            ),
            Ok(())
        );
    }

    #[test]
    fn structure() {
        for bad in ["", "a", "a.b", "..", "a.b.c.d", "a.b.c.d.e"] {
            assert_eq!(
                parse_compact(bad, &[Algorithm::RS256]).err(),
                Some(VerifyError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            check(r#"{"alg":"RS256","alg":"RS256"}"#),
            Err(VerifyError::Malformed)
        );
        assert_eq!(check(r#"["RS256"]"#), Err(VerifyError::Malformed));
    }
}
