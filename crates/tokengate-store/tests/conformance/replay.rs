//! Replay protection.

use std::sync::Arc;

use tokengate_core::store::{Store, UseRecord};
use uuid::Uuid;

async fn replay_protection(store: &Arc<dyn Store>) {
    let ns = format!("assertion:{}", Uuid::new_v4());
    assert_eq!(store.record_use(&ns, "jti-1", b"a", 100, 10).await.unwrap(), UseRecord::First);
    assert_eq!(store.record_use(&ns, "jti-1", b"a", 100, 20).await.unwrap(), UseRecord::Repeated);
    assert_eq!(store.record_use(&ns, "jti-1", b"b", 100, 20).await.unwrap(), UseRecord::Conflicting);
    assert_eq!(store.record_use(&ns, "jti-2", b"a", 100, 20).await.unwrap(), UseRecord::First);
    assert_eq!(
        store.record_use("other", "jti-1", b"b", 100, 20).await.unwrap(),
        UseRecord::First,
        "namespaces are separate"
    );
    assert_eq!(
        store.record_use(&ns, "jti-1", b"b", 300, 101).await.unwrap(),
        UseRecord::First,
        "expired record no longer counts"
    );

    // Concurrent first uses: exactly one wins.
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(store);
        let ns = ns.clone();
        handles.push(tokio::spawn(async move {
            store.record_use(&ns, "race", b"f", 1000, 50).await.unwrap() == UseRecord::First
        }));
    }
    let mut wins = 0;
    for h in handles {
        wins += usize::from(h.await.unwrap());
    }
    assert_eq!(wins, 1);
}

on_every_backend!(replay_protection);
