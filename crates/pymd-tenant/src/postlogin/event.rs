//! Auth0's post-login `event`, built from what the tenant knows at a login or a refresh-token
//! exchange: `user` (profile, metadata, identities), `authorization.roles` (before this login's
//! changes), `client`, `connection`, `request`, `transaction`, `resource_server`, `tenant`,
//! `session`, `authentication` and `stats`. `secrets` is set per Action by the engine.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{ClientConfig, DatabaseConfig};
use crate::extract::Caller;
use crate::store::users::User;

/// `event.transaction.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The authorization code flow (`oidc-basic-profile`).
    AuthorizationCode,
    /// A refresh-token exchange (`oauth2-refresh-token`).
    RefreshToken,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::AuthorizationCode => "oidc-basic-profile",
            Protocol::RefreshToken => "oauth2-refresh-token",
        }
    }
}

/// What one login or exchange contributes to the event.
#[derive(Debug, Clone, Copy)]
pub struct EventInput<'a> {
    /// `event.tenant.id`.
    pub tenant_id: &'a str,
    /// The tenant's host name (`event.request.hostname`).
    pub hostname: &'a str,
    /// The user, as stored before this login's changes (`logins_count` includes this login).
    pub user: &'a User,
    /// The application.
    pub client: &'a ClientConfig,
    /// The database connection.
    pub connection: &'a DatabaseConfig,
    /// The caller (IP, user agent).
    pub caller: &'a Caller,
    /// How the tokens are being issued.
    pub protocol: Protocol,
    /// Requested scopes.
    pub scope: &'a [String],
    /// Requested audience.
    pub audience: Option<&'a str>,
    /// `redirect_uri` (code flow).
    pub redirect_uri: Option<&'a str>,
    /// `state` (code flow).
    pub state: Option<&'a str>,
    /// SSO session id.
    pub session_id: &'a str,
    /// When the user authenticated (unix).
    pub auth_time: i64,
}

fn iso(t: OffsetDateTime) -> Value {
    t.format(&Rfc3339).map(Value::String).unwrap_or(Value::Null)
}

/// The `event` object for `input`.
pub fn build_event(input: &EventInput<'_>) -> Value {
    let u = input.user;
    let method = match input.protocol {
        Protocol::AuthorizationCode => "GET",
        Protocol::RefreshToken => "POST",
    };
    let auth_time = OffsetDateTime::from_unix_timestamp(input.auth_time)
        .map(iso)
        .unwrap_or(Value::Null);
    let mut event = json!({
        "user": user(u, &input.connection.name),
        "authorization": {"roles": u.roles},
        "client": {"client_id": input.client.client_id, "name": input.client.name, "metadata": {}},
        "connection": {
            "id": input.connection.id,
            "name": input.connection.name,
            "strategy": "auth0",
            "metadata": {},
        },
        "request": {
            "ip": input.caller.ip_string(),
            "user_agent": input.caller.user_agent,
            "hostname": input.hostname,
            "method": method,
            "language": "en",
            "query": {},
            "body": {},
            "geoip": {},
        },
        "transaction": {
            "protocol": input.protocol.as_str(),
            "requested_scopes": input.scope,
            "locale": "en",
            "ui_locales": [],
        },
        "tenant": {"id": input.tenant_id},
        "session": {"id": input.session_id},
        "authentication": {"methods": [{"name": "pwd", "timestamp": auth_time}]},
        "stats": {"logins_count": u.logins_count},
        "secrets": {},
    });
    if input.protocol == Protocol::AuthorizationCode {
        event["transaction"]["response_type"] = json!(["code"]);
        event["transaction"]["response_mode"] = json!("query");
        event["transaction"]["redirect_uri"] = json!(input.redirect_uri);
        event["transaction"]["state"] = json!(input.state);
    }
    if let Some(a) = input.audience {
        event["resource_server"] = json!({"identifier": a});
    }
    event
}

fn user(u: &User, connection: &str) -> Value {
    let mut v = json!({
        "user_id": u.user_id,
        "email": u.email,
        "email_verified": u.email_verified,
        "name": u.name,
        "nickname": u.nickname,
        "picture": u.picture,
        "created_at": iso(u.created_at),
        "updated_at": iso(u.updated_at),
        "user_metadata": u.user_metadata,
        "app_metadata": u.app_metadata.clone().unwrap_or_default(),
        "identities": [{
            "connection": connection,
            "provider": "auth0",
            "user_id": u.bare_id(),
            "isSocial": false,
        }],
    });
    if let Some(g) = &u.given_name {
        v["given_name"] = json!(g);
    }
    if let Some(f) = &u.family_name {
        v["family_name"] = json!(f);
    }
    v
}
