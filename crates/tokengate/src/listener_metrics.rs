//! Prometheus metrics of the listeners (issuer, gateway, admin), served with the gateway's on the
//! admin listener at `/metrics`: open connections, connections refused by a cap, timeouts.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabel {
    pub listener: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub listener: String,
    /// `per_ip_cap` / `total_cap` for refusals; `header_read` / `idle` / `tls_handshake` for timeouts.
    pub reason: String,
}

pub struct ListenerMetrics {
    registry: Registry,
    pub open_connections: Family<ListenerLabel, Gauge>,
    pub refused_connections: Family<ReasonLabels, Counter>,
    pub timeouts: Family<ReasonLabels, Counter>,
}

impl ListenerMetrics {
    pub fn new() -> ListenerMetrics {
        let mut registry = Registry::with_prefix("tokengate_listener");
        let open_connections = Family::<ListenerLabel, Gauge>::default();
        let refused_connections = Family::<ReasonLabels, Counter>::default();
        let timeouts = Family::<ReasonLabels, Counter>::default();
        registry.register("open_connections", "Connections open, per listener", open_connections.clone());
        registry.register(
            "refused_connections",
            "Connections closed at accept because a cap was reached",
            refused_connections.clone(),
        );
        registry.register(
            "timeouts",
            "Connections closed by a timeout (header read, idle, TLS handshake)",
            timeouts.clone(),
        );
        ListenerMetrics { registry, open_connections, refused_connections, timeouts }
    }

    pub fn refused(&self, listener: &str, reason: &str) {
        self.refused_connections.get_or_create(&labels(listener, reason)).inc();
    }

    pub fn timed_out(&self, listener: &str, reason: &str) {
        self.timeouts.get_or_create(&labels(listener, reason)).inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

fn labels(listener: &str, reason: &str) -> ReasonLabels {
    ReasonLabels { listener: listener.to_owned(), reason: reason.to_owned() }
}

impl Default for ListenerMetrics {
    fn default() -> Self {
        Self::new()
    }
}
