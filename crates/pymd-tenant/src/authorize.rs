//! `GET /authorize` (validation order and error routing of §3.2), the SSO session, and the
//! Universal-Login-style pages `/u/login` and `/u/signup` with brute-force protection,
//! password policy, breached-password checks and the email-verification link.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::html::{self, FormPage};
use crate::logs::LogEvent;
use crate::passwords::{self, is_breached};
use crate::state::{AppState, AuthCode, FailedLogins, Mail, Session, Transaction};
use crate::tokens::split_scope;
use crate::users::User;
use crate::util::{ct_eq, random_urlsafe};
use crate::web::{
    CSRF_COOKIE, Caller, add_query, cookie, csrf_cookie, found, query_params, session_cookie,
    with_cookie,
};

/// How long a login transaction (the `state` of `/u/login`) lives.
pub(crate) const TRANSACTION_TTL: i64 = 3600;
/// How long an email-verification link works: Auth0's default ticket lifetime, 5 days.
pub(crate) const EMAIL_TICKET_TTL: i64 = 5 * 86_400;
/// The dev mailbox keeps at most this many mails (the oldest go first).
pub(crate) const MAILBOX_MAX: usize = 1000;
const WRONG_CREDENTIALS: &str = "Wrong email or password.";
const TOO_MANY_ATTEMPTS: &str = "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it.";
const PASSWORD_LEAKED: &str = "This login has been blocked because your password has been leaked in another website. We've sent you an email with instructions on how to unblock it.";
const BREACHED_SIGNUP: &str = "This combination of credentials was detected in a public data breach on another website. Before your account is created, please use a different password to keep it secure.";

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// Client.
    pub client_id: String,
    /// Exact registered redirect URI.
    pub redirect_uri: String,
    /// Requested scopes.
    pub scope: Vec<String>,
    /// Audience (None = `/userinfo` only).
    pub audience: Option<String>,
    /// Opaque client state.
    pub state: Option<String>,
    /// Nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt=login`.
    pub prompt_login: bool,
    /// `screen_hint=signup`.
    pub signup: bool,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `max_age` seconds.
    pub max_age: Option<i64>,
}

enum Rejection {
    Page(Response),
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

fn error_redirect(
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        params.push(("state", s));
    }
    found(&add_query(redirect_uri, &params))
}

fn reject(r: Rejection) -> Response {
    match r {
        Rejection::Page(p) => p,
        Rejection::Redirect {
            redirect_uri,
            state,
            error,
            description,
        } => error_redirect(&redirect_uri, state.as_deref(), error, &description),
    }
}

fn is_b64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// §3.2: unknown client / bad redirect_uri → error page; anything later → redirect.
fn validate(
    state: &AppState,
    p: &HashMap<String, String>,
) -> Result<(AuthRequest, bool), Rejection> {
    let client = p
        .get("client_id")
        .and_then(|id| state.cfg.client(id))
        .ok_or_else(|| {
            Rejection::Page(html::error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Unknown client: the client_id is missing or does not belong to this tenant.",
            ))
        })?;
    let redirect_uri = match p.get("redirect_uri") {
        Some(r) if client.callbacks.iter().any(|c| c == r) => r.clone(),
        Some(r) => {
            return Err(Rejection::Page(html::error_page(
                StatusCode::BAD_REQUEST,
                "Callback URL mismatch.",
                &format!(
                    "Callback URL mismatch. {r} is not in the list of allowed callback URLs. Please go to the Application Settings page and make sure you are sending a valid callback url from your application."
                ),
            )));
        }
        None => {
            return Err(Rejection::Page(html::error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request is missing a required parameter: redirect_uri",
            )));
        }
    };
    let st = p.get("state").cloned();
    let fail = |error: &'static str, description: String| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: st.clone(),
        error,
        description,
    };
    match p.get("response_type").map(String::as_str) {
        None => {
            return Err(fail(
                "invalid_request",
                "Missing required parameter: response_type".into(),
            ));
        }
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                format!("Unsupported response type: {other}"),
            ));
        }
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(fail(
            "unauthorized_client",
            "Grant type 'authorization_code' not allowed for the client.".into(),
        ));
    }
    if let Some(mode) = p.get("response_mode")
        && mode != "query"
    {
        return Err(fail(
            "invalid_request",
            format!("Unsupported response_mode: {mode}"),
        ));
    }
    match p.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        None if p.contains_key("code_challenge") => {
            // RFC 7636 defaults to plain, which is refused.
            return Err(fail(
                "invalid_request",
                "code_challenge_method 'plain' is not allowed; use S256".into(),
            ));
        }
        None => {}
        Some(other) => {
            return Err(fail(
                "invalid_request",
                format!("code_challenge_method '{other}' is not allowed; use S256"),
            ));
        }
    }
    let code_challenge = match p.get("code_challenge") {
        Some(c) if c.len() == 43 && is_b64url(c) => c.clone(),
        Some(_) => {
            return Err(fail(
                "invalid_request",
                "Invalid code_challenge: expected 43 characters of base64url (S256)".into(),
            ));
        }
        None => {
            return Err(fail(
                "invalid_request",
                "Missing required parameter: code_challenge (PKCE S256 is required)".into(),
            ));
        }
    };
    if let Some(conn) = p.get("connection")
        && conn != &state.cfg.database.name
    {
        return Err(fail(
            "invalid_request",
            "the connection was not found".into(),
        ));
    }
    if !state
        .cfg
        .database
        .enabled_clients
        .iter()
        .any(|c| c == &client.client_id)
    {
        return Err(fail(
            "invalid_request",
            "no connections enabled for the client".into(),
        ));
    }
    let audience = match p.get("audience").filter(|a| !a.is_empty()) {
        Some(a) if state.cfg.resource_server(a).is_some() => Some(a.clone()),
        Some(a) => return Err(fail("access_denied", format!("Service not found: {a}"))),
        None => state.cfg.tenant.default_audience.clone(),
    };
    let prompts = split_scope(p.get("prompt").map(String::as_str).unwrap_or(""));
    let prompt_none = prompts.iter().any(|x| x == "none");
    let prompt_login = prompts.iter().any(|x| x == "login");
    if prompt_none && prompts.len() > 1 {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other values".into(),
        ));
    }
    let max_age = match p.get("max_age") {
        Some(m) => match m.parse::<i64>() {
            Ok(v) if v >= 0 => Some(v),
            _ => {
                return Err(fail(
                    "invalid_request",
                    "max_age must be a non-negative integer".into(),
                ));
            }
        },
        None => None,
    };
    Ok((
        AuthRequest {
            client_id: client.client_id.clone(),
            redirect_uri,
            scope: split_scope(p.get("scope").map(String::as_str).unwrap_or("")),
            audience,
            state: st.clone(),
            nonce: p.get("nonce").cloned(),
            code_challenge: Some(code_challenge),
            prompt_login,
            signup: p.get("screen_hint").map(String::as_str) == Some("signup"),
            login_hint: p.get("login_hint").cloned(),
            max_age,
        },
        prompt_none,
    ))
}

/// The live session for the request's `auth0` cookie, touching its idle timer.
async fn current_session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let token = cookie(headers, "auth0")?;
    let now = state.clock.unix();
    let mut sessions = state.sessions.lock().await;
    let s = sessions.get_mut(&token)?;
    let t = &state.cfg.tenant;
    if now - s.created_at > t.session_lifetime_secs
        || now - s.last_active > t.idle_session_lifetime_secs
    {
        sessions.remove(&token);
        return None;
    }
    s.last_active = now;
    Some(s.clone())
}

/// `GET /authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = query_params(q.as_deref());
    let (req, prompt_none) = match validate(&state, &params) {
        Ok(v) => v,
        Err(r) => return reject(r),
    };
    let caller = Caller::new(Some(peer), &headers);
    let session = current_session(&state, &headers).await;
    let now = state.clock.unix();
    let fresh_enough = |s: &Session| req.max_age.is_none_or(|m| now - s.auth_time <= m);
    if prompt_none {
        return match session.filter(|s| fresh_enough(s)) {
            Some(s) => complete_login(&state, &req, &s, &caller, "ssa", None).await,
            None => error_redirect(
                &req.redirect_uri,
                req.state.as_deref(),
                "login_required",
                "Login required",
            ),
        };
    }
    if let Some(s) = session.filter(|s| fresh_enough(s))
        && !req.prompt_login
    {
        return complete_login(&state, &req, &s, &caller, "s", None).await;
    }
    let tx = random_urlsafe(32);
    let path = if req.signup { "/u/signup" } else { "/u/login" };
    state.transactions.lock().await.insert(
        tx.clone(),
        Transaction {
            req,
            created_at: now,
        },
    );
    let r = found(&format!("{path}?state={tx}"));
    match browser_binding(&state, &headers).1 {
        Some(c) => with_cookie(r, &c),
        None => r,
    }
}

/// The browser's CSRF cookie value, and a `Set-Cookie` when the browser has none yet.
fn browser_binding(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, CSRF_COOKIE).filter(|v| well_formed_binding(v)) {
        Some(v) => (v, None),
        None => {
            let v = random_urlsafe(43);
            let set = csrf_cookie(&v, state.secure);
            (v, Some(set))
        }
    }
}

fn well_formed_binding(v: &str) -> bool {
    v.len() == 43 && is_b64url(v)
}

/// The forms' CSRF token: an HMAC over the transaction id and the browser's CSRF cookie, so a
/// token only works from the browser that loaded the form (login CSRF, RFC 9700 §4.7).
fn csrf_token(state: &AppState, tx_id: &str, binding: &str) -> String {
    let msg = format!("login-form|{tx_id}|{binding}");
    crate::util::b64url(aws_lc_rs::hmac::sign(&state.csrf_key, msg.as_bytes()).as_ref())
}

/// Issues the code for a logged-in session (running the post-login Action) and redirects.
async fn complete_login(
    state: &AppState,
    req: &AuthRequest,
    session: &Session,
    caller: &Caller,
    log_type: &'static str,
    set_cookie: Option<String>,
) -> Response {
    let client = state.cfg.client(&req.client_id).cloned();
    let user = state.users.read().await.get(&session.user_id).cloned();
    let (Some(client), Some(user)) = (client, user) else {
        return error_redirect(
            &req.redirect_uri,
            req.state.as_deref(),
            "access_denied",
            "user does not exist",
        );
    };
    if user.blocked {
        return error_redirect(
            &req.redirect_uri,
            req.state.as_deref(),
            "unauthorized",
            "user is blocked",
        );
    }
    crate::postlogin::run(state, &user).await;
    let now = state.clock.now();
    if let Some(u) = state.users.write().await.get_mut(&user.user_id) {
        u.logins_count += 1;
        u.last_login = Some(now);
        u.last_ip = caller.ip_string();
    }
    let code = random_urlsafe(43);
    state.codes.lock().await.insert(
        code.clone(),
        AuthCode {
            client_id: req.client_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            user_id: user.user_id.clone(),
            sid: session.sid.clone(),
            scope: req.scope.clone(),
            audience: req.audience.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            issued_at: now.unix_timestamp(),
            auth_time: session.auth_time,
            used: false,
            reused: false,
            family: None,
        },
    );
    state.logs.emit(
        now,
        LogEvent {
            kind: log_type,
            description: if log_type == "ssa" {
                "Successful silent authentication".into()
            } else {
                "Successful login".into()
            },
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            ip: caller.ip_string(),
            user_agent: caller.user_agent.clone(),
            user_id: Some(user.user_id.clone()),
            user_name: Some(user.email.clone()),
            connection: true,
            audience: req.audience.clone(),
            scope: Some(req.scope.join(" ")),
            details: Some(json!({"prompts": [], "session_id": session.sid})),
        },
    );
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        params.push(("state", s.as_str()));
    }
    let r = found(&add_query(&req.redirect_uri, &params));
    match set_cookie {
        Some(c) => with_cookie(r, &c),
        None => r,
    }
}

async fn transaction(state: &AppState, q: Option<&str>) -> Result<(String, Transaction), Response> {
    let id = query_params(q).remove("state").unwrap_or_default();
    let now = state.clock.unix();
    let mut txs = state.transactions.lock().await;
    txs.retain(|_, t| now - t.created_at <= TRANSACTION_TTL);
    match txs.get(&id) {
        Some(t) => Ok((id, t.clone())),
        None => Err(html::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The login transaction is missing or has expired. Go back to the application and sign in again.",
        )),
    }
}

fn client_name(state: &AppState, id: &str) -> String {
    state
        .cfg
        .client(id)
        .map(|c| c.name.clone())
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn render(
    state: &AppState,
    signup: bool,
    status: StatusCode,
    tx_id: &str,
    tx: &Transaction,
    binding: &str,
    email: &str,
    error: Option<&str>,
    details: Vec<String>,
) -> Response {
    let client = client_name(state, &tx.req.client_id);
    let csrf = csrf_token(state, tx_id, binding);
    let f = FormPage {
        tenant: &state.cfg.tenant.friendly_name,
        client: &client,
        state: tx_id,
        csrf: &csrf,
        email,
        error,
        details,
    };
    if signup {
        html::signup(status, &f, &state.cfg.database.policy.policy_text())
    } else {
        html::login(status, &f)
    }
}

/// `GET /u/login?state=…`.
pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    form_page(&state, &headers, q.as_deref(), false).await
}

/// `GET /u/signup?state=…`.
pub async fn signup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    form_page(&state, &headers, q.as_deref(), true).await
}

async fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    q: Option<&str>,
    signup: bool,
) -> Response {
    let (id, tx) = match transaction(state, q).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (binding, set_cookie) = browser_binding(state, headers);
    let hint = if signup {
        String::new()
    } else {
        tx.req.login_hint.clone().unwrap_or_default()
    };
    let r = render(
        state,
        signup,
        StatusCode::OK,
        &id,
        &tx,
        &binding,
        &hint,
        None,
        vec![],
    );
    match set_cookie {
        Some(c) => with_cookie(r, &c),
        None => r,
    }
}

struct FormInput {
    email: String,
    password: String,
    /// The browser's CSRF cookie the token was checked against.
    binding: String,
}

/// Reads a submitted form, refusing it unless the browser sent its CSRF cookie and the form's
/// token was derived from that cookie and this transaction.
fn form_input(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    tx_id: &str,
) -> Result<FormInput, Response> {
    let Some(binding) = cookie(headers, CSRF_COOKIE).filter(|v| well_formed_binding(v)) else {
        return Err(csrf_failure(
            "This form was submitted without the sign-in cookie it was issued with (cookies may be blocked, or the request came from another site). Go back to the application and sign in again.",
        ));
    };
    let p: HashMap<String, String> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let csrf = p.get("csrf_token").map(String::as_str).unwrap_or("");
    if !ct_eq(csrf, &csrf_token(state, tx_id, &binding)) {
        return Err(csrf_failure(
            "Invalid or missing CSRF token for this browser. Reload the login page and try again.",
        ));
    }
    Ok(FormInput {
        binding,
        email: p
            .get("email")
            .map(|e| e.trim().to_lowercase())
            .unwrap_or_default(),
        password: p.get("password").cloned().unwrap_or_default(),
    })
}

/// 403 page for a form that fails the CSRF check; sets no cookie and starts no session.
fn csrf_failure(description: &str) -> Response {
    html::error_page(StatusCode::FORBIDDEN, "invalid_request", description)
}

/// Brute-force key for an identifier from a caller.
fn brute_key(state: &AppState, email: &str, caller: &Caller) -> (String, Option<std::net::IpAddr>) {
    let ip = if state.cfg.attack_protection.per_identifier_only {
        None
    } else {
        caller.ip
    };
    (email.to_string(), ip)
}

fn exempt(state: &AppState, caller: &Caller) -> bool {
    let ap = &state.cfg.attack_protection;
    !ap.brute_force_enabled
        || caller
            .ip_string()
            .is_some_and(|ip| ap.allowlist.iter().any(|a| a == &ip))
}

fn log_for(
    state: &AppState,
    kind: &'static str,
    description: &str,
    tx: &Transaction,
    caller: &Caller,
    user_id: Option<&str>,
    email: &str,
) {
    state.logs.emit(
        state.clock.now(),
        LogEvent {
            kind,
            description: description.into(),
            client_id: Some(tx.req.client_id.clone()),
            client_name: Some(client_name(state, &tx.req.client_id)),
            ip: caller.ip_string(),
            user_agent: caller.user_agent.clone(),
            user_id: user_id.map(str::to_string),
            user_name: Some(email.to_string()),
            connection: true,
            ..Default::default()
        },
    );
}

/// Starts an SSO session and returns it with its `Set-Cookie` value.
async fn new_session(state: &AppState, user_id: &str) -> (Session, String) {
    let now = state.clock.unix();
    let token = random_urlsafe(43);
    let s = Session {
        sid: random_urlsafe(32),
        user_id: user_id.to_string(),
        created_at: now,
        last_active: now,
        auth_time: now,
    };
    state.sessions.lock().await.insert(token.clone(), s.clone());
    (s, session_cookie(&token, state.secure, None))
}

/// `POST /u/login?state=…`.
pub async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let (tx_id, tx) = match transaction(&state, q.as_deref()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = match form_input(&state, &headers, &body, &tx_id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let caller = Caller::new(Some(peer), &headers);
    let page = |status, error: &str| {
        render(
            &state,
            false,
            status,
            &tx_id,
            &tx,
            &input.binding,
            &input.email,
            Some(error),
            vec![],
        )
    };
    let key = brute_key(&state, &input.email, &caller);
    let max = state.cfg.attack_protection.max_attempts;
    let protected = !exempt(&state, &caller);
    let now = state.clock.unix();
    // Check and reserve in one critical section: the attempt counts as a failure from here on
    // (so N parallel guesses cannot all pass the check while the slow hash runs); a correct
    // password clears the counter below, a refusal for another reason gives the slot back.
    let reserved = {
        let mut b = state.brute.lock().await;
        let f = b.entry(key.clone()).or_insert(FailedLogins {
            count: 0,
            last: now,
        });
        let current = f.current(now);
        if protected && current >= max {
            None
        } else {
            f.count = current + 1;
            f.last = now;
            Some(f.count)
        }
    };
    let Some(count) = reserved else {
        log_for(
            &state,
            "limit_wc",
            "Blocked Account: too many failed login attempts from this IP",
            &tx,
            &caller,
            None,
            &input.email,
        );
        return page(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_ATTEMPTS);
    };
    let user = state.users.read().await.by_email(&input.email).cloned();
    let ok = verify_password(&state, user.as_ref(), &input.password).await;
    let Some(user) = user.filter(|_| ok) else {
        let unknown = state.users.read().await.by_email(&input.email).is_none();
        if unknown {
            log_for(
                &state,
                "fu",
                WRONG_CREDENTIALS,
                &tx,
                &caller,
                None,
                &input.email,
            );
        } else {
            let id = state
                .users
                .read()
                .await
                .by_email(&input.email)
                .map(|u| u.user_id.clone());
            log_for(
                &state,
                "fp",
                WRONG_CREDENTIALS,
                &tx,
                &caller,
                id.as_deref(),
                &input.email,
            );
        }
        if protected && count == max {
            log_for(
                &state,
                "limit_wc",
                "Blocked Account: too many failed login attempts from this IP",
                &tx,
                &caller,
                None,
                &input.email,
            );
        }
        return page(StatusCode::BAD_REQUEST, WRONG_CREDENTIALS);
    };
    if user.blocked
        || (state.cfg.attack_protection.breached_password_block && is_breached(&input.password))
    {
        // The password was right, so this attempt is no brute-force failure: give back the
        // slot reserved above (the counter is cleared only by a completed login, as before).
        release_attempt(&state, &key).await;
    }
    if user.blocked {
        log_for(
            &state,
            "f",
            "user is blocked",
            &tx,
            &caller,
            Some(&user.user_id),
            &input.email,
        );
        return page(
            StatusCode::UNAUTHORIZED,
            "Your account has been blocked. Contact the administrator.",
        );
    }
    if state.cfg.attack_protection.breached_password_block && is_breached(&input.password) {
        log_for(
            &state,
            "pwd_leak",
            PASSWORD_LEAKED,
            &tx,
            &caller,
            Some(&user.user_id),
            &input.email,
        );
        return page(StatusCode::BAD_REQUEST, PASSWORD_LEAKED);
    }
    state.brute.lock().await.remove(&key);
    state.transactions.lock().await.remove(&tx_id);
    let (session, set_cookie) = new_session(&state, &user.user_id).await;
    complete_login(&state, &tx.req, &session, &caller, "s", Some(set_cookie)).await
}

/// Gives back one attempt reserved by `login_submit` (the counter never goes below zero).
async fn release_attempt(state: &AppState, key: &(String, Option<std::net::IpAddr>)) {
    let mut b = state.brute.lock().await;
    if let Some(f) = b.get_mut(key) {
        f.count = f.count.saturating_sub(1);
        if f.count == 0 {
            b.remove(key);
        }
    }
}

/// Verifies a password off the async runtime; unknown users hash a dummy so timing matches.
async fn verify_password(state: &AppState, user: Option<&User>, password: &str) -> bool {
    let hash = user
        .map(|u| u.password.clone())
        .unwrap_or_else(|| state.dummy_hash.clone());
    let known = user.is_some();
    let password = password.to_string();
    let Ok(_permit) = crate::passwords::HASHING.acquire().await else {
        return false;
    };
    let ok = tokio::task::spawn_blocking(move || hash.verify(&password))
        .await
        .unwrap_or(false);
    ok && known
}

/// `POST /u/signup?state=…`.
pub async fn signup_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let (tx_id, tx) = match transaction(&state, q.as_deref()).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = match form_input(&state, &headers, &body, &tx_id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let caller = Caller::new(Some(peer), &headers);
    let page = |error: &str, details: Vec<String>| {
        render(
            &state,
            true,
            StatusCode::BAD_REQUEST,
            &tx_id,
            &tx,
            &input.binding,
            &input.email,
            Some(error),
            details,
        )
    };
    if state.cfg.database.disable_signup {
        return page("Sign ups are not allowed.", vec![]);
    }
    if !passwords::looks_like_email(&input.email) {
        log_for(
            &state,
            "fs",
            "Email is not valid.",
            &tx,
            &caller,
            None,
            &input.email,
        );
        return page("Email is not valid.", vec![]);
    }
    if let Err(f) = state.cfg.database.policy.check(&input.password) {
        log_for(
            &state,
            "fs",
            "Password is too weak",
            &tx,
            &caller,
            None,
            &input.email,
        );
        let details = f
            .rules
            .iter()
            .flat_map(|r| {
                let mut v = vec![format!(
                    "{}{}",
                    if r.verified { "✓ " } else { "✗ " },
                    r.message
                )];
                v.extend(
                    r.items
                        .iter()
                        .map(|(m, ok)| format!("  {}{m}", if *ok { "✓ " } else { "✗ " })),
                );
                v
            })
            .collect();
        return page("Password is too weak", details);
    }
    if state.cfg.attack_protection.breached_password_block && is_breached(&input.password) {
        log_for(
            &state,
            "fs",
            "Password has been breached",
            &tx,
            &caller,
            None,
            &input.email,
        );
        return page(BREACHED_SIGNUP, vec![]);
    }
    let now = state.clock.now();
    let password = input.password.clone();
    let email = input.email.clone();
    let Ok(_permit) = crate::passwords::HASHING.acquire().await else {
        return page("Something went wrong, please try again later.", vec![]);
    };
    let Ok(user) = tokio::task::spawn_blocking(move || User::signup(&email, &password, now)).await
    else {
        return page("Something went wrong, please try again later.", vec![]);
    };
    {
        let mut users = state.users.write().await;
        if users.by_email(&input.email).is_some() {
            drop(users);
            log_for(
                &state,
                "fs",
                "The user already exists.",
                &tx,
                &caller,
                None,
                &input.email,
            );
            return page("The user already exists.", vec![]);
        }
        users.insert(user.clone());
    }
    let ticket = random_urlsafe(32);
    let mut mailbox = state.mailbox.lock().await;
    if mailbox.len() >= MAILBOX_MAX {
        let excess = mailbox.len() + 1 - MAILBOX_MAX;
        mailbox.drain(..excess);
    }
    mailbox.push(Mail {
        to: user.email.clone(),
        subject: "Verify your email".into(),
        link: format!("{}u/email-verification?ticket={ticket}", state.issuer),
        sent_at: now.unix_timestamp(),
        ticket,
        user_id: user.user_id.clone(),
        used: false,
    });
    drop(mailbox);
    log_for(
        &state,
        "ss",
        "Successful signup",
        &tx,
        &caller,
        Some(&user.user_id),
        &user.email,
    );
    state.transactions.lock().await.remove(&tx_id);
    let (session, set_cookie) = new_session(&state, &user.user_id).await;
    complete_login(&state, &tx.req, &session, &caller, "s", Some(set_cookie)).await
}

/// `GET /u/email-verification?ticket=…`: the link from the dev mailbox.
pub async fn verify_email(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let ticket = query_params(q.as_deref())
        .remove("ticket")
        .unwrap_or_default();
    let now = state.clock.now();
    let user_id = {
        let mut mails = state.mailbox.lock().await;
        match mails
            .iter_mut()
            .find(|m| !ticket.is_empty() && ct_eq(&m.ticket, &ticket))
        {
            Some(m) if m.used => {
                return html::error_page(
                    StatusCode::BAD_REQUEST,
                    "invalid_ticket",
                    "This verification link has already been used; a link works only once.",
                );
            }
            Some(m) if now.unix_timestamp() - m.sent_at <= EMAIL_TICKET_TTL => {
                m.used = true;
                m.user_id.clone()
            }
            _ => {
                return html::error_page(
                    StatusCode::BAD_REQUEST,
                    "invalid_ticket",
                    "This verification link is invalid or has expired.",
                );
            }
        }
    };
    let email = {
        let mut users = state.users.write().await;
        match users.get_mut(&user_id) {
            Some(u) => {
                u.email_verified = true;
                u.updated_at = now;
                u.email.clone()
            }
            None => {
                return html::error_page(
                    StatusCode::BAD_REQUEST,
                    "invalid_ticket",
                    "The user no longer exists.",
                );
            }
        }
    };
    state.logs.emit(
        now,
        LogEvent {
            kind: "sv",
            description: "Success Verification Email".into(),
            user_id: Some(user_id),
            user_name: Some(email),
            connection: true,
            ..Default::default()
        },
    );
    html::notice(
        "Email Verified",
        "Your email was verified. You can continue using the application.",
    )
}
