//! Why a token was refused, as a small closed set of failure classes.
//!
//! Each class maps to a stable metric label ([`VerifyError::reason`]) and a safe human text
//! ([`VerifyError::description`]) that the server may put in `error_description`. Neither
//! ever contains token text, claim values or library internals, so they are safe to log and
//! to send back to the client.

use thiserror::Error;

/// A refused access token, or an identity provider that cannot be used right now.
///
/// Every variant except [`VerifyError::Unavailable`] and [`VerifyError::MetadataRejected`]
/// is the client's fault (answer 401 `invalid_token`); those two mean that no usable key
/// could be obtained (answer 503 `upstream_unavailable`, see [`VerifyError::is_unavailable`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is longer than `max_token_bytes`.
    #[error("token too large")]
    TooLarge,
    /// Not a compact JWS: wrong segment count, non-canonical base64url, JSON that is not an
    /// object, duplicate JSON member names, invalid UTF-8, nesting too deep.
    #[error("malformed token")]
    Malformed,
    /// The header `alg` is missing, not a string, or not exactly one of the configured algorithms.
    #[error("algorithm not allowed")]
    AlgNotAllowed,
    /// The header has a `crit` member (no extension is understood, RFC 7515 §4.1.11).
    #[error("critical header not supported")]
    CritHeader,
    /// A header member this service refuses: `typ` other than `JWT`/`at+jwt`, `cty`, `enc`,
    /// `zip`, `b64`, or a `kid` that is not a (reasonably short) string.
    #[error("unsupported token header")]
    BadHeader,
    /// No usable key has the token's `kid` (also: the key was filtered out of the JWKS).
    #[error("unknown signing key")]
    UnknownKid,
    /// The key cannot be chosen unambiguously: two JWKS keys share the `kid`, or the token
    /// has no `kid` and the JWKS holds more than one usable key.
    #[error("ambiguous signing key")]
    AmbiguousKey,
    /// The signature does not verify with the selected key.
    #[error("invalid signature")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `iss` is missing, not a string, or not exactly the discovered issuer.
    #[error("invalid issuer")]
    BadIssuer,
    /// `aud` is missing, has the wrong type, or does not contain the API audience.
    #[error("invalid audience")]
    BadAudience,
    /// A registered claim has the wrong JSON type or an impossible value (`exp` missing or
    /// not a number, `sub` missing or empty, ...).
    #[error("invalid claims")]
    BadClaims,
    /// No usable key because the identity provider could not be reached (or answered with
    /// something that is not a usable discovery document / JWKS) and no key was cached.
    #[error("identity provider unavailable")]
    Unavailable,
    /// The discovery document was refused: its `issuer` does not match the configured base
    /// URL, or its `jwks_uri` is on another origin.
    #[error("identity provider metadata refused")]
    MetadataRejected,
}

impl VerifyError {
    /// A stable, low-cardinality label for `pymd_jwt_verification_failures_total{reason}`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::AlgNotAllowed => "alg_not_allowed",
            Self::CritHeader => "crit_header",
            Self::BadHeader => "bad_header",
            Self::UnknownKid => "unknown_kid",
            Self::AmbiguousKey => "ambiguous_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::BadIssuer => "bad_issuer",
            Self::BadAudience => "bad_audience",
            Self::BadClaims => "bad_claims",
            Self::Unavailable => "unavailable",
            Self::MetadataRejected => "bad_metadata",
        }
    }

    /// Safe human text for an `error_description` (no token text, no library internals).
    pub fn description(&self) -> &'static str {
        match self {
            Self::TooLarge => "token too large",
            Self::Malformed => "malformed token",
            Self::AlgNotAllowed => "signing algorithm not allowed",
            Self::CritHeader => "unsupported critical header",
            Self::BadHeader => "unsupported token header",
            Self::UnknownKid => "unknown signing key",
            Self::AmbiguousKey => "signing key cannot be determined",
            Self::BadSignature => "invalid signature",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::IssuedInFuture => "token issued in the future",
            Self::BadIssuer => "invalid issuer",
            Self::BadAudience => "invalid audience",
            Self::BadClaims => "invalid claims",
            Self::Unavailable => "identity provider unavailable",
            Self::MetadataRejected => "identity provider unavailable",
        }
    }

    /// `true` when the failure is the identity provider's, not the token's: the server
    /// answers 503 `upstream_unavailable` instead of 401.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable | Self::MetadataRejected)
    }
}
