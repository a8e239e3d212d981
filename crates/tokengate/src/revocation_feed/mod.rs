//! Keeps this node's revocation set in step with the store's feed (`RevocationStore`), and tells
//! the store how far it got (`node_heartbeat`).
//!
//! - Start: subscribe first, then read the whole feed, so nothing committed in between is missed.
//! - Postgres: a `NOTIFY` carrying the new version wakes the loop, which reads every row after
//!   the version it applied. A lost listener connection drops notifications silently, so a
//!   reconnect (or any subscription error) triggers a full resync.
//! - Every `poll` (the backstop; the only path on SQLite, which has no notifications) the loop
//!   reads what is new; every `full_resync` it rereads everything, which also forgets rows past
//!   their lifetime.
//! - A write made by this process (`FeedHandle::written`) is applied at once, before the writer
//!   answers.
//!
//! A failed read keeps the last applied state (a store hiccup must never un-revoke anything); the
//! set's freshness stops advancing, and gateways fail closed once it is older than their bound.

pub mod feed_metrics;
pub mod node_heartbeat;

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::store::{FeedSignal, FeedSubscription, Store, StoreResult};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::signing_keys::KeyFollower;
use crate::state::now_ms;

/// Backstop poll when the store notifies (Postgres).
pub const NOTIFIED_POLL: Duration = Duration::from_secs(2);
/// Poll when the store cannot notify (SQLite: other writers are CLI processes on this machine).
pub const UNNOTIFIED_POLL: Duration = Duration::from_millis(250);
/// Full reread (drops forgotten rows, heals anything missed).
pub const FULL_RESYNC: Duration = Duration::from_secs(300);
/// At most one subscription attempt per this while listening is impossible.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// What the rest of the process uses to talk to the feed loop.
#[derive(Clone, Default)]
pub struct FeedHandle {
    wake: Arc<Notify>,
    /// The applied version, announced after every advance (key reloaders and heartbeats follow).
    advanced: Arc<watch::Sender<i64>>,
}

impl FeedHandle {
    pub fn new() -> FeedHandle {
        FeedHandle { wake: Arc::new(Notify::new()), advanced: Arc::new(watch::channel(0).0) }
    }

    /// This process wrote to the feed: read it now. Returns once the set has applied `version`
    /// (or after a bounded wait, if the store is unreachable).
    pub async fn written(&self, version: i64) {
        let mut rx = self.advanced.subscribe();
        self.wake.notify_one();
        let _ = tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|applied| *applied >= version)).await;
    }

    /// Versions as they are applied.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.advanced.subscribe()
    }
}

pub struct FeedLoop {
    pub store: Arc<dyn Store>,
    pub revocations: Arc<RevocationSet>,
    pub handle: FeedHandle,
    pub metrics: Arc<feed_metrics::FeedMetrics>,
    /// This node's signing-key ring: synced after every advance, before the version is announced.
    pub keys: Arc<KeyFollower>,
}

impl FeedLoop {
    /// Reads the whole feed and replaces the set.
    pub async fn resync(&self) -> StoreResult<()> {
        let read = self.store.revocations_after(0, now_ms() / 1000).await?;
        self.follow_keys().await;
        self.revocations.resync(&read.rows, read.head, now_ms());
        self.metrics.resyncs.inc();
        self.announce();
        Ok(())
    }

    /// Reads what came after the applied version.
    pub async fn catch_up(&self) -> StoreResult<()> {
        let read = self.store.revocations_after(self.revocations.applied_version(), now_ms() / 1000).await?;
        if read.head > self.revocations.applied_version() {
            // A key write may be among the new versions: the ring follows before they count.
            self.follow_keys().await;
        }
        self.revocations.apply(&read.rows, read.head, now_ms());
        self.announce();
        Ok(())
    }

    async fn follow_keys(&self) {
        if let Err(e) = self.keys.sync().await {
            tracing::warn!(error = %e, "following signing keys failed; keeping current keys (the backstop retries)");
        }
    }

    fn announce(&self) {
        self.metrics.observe(&self.revocations);
        let version = self.revocations.applied_version();
        self.handle.advanced.send_if_modified(|applied| {
            let moved = version > *applied;
            *applied = (*applied).max(version);
            moved
        });
    }

    pub fn spawn(self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            // Subscribe before the first read, so nothing committed in between is missed.
            let mut listener = self.listen().await;
            let mut last_listen = tokio::time::Instant::now();
            let mut failing = false;
            let mut needs_resync = true;
            let mut last_resync = tokio::time::Instant::now();
            loop {
                if matches!(listener, Listener::Retry) && last_listen.elapsed() >= RESUBSCRIBE_AFTER {
                    last_listen = tokio::time::Instant::now();
                    listener = self.listen().await;
                    if matches!(listener, Listener::Listening(_)) {
                        // Notifications sent before the subscription are lost: read everything.
                        needs_resync = true;
                    }
                }
                let result = if needs_resync || last_resync.elapsed() >= FULL_RESYNC {
                    last_resync = tokio::time::Instant::now();
                    self.resync().await
                } else {
                    self.catch_up().await
                };
                match result {
                    Ok(()) => {
                        needs_resync = false;
                        failing = false;
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!(error = %e, "reading the revocation feed failed; keeping the last applied set");
                        }
                        failing = true;
                        self.metrics.read_failures.inc();
                    }
                }
                let poll = match listener {
                    Listener::Listening(_) => NOTIFIED_POLL,
                    Listener::Absent | Listener::Retry => UNNOTIFIED_POLL,
                };
                self.metrics.listening.set(i64::from(matches!(listener, Listener::Listening(_))));
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(poll) => {}
                    _ = self.handle.wake.notified() => {}
                    signal = listener.next() => match signal {
                        // Whatever the version says, the loop reads what follows the applied one.
                        Ok(FeedSignal::Advanced(_)) => {}
                        Ok(FeedSignal::Reconnected) => {
                            tracing::info!("feed listener reconnected; resyncing in full");
                            needs_resync = true;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "feed listener failed; polling until it can listen again");
                            needs_resync = true;
                            listener = Listener::Retry;
                        }
                    },
                }
            }
        })
    }

    async fn listen(&self) -> Listener {
        match self.store.subscribe_to_feed().await {
            Ok(Some(subscription)) => Listener::Listening(subscription),
            Ok(None) => Listener::Absent,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for feed notifications yet; polling meanwhile");
                Listener::Retry
            }
        }
    }
}

/// Notifications of feed advances, where the store has them.
enum Listener {
    /// The store cannot notify (SQLite): polling is the path.
    Absent,
    Listening(Box<dyn FeedSubscription>),
    /// Subscribing failed (the store is unreachable): poll, and subscribe again on each turn.
    Retry,
}

impl Listener {
    /// The next notification, or never when not listening.
    async fn next(&mut self) -> StoreResult<FeedSignal> {
        match self {
            Listener::Listening(s) => s.next().await,
            Listener::Absent | Listener::Retry => std::future::pending().await,
        }
    }
}
