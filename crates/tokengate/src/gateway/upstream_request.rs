//! The rewrite phase: what the upstream receives — hop-by-hop headers removed, client-sent
//! identity headers stripped and the verified caller's added, the token kept only where the
//! route says so, and the forwarding headers.

use axum::body::Body;
use axum::http::{header, HeaderValue, Request};
use tokengate_core::access::policy_document::ForwardedHeaders;
use tokengate_core::access::VerifiedToken;

use super::active_policy::ActivePolicy;
use super::forwarding_headers;
use super::proxy;
use super::route_table::Route;
use crate::client_address::ClientAddress;

pub fn rewrite(
    request: &mut Request<Body>,
    route: &Route,
    policy: &ActivePolicy,
    identity: Option<&VerifiedToken>,
    client: ClientAddress,
    scheme: &str,
) {
    let upgrade = proxy::is_upgrade(request.headers());
    let original_host = request
        .headers()
        .get(header::HOST)
        .cloned()
        .or_else(|| request.uri().authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()));
    let headers = request.headers_mut();
    forwarding_headers::remove_hop_by_hop(headers, upgrade);
    forwarding_headers::strip_identity_headers(headers, &policy.identity_header_names);
    if !route.forward_token {
        headers.remove(header::AUTHORIZATION);
    }
    if let Some(token) = identity {
        forwarding_headers::add_identity_headers(headers, token, &policy.identity_headers);
    }
    let overwrite = policy.settings.forwarded_headers == ForwardedHeaders::Overwrite;
    forwarding_headers::add_forwarded(headers, client.ip(), scheme, original_host.as_ref(), overwrite);
}
