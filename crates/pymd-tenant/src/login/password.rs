//! `POST /u/login`: password login with brute-force protection (an attempt is reserved
//! before the slow hash, so parallel guesses cannot all pass the check), suspicious-IP
//! throttling, the admin block and breached-password detection.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::form::{Form, Submission};
use super::throttle::{self, SUSPICIOUS};
use crate::error::OAuthError;
use crate::extract::{Caller, QueryParams};
use crate::passwords::is_breached;
use crate::state::AppState;
use crate::store::brute_force::AttemptKey;
use crate::store::ip_throttle::Stage;
use crate::store::users::User;

const WRONG_CREDENTIALS: &str = "Wrong email or password.";
const TOO_MANY_ATTEMPTS: &str = "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it.";
const PASSWORD_LEAKED: &str = "This login has been blocked because your password has been leaked in another website. We've sent you an email with instructions on how to unblock it.";
const BLOCKED_IP: &str = "Blocked Account: too many failed login attempts from this IP";

/// `POST /u/login?state=…`.
pub async fn login_submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    q: QueryParams,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = Submission::read(&state, Form::Login, caller, &headers, &q, &body).await?;
    if !throttle::allowed(&state, Stage::PreLogin, &form.caller).await {
        form.log("limit_mu", SUSPICIOUS, None);
        return Ok(form.page(StatusCode::TOO_MANY_REQUESTS, SUSPICIOUS, vec![]));
    }
    let attempt = Attempt::new(&state, &form);
    if attempt.reserve(&state).await.is_none() {
        form.log("limit_wc", BLOCKED_IP, None);
        return Ok(form.page(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_ATTEMPTS, vec![]));
    }
    let Some(user) = check_password(&state, &form).await else {
        let failures = state
            .brute_force
            .fail(&attempt.key, state.clock.unix())
            .await;
        if attempt.protected && failures == attempt.limit {
            form.log("limit_wc", BLOCKED_IP, None);
        }
        if throttle::spend(&state, Stage::PreLogin, &form.caller).await {
            form.log("limit_mu", SUSPICIOUS, None);
        }
        return Ok(form.page(StatusCode::BAD_REQUEST, WRONG_CREDENTIALS, vec![]));
    };
    let breached =
        state.cfg.attack_protection.breached_password_block && is_breached(&form.password);
    if user.blocked || breached {
        // The password was right, so this attempt is no brute-force failure: give back the
        // slot reserved above (the counter is cleared only by a completed login).
        state.brute_force.release(&attempt.key).await;
    }
    if user.blocked {
        // Auth0 ends the login at the client's callback, not on its own page.
        form.log("f", "user is blocked", Some(&user.user_id));
        return Err(form.refuse("unauthorized", "user is blocked").await);
    }
    if breached {
        form.log("pwd_leak", PASSWORD_LEAKED, Some(&user.user_id));
        return Ok(form.page(StatusCode::BAD_REQUEST, PASSWORD_LEAKED, vec![]));
    }
    state.brute_force.clear(&attempt.key).await;
    form.complete(&user.user_id).await
}

/// One login attempt as brute-force protection counts it.
struct Attempt {
    key: AttemptKey,
    limit: u32,
    /// Brute-force protection is on and the caller is not allowlisted.
    protected: bool,
}

impl Attempt {
    fn new(state: &AppState, form: &Submission<'_>) -> Attempt {
        let ap = &state.cfg.attack_protection;
        let ip = if ap.per_identifier_only {
            None
        } else {
            form.caller.ip
        };
        let exempt = !ap.brute_force_enabled
            || form
                .caller
                .ip_string()
                .is_some_and(|ip| ap.allowlist.iter().any(|a| a == &ip));
        Attempt {
            key: (form.email.clone(), ip),
            limit: ap.max_attempts,
            protected: !exempt,
        }
    }

    /// Takes a slot for the attempt (waiting for one if the checks in flight fill the limit);
    /// `None` when the key is blocked.
    async fn reserve(&self, state: &AppState) -> Option<u32> {
        let now = state.clock.unix();
        state
            .brute_force
            .reserve(&self.key, self.limit, self.protected, now)
            .await
    }
}

/// The user if the password is right; otherwise logs `fu` (unknown user) or `fp` (wrong
/// password) and returns `None`.
async fn check_password(state: &AppState, form: &Submission<'_>) -> Option<User> {
    let user = state.users.by_email(&form.email).await;
    if verify_password(state, user.as_ref(), &form.password).await {
        return user;
    }
    match &user {
        None => form.log("fu", WRONG_CREDENTIALS, None),
        Some(u) => form.log("fp", WRONG_CREDENTIALS, Some(&u.user_id)),
    }
    None
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

#[cfg(test)]
mod tests {
    use crate::DevTenant;
    use crate::test_support::{client, login, pkce, tenant_with};

    #[tokio::test]
    async fn a_correct_password_clears_the_failure_counter() {
        let t = tenant_with(|_| {}).await;
        let c = client();
        let (_, challenge) = pkce();
        for _ in 0..9 {
            let (r, _) = login(&t, &c, "bob@example.com", "nope", &challenge, "").await;
            assert_eq!(r.status(), 400);
        }
        let (r, _) = login(&t, &c, "bob@example.com", "Bob-Dev-2026!", &challenge, "").await;
        assert_eq!(r.status(), 302);
        assert_eq!(t.state.brute_force.len().await, 0, "cleared on success");
        let (r, _) = login(&t, &c, "bob@example.com", "nope", &challenge, "").await;
        assert_eq!(r.status(), 400);
        let count = |t: &DevTenant| {
            let s = t.state.clone();
            async move { s.brute_force.total().await }
        };
        assert_eq!(count(&t).await, 1);
        t.shutdown().await;
    }
}
