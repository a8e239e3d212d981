//! The one audit record of each revocation and introspection request, success or refusal, shaped
//! as the token endpoint's (`token.revoke`, `token.introspect`). It names the token only by its
//! `uti` or refresh-token family, never by its value.

use std::time::Instant;

use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::OAuthError;

use super::error_response::RequestIds;
use super::token_endpoint::token_request::TokenTrail;
use crate::client_address::ClientAddress;
use crate::state::{now_ms, IssuerState};

/// Where and when one request was answered.
pub struct Answered<'a> {
    pub action: &'static str,
    pub status: u16,
    pub client: ClientAddress,
    pub started: Instant,
    pub ids: &'a RequestIds,
}

pub async fn record(state: &IssuerState, answered: Answered<'_>, error: Option<&OAuthError>, trail: TokenTrail) {
    let (outcome, reason) = match error {
        None => (Outcome::Allowed, None),
        Some(e) => {
            if e.status >= 500 {
                tracing::error!(trace_id = %answered.ids.trace_id, error = %e, action = answered.action, "request failed");
            }
            let outcome = if e.status >= 500 { Outcome::Error } else { Outcome::Denied };
            (outcome, Some(format!("AADSTS{}", e.code)))
        }
    };
    let mut event = AuditEvent::new(AuditSource::Issuer, answered.action, outcome, now_ms());
    event.reason = reason;
    event.tenant_id = trail.tenant_id;
    event.client_id = trail.client_id;
    event.subject = trail.subject;
    event.token_id = trail.token_id;
    event.client_ip = Some(answered.client.audit_text());
    event.status = Some(answered.status);
    event.latency_us = Some(answered.started.elapsed().as_micros() as i64);
    let mut detail = trail.detail;
    detail.insert("trace_id".into(), answered.ids.trace_id.to_string().into());
    event.detail = serde_json::Value::Object(detail);
    state.audit.record(event).await;
}
