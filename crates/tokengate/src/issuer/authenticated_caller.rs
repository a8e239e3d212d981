//! The caller of the revocation (RFC 7009) and introspection (RFC 7662) endpoints: the tenant the
//! path names and the strict form, read as the token endpoint reads them, then the client
//! authenticated exactly as there (`client_authentication`, never a second implementation).
//!
//! One difference from the token endpoint: a request that names no client at all is
//! `invalid_client` (401), not a missing `client_id` (400) — both RFCs answer a caller that did
//! not authenticate with 401, and an unauthenticated caller must learn nothing about a token.

use std::sync::Arc;

use axum::body::Body;
use axum::http::header;
use tokengate_core::client_auth::AuthenticatedClient;
use tokengate_core::directory::Tenant;
use tokengate_core::errors::codes;
use tokengate_core::OAuthError;

use super::form::{read_form, Form};
use super::token_endpoint::client_authentication::{authenticate_client, CallerRequest};
use super::token_endpoint::grant_type::ClientKinds;
use super::token_endpoint::token_request::{resolve_tenant, Received, TokenTrail};
use crate::state::IssuerState;

/// The tenant and form of a request, before its client is authenticated.
pub struct CallerForm {
    pub tenant: Arc<Tenant>,
    pub form: Form,
}

impl CallerForm {
    pub async fn read(
        state: &IssuerState,
        received: &Received<'_>,
        body: Body,
        trail: &mut TokenTrail,
    ) -> Result<CallerForm, OAuthError> {
        let tenant = resolve_tenant(state, received.segment).await?;
        trail.tenant_id = Some(tenant.id.to_string());
        let form = read_form(received.headers, body).await?;
        Ok(CallerForm { tenant, form })
    }

    /// The client the request authenticates as, under `kinds`.
    pub async fn authenticate(
        &self,
        state: &IssuerState,
        received: &Received<'_>,
        kinds: ClientKinds,
        trail: &mut TokenTrail,
    ) -> Result<AuthenticatedClient, OAuthError> {
        let names_client = self.form.get("client_id").is_some_and(|c| !c.is_empty())
            || received.headers.contains_key(header::AUTHORIZATION);
        if !names_client {
            return Err(OAuthError::invalid_client(
                codes::NO_CLIENT_CREDENTIAL,
                "Client authentication is required: send client_id with client_secret (body or HTTP Basic) or client_assertion.",
            ));
        }
        let caller = CallerRequest {
            segment: received.segment,
            headers: received.headers,
            form: &self.form,
            tenant: &self.tenant,
            client: received.client,
            now: received.now,
        };
        authenticate_client(state, &caller, kinds, trail).await
    }
}
