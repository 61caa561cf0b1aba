//! The `authorization_code` grant: single-use code redemption with replay detection (a
//! replay revokes the refresh-token family the first redemption minted), `redirect_uri`
//! match and PKCE S256 verification.

use serde_json::Value;

use super::{GrantFailure, GrantResult};
use crate::config::ClientConfig;
use crate::error::OAuthError;
use crate::extract::Params;
use crate::mint::{UserGrant, mint_user_response};
use crate::state::AppState;
use crate::store::codes::{AuthCode, Refused};
use crate::store::users::User;
use crate::util::{b64url, ct_eq, sha256};

const INVALID_CODE: &str = "Invalid authorization code";

/// Redeems the code and mints the login's tokens.
pub async fn grant(state: &AppState, client: &ClientConfig, p: &Params) -> GrantResult {
    let Some(code) = p.get("code") else {
        return Err(GrantFailure::silent(OAuthError::invalid_request(
            "Missing required parameter: code",
        )));
    };
    let entry = redeem(state, code, client).await?;
    if p.get("redirect_uri") != Some(&entry.redirect_uri) {
        return Err(OAuthError::invalid_grant(
            "The redirect_uri does not match the one used in the authorization request",
        )
        .into());
    }
    verify_pkce(entry.code_challenge.as_deref(), p.get("code_verifier"))?;
    let Some(user) = state.users.get(&entry.user_id).await else {
        return Err(OAuthError::invalid_grant(INVALID_CODE).into());
    };
    if user.blocked {
        return Err(OAuthError::user_blocked().into());
    }
    let body = mint(state, client, code, &entry, &user).await?;
    Ok((body, Some((user.user_id, user.email))))
}

/// Redeems `code` for the client; a replay revokes what the first redemption minted (and if
/// that redemption has not recorded its family yet, it revokes the family itself when it does).
async fn redeem(
    state: &AppState,
    code: &str,
    client: &ClientConfig,
) -> Result<AuthCode, GrantFailure> {
    let now = state.clock.unix();
    match state.codes.redeem(code, &client.client_id, now).await {
        Ok(entry) => Ok(entry),
        Err(Refused::Replayed { family }) => {
            if let Some(f) = family {
                state.refresh.revoke_family(&f).await;
            }
            Err(OAuthError::invalid_grant(INVALID_CODE).into())
        }
        Err(Refused::Invalid) => Err(OAuthError::invalid_grant(INVALID_CODE).into()),
    }
}

fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// PKCE: a challenged code needs a verifier that hashes to the challenge; an unchallenged
/// one must not get a verifier.
fn verify_pkce(challenge: Option<&str>, verifier: Option<&String>) -> Result<(), OAuthError> {
    let failed = || OAuthError::invalid_grant("Failed to verify code verifier");
    match (challenge, verifier) {
        (Some(_), None) => Err(OAuthError::invalid_request(
            "Parameter 'code_verifier' is required",
        )),
        (Some(ch), Some(v)) if !valid_verifier(v) || !ct_eq(&b64url(&sha256(v.as_bytes())), ch) => {
            Err(failed())
        }
        (None, Some(_)) => Err(failed()),
        _ => Ok(()),
    }
}

/// Mints the token set and records the refresh-token family on the code, revoking it at
/// once if the code was replayed meanwhile.
async fn mint(
    state: &AppState,
    client: &ClientConfig,
    code: &str,
    entry: &AuthCode,
    user: &User,
) -> Result<Value, GrantFailure> {
    let grant = UserGrant {
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        audience: entry.audience.clone(),
        scope: entry.scope.clone(),
        nonce: entry.nonce.clone(),
        sid: entry.sid.clone(),
        auth_time: entry.auth_time,
        roles: entry.roles.clone(),
        action: entry.action.clone(),
    };
    let (body, family) = mint_user_response(state, client, user, &grant)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "signing the code exchange's tokens failed");
            GrantFailure::silent(OAuthError::internal())
        })?;
    if let Some(fam) = family
        && state.codes.record_family(code, &fam).await
    {
        state.refresh.revoke_family(&fam).await;
    }
    Ok(body)
}
