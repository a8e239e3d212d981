//! The admin listener (loopback by default): health, readiness, Prometheus metrics, and the
//! admin REST API (`api/`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::gateway::GatewayState;
use crate::issuer::issuer_metrics::IssuerMetrics;
use crate::revocation_feed::feed_metrics::FeedMetrics;
use admin_error::AdminError;
use tokengate_core::access::revocation::RevocationSet;

pub mod admin_error;
pub mod api;
use crate::listener_metrics::ListenerMetrics;

#[derive(Clone)]
pub struct AdminState {
    pub stopping: watch::Receiver<bool>,
    pub gateway: Option<Arc<GatewayState>>,
    pub listeners: Arc<ListenerMetrics>,
    pub revocations: Arc<RevocationSet>,
    pub feed_metrics: Arc<FeedMetrics>,
    /// The token endpoint's metrics, on a node running the issuer.
    pub issuer_metrics: Option<Arc<IssuerMetrics>>,
    /// The audit writer: its queue and commits show in `/metrics`.
    pub audit: crate::audit_writer::AuditSink,
    /// The admin API, or why this node cannot serve it (answered as 503 on `/admin/v1/...`).
    pub api: Result<Arc<api::AdminApiState>, String>,
}

/// The admin API's router for this node: its operations, or a 503 problem saying why not.
pub fn api_router(state: &AdminState) -> Router {
    match &state.api {
        Ok(api) => api::router(api.clone()),
        Err(reason) => api::unconfigured_router(reason.clone()),
    }
}

/// Health, metrics, the admin API (`api`) and the dashboard (`dashboard`, built on `api`).
pub fn router(state: AdminState, api: Router, dashboard: Router) -> Router {
    Router::new()
        .route("/", get(|| async { crate::web::html_response::see_other("/dashboard/") }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(api)
        .merge(dashboard)
}

/// Not ready while stopping, while a trusted remote issuer has no keys yet, or while a gateway's
/// revocation set is not fresh (never synced since start, or older than its staleness bound).
async fn readiness(State(s): State<AdminState>) -> Result<&'static str, AdminError> {
    if *s.stopping.borrow() {
        return Err(AdminError::Unavailable("stopping"));
    }
    if let Some(gw) = &s.gateway {
        if !gw.policy.load().ready() {
            return Err(AdminError::Unavailable("waiting for issuer keys"));
        }
        if !gw.ready(&s.revocations) {
            return Err(AdminError::Unavailable("the revocation feed is stale or not yet synced"));
        }
    }
    Ok("ready\n")
}

async fn metrics(State(s): State<AdminState>) -> impl IntoResponse {
    // Several registries, one exposition: only the last may end with `# EOF`.
    let gateway = s
        .gateway
        .as_ref()
        .map(|g| {
            // Read now: the sweeper sets it only every 30 s, and a scrape must show the fill.
            g.metrics.verified_cache_entries.set(i64::try_from(g.auth.cache.len()).unwrap_or(i64::MAX));
            g.metrics.render()
        })
        .unwrap_or_default();
    let mut body = gateway.strip_suffix("# EOF\n").unwrap_or(&gateway).to_owned();
    if let Some(issuer) = &s.issuer_metrics {
        let issuer = issuer.render();
        body.push_str(issuer.strip_suffix("# EOF\n").unwrap_or(&issuer));
    }
    let feed = s.feed_metrics.render(&s.revocations, crate::state::now_ms());
    body.push_str(feed.strip_suffix("# EOF\n").unwrap_or(&feed));
    let audit = s.audit.render_metrics();
    body.push_str(audit.strip_suffix("# EOF\n").unwrap_or(&audit));
    body.push_str(&s.listeners.render());
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}
