//! What a request addresses, settled once before routing: the path in normal form (routed and
//! forwarded alike) and the host — the request-target authority (absolute-form, HTTP/2
//! `:authority`) wins over `Host`, which must agree with it; syntax is checked and a trailing
//! dot dropped.

use std::net::Ipv6Addr;

use axum::body::Body;
use axum::http::uri::PathAndQuery;
use axum::http::{header, HeaderValue, Request, Uri};
use tokengate_core::access::request_path::normalise;

/// The host routes match (lower-case, no port, no trailing dot; IPv6 in brackets) and the path
/// they match against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget {
    pub host: Option<String>,
    pub routing_path: String,
}

/// A parsed authority: host as above, optional port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority {
    host: String,
    port: Option<u16>,
}

impl Authority {
    fn to_header(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }
}

/// Normalises the request in place: its URI becomes the normalised path plus the query as sent,
/// and `Host` the winning authority. Errors are audit reason codes (answered 400).
pub fn settle(request: &mut Request<Body>) -> Result<RequestTarget, &'static str> {
    let authority = host_of(request)?;
    let normalised = normalise(request.uri().path()).map_err(|e| e.code())?;
    let path_and_query = match request.uri().query() {
        Some(q) => format!("{}?{q}", normalised.path),
        None => normalised.path,
    };
    let path_and_query = PathAndQuery::try_from(path_and_query).map_err(|_| "path_unparsable")?;
    *request.uri_mut() = Uri::from(path_and_query);
    if let Some(a) = &authority {
        let value = HeaderValue::from_str(&a.to_header()).map_err(|_| "host_invalid")?;
        request.headers_mut().insert(header::HOST, value);
    }
    Ok(RequestTarget { host: authority.map(|a| a.host), routing_path: normalised.routing })
}

fn host_of(request: &Request<Body>) -> Result<Option<Authority>, &'static str> {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host_header = hosts.next();
    if hosts.next().is_some() {
        return Err("host_duplicate");
    }
    let from_header = match host_header {
        Some(v) => Some(parse_authority(v.to_str().map_err(|_| "host_invalid")?).ok_or("host_invalid")?),
        None => None,
    };
    let from_target = match request.uri().authority() {
        Some(a) => Some(parse_authority(a.as_str()).ok_or("host_invalid")?),
        None => None,
    };
    match (from_target, from_header) {
        (Some(target), Some(header)) => {
            let ports_agree = match (target.port, header.port) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if target.host != header.host || !ports_agree {
                return Err("host_mismatch");
            }
            Ok(Some(target))
        }
        (target, header) => Ok(target.or(header)),
    }
}

/// `reg-name` (letters, digits, `-`, `_` in dot-separated labels), IPv4 or `[IPv6]`, optional
/// `:port`. No user info, no percent-encoding, no empty labels.
fn parse_authority(raw: &str) -> Option<Authority> {
    let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        inside.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':')?)?),
        };
        (format!("[{}]", inside.to_ascii_lowercase()), port)
    } else {
        let (name, port) = match raw.split_once(':') {
            Some((name, p)) => (name, Some(parse_port(p)?)),
            None => (raw, None),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        let valid_label = |l: &str| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(valid_label) {
            return None;
        }
        (name.to_ascii_lowercase(), port)
    };
    Some(Authority { host, port })
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(target: &str, hosts: &[&str]) -> Request<Body> {
        let mut b = Request::builder().uri(target);
        for h in hosts {
            b = b.header(header::HOST, *h);
        }
        b.body(Body::empty()).unwrap()
    }

    /// Routing host, routing path, forwarded URI, forwarded `Host`.
    type Settled = (Option<String>, String, String, Option<String>);

    fn settled(target: &str, hosts: &[&str]) -> Result<Settled, &'static str> {
        let mut r = request(target, hosts);
        let t = settle(&mut r)?;
        let host_header = r.headers().get(header::HOST).map(|h| h.to_str().unwrap().to_owned());
        Ok((t.host, t.routing_path, r.uri().to_string(), host_header))
    }

    #[test]
    fn the_request_target_authority_wins_and_must_agree_with_host() {
        let (host, path, uri, header) = settled("http://API.example./x?q=%2e%2e", &["api.example"]).unwrap();
        assert_eq!(host.as_deref(), Some("api.example"), "trailing dot dropped, lower-cased");
        assert_eq!(path, "/x");
        assert_eq!(uri, "/x?q=%2e%2e", "origin-form towards the upstream; query as sent");
        assert_eq!(header.as_deref(), Some("api.example"));
        assert_eq!(settled("http://api.example/x", &["other.example"]), Err("host_mismatch"));
        assert_eq!(settled("http://api.example:8080/x", &["api.example:9090"]), Err("host_mismatch"));
        assert_eq!(settled("http://api.example:8080/x", &[]).unwrap().3.as_deref(), Some("api.example:8080"));
        assert_eq!(settled("/x", &["a.example", "b.example"]), Err("host_duplicate"));
        assert_eq!(settled("/x", &[]).unwrap().0, None);
    }

    #[test]
    fn host_syntax_is_checked() {
        for good in ["a", "a.example", "a-b_c.example:1", "127.0.0.1:8080", "[::1]", "[::1]:443", "x.example."] {
            assert!(settled("/x", &[good]).is_ok(), "{good}");
        }
        for bad in
            ["", "a..b", ".a", "a b", "a@b", "a:", "a:99999", "a:1:2", "[::1", "[zz]", "a%2eb", "a/b", "[::1]x", "a.."]
        {
            assert_eq!(settled("/x", &[bad]), Err("host_invalid"), "{bad:?}");
        }
    }

    #[test]
    fn the_path_is_normalised_once_for_routing_and_forwarding() {
        let (_, path, uri, _) = settled("/%64emo//x;v=1/./y?a=b", &["h"]).unwrap();
        assert_eq!(path, "/demo/x/y");
        assert_eq!(uri, "/demo/x;v=1/y?a=b");
        assert_eq!(settled("/public/..;/demo/x", &["h"]), Err("path_dot_segment_parameters"));
    }
}
