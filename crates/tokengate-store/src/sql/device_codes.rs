//! Device codes (RFC 8628): a pending authorization is decided once by a person, polled by its
//! client at the pace it was told (too fast → `slow_down`, the interval grows), and redeemed by
//! exactly one poll. Long-expired codes are purged a bounded slice at a time on insert.

use tokengate_core::audit::AuditEvent;
use tokengate_core::grants::device_code::{
    DeviceAuthorization, DeviceCodeStatus, DeviceDecision, DevicePoll, MAX_POLL_INTERVAL, SLOW_DOWN_STEP,
};
use tokengate_core::store::{DeviceCodeStore, StoreResult};
use uuid::Uuid;

use super::audit::write_audit;
use super::row::SqlRow;
use super::statement::{begin, commit, query, rollback};
use super::{forward_to_sql, SqlStore};
use crate::error::parse_stored;

const DEVICE_COLUMNS: &str = "device_code_hash, user_code_hash, tenant_id, client_id, scopes, status, user_id, \
     auth_time, interval, last_poll_ms, created_at, expires_at, session_id";
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
        async fn poll_device_code(
            &self,
            device_code_hash: &[u8],
            client_id: Uuid,
            now_ms: i64,
        ) -> StoreResult<DevicePoll>;
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
        "INSERT INTO device_codes ({DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
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
    .bind(c.last_poll_ms)
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

async fn poll_device_code<S: SqlStore>(
    store: &S,
    device_code_hash: &[u8],
    client_id: Uuid,
    now_ms: i64,
) -> StoreResult<DevicePoll> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    // Write first: this no-op update takes SQLite's write lock (and the row lock on Postgres), so
    // the read-decide-write below is serialized with concurrent polls.
    let locked = query("UPDATE device_codes SET status = status WHERE device_code_hash = $1")
        .bind(device_code_hash)
        .execute(&mut tx)
        .await?;
    let row = if locked == 1 {
        query(&format!("SELECT {DEVICE_COLUMNS} FROM device_codes WHERE device_code_hash = $1"))
            .bind(device_code_hash)
            .fetch_optional(&mut tx)
            .await?
    } else {
        None
    };
    let Some(row) = row else {
        rollback(tx).await?;
        return Ok(DevicePoll::NotFound);
    };
    let code = device_from_row(&row)?;
    // Answers that change nothing.
    let unchanged = if code.client_id != client_id {
        Some(DevicePoll::WrongClient)
    } else if code.expires_at.saturating_mul(1000) <= now_ms {
        Some(DevicePoll::Expired)
    } else if code.status == DeviceCodeStatus::Redeemed {
        Some(DevicePoll::AlreadyRedeemed)
    } else {
        None
    };
    if let Some(answer) = unchanged {
        rollback(tx).await?;
        return Ok(answer);
    }
    let too_soon =
        code.last_poll_ms.is_some_and(|last| now_ms < last.saturating_add(code.interval.saturating_mul(1000)));
    if too_soon {
        let interval = code.interval.saturating_add(SLOW_DOWN_STEP).min(MAX_POLL_INTERVAL.max(code.interval));
        query("UPDATE device_codes SET interval = $1, last_poll_ms = $2 WHERE device_code_hash = $3")
            .bind(interval)
            .bind(now_ms)
            .bind(device_code_hash)
            .execute(&mut tx)
            .await?;
        commit(tx).await?;
        return Ok(DevicePoll::SlowDown { interval });
    }
    // Record the poll and answer by status.
    let sql = match code.status {
        DeviceCodeStatus::Pending | DeviceCodeStatus::Declined => {
            "UPDATE device_codes SET last_poll_ms = $1 WHERE device_code_hash = $2"
        }
        // Compare-and-set on `approved`: of concurrent polls exactly one redeems.
        DeviceCodeStatus::Approved => {
            "UPDATE device_codes SET status = 'redeemed', last_poll_ms = $1 \
             WHERE device_code_hash = $2 AND status = 'approved'"
        }
        // Answered above; kept so the match is total.
        DeviceCodeStatus::Redeemed => {
            rollback(tx).await?;
            return Ok(DevicePoll::AlreadyRedeemed);
        }
    };
    let recorded = query(sql).bind(now_ms).bind(device_code_hash).execute(&mut tx).await?;
    if recorded != 1 {
        rollback(tx).await?;
        return Ok(DevicePoll::AlreadyRedeemed);
    }
    commit(tx).await?;
    Ok(match code.status {
        DeviceCodeStatus::Pending => DevicePoll::Pending,
        DeviceCodeStatus::Declined => DevicePoll::Declined,
        DeviceCodeStatus::Approved => DevicePoll::Approved(Box::new(code)),
        DeviceCodeStatus::Redeemed => DevicePoll::AlreadyRedeemed,
    })
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
        last_poll_ms: row.read("last_poll_ms")?,
        created_at: row.read("created_at")?,
        expires_at: row.read("expires_at")?,
        session_id: row.optional_uuid("session_id")?,
    })
}
