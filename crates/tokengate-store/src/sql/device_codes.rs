//! Device codes (RFC 8628): a pending authorization is decided once by a person, read by its
//! client's polls (their pace is kept in memory, `DevicePollPace`), and redeemed by exactly one
//! poll. Long-expired codes are purged a bounded slice at a time on insert.

use tokengate_core::audit::AuditEvent;
use tokengate_core::grants::device_code::{DeviceAuthorization, DeviceCodeStatus, DeviceDecision};
use tokengate_core::store::{DeviceCodeStore, StoreResult};
use uuid::Uuid;

use super::audit::write_audit;
use super::row::SqlRow;
use super::statement::{begin, commit, query, rollback};
use super::{forward_to_sql, SqlStore};
use crate::error::parse_stored;

const DEVICE_COLUMNS: &str = "device_code_hash, user_code_hash, tenant_id, client_id, scopes, status, user_id, \
     auth_time, interval, created_at, expires_at, session_id";
/// Expired device codes are kept this long (so a late poll still hears `expired_token`), then
/// purged a bounded slice at a time by `insert_device_code`.
const DEVICE_CODE_PURGE_AFTER: i64 = 3600;

forward_to_sql! {
    DeviceCodeStore {
        async fn insert_device_code(&self, code: &DeviceAuthorization) -> StoreResult<()>;
        async fn pending_device_code(
            &self,
            user_code_hash: &[u8],
            now: i64,
        ) -> StoreResult<Option<DeviceAuthorization>>;
        async fn decide_device_code(
            &self,
            user_code_hash: &[u8],
            decision: DeviceDecision,
            now: i64,
            audit: &AuditEvent,
        ) -> StoreResult<bool>;
        async fn device_code(&self, device_code_hash: &[u8]) -> StoreResult<Option<DeviceAuthorization>>;
        async fn redeem_device_code(
            &self,
            device_code_hash: &[u8],
            client_id: Uuid,
            now_ms: i64,
        ) -> StoreResult<Option<DeviceAuthorization>>;
    }
}

async fn insert_device_code<S: SqlStore>(store: &S, c: &DeviceAuthorization) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    // Purge a bounded slice of long-expired codes first (also frees their user codes).
    query(
        "DELETE FROM device_codes WHERE device_code_hash IN \
         (SELECT device_code_hash FROM device_codes WHERE expires_at < $1 LIMIT 64)",
    )
    .bind(c.created_at.saturating_sub(DEVICE_CODE_PURGE_AFTER))
    .execute(&mut tx)
    .await?;
    // A taken device or user code hash is a unique violation: `Conflict`.
    query(&format!(
        "INSERT INTO device_codes ({DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&c.device_code_hash)
    .bind(&c.user_code_hash)
    .bind(c.tenant_id.to_string())
    .bind(c.client_id.to_string())
    .bind(c.scopes.join(" "))
    .bind(c.status.as_str())
    .bind(c.user_id.map(|u| u.to_string()))
    .bind(c.auth_time)
    .bind(c.interval)
    .bind(c.created_at)
    .bind(c.expires_at)
    .bind(c.session_id.map(|s| s.to_string()))
    .execute(&mut tx)
    .await?;
    commit(tx).await
}

async fn pending_device_code<S: SqlStore>(
    store: &S,
    user_code_hash: &[u8],
    now: i64,
) -> StoreResult<Option<DeviceAuthorization>> {
    let row = query(&format!(
        "SELECT {DEVICE_COLUMNS} FROM device_codes WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2"
    ))
    .bind(user_code_hash)
    .bind(now)
    .fetch_optional(store.pool())
    .await?;
    row.as_ref().map(device_from_row).transpose()
}

async fn decide_device_code<S: SqlStore>(
    store: &S,
    user_code_hash: &[u8],
    decision: DeviceDecision,
    now: i64,
    audit: &AuditEvent,
) -> StoreResult<bool> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    // Compare-and-set on `pending`: a user code is decided once.
    let decided = match decision {
        DeviceDecision::Approve { user_id, auth_time, session_id } => {
            query(
                "UPDATE device_codes SET status = 'approved', user_id = $1, auth_time = $2, session_id = $5 \
                 WHERE user_code_hash = $3 AND status = 'pending' AND expires_at > $4",
            )
            .bind(user_id.to_string())
            .bind(auth_time)
            .bind(user_code_hash)
            .bind(now)
            .bind(session_id.to_string())
            .execute(&mut tx)
            .await?
        }
        DeviceDecision::Decline { user_id } => {
            query(
                "UPDATE device_codes SET status = 'declined', user_id = $1 \
                 WHERE user_code_hash = $2 AND status = 'pending' AND expires_at > $3",
            )
            .bind(user_id.to_string())
            .bind(user_code_hash)
            .bind(now)
            .execute(&mut tx)
            .await?
        }
    };
    if decided != 1 {
        rollback(tx).await?;
        return Ok(false);
    }
    write_audit(&mut tx, audit).await?;
    commit(tx).await?;
    Ok(true)
}

async fn device_code<S: SqlStore>(store: &S, device_code_hash: &[u8]) -> StoreResult<Option<DeviceAuthorization>> {
    let row = query(&format!("SELECT {DEVICE_COLUMNS} FROM device_codes WHERE device_code_hash = $1"))
        .bind(device_code_hash)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(device_from_row).transpose()
}

async fn redeem_device_code<S: SqlStore>(
    store: &S,
    device_code_hash: &[u8],
    client_id: Uuid,
    now_ms: i64,
) -> StoreResult<Option<DeviceAuthorization>> {
    let _writer = store.writer().await;
    // Compare-and-set on `approved`: of concurrent polls exactly one redeems. One statement, so
    // it is its own transaction.
    let row = query(&format!(
        "UPDATE device_codes SET status = 'redeemed' \
         WHERE device_code_hash = $1 AND client_id = $2 AND status = 'approved' AND expires_at > $3 \
         RETURNING {DEVICE_COLUMNS}"
    ))
    .bind(device_code_hash)
    .bind(client_id.to_string())
    // `expires_at > ⌊now_ms / 1000⌋` is `expires_at * 1000 > now_ms` without the multiplication.
    .bind(now_ms.div_euclid(1000))
    .fetch_optional(store.pool())
    .await?;
    row.as_ref().map(device_from_row).transpose()
}

fn device_from_row(row: &impl SqlRow) -> StoreResult<DeviceAuthorization> {
    let status = row.text("status")?;
    Ok(DeviceAuthorization {
        device_code_hash: row.read("device_code_hash")?,
        user_code_hash: row.read("user_code_hash")?,
        tenant_id: row.uuid("tenant_id")?,
        client_id: row.uuid("client_id")?,
        scopes: row.scopes("scopes")?,
        status: parse_stored("device code status", &status, DeviceCodeStatus::parse)?,
        user_id: row.optional_uuid("user_id")?,
        auth_time: row.read("auth_time")?,
        interval: row.read("interval")?,
        created_at: row.read("created_at")?,
        expires_at: row.read("expires_at")?,
        session_id: row.optional_uuid("session_id")?,
    })
}
