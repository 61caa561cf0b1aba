//! What every completed login shares — by password, by sign-up, or silently from the SSO
//! session: the post-login Action, the user's login record, the authorization code, the
//! `s`/`ssa` log event and the redirect back to the client with `code` and `state`.

use axum::response::Response;
use serde_json::{Value, json};

use crate::actions::Outcome;
use crate::config::ClientConfig;
use crate::error::OAuthError;
use crate::extract::Caller;
use crate::logs::LogEvent;
use crate::postlogin::Protocol;
use crate::postlogin::{self, FlowContext};
use crate::respond::{add_query, found, with_optional_cookie};
use crate::state::AppState;
use crate::store::codes::AuthCode;
use crate::store::sessions::Session;
use crate::store::transactions::AuthRequest;
use crate::store::users::User;
use crate::util::random_urlsafe;

/// How the user logged in (the log event type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    /// `s`: with the login or sign-up form, or from the SSO session.
    Interactive,
    /// `ssa`: `prompt=none` from the SSO session.
    Silent,
}

/// Issues the code for a logged-in session (running the post-login Action) and redirects to
/// the client, setting `set_cookie` (a new session's cookie) on the way.
///
/// # Errors
/// A redirect to the client with `access_denied` (user or client gone) or `unauthorized`
/// (user blocked).
pub async fn complete_login(
    state: &AppState,
    req: &AuthRequest,
    session: &Session,
    caller: &Caller,
    kind: LoginKind,
    set_cookie: Option<String>,
) -> Result<Response, OAuthError> {
    let refuse = |error, description| {
        OAuthError::redirect(&req.redirect_uri, req.state.as_deref(), error, description)
    };
    let client = state.cfg.client(&req.client_id);
    let user = state.users.get(&session.user_id).await;
    let (Some(client), Some(user)) = (client, user) else {
        return Err(refuse("access_denied", "user does not exist"));
    };
    if user.blocked {
        return Err(refuse("unauthorized", "user is blocked"));
    }
    let roles = user.roles.clone();
    let now = state.clock.now();
    state
        .users
        .record_login(&user.user_id, now, caller.ip_string())
        .await;
    // `event.stats.logins_count` counts this login.
    let user = state.users.get(&user.user_id).await.unwrap_or(user);
    let flow = FlowContext {
        client,
        caller,
        protocol: Protocol::AuthorizationCode,
        scope: &req.scope,
        audience: req.audience.as_deref(),
        redirect: Some((&req.redirect_uri, req.state.as_deref())),
        session_id: &session.sid,
        auth_time: session.auth_time,
    };
    let attempt = Attempt {
        req,
        caller,
        client,
        user: &user,
    };
    let action = match postlogin::run(state, &user, flow).await {
        Ok(outcome) => outcome,
        Err(failure) => {
            log_refused(state, &attempt, &failure.description());
            return Err(OAuthError::redirect(
                &req.redirect_uri,
                req.state.as_deref(),
                "access_denied",
                failure.description(),
            ));
        }
    };
    let code = issue_code(state, req, session, &user.user_id, roles, action).await;
    log_login(state, &attempt, session, kind);
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        params.push(("state", s.as_str()));
    }
    let r = found(&add_query(&req.redirect_uri, &params));
    Ok(with_optional_cookie(r, set_cookie.as_deref()))
}

async fn issue_code(
    state: &AppState,
    req: &AuthRequest,
    session: &Session,
    user_id: &str,
    roles: Vec<String>,
    action: Outcome,
) -> String {
    let code = random_urlsafe(43);
    let data = AuthCode {
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        user_id: user_id.to_string(),
        sid: session.sid.clone(),
        scope: req.scope.clone(),
        audience: req.audience.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        issued_at: state.clock.unix(),
        auth_time: session.auth_time,
        roles,
        action,
    };
    state.codes.issue(code.clone(), data).await;
    code
}

/// Who logged in where: the fields every login event of this flow shares.
struct Attempt<'a> {
    req: &'a AuthRequest,
    caller: &'a Caller,
    client: &'a ClientConfig,
    user: &'a User,
}

impl Attempt<'_> {
    fn emit(&self, state: &AppState, kind: &'static str, description: String, details: Value) {
        state.logs.emit(
            state.clock.now(),
            LogEvent {
                kind,
                description,
                client_id: Some(self.client.client_id.clone()),
                client_name: Some(self.client.name.clone()),
                ip: self.caller.ip_string(),
                user_agent: self.caller.user_agent.clone(),
                user_id: Some(self.user.user_id.clone()),
                user_name: Some(self.user.email.clone()),
                connection: true,
                audience: self.req.audience.clone(),
                scope: Some(self.req.scope.join(" ")),
                details: Some(details),
            },
        );
    }
}

/// The `s` / `ssa` event of a completed login.
fn log_login(state: &AppState, attempt: &Attempt<'_>, session: &Session, kind: LoginKind) {
    let (kind, description) = match kind {
        LoginKind::Silent => ("ssa", "Successful silent authentication"),
        LoginKind::Interactive => ("s", "Successful login"),
    };
    let details = json!({"prompts": [], "session_id": session.sid});
    attempt.emit(state, kind, description.into(), details);
}

/// The `f` event of a login the post-login flow refused.
fn log_refused(state: &AppState, attempt: &Attempt<'_>, reason: &str) {
    let details = json!({"error": {"message": reason}});
    attempt.emit(state, "f", reason.to_string(), details);
}
