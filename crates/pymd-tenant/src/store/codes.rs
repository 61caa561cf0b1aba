//! Authorization codes: issued when a login completes, redeemed once at `/oauth/token`, and
//! kept a while after their lifetime so that a late replay still revokes the refresh-token
//! family the first redemption minted.

use std::collections::HashMap;

use tokio::sync::Mutex;

use super::retain;

/// An authorization code is redeemable this long (seconds).
pub const CODE_TTL: i64 = 600;
/// A code is kept this long after issue, so that a late replay still revokes its family.
pub const CODE_RETENTION: i64 = CODE_TTL * 6;

/// What an authorization code stands for.
#[derive(Debug, Clone)]
pub struct AuthCode {
    /// Client.
    pub client_id: String,
    /// Exact redirect_uri of `/authorize`.
    pub redirect_uri: String,
    /// User.
    pub user_id: String,
    /// Session id (`sid`).
    pub sid: String,
    /// Requested scopes.
    pub scope: Vec<String>,
    /// Audience (None = userinfo only).
    pub audience: Option<String>,
    /// Nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// Issued at (unix).
    pub issued_at: i64,
    /// Authentication time.
    pub auth_time: i64,
    /// The user's roles when the post-login flow began (RBAC permissions come from these).
    pub roles: Vec<String>,
    /// What the post-login Actions asked for.
    pub action: crate::actions::Outcome,
}

/// A stored code with its redemption bookkeeping.
#[derive(Debug)]
struct Entry {
    code: AuthCode,
    /// Already redeemed.
    used: bool,
    /// Presented again after its redemption (the family minted from it must be revoked).
    reused: bool,
    /// Refresh-token family minted from it (revoked on reuse).
    family: Option<String>,
}

/// Why a code was not redeemed.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, another client's, or expired.
    Invalid,
    /// Already redeemed: the family minted by the first redemption (if recorded yet) must be
    /// revoked.
    Replayed {
        /// The family to revoke.
        family: Option<String>,
    },
}

/// The issued codes, keyed by code.
#[derive(Debug, Default)]
pub struct AuthCodes {
    codes: Mutex<HashMap<String, Entry>>,
}

impl AuthCodes {
    /// Stores a freshly issued code.
    pub async fn issue(&self, code: String, data: AuthCode) {
        let entry = Entry {
            code: data,
            used: false,
            reused: false,
            family: None,
        };
        self.codes.lock().await.insert(code, entry);
    }

    /// Redeems `code` for `client_id` at `now`. A code is single use from the first
    /// redemption by its own client on, even when that redemption is refused as expired.
    ///
    /// # Errors
    /// [`Refused::Invalid`] for an unknown, foreign or expired code; [`Refused::Replayed`] for
    /// a second redemption (which marks the code so a family recorded later is revoked too).
    pub async fn redeem(&self, code: &str, client_id: &str, now: i64) -> Result<AuthCode, Refused> {
        let mut codes = self.codes.lock().await;
        codes.retain(|_, c| now - c.code.issued_at <= CODE_RETENTION);
        let entry = codes.get_mut(code).ok_or(Refused::Invalid)?;
        if entry.code.client_id != client_id {
            return Err(Refused::Invalid);
        }
        if entry.used {
            entry.reused = true;
            return Err(Refused::Replayed {
                family: entry.family.clone(),
            });
        }
        entry.used = true;
        if now - entry.code.issued_at > CODE_TTL {
            return Err(Refused::Invalid);
        }
        Ok(entry.code.clone())
    }

    /// Records the refresh-token family minted from `code`; returns whether the code has been
    /// replayed meanwhile (the caller then revokes the family itself). Recording and the
    /// replay check share one critical section with [`AuthCodes::redeem`], so a replay at any
    /// moment revokes the family.
    pub async fn record_family(&self, code: &str, family: &str) -> bool {
        match self.codes.lock().await.get_mut(code) {
            Some(c) => {
                c.family = Some(family.to_string());
                c.reused
            }
            None => false,
        }
    }

    /// Drops codes past their retention; returns how many.
    pub async fn sweep(&self, now: i64) -> usize {
        retain(&mut *self.codes.lock().await, |c| {
            now - c.code.issued_at <= CODE_RETENTION
        })
    }

    /// How many codes are kept.
    #[cfg(test)]
    pub async fn len(&self) -> usize {
        self.codes.lock().await.len()
    }
}
