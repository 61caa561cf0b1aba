//! The audit trail (spec §7): each security-relevant event becomes one structured log line and one
//! row in the append-only `audit_events` table, with the caller's IP, user agent and request id
//! (see [`crate::request_meta`]). Values are passed as structured fields, so CRLF,
//! ANSI escapes or quotes in a claim cannot forge a line.
//!
//! Events are the typed [`Event`] enum: each variant knows its stored name (the `event` column
//! the admin audit filter and the tests read, unchanged), its [`Outcome`] and its `detail`.

use std::borrow::Cow;
use std::net::IpAddr;

use pymd_domain::UserId;
use pymd_storage::NewAuditEvent;
use serde_json::{Value, json};

use crate::state::AppState;

/// Which face a change came through, where the stored detail says so (`"via": "web"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The JSON API (no `via` in the detail, as before the web pages existed).
    Api,
    /// The web pages.
    Web,
}

/// How an audited action ended (the `outcome` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Failed on our side or the IdP's, not the caller's (a refresh the IdP could not answer).
    Error,
    Refused,
    Blocked,
    Alert,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Error => "error",
            Outcome::Refused => "refused",
            Outcome::Blocked => "blocked",
            Outcome::Alert => "alert",
        }
    }
}

/// One Auth0 log-stream event as it is audited (`auth0_{type}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpLogEntry {
    /// Auth0's event type code (`s`, `f`, `fp`, …).
    pub kind: String,
    pub ip: Option<String>,
    pub user_name: Option<String>,
    pub client_id: Option<String>,
    pub description: Option<String>,
}

/// A security-relevant event. The stored names are listed on each variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `login_success`: a web sign-in completed.
    LoginSucceeded { user_id: UserId },
    /// `login_failure`: a web sign-in failed, with a short machine reason.
    LoginFailed { reason: String },
    /// `logout`.
    LoggedOut,
    /// `token_revocation`: a logged-out session's refresh token was revoked at the IdP
    /// (success), or could not be (error, with a short reason).
    TokenRevoked { failure: Option<&'static str> },
    /// `refresh_success`: a session's tokens were refreshed.
    RefreshSucceeded { user_id: UserId },
    /// `refresh_failure`: outcome `failure` when the IdP refused (the session ended), `error`
    /// when it could not answer (the session is kept).
    RefreshFailed {
        user_id: UserId,
        reason: String,
        session_ended: bool,
    },
    /// `profile_update` (success): the fields changed.
    ProfileUpdated { fields: Vec<&'static str>, via: Via },
    /// `profile_update` (failure): the IdP refused or could not be reached; `status` is the
    /// HTTP status the caller was answered.
    ProfileUpdateFailed { status: u16, via: Via },
    /// `sync_user`: the post-login Action synced a user.
    UserSynced,
    /// `internal_auth_failure`: a webhook call with a wrong internal secret.
    InternalAuthFailed { path: String },
    /// `auth0_{type}`: an event from the IdP's log stream.
    IdpLog(IdpLogEntry),
    /// `suspicious_login` (alert): one user from many IPs within minutes.
    SuspiciousLogin {
        distinct_ips: u64,
        window_minutes: u64,
        ip: IpAddr,
    },
    /// `rate_limited` (refused), naming the limit.
    RateLimited { limit: &'static str },
    /// `ip_blocked` (blocked): too many failed logins.
    IpBlocked { ip: IpAddr, minutes: u64 },
    /// `ip_unblocked`: an admin lifted a block.
    IpUnblocked { ip: IpAddr },
    /// `admin_denied` (refused): an admin route without the admin role.
    AdminDenied { path: String },
    /// `backchannel_logout`: the IdP's logout token ended this many sessions (by its `sid`, or
    /// all of its `sub`).
    BackchannelLogout { sessions_ended: u64, by_sid: bool },
    /// `backchannel_logout` (refused): a logout token signed by the IdP but refused (claims,
    /// replay), with a short machine reason.
    BackchannelLogoutRefused { reason: &'static str },
}

/// The Auth0 log types that are successes (`s`, `ss`, `slo`, `sertft`, `seccft`).
pub fn idp_log_is_success(kind: &str) -> bool {
    matches!(kind, "s" | "ss" | "slo" | "sertft" | "seccft")
}

impl Event {
    /// The stored event name.
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Event::LoginSucceeded { .. } => "login_success",
            Event::LoginFailed { .. } => "login_failure",
            Event::LoggedOut => "logout",
            Event::TokenRevoked { .. } => "token_revocation",
            Event::RefreshSucceeded { .. } => "refresh_success",
            Event::RefreshFailed { .. } => "refresh_failure",
            Event::ProfileUpdated { .. } | Event::ProfileUpdateFailed { .. } => "profile_update",
            Event::UserSynced => "sync_user",
            Event::InternalAuthFailed { .. } => "internal_auth_failure",
            Event::IdpLog(entry) => return Cow::Owned(format!("auth0_{}", entry.kind)),
            Event::SuspiciousLogin { .. } => crate::alerts::SUSPICIOUS_LOGIN,
            Event::RateLimited { .. } => "rate_limited",
            Event::IpBlocked { .. } => "ip_blocked",
            Event::IpUnblocked { .. } => "ip_unblocked",
            Event::AdminDenied { .. } => "admin_denied",
            Event::BackchannelLogout { .. } | Event::BackchannelLogoutRefused { .. } => {
                "backchannel_logout"
            }
        })
    }

    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        match self {
            Event::LoginSucceeded { .. }
            | Event::LoggedOut
            | Event::RefreshSucceeded { .. }
            | Event::ProfileUpdated { .. }
            | Event::UserSynced
            | Event::IpUnblocked { .. }
            | Event::BackchannelLogout { .. } => Outcome::Success,
            Event::LoginFailed { .. }
            | Event::ProfileUpdateFailed { .. }
            | Event::InternalAuthFailed { .. } => Outcome::Failure,
            Event::RefreshFailed { session_ended, .. } => {
                if *session_ended {
                    Outcome::Failure
                } else {
                    Outcome::Error
                }
            }
            Event::IdpLog(entry) if idp_log_is_success(&entry.kind) => Outcome::Success,
            Event::IdpLog(_) => Outcome::Failure,
            Event::TokenRevoked { failure: None } => Outcome::Success,
            Event::TokenRevoked { failure: Some(_) } => Outcome::Error,
            Event::SuspiciousLogin { .. } => Outcome::Alert,
            Event::RateLimited { .. }
            | Event::AdminDenied { .. }
            | Event::BackchannelLogoutRefused { .. } => Outcome::Refused,
            Event::IpBlocked { .. } => Outcome::Blocked,
        }
    }

    /// The stored `detail` object.
    pub fn detail(&self) -> Value {
        match self {
            Event::LoginSucceeded { user_id } | Event::RefreshSucceeded { user_id } => {
                json!({ "user_id": user_id.0.to_string() })
            }
            Event::LoginFailed { reason } => json!({ "reason": reason }),
            Event::LoggedOut | Event::UserSynced => json!({}),
            Event::TokenRevoked { failure } => json!({ "reason": failure }),
            Event::RefreshFailed {
                user_id,
                reason,
                session_ended,
            } => json!({
                "user_id": user_id.0.to_string(),
                "reason": reason,
                "session_ended": session_ended,
            }),
            Event::ProfileUpdated { fields, via } => with_via(json!({ "fields": fields }), *via),
            Event::ProfileUpdateFailed { status, via } => {
                with_via(json!({ "status": status }), *via)
            }
            Event::InternalAuthFailed { path } | Event::AdminDenied { path } => {
                json!({ "path": path })
            }
            Event::IdpLog(e) => json!({
                "type": e.kind,
                "ip": e.ip,
                "user_name": e.user_name,
                "client_id": e.client_id,
                "description": e.description,
            }),
            Event::SuspiciousLogin {
                distinct_ips,
                window_minutes,
                ip,
            } => json!({
                "distinct_ips": distinct_ips,
                "window_minutes": window_minutes,
                "ip": ip.to_string(),
            }),
            Event::RateLimited { limit } => json!({ "limit": limit }),
            Event::IpBlocked { ip, minutes } => {
                json!({ "ip": ip.to_string(), "minutes": minutes })
            }
            Event::IpUnblocked { ip } => json!({ "ip": ip.to_string() }),
            Event::BackchannelLogout {
                sessions_ended,
                by_sid,
            } => {
                json!({ "sessions_ended": sessions_ended, "by": if *by_sid { "sid" } else { "sub" } })
            }
            Event::BackchannelLogoutRefused { reason } => json!({ "reason": reason }),
        }
    }
}

fn with_via(mut detail: Value, via: Via) -> Value {
    if let (Via::Web, Some(map)) = (via, detail.as_object_mut()) {
        map.insert("via".into(), json!("web"));
    }
    detail
}

/// Records `event` about `subject` (the IdP user id, when known). A storage failure is logged
/// (the event is still in the log line); it never turns a successful operation into a failed one.
pub async fn record(state: &AppState, event: Event, subject: Option<&str>) {
    let meta = crate::request_meta::current().unwrap_or_default();
    let ip = meta.ip.map(|ip| ip.to_string());
    let name = event.name();
    let outcome = event.outcome().as_str();
    let detail = event.detail();
    tracing::info!(
        target: "pymd::audit",
        event = %name,
        outcome,
        subject,
        ip = ip.as_deref(),
        user_agent = meta.user_agent.as_deref(),
        request_id = meta.request_id.as_deref(),
        detail = %detail,
        "audit"
    );
    let row = NewAuditEvent {
        event: name.into_owned(),
        outcome: outcome.to_owned(),
        subject: subject.map(str::to_owned),
        ip,
        user_agent: meta.user_agent,
        request_id: meta.request_id,
        detail,
    };
    if let Err(e) = state.store.record_audit(&row).await {
        tracing::error!(target: "pymd::audit", error = %e, event = %row.event, "audit event could not be stored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_and_outcomes_are_unchanged() {
        let user_id = UserId::new_random();
        let cases = [
            (
                Event::LoginSucceeded { user_id },
                "login_success",
                "success",
            ),
            (
                Event::LoginFailed { reason: "x".into() },
                "login_failure",
                "failure",
            ),
            (Event::LoggedOut, "logout", "success"),
            (
                Event::RefreshFailed {
                    user_id,
                    reason: "r".into(),
                    session_ended: false,
                },
                "refresh_failure",
                "error",
            ),
            (
                Event::ProfileUpdateFailed {
                    status: 503,
                    via: Via::Web,
                },
                "profile_update",
                "failure",
            ),
            (
                Event::IdpLog(IdpLogEntry {
                    kind: "fp".into(),
                    ip: None,
                    user_name: None,
                    client_id: None,
                    description: None,
                }),
                "auth0_fp",
                "failure",
            ),
            (
                Event::RateLimited { limit: "auth" },
                "rate_limited",
                "refused",
            ),
        ];
        for (event, name, outcome) in cases {
            assert_eq!(event.name(), name);
            assert_eq!(event.outcome().as_str(), outcome);
        }
    }

    #[test]
    fn only_web_changes_say_via() {
        let api = Event::ProfileUpdated {
            fields: vec!["name"],
            via: Via::Api,
        };
        assert_eq!(api.detail(), json!({ "fields": ["name"] }));
        let web = Event::ProfileUpdated {
            fields: vec!["bio"],
            via: Via::Web,
        };
        assert_eq!(web.detail(), json!({ "fields": ["bio"], "via": "web" }));
    }
}
