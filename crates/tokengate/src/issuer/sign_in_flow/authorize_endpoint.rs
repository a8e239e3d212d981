//! `GET /{tenant}/oauth2/v2.0/authorize` (and v1): reads the request (`authorize_request`),
//! refuses doubled parameters (RFC 6749 §3.1), audits every refusal, and hands a valid request
//! to the next step of the flow.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tokengate_core::errors::codes;
use uuid::Uuid;

use super::continuation::Continuation;
use super::next_step::proceed;
use crate::client_address::ClientAddress;
use crate::issuer::authorize_request::{self, AuthorizeError};
use crate::issuer::flow_audit::{self, Peer};
use crate::issuer::page_error::PageError;
use crate::state::IssuerState;

pub async fn authorize(
    State(state): State<Arc<IssuerState>>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    client: ClientAddress,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let peer = Peer::of(client);
    let (params, duplicated) = query_params(query.as_deref().unwrap_or(""));
    // RFC 6749 §3.1: a parameter sent twice is refused. Which client or where to answer cannot
    // be trusted when those are doubled: a page; anything else goes back to the verified redirect.
    let untrusted = duplicated.iter().find(|d| *d == "client_id" || *d == "redirect_uri");
    let duplicate_description =
        |name: &str| format!("The request contains the parameter '{name}' more than once. Send each parameter once.");
    let result = match untrusted {
        Some(name) => Err(AuthorizeError::Page {
            code: codes::DUPLICATE_PARAMETER,
            title: "Invalid request",
            message: duplicate_description(name),
        }),
        None => authorize_request::parse(&state, &segment, &params).await,
    };
    // A doubled `state` cannot be echoed: which one would the client expect?
    let state_doubled = duplicated.iter().any(|d| d == "state");
    let result = match (result, duplicated.first()) {
        (Ok((request, _, _)), Some(name)) => {
            let mut e =
                request.redirect_error("invalid_request", codes::DUPLICATE_PARAMETER, &duplicate_description(name));
            if state_doubled {
                e.state = None;
            }
            Err(AuthorizeError::Redirect(Box::new(e)))
        }
        (Err(AuthorizeError::Redirect(mut e)), Some(name)) => {
            e.error = "invalid_request";
            e.code = codes::DUPLICATE_PARAMETER;
            e.description = duplicate_description(name);
            if state_doubled {
                e.state = None;
            }
            Err(AuthorizeError::Redirect(e))
        }
        (other, _) => other,
    };
    let client_id = params.get("client_id").and_then(|c| Uuid::parse_str(c).ok()).map(|c| c.to_string());
    let refusal = match result {
        Ok((request, _, _)) => return proceed(&state, &headers, Continuation::Authorize(Box::new(request))).await,
        Err(refusal) => refusal,
    };
    let (code, detail) = match &refusal {
        AuthorizeError::Page { code, .. } => (*code, serde_json::json!({"answer": "error_page"})),
        AuthorizeError::Redirect(e) => (e.code, serde_json::json!({"answer": "redirect", "error": e.error})),
    };
    flow_audit::refused(&state, "authorize.rejected", format!("AADSTS{code}"), &peer, |a| {
        a.client_id = client_id;
        a.detail = detail;
    })
    .await;
    Err(refusal.into())
}

/// The query's parameters (the first of each name) and the names that occur more than once.
fn query_params(query: &str) -> (HashMap<String, String>, Vec<String>) {
    let mut params = HashMap::new();
    let mut duplicated = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if params.contains_key(name.as_ref()) {
            if !duplicated.iter().any(|d: &String| d == name.as_ref()) {
                duplicated.push(name.into_owned());
            }
        } else {
            params.insert(name.into_owned(), value.into_owned());
        }
    }
    (params, duplicated)
}
