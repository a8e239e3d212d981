//! `POST /admin/v1/debug/token`: why does the gateway refuse (or accept) this token? Decodes it
//! without trusting it, gives each Entra claim's meaning, verifies it as this node's gateway does,
//! checks the applied revocation set and explains every route's decision.
//!
//! The pasted token is a credential: it is never stored, logged or put in an audit record. The
//! handler traces nothing about it and the problems it answers never quote it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use tokengate_core::access::VerifiedToken;
use tokengate_proto::admin::{Problem, RevocationCheck, TokenDebugRequest, TokenExplanation, TokenVerdict};

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminCaller;
use super::api_extractors::ApiJson;
use super::api_problem::{ApiProblem, ReadRefusals};
use super::covering_revocation::covering_row;
use super::entra_claim_meanings::meaning_of;
use super::token_route_checks as route_checks;
use super::unverified_token::{decode_unverified, MAX_TOKEN_BYTES};
use crate::gateway::GatewayState;
use crate::state::now;

/// Explain a token: decoded header and claims, claim meanings, the gateway's verdict, revocation
/// and each route's decision with every failing requirement.
#[utoipa::path(
    post,
    path = "/admin/v1/debug/token",
    tag = "debug",
    request_body = TokenDebugRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token explained (also when it does not verify)", body = TokenExplanation),
        (status = 400, description = "Not a compact JWS, larger than 16 KB, or a bad method or path", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
        (status = 404, description = "No route of that name, or none matching the method and path", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A route was named but this node runs no gateway", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn explain(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiJson(request): ApiJson<TokenDebugRequest>,
) -> Result<Json<TokenExplanation>, ApiProblem> {
    if request.token.len() > MAX_TOKEN_BYTES {
        return Err(ApiProblem::bad_request("the token is larger than 16 KB: the gateway refuses it unread"));
    }
    let token = request.token.trim();
    let (header, claims) = decode_unverified(token)
        .map_err(|why| ApiProblem::bad_request(format!("the token is not a compact JWS: {why}")))?;
    let claim_meanings: BTreeMap<String, String> = claims
        .as_object()
        .into_iter()
        .flat_map(|c| c.keys())
        .filter_map(|name| meaning_of(name).map(|m| (name.clone(), m.to_owned())))
        .collect();
    let mut explanation =
        TokenExplanation { header, claims, claim_meanings, verdict: None, revocation: None, routes: vec![] };
    let Some(gateway) = &s.gateway else {
        if route_checks::names_a_route(&request) {
            return Err(ApiProblem::conflict(
                "this node runs no gateway: ask the admin API of a gateway node to evaluate routes",
            ));
        }
        return Ok(Json(explanation));
    };
    judge(&s, gateway, token, &request, &mut explanation).await?;
    Ok(Json(explanation))
}

/// The gateway's part: verdict, revocation and routes.
async fn judge(
    s: &AdminApiState,
    gateway: &GatewayState,
    token: &str,
    request: &TokenDebugRequest,
    out: &mut TokenExplanation,
) -> Result<(), ApiProblem> {
    let policy = gateway.policy.load();
    let routes = route_checks::considered_routes(&policy.routes, request)?;
    let issuers = route_checks::route_issuers(&routes);
    let verified = match gateway.auth.verify(&policy.trust, token, &issuers, now()).await {
        Ok(verified) => verified,
        Err(rejection) => {
            let reason = rejection.code();
            out.verdict = Some(TokenVerdict { verified: false, result: reason.to_owned(), issuer: None });
            out.routes = route_checks::unverified(&routes, reason);
            return Ok(());
        }
    };
    let revoked = gateway.auth.revocations.check(&verified);
    out.revocation = Some(revocation_check(s, &verified, revoked).await?);
    out.routes = route_checks::verified(&routes, &verified, revoked);
    let audience_ok = route_checks::audience_accepted(&out.routes);
    out.verdict = Some(TokenVerdict {
        verified: audience_ok,
        result: if audience_ok { "verified" } else { "audience_mismatch" }.to_owned(),
        issuer: Some(verified.issuer.to_string()),
    });
    Ok(())
}

async fn revocation_check(
    s: &AdminApiState,
    token: &VerifiedToken,
    revoked: Option<tokengate_core::access::revocation::RevokedBy>,
) -> Result<RevocationCheck, ApiProblem> {
    let Some(by) = revoked else {
        return Ok(RevocationCheck { revoked: false, by: None, revocation: None });
    };
    let rows = s.store.revocations_after(0, now()).await?.rows;
    let row = covering_row(&rows, token, by).map(super::revocations_api::view);
    Ok(RevocationCheck { revoked: true, by: Some(by.as_str().to_owned()), revocation: row })
}
