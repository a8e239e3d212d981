//! Headers between client and upstream: hop-by-hop headers removed (RFC 9110 §7.6.1), any
//! client-supplied identity headers stripped, the caller's verified identity added, and
//! `Forwarded` / `X-Forwarded-*` set (RFC 7239).

use std::net::IpAddr;

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use tokengate_core::access::VerifiedToken;

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

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
    for name in named {
        if !(keep_upgrade && name == header::UPGRADE) {
            headers.remove(&name);
        }
    }
    for name in HOP_BY_HOP {
        if keep_upgrade && (name == "upgrade" || name == "connection") {
            continue;
        }
        headers.remove(name);
    }
    if keep_upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// Strips every `X-Tokengate-*` header and every configured identity header the client sent.
pub fn strip_identity_headers(headers: &mut HeaderMap, configured: &[HeaderName]) {
    let spoofed: Vec<HeaderName> =
        headers.keys().filter(|k| k.as_str().starts_with("x-tokengate-") || configured.contains(k)).cloned().collect();
    for name in spoofed {
        headers.remove(name);
    }
}

/// Adds the verified identity as configured (`header → claim`).
pub fn add_identity_headers(headers: &mut HeaderMap, token: &VerifiedToken, configured: &[(HeaderName, String)]) {
    let join = |items: &[Box<str>], sep: &str| items.iter().map(|s| &**s).collect::<Vec<_>>().join(sep);
    for (name, claim) in configured {
        let value = match claim.as_str() {
            "oid" => token.oid.as_deref().map(str::to_owned),
            "tid" => token.tid.as_deref().map(str::to_owned),
            "azp" => token.client_id.as_deref().map(str::to_owned),
            "sub" => token.sub.as_deref().map(str::to_owned),
            "uti" => token.uti.as_deref().map(str::to_owned),
            "ver" => token.ver.as_deref().map(str::to_owned),
            "iss" => Some(token.iss.to_string()),
            "issuer" => Some(token.issuer.to_string()),
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

/// `X-Forwarded-For` (appended), `X-Forwarded-Proto`, `X-Forwarded-Host`, `Forwarded` (appended).
pub fn add_forwarded(headers: &mut HeaderMap, client: IpAddr, proto: &str, original_host: Option<&HeaderValue>) {
    let ip = client.to_string();
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prior) if !prior.trim().is_empty() => format!("{prior}, {ip}"),
        _ => ip.clone(),
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        headers.insert("x-forwarded-for", v);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static(if proto == "https" { "https" } else { "http" }));
    let for_node = match client {
        IpAddr::V4(_) => ip,
        IpAddr::V6(_) => format!("\"[{ip}]\""),
    };
    let mut element = format!("for={for_node};proto={proto}");
    if let Some(host) = original_host.and_then(|h| h.to_str().ok()) {
        headers.insert("x-forwarded-host", HeaderValue::from_str(host).unwrap_or(HeaderValue::from_static("")));
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
    fn forwarded_headers_append() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        add_forwarded(&mut h, "::1".parse().unwrap(), "http", Some(&HeaderValue::from_static("api.example:8080")));
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, ::1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "api.example:8080");
        assert_eq!(h[header::FORWARDED], "for=\"[::1]\";proto=http;host=api.example:8080");
    }
}
