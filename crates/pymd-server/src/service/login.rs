//! Signing in, without the HTTP: the web callback (after it has verified the IdP's tokens)
//! stores the user, then reports the sign-in here; the post-login Action's sync webhook stores
//! the user it is told about. Session cookies and redirects stay in `crate::web`.

use std::net::IpAddr;
use std::time::Duration;

use pymd_domain::{SyncUser, User};

use super::ServiceResult;
use crate::audit::{self, Event};
use crate::state::AppState;

/// Stores (creates or updates) the user an ID token describes. A claim that fails validation
/// (an over-long name, a picture that is not a URL) is dropped rather than failing the sign-in;
/// the subject itself is kept as is.
///
/// # Errors
/// [`ServiceError::Store`](super::ServiceError::Store).
pub async fn upsert_signed_in(state: &AppState, claims: SyncUser) -> ServiceResult<User> {
    Ok(state.store.upsert_user(&lenient(claims)).await?)
}

/// The claims with each optional field that fails validation on its own dropped.
fn lenient(claims: SyncUser) -> SyncUser {
    let base = SyncUser {
        email: None,
        name: None,
        picture: None,
        ..claims.clone()
    };
    let ok = |u: SyncUser| u.validate().is_ok();
    let email = claims.email.filter(|e| {
        ok(SyncUser {
            email: Some(e.clone()),
            ..base.clone()
        })
    });
    let name = claims.name.filter(|n| {
        ok(SyncUser {
            name: Some(n.clone()),
            ..base.clone()
        })
    });
    let picture = claims.picture.filter(|p| {
        ok(SyncUser {
            picture: Some(p.clone()),
            ..base.clone()
        })
    });
    SyncUser {
        email,
        name,
        picture,
        ..base
    }
}

/// Reports a completed web sign-in of `user` from `ip`, `elapsed` after it started:
/// `pymd_logins_total{result="success"}`, `pymd_login_duration_seconds`, the audit event
/// `login_success`, and one count towards the suspicious-login alert ([`crate::alerts`]).
/// Never fails.
pub async fn record_success(state: &AppState, user: &User, ip: Option<IpAddr>, elapsed: Duration) {
    metrics::counter!("pymd_logins_total", "result" => "success").increment(1);
    metrics::histogram!("pymd_login_duration_seconds").record(elapsed.as_secs_f64());
    let event = Event::LoginSucceeded { user_id: user.id };
    audit::record(state, event, Some(&user.auth0_id)).await;
    crate::alerts::record_login(state, &user.auth0_id, ip).await;
}

/// Reports a failed web sign-in: `pymd_logins_total{result="failure"}` and the audit event
/// `login_failure` with `reason` (a short machine word) and the subject when it is known.
/// Never fails.
pub async fn record_failure(state: &AppState, reason: &str, subject: Option<&str>) {
    metrics::counter!("pymd_logins_total", "result" => "failure").increment(1);
    let event = Event::LoginFailed {
        reason: reason.to_owned(),
    };
    audit::record(state, event, subject).await;
}

/// The post-login Action's sync: validates what it says about the user, creates or updates
/// the local user (idempotent) and audits `sync_user`.
///
/// # Errors
/// [`ServiceError::Invalid`](super::ServiceError::Invalid) naming the field;
/// [`ServiceError::Store`](super::ServiceError::Store).
pub async fn sync_user(state: &AppState, sync: SyncUser) -> ServiceResult<User> {
    let user = state.store.upsert_user(&sync.validate()?).await?;
    audit::record(state, Event::UserSynced, Some(&user.auth0_id)).await;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_claims_are_dropped_one_by_one() {
        let claims = SyncUser {
            auth0_id: "auth0|x".into(),
            email: Some("no-at-sign".into()),
            name: Some("Ada".into()),
            picture: Some("not a url".into()),
            email_verified: Some(true),
        };
        let kept = lenient(claims);
        assert_eq!(kept.email, None);
        assert_eq!(kept.name.as_deref(), Some("Ada"));
        assert_eq!(kept.picture, None);
        assert_eq!(kept.email_verified, Some(true));
        assert_eq!(kept.auth0_id, "auth0|x");
    }
}
