//! Opaque access tokens: minted when a login names no API audience, good only at
//! `/userinfo`, for a day.

use std::collections::HashMap;

use tokio::sync::Mutex;

use super::retain;

/// What an opaque token grants.
#[derive(Debug, Clone)]
pub struct OpaqueToken {
    /// User.
    pub user_id: String,
    /// Scopes.
    pub scope: Vec<String>,
    /// Expiry (unix).
    pub exp: i64,
}

/// The opaque tokens by value.
#[derive(Debug, Default)]
pub struct OpaqueTokens {
    by_token: Mutex<HashMap<String, OpaqueToken>>,
}

impl OpaqueTokens {
    /// Stores a minted token.
    pub async fn insert(&self, token: String, grant: OpaqueToken) {
        self.by_token.lock().await.insert(token, grant);
    }

    /// The grant of a token still valid at `now`.
    pub async fn get(&self, token: &str, now: i64) -> Option<OpaqueToken> {
        self.by_token
            .lock()
            .await
            .get(token)
            .filter(|o| o.exp > now)
            .cloned()
    }

    /// Drops expired tokens; returns how many.
    pub async fn sweep(&self, now: i64) -> usize {
        retain(&mut *self.by_token.lock().await, |o| o.exp > now)
    }

    /// How many tokens are kept.
    #[cfg(test)]
    pub async fn len(&self) -> usize {
        self.by_token.lock().await.len()
    }
}
