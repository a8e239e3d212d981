//! Likely mistakes in a policy that still validates: an Entra-shaped route naming its API only
//! by App ID URI although v2 tokens carry the client id (or the reverse for v1), a built-in
//! issuer whose `tenants` leave out tenants the store holds, and issuers or routes that can never
//! be chosen because an earlier one catches everything they would. Warnings, never refusals:
//! each can be intended. Pure (`warnings`), so `policy apply` can show the same list.

use std::sync::Arc;

use tokengate_core::access::policy_document::{IssuerConfig, IssuerKindConfig, PolicyDocument, RouteConfig};
use tokengate_core::access::trusted_issuer::is_guid;
use tokengate_core::store::Store;

/// Every likely mistake in `doc`, one sentence each. `known_tenants`: the tenant ids in the store.
pub fn warnings(doc: &PolicyDocument, known_tenants: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    audience_forms(doc, &mut out);
    omitted_tenants(doc, known_tenants, &mut out);
    shadowed_issuers(doc, &mut out);
    shadowed_routes(doc, &mut out);
    out
}

/// Logs each warning (gateway start and hot reload), reading the store's tenants first.
pub async fn log(doc: &PolicyDocument, store: Option<&dyn Store>) {
    let tenants = match store {
        Some(store) => match store.tenants().await {
            Ok(tenants) => tenants.iter().map(|t| t.id.to_string()).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "policy warnings: tenants unreadable; skipping the tenant check");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    for warning in warnings(doc, &tenants) {
        tracing::warn!("gateway policy: {warning}");
    }
}

/// The same, off the caller's path (hot reload runs in a closure that cannot wait).
pub fn spawn_log(doc: &PolicyDocument, store: Option<Arc<dyn Store>>) {
    let doc = doc.clone();
    tokio::spawn(async move { log(&doc, store.as_deref()).await });
}

/// Entra-shaped tokens name the API in `aud` by client id (GUID) in v2 and usually by App ID URI
/// in v1 (whatever the client asked for). A route accepting a version but not its form refuses
/// every such token with `audience_mismatch`.
fn audience_forms(doc: &PolicyDocument, out: &mut Vec<String>) {
    for route in &doc.routes {
        let Some(req) = route.require.as_ref().filter(|_| !route.public) else { continue };
        let entra_shaped = req.issuers.iter().any(|name| {
            doc.issuers
                .iter()
                .any(|i| i.name == *name && matches!(i.kind, IssuerKindConfig::Builtin | IssuerKindConfig::Entra))
        });
        if !entra_shaped || req.audiences.is_empty() {
            continue;
        }
        let accepts = |v: &str| req.versions.is_empty() || req.versions.iter().any(|x| x == v);
        let has_guid = req.audiences.iter().any(|a| is_guid(&a.to_ascii_lowercase()));
        let has_uri = req.audiences.iter().any(|a| !is_guid(&a.to_ascii_lowercase()));
        if accepts("2.0") && !has_guid {
            out.push(format!(
                "route '{}' accepts v2 tokens but its audiences ({}) have no client id (GUID): v2 access tokens carry the API's client id as aud; add it (or set versions = [\"1.0\"])",
                route.name,
                req.audiences.join(", ")
            ));
        }
        if accepts("1.0") && !req.versions.is_empty() && !has_uri {
            out.push(format!(
                "route '{}' accepts v1 tokens but its audiences ({}) have no App ID URI: v1 access tokens requested by App ID URI carry it as aud; add it",
                route.name,
                req.audiences.join(", ")
            ));
        }
    }
}

fn omitted_tenants(doc: &PolicyDocument, known_tenants: &[String], out: &mut Vec<String>) {
    for issuer in doc.issuers.iter().filter(|i| i.kind == IssuerKindConfig::Builtin) {
        let Some(allowed) = &issuer.tenants else { continue };
        let missing: Vec<&str> = known_tenants
            .iter()
            .filter(|t| !allowed.iter().any(|a| a.eq_ignore_ascii_case(t)))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            out.push(format!(
                "issuer '{}' (builtin) allows tenants {} but the store also holds {}: their tokens are refused (tenant_not_allowed)",
                issuer.name,
                allowed.join(", "),
                missing.join(", ")
            ));
        }
    }
}

/// A token is attributed to the first issuer whose `iss` matches, so a later issuer accepting
/// the same `iss` values never sees a token (routes naming only it refuse them all).
fn shadowed_issuers(doc: &PolicyDocument, out: &mut Vec<String>) {
    for (i, later) in doc.issuers.iter().enumerate() {
        if let Some(earlier) = doc.issuers[..i].iter().find(|e| issuer_covers(e, later)) {
            out.push(format!(
                "issuer '{}' is shadowed by issuer '{}' listed before it: tokens it would accept are attributed to '{}'",
                later.name, earlier.name, earlier.name
            ));
        }
    }
}

fn issuer_covers(earlier: &IssuerConfig, later: &IssuerConfig) -> bool {
    match (earlier.kind, later.kind) {
        (IssuerKindConfig::Builtin, IssuerKindConfig::Builtin) => true,
        (IssuerKindConfig::Entra, IssuerKindConfig::Entra) => {
            let (Some(a), Some(b)) = (&earlier.authority, &later.authority) else { return false };
            let (a_host, a_tenant) = authority_parts(a);
            let (b_host, b_tenant) = authority_parts(b);
            // `common` and `organizations` both accept every tenant's issuer.
            a_host == b_host && (a_tenant == b_tenant || matches!(a_tenant.as_str(), "common" | "organizations"))
        }
        (IssuerKindConfig::Oidc, IssuerKindConfig::Oidc) => {
            earlier.discovery_url.as_deref().map(normalise_url) == later.discovery_url.as_deref().map(normalise_url)
        }
        _ => false,
    }
}

/// `https://login.microsoftonline.com/contoso/` → (`login.microsoftonline.com`, `contoso`).
fn authority_parts(authority: &str) -> (String, String) {
    let url = normalise_url(authority);
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    (host.to_owned(), path.split('/').next().unwrap_or("").to_owned())
}

fn normalise_url(url: &str) -> String {
    url.trim_end_matches('/').to_ascii_lowercase()
}

/// Routes match in file order, the first wins: a route is shadowed when an earlier one matches
/// every request it would.
fn shadowed_routes(doc: &PolicyDocument, out: &mut Vec<String>) {
    for (i, later) in doc.routes.iter().enumerate() {
        if let Some(earlier) = doc.routes[..i].iter().find(|e| route_covers(e, later)) {
            out.push(format!(
                "route '{}' can never match: route '{}' before it catches every request it would (move it above, or narrow '{}')",
                later.name, earlier.name, earlier.name
            ));
        }
    }
}

fn route_covers(earlier: &RouteConfig, later: &RouteConfig) -> bool {
    let hosts = match (&earlier.host, &later.host) {
        (None, _) => true,
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (Some(_), None) => false,
    };
    let methods = earlier.methods.is_empty()
        || (!later.methods.is_empty() && later.methods.iter().all(|m| earlier.methods.contains(m)));
    // A case-insensitive earlier route compares lower-cased paths, so it covers whatever spelling
    // the later one matches; a case-sensitive one only covers a later case-sensitive route.
    let fold = |p: &str| if earlier.case_sensitive { p.to_owned() } else { p.to_ascii_lowercase() };
    let paths = (!earlier.case_sensitive || later.case_sensitive)
        && match (Matcher::of(earlier, &fold), Matcher::of(later, &fold)) {
            (Some(a), Some(b)) => a.covers(&b),
            _ => false,
        };
    hosts && methods && paths
}

/// A route's path matcher, as `route_table` compiles it.
enum Matcher {
    Exact(String),
    Prefix(String),
    Pattern(Vec<String>),
}

impl Matcher {
    fn of(route: &RouteConfig, fold: &dyn Fn(&str) -> String) -> Option<Matcher> {
        match (&route.path, &route.path_prefix, &route.path_pattern) {
            (Some(p), _, _) => Some(Matcher::Exact(fold(p))),
            (_, Some(p), _) => Some(Matcher::Prefix(fold(p))),
            (_, _, Some(p)) => Some(Matcher::Pattern(fold(p).split('/').map(str::to_owned).collect())),
            _ => None,
        }
    }

    /// Whether every path `other` matches, `self` matches too (conservative: `false` when
    /// unsure, so a warning is never wrong).
    fn covers(&self, other: &Matcher) -> bool {
        match (self, other) {
            (Matcher::Exact(a), Matcher::Exact(b)) => a == b,
            (Matcher::Exact(_), _) => false,
            (Matcher::Prefix(a), Matcher::Exact(b) | Matcher::Prefix(b)) => b.starts_with(a.as_str()),
            (Matcher::Prefix(a), Matcher::Pattern(segments)) => literal_prefix(segments).starts_with(a.as_str()),
            (Matcher::Pattern(a), Matcher::Exact(b)) => pattern_matches(a, b),
            (Matcher::Pattern(a), Matcher::Pattern(b)) => pattern_covers(a, b),
            (Matcher::Pattern(a), Matcher::Prefix(b)) => {
                // Only a pattern ending in `**` after segments the prefix fixes can cover it.
                let fixed: Vec<&str> = b.split('/').collect();
                let complete = &fixed[..fixed.len().saturating_sub(1)];
                match a.iter().position(|s| s == "**") {
                    Some(k) if k == a.len() - 1 && k <= complete.len() => {
                        a[..k].iter().zip(complete).all(|(p, s)| p == s || (p == "*" && !s.is_empty()))
                    }
                    _ => false,
                }
            }
        }
    }
}

/// The text every path a pattern matches starts with.
fn literal_prefix(segments: &[String]) -> String {
    let literal: Vec<&str> = segments.iter().take_while(|s| *s != "*" && *s != "**").map(String::as_str).collect();
    let mut prefix = literal.join("/");
    // `*` needs a segment after a slash; `**` also matches the bare literal path.
    if segments.get(literal.len()).is_some_and(|s| s == "*") {
        prefix.push('/');
    }
    prefix
}

/// `route_table`'s pattern match: `*` one non-empty segment, a final `**` the rest.
fn pattern_matches(segments: &[String], path: &str) -> bool {
    let mut parts = path.split('/');
    for seg in segments {
        if seg == "**" {
            return true;
        }
        match parts.next() {
            Some(part) if seg == "*" && !part.is_empty() => {}
            Some(part) if part == seg => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

fn pattern_covers(a: &[String], b: &[String]) -> bool {
    for (i, seg) in a.iter().enumerate() {
        if seg == "**" {
            // Whatever `b` has from here on (its own `**` included) is covered.
            return true;
        }
        match b.get(i) {
            Some(other) if other == "**" => return false,
            Some(other) if seg == "*" && !other.is_empty() => {}
            Some(other) if other == seg => {}
            _ => return false,
        }
    }
    a.len() == b.len()
}

#[cfg(test)]
#[path = "policy_warnings/tests.rs"]
mod tests;
