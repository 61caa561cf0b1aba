//! The post-login flow as the handlers use it: build Auth0's `event` for this login or
//! refresh-token exchange, run the bound Actions, and keep what they changed (user and app
//! metadata) once the flow has passed. A failed flow changes nothing; the caller ends the
//! login (or the exchange) with `access_denied` and [`Failure::description`].

use serde_json::{Map, Value};

mod event;

pub use event::Protocol;

use crate::actions::{Failure, Outcome};
use crate::config::ClientConfig;
use crate::extract::Caller;
use crate::state::AppState;
use crate::store::users::User;
use event::{EventInput, build_event};

/// What a login or an exchange adds to the event.
#[derive(Debug, Clone, Copy)]
pub struct FlowContext<'a> {
    /// The application.
    pub client: &'a ClientConfig,
    /// Who is calling.
    pub caller: &'a Caller,
    /// How the tokens are issued.
    pub protocol: Protocol,
    /// Requested scopes.
    pub scope: &'a [String],
    /// Requested audience.
    pub audience: Option<&'a str>,
    /// `redirect_uri` and `state` of the authorization request (code flow).
    pub redirect: Option<(&'a str, Option<&'a str>)>,
    /// SSO session id.
    pub session_id: &'a str,
    /// When the user authenticated (unix).
    pub auth_time: i64,
}

/// Runs the post-login Actions for `user` and persists their metadata changes.
///
/// # Errors
/// [`Failure`] when an Action denied, threw or ran out of time.
pub async fn run(state: &AppState, user: &User, cx: FlowContext<'_>) -> Result<Outcome, Failure> {
    let host = url::Url::parse(&state.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let event = build_event(&EventInput {
        tenant_id: &state.cfg.tenant.friendly_name,
        hostname: &host,
        user,
        client: cx.client,
        connection: &state.cfg.database,
        caller: cx.caller,
        protocol: cx.protocol,
        scope: cx.scope,
        audience: cx.audience,
        redirect_uri: cx.redirect.map(|(r, _)| r),
        state: cx.redirect.and_then(|(_, s)| s),
        session_id: cx.session_id,
        auth_time: cx.auth_time,
    });
    let outcome = state.post_login.run(event).await;
    match &outcome {
        Ok(o) if !o.user_metadata.is_empty() || !o.app_metadata.is_empty() => {
            let (um, am) = (o.user_metadata.clone(), o.app_metadata.clone());
            let now = state.clock.now();
            let _ = state
                .users
                .change(&user.user_id, None, move |u| {
                    merge(&mut u.user_metadata, um);
                    merge(u.app_metadata.get_or_insert_with(Map::new), am);
                    u.updated_at = now;
                })
                .await;
        }
        Ok(_) => {}
        Err(f) => {
            tracing::info!(user_id = %user.user_id, failure = ?f, "the post-login flow refused")
        }
    }
    outcome
}

/// Auth0's metadata merge: top-level keys replaced, `null` removes one.
fn merge(into: &mut Map<String, Value>, changes: Map<String, Value>) {
    for (k, v) in changes {
        if v.is_null() {
            into.remove(&k);
        } else {
            into.insert(k, v);
        }
    }
}
