//! The device authorization grant over HTTP: `POST /{tenant}/oauth2/v2.0/devicecode` (the device
//! asks for codes) and `/devicelogin` (a person enters the user code, then signs in and confirms
//! through the same sign-in and consent pages as `/authorize`).
//!
//! Guessing user codes is bounded three ways: 42.8 bits per code, wrong entries limited per IP,
//! and a global limit on wrong entries across all IPs (so a botnet cannot sweep the code space).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use tokengate_core::errors::codes;
use tokengate_core::grants::device_code::{self, normalize_user_code, user_code_hash};
use tokengate_core::grants::Issuer;
use tokengate_core::OAuthError;
use uuid::Uuid;

use super::browser_state::csrf_cookie;
use super::error_response::{no_store, oauth_error_response, RequestIds};
use super::pages::{self, see_other, DeviceEntryPage};
use super::sign_in_flow::{page_post, resume_url, Continuation};
use super::tenant_resolution::TenantSegment;
use super::token_endpoint::{read_form, PeerAddr};
use crate::state::{now, IssuerState};

/// Key of the all-IPs limiter.
const EVERYONE: &str = "*";

/// `POST /{tenant}/oauth2/v2.0/devicecode` (and v1).
pub async fn device_authorization(
    State(state): State<Arc<IssuerState>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ids = RequestIds::from_headers(&headers);
    match start(&state, &segment, &headers, body).await {
        Ok(json) => {
            let mut response = (StatusCode::OK, axum::Json(json)).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(e) => oauth_error_response(&e, &ids, &state.base_url),
    }
}

async fn start(
    state: &IssuerState,
    segment: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<serde_json::Value, OAuthError> {
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
    if !visible {
        return Err(unknown_client());
    }
    let issuer =
        Issuer { store: state.store.as_ref(), keys: &state.keys, settings: &state.settings, base_url: &state.base_url };
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
    let (cookie, set_cookie) = csrf_cookie(headers);
    let csrf = state.browser.csrf_token(&cookie);
    let action = format!("{}/devicelogin", state.base_url);
    let mut response = pages::html(status, &DeviceEntryPage { error, action: &action, csrf: &csrf });
    if let Some(c) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// `POST /devicelogin`: the person typed a code.
pub async fn enter_code(
    State(state): State<Arc<IssuerState>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match page_post(&state, &headers, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let now = now();
    let ip = peer.map(|Extension(PeerAddr(a))| a.ip().to_string()).unwrap_or_default();
    if let Err(retry) = state.device_code_limits.check(EVERYONE, &ip, now) {
        let mut response = render_entry(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!("Too many wrong codes. Wait {retry} seconds and try again.")),
        );
        if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let found = match form.get("user_code").and_then(normalize_user_code) {
        Some(code) => {
            let hash = user_code_hash(&code);
            state.store.pending_device_code(&hash, now).await.ok().flatten().map(|d| (hash, d))
        }
        None => None,
    };
    let Some((hash, pending)) = found else {
        state.device_code_limits.record_failure(EVERYONE, &ip, now);
        return render_entry(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            Some("That code wasn't recognised or has expired. Check the code on your device and try again."),
        );
    };
    let c = Continuation::Device {
        tenant_id: pending.tenant_id,
        client_id: pending.client_id,
        user_code_hash: hash,
        scope: pending.scopes.join(" "),
        signed_in_session: None,
    };
    see_other(&resume_url(&state, &c))
}
