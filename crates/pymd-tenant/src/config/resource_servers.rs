//! The `resourceServers` section: the tenant's APIs (audiences) with their scopes, token
//! lifetime and RBAC settings; and [`Audiences`], which adds the built-in Management API so
//! grants, roles and the tenant default can name either.

use serde::Deserialize;

use super::error::{Locator, TenantFileError, k, n};
use super::shape::Ignored;

/// Built-in Management API scopes accepted in client grants for `ISSUER/api/v2/`.
pub const MANAGEMENT_SCOPES: &[&str] = &[
    "read:users",
    "update:users",
    "delete:users",
    "create:users",
    "read:users_app_metadata",
    "update:users_app_metadata",
    "delete:users_app_metadata",
    "create:users_app_metadata",
    "read:user_idp_tokens",
    "read:roles",
    "create:roles",
    "update:roles",
    "delete:roles",
    "read:role_members",
    "create:role_members",
    "delete:role_members",
    "read:logs",
    "read:logs_users",
    "read:clients",
    "read:client_grants",
    "read:connections",
    "read:resource_servers",
    "read:signing_keys",
    "create:signing_keys",
    "update:signing_keys",
    "read:attack_protection",
    "update:attack_protection",
    "create:user_tickets",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
pub(super) struct FileResourceServer {
    name: String,
    identifier: String,
    #[serde(default)]
    signing_alg: Option<String>,
    #[serde(default)]
    token_lifetime: Option<i64>,
    #[serde(default)]
    allow_offline_access: Option<bool>,
    #[serde(default)]
    skip_consent_for_verifiable_first_party_clients: Option<bool>,
    #[serde(default)]
    enforce_policies: Option<bool>,
    #[serde(default)]
    token_dialect: Option<String>,
    #[serde(default)]
    scopes: Vec<FileScope>,
    #[serde(default)]
    token_lifetime_for_web: Ignored,
    #[serde(default)]
    token_encryption: Ignored,
    #[serde(default)]
    consent_policy: Ignored,
    #[serde(default)]
    authorization_details: Ignored,
    #[serde(default)]
    proof_of_possession: Ignored,
    #[serde(default)]
    subject_type_authorization: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScope {
    value: String,
    #[serde(default)]
    description: Option<String>,
}

/// An API.
#[derive(Debug, Clone)]
pub struct ResourceServerConfig {
    /// Display name.
    pub name: String,
    /// The audience.
    pub identifier: String,
    /// Access-token lifetime.
    pub token_lifetime_secs: i64,
    /// Refresh tokens allowed.
    pub allow_offline_access: bool,
    /// RBAC on.
    pub enforce_policies: bool,
    /// Add `permissions` to access tokens.
    pub permissions_in_token: bool,
    /// Defined scopes, with descriptions.
    pub scopes: Vec<(String, String)>,
}

/// Access-token lifetime when the file names none: one day.
const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 86_400;

/// The longest access-token lifetime Auth0 accepts: 30 days.
const MAX_TOKEN_LIFETIME_SECS: i64 = 2_592_000;

/// Resolves the `resourceServers` section. `management_audience` is reserved for the
/// built-in Management API.
pub(super) fn resolve(
    files: &[FileResourceServer],
    management_audience: &str,
    loc: &Locator<'_>,
) -> Result<Vec<ResourceServerConfig>, TenantFileError> {
    let mut resource_servers: Vec<ResourceServerConfig> = Vec::new();
    for (ri, r) in files.iter().enumerate() {
        if r.identifier == management_audience
            || resource_servers
                .iter()
                .any(|x| x.identifier == r.identifier)
        {
            return Err(loc.at(
                &[k("resourceServers"), n(ri), k("identifier")],
                format!("duplicate resource server identifier \"{}\"", r.identifier),
            ));
        }
        resource_servers.push(resource_server(ri, r, loc)?);
    }
    Ok(resource_servers)
}

/// One API: RS256 only, a known token dialect, a lifetime within Auth0's bounds.
fn resource_server(
    ri: usize,
    r: &FileResourceServer,
    loc: &Locator<'_>,
) -> Result<ResourceServerConfig, TenantFileError> {
    let at = |key: &'static str| [k("resourceServers"), n(ri), k(key)];
    if let Some(alg) = &r.signing_alg
        && alg != "RS256"
    {
        return Err(loc.at(
            &at("signing_alg"),
            format!("signing_alg \"{alg}\" is not supported (only RS256)"),
        ));
    }
    let dialect = r.token_dialect.as_deref().unwrap_or("access_token");
    if !["access_token", "access_token_authz"].contains(&dialect) {
        return Err(loc.at(
            &at("token_dialect"),
            format!("unsupported token_dialect \"{dialect}\" (access_token or access_token_authz)"),
        ));
    }
    let lifetime = r.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS);
    if !(1..=MAX_TOKEN_LIFETIME_SECS).contains(&lifetime) {
        return Err(loc.at(
            &at("token_lifetime"),
            "token_lifetime must be between 1 and 2592000 seconds",
        ));
    }
    let enforce_policies = r.enforce_policies.unwrap_or(false);
    Ok(ResourceServerConfig {
        name: r.name.clone(),
        identifier: r.identifier.clone(),
        token_lifetime_secs: lifetime,
        allow_offline_access: r.allow_offline_access.unwrap_or(false),
        enforce_policies,
        permissions_in_token: enforce_policies && dialect == "access_token_authz",
        scopes: r
            .scopes
            .iter()
            .map(|s| (s.value.clone(), s.description.clone().unwrap_or_default()))
            .collect(),
    })
}

/// The audiences the rest of the file may name: the tenant's APIs and the built-in
/// Management API.
pub(super) struct Audiences<'a> {
    management: &'a str,
    servers: &'a [ResourceServerConfig],
}

impl<'a> Audiences<'a> {
    /// The APIs `servers` plus the Management API at `management`.
    pub(super) fn new(management: &'a str, servers: &'a [ResourceServerConfig]) -> Self {
        Self {
            management,
            servers,
        }
    }

    /// The scopes defined on `audience`, `None` if it is no known audience.
    pub(super) fn scopes_of(&self, audience: &str) -> Option<Vec<String>> {
        if audience == self.management {
            return Some(MANAGEMENT_SCOPES.iter().map(|s| s.to_string()).collect());
        }
        self.servers
            .iter()
            .find(|r| r.identifier == audience)
            .map(|r| r.scopes.iter().map(|(s, _)| s.clone()).collect())
    }
}
