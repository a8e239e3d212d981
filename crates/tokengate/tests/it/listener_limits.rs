//! Slow clients and connection floods (issue #8 item 10): every listener drops a client that
//! stalls in its request header, and closes connections over the per-client cap at accept while
//! earlier connections keep working; `/metrics` shows both. Limits are set small by `dev` flags.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;

fn addr(base: &str) -> String {
    base.trim_start_matches("http://").trim_end_matches('/').to_owned()
}

async fn dev_with(flags: &[&str]) -> DevServer {
    let dir = std::env::temp_dir().join(format!("tokengate-it-{}", uuid::Uuid::new_v4()));
    DevServer::start_with(dir, flags).await
}

/// Reads until the peer closes (EOF or reset); false if it is still open at the deadline.
async fn closed_by_peer(stream: &mut TcpStream, within: Duration) -> (bool, Vec<u8>) {
    let mut seen = Vec::new();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (true, seen),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (false, seen),
        }
    }
}

/// One keep-alive request on `stream`; returns the status code.
async fn get_public(stream: &mut TcpStream) -> u16 {
    stream.write_all(b"GET /public/x HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte)).await.unwrap().unwrap();
        assert_eq!(n, 1, "connection closed mid-response: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("content-length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    head[9..12].parse().unwrap()
}

async fn metrics_contain(s: &DevServer, line: &str) -> bool {
    let text = reqwest::get(s.admin("/metrics")).await.unwrap().text().await.unwrap();
    text.contains(line)
}

#[tokio::test]
async fn a_client_stalling_in_its_request_header_is_disconnected_on_every_listener() {
    let s = dev_with(&["--header-read-timeout", "1"]).await;
    let issuer = s.base_url().trim_start_matches("https://").to_owned();
    for (name, target) in [("gateway", addr(&s.gateway(""))), ("admin", addr(&s.admin(""))), ("issuer", issuer)] {
        let mut stream = TcpStream::connect(&target).await.unwrap();
        if name == "issuer" {
            // TLS listener: a handshake that never completes is dropped too; here the client
            // stalls before the TLS ClientHello is whole.
            stream.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
        } else {
            stream.write_all(b"GET /public/x HT").await.unwrap();
        }
        let (closed, _) = closed_by_peer(&mut stream, Duration::from_secs(30)).await;
        assert!(closed, "{name}: a stalled client was not disconnected within 30 s");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !metrics_contain(&s, r#"tokengate_listener_timeouts_total{listener="gateway",reason="header_read"} 1"#).await
    {
        assert!(Instant::now() < deadline, "header-read timeout not counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn connections_over_the_per_ip_cap_are_refused_while_earlier_ones_work() {
    let s = dev_with(&["--max-connections-per-ip", "3"]).await;
    let gateway = addr(&s.gateway(""));
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&gateway).await.unwrap();
        assert_eq!(get_public(&mut stream).await, 200);
        open.push(stream);
    }
    // The fourth from the same address is closed at accept, without an answer.
    let mut extra = TcpStream::connect(&gateway).await.unwrap();
    let _ = extra.write_all(b"GET /public/x HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (closed, seen) = closed_by_peer(&mut extra, Duration::from_secs(10)).await;
    assert!(closed && seen.is_empty(), "over-cap connection served: {}", String::from_utf8_lossy(&seen));
    // The earlier ones still work.
    for stream in &mut open {
        assert_eq!(get_public(stream).await, 200);
    }
    assert!(
        metrics_contain(
            &s,
            r#"tokengate_listener_refused_connections_total{listener="gateway",reason="per_ip_cap"} 1"#
        )
        .await
    );
    assert!(metrics_contain(&s, r#"tokengate_listener_open_connections{listener="gateway"} 3"#).await);
    // A closed connection frees its slot.
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = TcpStream::connect(&gateway).await.unwrap();
        let _ = stream.write_all(b"GET /public/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        let (_, seen) = closed_by_peer(&mut stream, Duration::from_secs(10)).await;
        if seen.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "slot not freed after the connection closed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
