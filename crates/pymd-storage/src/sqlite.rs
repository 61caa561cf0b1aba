//! The embedded back end: one SQLite file in WAL mode, what `pymd serve` uses out of the box.
//!
//! **In place, through `rusqlite`.** A SQLite statement runs in microseconds inside this process,
//! so it is executed directly on the calling task's thread: take a connection from a small pool,
//! run the prepared (cached) statement, read the rows, give the connection back. There is no
//! worker thread, channel or `spawn_blocking` per query — sqlx's SQLite driver sends every
//! statement and every row over a channel to a worker thread, and the wake-ups cost more than the
//! queries (a profile of the document list spent ~45 % of its CPU in futex calls). The only
//! `.await`s are for a free connection slot (and, for a statement that writes, the store's one
//! writer slot), *before* a connection is taken; a connection is never held across an `.await`,
//! so a task can neither park holding one nor hold SQLite's write lock while suspended, and this
//! process's writers queue without blocking a thread instead of sleeping in SQLite's busy handler. `rusqlite` is used at the version that links the same `libsqlite3-sys` as
//! sqlx (two copies of SQLite cannot link into one binary).
//!
//! **Migrations stay sqlx's**: `sqlx::migrate!` runs on a short-lived sqlx connection before the
//! pool opens, so existing databases' `_sqlx_migrations` records stay valid. An in-memory
//! database is a named shared-cache memory database that the store's one connection keeps alive
//! for the life of the store; the migration connection joins it by name while it runs.
//!
//! SQLite serializes writers, so every change that must not race is one statement (a conditional
//! `UPDATE … WHERE version = $n RETURNING …`, an `INSERT … ON CONFLICT …`): the statement takes
//! the write lock before it reads, so two of them can never interleave. `busy_timeout` makes a
//! writer wait for the lock instead of failing. Timestamps are stored as INTEGER microseconds and
//! UUIDs as 16-byte BLOBs (see `migrations/sqlite`); the shared statements' `$n` placeholders
//! become SQLite's numbered `?n` once per connection, when a statement is first prepared.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pymd_domain::paging::{from_micros, micros};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use time::OffsetDateTime;
use tokio::sync::{Semaphore, SemaphorePermit, TryAcquireError};
use uuid::Uuid;

use crate::error::{map_migrate, map_rusqlite, map_sqlx};
use crate::sql::{Dialect, Executor, MapRow, Row, Value, decode_error, statements};
use crate::{ConnectOptions, StoreError};

/// How long a writer waits for SQLite's write lock before giving up (then `Unavailable`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection: more than the store has, so none is re-prepared.
const STATEMENT_CACHE: usize = 64;

/// The first page of an owner's documents, as the store runs it (public so that the
/// conformance suite can check the plan of this exact statement).
pub const LIST_DOCUMENTS_FIRST: &str = statements::LIST_DOCUMENTS_FIRST;

/// A later page of an owner's documents (keyset paging on `documents_owner_created_id`); public
/// for the same reason.
pub const LIST_DOCUMENTS_AFTER: &str = statements::LIST_DOCUMENTS_AFTER;

/// The SQLite implementation of [`Store`](crate::Store).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Arc<Pool>,
}

impl SqliteStore {
    /// Opens (creating if missing, with its parent directory) the SQLite database at `url`
    /// (`sqlite:path`, `sqlite://path` or `sqlite::memory:`), in WAL mode with
    /// `synchronous=NORMAL`, foreign keys on and a 5 s busy timeout, and applies pending migrations
    /// when `options.migrate` is set. A file is served by up to `options.max_connections`
    /// connections; an in-memory database lives in one connection that is never recycled, so
    /// every caller sees the same data for the life of the store.
    ///
    /// # Errors
    /// [`StoreError::Config`] for a malformed URL; [`StoreError::Unavailable`] when the file or its
    /// directory cannot be created or opened; [`StoreError::Internal`] when a migration fails.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let sqlx_options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let target = Target::of(&sqlx_options, in_memory)?;
        // The first connection opens (or creates) the database before migrations run; in memory
        // it is the one that keeps the database alive.
        let first = target.open().map_err(|e| map_rusqlite("connect", e))?;
        if options.migrate {
            migrate(sqlx_options, in_memory).await?;
        }
        let max = if in_memory {
            1
        } else {
            usize::try_from(options.max_connections.max(1)).unwrap_or(1)
        };
        tracing::info!(
            backend = "sqlite",
            in_memory,
            migrated = options.migrate,
            "database ready"
        );
        Ok(SqliteStore {
            pool: Arc::new(Pool {
                slots: Semaphore::new(max),
                writer: Semaphore::new(1),
                idle: Mutex::new(vec![first]),
                target,
                acquire_timeout: options.acquire_timeout,
            }),
        })
    }

    /// Closes every pooled connection (the last one checkpoints the WAL); later calls fail as
    /// `Unavailable`. A connection in use when the store closes is closed when it comes back.
    pub async fn close(&self) {
        self.pool.slots.close();
        self.pool.writer.close();
        let idle = std::mem::take(&mut *self.pool.lock_idle());
        drop(idle);
    }
}

/// Applies the migrations with sqlx, on one short-lived connection to the same database.
async fn migrate(options: SqliteConnectOptions, in_memory: bool) -> Result<(), StoreError> {
    use sqlx::Connection as _;
    let options = if in_memory {
        options
    } else {
        options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    };
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| map_sqlx("migrate", e))?;
    let applied = sqlx::migrate!("migrations/sqlite").run(&mut conn).await;
    let closed = conn.close().await;
    applied.map_err(|e| map_migrate("migrate", &e))?;
    closed.map_err(|e| map_sqlx("migrate", e))
}

/// Which database the pool's connections open.
#[derive(Debug)]
struct Target {
    /// A path, or the `file:` name of a shared-cache memory database.
    filename: String,
    in_memory: bool,
}

impl Target {
    /// Reads the file name sqlx parsed from the URL, creating a file's directory.
    fn of(options: &SqliteConnectOptions, in_memory: bool) -> Result<Target, StoreError> {
        let path = options.get_filename();
        if !in_memory
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot create the database directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let filename = path
            .to_str()
            .ok_or_else(|| StoreError::Config("the SQLite path must be valid UTF-8".into()))?
            .to_owned();
        Ok(Target {
            filename,
            in_memory,
        })
    }

    /// Opens one connection with the store's pragmas.
    fn open(&self) -> rusqlite::Result<Conn> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if self.in_memory {
            flags |= OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
        }
        let conn = Connection::open_with_flags(&self.filename, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        if self.in_memory {
            conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        } else {
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )?;
        }
        Ok(Conn {
            conn,
            numbered: HashMap::new(),
        })
    }
}

/// The store's connections: at most `slots` in use at once, idle ones kept for reuse. A file's
/// connections are opened on demand; an in-memory database has exactly one, never replaced.
struct Pool {
    slots: Semaphore,
    /// One writing statement at a time per store (SQLite runs one writer at a time anyway).
    writer: Semaphore,
    idle: Mutex<Vec<Conn>>,
    target: Target,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("target", &self.target)
            .field("free_slots", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}

impl Pool {
    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        // The lock only guards pushes and pops: a panic cannot leave the list half-changed.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on a connection, on this thread. The connection is taken after the only
    /// `.await`s and given back before returning. A statement that writes first takes the
    /// writer slot: this process's writers queue here, without blocking a thread, rather than
    /// in SQLite's busy handler, which sleeps (it still waits for other processes' writers).
    async fn run<T>(
        &self,
        what: &'static str,
        sql: &'static str,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        let _writer = if writes(sql) {
            Some(self.acquire(&self.writer, what).await?)
        } else {
            None
        };
        let _slot = self.acquire(&self.slots, what).await?;
        let mut conn = self.take(what)?;
        let result = f(&mut conn);
        self.give_back(conn);
        result
    }

    /// Waits (up to the acquire timeout) for a permit of `slots`.
    async fn acquire<'a>(
        &self,
        slots: &'a Semaphore,
        what: &'static str,
    ) -> Result<SemaphorePermit<'a>, StoreError> {
        match slots.try_acquire() {
            Ok(slot) => return Ok(slot),
            Err(TryAcquireError::Closed) => return Err(closed(what)),
            Err(TryAcquireError::NoPermits) => {}
        }
        match tokio::time::timeout(self.acquire_timeout, slots.acquire()).await {
            Ok(Ok(slot)) => Ok(slot),
            Ok(Err(_)) => Err(closed(what)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "{what}: no SQLite connection became free within {:?}",
                self.acquire_timeout
            ))),
        }
    }

    /// An idle connection, or a new one to a file (the caller holds a slot).
    fn take(&self, what: &'static str) -> Result<Conn, StoreError> {
        if let Some(conn) = self.lock_idle().pop() {
            return Ok(conn);
        }
        if self.target.in_memory || self.slots.is_closed() {
            return Err(closed(what));
        }
        self.target.open().map_err(|e| map_rusqlite(what, e))
    }

    fn give_back(&self, conn: Conn) {
        if !self.slots.is_closed() {
            self.lock_idle().push(conn);
        }
    }
}

/// Whether a statement may write (anything but a `SELECT`).
fn writes(sql: &str) -> bool {
    !sql.trim_start()
        .get(..6)
        .is_some_and(|verb| verb.eq_ignore_ascii_case("SELECT"))
}

fn closed(what: &'static str) -> StoreError {
    StoreError::Unavailable(format!("{what}: the SQLite store is closed"))
}

/// One connection, with the `?n` spelling of each shared statement it has prepared.
struct Conn {
    conn: Connection,
    /// Keyed by the address and length of the `'static` statement text.
    numbered: HashMap<(usize, usize), Box<str>>,
}

impl Conn {
    /// The cached prepared statement for `sql` (translated to `?n` placeholders the first time).
    fn prepare(&mut self, sql: &'static str) -> rusqlite::Result<rusqlite::CachedStatement<'_>> {
        let text = self
            .numbered
            .entry((sql.as_ptr() as usize, sql.len()))
            .or_insert_with(|| numbered_placeholders(sql));
        self.conn.prepare_cached(text)
    }

    /// Runs the query `sql` with `args` and hands its rows to `read`.
    fn query<T>(
        &mut self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
        read: impl FnOnce(&mut rusqlite::Rows<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut statement = self.prepare(sql).map_err(|e| map_rusqlite(what, e))?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(args))
            .map_err(|e| map_rusqlite(what, e))?;
        read(&mut rows)
    }
}

/// Rewrites PostgreSQL-style `$n` placeholders as SQLite's explicitly numbered `?n` (SQLite
/// would read `$n` as a *named* parameter, numbered by first appearance rather than by `n`).
fn numbered_placeholders(sql: &str) -> Box<str> {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out.into_boxed_str()
}

impl Executor for SqliteStore {
    const DIALECT: &'static Dialect = &statements::SQLITE;

    async fn execute(
        &self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
    ) -> Result<u64, StoreError> {
        self.pool
            .run(what, sql, |conn| {
                let mut statement = conn.prepare(sql).map_err(|e| map_rusqlite(what, e))?;
                let changed = statement
                    .execute(rusqlite::params_from_iter(args))
                    .map_err(|e| map_rusqlite(what, e))?;
                Ok(u64::try_from(changed).unwrap_or(u64::MAX))
            })
            .await
    }

    async fn fetch_optional<T: Send>(
        &self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
        map: MapRow<T>,
    ) -> Result<Option<T>, StoreError> {
        self.pool
            .run(what, sql, |conn| {
                conn.query(what, sql, args, |rows| {
                    match rows.next().map_err(|e| map_rusqlite(what, e))? {
                        Some(row) => map(&SqliteColumns(row)).map(Some),
                        None => Ok(None),
                    }
                })
            })
            .await
    }

    async fn fetch_all<T: Send>(
        &self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
        map: MapRow<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.pool
            .run(what, sql, |conn| {
                conn.query(what, sql, args, |rows| {
                    let mut out = Vec::new();
                    while let Some(row) = rows.next().map_err(|e| map_rusqlite(what, e))? {
                        out.push(map(&SqliteColumns(row))?);
                    }
                    Ok(out)
                })
            })
            .await
    }
}

/// Binds a shared parameter in SQLite's stored form: UUIDs as 16-byte BLOBs, timestamps as
/// INTEGER microseconds, booleans as 0/1, JSON as text.
impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let owned = |v: SqlValue| Ok(ToSqlOutput::Owned(v));
        match self {
            Value::Uuid(v) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(v.as_bytes()))),
            Value::Ts(v) => owned(micros(*v).into()),
            Value::OptTs(v) => owned(v.map(micros).into()),
            Value::I64(v) => owned((*v).into()),
            Value::OptI64(v) => owned((*v).into()),
            Value::Text(v) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes()))),
            Value::OptText(v) => v.to_sql(),
            Value::Bytes(v) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(v))),
            Value::OptBytes(v) => v.to_sql(),
            Value::OptBool(v) => owned((*v).into()),
            Value::Json(v) => match serde_json::to_string(v) {
                Ok(text) => owned(text.into()),
                Err(e) => Err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))),
            },
        }
    }
}

/// One SQLite result row, read for the shared row mapping.
struct SqliteColumns<'a, 'stmt>(&'a rusqlite::Row<'stmt>);

impl SqliteColumns<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, i: usize) -> Result<T, StoreError> {
        self.0.get(i).map_err(|e| decode_error(i, e))
    }
}

impl Row for SqliteColumns<'_, '_> {
    fn uuid(&self, i: usize) -> Result<Uuid, StoreError> {
        match self.0.get_ref(i).map_err(|e| decode_error(i, e))? {
            ValueRef::Blob(bytes) => Uuid::from_slice(bytes).map_err(|e| decode_error(i, e)),
            other => Err(decode_error(
                i,
                format!("a UUID is a BLOB, not {:?}", other.data_type()),
            )),
        }
    }
    fn ts(&self, i: usize) -> Result<OffsetDateTime, StoreError> {
        self.get(i).map(from_micros)
    }
    fn opt_ts(&self, i: usize) -> Result<Option<OffsetDateTime>, StoreError> {
        self.get(i).map(|t: Option<i64>| t.map(from_micros))
    }
    fn i64(&self, i: usize) -> Result<i64, StoreError> {
        self.get(i)
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.get(i)
    }
    fn bool(&self, i: usize) -> Result<bool, StoreError> {
        self.get(i)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.get(i)
    }
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(i)
    }
    fn json(&self, i: usize) -> Result<serde_json::Value, StoreError> {
        let text: String = self.get(i)?;
        serde_json::from_str(&text).map_err(|e| decode_error(i, e))
    }
}

#[cfg(test)]
mod tests {
    use super::numbered_placeholders;

    #[test]
    fn only_selects_are_read_only() {
        use super::writes;
        assert!(!writes("SELECT 1"));
        assert!(!writes(" select id FROM users"));
        assert!(writes("UPDATE sessions SET a = 1"));
        assert!(writes("INSERT INTO users (id) VALUES (?1)"));
        assert!(writes(
            "DELETE FROM spa_transactions WHERE state_hash = $1 RETURNING nonce"
        ));
    }

    #[test]
    fn dollar_placeholders_become_numbered_question_marks_and_nothing_else_changes() {
        assert_eq!(
            &*numbered_placeholders("UPDATE t SET a = $3 + $2 WHERE id = $1 AND b = '$x' $"),
            "UPDATE t SET a = ?3 + ?2 WHERE id = ?1 AND b = '$x' $"
        );
        assert_eq!(
            &*numbered_placeholders("SELECT ?12, $12"),
            "SELECT ?12, ?12"
        );
    }
}
