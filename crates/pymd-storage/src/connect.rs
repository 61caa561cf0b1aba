//! Choosing and opening a back end from a database URL.

use std::sync::Arc;
use std::time::Duration;

use crate::{Store, StoreError};

/// How to open the database.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Apply pending migrations before returning (what `pymd serve` does on start).
    pub migrate: bool,
    /// Largest pool size.
    pub max_connections: u32,
    /// How long a request waits for a connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            migrate: true,
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// Opens `url` (`sqlite:…` / `sqlite://…` or `postgres://…` / `postgresql://…`).
///
/// # Errors
/// [`StoreError::Config`] for an unsupported URL; [`StoreError::Unavailable`] when the database
/// cannot be reached; [`StoreError::Internal`] when a migration fails.
pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            crate::sqlite::SqliteStore::connect(url, options).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            crate::postgres::PgStore::connect(url, options).await?,
        ))
    } else {
        Err(StoreError::Config(
            "DATABASE_URL must start with sqlite: or postgres://".into(),
        ))
    }
}

/// Applies pending migrations to `url` and returns (`pymd migrate`).
///
/// # Errors
/// As [`connect`].
pub async fn migrate(url: &str) -> Result<(), StoreError> {
    let options = ConnectOptions {
        migrate: true,
        max_connections: 1,
        ..ConnectOptions::default()
    };
    connect(url, &options).await.map(|_| ())
}
