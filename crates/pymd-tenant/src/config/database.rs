//! The `databases` section: the one database connection the emulator supports (the Deploy CLI
//! layout allows a list), with its password policy, sign-up switch, brute-force switch and
//! enabled clients. No section means Auth0's default `Username-Password-Authentication`.

use serde::Deserialize;

use super::clients::{ClientConfig, client_ref};
use super::error::{Locator, TenantFileError, k, n};
use super::ids::stable_id;
use super::shape::Ignored;
use crate::passwords::{PasswordPolicy, Policy};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
pub(super) struct FileDatabase {
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
    password_history: Option<FileHistory>,
    #[serde(default)]
    password_dictionary: Option<FileDictionary>,
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
struct FileHistory {
    #[serde(default)]
    enable: Option<bool>,
    #[serde(default)]
    size: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDictionary {
    #[serde(default)]
    enable: Option<bool>,
    #[serde(default)]
    dictionary: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileComplexity {
    #[serde(default)]
    min_length: Option<usize>,
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
    /// Password history: how many passwords (the current one included) a new one may not
    /// repeat; 0 = off.
    pub history_size: usize,
    /// Password dictionary: `Some(custom words)` when on (the built-in list applies too).
    pub dictionary: Option<Vec<String>>,
}

/// Auth0's default database connection name.
const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

/// Resolves the `databases` section: none (the default connection, every client enabled) or
/// exactly one.
pub(super) fn resolve(
    files: &[FileDatabase],
    clients: &[ClientConfig],
    loc: &Locator<'_>,
) -> Result<DatabaseConfig, TenantFileError> {
    match files {
        [] => Ok(DatabaseConfig {
            name: DEFAULT_CONNECTION.into(),
            id: stable_id("con_", DEFAULT_CONNECTION),
            policy: Policy::Good,
            disable_signup: false,
            brute_force_protection: true,
            enabled_clients: clients.iter().map(|c| c.client_id.clone()).collect(),
            history_size: 0,
            dictionary: None,
        }),
        [db] => database(db, clients, loc),
        [_, _, ..] => Err(loc.at(
            &[k("databases"), n(1), k("name")],
            "the dev tenant supports exactly one database connection",
        )),
    }
}

/// The one connection: strategy `auth0`, a known password policy, known enabled clients.
fn database(
    db: &FileDatabase,
    clients: &[ClientConfig],
    loc: &Locator<'_>,
) -> Result<DatabaseConfig, TenantFileError> {
    if let Some(s) = &db.strategy
        && s != "auth0"
    {
        return Err(loc.at(
            &[k("databases"), n(0), k("strategy")],
            format!("unsupported strategy \"{s}\" (only auth0)"),
        ));
    }
    let opts = db.options.as_ref();
    let policy = password_policy(opts, loc)?;
    let mut enabled = Vec::new();
    for (i, c) in db.enabled_clients.iter().enumerate() {
        let Some(id) = client_ref(clients, c) else {
            return Err(loc.at(
                &[k("databases"), n(0), k("enabled_clients"), n(i)],
                format!("enabled_clients names an unknown client \"{c}\""),
            ));
        };
        enabled.push(id);
    }
    Ok(DatabaseConfig {
        name: db.name.clone(),
        id: stable_id("con_", &db.name),
        policy,
        disable_signup: opts.and_then(|o| o.disable_signup).unwrap_or(false),
        brute_force_protection: opts.and_then(|o| o.brute_force_protection).unwrap_or(true),
        enabled_clients: enabled,
        history_size: history_size(opts, loc)?,
        dictionary: opts
            .and_then(|o| o.password_dictionary.as_ref())
            .filter(|d| d.enable.unwrap_or(false))
            .map(|d| d.dictionary.iter().map(|w| w.to_lowercase()).collect()),
    })
}

/// Auth0 keeps 1–24 previous passwords when history is on.
fn history_size(opts: Option<&FileDbOptions>, loc: &Locator<'_>) -> Result<usize, TenantFileError> {
    let Some(h) = opts.and_then(|o| o.password_history.as_ref()) else {
        return Ok(0);
    };
    if !h.enable.unwrap_or(false) {
        return Ok(0);
    }
    let size = h.size.unwrap_or(5);
    if !(1..=24).contains(&size) {
        return Err(loc.at(
            &[
                k("databases"),
                n(0),
                k("options"),
                k("password_history"),
                k("size"),
            ],
            "password_history.size must be between 1 and 24",
        ));
    }
    Ok(size)
}

/// The connection's password policy: Auth0's level (`good` by default) and minimum length.
fn password_policy(
    opts: Option<&FileDbOptions>,
    loc: &Locator<'_>,
) -> Result<Policy, TenantFileError> {
    let level = opts
        .and_then(|o| o.passwordPolicy.as_deref())
        .unwrap_or("good");
    let min_length = opts
        .and_then(|o| o.password_complexity_options.as_ref())
        .and_then(|c| c.min_length);
    PasswordPolicy::parse(level, min_length).ok_or_else(|| {
        loc.at(
            &[k("databases"), n(0), k("options"), k("passwordPolicy")],
            format!("unknown passwordPolicy \"{level}\" (none, low, fair, good or excellent)"),
        )
    })
}
