//! Fresh, isolated databases for each test: a new SQLite file under the temp dir, one
//! `sqlite::memory:` store, or a new PostgreSQL database created through the admin URL in
//! `PYMD_TEST_DATABASE_URL` (and dropped again, best effort, when the test ends).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pymd_storage::{ConnectOptions, Store};
use sqlx::Connection;
use uuid::Uuid;

/// Which back end a [`TestDb`] runs on (for the few checks that need raw SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    SqliteFile,
    SqliteMemory,
    Postgres,
}

/// A store on a database of its own, plus what a test needs to reopen it.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
    pub backend: Backend,
    // Dropped after `store`: removes the file or drops the database.
    _cleanup: Cleanup,
}

enum Cleanup {
    None,
    Dir(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::None => {}
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgDatabase { admin_url, name } => {
                let admin_url = admin_url.clone();
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                // Drop runs inside the test's runtime: do the async work on a thread of its own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                                .execute(&mut conn)
                                .await;
                            let _ = conn.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// The options every test store uses: migrate, a small pool, a generous acquire timeout.
pub fn options() -> ConnectOptions {
    ConnectOptions {
        migrate: true,
        max_connections: 8,
        acquire_timeout: Duration::from_secs(10),
    }
}

impl TestDb {
    /// A store on a new SQLite file in a directory that does not exist yet.
    pub async fn sqlite_file() -> TestDb {
        let dir =
            std::env::temp_dir().join(format!("pymd-storage-test-{}", Uuid::new_v4().simple()));
        let path = dir.join("nested").join("pymd.db");
        let url = format!("sqlite://{}", path.display());
        let store = pymd_storage::connect(&url, &options())
            .await
            .expect("open a fresh SQLite file");
        TestDb {
            store,
            url,
            backend: Backend::SqliteFile,
            _cleanup: Cleanup::Dir(dir),
        }
    }

    /// A store on a private in-memory SQLite database.
    pub async fn sqlite_memory() -> TestDb {
        let url = "sqlite::memory:".to_owned();
        let store = pymd_storage::connect(&url, &options())
            .await
            .expect("open an in-memory SQLite database");
        TestDb {
            store,
            url,
            backend: Backend::SqliteMemory,
            _cleanup: Cleanup::None,
        }
    }

    /// A store on a new PostgreSQL database, or `None` when `PYMD_TEST_DATABASE_URL` is unset.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var("PYMD_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let name = format!("pymd_t_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to PYMD_TEST_DATABASE_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        let cleanup = Cleanup::PgDatabase {
            admin_url: admin_url.clone(),
            name: name.clone(),
        };
        let mut url = url::Url::parse(&admin_url).expect("PYMD_TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        let store = pymd_storage::connect(&url, &options())
            .await
            .expect("connect to the test database");
        Some(TestDb {
            store,
            url,
            backend: Backend::Postgres,
            _cleanup: cleanup,
        })
    }

    /// Opens a second, independent store on the same database (running migrations again).
    pub async fn reopen(&self) -> Arc<dyn Store> {
        pymd_storage::connect(&self.url, &options())
            .await
            .expect("reopen the database")
    }

    /// Gives every document of `owner` the same `created_at` (raw SQL: the store always stamps
    /// the current time), to test ties.
    pub async fn set_all_created_at(&self, owner: Uuid, micros: i64) {
        match self.backend {
            Backend::SqliteFile => {
                let mut conn = self.raw_sqlite().await;
                sqlx::query(
                    "UPDATE documents SET created_at = $1, updated_at = $1 WHERE owner_id = $2",
                )
                .bind(micros)
                .bind(owner)
                .execute(&mut conn)
                .await
                .expect("set created_at");
            }
            Backend::Postgres => {
                let mut conn = self.raw_pg().await;
                let at = pymd_domain::paging::from_micros(micros);
                sqlx::query(
                    "UPDATE documents SET created_at = $1, updated_at = $1 WHERE owner_id = $2",
                )
                .bind(at)
                .bind(owner)
                .execute(&mut conn)
                .await
                .expect("set created_at");
            }
            Backend::SqliteMemory => panic!("an in-memory database has no second connection"),
        }
    }

    /// A raw connection to this SQLite file.
    pub async fn raw_sqlite(&self) -> sqlx::SqliteConnection {
        assert_eq!(self.backend, Backend::SqliteFile);
        sqlx::SqliteConnection::connect(&self.url)
            .await
            .expect("raw SQLite connection")
    }

    /// A raw connection to this PostgreSQL database.
    pub async fn raw_pg(&self) -> sqlx::PgConnection {
        assert_eq!(self.backend, Backend::Postgres);
        sqlx::PgConnection::connect(&self.url)
            .await
            .expect("raw PostgreSQL connection")
    }
}
