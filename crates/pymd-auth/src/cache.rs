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
    /// Which insertion made this entry: an `order` slot left by an earlier, removed entry for
    /// the same digest names another insertion and so never evicts this one.
    seq: u64,
}

/// The bounded map. Not synchronised; the verifier wraps it in a mutex.
pub(crate) struct TokenCache {
    capacity: usize,
    map: HashMap<TokenDigest, Entry>,
    /// Insertion order: (digest, insertion number). Slots of removed entries stay until popped.
    order: VecDeque<(TokenDigest, u64)>,
    next_seq: u64,
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
            next_seq: 0,
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
            self.retain_live_order();
        }
        // Replacing an entry (two requests verified the same token at once) needs no room.
        while self.map.len() >= self.capacity && !self.map.contains_key(&d) {
            let Some((old, seq)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|e| e.seq == seq) {
                self.map.remove(&old);
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            token,
            key_fingerprint,
            seq,
        };
        // A replaced entry's slot goes stale; the new insertion takes the back of the line.
        self.map.insert(d, entry);
        self.order.push_back((d, seq));
        // `order` may hold slots of entries removed by `get`; keep it bounded too.
        if self.order.len() > self.capacity.saturating_mul(2) {
            self.retain_live_order();
        }
    }

    fn retain_live_order(&mut self) {
        let map = &self.map;
        self.order
            .retain(|(k, seq)| map.get(k).is_some_and(|e| e.seq == *seq));
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

    #[test]
    fn a_token_dropped_and_cached_again_is_not_evicted_by_its_old_slot() {
        let mut c = TokenCache::new(2);
        c.insert(digest("a"), tok(1000), [7; 32], 0);
        // Its key was revoked: `get` drops it; later it is verified (by a new key) and cached again.
        assert!(c.get(&digest("a"), 1, |fp| *fp == [8; 32]).is_none());
        c.insert(digest("b"), tok(1000), [8; 32], 1);
        c.insert(digest("a"), tok(1000), [8; 32], 1);
        // Full: the oldest live insertion is "b"; the first "a"'s stale slot must not evict the
        // second "a".
        c.insert(digest("c"), tok(1000), [8; 32], 1);
        assert_eq!(c.len(), 2);
        assert!(
            c.get(&digest("a"), 1, |_| true).is_some(),
            "a is newer than b"
        );
        assert!(
            c.get(&digest("b"), 1, |_| true).is_none(),
            "b was the oldest"
        );
        assert!(c.get(&digest("c"), 1, |_| true).is_some());
    }

    #[test]
    fn caching_a_token_again_in_a_full_cache_evicts_nothing_else() {
        let mut c = TokenCache::new(2);
        c.insert(digest("a"), tok(1000), [0; 32], 0);
        c.insert(digest("b"), tok(1000), [0; 32], 0);
        c.insert(digest("b"), tok(1000), [0; 32], 0);
        assert!(
            c.get(&digest("a"), 1, |_| true).is_some(),
            "a was evicted for nothing"
        );
        assert!(c.get(&digest("b"), 1, |_| true).is_some());
    }
}
