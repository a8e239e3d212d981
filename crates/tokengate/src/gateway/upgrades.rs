//! Which protocol upgrades may pass: only a complete WebSocket handshake (RFC 6455 §4.1) on a
//! route that allows it. Anything else carrying `Upgrade` — `h2c` above all, which would turn
//! the connection into a tunnel past policy, header stripping and audit — is refused.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, Version};
use tokengate_core::encoding::b64_decode;

use super::proxy::is_upgrade;

/// `Ok(true)` for a WebSocket upgrade the route allows, `Ok(false)` for a request without
/// `Upgrade`; otherwise the audit reason code (answered 400).
pub fn screen(request: &Request<Body>, websocket_allowed: bool) -> Result<bool, &'static str> {
    let headers = request.headers();
    if !headers.contains_key(header::UPGRADE) {
        return Ok(false);
    }
    let mut protocols = headers
        .get_all(header::UPGRADE)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("\u{0}").split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let only_websocket =
        protocols.next().is_some_and(|p| p.eq_ignore_ascii_case("websocket")) && protocols.next().is_none();
    if !only_websocket {
        return Err("upgrade_refused");
    }
    if !is_websocket_handshake(request.method(), request.version(), headers) {
        return Err("websocket_handshake_invalid");
    }
    if !websocket_allowed {
        return Err("websocket_not_allowed");
    }
    Ok(true)
}

fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?.to_str().ok()?;
    values.next().is_none().then_some(first.trim())
}

fn is_websocket_handshake(method: &Method, version: Version, headers: &HeaderMap) -> bool {
    let key_ok = single(headers, "sec-websocket-key").and_then(b64_decode).is_some_and(|k| k.len() == 16);
    *method == Method::GET
        && version == Version::HTTP_11
        && is_upgrade(headers)
        && key_ok
        && single(headers, "sec-websocket-version") == Some("13")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn request(method: &str, headers: &[(&str, &str)]) -> Request<Body> {
        let mut b = Request::builder().method(method).uri("/x").version(Version::HTTP_11);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    fn websocket(extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        let mut h: Vec<(&'static str, String)> = vec![
            ("upgrade", "websocket".into()),
            ("connection", "keep-alive, Upgrade".into()),
            ("sec-websocket-key", KEY.into()),
            ("sec-websocket-version", "13".into()),
        ];
        for (k, v) in extra {
            h.retain(|(name, _)| name != k);
            if !v.is_empty() {
                h.push((static_name(k), (*v).into()));
            }
        }
        h
    }

    fn static_name(k: &str) -> &'static str {
        ["upgrade", "connection", "sec-websocket-key", "sec-websocket-version"].into_iter().find(|n| *n == k).unwrap()
    }

    fn screen_with(method: &str, headers: &[(&'static str, String)], allowed: bool) -> Result<bool, &'static str> {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        screen(&request(method, &pairs), allowed)
    }

    #[test]
    fn only_complete_websocket_handshakes_pass() {
        assert_eq!(screen(&request("GET", &[]), true), Ok(false));
        assert_eq!(screen_with("GET", &websocket(&[]), true), Ok(true));
        assert_eq!(screen_with("GET", &websocket(&[("upgrade", "WebSocket")]), true), Ok(true));
        assert_eq!(screen_with("GET", &websocket(&[]), false), Err("websocket_not_allowed"));
        for (name, value) in
            [("upgrade", "h2c"), ("upgrade", "websocket, h2c"), ("upgrade", "TLS/1.2"), ("upgrade", ",")]
        {
            assert_eq!(screen_with("GET", &websocket(&[(name, value)]), true), Err("upgrade_refused"), "{value}");
        }
        for broken in [
            ("connection", "keep-alive"),
            ("sec-websocket-key", ""),
            ("sec-websocket-key", "c2hvcnQ="),
            ("sec-websocket-version", "8"),
            ("sec-websocket-version", ""),
        ] {
            assert_eq!(
                screen_with("GET", &websocket(&[broken]), true),
                Err("websocket_handshake_invalid"),
                "{broken:?}"
            );
        }
        assert_eq!(screen_with("POST", &websocket(&[]), true), Err("websocket_handshake_invalid"));
        let h2c = [
            ("upgrade", "h2c".to_owned()),
            ("connection", "Upgrade, HTTP2-Settings".to_owned()),
            ("sec-websocket-version", "13".to_owned()),
        ];
        assert_eq!(screen_with("GET", &h2c, true), Err("upgrade_refused"));
    }
}
