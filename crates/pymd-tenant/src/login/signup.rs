//! `POST /u/signup`: creates a database user (email shape, password policy, breached
//! passwords, unique email), delivers the verification mail to the dev mailbox and logs the
//! user in.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::form::{Form, Submission};
use super::throttle::{self, SUSPICIOUS};
use crate::error::OAuthError;
use crate::extract::{Caller, QueryParams};
use crate::passwords::{self, PolicyFailure, is_breached};
use crate::state::AppState;
use crate::store::ip_throttle::Stage;
use crate::store::mailbox::Mail;
use crate::store::users::User;
use crate::util::random_urlsafe;

const BREACHED_SIGNUP: &str = "This combination of credentials was detected in a public data breach on another website. Before your account is created, please use a different password to keep it secure.";
const SOMETHING_WRONG: &str = "Something went wrong, please try again later.";

/// `POST /u/signup?state=…`.
pub async fn signup_submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    q: QueryParams,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = Submission::read(&state, Form::Signup, caller, &headers, &q, &body).await?;
    let refuse = |error: &str, details| form.page(StatusCode::BAD_REQUEST, error, details);
    if !throttle::allowed(&state, Stage::PreUserRegistration, &form.caller).await {
        form.log("limit_mu", SUSPICIOUS, None);
        return Ok(form.page(StatusCode::TOO_MANY_REQUESTS, SUSPICIOUS, vec![]));
    }
    if let Err((error, details)) = check(&state, &form) {
        return Ok(refuse(error, details));
    }
    let Some(user) = hash_new_user(&state, &form).await else {
        return Ok(refuse(SOMETHING_WRONG, vec![]));
    };
    if state.users.add_new(user.clone()).await.is_err() {
        form.log("fs", "The user already exists.", None);
        return Ok(refuse("The user already exists.", vec![]));
    }
    throttle::spend(&state, Stage::PreUserRegistration, &form.caller).await;
    send_verification(&state, &user).await;
    form.log("ss", "Successful signup", Some(&user.user_id));
    form.complete(&user.user_id).await
}

/// The sign-up rules in Auth0's order; a refusal is logged `fs` (except disabled sign-ups)
/// and returns the page's error and details.
fn check(state: &AppState, form: &Submission<'_>) -> Result<(), (&'static str, Vec<String>)> {
    if state.cfg.database.disable_signup {
        return Err(("Sign ups are not allowed.", vec![]));
    }
    if !passwords::looks_like_email(&form.email) {
        form.log("fs", "Email is not valid.", None);
        return Err(("Email is not valid.", vec![]));
    }
    if let Err(f) = state.cfg.database.policy.check(&form.password) {
        form.log("fs", "Password is too weak", None);
        return Err(("Password is too weak", policy_details(&f)));
    }
    if let Some(custom) = &state.cfg.database.dictionary
        && passwords::in_dictionary(&form.password, custom)
    {
        form.log(
            "fs",
            "PasswordDictionaryError: Password is too common",
            None,
        );
        return Err(("Password is too common", vec![]));
    }
    if state.cfg.attack_protection.breached_password_block && is_breached(&form.password) {
        form.log("fs", "Password has been breached", None);
        return Err((BREACHED_SIGNUP, vec![]));
    }
    Ok(())
}

/// The password rules as the page lists them, each ticked or crossed.
fn policy_details(f: &PolicyFailure) -> Vec<String> {
    let mark = |ok: bool| if ok { "✓ " } else { "✗ " };
    f.rules
        .iter()
        .flat_map(|r| {
            let mut v = vec![format!("{}{}", mark(r.verified), r.message)];
            v.extend(r.items.iter().map(|(m, ok)| format!("  {}{m}", mark(*ok))));
            v
        })
        .collect()
}

/// The new user, its password hashed off the async runtime.
async fn hash_new_user(state: &AppState, form: &Submission<'_>) -> Option<User> {
    let now = state.clock.now();
    let password = form.password.clone();
    let email = form.email.clone();
    let _permit = passwords::HASHING.acquire().await.ok()?;
    tokio::task::spawn_blocking(move || User::signup(&email, &password, now))
        .await
        .ok()
}

/// Delivers the verification mail to the dev mailbox.
async fn send_verification(state: &AppState, user: &User) {
    let ticket = random_urlsafe(32);
    let mail = Mail {
        to: user.email.clone(),
        subject: "Verify your email".into(),
        link: format!("{}u/email-verification?ticket={ticket}", state.issuer),
        sent_at: state.clock.unix(),
        ticket,
        user_id: user.user_id.clone(),
        used: false,
    };
    state.mailbox.deliver(mail).await;
}
