//! The source plan's SPA token API (spec §3): a browser app that keeps its own PKCE verifier
//! signs in and renews its tokens through the backend, which holds the client secret.
//!
//! - `POST /api/v1/auth/authorize` starts a sign-in: the server makes `state` and `nonce` and keeps
//!   the transaction server-side ([`pymd_storage::SpaTransaction`], ten minutes, one use), and
//!   answers the IdP's authorize URL for the app's code challenge and a registered redirect URI.
//! - `POST /api/v1/auth/callback` spends that transaction: checks the verifier against the stored
//!   challenge, exchanges the code at the IdP with the client secret and the verifier, verifies the
//!   ID token (signature, `iss`, `aud`, `azp`, `exp`, the stored `nonce`) and the access token (same
//!   `sub`), upserts the user and records the refresh token's grant by hash.
//! - `POST /api/v1/auth/refresh` renews tokens: the presented refresh token must belong to a
//!   recorded grant (so its user is known before the IdP is asked), counts against the user's
//!   hourly refresh limit (shared with the web sessions' refreshes), and is exchanged at the IdP;
//!   the rotated token joins the grant. A reused token is passed on, so the IdP's answer —
//!   `invalid_grant`, and the family revoked — reaches the app, and the grant ends here too.
//!
//! Refusals record nothing and use OAuth's error codes in the API's error envelope; the IdP's
//! own refusal codes are passed through from a fixed set. The routes share the per-IP limit of
//! the sign-in routes.

use axum::Json;
use axum::extract::State;
use pymd_domain::{SyncUser, User};
use pymd_storage::{SpaGrantToken, SpaTransaction};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Duration;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::web::crypto;
use crate::web::oidc::{self, ExchangeError, Expected};

/// How long a started sign-in may take.
const TRANSACTION_TTL: Duration = Duration::minutes(10);
/// Bound on each token-endpoint exchange.
const IDP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Largest token response accepted.
const MAX_TOKEN_RESPONSE: usize = 256 * 1024;

/// Body of `POST /api/v1/auth/authorize`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthorizeInput {
    /// The app's PKCE challenge: BASE64URL(SHA-256(verifier)), 43 characters (S256 only).
    #[schema(min_length = 43, max_length = 43, pattern = r"^[A-Za-z0-9_-]{43}$")]
    code_challenge: String,
    /// Where the IdP sends the browser back; one of the registered SPA redirect URIs
    /// (default `{AUTH0_BASE_URL}/spa/callback`; the served document lists them).
    redirect_uri: Option<String>,
    /// A local path the app returns to after signing in (default `/spa/`); anything that is not
    /// a safe local path (another origin, a scheme, too long) is replaced by `/dashboard`.
    return_to: Option<String>,
}

/// A started sign-in: where to send the browser, and the `state` the callback must present.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeView {
    authorize_url: String,
    state: String,
    /// The local path given (or defaulted) at the start, for the app to go to afterwards.
    return_to: String,
}

/// Body of `POST /api/v1/auth/callback`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CallbackInput {
    #[schema(min_length = 1, max_length = 2048)]
    code: String,
    #[schema(min_length = 1, max_length = 256)]
    state: String,
    /// The PKCE verifier (RFC 7636: 43–128 unreserved characters).
    #[schema(
        min_length = 43,
        max_length = 128,
        pattern = r"^[A-Za-z0-9._~-]{43,128}$"
    )]
    code_verifier: String,
    /// Must equal the redirect URI the sign-in was started with, when given.
    #[schema(max_length = 2048)]
    redirect_uri: Option<String>,
}

/// Body of `POST /api/v1/auth/refresh`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshInput {
    #[schema(min_length = 1, max_length = 4096)]
    refresh_token: String,
}

/// The signed-in user, as the SPA sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpaUser {
    id: String,
    user_id: String,
    email: Option<String>,
    name: Option<String>,
    picture: Option<String>,
    email_verified: bool,
}

/// Tokens for the SPA (the user only after a sign-in).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokensView {
    access_token: String,
    refresh_token: Option<String>,
    /// Seconds until the access token expires.
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<SpaUser>,
}

/// Start an SPA sign-in.
#[utoipa::path(
    post, path = "/api/v1/auth/authorize", tag = "auth",
    request_body = AuthorizeInput,
    responses(
        (status = 200, description = "The authorize URL and state", body = AuthorizeView),
        (status = 400, description = "Malformed JSON"),
        (status = 413, description = "Body too large"),
        (status = 415, description = "Not JSON"),
        (status = 422, description = "A field is invalid (named)"),
        (status = 429, description = "Too many sign-in requests from this client"),
        (status = 503, description = "The IdP's discovery or the database is unavailable"),
    )
)]
pub async fn authorize(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<AuthorizeInput>,
) -> ApiResult<Json<AuthorizeView>> {
    crate::limits::check_auth_client(&state).await?;
    Ok(Json(start(&state, input).await?))
}

/// Exchange an SPA's authorization code.
#[utoipa::path(
    post, path = "/api/v1/auth/callback", tag = "auth",
    request_body = CallbackInput,
    responses(
        (status = 200, description = "Tokens and the user", body = TokensView),
        (status = 400, description = "Unknown, spent or expired state; wrong verifier or redirect URI; the IdP refused the code (`invalid_grant`...); the ID token failed a check; malformed JSON"),
        (status = 413, description = "Body too large"),
        (status = 415, description = "Not JSON"),
        (status = 422, description = "A field is invalid (named)"),
        (status = 429, description = "Too many sign-in requests from this client"),
        (status = 502, description = "The IdP answered unusably"),
        (status = 503, description = "The IdP or the database is unavailable"),
    )
)]
pub async fn callback(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<CallbackInput>,
) -> ApiResult<Json<TokensView>> {
    crate::limits::check_auth_client(&state).await?;
    Ok(Json(finish(&state, input).await?))
}

/// Renew an SPA's tokens.
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshInput,
    responses(
        (status = 200, description = "Rotated tokens", body = TokensView),
        (status = 400, description = "Unknown, revoked or reused refresh token (`invalid_grant`); malformed JSON"),
        (status = 413, description = "Body too large"),
        (status = 415, description = "Not JSON"),
        (status = 422, description = "A field is invalid (named)"),
        (status = 429, description = "The user's refresh limit (or this client's request limit) is reached; see Retry-After"),
        (status = 502, description = "The IdP answered unusably"),
        (status = 503, description = "The IdP or the database is unavailable"),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<RefreshInput>,
) -> ApiResult<Json<TokensView>> {
    crate::limits::check_auth_client(&state).await?;
    Ok(Json(renew(&state, input).await?))
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Validation {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

fn oauth(code: &'static str, description: &str) -> ApiError {
    ApiError::OAuth {
        code,
        description: description.to_owned(),
    }
}

fn idp_unavailable(cause: impl Into<String>) -> ApiError {
    ApiError::Upstream {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        description: "the identity provider is unavailable; retry later",
        cause: cause.into(),
    }
}

/// The registered SPA redirect URIs.
pub(crate) fn registered_redirect_uris(state: &AppState) -> Vec<String> {
    let base = state.config.base_url.as_str().trim_end_matches('/');
    vec![format!("{base}/spa/callback")]
}

fn web_client(state: &AppState) -> ApiResult<std::sync::Arc<(String, SecretString)>> {
    state
        .web_client
        .clone()
        .ok_or_else(|| ApiError::Internal("no web client (AUTH0_CLIENT_ID) is configured".into()))
}

async fn provider(state: &AppState) -> ApiResult<std::sync::Arc<pymd_auth::ProviderMetadata>> {
    state
        .verifier
        .provider_metadata()
        .await
        .map_err(|e| idp_unavailable(format!("discovery: {e}")))
}

async fn start(state: &AppState, input: AuthorizeInput) -> ApiResult<AuthorizeView> {
    let challenge_ok = input.code_challenge.len() == 43
        && input
            .code_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !challenge_ok {
        return Err(invalid(
            "codeChallenge",
            "must be the 43-character BASE64URL SHA-256 of the verifier (S256)",
        ));
    }
    let registered = registered_redirect_uris(state);
    let redirect_uri = match input.redirect_uri {
        None => registered[0].clone(),
        Some(u) if registered.contains(&u) => u,
        Some(_) => return Err(invalid("redirectUri", "is not a registered redirect URI")),
    };
    let return_to = match input.return_to.as_deref() {
        None => "/spa/".to_owned(),
        raw => crate::web::auth::safe_return_to(&state.config.base_url, raw),
    };
    let client = web_client(state)?;
    let meta = provider(state).await?;
    let random = || crypto::random_token::<32>().map_err(|e| ApiError::Internal(e.to_string()));
    let (tx_state, nonce) = (random()?, random()?);
    let now = pymd_domain::truncate_to_micros(pymd_domain::now());
    let tx = SpaTransaction {
        state_hash: crypto::sha256(tx_state.as_bytes()).to_vec(),
        nonce: nonce.clone(),
        code_challenge: input.code_challenge,
        redirect_uri: redirect_uri.clone(),
        return_to: return_to.clone(),
        created_at: now,
        expires_at: now + TRANSACTION_TTL,
    };
    state.store.create_spa_transaction(&tx).await?;
    let mut url = meta.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.0)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &state.config.scope)
        .append_pair("audience", &state.config.audience)
        .append_pair("state", &tx_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &tx.code_challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(AuthorizeView {
        authorize_url: url.into(),
        state: tx_state,
        return_to,
    })
}

/// The IdP's refusal code, from a fixed set (anything else reads as `invalid_grant`).
fn refusal_code(error: &str) -> &'static str {
    match error {
        "invalid_request" => "invalid_request",
        "unauthorized_client" => "unauthorized_client",
        "access_denied" => "access_denied",
        "invalid_scope" => "invalid_scope",
        _ => "invalid_grant",
    }
}

fn exchange_failed(e: ExchangeError) -> ApiError {
    match e {
        // A refused client means PyMD's own configuration is wrong: not the app's fault.
        ExchangeError::Refused { error, .. } if error == "invalid_client" => ApiError::Upstream {
            status: axum::http::StatusCode::BAD_GATEWAY,
            description: "the identity provider refused PyMD's client credentials",
            cause: "invalid_client at the token endpoint".into(),
        },
        ExchangeError::Refused { error, .. } => oauth(
            refusal_code(&error),
            "the identity provider refused the grant",
        ),
        ExchangeError::Unavailable(cause) => idp_unavailable(cause),
    }
}

async fn finish(state: &AppState, input: CallbackInput) -> ApiResult<TokensView> {
    let tx = take_transaction(state, &input).await?;
    let client = web_client(state)?;
    let meta = provider(state).await?;
    let tokens = oidc::exchange_code(
        state,
        &meta,
        &client,
        &input.code,
        &input.code_verifier,
        &tx.redirect_uri,
    )
    .await
    .map_err(exchange_failed)?;
    let claims = verified_id_token(state, &meta, &client.0, &tx.nonce, &tokens.id_token).await?;
    let access = verified_access(state, &tokens.access_token, &claims.sub).await?;
    let described = SyncUser {
        auth0_id: claims.sub.clone(),
        email: claims.email.clone(),
        name: claims.name.clone(),
        picture: claims.picture.clone(),
        email_verified: claims.email_verified,
    };
    let user = crate::service::login::upsert_signed_in(state, described).await?;
    if let Some(refresh_token) = &tokens.refresh_token {
        let grant = uuid::Uuid::new_v4();
        record_token(state, refresh_token, grant, &user, claims.sid.clone()).await?;
    }
    let ip = crate::request_meta::current().and_then(|m| m.ip);
    let elapsed = (pymd_domain::now() - tx.created_at).unsigned_abs();
    crate::service::login::record_success(state, &user, ip, elapsed).await;
    Ok(TokensView {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_in: expires_in(&access),
        user: Some(SpaUser::from(user)),
    })
}

impl From<User> for SpaUser {
    fn from(user: User) -> Self {
        SpaUser {
            id: user.id.0.to_string(),
            user_id: user.auth0_id,
            email: user.email,
            name: user.name,
            picture: user.picture,
            email_verified: user.email_verified,
        }
    }
}

/// Spends the transaction `input.state` names (whatever happens next: a state works once), and
/// checks the redirect URI and the verifier against it before the IdP is asked.
async fn take_transaction(state: &AppState, input: &CallbackInput) -> ApiResult<SpaTransaction> {
    let verifier_ok = (43..=128).contains(&input.code_verifier.len())
        && input
            .code_verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !verifier_ok {
        return Err(invalid(
            "codeVerifier",
            "must be 43–128 characters of A-Z a-z 0-9 - . _ ~",
        ));
    }
    let tx = state
        .store
        .take_spa_transaction(&crypto::sha256(input.state.as_bytes()), pymd_domain::now())
        .await?
        .ok_or_else(|| oauth("invalid_request", "unknown, used or expired state"))?;
    if input
        .redirect_uri
        .as_ref()
        .is_some_and(|u| *u != tx.redirect_uri)
    {
        return Err(oauth(
            "invalid_request",
            "the redirect URI differs from the one the sign-in started with",
        ));
    }
    if !crypto::ct_eq(
        &crypto::pkce_challenge(&input.code_verifier),
        &tx.code_challenge,
    ) {
        return Err(oauth(
            "invalid_grant",
            "the code verifier does not match the challenge",
        ));
    }
    Ok(tx)
}

/// The ID token of the exchange, verified against the IdP, this client and the stored nonce.
async fn verified_id_token(
    state: &AppState,
    meta: &pymd_auth::ProviderMetadata,
    client_id: &str,
    nonce: &str,
    token: &str,
) -> ApiResult<oidc::IdClaims> {
    let expected = Expected {
        issuer: &meta.issuer,
        client_id,
        nonce,
        leeway_secs: state.config.clock_leeway.as_secs_f64(),
        now: oidc::now_secs_f64(),
    };
    oidc::verify_id_token(state, token, &expected)
        .await
        .map_err(|e| match e {
            oidc::IdTokenError::KeysUnavailable => idp_unavailable("the IdP's keys"),
            e => {
                tracing::warn!(reason = e.reason(), "SPA ID token refused");
                oauth("invalid_grant", "the ID token failed verification")
            }
        })
}

async fn renew(state: &AppState, input: RefreshInput) -> ApiResult<TokensView> {
    let unknown = || oauth("invalid_grant", "Unknown or invalid refresh token.");
    let hash = crypto::sha256(input.refresh_token.as_bytes());
    let grant = state
        .store
        .find_spa_grant_token(&hash)
        .await?
        .ok_or_else(unknown)?;
    crate::limits::count_refresh(state, grant.user_id, &grant.subject)
        .await
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    let client = web_client(state)?;
    let meta = provider(state).await?;
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client.0.as_str()),
        ("client_secret", client.1.expose_secret()),
        ("refresh_token", input.refresh_token.as_str()),
    ];
    let json = match oidc::post_token_endpoint(state, &meta, &form, IDP_TIMEOUT, MAX_TOKEN_RESPONSE)
        .await
    {
        Ok(json) => json,
        Err(ExchangeError::Refused { error, status }) => {
            // The IdP refused (a reused token revokes its family): the grant ends here too.
            if let Err(e) = state.store.end_spa_grant(grant.grant_id).await {
                tracing::warn!(error = %e, "an SPA grant the IdP refused could not be ended");
            }
            return Err(exchange_failed(ExchangeError::Refused { error, status }));
        }
        Err(e) => return Err(exchange_failed(e)),
    };
    let text = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_owned);
    let access_token = text("access_token").ok_or_else(|| ApiError::Upstream {
        status: axum::http::StatusCode::BAD_GATEWAY,
        description: "the identity provider answered without an access token",
        cause: "refresh response without access_token".into(),
    })?;
    let access = verified_access(state, &access_token, &grant.subject).await?;
    let rotated = text("refresh_token");
    if let Some(new) = rotated.as_deref().filter(|t| *t != input.refresh_token) {
        let token = SpaGrantToken {
            token_hash: crypto::sha256(new.as_bytes()).to_vec(),
            created_at: pymd_domain::truncate_to_micros(pymd_domain::now()),
            ..grant
        };
        state.store.record_spa_grant_token(&token).await?;
    }
    Ok(TokensView {
        access_token,
        refresh_token: rotated.or(Some(input.refresh_token)),
        expires_in: expires_in(&access),
        user: None,
    })
}

/// The access token the IdP issued, verified, and naming `sub`.
async fn verified_access(
    state: &AppState,
    token: &str,
    sub: &str,
) -> ApiResult<std::sync::Arc<pymd_auth::VerifiedToken>> {
    let access = state.verifier.verify(token).await.map_err(|e| {
        if e.is_unavailable() {
            idp_unavailable("the IdP's keys")
        } else {
            tracing::warn!(reason = e.reason(), "SPA access token refused");
            oauth("invalid_grant", "the access token failed verification")
        }
    })?;
    if access.sub != sub {
        return Err(oauth(
            "invalid_grant",
            "the access token names another subject",
        ));
    }
    Ok(access)
}

async fn record_token(
    state: &AppState,
    refresh_token: &str,
    grant_id: uuid::Uuid,
    user: &User,
    idp_sid: Option<String>,
) -> ApiResult<()> {
    let token = SpaGrantToken {
        token_hash: crypto::sha256(refresh_token.as_bytes()).to_vec(),
        grant_id,
        user_id: user.id,
        subject: user.auth0_id.clone(),
        idp_sid,
        created_at: pymd_domain::truncate_to_micros(pymd_domain::now()),
    };
    Ok(state.store.record_spa_grant_token(&token).await?)
}

fn expires_in(access: &pymd_auth::VerifiedToken) -> i64 {
    (access.expires_at - pymd_domain::now().unix_timestamp()).max(0)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    #[test]
    fn only_known_refusal_codes_pass_through() {
        assert_eq!(refusal_code("invalid_grant"), "invalid_grant");
        assert_eq!(refusal_code("access_denied"), "access_denied");
        assert_eq!(refusal_code("<script>"), "invalid_grant");
        assert_eq!(refusal_code(""), "invalid_grant");
    }

    #[test]
    fn a_state_is_43_url_safe_characters() {
        let s = crypto::random_token::<32>().unwrap();
        assert_eq!(s.len(), 43);
        assert!(URL_SAFE_NO_PAD.decode(&s).is_ok());
    }
}
