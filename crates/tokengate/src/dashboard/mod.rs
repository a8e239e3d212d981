//! The dashboard: server-rendered pages on the admin listener (`/dashboard/`), signed in through
//! the built-in issuer (authorization code + PKCE), doing everything through the admin API's own
//! operations (`admin_calls.rs`). Plain HTML forms that work without script; htmx (vendored in
//! `assets/dashboard/`, no build step) only refreshes live regions. Admins change things;
//! auditors see the same pages without the write controls, and their posts are refused.

mod admin_calls;
mod apps_pages;
mod audit_pages;
mod dashboard_assets;
mod dashboard_pages;
mod dashboard_sessions;
mod dashboard_sign_in;
mod dashboard_state;
mod debugger_page;
mod directory_names;
mod directory_pages;
mod issuer_back_channel;
mod keys_page;
mod overview_page;
mod policies_pages;
mod revocations_page;
mod signed_in;

#[cfg(test)]
mod dashboard_test_support;
#[cfg(test)]
mod dashboard_tests;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use dashboard_pages::DashboardError;
pub use dashboard_state::{DashboardOptions, DashboardParts, DashboardState, DASHBOARD_SCOPE};

use crate::web::html_response::see_other;

/// Every dashboard route. Requests for another `Host` than the dashboard's public address are
/// sent there (or refused, when they are not a plain `GET`): cookies, redirect URIs and the
/// same-origin check all belong to one origin, and a rebinding DNS name never reaches a page.
pub fn router(state: Arc<DashboardState>) -> Router {
    Router::new()
        .route("/dashboard", get(|| async { see_other("/dashboard/") }))
        .route("/dashboard/sign-in", get(dashboard_sign_in::sign_in))
        .route("/dashboard/callback", get(dashboard_sign_in::callback))
        .route("/dashboard/sign-out", post(dashboard_sign_in::sign_out))
        .route("/dashboard/signed-out", get(dashboard_sign_in::signed_out))
        .route("/dashboard/assets/{name}", get(dashboard_assets::asset))
        .merge(overview_page::routes())
        .merge(policies_pages::routes())
        .merge(debugger_page::routes())
        .merge(apps_pages::routes())
        .merge(directory_pages::routes())
        .merge(revocations_page::routes())
        .merge(keys_page::routes())
        .merge(audit_pages::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), on_the_public_host))
        .with_state(state)
}

/// `/dashboard/...` on a node whose dashboard cannot run: a page saying why and what to do.
pub fn unavailable_router(reason: String) -> Router {
    let reason = Arc::new(reason);
    let answer = move || {
        let reason = reason.clone();
        async move { DashboardError::Unavailable(reason.as_str().to_owned()).into_response() }
    };
    Router::new().route("/dashboard", get(answer.clone())).route("/dashboard/{*rest}", axum::routing::any(answer))
}

async fn not_found() -> Response {
    DashboardError::NotFound("There is no dashboard page here. Use the navigation to find what you need.".into())
        .into_response()
}

async fn on_the_public_host(State(state): State<Arc<DashboardState>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    if host.eq_ignore_ascii_case(state.public_authority()) {
        return next.run(request).await;
    }
    if request.method() == axum::http::Method::GET {
        let path = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/dashboard/");
        return see_other(&format!("{}{path}", state.public_url));
    }
    (StatusCode::MISDIRECTED_REQUEST, "the dashboard answers only at its own address\n").into_response()
}
