//! Refresh tokens and their families (one family per grant): issue, rotation with reuse
//! detection inside the overlap period, the undo of a claim whose mint failed, revocation
//! (one family, a token's family, all of a user's) and expiry. Tokens are kept only as their
//! SHA-256.

use std::collections::HashMap;

use tokio::sync::Mutex;

use super::retain;
use crate::config::RefreshTokenConfig;
use crate::util::{random_urlsafe, sha256};

/// One refresh token.
#[derive(Debug, Clone)]
pub struct RefreshEntry {
    /// Family id.
    pub family: String,
    /// When it was first exchanged (rotating clients), unix.
    pub used_at: Option<i64>,
    /// Rotation generation (0 for the first token of the family).
    pub generation: u32,
    /// Successors issued from this token (rotating clients) and not rolled back: the first
    /// exchange and any reuse inside the overlap period each count one.
    pub successors: u32,
}

/// A refresh-token family (one grant).
#[derive(Debug, Clone)]
pub struct Family {
    /// Client.
    pub client_id: String,
    /// User.
    pub user_id: String,
    /// Audience.
    pub audience: Option<String>,
    /// Scopes granted at login.
    pub scope: Vec<String>,
    /// Session id.
    pub sid: String,
    /// Authentication time.
    pub auth_time: i64,
    /// Created (unix).
    pub created_at: i64,
    /// Last successful exchange (unix).
    pub last_used: i64,
    /// Revoked.
    pub revoked: bool,
    /// Highest generation issued so far.
    pub latest_generation: u32,
}

impl Family {
    /// A new family for a grant, created at `now`.
    pub fn new(grant: NewFamily<'_>, now: i64) -> Family {
        Family {
            client_id: grant.client_id.to_string(),
            user_id: grant.user_id.to_string(),
            audience: grant.audience.map(str::to_string),
            scope: grant.scope.to_vec(),
            sid: grant.sid.to_string(),
            auth_time: grant.auth_time,
            created_at: now,
            last_used: now,
            revoked: false,
            latest_generation: 0,
        }
    }

    /// Whether the family is past its absolute or idle lifetime at `now`.
    fn expired(&self, settings: &RefreshTokenConfig, now: i64) -> bool {
        settings
            .token_lifetime_secs
            .is_some_and(|l| now - self.created_at > l)
            || settings
                .idle_token_lifetime_secs
                .is_some_and(|l| now - self.last_used > l)
    }
}

/// What a new family is granted.
#[derive(Debug, Clone, Copy)]
pub struct NewFamily<'a> {
    /// Client.
    pub client_id: &'a str,
    /// User.
    pub user_id: &'a str,
    /// Audience.
    pub audience: Option<&'a str>,
    /// Granted scopes.
    pub scope: &'a [String],
    /// Session id.
    pub sid: &'a str,
    /// Authentication time.
    pub auth_time: i64,
}

/// Why a refresh token was not claimed.
#[derive(Debug, PartialEq, Eq)]
pub enum ClaimError<E> {
    /// Unknown, revoked, another client's, or expired.
    Invalid,
    /// A used token presented outside the overlap period: the family is now revoked.
    Reused,
    /// The caller's own check refused the family.
    Rejected(E),
}

/// A claimed refresh token: its family, the caller's checked value, and the successor
/// reserved for rotating clients.
#[derive(Debug)]
pub struct Claim<V> {
    /// The family (as it was when claimed).
    pub family: Family,
    /// What the caller's check produced.
    pub value: V,
    /// The successor token (rotating clients).
    pub successor: Option<String>,
    family_id: String,
    parent: [u8; 32],
}

#[derive(Debug, Default)]
struct Store {
    tokens: HashMap<[u8; 32], RefreshEntry>,
    families: HashMap<String, Family>,
}

/// Every refresh token and family of the tenant.
#[derive(Debug, Default)]
pub struct RefreshTokens {
    store: Mutex<Store>,
}

/// A fresh refresh token in Auth0's `v1.` shape.
fn new_token() -> String {
    format!("v1.{}", random_urlsafe(86))
}

impl RefreshTokens {
    /// Starts a family and returns its first token and the family id.
    pub async fn start_family(&self, grant: NewFamily<'_>, now: i64) -> (String, String) {
        let family_id = random_urlsafe(24);
        let token = new_token();
        let mut store = self.store.lock().await;
        store
            .families
            .insert(family_id.clone(), Family::new(grant, now));
        store.tokens.insert(
            sha256(token.as_bytes()),
            RefreshEntry {
                family: family_id.clone(),
                used_at: None,
                generation: 0,
                successors: 0,
            },
        );
        (token, family_id)
    }

    /// The user a token was issued to, if the token and its family are known.
    pub async fn owner(&self, token: &str) -> Option<String> {
        let store = self.store.lock().await;
        store
            .tokens
            .get(&sha256(token.as_bytes()))
            .and_then(|e| store.families.get(&e.family))
            .map(|f| f.user_id.clone())
    }

    /// Checks and claims `token` for `client_id` in one critical section: of N concurrent
    /// exchanges of one token exactly one sees it unused; every other one is a reuse (revoking
    /// the family unless the overlap period allows it). `check` runs on the family after the
    /// store's own checks and before anything changes.
    ///
    /// # Errors
    /// [`ClaimError::Invalid`], [`ClaimError::Reused`] (family revoked), or
    /// [`ClaimError::Rejected`] with what `check` returned.
    pub async fn claim<V, E>(
        &self,
        token: &str,
        client_id: &str,
        settings: &RefreshTokenConfig,
        now: i64,
        check: impl FnOnce(&Family) -> Result<V, E>,
    ) -> Result<Claim<V>, ClaimError<E>> {
        let key = sha256(token.as_bytes());
        let mut store = self.store.lock().await;
        let entry = store.tokens.get(&key).cloned().ok_or(ClaimError::Invalid)?;
        let fam = store
            .families
            .get(&entry.family)
            .cloned()
            .ok_or(ClaimError::Invalid)?;
        if fam.revoked || fam.client_id != client_id || fam.expired(settings, now) {
            return Err(ClaimError::Invalid);
        }
        if settings.rotating
            && let Some(used_at) = entry.used_at
            && !reuse_allowed(&entry, &fam, settings, now - used_at)
        {
            store.revoke_family(&entry.family);
            return Err(ClaimError::Reused);
        }
        let value = check(&fam).map_err(ClaimError::Rejected)?;
        let successor = store.take_claim(&key, &entry, settings.rotating, now);
        Ok(Claim {
            family: fam,
            value,
            successor,
            family_id: entry.family,
            parent: key,
        })
    }

    /// Undoes a claim whose mint failed (nothing was handed out), so the client can retry
    /// with the same token; see [`undo_claim`].
    pub async fn undo<V>(&self, claim: &Claim<V>) {
        let Some(token) = &claim.successor else {
            return;
        };
        let mut store = self.store.lock().await;
        store.tokens.remove(&sha256(token.as_bytes()));
        let highest = store
            .tokens
            .values()
            .filter(|e| e.family == claim.family_id)
            .map(|e| e.generation)
            .max()
            .unwrap_or(0);
        let store = &mut *store;
        if let Some(e) = store.tokens.get_mut(&claim.parent)
            && let Some(f) = store.families.get_mut(&claim.family_id)
        {
            undo_claim(e, &mut f.latest_generation, highest);
        }
    }

    /// Revokes one family.
    pub async fn revoke_family(&self, family: &str) {
        self.store.lock().await.revoke_family(family);
    }

    /// Revokes the family of `token` if it belongs to `client_id` (unknown tokens are ignored).
    pub async fn revoke_token(&self, token: &str, client_id: &str) {
        let mut store = self.store.lock().await;
        if let Some(fam_id) = store
            .tokens
            .get(&sha256(token.as_bytes()))
            .map(|e| e.family.clone())
            && let Some(f) = store.families.get_mut(&fam_id)
            && f.client_id == client_id
        {
            f.revoked = true;
        }
    }

    /// Revokes every live family of a user; returns how many.
    pub async fn revoke_user(&self, user_id: &str) -> usize {
        let mut store = self.store.lock().await;
        let mut n = 0;
        for f in store.families.values_mut() {
            if f.user_id == user_id && !f.revoked {
                f.revoked = true;
                n += 1;
            }
        }
        n
    }

    /// Drops revoked and expired families (judged by `settings` of their client; a family
    /// whose client is gone goes too) and the tokens of dropped families; returns
    /// `(families, tokens)` removed.
    pub async fn sweep<'a>(
        &self,
        now: i64,
        settings: impl Fn(&str) -> Option<&'a RefreshTokenConfig>,
    ) -> (usize, usize) {
        let mut guard = self.store.lock().await;
        let store = &mut *guard;
        let families = retain(&mut store.families, |f| {
            settings(&f.client_id).is_some_and(|s| !f.revoked && !f.expired(s, now))
        });
        let live = &store.families;
        let tokens = retain(&mut store.tokens, |e| live.contains_key(&e.family));
        (families, tokens)
    }

    /// How many families and tokens are kept.
    #[cfg(test)]
    pub async fn len(&self) -> (usize, usize) {
        let store = self.store.lock().await;
        (store.families.len(), store.tokens.len())
    }
}

impl Store {
    fn revoke_family(&mut self, family: &str) {
        if let Some(f) = self.families.get_mut(family) {
            f.revoked = true;
        }
    }

    /// Marks the family used at `now` and, for rotating clients, reserves the successor of
    /// the token at `key` (returned).
    fn take_claim(
        &mut self,
        key: &[u8; 32],
        entry: &RefreshEntry,
        rotating: bool,
        now: i64,
    ) -> Option<String> {
        if let Some(f) = self.families.get_mut(&entry.family) {
            f.last_used = now;
        }
        if !rotating {
            return None;
        }
        let token = new_token();
        let generation = entry.generation + 1;
        if let Some(f) = self.families.get_mut(&entry.family) {
            f.latest_generation = f.latest_generation.max(generation);
        }
        self.tokens.insert(
            sha256(token.as_bytes()),
            RefreshEntry {
                family: entry.family.clone(),
                used_at: None,
                generation,
                successors: 0,
            },
        );
        if let Some(e) = self.tokens.get_mut(key) {
            e.used_at.get_or_insert(now);
            e.successors += 1;
        }
        Some(token)
    }
}

/// Reuse of a used token is allowed only inside the leeway and only for the immediately
/// previous token (one generation behind the newest); anything else revokes the family.
fn reuse_allowed(
    entry: &RefreshEntry,
    fam: &Family,
    settings: &RefreshTokenConfig,
    since_use: i64,
) -> bool {
    let previous = entry.generation + 1 == fam.latest_generation;
    settings.leeway_secs > 0 && since_use <= settings.leeway_secs && previous
}

/// Undoes one exchange's claim of `parent` after its mint failed (its successor already
/// removed from the store). Only this exchange's share is given back: `parent` looks unused
/// again only if no other successor issued from it survives (a concurrent exchange inside the
/// overlap period may have handed one out, and a later replay must still count as reuse).
/// `highest` is the highest generation still held by the family's tokens; the family's latest
/// generation falls back to it.
fn undo_claim(parent: &mut RefreshEntry, latest_generation: &mut u32, highest: u32) {
    parent.successors = parent.successors.saturating_sub(1);
    if parent.successors == 0 {
        parent.used_at = None;
    }
    *latest_generation = (*latest_generation).min(highest.max(parent.generation));
}

#[cfg(test)]
mod undo_claim_tests {
    use super::{RefreshEntry, undo_claim};

    fn entry(used_at: Option<i64>, generation: u32, successors: u32) -> RefreshEntry {
        RefreshEntry {
            family: "f".into(),
            used_at,
            generation,
            successors,
        }
    }

    #[test]
    fn the_only_claim_undone_leaves_the_token_unused() {
        let mut parent = entry(Some(100), 0, 1);
        let mut latest = 1;
        undo_claim(&mut parent, &mut latest, 0);
        assert_eq!(parent.used_at, None);
        assert_eq!(parent.successors, 0);
        assert_eq!(latest, 0, "no generation-1 token is left");
    }

    #[test]
    fn a_successor_handed_out_in_the_overlap_period_keeps_the_token_used() {
        // A claimed first (used_at = 100), B reused it inside the leeway and got a successor;
        // then A's mint failed.
        let mut parent = entry(Some(100), 3, 2);
        let mut latest = 4;
        undo_claim(&mut parent, &mut latest, 4);
        assert_eq!(parent.used_at, Some(100), "a later replay is still a reuse");
        assert_eq!(parent.successors, 1);
        assert_eq!(latest, 4, "B's successor is still the newest generation");
    }

    #[test]
    fn both_claims_undone_leave_the_token_unused() {
        let mut parent = entry(Some(100), 3, 2);
        let mut latest = 4;
        undo_claim(&mut parent, &mut latest, 4);
        undo_claim(&mut parent, &mut latest, 3);
        assert_eq!((parent.used_at, parent.successors, latest), (None, 0, 3));
    }

    #[test]
    fn the_latest_generation_never_rises() {
        let mut parent = entry(Some(100), 0, 1);
        let mut latest = 2;
        undo_claim(&mut parent, &mut latest, 5);
        assert_eq!(latest, 2);
        let mut parent = entry(None, 0, 0);
        undo_claim(&mut parent, &mut latest, 0);
        assert_eq!((parent.used_at, parent.successors), (None, 0));
    }
}
