//! The audit log: appending (multi-row INSERTs), reading newest first, pruning; and the helpers
//! that commit an audit record in the same transaction as the change it describes. Never
//! updates or deletes a record except by retention (`prune_audit`).

use sqlx::Transaction;
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::store::{AuditQuery, AuditStore, StoreError, StoreResult};

use super::backend::Backend;
use super::row::{uuid, SqlRow};
use super::statement::{begin, commit, query, Statement};
use super::{forward_to_sql, SqlStore};
use crate::error::parse_stored;

/// Rows per multi-row audit INSERT: 14 parameters each stays far below both dialects' limits.
const AUDIT_ROWS_PER_INSERT: usize = 128;
const AUDIT_COLUMNS: usize = 14;

const INSERT_AUDIT: &str = "INSERT INTO audit_events (id, at_ms, source, action, outcome, reason, tenant_id, \
     client_id, subject, token_id, client_ip, status, latency_us, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
     $9, $10, $11, $12, $13, $14)";

/// `INSERT INTO audit_events (...) VALUES ($1..$14), ($15..$28), ...` for `rows` rows, or with
/// anonymous `?` placeholders where `positional` (SQLite: it resolves each `$n` by a linear scan of
/// the statement's parameter names, which makes binding a large statement quadratic — measured:
/// a third of the gateway's CPU before this).
fn multi_row_audit_insert(rows: usize, positional: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO audit_events (id, at_ms, source, action, outcome, reason, tenant_id, client_id, subject, \
         token_id, client_ip, status, latency_us, detail) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..AUDIT_COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            if positional {
                sql.push('?');
            } else {
                sql.push_str(&format!("${}", row * AUDIT_COLUMNS + col + 1));
            }
        }
        sql.push(')');
    }
    sql
}

/// Binds the fourteen columns of one record, in the order of the INSERTs above.
fn bind_event<'q, DB: Backend>(statement: Statement<'q, DB>, e: &'q AuditEvent) -> Statement<'q, DB> {
    statement
        .bind(e.id.to_string())
        .bind(e.at_ms)
        .bind(e.source.as_str())
        .bind(&e.action)
        .bind(e.outcome.as_str())
        .bind(&e.reason)
        .bind(&e.tenant_id)
        .bind(&e.client_id)
        .bind(&e.subject)
        .bind(&e.token_id)
        .bind(&e.client_ip)
        .bind(e.status.map(i64::from))
        .bind(e.latency_us)
        .bind(e.detail.to_string())
}

/// Writes `e` inside `tx`, so it commits (or not) with the change it records.
pub(super) async fn write_audit<DB: Backend>(tx: &mut Transaction<'_, DB>, e: &AuditEvent) -> StoreResult<()> {
    bind_event(query(INSERT_AUDIT), e).execute(tx).await?;
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
    // Multi-row INSERTs: one statement per chunk instead of one per record (each statement is a
    // hand-off to the driver; the gateway writes one record per request).
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    for chunk in events.chunks(AUDIT_ROWS_PER_INSERT) {
        let sql = multi_row_audit_insert(chunk.len(), S::Db::POSITIONAL_PARAMETERS);
        let mut statement = query(&sql);
        for e in chunk {
            statement = bind_event(statement, e);
        }
        statement.execute(&mut tx).await?;
    }
    commit(tx).await
}

async fn prune_audit<S: SqlStore>(store: &S, before_ms: i64) -> StoreResult<u64> {
    let _writer = store.writer().await;
    query("DELETE FROM audit_events WHERE at_ms < $1").bind(before_ms).execute(store.pool()).await
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
struct AuditRow {
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
    fn read(r: &impl SqlRow) -> StoreResult<Self> {
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

    fn into_event(self) -> StoreResult<AuditEvent> {
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

#[cfg(test)]
mod tests {
    use super::{multi_row_audit_insert, AUDIT_COLUMNS};

    #[test]
    fn multi_row_insert_numbers_its_parameters_or_leaves_them_anonymous() {
        let numbered = multi_row_audit_insert(2, false);
        let second_row = "($15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)";
        assert!(numbered.ends_with(&format!("$13, $14), {second_row}")), "{numbered}");
        let positional = multi_row_audit_insert(2, true);
        assert_eq!(positional.matches('?').count(), 2 * AUDIT_COLUMNS);
        assert!(!positional.contains('$'), "{positional}");
        assert_eq!(positional.split(" VALUES ").next(), numbered.split(" VALUES ").next());
    }
}
