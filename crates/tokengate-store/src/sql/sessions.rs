//! Browser sign-in sessions: the server-side record behind the session cookie, so signing out
//! (or disabling the user) ends it for every copy of the cookie. Ending a session is one
//! transaction with its audit record.

use tokengate_core::audit::AuditEvent;
use tokengate_core::store::{SessionStore, SignInSession, StoreResult};
use tokengate_core::UnixTime;
use uuid::Uuid;

use super::audit::write_audit;
use super::row::SqlRow;
use super::statement::{begin, commit, query, rollback};
use super::{forward_to_sql, SqlStore};

forward_to_sql! {
    SessionStore {
        async fn insert_session(&self, session: &SignInSession) -> StoreResult<()>;
        async fn live_session(&self, session_id: Uuid, now: UnixTime) -> StoreResult<Option<SignInSession>>;
        async fn end_session(&self, session_id: Uuid, now: UnixTime, audit: &AuditEvent) -> StoreResult<bool>;
        async fn end_user_sessions(&self, user_id: Uuid, now: UnixTime, audit: &AuditEvent) -> StoreResult<u64>;
        async fn purge_expired_sessions(&self, now: UnixTime) -> StoreResult<u64>;
    }
}

async fn insert_session<S: SqlStore>(store: &S, s: &SignInSession) -> StoreResult<()> {
    let _writer = store.writer().await;
    query(
        "INSERT INTO browser_sessions (session_id, tenant_id, user_id, auth_time, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(s.session_id.to_string())
    .bind(s.tenant_id.to_string())
    .bind(s.user_id.to_string())
    .bind(s.auth_time)
    .bind(s.expires_at)
    .execute(store.pool())
    .await?;
    Ok(())
}

async fn live_session<S: SqlStore>(store: &S, session_id: Uuid, now: UnixTime) -> StoreResult<Option<SignInSession>> {
    let row = query(
        "SELECT tenant_id, user_id, auth_time, expires_at FROM browser_sessions \
         WHERE session_id = $1 AND ended_at IS NULL AND expires_at > $2",
    )
    .bind(session_id.to_string())
    .bind(now)
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(SignInSession {
        session_id,
        tenant_id: row.uuid("tenant_id")?,
        user_id: row.uuid("user_id")?,
        auth_time: row.read("auth_time")?,
        expires_at: row.read("expires_at")?,
    }))
}

async fn end_session<S: SqlStore>(store: &S, session_id: Uuid, now: UnixTime, audit: &AuditEvent) -> StoreResult<bool> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    let ended = query(
        "UPDATE browser_sessions SET ended_at = $1 WHERE session_id = $2 AND ended_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(session_id.to_string())
    .execute(&mut tx)
    .await?;
    if ended == 0 {
        rollback(tx).await?;
        return Ok(false);
    }
    write_audit(&mut tx, audit).await?;
    commit(tx).await?;
    Ok(true)
}

async fn end_user_sessions<S: SqlStore>(
    store: &S,
    user_id: Uuid,
    now: UnixTime,
    audit: &AuditEvent,
) -> StoreResult<u64> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    let ended =
        query("UPDATE browser_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND expires_at > $1")
            .bind(now)
            .bind(user_id.to_string())
            .execute(&mut tx)
            .await?;
    let mut audit = audit.clone();
    if let serde_json::Value::Object(detail) = &mut audit.detail {
        detail.insert("sessions_ended".into(), ended.into());
    }
    write_audit(&mut tx, &audit).await?;
    commit(tx).await?;
    Ok(ended)
}

async fn purge_expired_sessions<S: SqlStore>(store: &S, now: UnixTime) -> StoreResult<u64> {
    let _writer = store.writer().await;
    query("DELETE FROM browser_sessions WHERE expires_at <= $1").bind(now).execute(store.pool()).await
}
