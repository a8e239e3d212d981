//! "Test a token against this route": the admin API's token debugger, asked about one route (by
//! name, or the one a path reaches). The token goes only to that in-process call: it is never put
//! back into the page, a URL or a log line.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tokengate_proto::admin::{TokenDebugRequest, TokenExplanation};

use super::policy_views::route_names;
use super::published_version;
use crate::dashboard::dashboard_pages::{page, Layout, Section};
use crate::dashboard::dashboard_state::DashboardState;
use crate::dashboard::signed_in::ReadForm;

#[derive(Template)]
#[template(path = "dashboard/policies_token_test.html")]
struct TokenTestPage {
    layout: Layout,
    /// The route names of the published policy, for the form.
    routes: Vec<String>,
    /// What was asked: the route, or the path.
    asked: String,
    chosen_route: String,
    path: String,
    result: Result<TokenExplanation, String>,
}

#[derive(Deserialize)]
pub struct TokenTestForm {
    token: String,
    #[serde(default)]
    route: String,
    #[serde(default)]
    path: String,
}

/// A read form: auditors may debug tokens too (the debugger API is a read operation).
pub async fn test_token(State(state): State<Arc<DashboardState>>, form: ReadForm<TokenTestForm>) -> Response {
    let ReadForm { signed_in, form } = form;
    let route = form.route.trim().to_owned();
    let path = form.path.trim().to_owned();
    let (request, asked) = if route.is_empty() {
        let asked = format!("the route reached by GET {path}");
        (
            TokenDebugRequest { token: form.token, route: None, method: None, path: Some(path.clone()), host: None },
            asked,
        )
    } else {
        let asked = format!("route {route}");
        (
            TokenDebugRequest { token: form.token, route: Some(route.clone()), method: None, path: None, host: None },
            asked,
        )
    };
    let result = if route.is_empty() && path.is_empty() {
        Err("Choose a route, or give a path such as /demo/hello.".to_owned())
    } else {
        state.calls.post(signed_in.caller(), "/admin/v1/debug/token", &request).await.map_err(|f| f.message)
    };
    let routes = match published_version(&state, signed_in.caller()).await {
        Ok(Some(answer)) => route_names(&answer.value.document),
        _ => Vec::new(),
    };
    let status = if result.is_ok() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let layout = Layout::new(&signed_in, "Test a token against a route", Section::Policies);
    page(&state, status, &TokenTestPage { layout, routes, asked, chosen_route: route, path, result })
}
