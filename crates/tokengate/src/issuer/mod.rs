//! The issuer listener: Entra-compatible discovery, keys and token endpoints over HTTPS.

pub mod discovery;
pub mod error_response;
pub mod form;
pub mod presented_client;
pub mod tenant_resolution;
pub mod token_endpoint;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::state::IssuerState;

pub fn router(state: Arc<IssuerState>) -> Router {
    Router::new()
        .route("/common/discovery/instance", get(discovery::instance_discovery))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(discovery::openid_configuration_v2))
        .route("/{tenant}/.well-known/openid-configuration", get(discovery::openid_configuration_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks_v2))
        .route("/{tenant}/discovery/keys", get(discovery::jwks_v1))
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint::token_v2))
        .route("/{tenant}/oauth2/token", post(token_endpoint::token_v1))
        .route("/error", get(error_response::error_page))
        .fallback(error_response::not_found)
        .with_state(state)
}
