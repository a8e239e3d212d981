//! `POST /{tenant}/oauth2/v2.0/token` and `/{tenant}/oauth2/token` (v1): the request is read
//! once (`token_request`), the grant type parsed once (`grant_type`), each grant's parameters
//! read (`grant_parameters`) with the `claims` parameter (`claims_request`: CAE), the client
//! authenticated once (`client_authentication`), the grant run from the table (`grant_table`),
//! and the answer written in Entra's shapes
//! (`token_response`, errors by `error_response`) — with exactly one audit record.

pub mod claims_request;
pub mod client_authentication;
pub mod grant_parameters;
pub mod grant_table;
pub mod grant_type;
pub mod token_request;
pub mod token_response;

#[cfg(test)]
mod bad_input_tests;
#[cfg(test)]
mod cae_claims_tests;
#[cfg(test)]
mod delegated_grant_tests;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::directory::Tenant;
use tokengate_core::grants::client_credentials::IssuedAccessToken;
use tokengate_core::grants::delegated_issuance::UserTokens;
use tokengate_core::tokens::{issuer_v1, issuer_v2};
use tokengate_core::OAuthError;

use super::error_response::{oauth_error_response, RequestIds};
use crate::client_address::ClientAddress;
use crate::state::{now, now_ms, IssuerState};
use token_request::{Received, TokenRequest, TokenTrail};

/// What a token request was answered with.
pub enum Granted {
    AppOnly(Box<IssuedAccessToken>),
    User { tokens: Box<UserTokens>, tenant_id: uuid::Uuid, client_info: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    V1,
    V2,
}

pub async fn token_v2(
    State(state): State<Arc<IssuerState>>,
    Path(tenant): Path<String>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> Response {
    token(state, Received { segment: &tenant, endpoint: Endpoint::V2, headers: &headers, client, now: now() }, body)
        .await
}

pub async fn token_v1(
    State(state): State<Arc<IssuerState>>,
    Path(tenant): Path<String>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> Response {
    token(state, Received { segment: &tenant, endpoint: Endpoint::V1, headers: &headers, client, now: now() }, body)
        .await
}

async fn token(state: Arc<IssuerState>, received: Received<'_>, body: Body) -> Response {
    let started = Instant::now();
    let (headers, endpoint, client) = (received.headers, received.endpoint, received.client);
    let ids = RequestIds::from_headers(headers);
    let mut trail = TokenTrail::default();
    let result = match TokenRequest::read(&state, received, body, &mut trail).await {
        Ok(request) => grant_table::grant(&state, &request, &mut trail).await,
        Err(e) => Err(e),
    };
    let failure = result.as_ref().err().map(|e| (e.error, e.code));
    let (mut response, outcome, reason) = respond(&state, result, endpoint, &ids, &mut trail);
    super::cors::token_response(&state, headers, trail.client_id.as_deref(), &mut response).await;
    state.metrics.token_request(trail.grant_name(), failure, started.elapsed());
    let status = response.status().as_u16();
    let mut event = AuditEvent::new(AuditSource::Issuer, format!("token.{}", trail.grant_name()), outcome, now_ms());
    event.reason = reason;
    event.tenant_id = trail.tenant_id;
    event.client_id = trail.client_id;
    event.subject = trail.subject;
    event.token_id = trail.token_id;
    event.client_ip = Some(client.audit_text());
    event.status = Some(status);
    event.latency_us = Some(started.elapsed().as_micros() as i64);
    trail.detail.insert("trace_id".into(), ids.trace_id.to_string().into());
    event.detail = serde_json::Value::Object(trail.detail);
    state.audit.record(event).await;
    response
}

/// The answer, its audit outcome and reason, noting in the trail what the record says about it.
fn respond(
    state: &IssuerState,
    result: Result<Granted, OAuthError>,
    endpoint: Endpoint,
    ids: &RequestIds,
    trail: &mut TokenTrail,
) -> (Response, Outcome, Option<String>) {
    match result {
        Ok(granted) => {
            match &granted {
                Granted::AppOnly(issued) => {
                    trail.subject = Some(issued.claims.oid.clone());
                    trail.token_id = Some(issued.claims.uti.clone());
                    trail.detail.insert("resource".into(), issued.resource_app_id.to_string().into());
                    trail.detail.insert("ver".into(), issued.claims.ver.clone().into());
                }
                Granted::User { tokens, .. } => {
                    trail.subject = Some(tokens.user_id.to_string());
                    trail.token_id = Some(tokens.tokens.claims.uti.clone());
                    if let Some(resource) = tokens.tokens.resource_app_id {
                        trail.detail.insert("resource".into(), resource.to_string().into());
                    }
                    trail.detail.insert("refresh_token".into(), tokens.tokens.refresh.is_some().into());
                }
            }
            let scope = trail.detail.get("scope").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            (token_response::token_response(&granted, endpoint, &scope, ids), Outcome::Allowed, None)
        }
        Err(e) => {
            if e.status >= 500 {
                tracing::error!(trace_id = %ids.trace_id, error = %e, "token request failed");
            }
            let outcome = if e.status >= 500 { Outcome::Error } else { Outcome::Denied };
            (oauth_error_response(&e, ids, &state.base_url), outcome, Some(format!("AADSTS{}", e.code)))
        }
    }
}

/// Where a client assertion may be addressed: this tenant's token endpoints under any name
/// the tenant answers to, and its issuers.
pub fn assertion_audiences(base: &str, segment: &str, tenant: &Tenant) -> Vec<String> {
    let tid = tenant.id.to_string();
    let mut names: Vec<&str> = vec![segment, &tid];
    names.extend(tenant.domains.iter().map(String::as_str));
    let mut out = Vec::with_capacity(names.len() * 2 + 2);
    for name in names {
        out.push(format!("{base}/{name}/oauth2/v2.0/token"));
        out.push(format!("{base}/{name}/oauth2/token"));
    }
    out.push(issuer_v2(base, &tid));
    out.push(issuer_v1(base, &tid));
    out
}
