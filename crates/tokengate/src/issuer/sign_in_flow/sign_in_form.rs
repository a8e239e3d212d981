//! The sign-in form: rendering it and `POST /flow/sign-in` — the password check with smart
//! lockout (a browser that signed the user in before keeps its own budget), the server-side
//! session record, and a 303 back to the flow. A wrong password re-renders the form; it never
//! says which of account or password was wrong.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use tokengate_core::audit::Outcome;
use tokengate_core::directory::{Tenant, User};
use tokengate_core::errors::codes;
use tokengate_core::passwords::{check_password, PasswordCheck};
use tokengate_core::sign_in_lockout::Attempt;
use tokengate_core::store::SignInSession;
use uuid::Uuid;

use super::continuation::{resume_url, Continuation};
use super::flow_forms::{page_post, posted_continuation, FlowForm};
use crate::client_address::ClientAddress;
use crate::issuer::browser_state::{BrowserSession, SESSION_LIFETIME};
use crate::issuer::flow_audit::{self, Peer};
use crate::issuer::page_error::{PageError, StoreWrite};
use crate::issuer::pages::SignInPage;
use crate::state::{now, IssuerState};
use crate::web::cookies::with_cookie;
use crate::web::html_response::{html, see_other};

pub fn sign_in_page(
    state: &IssuerState,
    headers: &HeaderMap,
    tenant: &Tenant,
    app_name: &str,
    c: &Continuation,
    error: Option<&str>,
    login_hint: &str,
) -> Response {
    let f = FlowForm::new(state, headers, c, "/flow/sign-in");
    let page = SignInPage {
        tenant_name: &tenant.display_name,
        app_name,
        error,
        login_hint,
        action: &f.action,
        continuation: &f.continuation,
        csrf: &f.csrf,
    };
    with_cookie(html(StatusCode::OK, &page), f.set_cookie)
}

/// `POST /flow/sign-in`.
pub async fn sign_in(
    State(state): State<Arc<IssuerState>>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let form = page_post(&state, &headers, body).await?;
    let now = now();
    let c = posted_continuation(&state, &form, now).await?;
    let Ok(Some(tenant)) = state.store.tenant(c.tenant_id()).await else { return Err(PageError::Expired) };
    let Ok(Some(app)) = state.store.app(c.client_id()).await else { return Err(PageError::Expired) };
    let app_name = app.display_name;
    let username: String = form.get("username").unwrap_or_default().trim().chars().take(256).collect();
    let password = form.get("password").unwrap_or_default().to_owned();
    let peer = Peer::of(client);
    let user_key = username.to_ascii_lowercase();
    let user = state.store.user_by_upn(&username).await.ok().flatten().filter(|u| u.tenant_id == tenant.id);
    // Smart lockout: a browser that signed this user in before has its own budget.
    let known = state.browser.known_browser(&headers, now);
    let known_id = match (&known, &user) {
        (Some(k), Some(u)) => k.id_for(u.object_id).map(str::to_owned),
        _ => None,
    };
    let attempt = Attempt { user: &user_key, source: &peer.key, known_browser: known_id.as_deref() };
    let mut event = flow_audit::event("sign_in", Outcome::Denied, None, &peer);
    event.tenant_id = Some(tenant.id.to_string());
    event.client_id = Some(c.client_id().to_string());
    // A refused attempt shows the form again, with why.
    let form_again = |text: &str| sign_in_page(&state, &headers, &tenant, &app_name, &c, Some(text), &username);
    if let Err((retry, limit)) = state.sign_in_limits.check(&attempt, now) {
        event.reason = Some(format!("AADSTS{}", codes::ACCOUNT_LOCKED));
        event.subject = user.as_ref().map(|u| u.object_id.to_string());
        event.status = Some(429);
        event.detail = serde_json::json!({"limit": limit.as_str(), "retry_after": retry});
        state.audit.record(event).await;
        let mut response = form_again(&format!("Too many sign-in attempts. Wait {retry} seconds and try again."));
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        response.headers_mut().insert(header::RETRY_AFTER, retry.into());
        return Ok(response);
    }
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // Argon2 takes tens of milliseconds of CPU: off the async workers.
    let check = tokio::task::spawn_blocking(move || check_password(&password, stored.as_deref()))
        .await
        .unwrap_or(PasswordCheck::Wrong);
    let user = match (user, check) {
        (Some(u), PasswordCheck::Valid | PasswordCheck::ValidRehashed(_)) if !u.enabled => {
            event.reason = Some(format!("AADSTS{}", codes::USER_DISABLED));
            event.subject = Some(u.object_id.to_string());
            state.audit.record(event).await;
            return Ok(form_again("Your account has been disabled. Contact your administrator."));
        }
        (Some(u), PasswordCheck::Valid) => u,
        (Some(u), PasswordCheck::ValidRehashed(new_hash)) => {
            let change = move |user: &mut User| {
                user.password_hash = new_hash.clone();
                Ok(())
            };
            if let Err(e) = state.store.update_user(u.object_id, &change, None).await {
                tracing::warn!(error = %e, "password rehash not stored");
            }
            u
        }
        _ => {
            state.sign_in_limits.record_failure(&attempt, now);
            event.reason = Some(format!("AADSTS{}", codes::WRONG_CREDENTIALS));
            state.audit.record(event).await;
            return Ok(form_again("Your account or password is incorrect."));
        }
    };
    state.sign_in_limits.record_success(&attempt, now);
    let session =
        BrowserSession { session_id: Uuid::new_v4(), user_id: user.object_id, tenant_id: tenant.id, auth_time: now };
    let record = SignInSession {
        session_id: session.session_id,
        tenant_id: tenant.id,
        user_id: user.object_id,
        auth_time: now,
        expires_at: now + SESSION_LIFETIME,
    };
    state.store.insert_session(&record).await.map_err(|e| PageError::unavailable(StoreWrite::SignInSession, e))?;
    event.outcome = Outcome::Allowed;
    event.subject = Some(user.object_id.to_string());
    event.detail = serde_json::json!({"session_id": session.session_id, "familiar_browser": known_id.is_some()});
    state.audit.record(event).await;
    let next = c.signed_in(session.session_id);
    let mut response = see_other(&resume_url(&state, &next));
    response.headers_mut().append(header::SET_COOKIE, state.browser.session_cookie(&session, now));
    response.headers_mut().append(header::SET_COOKIE, state.browser.known_browser_cookie(known, user.object_id, now));
    Ok(response)
}
