//! OpenID Connect Back-Channel Logout 1.0, the provider's side: when an SSO session ends, each
//! client that received tokens in it and has `oidc_logout.backchannel_logout_urls` gets a logout
//! token POSTed (form `logout_token=`) to each of its URLs. The token is an RS256 JWT signed with
//! the tenant's current key, header `typ: logout+jwt`, claims `iss`, `sub`, `aud` (the client),
//! `iat`, `exp` (two minutes), `jti`, `sid` (the one the session's ID tokens carry) and the
//! back-channel `events` member.
//!
//! Delivery is off the request path: a spawned task per URL, each attempt bounded by
//! [`ATTEMPT_TIMEOUT`], up to [`ATTEMPTS`] tries on a transport error or a 5xx. Each delivery
//! ends in one tenant log event, as on Auth0: `oidc_backchannel_logout_succeeded` or
//! `oidc_backchannel_logout_failed`, with the URL, the status and the initiator in `details`.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use crate::logs::LogEvent;
use crate::state::AppState;
use crate::store::sessions::Session;
use crate::util::random_urlsafe;

/// The `events` member of a logout token (§2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// A logout token's lifetime.
pub const LOGOUT_TOKEN_LIFETIME_SECS: i64 = 120;
/// The bound on one delivery attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Tries per URL (the first and two retries).
pub const ATTEMPTS: u32 = 3;
/// The initiator of a logout at `/v2/logout` or `/oidc/logout` (an application asked for it).
pub const RP_LOGOUT: &str = "rp-logout";

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .unwrap_or_default()
    })
}

/// The claims of a logout token for `client_id` about the ended `session`.
pub fn logout_claims(state: &AppState, session: &Session, client_id: &str, now: i64) -> Value {
    json!({
        "iss": state.issuer,
        "sub": session.user_id,
        "aud": client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME_SECS,
        "jti": random_urlsafe(32),
        "sid": session.sid,
        "events": { LOGOUT_EVENT: {} },
    })
}

/// Sends logout tokens for the ended `session` to every client of it that has back-channel URLs
/// and takes `initiator`; returns at once (the deliveries run on their own tasks).
pub fn notify(state: &AppState, session: &Session, initiator: &'static str) {
    for client_id in &session.clients {
        let Some(client) = state.cfg.client(client_id) else {
            continue;
        };
        if client.backchannel_logout_urls.is_empty()
            || !client.backchannel_initiators.includes(initiator)
        {
            continue;
        }
        for url in client.backchannel_logout_urls.clone() {
            let (state, session, client_id) = (state.clone(), session.clone(), client_id.clone());
            tokio::spawn(async move {
                deliver(&state, &session, &client_id, &url, initiator).await;
            });
        }
    }
}

/// One delivery: mint, POST (with retries), log the outcome.
async fn deliver(
    state: &AppState,
    session: &Session,
    client_id: &str,
    url: &str,
    initiator: &'static str,
) {
    let claims = logout_claims(state, session, client_id, state.clock.unix());
    let outcome = match state.keys.sign_typed(&claims, "logout+jwt").await {
        Ok(token) => post_with_retries(url, &token).await,
        Err(_) => Err("the logout token could not be signed".to_owned()),
    };
    let (kind, description, status) = match &outcome {
        Ok(status) => (
            "oidc_backchannel_logout_succeeded",
            "Successful OIDC Back-Channel Logout request".to_owned(),
            Some(*status),
        ),
        Err(why) => (
            "oidc_backchannel_logout_failed",
            format!("Failed OIDC Back-Channel Logout request: {why}"),
            None,
        ),
    };
    state.logs.emit(
        state.clock.now(),
        LogEvent {
            kind,
            description,
            client_id: Some(client_id.to_owned()),
            client_name: Some(state.client_name(client_id)),
            user_id: Some(session.user_id.clone()),
            details: Some(json!({
                "session_id": session.sid,
                "initiator": initiator,
                "url": url,
                "status": status,
                "jti": claims["jti"],
            })),
            ..Default::default()
        },
    );
}

/// POSTs the token; a 2xx is success, a 4xx final, a 5xx or a transport error tried again.
async fn post_with_retries(url: &str, token: &str) -> Result<u16, String> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        let sent = http()
            .post(url)
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", token)])
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(r.status().as_u16()),
            Ok(r) if r.status().is_client_error() => {
                return Err(format!("the application answered {}", r.status().as_u16()));
            }
            Ok(r) => last = format!("the application answered {}", r.status().as_u16()),
            Err(e) if e.is_timeout() => last = "timed out".to_owned(),
            Err(_) => last = "the application could not be reached".to_owned(),
        }
    }
    Err(last)
}
