//! Signed checkpoints of the audit chain head, written by nodes that hold the key-encryption key
//! (the issuer role): every 30 s when the head moved, so a checkpoint is never more than a minute
//! behind, and once more at shutdown. Deleting the newest records is then caught by
//! `tokengate audit verify`: a checkpoint names a seq that is gone. Several issuer nodes may
//! checkpoint the same head; the store keeps the first.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::audit_checkpoint::CheckpointKey;
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Half the promised minute, so a slow store write still lands within it.
const PERIOD: Duration = Duration::from_secs(30);

pub fn spawn(store: Arc<dyn Store>, kek: &KeyEncryptionKey, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let key = CheckpointKey::from_kek(kek);
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let running = crate::periodic::sleep_or_stop(PERIOD, &mut shutdown).await;
            last = checkpoint_if_moved(store.as_ref(), &key, last).await;
            if !running {
                return;
            }
        }
    })
}

/// Signs and stores the head when it differs from `last` (the seq checkpointed last); returns
/// the seq now checkpointed. A failure is logged and retried on the next tick.
async fn checkpoint_if_moved(store: &dyn Store, key: &CheckpointKey, last: Option<i64>) -> Option<i64> {
    let head = match store.audit_chain_head().await {
        Ok(head) => head,
        Err(e) => {
            tracing::warn!(error = %e, "reading the audit chain head for a checkpoint failed");
            return last;
        }
    };
    let Some((seq, hash)) = head else {
        return last;
    };
    if last == Some(seq) {
        return last;
    }
    match store.insert_audit_checkpoint(&key.sign(seq, hash, crate::state::now_ms())).await {
        Ok(()) => Some(seq),
        Err(e) => {
            tracing::warn!(error = %e, seq, "writing an audit checkpoint failed");
            last
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};

    #[tokio::test]
    async fn checkpoints_the_head_only_when_it_moved() {
        let store: Arc<dyn Store> = Arc::new(tokengate_store::SqliteStore::in_memory().await.unwrap());
        let key = CheckpointKey::from_kek(&KeyEncryptionKey::from_bytes(&[5; 32]).unwrap());
        assert_eq!(checkpoint_if_moved(store.as_ref(), &key, None).await, None, "no records, no checkpoint");
        let event = AuditEvent::new(AuditSource::Gateway, "gateway.request", Outcome::Allowed, 1);
        store.append_audit(&[event.clone(), event.clone()]).await.unwrap();
        assert_eq!(checkpoint_if_moved(store.as_ref(), &key, None).await, Some(2));
        assert_eq!(checkpoint_if_moved(store.as_ref(), &key, Some(2)).await, Some(2));
        assert_eq!(store.audit_checkpoints().await.unwrap().len(), 1);
        store.append_audit(&[event]).await.unwrap();
        assert_eq!(checkpoint_if_moved(store.as_ref(), &key, Some(2)).await, Some(3));
        let checkpoints = store.audit_checkpoints().await.unwrap();
        assert_eq!(checkpoints.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![2, 3]);
        assert!(checkpoints.iter().all(|c| key.verifies(c)));
    }
}
