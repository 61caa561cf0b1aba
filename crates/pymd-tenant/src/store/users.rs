//! The user store: database-connection users seeded from the tenant file or created by
//! sign-up, their Auth0 profile/Management API JSON shapes (§12.3) and RBAC permissions.

use std::collections::HashMap;

use tokio::sync::RwLock;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::config::{SeedUser, TenantConfig};
use crate::passwords::PasswordHash;
use crate::util::{default_picture, iso_millis};

/// A database user.
#[derive(Debug, Clone)]
pub struct User {
    /// `auth0|…`.
    pub user_id: String,
    /// Lower-cased email.
    pub email: String,
    /// Verified flag.
    pub email_verified: bool,
    /// Display name (defaults to the email).
    pub name: String,
    /// Nickname (defaults to the email's local part).
    pub nickname: String,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Picture URL.
    pub picture: String,
    /// Password hash.
    pub password: PasswordHash,
    /// Earlier passwords, newest first (kept only as hashes, as many as the history needs).
    pub previous_passwords: Vec<PasswordHash>,
    /// Role names.
    pub roles: Vec<String>,
    /// User metadata.
    pub user_metadata: Map<String, Value>,
    /// App metadata (absent until set).
    pub app_metadata: Option<Map<String, Value>>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last profile change.
    pub updated_at: OffsetDateTime,
    /// Last login.
    pub last_login: Option<OffsetDateTime>,
    /// Last login IP.
    pub last_ip: Option<String>,
    /// Login count.
    pub logins_count: u64,
    /// Admin block.
    pub blocked: bool,
}

impl User {
    /// A user from the seed file.
    pub fn from_seed(s: &SeedUser, now: OffsetDateTime) -> User {
        User {
            user_id: s.user_id.clone(),
            email: s.email.clone(),
            email_verified: s.email_verified,
            name: s.name.clone().unwrap_or_else(|| s.email.clone()),
            nickname: s.nickname.clone().unwrap_or_else(|| local_part(&s.email)),
            given_name: s.given_name.clone(),
            family_name: s.family_name.clone(),
            picture: s
                .picture
                .clone()
                .unwrap_or_else(|| default_picture(&s.email)),
            password: PasswordHash::new(&s.password),
            previous_passwords: Vec::new(),
            roles: s.roles.clone(),
            user_metadata: s.user_metadata.clone(),
            app_metadata: s.app_metadata.clone(),
            created_at: now,
            updated_at: now,
            last_login: None,
            last_ip: None,
            logins_count: 0,
            blocked: s.blocked,
        }
    }

    /// A user created by sign-up.
    pub fn signup(email: &str, password: &str, now: OffsetDateTime) -> User {
        let email = email.to_lowercase();
        User {
            user_id: format!("auth0|{}", crate::util::random_hex(24)),
            email_verified: false,
            name: email.clone(),
            nickname: local_part(&email),
            given_name: None,
            family_name: None,
            picture: default_picture(&email),
            password: PasswordHash::new(password),
            previous_passwords: Vec::new(),
            roles: Vec::new(),
            user_metadata: Map::new(),
            app_metadata: None,
            created_at: now,
            updated_at: now,
            last_login: None,
            last_ip: None,
            logins_count: 0,
            blocked: false,
            email,
        }
    }

    /// Whether `password` is the current password or one of the `history_size - 1` before it.
    pub fn used_before(&self, password: &str, history_size: usize) -> bool {
        history_size > 0
            && (self.password.verify(password)
                || self
                    .previous_passwords
                    .iter()
                    .take(history_size - 1)
                    .any(|h| h.verify(password)))
    }

    /// Sets a new password, keeping the old one in the history.
    pub fn set_password(&mut self, hash: PasswordHash, history_size: usize) {
        let old = std::mem::replace(&mut self.password, hash);
        self.previous_passwords.insert(0, old);
        self.previous_passwords
            .truncate(history_size.saturating_sub(1));
    }

    /// The bare id after `auth0|`.
    pub fn bare_id(&self) -> &str {
        self.user_id
            .split_once('|')
            .map(|(_, b)| b)
            .unwrap_or(&self.user_id)
    }

    /// The Management API user object.
    pub fn to_management_json(&self, connection: &str) -> Value {
        let mut v = json!({
            "created_at": iso_millis(self.created_at),
            "email": self.email,
            "email_verified": self.email_verified,
            "identities": [{
                "connection": connection,
                "user_id": self.bare_id(),
                "provider": "auth0",
                "isSocial": false
            }],
            "name": self.name,
            "nickname": self.nickname,
            "picture": self.picture,
            "updated_at": iso_millis(self.updated_at),
            "user_id": self.user_id,
            "user_metadata": self.user_metadata,
            "logins_count": self.logins_count,
        });
        if let Some(g) = &self.given_name {
            v["given_name"] = json!(g);
        }
        if let Some(f) = &self.family_name {
            v["family_name"] = json!(f);
        }
        if let Some(a) = &self.app_metadata {
            v["app_metadata"] = json!(a);
        }
        if let Some(t) = self.last_login {
            v["last_login"] = json!(iso_millis(t));
        }
        if let Some(ip) = &self.last_ip {
            v["last_ip"] = json!(ip);
        }
        if self.blocked {
            v["blocked"] = json!(true);
        }
        v
    }

    /// OIDC profile claims for the given scopes (ID token and `/userinfo`).
    pub fn profile_claims(&self, scopes: &[String], out: &mut Map<String, Value>) {
        if scopes.iter().any(|s| s == "profile") {
            if let Some(g) = &self.given_name {
                out.insert("given_name".into(), json!(g));
            }
            if let Some(f) = &self.family_name {
                out.insert("family_name".into(), json!(f));
            }
            out.insert("nickname".into(), json!(self.nickname));
            out.insert("name".into(), json!(self.name));
            out.insert("picture".into(), json!(self.picture));
            out.insert("updated_at".into(), json!(iso_millis(self.updated_at)));
        }
        if scopes.iter().any(|s| s == "email") {
            out.insert("email".into(), json!(self.email));
            out.insert("email_verified".into(), json!(self.email_verified));
        }
    }
}

fn local_part(email: &str) -> String {
    email.split('@').next().unwrap_or(email).to_string()
}

/// All users, by id, in creation order.
#[derive(Debug, Default)]
struct Users {
    by_id: HashMap<String, User>,
    order: Vec<String>,
}

impl Users {
    /// Inserts (or replaces) a user.
    pub fn insert(&mut self, user: User) {
        if !self.by_id.contains_key(&user.user_id) {
            self.order.push(user.user_id.clone());
        }
        self.by_id.insert(user.user_id.clone(), user);
    }

    /// By id.
    pub fn get(&self, id: &str) -> Option<&User> {
        self.by_id.get(id)
    }

    /// By id, mutable.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut User> {
        self.by_id.get_mut(id)
    }

    /// By (lower-cased) email.
    pub fn by_email(&self, email: &str) -> Option<&User> {
        let email = email.to_lowercase();
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .find(|u| u.email == email)
    }

    /// By id or email.
    pub fn find(&self, id_or_email: &str) -> Option<&User> {
        self.get(id_or_email).or_else(|| self.by_email(id_or_email))
    }

    /// All users in creation order.
    pub fn all(&self) -> impl Iterator<Item = &User> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }
}

/// Why a user could not be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeError {
    /// No user with that id.
    Missing,
    /// Another user has the new email.
    EmailTaken,
}

/// The user store: every read returns a copy, every change is one method.
#[derive(Debug, Default)]
pub struct UserStore {
    users: RwLock<Users>,
}

impl UserStore {
    /// A store holding `users` (in that order).
    pub fn new(users: Vec<User>) -> UserStore {
        let mut store = Users::default();
        for u in users {
            store.insert(u);
        }
        UserStore {
            users: RwLock::new(store),
        }
    }

    /// By id.
    pub async fn get(&self, id: &str) -> Option<User> {
        self.users.read().await.get(id).cloned()
    }

    /// By (lower-cased) email.
    pub async fn by_email(&self, email: &str) -> Option<User> {
        self.users.read().await.by_email(email).cloned()
    }

    /// By id or email.
    pub async fn find(&self, id_or_email: &str) -> Option<User> {
        self.users.read().await.find(id_or_email).cloned()
    }

    /// Every user whose stored email is exactly `email` (case-sensitive, as Auth0 matches).
    pub async fn with_email(&self, email: &str) -> Vec<User> {
        let users = self.users.read().await;
        users.all().filter(|u| u.email == email).cloned().collect()
    }

    /// Adds a signed-up user unless one with that email already exists (checked and added
    /// under one lock).
    ///
    /// # Errors
    /// [`ChangeError::EmailTaken`].
    pub async fn add_new(&self, user: User) -> Result<(), ChangeError> {
        let mut users = self.users.write().await;
        if users.by_email(&user.email).is_some() {
            return Err(ChangeError::EmailTaken);
        }
        users.insert(user);
        Ok(())
    }

    /// Records a login at `now` from `ip`.
    pub async fn record_login(&self, id: &str, now: OffsetDateTime, ip: Option<String>) {
        if let Some(u) = self.users.write().await.get_mut(id) {
            u.logins_count += 1;
            u.last_login = Some(now);
            u.last_ip = ip;
        }
    }

    /// Changes user `id` with `change`; when `new_email` is given, refuses it if another user
    /// has it (checked under the same lock). Returns what `change` returned.
    ///
    /// # Errors
    /// [`ChangeError::Missing`] or [`ChangeError::EmailTaken`].
    pub async fn change<R>(
        &self,
        id: &str,
        new_email: Option<&str>,
        change: impl FnOnce(&mut User) -> R,
    ) -> Result<R, ChangeError> {
        let mut users = self.users.write().await;
        if let Some(e) = new_email
            && users.by_email(e).is_some_and(|u| u.user_id != id)
        {
            return Err(ChangeError::EmailTaken);
        }
        let u = users.get_mut(id).ok_or(ChangeError::Missing)?;
        Ok(change(u))
    }
}

/// The user's effective permissions on an API (from roles), in the API's scope order.
pub fn permissions_for(cfg: &TenantConfig, roles: &[String], api: &str) -> Vec<String> {
    let Some(rs) = cfg.resource_server(api) else {
        return Vec::new();
    };
    rs.scopes
        .iter()
        .map(|(s, _)| s)
        .filter(|s| {
            roles.iter().any(|r| {
                cfg.role(r)
                    .is_some_and(|role| role.permissions.iter().any(|(a, p)| a == api && &p == s))
            })
        })
        .cloned()
        .collect()
}
