//! The sign-in routes (spec §5): `/auth/login` starts an Authorization Code + PKCE (S256) flow with
//! a random `state` and `nonce`, keeping the transaction in an encrypted, short-lived cookie of its
//! own (one per login, so two tabs do not clobber each other); `/auth/callback` (see
//! [`super::callback`]) checks and spends it; `/auth/logout` ends the session and sends the
//! browser to the IdP's logout; `/auth/profile` shows the session's user as JSON.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, Key, PrivateCookieJar, SameSite};
use pymd_auth::ProviderMetadata;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

use super::access::Posted;
use super::crypto;
use super::error::{Broken, IdpNeed, PageError};
use super::forms::CsrfProtected;
use super::pages::{self, ConfirmLogout, Page};
use super::session::{self, SessionUser};
use crate::state::AppState;

/// Where a login goes when `returnTo` is missing or unsafe.
pub const DEFAULT_RETURN_TO: &str = "/dashboard";
/// Prefix of the login-transaction cookies (followed by the start of the `state`) over http.
pub const TX_COOKIE_PREFIX: &str = "pymd_tx_";
/// The same over https: `__Host-` makes browsers insist on `Secure`, `Path=/` and no `Domain`,
/// so no sibling subdomain can plant or shadow a transaction.
pub const TX_COOKIE_PREFIX_HTTPS: &str = "__Host-pymd_tx_";
/// How long a login may take, from `/auth/login` to the callback.
pub const TX_MAX_AGE_SECS: i64 = 600;
/// The path the transaction cookies are scoped to over http (`__Host-` cookies need `/`).
const TX_PATH: &str = "/auth";

/// Where the login-transaction cookies live: their name prefix and path, by scheme.
#[derive(Debug, Clone, Copy)]
pub(super) struct TxCookies {
    https: bool,
}

impl TxCookies {
    pub(super) fn of(state: &AppState) -> TxCookies {
        TxCookies {
            https: state.config.is_https(),
        }
    }

    fn prefix(self) -> &'static str {
        if self.https {
            TX_COOKIE_PREFIX_HTTPS
        } else {
            TX_COOKIE_PREFIX
        }
    }

    /// The cookies' path.
    pub(super) fn path(self) -> &'static str {
        if self.https { "/" } else { TX_PATH }
    }

    /// The transaction cookie's name for `state`.
    pub(super) fn name(self, state: &str) -> String {
        let start: String = state.chars().take(16).collect();
        format!("{}{start}", self.prefix())
    }
}
/// The length of a `state` (32 random bytes, base64url).
pub(super) const STATE_LEN: usize = 43;

/// The login transaction, sealed in its cookie.
#[derive(Serialize, Deserialize)]
pub(super) struct Transaction {
    /// `state`.
    pub s: String,
    /// `nonce`.
    pub n: String,
    /// PKCE `code_verifier`.
    pub v: String,
    /// Where to go afterwards (already validated).
    pub r: String,
    /// Started at, Unix milliseconds.
    pub t: u64,
}

impl Transaction {
    /// A new transaction returning to `return_to`; `None` when randomness fails.
    fn start(return_to: String) -> Option<Transaction> {
        Some(Transaction {
            s: crypto::random_token::<32>().ok()?,
            n: crypto::random_token::<32>().ok()?,
            v: crypto::random_token::<32>().ok()?,
            r: return_to,
            t: now_millis(),
        })
    }
}

/// Now, in Unix milliseconds.
pub(super) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `returnTo` made safe: a local path on this app (a single leading `/`, no `//` or `\`, no
/// scheme, no control characters, also after one round of percent-decoding), normalised against
/// the base URL; anything else — and the `/auth/*` routes themselves — gives `/dashboard`.
pub fn safe_return_to(base: &Url, raw: Option<&str>) -> String {
    let Some(raw) = raw.filter(|r| !r.is_empty() && r.len() <= MAX_RETURN_TO) else {
        return DEFAULT_RETURN_TO.to_owned();
    };
    let decoded = percent_decode(raw);
    let local = |s: &str| {
        s.starts_with('/')
            && !s.starts_with("//")
            && !s.contains('\\')
            && !s.chars().any(char::is_control)
    };
    if !local(raw) || !local(&decoded) {
        return DEFAULT_RETURN_TO.to_owned();
    }
    let origin = base.origin();
    let Ok(joined) = base.join(raw) else {
        return DEFAULT_RETURN_TO.to_owned();
    };
    if joined.origin() != origin {
        return DEFAULT_RETURN_TO.to_owned();
    }
    let path = joined.path();
    if path == "/auth" || path.starts_with("/auth/") || path.starts_with("/api/auth/") {
        return DEFAULT_RETURN_TO.to_owned();
    }
    let normalised = match joined.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    // Capped after normalising: percent-encoding can triple a path, and a transaction cookie
    // over the browsers' 4 KB limit is silently dropped, breaking the sign-in.
    if normalised.len() > MAX_RETURN_TO {
        return DEFAULT_RETURN_TO.to_owned();
    }
    normalised
}

/// The longest `returnTo` kept, as sent and once normalised.
const MAX_RETURN_TO: usize = 2048;

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// This app's callback URL.
pub(super) fn redirect_uri(state: &AppState) -> String {
    format!(
        "{}/auth/callback",
        state.config.base_url.as_str().trim_end_matches('/')
    )
}

/// A `302 Found` to `location`, never cached.
pub(super) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let no_store = HeaderValue::from_static("no-store");
            let headers = [(header::LOCATION, v), (header::CACHE_CONTROL, no_store)];
            (StatusCode::FOUND, headers).into_response()
        }
        Err(_) => PageError::SignInBroken(Broken::Redirect).into_response(),
    }
}

/// The query's `(name, value)` pairs, decoded.
pub(super) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `GET /auth/login?returnTo=/path`.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let internal = || PageError::SignInBroken(Broken::Internal);
    let params = query_pairs(q.as_deref());
    let raw_return_to = params.iter().find(|(k, _)| k == "returnTo");
    let return_to = safe_return_to(
        &state.config.base_url,
        raw_return_to.map(|(_, v)| v.as_str()),
    );
    let Some(client) = state.web_client.clone() else {
        tracing::error!("web sign-in is not configured: no web client (AUTH0_CLIENT_ID)");
        return Err(PageError::SignInBroken(Broken::NotConfigured));
    };
    let meta = state.verifier.provider_metadata().await.map_err(|e| {
        tracing::warn!(error = %e, "discovery failed at login");
        PageError::IdpUnavailable(IdpNeed::SignIn)
    })?;
    let key = crypto::cookie_key(&state.cookie_secret).map_err(|e| {
        tracing::error!(error = %e, "cookie key");
        internal()
    })?;
    let tx = Transaction::start(return_to).ok_or_else(internal)?;
    let sealed = serde_json::to_string(&tx).map_err(|_| internal())?;
    let name = TxCookies::of(&state).name(&tx.s);
    let jar = transaction_jar(&state, &headers, key, name, sealed);
    let url = authorize_url(&state, &meta, &client, &tx);
    Ok((jar, found(url.as_str())).into_response())
}

/// The IdP's authorization URL for `tx`.
fn authorize_url(
    state: &AppState,
    meta: &ProviderMetadata,
    client: &(String, SecretString),
    tx: &Transaction,
) -> Url {
    let mut url = meta.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.0)
        .append_pair("redirect_uri", &redirect_uri(state))
        .append_pair("scope", &state.config.scope)
        .append_pair("audience", &state.config.audience)
        .append_pair("state", &tx.s)
        .append_pair("nonce", &tx.n)
        .append_pair("code_challenge", &crypto::pkce_challenge(&tx.v))
        .append_pair("code_challenge_method", "S256");
    url
}

/// The cookies to set: the new transaction's, and — when this browser already holds four or more
/// unfinished ones — the removal of those.
fn transaction_jar(
    state: &AppState,
    headers: &HeaderMap,
    key: Key,
    name: String,
    sealed: String,
) -> PrivateCookieJar {
    let tx = TxCookies::of(state);
    let cookie = Cookie::build((name, sealed))
        .path(tx.path())
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.is_https())
        .max_age(time::Duration::seconds(TX_MAX_AGE_SECS))
        .build();
    // Start from the request's cookies only to drop stale transactions of this browser.
    let presented = PrivateCookieJar::from_headers(headers, key.clone());
    let stale: Vec<String> = presented
        .iter()
        .map(|c| c.name().to_owned())
        .filter(|n| n.starts_with(tx.prefix()))
        .collect();
    let mut out = PrivateCookieJar::new(key);
    if stale.len() >= 4 {
        for name in stale {
            out = out.remove(Cookie::build(name).path(tx.path()));
        }
    }
    out.add(cookie)
}

/// `GET /auth/logout`: ends the session here, then at the IdP. A cross-site request only gets a
/// confirmation page (logout CSRF).
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let clear = CookieJar::new().add(session::removal(&state));
    let current = match session::load(&state, &CookieJar::from_headers(&headers)).await {
        Ok(current) => current,
        Err(e) => return (clear, PageError::from(e)).into_response(),
    };
    // Only this app's own page (`same-origin`) or the user's own navigation (`none`: typed,
    // bookmarked) logs out at once; anything else is asked first.
    let origin = state.config.base_url.origin().ascii_serialization();
    let direct = super::forms::same_origin(&headers, &origin);
    match &current {
        Some(s) if !direct => {
            let viewer = Some(pages::display_name(&s.user).to_owned());
            let csrf = super::forms::csrf_token(&state, s);
            Page(StatusCode::OK, ConfirmLogout { viewer, csrf }).into_response()
        }
        Some(s) => log_out(&state, s).await,
        None => (clear, found(&idp_logout_url(&state, None).await)).into_response(),
    }
}

/// `POST /auth/logout` from the confirmation page (same origin, the session's CSRF token).
pub async fn logout_confirmed(
    State(state): State<AppState>,
    Posted { guard, .. }: Posted<SessionUser, LogoutForm>,
) -> Response {
    log_out(&state, &guard).await
}

/// The confirmation form.
#[derive(Deserialize)]
pub struct LogoutForm {
    csrf_token: String,
}

impl CsrfProtected for LogoutForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Ends the session here, clears the cookie and sends the browser to the IdP's logout.
async fn log_out(state: &AppState, s: &SessionUser) -> Response {
    let clear = CookieJar::new().add(session::removal(state));
    if let Err(e) = end_session(state, s).await {
        return (clear, e).into_response();
    }
    let target = idp_logout_url(state, s.session.idp_sid.as_deref()).await;
    (clear, found(&target)).into_response()
}

/// Deletes the session and audits the logout.
async fn end_session(state: &AppState, s: &SessionUser) -> Result<(), PageError> {
    state.store.delete_session(&s.session.id_hash).await?;
    revoke_refresh_token(state, &s.session);
    let subject = Some(s.user.auth0_id.as_str());
    crate::audit::record(state, crate::audit::Event::LoggedOut, subject).await;
    Ok(())
}

/// Revokes the ended session's refresh token at the IdP (RFC 7009, Auth0's `/oauth/revoke`,
/// `client_secret_post`), on a task of its own: best effort, bounded in time, never holding up
/// the logout. The outcome counts in `pymd_token_revocation_total{result}` and is audited
/// (`token_revocation`).
fn revoke_refresh_token(state: &AppState, session: &pymd_storage::Session) {
    let (Some(sealed), Some(client)) = (session.refresh_token.clone(), state.web_client.clone())
    else {
        return;
    };
    let (state, hash) = (state.clone(), session.id_hash.clone());
    let subject = session.subject.clone();
    tokio::spawn(async move {
        let result = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            revoke(&state, &client, &hash, &sealed),
        )
        .await
        .unwrap_or(Err("timed out"));
        let (label, failure) = match result {
            Ok(()) => ("success", None),
            Err(reason) => {
                tracing::warn!(reason, "the refresh token could not be revoked at the IdP");
                ("failure", Some(reason))
            }
        };
        metrics::counter!("pymd_token_revocation_total", "result" => label).increment(1);
        let event = crate::audit::Event::TokenRevoked { failure };
        crate::audit::record(&state, event, Some(&subject)).await;
    });
}

async fn revoke(
    state: &AppState,
    client: &(String, SecretString),
    hash: &[u8],
    sealed: &[u8],
) -> Result<(), &'static str> {
    let sealer = crypto::TokenSealer::new(&state.cookie_secret).map_err(|_| "no sealer")?;
    let token = sealer.open(hash, sealed).map_err(|_| "unreadable token")?;
    let token = String::from_utf8(token).map_err(|_| "unreadable token")?;
    let meta = state
        .verifier
        .provider_metadata()
        .await
        .map_err(|_| "discovery failed")?;
    let endpoint = meta
        .revocation_endpoint
        .clone()
        .ok_or("no revocation endpoint")?;
    let form = [
        ("client_id", client.0.as_str()),
        (
            "client_secret",
            secrecy::ExposeSecret::expose_secret(&client.1),
        ),
        ("token", token.as_str()),
        ("token_type_hint", "refresh_token"),
    ];
    let response = state
        .http
        .post(endpoint)
        .form(&form)
        .send()
        .await
        .map_err(|e| super::oidc::short(&e))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err("the IdP refused the revocation")
    }
}

/// The IdP logout: `end_session_endpoint` when discovered, else Auth0's `/v2/logout`; `/` when
/// the IdP cannot be asked. The IdP session is named with `client_id` + `logout_hint` (its
/// `sid`), never `id_token_hint`: an ID token must not travel in a browser URL, where it would
/// reach history, logs and `Referer` headers.
async fn idp_logout_url(state: &AppState, idp_sid: Option<&str>) -> String {
    let Ok(meta) = state.verifier.provider_metadata().await else {
        return "/".to_owned();
    };
    let back = state.config.base_url.as_str();
    let client_id = state.web_client.as_ref().map(|c| c.0.as_str());
    let mut url = match &meta.end_session_endpoint {
        Some(end) => end.clone(),
        None => match auth0_logout(&meta.issuer) {
            Some(url) => url,
            None => return "/".to_owned(),
        },
    };
    let oidc = meta.end_session_endpoint.is_some();
    {
        let mut q = url.query_pairs_mut();
        if let Some(sid) = idp_sid.filter(|_| oidc) {
            q.append_pair("logout_hint", sid);
        }
        if let Some(id) = client_id {
            q.append_pair("client_id", id);
        }
        q.append_pair(
            if oidc {
                "post_logout_redirect_uri"
            } else {
                "returnTo"
            },
            back,
        );
    }
    url.into()
}

/// Auth0's own logout endpoint, `{issuer}/v2/logout`.
fn auth0_logout(issuer: &str) -> Option<Url> {
    let issuer = if issuer.ends_with('/') {
        issuer.to_owned()
    } else {
        format!("{issuer}/")
    };
    Url::parse(&format!("{issuer}v2/logout")).ok()
}

/// `GET /auth/profile`: the session's user as JSON; 401 without a session.
pub async fn profile_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let jar = CookieJar::from_headers(&headers);
    let mut response = match session::load(&state, &jar).await {
        Ok(Some(s)) => Json(json!({
            "user_id": s.user.id.0.to_string(),
            "sub": s.user.auth0_id,
            "email": s.user.email,
            "email_verified": s.user.email_verified,
            "name": s.user.name,
            "picture": s.user.picture,
            "bio": s.user.bio,
        }))
        .into_response(),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "login_required", "error_description": "there is no session; log in at /auth/login"})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "session lookup failed");
            let retry = [(header::RETRY_AFTER, HeaderValue::from_static("5"))];
            let body = Json(json!({"error": "upstream_unavailable", "error_description": "the database is unavailable; retry later"}));
            (StatusCode::SERVICE_UNAVAILABLE, retry, body).into_response()
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://app.example/").unwrap()
    }

    #[test]
    fn local_paths_are_kept() {
        for (raw, want) in [
            ("/dashboard", "/dashboard"),
            ("/documents/abc?x=1", "/documents/abc?x=1"),
            ("/settings", "/settings"),
            ("/a/../b", "/b"),
        ] {
            assert_eq!(safe_return_to(&base(), Some(raw)), want, "{raw}");
        }
    }

    #[test]
    fn anything_that_could_leave_the_origin_falls_back_to_the_dashboard() {
        for raw in [
            "//evil.example",
            "https://evil.example",
            "http://app.example/x",
            "/\\evil.example",
            "\\\\evil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "//app.example@evil.example",
            "/%2f%2fevil.example",
            "/%5cevil.example",
            "/x\r\nSet-Cookie: a=b",
            "evil.example",
            "",
            "/auth/logout",
            "/api/auth/login",
        ] {
            assert_eq!(
                safe_return_to(&base(), Some(raw)),
                DEFAULT_RETURN_TO,
                "{raw:?}"
            );
        }
        assert_eq!(safe_return_to(&base(), None), DEFAULT_RETURN_TO);
        assert_eq!(
            safe_return_to(&base(), Some(&format!("/{}", "a".repeat(3000)))),
            DEFAULT_RETURN_TO
        );
    }

    #[test]
    fn a_return_to_that_grows_when_normalised_is_capped_after() {
        // 2001 bytes as sent, 6001 once each "é" is percent-encoded.
        let raw = format!("/{}", "é".repeat(1000));
        assert!(raw.len() <= 2048);
        assert_eq!(safe_return_to(&base(), Some(&raw)), DEFAULT_RETURN_TO);
        let fine = format!("/documents/{}", "é".repeat(10));
        assert!(safe_return_to(&base(), Some(&fine)).starts_with("/documents/%C3%A9"));
    }
}
