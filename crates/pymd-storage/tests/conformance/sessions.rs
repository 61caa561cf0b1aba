//! Conformance cases for web sessions (spec §5): stored by the SHA-256 hash of their id, with
//! idle and absolute expiry, touched without ever moving back, swept and counted in SQL. Each case
//! runs on a SQLite file, an in-memory SQLite database and (with `PYMD_TEST_DATABASE_URL`)
//! PostgreSQL, like the rest of the suite.

use std::sync::Arc;

use pymd_domain::{User, UserId};
use pymd_storage::{NewSession, SESSION_HASH_LEN, SessionRefresh, Store, StoreError};
use time::{Duration, OffsetDateTime};

use crate::harness::TestDb;

/// One `#[tokio::test]` per case and back end.
macro_rules! session_tests {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = crate::harness::TestDb::sqlite_file().await;
                    super::$case(&db).await;
                }
            )*
        }
        mod sqlite_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = crate::harness::TestDb::sqlite_memory().await;
                    super::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(db) = crate::harness::TestDb::postgres().await else {
                        eprintln!(
                            "skipped postgres::{}: PYMD_TEST_DATABASE_URL is not set",
                            stringify!($case)
                        );
                        return;
                    };
                    super::$case(&db).await;
                }
            )*
        }
    };
}

session_tests![
    a_created_session_reads_back_identically,
    an_unknown_session_is_none_and_a_malformed_hash_is_refused,
    a_second_session_with_the_same_hash_is_refused_and_the_first_is_unchanged,
    touching_moves_last_seen_forward_only_and_never_the_absolute_expiry,
    deleting_a_session_removes_it_once,
    a_back_channel_logout_deletes_by_sid_by_sid_and_subject_or_by_subject,
    expired_sessions_are_swept_and_live_ones_counted,
    a_session_for_an_unknown_user_is_refused,
    of_twenty_concurrent_refresh_locks_exactly_one_wins,
    a_released_or_run_out_refresh_lease_can_be_taken_again,
    completing_a_refresh_is_a_compare_and_swap_on_the_old_expiry,
    refresh_locking_a_malformed_or_unknown_session_is_refused_or_false,
];

// ---------------------------------------------------------------------------------------------
// helpers

fn hash(tag: u8) -> Vec<u8> {
    let mut h = vec![0xA5; SESSION_HASH_LEN];
    h[0] = tag;
    h[SESSION_HASH_LEN - 1] = tag.wrapping_mul(7);
    h
}

async fn user(store: &Arc<dyn Store>, sub: &str) -> User {
    store.ensure_user(sub).await.expect("ensure_user")
}

fn session(tag: u8, user: UserId, created_at: OffsetDateTime) -> NewSession {
    NewSession {
        id_hash: hash(tag),
        user_id: user,
        subject: format!("auth0|session-{tag}"),
        idp_sid: Some(format!("sid-{tag}")),
        access_token: vec![1, 2, 3, tag, 0, 255],
        refresh_token: Some(vec![9, 8, 7, tag]),
        id_token: None,
        access_token_expires_at: created_at + Duration::hours(24),
        created_at,
        idle_timeout_secs: 86_400,
        expires_at: created_at + Duration::days(7),
    }
}

// ---------------------------------------------------------------------------------------------
// cases

pub async fn a_created_session_reads_back_identically(db: &TestDb) {
    let store = &db.store;
    let u = user(store, "auth0|s1").await;
    let now = pymd_domain::now();
    let new = session(1, u.id, now);
    store.create_session(&new).await.expect("create_session");
    let got = store
        .find_session(&new.id_hash)
        .await
        .expect("find_session")
        .expect("the session exists");
    assert_eq!(got.id_hash, new.id_hash);
    assert_eq!(got.user_id, u.id);
    assert_eq!(got.subject, new.subject);
    assert_eq!(got.idp_sid, new.idp_sid);
    assert_eq!(got.access_token, new.access_token);
    assert_eq!(got.refresh_token, new.refresh_token);
    assert_eq!(got.id_token, None);
    assert_eq!(got.access_token_expires_at, new.access_token_expires_at);
    assert_eq!(got.created_at, now);
    assert_eq!(got.last_seen_at, now, "last_seen_at starts at created_at");
    assert_eq!(got.idle_timeout_secs, 86_400);
    assert_eq!(got.expires_at, new.expires_at);
    assert!(!got.is_expired(now));
    assert_eq!(got.idle_expires_at(), now + Duration::days(1));
}

pub async fn an_unknown_session_is_none_and_a_malformed_hash_is_refused(db: &TestDb) {
    let store = &db.store;
    assert!(store.find_session(&hash(42)).await.expect("find").is_none());
    assert!(
        !store
            .touch_session(&hash(42), pymd_domain::now())
            .await
            .expect("touch")
    );
    assert!(!store.delete_session(&hash(42)).await.expect("delete"));
    for bad in [vec![], vec![0u8; 16], vec![0u8; 33]] {
        assert!(
            matches!(store.find_session(&bad).await, Err(StoreError::Internal(_))),
            "{} bytes",
            bad.len()
        );
        let u = user(store, "auth0|bad-hash").await;
        let mut s = session(3, u.id, pymd_domain::now());
        s.id_hash = bad;
        assert!(matches!(
            store.create_session(&s).await,
            Err(StoreError::Internal(_))
        ));
    }
    let u = user(store, "auth0|bad-idle").await;
    let mut s = session(4, u.id, pymd_domain::now());
    s.idle_timeout_secs = 0;
    assert!(matches!(
        store.create_session(&s).await,
        Err(StoreError::Internal(_))
    ));
    assert!(store.find_session(&hash(4)).await.expect("find").is_none());
}

pub async fn a_second_session_with_the_same_hash_is_refused_and_the_first_is_unchanged(
    db: &TestDb,
) {
    let store = &db.store;
    let alice = user(store, "auth0|alice-s").await;
    let mallory = user(store, "auth0|mallory-s").await;
    let now = pymd_domain::now();
    let first = session(5, alice.id, now);
    store.create_session(&first).await.expect("create");
    let mut second = session(5, mallory.id, now + Duration::seconds(1));
    second.subject = "auth0|mallory-s".into();
    let err = store
        .create_session(&second)
        .await
        .expect_err("a reused hash must be refused");
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
    let got = store
        .find_session(&first.id_hash)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(got.user_id, alice.id);
    assert_eq!(got.subject, first.subject);
    assert_eq!(got.created_at, now);
}

pub async fn touching_moves_last_seen_forward_only_and_never_the_absolute_expiry(db: &TestDb) {
    let store = &db.store;
    let u = user(store, "auth0|touch").await;
    let start = pymd_domain::now() - Duration::hours(2);
    let new = session(6, u.id, start);
    store.create_session(&new).await.expect("create");

    let later = start + Duration::minutes(90);
    assert!(
        store
            .touch_session(&new.id_hash, later)
            .await
            .expect("touch")
    );
    let got = store
        .find_session(&new.id_hash)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(got.last_seen_at, later);
    assert_eq!(
        got.expires_at, new.expires_at,
        "touch never extends the absolute lifetime"
    );
    assert_eq!(got.created_at, start);

    // An older timestamp (a slow request finishing late) does not move it back.
    assert!(
        store
            .touch_session(&new.id_hash, start + Duration::minutes(10))
            .await
            .expect("touch")
    );
    let got = store
        .find_session(&new.id_hash)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(got.last_seen_at, later);
}

pub async fn deleting_a_session_removes_it_once(db: &TestDb) {
    let store = &db.store;
    let u = user(store, "auth0|delete").await;
    let new = session(7, u.id, pymd_domain::now());
    let other = session(8, u.id, pymd_domain::now());
    store.create_session(&new).await.expect("create");
    store.create_session(&other).await.expect("create other");
    assert!(store.delete_session(&new.id_hash).await.expect("delete"));
    assert!(
        !store
            .delete_session(&new.id_hash)
            .await
            .expect("delete again")
    );
    assert!(
        store
            .find_session(&new.id_hash)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .find_session(&other.id_hash)
            .await
            .expect("find")
            .is_some(),
        "only the named session is deleted"
    );
}

pub async fn a_back_channel_logout_deletes_by_sid_by_sid_and_subject_or_by_subject(db: &TestDb) {
    let store = &db.store;
    let u = user(store, "auth0|bcl").await;
    let now = pymd_domain::now();
    let mk = |tag: u8, sub: &str, sid: Option<&str>| {
        let mut s = session(tag, u.id, now);
        s.subject = sub.to_owned();
        s.idp_sid = sid.map(str::to_owned);
        s
    };
    // Two browsers in IdP session A, one in B, one without a sid, one of another subject in A.
    let a1 = mk(20, "auth0|bcl", Some("sid-A"));
    let a2 = mk(21, "auth0|bcl", Some("sid-A"));
    let b = mk(22, "auth0|bcl", Some("sid-B"));
    let none = mk(23, "auth0|bcl", None);
    let other = mk(24, "auth0|other", Some("sid-A"));
    for s in [&a1, &a2, &b, &none, &other] {
        store.create_session(s).await.expect("create");
    }
    let alive = |h: Vec<u8>| async move { store.find_session(&h).await.expect("find").is_some() };

    assert_eq!(
        store
            .delete_sessions_by_idp(None, None)
            .await
            .expect("none"),
        0
    );
    assert_eq!(
        store
            .delete_sessions_by_idp(Some("sid-Z"), None)
            .await
            .expect("unknown sid"),
        0
    );
    // sid and sub together: only that subject's sessions of that sid.
    assert_eq!(
        store
            .delete_sessions_by_idp(Some("sid-A"), Some("auth0|bcl"))
            .await
            .expect("sid+sub"),
        2
    );
    assert!(!alive(a1.id_hash.clone()).await && !alive(a2.id_hash.clone()).await);
    assert!(
        alive(other.id_hash.clone()).await,
        "another subject's session in sid-A stays"
    );
    assert!(alive(b.id_hash.clone()).await && alive(none.id_hash.clone()).await);
    // sid alone.
    assert_eq!(
        store
            .delete_sessions_by_idp(Some("sid-A"), None)
            .await
            .expect("sid"),
        1
    );
    assert!(!alive(other.id_hash.clone()).await);
    // sub alone: every remaining session of the subject, with or without a sid.
    assert_eq!(
        store
            .delete_sessions_by_idp(None, Some("auth0|bcl"))
            .await
            .expect("sub"),
        2
    );
    assert!(!alive(b.id_hash.clone()).await && !alive(none.id_hash.clone()).await);
    assert_eq!(
        store
            .delete_sessions_by_idp(None, Some("auth0|bcl"))
            .await
            .expect("again"),
        0
    );
}

pub async fn expired_sessions_are_swept_and_live_ones_counted(db: &TestDb) {
    let store = &db.store;
    let u = user(store, "auth0|sweep").await;
    let now = pymd_domain::now();
    // Live: created an hour ago, seen a minute ago.
    let live = session(10, u.id, now - Duration::hours(1));
    store.create_session(&live).await.expect("create live");
    store
        .touch_session(&live.id_hash, now - Duration::minutes(1))
        .await
        .expect("touch");
    // Idle-expired: last seen 25 hours ago, absolute lifetime not reached.
    let idle = session(11, u.id, now - Duration::hours(25));
    store.create_session(&idle).await.expect("create idle");
    // Absolute-expired despite activity a second ago.
    let mut old = session(12, u.id, now - Duration::days(8));
    old.expires_at = now - Duration::days(1);
    store.create_session(&old).await.expect("create old");
    store
        .touch_session(&old.id_hash, now - Duration::seconds(1))
        .await
        .expect("touch old");
    // Expires exactly now: already over.
    let mut edge = session(13, u.id, now - Duration::hours(2));
    edge.expires_at = now;
    store.create_session(&edge).await.expect("create edge");

    for (h, expired) in [
        (&idle.id_hash, true),
        (&old.id_hash, true),
        (&edge.id_hash, true),
        (&live.id_hash, false),
    ] {
        let s = store
            .find_session(h)
            .await
            .expect("find")
            .expect("exists before the sweep");
        assert_eq!(s.is_expired(now), expired, "tag {}", h[0]);
    }

    assert_eq!(store.count_active_sessions(now).await.expect("count"), 1);
    assert_eq!(store.delete_expired_sessions(now).await.expect("sweep"), 3);
    assert_eq!(
        store
            .delete_expired_sessions(now)
            .await
            .expect("sweep again"),
        0
    );
    assert!(
        store
            .find_session(&live.id_hash)
            .await
            .expect("find")
            .is_some()
    );
    for h in [&idle.id_hash, &old.id_hash, &edge.id_hash] {
        assert!(
            store.find_session(h).await.expect("find").is_none(),
            "tag {}",
            h[0]
        );
    }
    assert_eq!(store.count_active_sessions(now).await.expect("count"), 1);
    // A day after its last activity, the live one is idle too.
    let tomorrow = now + Duration::days(1);
    assert_eq!(
        store.count_active_sessions(tomorrow).await.expect("count"),
        0
    );
    assert_eq!(
        store
            .delete_expired_sessions(tomorrow)
            .await
            .expect("sweep"),
        1
    );
}

pub async fn a_session_for_an_unknown_user_is_refused(db: &TestDb) {
    // The foreign key holds: a session always belongs to a stored user.
    let store = &db.store;
    let ghost = UserId::new_random();
    let err = store
        .create_session(&session(20, ghost, pymd_domain::now()))
        .await
        .expect_err("a session needs an existing user");
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
    assert!(store.find_session(&hash(20)).await.expect("find").is_none());
}

pub async fn of_twenty_concurrent_refresh_locks_exactly_one_wins(db: &TestDb) {
    let store = &db.store;
    let u = user(store, "auth0|lock-race").await;
    let now = pymd_domain::now();
    let new = session(30, u.id, now);
    store.create_session(&new).await.expect("create");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(store);
        let hash = new.id_hash.clone();
        tasks.push(tokio::spawn(async move {
            store
                .try_lock_session_refresh(&hash, Duration::seconds(10))
                .await
                .expect("try_lock_session_refresh")
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        if let Some(until) = t.await.expect("task") {
            won.push(until);
        }
    }
    assert_eq!(won.len(), 1, "exactly one caller takes the lease: {won:?}");
    let got = store
        .find_session(&new.id_hash)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(
        got.refresh_lock_until,
        Some(won[0]),
        "the lease end as stored"
    );
    // Ten seconds on the database's clock, which is the host's here (within a minute of it, to
    // allow for a slow machine without letting a wrong unit through).
    let ahead = won[0] - pymd_domain::now();
    assert!(
        ahead > Duration::seconds(8) && ahead <= Duration::seconds(10),
        "lease ends {ahead} from now"
    );
    assert_eq!(
        got.access_token, new.access_token,
        "locking changes no token"
    );
    // Still held.
    assert_eq!(
        store
            .try_lock_session_refresh(&new.id_hash, Duration::seconds(10))
            .await
            .expect("lock"),
        None
    );
}

pub async fn a_released_or_run_out_refresh_lease_can_be_taken_again(db: &TestDb) {
    let store = &db.store;
    let u = user(store, "auth0|lock-expiry").await;
    let now = pymd_domain::now();
    let new = session(31, u.id, now);
    store.create_session(&new).await.expect("create");
    let hash = &new.id_hash;
    // A holder whose lease has run out (it crashed): the next caller takes it over.
    let crashed = store
        .try_lock_session_refresh(hash, Duration::ZERO)
        .await
        .expect("lock")
        .expect("a free lease is taken");
    let holder = store
        .try_lock_session_refresh(hash, Duration::seconds(10))
        .await
        .expect("take over a run-out lease")
        .expect("a run-out lease is taken over");
    assert!(holder > crashed);
    assert_eq!(
        store
            .try_lock_session_refresh(hash, Duration::seconds(10))
            .await
            .expect("lock"),
        None
    );
    // The crashed holder comes back and releases "its" lease: the new holder's lease stays.
    assert!(
        !store
            .release_session_refresh(hash, crashed)
            .await
            .expect("release a lease run out")
    );
    assert_eq!(
        store
            .try_lock_session_refresh(hash, Duration::seconds(10))
            .await
            .expect("still held"),
        None
    );
    // Released by its holder: free again at once.
    assert!(
        store
            .release_session_refresh(hash, holder)
            .await
            .expect("release")
    );
    let got = store
        .find_session(hash)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(got.refresh_lock_until, None);
    assert!(
        store
            .try_lock_session_refresh(hash, Duration::seconds(5))
            .await
            .expect("lock after release")
            .is_some()
    );
}

pub async fn completing_a_refresh_is_a_compare_and_swap_on_the_old_expiry(db: &TestDb) {
    let store = &db.store;
    let u = user(store, "auth0|cas").await;
    let now = pymd_domain::now();
    let new = session(32, u.id, now);
    store.create_session(&new).await.expect("create");
    let hash = &new.id_hash;
    let lease = store
        .try_lock_session_refresh(hash, Duration::seconds(10))
        .await
        .expect("lock")
        .expect("a free lease is taken");
    let first = SessionRefresh {
        access_token: vec![0xAA, 1],
        refresh_token: Some(vec![0xBB, 1]),
        id_token: Some(vec![0xCC, 1]),
        access_token_expires_at: now + Duration::hours(10),
    };
    // A stale expected expiry changes nothing, not even the lease.
    let stale = new.access_token_expires_at - Duration::seconds(1);
    assert!(
        !store
            .complete_session_refresh(hash, &first, stale)
            .await
            .expect("complete with a stale expectation")
    );
    let got = store
        .find_session(hash)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(got.access_token, new.access_token);
    assert_eq!(got.refresh_token, new.refresh_token);
    assert_eq!(got.id_token, new.id_token);
    assert_eq!(got.access_token_expires_at, new.access_token_expires_at);
    assert_eq!(got.refresh_lock_until, Some(lease));

    // The right one stores every token and clears the lease.
    assert!(
        store
            .complete_session_refresh(hash, &first, new.access_token_expires_at)
            .await
            .expect("complete")
    );
    let got = store
        .find_session(hash)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(got.access_token, first.access_token);
    assert_eq!(got.refresh_token, first.refresh_token);
    assert_eq!(got.id_token, first.id_token);
    assert_eq!(got.access_token_expires_at, first.access_token_expires_at);
    assert_eq!(got.refresh_lock_until, None);
    assert_eq!(got.created_at, new.created_at);
    assert_eq!(
        got.expires_at, new.expires_at,
        "the session's lifetime is unchanged"
    );

    // Replaying the same completion is now stale.
    assert!(
        !store
            .complete_session_refresh(hash, &first, new.access_token_expires_at)
            .await
            .expect("replay")
    );
    // Without a new refresh or ID token (an IdP that does not rotate), the stored ones stay.
    let second = SessionRefresh {
        access_token: vec![0xAA, 2],
        refresh_token: None,
        id_token: None,
        access_token_expires_at: now + Duration::hours(20),
    };
    assert!(
        store
            .complete_session_refresh(hash, &second, first.access_token_expires_at)
            .await
            .expect("complete")
    );
    let got = store
        .find_session(hash)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(got.access_token, second.access_token);
    assert_eq!(got.refresh_token, first.refresh_token);
    assert_eq!(got.id_token, first.id_token);
    assert_eq!(got.access_token_expires_at, second.access_token_expires_at);
}

pub async fn refresh_locking_a_malformed_or_unknown_session_is_refused_or_false(db: &TestDb) {
    let store = &db.store;
    let now = pymd_domain::now();
    let until = now + Duration::seconds(10);
    assert_eq!(
        store
            .try_lock_session_refresh(&hash(33), Duration::seconds(10))
            .await
            .expect("lock unknown"),
        None
    );
    assert!(
        !store
            .release_session_refresh(&hash(33), until)
            .await
            .expect("release unknown")
    );
    let refresh = SessionRefresh {
        access_token: vec![1],
        refresh_token: None,
        id_token: None,
        access_token_expires_at: until,
    };
    assert!(
        !store
            .complete_session_refresh(&hash(33), &refresh, now)
            .await
            .expect("complete unknown")
    );
    for bad in [vec![], vec![0u8; 31]] {
        assert!(matches!(
            store
                .try_lock_session_refresh(&bad, Duration::seconds(10))
                .await,
            Err(StoreError::Internal(_))
        ));
        assert!(matches!(
            store.release_session_refresh(&bad, until).await,
            Err(StoreError::Internal(_))
        ));
        assert!(matches!(
            store.complete_session_refresh(&bad, &refresh, now).await,
            Err(StoreError::Internal(_))
        ));
    }
}

#[test]
fn expiry_is_the_earlier_of_idle_and_absolute() {
    let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
    let s = pymd_storage::Session {
        id_hash: hash(1),
        user_id: UserId::new_random(),
        subject: "s".into(),
        idp_sid: None,
        access_token: vec![],
        refresh_token: None,
        id_token: None,
        access_token_expires_at: t0,
        created_at: t0,
        last_seen_at: t0 + Duration::days(6) + Duration::hours(12),
        idle_timeout_secs: 86_400,
        expires_at: t0 + Duration::days(7),
        refresh_lock_until: None,
    };
    assert!(!s.is_expired(t0 + Duration::days(6) + Duration::hours(23)));
    assert!(
        s.is_expired(t0 + Duration::days(7)),
        "absolute limit wins over recent activity"
    );
    let idle = pymd_storage::Session {
        last_seen_at: t0,
        ..s.clone()
    };
    assert!(!idle.is_expired(t0 + Duration::hours(23)));
    assert!(idle.is_expired(t0 + Duration::hours(24)));
}

// The SPA token API's records, run by the same per-back-end macro.
#[path = "spa.rs"]
mod spa;
