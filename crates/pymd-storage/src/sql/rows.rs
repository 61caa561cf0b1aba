//! Result rows to domain types, written once for both back ends. Each mapping reads the columns
//! in the order its statements list them (the column macros in `statements`).
//!
//! # Errors
//! Every mapping fails with [`StoreError::Internal`] when a column cannot be read as expected.

use pymd_domain::{Document, DocumentId, User, UserId};

use super::Row;
use crate::{AuditEvent, NewAuditEvent, Session, SpaGrantToken, SpaTransaction, StoreError};

/// A user (`user_columns!`).
pub fn user(r: &dyn Row) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(r.uuid(0)?),
        auth0_id: r.text(1)?,
        email: r.opt_text(2)?,
        name: r.opt_text(3)?,
        picture: r.opt_text(4)?,
        bio: r.opt_text(5)?,
        email_verified: r.bool(6)?,
        created_at: r.ts(7)?,
        updated_at: r.ts(8)?,
    })
}

/// A document (`document_columns!`; the list statements read only the start of the content).
pub fn document(r: &dyn Row) -> Result<Document, StoreError> {
    Ok(Document {
        id: DocumentId(r.uuid(0)?),
        owner_id: UserId(r.uuid(1)?),
        title: r.text(2)?,
        content: r.text(3)?,
        created_at: r.ts(4)?,
        updated_at: r.ts(5)?,
        version: r.i64(6)?,
    })
}

/// An audit event (the columns of `audit_query!`).
pub fn audit_event(r: &dyn Row) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: r.i64(0)?,
        at: r.ts(1)?,
        event: NewAuditEvent {
            event: r.text(2)?,
            outcome: r.text(3)?,
            subject: r.opt_text(4)?,
            ip: r.opt_text(5)?,
            user_agent: r.opt_text(6)?,
            request_id: r.opt_text(7)?,
            detail: r.json(8)?,
        },
    })
}

/// A web session (`session_columns!`).
pub fn session(r: &dyn Row) -> Result<Session, StoreError> {
    Ok(Session {
        id_hash: r.bytes(0)?,
        user_id: UserId(r.uuid(1)?),
        subject: r.text(2)?,
        idp_sid: r.opt_text(3)?,
        access_token: r.bytes(4)?,
        refresh_token: r.opt_bytes(5)?,
        id_token: r.opt_bytes(6)?,
        access_token_expires_at: r.ts(7)?,
        created_at: r.ts(8)?,
        last_seen_at: r.ts(9)?,
        idle_timeout_secs: r.i64(10)?,
        expires_at: r.ts(11)?,
        refresh_lock_until: r.opt_ts(12)?,
    })
}

/// An SPA sign-in transaction (the columns `TAKE_SPA_TRANSACTION` returns).
pub fn spa_transaction(r: &dyn Row) -> Result<SpaTransaction, StoreError> {
    Ok(SpaTransaction {
        state_hash: r.bytes(0)?,
        nonce: r.text(1)?,
        code_challenge: r.text(2)?,
        redirect_uri: r.text(3)?,
        return_to: r.text(4)?,
        created_at: r.ts(5)?,
        expires_at: r.ts(6)?,
    })
}

/// A recorded SPA refresh token (the columns `SELECT_SPA_GRANT_TOKEN` reads).
pub fn spa_grant_token(r: &dyn Row) -> Result<SpaGrantToken, StoreError> {
    Ok(SpaGrantToken {
        token_hash: r.bytes(0)?,
        grant_id: r.uuid(1)?,
        user_id: UserId(r.uuid(2)?),
        subject: r.text(3)?,
        idp_sid: r.opt_text(4)?,
        created_at: r.ts(5)?,
    })
}

/// The first column as an integer (versions, counts).
pub fn first_i64(r: &dyn Row) -> Result<i64, StoreError> {
    r.i64(0)
}

/// The first column as a timestamp (a lease's end).
pub fn first_ts(r: &dyn Row) -> Result<time::OffsetDateTime, StoreError> {
    r.ts(0)
}

/// Nothing: for statements whose answer is only that a row came back.
pub fn nothing(_: &dyn Row) -> Result<(), StoreError> {
    Ok(())
}
