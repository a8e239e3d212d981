//! Overview: what is happening now — the gateway's allowed and denied requests over the last hour
//! (a server-drawn chart with a table fallback), the top denial reasons, clients and routes, the
//! nodes with their health and lag, and warnings about the signing keys. Reads only: the summary,
//! node and key operations of the admin API.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokengate_proto::admin::{AuditSummary, NodeView, SigningKeyView};

use super::dashboard_pages::{page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::SignedIn;
use crate::state::now;
use decision_chart::{clock, DecisionChart};
use key_warnings::key_warnings;

// Declared here (not in `dashboard/mod.rs`, shared by the areas) as the overview's own parts.
#[path = "decision_chart.rs"]
mod decision_chart;
#[path = "key_warnings.rs"]
mod key_warnings;

/// Write forms for dashboard_tests (the overview has none).
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[];

/// The last hour in 5-minute buckets.
const SUMMARY_PATH: &str = "/admin/v1/audit/summary?bucket_seconds=300";

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new().route("/dashboard/", get(overview))
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage {
    layout: Layout,
    summary: AuditSummary,
    chart: DecisionChart,
    nodes: Vec<NodeView>,
    /// Nodes that are not ready or gone, or behind the revocation feed.
    unhealthy_nodes: usize,
    key_warnings: Vec<String>,
}

impl OverviewPage {
    fn clock(&self, iso: &str) -> String {
        clock(iso)
    }
}

async fn overview(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    let caller = signed_in.caller();
    let summary: AuditSummary = state.calls.get(caller, SUMMARY_PATH).await?;
    let nodes: Vec<NodeView> = state.calls.get(caller, "/admin/v1/nodes").await?;
    let keys: Vec<SigningKeyView> = state.calls.get(caller, "/admin/v1/keys").await?;
    let unhealthy_nodes = nodes.iter().filter(|n| n.state != "ready" || n.lag > 0).count();
    let layout = Layout::new(&signed_in, "Overview", Section::Overview);
    let chart = DecisionChart::of(&summary);
    let key_warnings = key_warnings(&keys, now());
    Ok(page(&state, StatusCode::OK, &OverviewPage { layout, summary, chart, nodes, unhealthy_nodes, key_warnings }))
}

#[cfg(test)]
#[path = "overview_page_tests.rs"]
mod tests;
