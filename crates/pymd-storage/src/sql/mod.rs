//! The one SQL implementation of [`Store`](crate::Store), shared by both back ends.
//!
//! The statements (`statements`), the mapping of result rows to domain types (`rows`) and every
//! operation of the trait (`store`) are written once, against the small [`Executor`] abstraction
//! below. A back end only has to run a statement with a slice of [`Value`]s and let the shared
//! code read result columns by index through [`Row`]; each binds and reads values in its own
//! stored representation (SQLite: 16-byte BLOB UUIDs and INTEGER microseconds; PostgreSQL:
//! native `uuid` and `timestamptz`), so the schemas stay as their migrations made them.
//!
//! Statements are written with PostgreSQL's `$1 … $n` placeholders; the SQLite back end turns
//! them into SQLite's explicitly numbered `?1 … ?n` once, when it prepares a statement. Where the
//! two dialects really differ — the clock a refresh lease is measured by, and adding an idle
//! timeout in seconds to a timestamp — the text comes from the back end's [`Dialect`].

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreError;

pub(crate) mod rows;
pub(crate) mod statements;
mod store;

/// One bound parameter, in the domain's terms; each back end encodes it in its own stored form.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Uuid(Uuid),
    Ts(OffsetDateTime),
    OptTs(Option<OffsetDateTime>),
    I64(i64),
    OptI64(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
    Bytes(&'a [u8]),
    OptBytes(Option<&'a [u8]>),
    OptBool(Option<bool>),
    /// Structured data: `jsonb` on PostgreSQL, JSON text on SQLite.
    Json(&'a serde_json::Value),
}

/// Reads the columns of one result row by index (0-based), whatever the back end stores.
///
/// Every method fails with [`StoreError::Internal`] when the column is missing or holds
/// something else (a broken database or a statement out of step with its row mapping).
pub trait Row {
    fn uuid(&self, i: usize) -> Result<Uuid, StoreError>;
    fn ts(&self, i: usize) -> Result<OffsetDateTime, StoreError>;
    fn opt_ts(&self, i: usize) -> Result<Option<OffsetDateTime>, StoreError>;
    fn i64(&self, i: usize) -> Result<i64, StoreError>;
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn bool(&self, i: usize) -> Result<bool, StoreError>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError>;
    fn json(&self, i: usize) -> Result<serde_json::Value, StoreError>;
}

/// Turns one result row into a value (see `rows`).
pub type MapRow<T> = fn(&dyn Row) -> Result<T, StoreError>;

/// Which clock measures a session's refresh lease (see `Store::try_lock_session_refresh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseClock {
    /// The database server's own clock; the statement takes `$1` hash, `$2` lease (µs).
    Database,
    /// The host's clock, passed in: `$1` hash, `$2` lease (µs), `$3` now. Right for a database
    /// that is a file on this host, shared only by processes on this host.
    Host,
}

/// The statements whose text differs between the back ends.
#[derive(Debug)]
pub struct Dialect {
    /// Takes a session's refresh lease (see [`LeaseClock`] for the parameters).
    pub lock_session_refresh: &'static str,
    pub lease_clock: LeaseClock,
    /// Deletes the sessions expired at `$1`.
    pub delete_expired_sessions: &'static str,
    /// Counts the sessions live at `$1`.
    pub count_active_sessions: &'static str,
}

/// Runs statements for the shared implementation: what each back end provides. Every method
/// takes the name of the operation (`what`, for error messages), a statement written with `$n`
/// placeholders and its parameters in order.
///
/// Errors are already mapped: [`StoreError::Unavailable`] when the database cannot be reached
/// or stays busy, [`StoreError::Internal`] otherwise (constraint violations included).
pub trait Executor: Send + Sync + 'static {
    /// The statements this back end spells its own way.
    const DIALECT: &'static Dialect;

    /// Runs a statement that returns no rows; returns how many rows it changed.
    fn execute(
        &self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs a statement and maps its first row, if any.
    fn fetch_optional<T: Send>(
        &self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
        map: MapRow<T>,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send;

    /// Runs a statement and maps every row.
    fn fetch_all<T: Send>(
        &self,
        what: &'static str,
        sql: &'static str,
        args: &[Value<'_>],
        map: MapRow<T>,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;
}

/// Runs a statement that must return a row, and maps it.
///
/// # Errors
/// As the executor's; [`StoreError::Internal`] when no row comes back.
pub(crate) async fn fetch_one<E: Executor, T: Send>(
    db: &E,
    what: &'static str,
    sql: &'static str,
    args: &[Value<'_>],
    map: MapRow<T>,
) -> Result<T, StoreError> {
    db.fetch_optional(what, sql, args, map)
        .await?
        .ok_or_else(|| StoreError::Internal(format!("{what}: the statement returned no row")))
}

/// A column that could not be read as the type the row mapping expects.
pub(crate) fn decode_error(i: usize, err: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("reading column {i}: {err}"))
}
