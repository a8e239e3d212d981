//! Token shapes and request shapes at the gateway (issue #8 item 9): permission-less access
//! tokens are access tokens (not ID tokens) and pass only routes that opt in; a token in a form
//! body next to the header is refused; a client's broken body is a 400, never a 502.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;
use crate::upstream::TestUpstream;

fn challenge(r: &reqwest::Response) -> String {
    r.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn metrics(s: &DevServer) -> String {
    reqwest::get(s.admin("/metrics")).await.unwrap().text().await.unwrap()
}

/// Polls /metrics (bounded) until it contains `line`.
async fn wait_for_metric(s: &DevServer, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = metrics(s).await;
        if text.contains(line) {
            return;
        }
        assert!(Instant::now() < deadline, "metric {line} not seen:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The admin client holds no app role of the demo API: its client-credentials token for it
/// carries neither `scp` nor `roles` (as Entra issues it) — an access token all the same.
async fn permission_less_token(s: &DevServer) -> String {
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.s("/admin/client_id")),
                ("client_secret", &s.s("/admin/client_secret")),
                ("scope", &s.api_scope()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let claims = decode_jwt(&token).1;
    assert!(claims.get("roles").is_none() && claims.get("scp").is_none(), "{claims}");
    assert!(claims.get("azp").is_some() || claims.get("appid").is_some(), "access tokens name their client");
    token
}

#[tokio::test]
async fn permission_less_access_tokens_pass_only_routes_that_opt_in() {
    let s = DevServer::start().await;
    let token = permission_less_token(&s).await;
    let http = reqwest::Client::new();

    // A route naming permissions: 403 naming them (not 401 as if it were an ID token).
    let r = http.get(s.gateway("/demo/x")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(challenge(&r).contains("scope=\"Demo.Read Demo.Read.All\""), "{}", challenge(&r));

    // Routes naming none: refused unless they opt in (ACL mode).
    let original = std::fs::read_to_string(s.s("/gateway_policy")).unwrap();
    let audiences = format!("audiences = [\"{}\", \"{}\"]", s.s("/api/app_id"), s.s("/api/app_id_uri"));
    let policy = format!(
        "{original}\n[[route]]\nname = \"acl\"\npath_prefix = \"/acl/\"\nupstream = \"echo\"\n[route.require]\nissuers = [\"tokengate\"]\n{audiences}\nallow_tokens_without_permissions = true\n\n[[route]]\nname = \"bare\"\npath_prefix = \"/bare/\"\nupstream = \"echo\"\n[route.require]\nissuers = [\"tokengate\"]\n{audiences}\n"
    );
    s.set_policy(&policy, || async {
        http.get(s.gateway("/acl/x")).bearer_auth(&token).send().await.unwrap().status() == 200
    })
    .await;
    let r = http.get(s.gateway("/bare/x")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(challenge(&r).contains("error=\"insufficient_scope\""));
    // A token with a permission still passes the route naming none.
    let demo = s.demo_token().await;
    assert_eq!(http.get(s.gateway("/bare/x")).bearer_auth(&demo).send().await.unwrap().status(), 200);
    // The audit (and metrics) carry the true reason.
    wait_for_metric(&s, r#"{route="bare",outcome="denied",reason="token_without_permissions"} 1"#).await;
}

#[tokio::test]
async fn a_token_in_a_form_body_next_to_the_header_is_invalid_request() {
    let upstream = TestUpstream::start().await;
    let s = DevServer::start_with_upstream(&upstream.url()).await;
    let token = s.demo_token().await;
    let http = reqwest::Client::new();
    let url = s.gateway("/demo/form");

    let r = http.post(&url).bearer_auth(&token).form(&[("a", "1"), ("access_token", &token)]).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(challenge(&r).contains("error=\"invalid_request\""), "{}", challenge(&r));
    wait_for_metric(&s, r#"{route="demo",outcome="denied",reason="token_in_body_and_header"} 1"#).await;

    // A form without a token reaches the upstream whole; other bodies stream untouched.
    let r = http.post(&url).bearer_auth(&token).form(&[("a", "1"), ("b", "2")]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["body_len"], 7);
    let r = http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"access_token\":\"{token}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "only form bodies are looked into");
}

/// Sends `head` + `body` raw, then half-closes, and returns the response text (bounded wait).
async fn raw_exchange(base: &str, head: &str, body: &[u8]) -> String {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_clients_broken_body_is_a_400_not_an_upstream_failure() {
    let upstream = TestUpstream::start().await;
    let s = DevServer::start_with_upstream(&upstream.url()).await;
    let token = s.demo_token().await;
    let base = s.gateway("");

    // Bad chunking.
    let head = format!(
        "POST /demo/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let answer = raw_exchange(&base, &head, b"5\r\nhello\r\nzz\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "bad chunking: {answer}");
    // A body cut short of its Content-Length.
    let head = format!(
        "POST /demo/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n"
    );
    let answer = raw_exchange(&base, &head, b"only ten b").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "truncated body: {answer}");
    // The same for a form body (read by the gateway itself).
    let head = format!(
        "POST /demo/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    );
    let answer = raw_exchange(&base, &head, b"a=1").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "truncated form body: {answer}");

    wait_for_metric(&s, r#"{route="demo",outcome="denied",reason="client_body_invalid"} 3"#).await;
    let text = metrics(&s).await;
    assert!(!text.contains("upstream_unavailable"), "not counted against the upstream:\n{text}");
}
