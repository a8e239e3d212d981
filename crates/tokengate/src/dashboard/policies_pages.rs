//! Routes & policies: the published gateway policy (its routes, what each requires, its
//! issuers), editing it with a preview (validation, diff, simulation against recent traffic)
//! before publishing under the version it was based on, its history with diffs and rollback, and
//! testing a token against one route. Everything goes through `/admin/v1/policies` and
//! `/admin/v1/debug/token`; the pages only render what those answer.

#[path = "policy_edit_page.rs"]
mod policy_edit_page;
#[path = "policy_history_page.rs"]
mod policy_history_page;
#[path = "policy_token_test_page.rs"]
mod policy_token_test_page;
#[path = "policy_views.rs"]
mod policy_views;

#[cfg(test)]
#[path = "policies_pages_tests.rs"]
mod tests;

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tokengate_proto::admin::{PolicyVersionDocument, PolicyVersionView};

use super::admin_calls::{ApiAnswer, ApiFailure, Caller};
use super::dashboard_pages::{page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::SignedIn;
use policy_views::{issuer_rows, route_rows, IssuerRow, RouteRow};

/// A policy the handler tests publish: one builtin issuer and one route.
#[cfg(test)]
pub const TEST_POLICY: &str = "[[issuer]]\nname = \"tokengate\"\nkind = \"builtin\"\n\n[[route]]\nname = \"orders\"\n\
path_prefix = \"/orders/\"\nupstream = \"echo\"\n[route.require]\nissuers = [\"tokengate\"]\n\
audiences = [\"api://orders\"]\nroles_any = [\"Orders.Read\"]\n";

/// Write forms for dashboard_tests: path and fields that succeed for an admin.
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[
    ("/dashboard/policies/preview", &[("toml", TEST_POLICY), ("etag", "*")]),
    ("/dashboard/policies/publish", &[("toml", TEST_POLICY), ("etag", "*"), ("message", "first routes")]),
    ("/dashboard/policies/rollback", &[("to", "1"), ("etag", "*"), ("message", "")]),
];

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new()
        .route("/dashboard/policies", get(policies))
        .route("/dashboard/policies/edit", get(policy_edit_page::edit))
        .route("/dashboard/policies/preview", post(policy_edit_page::preview))
        .route("/dashboard/policies/publish", post(policy_edit_page::publish))
        .route("/dashboard/policies/history", get(policy_history_page::history))
        .route("/dashboard/policies/v/{version}", get(policy_history_page::version))
        .route("/dashboard/policies/diff", get(policy_history_page::compare))
        .route("/dashboard/policies/rollback/{version}", get(policy_history_page::confirm_rollback))
        .route("/dashboard/policies/rollback", post(policy_history_page::rollback))
        .route("/dashboard/policies/test-token", post(policy_token_test_page::test_token))
}

#[derive(Template)]
#[template(path = "dashboard/policies_overview.html")]
struct PoliciesPage {
    layout: Layout,
    published: Option<PolicyVersionView>,
    routes: Vec<RouteRow>,
    issuers: Vec<IssuerRow>,
}

async fn policies(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    let published = published_version(&state, signed_in.caller()).await?;
    let layout = Layout::new(&signed_in, "Routes & policies", Section::Policies);
    let template = match published {
        Some(answer) => PoliciesPage {
            layout,
            routes: route_rows(&answer.value.document),
            issuers: issuer_rows(&answer.value.document),
            published: Some(answer.value.version),
        },
        None => PoliciesPage { layout, published: None, routes: Vec::new(), issuers: Vec::new() },
    };
    Ok(page(&state, StatusCode::OK, &template))
}

/// The published version with its `ETag`, or `None` when nothing is published yet (the API's
/// 404 for `published`).
async fn published_version(
    state: &DashboardState,
    caller: Caller<'_>,
) -> Result<Option<ApiAnswer<PolicyVersionDocument>>, ApiFailure> {
    match state.calls.get_tagged(caller, "/admin/v1/policies/published").await {
        Ok(answer) => Ok(Some(answer)),
        Err(failure) if failure.status == StatusCode::NOT_FOUND => Ok(None),
        Err(failure) => Err(failure),
    }
}
