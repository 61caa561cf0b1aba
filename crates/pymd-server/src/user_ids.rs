//! Which local user a token's `sub` is, remembered: the just-in-time user lookup behind every
//! bearer request costs a database query, and its answer never changes. A `sub` is bound to its
//! user id by the unique `users.auth0_id` row the first request creates, and users are never
//! deleted or re-keyed, so a remembered id is right on every instance for as long as the database
//! lives — nothing to invalidate, only a bound on memory. What does change (name, email, bio) is
//! not kept here: the routes that show a profile read it fresh.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use pymd_domain::UserId;

/// How many subjects are remembered. Past it the map starts over: a burst of new users costs
/// one lookup each again, never unbounded memory.
const CAPACITY: usize = 50_000;

/// The remembered `sub` → user id bindings (cheap to clone: one shared map).
#[derive(Debug, Clone, Default)]
pub struct UserIds {
    known: Arc<RwLock<HashMap<Box<str>, UserId>>>,
}

impl UserIds {
    /// The user id remembered for `sub`, if any.
    pub fn get(&self, sub: &str) -> Option<UserId> {
        self.known.read().ok()?.get(sub).copied()
    }

    /// Remembers that `sub` is `id` (what the store answered for it).
    pub fn remember(&self, sub: &str, id: UserId) {
        let Ok(mut known) = self.known.write() else {
            return;
        };
        if known.len() >= CAPACITY {
            known.clear();
        }
        known.insert(sub.into(), id);
    }

    /// How many subjects are remembered (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.known.read().map_or(0, |k| k.len())
    }

    /// Whether nothing is remembered yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_subject_answers_its_id_and_others_answer_nothing() {
        let ids = UserIds::default();
        let id = UserId(uuid::Uuid::now_v7());
        ids.remember("auth0|alice", id);
        assert_eq!(ids.get("auth0|alice"), Some(id));
        assert_eq!(ids.get("auth0|bob"), None);
    }

    #[test]
    fn the_map_never_grows_past_its_capacity() {
        let ids = UserIds::default();
        for i in 0..CAPACITY + 10 {
            ids.remember(&format!("auth0|{i}"), UserId(uuid::Uuid::now_v7()));
        }
        assert!(ids.len() <= CAPACITY, "{} entries", ids.len());
        assert!(ids.get(&format!("auth0|{}", CAPACITY + 9)).is_some());
    }
}
