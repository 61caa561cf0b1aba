//! Tenant as code: parses `tenant.yaml` (Auth0 Deploy CLI layout plus a `users` seed),
//! applies the Deploy CLI keyword replacement (`##ISSUER##`, `##APP_BASE_URL##`) and checks
//! every cross-reference, so a broken file stops the tenant at start with `file:line:col`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Deserialize;

use crate::passwords::{self, PasswordPolicy, Policy};

/// A problem in the tenant file, with the 1-based position it was found at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant.yaml:{line}:{column}: {reason}")]
pub struct TenantFileError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

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

// ---------------------------------------------------------------------------------------------
// File shapes (Deploy CLI keys)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct FileRoot {
    tenant: FileTenant,
    #[serde(default)]
    clients: Vec<FileClient>,
    #[serde(default)]
    resourceServers: Vec<FileResourceServer>,
    #[serde(default)]
    clientGrants: Vec<FileClientGrant>,
    #[serde(default)]
    roles: Vec<FileRole>,
    #[serde(default)]
    databases: Vec<FileDatabase>,
    #[serde(default)]
    attackProtection: Option<FileAttackProtection>,
    #[serde(default)]
    users: Vec<FileUser>,
    // Deploy CLI sections the emulator accepts and ignores.
    #[serde(default)]
    actions: Option<yaml_serde::Value>,
    #[serde(default)]
    triggers: Option<yaml_serde::Value>,
    #[serde(default)]
    connections: Option<yaml_serde::Value>,
    #[serde(default)]
    emailProvider: Option<yaml_serde::Value>,
    #[serde(default)]
    emailTemplates: Option<yaml_serde::Value>,
    #[serde(default)]
    pages: Option<yaml_serde::Value>,
    #[serde(default)]
    prompts: Option<yaml_serde::Value>,
    #[serde(default)]
    branding: Option<yaml_serde::Value>,
    #[serde(default)]
    organizations: Option<yaml_serde::Value>,
    #[serde(default)]
    guardianFactors: Option<yaml_serde::Value>,
    #[serde(default)]
    logStreams: Option<yaml_serde::Value>,
}

#[derive(Debug, Deserialize)]
struct FileTenant {
    #[serde(default)]
    friendly_name: Option<String>,
    #[serde(default)]
    default_audience: Option<String>,
    #[serde(default)]
    default_directory: Option<String>,
    #[serde(default)]
    session_lifetime: Option<f64>,
    #[serde(default)]
    idle_session_lifetime: Option<f64>,
    #[serde(default)]
    allowed_logout_urls: Vec<String>,
    #[serde(default)]
    oidc_logout: Option<FileOidcLogout>,
}

#[derive(Debug, Deserialize)]
struct FileOidcLogout {
    #[serde(default)]
    rp_logout_end_session_endpoint_discovery: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct FileClient {
    name: String,
    #[serde(default)]
    description: Option<String>,
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    app_type: String,
    #[serde(default)]
    is_first_party: Option<bool>,
    #[serde(default)]
    oidc_conformant: Option<bool>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    callbacks: Vec<String>,
    #[serde(default)]
    allowed_logout_urls: Vec<String>,
    #[serde(default)]
    web_origins: Vec<String>,
    #[serde(default)]
    jwt_configuration: Option<FileJwtConfiguration>,
    #[serde(default)]
    refresh_token: Option<FileRefreshToken>,
}

#[derive(Debug, Deserialize)]
struct FileJwtConfiguration {
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    lifetime_in_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct FileRefreshToken {
    #[serde(default)]
    rotation_type: Option<String>,
    #[serde(default)]
    expiration_type: Option<String>,
    #[serde(default)]
    leeway: Option<i64>,
    #[serde(default)]
    token_lifetime: Option<i64>,
    #[serde(default)]
    infinite_token_lifetime: Option<bool>,
    #[serde(default)]
    idle_token_lifetime: Option<i64>,
    #[serde(default)]
    infinite_idle_token_lifetime: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct FileResourceServer {
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
}

#[derive(Debug, Deserialize)]
struct FileScope {
    value: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FileClientGrant {
    client_id: String,
    audience: String,
    #[serde(default)]
    scope: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct FileRole {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    permissions: Vec<FilePermission>,
}

#[derive(Debug, Deserialize)]
struct FilePermission {
    permission_name: String,
    resource_server_identifier: String,
}

#[derive(Debug, Deserialize)]
struct FileDatabase {
    name: String,
    #[serde(default)]
    strategy: Option<String>,
    #[serde(default)]
    enabled_clients: Vec<String>,
    #[serde(default)]
    options: Option<FileDbOptions>,
}

#[derive(Debug, Deserialize)]
#[allow(non_snake_case)]
struct FileDbOptions {
    #[serde(default)]
    passwordPolicy: Option<String>,
    #[serde(default)]
    brute_force_protection: Option<bool>,
    #[serde(default)]
    requires_username: Option<bool>,
    #[serde(default)]
    disable_signup: Option<bool>,
    #[serde(default)]
    password_complexity_options: Option<FileComplexity>,
}

#[derive(Debug, Deserialize)]
struct FileComplexity {
    #[serde(default)]
    min_length: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[allow(non_snake_case)]
struct FileAttackProtection {
    #[serde(default)]
    bruteForceProtection: Option<FileBruteForce>,
    #[serde(default)]
    breachedPasswordDetection: Option<FileBreached>,
    #[serde(default)]
    suspiciousIpThrottling: Option<yaml_serde::Value>,
}

#[derive(Debug, Deserialize)]
struct FileBruteForce {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    shields: Vec<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    max_attempts: Option<u32>,
    #[serde(default)]
    allowlist: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct FileBreached {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    shields: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileUser {
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

// ---------------------------------------------------------------------------------------------
// Resolved model
// ---------------------------------------------------------------------------------------------

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

/// Tenant-level settings.
#[derive(Debug, Clone)]
pub struct TenantSettings {
    /// Friendly name, shown on the login page.
    pub friendly_name: String,
    /// Audience used when `/authorize` names none.
    pub default_audience: Option<String>,
    /// Connection for the password grant.
    pub default_directory: Option<String>,
    /// Absolute session lifetime in seconds.
    pub session_lifetime_secs: i64,
    /// Idle session lifetime in seconds.
    pub idle_session_lifetime_secs: i64,
    /// Tenant-level Allowed Logout URLs.
    pub allowed_logout_urls: Vec<String>,
    /// Whether discovery advertises `end_session_endpoint`.
    pub end_session_endpoint_discovery: bool,
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Secret in the body.
    ClientSecretPost,
    /// Secret in HTTP Basic.
    ClientSecretBasic,
    /// Public client.
    None,
}

/// An application.
#[derive(Clone)]
pub struct ClientConfig {
    /// Display name.
    pub name: String,
    /// Client id.
    pub client_id: String,
    /// Client secret (confidential clients).
    pub client_secret: Option<String>,
    /// `regular_web`, `spa`, `native` or `non_interactive`.
    pub app_type: String,
    /// Configured token endpoint authentication.
    pub auth_method: AuthMethod,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Allowed callback URLs (exact match).
    pub callbacks: Vec<String>,
    /// Allowed logout URLs.
    pub allowed_logout_urls: Vec<String>,
    /// ID-token lifetime.
    pub id_token_lifetime_secs: i64,
    /// Refresh-token settings.
    pub refresh_token: RefreshTokenConfig,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("app_type", &self.app_type)
            .field("grant_types", &self.grant_types)
            .finish_non_exhaustive()
    }
}

/// Client refresh-token settings (Auth0 `refresh_token` object).
#[derive(Debug, Clone)]
pub struct RefreshTokenConfig {
    /// Rotating refresh tokens.
    pub rotating: bool,
    /// Reuse interval (overlap period) in seconds.
    pub leeway_secs: i64,
    /// Absolute lifetime; `None` = infinite.
    pub token_lifetime_secs: Option<i64>,
    /// Idle lifetime; `None` = infinite.
    pub idle_token_lifetime_secs: Option<i64>,
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

/// A client grant.
#[derive(Debug, Clone)]
pub struct ClientGrantConfig {
    /// `cgr_…` id.
    pub id: String,
    /// The client id (resolved from a name if needed).
    pub client_id: String,
    /// Audience.
    pub audience: String,
    /// Granted scopes.
    pub scope: Vec<String>,
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

/// The database connection.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Connection name.
    pub name: String,
    /// `con_…` id.
    pub id: String,
    /// Password policy.
    pub policy: Policy,
    /// Sign-up disabled.
    pub disable_signup: bool,
    /// Per-connection brute-force switch.
    pub brute_force_protection: bool,
    /// Client ids enabled on the connection.
    pub enabled_clients: Vec<String>,
}

/// Attack protection.
#[derive(Debug, Clone)]
pub struct AttackProtectionConfig {
    /// Brute-force protection on.
    pub brute_force_enabled: bool,
    /// Failures per (identifier, IP) before blocking.
    pub max_attempts: u32,
    /// `count_per_identifier_and_ip` (default) or `count_per_identifier`.
    pub per_identifier_only: bool,
    /// IPs exempt from blocking.
    pub allowlist: Vec<String>,
    /// Breached-password detection on (with the `block` shield).
    pub breached_password_block: bool,
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

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Line/column finder for semantic errors: the first occurrence of `needle` after the
/// top-level `section:` key (falls back to the first occurrence anywhere, then 1:1).
struct Locator<'a> {
    text: &'a str,
}

impl<'a> Locator<'a> {
    fn at(&self, section: &str, needle: &str, reason: impl Into<String>) -> TenantFileError {
        let start = self
            .text
            .match_indices(&format!("{section}:"))
            .find(|(i, _)| *i == 0 || self.text.as_bytes()[i - 1] == b'\n')
            .map(|(i, _)| i)
            .unwrap_or(0);
        let offset = self.text[start..]
            .find(needle)
            .map(|i| i + start)
            .or_else(|| self.text.find(needle))
            .unwrap_or(start);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = offset - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        TenantFileError {
            line,
            column,
            reason: reason.into(),
        }
    }
}

/// Deterministic Auth0-style id (`prefix` + 16 alphanumerics) derived from a name, so ids
/// are stable across restarts.
pub fn stable_id(prefix: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let digest = crate::util::sha256(format!("{prefix}{name}").as_bytes());
    let body: String = digest
        .iter()
        .take(16)
        .map(|b| ALPHABET[(*b as usize) % 62] as char)
        .collect();
    format!("{prefix}{body}")
}

/// Parses and validates a tenant file.
///
/// `issuer` replaces `##ISSUER##` (it should end in `/`); `app_base_url` replaces
/// `##APP_BASE_URL##` (a trailing `/` is removed).
///
/// # Errors
/// [`TenantFileError`] with the line and column of the first problem: YAML syntax, an
/// unknown top-level key, a wrong type, or a broken cross-reference (unknown client, API,
/// scope or role; duplicate ids or emails; a seeded password that violates the policy).
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
    let root: FileRoot = yaml_serde::from_str(&text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        TenantFileError {
            line,
            column,
            reason: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_string(),
        }
    })?;
    resolve(root, &text, issuer)
}

fn resolve(root: FileRoot, text: &str, issuer: String) -> Result<TenantConfig, TenantFileError> {
    let loc = Locator { text };
    let mgmt_audience = format!("{issuer}api/v2/");

    // Clients.
    let mut clients = Vec::new();
    let mut seen_ids = HashSet::new();
    let mut seen_names = HashSet::new();
    for c in &root.clients {
        if c.client_id.trim().is_empty() {
            return Err(loc.at("clients", &c.name, "client_id must not be empty"));
        }
        if !seen_ids.insert(c.client_id.clone()) {
            return Err(loc.at(
                "clients",
                &c.client_id,
                format!("duplicate client_id \"{}\"", c.client_id),
            ));
        }
        if !seen_names.insert(c.name.clone()) {
            return Err(loc.at(
                "clients",
                &c.name,
                format!("duplicate client name \"{}\"", c.name),
            ));
        }
        let app_type = c.app_type.as_str();
        if !["regular_web", "spa", "native", "non_interactive"].contains(&app_type) {
            return Err(loc.at(
                "clients",
                &format!("app_type: {app_type}"),
                format!(
                    "unknown app_type \"{app_type}\" (expected regular_web, spa, native or non_interactive)"
                ),
            ));
        }
        let auth_method = match c.token_endpoint_auth_method.as_deref() {
            None if app_type == "spa" || app_type == "native" => AuthMethod::None,
            None | Some("client_secret_post") => AuthMethod::ClientSecretPost,
            Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
            Some("none") => AuthMethod::None,
            Some(other) => {
                return Err(loc.at(
                    "clients",
                    other,
                    format!("unsupported token_endpoint_auth_method \"{other}\""),
                ));
            }
        };
        if auth_method != AuthMethod::None && c.client_secret.as_deref().unwrap_or("").is_empty() {
            return Err(loc.at(
                "clients",
                &c.client_id,
                format!(
                    "client \"{}\" uses a secret method but has no client_secret",
                    c.name
                ),
            ));
        }
        let grant_types = c.grant_types.clone().unwrap_or_else(|| match app_type {
            "non_interactive" => vec!["client_credentials".into()],
            "spa" | "native" => vec!["authorization_code".into(), "refresh_token".into()],
            _ => vec![
                "authorization_code".into(),
                "refresh_token".into(),
                "client_credentials".into(),
            ],
        });
        for g in &grant_types {
            if ![
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
                "implicit",
                "http://auth0.com/oauth/grant-type/password-realm",
            ]
            .contains(&g.as_str())
            {
                return Err(loc.at("clients", g, format!("unknown grant type \"{g}\"")));
            }
        }
        for cb in c.callbacks.iter().chain(c.allowed_logout_urls.iter()) {
            if url::Url::parse(cb).is_err() {
                return Err(loc.at("clients", cb, format!("\"{cb}\" is not an absolute URL")));
            }
        }
        if let Some(jwt) = &c.jwt_configuration
            && let Some(alg) = &jwt.alg
            && alg != "RS256"
        {
            return Err(loc.at(
                "clients",
                alg,
                format!("jwt_configuration.alg \"{alg}\" is not supported (only RS256)"),
            ));
        }
        let rt = c.refresh_token.as_ref();
        let expiring = rt
            .and_then(|r| r.expiration_type.as_deref())
            .map(|t| t == "expiring")
            .unwrap_or(true);
        let refresh_token = RefreshTokenConfig {
            rotating: rt
                .and_then(|r| r.rotation_type.as_deref())
                .map(|t| t == "rotating")
                .unwrap_or(false),
            leeway_secs: rt.and_then(|r| r.leeway).unwrap_or(0).max(0),
            token_lifetime_secs: if !expiring
                || rt.and_then(|r| r.infinite_token_lifetime).unwrap_or(false)
            {
                None
            } else {
                Some(rt.and_then(|r| r.token_lifetime).unwrap_or(2_592_000))
            },
            idle_token_lifetime_secs: if !expiring
                || rt
                    .and_then(|r| r.infinite_idle_token_lifetime)
                    .unwrap_or(false)
            {
                None
            } else {
                Some(rt.and_then(|r| r.idle_token_lifetime).unwrap_or(2_592_000))
            },
        };
        let _ = (
            &c.description,
            c.is_first_party,
            c.oidc_conformant,
            &c.web_origins,
        );
        clients.push(ClientConfig {
            name: c.name.clone(),
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone().filter(|s| !s.is_empty()),
            app_type: app_type.to_string(),
            auth_method,
            grant_types,
            callbacks: c.callbacks.clone(),
            allowed_logout_urls: c.allowed_logout_urls.clone(),
            id_token_lifetime_secs: c
                .jwt_configuration
                .as_ref()
                .and_then(|j| j.lifetime_in_seconds)
                .unwrap_or(36_000),
            refresh_token,
        });
    }
    let client_ref = |name_or_id: &str| -> Option<String> {
        clients
            .iter()
            .find(|c| c.client_id == name_or_id || c.name == name_or_id)
            .map(|c| c.client_id.clone())
    };

    // Resource servers.
    let mut resource_servers: Vec<ResourceServerConfig> = Vec::new();
    for r in &root.resourceServers {
        if r.identifier == mgmt_audience
            || resource_servers
                .iter()
                .any(|x| x.identifier == r.identifier)
        {
            return Err(loc.at(
                "resourceServers",
                &r.identifier,
                format!("duplicate resource server identifier \"{}\"", r.identifier),
            ));
        }
        if let Some(alg) = &r.signing_alg
            && alg != "RS256"
        {
            return Err(loc.at(
                "resourceServers",
                alg,
                format!("signing_alg \"{alg}\" is not supported (only RS256)"),
            ));
        }
        let dialect = r.token_dialect.as_deref().unwrap_or("access_token");
        if !["access_token", "access_token_authz"].contains(&dialect) {
            return Err(loc.at(
                "resourceServers",
                dialect,
                format!(
                    "unsupported token_dialect \"{dialect}\" (access_token or access_token_authz)"
                ),
            ));
        }
        let lifetime = r.token_lifetime.unwrap_or(86_400);
        if !(1..=2_592_000).contains(&lifetime) {
            return Err(loc.at(
                "resourceServers",
                "token_lifetime",
                "token_lifetime must be between 1 and 2592000 seconds",
            ));
        }
        let _ = r.skip_consent_for_verifiable_first_party_clients;
        resource_servers.push(ResourceServerConfig {
            name: r.name.clone(),
            identifier: r.identifier.clone(),
            token_lifetime_secs: lifetime,
            allow_offline_access: r.allow_offline_access.unwrap_or(false),
            enforce_policies: r.enforce_policies.unwrap_or(false),
            permissions_in_token: r.enforce_policies.unwrap_or(false)
                && dialect == "access_token_authz",
            scopes: r
                .scopes
                .iter()
                .map(|s| (s.value.clone(), s.description.clone().unwrap_or_default()))
                .collect(),
        });
    }
    let scopes_of = |audience: &str| -> Option<Vec<String>> {
        if audience == mgmt_audience {
            return Some(MANAGEMENT_SCOPES.iter().map(|s| s.to_string()).collect());
        }
        resource_servers
            .iter()
            .find(|r| r.identifier == audience)
            .map(|r| r.scopes.iter().map(|(s, _)| s.clone()).collect())
    };

    // Client grants.
    let mut client_grants = Vec::new();
    for g in &root.clientGrants {
        let Some(client_id) = client_ref(&g.client_id) else {
            return Err(loc.at(
                "clientGrants",
                &g.client_id,
                format!("client grant names an unknown client \"{}\"", g.client_id),
            ));
        };
        let Some(defined) = scopes_of(&g.audience) else {
            return Err(loc.at(
                "clientGrants",
                &g.audience,
                format!("client grant names an unknown audience \"{}\"", g.audience),
            ));
        };
        for s in &g.scope {
            if !defined.contains(s) {
                return Err(loc.at(
                    "clientGrants",
                    s,
                    format!("scope \"{s}\" is not defined on \"{}\"", g.audience),
                ));
            }
        }
        if client_grants
            .iter()
            .any(|x: &ClientGrantConfig| x.client_id == client_id && x.audience == g.audience)
        {
            return Err(loc.at(
                "clientGrants",
                &g.audience,
                "duplicate client grant for this client and audience",
            ));
        }
        client_grants.push(ClientGrantConfig {
            id: stable_id("cgr_", &format!("{client_id}|{}", g.audience)),
            client_id,
            audience: g.audience.clone(),
            scope: g.scope.clone(),
        });
    }

    // Roles.
    let mut roles: Vec<RoleConfig> = Vec::new();
    for r in &root.roles {
        if roles.iter().any(|x| x.name == r.name) {
            return Err(loc.at("roles", &r.name, format!("duplicate role \"{}\"", r.name)));
        }
        let mut permissions = Vec::new();
        for p in &r.permissions {
            let Some(defined) = scopes_of(&p.resource_server_identifier) else {
                return Err(loc.at(
                    "roles",
                    &p.resource_server_identifier,
                    format!(
                        "role \"{}\" names an unknown resource server \"{}\"",
                        r.name, p.resource_server_identifier
                    ),
                ));
            };
            if !defined.contains(&p.permission_name) {
                return Err(loc.at(
                    "roles",
                    &p.permission_name,
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
        roles.push(RoleConfig {
            id: stable_id("rol_", &r.name),
            name: r.name.clone(),
            description: r.description.clone().unwrap_or_default(),
            permissions,
        });
    }

    // Database connection (the emulator supports exactly one).
    let database = match root.databases.as_slice() {
        [] => DatabaseConfig {
            name: "Username-Password-Authentication".into(),
            id: stable_id("con_", "Username-Password-Authentication"),
            policy: Policy::Good,
            disable_signup: false,
            brute_force_protection: true,
            enabled_clients: clients.iter().map(|c| c.client_id.clone()).collect(),
        },
        [db] => {
            if let Some(s) = &db.strategy
                && s != "auth0"
            {
                return Err(loc.at(
                    "databases",
                    s,
                    format!("unsupported strategy \"{s}\" (only auth0)"),
                ));
            }
            let opts = db.options.as_ref();
            let level = opts
                .and_then(|o| o.passwordPolicy.as_deref())
                .unwrap_or("good");
            let min_length = opts
                .and_then(|o| o.password_complexity_options.as_ref())
                .and_then(|c| c.min_length);
            let Some(policy) = PasswordPolicy::parse(level, min_length) else {
                return Err(loc.at(
                    "databases",
                    level,
                    format!(
                        "unknown passwordPolicy \"{level}\" (none, low, fair, good or excellent)"
                    ),
                ));
            };
            let mut enabled = Vec::new();
            for c in &db.enabled_clients {
                let Some(id) = client_ref(c) else {
                    return Err(loc.at(
                        "databases",
                        c,
                        format!("enabled_clients names an unknown client \"{c}\""),
                    ));
                };
                enabled.push(id);
            }
            let _ = opts.and_then(|o| o.requires_username);
            DatabaseConfig {
                name: db.name.clone(),
                id: stable_id("con_", &db.name),
                policy,
                disable_signup: opts.and_then(|o| o.disable_signup).unwrap_or(false),
                brute_force_protection: opts.and_then(|o| o.brute_force_protection).unwrap_or(true),
                enabled_clients: enabled,
            }
        }
        [_, second, ..] => {
            return Err(loc.at(
                "databases",
                &second.name,
                "the dev tenant supports exactly one database connection",
            ));
        }
    };

    // Attack protection.
    let ap = root.attackProtection.as_ref();
    let bf = ap.and_then(|a| a.bruteForceProtection.as_ref());
    let mode = bf
        .and_then(|b| b.mode.as_deref())
        .unwrap_or("count_per_identifier_and_ip");
    if !["count_per_identifier_and_ip", "count_per_identifier"].contains(&mode) {
        return Err(loc.at(
            "attackProtection",
            mode,
            format!("unknown brute-force mode \"{mode}\""),
        ));
    }
    let max_attempts = bf.and_then(|b| b.max_attempts).unwrap_or(10);
    if !(1..=100).contains(&max_attempts) {
        return Err(loc.at(
            "attackProtection",
            "max_attempts",
            "max_attempts must be between 1 and 100",
        ));
    }
    let breached = ap.and_then(|a| a.breachedPasswordDetection.as_ref());
    let _ = ap.and_then(|a| a.suspiciousIpThrottling.as_ref());
    let attack_protection = AttackProtectionConfig {
        brute_force_enabled: bf.and_then(|b| b.enabled).unwrap_or(true)
            && bf
                .map(|b| b.shields.is_empty() || b.shields.iter().any(|s| s == "block"))
                .unwrap_or(true)
            && database.brute_force_protection,
        max_attempts,
        per_identifier_only: mode == "count_per_identifier",
        allowlist: bf.map(|b| b.allowlist.clone()).unwrap_or_default(),
        breached_password_block: breached.and_then(|b| b.enabled).unwrap_or(false)
            && breached
                .map(|b| b.shields.iter().any(|s| s == "block"))
                .unwrap_or(false),
    };

    // Tenant settings.
    let t = &root.tenant;
    if let Some(aud) = &t.default_audience
        && scopes_of(aud).is_none()
    {
        return Err(loc.at(
            "tenant",
            aud,
            format!("default_audience \"{aud}\" is not a resource server"),
        ));
    }
    if let Some(dir) = &t.default_directory
        && dir != &database.name
    {
        return Err(loc.at(
            "tenant",
            dir,
            format!("default_directory \"{dir}\" is not a database connection"),
        ));
    }
    let tenant = TenantSettings {
        friendly_name: t
            .friendly_name
            .clone()
            .unwrap_or_else(|| "Dev Tenant".into()),
        default_audience: t.default_audience.clone(),
        default_directory: t.default_directory.clone(),
        session_lifetime_secs: (t.session_lifetime.unwrap_or(168.0) * 3600.0) as i64,
        idle_session_lifetime_secs: (t.idle_session_lifetime.unwrap_or(72.0) * 3600.0) as i64,
        allowed_logout_urls: t.allowed_logout_urls.clone(),
        end_session_endpoint_discovery: t
            .oidc_logout
            .as_ref()
            .and_then(|o| o.rp_logout_end_session_endpoint_discovery)
            .unwrap_or(true),
    };

    // Users.
    let mut users = Vec::new();
    let mut emails = HashMap::new();
    let mut ids = HashSet::new();
    for u in &root.users {
        let email = u.email.trim().to_lowercase();
        if !passwords::looks_like_email(&email) {
            return Err(loc.at(
                "users",
                &u.email,
                format!("\"{}\" is not an email address", u.email),
            ));
        }
        if emails.insert(email.clone(), ()).is_some() {
            return Err(loc.at(
                "users",
                &u.email,
                format!("duplicate user email \"{email}\""),
            ));
        }
        let user_id = match &u.user_id {
            Some(id) => {
                let rest = id.strip_prefix("auth0|").unwrap_or("");
                if rest.is_empty()
                    || !rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(loc.at(
                        "users",
                        id,
                        format!("user_id \"{id}\" must look like auth0|<id>"),
                    ));
                }
                id.clone()
            }
            None => format!(
                "auth0|{}",
                crate::util::hex(&crate::util::sha256(email.as_bytes())[..12])
            ),
        };
        if !ids.insert(user_id.clone()) {
            return Err(loc.at(
                "users",
                &user_id,
                format!("duplicate user_id \"{user_id}\""),
            ));
        }
        for r in &u.roles {
            if !roles.iter().any(|x| &x.name == r) {
                return Err(loc.at(
                    "users",
                    r,
                    format!("user \"{email}\" has an unknown role \"{r}\""),
                ));
            }
        }
        if let Err(rules) = database.policy.check(&u.password) {
            return Err(loc.at(
                "users",
                &u.password,
                format!(
                    "the password of \"{email}\" violates the connection's password policy: {}",
                    rules.summary()
                ),
            ));
        }
        let user_metadata = u.user_metadata.clone().unwrap_or_default();
        users.push(SeedUser {
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
            user_metadata,
            app_metadata: u.app_metadata.clone(),
        });
    }
    let _ = (
        &root.actions,
        &root.triggers,
        &root.connections,
        &root.emailProvider,
        &root.emailTemplates,
        &root.pages,
        &root.prompts,
        &root.branding,
        &root.organizations,
        &root.guardianFactors,
        &root.logStreams,
    );

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

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "http://127.0.0.1:3001/";
    const APP: &str = "http://localhost:3000";

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

    fn err(yaml: &str) -> TenantFileError {
        parse_tenant(yaml, ISS, APP).expect_err("must fail")
    }

    #[test]
    fn unknown_top_level_key() {
        let e = err("tenant:\n  friendly_name: x\nbogus: 1\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.reason.contains("bogus"), "{e}");
        assert!(e.to_string().starts_with("tenant.yaml:3:"));
    }

    #[test]
    fn wrong_type() {
        let e = err("tenant:\n  friendly_name: x\nclients: 5\n");
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn unknown_role_on_user() {
        let y = crate::DEFAULT_TENANT_YAML.replace("roles: [user, admin]", "roles: [user, wizard]");
        let e = err(&y);
        assert!(e.reason.contains("wizard"), "{e}");
        let line = y.lines().nth(e.line - 1).unwrap_or("");
        assert!(line.contains("wizard"), "{e} -> {line}");
    }

    #[test]
    fn grant_unknown_client_and_weak_password() {
        let y = crate::DEFAULT_TENANT_YAML.replacen(
            "  - client_id: PyMD Management (M2M)",
            "  - client_id: Nope",
            1,
        );
        assert!(err(&y).reason.contains("unknown client"));
        let y = crate::DEFAULT_TENANT_YAML.replace("Bob-Dev-2026!", "bob");
        let e = err(&y);
        assert!(e.reason.contains("password policy"), "{e}");
        assert!(
            !e.reason.contains("bob\""),
            "password must not be echoed: {e}"
        );
    }

    #[test]
    fn role_with_unknown_scope() {
        let y = crate::DEFAULT_TENANT_YAML.replacen(
            "permission_name: read:documents",
            "permission_name: read:secrets",
            1,
        );
        assert!(err(&y).reason.contains("read:secrets"));
    }

    #[test]
    fn duplicate_email() {
        let y = crate::DEFAULT_TENANT_YAML.replace("bob@example.com", "alice@example.com");
        assert!(err(&y).reason.contains("duplicate user email"));
    }
}
