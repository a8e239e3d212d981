//! One gateway request as named phases over a `RequestContext` (pingora's `ProxyHttp` is the
//! model): route → authenticate → authorize → rewrite → forward, each returning early with a
//! `GatewayError`, and one exit (`respond`) that turns the result into the answer and writes
//! the metrics and exactly one audit record.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, Request, Response};
use tokengate_core::access::bearer::bearer_token;
use tokengate_core::access::decision_facts::TokenFacts;
use tokengate_core::access::Rejection;
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use uuid::Uuid;

use super::active_policy::ActivePolicy;
use super::gateway_error::GatewayError;
use super::gateway_state::GatewayState;
use super::metrics::{RequestLabels, RouteLabel};
use super::request_context::RequestContext;
use super::route_table::{Route, Upstream};
use super::tunnel::TunnelLimit;
use super::{denial_explanation, denials, echo_upstream, form_body_token, request_target, upgrades, upstream_request};
use crate::authentication::authenticator::Refusal;
use crate::client_address::ClientAddress;
use crate::state::{now, now_ms};

/// Names the audit record of the decision on every gateway answer (`audit query --decision-id`).
pub const DECISION_ID: HeaderName = HeaderName::from_static("x-tokengate-decision-id");

pub async fn handle(
    State(gw): State<Arc<GatewayState>>,
    client: ClientAddress,
    request: Request<Body>,
) -> Response<Body> {
    let mut ctx =
        RequestContext::new(gw.policy.load_full(), client, request.method().clone(), request.uri().path().to_owned());
    let result = run_phases(&gw, &mut ctx, request).await;
    respond(&gw, ctx, result).await
}

async fn run_phases(
    gw: &GatewayState,
    ctx: &mut RequestContext,
    mut request: Request<Body>,
) -> Result<Response<Body>, GatewayError> {
    let route = route(ctx, &mut request)?;
    let mut request = authenticate(gw, ctx, &route, request).await?;
    authorize(gw, ctx, &route)?;
    upstream_request::rewrite(&mut request, &route, &ctx.policy, ctx.token.as_deref(), ctx.client, gw.scheme);
    forward(gw, ctx, &route, request).await
}

/// Settles path and host (routed and forwarded by the same normalised values), finds the route,
/// and screens upgrades.
fn route(ctx: &mut RequestContext, request: &mut Request<Body>) -> Result<Arc<Route>, GatewayError> {
    let target = request_target::settle(request).map_err(GatewayError::BadRequest)?;
    ctx.host = target.host;
    let route = ctx
        .policy
        .routes
        .find(ctx.host.as_deref(), &target.routing_path, request.method())
        .cloned()
        .ok_or(GatewayError::NoRoute)?;
    ctx.route = Some(route.clone());
    upgrades::screen(request, route.websocket).map_err(GatewayError::BadRequest)?;
    Ok(route)
}

/// On a protected route: exactly one well-formed bearer token (none in a form body too), and
/// verified. Public routes pass untouched.
async fn authenticate(
    gw: &GatewayState,
    ctx: &mut RequestContext,
    route: &Route,
    request: Request<Body>,
) -> Result<Request<Body>, GatewayError> {
    let Some(requirements) = &route.require else { return Ok(request) };
    let staleness_ms = ctx.policy.settings.max_revocation_staleness_seconds.saturating_mul(1000) as i64;
    if !gw.auth.revocations.is_fresh(now_ms(), staleness_ms) {
        return Err(GatewayError::RevocationsStale);
    }
    let presented = presented_token(&ctx.policy, &request)?;
    let request = form_body_token::refuse_token_in_form_body(request, form_body_token::MAX_FORM_BODY_BYTES).await?;
    match gw.auth.verify(&ctx.policy.trust, &presented, &requirements.issuers, now()).await {
        Ok(token) => ctx.token = Some(token),
        Err(rejection) => {
            ctx.unverified = Some(presented);
            return Err(rejection.into());
        }
    }
    Ok(request)
}

/// Revocation and the route's requirements, on every request (never cached).
fn authorize(gw: &GatewayState, ctx: &RequestContext, route: &Route) -> Result<(), GatewayError> {
    let (Some(requirements), Some(token)) = (&route.require, &ctx.token) else { return Ok(()) };
    gw.auth
        .authorize(token, requirements)
        .map_err(|rejection| GatewayError::Refused(Refusal { rejection, token: Some(token.clone()) }))
}

async fn forward(
    gw: &GatewayState,
    ctx: &RequestContext,
    route: &Route,
    request: Request<Body>,
) -> Result<Response<Body>, GatewayError> {
    match &route.upstream {
        Upstream::Echo => Ok(echo_upstream::echo(&request)),
        Upstream::Http { base, http2_only } => {
            let tunnel_limit = TunnelLimit::for_token(ctx.token.clone(), gw.auth.revocations.clone());
            ctx.policy.upstreams.forward(base, *http2_only, request, tunnel_limit).await.map_err(GatewayError::Upstream)
        }
    }
}

/// The request's bearer token, copied out (the request body is not `Sync`, so nothing borrowed
/// from the request may live across an await).
fn presented_token(policy: &ActivePolicy, request: &Request<Body>) -> Result<String, Rejection> {
    let values: Vec<&[u8]> = request.headers().get_all(header::AUTHORIZATION).iter().map(|v| v.as_bytes()).collect();
    let query_token =
        request.uri().query().is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token"));
    bearer_token(&values, query_token, policy.settings.max_token_bytes).map(str::to_owned)
}

/// The one exit: the answer, the request metrics and the audit record.
async fn respond(
    gw: &GatewayState,
    ctx: RequestContext,
    result: Result<Response<Body>, GatewayError>,
) -> Response<Body> {
    // The audit record's id, on the answer too: it finds the record of this decision.
    // Time-ordered like every audit id (see `AuditEvent::new`).
    let decision_id = Uuid::now_v7();
    let mut id_text = Uuid::encode_buffer();
    let id_text: &str = decision_id.hyphenated().encode_lower(&mut id_text);
    let (mut response, outcome, reason) = match result {
        Ok(response) => (response, Outcome::Allowed, ""),
        Err(error) => {
            let now = now();
            let denial = denials::describe(&error, &ctx, now);
            let response = error.answer(now, denial.as_ref());
            if gw.log_denials && error.outcome() == Outcome::Denied {
                denials::log(&ctx, &error, response.status().as_u16(), denial.as_ref());
            }
            let response = denial_explanation::explained(&ctx, &error, denial.as_ref(), id_text, response);
            (response, error.outcome(), error.reason())
        }
    };
    if let Ok(value) = HeaderValue::from_str(id_text) {
        response.headers_mut().insert(DECISION_ID, value);
    }
    gw.metrics
        .requests
        .get_or_create(&RequestLabels {
            route: ctx.route.as_ref().map_or_else(|| gw.metrics.no_route.clone(), |r| RouteLabel(r.name.clone())),
            outcome: outcome.as_str(),
            reason,
        })
        .inc();
    gw.metrics.latency_seconds.observe(ctx.started.elapsed().as_secs_f64());
    if gw.decision_records.records(outcome) {
        gw.audit.record(decision_record(&ctx, decision_id, outcome, reason, response.status().as_u16())).await;
    }
    response
}

fn decision_record(
    ctx: &RequestContext,
    decision_id: Uuid,
    outcome: Outcome,
    reason: &'static str,
    status: u16,
) -> AuditEvent {
    let mut event = AuditEvent::with_id(decision_id, AuditSource::Gateway, "gateway.request", outcome, now_ms());
    event.reason = (!reason.is_empty()).then(|| reason.to_owned());
    if let Some(t) = &ctx.token {
        event.tenant_id = t.tid.as_deref().map(str::to_owned);
        event.client_id = t.client_id.as_deref().map(str::to_owned);
        event.subject = t.oid.as_deref().map(str::to_owned);
        event.token_id = t.uti.as_deref().map(str::to_owned);
    }
    event.client_ip = Some(ctx.client.audit_text());
    event.status = Some(status);
    event.latency_us = Some(ctx.started.elapsed().as_micros() as i64);
    // The path only: the query string may carry a token (`access_token=`) and is never logged.
    event.detail = serde_json::json!({
        // The route is the rule that decided; the version names the policy it belongs to.
        "route": ctx.rule(),
        "policy_version": &*ctx.policy.version,
        "method": ctx.method.as_str(),
        "host": ctx.host,
        "path": truncate(&ctx.received_path, 512),
        // What the route's requirements looked at: a policy simulation decides again from it.
        "token": ctx.token.as_deref().map(TokenFacts::of),
    });
    event
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
