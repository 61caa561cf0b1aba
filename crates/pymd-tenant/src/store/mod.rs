//! The tenant's in-memory data, one owner per concern. Each owner keeps its data behind its
//! own lock and exposes only methods (issue, redeem, claim, revoke, sweep…), so no handler
//! ever touches a lock and no caller ever holds two of them at once. Owners know nothing of
//! HTTP; they sit below every handler.

pub mod brute_force;
pub mod codes;
pub mod faults;
pub mod ip_throttle;
pub mod mailbox;
pub mod opaque;
pub mod rate_window;
pub mod refresh;
pub mod sessions;
pub mod transactions;
pub mod users;

use std::collections::HashMap;

/// Drops the entries `keep` refuses; returns how many went.
pub(crate) fn retain<K, V>(map: &mut HashMap<K, V>, keep: impl Fn(&V) -> bool) -> usize {
    let before = map.len();
    map.retain(|_, v| keep(v));
    before - map.len()
}
