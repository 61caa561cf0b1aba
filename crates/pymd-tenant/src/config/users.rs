//! The `users` section, a PyMD extension to the Deploy CLI layout (which does not export
//! users): database users seeded at start, with clear-text passwords checked against the
//! connection's policy and hashed when the tenant starts.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;

use super::database::DatabaseConfig;
use super::error::{Locator, Seg, TenantFileError, k, n};
use super::roles::RoleConfig;
use crate::passwords;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileUser {
    #[serde(default)]
    user_id: Option<String>,
    email: String,
    password: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    picture: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    blocked: Option<bool>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    user_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    app_metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A seeded user.
#[derive(Clone)]
pub struct SeedUser {
    /// `auth0|…`.
    pub user_id: String,
    /// Lower-cased email.
    pub email: String,
    /// Clear-text password (dev only; hashed at start).
    pub password: String,
    /// Display name.
    pub name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Picture URL.
    pub picture: Option<String>,
    /// Email verified.
    pub email_verified: bool,
    /// Admin block.
    pub blocked: bool,
    /// Role names.
    pub roles: Vec<String>,
    /// User metadata.
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
    /// App metadata.
    pub app_metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl fmt::Debug for SeedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedUser")
            .field("user_id", &self.user_id)
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// The path of key `key` of the `ui`-th user.
fn at(ui: usize, key: &'static str) -> [Seg<'static>; 3] {
    [k("users"), n(ui), k(key)]
}

/// Resolves the `users` section: unique emails and ids, known roles, passwords that satisfy
/// the connection's policy (a refused password is never echoed).
pub(super) fn resolve(
    files: &[FileUser],
    roles: &[RoleConfig],
    database: &DatabaseConfig,
    loc: &Locator<'_>,
) -> Result<Vec<SeedUser>, TenantFileError> {
    let mut users = Vec::new();
    let mut emails = HashSet::new();
    let mut ids = HashSet::new();
    for (ui, u) in files.iter().enumerate() {
        let email = u.email.trim().to_lowercase();
        if !passwords::looks_like_email(&email) {
            return Err(loc.at(
                &at(ui, "email"),
                format!("\"{}\" is not an email address", u.email),
            ));
        }
        if !emails.insert(email.clone()) {
            return Err(loc.at(
                &at(ui, "email"),
                format!("duplicate user email \"{email}\""),
            ));
        }
        let user_id = user_id(ui, u, &email, loc)?;
        if !ids.insert(user_id.clone()) {
            return Err(loc.at(
                &at(ui, "user_id"),
                format!("duplicate user_id \"{user_id}\""),
            ));
        }
        check_roles_and_password(ui, u, &email, roles, database, loc)?;
        users.push(seed_user(u, user_id, email));
    }
    Ok(users)
}

/// The user's `auth0|…` id as written, or one derived from the email.
fn user_id(
    ui: usize,
    u: &FileUser,
    email: &str,
    loc: &Locator<'_>,
) -> Result<String, TenantFileError> {
    let Some(id) = &u.user_id else {
        let digest = crate::util::sha256(email.as_bytes());
        return Ok(format!("auth0|{}", crate::util::hex(&digest[..12])));
    };
    let rest = id.strip_prefix("auth0|").unwrap_or("");
    if rest.is_empty()
        || !rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(loc.at(
            &at(ui, "user_id"),
            format!("user_id \"{id}\" must look like auth0|<id>"),
        ));
    }
    Ok(id.clone())
}

/// Every role of the user is defined and the password satisfies the connection's policy.
fn check_roles_and_password(
    ui: usize,
    u: &FileUser,
    email: &str,
    roles: &[RoleConfig],
    database: &DatabaseConfig,
    loc: &Locator<'_>,
) -> Result<(), TenantFileError> {
    for (i, r) in u.roles.iter().enumerate() {
        if !roles.iter().any(|x| &x.name == r) {
            return Err(loc.at(
                &[k("users"), n(ui), k("roles"), n(i)],
                format!("user \"{email}\" has an unknown role \"{r}\""),
            ));
        }
    }
    if let Err(rules) = database.policy.check(&u.password) {
        return Err(loc.at(
            &at(ui, "password"),
            format!(
                "the password of \"{email}\" violates the connection's password policy: {}",
                rules.summary()
            ),
        ));
    }
    Ok(())
}

fn seed_user(u: &FileUser, user_id: String, email: String) -> SeedUser {
    SeedUser {
        user_id,
        email,
        password: u.password.clone(),
        name: u.name.clone(),
        nickname: u.nickname.clone(),
        given_name: u.given_name.clone(),
        family_name: u.family_name.clone(),
        picture: u.picture.clone(),
        email_verified: u.email_verified.unwrap_or(false),
        blocked: u.blocked.unwrap_or(false),
        roles: u.roles.clone(),
        user_metadata: u.user_metadata.clone().unwrap_or_default(),
        app_metadata: u.app_metadata.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::files::SHIPPED_DEV;
    use super::super::test_support::dev_err as err;

    #[test]
    fn unknown_role_on_user() {
        let y = SHIPPED_DEV.replace("roles: [user, admin]", "roles: [user, wizard]");
        let e = err(&y);
        assert!(e.reason.contains("wizard"), "{e}");
        assert!(e.to_string().starts_with("pymd-dev.yaml:"), "{e}");
        let line = y.lines().nth(e.line - 1).unwrap_or("");
        assert!(line.contains("wizard"), "{e} -> {line}");
    }

    #[test]
    fn weak_password() {
        let y = SHIPPED_DEV.replace("Bob-Dev-2026!", "bob");
        let e = err(&y);
        assert!(e.reason.contains("password policy"), "{e}");
        assert!(
            !e.reason.contains("bob\""),
            "password must not be echoed: {e}"
        );
    }

    #[test]
    fn duplicate_email() {
        let y = SHIPPED_DEV.replace("bob@example.com", "alice@example.com");
        assert!(err(&y).reason.contains("duplicate user email"));
    }
}
