//! Overview: what is happening now (a first version: the nodes; see the overview issue notes).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokengate_proto::admin::NodeView;

use super::dashboard_pages::{page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::SignedIn;

/// Write forms for dashboard_tests (each page adds its own).
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[];

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new().route("/dashboard/", get(overview))
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage {
    layout: Layout,
    nodes: Vec<NodeView>,
}

async fn overview(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    let nodes: Vec<NodeView> = state.calls.get(signed_in.caller(), "/admin/v1/nodes").await?;
    let layout = Layout::new(&signed_in, "Overview", Section::Overview);
    Ok(page(&state, StatusCode::OK, &OverviewPage { layout, nodes }))
}
