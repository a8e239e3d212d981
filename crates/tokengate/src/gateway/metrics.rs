//! Prometheus metrics of the gateway, served on the admin listener at `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Built for every request, so nothing in it allocates: the route's name is shared with the
/// route table, outcome and reason are static names.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: RouteLabel,
    pub outcome: &'static str,
    pub reason: &'static str,
}

/// A route's name as a label value, shared with the route table (prometheus-client encodes
/// `Arc<T>` only for sized `T`).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct RouteLabel(pub Arc<str>);

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        EncodeLabelValue::encode(&&*self.0, encoder)
    }
}

/// How a changed policy file was taken.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// `applied` or `refused` (it did not validate; the running policy stays).
    pub result: &'static str,
}

pub struct GatewayMetrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency_seconds: Histogram,
    pub verified_cache_entries: Gauge,
    /// The cache's cap (`[settings] verified_cache_entries`): past it, new tokens are verified
    /// on every request rather than cached, so memory stays bounded.
    pub verified_cache_capacity: Gauge,
    pub key_refetches: Counter,
    pub policy_reloads: Family<ReloadLabels, Counter>,
    /// The route label of a request no route matched (`-`), made once.
    pub no_route: RouteLabel,
}

impl GatewayMetrics {
    pub fn new() -> GatewayMetrics {
        let mut registry = Registry::with_prefix("tokengate_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency_seconds =
            Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0]);
        let verified_cache_entries = Gauge::default();
        let verified_cache_capacity = Gauge::default();
        let key_refetches = Counter::default();
        registry.register("requests", "Requests by route, outcome and reason", requests.clone());
        registry.register("request_duration_seconds", "Time from request to response headers", latency_seconds.clone());
        registry.register(
            "verified_cache_entries",
            "Tokens in the verified-token cache",
            verified_cache_entries.clone(),
        );
        registry.register(
            "verified_cache_capacity",
            "Tokens the verified-token cache holds at most (beyond it, tokens are verified uncached)",
            verified_cache_capacity.clone(),
        );
        registry.register("unknown_kid_refetches", "Key refetches triggered by an unknown kid", key_refetches.clone());
        let policy_reloads = Family::<ReloadLabels, Counter>::default();
        registry.register("policy_reloads", "Changed policy files, applied or refused", policy_reloads.clone());
        GatewayMetrics {
            registry,
            requests,
            latency_seconds,
            verified_cache_entries,
            verified_cache_capacity,
            key_refetches,
            policy_reloads,
            no_route: RouteLabel(Arc::from("-")),
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        Self::new()
    }
}
