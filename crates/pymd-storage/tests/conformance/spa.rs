//! Conformance cases for the SPA token API's records: sign-in transactions spent once and not
//! after they expire, and refresh-token families found by hash until their grant ends.

use pymd_storage::{SpaGrantToken, SpaTransaction, StoreError};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::harness::TestDb;

session_tests![
    an_spa_transaction_is_spent_once_and_never_after_it_expires,
    spa_grant_tokens_are_found_by_hash_until_their_grant_ends,
    spa_records_with_a_malformed_hash_are_refused,
    an_idp_logout_ends_the_grants_of_its_sid_or_subject,
];

fn hash(tag: u8) -> Vec<u8> {
    let mut h = vec![0x5A; 32];
    h[0] = tag;
    h
}

fn transaction(tag: u8, created_at: OffsetDateTime, ttl: Duration) -> SpaTransaction {
    SpaTransaction {
        state_hash: hash(tag),
        nonce: format!("nonce-{tag}"),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        redirect_uri: "http://localhost:3000/spa/callback".to_owned(),
        return_to: "/spa/".to_owned(),
        created_at,
        expires_at: created_at + ttl,
    }
}

pub async fn an_spa_transaction_is_spent_once_and_never_after_it_expires(db: &TestDb) {
    let store = &db.store;
    let now = pymd_domain::truncate_to_micros(pymd_domain::now());
    let tx = transaction(1, now, Duration::minutes(10));
    store.create_spa_transaction(&tx).await.expect("create");
    // The same state twice is refused (a collision must not overwrite a live transaction).
    assert!(matches!(
        store.create_spa_transaction(&tx).await,
        Err(StoreError::Internal(_))
    ));
    assert_eq!(
        store
            .take_spa_transaction(&hash(2), now)
            .await
            .expect("take"),
        None,
        "an unknown state"
    );
    let taken = store
        .take_spa_transaction(&tx.state_hash, now)
        .await
        .expect("take")
        .expect("a live transaction is spent");
    assert_eq!(taken, tx);
    assert_eq!(
        store
            .take_spa_transaction(&tx.state_hash, now)
            .await
            .expect("take"),
        None,
        "spent: a replay finds nothing"
    );

    // Expired: not handed out, and gone.
    let old = transaction(3, now, Duration::minutes(10));
    store.create_spa_transaction(&old).await.expect("create");
    let later = now + Duration::minutes(10);
    assert_eq!(
        store
            .take_spa_transaction(&old.state_hash, later)
            .await
            .expect("take"),
        None
    );
    assert_eq!(
        store
            .take_spa_transaction(&old.state_hash, now)
            .await
            .expect("take"),
        None,
        "an expired transaction asked for is deleted"
    );
}

pub async fn spa_grant_tokens_are_found_by_hash_until_their_grant_ends(db: &TestDb) {
    let store = &db.store;
    let user = store.ensure_user("auth0|spa-grant").await.expect("user");
    let now = pymd_domain::truncate_to_micros(pymd_domain::now());
    let grant = Uuid::new_v4();
    let token = |tag: u8, grant_id: Uuid| SpaGrantToken {
        token_hash: hash(tag),
        grant_id,
        user_id: user.id,
        subject: user.auth0_id.clone(),
        idp_sid: Some("375UIp_ID5mCTClIeBEHpXfGwq51tF_L".to_owned()),
        created_at: now,
    };
    let (first, rotated) = (token(10, grant), token(11, grant));
    let other = token(12, Uuid::new_v4());
    for t in [&first, &rotated, &other] {
        store.record_spa_grant_token(t).await.expect("record");
    }
    assert!(matches!(
        store.record_spa_grant_token(&first).await,
        Err(StoreError::Internal(_))
    ));
    // The spent token is still known (so a reuse reaches the IdP), as is the current one.
    assert_eq!(
        store
            .find_spa_grant_token(&first.token_hash)
            .await
            .expect("find"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .find_spa_grant_token(&rotated.token_hash)
            .await
            .expect("find"),
        Some(rotated.clone())
    );
    assert_eq!(store.end_spa_grant(grant).await.expect("end"), 2);
    for t in [&first, &rotated] {
        assert_eq!(
            store
                .find_spa_grant_token(&t.token_hash)
                .await
                .expect("find"),
            None
        );
    }
    assert_eq!(
        store
            .find_spa_grant_token(&other.token_hash)
            .await
            .expect("find"),
        Some(other),
        "another grant is untouched"
    );
    assert_eq!(store.end_spa_grant(grant).await.expect("end again"), 0);
}

pub async fn spa_records_with_a_malformed_hash_are_refused(db: &TestDb) {
    let store = &db.store;
    let now = pymd_domain::now();
    for bad in [vec![], vec![1u8; 31], vec![1u8; 33]] {
        let mut tx = transaction(1, now, Duration::minutes(10));
        tx.state_hash = bad.clone();
        assert!(matches!(
            store.create_spa_transaction(&tx).await,
            Err(StoreError::Internal(_))
        ));
        assert!(matches!(
            store.take_spa_transaction(&bad, now).await,
            Err(StoreError::Internal(_))
        ));
        assert!(matches!(
            store.find_spa_grant_token(&bad).await,
            Err(StoreError::Internal(_))
        ));
    }
}

pub async fn an_idp_logout_ends_the_grants_of_its_sid_or_subject(db: &TestDb) {
    let store = &db.store;
    let alice = store.ensure_user("auth0|spa-alice").await.expect("user");
    let bob = store.ensure_user("auth0|spa-bob").await.expect("user");
    let now = pymd_domain::truncate_to_micros(pymd_domain::now());
    let token = |tag: u8, grant_id: Uuid, user: &pymd_domain::User, sid: &str| SpaGrantToken {
        token_hash: hash(tag),
        grant_id,
        user_id: user.id,
        subject: user.auth0_id.clone(),
        idp_sid: Some(sid.to_owned()),
        created_at: now,
    };
    let (g1, g2, g3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let rows = [
        token(20, g1, &alice, "sid-a1"),
        token(21, g1, &alice, "sid-a1"),
        token(22, g2, &alice, "sid-a2"),
        token(23, g3, &bob, "sid-b1"),
    ];
    for r in &rows {
        store.record_spa_grant_token(r).await.expect("record");
    }
    let alive = |tag: u8| async move {
        store
            .find_spa_grant_token(&hash(tag))
            .await
            .expect("find")
            .is_some()
    };
    assert_eq!(
        store.end_spa_grants_by_idp(None, None).await.expect("none"),
        0
    );
    // A sid naming another subject ends nothing.
    assert_eq!(
        store
            .end_spa_grants_by_idp(Some("sid-a1"), Some("auth0|spa-bob"))
            .await
            .expect("mismatch"),
        0
    );
    // By sid: that IdP session's grant, every token of it.
    assert_eq!(
        store
            .end_spa_grants_by_idp(Some("sid-a1"), None)
            .await
            .expect("by sid"),
        2
    );
    assert!(!alive(20).await && !alive(21).await);
    assert!(alive(22).await && alive(23).await);
    // By subject: all of that user's, no one else's.
    assert_eq!(
        store
            .end_spa_grants_by_idp(None, Some("auth0|spa-alice"))
            .await
            .expect("by subject"),
        1
    );
    assert!(!alive(22).await);
    assert!(alive(23).await, "another user's grant stays");
}
