//! Reading the audit log as chained records (verify, export, query) and storing the signed
//! checkpoints of its head. Checkpoints are never deleted: retention prunes records only.

use tokengate_core::audit_chain::{ChainHash, ChainedRecord};
use tokengate_core::audit_checkpoint::Checkpoint;
use tokengate_core::audit_records::{AuditChainStore, AuditRecordFilter};
use tokengate_core::store::StoreResult;

use super::audit::AuditRow;
use super::backend::Backend;
use super::row::SqlRow;
use super::statement::query;
use super::{forward_to_sql, SqlStore};
use crate::error::corrupt;

/// A bound value of an audit query.
enum Param<'a> {
    Int(i64),
    Text(&'a str),
}

forward_to_sql! {
    AuditChainStore {
        async fn audit_records(&self, filter: &AuditRecordFilter) -> StoreResult<Vec<ChainedRecord>>;
        async fn audit_chain_head(&self) -> StoreResult<Option<(i64, ChainHash)>>;
        async fn insert_audit_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()>;
        async fn audit_checkpoints(&self) -> StoreResult<Vec<Checkpoint>>;
    }
}

/// Only the filters given become conditions: a `(? IS NULL OR col = ?)` form would keep the
/// planners (SQLite's above all) from using the lookup indexes on a large log.
async fn audit_records<S: SqlStore>(store: &S, f: &AuditRecordFilter) -> StoreResult<Vec<ChainedRecord>> {
    let order = if f.newest_first { "DESC" } else { "ASC" };
    let route = S::Db::detail_field("route");
    let actor = S::Db::detail_field("actor");
    let route = format!("{route} =");
    let actor = format!("{actor} =");
    let candidates: [(&str, Option<Param<'_>>); 12] = [
        ("seq >", f.after_seq.map(Param::Int)),
        ("action =", f.action.as_deref().map(Param::Text)),
        ("outcome =", f.outcome.map(|o| Param::Text(o.as_str()))),
        ("subject =", f.subject.as_deref().map(Param::Text)),
        ("client_id =", f.client_id.as_deref().map(Param::Text)),
        ("source =", f.source.map(|s| Param::Text(s.as_str()))),
        ("reason =", f.reason.as_deref().map(Param::Text)),
        ("tenant_id =", f.tenant_id.as_deref().map(Param::Text)),
        ("token_id =", f.token_id.as_deref().map(Param::Text)),
        (route.as_str(), f.route.as_deref().map(Param::Text)),
        (actor.as_str(), f.actor.as_deref().map(Param::Text)),
        ("id =", f.id.as_deref().map(Param::Text)),
    ];
    // Time bounds go in as literals (integers, never text): Postgres then plans each range for
    // its own selectivity, where a generic plan for a prepared `at_ms >= $n` was measured to walk
    // millions of rows in seq order for a one-hour window.
    let mut conditions: Vec<String> = Vec::new();
    if let Some(since) = f.since_ms {
        conditions.push(format!("at_ms >= {since}"));
    }
    if let Some(until) = f.until_ms {
        conditions.push(format!("at_ms < {until}"));
    }
    let mut params: Vec<Param<'_>> = Vec::new();
    for (column, value) in candidates {
        if let Some(value) = value {
            params.push(value);
            conditions.push(format!("{column} ${}", params.len()));
        }
    }
    let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    let sql = format!(
        "SELECT seq, prev_hash, chain_hash, id, at_ms, source, action, outcome, reason, tenant_id, client_id, \
         subject, token_id, client_ip, status, latency_us, detail FROM audit_events {filter} \
         ORDER BY seq {order} LIMIT {}",
        i64::from(f.limit.clamp(1, 10_000)),
    );
    let mut statement = query(&sql);
    for param in params {
        statement = match param {
            Param::Int(v) => statement.bind(v),
            Param::Text(v) => statement.bind(v),
        };
    }
    let rows = statement.fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(ChainedRecord {
                seq: r.read("seq")?,
                prev_hash: stored_hash(r.read("prev_hash")?)?,
                chain_hash: stored_hash(r.read("chain_hash")?)?,
                event: AuditRow::read(r)?.into_event()?,
            })
        })
        .collect()
}

async fn audit_chain_head<S: SqlStore>(store: &S) -> StoreResult<Option<(i64, ChainHash)>> {
    // The newest chained record rather than the head row: the head row also counts records
    // written before the chain existed.
    let row = query("SELECT seq, chain_hash FROM audit_events WHERE chain_hash IS NOT NULL ORDER BY seq DESC LIMIT 1")
        .fetch_optional(store.pool())
        .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let hash: String = r.read("chain_hash")?;
            Ok(Some((r.read("seq")?, ChainHash::from_hex(&hash).ok_or_else(|| corrupt("audit chain hash"))?)))
        }
    }
}

async fn insert_audit_checkpoint<S: SqlStore>(store: &S, c: &Checkpoint) -> StoreResult<()> {
    let _writer = store.writer().await;
    query(
        "INSERT INTO audit_checkpoints (seq, chain_hash, at_ms, signature) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (seq) DO NOTHING",
    )
    .bind(c.seq)
    .bind(c.chain_hash.to_hex())
    .bind(c.at_ms)
    .bind(&c.signature)
    .execute(store.pool())
    .await?;
    Ok(())
}

async fn audit_checkpoints<S: SqlStore>(store: &S) -> StoreResult<Vec<Checkpoint>> {
    let rows = query("SELECT seq, chain_hash, at_ms, signature FROM audit_checkpoints ORDER BY seq")
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let hash: String = r.read("chain_hash")?;
            Ok(Checkpoint {
                seq: r.read("seq")?,
                chain_hash: ChainHash::from_hex(&hash).ok_or_else(|| corrupt("audit checkpoint hash"))?,
                at_ms: r.read("at_ms")?,
                signature: r.read("signature")?,
            })
        })
        .collect()
}

/// A stored hash column: NULL for records from before the chain; anything else must be a hash.
fn stored_hash(text: Option<String>) -> StoreResult<Option<ChainHash>> {
    match text {
        None => Ok(None),
        Some(t) => ChainHash::from_hex(&t).map(Some).ok_or_else(|| corrupt("audit chain hash")),
    }
}
