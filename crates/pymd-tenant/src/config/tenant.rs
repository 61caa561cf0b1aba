//! The `tenant` section: tenant-level settings (name, default audience and directory, session
//! lifetimes, logout URLs, discovery of the end-session endpoint).

use serde::Deserialize;

use super::database::DatabaseConfig;
use super::error::{Locator, TenantFileError, k};
use super::resource_servers::Audiences;
use super::shape::Ignored;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
pub(super) struct FileTenant {
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
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOidcLogout {
    #[serde(default)]
    rp_logout_end_session_endpoint_discovery: Option<bool>,
}

/// Tenant-level settings.
#[derive(Debug, Clone)]
pub struct TenantSettings {
    /// RFC 9207: authorization responses carry `iss`, and discovery says so.
    pub iss_parameter: bool,
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

/// Resolves the `tenant` section: the default audience must be an API (or the Management
/// API) and the default directory the database connection.
pub(super) fn resolve(
    t: &FileTenant,
    audiences: &Audiences<'_>,
    database: &DatabaseConfig,
    loc: &Locator<'_>,
) -> Result<TenantSettings, TenantFileError> {
    if let Some(aud) = &t.default_audience
        && audiences.scopes_of(aud).is_none()
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
    Ok(TenantSettings {
        iss_parameter: t
            .authorization_response_iss_parameter_supported
            .unwrap_or(false),
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
    })
}
