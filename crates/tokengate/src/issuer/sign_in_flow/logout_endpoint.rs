//! `GET /{tenant}/oauth2/v2.0/logout` (and v1): ends the SSO session server-side and returns to
//! the app only at a redirect URI registered for it.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde::Deserialize;
use tokengate_core::audit::Outcome;
use tokengate_core::store::StoreError;
use uuid::Uuid;

use crate::client_address::ClientAddress;
use crate::issuer::browser_state::clear_session_cookie;
use crate::issuer::flow_audit::{self, Peer};
use crate::issuer::page_error::{PageError, StoreWrite};
use crate::issuer::pages;
use crate::state::{now, IssuerState};
use crate::web::html_response::see_other;

#[derive(Deserialize)]
pub struct LogoutQuery {
    post_logout_redirect_uri: Option<String>,
    client_id: Option<String>,
    id_token_hint: Option<String>,
    state: Option<String>,
}

pub async fn logout(
    State(state): State<Arc<IssuerState>>,
    Query(q): Query<LogoutQuery>,
    client: ClientAddress,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    end_session(&state, &headers, &Peer::of(client))
        .await
        .map_err(|e| PageError::unavailable(StoreWrite::EndSession, e))?;
    let client_id = q
        .client_id
        .as_deref()
        .and_then(|c| Uuid::parse_str(c).ok())
        .or_else(|| q.id_token_hint.as_deref().and_then(id_token_audience));
    let mut target = None;
    if let (Some(uri), Some(client_id)) = (q.post_logout_redirect_uri.as_deref(), client_id) {
        if let Ok(Some(app)) = state.store.app(client_id).await {
            // The same matching as /authorize: a public client's loopback URI may name any port.
            if tokengate_core::redirect_uri::registered_redirect(&app, uri).is_some() {
                let mut url = uri.to_owned();
                if let Some(s) = &q.state {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    url = format!(
                        "{url}{sep}{}",
                        form_urlencoded::Serializer::new(String::new()).append_pair("state", s).finish()
                    );
                }
                target = Some(url);
            }
        }
    }
    let mut response = match target {
        Some(url) => see_other(&url),
        None => pages::message_page(
            "You signed out",
            "You have signed out of your account. It's a good idea to close all browser windows.",
        ),
    };
    response.headers_mut().append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}

/// Ends the browser's session server-side, so a copy of the cookie is useless from now on (the
/// cookie itself is also cleared). An expired or forged cookie ends nothing.
async fn end_session(state: &IssuerState, headers: &HeaderMap, peer: &Peer) -> Result<(), StoreError> {
    let now = now();
    let Some(session) = state.browser.session(headers, now) else { return Ok(()) };
    let mut audit = flow_audit::event("session.ended", Outcome::Allowed, Some("logout".into()), peer);
    audit.tenant_id = Some(session.tenant_id.to_string());
    audit.subject = Some(session.user_id.to_string());
    audit.detail = serde_json::json!({"session_id": session.session_id});
    state.store.end_session(session.session_id, now, &audit).await.map(|_| ())
}

/// The `aud` of an ID token hint, read without trusting it: it only picks which app's registered
/// URIs a post-logout redirect may go to.
fn id_token_audience(token: &str) -> Option<Uuid> {
    let payload = token.split('.').nth(1)?;
    let bytes = tokengate_core::encoding::b64url_decode(payload)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Uuid::parse_str(value.get("aud")?.as_str()?).ok()
}
