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

forward_to_sql! {
    AuditChainStore {
        async fn audit_records(&self, filter: &AuditRecordFilter) -> StoreResult<Vec<ChainedRecord>>;
        async fn audit_chain_head(&self) -> StoreResult<Option<(i64, ChainHash)>>;
        async fn insert_audit_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()>;
        async fn audit_checkpoints(&self) -> StoreResult<Vec<Checkpoint>>;
    }
}

async fn audit_records<S: SqlStore>(store: &S, f: &AuditRecordFilter) -> StoreResult<Vec<ChainedRecord>> {
    let order = if f.newest_first { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT seq, prev_hash, chain_hash, id, at_ms, source, action, outcome, reason, tenant_id, client_id, \
         subject, token_id, client_ip, status, latency_us, detail FROM audit_events \
         WHERE ($1 IS NULL OR seq > $1) AND ($2 IS NULL OR at_ms >= $2) AND ($3 IS NULL OR at_ms < $3) \
         AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR outcome = $5) AND ($6 IS NULL OR subject = $6) \
         AND ($7 IS NULL OR client_id = $7) AND ($9 IS NULL OR source = $9) AND ($10 IS NULL OR reason = $10) \
         AND ($11 IS NULL OR tenant_id = $11) AND ($12 IS NULL OR token_id = $12) \
         AND ($13 IS NULL OR {route} = $13) AND ($14 IS NULL OR {actor} = $14) AND ($15 IS NULL OR id = $15) \
         ORDER BY seq {order} LIMIT $8",
        route = S::Db::detail_field("route"),
        actor = S::Db::detail_field("actor"),
    );
    let rows = query(&sql)
        .bind(f.after_seq)
        .bind(f.since_ms)
        .bind(f.until_ms)
        .bind(f.action.as_deref())
        .bind(f.outcome.map(|o| o.as_str()))
        .bind(f.subject.as_deref())
        .bind(f.client_id.as_deref())
        .bind(i64::from(f.limit.clamp(1, 10_000)))
        .bind(f.source.map(|s| s.as_str()))
        .bind(f.reason.as_deref())
        .bind(f.tenant_id.as_deref())
        .bind(f.token_id.as_deref())
        .bind(f.route.as_deref())
        .bind(f.actor.as_deref())
        .bind(f.id.as_deref())
        .fetch_all(store.pool())
        .await?;
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
