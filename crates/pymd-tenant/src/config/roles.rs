//! The `roles` section: named sets of API permissions (scopes) given to users.

use serde::Deserialize;

use super::error::{Locator, TenantFileError, k, n};
use super::ids::stable_id;
use super::resource_servers::Audiences;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRole {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    permissions: Vec<FilePermission>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePermission {
    permission_name: String,
    resource_server_identifier: String,
}

/// A role.
#[derive(Debug, Clone)]
pub struct RoleConfig {
    /// `rol_…` id, stable across restarts.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// (resource server identifier, permission name) pairs.
    pub permissions: Vec<(String, String)>,
}

/// Resolves the `roles` section: unique names, each permission a scope of a known audience.
pub(super) fn resolve(
    files: &[FileRole],
    audiences: &Audiences<'_>,
    loc: &Locator<'_>,
) -> Result<Vec<RoleConfig>, TenantFileError> {
    let mut roles: Vec<RoleConfig> = Vec::new();
    for (ri, r) in files.iter().enumerate() {
        if roles.iter().any(|x| x.name == r.name) {
            return Err(loc.at(
                &[k("roles"), n(ri), k("name")],
                format!("duplicate role \"{}\"", r.name),
            ));
        }
        roles.push(RoleConfig {
            id: stable_id("rol_", &r.name),
            name: r.name.clone(),
            description: r.description.clone().unwrap_or_default(),
            permissions: permissions(ri, r, audiences, loc)?,
        });
    }
    Ok(roles)
}

/// The role's (resource server identifier, permission name) pairs, each checked.
fn permissions(
    ri: usize,
    r: &FileRole,
    audiences: &Audiences<'_>,
    loc: &Locator<'_>,
) -> Result<Vec<(String, String)>, TenantFileError> {
    let mut permissions = Vec::new();
    for (pi, p) in r.permissions.iter().enumerate() {
        let at = |key: &'static str| [k("roles"), n(ri), k("permissions"), n(pi), k(key)];
        let Some(defined) = audiences.scopes_of(&p.resource_server_identifier) else {
            return Err(loc.at(
                &at("resource_server_identifier"),
                format!(
                    "role \"{}\" names an unknown resource server \"{}\"",
                    r.name, p.resource_server_identifier
                ),
            ));
        };
        if !defined.contains(&p.permission_name) {
            return Err(loc.at(
                &at("permission_name"),
                format!(
                    "role \"{}\" names permission \"{}\", which is not a scope of \"{}\"",
                    r.name, p.permission_name, p.resource_server_identifier
                ),
            ));
        }
        permissions.push((
            p.resource_server_identifier.clone(),
            p.permission_name.clone(),
        ));
    }
    Ok(permissions)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::err;

    #[test]
    fn role_with_unknown_scope() {
        let y = crate::DEFAULT_TENANT_YAML.replacen(
            "permission_name: read:documents",
            "permission_name: read:secrets",
            1,
        );
        assert!(err(&y).reason.contains("read:secrets"));
    }
}
