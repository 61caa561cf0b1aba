//! Tenant as code: a directory in the Auth0 Deploy CLI YAML layout (`tenant.yaml` plus the
//! Action code files it names) and PyMD's own dev-only `pymd-dev.yaml` beside it (generated
//! client credentials, keyword values, seeded users). Keywords are replaced as the Deploy CLI
//! replaces them, every cross-reference is checked and every Action compiled, so a broken
//! directory stops the tenant at start with `file:line:col`.
//!
//! One module per section of the file, each holding that section's file shape (the keys
//! serde accepts), its resolved model and the function that checks one against the other:
//! `tenant`, `clients`, `resource_servers`, `client_grants`, `roles`, `database`,
//! `attack_protection`, `actions` (with `triggers`), `log_streams`; `dev_file` and `users` for
//! `pymd-dev.yaml`. `files` reads a directory, `keywords` does the replacement, `deploy_cli`
//! holds the file's root and the allow-list of Deploy CLI keys accepted without effect; `error`
//! the error type and how a node's `line:col` is found.

mod actions;
mod attack_protection;
mod client_grants;
mod clients;
mod database;
mod deploy_cli;
mod dev_file;
mod error;
mod files;
mod ids;
mod keywords;
mod log_streams;
mod resource_servers;
mod roles;
mod shape;
mod tenant;
mod users;

use std::collections::BTreeMap;

pub use actions::{POST_LOGIN, PROVIDED_DEPENDENCIES};
pub use attack_protection::{AttackProtectionConfig, IpBudget, IpThrottlingConfig};
pub use client_grants::ClientGrantConfig;
pub use clients::{AuthMethod, ClientConfig, RefreshTokenConfig};
pub use database::DatabaseConfig;
pub use dev_file::DEV_FILE;
pub use error::TenantFileError;
pub use files::TenantFiles;
pub use ids::stable_id;
pub use log_streams::{ContentFormat, LogStreamConfig};
pub use resource_servers::{MANAGEMENT_SCOPES, ResourceServerConfig};
pub use roles::RoleConfig;
pub use tenant::TenantSettings;
pub use users::SeedUser;

use crate::actions::Action;
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
    /// The Actions bound to `post-login`, in order.
    pub post_login: Vec<Action>,
    /// Custom-webhook log streams.
    pub log_streams: Vec<LogStreamConfig>,
    /// Seeded users (from `pymd-dev.yaml`; passwords in clear, hashed when the tenant starts).
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

/// Parses and validates `tenant.yaml` text, with the shipped `pymd-dev.yaml` and Action code.
///
/// `issuer` replaces `##TENANT_URL##` (it should end in `/`); `app_base_url` replaces
/// `##APP_BASE_URL##` (a trailing `/` is removed).
///
/// # Errors
/// As [`parse_files`].
pub fn parse_tenant(
    yaml: &str,
    issuer: &str,
    app_base_url: &str,
) -> Result<TenantConfig, TenantFileError> {
    parse_files(
        &TenantFiles::from_yaml(yaml.to_string()),
        issuer,
        app_base_url,
        &BTreeMap::new(),
    )
}

/// Parses and validates a tenant-as-code directory.
///
/// Keywords are replaced as the Deploy CLI replaces them (`##NAME##` by the value, `@@NAME@@`
/// by its JSON string) in `tenant.yaml` and in each Action's code, from, in rising precedence:
/// `pymd-dev.yaml`'s `keywords`, `mappings` (e.g. `AUTH0_KEYWORD_REPLACE_MAPPINGS`), and the
/// tenant's own `TENANT_URL` (= `issuer`, also as `ISSUER`) and `APP_BASE_URL`.
///
/// # Errors
/// [`TenantFileError`] with the file, line and column (as written) of the first problem: YAML
/// syntax, a keyword with no value, an unknown key at any level of the supported layout (Deploy
/// CLI keys the emulator does not act on are listed and accepted), a wrong type, a broken
/// cross-reference (unknown client, API, scope, role or Action; duplicate ids or emails; a
/// seeded password that violates the policy), an Action whose code does not compile or that
/// depends on a package the dev tenant does not provide.
pub fn parse_files(
    files: &TenantFiles,
    issuer: &str,
    app_base_url: &str,
    mappings: &BTreeMap<String, String>,
) -> Result<TenantConfig, TenantFileError> {
    let issuer = if issuer.ends_with('/') {
        issuer.to_string()
    } else {
        format!("{issuer}/")
    };
    let dev = match &files.dev_yaml {
        Some(text) => dev_file::parse(text)?,
        None => dev_file::FileDev::default(),
    };
    let mut values = dev.keywords.clone();
    values.extend(mappings.iter().map(|(k, v)| (k.clone(), v.clone())));
    values.insert("TENANT_URL".into(), issuer.clone());
    values.insert("ISSUER".into(), issuer.clone());
    values.insert(
        "APP_BASE_URL".into(),
        app_base_url.trim_end_matches('/').to_string(),
    );
    let kw = keywords::Keywords::new(&values);
    let text = kw.replace(&files.tenant_yaml);
    let pairs = kw.pairs();
    let loc = Locator::new("tenant.yaml", &files.tenant_yaml, &text, &pairs);
    kw.check_all_replaced(&files.tenant_yaml, &loc)?;
    let root: FileRoot = yaml_serde::from_str(&text).map_err(|e| loc.syntax(&e))?;
    let mut cfg = resolve(&root, &dev, &loc, issuer)?;
    cfg.post_login = actions::resolve(
        &root.actions,
        &root.triggers,
        &|path| files.read(path),
        &|code| kw.replace(code),
        &loc,
    )?;
    if let Some(text) = &files.dev_yaml {
        let dev_loc = Locator::new(DEV_FILE, text, text, &[]);
        cfg.users = users::resolve(&dev.users, &cfg.roles, &cfg.database, &dev_loc)?;
    }
    Ok(cfg)
}

/// Resolves the sections in dependency order (each may name what an earlier one defined);
/// the first problem found is the one reported.
fn resolve(
    root: &FileRoot,
    dev: &dev_file::FileDev,
    loc: &Locator<'_>,
    issuer: String,
) -> Result<TenantConfig, TenantFileError> {
    let management_audience = format!("{issuer}api/v2/");
    let clients = clients::resolve(&root.clients, &dev.clients, loc)?;
    let resource_servers =
        resource_servers::resolve(&root.resourceServers, &management_audience, loc)?;
    let audiences = Audiences::new(&management_audience, &resource_servers);
    let client_grants = client_grants::resolve(&root.clientGrants, &clients, &audiences, loc)?;
    let roles = roles::resolve(&root.roles, &audiences, loc)?;
    let database = database::resolve(&root.databases, &clients, loc)?;
    let attack_protection =
        attack_protection::resolve(root.attackProtection.as_ref(), &database, loc)?;
    let tenant = tenant::resolve(&root.tenant, &audiences, &database, loc)?;
    let log_streams = log_streams::resolve(&root.logStreams, loc)?;
    Ok(TenantConfig {
        issuer,
        tenant,
        clients,
        resource_servers,
        client_grants,
        roles,
        database,
        attack_protection,
        post_login: Vec::new(),
        log_streams,
        users: Vec::new(),
    })
}

/// What the section modules' unit tests share.
#[cfg(test)]
mod test_support {
    use super::{TenantFileError, parse_tenant};

    pub(super) const ISS: &str = "http://127.0.0.1:3001/";
    pub(super) const APP: &str = "http://localhost:3000";

    /// The error the shipped tenant with `dev_yaml` as its `pymd-dev.yaml` is refused with.
    pub(super) fn dev_err(dev_yaml: &str) -> TenantFileError {
        let files = super::TenantFiles::shipped().with_dev_yaml(Some(dev_yaml.to_string()));
        super::parse_files(&files, ISS, APP, &Default::default()).expect_err("must fail")
    }

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
