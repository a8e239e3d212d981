//! One token request, read once: the tenant its path names, the form, the grant type, and what
//! the headers say (the browser `Origin`, the caller's address). `TokenTrail` collects what the
//! audit record will say as the request goes.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use tokengate_core::directory::Tenant;
use tokengate_core::OAuthError;
use tokengate_core::UnixTime;

use super::client_authentication::CallerRequest;
use super::grant_type::GrantType;
use super::Endpoint;
use crate::client_address::ClientAddress;
use crate::issuer::form::{read_form, Form};
use crate::issuer::tenant_resolution::TenantSegment;
use crate::state::IssuerState;

pub struct TokenRequest<'a> {
    /// The tenant segment of the path as sent (a domain, a GUID).
    pub segment: &'a str,
    pub endpoint: Endpoint,
    pub headers: &'a HeaderMap,
    pub client: ClientAddress,
    pub tenant: Arc<Tenant>,
    pub form: Form,
    pub grant: GrantType,
    pub now: UnixTime,
}

/// What the audit record says about one token request.
#[derive(Default)]
pub struct TokenTrail {
    pub grant: Option<GrantType>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub token_id: Option<String>,
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl TokenTrail {
    pub fn grant_name(&self) -> &'static str {
        self.grant.map(GrantType::audit_name).unwrap_or("unknown")
    }
}

/// What arrived with the request, before its body is read.
pub struct Received<'a> {
    pub segment: &'a str,
    pub endpoint: Endpoint,
    pub headers: &'a HeaderMap,
    pub client: ClientAddress,
    pub now: UnixTime,
}

impl<'a> TokenRequest<'a> {
    pub async fn read(
        state: &IssuerState,
        received: Received<'a>,
        body: Body,
        trail: &mut TokenTrail,
    ) -> Result<TokenRequest<'a>, OAuthError> {
        let Received { segment, endpoint, headers, client, now } = received;
        let tenant = resolve_tenant(state, segment).await?;
        trail.tenant_id = Some(tenant.id.to_string());
        let form = read_form(headers, body).await?;
        let grant = GrantType::parse(form.require("grant_type")?)?;
        trail.grant = Some(grant);
        Ok(TokenRequest { segment, endpoint, headers, client, tenant, form, grant, now })
    }

    /// What client authentication reads from this request.
    pub fn caller(&self) -> CallerRequest<'_> {
        CallerRequest {
            segment: self.segment,
            headers: self.headers,
            form: &self.form,
            tenant: &self.tenant,
            client: self.client,
            now: self.now,
        }
    }

    /// The `Origin` a browser sends on a cross-origin request (SPA redemptions need one).
    pub fn origin(&self) -> Option<&str> {
        self.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| !o.is_empty())
    }
}

/// The tenant a token-endpoint path names (also the revocation and introspection endpoints): a
/// real tenant; `common` and `organizations` name no tenant to issue in.
pub async fn resolve_tenant(state: &IssuerState, segment: &str) -> Result<Arc<Tenant>, OAuthError> {
    match state.tenants.resolve(state.store.as_ref(), segment).await {
        Ok(Some(TenantSegment::Tenant(t))) => Ok(t),
        Ok(Some(TenantSegment::MultiTenant(_))) => Err(OAuthError::invalid_request(
            50059,
            "No tenant-identifying information found in either the request or implied by any provided credentials. Use a tenant-specific token endpoint.",
        )),
        Ok(None) => Err(OAuthError::tenant_not_found(&segment.chars().take(64).collect::<String>())),
        Err(e) => Err(OAuthError::server_error(e.to_string())),
    }
}
