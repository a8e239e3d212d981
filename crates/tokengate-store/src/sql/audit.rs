//! The audit log: appending, reading newest first, pruning; and the helpers that commit an audit
//! record in the same transaction as the change it describes. Every record goes onto the hash
//! chain (`audit_chain.rs`). Never updates or deletes a record except by retention
//! (`prune_audit`), which deletes the oldest only.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Transaction;
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::store::{AuditQuery, AuditStore, StoreError, StoreResult};

use super::audit_chain::append_chained;
use super::backend::Backend;
use super::row::{uuid, SqlRow};
use super::statement::{begin, commit, query, rollback};
use super::{forward_to_sql, SqlStore};
use crate::error::parse_stored;

/// Writes `e` inside `tx`, so it commits (or not) with the change it records. Takes the audit
/// chain head: call it as the transaction's last step, just before `commit` (see `audit_chain.rs`).
pub(super) async fn write_audit<DB: Backend>(tx: &mut Transaction<'_, DB>, e: &AuditEvent) -> StoreResult<()> {
    append_chained(tx, std::slice::from_ref(e)).await?;
    Ok(())
}

/// `e` with `extra` added to its detail, for records that report what the store did (versions,
/// counts). A detail that is not an object becomes one, keeping a value it had under `detail`.
pub(super) fn with_detail(e: &AuditEvent, extra: serde_json::Map<String, serde_json::Value>) -> AuditEvent {
    let mut e = e.clone();
    let mut detail = match std::mem::take(&mut e.detail) {
        serde_json::Value::Object(detail) => detail,
        serde_json::Value::Null => serde_json::Map::new(),
        other => serde_json::Map::from_iter([("detail".to_owned(), other)]),
    };
    detail.extend(extra);
    e.detail = serde_json::Value::Object(detail);
    e
}

/// Deletes what `sql` matches (all binds are text) with its audit record; `NotFound` when
/// nothing matched.
pub(super) async fn delete_audited<S: SqlStore>(
    store: &S,
    sql: &str,
    binds: &[&str],
    audit: &AuditEvent,
) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    let mut statement = query(sql);
    for b in binds {
        statement = statement.bind(*b);
    }
    let deleted = statement.execute(&mut tx).await?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

forward_to_sql! {
    AuditStore {
        async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()>;
        async fn audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
        async fn prune_audit(&self, before_ms: i64) -> StoreResult<u64>;
    }
}

async fn append_audit<S: SqlStore>(store: &S, events: &[AuditEvent]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    // One transaction and multi-row INSERTs per batch (the gateway writes one record per request).
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    append_chained(&mut tx, events).await?;
    commit(tx).await
}

/// Deletes the oldest records, up to the first written at or after `before_ms`, and records the
/// pruning in the same transaction. Only a prefix of the log goes (never a record newer than one
/// kept, even when batches arrive slightly out of time order), so the chain stays unbroken from
/// the first remaining record, and the pruning record explains the gap before it. Checkpoints
/// stay.
async fn prune_audit<S: SqlStore>(store: &S, before_ms: i64) -> StoreResult<u64> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    let deleted = query(
        "DELETE FROM audit_events WHERE seq < COALESCE((SELECT MIN(seq) FROM audit_events WHERE at_ms >= $1), \
         (SELECT MAX(seq) + 1 FROM audit_events))",
    )
    .bind(before_ms)
    .execute(&mut tx)
    .await?;
    if deleted == 0 {
        rollback(tx).await?;
        return Ok(0);
    }
    let through = query(
        "SELECT COALESCE((SELECT MIN(seq) FROM audit_events) - 1, (SELECT seq FROM audit_chain_head WHERE id = 1)) \
         AS through_seq",
    )
    .fetch_one(&mut tx)
    .await?;
    let through_seq: i64 = through.read("through_seq")?;
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    let event = AuditEvent::admin(
        "audit.pruned",
        None,
        serde_json::json!({"records": deleted, "before_ms": before_ms, "through_seq": through_seq}),
        now_ms / 1000,
    );
    write_audit(&mut tx, &event).await?;
    commit(tx).await?;
    Ok(deleted)
}

async fn audit_events<S: SqlStore>(store: &S, q: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
    let limit = i64::from(q.limit.clamp(1, 10_000));
    let rows = query(
        "SELECT id, at_ms, source, action, outcome, reason, tenant_id, client_id, subject, token_id, client_ip, \
         status, latency_us, detail \
         FROM audit_events WHERE ($1 IS NULL OR source = $1) AND ($2 IS NULL OR action = $2) \
         ORDER BY seq DESC LIMIT $3",
    )
    .bind(q.source.map(|s| s.as_str()))
    .bind(q.action.as_deref())
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(|r| AuditRow::read(r)?.into_event()).collect()
}

/// An audit record as stored, before its names are parsed.
pub(super) struct AuditRow {
    id: String,
    at_ms: i64,
    source: String,
    action: String,
    outcome: String,
    reason: Option<String>,
    tenant_id: Option<String>,
    client_id: Option<String>,
    subject: Option<String>,
    token_id: Option<String>,
    client_ip: Option<String>,
    status: Option<i64>,
    latency_us: Option<i64>,
    detail: String,
}

impl AuditRow {
    pub(super) fn read(r: &impl SqlRow) -> StoreResult<Self> {
        Ok(AuditRow {
            id: r.read("id")?,
            at_ms: r.read("at_ms")?,
            source: r.read("source")?,
            action: r.read("action")?,
            outcome: r.read("outcome")?,
            reason: r.read("reason")?,
            tenant_id: r.read("tenant_id")?,
            client_id: r.read("client_id")?,
            subject: r.read("subject")?,
            token_id: r.read("token_id")?,
            client_ip: r.read("client_ip")?,
            status: r.read("status")?,
            latency_us: r.read("latency_us")?,
            detail: r.read("detail")?,
        })
    }

    pub(super) fn into_event(self) -> StoreResult<AuditEvent> {
        Ok(AuditEvent {
            id: uuid(&self.id)?,
            at_ms: self.at_ms,
            source: parse_stored("audit source", &self.source, AuditSource::parse)?,
            action: self.action,
            outcome: parse_stored("audit outcome", &self.outcome, Outcome::parse)?,
            reason: self.reason,
            tenant_id: self.tenant_id,
            client_id: self.client_id,
            subject: self.subject,
            token_id: self.token_id,
            client_ip: self.client_ip,
            status: self.status.and_then(|s| u16::try_from(s).ok()),
            latency_us: self.latency_us,
            detail: serde_json::from_str(&self.detail).unwrap_or(serde_json::Value::Null),
        })
    }
}
