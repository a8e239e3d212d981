//! Deciding the next step of a flow — sign in, consent, or answer the client — from the signed
//! request and the browser's live session. `GET /flow/resume` (where every POST of the flow
//! lands with a 303) and `/authorize` both come here, so every step re-checks what it relies on.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tokengate_core::directory::User;
use tokengate_core::errors::codes;
use tokengate_core::grants::delegated_scopes::{resolve, RequestedScopes};
use tokengate_core::OAuthError;
use uuid::Uuid;

use super::consent_form::{consent_page, ConsentAsk};
use super::continuation::{self, Continuation};
use super::response_delivery::answer_with_code;
use super::sign_in_form::sign_in_page;
use crate::issuer::authorize_request::{Prompt, RedirectError};
use crate::issuer::browser_state::BrowserSession;
use crate::issuer::flow_audit::{self, Peer};
use crate::issuer::page_error::PageError;
use crate::state::{now, IssuerState};

#[derive(Deserialize)]
pub struct ResumeQuery {
    continuation: String,
}

/// `GET /flow/resume`: where every POST of the flow lands (303).
pub async fn resume(
    State(state): State<Arc<IssuerState>>,
    Query(q): Query<ResumeQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let c = continuation::open(&state, &q.continuation, now()).ok_or(PageError::Expired)?;
    proceed(&state, &headers, c).await
}

/// The session to use for a flow in `tenant_id`, if the browser has one there, for an enabled
/// user. The signed cookie only names the session: it counts while its server-side record is live
/// (never cached, so a sign-out anywhere ends it at once for every copy of the cookie).
pub async fn session_user(state: &IssuerState, headers: &HeaderMap, tenant_id: Uuid) -> Option<(BrowserSession, User)> {
    let now = now();
    let session = state.browser.session(headers, now).filter(|s| s.tenant_id == tenant_id)?;
    let live = state.store.live_session(session.session_id, now).await.ok().flatten()?;
    if live.user_id != session.user_id || live.tenant_id != session.tenant_id {
        return None;
    }
    let user =
        state.store.user(session.user_id).await.ok().flatten().filter(|u| u.enabled && u.tenant_id == tenant_id)?;
    Some((session, user))
}

/// Decides the next step: sign in, consent, or answer.
pub async fn proceed(state: &IssuerState, headers: &HeaderMap, c: Continuation) -> Result<Response, PageError> {
    let Ok(Some(tenant)) = state.store.tenant(c.tenant_id()).await else { return Err(PageError::Expired) };
    let Ok(Some(client)) = state.store.app(c.client_id()).await else { return Err(PageError::Expired) };
    let signed_in = session_user(state, headers, tenant.id).await;
    let (prompt, hint, fresh_session) = match &c {
        Continuation::Authorize(r) => (r.prompt, r.login_hint.clone(), r.signed_in_session),
        // A device approval always confirms who is signed in on the next page.
        Continuation::Device { signed_in_session, .. } => (None, None, *signed_in_session),
    };
    let needs_sign_in = match &signed_in {
        None => true,
        Some((session, user)) => {
            let fresh = fresh_session == Some(session.session_id);
            let wants_fresh = matches!(prompt, Some(Prompt::Login) | Some(Prompt::SelectAccount));
            let other_user = hint.as_deref().is_some_and(|h| !h.eq_ignore_ascii_case(&user.user_principal_name));
            (wants_fresh || other_user) && !fresh
        }
    };
    if needs_sign_in {
        if prompt == Some(Prompt::None) {
            if let Continuation::Authorize(r) = &c {
                let e = r.redirect_error(
                    "login_required",
                    codes::LOGIN_REQUIRED,
                    "The user must sign in: there is no single sign-on session (prompt=none).",
                );
                return Err(refused_to_client(state, r.client_id, e).await);
            }
        }
        let hint = hint.as_deref().unwrap_or("");
        return Ok(sign_in_page(state, headers, &tenant, &client.display_name, &c, None, hint));
    }
    let Some((session, user)) = signed_in else { return Err(PageError::Expired) };

    let requested = match RequestedScopes::parse(c.scope()) {
        Ok(r) => r,
        Err(e) => return Err(scope_error(state, &c, e).await),
    };
    let resolved = match resolve(state.store.as_ref(), &tenant, client.app_id, user.object_id, &requested).await {
        Ok(r) => r,
        Err(e) => return Err(scope_error(state, &c, e).await),
    };
    let missing = resolved.as_ref().is_some_and(|r| !r.missing_consent.is_empty());
    let consent = || {
        let ask = ConsentAsk {
            tenant: &tenant,
            app_name: &client.display_name,
            user: &user,
            resolved: resolved.as_ref(),
            requested: &requested,
        };
        consent_page(state, headers, &c, ask)
    };
    match &c {
        Continuation::Authorize(r) => {
            let consent_forced = r.prompt == Some(Prompt::Consent) && r.consent_session != Some(session.session_id);
            if missing || consent_forced {
                if r.prompt == Some(Prompt::None) {
                    let e = r.redirect_error(
                        "consent_required",
                        codes::CONSENT_REQUIRED,
                        "The user or administrator has not consented to use the application (prompt=none).",
                    );
                    return Err(refused_to_client(state, r.client_id, e).await);
                }
                return Ok(consent());
            }
            answer_with_code(state, r, &client, &session, &user).await
        }
        Continuation::Device { .. } => Ok(consent()),
    }
}

/// An unknown resource or permission goes back to the client (its redirect URI is verified); a
/// device has no redirect URI, so the person is told on the page.
async fn scope_error(state: &IssuerState, c: &Continuation, e: OAuthError) -> PageError {
    match c {
        Continuation::Authorize(r) => {
            refused_to_client(state, r.client_id, r.redirect_error(e.error, e.code, &e.description)).await
        }
        Continuation::Device { client_id, .. } => {
            flow_audit::refused(
                state,
                "device_code.scope_refused",
                format!("AADSTS{}", e.code),
                &Peer::default(),
                |a| {
                    a.client_ip = None;
                    a.client_id = Some(client_id.to_string());
                },
            )
            .await;
            PageError::invalid_request(e.description, Some(e.code))
        }
    }
}

/// An error answered to the client's redirect URI, with its audit record.
async fn refused_to_client(state: &IssuerState, client_id: Uuid, e: RedirectError) -> PageError {
    flow_audit::refused(state, "authorize.rejected", format!("AADSTS{}", e.code), &Peer::default(), |a| {
        a.client_ip = None;
        a.client_id = Some(client_id.to_string());
        a.detail = serde_json::json!({"answer": "redirect", "error": e.error});
    })
    .await;
    PageError::Redirect(Box::new(e))
}
