//! The gateway listener: every request is matched to a route; protected routes need a bearer
//! token that verifies (signature, issuer, lifetime — cached), is not revoked and satisfies the
//! route's policy (both checked on every request); then the request is proxied with the caller's
//! identity attached. Exactly one audit record per request, written when the answer is known.
//!
//! Where things live: `request_phases` (the phases and the one exit), `request_context`,
//! `gateway_error` (every status the gateway answers with), `active_policy`, `policy_file`,
//! `policy_follower` and `hot_reload` (the policy, its file, and the published version each node runs), `route_table` (route matching), `request_target` (path and
//! host normalisation), `upstream_request` and `forwarding_headers` (what the upstream gets),
//! `proxy`, `tunnel` and `upgrades` (forwarding). Token verification is `crate::authentication`.

pub mod active_policy;
pub mod client_body;
pub mod denial_explanation;
pub mod denials;
pub mod echo_upstream;
pub mod form_body_token;
pub mod forwarding_headers;
pub mod gateway_error;
pub mod gateway_state;
pub mod hot_reload;
pub mod key_changes;
pub mod metrics;
pub mod policy_file;
pub mod policy_follower;
pub mod policy_simulation;
pub mod policy_warnings;
pub mod proxy;
pub mod request_context;
pub mod request_phases;
pub mod request_target;
pub mod route_table;
pub mod tunnel;
pub mod upgrades;
pub mod upstream_request;

#[cfg(test)]
mod denial_explanation_tests;
#[cfg(test)]
mod denial_matrix_tests;
#[cfg(test)]
mod rejection_matrix_tests;

use std::sync::Arc;

use axum::Router;

pub use active_policy::ActivePolicy;
pub use gateway_state::GatewayState;

pub fn router(state: Arc<GatewayState>) -> Router {
    Router::new().fallback(request_phases::handle).with_state(state)
}
