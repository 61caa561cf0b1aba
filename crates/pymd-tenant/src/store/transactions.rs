//! Login transactions: a validated `/authorize` request waiting for the login or sign-up
//! form (its id is the forms' `state`), kept for an hour.

use std::collections::HashMap;

use tokio::sync::Mutex;

use super::retain;

/// How long a login transaction lives (seconds).
pub const TRANSACTION_TTL: i64 = 3600;

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// Client.
    pub client_id: String,
    /// Exact registered redirect URI.
    pub redirect_uri: String,
    /// Requested scopes.
    pub scope: Vec<String>,
    /// Audience (None = `/userinfo` only).
    pub audience: Option<String>,
    /// Opaque client state.
    pub state: Option<String>,
    /// Nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt=login`.
    pub prompt_login: bool,
    /// `screen_hint=signup`.
    pub signup: bool,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `max_age` seconds.
    pub max_age: Option<i64>,
}

/// A pending `/authorize` waiting for the login form (its forms' CSRF token is derived from
/// the id and the browser's CSRF cookie).
#[derive(Debug, Clone)]
pub struct Transaction {
    /// The validated request.
    pub req: AuthRequest,
    /// Created (unix).
    pub created_at: i64,
}

/// The pending transactions by id.
#[derive(Debug, Default)]
pub struct Transactions {
    by_id: Mutex<HashMap<String, Transaction>>,
}

impl Transactions {
    /// Stores a transaction under `id`.
    pub async fn begin(&self, id: String, req: AuthRequest, now: i64) {
        let tx = Transaction {
            req,
            created_at: now,
        };
        self.by_id.lock().await.insert(id, tx);
    }

    /// The live transaction `id` (expired ones are dropped on the way).
    pub async fn get(&self, id: &str, now: i64) -> Option<Transaction> {
        let mut txs = self.by_id.lock().await;
        txs.retain(|_, t| now - t.created_at <= TRANSACTION_TTL);
        txs.get(id).cloned()
    }

    /// Ends transaction `id` (its login completed).
    pub async fn finish(&self, id: &str) {
        self.by_id.lock().await.remove(id);
    }

    /// Drops expired transactions; returns how many.
    pub async fn sweep(&self, now: i64) -> usize {
        retain(&mut *self.by_id.lock().await, |t| {
            now - t.created_at <= TRANSACTION_TTL
        })
    }

    /// How many transactions are kept.
    #[cfg(test)]
    pub async fn len(&self) -> usize {
        self.by_id.lock().await.len()
    }
}
