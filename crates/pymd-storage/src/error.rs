//! One mapping from sqlx's errors to [`StoreError`], shared by both back ends, so "the database
//! is unreachable" (503, retry later) is told apart from "something is broken" (500) the same way
//! whichever database runs. Messages never carry SQL or bound values, only what sqlx reports about
//! the failure itself.

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
    match code.parse::<i32>() {
        Ok(n) => matches!(n & 0xff, 5 | 6 | 10 | 13 | 14),
        Err(_) => false,
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
    fn refused_credentials_and_missing_databases_are_configuration_errors() {
        assert!(is_config_code(Some("28P01")));
        assert!(is_config_code(Some("28000")));
        assert!(is_config_code(Some("3D000")));
        assert!(!is_config_code(Some("23505")));
        assert!(!is_config_code(Some("2067")));
    }
}
