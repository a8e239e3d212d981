//! Revocations: what is revoked now, how far every gateway has applied the feed, and the kill
//! switch — revoke a user, a client app, a token or a signing key. Each revocation goes through
//! a confirmation page saying in words who and what it covers (names resolved through the admin
//! API), then one write that waits for every live gateway and shows where each one stands.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{NewRevocationRequest, NodeView, RevocationCreated, RevocationPage, SigningKeyView};

use super::dashboard_pages::{page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::{SignedIn, WriteForm};

#[path = "revocation_confirmation.rs"]
mod revocation_confirmation;
#[path = "revocation_views.rs"]
mod revocation_views;

use super::directory_names::directory_names;
use revocation_confirmation::{confirmation, Confirmation, ConfirmedFields};
use revocation_views::{effect_lines, gateway_rows, revoked_rows, GatewayRow, RevokedRow};

#[cfg(test)]
#[path = "revocations_page_tests.rs"]
mod tests;

/// Write forms for dashboard_tests: path and fields that succeed for an admin (the confirmation
/// is a write form too: only an admin may prepare a revocation).
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[
    ("/dashboard/revocations/confirm", &[("kind", "token"), ("target", "uti-for-the-form-test")]),
    ("/dashboard/revocations", &[("kind", "token"), ("target", "uti-for-the-form-test")]),
];

/// The most revocation pages read for one view (100 rows each): the list is bounded by design.
const MAX_PAGES: usize = 20;
/// How long the final write waits for every live gateway before answering.
const WAIT_SECONDS: u64 = 10;

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new()
        .route("/dashboard/revocations", get(revocations).post(revoke))
        .route("/dashboard/revocations/confirm", post(confirm))
}

#[derive(Template)]
#[template(path = "dashboard/revocations.html")]
struct RevocationsPage {
    layout: Layout,
    revoked: Vec<RevokedRow>,
    feed_version: i64,
    gateways: Vec<GatewayRow>,
    live_gateways: usize,
    caught_up: usize,
    keys: Vec<SigningKeyView>,
}

async fn revocations(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
) -> Result<Response, DashboardError> {
    let caller = signed_in.caller();
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    let mut feed_version = 0;
    for _ in 0..MAX_PAGES {
        let path = match &cursor {
            Some(c) => format!("/admin/v1/revocations?cursor={}", super::admin_calls::encode(c)),
            None => "/admin/v1/revocations".to_owned(),
        };
        let page: RevocationPage = state.calls.get(caller, &path).await?;
        feed_version = page.feed_version;
        rows.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let nodes: Vec<NodeView> = state.calls.get(caller, "/admin/v1/nodes").await?;
    let keys: Vec<SigningKeyView> = state.calls.get(caller, "/admin/v1/keys").await?;
    let names = directory_names(&state, caller).await;
    let gateways = gateway_rows(&nodes, feed_version);
    let live_gateways = gateways.iter().filter(|g| g.state != "gone").count();
    let caught_up = gateways.iter().filter(|g| g.state != "gone" && g.caught_up).count();
    let layout = Layout::new(&signed_in, "Revocations", Section::Revocations);
    let revoked = revoked_rows(rows, &names);
    Ok(page(
        &state,
        StatusCode::OK,
        &RevocationsPage { layout, revoked, feed_version, gateways, live_gateways, caught_up, keys },
    ))
}

/// What one of the revoke forms asks for, before it is resolved and confirmed.
#[derive(Deserialize)]
pub struct RevokeAsked {
    pub kind: String,
    /// A UPN or object id, a client id, a raw token or its uti/jti, or a kid.
    #[serde(default)]
    pub target: String,
    /// The user's tenant (the confirmation's hidden field; a user revocation names both).
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default)]
    pub reason: String,
    /// `on` (checkbox) or `true` (the confirmation's hidden field).
    #[serde(default)]
    pub disable_credentials: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/revocations_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    confirmation: Confirmation,
}

async fn confirm(
    State(state): State<Arc<DashboardState>>,
    form: WriteForm<RevokeAsked>,
) -> Result<Response, DashboardError> {
    let signed_in = &form.signed_in;
    let confirmation = confirmation(&state, signed_in.caller(), form.form).await?;
    let section = if confirmation.kind == "key" { Section::Keys } else { Section::Revocations };
    let layout = Layout::new(signed_in, confirmation.title.clone(), section);
    Ok(page(&state, StatusCode::OK, &ConfirmPage { layout, confirmation }))
}

#[derive(Template)]
#[template(path = "dashboard/revocations_done.html")]
struct DonePage {
    layout: Layout,
    created: Option<RevocationCreated>,
    /// Written, but some live gateway had not applied it when the wait ended.
    not_yet_everywhere: Option<String>,
    effects: Vec<String>,
}

/// The confirmed write: `POST /admin/v1/revocations` with `wait`, answered with what the store did
/// and where every gateway stands (rendered here, not redirected: the result is the page).
async fn revoke(
    State(state): State<Arc<DashboardState>>,
    form: WriteForm<RevokeAsked>,
) -> Result<Response, DashboardError> {
    let signed_in = &form.signed_in;
    let fields = ConfirmedFields::from_form(form.form)?;
    let request = NewRevocationRequest {
        target: fields.target,
        reason: fields.reason,
        wait: true,
        timeout_seconds: Some(WAIT_SECONDS),
    };
    let answer: Result<RevocationCreated, _> =
        state.calls.post(signed_in.caller(), "/admin/v1/revocations", &request).await;
    let (created, not_yet_everywhere) = match answer {
        Ok(created) => (Some(created), None),
        Err(f) if f.status == StatusCode::GATEWAY_TIMEOUT => (None, Some(f.message)),
        Err(f) => return Err(f.into()),
    };
    let effects = created.as_ref().map(|c| effect_lines(&c.revocation.target, &c.effects)).unwrap_or_default();
    let layout = Layout::new(signed_in, "Revoked", Section::Revocations);
    Ok(page(&state, StatusCode::OK, &DonePage { layout, created, not_yet_everywhere, effects }))
}
