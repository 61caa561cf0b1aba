//! `GET /auth/callback` (spec §5): the end of a browser sign-in. It finds and spends the login
//! transaction started by `/auth/login` (see [`super::auth`]), exchanges the code, validates the
//! ID token and the access token, stores the user and opens a brand-new server-side session.
//! Each step either hands the next one what it needs or fails with a typed [`LoginFailure`]; a
//! failure is counted, audited and shown as a clear page with a "try again" link, and creates no
//! session.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, PrivateCookieJar};
use pymd_auth::VerifiedToken;
use pymd_domain::{SyncUser, User};
use secrecy::SecretString;

use super::auth::{self, TX_MAX_AGE_SECS, Transaction};
use super::crypto::{self, ct_eq};
use super::error::{Broken, IdpNeed, PageError};
use super::oidc::{self, ExchangeError, Expected, IdClaims, IdTokenError, TokenResponse};
use super::session::{self, IdpTokens};
use crate::service;
use crate::state::AppState;

/// Why a sign-in failed, and who tried when that is known.
#[derive(Debug)]
pub struct LoginFailure {
    pub reason: FailReason,
    /// The IdP subject, once a token has named it.
    pub subject: Option<String>,
}

/// What went wrong in a sign-in.
#[derive(Debug)]
pub enum FailReason {
    /// A callback parameter appears twice.
    DuplicateParameter,
    /// No `state`.
    MissingState,
    /// No login transaction of this browser has that `state` (or it was spent).
    InvalidState,
    /// The login took longer than [`TX_MAX_AGE_SECS`].
    TransactionExpired,
    /// The IdP answered with `error` (sanitised: at most 64 of `[A-Za-z0-9_]`); `with_code` when
    /// it also sent a code, which makes the answer malformed.
    Idp { error: String, with_code: bool },
    /// No usable `code`.
    MissingCode,
    /// An `iss` parameter that is not the IdP's issuer.
    UnexpectedIssuer,
    /// No `iss` parameter from a provider that advertises sending it.
    MissingIssuer,
    /// The token endpoint refused the code or could not be reached.
    CodeExchange(ExchangeError),
    /// The ID token failed verification (or the IdP's keys could not be fetched).
    IdToken(IdTokenError),
    /// The access token's keys could not be fetched.
    AccessTokenKeysUnavailable,
    /// The access token failed verification.
    AccessTokenInvalid,
    /// The ID token and the access token name different subjects.
    SubjectMismatch,
    /// The user could not be stored.
    StoreUnavailable,
    /// The session could not be stored.
    SessionNotCreated,
    /// `PYMD_REQUIRE_VERIFIED_EMAIL` is on and the ID token says the email is not verified.
    EmailNotVerified,
}

impl From<FailReason> for LoginFailure {
    fn from(reason: FailReason) -> Self {
        LoginFailure {
            reason,
            subject: None,
        }
    }
}

impl From<FailReason> for PageError {
    fn from(reason: FailReason) -> Self {
        PageError::LoginFailed(reason.into())
    }
}

impl LoginFailure {
    fn of(subject: &str, reason: FailReason) -> PageError {
        PageError::LoginFailed(LoginFailure {
            reason,
            subject: Some(subject.to_owned()),
        })
    }

    /// The audit event's `reason`: a short machine word.
    pub fn code(&self) -> String {
        use FailReason as F;
        let word = match &self.reason {
            F::DuplicateParameter => "duplicate_parameter",
            F::MissingState => "missing_state",
            F::InvalidState => "invalid_state",
            F::TransactionExpired => "transaction_expired",
            F::Idp { error, .. } => return format!("idp_{error}"),
            F::MissingCode => "missing_code",
            F::UnexpectedIssuer => "bad_iss_parameter",
            F::MissingIssuer => "missing_iss_parameter",
            F::CodeExchange(ExchangeError::Unavailable(_)) => "token_endpoint_unavailable",
            F::CodeExchange(ExchangeError::Refused { error, .. }) => {
                return format!("token_endpoint_{error}");
            }
            F::IdToken(IdTokenError::KeysUnavailable) => "jwks_unavailable",
            F::IdToken(e) => return format!("id_token_{}", e.reason()),
            F::AccessTokenKeysUnavailable => "access_token_keys_unavailable",
            F::AccessTokenInvalid => "access_token_invalid",
            F::SubjectMismatch => "subject_mismatch",
            F::StoreUnavailable => "store_unavailable",
            F::SessionNotCreated => "session_create_failed",
            F::EmailNotVerified => "email_not_verified",
        };
        word.to_owned()
    }

    /// The page's status: 502 when the IdP failed us, 503 when our store did, else 400.
    pub fn status(&self) -> StatusCode {
        use FailReason as F;
        match &self.reason {
            F::CodeExchange(_)
            | F::IdToken(IdTokenError::KeysUnavailable)
            | F::AccessTokenKeysUnavailable => StatusCode::BAD_GATEWAY,
            F::StoreUnavailable | F::SessionNotCreated => StatusCode::SERVICE_UNAVAILABLE,
            F::EmailNotVerified => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The page's title.
    pub fn title(&self) -> &'static str {
        match self.reason {
            FailReason::TransactionExpired => "Sign-in took too long",
            FailReason::EmailNotVerified => "Please verify your email",
            _ => "Sign-in failed",
        }
    }

    /// The page's message.
    pub fn message(&self) -> &'static str {
        use FailReason as F;
        match &self.reason {
            F::DuplicateParameter
            | F::Idp {
                with_code: true, ..
            } => "The sign-in response was malformed. Please try again.",
            F::MissingState => "The sign-in response is missing its state. Please start again.",
            F::InvalidState => {
                "This sign-in response does not belong to a login started in this browser, or it \
was already used. Please start again."
            }
            F::TransactionExpired => "The sign-in was not completed in time. Please try again.",
            F::Idp { error, .. } if error == "access_denied" => {
                "Sign-in was cancelled or access was denied."
            }
            F::Idp { .. } => "The identity provider could not sign you in.",
            F::MissingCode => "The sign-in response is missing its code. Please try again.",
            F::UnexpectedIssuer | F::MissingIssuer => {
                "The sign-in response came from an unexpected issuer."
            }
            F::CodeExchange(_) => {
                "The identity provider did not complete the sign-in. Please try again."
            }
            F::IdToken(IdTokenError::KeysUnavailable) | F::AccessTokenKeysUnavailable => {
                "The identity provider's keys could not be fetched. Please try again."
            }
            F::IdToken(_) => "The identity provider's answer could not be verified.",
            F::AccessTokenInvalid => "The access token issued for PyMD could not be verified.",
            F::SubjectMismatch => "The identity provider's tokens disagree about who you are.",
            F::StoreUnavailable => {
                "PyMD cannot reach its database right now. Please try again in a moment."
            }
            F::SessionNotCreated => {
                "Your session could not be created. Please try again in a moment."
            }
            F::EmailNotVerified => {
                "Your email address is not verified yet. Open the link in the verification email \
we sent you, then sign in again."
            }
        }
    }
}

/// The callback's query: each parameter at most once.
struct Params {
    code: Option<String>,
    state: String,
    error: Option<String>,
    iss: Option<String>,
}

impl Params {
    fn parse(query: Option<&str>) -> Result<Params, FailReason> {
        let pairs: Vec<(String, String)> = auth::query_pairs(query);
        let single = |name: &str| {
            let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
            match (values.next(), values.next()) {
                (first, None) => Ok(first.cloned()),
                (_, Some(_)) => Err(FailReason::DuplicateParameter),
            }
        };
        let (code, state, error, iss) = (
            single("code")?,
            single("state")?,
            single("error")?,
            single("iss")?,
        );
        let state = state
            .filter(|s| !s.is_empty())
            .ok_or(FailReason::MissingState)?;
        Ok(Params {
            code,
            state,
            error,
            iss,
        })
    }

    /// The code, unless the IdP answered with an error or sent none.
    fn code(&self) -> Result<&str, FailReason> {
        if let Some(error) = &self.error {
            let error = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            let with_code = self.code.is_some();
            return Err(FailReason::Idp { error, with_code });
        }
        self.code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 2048)
            .ok_or(FailReason::MissingCode)
    }
}

/// `GET /auth/callback?code&state` (or `?error&error_description&state`).
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let spent = async {
        let params = Params::parse(query.as_deref())?;
        let (jar, tx) = take_transaction(&state, &headers, &params.state)?;
        Ok::<_, PageError>((jar, tx, params))
    }
    .await;
    match spent {
        // The transaction is spent whatever happens next.
        Ok((jar, tx, params)) => {
            let outcome = finish(&state, &headers, tx, &params).await;
            (jar, answer(&state, outcome).await).into_response()
        }
        Err(e) => answer(&state, Err(e)).await,
    }
}

/// The response, once a failed sign-in is counted and audited.
async fn answer(state: &AppState, outcome: Result<Response, PageError>) -> Response {
    match outcome {
        Ok(response) => response,
        Err(e) => {
            if let PageError::LoginFailed(failure) = &e {
                record_failure(state, failure).await;
            }
            e.into_response()
        }
    }
}

async fn record_failure(state: &AppState, failure: &LoginFailure) {
    let subject = failure.subject.as_deref();
    service::login::record_failure(state, &failure.code(), subject).await;
}

/// The login transaction this browser holds for `tx_state`, and the jar that removes it.
fn take_transaction(
    state: &AppState,
    headers: &HeaderMap,
    tx_state: &str,
) -> Result<(PrivateCookieJar, Transaction), PageError> {
    let key = crypto::cookie_key(&state.cookie_secret)
        .map_err(|_| PageError::SignInBroken(Broken::Internal))?;
    let jar = PrivateCookieJar::from_headers(headers, key);
    let valid_shape = tx_state.len() == auth::STATE_LEN
        && tx_state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let cookies = auth::TxCookies::of(state);
    let name = cookies.name(tx_state);
    let tx = valid_shape
        .then(|| jar.get(&name))
        .flatten()
        .and_then(|c| serde_json::from_str::<Transaction>(c.value()).ok())
        .filter(|t| ct_eq(&t.s, tx_state))
        .ok_or(FailReason::InvalidState)?;
    Ok((jar.remove(Cookie::build(name).path(cookies.path())), tx))
}

/// Everything after the transaction is found: the chain of checks, then the new session.
async fn finish(
    state: &AppState,
    headers: &HeaderMap,
    tx: Transaction,
    params: &Params,
) -> Result<Response, PageError> {
    check_age(&tx)?;
    let code = params.code()?;
    let client = state
        .web_client
        .clone()
        .ok_or(PageError::SignInBroken(Broken::Internal))?;
    let meta = state
        .verifier
        .provider_metadata()
        .await
        .map_err(|_| PageError::IdpUnavailable(IdpNeed::SignIn))?;
    match &params.iss {
        Some(iss) if *iss != meta.issuer => return Err(FailReason::UnexpectedIssuer.into()),
        // RFC 9207: a provider that says it sends `iss` always does; a response without it may
        // come from another provider (a mix-up attack).
        None if meta.iss_parameter_supported => return Err(FailReason::MissingIssuer.into()),
        _ => {}
    }
    let redirect_uri = auth::redirect_uri(state);
    let tokens = oidc::exchange_code(state, &meta, &client, code, &tx.v, &redirect_uri)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "code exchange failed");
            FailReason::CodeExchange(e)
        })?;
    let claims = verify_id_token(state, &meta, &client, &tx, &tokens).await?;
    let access = verify_access_token(state, &tokens, &claims).await?;
    let (tokens, access) =
        with_granted_permissions(state, &meta, &client, tokens, access, &claims).await?;
    if state.config.require_verified_email && !claims.email_verified.unwrap_or(false) {
        return Err(LoginFailure::of(&claims.sub, FailReason::EmailNotVerified));
    }
    let user = store_user(state, &claims).await?;
    end_presented_session(state, headers).await;
    let raw = open_session(state, &user, &tokens, &claims, &access).await?;
    record_success(state, &user, &tx).await;
    let jar = CookieJar::new().add(session::cookie(state, &raw));
    Ok((jar, auth::found(&tx.r)).into_response())
}

fn check_age(tx: &Transaction) -> Result<(), FailReason> {
    let age_ms = auth::now_millis().saturating_sub(tx.t);
    if age_ms > u64::try_from(TX_MAX_AGE_SECS).unwrap_or(600) * 1000 {
        return Err(FailReason::TransactionExpired);
    }
    Ok(())
}

async fn verify_id_token(
    state: &AppState,
    meta: &pymd_auth::ProviderMetadata,
    client: &(String, SecretString),
    tx: &Transaction,
    tokens: &TokenResponse,
) -> Result<IdClaims, FailReason> {
    let expected = Expected {
        issuer: &meta.issuer,
        client_id: &client.0,
        nonce: &tx.n,
        leeway_secs: state.config.clock_leeway.as_secs_f64(),
        now: super::oidc::now_secs_f64(),
    };
    oidc::verify_id_token(state, &tokens.id_token, &expected)
        .await
        .map_err(|e| {
            if !matches!(e, IdTokenError::KeysUnavailable) {
                tracing::warn!(reason = e.reason(), "ID token refused");
            }
            FailReason::IdToken(e)
        })
}

/// The access token issued for PyMD, verified, and naming the same subject as the ID token.
async fn verify_access_token(
    state: &AppState,
    tokens: &TokenResponse,
    claims: &IdClaims,
) -> Result<std::sync::Arc<VerifiedToken>, PageError> {
    let failed = |reason| LoginFailure::of(&claims.sub, reason);
    let access = match state.verifier.verify(&tokens.access_token).await {
        Ok(t) => t,
        Err(e) if e.is_unavailable() => return Err(failed(FailReason::AccessTokenKeysUnavailable)),
        Err(e) => {
            tracing::warn!(reason = e.reason(), "access token refused at login");
            return Err(failed(FailReason::AccessTokenInvalid));
        }
    };
    if access.sub != claims.sub {
        return Err(failed(FailReason::SubjectMismatch));
    }
    Ok(access)
}

/// Auth0 computes a login's RBAC `permissions` before the post-login Action runs, so a role the
/// Action gives during this very login (PyMD's default role for a new user) is missing from the
/// first access token. When the token names roles (the Action's claim) yet grants no permission,
/// one refresh-token exchange brings the permissions; if it fails, the login goes on with the
/// tokens it has.
async fn with_granted_permissions(
    state: &AppState,
    meta: &pymd_auth::ProviderMetadata,
    client: &(String, SecretString),
    tokens: TokenResponse,
    access: std::sync::Arc<VerifiedToken>,
    claims: &IdClaims,
) -> Result<(TokenResponse, std::sync::Arc<VerifiedToken>), PageError> {
    let roles = access.string_array_claim(&state.config.roles_claim);
    let (Some(refresh_token), true, false) = (
        tokens.refresh_token.clone(),
        access.permissions.is_empty() && access.claims.contains_key("permissions"),
        roles.is_empty(),
    ) else {
        return Ok((tokens, access));
    };
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client.0.as_str()),
        (
            "client_secret",
            secrecy::ExposeSecret::expose_secret(&client.1),
        ),
        ("refresh_token", refresh_token.as_str()),
    ];
    let answer = oidc::post_token_endpoint(
        state,
        meta,
        &form,
        super::session::refresh::TOKEN_TIMEOUT,
        64 * 1024,
    )
    .await;
    let json = match answer {
        Ok(json) => json,
        Err(e) => {
            tracing::warn!(error = %e, "the refresh for a new role's permissions failed; the login goes on");
            return Ok((tokens, access));
        }
    };
    let text = |name: &str| {
        json.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let Some(access_token) = text("access_token") else {
        return Ok((tokens, access));
    };
    let fresh = TokenResponse {
        access_token,
        id_token: text("id_token").unwrap_or(tokens.id_token),
        refresh_token: text("refresh_token").or(Some(refresh_token)),
    };
    let verified = verify_access_token(state, &fresh, claims).await?;
    Ok((fresh, verified))
}

/// Stores the user the ID token describes (see [`service::login::upsert_signed_in`]).
async fn store_user(state: &AppState, claims: &IdClaims) -> Result<User, PageError> {
    let described = SyncUser {
        auth0_id: claims.sub.clone(),
        email: claims.email.clone(),
        name: claims.name.clone(),
        picture: claims.picture.clone(),
        email_verified: claims.email_verified,
    };
    let stored = service::login::upsert_signed_in(state, described).await;
    stored.map_err(|e| {
        tracing::warn!(error = %e, "user upsert failed at login");
        LoginFailure::of(&claims.sub, FailReason::StoreUnavailable)
    })
}

/// Session fixation / switching users: whatever session id the browser holds is ended; the new
/// session always gets a fresh id.
async fn end_presented_session(state: &AppState, headers: &HeaderMap) {
    let presented = CookieJar::from_headers(headers);
    if let Some(old) = session::presented_id(&presented)
        && let Err(e) = state.store.delete_session(&session::hash_id(&old)).await
    {
        tracing::warn!(error = %e, "the previous session could not be deleted");
    }
}

async fn open_session(
    state: &AppState,
    user: &User,
    tokens: &TokenResponse,
    claims: &IdClaims,
    access: &VerifiedToken,
) -> Result<[u8; 32], PageError> {
    let expires = time::OffsetDateTime::from_unix_timestamp(access.expires_at)
        .unwrap_or_else(|_| pymd_domain::now());
    let idp_tokens = IdpTokens {
        access_token: &tokens.access_token,
        refresh_token: tokens.refresh_token.as_deref(),
        id_token: &tokens.id_token,
        access_token_expires_at: expires,
        idp_sid: claims.sid.clone(),
    };
    session::create(state, user, &idp_tokens)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "session creation failed");
            LoginFailure::of(&claims.sub, FailReason::SessionNotCreated)
        })
}

async fn record_success(state: &AppState, user: &User, tx: &Transaction) {
    let elapsed = Duration::from_millis(auth::now_millis().saturating_sub(tx.t));
    let ip = crate::request_meta::current().and_then(|m| m.ip);
    service::login::record_success(state, user, ip, elapsed).await;
}
