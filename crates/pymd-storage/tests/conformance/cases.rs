//! The conformance cases, each written once against `Arc<dyn Store>` (reached through a
//! [`TestDb`]) and run on every back end by the macro in `main.rs`.

use std::collections::HashSet;
use std::sync::Arc;

use pymd_domain::{
    Cursor, Document, DocumentDraft, DocumentId, DocumentSummary, PageRequest, ProfilePatch,
    SyncUser, User, UserId,
};
use pymd_storage::{AuditFilter, NewAuditEvent, Store, StoreError};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::harness::{Backend, TestDb};

// ---------------------------------------------------------------------------------------------
// helpers

fn draft(title: &str, content: &str) -> DocumentDraft {
    DocumentDraft::new(title, content.to_owned()).expect("a valid draft")
}

fn page(limit: u32, after: Option<Cursor>) -> PageRequest {
    PageRequest { limit, after }
}

async fn user(store: &Arc<dyn Store>, sub: &str) -> User {
    store.ensure_user(sub).await.expect("ensure_user")
}

async fn create_docs(store: &Arc<dyn Store>, owner: UserId, n: usize) -> Vec<Document> {
    let mut docs = Vec::with_capacity(n);
    for i in 0..n {
        docs.push(
            store
                .create_document(owner, &draft(&format!("doc {i}"), &format!("body {i}")))
                .await
                .expect("create_document"),
        );
    }
    docs
}

/// The order the API promises: newest first by `(created_at, id)`.
fn newest_first(mut docs: Vec<Document>) -> Vec<Document> {
    docs.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
    docs
}

/// Walks every page; returns the documents and the size of each page.
async fn walk_pages(
    store: &Arc<dyn Store>,
    owner: UserId,
    limit: u32,
) -> (Vec<DocumentSummary>, Vec<usize>) {
    let mut all = Vec::new();
    let mut sizes = Vec::new();
    let mut after = None;
    for _ in 0..10_000 {
        let p = store
            .list_documents(owner, page(limit, after))
            .await
            .expect("list_documents");
        sizes.push(p.documents.len());
        all.extend(p.documents);
        match p.next_cursor {
            Some(c) => after = Some(c),
            None => return (all, sizes),
        }
    }
    panic!("paging never ended");
}

fn ids(docs: &[Document]) -> Vec<DocumentId> {
    docs.iter().map(|d| d.id).collect()
}

fn listed_ids(docs: &[DocumentSummary]) -> Vec<DocumentId> {
    docs.iter().map(|d| d.id).collect()
}

fn audit(event: &str, outcome: &str, subject: Option<&str>, n: i64) -> NewAuditEvent {
    NewAuditEvent {
        event: event.to_owned(),
        outcome: outcome.to_owned(),
        subject: subject.map(str::to_owned),
        ip: Some("203.0.113.7".to_owned()),
        user_agent: Some("curl/8.5".to_owned()),
        request_id: Some(format!("req-{n}")),
        detail: json!({"n": n, "nested": {"list": [1, "two", null]}, "text": "é \"q\""}),
    }
}

fn filter(limit: u32) -> AuditFilter {
    AuditFilter {
        limit,
        ..AuditFilter::default()
    }
}

// ---------------------------------------------------------------------------------------------
// documents

pub async fn ping_answers(db: &TestDb) {
    db.store.ping().await.expect("ping");
}

pub async fn a_created_document_reads_back_identically_at_version_1(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let before = pymd_domain::now();
    let doc = db
        .store
        .create_document(alice.id, &draft("Notes", "# Hello\n\nworld"))
        .await
        .unwrap();
    let after = pymd_domain::now();
    assert_eq!(doc.version, 1);
    assert_eq!(doc.owner_id, alice.id);
    assert_eq!(doc.title, "Notes");
    assert_eq!(doc.content, "# Hello\n\nworld");
    assert_eq!(doc.created_at, doc.updated_at);
    assert!(before <= doc.created_at && doc.created_at <= after);
    assert_eq!(
        doc.created_at.microsecond() * 1000,
        doc.created_at.nanosecond()
    );
    assert_eq!(doc.created_at.offset(), time::UtcOffset::UTC);
    let read = db.store.get_document(doc.id).await.unwrap();
    assert_eq!(read, Some(doc));
}

pub async fn an_unknown_document_reads_as_none(db: &TestDb) {
    assert_eq!(
        db.store
            .get_document(DocumentId::new_random())
            .await
            .unwrap(),
        None
    );
}

pub async fn content_is_stored_byte_for_byte(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let tricky = "'; DROP TABLE documents; --\r\n\t\"quotes\" \\ backslash 🦀 é ü 中文 \u{200b}";
    let big = format!(
        "{tricky}{}",
        "x".repeat(pymd_domain::document::MAX_CONTENT_BYTES - tricky.len())
    );
    let doc = db
        .store
        .create_document(alice.id, &draft("Ünïcødé 🦀 '\"", &big))
        .await
        .unwrap();
    let read = db.store.get_document(doc.id).await.unwrap().unwrap();
    assert_eq!(read.content.len(), pymd_domain::document::MAX_CONTENT_BYTES);
    assert_eq!(read.content, big);
    assert_eq!(read.title, "Ünïcødé 🦀 '\"");
}

pub async fn listing_is_newest_first_and_only_shows_the_owners_documents(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let bob = user(&db.store, "auth0|bob").await;
    let alices = create_docs(&db.store, alice.id, 5).await;
    let bobs = create_docs(&db.store, bob.id, 2).await;

    let listed = db
        .store
        .list_documents(alice.id, page(50, None))
        .await
        .unwrap();
    assert_eq!(listed.next_cursor, None);
    assert_eq!(
        listed_ids(&listed.documents),
        ids(&newest_first(alices.clone()))
    );
    // Created one after the other, so the last created is listed first.
    assert_eq!(
        listed.documents.first().map(|d| d.id),
        alices.last().map(|d| d.id)
    );
    assert!(listed.documents.iter().all(|d| d.owner_id == alice.id));

    let listed = db
        .store
        .list_documents(bob.id, page(50, None))
        .await
        .unwrap();
    assert_eq!(listed_ids(&listed.documents), ids(&newest_first(bobs)));

    let nobody = UserId(Uuid::new_v4());
    let empty = db
        .store
        .list_documents(nobody, page(50, None))
        .await
        .unwrap();
    assert!(empty.documents.is_empty());
    assert_eq!(empty.next_cursor, None);
}

pub async fn paging_250_documents_by_100_has_no_duplicates_or_gaps(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let bob = user(&db.store, "auth0|bob").await;
    let created = create_docs(&db.store, alice.id, 250).await;
    create_docs(&db.store, bob.id, 3).await;

    let (all, sizes) = walk_pages(&db.store, alice.id, 100).await;
    assert_eq!(sizes, vec![100, 100, 50]);
    let unique: HashSet<_> = all.iter().map(|d| d.id).collect();
    assert_eq!(unique.len(), 250, "no duplicates");
    assert_eq!(
        listed_ids(&all),
        ids(&newest_first(created)),
        "no gaps, newest first"
    );
}

pub async fn a_page_that_ends_exactly_at_the_last_document_has_no_next_cursor(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    create_docs(&db.store, alice.id, 4).await;
    let first = db
        .store
        .list_documents(alice.id, page(2, None))
        .await
        .unwrap();
    assert_eq!(first.documents.len(), 2);
    let cursor = first.next_cursor.expect("a second page exists");
    let last = first.documents.last().unwrap();
    assert_eq!(cursor, Cursor::after(last.created_at, last.id.0));
    let second = db
        .store
        .list_documents(alice.id, page(2, Some(cursor)))
        .await
        .unwrap();
    assert_eq!(second.documents.len(), 2);
    assert_eq!(second.next_cursor, None);
}

pub async fn updating_replaces_title_and_content_and_bumps_the_version(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let doc = db
        .store
        .create_document(alice.id, &draft("v1", "one"))
        .await
        .unwrap();

    let v2 = db
        .store
        .update_document(doc.id, alice.id, &draft("v2", "two"), None)
        .await
        .unwrap();
    assert_eq!(
        (v2.version, v2.title.as_str(), v2.content.as_str()),
        (2, "v2", "two")
    );
    assert_eq!(v2.id, doc.id);
    assert_eq!(v2.owner_id, alice.id);
    assert_eq!(v2.created_at, doc.created_at);
    assert!(v2.updated_at >= doc.updated_at);

    let v3 = db
        .store
        .update_document(doc.id, alice.id, &draft("v3", "three"), Some(2))
        .await
        .unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(db.store.get_document(doc.id).await.unwrap(), Some(v3));
}

pub async fn a_stale_expected_version_conflicts_with_the_current_version_and_changes_nothing(
    db: &TestDb,
) {
    let alice = user(&db.store, "auth0|alice").await;
    let doc = db
        .store
        .create_document(alice.id, &draft("v1", "one"))
        .await
        .unwrap();
    let v2 = db
        .store
        .update_document(doc.id, alice.id, &draft("v2", "two"), Some(1))
        .await
        .unwrap();

    for stale in [1, 3, 0, -1] {
        let err = db
            .store
            .update_document(doc.id, alice.id, &draft("lost", "lost"), Some(stale))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::VersionConflict { current: 2 }),
            "expected {stale} → conflict at 2, got {err:?}"
        );
    }
    assert_eq!(db.store.get_document(doc.id).await.unwrap(), Some(v2));
}

pub async fn updating_an_unknown_document_is_not_found(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    for expected in [None, Some(1)] {
        let err = db
            .store
            .update_document(
                DocumentId::new_random(),
                alice.id,
                &draft("t", "c"),
                expected,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{expected:?}: {err:?}");
    }
}

pub async fn another_owners_document_cannot_be_updated_or_deleted_and_stays_identical(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let mallory = user(&db.store, "auth0|mallory").await;
    let doc = db
        .store
        .create_document(alice.id, &draft("mine", "secret"))
        .await
        .unwrap();

    for expected in [None, Some(1), Some(2)] {
        let err = db
            .store
            .update_document(doc.id, mallory.id, &draft("pwned", "pwned"), expected)
            .await
            .unwrap_err();
        // NotFound, never VersionConflict: the stranger learns nothing about the version.
        assert!(matches!(err, StoreError::NotFound), "{expected:?}: {err:?}");
    }
    assert!(!db.store.delete_document(doc.id, mallory.id).await.unwrap());
    assert_eq!(
        db.store.get_document(doc.id).await.unwrap(),
        Some(doc.clone())
    );
    let listed = db
        .store
        .list_documents(alice.id, page(10, None))
        .await
        .unwrap();
    assert_eq!(listed.documents, vec![DocumentSummary::of(&doc)]);
}

pub async fn deleting_removes_the_document_once(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let keep = db
        .store
        .create_document(alice.id, &draft("keep", "k"))
        .await
        .unwrap();
    let doc = db
        .store
        .create_document(alice.id, &draft("gone", "g"))
        .await
        .unwrap();
    assert!(db.store.delete_document(doc.id, alice.id).await.unwrap());
    assert_eq!(db.store.get_document(doc.id).await.unwrap(), None);
    assert!(!db.store.delete_document(doc.id, alice.id).await.unwrap());
    let err = db
        .store
        .update_document(doc.id, alice.id, &draft("back", "b"), Some(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let listed = db
        .store
        .list_documents(alice.id, page(10, None))
        .await
        .unwrap();
    assert_eq!(listed.documents, vec![DocumentSummary::of(&keep)]);
}

pub async fn concurrent_updates_with_the_same_expected_version_let_exactly_one_win(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let doc = db
        .store
        .create_document(alice.id, &draft("v1", "one"))
        .await
        .unwrap();

    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&db.store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .update_document(
                        doc.id,
                        alice.id,
                        &draft(&format!("writer {i}"), "x"),
                        Some(1),
                    )
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(d) => winners.push(d),
            Err(StoreError::VersionConflict { current }) => assert_eq!(current, 2),
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one update wins");
    assert_eq!(winners[0].version, 2);
    assert_eq!(
        db.store.get_document(doc.id).await.unwrap().as_ref(),
        winners.first()
    );
}

pub async fn concurrent_unconditional_updates_lose_no_increment(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let doc = db
        .store
        .create_document(alice.id, &draft("v1", "one"))
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&db.store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .update_document(doc.id, alice.id, &draft(&format!("w{i}"), "x"), None)
                    .await
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.expect("task").expect("update").version);
    }
    versions.sort_unstable();
    assert_eq!(versions, (2..=21).collect::<Vec<i64>>());
    assert_eq!(
        db.store
            .get_document(doc.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        21
    );
}

// ---------------------------------------------------------------------------------------------
// users

pub async fn upsert_user_is_idempotent_and_keeps_fields_that_are_none(db: &TestDb) {
    let full = SyncUser {
        auth0_id: "auth0|alice".into(),
        email: Some("alice@example.com".into()),
        name: Some("Alice".into()),
        picture: Some("https://example.com/a.png".into()),
        email_verified: Some(true),
    };
    let first = db.store.upsert_user(&full).await.unwrap();
    assert_eq!(first.auth0_id, "auth0|alice");
    assert_eq!(first.email.as_deref(), Some("alice@example.com"));
    assert_eq!(first.name.as_deref(), Some("Alice"));
    assert_eq!(first.picture.as_deref(), Some("https://example.com/a.png"));
    assert!(first.email_verified);
    assert_eq!(first.bio, None);
    assert_eq!(first.created_at, first.updated_at);

    let again = db.store.upsert_user(&full).await.unwrap();
    assert_eq!(again, first, "the same sync twice changes nothing");

    let with_bio = db
        .store
        .update_profile(
            first.id,
            &ProfilePatch {
                bio: Some("hello".into()),
                ..ProfilePatch::default()
            },
        )
        .await
        .unwrap();

    let partial = SyncUser {
        auth0_id: "auth0|alice".into(),
        name: Some("Alice B.".into()),
        ..SyncUser::default()
    };
    let third = db.store.upsert_user(&partial).await.unwrap();
    assert_eq!(third.id, first.id);
    assert_eq!(third.name.as_deref(), Some("Alice B."));
    assert_eq!(third.email, first.email);
    assert_eq!(third.picture, first.picture);
    assert!(third.email_verified);
    assert_eq!(third.bio.as_deref(), Some("hello"));
    assert_eq!(third.created_at, first.created_at);
    assert!(third.updated_at >= with_bio.updated_at);

    let unverify = SyncUser {
        auth0_id: "auth0|alice".into(),
        email_verified: Some(false),
        ..SyncUser::default()
    };
    assert!(
        !db.store
            .upsert_user(&unverify)
            .await
            .unwrap()
            .email_verified
    );

    assert_eq!(db.store.list_users(None, 100).await.unwrap().len(), 1);
    let found = db
        .store
        .find_user_by_auth0_id("auth0|alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, first.id);
    assert_eq!(
        db.store
            .find_user_by_auth0_id("auth0|nobody")
            .await
            .unwrap(),
        None
    );
}

pub async fn upsert_user_creates_a_user_with_email_unverified_by_default(db: &TestDb) {
    let u = db
        .store
        .upsert_user(&SyncUser {
            auth0_id: "google-oauth2|123".into(),
            ..SyncUser::default()
        })
        .await
        .unwrap();
    assert!(!u.email_verified);
    assert_eq!(
        (u.email, u.name, u.picture, u.bio),
        (None, None, None, None)
    );
}

pub async fn concurrent_upserts_of_one_new_subject_create_one_user(db: &TestDb) {
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&db.store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .upsert_user(&SyncUser {
                        auth0_id: "auth0|racer".into(),
                        name: Some(format!("racer {i}")),
                        ..SyncUser::default()
                    })
                    .await
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.expect("task").expect("upsert_user").id);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(db.store.list_users(None, 100).await.unwrap().len(), 1);
}

pub async fn concurrent_ensure_user_for_one_new_subject_creates_one_user(db: &TestDb) {
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&db.store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store.ensure_user("auth0|newcomer").await
            })
        })
        .collect();
    let mut users = Vec::new();
    for task in tasks {
        users.push(task.await.expect("task").expect("ensure_user"));
    }
    assert!(
        users.iter().all(|u| u == &users[0]),
        "every caller sees the same user"
    );
    assert_eq!(users[0].auth0_id, "auth0|newcomer");
    assert!(!users[0].email_verified);
    let all = db.store.list_users(None, 100).await.unwrap();
    assert_eq!(all, vec![users[0].clone()]);
}

pub async fn ensure_user_returns_an_existing_user_unchanged(db: &TestDb) {
    let synced = db
        .store
        .upsert_user(&SyncUser {
            auth0_id: "auth0|alice".into(),
            email: Some("alice@example.com".into()),
            email_verified: Some(true),
            ..SyncUser::default()
        })
        .await
        .unwrap();
    assert_eq!(db.store.ensure_user("auth0|alice").await.unwrap(), synced);
}

pub async fn update_profile_changes_only_the_given_fields(db: &TestDb) {
    let alice = db
        .store
        .upsert_user(&SyncUser {
            auth0_id: "auth0|alice".into(),
            email: Some("alice@example.com".into()),
            name: Some("Alice".into()),
            picture: Some("https://example.com/a.png".into()),
            email_verified: Some(true),
        })
        .await
        .unwrap();
    let named = db
        .store
        .update_profile(
            alice.id,
            &ProfilePatch {
                name: Some("Alice Liddell".into()),
                ..ProfilePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(named.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(named.picture, alice.picture);
    assert_eq!(named.bio, None);
    assert_eq!(named.email, alice.email);
    assert_eq!(named.created_at, alice.created_at);
    assert!(named.updated_at >= alice.updated_at);

    let bio = db
        .store
        .update_profile(
            alice.id,
            &ProfilePatch {
                bio: Some("line one\nline two".into()),
                picture: Some("https://example.com/b.png".into()),
                ..ProfilePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(bio.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(bio.picture.as_deref(), Some("https://example.com/b.png"));
    assert_eq!(bio.bio.as_deref(), Some("line one\nline two"));
    assert!(bio.updated_at >= named.updated_at);
    assert_eq!(
        db.store.find_user_by_auth0_id("auth0|alice").await.unwrap(),
        Some(bio)
    );
}

pub async fn update_profile_of_an_unknown_user_is_not_found(db: &TestDb) {
    let err = db
        .store
        .update_profile(
            UserId(Uuid::new_v4()),
            &ProfilePatch {
                name: Some("x".into()),
                ..ProfilePatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

pub async fn list_users_pages_by_id_without_duplicates(db: &TestDb) {
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(user(&db.store, &format!("auth0|user{i}")).await.id);
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let batch = db.store.list_users(after, 3).await.unwrap();
        assert!(batch.len() <= 3);
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        seen.extend(batch.iter().map(|u| u.id));
        assert!(seen.len() <= 7, "paging never ends");
    }
    let mut expected = created.clone();
    expected.sort();
    assert_eq!(seen, expected, "ascending ids, each once");
    assert_eq!(
        db.store.list_users(None, 0).await.unwrap().len(),
        1,
        "limit 0 is clamped to 1"
    );
}

// ---------------------------------------------------------------------------------------------
// audit

pub async fn audit_events_are_appended_and_listed_newest_first(db: &TestDb) {
    let before = pymd_domain::now();
    let recorded = [
        audit("login_success", "success", Some("auth0|alice"), 1),
        audit("login_failure", "failure", Some("auth0|bob"), 2),
        NewAuditEvent {
            ip: None,
            user_agent: None,
            request_id: None,
            detail: json!({}),
            ..audit("rate_limited", "failure", None, 3)
        },
    ];
    for e in &recorded {
        db.store.record_audit(e).await.unwrap();
    }
    let after = pymd_domain::now();
    let listed = db.store.list_audit(&filter(100)).await.unwrap();
    assert_eq!(listed.len(), 3);
    let events: Vec<_> = listed.iter().map(|e| e.event.clone()).collect();
    assert_eq!(events, recorded.iter().rev().cloned().collect::<Vec<_>>());
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].id > w[1].id && w[0].at >= w[1].at)
    );
    assert!(listed.iter().all(|e| before <= e.at && e.at <= after));
}

pub async fn audit_events_are_filtered_by_subject_event_time_and_id(db: &TestDb) {
    let recorded = [
        audit("login_success", "success", Some("auth0|alice"), 1),
        audit("login_failure", "failure", Some("auth0|bob"), 2),
        audit("profile_update", "success", Some("auth0|alice"), 3),
        audit("login_success", "success", Some("auth0|alice"), 4),
        audit("rate_limited", "failure", None, 5),
    ];
    for e in &recorded {
        db.store.record_audit(e).await.unwrap();
    }
    let all = db.store.list_audit(&filter(100)).await.unwrap();
    assert_eq!(all.len(), 5);
    // `all` is newest first: all[4] is event 1, all[0] is event 5.
    let n = |events: &[pymd_storage::AuditEvent]| -> Vec<i64> {
        events
            .iter()
            .map(|e| e.event.detail["n"].as_i64().unwrap_or(-1))
            .collect()
    };
    assert_eq!(n(&all), vec![5, 4, 3, 2, 1]);

    let by_subject = AuditFilter {
        subject: Some("auth0|alice".into()),
        ..filter(100)
    };
    assert_eq!(
        n(&db.store.list_audit(&by_subject).await.unwrap()),
        vec![4, 3, 1]
    );

    let by_event = AuditFilter {
        event: Some("login_success".into()),
        ..filter(100)
    };
    assert_eq!(
        n(&db.store.list_audit(&by_event).await.unwrap()),
        vec![4, 1]
    );

    let by_both = AuditFilter {
        subject: Some("auth0|bob".into()),
        event: Some("login_failure".into()),
        ..filter(100)
    };
    assert_eq!(n(&db.store.list_audit(&by_both).await.unwrap()), vec![2]);

    let unknown = AuditFilter {
        subject: Some("auth0|nobody".into()),
        ..filter(100)
    };
    assert!(db.store.list_audit(&unknown).await.unwrap().is_empty());

    let before_4 = AuditFilter {
        before_id: Some(all[1].id),
        ..filter(100)
    };
    assert_eq!(
        n(&db.store.list_audit(&before_4).await.unwrap()),
        vec![3, 2, 1]
    );

    let page = AuditFilter {
        subject: Some("auth0|alice".into()),
        before_id: Some(all[1].id),
        ..filter(1)
    };
    assert_eq!(n(&db.store.list_audit(&page).await.unwrap()), vec![3]);

    // Time bounds are inclusive.
    let since_3 = AuditFilter {
        since: Some(all[2].at),
        ..filter(100)
    };
    let got = db.store.list_audit(&since_3).await.unwrap();
    assert!(got.iter().all(|e| e.at >= all[2].at));
    assert!(n(&got).starts_with(&[5, 4, 3]));
    let until_2 = AuditFilter {
        until: Some(all[3].at),
        ..filter(100)
    };
    let got = db.store.list_audit(&until_2).await.unwrap();
    assert!(got.iter().all(|e| e.at <= all[3].at));
    assert!(n(&got).ends_with(&[2, 1]));
    let exactly = AuditFilter {
        since: Some(all[0].at),
        until: Some(all[0].at),
        ..filter(100)
    };
    assert!(n(&db.store.list_audit(&exactly).await.unwrap()).contains(&5));

    let future = AuditFilter {
        since: Some(OffsetDateTime::now_utc() + time::Duration::hours(1)),
        ..filter(100)
    };
    assert!(db.store.list_audit(&future).await.unwrap().is_empty());
    let past = AuditFilter {
        until: Some(OffsetDateTime::UNIX_EPOCH),
        ..filter(100)
    };
    assert!(db.store.list_audit(&past).await.unwrap().is_empty());
}

pub async fn audit_limit_is_clamped_to_1_through_1000(db: &TestDb) {
    for i in 0..1001 {
        db.store
            .record_audit(&audit("api_call", "success", Some("auth0|busy"), i))
            .await
            .unwrap();
    }
    assert_eq!(db.store.list_audit(&filter(0)).await.unwrap().len(), 1);
    assert_eq!(db.store.list_audit(&filter(7)).await.unwrap().len(), 7);
    let max = db.store.list_audit(&filter(u32::MAX)).await.unwrap();
    assert_eq!(max.len(), 1000);
    assert_eq!(max[0].event.detail["n"], 1000);
}

// ---------------------------------------------------------------------------------------------
// durable (reopen or raw SQL; not for the in-memory database)

pub async fn documents_created_in_the_same_microsecond_page_by_id(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let bob = user(&db.store, "auth0|bob").await;
    create_docs(&db.store, alice.id, 9).await;
    create_docs(&db.store, bob.id, 2).await;
    let instant = pymd_domain::paging::micros(pymd_domain::now());
    db.set_all_created_at(alice.id.0, instant).await;
    db.set_all_created_at(bob.id.0, instant).await;

    let (all, sizes) = walk_pages(&db.store, alice.id, 2).await;
    assert_eq!(sizes, vec![2, 2, 2, 2, 1]);
    assert!(
        all.iter()
            .all(|d| pymd_domain::paging::micros(d.created_at) == instant)
    );
    assert!(all.iter().all(|d| d.owner_id == alice.id));
    let mut expected: Vec<_> = all.iter().map(|d| d.id).collect();
    expected.sort_by(|a, b| b.cmp(a));
    expected.dedup();
    assert_eq!(
        listed_ids(&all),
        expected,
        "ties are ordered by id, descending, each once"
    );
}

pub async fn running_migrations_twice_is_a_no_op(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let doc = db
        .store
        .create_document(alice.id, &draft("kept", "k"))
        .await
        .unwrap();
    for _ in 0..2 {
        let again = db.reopen().await;
        assert_eq!(again.get_document(doc.id).await.unwrap(), Some(doc.clone()));
        assert_eq!(
            again.list_users(None, 10).await.unwrap(),
            vec![alice.clone()]
        );
    }
    pymd_storage::migrate(&db.url)
        .await
        .expect("pymd migrate on a migrated database");
    let no_migrate = pymd_storage::ConnectOptions {
        migrate: false,
        ..crate::harness::options()
    };
    let plain = pymd_storage::connect(&db.url, &no_migrate).await.unwrap();
    assert_eq!(plain.get_document(doc.id).await.unwrap(), Some(doc));
}

pub async fn data_survives_dropping_the_store_without_closing_it(db: &TestDb) {
    let writer = db.reopen().await;
    let alice = user(&writer, "auth0|alice").await;
    let doc = writer
        .create_document(alice.id, &draft("durable", "d"))
        .await
        .unwrap();
    let doc = writer
        .update_document(doc.id, alice.id, &draft("durable", "d2"), Some(1))
        .await
        .unwrap();
    writer
        .record_audit(&audit("login_success", "success", Some("auth0|alice"), 1))
        .await
        .unwrap();
    drop(writer);

    let reader = db.reopen().await;
    assert_eq!(reader.get_document(doc.id).await.unwrap(), Some(doc));
    assert_eq!(reader.list_audit(&filter(10)).await.unwrap().len(), 1);
}

pub async fn listing_documents_uses_the_keyset_index(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    create_docs(&db.store, alice.id, 20).await;
    match db.backend {
        Backend::SqliteFile => {
            use pymd_storage::sqlite::{LIST_DOCUMENTS_AFTER, LIST_DOCUMENTS_FIRST};
            let mut conn = db.raw_sqlite().await;
            let explain = |sql: &str| format!("EXPLAIN QUERY PLAN {sql}");
            let after: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(explain(LIST_DOCUMENTS_AFTER)))
                    .bind(alice.id.0)
                    .bind(i64::MAX)
                    .bind(Uuid::max())
                    .bind(101_i64)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let first: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(explain(LIST_DOCUMENTS_FIRST)))
                    .bind(alice.id.0)
                    .bind(101_i64)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let after: Vec<String> = after.into_iter().map(|r| r.3).collect();
            let first: Vec<String> = first.into_iter().map(|r| r.3).collect();
            assert!(
                after
                    .iter()
                    .any(|l| l.contains("USING INDEX documents_owner_created_id")
                        && l.contains("(created_at,id)<")),
                "{after:?}"
            );
            assert!(
                first
                    .iter()
                    .any(|l| l.contains("USING INDEX documents_owner_created_id")),
                "{first:?}"
            );
            for plan in [&after, &first] {
                assert!(
                    !plan.iter().any(|l| l.contains("TEMP B-TREE")),
                    "no sort: {plan:?}"
                );
            }
        }
        Backend::Postgres => {
            let mut conn = db.raw_pg().await;
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut conn)
                .await
                .unwrap();
            let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "EXPLAIN {}",
                pymd_storage::postgres::LIST_DOCUMENTS_AFTER
            )))
            .bind(alice.id.0)
            .bind(OffsetDateTime::now_utc())
            .bind(Uuid::max())
            .bind(101_i64)
            .fetch_all(&mut conn)
            .await
            .unwrap();
            assert!(
                plan.iter()
                    .any(|l| l.contains("documents_owner_created_id")),
                "{plan:?}"
            );
            assert!(
                plan.iter()
                    .any(|l| l.contains("Index Cond") && l.contains("ROW(created_at, id)")),
                "the keyset bound is an index condition: {plan:?}"
            );
            assert!(
                !plan.iter().any(|l| l.contains("Sort")),
                "no sort: {plan:?}"
            );
        }
        Backend::SqliteMemory => unreachable!("durable cases do not run in memory"),
    }
}

pub async fn audit_events_cannot_be_changed_or_deleted(db: &TestDb) {
    db.store
        .record_audit(&audit("login_success", "success", Some("auth0|alice"), 1))
        .await
        .unwrap();
    let before = db.store.list_audit(&filter(10)).await.unwrap();
    match db.backend {
        Backend::SqliteFile => {
            let mut conn = db.raw_sqlite().await;
            assert!(
                sqlx::query("UPDATE audit_events SET outcome = 'failure'")
                    .execute(&mut conn)
                    .await
                    .is_err()
            );
            assert!(
                sqlx::query("DELETE FROM audit_events")
                    .execute(&mut conn)
                    .await
                    .is_err()
            );
        }
        Backend::Postgres => {
            let mut conn = db.raw_pg().await;
            assert!(
                sqlx::query("UPDATE audit_events SET outcome = 'failure'")
                    .execute(&mut conn)
                    .await
                    .is_err()
            );
            assert!(
                sqlx::query("DELETE FROM audit_events")
                    .execute(&mut conn)
                    .await
                    .is_err()
            );
        }
        Backend::SqliteMemory => unreachable!("durable cases do not run in memory"),
    }
    assert_eq!(db.store.list_audit(&filter(10)).await.unwrap(), before);
}

pub async fn a_list_carries_a_short_excerpt_not_the_content(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    // A document of almost 1 MiB whose text starts after some markup.
    let body = format!("# Big\n\n*First* words. {}", "word ".repeat(200_000));
    let big = db
        .store
        .create_document(alice.id, &draft("Big", &body))
        .await
        .expect("create");
    let small = db
        .store
        .create_document(alice.id, &draft("Small", "Just **this**."))
        .await
        .expect("create");
    let listed = db
        .store
        .list_documents(alice.id, page(10, None))
        .await
        .expect("list");
    assert_eq!(listed.documents.len(), 2);
    let by_id = |id| {
        listed
            .documents
            .iter()
            .find(|d| d.id == id)
            .expect("listed")
    };
    assert_eq!(by_id(small.id), &DocumentSummary::of(&small));
    assert_eq!(by_id(small.id).excerpt, "Just this.");
    let excerpt = &by_id(big.id).excerpt;
    assert!(
        excerpt.starts_with("Big First words. word word"),
        "{excerpt}"
    );
    assert_eq!(
        excerpt.chars().count(),
        pymd_domain::document::EXCERPT_CHARS
    );
    assert!(excerpt.ends_with('…'));
    assert_eq!(
        by_id(big.id),
        &DocumentSummary::of(&big),
        "the same as from the whole content"
    );
}

pub async fn a_listed_excerpt_follows_each_new_version(db: &TestDb) {
    let alice = user(&db.store, "auth0|alice").await;
    let doc = db
        .store
        .create_document(alice.id, &draft("Notes", "The *first* text."))
        .await
        .expect("create");
    let excerpt_now = || async {
        let listed = db
            .store
            .list_documents(alice.id, page(10, None))
            .await
            .expect("list");
        listed.documents[0].excerpt.clone()
    };
    assert_eq!(excerpt_now().await, "The first text.");
    // Listed twice: the second answer may be remembered, and must still be this version's.
    assert_eq!(excerpt_now().await, "The first text.");
    let updated = db
        .store
        .update_document(
            doc.id,
            alice.id,
            &draft("Notes", "A **second** text."),
            Some(1),
        )
        .await
        .expect("update");
    assert_eq!(updated.version, 2);
    assert_eq!(excerpt_now().await, "A second text.");
}
