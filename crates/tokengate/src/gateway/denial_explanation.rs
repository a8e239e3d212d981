//! What a refused caller learns on a route with `explain_denials = true`: an RFC 9457 problem
//! body with every requirement its token fails (expected vs got, the token debugger's
//! `explain`), the reason code, and the decision id that finds the audit record. Tenant
//! allow-lists are never shown to a caller. Built only on the denial path.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response};
use serde_json::json;
use tokengate_core::access::denial_description::Denial;
use tokengate_core::access::policy_explanation::explain;
use tokengate_core::access::rejection::Answer;
use tokengate_core::access::Rejection;

use super::gateway_error::GatewayError;
use super::request_context::RequestContext;

/// The answer with its body replaced by the problem document (status and challenge kept), when
/// the route asks for it and the refusal is about the token.
pub fn explained(
    ctx: &RequestContext,
    error: &GatewayError,
    denial: Option<&Denial>,
    decision_id: &str,
    mut response: Response<Body>,
) -> Response<Body> {
    let (Some(route), GatewayError::Refused(refusal)) = (&ctx.route, error) else { return response };
    if !route.explain_denials {
        return response;
    }
    let status = response.status();
    let token = refusal.token.as_deref().or(ctx.token.as_deref());
    let failed: Vec<serde_json::Value> = match (token, &route.require) {
        (Some(token), Some(requirements)) => explain(requirements, token)
            .into_iter()
            .map(|f| {
                // Which tenants a route admits is the operator's business, not the caller's.
                let expected = if f.requirement == "tenant" { "an allowed tenant".to_owned() } else { f.expected };
                json!({"requirement": f.requirement, "expected": expected, "got": f.got})
            })
            .collect(),
        _ => Vec::new(),
    };
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Refused"),
        "status": status.as_u16(),
        "detail": denial.map(|d| d.description.as_str()).unwrap_or(""),
        "error": challenge_error(&refusal.rejection, token.is_some_and(|t| t.cae_capable)),
        "reason": refusal.rejection.code(),
        "route": &*route.name,
        "decision_id": decision_id,
        "failed_requirements": failed,
    });
    *response.body_mut() = Body::from(body.to_string());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    headers.remove(header::CONTENT_LENGTH);
    response
}

/// The RFC 6750 error code the challenge carries.
fn challenge_error(rejection: &Rejection, cae_capable: bool) -> &'static str {
    if matches!(rejection, Rejection::Revoked) && cae_capable {
        return "insufficient_claims";
    }
    match rejection.answer() {
        Answer::Bare => "unauthorized",
        Answer::InvalidRequest => "invalid_request",
        Answer::InvalidToken => "invalid_token",
        Answer::InsufficientScope => "insufficient_scope",
        Answer::TooLarge => "invalid_request",
        Answer::KeysUnavailable => "temporarily_unavailable",
    }
}
