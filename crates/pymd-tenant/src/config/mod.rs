//! Tenant as code: parses `tenant.yaml` (Auth0 Deploy CLI layout plus a `users` seed),
//! applies the Deploy CLI keyword replacement (`##ISSUER##`, `##APP_BASE_URL##`) and checks
//! every cross-reference, so a broken file stops the tenant at start with `file:line:col`.
//!
//! One module per section of the file, each holding that section's file shape (the keys
//! serde accepts), its resolved model and the function that checks one against the other:
//! `tenant`, `clients`, `resource_servers`, `client_grants`, `roles`, `database`,
//! `attack_protection`, `users`. `deploy_cli` holds the file's root and the allow-list of
//! Deploy CLI keys accepted without effect; `error` the error type and how a node's
//! `line:col` is found. [`parse_tenant`] resolves the sections in dependency order.

mod attack_protection;
mod client_grants;
mod clients;
mod database;
mod deploy_cli;
mod error;
mod ids;
mod resource_servers;
mod roles;
mod shape;
mod tenant;
mod users;

pub use attack_protection::AttackProtectionConfig;
pub use client_grants::ClientGrantConfig;
pub use clients::{AuthMethod, ClientConfig, RefreshTokenConfig};
pub use database::DatabaseConfig;
pub use error::TenantFileError;
pub use ids::stable_id;
pub use resource_servers::{MANAGEMENT_SCOPES, ResourceServerConfig};
pub use roles::RoleConfig;
pub use tenant::TenantSettings;
pub use users::SeedUser;

use deploy_cli::FileRoot;
use error::Locator;
use resource_servers::Audiences;

/// The validated tenant, with keywords replaced and names resolved to ids.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// The issuer this config was resolved for (ends in `/`).
    pub issuer: String,
    /// Tenant settings.
    pub tenant: TenantSettings,
    /// Applications.
    pub clients: Vec<ClientConfig>,
    /// APIs (resource servers), not including the built-in Management API.
    pub resource_servers: Vec<ResourceServerConfig>,
    /// Client grants (client id → audience → scopes).
    pub client_grants: Vec<ClientGrantConfig>,
    /// Roles.
    pub roles: Vec<RoleConfig>,
    /// The database connection.
    pub database: DatabaseConfig,
    /// Attack protection.
    pub attack_protection: AttackProtectionConfig,
    /// Seeded users (passwords in clear; hashed when the tenant starts).
    pub users: Vec<SeedUser>,
}

impl TenantConfig {
    /// Client by id.
    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// Resource server by identifier.
    pub fn resource_server(&self, identifier: &str) -> Option<&ResourceServerConfig> {
        self.resource_servers
            .iter()
            .find(|r| r.identifier == identifier)
    }

    /// The Management API audience (`ISSUER` + `api/v2/`).
    pub fn management_audience(&self) -> String {
        format!("{}api/v2/", self.issuer)
    }

    /// Role by name.
    pub fn role(&self, name: &str) -> Option<&RoleConfig> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The first client of the given app type.
    pub fn first_client_of_type(&self, app_type: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.app_type == app_type)
    }
}

/// Parses and validates a tenant file.
///
/// `issuer` replaces `##ISSUER##` (it should end in `/`); `app_base_url` replaces
/// `##APP_BASE_URL##` (a trailing `/` is removed).
///
/// # Errors
/// [`TenantFileError`] with the line and column (in the file as written, before keyword
/// replacement) of the first problem: YAML syntax, an unknown key at any level of the
/// supported layout (Deploy CLI keys the emulator does not act on are listed and accepted), a
/// wrong type, or a broken cross-reference (unknown client, API, scope or role; duplicate ids
/// or emails; a seeded password that violates the policy), located at the offending node.
pub fn parse_tenant(
    yaml: &str,
    issuer: &str,
    app_base_url: &str,
) -> Result<TenantConfig, TenantFileError> {
    let issuer = if issuer.ends_with('/') {
        issuer.to_string()
    } else {
        format!("{issuer}/")
    };
    let app_base = app_base_url.trim_end_matches('/');
    let text = yaml
        .replace("##ISSUER##", &issuer)
        .replace("##APP_BASE_URL##", app_base);
    let loc = Locator::new(
        yaml,
        &text,
        [("##ISSUER##", &issuer), ("##APP_BASE_URL##", app_base)],
    );
    let root: FileRoot = yaml_serde::from_str(&text).map_err(|e| loc.syntax(&e))?;
    resolve(&root, &loc, issuer.clone())
}

/// Resolves the sections in dependency order (each may name what an earlier one defined);
/// the first problem found is the one reported.
fn resolve(
    root: &FileRoot,
    loc: &Locator<'_>,
    issuer: String,
) -> Result<TenantConfig, TenantFileError> {
    let management_audience = format!("{issuer}api/v2/");
    let clients = clients::resolve(&root.clients, loc)?;
    let resource_servers =
        resource_servers::resolve(&root.resourceServers, &management_audience, loc)?;
    let audiences = Audiences::new(&management_audience, &resource_servers);
    let client_grants = client_grants::resolve(&root.clientGrants, &clients, &audiences, loc)?;
    let roles = roles::resolve(&root.roles, &audiences, loc)?;
    let database = database::resolve(&root.databases, &clients, loc)?;
    let attack_protection =
        attack_protection::resolve(root.attackProtection.as_ref(), &database, loc)?;
    let tenant = tenant::resolve(&root.tenant, &audiences, &database, loc)?;
    let users = users::resolve(&root.users, &roles, &database, loc)?;
    Ok(TenantConfig {
        issuer,
        tenant,
        clients,
        resource_servers,
        client_grants,
        roles,
        database,
        attack_protection,
        users,
    })
}

/// What the section modules' unit tests share.
#[cfg(test)]
mod test_support {
    use super::{TenantFileError, parse_tenant};

    pub(super) const ISS: &str = "http://127.0.0.1:3001/";
    pub(super) const APP: &str = "http://localhost:3000";

    /// The error `yaml` is refused with.
    pub(super) fn err(yaml: &str) -> TenantFileError {
        parse_tenant(yaml, ISS, APP).expect_err("must fail")
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{APP, ISS};
    use super::*;

    #[test]
    fn default_file_parses() {
        let cfg =
            parse_tenant(crate::DEFAULT_TENANT_YAML, ISS, APP).expect("default tenant parses");
        assert_eq!(cfg.clients.len(), 2);
        assert_eq!(cfg.users.len(), 3);
        assert_eq!(
            cfg.client_grants[0].audience,
            "http://127.0.0.1:3001/api/v2/"
        );
        assert_eq!(
            cfg.client("pymdWebDevClient7Hk2Lq9Xz4Rt8Vw1")
                .map(|c| c.callbacks[0].as_str()),
            Some("http://localhost:3000/auth/callback")
        );
        assert!(
            cfg.role("admin")
                .is_some_and(|r| r.id.starts_with("rol_") && r.id.len() == 20)
        );
    }
}
