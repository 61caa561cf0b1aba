//! The embedded back end: one SQLite file in WAL mode, what `pymd serve` uses out of the box.
//!
//! SQLite serializes writers, so every change that must not race is one statement (a conditional
//! `UPDATE … WHERE version = $n RETURNING …`, an `INSERT … ON CONFLICT …`): the statement takes
//! the write lock before it reads, so two of them can never interleave. `busy_timeout` makes a
//! writer wait for the lock instead of failing. Timestamps are stored as INTEGER microseconds and
//! UUIDs as 16-byte BLOBs (see `migrations/sqlite`).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use pymd_domain::paging::{from_micros, micros};
use pymd_domain::{
    Document, DocumentDraft, DocumentId, PageRequest, ProfilePatch, SyncUser, User, UserId,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use uuid::Uuid;

use crate::error::map_sqlx;
use crate::page::page_of;
use crate::{
    AuditEvent, AuditFilter, ConnectOptions, DocumentPage, NewAuditEvent, NewSession, Session,
    SessionRefresh, SpaGrantToken, SpaTransaction, Store, StoreError, check_hash,
};

/// How long a writer waits for SQLite's write lock before giving up (then `Unavailable`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing, with its parent directory) the SQLite database at `url`
    /// (`sqlite:path`, `sqlite://path` or `sqlite::memory:`), in WAL mode with
    /// `synchronous=NORMAL`, foreign keys on and a 5 s busy timeout, and applies pending migrations
    /// when `options.migrate` is set. An in-memory database lives in one pooled connection that is
    /// never recycled, so every caller sees the same data for the life of the store.
    ///
    /// # Errors
    /// [`StoreError::Config`] for a malformed URL; [`StoreError::Unavailable`] when the file or its
    /// directory cannot be created or opened; [`StoreError::Internal`] when a migration fails.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut connect_options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let mut pool_options = SqlitePoolOptions::new().acquire_timeout(options.acquire_timeout);
        if in_memory {
            pool_options = pool_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            connect_options = connect_options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            if let Some(dir) = connect_options.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Unavailable(format!(
                        "cannot create the database directory {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            pool_options = pool_options.max_connections(options.max_connections.max(1));
        }
        let pool = pool_options
            .connect_with(connect_options)
            .await
            .map_err(|e| map_sqlx("connect", e))?;
        if options.migrate {
            sqlx::migrate!("migrations/sqlite")
                .run(&pool)
                .await
                .map_err(|e| crate::error::map_migrate("migrate", &e))?;
        }
        tracing::info!(
            backend = "sqlite",
            in_memory,
            migrated = options.migrate,
            "database ready"
        );
        Ok(SqliteStore { pool })
    }

    /// Closes every pooled connection (checkpointing the WAL); later calls fail as `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    auth0_id: String,
    email: Option<String>,
    name: Option<String>,
    picture: Option<String>,
    bio: Option<String>,
    email_verified: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            auth0_id: r.auth0_id,
            email: r.email,
            name: r.name,
            picture: r.picture,
            bio: r.bio,
            email_verified: r.email_verified,
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct DocumentRow {
    id: Uuid,
    owner_id: Uuid,
    title: String,
    content: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl From<DocumentRow> for Document {
    fn from(r: DocumentRow) -> Self {
        Document {
            id: DocumentId(r.id),
            owner_id: UserId(r.owner_id),
            title: r.title,
            content: r.content,
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
            version: r.version,
        }
    }
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    event: String,
    outcome: String,
    subject: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    detail: String,
}

impl AuditRow {
    fn into_event(self) -> Result<AuditEvent, StoreError> {
        let detail = serde_json::from_str(&self.detail)
            .map_err(|e| StoreError::Internal(format!("list_audit: stored detail: {e}")))?;
        Ok(AuditEvent {
            id: self.id,
            at: from_micros(self.at),
            event: NewAuditEvent {
                event: self.event,
                outcome: self.outcome,
                subject: self.subject,
                ip: self.ip,
                user_agent: self.user_agent,
                request_id: self.request_id,
                detail,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: Vec<u8>,
    user_id: Uuid,
    subject: String,
    idp_sid: Option<String>,
    access_token: Vec<u8>,
    refresh_token: Option<Vec<u8>>,
    id_token: Option<Vec<u8>>,
    access_token_expires_at: i64,
    created_at: i64,
    last_seen_at: i64,
    idle_timeout_secs: i64,
    expires_at: i64,
    refresh_lock_until: Option<i64>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id_hash: r.id_hash,
            user_id: UserId(r.user_id),
            subject: r.subject,
            idp_sid: r.idp_sid,
            access_token: r.access_token,
            refresh_token: r.refresh_token,
            id_token: r.id_token,
            access_token_expires_at: from_micros(r.access_token_expires_at),
            created_at: from_micros(r.created_at),
            last_seen_at: from_micros(r.last_seen_at),
            idle_timeout_secs: r.idle_timeout_secs,
            expires_at: from_micros(r.expires_at),
            refresh_lock_until: r.refresh_lock_until.map(from_micros),
        }
    }
}

const INSERT_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, subject, idp_sid, access_token, refresh_token, id_token, \
       access_token_expires_at, created_at, last_seen_at, idle_timeout_secs, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)";

const SELECT_SESSION: &str = "SELECT id_hash, user_id, subject, idp_sid, access_token, refresh_token, id_token, \
       access_token_expires_at, created_at, last_seen_at, idle_timeout_secs, expires_at, \
       refresh_lock_until \
     FROM sessions WHERE id_hash = $1";

// Exactly one concurrent caller matches the condition: the row is locked by the UPDATE, and the
// others re-check it and find the lease taken.
// An SQLite database is a file on this host, shared only by processes on this host: the host's
// clock is the database's clock, read once per statement (`$2`).
const LOCK_SESSION_REFRESH: &str = "UPDATE sessions SET refresh_lock_until = $2 + $3 \
     WHERE id_hash = $1 AND (refresh_lock_until IS NULL OR refresh_lock_until <= $2) \
     RETURNING refresh_lock_until";

const COMPLETE_SESSION_REFRESH: &str = "UPDATE sessions SET access_token = $2, \
       refresh_token = COALESCE($3, refresh_token), id_token = COALESCE($4, id_token), \
       access_token_expires_at = $5, refresh_lock_until = NULL \
     WHERE id_hash = $1 AND access_token_expires_at = $6";

const RELEASE_SESSION_REFRESH: &str =
    "UPDATE sessions SET refresh_lock_until = NULL WHERE id_hash = $1 AND refresh_lock_until = $2";

const TOUCH_SESSION: &str =
    "UPDATE sessions SET last_seen_at = MAX(last_seen_at, $2) WHERE id_hash = $1";

const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";

/// Back-channel logout: by `sid` (and `subject` when given), or every session of a `subject`.
const DELETE_SESSIONS_BY_IDP: &str = "DELETE FROM sessions \
     WHERE ($1 IS NOT NULL OR $2 IS NOT NULL) \
       AND ($1 IS NULL OR idp_sid = $1) AND ($2 IS NULL OR subject = $2)";

const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions \
     WHERE expires_at <= $1 OR last_seen_at + idle_timeout_secs * 1000000 <= $1";

const COUNT_ACTIVE_SESSIONS: &str = "SELECT COUNT(*) FROM sessions \
     WHERE expires_at > $1 AND last_seen_at + idle_timeout_secs * 1000000 > $1";

// Column lists are spelled out in each statement: sqlx 0.9 only takes `&'static str` SQL.

const UPSERT_USER: &str = "INSERT INTO users (id, auth0_id, email, name, picture, email_verified, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, COALESCE($6, 0), $7, $7) \
     ON CONFLICT (auth0_id) DO UPDATE SET \
       email = COALESCE(excluded.email, users.email), \
       name = COALESCE(excluded.name, users.name), \
       picture = COALESCE(excluded.picture, users.picture), \
       email_verified = COALESCE($6, users.email_verified), \
       updated_at = CASE WHEN excluded.email IS NOT NULL AND excluded.email IS NOT users.email \
                           OR excluded.name IS NOT NULL AND excluded.name IS NOT users.name \
                           OR excluded.picture IS NOT NULL AND excluded.picture IS NOT users.picture \
                           OR $6 IS NOT NULL AND $6 IS NOT users.email_verified \
                         THEN excluded.updated_at ELSE users.updated_at END \
     RETURNING id, auth0_id, email, name, picture, bio, email_verified, created_at, updated_at";

const INSERT_BARE_USER: &str = "INSERT INTO users (id, auth0_id, email_verified, created_at, updated_at) \
     VALUES ($1, $2, 0, $3, $3) ON CONFLICT (auth0_id) DO NOTHING";

const SELECT_USER_BY_AUTH0_ID: &str = "SELECT id, auth0_id, email, name, picture, bio, email_verified, created_at, updated_at \
     FROM users WHERE auth0_id = $1";

const UPDATE_PROFILE: &str = "UPDATE users SET name = COALESCE($2, name), picture = COALESCE($3, picture), \
       bio = COALESCE($4, bio), updated_at = $5 \
     WHERE id = $1 \
     RETURNING id, auth0_id, email, name, picture, bio, email_verified, created_at, updated_at";

const LIST_USERS_FIRST: &str = "SELECT id, auth0_id, email, name, picture, bio, email_verified, created_at, updated_at \
     FROM users ORDER BY id LIMIT $1";

const LIST_USERS_AFTER: &str = "SELECT id, auth0_id, email, name, picture, bio, email_verified, created_at, updated_at \
     FROM users WHERE id > $1 ORDER BY id LIMIT $2";

const INSERT_DOCUMENT: &str = "INSERT INTO documents (id, owner_id, title, content, created_at, updated_at, version) \
     VALUES ($1, $2, $3, $4, $5, $5, 1) \
     RETURNING id, owner_id, title, content, created_at, updated_at, version";

const SELECT_DOCUMENT: &str = "SELECT id, owner_id, title, content, created_at, updated_at, version \
     FROM documents WHERE id = $1";

/// The first page of an owner's documents, newest first (`$1` owner, `$2` limit), with only the
/// first 2000 characters of each content (`pymd_domain::document::EXCERPT_SOURCE_CHARS`, for the
/// excerpt). Public so that
/// the conformance suite can check the plan of this exact statement.
pub const LIST_DOCUMENTS_FIRST: &str = "SELECT id, owner_id, title, substr(content, 1, 2000) AS content, created_at, updated_at, version \
     FROM documents WHERE owner_id = $1 \
     ORDER BY created_at DESC, id DESC LIMIT $2";

/// A later page: rows strictly before the cursor `($2 created_at, $3 id)`, `$4` limit (keyset
/// paging on the `documents_owner_created_id` index). Public for the same reason.
pub const LIST_DOCUMENTS_AFTER: &str = "SELECT id, owner_id, title, substr(content, 1, 2000) AS content, created_at, updated_at, version \
     FROM documents WHERE owner_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

const UPDATE_DOCUMENT_ANY: &str = "UPDATE documents SET title = $3, content = $4, updated_at = $5, version = version + 1 \
     WHERE id = $1 AND owner_id = $2 \
     RETURNING id, owner_id, title, content, created_at, updated_at, version";

const UPDATE_DOCUMENT_IF_VERSION: &str = "UPDATE documents SET title = $3, content = $4, updated_at = $5, version = version + 1 \
     WHERE id = $1 AND owner_id = $2 AND version = $6 \
     RETURNING id, owner_id, title, content, created_at, updated_at, version";

const SELECT_DOCUMENT_VERSION: &str =
    "SELECT version FROM documents WHERE id = $1 AND owner_id = $2";

const DELETE_DOCUMENT: &str = "DELETE FROM documents WHERE id = $1 AND owner_id = $2";

const INSERT_AUDIT: &str = "INSERT INTO audit_events (at, event, outcome, subject, ip, user_agent, request_id, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// One statement per combination of the two indexed equality filters, so each can use its index.
macro_rules! audit_query {
    ($where:literal) => {
        concat!(
            "SELECT id, at, event, outcome, subject, ip, user_agent, request_id, detail \
             FROM audit_events WHERE ",
            $where,
            " ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at <= $4) AND ($5 IS NULL OR id < $5) \
             ORDER BY id DESC LIMIT $6"
        )
    };
}
const AUDIT_ALL: &str = audit_query!("($1 IS NULL) AND ($2 IS NULL) AND");
const AUDIT_BY_SUBJECT: &str = audit_query!("subject = $1 AND ($2 IS NULL) AND");
const AUDIT_BY_EVENT: &str = audit_query!("($1 IS NULL) AND event = $2 AND");
const AUDIT_BY_BOTH: &str = audit_query!("subject = $1 AND event = $2 AND");

const DELETE_EXPIRED_SPA_TRANSACTIONS: &str = "DELETE FROM spa_transactions WHERE expires_at <= $1";
const INSERT_SPA_TRANSACTION: &str = "INSERT INTO spa_transactions \
       (state_hash, nonce, code_challenge, redirect_uri, return_to, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const TAKE_SPA_TRANSACTION: &str = "DELETE FROM spa_transactions WHERE state_hash = $1 \
     RETURNING state_hash, nonce, code_challenge, redirect_uri, return_to, created_at, expires_at";
const INSERT_SPA_GRANT_TOKEN: &str = "INSERT INTO spa_grant_tokens \
       (token_hash, grant_id, user_id, subject, idp_sid, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const SELECT_SPA_GRANT_TOKEN: &str = "SELECT token_hash, grant_id, user_id, subject, idp_sid, \
       created_at FROM spa_grant_tokens WHERE token_hash = $1";
const DELETE_SPA_GRANT: &str = "DELETE FROM spa_grant_tokens WHERE grant_id = $1";
const DELETE_SPA_GRANTS_BY_IDP: &str = "DELETE FROM spa_grant_tokens WHERE grant_id IN \
       (SELECT grant_id FROM spa_grant_tokens \
         WHERE ($1 IS NOT NULL OR $2 IS NOT NULL) \
           AND ($1 IS NULL OR idp_sid = $1) AND ($2 IS NULL OR subject = $2))";

#[derive(sqlx::FromRow)]
struct SpaTransactionRow {
    state_hash: Vec<u8>,
    nonce: String,
    code_challenge: String,
    redirect_uri: String,
    return_to: String,
    created_at: i64,
    expires_at: i64,
}

impl From<SpaTransactionRow> for SpaTransaction {
    fn from(r: SpaTransactionRow) -> Self {
        SpaTransaction {
            state_hash: r.state_hash,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            redirect_uri: r.redirect_uri,
            return_to: r.return_to,
            created_at: from_micros(r.created_at),
            expires_at: from_micros(r.expires_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct SpaGrantTokenRow {
    token_hash: Vec<u8>,
    grant_id: Uuid,
    user_id: Uuid,
    subject: String,
    idp_sid: Option<String>,
    created_at: i64,
}

impl From<SpaGrantTokenRow> for SpaGrantToken {
    fn from(r: SpaGrantTokenRow) -> Self {
        SpaGrantToken {
            token_hash: r.token_hash,
            grant_id: r.grant_id,
            user_id: UserId(r.user_id),
            subject: r.subject,
            idp_sid: r.idp_sid,
            created_at: from_micros(r.created_at),
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| match map_sqlx("ping", e) {
                StoreError::Internal(m) => StoreError::Unavailable(m),
                other => other,
            })
    }

    async fn upsert_user(&self, user: &SyncUser) -> Result<User, StoreError> {
        let now = micros(pymd_domain::now());
        sqlx::query_as::<_, UserRow>(UPSERT_USER)
            .bind(Uuid::now_v7())
            .bind(&user.auth0_id)
            .bind(&user.email)
            .bind(&user.name)
            .bind(&user.picture)
            .bind(user.email_verified)
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map(User::from)
            .map_err(|e| map_sqlx("upsert_user", e))
    }

    async fn ensure_user(&self, auth0_id: &str) -> Result<User, StoreError> {
        // Read first: the user almost always exists, and a read takes no write lock.
        if let Some(user) = self.find_user_by_auth0_id(auth0_id).await? {
            return Ok(user);
        }
        let now = micros(pymd_domain::now());
        sqlx::query(INSERT_BARE_USER)
            .bind(Uuid::now_v7())
            .bind(auth0_id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx("ensure_user", e))?;
        self.find_user_by_auth0_id(auth0_id).await?.ok_or_else(|| {
            StoreError::Internal("ensure_user: the user vanished right after its insert".into())
        })
    }

    async fn find_user_by_auth0_id(&self, auth0_id: &str) -> Result<Option<User>, StoreError> {
        sqlx::query_as::<_, UserRow>(SELECT_USER_BY_AUTH0_ID)
            .bind(auth0_id)
            .fetch_optional(&self.pool)
            .await
            .map(|r| r.map(User::from))
            .map_err(|e| map_sqlx("find_user_by_auth0_id", e))
    }

    async fn update_profile(&self, id: UserId, patch: &ProfilePatch) -> Result<User, StoreError> {
        sqlx::query_as::<_, UserRow>(UPDATE_PROFILE)
            .bind(id.0)
            .bind(&patch.name)
            .bind(&patch.picture)
            .bind(&patch.bio)
            .bind(micros(pymd_domain::now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_sqlx("update_profile", e))?
            .map(User::from)
            .ok_or(StoreError::NotFound)
    }

    async fn list_users(&self, after: Option<UserId>, limit: u32) -> Result<Vec<User>, StoreError> {
        let limit = i64::from(limit.clamp(1, 1000));
        let rows = match after {
            None => {
                sqlx::query_as::<_, UserRow>(LIST_USERS_FIRST)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
            Some(after) => {
                sqlx::query_as::<_, UserRow>(LIST_USERS_AFTER)
                    .bind(after.0)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
        };
        rows.map(|rows| rows.into_iter().map(User::from).collect())
            .map_err(|e| map_sqlx("list_users", e))
    }

    async fn create_document(
        &self,
        owner: UserId,
        draft: &DocumentDraft,
    ) -> Result<Document, StoreError> {
        sqlx::query_as::<_, DocumentRow>(INSERT_DOCUMENT)
            .bind(DocumentId::new_random().0)
            .bind(owner.0)
            .bind(draft.title())
            .bind(draft.content())
            .bind(micros(pymd_domain::now()))
            .fetch_one(&self.pool)
            .await
            .map(Document::from)
            .map_err(|e| map_sqlx("create_document", e))
    }

    async fn get_document(&self, id: DocumentId) -> Result<Option<Document>, StoreError> {
        sqlx::query_as::<_, DocumentRow>(SELECT_DOCUMENT)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map(|r| r.map(Document::from))
            .map_err(|e| map_sqlx("get_document", e))
    }

    async fn list_documents(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> Result<DocumentPage, StoreError> {
        let limit = page.limit.clamp(1, crate::page::MAX_PAGE);
        let fetch = i64::from(limit) + 1;
        let rows = match page.after {
            None => {
                sqlx::query_as::<_, DocumentRow>(LIST_DOCUMENTS_FIRST)
                    .bind(owner.0)
                    .bind(fetch)
                    .fetch_all(&self.pool)
                    .await
            }
            Some(cursor) => {
                sqlx::query_as::<_, DocumentRow>(LIST_DOCUMENTS_AFTER)
                    .bind(owner.0)
                    .bind(cursor.created_at_micros)
                    .bind(cursor.id)
                    .bind(fetch)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(|e| map_sqlx("list_documents", e))?;
        Ok(page_of(
            rows.into_iter().map(Document::from).collect(),
            limit,
        ))
    }

    async fn update_document(
        &self,
        id: DocumentId,
        owner: UserId,
        draft: &DocumentDraft,
        expected_version: Option<i64>,
    ) -> Result<Document, StoreError> {
        let sql = if expected_version.is_some() {
            UPDATE_DOCUMENT_IF_VERSION
        } else {
            UPDATE_DOCUMENT_ANY
        };
        let mut query = sqlx::query_as::<_, DocumentRow>(sql)
            .bind(id.0)
            .bind(owner.0)
            .bind(draft.title())
            .bind(draft.content())
            .bind(micros(pymd_domain::now()));
        if let Some(expected) = expected_version {
            query = query.bind(expected);
        }
        let updated = query
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_sqlx("update_document", e))?;
        if let Some(row) = updated {
            return Ok(row.into());
        }
        if expected_version.is_none() {
            return Err(StoreError::NotFound);
        }
        let current: Option<i64> = sqlx::query_scalar(SELECT_DOCUMENT_VERSION)
            .bind(id.0)
            .bind(owner.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_sqlx("update_document", e))?;
        Err(match current {
            Some(current) => StoreError::VersionConflict { current },
            None => StoreError::NotFound,
        })
    }

    async fn delete_document(&self, id: DocumentId, owner: UserId) -> Result<bool, StoreError> {
        sqlx::query(DELETE_DOCUMENT)
            .bind(id.0)
            .bind(owner.0)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(|e| map_sqlx("delete_document", e))
    }

    async fn record_audit(&self, event: &NewAuditEvent) -> Result<(), StoreError> {
        let detail = serde_json::to_string(&event.detail)
            .map_err(|e| StoreError::Internal(format!("record_audit: detail: {e}")))?;
        sqlx::query(INSERT_AUDIT)
            .bind(micros(pymd_domain::now()))
            .bind(&event.event)
            .bind(&event.outcome)
            .bind(&event.subject)
            .bind(&event.ip)
            .bind(&event.user_agent)
            .bind(&event.request_id)
            .bind(detail)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| map_sqlx("record_audit", e))
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let sql = match (&filter.subject, &filter.event) {
            (None, None) => AUDIT_ALL,
            (Some(_), None) => AUDIT_BY_SUBJECT,
            (None, Some(_)) => AUDIT_BY_EVENT,
            (Some(_), Some(_)) => AUDIT_BY_BOTH,
        };
        let rows = sqlx::query_as::<_, AuditRow>(sql)
            .bind(&filter.subject)
            .bind(&filter.event)
            .bind(filter.since.map(micros))
            .bind(filter.until.map(micros))
            .bind(filter.before_id)
            .bind(i64::from(filter.limit.clamp(1, 1000)))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx("list_audit", e))?;
        rows.into_iter().map(AuditRow::into_event).collect()
    }

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        check_hash("create_session", &session.id_hash)?;
        if session.idle_timeout_secs <= 0 {
            return Err(StoreError::Internal(
                "create_session: the idle timeout must be positive".into(),
            ));
        }
        sqlx::query(INSERT_SESSION)
            .bind(&session.id_hash)
            .bind(session.user_id.0)
            .bind(&session.subject)
            .bind(&session.idp_sid)
            .bind(&session.access_token)
            .bind(&session.refresh_token)
            .bind(&session.id_token)
            .bind(micros(session.access_token_expires_at))
            .bind(micros(session.created_at))
            .bind(session.idle_timeout_secs)
            .bind(micros(session.expires_at))
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| map_sqlx("create_session", e))
    }

    async fn find_session(&self, id_hash: &[u8]) -> Result<Option<Session>, StoreError> {
        check_hash("find_session", id_hash)?;
        sqlx::query_as::<_, SessionRow>(SELECT_SESSION)
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await
            .map(|r| r.map(Session::from))
            .map_err(|e| map_sqlx("find_session", e))
    }

    async fn touch_session(
        &self,
        id_hash: &[u8],
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        check_hash("touch_session", id_hash)?;
        sqlx::query(TOUCH_SESSION)
            .bind(id_hash)
            .bind(micros(now))
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(|e| map_sqlx("touch_session", e))
    }

    async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, StoreError> {
        check_hash("delete_session", id_hash)?;
        sqlx::query(DELETE_SESSION)
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(|e| map_sqlx("delete_session", e))
    }

    async fn delete_sessions_by_idp(
        &self,
        idp_sid: Option<&str>,
        subject: Option<&str>,
    ) -> Result<u64, StoreError> {
        if idp_sid.is_none() && subject.is_none() {
            return Ok(0);
        }
        sqlx::query(DELETE_SESSIONS_BY_IDP)
            .bind(idp_sid)
            .bind(subject)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| map_sqlx("delete_sessions_by_idp", e))
    }

    async fn delete_expired_sessions(&self, now: time::OffsetDateTime) -> Result<u64, StoreError> {
        sqlx::query(DELETE_EXPIRED_SESSIONS)
            .bind(micros(now))
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| map_sqlx("delete_expired_sessions", e))
    }

    async fn count_active_sessions(&self, now: time::OffsetDateTime) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(COUNT_ACTIVE_SESSIONS)
            .bind(micros(now))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx("count_active_sessions", e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn try_lock_session_refresh(
        &self,
        id_hash: &[u8],
        lease: time::Duration,
    ) -> Result<Option<time::OffsetDateTime>, StoreError> {
        check_hash("try_lock_session_refresh", id_hash)?;
        sqlx::query_scalar::<_, i64>(LOCK_SESSION_REFRESH)
            .bind(id_hash)
            .bind(micros(pymd_domain::now()))
            .bind(crate::lease_micros(lease))
            .fetch_optional(&self.pool)
            .await
            .map(|until| until.map(from_micros))
            .map_err(|e| map_sqlx("try_lock_session_refresh", e))
    }

    async fn complete_session_refresh(
        &self,
        id_hash: &[u8],
        refresh: &SessionRefresh,
        expected_access_token_expires_at: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        check_hash("complete_session_refresh", id_hash)?;
        sqlx::query(COMPLETE_SESSION_REFRESH)
            .bind(id_hash)
            .bind(&refresh.access_token)
            .bind(&refresh.refresh_token)
            .bind(&refresh.id_token)
            .bind(micros(refresh.access_token_expires_at))
            .bind(micros(expected_access_token_expires_at))
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(|e| map_sqlx("complete_session_refresh", e))
    }

    async fn release_session_refresh(
        &self,
        id_hash: &[u8],
        lease_until: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        check_hash("release_session_refresh", id_hash)?;
        sqlx::query(RELEASE_SESSION_REFRESH)
            .bind(id_hash)
            .bind(micros(lease_until))
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(|e| map_sqlx("release_session_refresh", e))
    }
    async fn create_spa_transaction(&self, tx: &SpaTransaction) -> Result<(), StoreError> {
        check_hash("create_spa_transaction", &tx.state_hash)?;
        sqlx::query(DELETE_EXPIRED_SPA_TRANSACTIONS)
            .bind(micros(tx.created_at))
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx("create_spa_transaction", e))?;
        sqlx::query(INSERT_SPA_TRANSACTION)
            .bind(&tx.state_hash)
            .bind(&tx.nonce)
            .bind(&tx.code_challenge)
            .bind(&tx.redirect_uri)
            .bind(&tx.return_to)
            .bind(micros(tx.created_at))
            .bind(micros(tx.expires_at))
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| map_sqlx("create_spa_transaction", e))
    }

    async fn take_spa_transaction(
        &self,
        state_hash: &[u8],
        now: time::OffsetDateTime,
    ) -> Result<Option<SpaTransaction>, StoreError> {
        check_hash("take_spa_transaction", state_hash)?;
        let row = sqlx::query_as::<_, SpaTransactionRow>(TAKE_SPA_TRANSACTION)
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_sqlx("take_spa_transaction", e))?;
        Ok(row.map(SpaTransaction::from).filter(|t| t.expires_at > now))
    }

    async fn record_spa_grant_token(&self, token: &SpaGrantToken) -> Result<(), StoreError> {
        check_hash("record_spa_grant_token", &token.token_hash)?;
        sqlx::query(INSERT_SPA_GRANT_TOKEN)
            .bind(&token.token_hash)
            .bind(token.grant_id)
            .bind(token.user_id.0)
            .bind(&token.subject)
            .bind(&token.idp_sid)
            .bind(micros(token.created_at))
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| map_sqlx("record_spa_grant_token", e))
    }

    async fn find_spa_grant_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<SpaGrantToken>, StoreError> {
        check_hash("find_spa_grant_token", token_hash)?;
        sqlx::query_as::<_, SpaGrantTokenRow>(SELECT_SPA_GRANT_TOKEN)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map(|r| r.map(SpaGrantToken::from))
            .map_err(|e| map_sqlx("find_spa_grant_token", e))
    }

    async fn end_spa_grants_by_idp(
        &self,
        idp_sid: Option<&str>,
        subject: Option<&str>,
    ) -> Result<u64, StoreError> {
        if idp_sid.is_none() && subject.is_none() {
            return Ok(0);
        }
        sqlx::query(DELETE_SPA_GRANTS_BY_IDP)
            .bind(idp_sid)
            .bind(subject)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| map_sqlx("end_spa_grants_by_idp", e))
    }

    async fn end_spa_grant(&self, grant_id: Uuid) -> Result<u64, StoreError> {
        sqlx::query(DELETE_SPA_GRANT)
            .bind(grant_id)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| map_sqlx("end_spa_grant", e))
    }
}
