//! Node heartbeats (`NodeStore`): each node's row is replaced on every heartbeat, so an operator
//! sees who runs, what, and how far each node has applied the revocation feed.

use tokengate_core::revocations::NodeHeartbeat;
use tokengate_core::store::{NodeStore, StoreResult};

use super::row::SqlRow;
use super::statement::query;
use super::{forward_to_sql, SqlStore};

const NODE_COLUMNS: &str = "node_id, name, roles, software_version, started_at_ms, heartbeat_at_ms, \
     applied_revocation_version, applied_policy_version, last_sync_ms, ready";

forward_to_sql! {
    NodeStore {
        async fn heartbeat(&self, node: &NodeHeartbeat) -> StoreResult<()>;
        async fn nodes(&self) -> StoreResult<Vec<NodeHeartbeat>>;
        async fn forget_nodes(&self, before_ms: i64) -> StoreResult<u64>;
    }
}

async fn heartbeat<S: SqlStore>(store: &S, n: &NodeHeartbeat) -> StoreResult<()> {
    let _writer = store.writer().await;
    query(&format!(
        "INSERT INTO nodes ({NODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, roles = excluded.roles, \
         software_version = excluded.software_version, started_at_ms = excluded.started_at_ms, \
         heartbeat_at_ms = excluded.heartbeat_at_ms, applied_revocation_version = excluded.applied_revocation_version, \
         applied_policy_version = excluded.applied_policy_version, last_sync_ms = excluded.last_sync_ms, \
         ready = excluded.ready"
    ))
    .bind(&n.node_id)
    .bind(&n.name)
    .bind(&n.roles)
    .bind(&n.software_version)
    .bind(n.started_at_ms)
    .bind(n.heartbeat_at_ms)
    .bind(n.applied_revocation_version)
    .bind(&n.applied_policy_version)
    .bind(n.last_sync_ms)
    .bind(n.ready)
    .execute(store.pool())
    .await?;
    Ok(())
}

async fn nodes<S: SqlStore>(store: &S) -> StoreResult<Vec<NodeHeartbeat>> {
    query(&format!("SELECT {NODE_COLUMNS} FROM nodes ORDER BY name, node_id"))
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(node_from_row)
        .collect()
}

async fn forget_nodes<S: SqlStore>(store: &S, before_ms: i64) -> StoreResult<u64> {
    let _writer = store.writer().await;
    query("DELETE FROM nodes WHERE heartbeat_at_ms < $1").bind(before_ms).execute(store.pool()).await
}

fn node_from_row(row: &impl SqlRow) -> StoreResult<NodeHeartbeat> {
    Ok(NodeHeartbeat {
        node_id: row.read("node_id")?,
        name: row.read("name")?,
        roles: row.read("roles")?,
        software_version: row.read("software_version")?,
        started_at_ms: row.read("started_at_ms")?,
        heartbeat_at_ms: row.read("heartbeat_at_ms")?,
        applied_revocation_version: row.read("applied_revocation_version")?,
        applied_policy_version: row.read("applied_policy_version")?,
        last_sync_ms: row.read("last_sync_ms")?,
        ready: row.read("ready")?,
    })
}
