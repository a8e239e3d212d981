//! Node heartbeats: replaced on every beat, listed by name, forgotten when old.

use std::sync::Arc;

use tokengate_core::revocations::NodeHeartbeat;
use tokengate_core::store::Store;

fn node(node_id: &str, name: &str, heartbeat_at_ms: i64) -> NodeHeartbeat {
    NodeHeartbeat {
        node_id: node_id.into(),
        name: name.into(),
        roles: "issuer,gateway".into(),
        software_version: "0.9.0".into(),
        started_at_ms: 1_000,
        heartbeat_at_ms,
        applied_revocation_version: 0,
        applied_policy_version: None,
        last_sync_ms: 0,
        ready: false,
    }
}

async fn node_heartbeats(store: &Arc<dyn Store>) {
    assert!(store.nodes().await.unwrap().is_empty());
    let b = node("id-1", "host-b:10", 5_000);
    let a = node("id-2", "host-a:20", 6_000);
    store.heartbeat(&b).await.unwrap();
    store.heartbeat(&a).await.unwrap();
    assert_eq!(store.nodes().await.unwrap(), vec![a.clone(), b.clone()], "by name");

    // A later beat replaces every field of the node's row.
    let b2 = NodeHeartbeat {
        roles: "admin".into(),
        software_version: "0.9.1".into(),
        started_at_ms: 2_000,
        heartbeat_at_ms: 9_000,
        applied_revocation_version: 42,
        applied_policy_version: Some("policy-7".into()),
        last_sync_ms: 8_900,
        ready: true,
        ..b.clone()
    };
    store.heartbeat(&b2).await.unwrap();
    assert_eq!(store.nodes().await.unwrap(), vec![a.clone(), b2.clone()]);

    assert_eq!(store.forget_nodes(6_000).await.unwrap(), 0, "not before its last beat");
    assert_eq!(store.forget_nodes(6_001).await.unwrap(), 1);
    assert_eq!(store.nodes().await.unwrap(), vec![b2]);
}

on_every_backend!(node_heartbeats);
