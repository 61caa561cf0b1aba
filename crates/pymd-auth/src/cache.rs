//! A small bounded cache of verified tokens, so a client repeating the same bearer token does
//! not pay for an RSA verification each time.
//!
//! Keys are SHA-256 digests of the whole token (the raw token is never stored). An entry is
//! only returned before its `exp` and while the key that verified it is still published
//! (so `refresh_now` after a revocation takes effect at once). Eviction: expired entries
//! first (swept at most once a second, since a sweep is O(n)), then the oldest insertion, so a
//! full cache under a stream of distinct tokens costs O(1) per insert.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::claims::VerifiedToken;

/// SHA-256 of a token.
pub(crate) type TokenDigest = [u8; 32];

pub(crate) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

struct Entry {
    token: Arc<VerifiedToken>,
    key_fingerprint: [u8; 32],
}

/// The bounded map. Not synchronised; the verifier wraps it in a mutex.
pub(crate) struct TokenCache {
    capacity: usize,
    map: HashMap<TokenDigest, Entry>,
    order: VecDeque<TokenDigest>,
    /// When expired entries were last swept (unix seconds): a full sweep is O(n), so it runs at
    /// most once a second; in between, a full cache evicts its oldest entry in O(1).
    last_sweep: i64,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: HashMap::new(),
            order: VecDeque::new(),
            last_sweep: i64::MIN,
        }
    }

    /// The cached token if it has not expired (`now < exp`) and its key is still usable.
    pub(crate) fn get(
        &mut self,
        d: &TokenDigest,
        now: i64,
        key_still_usable: impl Fn(&[u8; 32]) -> bool,
    ) -> Option<Arc<VerifiedToken>> {
        let e = self.map.get(d)?;
        if now < e.token.expires_at && key_still_usable(&e.key_fingerprint) {
            return Some(Arc::clone(&e.token));
        }
        self.map.remove(d);
        None
    }

    pub(crate) fn insert(
        &mut self,
        d: TokenDigest,
        token: Arc<VerifiedToken>,
        key_fingerprint: [u8; 32],
        now: i64,
    ) {
        if self.capacity == 0 {
            return;
        }
        if self.map.len() >= self.capacity && now > self.last_sweep {
            self.last_sweep = now;
            self.map.retain(|_, e| now < e.token.expires_at);
            self.order.retain(|k| self.map.contains_key(k));
        }
        while self.map.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        if self
            .map
            .insert(
                d,
                Entry {
                    token,
                    key_fingerprint,
                },
            )
            .is_none()
        {
            self.order.push_back(d);
        }
        // `order` may hold digests already removed by `get`; keep it bounded too.
        if self.order.len() > self.capacity.saturating_mul(2) {
            self.order.retain(|k| self.map.contains_key(k));
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(exp: i64) -> Arc<VerifiedToken> {
        Arc::new(VerifiedToken {
            sub: "s".into(),
            issuer: "i".into(),
            scopes: vec![],
            permissions: vec![],
            expires_at: exp,
            claims: Default::default(),
        })
    }

    #[test]
    fn entries_are_never_used_at_or_past_exp() {
        let mut c = TokenCache::new(4);
        c.insert(digest("a"), tok(100), [0; 32], 0);
        assert!(c.get(&digest("a"), 99, |_| true).is_some());
        assert!(c.get(&digest("a"), 100, |_| true).is_none());
        assert!(
            c.get(&digest("a"), 99, |_| true).is_none(),
            "expired entry was dropped"
        );
    }

    #[test]
    fn entries_die_with_their_key() {
        let mut c = TokenCache::new(4);
        c.insert(digest("a"), tok(100), [7; 32], 0);
        assert!(c.get(&digest("a"), 1, |fp| *fp == [8; 32]).is_none());
    }

    #[test]
    fn capacity_is_a_hard_bound() {
        let mut c = TokenCache::new(3);
        for i in 0..10 {
            c.insert(digest(&i.to_string()), tok(1000), [0; 32], 0);
            assert!(c.len() <= 3);
        }
        assert!(c.get(&digest("9"), 1, |_| true).is_some(), "newest kept");
        assert!(c.get(&digest("0"), 1, |_| true).is_none(), "oldest evicted");
        let mut off = TokenCache::new(0);
        off.insert(digest("a"), tok(1000), [0; 32], 0);
        assert_eq!(off.len(), 0);
    }
}
