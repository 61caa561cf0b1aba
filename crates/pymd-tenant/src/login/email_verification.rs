//! `GET /u/email-verification?ticket=…`: the link from the dev mailbox. A ticket works once
//! and for five days; it marks the user's email verified and logs `sv`.

use axum::extract::State;
use axum::response::Response;

use crate::error::OAuthError;
use crate::extract::QueryParams;
use crate::html;
use crate::logs::LogEvent;
use crate::state::AppState;
use crate::store::mailbox::TicketError;

/// `GET /u/email-verification?ticket=…`.
pub async fn verify_email(
    State(state): State<AppState>,
    q: QueryParams,
) -> Result<Response, OAuthError> {
    let ticket = q.get("ticket").map(String::as_str).unwrap_or_default();
    let invalid = |d| OAuthError::page(axum::http::StatusCode::BAD_REQUEST, "invalid_ticket", d);
    let now = state.clock.now();
    let user_id = match state.mailbox.redeem(ticket, now.unix_timestamp()).await {
        Ok(id) => id,
        Err(TicketError::Used) => {
            return Err(invalid(
                "This verification link has already been used; a link works only once.",
            ));
        }
        Err(TicketError::Invalid) => {
            return Err(invalid("This verification link is invalid or has expired."));
        }
    };
    let verified = state
        .users
        .change(&user_id, None, |u| {
            u.email_verified = true;
            u.updated_at = now;
            u.email.clone()
        })
        .await;
    let Ok(email) = verified else {
        return Err(invalid("The user no longer exists."));
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
    Ok(html::notice(
        "Email Verified",
        "Your email was verified. You can continue using the application.",
    ))
}
