//! `POST /{tenant}/oauth2/v2.0/introspect` and `/{tenant}/oauth2/introspect` (v1): RFC 7662 token
//! introspection — a documented extension, Entra has none.
//!
//! Only a confidential client that authenticates (as at the token endpoint) may ask; no
//! authentication is 401 `invalid_client`. A token is answered as active only to its own client
//! (`azp`/`appid`, or the refresh token's client) or, for an access token, to its audience (the
//! app whose client id or App ID URI is the `aud`), and only in the token's tenant. Anything else —
//! expired (strictly: no clock skew here), revoked (the revocation set; a refresh token revoked,
//! rotated or withdrawn in the store, or of a disabled user), unknown, malformed, or not the
//! caller's business — is `{"active":false}` and nothing more, so a caller cannot tell which.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokengate_core::access::token_validation::VerifiedToken;
use tokengate_core::client_auth::AuthenticatedClient;
use tokengate_core::directory::Tenant;
use tokengate_core::grants::token_families::{RefreshState, RefreshToken};
use tokengate_core::OAuthError;
use tokengate_core::UnixTime;
use uuid::Uuid;

use super::authenticated_caller::CallerForm;
use super::caller_audit::{self, Answered};
use super::error_response::{add_request_ids, no_store, oauth_error_response, RequestIds};
use super::introspection_response::Introspection;
use super::presented_token::{issued_to, PresentedToken, TokenTypeHint};
use super::token_endpoint::grant_type::ClientKinds;
use super::token_endpoint::token_request::{Received, TokenTrail};
use super::token_endpoint::Endpoint;
use crate::client_address::ClientAddress;
use crate::state::{now, IssuerState};

pub async fn introspect_v2(
    State(state): State<Arc<IssuerState>>,
    Path(tenant): Path<String>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let received = Received { segment: &tenant, endpoint: Endpoint::V2, headers: &headers, client, now: now() };
    introspect(state, received, body).await
}

pub async fn introspect_v1(
    State(state): State<Arc<IssuerState>>,
    Path(tenant): Path<String>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let received = Received { segment: &tenant, endpoint: Endpoint::V1, headers: &headers, client, now: now() };
    introspect(state, received, body).await
}

async fn introspect(state: Arc<IssuerState>, received: Received<'_>, body: Body) -> Response {
    let started = Instant::now();
    let ids = RequestIds::from_headers(received.headers);
    let mut trail = TokenTrail::default();
    let result = answer(&state, &received, body, &mut trail).await;
    let response = match &result {
        Ok(introspection) => {
            trail.detail.insert("active".into(), introspection.active.into());
            json_response(introspection, &ids)
        }
        Err(e) => oauth_error_response(e, &ids, &state.base_url),
    };
    let answered = Answered {
        action: "token.introspect",
        status: response.status().as_u16(),
        client: received.client,
        started,
        ids: &ids,
    };
    caller_audit::record(&state, answered, result.as_ref().err(), trail).await;
    response
}

fn json_response(introspection: &Introspection, ids: &RequestIds) -> Response {
    let mut response = (StatusCode::OK, axum::Json(introspection)).into_response();
    let headers = response.headers_mut();
    // RFC 7662 §2.2 asks for `application/json` exactly.
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    no_store(headers);
    add_request_ids(headers, ids);
    response
}

async fn answer(
    state: &IssuerState,
    received: &Received<'_>,
    body: Body,
    trail: &mut TokenTrail,
) -> Result<Introspection, OAuthError> {
    let caller = CallerForm::read(state, received, body, trail).await?;
    let token = caller.form.require("token")?;
    let hint = TokenTypeHint::parse(caller.form.get("token_type_hint"));
    let client = caller.authenticate(state, received, ClientKinds::Confidential, trail).await?;
    Ok(match PresentedToken::find(state, token, hint, received.now).await? {
        PresentedToken::Access(access) => {
            trail.token_id = access.uti.as_deref().map(str::to_owned);
            access_token(&access, &client, &caller.tenant, received.now)
        }
        PresentedToken::Refresh(refresh) => {
            refresh_token(state, &refresh, &client, &caller.tenant, received.now).await?
        }
        PresentedToken::Unknown => Introspection::inactive(),
    })
}

fn access_token(access: &VerifiedToken, client: &AuthenticatedClient, tenant: &Tenant, now: UnixTime) -> Introspection {
    // `own_tokens` accepts a token up to the clock skew past `exp`, as gateways do; "active" here
    // means within its stated lifetime.
    if now >= access.exp {
        return Introspection::inactive();
    }
    let app = &client.app;
    let in_tenant = access.tid.as_deref().and_then(|t| Uuid::parse_str(t).ok()) == Some(tenant.id);
    let is_audience = access.aud.iter().any(|aud| {
        Uuid::parse_str(aud).ok() == Some(app.app_id) || app.identifier_uris.iter().any(|uri| uri == &**aud)
    });
    if issued_to(access, app.app_id, tenant.id) || (in_tenant && is_audience) {
        Introspection::of_access_token(access)
    } else {
        Introspection::inactive()
    }
}

async fn refresh_token(
    state: &IssuerState,
    refresh: &RefreshToken,
    client: &AuthenticatedClient,
    tenant: &Tenant,
    now: UnixTime,
) -> Result<Introspection, OAuthError> {
    if refresh.client_id != client.app.app_id || refresh.tenant_id != tenant.id || refresh.expires_at <= now {
        return Ok(Introspection::inactive());
    }
    // As the refresh grant would take it: the live token of its family, or (apps that keep old
    // refresh tokens valid, as Entra) an earlier one of a family still alive.
    let usable = match refresh.state {
        RefreshState::Active => true,
        RefreshState::Rotated => client.app.entra_compatible_refresh_tokens,
        RefreshState::Withdrawn | RefreshState::Revoked => false,
    };
    if !usable {
        return Ok(Introspection::inactive());
    }
    let user = state
        .store
        .user(refresh.user_id)
        .await
        .map_err(|e| OAuthError::server_error(format!("storage unavailable: {e}")))?;
    Ok(match user.filter(|u| u.enabled) {
        Some(user) => Introspection::of_refresh_token(refresh, &user, &state.base_url),
        None => Introspection::inactive(),
    })
}
