//! Keys: the built-in issuer's signing keys (next, active, retired) and rotation.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{KeyRotationView, SigningKeyView};

use super::dashboard_pages::{done, failed, page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::{SignedIn, WriteForm};

/// Write forms for dashboard_tests: path and fields that succeed for an admin.
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[("/dashboard/keys/rotate", &[])];

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new().route("/dashboard/keys", get(keys)).route("/dashboard/keys/rotate", post(rotate))
}

#[derive(Template)]
#[template(path = "dashboard/keys.html")]
struct KeysPage {
    layout: Layout,
    keys: Vec<SigningKeyView>,
}

async fn keys(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    let keys: Vec<SigningKeyView> = state.calls.get(signed_in.caller(), "/admin/v1/keys").await?;
    let layout = Layout::new(&signed_in, "Keys", Section::Keys);
    Ok(page(&state, StatusCode::OK, &KeysPage { layout, keys }))
}

#[derive(Deserialize)]
struct NoFields {}

async fn rotate(State(state): State<Arc<DashboardState>>, form: WriteForm<NoFields>) -> Response {
    let signed_in = &form.signed_in;
    let rotated: Result<KeyRotationView, _> =
        state.calls.post(signed_in.caller(), "/admin/v1/keys/rotate", &serde_json::json!({})).await;
    match rotated {
        Ok(r) => done(signed_in, format!("Rotated: {} signs from now on.", r.active_kid), "/dashboard/keys"),
        Err(e) => failed(signed_in, &e, "/dashboard/keys"),
    }
}
