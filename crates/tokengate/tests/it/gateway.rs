//! The gateway in front of a real upstream, tokens from the built-in issuer: every HTTP-level
//! row of SECURITY.md's gateway table, forwarding, hot reload, audit.

use std::time::Duration;

use serde_json::Value;
use tokengate_core::store::{AuditQuery, AuditStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;
use crate::upstream::TestUpstream;

fn challenge(r: &reqwest::Response) -> String {
    r.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn forwards_identity_to_a_real_upstream_and_strips_spoofed_headers() {
    let upstream = TestUpstream::start().await;
    let s = DevServer::start_with_upstream(&upstream.url()).await;
    let token = s.demo_token().await;
    let claims = decode_jwt(&token).1;
    let http = reqwest::Client::new();
    let r = http
        .get(s.gateway("/demo/orders?limit=5"))
        .bearer_auth(&token)
        .header("X-Tokengate-Oid", "spoofed")
        .header("X-Tokengate-Roles", "Admin")
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["upstream"], "test", "the real upstream answered");
    assert_eq!(seen["path"], "/demo/orders");
    let h = &seen["headers"];
    assert_eq!(h["x-tokengate-oid"], claims["oid"]);
    assert_eq!(h["x-tokengate-tid"], claims["tid"]);
    assert_eq!(h["x-tokengate-azp"], claims["azp"]);
    assert_eq!(h["x-tokengate-roles"], "Demo.Read.All", "client-sent copy replaced");
    assert_eq!(h["x-tokengate-uti"], claims["uti"]);
    assert!(h.get("authorization").is_none(), "token not forwarded unless the route asks");
    assert_eq!(h["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert!(h["forwarded"].as_str().unwrap().starts_with("for=127.0.0.1;proto=http;host="));
    assert!(h["host"].as_str().unwrap().ends_with(&upstream.addr.port().to_string()), "Host is the upstream's");

    // Public route: no token needed, and spoofed identity still stripped.
    let r = http.get(s.gateway("/public/x")).header("X-Tokengate-Oid", "spoofed").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert!(seen["headers"].get("x-tokengate-oid").is_none());

    // POST bodies stream through.
    let r = http
        .post(s.gateway("/demo/upload"))
        .bearer_auth(&token)
        .body(vec![b'x'; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["body_len"], 3 * 1024 * 1024, "the whole body reached the upstream");
}

#[tokio::test]
async fn bearer_token_handling_follows_rfc6750() {
    let s = DevServer::start().await;
    let token = s.demo_token().await;
    let http = reqwest::Client::new();
    let url = s.gateway("/demo/x");

    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(challenge(&r), "Bearer realm=\"tokengate\"", "no token: bare challenge");
    let r = http.get(&url).header("Authorization", "Basic dXNlcjpwYXNz").send().await.unwrap();
    assert_eq!((r.status().as_u16(), challenge(&r)), (401, "Bearer realm=\"tokengate\"".to_owned()));
    let r = http.get(&url).header("Authorization", "Negotiate abc").send().await.unwrap();
    assert_eq!(r.status(), 401);

    let r = http.get(&url).header("Authorization", format!("bearer {token}")).send().await.unwrap();
    assert_eq!(r.status(), 200, "scheme is case-insensitive");

    for bad in ["Bearer", "Bearer ", "Bearer a b"] {
        let r = http.get(&url).header("Authorization", bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad:?}");
        assert!(challenge(&r).contains("error=\"invalid_request\""));
    }
    let r = http
        .get(&url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "two Authorization headers");
    let r = http.get(format!("{url}?access_token={token}")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 400, "header + query token");
    let r = http.get(format!("{url}?access_token={token}")).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), challenge(&r)),
        (401, "Bearer realm=\"tokengate\"".to_owned()),
        "query-only token is not used"
    );

    let r = http.get(&url).bearer_auth("a".repeat(17 * 1024)).send().await.unwrap();
    assert_eq!(r.status(), 431);

    let r = http.get(&url).bearer_auth("not.a.token").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        challenge(&r),
        "Bearer realm=\"tokengate\", error=\"invalid_token\", error_description=\"The bearer token is not a signed JWT (base64url header.payload.signature)\""
    );
    // A tampered token.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = decode_jwt(&token).1;
    claims["roles"] = serde_json::json!(["Demo.Write.All"]);
    parts[1] = tokengate_core::encoding::b64url(claims.to_string());
    let r = http.get(&url).bearer_auth(parts.join(".")).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // A valid token for another API (wrong aud): invalid, not forbidden.
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.s("/admin/client_id")),
                ("client_secret", &s.s("/admin/client_secret")),
                ("scope", &format!("{}/.default", s.s("/admin/app_id_uri"))),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let r = http.get(&url).bearer_auth(body["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(challenge(&r).contains("invalid_token"));

    // Right API, missing permission: 403 naming what to ask for.
    let r = http.get(s.gateway("/demo-write/x")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let c = challenge(&r);
    assert!(c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"Demo.Write Demo.Write.All\""), "{c}");

    // Unmatched path and path tricks.
    assert_eq!(http.get(s.gateway("/nowhere")).send().await.unwrap().status(), 404);
    // Resolved before routing (so the protected route applies), or refused (gateway_requests.rs).
    let raw = "GET /public/%2e%2e/demo/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert!(raw_request(&s.gateway(""), raw).await.starts_with("HTTP/1.1 401"));
    let raw = "GET /public/..;/demo/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert!(raw_request(&s.gateway(""), raw).await.starts_with("HTTP/1.1 400"));
}

async fn raw_request(base: &str, text: &str) -> String {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn upstream_failures_are_502_and_504_never_401() {
    let upstream = TestUpstream::start().await;
    let s = DevServer::start_with_upstream(&upstream.url()).await;
    let token = s.demo_token().await;
    let http = reqwest::Client::new();
    // A closed port: refused → 502.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let policy = std::fs::read_to_string(s.s("/gateway_policy")).unwrap();
    let new_policy = format!(
        "[settings]\nupstream_timeout_seconds = 1\n\n{}",
        policy.replacen(
            &format!("upstream = \"{}\"", upstream.url()),
            &format!("upstream = \"http://127.0.0.1:{closed}\""),
            1
        )
    );
    s.set_policy(&new_policy, || async {
        http.get(s.gateway("/demo/x")).bearer_auth(&token).send().await.unwrap().status() == 502
    })
    .await;
    // The public route still points at the live upstream; its slow path takes 5 s > 1 s → 504.
    let r = http.get(s.gateway("/public/slow")).send().await.unwrap();
    assert_eq!(r.status(), 504);
}

#[tokio::test]
async fn websocket_upgrade_and_h2c_upstreams() {
    let upstream = TestUpstream::start().await;
    let s = DevServer::start_with_upstream(&upstream.url()).await;
    let token = s.demo_token().await;

    // WebSocket-style upgrade through the gateway: the byte stream is spliced both ways.
    let addr = s.gateway("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let hello = format!(
        "GET /demo/ws HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(hello.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    stream.write_all(b"ping over the tunnel").await.unwrap();
    let mut echoed = [0u8; 20];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut echoed)).await.unwrap().unwrap();
    assert_eq!(&echoed, b"ping over the tunnel");

    // h2c upstream: the upstream sees HTTP/2.
    let policy = std::fs::read_to_string(s.s("/gateway_policy")).unwrap();
    let h2c = policy.replacen(
        &format!("upstream = \"{}\"", upstream.url()),
        &format!("upstream = \"h2c://{}\"", upstream.addr),
        1,
    );
    let http = reqwest::Client::new();
    s.set_policy(&h2c, || async {
        let r = http.get(s.gateway("/demo/v")).bearer_auth(&token).send().await.unwrap();
        r.json::<Value>().await.map(|v| v["version"] == "HTTP/2.0").unwrap_or(false)
    })
    .await;
}

#[tokio::test]
async fn policy_hot_reload_applies_valid_files_and_keeps_the_old_one_otherwise() {
    let s = DevServer::start().await;
    let token = s.demo_token().await;
    let http = reqwest::Client::new();
    let original = std::fs::read_to_string(s.s("/gateway_policy")).unwrap();
    assert_eq!(http.get(s.gateway("/demo-write/x")).bearer_auth(&token).send().await.unwrap().status(), 403);

    // Grant writes to Demo.Read.All holders, live.
    let relaxed =
        original.replacen("roles_any = [\"Demo.Write.All\"]", "roles_any = [\"Demo.Write.All\", \"Demo.Read.All\"]", 1);
    s.set_policy(&relaxed, || async {
        http.get(s.gateway("/demo-write/x")).bearer_auth(&token).send().await.unwrap().status() == 200
    })
    .await;

    // A broken file is refused; the running policy stays.
    let broken = format!("{relaxed}\n[[route]]\nname = \"bad\"\npath_prefix = \"no-slash\"\nupstream = \"ftp://x\"\n");
    let path = s.s("/gateway_policy");
    std::fs::write(&path, broken).unwrap();
    // The reload counter says when the broken file was looked at and refused (no fixed wait).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !reqwest::get(s.admin("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("tokengate_gateway_policy_reloads_total{result=\"refused\"} 1")
    {
        assert!(std::time::Instant::now() < deadline, "the broken policy was not looked at within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(http.get(s.gateway("/demo-write/x")).bearer_auth(&token).send().await.unwrap().status(), 200);
    // Requests keep being served during reloads.
    s.set_policy(&original, || async {
        http.get(s.gateway("/demo-write/x")).bearer_auth(&token).send().await.unwrap().status() == 403
    })
    .await;
}

#[tokio::test]
async fn every_gateway_decision_is_audited_without_the_token() {
    let mut s = DevServer::start().await;
    let token = s.demo_token().await;
    let http = reqwest::Client::new();
    assert_eq!(http.get(s.gateway("/demo/a")).bearer_auth(&token).send().await.unwrap().status(), 200);
    assert_eq!(http.get(s.gateway("/demo/b")).send().await.unwrap().status(), 401);
    assert_eq!(http.get(s.gateway("/demo-write/c")).bearer_auth(&token).send().await.unwrap().status(), 403);
    assert_eq!(http.get(format!("{}?access_token={token}", s.gateway("/demo/d"))).send().await.unwrap().status(), 401);
    let metrics = http.get(s.admin("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("tokengate_gateway_requests_total{route=\"demo\",outcome=\"allowed\",reason=\"\"} 1"),
        "{metrics}"
    );
    // Every memory cap shows beside its fill: the verified-token cache and the audit queue. The
    // fill is read at the scrape (one token verified and cached so far), not at the last sweep.
    for line in [
        "tokengate_gateway_verified_cache_entries 1",
        "tokengate_gateway_verified_cache_capacity 100000",
        "tokengate_audit_queue_capacity 4096",
        "tokengate_audit_strict_durability 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
    assert!(metrics.contains("tokengate_audit_queue_records "), "{metrics}");
    assert!(s.terminate().success());

    let store = tokengate_store::SqliteStore::open(&s.dir.join("tokengate.db")).await.unwrap();
    let events = store
        .audit_events(&AuditQuery { action: Some("gateway.request".into()), limit: 100, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(events.len(), 4, "one record per request");
    let uti = decode_jwt(&token).1["uti"].as_str().unwrap().to_owned();
    let allowed = events.iter().find(|e| e.status == Some(200)).unwrap();
    assert_eq!(allowed.token_id.as_deref(), Some(uti.as_str()));
    assert_eq!(allowed.detail["route"], "demo");
    assert!(events.iter().any(|e| e.reason.as_deref() == Some("no_token") && e.status == Some(401)));
    assert!(events.iter().any(|e| e.reason.as_deref() == Some("insufficient_scope") && e.status == Some(403)));
    for e in &events {
        assert!(!e.detail.to_string().contains(&token[..40]), "token in audit detail");
    }
    let mut dump = std::fs::read(s.dir.join("tokengate.db")).unwrap();
    if let Ok(wal) = std::fs::read(s.dir.join("tokengate.db-wal")) {
        dump.extend(wal);
    }
    assert!(!dump.windows(40).any(|w| w == &token.as_bytes()[..40]), "raw token stored");
}
