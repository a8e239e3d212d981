//! The gateway's decision on a token, route by route, without a request: which routes to consider
//! (all, one by name, or the one a method and path reach) and, for each, every requirement the
//! token fails — using the gateway's own verification, revocation set and route table.

use std::sync::Arc;

use axum::http::Method;
use tokengate_core::access::policy_explanation::explain;
use tokengate_core::access::request_path::normalise;
use tokengate_core::access::revocation::RevokedBy;
use tokengate_core::access::VerifiedToken;
use tokengate_proto::admin::{FailedRequirementView, RouteExplanation, TokenDebugRequest};

use super::api_problem::ApiProblem;
use crate::gateway::route_table::{Route, RouteTable};

/// Whether the request narrows the routes to explain.
pub fn names_a_route(request: &TokenDebugRequest) -> bool {
    request.route.is_some() || request.path.is_some() || request.method.is_some()
}

/// The routes the request asks about, in file order.
pub fn considered_routes(table: &RouteTable, request: &TokenDebugRequest) -> Result<Vec<Arc<Route>>, ApiProblem> {
    if let Some(name) = &request.route {
        let route = table.routes().find(|r| &*r.name == name.as_str());
        return route
            .map(|r| vec![r.clone()])
            .ok_or_else(|| ApiProblem::not_found(format!("the active policy has no route named '{name}'")));
    }
    let Some(path) = &request.path else {
        if request.method.is_some() {
            return Err(ApiProblem::bad_request("`method` needs a `path` to find the route"));
        }
        return Ok(table.routes().cloned().collect());
    };
    let method = Method::from_bytes(request.method.as_deref().unwrap_or("GET").as_bytes())
        .map_err(|_| ApiProblem::bad_request("`method` is not an HTTP method"))?;
    let normalised = normalise(path)
        .map_err(|refusal| ApiProblem::bad_request(format!("the gateway refuses this path ({})", refusal.code())))?;
    let host = request.host.as_deref().map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
    table
        .find(host.as_deref(), &normalised.routing, &method)
        .map(|r| vec![r.clone()])
        .ok_or_else(|| ApiProblem::not_found(format!("no route of the active policy matches {method} {path}")))
}

/// The trusted issuers the considered routes accept (whose keys may be fetched to verify).
pub fn route_issuers(routes: &[Arc<Route>]) -> Vec<String> {
    let mut names: Vec<String> =
        routes.iter().filter_map(|r| r.require.as_ref()).flat_map(|r| r.issuers.clone()).collect();
    names.sort();
    names.dedup();
    names
}

fn failing(requirement: &str, expected: &str, got: &str) -> FailedRequirementView {
    FailedRequirementView { requirement: requirement.to_owned(), expected: expected.to_owned(), got: got.to_owned() }
}

/// Each route's decision on a token that did not verify: public routes pass, protected ones fail
/// verification (their other requirements cannot be judged on untrusted claims).
pub fn unverified(routes: &[Arc<Route>], reason: &str) -> Vec<RouteExplanation> {
    routes
        .iter()
        .map(|r| {
            let failing = match r.require {
                None => vec![],
                Some(_) => vec![failing("verification", "a token the gateway verifies", reason)],
            };
            RouteExplanation {
                name: r.name.to_string(),
                public: r.require.is_none(),
                passes: failing.is_empty(),
                failing,
            }
        })
        .collect()
}

/// Each route's decision on a verified token: revocation first (as the gateway checks), then
/// every requirement it fails.
pub fn verified(routes: &[Arc<Route>], token: &VerifiedToken, revoked: Option<RevokedBy>) -> Vec<RouteExplanation> {
    routes
        .iter()
        .map(|r| {
            let mut failing_now = Vec::new();
            if let Some(requirements) = &r.require {
                if let Some(by) = revoked {
                    failing_now.push(failing("not_revoked", "not revoked", &format!("revoked by {}", by.as_str())));
                }
                failing_now.extend(explain(requirements, token).into_iter().map(|f| FailedRequirementView {
                    requirement: f.requirement.to_owned(),
                    expected: f.expected,
                    got: f.got,
                }));
            }
            RouteExplanation {
                name: r.name.to_string(),
                public: r.require.is_none(),
                passes: failing_now.is_empty(),
                failing: failing_now,
            }
        })
        .collect()
}

/// Whether some protected route among those explained takes the token's audience (none being
/// protected, there is nothing to refuse it by).
pub fn audience_accepted(explained: &[RouteExplanation]) -> bool {
    let protected: Vec<&RouteExplanation> = explained.iter().filter(|r| !r.public).collect();
    protected.is_empty()
        || protected
            .iter()
            .any(|r| !r.failing.iter().any(|f| f.requirement == "audience" || f.requirement == "audience_array"))
}
