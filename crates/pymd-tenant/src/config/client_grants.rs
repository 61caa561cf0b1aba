//! The `clientGrants` section: which client may ask which audience (an API or the Management
//! API) for which scopes with the client-credentials grant.

use serde::Deserialize;

use super::clients::{ClientConfig, client_ref};
use super::error::{Locator, TenantFileError, k, n};
use super::ids::stable_id;
use super::resource_servers::Audiences;
use super::shape::Ignored;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
pub(super) struct FileClientGrant {
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

/// Resolves the `clientGrants` section: a known client (by name or id), a known audience,
/// scopes defined on it, one grant per client and audience.
pub(super) fn resolve(
    files: &[FileClientGrant],
    clients: &[ClientConfig],
    audiences: &Audiences<'_>,
    loc: &Locator<'_>,
) -> Result<Vec<ClientGrantConfig>, TenantFileError> {
    let mut client_grants: Vec<ClientGrantConfig> = Vec::new();
    for (gi, g) in files.iter().enumerate() {
        let at = |key: &'static str| [k("clientGrants"), n(gi), k(key)];
        let Some(client_id) = client_ref(clients, &g.client_id) else {
            return Err(loc.at(
                &at("client_id"),
                format!("client grant names an unknown client \"{}\"", g.client_id),
            ));
        };
        let Some(defined) = audiences.scopes_of(&g.audience) else {
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
            .any(|x| x.client_id == client_id && x.audience == g.audience)
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
    Ok(client_grants)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::err;

    #[test]
    fn grant_unknown_client() {
        let y = crate::DEFAULT_TENANT_YAML.replacen(
            "  - client_id: PyMD Management (M2M)",
            "  - client_id: Nope",
            1,
        );
        assert!(err(&y).reason.contains("unknown client"));
    }
}
