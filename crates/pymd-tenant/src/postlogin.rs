//! The post-login Action equivalent (§13, spec §9): after every successful login it calls
//! the app's `/internal/auth/sync-user` with the shared bearer secret and the user's
//! profile. The call runs concurrently and is awaited at most `action_timeout`; a failure
//! or timeout is logged and never blocks the login. (The roles claim the Action adds is
//! applied in token minting.)

use serde_json::json;

use crate::state::AppState;
use crate::store::users::User;

/// Runs the Action for `user`; returns when the sync finished or the timeout passed.
pub async fn run(state: &AppState, user: &User) {
    let Some(hook) = state.opts.sync_webhook.clone() else {
        return;
    };
    let body = json!({
        "auth0Id": user.user_id,
        "email": user.email,
        "name": user.name,
        "picture": user.picture,
        "emailVerified": user.email_verified,
    });
    let timeout = state.opts.action_timeout;
    let http = state.http.clone();
    let user_id = user.user_id.clone();
    let task = tokio::spawn(async move {
        let res = http
            .post(hook.url.clone())
            .bearer_auth(&hook.bearer)
            .json(&body)
            .timeout(timeout)
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                tracing::warn!(status = %r.status(), user_id, "post-login sync-user call refused; login continues")
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), user_id, "post-login sync-user call failed; login continues")
            }
        }
    });
    if tokio::time::timeout(timeout, task).await.is_err() {
        tracing::warn!("post-login sync-user call timed out; login continues");
    }
}
