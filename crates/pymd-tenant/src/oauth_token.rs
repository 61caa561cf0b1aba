//! `POST /oauth/token`: checks the grant type, authenticates the client (auth0-surface §4.2),
//! runs the grant (see `grants`), answers with no-store JSON or the error catalogue of §4.8,
//! and logs the exchange (`seacft`/`feacft`, `sertft`/`fertft`/`ferrt`, `seccft`/`feccft`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::config::ClientConfig;
use crate::error::OAuthError;
use crate::extract::{Caller, ClientRequest, Params};
use crate::grants::{self, FailureLog, GrantResult, GrantUser};
use crate::logs::LogEvent;
use crate::respond::no_store_json;
use crate::state::AppState;

const KNOWN_GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "http://auth0.com/oauth/grant-type/password-realm",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "http://auth0.com/oauth/grant-type/mfa-oob",
    "http://auth0.com/oauth/grant-type/mfa-otp",
    "http://auth0.com/oauth/grant-type/mfa-recovery-code",
    "implicit",
];

const GRANT_TYPES_DOC: &str = "https://auth0.com/docs/clients/client-grant-types";

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<AppState>,
    caller: Caller,
    req: ClientRequest,
) -> Result<Response, OAuthError> {
    let p = &req.params;
    let grant_type = grant_type(p)?;
    let client = req.auth.authenticate(&state.cfg)?;
    if !client.grant_types.iter().any(|g| g == grant_type) || grant_type == "implicit" {
        return Err(OAuthError::grant_not_allowed(grant_type).with_error_uri(GRANT_TYPES_DOC));
    }
    let result = match grant_type {
        "authorization_code" => grants::authorization_code::grant(&state, &client, p).await,
        "refresh_token" => grants::refresh_token::grant(&state, &client, p, &caller).await,
        "client_credentials" => grants::client_credentials::grant(&state, &client, p).await,
        other => Err(OAuthError::grant_not_allowed(other).into()),
    };
    let exchange = Exchange {
        state: &state,
        client: &client,
        caller: &caller,
        params: p,
    };
    Ok(exchange.answer(grant_type, result))
}

/// The request's `grant_type`, which must be one Auth0 knows.
fn grant_type(p: &Params) -> Result<&str, OAuthError> {
    let Some(grant_type) = p.get("grant_type") else {
        return Err(OAuthError::invalid_request(
            "Missing required parameter: grant_type",
        ));
    };
    if !KNOWN_GRANTS.contains(&grant_type.as_str()) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        ));
    }
    Ok(grant_type)
}

/// One token exchange, for answering and logging it.
struct Exchange<'a> {
    state: &'a AppState,
    client: &'a ClientConfig,
    caller: &'a Caller,
    params: &'a Params,
}

impl Exchange<'_> {
    /// Logs the outcome and turns it into the answer.
    fn answer(&self, grant_type: &str, result: GrantResult) -> Response {
        let (ok_kind, fail_kind) = match grant_type {
            "authorization_code" => ("seacft", "feacft"),
            "refresh_token" => ("sertft", "fertft"),
            "client_credentials" => ("seccft", "feccft"),
            _ => ("", "f"),
        };
        match result {
            Ok((body, user)) => {
                if !ok_kind.is_empty() {
                    self.emit(ok_kind, "", user);
                }
                no_store_json(StatusCode::OK, body)
            }
            Err(f) => {
                match f.log {
                    FailureLog::Silent => {}
                    FailureLog::Grant => self.emit(fail_kind, f.error.description(), None),
                    FailureLog::As(kind) => self.emit(kind, f.error.description(), None),
                }
                f.error.into_response()
            }
        }
    }

    fn emit(&self, kind: &'static str, desc: &str, user: GrantUser) {
        let description = match kind {
            "seacft" => "Authorization Code for Access Token",
            "sertft" => "Successful exchange of Refresh Token for Access Token",
            "seccft" => "Client Credentials for Access Token",
            _ => desc,
        };
        let (user_id, user_name) = user.map(|(a, b)| (Some(a), Some(b))).unwrap_or_default();
        self.state.logs.emit(
            self.state.clock.now(),
            LogEvent {
                kind,
                description: description.to_string(),
                client_id: Some(self.client.client_id.clone()),
                client_name: Some(self.client.name.clone()),
                ip: self.caller.ip_string(),
                user_agent: self.caller.user_agent.clone(),
                user_id,
                user_name,
                connection: false,
                audience: self.params.get("audience").cloned(),
                scope: self.params.get("scope").cloned(),
                details: None,
            },
        );
    }
}
