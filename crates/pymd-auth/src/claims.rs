//! Claim validation with strict JSON types, and the verified result handed to the server.
//!
//! `jsonwebtoken` accepts `iss` arrays, does not check `iat` and is lenient about types, so the
//! rules of the specification (section 4) are written out here, as a pure function of the
//! payload, the expected issuer/audience, the leeway and the current time (tests pass a fixed
//! clock).

use serde_json::{Map, Value};

use crate::error::VerifyError;
use crate::json;

/// Latest accepted `exp`, relative to now: one year. Auth0 access tokens live at most 30 days;
/// anything beyond a year (or beyond `i64`, e.g. `1e20`) is refused as an impossible value.
pub(crate) const MAX_EXP_AHEAD_SECS: f64 = 366.0 * 24.0 * 3600.0;

/// What a token's claims are checked against.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules<'a> {
    /// The discovered issuer; `iss` must equal it character for character.
    pub(crate) issuer: &'a str,
    /// The API audience; `aud` must contain it.
    pub(crate) audience: &'a str,
    /// Tolerated clock skew, in seconds.
    pub(crate) leeway_secs: f64,
}

/// A token that passed every check.
///
/// `Debug` shows claims but never the token itself (which is not kept).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// The `sub` claim (non-empty).
    pub sub: String,
    /// The `iss` claim (equal to the discovered issuer).
    pub issuer: String,
    /// The space-separated `scope` claim split into tokens; empty when `scope` is absent or
    /// not a string (a mistyped `scope` grants nothing, the token is still accepted).
    pub scopes: Vec<String>,
    /// The `permissions` claim; empty when absent or not an array of strings (grants nothing).
    pub permissions: Vec<String>,
    /// `exp` in seconds since the Unix epoch (a fractional `exp` is rounded down).
    pub expires_at: i64,
    /// Every claim of the payload.
    pub claims: Map<String, Value>,
}

impl VerifiedToken {
    /// Whether permission `p` is granted: present in the `permissions` array or as one of the
    /// space-separated `scope` tokens (exact, case-sensitive match).
    pub fn has_permission(&self, p: &str) -> bool {
        self.permissions.iter().any(|x| x == p) || self.scopes.iter().any(|x| x == p)
    }

    /// The claim `name` as a list of strings. Strict: only a JSON array whose members are all
    /// strings counts; anything else (a string, an array with a non-string) gives an empty list.
    pub fn string_array_claim(&self, name: &str) -> Vec<String> {
        string_array(self.claims.get(name)).unwrap_or_default()
    }

    /// The claim `name` if it is a JSON string.
    pub fn string_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

fn string_array(v: Option<&Value>) -> Option<Vec<String>> {
    v?.as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_owned))
        .collect()
}

/// A NumericDate: a finite, non-negative JSON number (integer or fraction).
/// `Ok(None)` when absent; `Err` when present with the wrong type or value.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, VerifyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && v >= 0.0 && v < i64::MAX as f64 => Ok(Some(v)),
            _ => Err(VerifyError::BadClaims),
        },
        Some(_) => Err(VerifyError::BadClaims),
    }
}

/// Parses and validates a payload.
///
/// Order: JSON object (no duplicates) → `iss` → `aud` → `exp` → `nbf` → `iat` → `sub`.
///
/// # Errors
/// [`VerifyError::Malformed`] (not a JSON object, duplicates, invalid UTF-8, too deep),
/// [`VerifyError::BadIssuer`], [`VerifyError::BadAudience`], [`VerifyError::BadClaims`],
/// [`VerifyError::Expired`], [`VerifyError::NotYetValid`], [`VerifyError::IssuedInFuture`].
pub(crate) fn validate(
    payload: &[u8],
    rules: &ClaimRules<'_>,
    now: f64,
) -> Result<VerifiedToken, VerifyError> {
    let claims = json::parse_object(payload).ok_or(VerifyError::Malformed)?;

    match claims.get("iss") {
        Some(Value::String(iss)) if iss == rules.issuer => {}
        _ => return Err(VerifyError::BadIssuer),
    }

    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == rules.audience,
        Some(v @ Value::Array(_)) => {
            string_array(Some(v)).is_some_and(|list| list.iter().any(|a| a == rules.audience))
        }
        _ => false,
    };
    if !aud_ok {
        return Err(VerifyError::BadAudience);
    }

    let exp = numeric_date(&claims, "exp")?.ok_or(VerifyError::BadClaims)?;
    if exp > now + MAX_EXP_AHEAD_SECS {
        return Err(VerifyError::BadClaims);
    }
    if now >= exp + rules.leeway_secs {
        return Err(VerifyError::Expired);
    }
    if let Some(nbf) = numeric_date(&claims, "nbf")?
        && nbf > now + rules.leeway_secs
    {
        return Err(VerifyError::NotYetValid);
    }
    if let Some(iat) = numeric_date(&claims, "iat")?
        && iat > now + rules.leeway_secs
    {
        return Err(VerifyError::IssuedInFuture);
    }

    let sub = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(VerifyError::BadClaims),
    };

    let scopes = match claims.get("scope") {
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let permissions = string_array(claims.get("permissions")).unwrap_or_default();

    Ok(VerifiedToken {
        sub,
        issuer: rules.issuer.to_owned(),
        scopes,
        permissions,
        // `exp` is finite, non-negative and below i64::MAX (checked above).
        expires_at: exp.floor() as i64,
        claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_800_000_000.0;
    const ISS: &str = "https://tenant.example/";
    const AUD: &str = "https://api.pymd.io";

    fn rules() -> ClaimRules<'static> {
        ClaimRules {
            issuer: ISS,
            audience: AUD,
            leeway_secs: 5.0,
        }
    }

    fn good() -> Value {
        json!({
            "iss": ISS, "sub": "auth0|alice", "aud": [AUD, format!("{ISS}userinfo")],
            "iat": NOW - 10.0, "exp": NOW + 3600.0, "scope": "openid read:documents",
            "permissions": ["read:documents", "write:documents"], "azp": "client"
        })
    }

    fn with(mutate: impl FnOnce(&mut Map<String, Value>)) -> Result<VerifiedToken, VerifyError> {
        let mut v = good();
        if let Value::Object(m) = &mut v {
            mutate(m);
        }
        validate(&serde_json::to_vec(&v).unwrap_or_default(), &rules(), NOW)
    }

    fn set(name: &'static str, value: Value) -> impl FnOnce(&mut Map<String, Value>) {
        move |m| {
            m.insert(name.to_owned(), value);
        }
    }

    fn remove(name: &'static str) -> impl FnOnce(&mut Map<String, Value>) {
        move |m| {
            m.remove(name);
        }
    }

    #[test]
    fn an_auth0_shaped_token_is_accepted_with_its_grants() {
        let t = with(|_| {}).expect("valid");
        assert_eq!(t.sub, "auth0|alice");
        assert_eq!(t.issuer, ISS);
        assert_eq!(t.scopes, vec!["openid", "read:documents"]);
        assert!(t.has_permission("read:documents"));
        assert!(t.has_permission("write:documents"));
        assert!(t.has_permission("openid"));
        assert!(!t.has_permission("delete:documents"));
        assert!(!t.has_permission("READ:DOCUMENTS"));
        assert_eq!(t.expires_at, (NOW + 3600.0) as i64);
    }

    #[test]
    fn exp_boundary_around_the_leeway() {
        // Valid while now < exp + leeway.
        assert!(with(set("exp", json!(NOW - 5.0 + 1.0))).is_ok());
        assert_eq!(
            with(set("exp", json!(NOW - 5.0))).err(),
            Some(VerifyError::Expired)
        );
        assert_eq!(
            with(set("exp", json!(NOW - 5.0 - 1.0))).err(),
            Some(VerifyError::Expired)
        );
        assert_eq!(
            with(set("exp", json!(NOW - 3600.0))).err(),
            Some(VerifyError::Expired)
        );
    }

    #[test]
    fn nbf_boundary_around_the_leeway() {
        assert!(with(set("nbf", json!(NOW + 5.0 - 1.0))).is_ok());
        assert!(with(set("nbf", json!(NOW + 5.0))).is_ok());
        assert_eq!(
            with(set("nbf", json!(NOW + 5.0 + 1.0))).err(),
            Some(VerifyError::NotYetValid)
        );
        assert_eq!(
            with(set("nbf", json!("0"))).err(),
            Some(VerifyError::BadClaims)
        );
    }

    #[test]
    fn iat_boundary_around_the_leeway() {
        assert!(with(set("iat", json!(NOW + 5.0 - 1.0))).is_ok());
        assert!(with(set("iat", json!(NOW + 5.0))).is_ok());
        assert_eq!(
            with(set("iat", json!(NOW + 5.0 + 1.0))).err(),
            Some(VerifyError::IssuedInFuture)
        );
        assert!(with(remove("iat")).is_ok());
    }

    #[test]
    fn exp_must_be_a_plausible_number() {
        assert_eq!(with(remove("exp")).err(), Some(VerifyError::BadClaims));
        for bad in [
            json!("9999999999"),
            json!(null),
            json!(true),
            json!(-1),
            json!(1e20),
            json!([]),
            json!({}),
            json!(u64::MAX),
        ] {
            assert_eq!(
                with(set("exp", bad.clone())).err(),
                Some(VerifyError::BadClaims),
                "{bad}"
            );
        }
        assert!(with(set("exp", json!(NOW + 3600.5))).is_ok());
        assert_eq!(
            with(set("exp", json!(NOW + 2.0 * MAX_EXP_AHEAD_SECS))).err(),
            Some(VerifyError::BadClaims)
        );
    }

    #[test]
    fn issuer_is_compared_character_for_character() {
        assert_eq!(with(remove("iss")).err(), Some(VerifyError::BadIssuer));
        for bad in [
            json!("https://tenant.example"),
            json!("http://tenant.example/"),
            json!("https://TENANT.example/"),
            json!("https://tenant.example:443/"),
            json!("https://tenant.example/ "),
            json!([ISS]),
            json!(null),
        ] {
            assert_eq!(
                with(set("iss", bad.clone())).err(),
                Some(VerifyError::BadIssuer),
                "{bad}"
            );
        }
    }

    #[test]
    fn audience_must_contain_the_api() {
        assert!(with(set("aud", json!(AUD))).is_ok());
        assert!(with(set("aud", json!([AUD, "https://evil.example"]))).is_ok());
        assert_eq!(with(remove("aud")).err(), Some(VerifyError::BadAudience));
        for bad in [
            json!("https://other.api"),
            json!(format!("{AUD}/")),
            json!("HTTPS://API.PYMD.IO"),
            json!(format!(" {AUD}")),
            json!(1),
            json!([]),
            json!([[AUD]]),
            json!(format!("x,{AUD}")),
            json!([AUD, 1]),
            json!(null),
        ] {
            assert_eq!(
                with(set("aud", bad.clone())).err(),
                Some(VerifyError::BadAudience),
                "{bad}"
            );
        }
    }

    #[test]
    fn sub_must_be_a_non_empty_string() {
        assert_eq!(with(remove("sub")).err(), Some(VerifyError::BadClaims));
        assert_eq!(
            with(set("sub", json!(""))).err(),
            Some(VerifyError::BadClaims)
        );
        assert_eq!(
            with(set("sub", json!(42))).err(),
            Some(VerifyError::BadClaims)
        );
    }

    #[test]
    fn mistyped_grants_grant_nothing() {
        let t = with(|m| {
            m.insert("scope".into(), json!(["read:documents"]));
            m.insert("permissions".into(), json!("read:documents"));
        })
        .expect("accepted");
        assert!(!t.has_permission("read:documents"));
        let t = with(set("permissions", json!(["write:documents", 1]))).expect("accepted");
        assert!(!t.has_permission("write:documents"));
        assert!(t.permissions.is_empty());
    }

    #[test]
    fn scope_tokens_are_exact() {
        let t = with(|m| {
            m.insert(
                "scope".into(),
                json!("read:documentsX xread:documents read:documents\twrite:documents a,b"),
            );
            m.remove("permissions");
        })
        .expect("accepted");
        for p in ["read:documents", "write:documents", "a", "b"] {
            assert!(!t.has_permission(p), "{p}");
        }
        assert!(t.has_permission("read:documentsX"));
    }

    #[test]
    fn string_array_claim_is_strict() {
        let t = with(|m| {
            m.insert("https://pymd.io/roles".into(), json!(["admin"]));
            m.insert("r2".into(), json!("admin"));
            m.insert("r3".into(), json!([{"name": "admin"}]));
            m.insert("r4".into(), json!(["admin", 1]));
        })
        .expect("accepted");
        assert_eq!(t.string_array_claim("https://pymd.io/roles"), vec!["admin"]);
        assert!(t.string_array_claim("r2").is_empty());
        assert!(t.string_array_claim("r3").is_empty());
        assert!(t.string_array_claim("r4").is_empty());
        assert!(t.string_array_claim("missing").is_empty());
        assert_eq!(t.string_claim("azp"), Some("client"));
        assert_eq!(t.string_claim("exp"), None);
    }

    #[test]
    fn payload_shape() {
        for bad in [
            &b"[1]"[..],
            b"\"x\"",
            b"",
            b"{\"sub\":\"\xc0\xaf\"}",
            b"{\"exp\":1,\"exp\":2}",
        ] {
            assert_eq!(
                validate(bad, &rules(), NOW).err(),
                Some(VerifyError::Malformed)
            );
        }
    }
}
