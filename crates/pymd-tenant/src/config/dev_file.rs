//! `pymd-dev.yaml`: PyMD's own companion to `tenant.yaml`, read only by the dev tenant (the
//! Deploy CLI never sees it, and `tenant.yaml` holds no key the Deploy CLI does not know). It
//! holds what Auth0 would generate or a developer would supply at deploy time, fixed for
//! development: the applications' `client_id` / `client_secret`, the keyword values that
//! `AUTH0_KEYWORD_REPLACE_MAPPINGS` carries for a real tenant, and the seeded users.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::{Locator, TenantFileError};
use super::users::FileUser;

/// The file's name in messages.
pub const DEV_FILE: &str = "pymd-dev.yaml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDev {
    #[serde(default)]
    pub(super) clients: BTreeMap<String, FileCredentials>,
    #[serde(default)]
    pub(super) keywords: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) users: Vec<FileUser>,
}

/// An application's credentials, as Auth0 would have generated them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileCredentials {
    pub(super) client_id: String,
    #[serde(default)]
    pub(super) client_secret: Option<String>,
}

/// Parses the dev file (no keywords apply to it).
pub(super) fn parse(text: &str) -> Result<FileDev, TenantFileError> {
    let loc = Locator::new(DEV_FILE, text, text, &[]);
    yaml_serde::from_str(text).map_err(|e| loc.syntax(&e))
}
