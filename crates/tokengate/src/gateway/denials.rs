//! Why a request was refused, in words: the description its RFC 6750 challenge carries (worded
//! by `tokengate_core::access::denial_description`, the one place for that), and in `dev` one
//! console line per denied request for the operator. Runs only on the denial path; never logs
//! the token, the query string or a header.

use tokengate_core::access::denial_description::{describe as describe_rejection, Denial, DenialFacts};
use tokengate_core::UnixTime;

use super::gateway_error::GatewayError;
use super::request_context::RequestContext;

/// The words for a refused token; `None` for answers that are not about a token (no route,
/// upstream failures...), whose plain bodies already say what happened.
pub fn describe(error: &GatewayError, ctx: &RequestContext, now: UnixTime) -> Option<Denial> {
    let GatewayError::Refused(refusal) = error else { return None };
    let verified = refusal.token.as_deref().or(ctx.token.as_deref());
    Some(describe_rejection(&DenialFacts {
        rejection: &refusal.rejection,
        presented: ctx.unverified.as_deref(),
        verified,
        requirements: ctx.route.as_ref().and_then(|r| r.require.as_ref()),
        issuers: &ctx.policy.trust.issuers,
        now,
    }))
}

/// One line: `denied GET /demo/x -> 401 route=demo reason=audience_mismatch: aud expected
/// api://demo got api://other`. Refusals of the request's form (no route, bad path...) get the
/// line too, without a description.
pub fn log(ctx: &RequestContext, error: &GatewayError, status: u16, denial: Option<&Denial>) {
    let route = ctx.rule().unwrap_or("-");
    let why = match denial {
        Some(Denial { mismatch: Some(m), .. }) => format!("{} expected {} got {}", m.claim, m.expected, m.got),
        Some(d) => d.description.clone(),
        None => String::new(),
    };
    let path = tokengate_core::access::denial_description::header_safe(&ctx.received_path, 200);
    let line = format!("denied {} {path} -> {status} route={route} reason={}", ctx.method, error.reason());
    if why.is_empty() {
        tracing::info!("{line}");
    } else {
        tracing::info!("{line}: {why}");
    }
}
