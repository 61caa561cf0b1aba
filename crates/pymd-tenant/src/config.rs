//! Tenant as code: parses `tenant.yaml` (Auth0 Deploy CLI layout plus a `users` seed),
//! applies the Deploy CLI keyword replacement (`##ISSUER##`, `##APP_BASE_URL##`) and checks
//! every cross-reference, so a broken file stops the tenant at start with `file:line:col`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

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

/// Keys the Deploy CLI exports that the emulator accepts and does not act on are typed
/// [`Ignored`]: listed, so that a misspelt key is refused instead of silently ignored.
type Ignored = Option<IgnoredAny>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
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
    #[serde(default)]
    enabled_locales: Ignored,
    #[serde(default)]
    flags: Ignored,
    #[serde(default)]
    picture_url: Ignored,
    #[serde(default)]
    support_email: Ignored,
    #[serde(default)]
    support_url: Ignored,
    #[serde(default)]
    universal_login: Ignored,
    #[serde(default)]
    session_cookie: Ignored,
    #[serde(default)]
    sessions: Ignored,
    #[serde(default)]
    sandbox_version: Ignored,
    #[serde(default)]
    default_redirection_uri: Ignored,
    #[serde(default)]
    error_page: Ignored,
    #[serde(default)]
    guardian_mfa_page: Ignored,
    #[serde(default)]
    change_password: Ignored,
    #[serde(default)]
    device_flow: Ignored,
    #[serde(default)]
    customize_mfa_in_postlogin_action: Ignored,
    #[serde(default)]
    allow_organization_name_in_authentication_api: Ignored,
    #[serde(default)]
    pushed_authorization_requests_supported: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOidcLogout {
    #[serde(default)]
    rp_logout_end_session_endpoint_discovery: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
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
    #[serde(default)]
    allowed_clients: Ignored,
    #[serde(default)]
    allowed_origins: Ignored,
    #[serde(default)]
    client_aliases: Ignored,
    #[serde(default)]
    client_metadata: Ignored,
    #[serde(default)]
    cross_origin_auth: Ignored,
    #[serde(default)]
    cross_origin_authentication: Ignored,
    #[serde(default)]
    cross_origin_loc: Ignored,
    #[serde(default)]
    custom_login_page: Ignored,
    #[serde(default)]
    custom_login_page_on: Ignored,
    #[serde(default)]
    custom_login_page_preview: Ignored,
    #[serde(default)]
    form_template: Ignored,
    #[serde(default)]
    initiate_login_uri: Ignored,
    #[serde(default)]
    is_token_endpoint_ip_header_trusted: Ignored,
    #[serde(default)]
    logo_uri: Ignored,
    #[serde(default)]
    native_social_login: Ignored,
    #[serde(default)]
    organization_require_behavior: Ignored,
    #[serde(default)]
    organization_usage: Ignored,
    #[serde(default)]
    sso: Ignored,
    #[serde(default)]
    sso_disabled: Ignored,
    #[serde(default)]
    mobile: Ignored,
    #[serde(default)]
    addons: Ignored,
    #[serde(default)]
    oidc_backchannel_logout: Ignored,
    #[serde(default)]
    oidc_logout: Ignored,
    #[serde(default)]
    require_pushed_authorization_requests: Ignored,
    #[serde(default)]
    require_proof_of_possession: Ignored,
    #[serde(default)]
    compliance_level: Ignored,
    #[serde(default)]
    signed_request_object: Ignored,
    #[serde(default)]
    client_authentication_methods: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
struct FileJwtConfiguration {
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    lifetime_in_seconds: Option<i64>,
    #[serde(default)]
    secret_encoded: Ignored,
    #[serde(default)]
    scopes: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
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
    #[serde(default)]
    policies: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
struct FileClientGrant {
    client_id: String,
    audience: String,
    #[serde(default)]
    scope: Vec<String>,
    #[serde(default)]
    allow_any_organization: Ignored,
    #[serde(default)]
    organization_usage: Ignored,
    #[serde(default)]
    subject_type: Ignored,
    #[serde(default)]
    authorization_details_types: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRole {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
struct FileDatabase {
    name: String,
    #[serde(default)]
    strategy: Option<String>,
    #[serde(default)]
    enabled_clients: Vec<String>,
    #[serde(default)]
    options: Option<FileDbOptions>,
    #[serde(default)]
    display_name: Ignored,
    #[serde(default)]
    is_domain_connection: Ignored,
    #[serde(default)]
    realms: Ignored,
    #[serde(default)]
    metadata: Ignored,
    #[serde(default)]
    show_as_button: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)] // Deploy CLI key names; the `Ignored` keys are never read
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
    #[serde(default)]
    mfa: Ignored,
    #[serde(default)]
    import_mode: Ignored,
    #[serde(default)]
    customScripts: Ignored,
    #[serde(default)]
    enabledDatabaseCustomization: Ignored,
    #[serde(default)]
    password_history: Ignored,
    #[serde(default)]
    password_dictionary: Ignored,
    #[serde(default)]
    password_no_personal_info: Ignored,
    #[serde(default)]
    strategy_version: Ignored,
    #[serde(default)]
    authentication_methods: Ignored,
    #[serde(default)]
    passkey_options: Ignored,
    #[serde(default)]
    attributes: Ignored,
    #[serde(default)]
    precedence: Ignored,
    #[serde(default)]
    validation: Ignored,
    #[serde(default)]
    non_persistent_attrs: Ignored,
    #[serde(default)]
    configuration: Ignored,
    #[serde(default)]
    upstream_params: Ignored,
    #[serde(default)]
    set_user_root_attributes: Ignored,
    #[serde(default)]
    disable_self_service_change_password: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileComplexity {
    #[serde(default)]
    min_length: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)] // Deploy CLI key names; the `Ignored` keys are never read
struct FileAttackProtection {
    #[serde(default)]
    bruteForceProtection: Option<FileBruteForce>,
    #[serde(default)]
    breachedPasswordDetection: Option<FileBreached>,
    #[serde(default)]
    suspiciousIpThrottling: Ignored,
    #[serde(default)]
    botDetection: Ignored,
    #[serde(default)]
    captcha: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
struct FileBreached {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    shields: Vec<String>,
    #[serde(default)]
    admin_notification_frequency: Ignored,
    #[serde(default)]
    method: Ignored,
    #[serde(default)]
    stage: Ignored,
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

/// One step of a path into the YAML document: a mapping key or a sequence index.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn k(key: &str) -> Seg<'_> {
    Seg::Key(key)
}

fn n(index: usize) -> Seg<'static> {
    Seg::Index(index)
}

/// Marker of the probe's own error (never shown).
const FOUND: &str = "\u{1}pymd-tenant-locate\u{1}";

/// Walks the document along a path and fails with [`FOUND`] on the node it names, so the YAML
/// parser attaches that node's own position to the error.
struct Probe<'p>(&'p [Seg<'p>]);

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Probe<'_> {
    fn leaf<E: de::Error>(self) -> Result<(), E> {
        if self.0.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

/// A mapping key as text (scalar keys of any type), `None` for complex keys.
struct KeyText(Option<String>);

impl<'de> de::Deserialize<'de> for KeyText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<KeyText, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeyText(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<KeyText, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KeyText(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        let target = match self.0.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Seg::Index(i), rest)) => Some((*i, rest)),
            Some((Seg::Key(_), _)) => None,
        };
        let mut index = 0;
        loop {
            let more = match target {
                Some((i, rest)) if i == index => a.next_element_seed(Probe(rest))?.is_some(),
                _ => a.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        let target = match self.0.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Seg::Key(key), rest)) => Some((*key, rest)),
            Some((Seg::Index(_), _)) => None,
        };
        while let Some(KeyText(key)) = a.next_key::<KeyText>()? {
            match target {
                Some((want, rest)) if key.as_deref() == Some(want) => {
                    a.next_value_seed(Probe(rest))?
                }
                _ => {
                    a.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Positions in the tenant file: the YAML parser's own location of a node, reported in the
/// coordinates of the file as written (before keyword replacement).
struct Locator<'a> {
    /// The file as written.
    original: &'a str,
    /// After keyword replacement (what was parsed).
    text: &'a str,
    /// (keyword, replacement) pairs.
    keywords: [(&'static str, &'a str); 2],
}

impl Locator<'_> {
    /// An error at the node `path` names, or at its nearest ancestor present in the file (a
    /// value that was defaulted), or at 1:1.
    fn at(&self, path: &[Seg<'_>], reason: impl Into<String>) -> TenantFileError {
        let (line, column) = (0..=path.len())
            .rev()
            .find_map(|len| self.node(&path[..len]))
            .unwrap_or((1, 1));
        TenantFileError {
            line,
            column,
            reason: reason.into(),
        }
    }

    fn node(&self, path: &[Seg<'_>]) -> Option<(usize, usize)> {
        let de = yaml_serde::Deserializer::from_str(self.text);
        match Probe(path).deserialize(de) {
            Err(e) if e.to_string().contains(FOUND) => e
                .location()
                .map(|l| (l.line(), self.original_column(l.line(), l.column()))),
            _ => None,
        }
    }

    /// Maps a 1-based column of the replaced text back to the file as written.
    fn original_column(&self, line: usize, column: usize) -> usize {
        let Some(src) = self.original.lines().nth(line.saturating_sub(1)) else {
            return column;
        };
        let (mut replaced, mut original, mut rest) = (1, 1, src);
        while replaced < column && !rest.is_empty() {
            if let Some((kw, value)) = self.keywords.iter().find(|(kw, _)| rest.starts_with(kw)) {
                replaced += value.chars().count();
                if replaced > column {
                    return original; // inside a replacement: point at its keyword
                }
                original += kw.chars().count();
                rest = &rest[kw.len()..];
            } else {
                let c = rest.chars().next().map(char::len_utf8).unwrap_or(1);
                replaced += 1;
                original += 1;
                rest = &rest[c..];
            }
        }
        original + column.saturating_sub(replaced)
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
    let loc = Locator {
        original: yaml,
        text: &text,
        keywords: [("##ISSUER##", &issuer), ("##APP_BASE_URL##", app_base)],
    };
    let root: FileRoot = yaml_serde::from_str(&text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), loc.original_column(l.line(), l.column())))
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
    resolve(root, &loc, issuer.clone())
}

fn resolve(
    root: FileRoot,
    loc: &Locator<'_>,
    issuer: String,
) -> Result<TenantConfig, TenantFileError> {
    let mgmt_audience = format!("{issuer}api/v2/");

    // Clients.
    let mut clients = Vec::new();
    let mut seen_ids = HashSet::new();
    let mut seen_names = HashSet::new();
    for (ci, c) in root.clients.iter().enumerate() {
        let at = |key: &'static str| [k("clients"), n(ci), k(key)];
        if c.client_id.trim().is_empty() {
            return Err(loc.at(&at("client_id"), "client_id must not be empty"));
        }
        if !seen_ids.insert(c.client_id.clone()) {
            return Err(loc.at(
                &at("client_id"),
                format!("duplicate client_id \"{}\"", c.client_id),
            ));
        }
        if !seen_names.insert(c.name.clone()) {
            return Err(loc.at(&at("name"), format!("duplicate client name \"{}\"", c.name)));
        }
        let app_type = c.app_type.as_str();
        if !["regular_web", "spa", "native", "non_interactive"].contains(&app_type) {
            return Err(loc.at(
                &at("app_type"),
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
                    &at("token_endpoint_auth_method"),
                    format!("unsupported token_endpoint_auth_method \"{other}\""),
                ));
            }
        };
        if auth_method != AuthMethod::None && c.client_secret.as_deref().unwrap_or("").is_empty() {
            return Err(loc.at(
                &at("client_secret"),
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
        for (gi, g) in grant_types.iter().enumerate() {
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
                return Err(loc.at(
                    &[k("clients"), n(ci), k("grant_types"), n(gi)],
                    format!("unknown grant type \"{g}\""),
                ));
            }
        }
        let urls = (c
            .callbacks
            .iter()
            .enumerate()
            .map(|(i, u)| ("callbacks", i, u)))
        .chain(
            (c.allowed_logout_urls.iter().enumerate()).map(|(i, u)| ("allowed_logout_urls", i, u)),
        );
        for (list, i, cb) in urls {
            if url::Url::parse(cb).is_err() {
                return Err(loc.at(
                    &[k("clients"), n(ci), k(list), n(i)],
                    format!("\"{cb}\" is not an absolute URL"),
                ));
            }
        }
        if let Some(jwt) = &c.jwt_configuration
            && let Some(alg) = &jwt.alg
            && alg != "RS256"
        {
            return Err(loc.at(
                &[k("clients"), n(ci), k("jwt_configuration"), k("alg")],
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
    for (ri, r) in root.resourceServers.iter().enumerate() {
        let at = |key: &'static str| [k("resourceServers"), n(ri), k(key)];
        if r.identifier == mgmt_audience
            || resource_servers
                .iter()
                .any(|x| x.identifier == r.identifier)
        {
            return Err(loc.at(
                &at("identifier"),
                format!("duplicate resource server identifier \"{}\"", r.identifier),
            ));
        }
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
                format!(
                    "unsupported token_dialect \"{dialect}\" (access_token or access_token_authz)"
                ),
            ));
        }
        let lifetime = r.token_lifetime.unwrap_or(86_400);
        if !(1..=2_592_000).contains(&lifetime) {
            return Err(loc.at(
                &at("token_lifetime"),
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
    for (gi, g) in root.clientGrants.iter().enumerate() {
        let at = |key: &'static str| [k("clientGrants"), n(gi), k(key)];
        let Some(client_id) = client_ref(&g.client_id) else {
            return Err(loc.at(
                &at("client_id"),
                format!("client grant names an unknown client \"{}\"", g.client_id),
            ));
        };
        let Some(defined) = scopes_of(&g.audience) else {
            return Err(loc.at(
                &at("audience"),
                format!("client grant names an unknown audience \"{}\"", g.audience),
            ));
        };
        for (si, s) in g.scope.iter().enumerate() {
            if !defined.contains(s) {
                return Err(loc.at(
                    &[k("clientGrants"), n(gi), k("scope"), n(si)],
                    format!("scope \"{s}\" is not defined on \"{}\"", g.audience),
                ));
            }
        }
        if client_grants
            .iter()
            .any(|x: &ClientGrantConfig| x.client_id == client_id && x.audience == g.audience)
        {
            return Err(loc.at(
                &at("audience"),
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
    for (ri, r) in root.roles.iter().enumerate() {
        if roles.iter().any(|x| x.name == r.name) {
            return Err(loc.at(
                &[k("roles"), n(ri), k("name")],
                format!("duplicate role \"{}\"", r.name),
            ));
        }
        let mut permissions = Vec::new();
        for (pi, p) in r.permissions.iter().enumerate() {
            let at = |key: &'static str| [k("roles"), n(ri), k("permissions"), n(pi), k(key)];
            let Some(defined) = scopes_of(&p.resource_server_identifier) else {
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
                    &[k("databases"), n(0), k("strategy")],
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
                    &[k("databases"), n(0), k("options"), k("passwordPolicy")],
                    format!(
                        "unknown passwordPolicy \"{level}\" (none, low, fair, good or excellent)"
                    ),
                ));
            };
            let mut enabled = Vec::new();
            for (i, c) in db.enabled_clients.iter().enumerate() {
                let Some(id) = client_ref(c) else {
                    return Err(loc.at(
                        &[k("databases"), n(0), k("enabled_clients"), n(i)],
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
        [_, _, ..] => {
            return Err(loc.at(
                &[k("databases"), n(1), k("name")],
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
            &[k("attackProtection"), k("bruteForceProtection"), k("mode")],
            format!("unknown brute-force mode \"{mode}\""),
        ));
    }
    let max_attempts = bf.and_then(|b| b.max_attempts).unwrap_or(10);
    if !(1..=100).contains(&max_attempts) {
        return Err(loc.at(
            &[
                k("attackProtection"),
                k("bruteForceProtection"),
                k("max_attempts"),
            ],
            "max_attempts must be between 1 and 100",
        ));
    }
    let breached = ap.and_then(|a| a.breachedPasswordDetection.as_ref());
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
            &[k("tenant"), k("default_audience")],
            format!("default_audience \"{aud}\" is not a resource server"),
        ));
    }
    if let Some(dir) = &t.default_directory
        && dir != &database.name
    {
        return Err(loc.at(
            &[k("tenant"), k("default_directory")],
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
    for (ui, u) in root.users.iter().enumerate() {
        let at = |key: &'static str| [k("users"), n(ui), k(key)];
        let email = u.email.trim().to_lowercase();
        if !passwords::looks_like_email(&email) {
            return Err(loc.at(
                &at("email"),
                format!("\"{}\" is not an email address", u.email),
            ));
        }
        if emails.insert(email.clone(), ()).is_some() {
            return Err(loc.at(&at("email"), format!("duplicate user email \"{email}\"")));
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
                        &at("user_id"),
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
            return Err(loc.at(&at("user_id"), format!("duplicate user_id \"{user_id}\"")));
        }
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
                &at("password"),
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
