//! The device authorization grant over HTTP: `POST /{tenant}/oauth2/v2.0/devicecode` (the device
//! asks for codes) and `/devicelogin` (a person enters the user code, then signs in and confirms
//! through the same sign-in and consent pages as `/authorize`).
//!
//! Guessing user codes: 42.8 bits per code; wrong entries are limited per source and across all
//! sources. A source over its own budget is refused before any lookup (it must not learn hits
//! from misses); otherwise the code is looked up first and a valid one is never refused because
//! of guesses from elsewhere, so guessers cannot lock people out. Creating codes needs no credential
//! (as in Entra), so `/devicecode` is rate-limited per source and per client. Every refusal is
//! audited with a reason code, never with the code itself.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokengate_core::audit::Outcome;
use tokengate_core::errors::codes;
use tokengate_core::grants::device_code::{self, normalize_user_code, user_code_hash};
use tokengate_core::rate_limit::source_key_of;
use tokengate_core::OAuthError;
use uuid::Uuid;

use super::error_response::{no_store, oauth_error_response, RequestIds};
use super::flow_audit::{self, Peer};
use super::form::read_form;
use super::page_error::PageError;
use super::pages::DeviceEntryPage;
use super::sign_in_flow::{page_post, resume_url, Continuation};
use super::tenant_resolution::TenantSegment;
use crate::client_address::ClientAddress;
use crate::state::{now, IssuerState};
use crate::web::cookies::with_cookie;
use crate::web::html_response::{html, see_other};

/// Key of the all-IPs limiter.
const EVERYONE: &str = "*";

/// Who asked for a device code, for the audit record.
#[derive(Default)]
struct StartTrail {
    client_id: Option<String>,
    tenant_id: Option<String>,
}

/// `POST /{tenant}/oauth2/v2.0/devicecode` (and v1).
pub async fn device_authorization(
    State(state): State<Arc<IssuerState>>,
    Path(segment): Path<String>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ids = RequestIds::from_headers(&headers);
    let peer = Peer::of(client);
    let mut trail = StartTrail::default();
    let result = start(&state, &segment, &peer, &headers, body, &mut trail).await;
    let (outcome, reason, status) = match &result {
        Ok(_) => (Outcome::Allowed, None, 200),
        Err(e) if e.status >= 500 => (Outcome::Error, Some(format!("AADSTS{}", e.code)), e.status),
        Err(e) => (Outcome::Denied, Some(format!("AADSTS{}", e.code)), e.status),
    };
    let mut event = flow_audit::event("device_code.created", outcome, reason, &peer);
    event.client_id = trail.client_id;
    event.tenant_id = trail.tenant_id;
    event.status = Some(status);
    event.detail = serde_json::json!({"trace_id": ids.trace_id.to_string()});
    state.audit.record(event).await;
    match result {
        Ok(json) => {
            let mut response = (StatusCode::OK, axum::Json(json)).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(e) => oauth_error_response(&e, &ids, &state.base_url),
    }
}

fn throttled(retry_after: u64) -> OAuthError {
    let mut e = OAuthError::new(
        429,
        "temporarily_unavailable",
        codes::THROTTLED,
        "Request throttled: too many device code requests. Retry later.",
    );
    e.retry_after = Some(retry_after);
    e
}

async fn start(
    state: &IssuerState,
    segment: &str,
    peer: &Peer,
    headers: &HeaderMap,
    body: Body,
    trail: &mut StartTrail,
) -> Result<serde_json::Value, OAuthError> {
    // Every request counts against its source, before anything is read or looked up.
    let limits = &state.device_start_limits;
    limits.per_ip.check(&peer.key, now()).map_err(throttled)?;
    limits.per_ip.record_failure(&peer.key, now());
    let form = read_form(headers, body).await?;
    let client_id = form.require("client_id")?;
    let scope = form.get("scope").unwrap_or("openid profile offline_access");
    let unknown_client = || {
        OAuthError::new(
            400,
            "unauthorized_client",
            codes::APP_NOT_FOUND,
            format!(
                "Application with identifier '{}' was not found in the directory.",
                client_id.chars().take(64).collect::<String>()
            ),
        )
    };
    let app_id = Uuid::parse_str(client_id).map_err(|_| unknown_client())?;
    let client = state
        .store
        .app(app_id)
        .await
        .map_err(|e| OAuthError::server_error(e.to_string()))?
        .ok_or_else(unknown_client)?;
    trail.client_id = Some(client.app_id.to_string());
    limits.per_client.check(&client.app_id.to_string(), now()).map_err(throttled)?;
    limits.per_client.record_failure(&client.app_id.to_string(), now());
    let tenant = match state.tenants.resolve(state.store.as_ref(), segment).await {
        Ok(Some(TenantSegment::Tenant(t))) => (*t).clone(),
        Ok(Some(TenantSegment::MultiTenant(_))) => {
            state.store.tenant(client.tenant_id).await.ok().flatten().ok_or_else(unknown_client)?
        }
        Ok(None) => return Err(OAuthError::tenant_not_found(&segment.chars().take(64).collect::<String>())),
        Err(e) => return Err(OAuthError::server_error(e.to_string())),
    };
    let visible = client.tenant_id == tenant.id
        || state.store.service_principal(tenant.id, app_id).await.ok().flatten().is_some();
    trail.tenant_id = Some(tenant.id.to_string());
    if !visible {
        return Err(unknown_client());
    }
    let issuer = state.issuer();
    let started = device_code::start(&issuer, &tenant, &client, scope, now()).await?;
    let verification_uri = format!("{}/devicelogin", state.base_url);
    Ok(serde_json::json!({
        "user_code": started.user_code,
        "device_code": started.device_code,
        "verification_uri": verification_uri,
        "expires_in": started.expires_in,
        "interval": started.interval,
        "message": format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code {} to authenticate.",
            started.user_code
        ),
    }))
}

/// `GET /devicelogin`.
pub async fn entry_page(State(state): State<Arc<IssuerState>>, headers: HeaderMap) -> Response {
    render_entry(&state, &headers, StatusCode::OK, None)
}

fn render_entry(state: &IssuerState, headers: &HeaderMap, status: StatusCode, error: Option<&str>) -> Response {
    let (cookie, set_cookie) = state.browser.csrf().browser_cookie(headers);
    let csrf = state.browser.csrf().token(&cookie);
    let action = format!("{}/devicelogin", state.base_url);
    with_cookie(html(status, &DeviceEntryPage { error, action: &action, csrf: &csrf }), set_cookie)
}

/// 429 for a code entry over its budget, audited.
async fn too_many_codes(state: &IssuerState, headers: &HeaderMap, peer: &Peer, retry: u64) -> Response {
    flow_audit::refused(state, "device_code.entered", format!("AADSTS{}", codes::THROTTLED), peer, |a| {
        a.status = Some(429);
        a.detail = serde_json::json!({"retry_after": retry});
    })
    .await;
    let mut response = render_entry(
        state,
        headers,
        StatusCode::TOO_MANY_REQUESTS,
        Some(&format!("Too many wrong codes. Wait {retry} seconds and try again.")),
    );
    if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// `POST /devicelogin`: the person typed a code.
pub async fn enter_code(
    State(state): State<Arc<IssuerState>>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let form = page_post(&state, &headers, body).await?;
    let now = now();
    let peer = Peer::of(client);
    // A source that used up its own budget is refused before its code is looked up: otherwise a
    // throttled guesser could still tell a hit (303) from a miss (429) and guess at full speed.
    // Guesses from other sources never count against it, so nobody is locked out by others.
    let source = source_key_of(&peer.ip);
    if let Err(retry) = state.device_code_limits.per_ip.check(&source, now) {
        return Ok(too_many_codes(&state, &headers, &peer, retry).await);
    }
    // Then the code: a valid code is never refused because of guesses from elsewhere.
    let found = match form.get("user_code").and_then(normalize_user_code) {
        Some(code) => {
            let hash = user_code_hash(&code);
            state.store.pending_device_code(&hash, now).await.ok().flatten().map(|d| (hash, d))
        }
        None => None,
    };
    let Some((hash, pending)) = found else {
        // A miss: also throttled across all sources (a distributed guesser).
        if let Err(retry) = state.device_code_limits.per_client.check(EVERYONE, now) {
            return Ok(too_many_codes(&state, &headers, &peer, retry).await);
        }
        state.device_code_limits.record_failure(EVERYONE, &peer.ip, now);
        flow_audit::refused(&state, "device_code.entered", format!("AADSTS{}", codes::DEVICE_BAD_CODE), &peer, |a| {
            a.status = Some(400);
        })
        .await;
        return Ok(render_entry(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            Some("That code wasn't recognised or has expired. Check the code on your device and try again."),
        ));
    };
    let mut entered = flow_audit::event("device_code.entered", Outcome::Allowed, None, &peer);
    entered.tenant_id = Some(pending.tenant_id.to_string());
    entered.client_id = Some(pending.client_id.to_string());
    state.audit.record(entered).await;
    let c = Continuation::Device {
        tenant_id: pending.tenant_id,
        client_id: pending.client_id,
        user_code_hash: hash,
        scope: pending.scopes.join(" "),
        signed_in_session: None,
    };
    Ok(see_other(&resume_url(&state, &c)))
}
