//! What the gateway knows about one request as it moves through the phases: filled in by each
//! phase, read by the one exit that writes the metrics and the audit record.

use std::sync::Arc;
use std::time::Instant;

use axum::http::Method;
use tokengate_core::access::VerifiedToken;

use super::active_policy::ActivePolicy;
use super::route_table::Route;
use crate::client_address::ClientAddress;

pub struct RequestContext {
    pub started: Instant,
    pub client: ClientAddress,
    pub method: Method,
    /// The path as received (never the query: it may carry a token), for the audit record.
    pub received_path: String,
    /// The policy version this request is decided by, start to finish.
    pub policy: Arc<ActivePolicy>,
    /// Set by the route phase: the settled host, for the audit record (simulations route again).
    pub host: Option<String>,
    /// Set by the route phase.
    pub route: Option<Arc<Route>>,
    /// Set by the authenticate phase: verified, not yet authorized.
    pub token: Option<Arc<VerifiedToken>>,
    /// The bearer token that failed verification, kept only to describe the failure (what it
    /// claims: `exp`, `iss`, `kid`...). Never set for a token that verified, never logged.
    pub unverified: Option<String>,
}

impl RequestContext {
    pub fn new(policy: Arc<ActivePolicy>, client: ClientAddress, method: Method, received_path: String) -> Self {
        RequestContext {
            started: Instant::now(),
            client,
            method,
            received_path,
            policy,
            host: None,
            route: None,
            token: None,
            unverified: None,
        }
    }

    /// The rule that decided: the matched route's name.
    pub fn rule(&self) -> Option<&str> {
        self.route.as_ref().map(|r| &*r.name)
    }
}
