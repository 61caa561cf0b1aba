//! Every SQL statement of the store, written once with `$1 … $n` placeholders, plus the two
//! [`Dialect`]s for the few that differ.
//!
//! The text is standard enough for both databases: `substr()` (not PostgreSQL's `left()`),
//! `IS DISTINCT FROM` (SQLite ≥ 3.39), `FALSE`, a `CASE` instead of `MAX(a, b)` / `GREATEST`,
//! and no casts — PostgreSQL learns each parameter's type from the bound value. Column lists
//! are macros so that a statement's columns and the row mapping in `rows` (which reads them by
//! position) are spelled in one place; sqlx only takes `&'static str` SQL, hence `concat!`.
//!
//! Every `LIMIT` is `LIMIT $n + 0`, not `LIMIT $n`: SQLite reads a bare bound `LIMIT` value at
//! preparation and marks the statement to be prepared again whenever that parameter is bound,
//! so a cached list statement was re-parsed and re-planned on every call (a fifth of the warm
//! list's CPU in the profile, `docs/perf/`). An expression is evaluated at run time instead;
//! PostgreSQL treats both spellings alike.

use super::{Dialect, LeaseClock};

/// The columns `rows::user` reads, in its order.
macro_rules! user_columns {
    () => {
        "id, auth0_id, email, name, picture, bio, email_verified, created_at, updated_at"
    };
}

/// The columns `rows::document` reads, in its order.
macro_rules! document_columns {
    () => {
        "id, owner_id, title, content, created_at, updated_at, version"
    };
}

/// The columns `rows::session` reads, in its order.
macro_rules! session_columns {
    () => {
        "id_hash, user_id, subject, idp_sid, access_token, refresh_token, id_token, \
         access_token_expires_at, created_at, last_seen_at, idle_timeout_secs, expires_at, \
         refresh_lock_until"
    };
}

pub const PING: &str = "SELECT 1";

// users

pub const UPSERT_USER: &str = concat!(
    "INSERT INTO users (id, auth0_id, email, name, picture, email_verified, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, COALESCE($6, FALSE), $7, $7) \
     ON CONFLICT (auth0_id) DO UPDATE SET \
       email = COALESCE(excluded.email, users.email), \
       name = COALESCE(excluded.name, users.name), \
       picture = COALESCE(excluded.picture, users.picture), \
       email_verified = COALESCE($6, users.email_verified), \
       updated_at = CASE WHEN excluded.email IS NOT NULL AND excluded.email IS DISTINCT FROM users.email \
                           OR excluded.name IS NOT NULL AND excluded.name IS DISTINCT FROM users.name \
                           OR excluded.picture IS NOT NULL AND excluded.picture IS DISTINCT FROM users.picture \
                           OR $6 IS NOT NULL AND $6 IS DISTINCT FROM users.email_verified \
                         THEN excluded.updated_at ELSE users.updated_at END \
     RETURNING ",
    user_columns!()
);

pub const INSERT_BARE_USER: &str = "INSERT INTO users (id, auth0_id, email_verified, created_at, updated_at) \
     VALUES ($1, $2, FALSE, $3, $3) ON CONFLICT (auth0_id) DO NOTHING";

pub const SELECT_USER_BY_AUTH0_ID: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE auth0_id = $1"
);

pub const UPDATE_PROFILE: &str = concat!(
    "UPDATE users SET name = COALESCE($2, name), picture = COALESCE($3, picture), \
       bio = COALESCE($4, bio), updated_at = $5 \
     WHERE id = $1 RETURNING ",
    user_columns!()
);

pub const LIST_USERS_FIRST: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users ORDER BY id LIMIT $1 + 0"
);

pub const LIST_USERS_AFTER: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE id > $1 ORDER BY id LIMIT $2 + 0"
);

// documents

pub const INSERT_DOCUMENT: &str = concat!(
    "INSERT INTO documents (id, owner_id, title, content, created_at, updated_at, version) \
     VALUES ($1, $2, $3, $4, $5, $5, 1) RETURNING ",
    document_columns!()
);

pub const SELECT_DOCUMENT: &str = concat!(
    "SELECT ",
    document_columns!(),
    " FROM documents WHERE id = $1"
);

/// The first page of an owner's documents, newest first (`$1` owner, `$2` limit), with only the
/// first 2000 characters of each content (`pymd_domain::document::EXCERPT_SOURCE_CHARS`, for
/// the excerpt).
pub const LIST_DOCUMENTS_FIRST: &str = "SELECT id, owner_id, title, substr(content, 1, 2000) AS content, created_at, updated_at, version \
     FROM documents WHERE owner_id = $1 \
     ORDER BY created_at DESC, id DESC LIMIT $2 + 0";

/// A later page: rows strictly before the cursor `($2 created_at, $3 id)`, `$4` limit (keyset
/// paging on the `documents_owner_created_id` index).
pub const LIST_DOCUMENTS_AFTER: &str = "SELECT id, owner_id, title, substr(content, 1, 2000) AS content, created_at, updated_at, version \
     FROM documents WHERE owner_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4 + 0";

pub const UPDATE_DOCUMENT_ANY: &str = concat!(
    "UPDATE documents SET title = $3, content = $4, updated_at = $5, version = version + 1 \
     WHERE id = $1 AND owner_id = $2 RETURNING ",
    document_columns!()
);

pub const UPDATE_DOCUMENT_IF_VERSION: &str = concat!(
    "UPDATE documents SET title = $3, content = $4, updated_at = $5, version = version + 1 \
     WHERE id = $1 AND owner_id = $2 AND version = $6 RETURNING ",
    document_columns!()
);

pub const SELECT_DOCUMENT_VERSION: &str =
    "SELECT version FROM documents WHERE id = $1 AND owner_id = $2";

pub const DELETE_DOCUMENT: &str = "DELETE FROM documents WHERE id = $1 AND owner_id = $2";

// audit

pub const INSERT_AUDIT: &str = "INSERT INTO audit_events (at, event, outcome, subject, ip, user_agent, request_id, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// One statement per combination of the two indexed equality filters, so each can use its
/// index. Parameters: `$1` subject, `$2` event, `$3` since, `$4` until, `$5` before id,
/// `$6` limit. The columns are those `rows::audit_event` reads.
macro_rules! audit_query {
    ($where:literal) => {
        concat!(
            "SELECT id, at, event, outcome, subject, ip, user_agent, request_id, detail \
             FROM audit_events WHERE ",
            $where,
            " ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at <= $4) AND ($5 IS NULL OR id < $5) \
             ORDER BY id DESC LIMIT $6 + 0"
        )
    };
}
pub const AUDIT_ALL: &str = audit_query!("($1 IS NULL) AND ($2 IS NULL) AND");
pub const AUDIT_BY_SUBJECT: &str = audit_query!("subject = $1 AND ($2 IS NULL) AND");
pub const AUDIT_BY_EVENT: &str = audit_query!("($1 IS NULL) AND event = $2 AND");
pub const AUDIT_BY_BOTH: &str = audit_query!("subject = $1 AND event = $2 AND");

// sessions

pub const INSERT_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, subject, idp_sid, access_token, refresh_token, id_token, \
       access_token_expires_at, created_at, last_seen_at, idle_timeout_secs, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)";

pub const SELECT_SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE id_hash = $1"
);

pub const COMPLETE_SESSION_REFRESH: &str = "UPDATE sessions SET access_token = $2, \
       refresh_token = COALESCE($3, refresh_token), id_token = COALESCE($4, id_token), \
       access_token_expires_at = $5, refresh_lock_until = NULL \
     WHERE id_hash = $1 AND access_token_expires_at = $6";

pub const RELEASE_SESSION_REFRESH: &str =
    "UPDATE sessions SET refresh_lock_until = NULL WHERE id_hash = $1 AND refresh_lock_until = $2";

/// Moves `last_seen_at` forward to `$2`, never back.
pub const TOUCH_SESSION: &str = "UPDATE sessions \
     SET last_seen_at = CASE WHEN last_seen_at < $2 THEN $2 ELSE last_seen_at END \
     WHERE id_hash = $1";

pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";

/// Back-channel logout: by `sid` (and `subject` when given), or every session of a `subject`.
pub const DELETE_SESSIONS_BY_IDP: &str = "DELETE FROM sessions \
     WHERE ($1 IS NOT NULL OR $2 IS NOT NULL) \
       AND ($1 IS NULL OR idp_sid = $1) AND ($2 IS NULL OR subject = $2)";

// SPA sign-ins and grants

pub const DELETE_EXPIRED_SPA_TRANSACTIONS: &str =
    "DELETE FROM spa_transactions WHERE expires_at <= $1";

pub const INSERT_SPA_TRANSACTION: &str = "INSERT INTO spa_transactions \
       (state_hash, nonce, code_challenge, redirect_uri, return_to, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Spends a transaction: deletes it and returns the columns `rows::spa_transaction` reads.
pub const TAKE_SPA_TRANSACTION: &str = "DELETE FROM spa_transactions WHERE state_hash = $1 \
     RETURNING state_hash, nonce, code_challenge, redirect_uri, return_to, created_at, expires_at";

pub const INSERT_SPA_GRANT_TOKEN: &str = "INSERT INTO spa_grant_tokens \
       (token_hash, grant_id, user_id, subject, idp_sid, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// The columns `rows::spa_grant_token` reads.
pub const SELECT_SPA_GRANT_TOKEN: &str = "SELECT token_hash, grant_id, user_id, subject, idp_sid, \
       created_at FROM spa_grant_tokens WHERE token_hash = $1";

pub const DELETE_SPA_GRANT: &str = "DELETE FROM spa_grant_tokens WHERE grant_id = $1";

pub const DELETE_SPA_GRANTS_BY_IDP: &str = "DELETE FROM spa_grant_tokens WHERE grant_id IN \
       (SELECT grant_id FROM spa_grant_tokens \
         WHERE ($1 IS NOT NULL OR $2 IS NOT NULL) \
           AND ($1 IS NULL OR idp_sid = $1) AND ($2 IS NULL OR subject = $2))";

// where the dialects differ

/// The session sweep and count, given how a dialect spells "when inactivity ends the session".
macro_rules! session_expiry {
    ($idle_end:literal) => {
        (
            concat!(
                "DELETE FROM sessions WHERE expires_at <= $1 OR ",
                $idle_end,
                " <= $1"
            ),
            concat!(
                "SELECT COUNT(*) FROM sessions WHERE expires_at > $1 AND ",
                $idle_end,
                " > $1"
            ),
        )
    };
}

const SQLITE_EXPIRY: (&str, &str) = session_expiry!("last_seen_at + idle_timeout_secs * 1000000");
const POSTGRES_EXPIRY: (&str, &str) =
    session_expiry!("last_seen_at + make_interval(secs => idle_timeout_secs)");

/// SQLite: timestamps are INTEGER microseconds; the database is a file on this host, so the
/// host's clock is the database's clock, read once per statement (`$3`).
pub const SQLITE: Dialect = Dialect {
    // Exactly one concurrent caller matches the condition: the statement takes the write lock
    // before it reads, so the others find the lease taken.
    lock_session_refresh: "UPDATE sessions SET refresh_lock_until = $3 + $2 \
         WHERE id_hash = $1 AND (refresh_lock_until IS NULL OR refresh_lock_until <= $3) \
         RETURNING refresh_lock_until",
    lease_clock: LeaseClock::Host,
    delete_expired_sessions: SQLITE_EXPIRY.0,
    count_active_sessions: SQLITE_EXPIRY.1,
};

/// PostgreSQL: `timestamptz` and intervals; the server's clock, read once per statement, so
/// every instance compares leases against the same clock however far their own clocks drift.
pub const POSTGRES: Dialect = Dialect {
    // Exactly one concurrent caller matches the condition: the row is locked by the UPDATE, and
    // the others re-check it and find the lease taken.
    lock_session_refresh: "UPDATE sessions \
           SET refresh_lock_until = statement_timestamp() + $2 * INTERVAL '1 microsecond' \
         WHERE id_hash = $1 \
           AND (refresh_lock_until IS NULL OR refresh_lock_until <= statement_timestamp()) \
         RETURNING refresh_lock_until",
    lease_clock: LeaseClock::Database,
    delete_expired_sessions: POSTGRES_EXPIRY.0,
    count_active_sessions: POSTGRES_EXPIRY.1,
};
