//! Prometheus metrics of the audit writer, served on the admin listener at `/metrics`: its
//! queue's cap and fill (back-pressure starts at the cap), and what it has committed.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub struct AuditWriterMetrics {
    registry: Registry,
    queued: Gauge,
    pub committed_records: Counter,
    pub committed_batches: Counter,
    pub write_failures: Counter,
}

impl AuditWriterMetrics {
    pub fn new(queue_capacity: usize, strict: bool) -> Self {
        let mut registry = Registry::with_prefix("tokengate_audit");
        let (capacity_gauge, queued, strict_gauge): (Gauge, Gauge, Gauge) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        capacity_gauge.set(queue_capacity as i64);
        strict_gauge.set(i64::from(strict));
        let (committed_records, committed_batches, write_failures) =
            (Counter::default(), Counter::default(), Counter::default());
        registry.register(
            "queue_capacity",
            "Records the audit queue holds before senders wait (back-pressure)",
            capacity_gauge.clone(),
        );
        registry.register("queue_records", "Records waiting for the audit writer", queued.clone());
        registry.register(
            "strict_durability",
            "1 when every answer waits for its audit record's commit ([audit] durability = \"strict\")",
            strict_gauge.clone(),
        );
        registry.register("committed_records", "Audit records committed by the writer", committed_records.clone());
        registry.register(
            "committed_batches",
            "Transactions (one fsync each) the audit writer committed",
            committed_batches.clone(),
        );
        registry.register(
            "write_failures",
            "Failed audit batch writes (each is retried; nothing is dropped)",
            write_failures.clone(),
        );
        AuditWriterMetrics { registry, queued, committed_records, committed_batches, write_failures }
    }

    pub fn render(&self, queued: usize) -> String {
        self.queued.set(queued as i64);
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
