//! The `refresh_token` grant: the token is checked and claimed in one step of the refresh
//! store (rotation, reuse inside the overlap period, family revocation on other reuse), the
//! scope may only narrow, and the user must still exist and not be blocked. A claim whose
//! mint fails is undone so the client can retry.

use super::{GrantFailure, GrantResult};
use crate::config::ClientConfig;
use crate::error::OAuthError;
use crate::extract::Caller;
use crate::extract::Params;
use crate::mint::{MintFor, UserGrant, mint_user, response_body};
use crate::postlogin::Protocol;
use crate::postlogin::{self, FlowContext};
use crate::scope::split_scope;
use crate::state::AppState;
use crate::store::refresh::{ClaimError, Family};
use crate::store::users::User;

const INVALID_RT: &str = "Unknown or invalid refresh token.";

/// Exchanges a refresh token for new tokens (and, for rotating clients, its successor).
pub async fn grant(
    state: &AppState,
    client: &ClientConfig,
    p: &Params,
    caller: &Caller,
) -> GrantResult {
    let Some(rt) = p.get("refresh_token") else {
        return Err(GrantFailure::silent(OAuthError::invalid_request(
            "Missing required parameter: refresh_token",
        )));
    };
    // The user is read before the refresh store is locked (no handler ever holds two of the
    // tenant's locks at once); whether it still exists is judged in the claim, in Auth0's order.
    let user = match state.refresh.owner(rt).await {
        Some(id) => state.users.get(&id).await,
        None => None,
    };
    let now = state.clock.unix();
    let claim = state
        .refresh
        .claim(rt, &client.client_id, &client.refresh_token, now, |fam| {
            check(fam, p, user)
        })
        .await
        .map_err(claim_failure)?;
    let (user, scope) = &claim.value;
    let flow = FlowContext {
        client,
        caller,
        protocol: Protocol::RefreshToken,
        scope,
        audience: claim.family.audience.as_deref(),
        redirect: None,
        session_id: &claim.family.sid,
        auth_time: claim.family.auth_time,
    };
    let action = match postlogin::run(state, user, flow).await {
        Ok(outcome) => outcome,
        Err(failure) => {
            // Nothing is handed out: the claim is undone, the refresh token stays usable.
            state.refresh.undo(&claim).await;
            return Err(OAuthError::new(
                axum::http::StatusCode::FORBIDDEN,
                "access_denied",
                failure.description(),
            )
            .into());
        }
    };
    let grant = UserGrant {
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        audience: claim.family.audience.clone(),
        scope: scope.clone(),
        nonce: None,
        sid: claim.family.sid.clone(),
        auth_time: claim.family.auth_time,
        roles: user.roles.clone(),
        action,
    };
    match mint_user(state, client, user, &grant, MintFor::Refresh).await {
        Ok(minted) => Ok((
            response_body(&minted, claim.successor.as_deref(), true),
            Some((user.user_id.clone(), user.email.clone())),
        )),
        Err(e) => {
            // Nothing was handed out by this exchange: undo its own claim (and only that).
            tracing::error!(error = %e, "signing the refresh exchange's tokens failed");
            state.refresh.undo(&claim).await;
            Err(GrantFailure::silent(OAuthError::internal()))
        }
    }
}

/// The grant's own checks on a live family: the scope may only narrow, the user must still
/// exist and not be blocked. Returns the user and the scope to mint.
fn check(fam: &Family, p: &Params, user: Option<User>) -> Result<(User, Vec<String>), OAuthError> {
    let scope = match p.get("scope") {
        Some(s) => {
            let asked = split_scope(s);
            if let Some(extra) = asked.iter().find(|s| !fam.scope.contains(s)) {
                return Err(OAuthError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    format!("The requested scope exceeds the granted scope: {extra}"),
                ));
            }
            asked
        }
        None => fam.scope.clone(),
    };
    let Some(user) = user.filter(|u| u.user_id == fam.user_id) else {
        return Err(OAuthError::invalid_grant(
            "The refresh_token was generated for a user who doesn't exist anymore.",
        ));
    };
    if user.blocked {
        // Auth0 answers a blocked user's refresh with 403 `invalid_grant`.
        return Err(OAuthError::new(
            axum::http::StatusCode::FORBIDDEN,
            "invalid_grant",
            "user is blocked",
        ));
    }
    Ok((user, scope))
}

fn claim_failure(e: ClaimError<OAuthError>) -> GrantFailure {
    match e {
        ClaimError::Invalid => OAuthError::invalid_grant(INVALID_RT).into(),
        ClaimError::Reused => {
            GrantFailure::logged_as(OAuthError::invalid_grant(INVALID_RT), "ferrt")
        }
        ClaimError::Rejected(e) => e.into(),
    }
}
