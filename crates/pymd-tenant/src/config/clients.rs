//! The `clients` section: applications, with their token-endpoint authentication, grant
//! types, callback and logout URLs, ID-token settings and refresh-token policy.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;

use super::dev_file::FileCredentials;
use super::error::{Locator, Seg, TenantFileError, k, n};
use super::ids::stable_id;
use super::shape::Ignored;

/// A client's `oidc_logout` (OpenID Connect Back-Channel Logout, Management API client keys).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
struct FileOidcLogout {
    #[serde(default)]
    backchannel_logout_urls: Vec<String>,
    #[serde(default)]
    backchannel_logout_initiators: Option<FileInitiators>,
    #[serde(default)]
    backchannel_logout_session_metadata: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileInitiators {
    mode: String,
    #[serde(default)]
    selected_initiators: Vec<String>,
}

/// The session-termination events Auth0 can send a logout token for.
const INITIATORS: [&str; 9] = [
    "rp-logout",
    "idp-logout",
    "password-changed",
    "session-expired",
    "session-revoked",
    "account-deleted",
    "email-identifier-changed",
    "mfa-phone-unenrolled",
    "account-deactivated",
];

/// Which session ends a client is told about over the back channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackchannelInitiators {
    /// Every initiator, present and future (`mode: all`).
    All,
    /// The listed ones (`mode: custom`); `rp-logout` is always among them, as on Auth0.
    Custom(Vec<String>),
}

impl BackchannelInitiators {
    /// Whether an end of session by `initiator` is sent.
    pub fn includes(&self, initiator: &str) -> bool {
        match self {
            BackchannelInitiators::All => true,
            BackchannelInitiators::Custom(list) => {
                initiator == "rp-logout" || list.iter().any(|i| i == initiator)
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
pub(super) struct FileClient {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
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
    oidc_logout: Option<FileOidcLogout>,
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
    /// OpenID Connect Back-Channel Logout URLs (`oidc_logout.backchannel_logout_urls`).
    pub backchannel_logout_urls: Vec<String>,
    /// Which session ends are sent there.
    pub backchannel_initiators: BackchannelInitiators,
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

/// App types the emulator knows.
const APP_TYPES: &[&str] = &["regular_web", "spa", "native", "non_interactive"];

/// Grant types a client may list.
const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "implicit",
    "http://auth0.com/oauth/grant-type/password-realm",
];

/// Refresh-token absolute and idle lifetime when the file names none: 30 days.
const DEFAULT_REFRESH_LIFETIME_SECS: i64 = 2_592_000;

/// ID-token lifetime when the file names none: 10 hours.
const DEFAULT_ID_TOKEN_LIFETIME_SECS: i64 = 36_000;

/// The path of key `key` of the `ci`-th client.
fn at(ci: usize, key: &'static str) -> [Seg<'static>; 3] {
    [k("clients"), n(ci), k(key)]
}

/// Resolves the `clients` section: ids and names unique, each client valid.
///
/// Auth0 generates a client's id and secret (the Deploy CLI cannot set them on create), so a
/// client without them takes `pymd-dev.yaml`'s, else ones derived from its name.
pub(super) fn resolve(
    files: &[FileClient],
    generated: &BTreeMap<String, FileCredentials>,
    loc: &Locator<'_>,
) -> Result<Vec<ClientConfig>, TenantFileError> {
    let mut clients = Vec::new();
    let mut seen_ids = HashSet::new();
    let mut seen_names = HashSet::new();
    for (ci, c) in files.iter().enumerate() {
        let given = generated.get(&c.name);
        let client_id = c
            .client_id
            .clone()
            .or_else(|| given.map(|g| g.client_id.clone()))
            .unwrap_or_else(|| stable_id("", &format!("client:{}", c.name)).repeat(2));
        if client_id.trim().is_empty() {
            return Err(loc.at(&at(ci, "client_id"), "client_id must not be empty"));
        }
        if !seen_ids.insert(client_id.clone()) {
            return Err(loc.at(
                &at(ci, "client_id"),
                format!("duplicate client_id \"{client_id}\""),
            ));
        }
        let secret = c
            .client_secret
            .clone()
            .or_else(|| given.and_then(|g| g.client_secret.clone()))
            .unwrap_or_else(|| {
                let digest = crate::util::sha256(format!("client-secret:{}", c.name).as_bytes());
                format!("dev-{}", crate::util::hex(&digest))
            });
        if !seen_names.insert(c.name.clone()) {
            return Err(loc.at(
                &at(ci, "name"),
                format!("duplicate client name \"{}\"", c.name),
            ));
        }
        clients.push(client(ci, c, client_id, secret, loc)?);
    }
    Ok(clients)
}

/// The client id of the client named by `name_or_id` (its name or its id).
pub(super) fn client_ref(clients: &[ClientConfig], name_or_id: &str) -> Option<String> {
    clients
        .iter()
        .find(|c| c.client_id == name_or_id || c.name == name_or_id)
        .map(|c| c.client_id.clone())
}

/// One client, checked in the order its keys are validated: app type, authentication method
/// and secret, grant types, URLs, ID-token algorithm.
fn client(
    ci: usize,
    c: &FileClient,
    client_id: String,
    secret: String,
    loc: &Locator<'_>,
) -> Result<ClientConfig, TenantFileError> {
    let app_type = c.app_type.as_str();
    if !APP_TYPES.contains(&app_type) {
        return Err(loc.at(
            &at(ci, "app_type"),
            format!(
                "unknown app_type \"{app_type}\" (expected regular_web, spa, native or non_interactive)"
            ),
        ));
    }
    let auth_method = auth_method(ci, c, loc)?;
    if auth_method != AuthMethod::None && secret.is_empty() {
        return Err(loc.at(
            &at(ci, "client_secret"),
            format!(
                "client \"{}\" uses a secret method but has no client_secret",
                c.name
            ),
        ));
    }
    let grant_types = grant_types(ci, c, loc)?;
    check_urls(ci, c, loc)?;
    if let Some(jwt) = &c.jwt_configuration
        && let Some(alg) = &jwt.alg
        && alg != "RS256"
    {
        return Err(loc.at(
            &[k("clients"), n(ci), k("jwt_configuration"), k("alg")],
            format!("jwt_configuration.alg \"{alg}\" is not supported (only RS256)"),
        ));
    }
    Ok(ClientConfig {
        name: c.name.clone(),
        client_id,
        client_secret: Some(secret).filter(|s| !s.is_empty() && auth_method != AuthMethod::None),
        app_type: app_type.to_string(),
        auth_method,
        grant_types,
        callbacks: c.callbacks.clone(),
        allowed_logout_urls: c.allowed_logout_urls.clone(),
        id_token_lifetime_secs: c
            .jwt_configuration
            .as_ref()
            .and_then(|j| j.lifetime_in_seconds)
            .unwrap_or(DEFAULT_ID_TOKEN_LIFETIME_SECS),
        refresh_token: refresh_token(c.refresh_token.as_ref()),
        backchannel_logout_urls: c
            .oidc_logout
            .as_ref()
            .map(|o| o.backchannel_logout_urls.clone())
            .unwrap_or_default(),
        backchannel_initiators: initiators(ci, c, loc)?,
    })
}

/// `oidc_logout.backchannel_logout_initiators`: `mode` `all` or `custom` (the default, with
/// `rp-logout`), and only Auth0's initiator names.
fn initiators(
    ci: usize,
    c: &FileClient,
    loc: &Locator<'_>,
) -> Result<BackchannelInitiators, TenantFileError> {
    let Some(init) = c
        .oidc_logout
        .as_ref()
        .and_then(|o| o.backchannel_logout_initiators.as_ref())
    else {
        return Ok(BackchannelInitiators::Custom(vec!["rp-logout".into()]));
    };
    let path = |last: &'static str| {
        [
            k("clients"),
            n(ci),
            k("oidc_logout"),
            k("backchannel_logout_initiators"),
            k(last),
        ]
    };
    for (i, name) in init.selected_initiators.iter().enumerate() {
        if !INITIATORS.contains(&name.as_str()) {
            let mut at = path("selected_initiators").to_vec();
            at.push(n(i));
            return Err(loc.at(
                &at,
                format!("unknown back-channel logout initiator \"{name}\""),
            ));
        }
    }
    match init.mode.as_str() {
        "all" => Ok(BackchannelInitiators::All),
        "custom" => Ok(BackchannelInitiators::Custom(
            init.selected_initiators.clone(),
        )),
        other => Err(loc.at(
            &path("mode"),
            format!("backchannel_logout_initiators.mode \"{other}\" must be all or custom"),
        )),
    }
}

/// The token-endpoint authentication: public for SPAs and native apps unless named.
fn auth_method(
    ci: usize,
    c: &FileClient,
    loc: &Locator<'_>,
) -> Result<AuthMethod, TenantFileError> {
    let public = c.app_type == "spa" || c.app_type == "native";
    match c.token_endpoint_auth_method.as_deref() {
        None if public => Ok(AuthMethod::None),
        None | Some("client_secret_post") => Ok(AuthMethod::ClientSecretPost),
        Some("client_secret_basic") => Ok(AuthMethod::ClientSecretBasic),
        Some("none") => Ok(AuthMethod::None),
        Some(other) => Err(loc.at(
            &at(ci, "token_endpoint_auth_method"),
            format!("unsupported token_endpoint_auth_method \"{other}\""),
        )),
    }
}

/// The grant types listed, or the app type's defaults; each must be known.
fn grant_types(
    ci: usize,
    c: &FileClient,
    loc: &Locator<'_>,
) -> Result<Vec<String>, TenantFileError> {
    let grant_types = c
        .grant_types
        .clone()
        .unwrap_or_else(|| match c.app_type.as_str() {
            "non_interactive" => vec!["client_credentials".into()],
            "spa" | "native" => vec!["authorization_code".into(), "refresh_token".into()],
            _ => vec![
                "authorization_code".into(),
                "refresh_token".into(),
                "client_credentials".into(),
            ],
        });
    for (gi, g) in grant_types.iter().enumerate() {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(loc.at(
                &[k("clients"), n(ci), k("grant_types"), n(gi)],
                format!("unknown grant type \"{g}\""),
            ));
        }
    }
    Ok(grant_types)
}

/// Callback and logout URLs must be absolute.
fn check_urls(ci: usize, c: &FileClient, loc: &Locator<'_>) -> Result<(), TenantFileError> {
    let callbacks = c
        .callbacks
        .iter()
        .enumerate()
        .map(|(i, u)| ("callbacks", i, u));
    let logout =
        (c.allowed_logout_urls.iter().enumerate()).map(|(i, u)| ("allowed_logout_urls", i, u));
    for (list, i, url) in callbacks.chain(logout) {
        if url::Url::parse(url).is_err() {
            return Err(loc.at(
                &[k("clients"), n(ci), k(list), n(i)],
                format!("\"{url}\" is not an absolute URL"),
            ));
        }
    }
    // Back-channel URLs: http(s) only. Auth0 also requires https and a public host; the dev
    // tenant takes http://127.0.0.1 and localhost ones (see dev-tenant.md).
    let backchannel = c
        .oidc_logout
        .iter()
        .flat_map(|o| o.backchannel_logout_urls.iter());
    for (i, url) in backchannel.enumerate() {
        let ok = url::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            return Err(loc.at(
                &[
                    k("clients"),
                    n(ci),
                    k("oidc_logout"),
                    k("backchannel_logout_urls"),
                    n(i),
                ],
                format!("\"{url}\" is not an http(s) URL"),
            ));
        }
    }
    Ok(())
}

/// Refresh-token settings: rotating only if asked, expiring (30 days) unless non-expiring or
/// infinite.
fn refresh_token(rt: Option<&FileRefreshToken>) -> RefreshTokenConfig {
    let expiring = rt
        .and_then(|r| r.expiration_type.as_deref())
        .map(|t| t == "expiring")
        .unwrap_or(true);
    let infinite = rt.and_then(|r| r.infinite_token_lifetime).unwrap_or(false);
    let infinite_idle = rt
        .and_then(|r| r.infinite_idle_token_lifetime)
        .unwrap_or(false);
    RefreshTokenConfig {
        rotating: rt
            .and_then(|r| r.rotation_type.as_deref())
            .map(|t| t == "rotating")
            .unwrap_or(false),
        leeway_secs: rt.and_then(|r| r.leeway).unwrap_or(0).max(0),
        token_lifetime_secs: (expiring && !infinite).then(|| {
            rt.and_then(|r| r.token_lifetime)
                .unwrap_or(DEFAULT_REFRESH_LIFETIME_SECS)
        }),
        idle_token_lifetime_secs: (expiring && !infinite_idle).then(|| {
            rt.and_then(|r| r.idle_token_lifetime)
                .unwrap_or(DEFAULT_REFRESH_LIFETIME_SECS)
        }),
    }
}
