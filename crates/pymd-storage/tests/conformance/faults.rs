//! Faults and configuration errors that need no particular back end running: an unreachable
//! PostgreSQL, a bad URL, a SQLite path that cannot be created, a closed pool.

use std::time::Duration;

use pymd_domain::DocumentDraft;
use pymd_storage::sqlite::SqliteStore;
use pymd_storage::{ConnectOptions, Store, StoreError};

fn fast() -> ConnectOptions {
    ConnectOptions {
        migrate: true,
        max_connections: 2,
        acquire_timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn a_postgres_on_a_closed_port_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("postgres://postgres@127.0.0.1:{port}/pymd");
    let started = std::time::Instant::now();
    let err = pymd_storage::connect(&url, &fast())
        .await
        .err()
        .expect("must fail");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "fails within the acquire timeout"
    );
}

#[tokio::test]
async fn an_unsupported_database_url_is_a_config_error() {
    for url in ["mysql://root@127.0.0.1/pymd", "", "pymd.db"] {
        let err = pymd_storage::connect(url, &fast())
            .await
            .err()
            .expect("must fail");
        assert!(matches!(err, StoreError::Config(_)), "{url}: {err:?}");
    }
}

#[tokio::test]
async fn a_sqlite_path_below_a_regular_file_is_unavailable() {
    let file = std::env::temp_dir().join(format!(
        "pymd-storage-file-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&file, b"not a directory").expect("write");
    let url = format!("sqlite://{}/sub/pymd.db", file.display());
    let err = pymd_storage::connect(&url, &fast())
        .await
        .err()
        .expect("must fail");
    let _ = std::fs::remove_file(&file);
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn two_in_memory_stores_do_not_share_data() {
    let a = pymd_storage::connect("sqlite::memory:", &fast())
        .await
        .unwrap();
    let b = pymd_storage::connect("sqlite::memory:", &fast())
        .await
        .unwrap();
    a.ensure_user("auth0|alice").await.unwrap();
    assert_eq!(a.list_users(None, 10).await.unwrap().len(), 1);
    assert!(b.list_users(None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_closed_store_is_unavailable() {
    let store = SqliteStore::connect("sqlite::memory:", &fast())
        .await
        .unwrap();
    let alice = store.ensure_user("auth0|alice").await.unwrap();
    store.close().await;
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    let draft = DocumentDraft::new("t", String::new()).unwrap();
    let err = store.create_document(alice.id, &draft).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_postgres_database_that_does_not_exist_is_a_config_error() {
    let Some(admin) = std::env::var("PYMD_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "skipped faults::a_postgres_database_that_does_not_exist_is_a_config_error: PYMD_TEST_DATABASE_URL is not set"
        );
        return;
    };
    let mut url = url::Url::parse(&admin).expect("PYMD_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/pymd_missing_{}", uuid::Uuid::new_v4().simple()));
    let err = pymd_storage::connect(url.as_str(), &fast())
        .await
        .err()
        .expect("must fail");
    assert!(matches!(err, StoreError::Config(_)), "{err:?}");
}
