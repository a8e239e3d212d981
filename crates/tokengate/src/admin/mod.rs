//! The admin listener (loopback by default): health, readiness and Prometheus metrics. The
//! control-plane issue adds the admin API here.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::gateway::GatewayState;
use admin_error::AdminError;

pub mod admin_error;
use crate::listener_metrics::ListenerMetrics;

#[derive(Clone)]
pub struct AdminState {
    pub stopping: watch::Receiver<bool>,
    pub gateway: Option<Arc<GatewayState>>,
    pub listeners: Arc<ListenerMetrics>,
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Not ready while stopping, or while a trusted remote issuer has no keys yet.
async fn readiness(State(s): State<AdminState>) -> Result<&'static str, AdminError> {
    if *s.stopping.borrow() {
        return Err(AdminError::Unavailable("stopping"));
    }
    if s.gateway.as_ref().is_some_and(|gw| !gw.policy.load().ready()) {
        return Err(AdminError::Unavailable("waiting for issuer keys"));
    }
    Ok("ready\n")
}

async fn metrics(State(s): State<AdminState>) -> impl IntoResponse {
    // Two registries, one exposition: only the last may end with `# EOF`.
    let gateway = s.gateway.as_ref().map(|g| g.metrics.render()).unwrap_or_default();
    let mut body = gateway.strip_suffix("# EOF\n").unwrap_or(&gateway).to_owned();
    body.push_str(&s.listeners.render());
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}
