//! The grants `/oauth/token` serves, one module each, and what they hand back: the token
//! response body and the user it was for, or a [`GrantFailure`] saying how the failure is
//! logged.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use serde_json::Value;

use crate::error::OAuthError;

/// Which tenant-log event a failed grant emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureLog {
    /// None (a malformed request or an internal error).
    Silent,
    /// The grant's own failure type (`feacft`, `fertft`, `feccft`, or `f`).
    Grant,
    /// A specific type (`ferrt` for a refresh-token reuse).
    As(&'static str),
}

/// A failed grant: the OAuth error to answer with and how it is logged.
#[derive(Debug)]
pub struct GrantFailure {
    /// The answer.
    pub error: OAuthError,
    /// The log event.
    pub log: FailureLog,
}

impl From<OAuthError> for GrantFailure {
    /// Logged as the grant's failure type, with the error's description.
    fn from(error: OAuthError) -> GrantFailure {
        GrantFailure {
            error,
            log: FailureLog::Grant,
        }
    }
}

impl GrantFailure {
    /// Not logged.
    pub fn silent(error: OAuthError) -> GrantFailure {
        GrantFailure {
            error,
            log: FailureLog::Silent,
        }
    }

    /// Logged as `kind`.
    pub fn logged_as(error: OAuthError, kind: &'static str) -> GrantFailure {
        GrantFailure {
            error,
            log: FailureLog::As(kind),
        }
    }
}

/// The user a grant was for: id and email.
pub type GrantUser = Option<(String, String)>;

/// A grant's outcome: the token response body and its user.
pub type GrantResult = Result<(Value, GrantUser), GrantFailure>;
