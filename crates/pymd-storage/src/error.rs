//! One mapping from database errors (sqlx's for PostgreSQL and migrations, rusqlite's for the
//! SQLite pool) to [`StoreError`], so "the database is unreachable" (503, retry later) is told
//! apart from "something is broken" (500) the same way whichever database runs. Messages never
//! carry SQL or bound values, only what the driver reports about the failure itself.

use crate::StoreError;

/// Maps a sqlx error; `what` names the operation for the log (e.g. `"update_document"`).
pub(crate) fn map_sqlx(what: &'static str, err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(format!("{what}: {err}")),
        sqlx::Error::Configuration(_) => StoreError::Config(format!("{what}: {err}")),
        sqlx::Error::Database(db) if is_config_code(db.code().as_deref()) => {
            StoreError::Config(format!("{what}: {}", db.message()))
        }
        sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
            StoreError::Unavailable(format!("{what}: {}", db.message()))
        }
        sqlx::Error::Database(db) => StoreError::Internal(format!(
            "{what}: database error {}: {}",
            db.code().as_deref().unwrap_or("?"),
            db.message()
        )),
        sqlx::Error::Migrate(m) => map_migrate(what, m),
        _ => StoreError::Internal(format!("{what}: {err}")),
    }
}

/// Maps a migration failure: a lost connection stays `Unavailable`, anything else is `Internal`.
pub(crate) fn map_migrate(what: &'static str, err: &sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match err {
        MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _)
            if matches!(
                inner,
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
            ) =>
        {
            StoreError::Unavailable(format!("{what}: migration: {err}"))
        }
        _ => StoreError::Internal(format!("{what}: migration: {err}")),
    }
}

/// PostgreSQL SQLSTATEs that mean the configured URL is wrong: class 28 (credentials refused)
/// and 3D000 (the database does not exist).
fn is_config_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.len() == 5 && (c.starts_with("28") || c == "3D000"))
}

/// Database error codes that mean "not reachable / not accepting work right now" rather than a
/// bug: PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources) and
/// 57P0x (shutting down, starting up); SQLite's BUSY/LOCKED (after the busy timeout), CANTOPEN,
/// IOERR and FULL primary result codes.
fn is_unavailable_code(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    if code.starts_with("08") || code.starts_with("53") || code.starts_with("57P0") {
        return true;
    }
    // SQLite reports (extended) result codes as decimal numbers of at most four digits;
    // PostgreSQL's SQLSTATEs always have five characters, so the two never mix.
    if code.len() > 4 {
        return false;
    }
    code.parse::<i32>().is_ok_and(sqlite_code_is_unavailable)
}

/// SQLite (extended) result codes whose primary code means "busy or unreachable": BUSY, LOCKED
/// (after the busy timeout), IOERR, FULL, CANTOPEN.
fn sqlite_code_is_unavailable(code: i32) -> bool {
    matches!(code & 0xff, 5 | 6 | 10 | 13 | 14)
}

/// Maps a rusqlite error; `what` names the operation for the log. Busy, locked and I/O failures
/// are `Unavailable`; everything else (a constraint violation included) is `Internal`, as for
/// sqlx's SQLite errors.
pub(crate) fn map_rusqlite(what: &'static str, err: rusqlite::Error) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(code, _)
            if sqlite_code_is_unavailable(code.extended_code) =>
        {
            StoreError::Unavailable(format!("{what}: {err}"))
        }
        rusqlite::Error::SqliteFailure(code, _) => StoreError::Internal(format!(
            "{what}: database error {}: {err}",
            code.extended_code
        )),
        _ => StoreError::Internal(format!("{what}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_io_failures_are_unavailable() {
        assert!(matches!(
            map_sqlx("x", sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            map_sqlx("x", sqlx::Error::PoolClosed),
            StoreError::Unavailable(_)
        ));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            map_sqlx("x", sqlx::Error::Io(refused)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            map_sqlx("x", sqlx::Error::RowNotFound),
            StoreError::Internal(_)
        ));
    }

    #[test]
    fn connection_and_busy_codes_are_unavailable_but_constraint_codes_are_not() {
        assert!(is_unavailable_code(Some("08006")));
        assert!(is_unavailable_code(Some("57P03")));
        assert!(is_unavailable_code(Some("53300")));
        assert!(is_unavailable_code(Some("5")));
        assert!(is_unavailable_code(Some("517"))); // SQLITE_BUSY_SNAPSHOT
        assert!(!is_unavailable_code(Some("23505")));
        assert!(!is_unavailable_code(Some("2067"))); // SQLITE_CONSTRAINT_UNIQUE
        assert!(!is_unavailable_code(None));
    }

    #[test]
    fn busy_and_unopenable_sqlite_failures_are_unavailable_but_constraints_are_internal() {
        let failure =
            |code: i32| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert!(matches!(
            map_rusqlite("x", failure(5)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            map_rusqlite("x", failure(517)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            map_rusqlite("x", failure(14)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            map_rusqlite("x", failure(2067)),
            StoreError::Internal(_)
        ));
        assert!(matches!(
            map_rusqlite("x", rusqlite::Error::QueryReturnedNoRows),
            StoreError::Internal(_)
        ));
    }

    #[test]
    fn refused_credentials_and_missing_databases_are_configuration_errors() {
        assert!(is_config_code(Some("28P01")));
        assert!(is_config_code(Some("28000")));
        assert!(is_config_code(Some("3D000")));
        assert!(!is_config_code(Some("23505")));
        assert!(!is_config_code(Some("2067")));
    }
}
