//! The Auth0 Deploy CLI layout of `tenant.yaml`: its root (one key per section) and the
//! allow-list of keys the Deploy CLI exports that the emulator accepts without acting on them.
//!
//! Every level of the layout refuses unknown keys (`deny_unknown_fields`), so a misspelt key
//! stops the tenant instead of being silently ignored. Known-but-unused keys are therefore
//! listed field by field, typed [`Ignored`](super::shape::Ignored), in each section's own file shape (serde cannot
//! combine `flatten` with `deny_unknown_fields`, so they cannot live in one shared table);
//! the whole sections the emulator ignores are listed here, at the root.

use serde::Deserialize;

use super::actions::{FileAction, FileTriggers};
use super::attack_protection::FileAttackProtection;
use super::client_grants::FileClientGrant;
use super::clients::FileClient;
use super::database::FileDatabase;
use super::log_streams::FileLogStream;
use super::resource_servers::FileResourceServer;
use super::roles::FileRole;
use super::tenant::FileTenant;

/// The whole file. Field order is the order serde lists the expected keys in its
/// "unknown field" message: keep it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)] // Deploy CLI key names; the ignored sections are never read
pub(super) struct FileRoot {
    pub(super) tenant: FileTenant,
    #[serde(default)]
    pub(super) clients: Vec<FileClient>,
    #[serde(default)]
    pub(super) resourceServers: Vec<FileResourceServer>,
    #[serde(default)]
    pub(super) clientGrants: Vec<FileClientGrant>,
    #[serde(default)]
    pub(super) roles: Vec<FileRole>,
    #[serde(default)]
    pub(super) databases: Vec<FileDatabase>,
    #[serde(default)]
    pub(super) attackProtection: Option<FileAttackProtection>,
    #[serde(default)]
    pub(super) actions: Vec<FileAction>,
    #[serde(default)]
    pub(super) triggers: FileTriggers,
    #[serde(default)]
    pub(super) logStreams: Vec<FileLogStream>,
    // Deploy CLI sections the emulator accepts and ignores.
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::err;

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
}
