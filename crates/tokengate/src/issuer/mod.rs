//! The issuer listener: Entra-compatible discovery, keys and token endpoints over HTTPS.

pub mod authenticated_caller;
pub mod authorize_request;
pub mod browser_state;
pub mod caller_audit;
pub mod cors;
pub mod device_verification;
pub mod discovery;
pub mod error_response;
pub mod flow_audit;
pub mod form;
pub mod introspection_endpoint;
pub mod introspection_response;
pub mod issuer_metrics;
pub mod own_tokens;
pub mod page_error;
pub mod pages;
pub mod presented_client;
pub mod presented_token;
pub mod revocation_endpoint;
pub mod sign_in_flow;
pub mod tenant_resolution;
pub mod token_endpoint;
pub mod userinfo_endpoint;

#[cfg(test)]
mod introspection_tests;
#[cfg(test)]
mod revocation_tests;
#[cfg(test)]
mod revoked_token_use_tests;
#[cfg(test)]
pub mod token_fixtures;

use std::sync::Arc;

use axum::middleware::map_response;
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
        // Public metadata above: readable from any page (msal-browser fetches it).
        .route_layer(map_response(cors::public_metadata))
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint::token_v2).options(cors::token_preflight))
        .route("/{tenant}/oauth2/token", post(token_endpoint::token_v1).options(cors::token_preflight))
        .route("/{tenant}/oauth2/v2.0/revoke", post(revocation_endpoint::revoke_v2).options(cors::token_preflight))
        .route("/{tenant}/oauth2/revoke", post(revocation_endpoint::revoke_v1).options(cors::token_preflight))
        .route("/{tenant}/oauth2/v2.0/introspect", post(introspection_endpoint::introspect_v2))
        .route("/{tenant}/oauth2/introspect", post(introspection_endpoint::introspect_v1))
        .route("/{tenant}/oauth2/v2.0/authorize", get(sign_in_flow::authorize))
        .route("/{tenant}/oauth2/authorize", get(sign_in_flow::authorize))
        .route("/{tenant}/oauth2/v2.0/logout", get(sign_in_flow::logout))
        .route("/{tenant}/oauth2/logout", get(sign_in_flow::logout))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device_verification::device_authorization))
        .route("/{tenant}/oauth2/devicecode", post(device_verification::device_authorization))
        .route("/flow/resume", get(sign_in_flow::resume))
        .route("/flow/sign-in", post(sign_in_flow::sign_in))
        .route("/flow/consent", post(sign_in_flow::consent))
        .route("/devicelogin", get(device_verification::entry_page).post(device_verification::enter_code))
        .route("/oidc/userinfo", get(userinfo_endpoint::userinfo).post(userinfo_endpoint::userinfo))
        .route("/error", get(error_response::error_page))
        .fallback(error_response::not_found)
        .with_state(state)
}
