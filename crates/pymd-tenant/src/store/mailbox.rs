//! The dev mailbox: the verification mails the tenant would have sent (newest kept, at most
//! [`MAILBOX_MAX`]), and the single-use redemption of their links.

use tokio::sync::Mutex;

use crate::util::ct_eq;

/// How long an email-verification link works: Auth0's default ticket lifetime, 5 days.
pub const EMAIL_TICKET_TTL: i64 = 5 * 86_400;
/// The dev mailbox keeps at most this many mails (the oldest go first).
pub const MAILBOX_MAX: usize = 1000;

/// A verification mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// The verification link.
    pub link: String,
    /// Sent (unix).
    pub sent_at: i64,
    /// The ticket id.
    pub ticket: String,
    /// User it verifies.
    pub user_id: String,
    /// Already used.
    pub used: bool,
}

/// Why a verification ticket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketError {
    /// Its link was already followed.
    Used,
    /// Unknown or past [`EMAIL_TICKET_TTL`].
    Invalid,
}

/// The mails, oldest first.
#[derive(Debug, Default)]
pub struct Mailbox {
    mails: Mutex<Vec<Mail>>,
}

impl Mailbox {
    /// Delivers a mail, dropping the oldest past [`MAILBOX_MAX`].
    pub async fn deliver(&self, mail: Mail) {
        let mut mails = self.mails.lock().await;
        if mails.len() >= MAILBOX_MAX {
            let excess = mails.len() + 1 - MAILBOX_MAX;
            mails.drain(..excess);
        }
        mails.push(mail);
    }

    /// Redeems a ticket at `now` (once); returns the user it verifies.
    ///
    /// # Errors
    /// [`TicketError::Used`] or [`TicketError::Invalid`].
    pub async fn redeem(&self, ticket: &str, now: i64) -> Result<String, TicketError> {
        let mut mails = self.mails.lock().await;
        match mails
            .iter_mut()
            .find(|m| !ticket.is_empty() && ct_eq(&m.ticket, ticket))
        {
            Some(m) if m.used => Err(TicketError::Used),
            Some(m) if now - m.sent_at <= EMAIL_TICKET_TTL => {
                m.used = true;
                Ok(m.user_id.clone())
            }
            _ => Err(TicketError::Invalid),
        }
    }

    /// Every mail, oldest first.
    pub async fn all(&self) -> Vec<Mail> {
        self.mails.lock().await.clone()
    }

    /// Drops mails whose link has expired; returns how many.
    pub async fn sweep(&self, now: i64) -> usize {
        let mut mails = self.mails.lock().await;
        let before = mails.len();
        mails.retain(|m| now - m.sent_at <= EMAIL_TICKET_TTL);
        before - mails.len()
    }
}
