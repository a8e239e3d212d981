//! Every node writes a heartbeat into the store: who it is, which roles it runs, how far it has
//! applied the feed and whether it serves. `tokengate nodes` lists them; `revoke --wait` waits
//! for every live gateway to reach a version. A heartbeat follows every feed advance at once
//! (so `--wait` returns as soon as the node applied), and at least every `HEARTBEAT_PERIOD`.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::revocations::NodeHeartbeat;
use tokengate_core::store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::FeedHandle;
use crate::state::now_ms;

pub const HEARTBEAT_PERIOD: Duration = Duration::from_secs(1);
/// Nodes silent for this long are deleted from the list by any live node.
const FORGET_GONE_AFTER_MS: i64 = 3_600_000;

/// Who this process is, fixed at start.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub node_id: String,
    pub name: String,
    pub roles: String,
    pub started_at_ms: i64,
}

impl NodeIdentity {
    pub fn new(roles: &[&str]) -> NodeIdentity {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        NodeIdentity {
            node_id: uuid::Uuid::new_v4().to_string(),
            name: format!("{host}:{}", std::process::id()),
            roles: roles.join(","),
            started_at_ms: now_ms(),
        }
    }
}

/// What the heartbeat reports beyond the feed: the policy version and whether the node serves.
pub trait NodeStatus: Send + Sync {
    fn applied_policy_version(&self) -> Option<String>;
    fn ready(&self) -> bool;
}

pub fn spawn(
    store: Arc<dyn Store>,
    identity: NodeIdentity,
    revocations: Arc<RevocationSet>,
    feed: FeedHandle,
    status: Arc<dyn NodeStatus>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut advanced = feed.subscribe();
        let mut failing = false;
        let mut beats: u64 = 0;
        loop {
            let beat = heartbeat(&identity, &revocations, status.as_ref(), now_ms());
            match store.heartbeat(&beat).await {
                Ok(()) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "writing this node's heartbeat failed");
                }
                Err(_) => {}
            }
            beats += 1;
            if beats % 600 == 1 {
                let _ = store.forget_nodes(now_ms() - FORGET_GONE_AFTER_MS).await;
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(HEARTBEAT_PERIOD) => {}
                changed = advanced.changed() => if changed.is_err() { break },
            }
        }
        // A stopped node is gone at once, not after the silence threshold.
        let mut last = heartbeat(&identity, &revocations, status.as_ref(), 0);
        last.ready = false;
        let _ = store.heartbeat(&last).await;
    })
}

fn heartbeat(
    identity: &NodeIdentity,
    revocations: &RevocationSet,
    status: &dyn NodeStatus,
    at_ms: i64,
) -> NodeHeartbeat {
    NodeHeartbeat {
        node_id: identity.node_id.clone(),
        name: identity.name.clone(),
        roles: identity.roles.clone(),
        software_version: env!("CARGO_PKG_VERSION").into(),
        started_at_ms: identity.started_at_ms,
        heartbeat_at_ms: at_ms,
        applied_revocation_version: revocations.applied_version(),
        applied_policy_version: status.applied_policy_version(),
        last_sync_ms: revocations.last_sync_ms(),
        ready: status.ready(),
    }
}
