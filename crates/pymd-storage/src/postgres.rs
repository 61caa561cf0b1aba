//! The at-scale back end: PostgreSQL through sqlx's pool, shared by several `pymd serve`
//! instances. The operations themselves are the shared ones (`crate::sql`); this module binds
//! their parameters in PostgreSQL's native types (`uuid`, `timestamptz`, `jsonb`) and reads
//! result columns back.
//!
//! Every change that must not race is one statement (a conditional `UPDATE … WHERE version = $n
//! RETURNING …`, an `INSERT … ON CONFLICT …`): under READ COMMITTED the row lock taken by the
//! first writer makes the second re-check its `WHERE` against the committed row, so a stale
//! version never applies. Timestamps are `timestamptz` (microseconds, like the domain, so values
//! equal SQLite's). Migrations take sqlx's advisory lock, so instances starting together migrate
//! once.

use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, Row as _};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{map_migrate, map_sqlx};
use crate::sql::{Dialect, Executor, MapRow, Row, Value, decode_error, statements};
use crate::{ConnectOptions, StoreError};

/// The first page of an owner's documents, as the store runs it (public so that the
/// conformance suite can check the plan of this exact statement).
pub const LIST_DOCUMENTS_FIRST: &str = statements::LIST_DOCUMENTS_FIRST;

/// A later page of an owner's documents (keyset paging on `documents_owner_created_id`); public
/// for the same reason.
pub const LIST_DOCUMENTS_AFTER: &str = statements::LIST_DOCUMENTS_AFTER;

/// The PostgreSQL implementation of [`Store`](crate::Store).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…` / `postgresql://…`; TLS per its `sslmode`) with a pool
    /// of up to `options.max_connections`, and applies pending migrations when `options.migrate`
    /// is set. Fails fast: one connection is opened before returning.
    ///
    /// # Errors
    /// [`StoreError::Config`] for a malformed URL, refused credentials or a missing database;
    /// [`StoreError::Unavailable`] when the server cannot be reached within
    /// `options.acquire_timeout` (refused, TLS failure, shutting down); [`StoreError::Internal`]
    /// when a migration fails.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect(url)
            .await
            .map_err(|e| map_sqlx("connect", e))?;
        if options.migrate {
            sqlx::migrate!("migrations/postgres")
                .run(&pool)
                .await
                .map_err(|e| map_migrate("migrate", &e))?;
        }
        tracing::info!(
            backend = "postgres",
            migrated = options.migrate,
            "database ready"
        );
        Ok(PgStore { pool })
    }

    /// Closes every pooled connection; later calls fail as `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A statement with its parameters bound in PostgreSQL's types. PostgreSQL learns each
/// parameter's type from these (a `NULL` too), so the shared statements need no casts.
fn query<'a>(
    sql: &'static str,
    args: &[Value<'a>],
) -> sqlx::query::Query<'a, Postgres, PgArguments> {
    args.iter().fold(sqlx::query(sql), |q, arg| match *arg {
        Value::Uuid(v) => q.bind(v),
        Value::Ts(v) => q.bind(v),
        Value::OptTs(v) => q.bind(v),
        Value::I64(v) => q.bind(v),
        Value::OptI64(v) => q.bind(v),
        Value::Text(v) => q.bind(v),
        Value::OptText(v) => q.bind(v),
        Value::Bytes(v) => q.bind(v),
        Value::OptBytes(v) => q.bind(v),
        Value::OptBool(v) => q.bind(v),
        Value::Json(v) => q.bind(Json(v)),
    })
}

impl Executor for PgStore {
    const DIALECT: &'static Dialect = &statements::POSTGRES;

    async fn execute(
        &self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
    ) -> Result<u64, StoreError> {
        query(sql, args)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(|e| map_sqlx(what, e))
    }

    async fn fetch_optional<T: Send>(
        &self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
        map: MapRow<T>,
    ) -> Result<Option<T>, StoreError> {
        let row = query(sql, args)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_sqlx(what, e))?;
        row.map(|row| map(&PgColumns(&row))).transpose()
    }

    async fn fetch_all<T: Send>(
        &self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
        map: MapRow<T>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = query(sql, args)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(what, e))?;
        rows.iter().map(|row| map(&PgColumns(row))).collect()
    }
}

/// One PostgreSQL result row, read for the shared row mapping.
struct PgColumns<'r>(&'r PgRow);

impl PgColumns<'_> {
    fn get<'r, T>(&'r self, i: usize) -> Result<T, StoreError>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        self.0.try_get(i).map_err(|e| decode_error(i, e))
    }
}

/// Normalizes a decoded `timestamptz` to UTC (as SQLite's values are).
fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(time::UtcOffset::UTC)
}

impl Row for PgColumns<'_> {
    fn uuid(&self, i: usize) -> Result<Uuid, StoreError> {
        self.get(i)
    }
    fn ts(&self, i: usize) -> Result<OffsetDateTime, StoreError> {
        self.get(i).map(utc)
    }
    fn opt_ts(&self, i: usize) -> Result<Option<OffsetDateTime>, StoreError> {
        self.get(i).map(|t: Option<OffsetDateTime>| t.map(utc))
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
        self.get(i).map(|Json(v)| v)
    }
}
