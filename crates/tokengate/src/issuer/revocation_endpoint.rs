//! `POST /{tenant}/oauth2/v2.0/revoke` and `/{tenant}/oauth2/revoke` (v1): RFC 7009 token
//! revocation — a documented extension, Entra has no such endpoint.
//!
//! The client authenticates as at the token endpoint (a public client by its `client_id`: it may
//! revoke what was issued to it). A refresh token of the caller revokes its whole family (RFC 7009
//! §2.1: the grant's access tokens go too); an access token of the caller is revoked by its `uti`.
//! A token issued to another client is refused (400 `unauthorized_client`, RFC 7009 §2.2) and
//! left alone; anything unknown, expired or already revoked is 200, as the RFC asks. A revocation
//! is written with its audit record (actor: the client id) and applied on this node before the
//! 200, so the caller's next request here already sees it.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokengate_core::errors::codes;
use tokengate_core::grants::client_binding::ClientBinding;
use tokengate_core::grants::token_families::RefreshState;
use tokengate_core::revocations::RevocationTarget;
use tokengate_core::OAuthError;

use super::authenticated_caller::CallerForm;
use super::caller_audit::{self, Answered};
use super::error_response::{add_request_ids, no_store, oauth_error_response, RequestIds};
use super::presented_token::{issued_to, PresentedToken, TokenTypeHint};
use super::token_endpoint::grant_type::ClientKinds;
use super::token_endpoint::token_request::{Received, TokenTrail};
use super::token_endpoint::Endpoint;
use crate::client_address::ClientAddress;
use crate::state::{now, IssuerState};

/// Recorded with the revocation, for whoever reads the feed.
const REASON: &str = "revoked by its client (RFC 7009)";

pub async fn revoke_v2(
    State(state): State<Arc<IssuerState>>,
    Path(tenant): Path<String>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> Response {
    revoke(state, Received { segment: &tenant, endpoint: Endpoint::V2, headers: &headers, client, now: now() }, body)
        .await
}

pub async fn revoke_v1(
    State(state): State<Arc<IssuerState>>,
    Path(tenant): Path<String>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> Response {
    revoke(state, Received { segment: &tenant, endpoint: Endpoint::V1, headers: &headers, client, now: now() }, body)
        .await
}

async fn revoke(state: Arc<IssuerState>, received: Received<'_>, body: Body) -> Response {
    let started = Instant::now();
    let ids = RequestIds::from_headers(received.headers);
    let mut trail = TokenTrail::default();
    let result = revoke_presented(&state, &received, body, &mut trail).await;
    let mut response = match &result {
        Ok(()) => {
            // RFC 7009 §2.2: 200 with no content, whatever was (or was not) revoked.
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            add_request_ids(response.headers_mut(), &ids);
            response
        }
        Err(e) => oauth_error_response(e, &ids, &state.base_url),
    };
    super::cors::token_response(&state, received.headers, trail.client_id.as_deref(), &mut response).await;
    let answered = Answered {
        action: "token.revoke",
        status: response.status().as_u16(),
        client: received.client,
        started,
        ids: &ids,
    };
    caller_audit::record(&state, answered, result.as_ref().err(), trail).await;
    response
}

async fn revoke_presented(
    state: &IssuerState,
    received: &Received<'_>,
    body: Body,
    trail: &mut TokenTrail,
) -> Result<(), OAuthError> {
    let caller = CallerForm::read(state, received, body, trail).await?;
    let token = caller.form.require("token")?;
    let hint = TokenTypeHint::parse(caller.form.get("token_type_hint"));
    let client = caller.authenticate(state, received, ClientKinds::PublicOrConfidential, trail).await?;
    let target = match PresentedToken::find(state, token, hint, received.now).await? {
        PresentedToken::Access(access) => {
            trail.detail.insert("token_type".into(), "access_token".into());
            trail.token_id = access.uti.as_deref().map(str::to_owned);
            if !issued_to(&access, client.app.app_id, caller.tenant.id) {
                return Err(another_clients_token());
            }
            // Every access token we sign carries a `uti`; one without is none of ours to name.
            let Some(uti) = access.uti.as_deref() else { return Ok(()) };
            RevocationTarget::Token { token_id: uti.to_owned() }
        }
        PresentedToken::Refresh(refresh) => {
            trail.detail.insert("token_type".into(), "refresh_token".into());
            trail.detail.insert("family_id".into(), refresh.family_id.to_string().into());
            trail.subject = Some(refresh.user_id.to_string());
            if refresh.client_id != client.app.app_id || refresh.tenant_id != caller.tenant.id {
                return Err(another_clients_token());
            }
            // The family keeps the client authentication its sign-in needed, here as at the
            // refresh grant: a hybrid app's web sign-in is not revoked without its secret either.
            let binding = refresh.client_binding.unwrap_or_else(|| ClientBinding::for_legacy_family(&client.app));
            let origin = received.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
            binding.check(client.method, origin)?;
            if refresh.state == RefreshState::Revoked {
                return Ok(());
            }
            // The store fills in the family's access tokens inside the revocation's transaction.
            RevocationTarget::Family { family_id: refresh.family_id.to_string(), token_ids: Vec::new() }
        }
        PresentedToken::Unknown => {
            trail.detail.insert("token_type".into(), "unknown".into());
            return Ok(());
        }
    };
    let actor = client.app.app_id.to_string();
    let (row, _effects) = crate::revoke::revoke(state.store.as_ref(), target, &actor, Some(REASON.to_owned()))
        .await
        .map_err(|e| OAuthError::server_error(format!("storage unavailable: {e}")))?;
    trail.detail.insert("revocation_version".into(), row.version.into());
    state.feed.written(row.version).await;
    if state.revocations.applied_version() < row.version {
        // Written and durable, so the 200 stands; the feed loop applies it when the store answers
        // again (and this node's gateway fails closed while its set is stale).
        tracing::warn!(version = row.version, "a revocation was written but not yet applied on this node");
    }
    Ok(())
}

/// RFC 7009 §2.2: "the request is refused and the client is informed of the error". Entra has
/// no revocation endpoint; 70000 is what its refresh grant answers for another client's token.
fn another_clients_token() -> OAuthError {
    OAuthError::new(400, "unauthorized_client", codes::INVALID_GRANT, "The token was issued to another client.")
}
