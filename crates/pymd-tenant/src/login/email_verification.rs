//! `GET /u/email-verification?ticket=…`: the link from the dev mailbox. A ticket works once
//! and for five days; it marks the user's email verified and logs `sv`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::error::OAuthError;
use crate::extract::QueryParams;
use crate::html;
use crate::logs::LogEvent;
use crate::state::AppState;
use crate::store::mailbox::TicketError;

/// A 400 `invalid_ticket` page.
fn invalid(description: &'static str) -> OAuthError {
    OAuthError::page(StatusCode::BAD_REQUEST, "invalid_ticket", description)
}

/// `GET /u/email-verification?ticket=…`.
pub async fn verify_email(
    State(state): State<AppState>,
    q: QueryParams,
) -> Result<Response, OAuthError> {
    let ticket = q.get("ticket").map(String::as_str).unwrap_or_default();
    let now = state.clock.now();
    let user_id = state
        .mailbox
        .redeem(ticket, now.unix_timestamp())
        .await
        .map_err(|e| {
            invalid(match e {
                TicketError::Used => {
                    "This verification link has already been used; a link works only once."
                }
                TicketError::Invalid => "This verification link is invalid or has expired.",
            })
        })?;
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

#[cfg(test)]
mod tests {
    use crate::DevTenant;
    use crate::test_support::{client, tenant_with};

    #[tokio::test]
    async fn an_expired_verification_link_changes_nothing_and_is_swept() {
        use crate::store::mailbox::Mail;
        let t = tenant_with(|_| {}).await;
        let c = client();
        let user_id = t
            .state
            .users
            .by_email("bob@example.com")
            .await
            .unwrap()
            .user_id;
        t.state
            .users
            .change(&user_id, None, |u| u.email_verified = false)
            .await
            .unwrap();
        let now = t.state.clock.unix();
        let mail = |ticket: &str, sent_at: i64| Mail {
            to: "bob@example.com".into(),
            subject: "Verify your email".into(),
            link: format!("{}u/email-verification?ticket={ticket}", t.issuer()),
            sent_at,
            ticket: ticket.into(),
            user_id: user_id.clone(),
            used: false,
        };
        t.state.mailbox.deliver(mail("old-ticket", now)).await;
        t.state
            .mailbox
            .deliver(mail("new-ticket", now + 2 * 86_400))
            .await;
        // 5 days and a minute on: the first link has expired, the second has not.
        t.state.clock.set_offset(5 * 86_400 + 60);
        let r = c
            .get(format!(
                "{}u/email-verification?ticket=old-ticket",
                t.issuer()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("invalid or has expired"));
        let verified = |t: &DevTenant| {
            let s = t.state.clone();
            let id = user_id.clone();
            async move { s.users.get(&id).await.unwrap().email_verified }
        };
        assert!(!verified(&t).await, "an expired link verifies nothing");
        assert!(!t.state.mailbox.all().await[0].used);
        // The sweep drops the expired mail and keeps the live one.
        let swept = crate::sweep::sweep(&t.state).await;
        assert_eq!(swept.mails, 1);
        let left: Vec<String> = t
            .state
            .mailbox
            .all()
            .await
            .iter()
            .map(|m| m.ticket.clone())
            .collect();
        assert_eq!(left, ["new-ticket"]);
        let r = c
            .get(format!(
                "{}u/email-verification?ticket=new-ticket",
                t.issuer()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(verified(&t).await);
        t.shutdown().await;
    }
}
