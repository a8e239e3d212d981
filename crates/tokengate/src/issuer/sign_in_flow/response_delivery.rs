//! The answer to the client at its verified redirect URI: the authorization code once the flow
//! is done, or an OAuth error — as a query, a fragment or an auto-submitted `form_post`, as the
//! request's `response_mode` asks. `state` goes back byte for byte.

use axum::response::Response;
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::directory::{AppRegistration, User};
use tokengate_core::grants::authorization_code::{issue_code, NewCode};
use tokengate_core::redirect_uri::registered_redirect;

use crate::issuer::authorize_request::{AuthorizeRequest, RedirectError, ResponseMode};
use crate::issuer::browser_state::BrowserSession;
use crate::issuer::page_error::{PageError, StoreWrite};
use crate::issuer::pages;
use crate::state::{now, now_ms, IssuerState};
use crate::web::html_response::see_other;

/// Issues the authorization code for `r` and answers the client with it.
pub async fn answer_with_code(
    state: &IssuerState,
    r: &AuthorizeRequest,
    client: &AppRegistration,
    session: &BrowserSession,
    user: &User,
) -> Result<Response, PageError> {
    // The code remembers its redirect URI's platform: it decides how the code is redeemed.
    let redirect = registered_redirect(client, &r.redirect_uri).ok_or(PageError::Expired)?;
    let issuer = state.issuer();
    let new_code = NewCode {
        tenant_id: r.tenant_id,
        client_id: r.client_id,
        user_id: user.object_id,
        redirect_uri: &r.redirect_uri,
        redirect_platform: redirect.platform,
        scopes: r.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        nonce: r.nonce.clone(),
        pkce: r.code_challenge.clone(),
        auth_time: session.auth_time,
        session_id: session.session_id,
        now: now(),
    };
    let code =
        issue_code(&issuer, new_code).await.map_err(|e| PageError::unavailable(StoreWrite::AuthorizationCode, e))?;
    let mut event = AuditEvent::new(AuditSource::Issuer, "authorize.code_issued", Outcome::Allowed, now_ms());
    event.tenant_id = Some(r.tenant_id.to_string());
    event.client_id = Some(r.client_id.to_string());
    event.subject = Some(user.object_id.to_string());
    state.audit.record(event).await;
    let mut fields = vec![("code".to_owned(), code)];
    if let Some(s) = &r.state {
        fields.push(("state".into(), s.clone()));
    }
    fields.push(("session_state".into(), session.session_id.to_string()));
    Ok(deliver(&r.redirect_uri, r.response_mode, &fields))
}

/// An OAuth error for the client, at its redirect URI.
pub fn redirect_error(e: &RedirectError) -> Response {
    let mut fields = vec![
        ("error".to_owned(), e.error.to_owned()),
        ("error_description".to_owned(), format!("AADSTS{}: {}", e.code, e.description)),
        ("error_codes".to_owned(), e.code.to_string()),
    ];
    if let Some(s) = &e.state {
        fields.push(("state".into(), s.clone()));
    }
    deliver(&e.redirect_uri, e.response_mode, &fields)
}

fn deliver(redirect_uri: &str, mode: ResponseMode, fields: &[(String, String)]) -> Response {
    let encoded = || {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            s.append_pair(k, v);
        }
        s.finish()
    };
    match mode {
        ResponseMode::Query => {
            let sep = if redirect_uri.contains('?') { '&' } else { '?' };
            see_other(&format!("{redirect_uri}{sep}{}", encoded()))
        }
        ResponseMode::Fragment => see_other(&format!("{redirect_uri}#{}", encoded())),
        ResponseMode::FormPost => pages::form_post(redirect_uri, fields),
    }
}
