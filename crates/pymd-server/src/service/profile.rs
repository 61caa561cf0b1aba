//! A profile change, the same from `PATCH /api/v1/profile` and the settings page.
//!
//! The consistency rule, written once here: the IdP is the source of truth, so the change goes
//! to Auth0's Management API first. If the IdP refuses or cannot be reached, nothing is changed
//! anywhere (the local copy is not touched) and a `profile_update` failure is audited. Only
//! after the IdP took the change is the local copy updated; if that fails, the IdP keeps the
//! change (nothing is rolled back there) and the caller learns it as
//! [`ServiceError::ProfileNotStored`] — the local copy catches up on the next change.

use pymd_domain::{ProfilePatch, User};

use super::{ServiceError, ServiceResult};
use crate::audit::{self, Event, Via};
use crate::state::AppState;

/// Validates `patch` and applies it to `user`: the IdP first, then the local store; audits the
/// outcome. Returns the updated local user.
///
/// # Errors
/// [`ServiceError::Invalid`] naming the field (nothing is sent anywhere);
/// [`ServiceError::Management`] when the IdP refused or failed (nothing changed);
/// [`ServiceError::ProfileNotStored`] when the IdP has the change but the store failed.
pub async fn update(
    state: &AppState,
    user: &User,
    patch: ProfilePatch,
    via: Via,
) -> ServiceResult<User> {
    let patch = patch.validate()?;
    let subject = Some(user.auth0_id.as_str());
    if let Err(e) = state.management.update_user(&user.auth0_id, &patch).await {
        // The status the caller is answered: 503 while the IdP may recover, 502 when it refused.
        let status = if e.is_transient() { 503 } else { 502 };
        audit::record(state, Event::ProfileUpdateFailed { status, via }, subject).await;
        return Err(ServiceError::Management(e));
    }
    let updated = state
        .store
        .update_profile(user.id, &patch)
        .await
        .map_err(ServiceError::ProfileNotStored)?;
    let fields = changed_fields(&patch);
    audit::record(state, Event::ProfileUpdated { fields, via }, subject).await;
    Ok(updated)
}

/// The names of the fields a patch sets, in a fixed order.
fn changed_fields(patch: &ProfilePatch) -> Vec<&'static str> {
    [
        patch.name.as_ref().map(|_| "name"),
        patch.picture.as_ref().map(|_| "picture"),
        patch.bio.as_ref().map(|_| "bio"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_set_fields_are_named() {
        let patch = ProfilePatch {
            name: None,
            picture: Some("https://x.example/p.png".into()),
            bio: Some(String::new()),
        };
        assert_eq!(changed_fields(&patch), ["picture", "bio"]);
    }
}
