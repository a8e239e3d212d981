//! `POST /{tenant}/oauth2/v2.0/token` and `/{tenant}/oauth2/token` (v1): reads the form strictly,
//! dispatches on `grant_type`, answers in Entra's shapes and audits every outcome once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use http_body_util::{BodyExt, Limited};
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::client_auth::{authenticate_confidential_client, ClientAuthContext, PresentedCredential};
use tokengate_core::directory::Tenant;
use tokengate_core::errors::codes;
use tokengate_core::grants::client_credentials::{self, IssuedAccessToken, ResourceParameter};
use tokengate_core::grants::delegated_issuance::{client_info, UserTokens};
use tokengate_core::grants::on_behalf_of::JWT_BEARER_GRANT;
use tokengate_core::grants::Issuer;
use tokengate_core::tokens::{issuer_v1, issuer_v2};
use tokengate_core::OAuthError;
use tokengate_proto::TokenResponse;

use super::error_response::{add_request_ids, no_store, oauth_error_response, RequestIds};
use super::form::{Form, MAX_FORM_BYTES};
use super::presented_client::presented_client;
use super::tenant_resolution::TenantSegment;
use super::user_grants;
use crate::state::{now, now_ms, IssuerState};

/// The TCP peer of a request, inserted by the listener.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// What a token request was answered with.
pub enum Granted {
    AppOnly(Box<IssuedAccessToken>),
    User { tokens: Box<UserTokens>, tenant_id: uuid::Uuid, client_info: bool },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    V1,
    V2,
}

pub async fn token_v2(
    State(state): State<Arc<IssuerState>>,
    Path(tenant): Path<String>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    token(state, tenant, Endpoint::V2, peer, headers, body).await
}

pub async fn token_v1(
    State(state): State<Arc<IssuerState>>,
    Path(tenant): Path<String>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    token(state, tenant, Endpoint::V1, peer, headers, body).await
}

/// What the audit record says about one token request.
#[derive(Default)]
pub struct Trail {
    pub grant: &'static str,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub token_id: Option<String>,
    pub detail: serde_json::Map<String, serde_json::Value>,
}

async fn token(
    state: Arc<IssuerState>,
    segment: String,
    endpoint: Endpoint,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let ids = RequestIds::from_headers(&headers);
    let client_ip = peer.map(|Extension(PeerAddr(a))| a.ip().to_string()).unwrap_or_else(|| "unknown".into());
    let mut trail = Trail { grant: "unknown", ..Default::default() };
    let result = handle(&state, &segment, endpoint, &client_ip, &headers, body, &mut trail).await;

    let (response, outcome, reason, status) = match result {
        Ok(Granted::AppOnly(issued)) => {
            trail.subject = Some(issued.claims.oid.clone());
            trail.token_id = Some(issued.claims.uti.clone());
            trail.detail.insert("resource".into(), issued.resource_app_id.to_string().into());
            trail.detail.insert("ver".into(), issued.claims.ver.clone().into());
            let response = success_response(&issued, endpoint, &trail, &ids);
            (response, Outcome::Allowed, None, 200)
        }
        Ok(Granted::User { tokens, tenant_id, client_info }) => {
            trail.subject = Some(tokens.user_id.to_string());
            trail.token_id = Some(tokens.tokens.claims.uti.clone());
            if let Some(resource) = tokens.tokens.resource_app_id {
                trail.detail.insert("resource".into(), resource.to_string().into());
            }
            trail.detail.insert("refresh_token".into(), tokens.tokens.refresh.is_some().into());
            let response = user_tokens_response(&tokens, endpoint, tenant_id, client_info, &ids);
            (response, Outcome::Allowed, None, 200)
        }
        Err(e) => {
            let outcome = if e.status >= 500 { Outcome::Error } else { Outcome::Denied };
            if e.status >= 500 {
                tracing::error!(trace_id = %ids.trace_id, error = %e, "token request failed");
            }
            (oauth_error_response(&e, &ids, &state.base_url), outcome, Some(format!("AADSTS{}", e.code)), e.status)
        }
    };

    let mut response = response;
    super::cors::token_response(&state, &headers, trail.client_id.as_deref(), &mut response).await;
    let mut event = AuditEvent::new(AuditSource::Issuer, format!("token.{}", trail.grant), outcome, now_ms());
    event.reason = reason;
    event.tenant_id = trail.tenant_id;
    event.client_id = trail.client_id;
    event.subject = trail.subject;
    event.token_id = trail.token_id;
    event.client_ip = Some(client_ip);
    event.status = Some(status);
    event.latency_us = Some(started.elapsed().as_micros() as i64);
    trail.detail.insert("trace_id".into(), ids.trace_id.to_string().into());
    event.detail = serde_json::Value::Object(trail.detail);
    state.audit.record(event).await;
    response
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    state: &IssuerState,
    segment: &str,
    endpoint: Endpoint,
    client_ip: &str,
    headers: &HeaderMap,
    body: Body,
    trail: &mut Trail,
) -> Result<Granted, OAuthError> {
    let tenant = match state.tenants.resolve(state.store.as_ref(), segment).await {
        Ok(Some(TenantSegment::Tenant(t))) => t,
        Ok(Some(TenantSegment::MultiTenant(_))) => {
            return Err(OAuthError::invalid_request(
                50059,
                "No tenant-identifying information found in either the request or implied by any provided credentials. Use a tenant-specific token endpoint.",
            ))
        }
        Ok(None) => return Err(OAuthError::tenant_not_found(&segment.chars().take(64).collect::<String>())),
        Err(e) => return Err(OAuthError::server_error(e.to_string())),
    };
    trail.tenant_id = Some(tenant.id.to_string());

    let form = read_form(headers, body).await?;
    let grant_type = form.require("grant_type")?;
    let user_grant = match grant_type {
        "client_credentials" => None,
        "authorization_code" => Some("authorization_code"),
        "refresh_token" => Some("refresh_token"),
        DEVICE_CODE_GRANT => Some("device_code"),
        JWT_BEARER_GRANT => Some("on_behalf_of"),
        _ => {
            return Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                codes::UNSUPPORTED_GRANT,
                "The provided value for the input parameter 'grant_type' is not valid.",
            ))
        }
    };
    if let Some(grant) = user_grant {
        trail.grant = grant;
        return user_grants::handle(state, segment, &tenant, client_ip, headers, &form, grant, trail).await;
    }
    trail.grant = "client_credentials";
    let parameter = match endpoint {
        Endpoint::V2 => {
            if form.get("resource").is_some() {
                return Err(OAuthError::invalid_request(
                    codes::RESOURCE_ON_V2,
                    "The 'resource' request parameter is not supported.",
                ));
            }
            ResourceParameter::Scope(form.require("scope")?)
        }
        Endpoint::V1 => ResourceParameter::Resource(form.require("resource")?),
    };
    if let ResourceParameter::Scope(scope) = &parameter {
        trail.detail.insert("scope".into(), scope.chars().take(1024).collect::<String>().into());
    }

    let presented = presented_client(headers, &form)?;
    trail.client_id = Some(presented.client_id.chars().filter(|c| c.is_ascii_graphic()).take(64).collect());
    let now = now();
    // Only assertions name an audience; secret requests (the hot path) skip building the list.
    let audiences = match presented.credential {
        PresentedCredential::Assertion { .. } => assertion_audiences(&state.base_url, segment, &tenant),
        _ => Vec::new(),
    };
    let ctx = ClientAuthContext {
        tenant: &tenant,
        client_id: &presented.client_id,
        client_ip,
        assertion_audiences: &audiences,
        now,
        skew: state.settings.clock_skew,
    };
    let client =
        authenticate_confidential_client(state.store.as_ref(), &state.limits, &presented.credential, &ctx).await?;
    if let Some(id) = client.credential_id {
        trail.detail.insert("credential_id".into(), id.to_string().into());
    }
    trail.detail.insert("auth".into(), client.method.acr().into());
    let issuer =
        Issuer { store: state.store.as_ref(), keys: &state.keys, settings: &state.settings, base_url: &state.base_url };
    client_credentials::issue(&issuer, &tenant, &client, parameter, now).await.map(|t| Granted::AppOnly(Box::new(t)))
}

pub async fn read_form(headers: &HeaderMap, body: Body) -> Result<Form, OAuthError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            codes::MALFORMED_REQUEST,
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    let bytes = Limited::new(body, MAX_FORM_BYTES)
        .collect()
        .await
        .map_err(|_| {
            OAuthError::invalid_request(codes::MALFORMED_REQUEST, "The request body is too large or was cut off.")
        })?
        .to_bytes();
    Form::parse(&bytes)
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

fn success_response(issued: &IssuedAccessToken, endpoint: Endpoint, trail: &Trail, ids: &RequestIds) -> Response {
    let expires_in = issued.expires_in.max(0) as u64;
    let body = match endpoint {
        Endpoint::V2 => serde_json::to_vec(&TokenResponse {
            token_type: "Bearer".into(),
            scope: trail_scope(trail),
            expires_in,
            ext_expires_in: expires_in,
            access_token: issued.access_token.clone(),
            refresh_token: None,
            id_token: None,
            client_info: None,
        }),
        // v1 answers with string numbers, `expires_on`/`not_before` and `resource`, as Entra.
        Endpoint::V1 => serde_json::to_vec(&serde_json::json!({
            "token_type": "Bearer",
            "expires_in": expires_in.to_string(),
            "ext_expires_in": expires_in.to_string(),
            "expires_on": issued.claims.exp.to_string(),
            "not_before": issued.claims.nbf.to_string(),
            "resource": issued.claims.aud,
            "access_token": issued.access_token,
        })),
    };
    token_json(body, ids)
}

fn trail_scope(trail: &Trail) -> String {
    trail.detail.get("scope").and_then(|v| v.as_str()).unwrap_or_default().to_owned()
}

/// RFC 8628 §3.4.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn user_tokens_response(
    t: &UserTokens,
    endpoint: Endpoint,
    tenant_id: uuid::Uuid,
    with_client_info: bool,
    ids: &RequestIds,
) -> Response {
    let expires_in = t.tokens.expires_in.max(0) as u64;
    let refresh_token = t.tokens.refresh.as_ref().map(|(token, _)| token.clone());
    let client_info = with_client_info.then(|| client_info(t.user_id, tenant_id));
    let body = match endpoint {
        Endpoint::V2 => serde_json::to_vec(&TokenResponse {
            token_type: "Bearer".into(),
            scope: t.scope.clone(),
            expires_in,
            ext_expires_in: expires_in,
            access_token: t.tokens.access_token.clone(),
            refresh_token,
            id_token: t.tokens.id_token.clone(),
            client_info,
        }),
        // v1 (ADAL-era clients): string numbers, `expires_on`/`not_before`, `resource`; `scope` lists
        // the granted permissions by value.
        Endpoint::V1 => {
            let mut body = serde_json::json!({
                "token_type": "Bearer",
                "scope": t.tokens.claims.scp.clone().unwrap_or_default(),
                "expires_in": expires_in.to_string(),
                "ext_expires_in": expires_in.to_string(),
                "expires_on": t.tokens.claims.exp.to_string(),
                "not_before": t.tokens.claims.nbf.to_string(),
                "resource": t.tokens.claims.aud,
                "access_token": t.tokens.access_token,
            });
            for (name, value) in [
                ("refresh_token", refresh_token),
                ("id_token", t.tokens.id_token.clone()),
                ("client_info", client_info),
            ] {
                if let Some(v) = value {
                    body[name] = v.into();
                }
            }
            serde_json::to_vec(&body)
        }
    };
    token_json(body, ids)
}

/// A token response body with the headers Entra sends on it (never cached).
fn token_json(body: serde_json::Result<Vec<u8>>, ids: &RequestIds) -> Response {
    let mut response = (StatusCode::OK, body.unwrap_or_default()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    no_store(h);
    add_request_ids(h, ids);
    response
}
