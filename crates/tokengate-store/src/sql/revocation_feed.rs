//! TEMPORARY stubs (issue #10): replaced by the real revocation feed and node heartbeats.

use tokengate_core::audit::AuditEvent;
use tokengate_core::revocations::{NewRevocation, NodeHeartbeat, Revocation, RevocationEffects};
use tokengate_core::store::{FeedRead, FeedSubscription, NodeStore, RevocationStore, StoreError, StoreResult};
use tokengate_core::UnixTime;

use super::{forward_to_sql, SqlStore};

forward_to_sql! {
    RevocationStore {
        async fn revoke(&self, revocation: &NewRevocation, audit: &AuditEvent) -> StoreResult<(Revocation, RevocationEffects)>;
        async fn revocations_after(&self, after: i64, now: UnixTime) -> StoreResult<FeedRead>;
        async fn feed_head(&self) -> StoreResult<i64>;
        async fn forget_revocations(&self, now: UnixTime) -> StoreResult<u64>;
        async fn subscribe_to_feed(&self) -> StoreResult<Option<Box<dyn FeedSubscription>>>;
    }
}

forward_to_sql! {
    NodeStore {
        async fn heartbeat(&self, node: &NodeHeartbeat) -> StoreResult<()>;
        async fn nodes(&self) -> StoreResult<Vec<NodeHeartbeat>>;
        async fn forget_nodes(&self, before_ms: i64) -> StoreResult<u64>;
    }
}

fn todo<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not built yet".into()))
}

async fn revoke<S: SqlStore>(
    _s: &S,
    _r: &NewRevocation,
    _a: &AuditEvent,
) -> StoreResult<(Revocation, RevocationEffects)> {
    todo()
}
async fn revocations_after<S: SqlStore>(_s: &S, _after: i64, _now: UnixTime) -> StoreResult<FeedRead> {
    Ok(FeedRead::default())
}
async fn feed_head<S: SqlStore>(_s: &S) -> StoreResult<i64> {
    Ok(0)
}
async fn forget_revocations<S: SqlStore>(_s: &S, _now: UnixTime) -> StoreResult<u64> {
    Ok(0)
}
async fn subscribe_to_feed<S: SqlStore>(_s: &S) -> StoreResult<Option<Box<dyn FeedSubscription>>> {
    Ok(None)
}
async fn heartbeat<S: SqlStore>(_s: &S, _n: &NodeHeartbeat) -> StoreResult<()> {
    Ok(())
}
async fn nodes<S: SqlStore>(_s: &S) -> StoreResult<Vec<NodeHeartbeat>> {
    todo()
}
async fn forget_nodes<S: SqlStore>(_s: &S, _before_ms: i64) -> StoreResult<u64> {
    Ok(0)
}
