//! The calling client, authenticated once per request at the token, revocation and introspection
//! endpoints: a confidential client by its secret or assertion (exactly as for every grant), a
//! public client by `client_id` alone where the endpoint or grant serves public clients.

use axum::http::HeaderMap;
use tokengate_core::client_auth::{
    authenticate_confidential_client, AuthenticatedClient, ClientAuthContext, ClientAuthMethod, PresentedCredential,
};
use tokengate_core::directory::{AppRegistration, RedirectPlatform, Tenant};
use tokengate_core::errors::codes;
use tokengate_core::OAuthError;
use tokengate_core::UnixTime;
use uuid::Uuid;

use super::assertion_audiences;
use super::grant_type::ClientKinds;
use super::token_request::TokenTrail;
use crate::client_address::ClientAddress;
use crate::issuer::form::Form;
use crate::issuer::presented_client::presented_client;
use crate::state::IssuerState;

/// What authenticating the caller reads from a request.
pub struct CallerRequest<'r> {
    /// The tenant segment of the path as sent (assertions may name the endpoint by it).
    pub segment: &'r str,
    pub headers: &'r HeaderMap,
    pub form: &'r Form,
    pub tenant: &'r Tenant,
    pub client: ClientAddress,
    pub now: UnixTime,
}

pub async fn authenticate_client(
    state: &IssuerState,
    request: &CallerRequest<'_>,
    kinds: ClientKinds,
    trail: &mut TokenTrail,
) -> Result<AuthenticatedClient, OAuthError> {
    let presented = presented_client(request.headers, request.form)?;
    trail.client_id = Some(printable(&presented.client_id));
    if matches!(presented.credential, PresentedCredential::None) && kinds == ClientKinds::PublicOrConfidential {
        let app = public_client(state, request.tenant, &presented.client_id).await?;
        trail.detail.insert("auth".into(), "0".into());
        return Ok(AuthenticatedClient { app, method: ClientAuthMethod::Public, credential_id: None });
    }
    // Only assertions name an audience; secret requests (the hot path) skip building the list.
    let audiences = match presented.credential {
        PresentedCredential::Assertion { .. } => assertion_audiences(&state.base_url, request.segment, request.tenant),
        _ => Vec::new(),
    };
    let client_ip = request.client.audit_text();
    let ctx = ClientAuthContext {
        tenant: request.tenant,
        client_id: &presented.client_id,
        client_ip: &client_ip,
        assertion_audiences: &audiences,
        now: request.now,
        skew: state.settings.clock_skew,
    };
    let client =
        authenticate_confidential_client(state.store.as_ref(), &state.limits, &presented.credential, &ctx).await?;
    if let Some(id) = client.credential_id {
        trail.detail.insert("credential_id".into(), id.to_string().into());
    }
    trail.detail.insert("auth".into(), client.method.acr().into());
    Ok(client)
}

/// A client naming itself without a credential: it must exist, be visible in the tenant, and
/// be registered as a public client (or have a public-client or SPA redirect URI).
async fn public_client(state: &IssuerState, tenant: &Tenant, client_id: &str) -> Result<AppRegistration, OAuthError> {
    let app = match Uuid::parse_str(client_id) {
        Ok(id) => state.store.app(id).await.map_err(|e| OAuthError::server_error(e.to_string()))?,
        Err(_) => None,
    };
    let visible = match &app {
        Some(a) if a.tenant_id == tenant.id => true,
        Some(a) => state.store.service_principal(tenant.id, a.app_id).await.ok().flatten().is_some(),
        None => false,
    };
    let Some(app) = app.filter(|_| visible) else {
        let shown = printable(client_id);
        return Err(OAuthError::new(
            400,
            "unauthorized_client",
            codes::APP_NOT_FOUND,
            format!("Application with identifier '{shown}' was not found in the directory '{}'.", tenant.display_name),
        ));
    };
    let public = app.is_public_client
        || app
            .redirect_uris
            .iter()
            .any(|r| matches!(r.platform, RedirectPlatform::PublicClient | RedirectPlatform::Spa));
    if !public {
        return Err(OAuthError::invalid_client(
            codes::NO_CLIENT_CREDENTIAL,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    Ok(app)
}

/// A client id as sent, made safe to log and to echo in an error: printable ASCII, 64 at most.
fn printable(client_id: &str) -> String {
    client_id.chars().filter(|c| c.is_ascii_graphic()).take(64).collect()
}
