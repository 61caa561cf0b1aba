//! The `client_credentials` grant (machine-to-machine): a confidential client gets an access
//! token for an API it has a client grant for, with the granted scopes (or the asked subset).

use serde_json::{Map, Value, json};

use super::{GrantFailure, GrantResult};
use crate::config::{AuthMethod, ClientConfig, ClientGrantConfig};
use crate::error::OAuthError;
use crate::extract::Params;
use crate::scope::split_scope;
use crate::state::AppState;

/// Mints an M2M access token.
pub async fn grant(state: &AppState, client: &ClientConfig, p: &Params) -> GrantResult {
    if client.auth_method == AuthMethod::None {
        return Err(OAuthError::grant_not_allowed("client_credentials").into());
    }
    let audience = audience(state, p)?;
    let cg = client_grant(state, client, &audience)?;
    let scope = scope(cg, p)?;
    let rs = state.cfg.resource_server(&audience);
    let lifetime = rs.map(|r| r.token_lifetime_secs).unwrap_or(86_400);
    let now = state.clock.unix();
    let mut c = Map::new();
    c.insert("iss".into(), json!(state.issuer));
    c.insert("sub".into(), json!(format!("{}@clients", client.client_id)));
    c.insert("aud".into(), json!(audience));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + lifetime));
    if !scope.is_empty() {
        c.insert("scope".into(), json!(scope.join(" ")));
    }
    c.insert("gty".into(), json!("client-credentials"));
    c.insert("azp".into(), json!(client.client_id));
    if rs.is_some_and(|r| r.permissions_in_token) {
        c.insert("permissions".into(), json!(scope));
    }
    let jwt = state.keys.sign(&Value::Object(c)).await.map_err(|e| {
        tracing::error!(error = %e, "signing a client-credentials token failed");
        GrantFailure::silent(OAuthError::internal())
    })?;
    Ok((body(&jwt, &scope, lifetime), None))
}

/// The asked audience (or the tenant's default), which must be an API of the tenant or the
/// Management API.
fn audience(state: &AppState, p: &Params) -> Result<String, OAuthError> {
    let Some(audience) = p
        .get("audience")
        .filter(|a| !a.is_empty())
        .cloned()
        .or_else(|| state.cfg.tenant.default_audience.clone())
    else {
        return Err(OAuthError::access_denied(
            "No audience parameter was provided, and no default audience has been configured",
        ));
    };
    if state.cfg.resource_server(&audience).is_none() && audience != state.cfg.management_audience()
    {
        return Err(OAuthError::access_denied(format!(
            "Service not enabled within domain: {audience}"
        )));
    }
    Ok(audience)
}

/// The client's grant for `audience`.
fn client_grant<'a>(
    state: &'a AppState,
    client: &ClientConfig,
    audience: &str,
) -> Result<&'a ClientGrantConfig, OAuthError> {
    state
        .cfg
        .client_grants
        .iter()
        .find(|g| g.client_id == client.client_id && g.audience == audience)
        .ok_or_else(|| {
            OAuthError::access_denied(format!(
                "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API."
            ))
        })
}

/// The asked scopes, all of which must be granted; none asked = every granted scope.
fn scope(cg: &ClientGrantConfig, p: &Params) -> Result<Vec<String>, OAuthError> {
    match p.get("scope").map(|s| split_scope(s)) {
        Some(asked) if !asked.is_empty() => {
            let missing: Vec<&str> = asked
                .iter()
                .filter(|s| !cg.scope.contains(s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(OAuthError::access_denied(format!(
                    "Client has not been granted scopes: {}",
                    missing.join(" ")
                )));
            }
            Ok(asked)
        }
        _ => Ok(cg.scope.clone()),
    }
}

fn body(jwt: &str, scope: &[String], lifetime: i64) -> Value {
    let mut body = Map::new();
    body.insert("access_token".into(), json!(jwt));
    if !scope.is_empty() {
        body.insert("scope".into(), json!(scope.join(" ")));
    }
    body.insert("expires_in".into(), json!(lifetime));
    body.insert("token_type".into(), json!("Bearer"));
    Value::Object(body)
}
