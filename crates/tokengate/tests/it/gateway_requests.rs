//! How the gateway reads a request before any token: path normalisation (routed and forwarded
//! alike), `Host` and the request-target authority, protocol upgrades, and the headers that never
//! reach an upstream — SECURITY.md's gateway rows on paths, upgrades, headers and Host. Requests
//! are written as raw bytes: HTTP clients would normalise them first.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokengate_core::store::{AuditQuery, AuditStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::delegated_flows::{authorize_url, browser, redeem, refresh, sign_in_for_code, VERIFIER};
use crate::harness::*;
use crate::upstream::TestUpstream;

fn gateway_addr(s: &DevServer) -> String {
    s.gateway("").trim_start_matches("http://").trim_end_matches('/').to_owned()
}

/// Sends `head` (request line and headers, without the final blank line) and returns the status
/// and the JSON the upstream echoed, if any.
async fn raw(s: &DevServer, head: &str) -> (u16, Option<Value>) {
    let mut stream = TcpStream::connect(gateway_addr(s)).await.unwrap();
    stream.write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) => serde_json::from_str(&body[a..=b]).ok(),
        _ => None,
    };
    (status, json)
}

fn get(path: &str, host: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}{extra}")
}

/// The dev policy plus a public catch-all (the weaker route a path trick would aim for) and a
/// host-bound route.
async fn with_catch_all(s: &DevServer, upstream: &TestUpstream, settings: &str) {
    let policy = std::fs::read_to_string(s.s("/gateway_policy")).unwrap();
    let url = upstream.url();
    let text = format!(
        "{settings}\n{policy}\n[[route]]\nname = \"hosted\"\nhost = \"api.example\"\npath_prefix = \"/hosted/\"\nupstream = \"{url}\"\npublic = true\n\n[[route]]\nname = \"catch-all\"\npath_prefix = \"/\"\nupstream = \"{url}\"\npublic = true\nwebsocket = false\n"
    );
    let http = reqwest::Client::new();
    s.set_policy(&text, || async { http.get(s.gateway("/anything")).send().await.unwrap().status() == 200 }).await;
}

async fn ping(t: &mut TcpStream) {
    t.write_all(b"ping").await.unwrap();
    let mut echoed = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), t.read_exact(&mut echoed)).await.unwrap().unwrap();
    assert_eq!(&echoed, b"ping");
}

async fn audit_reasons(s: &mut DevServer) -> Vec<(Option<String>, Option<u16>)> {
    assert!(s.terminate().success());
    let store = tokengate_store::SqliteStore::open(&s.dir.join("tokengate.db")).await.unwrap();
    let events = store
        .audit_events(&AuditQuery { action: Some("gateway.request".into()), limit: 1000, ..Default::default() })
        .await
        .unwrap();
    events.into_iter().map(|e| (e.reason, e.status)).collect()
}

#[tokio::test]
async fn path_tricks_are_refused_or_routed_and_forwarded_by_one_normalised_path() {
    let upstream = TestUpstream::start().await;
    let mut s = DevServer::start_with_upstream(&upstream.url()).await;
    with_catch_all(&s, &upstream, "").await;
    let token = s.demo_token().await;
    let host = gateway_addr(&s);

    // Refused: the upstream could read each of these as a protected path.
    let refusals = [
        ("/public/..;/demo/x", "path_dot_segment_parameters"),
        ("/public/%2e%2e;/demo/x", "path_dot_segment_parameters"),
        ("/public/..;jsessionid=1/demo/x", "path_dot_segment_parameters"),
        ("/x/.;x/demo/x", "path_dot_segment_parameters"),
        ("/public/%252e%252e/demo/x", "path_double_encoding"),
        ("/public/%00/../demo/x", "path_control_character"),
        ("/public/%c0%ae%c0%ae/demo/x", "path_invalid_utf8"),
        ("/public/..%2fdemo/x", "path_encoded_slash"),
        ("/public/..%5cdemo/x", "path_backslash"),
        ("/demo./x", "path_trailing_dot_or_space"),
        ("/demo%20/x", "path_trailing_dot_or_space"),
    ];
    for (path, _) in refusals {
        let before = upstream.received().len();
        let (status, _) = raw(&s, &get(path, &host, "")).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(upstream.received().len(), before, "{path} reached the upstream");
    }

    // Routed by the normalised path: a protected path stays protected whatever its spelling…
    for path in [
        "/public/../demo/x",
        "/public/%2e%2e/demo/x",
        "/public/%2E./demo/x",
        "//demo/x",
        "/%64%65%6d%6f/x",
        "/DEMO/x",
        "/Demo/x",
        "/demo;x=1/x",
        "/public/./../demo/x",
    ] {
        let (status, _) = raw(&s, &get(path, &host, "")).await;
        assert_eq!(status, 401, "{path} must meet the demo route, not the public catch-all");
    }
    // …and the upstream receives exactly the path that was routed.
    for (path, forwarded) in [
        ("/public/%2e%2e/demo/x?q=%2e%2e", "/demo/x?q=%2e%2e"),
        ("/DEMO/%7euser", "/DEMO/~user"),
        ("//demo//a/./b/", "/demo/a/b/"),
        ("/demo;v=1/x", "/demo;v=1/x"),
    ] {
        let (status, seen) = raw(&s, &get(path, &host, &format!("\r\nAuthorization: Bearer {token}"))).await;
        assert_eq!(status, 200, "{path}");
        let seen = seen.unwrap();
        assert_eq!(seen["path"], forwarded.split('?').next().unwrap(), "{path}");
        assert_eq!(upstream.received().last().unwrap(), forwarded, "{path}: query kept as sent");
    }
    for (path, forwarded) in [("/public//x", "/public/x"), ("/public/a/../%7Eb", "/public/~b")] {
        let (status, seen) = raw(&s, &get(path, &host, "")).await;
        assert_eq!((status, seen.unwrap()["path"].as_str().unwrap().to_owned()), (200, forwarded.to_owned()), "{path}");
    }

    let reasons = audit_reasons(&mut s).await;
    for (_, reason) in refusals {
        assert!(reasons.contains(&(Some(reason.to_owned()), Some(400))), "no audit record for {reason}: {reasons:?}");
    }
}

#[tokio::test]
async fn case_sensitive_routes_are_the_policys_choice() {
    let upstream = TestUpstream::start().await;
    let s = DevServer::start_with_upstream(&upstream.url()).await;
    let policy = std::fs::read_to_string(s.s("/gateway_policy")).unwrap();
    let strict = policy.replacen("path_prefix = \"/demo/\"", "path_prefix = \"/demo/\"\ncase_sensitive = true", 1);
    let http = reqwest::Client::new();
    s.set_policy(&strict, || async { http.get(s.gateway("/DEMO/x")).send().await.unwrap().status() == 404 }).await;
    assert_eq!(http.get(s.gateway("/demo/x")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn only_websocket_upgrades_pass_and_a_tunnel_dies_with_its_token() {
    let upstream = TestUpstream::start().await;
    let dir = std::env::temp_dir().join(format!("tokengate-it-{}", uuid::Uuid::new_v4()));
    let mut s = DevServer::start_with(dir, &["--upstream", &upstream.url(), "--refresh-reuse-grace", "0"]).await;
    with_catch_all(&s, &upstream, "").await;
    let host = gateway_addr(&s);

    // h2c on a public route: refused, never spliced, the upstream sees nothing.
    let before = upstream.received().len();
    let h2c = "\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA";
    assert_eq!(raw(&s, &get("/public/x", &host, h2c)).await.0, 400);
    let smuggle = format!("{h2c}\r\nContent-Length: 0");
    assert_eq!(raw(&s, &get("/public/x", &host, &smuggle)).await.0, 400);
    for other in ["\r\nConnection: Upgrade\r\nUpgrade: TLS/1.2", "\r\nUpgrade: websocket, h2c\r\nConnection: upgrade"] {
        assert_eq!(raw(&s, &get("/public/x", &host, other)).await.0, 400, "{other:?}");
    }
    // A WebSocket handshake missing its key, or on a route that does not allow WebSockets.
    let ws = "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13";
    assert_eq!(raw(&s, &get("/public/x", &host, ws)).await.0, 400);
    let ws_full = format!("{ws}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(raw(&s, &get("/elsewhere", &host, &ws_full)).await.0, 400, "catch-all says websocket = false");
    assert_eq!(upstream.received().len(), before, "nothing reached the upstream: {:?}", upstream.received());

    // A user's token opens a tunnel; rotation leaves it open, theft detection (family revoked)
    // closes it.
    let mut b = browser(&s);
    let code = sign_in_for_code(&s, &mut b, &authorize_url(&s, &[])).await;
    let (status, first) = redeem(&s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap().to_owned();
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let mut tunnel = TcpStream::connect(&host).await.unwrap();
    let hello = format!("GET /demo/ws HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {access}{ws_full}\r\n\r\n");
    tunnel.write_all(hello.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tunnel.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    ping(&mut tunnel).await;
    let (status, second) = refresh(&s, &rt1, None).await;
    assert_eq!(status, 200, "{second}");
    ping(&mut tunnel).await;
    let (status, _) = refresh(&s, &rt1, None).await;
    assert_eq!(status, 400, "reuse after rotation revokes the family");

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 64];
    loop {
        assert!(Instant::now() < deadline, "the tunnel outlived its revoked token");
        match tokio::time::timeout(Duration::from_secs(1), tunnel.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
    }

    let reasons = audit_reasons(&mut s).await;
    for reason in ["upgrade_refused", "websocket_handshake_invalid", "websocket_not_allowed"] {
        assert!(reasons.contains(&(Some(reason.to_owned()), Some(400))), "no audit record for {reason}: {reasons:?}");
    }
}

#[tokio::test]
async fn identity_and_override_headers_never_reach_the_upstream() {
    let upstream = TestUpstream::start().await;
    let s = DevServer::start_with_upstream(&upstream.url()).await;
    let token = s.demo_token().await;
    let claims = decode_jwt(&token).1;
    let host = gateway_addr(&s);
    let spoofed = [
        "X_Tokengate_Oid",
        "X-Tokengate-Admin",
        "X-Forwarded-User",
        "X-Forwarded-Email",
        "X-Forwarded-Preferred-Username",
        "X-Forwarded-Groups",
        "X-Auth-Request-User",
        "X-Auth-Request-Email",
        "X-Remote-User",
        "Remote-User",
        "Remote_User",
        "X-MS-CLIENT-PRINCIPAL",
        "X-MS-CLIENT-PRINCIPAL-NAME",
        "X-MS-TOKEN-AAD-ACCESS-TOKEN",
        "X-Original-URL",
        "X-Rewrite-URL",
        "X-HTTP-Method-Override",
        "X-HTTP-Method",
        "X-Method-Override",
        "X_Forwarded_For",
    ];
    let extra: String = spoofed.iter().map(|h| format!("\r\n{h}: spoofed")).collect();
    for auth in ["", &format!("\r\nAuthorization: Bearer {token}")] {
        let path = if auth.is_empty() { "/public/x" } else { "/demo/x" };
        let (status, seen) = raw(&s, &get(path, &host, &format!("{auth}{extra}\r\nX-Request-Id: kept"))).await;
        assert_eq!(status, 200, "{path}");
        let headers = &seen.unwrap()["headers"];
        for h in spoofed {
            assert!(headers.get(h.to_ascii_lowercase()).is_none(), "{h} reached the upstream on {path}: {headers}");
        }
        assert_eq!(headers["x-request-id"], "kept");
        if !auth.is_empty() {
            assert_eq!(headers["x-tokengate-oid"], claims["oid"], "the verified identity, not the spoofed one");
        }
    }

    // At the edge, X-Forwarded-For and Forwarded are replaced, not appended to.
    let http = reqwest::Client::new();
    let policy = std::fs::read_to_string(s.s("/gateway_policy")).unwrap();
    s.set_policy(&format!("[settings]\nforwarded_headers = \"overwrite\"\n\n{policy}"), || async {
        let r = http.get(s.gateway("/public/x")).header("X-Forwarded-For", "203.0.113.9").send().await.unwrap();
        r.json::<Value>().await.map(|v| v["headers"]["x-forwarded-for"] == "127.0.0.1").unwrap_or(false)
    })
    .await;
    let r = http
        .get(s.gateway("/public/x"))
        .header("X-Forwarded-For", "203.0.113.9")
        .header("Forwarded", "for=203.0.113.9")
        .send()
        .await
        .unwrap();
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-forwarded-for"], "127.0.0.1");
    assert!(seen["headers"]["forwarded"].as_str().unwrap().starts_with("for=127.0.0.1;proto=http"));
    assert!(!seen["headers"]["forwarded"].as_str().unwrap().contains("203.0.113.9"));
}

#[tokio::test]
async fn host_routing_uses_the_request_target_and_refuses_disagreement() {
    let upstream = TestUpstream::start().await;
    let mut s = DevServer::start_with_upstream(&upstream.url()).await;
    with_catch_all(&s, &upstream, "").await;
    let host = gateway_addr(&s);

    // The trailing dot is dropped before routing (and in what the upstream is told).
    let (status, seen) = raw(&s, &get("/hosted/x", "API.example.", "")).await;
    assert_eq!(status, 200);
    let seen = seen.unwrap();
    assert_eq!(seen["headers"]["x-forwarded-host"], "api.example");
    assert_eq!(upstream.received().last().unwrap(), "/hosted/x");
    // The absolute-form authority wins over… nothing to disagree with: same host.
    let (status, _) = raw(&s, "GET http://api.example/hosted/y HTTP/1.1\r\nHost: api.example").await;
    assert_eq!(status, 200);
    assert_eq!(upstream.received().last().unwrap(), "/hosted/y");
    // Host disagreeing with the request-target authority: refused, whichever would route.
    let before = upstream.received().len();
    for head in [
        format!("GET http://api.example/hosted/x HTTP/1.1\r\nHost: {host}"),
        "GET http://other.example/hosted/x HTTP/1.1\r\nHost: api.example".to_owned(),
        "GET http://api.example:1/hosted/x HTTP/1.1\r\nHost: api.example:2".to_owned(),
    ] {
        assert_eq!(raw(&s, &head).await.0, 400, "{head}");
    }
    // Bad host syntax.
    for bad in ["api..example", ".api.example", "api.example:http", "[::1", "api.example:99999", "a,b"] {
        assert_eq!(raw(&s, &get("/hosted/x", bad, "")).await.0, 400, "{bad}");
    }
    assert_eq!(raw(&s, &format!("{}\r\nHost: api.example", get("/hosted/x", "api.example", ""))).await.0, 400);
    assert_eq!(upstream.received().len(), before, "nothing reached the upstream");

    let reasons = audit_reasons(&mut s).await;
    for reason in ["host_mismatch", "host_invalid", "host_duplicate"] {
        assert!(reasons.contains(&(Some(reason.to_owned()), Some(400))), "no audit record for {reason}: {reasons:?}");
    }
}
