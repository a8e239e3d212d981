//! Prometheus metrics of the revocation feed, served on the admin listener at `/metrics`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokengate_core::access::revocation::RevocationSet;

pub struct FeedMetrics {
    registry: Registry,
    applied_version: Gauge,
    entries: Gauge,
    seconds_since_sync: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub resyncs: Counter,
    pub read_failures: Counter,
    /// 1 while the node listens for notifications (Postgres), 0 while it only polls.
    pub listening: Gauge,
}

impl Default for FeedMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tokengate_revocations");
        let applied_version = Gauge::default();
        let entries = Gauge::default();
        let seconds_since_sync = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let resyncs = Counter::default();
        let read_failures = Counter::default();
        let listening = Gauge::default();
        registry.register("applied_version", "Highest feed version this node has applied", applied_version.clone());
        registry.register("entries", "Revocations in this node's set", entries.clone());
        registry.register(
            "seconds_since_sync",
            "Seconds since this node last read the feed successfully (-1: never)",
            seconds_since_sync.clone(),
        );
        registry.register("resyncs", "Full rereads of the feed", resyncs.clone());
        registry.register("read_failures", "Failed reads of the feed", read_failures.clone());
        registry.register(
            "listening",
            "1 while this node listens for feed notifications, 0 while it only polls",
            listening.clone(),
        );
        FeedMetrics { registry, applied_version, entries, seconds_since_sync, resyncs, read_failures, listening }
    }
}

impl FeedMetrics {
    pub fn observe(&self, set: &RevocationSet) {
        self.applied_version.set(set.applied_version());
        self.entries.set(set.len() as i64);
    }

    pub fn render(&self, set: &RevocationSet, now_ms: i64) -> String {
        self.observe(set);
        let last = set.last_sync_ms();
        self.seconds_since_sync.set(if last == 0 { -1.0 } else { (now_ms - last) as f64 / 1000.0 });
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
