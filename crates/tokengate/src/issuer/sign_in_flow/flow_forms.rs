//! What every form of the flow carries (where it posts, the signed request, this browser's CSRF
//! token) and how a POST from one of the issuer's pages is read: as strictly as the token
//! endpoint's form, from the same origin, with this browser's CSRF token, its continuation intact.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue};

use super::continuation::{self, seal, Continuation};
use crate::issuer::flow_audit::{self, Peer};
use crate::issuer::form::read_form;
use crate::issuer::form::Form;
use crate::issuer::page_error::PageError;
use crate::state::IssuerState;

/// The hidden fields and cookie of a flow form (setting the CSRF cookie if the browser has none
/// yet).
pub struct FlowForm {
    pub action: String,
    pub continuation: String,
    pub csrf: String,
    pub set_cookie: Option<HeaderValue>,
}

impl FlowForm {
    pub fn new(state: &IssuerState, headers: &HeaderMap, c: &Continuation, path: &str) -> Self {
        let csrf = state.browser.csrf();
        let (csrf_value, set_cookie) = csrf.browser_cookie(headers);
        FlowForm {
            action: format!("{}{path}", state.base_url),
            continuation: seal(state, c),
            csrf: csrf.token(&csrf_value),
            set_cookie,
        }
    }
}

/// A POST from one of the issuer's own pages: bounded, no duplicated fields, same origin, this
/// browser's CSRF token. Every refusal is audited.
pub async fn page_post(state: &IssuerState, headers: &HeaderMap, body: Body) -> Result<Form, PageError> {
    let form = match read_form(headers, body).await {
        Ok(f) => f,
        Err(e) => {
            refused_post(state, format!("AADSTS{}", e.code)).await;
            return Err(PageError::invalid_request(e.description, Some(e.code)));
        }
    };
    if let Err(refusal) = state.browser.csrf().check_post(headers, &state.base_url, form.get("csrf")) {
        refused_post(state, refusal.as_str().into()).await;
        return Err(PageError::ForgedPost(refusal));
    }
    Ok(form)
}

/// The form's signed request. One that is missing, altered or expired is audited: it may be
/// tampering.
pub async fn posted_continuation(state: &IssuerState, form: &Form, now: i64) -> Result<Continuation, PageError> {
    match form.get("continuation").and_then(|s| continuation::open(state, s, now)) {
        Some(c) => Ok(c),
        None => {
            refused_post(state, "continuation_invalid".into()).await;
            Err(PageError::Expired)
        }
    }
}

async fn refused_post(state: &IssuerState, reason: String) {
    flow_audit::refused(state, "page.post_refused", reason, &Peer::default(), |a| a.client_ip = None).await;
}
