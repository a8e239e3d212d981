//! The consent form (also the device-code confirmation): rendering what the app asks for and
//! `POST /flow/consent` — recording the person's consent for what the signed request asks (never
//! what the form says), then answering the client or deciding the device code.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::directory::{DelegatedGrant, Tenant, User};
use tokengate_core::errors::codes;
use tokengate_core::grants::delegated_scopes::{resolve, RequestedScopes, ResolvedScopes};
use tokengate_core::grants::device_code::DeviceDecision;
use uuid::Uuid;

use super::continuation::{resume_url, Continuation};
use super::flow_forms::{page_post, posted_continuation, FlowForm};
use super::next_step::session_user;
use crate::issuer::page_error::{PageError, StoreWrite};
use crate::issuer::pages::{self, ConsentPage};
use crate::state::{now, now_ms, IssuerState};
use crate::web::cookies::with_cookie;
use crate::web::html_response::{html, see_other};

/// What the consent page asks a person to agree to.
pub struct ConsentAsk<'a> {
    pub tenant: &'a Tenant,
    pub app_name: &'a str,
    pub user: &'a User,
    pub resolved: Option<&'a ResolvedScopes>,
    pub requested: &'a RequestedScopes,
}

pub fn consent_page(state: &IssuerState, headers: &HeaderMap, c: &Continuation, ask: ConsentAsk<'_>) -> Response {
    let ConsentAsk { tenant, app_name, user, resolved, requested } = ask;
    let f = FlowForm::new(state, headers, c, "/flow/consent");
    let mut scopes: Vec<(String, String)> = Vec::new();
    if requested.has("openid") || requested.has("profile") {
        scopes.push(("Sign you in and read your profile".into(), String::new()));
    }
    if let Some(r) = resolved {
        for value in &r.values {
            let description = r
                .resource
                .scopes
                .iter()
                .find(|s| &s.value == value)
                .map(|s| s.admin_consent_display_name.clone())
                .unwrap_or_default();
            scopes.push((format!("{} · {value}", r.resource.display_name), description));
        }
    }
    let page = ConsentPage {
        tenant_name: &tenant.display_name,
        app_name,
        user_name: &user.user_principal_name,
        scopes,
        offline: requested.has("offline_access"),
        action: &f.action,
        continuation: &f.continuation,
        csrf: &f.csrf,
    };
    with_cookie(html(StatusCode::OK, &page), f.set_cookie)
}

/// `POST /flow/consent`: the person accepted or declined (also the device-code confirmation).
pub async fn consent(
    State(state): State<Arc<IssuerState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let form = page_post(&state, &headers, body).await?;
    let now = now();
    let c = posted_continuation(&state, &form, now).await?;
    let Some((session, user)) = session_user(&state, &headers, c.tenant_id()).await else {
        // Signed out in between: start at sign-in again.
        return Ok(see_other(&resume_url(&state, &c)));
    };
    let Ok(Some(tenant)) = state.store.tenant(c.tenant_id()).await else { return Err(PageError::Expired) };
    let accepted = match form.get("decision") {
        Some("accept") => true,
        Some("decline") => false,
        _ => return Err(PageError::invalid_request("Choose Accept or Cancel.", None)),
    };
    let mut event = AuditEvent::new(
        AuditSource::Issuer,
        "consent",
        if accepted { Outcome::Allowed } else { Outcome::Denied },
        now_ms(),
    );
    event.tenant_id = Some(tenant.id.to_string());
    event.client_id = Some(c.client_id().to_string());
    event.subject = Some(user.object_id.to_string());
    if accepted {
        // What is granted comes from the signed request, never from the form.
        grant_missing(&state, &tenant, &c, &user, now).await?;
    }
    match c {
        Continuation::Authorize(mut r) => {
            state.audit.record(event).await;
            if !accepted {
                return Err(PageError::Redirect(Box::new(r.redirect_error(
                    "access_denied",
                    codes::CONSENT_DECLINED,
                    "The user declined to consent to access the app.",
                ))));
            }
            r.consent_session = Some(session.session_id);
            Ok(see_other(&resume_url(&state, &Continuation::Authorize(r))))
        }
        Continuation::Device { user_code_hash, .. } => {
            event.action = "device_code.decision".into();
            let decision = if accepted {
                DeviceDecision::Approve {
                    user_id: user.object_id,
                    auth_time: session.auth_time,
                    session_id: session.session_id,
                }
            } else {
                DeviceDecision::Decline { user_id: user.object_id }
            };
            let decided = state
                .store
                .decide_device_code(&user_code_hash, decision, now, &event)
                .await
                .map_err(|e| PageError::unavailable(StoreWrite::DeviceDecision, e))?;
            match decided {
                true if accepted => Ok(pages::message_page(
                    "You're signed in",
                    "You have signed in to the application on your device. You may now close this window.",
                )),
                true => Ok(pages::message_page(
                    "Sign-in cancelled",
                    "The device was not signed in. You may close this window.",
                )),
                false => Err(PageError::DeviceCodeGone),
            }
        }
    }
}

/// Records the person's consent for the scopes of the request they have not consented to yet.
async fn grant_missing(
    state: &IssuerState,
    tenant: &Tenant,
    c: &Continuation,
    user: &User,
    now: i64,
) -> Result<(), PageError> {
    let invalid = |e: tokengate_core::OAuthError| PageError::invalid_request(e.description, None);
    let requested = RequestedScopes::parse(c.scope()).map_err(invalid)?;
    let resolved =
        resolve(state.store.as_ref(), tenant, c.client_id(), user.object_id, &requested).await.map_err(invalid)?;
    let Some(r) = resolved.filter(|r| !r.missing_consent.is_empty()) else { return Ok(()) };
    let grant = DelegatedGrant {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        client_app_id: c.client_id(),
        resource_app_id: r.resource.app_id,
        principal_id: Some(user.object_id),
        scopes: r.missing_consent.clone(),
        created_at: now,
    };
    let mut audit = AuditEvent::new(AuditSource::Issuer, "consent.granted", Outcome::Allowed, now * 1000);
    audit.tenant_id = Some(tenant.id.to_string());
    audit.client_id = Some(c.client_id().to_string());
    audit.subject = Some(user.object_id.to_string());
    audit.detail = serde_json::json!({"resource": r.resource.app_id, "scopes": r.missing_consent});
    state.store.grant_delegated(&grant, &audit).await.map_err(|e| PageError::unavailable(StoreWrite::Consent, e))?;
    Ok(())
}
