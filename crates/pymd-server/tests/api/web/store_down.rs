//! With the database unreachable, a request that carries a session cookie fails with 503: it is
//! never served as signed out (or as anyone). Requests without a cookie need no database.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pymd_domain::{
    Document, DocumentDraft, DocumentId, PageRequest, ProfilePatch, SyncUser, User, UserId,
};
use pymd_storage::{
    AuditEvent, AuditFilter, DocumentPage, NewAuditEvent, NewSession, Session, Store, StoreError,
};
use reqwest::StatusCode;
use time::OffsetDateTime;

use crate::web::harness::Browser;

/// The boxed future `#[async_trait]` methods return.
type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

fn down<'a, T: 'a>() -> Fut<'a, T> {
    Box::pin(async { Err(StoreError::Unavailable("test: the database is down".into())) })
}

/// A store whose database is always unreachable.
struct DownStore;

// `Store` is an `#[async_trait]` trait; the methods are written out in its expanded form.
impl Store for DownStore {
    fn ping<'l0, 'at>(&'l0 self) -> Fut<'at, ()>
    where
        'l0: 'at,
        Self: 'at,
    {
        down()
    }
    fn upsert_user<'l0, 'l1, 'at>(&'l0 self, _: &'l1 SyncUser) -> Fut<'at, User>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn ensure_user<'l0, 'l1, 'at>(&'l0 self, _: &'l1 str) -> Fut<'at, User>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn find_user_by_auth0_id<'l0, 'l1, 'at>(&'l0 self, _: &'l1 str) -> Fut<'at, Option<User>>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn update_profile<'l0, 'l1, 'at>(&'l0 self, _: UserId, _: &'l1 ProfilePatch) -> Fut<'at, User>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn list_users<'l0, 'at>(&'l0 self, _: Option<UserId>, _: u32) -> Fut<'at, Vec<User>>
    where
        'l0: 'at,
        Self: 'at,
    {
        down()
    }
    fn create_document<'l0, 'l1, 'at>(
        &'l0 self,
        _: UserId,
        _: &'l1 DocumentDraft,
    ) -> Fut<'at, Document>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn get_document<'l0, 'at>(&'l0 self, _: DocumentId) -> Fut<'at, Option<Document>>
    where
        'l0: 'at,
        Self: 'at,
    {
        down()
    }
    fn list_documents<'l0, 'at>(&'l0 self, _: UserId, _: PageRequest) -> Fut<'at, DocumentPage>
    where
        'l0: 'at,
        Self: 'at,
    {
        down()
    }
    fn update_document<'l0, 'l1, 'at>(
        &'l0 self,
        _: DocumentId,
        _: UserId,
        _: &'l1 DocumentDraft,
        _: Option<i64>,
    ) -> Fut<'at, Document>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn delete_document<'l0, 'at>(&'l0 self, _: DocumentId, _: UserId) -> Fut<'at, bool>
    where
        'l0: 'at,
        Self: 'at,
    {
        down()
    }
    fn record_audit<'l0, 'l1, 'at>(&'l0 self, _: &'l1 NewAuditEvent) -> Fut<'at, ()>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn list_audit<'l0, 'l1, 'at>(&'l0 self, _: &'l1 AuditFilter) -> Fut<'at, Vec<AuditEvent>>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn create_session<'l0, 'l1, 'at>(&'l0 self, _: &'l1 NewSession) -> Fut<'at, ()>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn find_session<'l0, 'l1, 'at>(&'l0 self, _: &'l1 [u8]) -> Fut<'at, Option<Session>>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn touch_session<'l0, 'l1, 'at>(&'l0 self, _: &'l1 [u8], _: OffsetDateTime) -> Fut<'at, bool>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn delete_session<'l0, 'l1, 'at>(&'l0 self, _: &'l1 [u8]) -> Fut<'at, bool>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        down()
    }
    fn delete_expired_sessions<'l0, 'at>(&'l0 self, _: OffsetDateTime) -> Fut<'at, u64>
    where
        'l0: 'at,
        Self: 'at,
    {
        down()
    }
    fn count_active_sessions<'l0, 'at>(&'l0 self, _: OffsetDateTime) -> Fut<'at, u64>
    where
        'l0: 'at,
        Self: 'at,
    {
        down()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_a_session_cookie_gets_503_never_anonymous() {
    let env = crate::web::harness::Env::start_with(|state| state.store = Arc::new(DownStore)).await;
    let cookie = URL_SAFE_NO_PAD.encode([9u8; 32]);

    // Without a cookie nothing needs the database.
    let mut anon = Browser::new();
    let home = anon.get(&format!("{}/", env.app)).await;
    assert_eq!(home.status, StatusCode::OK);
    let dash = anon.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(dash.status, StatusCode::FOUND);

    let mut b = Browser::new();
    b.set("pymd_session", &cookie);
    for path in [
        "/",
        "/dashboard",
        "/documents/00000000-0000-0000-0000-000000000000",
    ] {
        let p = b.get(&format!("{}{path}", env.app)).await;
        assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            p.body.contains("Temporarily unavailable"),
            "{path}: {}",
            p.body
        );
        assert!(
            !p.body.contains("Sign in to see your documents"),
            "never shown as signed out"
        );
        assert!(p.headers.get("retry-after").is_some(), "{path}");
    }
    let p = b.get(&format!("{}/auth/profile", env.app)).await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
    let v: serde_json::Value = serde_json::from_str(&p.body).expect("JSON");
    assert_eq!(v["error"], "upstream_unavailable");
}
