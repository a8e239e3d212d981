//! Audit records leave request handlers through a bounded queue and reach the store in batches
//! (one transaction, hence one fsync, per batch: group commit), so a request never waits for a
//! disk sync of its own. A full queue applies back-pressure to the sender; nothing is dropped
//! silently. On shutdown the writer drains the queue before it exits.
//!
//! Two durabilities (`[audit] durability`):
//! - `buffered` (default): a request is answered once its record is queued. SIGTERM loses
//!   nothing (the queue is drained), but `kill -9` or power loss loses what was queued and not
//!   yet committed — at most one batch.
//! - `strict`: no answer without a durable record. `record` returns only after the batch holding
//!   the record has committed; the batch's one commit releases every request in it, so the cost
//!   is a wait of about one commit, not an fsync per request.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::audit::AuditEvent;
use tokengate_core::store::Store;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::audit_writer_metrics::AuditWriterMetrics;

/// At most this many records wait for the writer; senders wait beyond it (`/metrics`:
/// `tokengate_audit_queue_capacity`). Under sustained load the writer sets the pace and the
/// queue stays full, so this is memory held for as long as the load lasts: 4,096 records (100 to
/// 300 ms of the writer's work, enough to ride out a slow commit) instead of 16,384 saved about
/// 25 MB of RSS under `bench/gateway_memory.sh` (212 -> 187 MB), at the same throughput.
pub const QUEUE_CAPACITY: usize = 4_096;
/// At most this many records per transaction.
const MAX_BATCH: usize = 4_096;

/// When a request's audit record must be durable (`[audit] durability`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AuditDurability {
    /// Answer once the record is queued; batches commit in the background.
    #[default]
    Buffered,
    /// Answer only after the record's batch has committed.
    Strict,
}

/// One queued record, with whom to tell when it is durable (strict mode only).
struct Queued {
    event: AuditEvent,
    committed: Option<oneshot::Sender<()>>,
}

#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Queued>,
    durability: AuditDurability,
    metrics: Arc<AuditWriterMetrics>,
}

impl AuditSink {
    /// Queues a record; waits while the queue is full (back-pressure, never loss). In strict
    /// mode, waits until the record has committed. The writer stops only after every listener
    /// has drained (see `runtime`), so while requests are served a record always finds it.
    pub async fn record(&self, event: AuditEvent) {
        let (committed, done) = match self.durability {
            AuditDurability::Buffered => (None, None),
            AuditDurability::Strict => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
        };
        if self.tx.send(Queued { event, committed }).await.is_err() {
            tracing::error!("audit writer has stopped; record could not be queued");
            return;
        }
        // The writer drops the sender only if it stops without committing the batch.
        if let Some(done) = done {
            if done.await.is_err() {
                tracing::error!("audit writer stopped before the record was committed");
            }
        }
    }

    /// The writer's metrics, in the text exposition format.
    pub fn render_metrics(&self) -> String {
        self.metrics.render(self.tx.max_capacity() - self.tx.capacity())
    }
}

/// Starts the writer task. It ends when `shutdown` flips (after draining what was queued) or
/// when every `AuditSink` is dropped.
pub fn start(
    store: Arc<dyn Store>,
    durability: AuditDurability,
    mut shutdown: watch::Receiver<bool>,
) -> (AuditSink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Queued>(QUEUE_CAPACITY);
    let metrics = Arc::new(AuditWriterMetrics::new(QUEUE_CAPACITY, durability == AuditDurability::Strict));
    let writer = Writer { store, metrics: metrics.clone(), events: Vec::with_capacity(MAX_BATCH) };
    let handle = tokio::spawn(async move {
        let mut writer = writer;
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            tokio::select! {
                received = rx.recv_many(&mut batch, MAX_BATCH) => {
                    if received == 0 {
                        return;
                    }
                    writer.write(&mut batch).await;
                }
                _ = shutdown.changed() => break,
            }
        }
        // Refuse new records, then write everything already queued.
        rx.close();
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            writer.write(&mut batch).await;
        }
    });
    (AuditSink { tx, durability, metrics }, handle)
}

struct Writer {
    store: Arc<dyn Store>,
    metrics: Arc<AuditWriterMetrics>,
    /// Reused between batches: the records of the batch being written.
    events: Vec<AuditEvent>,
}

impl Writer {
    /// Commits `batch` (retrying until it succeeds), then releases its strict-mode waiters.
    async fn write(&mut self, batch: &mut Vec<Queued>) {
        self.events.clear();
        let mut waiters = Vec::new();
        for q in batch.drain(..) {
            self.events.push(q.event);
            waiters.extend(q.committed);
        }
        let mut delay = Duration::from_millis(50);
        loop {
            match self.store.append_audit(&self.events).await {
                Ok(()) => break,
                Err(e) => {
                    // Keep the batch and retry: the queue fills and back-pressure slows producers
                    // rather than losing records.
                    self.metrics.write_failures.inc();
                    tracing::error!(error = %e, records = self.events.len(), "audit write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.metrics.committed_records.inc_by(self.events.len() as u64);
        self.metrics.committed_batches.inc();
        for w in waiters {
            // A waiter that went away (client disconnected) needs no answer.
            let _ = w.send(());
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
