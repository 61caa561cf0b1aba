//! Server-side web sessions (spec §5). The browser's `pymd_session` cookie holds a random 256-bit
//! id (base64url); the `sessions` table is keyed by SHA-256 of it, and the IdP's tokens are stored
//! sealed with AES-256-GCM, the session hash as associated data (so a row copied under another
//! hash does not open). Idle (1 day) and absolute (7 day) expiry are enforced on every load;
//! `last_seen_at` is written at most once a minute. When the database cannot be asked, the
//! request fails with 503: an unverifiable cookie never degrades to "signed out" or worse.
//!
//! [`load_fresh`] (what the extractors and the API's cookie path use) also refreshes an access
//! token that is about to expire, once per session across instances (see [`refresh`]).

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pymd_domain::User;
use pymd_storage::{NewSession, Session, StoreError};
use time::{Duration, OffsetDateTime};

use super::crypto::{self, TokenSealer};
use super::error::PageError;
use crate::error::ApiError;
use crate::state::AppState;

#[path = "refresh.rs"]
pub mod refresh;

/// The session cookie's name.
pub const COOKIE: &str = "pymd_session";
/// `last_seen_at` is written at most this often.
pub const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// The hash a session is stored under: SHA-256 of the raw id bytes.
pub fn hash_id(raw_id: &[u8]) -> [u8; 32] {
    crypto::sha256(raw_id)
}

/// The session id the browser sent, decoded; `None` when absent or not a well-formed id.
pub fn presented_id(jar: &CookieJar) -> Option<[u8; 32]> {
    let value = jar.get(COOKIE)?.value().to_owned();
    if value.len() != 43 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(value.as_bytes()).ok()?;
    <[u8; 32]>::try_from(bytes.as_slice()).ok()
}

/// The `Set-Cookie` for a new session id.
pub fn cookie(state: &AppState, raw_id: &[u8; 32]) -> Cookie<'static> {
    Cookie::build((COOKIE, URL_SAFE_NO_PAD.encode(raw_id)))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.is_https())
        .build()
}

/// The `Set-Cookie` that removes the session cookie (same attributes, `Max-Age=0`).
pub fn removal(state: &AppState) -> Cookie<'static> {
    let mut c = Cookie::build((COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.is_https())
        .build();
    c.make_removal();
    c
}

/// A signed-in user: the session row and its user.
#[derive(Clone)]
pub struct SessionUser {
    pub user: User,
    pub session: Session,
}

impl std::fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser")
            .field("user", &self.user.id)
            .field("subject", &self.session.subject)
            .finish_non_exhaustive()
    }
}

impl SessionUser {
    /// The session's IdP access token, decrypted.
    pub fn access_token(&self, state: &AppState) -> Option<String> {
        let sealer = TokenSealer::new(&state.cookie_secret).ok()?;
        let plain = sealer
            .open(&self.session.id_hash, &self.session.access_token)
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Loads the session named by the request's cookie: `Ok(None)` when there is no usable session
/// (no cookie, unknown id, expired — an expired row is deleted — or its user is gone).
///
/// # Errors
/// [`StoreError`] when the database cannot be asked.
pub async fn load(state: &AppState, jar: &CookieJar) -> Result<Option<SessionUser>, StoreError> {
    let Some(raw) = presented_id(jar) else {
        return Ok(None);
    };
    let hash = hash_id(&raw);
    let Some(session) = state.store.find_session(&hash).await? else {
        return Ok(None);
    };
    let now = pymd_domain::now();
    if session.is_expired(now) {
        if let Err(e) = state.store.delete_session(&hash).await {
            tracing::warn!(error = %e, "an expired session could not be deleted");
        }
        return Ok(None);
    }
    let Some(user) = state.store.find_user_by_auth0_id(&session.subject).await? else {
        return Ok(None);
    };
    if user.id != session.user_id {
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_INTERVAL
        && let Err(e) = state.store.touch_session(&hash, now).await
    {
        tracing::warn!(error = %e, "session activity could not be recorded");
    }
    Ok(Some(SessionUser { user, session }))
}

/// Why a session could not be checked or brought up to date. The pages answer it with an
/// error page ([`PageError`]), the API's cookie path with its JSON error ([`ApiError`]).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The database cannot be asked.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The access token has expired and the IdP cannot refresh it right now (the session is
    /// kept; the next request tries again).
    #[error("the access token has expired and the IdP cannot refresh it now")]
    IdpUnavailable,
    /// The access token has expired and the user has used up the hour's refreshes.
    #[error("the access token has expired and the refresh limit is reached")]
    RefreshLimited { retry_after_secs: u64 },
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Store(e) => ApiError::from(e),
            SessionError::IdpUnavailable => ApiError::Upstream {
                status: StatusCode::SERVICE_UNAVAILABLE,
                description: "the identity provider cannot renew the session's token; retry later",
                cause: "token refresh unavailable and the access token has expired".into(),
            },
            SessionError::RefreshLimited { retry_after_secs } => {
                ApiError::RateLimited { retry_after_secs }
            }
        }
    }
}

/// Like [`load`], and first refreshes the session's access token when it expires within
/// [`refresh::REFRESH_MARGIN`] (exactly one refresh per session, also across instances). A
/// refused refresh ends the session (`Ok(None)`: signed out); a session without a refresh token
/// ends when its access token has expired. When the IdP cannot be reached the session is kept and
/// used as it is while its token is still valid.
///
/// # Errors
/// [`SessionError::Store`] when the database cannot be asked; [`SessionError::IdpUnavailable`]
/// when the token has expired and the IdP cannot refresh it now;
/// [`SessionError::RefreshLimited`] when it has expired and the user's refreshes are used up.
pub async fn load_fresh(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<SessionUser>, SessionError> {
    let Some(mut current) = load(state, jar).await? else {
        return Ok(None);
    };
    let now = pymd_domain::now();
    if !refresh::needs_refresh(&current.session, now) {
        return Ok(Some(current));
    }
    let still_valid = |s: &Session| pymd_domain::now() < s.access_token_expires_at;
    if current.session.refresh_token.is_none() {
        if still_valid(&current.session) {
            return Ok(Some(current));
        }
        // Nothing can renew it: the session is over.
        if let Err(e) = state.store.delete_session(&current.session.id_hash).await {
            tracing::warn!(error = %e, "a session without a usable token could not be deleted");
        }
        return Ok(None);
    }
    match refresh::refresh(state, &current.session)
        .await
        .map_err(SessionError::Store)?
    {
        refresh::Outcome::Fresh(session) => {
            if session.user_id != current.user.id || session.subject != current.session.subject {
                return Ok(None);
            }
            current.session = *session;
            Ok(Some(current))
        }
        refresh::Outcome::Ended => Ok(None),
        refresh::Outcome::Unavailable | refresh::Outcome::Limited { .. }
            if still_valid(&current.session) =>
        {
            Ok(Some(current))
        }
        refresh::Outcome::Unavailable => Err(SessionError::IdpUnavailable),
        refresh::Outcome::Limited { retry_after_secs } => {
            Err(SessionError::RefreshLimited { retry_after_secs })
        }
    }
}

/// The tokens a new session keeps.
pub struct IdpTokens<'a> {
    pub access_token: &'a str,
    pub refresh_token: Option<&'a str>,
    pub id_token: &'a str,
    pub access_token_expires_at: OffsetDateTime,
    pub idp_sid: Option<String>,
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a brand-new session for `user` (a fresh random id, never one the browser sent) and
/// returns the raw id for the cookie.
///
/// # Errors
/// [`CreateError`] when randomness, sealing or the database fails.
pub async fn create(
    state: &AppState,
    user: &User,
    tokens: &IdpTokens<'_>,
) -> Result<[u8; 32], CreateError> {
    let raw = crypto::random_bytes::<32>()?;
    let hash = hash_id(&raw);
    let sealer = TokenSealer::new(&state.cookie_secret)?;
    let now = pymd_domain::now();
    let lifetimes = state.config.sessions;
    let new = NewSession {
        id_hash: hash.to_vec(),
        user_id: user.id,
        subject: user.auth0_id.clone(),
        idp_sid: tokens.idp_sid.clone(),
        access_token: sealer.seal(&hash, tokens.access_token.as_bytes())?,
        refresh_token: tokens
            .refresh_token
            .map(|t| sealer.seal(&hash, t.as_bytes()))
            .transpose()?,
        id_token: Some(sealer.seal(&hash, tokens.id_token.as_bytes())?),
        access_token_expires_at: tokens.access_token_expires_at,
        created_at: now,
        idle_timeout_secs: i64::try_from(lifetimes.idle_timeout.as_secs()).unwrap_or(86_400),
        expires_at: now + lifetimes.absolute_timeout,
    };
    state.store.create_session(&new).await?;
    Ok(raw)
}

/// Optional session: `None` when signed out. Fails with a 503 page when the database is down
/// (or the IdP cannot renew an expired token).
pub struct MaybeSession(pub Option<SessionUser>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(MaybeSession(load_fresh(state, &jar).await?))
    }
}

/// Required session for protected pages: without one the browser is sent to
/// `/auth/login?returnTo=<this path>`.
impl FromRequestParts<AppState> for SessionUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let jar = CookieJar::from_headers(&parts.headers);
        load_fresh(state, &jar).await?.ok_or_else(|| {
            let return_to = parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
            PageError::SignIn { return_to }
        })
    }
}
