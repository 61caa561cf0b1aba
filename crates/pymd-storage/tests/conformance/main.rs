//! The storage conformance suite: every test is written once, against `Arc<dyn Store>`, and run
//! on each back end: a fresh SQLite file, an in-memory SQLite database, and PostgreSQL when
//! `PYMD_TEST_DATABASE_URL` names an admin URL (e.g. `postgres://postgres@127.0.0.1:5432/test`;
//! each test then creates and drops a database of its own). Without that variable the
//! PostgreSQL variants print that they were skipped and pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: unwrap, expect and panic are its assertions"
)]

mod cases;
mod faults;
mod harness;

/// Generates one `#[tokio::test]` per case and back end from one list of case functions.
/// `any_store` cases run on all three back ends; `durable` cases reopen the database or read it
/// with raw SQL, so they skip the in-memory one.
macro_rules! conformance_tests {
    (any_store: [$($any:ident),* $(,)?], durable: [$($durable:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $any() {
                    let db = crate::harness::TestDb::sqlite_file().await;
                    crate::cases::$any(&db).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $durable() {
                    let db = crate::harness::TestDb::sqlite_file().await;
                    crate::cases::$durable(&db).await;
                }
            )*
        }

        mod sqlite_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $any() {
                    let db = crate::harness::TestDb::sqlite_memory().await;
                    crate::cases::$any(&db).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $any() {
                    let Some(db) = crate::harness::TestDb::postgres().await else {
                        eprintln!(
                            "skipped postgres::{}: PYMD_TEST_DATABASE_URL is not set",
                            stringify!($any)
                        );
                        return;
                    };
                    crate::cases::$any(&db).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $durable() {
                    let Some(db) = crate::harness::TestDb::postgres().await else {
                        eprintln!(
                            "skipped postgres::{}: PYMD_TEST_DATABASE_URL is not set",
                            stringify!($durable)
                        );
                        return;
                    };
                    crate::cases::$durable(&db).await;
                }
            )*
        }
    };
}

conformance_tests! {
    any_store: [
        ping_answers,
        a_created_document_reads_back_identically_at_version_1,
        an_unknown_document_reads_as_none,
        content_is_stored_byte_for_byte,
        listing_is_newest_first_and_only_shows_the_owners_documents,
        paging_250_documents_by_100_has_no_duplicates_or_gaps,
        a_page_that_ends_exactly_at_the_last_document_has_no_next_cursor,
        updating_replaces_title_and_content_and_bumps_the_version,
        a_stale_expected_version_conflicts_with_the_current_version_and_changes_nothing,
        updating_an_unknown_document_is_not_found,
        another_owners_document_cannot_be_updated_or_deleted_and_stays_identical,
        deleting_removes_the_document_once,
        concurrent_updates_with_the_same_expected_version_let_exactly_one_win,
        concurrent_unconditional_updates_lose_no_increment,
        upsert_user_is_idempotent_and_keeps_fields_that_are_none,
        upsert_user_creates_a_user_with_email_unverified_by_default,
        concurrent_upserts_of_one_new_subject_create_one_user,
        concurrent_ensure_user_for_one_new_subject_creates_one_user,
        ensure_user_returns_an_existing_user_unchanged,
        update_profile_changes_only_the_given_fields,
        update_profile_of_an_unknown_user_is_not_found,
        list_users_pages_by_id_without_duplicates,
        audit_events_are_appended_and_listed_newest_first,
        audit_events_are_filtered_by_subject_event_time_and_id,
        audit_limit_is_clamped_to_1_through_1000,
        a_list_carries_a_short_excerpt_not_the_content,
        a_listed_excerpt_follows_each_new_version,
    ],
    durable: [
        documents_created_in_the_same_microsecond_page_by_id,
        running_migrations_twice_is_a_no_op,
        data_survives_dropping_the_store_without_closing_it,
        listing_documents_uses_the_keyset_index,
        audit_events_cannot_be_changed_or_deleted,
    ],
}
mod sessions;
