//! Audit records leave request handlers through a bounded queue and reach the store in batches
//! (one transaction per batch), so a token request never waits for a disk sync of its own. A
//! full queue applies back-pressure to the sender; nothing is dropped silently. On shutdown the
//! writer drains the queue before it exits.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::audit::AuditEvent;
use tokengate_core::store::Store;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const QUEUE_CAPACITY: usize = 16_384;
const MAX_BATCH: usize = 4_096;

#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<AuditEvent>,
}

impl AuditSink {
    /// Queues a record; waits while the queue is full (back-pressure, never loss).
    pub async fn record(&self, event: AuditEvent) {
        if self.tx.send(event).await.is_err() {
            tracing::error!("audit writer has stopped; record could not be queued");
        }
    }
}

/// Starts the writer task. It ends when `shutdown` flips (after draining what was queued) or
/// when every `AuditSink` is dropped.
pub fn start(store: Arc<dyn Store>, mut shutdown: watch::Receiver<bool>) -> (AuditSink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<AuditEvent>(QUEUE_CAPACITY);
    let handle = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            tokio::select! {
                received = rx.recv_many(&mut batch, MAX_BATCH) => {
                    if received == 0 {
                        return;
                    }
                    write_with_retry(store.as_ref(), &batch).await;
                    batch.clear();
                }
                _ = shutdown.changed() => break,
            }
        }
        // Refuse new records, then write everything already queued.
        rx.close();
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            write_with_retry(store.as_ref(), &batch).await;
            batch.clear();
        }
    });
    (AuditSink { tx }, handle)
}

async fn write_with_retry(store: &dyn Store, batch: &[AuditEvent]) {
    let mut delay = Duration::from_millis(50);
    loop {
        match store.append_audit(batch).await {
            Ok(()) => return,
            Err(e) => {
                // Keep the batch and retry: the queue fills and back-pressure slows producers
                // rather than losing records.
                tracing::error!(error = %e, records = batch.len(), "audit write failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Deletes audit records older than `retention`, hourly (and once at start); the store records
/// each pruning as an audit record of its own.
pub fn spawn_retention(
    store: Arc<dyn Store>,
    retention: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let cutoff = crate::state::now_ms() - retention.as_millis() as i64;
            // The store records each pruning in the same transaction (`audit.pruned`), so the
            // gap it leaves at the start of the hash chain is explained on the chain itself.
            if let Err(e) = store.prune_audit(cutoff).await {
                tracing::warn!(error = %e, "audit retention pass failed");
            }
            // Spent codes and expired refresh tokens go too: without this every rotation would
            // leave a row behind forever.
            if let Err(e) = store.purge_expired_tokens(crate::state::now()).await {
                tracing::warn!(error = %e, "purging expired delegated tokens failed");
            }
            if let Err(e) = store.purge_expired_sessions(crate::state::now()).await {
                tracing::warn!(error = %e, "purging expired sign-in sessions failed");
            }
            if !crate::periodic::sleep_or_stop(Duration::from_secs(3600), &mut shutdown).await {
                return;
            }
        }
    })
}
