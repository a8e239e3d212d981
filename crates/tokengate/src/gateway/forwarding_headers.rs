//! Headers between client and upstream: hop-by-hop headers removed (RFC 9110 §7.6.1), any
//! client-supplied identity or routing-override headers stripped (also their `_` spellings,
//! which CGI/WSGI/PHP read as the same variable), the caller's verified identity added, and
//! `Forwarded` / `X-Forwarded-*` set (RFC 7239), appended to or overwritten.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use tokengate_core::access::VerifiedToken;

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    // Only meaningful with an `Upgrade: h2c`, which is never passed on.
    "http2-settings",
];

/// Identity headers other proxies and platforms set (oauth2-proxy, Apache/nginx auth, Azure App
/// Service Easy Auth): an upstream may trust them as we trust ours.
const FOREIGN_IDENTITY: [&str; 6] = [
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-remote-user",
    "remote-user",
];
const FOREIGN_IDENTITY_PREFIXES: [&str; 4] =
    ["x-tokengate-", "x-auth-request-", "x-ms-client-principal", "x-ms-token-aad-"];

/// Headers that make IIS/ASP.NET, Symfony or Rails act on another path or method than the one
/// routed.
const ROUTING_OVERRIDES: [&str; 5] =
    ["x-original-url", "x-rewrite-url", "x-http-method-override", "x-http-method", "x-method-override"];

// Named once: a header looked up by `&str` is parsed and checked again on every call.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Headers the gateway sets itself: a client's `_` spelling must not shadow them upstream.
const SET_BY_GATEWAY: [&str; 4] = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"];

/// Removes hop-by-hop headers, including those named in `Connection`. `keep_upgrade` keeps
/// `Upgrade`/`Connection: upgrade` for a WebSocket hand-off.
pub fn remove_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    // One pass over the handful of headers a client sends, rather than a lookup (which parses
    // and hashes the name) for each of the nine hop-by-hop names: callgrind, 3.5 % of a request.
    let listed: Vec<HeaderName> = headers.keys().filter(|name| HOP_BY_HOP.contains(&name.as_str())).cloned().collect();
    for name in named.into_iter().chain(listed) {
        if !(keep_upgrade && (name == header::UPGRADE || name == header::CONNECTION)) {
            headers.remove(&name);
        }
    }
    if keep_upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// Whether a client-sent header named `name` (lower-case, as `HeaderName` keeps it) must not reach
/// the upstream: identity headers (ours, configured, other proxies'), routing overrides, and
/// `_` spellings of those and of the forwarding headers the gateway sets.
fn is_spoofable(name: &str, configured: &[HeaderName]) -> bool {
    // Runs for every header of every request: copies only a name that has a `_`.
    let dashed = if name.contains('_') { Cow::Owned(name.replace('_', "-")) } else { Cow::Borrowed(name) };
    let dashed = &*dashed;
    FOREIGN_IDENTITY.contains(&dashed)
        || FOREIGN_IDENTITY_PREFIXES.iter().any(|p| dashed.starts_with(p))
        || ROUTING_OVERRIDES.contains(&dashed)
        || configured.iter().any(|c| c.as_str() == dashed)
        || (name.contains('_') && SET_BY_GATEWAY.contains(&dashed))
}

/// Strips every client-sent header an upstream could take for identity or a routing decision.
pub fn strip_identity_headers(headers: &mut HeaderMap, configured: &[HeaderName]) {
    let spoofed: Vec<HeaderName> = headers.keys().filter(|k| is_spoofable(k.as_str(), configured)).cloned().collect();
    for name in spoofed {
        headers.remove(name);
    }
}

/// Adds the verified identity as configured (`header → claim`).
pub fn add_identity_headers(headers: &mut HeaderMap, token: &VerifiedToken, configured: &[(HeaderName, String)]) {
    let join = |items: &[Arc<str>], sep: &str| Cow::Owned(items.iter().map(|s| &**s).collect::<Vec<_>>().join(sep));
    for (name, claim) in configured {
        // Borrowed where the claim is one value: the header value is its only copy.
        let value: Option<Cow<'_, str>> = match claim.as_str() {
            "oid" => token.oid.as_deref().map(Cow::Borrowed),
            "tid" => token.tid.as_deref().map(Cow::Borrowed),
            "azp" => token.client_id.as_deref().map(Cow::Borrowed),
            "sub" => token.sub.as_deref().map(Cow::Borrowed),
            "uti" => token.uti.as_deref().map(Cow::Borrowed),
            "ver" => token.ver.as_deref().map(Cow::Borrowed),
            "iss" => Some(Cow::Borrowed(&*token.iss)),
            "issuer" => Some(Cow::Borrowed(&*token.issuer)),
            "roles" if !token.roles.is_empty() => Some(join(&token.roles, ",")),
            "scp" if !token.scopes.is_empty() => Some(join(&token.scopes, " ")),
            "groups" if !token.groups.is_empty() => Some(join(&token.groups, ",")),
            _ => None,
        };
        // Claim values are issuer-signed but still untrusted text: only valid header values pass.
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name.clone(), v);
        }
    }
}

/// `X-Forwarded-For` and `Forwarded` (appended to the client's, or replacing them with
/// `overwrite`), `X-Forwarded-Proto`, `X-Forwarded-Host`.
pub fn add_forwarded(
    headers: &mut HeaderMap,
    client: IpAddr,
    proto: &str,
    original_host: Option<&HeaderValue>,
    overwrite: bool,
) {
    if overwrite {
        headers.remove(X_FORWARDED_FOR);
        headers.remove(header::FORWARDED);
    }
    let ip = client.to_string();
    let xff = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) if !prior.trim().is_empty() => format!("{prior}, {ip}"),
        _ => ip.clone(),
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        headers.insert(X_FORWARDED_FOR, v);
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(if proto == "https" { "https" } else { "http" }));
    let for_node = match client {
        IpAddr::V4(_) => ip,
        IpAddr::V6(_) => format!("\"[{ip}]\""),
    };
    let mut element = format!("for={for_node};proto={proto}");
    if let Some(host) = original_host.and_then(|h| h.to_str().ok()) {
        headers.insert(X_FORWARDED_HOST, HeaderValue::from_str(host).unwrap_or(HeaderValue::from_static("")));
        if host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b)) {
            element.push_str(&format!(";host={host}"));
        } else {
            element.push_str(&format!(";host=\"{}\"", host.replace(['"', '\\'], "")));
        }
    }
    let forwarded = match headers.get(header::FORWARDED).and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {element}"),
        None => element,
    };
    if let Ok(v) = HeaderValue::from_str(&forwarded) {
        headers.insert(header::FORWARDED, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_spoofed_identity_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-tokengate-oid", HeaderValue::from_static("spoofed"));
        h.insert("x-user", HeaderValue::from_static("spoofed"));
        h.insert("accept", HeaderValue::from_static("*/*"));
        remove_hop_by_hop(&mut h, false);
        strip_identity_headers(&mut h, &[HeaderName::from_static("x-user")]);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn an_upgrade_keeps_only_upgrade_and_connection() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade, x-secret"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert("proxy-authorization", HeaderValue::from_static("Basic eDp5"));
        h.insert("http2-settings", HeaderValue::from_static("AAMAAABkAAQAAP__"));
        h.insert("sec-websocket-key", HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
        remove_hop_by_hop(&mut h, true);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["connection", "sec-websocket-key", "upgrade"]);
        assert_eq!(h[header::CONNECTION], "upgrade");
        assert_eq!(h[header::UPGRADE], "websocket");
        remove_hop_by_hop(&mut h, false);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["sec-websocket-key"]);
    }

    #[test]
    fn forwarded_headers_append() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        add_forwarded(
            &mut h,
            "::1".parse().unwrap(),
            "http",
            Some(&HeaderValue::from_static("api.example:8080")),
            false,
        );
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, ::1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "api.example:8080");
        assert_eq!(h[header::FORWARDED], "for=\"[::1]\";proto=http;host=api.example:8080");
    }

    #[test]
    fn forwarded_headers_overwrite_at_the_edge() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        h.append("x-forwarded-for", HeaderValue::from_static("10.0.0.2"));
        h.insert(header::FORWARDED, HeaderValue::from_static("for=10.0.0.1"));
        add_forwarded(&mut h, "192.0.2.7".parse().unwrap(), "https", None, true);
        assert_eq!(h.get_all("x-forwarded-for").iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>(), ["192.0.2.7"]);
        assert_eq!(h[header::FORWARDED], "for=192.0.2.7;proto=https");
    }

    #[test]
    fn identity_and_routing_override_headers_are_stripped_in_every_spelling() {
        let configured = [HeaderName::from_static("x-user-roles")];
        for name in [
            "x-tokengate-oid",
            "x_tokengate_oid",
            "x_tokengate-roles",
            "x-user-roles",
            "x_user_roles",
            "x-forwarded-user",
            "x_forwarded_email",
            "x-forwarded-preferred-username",
            "x-forwarded-groups",
            "x-auth-request-user",
            "x-auth-request-access-token",
            "x-remote-user",
            "remote-user",
            "remote_user",
            "x-ms-client-principal",
            "x-ms-client-principal-id",
            "x-ms-client-principal-name",
            "x-ms-token-aad-access-token",
            "x-original-url",
            "x_rewrite_url",
            "x-http-method-override",
            "x-http-method",
            "x-method-override",
            "x_forwarded_for",
            "x_forwarded_host",
        ] {
            let mut h = HeaderMap::new();
            h.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_static("spoofed"));
            h.insert("accept", HeaderValue::from_static("*/*"));
            strip_identity_headers(&mut h, &configured);
            assert_eq!(h.len(), 1, "{name} reached the upstream");
        }
        for kept in ["x-forwarded-for", "x-forwarded-proto", "forwarded", "x-request-id", "user-agent", "x-user"] {
            let mut h = HeaderMap::new();
            h.insert(HeaderName::from_bytes(kept.as_bytes()).unwrap(), HeaderValue::from_static("v"));
            strip_identity_headers(&mut h, &configured);
            assert_eq!(h.len(), 1, "{kept} must pass");
        }
    }
}
