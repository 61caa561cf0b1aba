//! Every operation of [`Store`], written once for any [`Executor`]: the statement, its
//! parameters in the domain's terms, and the row mapping. Concurrency guarantees come from the
//! statements themselves (a conditional `UPDATE … RETURNING`, an `INSERT … ON CONFLICT`), which
//! both databases run atomically; no operation needs a transaction spanning statements.

use async_trait::async_trait;
use pymd_domain::{
    Document, DocumentDraft, DocumentId, PageRequest, ProfilePatch, SyncUser, User, UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::statements as sql;
use super::{Executor, LeaseClock, Value as V, fetch_one, rows};
use crate::page::page_of;
use crate::{
    AuditEvent, AuditFilter, DocumentPage, NewAuditEvent, NewSession, Session, SessionRefresh,
    SpaGrantToken, SpaTransaction, Store, StoreError, check_hash,
};

/// Both back ends ([`crate::sqlite::SqliteStore`], [`crate::postgres::PgStore`]) are
/// [`Executor`]s, and so stores.
#[async_trait]
impl<E: Executor> Store for E {
    async fn ping(&self) -> Result<(), StoreError> {
        self.fetch_optional("ping", sql::PING, &[], rows::nothing)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                StoreError::Internal(m) => StoreError::Unavailable(m),
                other => other,
            })
    }

    async fn upsert_user(&self, user: &SyncUser) -> Result<User, StoreError> {
        let args = [
            V::Uuid(Uuid::now_v7()),
            V::Text(&user.auth0_id),
            V::OptText(user.email.as_deref()),
            V::OptText(user.name.as_deref()),
            V::OptText(user.picture.as_deref()),
            V::OptBool(user.email_verified),
            V::Ts(pymd_domain::now()),
        ];
        fetch_one(self, "upsert_user", sql::UPSERT_USER, &args, rows::user).await
    }

    async fn ensure_user(&self, auth0_id: &str) -> Result<User, StoreError> {
        // Read first: the user almost always exists, and a read takes no write lock.
        if let Some(user) = self.find_user_by_auth0_id(auth0_id).await? {
            return Ok(user);
        }
        let args = [
            V::Uuid(Uuid::now_v7()),
            V::Text(auth0_id),
            V::Ts(pymd_domain::now()),
        ];
        self.execute("ensure_user", sql::INSERT_BARE_USER, &args)
            .await?;
        self.find_user_by_auth0_id(auth0_id).await?.ok_or_else(|| {
            StoreError::Internal("ensure_user: the user vanished right after its insert".into())
        })
    }

    async fn find_user_by_auth0_id(&self, auth0_id: &str) -> Result<Option<User>, StoreError> {
        let args = [V::Text(auth0_id)];
        self.fetch_optional(
            "find_user_by_auth0_id",
            sql::SELECT_USER_BY_AUTH0_ID,
            &args,
            rows::user,
        )
        .await
    }

    async fn update_profile(&self, id: UserId, patch: &ProfilePatch) -> Result<User, StoreError> {
        let args = [
            V::Uuid(id.0),
            V::OptText(patch.name.as_deref()),
            V::OptText(patch.picture.as_deref()),
            V::OptText(patch.bio.as_deref()),
            V::Ts(pymd_domain::now()),
        ];
        self.fetch_optional("update_profile", sql::UPDATE_PROFILE, &args, rows::user)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn list_users(&self, after: Option<UserId>, limit: u32) -> Result<Vec<User>, StoreError> {
        let limit = V::I64(i64::from(limit.clamp(1, 1000)));
        match after {
            None => {
                self.fetch_all("list_users", sql::LIST_USERS_FIRST, &[limit], rows::user)
                    .await
            }
            Some(after) => {
                let args = [V::Uuid(after.0), limit];
                self.fetch_all("list_users", sql::LIST_USERS_AFTER, &args, rows::user)
                    .await
            }
        }
    }

    async fn create_document(
        &self,
        owner: UserId,
        draft: &DocumentDraft,
    ) -> Result<Document, StoreError> {
        let args = [
            V::Uuid(DocumentId::new_random().0),
            V::Uuid(owner.0),
            V::Text(draft.title()),
            V::Text(draft.content()),
            V::Ts(pymd_domain::now()),
        ];
        let what = "create_document";
        fetch_one(self, what, sql::INSERT_DOCUMENT, &args, rows::document).await
    }

    async fn get_document(&self, id: DocumentId) -> Result<Option<Document>, StoreError> {
        let args = [V::Uuid(id.0)];
        self.fetch_optional("get_document", sql::SELECT_DOCUMENT, &args, rows::document)
            .await
    }

    async fn list_documents(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> Result<DocumentPage, StoreError> {
        let limit = page.limit.clamp(1, crate::page::MAX_PAGE);
        let fetch = V::I64(i64::from(limit) + 1);
        let what = "list_documents";
        let rows = match page.after {
            None => {
                let args = [V::Uuid(owner.0), fetch];
                self.fetch_all(what, sql::LIST_DOCUMENTS_FIRST, &args, rows::document)
                    .await?
            }
            Some(cursor) => {
                let args = [
                    V::Uuid(owner.0),
                    V::Ts(pymd_domain::paging::from_micros(cursor.created_at_micros)),
                    V::Uuid(cursor.id),
                    fetch,
                ];
                self.fetch_all(what, sql::LIST_DOCUMENTS_AFTER, &args, rows::document)
                    .await?
            }
        };
        Ok(page_of(rows, limit))
    }

    async fn update_document(
        &self,
        id: DocumentId,
        owner: UserId,
        draft: &DocumentDraft,
        expected_version: Option<i64>,
    ) -> Result<Document, StoreError> {
        let what = "update_document";
        let mut args = vec![
            V::Uuid(id.0),
            V::Uuid(owner.0),
            V::Text(draft.title()),
            V::Text(draft.content()),
            V::Ts(pymd_domain::now()),
        ];
        let statement = match expected_version {
            Some(expected) => {
                args.push(V::I64(expected));
                sql::UPDATE_DOCUMENT_IF_VERSION
            }
            None => sql::UPDATE_DOCUMENT_ANY,
        };
        if let Some(updated) = self
            .fetch_optional(what, statement, &args, rows::document)
            .await?
        {
            return Ok(updated);
        }
        if expected_version.is_none() {
            return Err(StoreError::NotFound);
        }
        let current = self
            .fetch_optional(
                what,
                sql::SELECT_DOCUMENT_VERSION,
                &args[..2],
                rows::first_i64,
            )
            .await?;
        Err(match current {
            Some(current) => StoreError::VersionConflict { current },
            None => StoreError::NotFound,
        })
    }

    async fn delete_document(&self, id: DocumentId, owner: UserId) -> Result<bool, StoreError> {
        let args = [V::Uuid(id.0), V::Uuid(owner.0)];
        let deleted = self
            .execute("delete_document", sql::DELETE_DOCUMENT, &args)
            .await?;
        Ok(deleted > 0)
    }

    async fn record_audit(&self, event: &NewAuditEvent) -> Result<(), StoreError> {
        let args = [
            V::Ts(pymd_domain::now()),
            V::Text(&event.event),
            V::Text(&event.outcome),
            V::OptText(event.subject.as_deref()),
            V::OptText(event.ip.as_deref()),
            V::OptText(event.user_agent.as_deref()),
            V::OptText(event.request_id.as_deref()),
            V::Json(&event.detail),
        ];
        self.execute("record_audit", sql::INSERT_AUDIT, &args)
            .await
            .map(|_| ())
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let statement = match (&filter.subject, &filter.event) {
            (None, None) => sql::AUDIT_ALL,
            (Some(_), None) => sql::AUDIT_BY_SUBJECT,
            (None, Some(_)) => sql::AUDIT_BY_EVENT,
            (Some(_), Some(_)) => sql::AUDIT_BY_BOTH,
        };
        let args = [
            V::OptText(filter.subject.as_deref()),
            V::OptText(filter.event.as_deref()),
            V::OptTs(filter.since),
            V::OptTs(filter.until),
            V::OptI64(filter.before_id),
            V::I64(i64::from(filter.limit.clamp(1, 1000))),
        ];
        self.fetch_all("list_audit", statement, &args, rows::audit_event)
            .await
    }

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        check_hash("create_session", &session.id_hash)?;
        if session.idle_timeout_secs <= 0 {
            return Err(StoreError::Internal(
                "create_session: the idle timeout must be positive".into(),
            ));
        }
        let args = [
            V::Bytes(&session.id_hash),
            V::Uuid(session.user_id.0),
            V::Text(&session.subject),
            V::OptText(session.idp_sid.as_deref()),
            V::Bytes(&session.access_token),
            V::OptBytes(session.refresh_token.as_deref()),
            V::OptBytes(session.id_token.as_deref()),
            V::Ts(session.access_token_expires_at),
            V::Ts(session.created_at),
            V::I64(session.idle_timeout_secs),
            V::Ts(session.expires_at),
        ];
        self.execute("create_session", sql::INSERT_SESSION, &args)
            .await
            .map(|_| ())
    }

    async fn find_session(&self, id_hash: &[u8]) -> Result<Option<Session>, StoreError> {
        check_hash("find_session", id_hash)?;
        let args = [V::Bytes(id_hash)];
        self.fetch_optional("find_session", sql::SELECT_SESSION, &args, rows::session)
            .await
    }

    async fn touch_session(&self, id_hash: &[u8], now: OffsetDateTime) -> Result<bool, StoreError> {
        check_hash("touch_session", id_hash)?;
        let args = [V::Bytes(id_hash), V::Ts(now)];
        let touched = self
            .execute("touch_session", sql::TOUCH_SESSION, &args)
            .await?;
        Ok(touched > 0)
    }

    async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, StoreError> {
        check_hash("delete_session", id_hash)?;
        let args = [V::Bytes(id_hash)];
        let deleted = self
            .execute("delete_session", sql::DELETE_SESSION, &args)
            .await?;
        Ok(deleted > 0)
    }

    async fn delete_sessions_by_idp(
        &self,
        idp_sid: Option<&str>,
        subject: Option<&str>,
    ) -> Result<u64, StoreError> {
        if idp_sid.is_none() && subject.is_none() {
            return Ok(0);
        }
        let args = [V::OptText(idp_sid), V::OptText(subject)];
        self.execute("delete_sessions_by_idp", sql::DELETE_SESSIONS_BY_IDP, &args)
            .await
    }

    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let statement = Self::DIALECT.delete_expired_sessions;
        self.execute("delete_expired_sessions", statement, &[V::Ts(now)])
            .await
    }

    async fn count_active_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let statement = Self::DIALECT.count_active_sessions;
        let what = "count_active_sessions";
        let n = fetch_one(self, what, statement, &[V::Ts(now)], rows::first_i64).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn try_lock_session_refresh(
        &self,
        id_hash: &[u8],
        lease: time::Duration,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        check_hash("try_lock_session_refresh", id_hash)?;
        let mut args = vec![V::Bytes(id_hash), V::I64(crate::lease_micros(lease))];
        if Self::DIALECT.lease_clock == LeaseClock::Host {
            args.push(V::Ts(pymd_domain::now()));
        }
        let statement = Self::DIALECT.lock_session_refresh;
        self.fetch_optional("try_lock_session_refresh", statement, &args, rows::first_ts)
            .await
    }

    async fn complete_session_refresh(
        &self,
        id_hash: &[u8],
        refresh: &SessionRefresh,
        expected_access_token_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        check_hash("complete_session_refresh", id_hash)?;
        let args = [
            V::Bytes(id_hash),
            V::Bytes(&refresh.access_token),
            V::OptBytes(refresh.refresh_token.as_deref()),
            V::OptBytes(refresh.id_token.as_deref()),
            V::Ts(refresh.access_token_expires_at),
            V::Ts(expected_access_token_expires_at),
        ];
        let what = "complete_session_refresh";
        let changed = self
            .execute(what, sql::COMPLETE_SESSION_REFRESH, &args)
            .await?;
        Ok(changed == 1)
    }

    async fn release_session_refresh(
        &self,
        id_hash: &[u8],
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        check_hash("release_session_refresh", id_hash)?;
        let args = [V::Bytes(id_hash), V::Ts(lease_until)];
        let what = "release_session_refresh";
        let released = self
            .execute(what, sql::RELEASE_SESSION_REFRESH, &args)
            .await?;
        Ok(released == 1)
    }

    async fn create_spa_transaction(&self, tx: &SpaTransaction) -> Result<(), StoreError> {
        let what = "create_spa_transaction";
        check_hash(what, &tx.state_hash)?;
        let now = [V::Ts(tx.created_at)];
        self.execute(what, sql::DELETE_EXPIRED_SPA_TRANSACTIONS, &now)
            .await?;
        let args = [
            V::Bytes(&tx.state_hash),
            V::Text(&tx.nonce),
            V::Text(&tx.code_challenge),
            V::Text(&tx.redirect_uri),
            V::Text(&tx.return_to),
            V::Ts(tx.created_at),
            V::Ts(tx.expires_at),
        ];
        self.execute(what, sql::INSERT_SPA_TRANSACTION, &args)
            .await
            .map(|_| ())
    }

    async fn take_spa_transaction(
        &self,
        state_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<SpaTransaction>, StoreError> {
        let what = "take_spa_transaction";
        check_hash(what, state_hash)?;
        let args = [V::Bytes(state_hash)];
        let taken = self
            .fetch_optional(
                what,
                sql::TAKE_SPA_TRANSACTION,
                &args,
                rows::spa_transaction,
            )
            .await?;
        Ok(taken.filter(|t| t.expires_at > now))
    }

    async fn record_spa_grant_token(&self, token: &SpaGrantToken) -> Result<(), StoreError> {
        let what = "record_spa_grant_token";
        check_hash(what, &token.token_hash)?;
        let args = [
            V::Bytes(&token.token_hash),
            V::Uuid(token.grant_id),
            V::Uuid(token.user_id.0),
            V::Text(&token.subject),
            V::OptText(token.idp_sid.as_deref()),
            V::Ts(token.created_at),
        ];
        self.execute(what, sql::INSERT_SPA_GRANT_TOKEN, &args)
            .await
            .map(|_| ())
    }

    async fn find_spa_grant_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<SpaGrantToken>, StoreError> {
        let what = "find_spa_grant_token";
        check_hash(what, token_hash)?;
        let args = [V::Bytes(token_hash)];
        self.fetch_optional(
            what,
            sql::SELECT_SPA_GRANT_TOKEN,
            &args,
            rows::spa_grant_token,
        )
        .await
    }

    async fn end_spa_grant(&self, grant_id: Uuid) -> Result<u64, StoreError> {
        let args = [V::Uuid(grant_id)];
        self.execute("end_spa_grant", sql::DELETE_SPA_GRANT, &args)
            .await
    }

    async fn end_spa_grants_by_idp(
        &self,
        idp_sid: Option<&str>,
        subject: Option<&str>,
    ) -> Result<u64, StoreError> {
        if idp_sid.is_none() && subject.is_none() {
            return Ok(0);
        }
        let args = [V::OptText(idp_sid), V::OptText(subject)];
        let what = "end_spa_grants_by_idp";
        self.execute(what, sql::DELETE_SPA_GRANTS_BY_IDP, &args)
            .await
    }
}
