//! Overview: what is happening now — the gateway's allowed and denied requests over the last hour
//! (a server-drawn chart with a table fallback), the top denial reasons, clients and routes, the
//! nodes with their health and lag, and warnings about the signing keys. Reads only: the summary,
//! node and key operations of the admin API.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{AuditSummary, NodeView, SigningKeyView};

use super::admin_calls::encode;
use super::dashboard_pages::{page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::SignedIn;
use crate::admin::api::iso8601;
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
const BUCKET_SECONDS: i64 = 300;
const WINDOW_SECONDS: i64 = 3_600;

/// The summary's window ends at the next bucket boundary, so buckets start on the clock's
/// 5 minutes (`10:05`, not `10:03:47`); the last one is the current, unfinished one.
fn summary_path(now_unix: i64) -> String {
    let until = (now_unix.div_euclid(BUCKET_SECONDS) + 1) * BUCKET_SECONDS;
    format!(
        "/admin/v1/audit/summary?since={}&until={}&bucket_seconds={BUCKET_SECONDS}",
        encode(&iso8601(until - WINDOW_SECONDS)),
        encode(&iso8601(until))
    )
}

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
    /// Display names of the home tenant's apps by client id, to name the top clients.
    app_names: HashMap<String, String>,
}

impl OverviewPage {
    fn clock(&self, iso: &str) -> String {
        clock(iso)
    }

    fn app_name(&self, client_id: &str) -> &str {
        self.app_names.get(client_id).map_or("", String::as_str)
    }
}

async fn overview(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    let caller = signed_in.caller();
    let summary: AuditSummary = state.calls.get(caller, &summary_path(now())).await?;
    let nodes: Vec<NodeView> = state.calls.get(caller, "/admin/v1/nodes").await?;
    let keys: Vec<SigningKeyView> = state.calls.get(caller, "/admin/v1/keys").await?;
    let app_names = app_names(&state, &signed_in).await;
    let unhealthy_nodes = nodes.iter().filter(|n| n.state != "ready" || n.lag > 0).count();
    let layout = Layout::new(&signed_in, "Overview", Section::Overview);
    let chart = DecisionChart::of(&summary);
    let key_warnings = key_warnings(&keys, now());
    Ok(page(
        &state,
        StatusCode::OK,
        &OverviewPage { layout, summary, chart, nodes, unhealthy_nodes, key_warnings, app_names },
    ))
}

/// The fields of an app this page needs.
#[derive(Deserialize)]
struct AppName {
    app_id: String,
    display_name: String,
}

/// The home tenant's apps by client id; without them (a refused or failed call) the top clients
/// show their ids only, which still identify them.
async fn app_names(state: &DashboardState, signed_in: &SignedIn) -> HashMap<String, String> {
    let path = format!("/admin/v1/tenants/{}/apps", state.tenant_id);
    let apps: Vec<AppName> = state.calls.get(signed_in.caller(), &path).await.unwrap_or_default();
    apps.into_iter().map(|a| (a.app_id, a.display_name)).collect()
}

#[cfg(test)]
#[path = "overview_page_tests.rs"]
mod tests;
