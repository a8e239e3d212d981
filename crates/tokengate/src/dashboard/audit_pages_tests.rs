//! The audit pages in process: filters reach the API, the cursor pages on with the filters, the
//! export is relayed as a download, the tail relays rows as escaped HTML events, and the chain's
//! verification shows.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tower::ServiceExt;

use super::super::dashboard_test_support::{fixture, DashboardFixture, HOST};

const PROBE: &str = "test.probe";

/// `n` probe records: denied when i is odd; the subject carries markup to be escaped.
async fn probes(f: &DashboardFixture, n: i64) {
    let events: Vec<AuditEvent> = (0..n)
        .map(|i| {
            let outcome = if i % 2 == 1 { Outcome::Denied } else { Outcome::Allowed };
            let mut e = AuditEvent::new(AuditSource::Gateway, PROBE, outcome, 1_700_000_000_000 + i);
            e.subject = Some(format!("<i>user-{i}</i>"));
            e.detail = serde_json::json!({ "route": "demo", "method": "GET", "path": "/demo/hello" });
            e
        })
        .collect();
    f.api.dir.store.append_audit(&events).await.unwrap();
}

fn rows(body: &str, outcome: &str) -> usize {
    body.matches(&format!(r#"data-outcome="{outcome}""#)).count()
}

#[tokio::test]
async fn filters_reach_the_api_and_empty_ones_mean_any() {
    let f = fixture().await;
    probes(&f, 6).await;
    let a = f.get(&format!("/dashboard/audit?action={PROBE}&outcome=denied&subject=&route="), Some(&f.auditor)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!((rows(&a.body, "denied"), rows(&a.body, "allowed")), (3, 0), "{}", a.body);
    assert!(a.body.contains(r#"<option value="denied" selected>"#), "the form keeps the filter");
    assert!(a.body.contains("&#60;i&#62;user-1&#60;/i&#62;") && !a.body.contains("<i>user-1"), "escaped");
    let export = r#"href="/dashboard/audit/export?action=test.probe&#38;outcome=denied""#;
    assert!(a.body.contains(export), "the export carries the filters: {}", a.body);

    let one = f.get(&format!("/dashboard/audit?action={PROBE}&outcome=denied"), Some(&f.auditor)).await;
    let id = one.body.split(r#"/dashboard/audit?decision_id="#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let by_id = f.get(&format!("/dashboard/audit?decision_id={id}"), Some(&f.auditor)).await;
    assert_eq!(rows(&by_id.body, "denied") + rows(&by_id.body, "allowed"), 1, "a decision id link shows its record");

    let bad = f.get("/dashboard/audit?since=yesterday", Some(&f.auditor)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("since must be an RFC 3339 time"), "{}", bad.body);
}

#[tokio::test]
async fn the_cursor_pages_on_with_the_filters() {
    let f = fixture().await;
    probes(&f, 60).await;
    let first = f.get(&format!("/dashboard/audit?action={PROBE}"), Some(&f.admin)).await;
    assert_eq!(rows(&first.body, "denied") + rows(&first.body, "allowed"), 50);
    let next = first.body.split(r#"<a href=""#).find(|s| s.contains(r#"rel="next""#)).unwrap();
    let next = next.split('"').next().unwrap().replace("&#38;", "&");
    assert!(next.starts_with("/dashboard/audit?action=test.probe&cursor="), "{next}");
    let second = f.get(&next, Some(&f.admin)).await;
    assert_eq!(rows(&second.body, "denied") + rows(&second.body, "allowed"), 10, "{}", second.body);
    assert!(!second.body.contains(r#"rel="next""#));
    assert!(second.body.contains("← First page"));
}

#[tokio::test]
async fn the_export_is_relayed_as_a_download() {
    let f = fixture().await;
    probes(&f, 4).await;
    let a = f.get(&format!("/dashboard/audit/export?action={PROBE}&outcome=allowed"), Some(&f.auditor)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let disposition = a.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"tokengate-audit-"), "{disposition}");
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/x-ndjson");
    let lines: Vec<serde_json::Value> = a.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|r| r["outcome"] == "allowed" && r["action"] == PROBE));
    let bad = f.get("/dashboard/audit/export?outcome=maybe", Some(&f.auditor)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.headers.get(header::CONTENT_DISPOSITION).is_none());
}

#[tokio::test]
async fn the_tail_relays_escaped_rows_as_events() {
    let f = fixture().await;
    probes(&f, 3).await;
    let live = f.get(&format!("/dashboard/audit/live?action={PROBE}"), Some(&f.auditor)).await;
    assert!(live.body.contains(r#"sse-connect="/dashboard/audit/tail?action=test.probe""#), "{}", live.body);
    // From the start of the log (as a reconnecting browser would resume), so the records exist.
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("/dashboard/audit/tail?action={PROBE}&outcome=denied"))
        .header(header::HOST, HOST)
        .header(header::COOKIE, f.cookie(&f.auditor))
        .header("last-event-id", "0")
        .body(Body::empty())
        .unwrap();
    let response = f.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = response.into_body();
    let mut text = String::new();
    let read = async {
        while !text.contains("\n\n") {
            let frame = body.frame().await.unwrap().unwrap();
            text.push_str(&String::from_utf8_lossy(&frame.into_data().unwrap()));
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("a row event within 10 s");
    let event = text.split("\n\n").next().unwrap();
    let mut lines = event.lines();
    assert_eq!(lines.next(), Some("event: record"), "{event}");
    assert!(lines.next().unwrap().starts_with("id: "), "{event}");
    assert!(lines.all(|l| l.starts_with("data: ")), "every data line is a field: {event}");
    assert!(event.contains(r#"data-outcome="denied""#), "{event}");
    assert!(event.contains("&#60;i&#62;user-1&#60;/i&#62;") && !event.contains("<i>"), "escaped: {event}");
}

#[tokio::test]
async fn the_chain_verification_shows() {
    let f = fixture().await;
    probes(&f, 2).await;
    let page = f.get("/dashboard/audit/verification", Some(&f.auditor)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Verified:"), "{}", page.body);
    let request = Request::builder()
        .uri("/dashboard/audit/verification")
        .header(header::HOST, HOST)
        .header(header::COOKIE, f.cookie(&f.auditor))
        .header("hx-request", "true")
        .body(Body::empty())
        .unwrap();
    let fragment = f.router.clone().oneshot(request).await.unwrap();
    let fragment = String::from_utf8(fragment.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(fragment.trim_start().starts_with(r#"<section class="card" id="chain-verification""#), "{fragment}");
}

#[tokio::test]
async fn records_name_the_apps_they_involve() {
    let f = fixture().await;
    let client = &f.api.dir.client;
    let mut e = AuditEvent::new(AuditSource::Gateway, PROBE, Outcome::Allowed, 1_700_000_000_000);
    e.client_id = Some(client.app_id.to_string());
    f.api.dir.store.append_audit(&[e]).await.unwrap();
    let a = f.get(&format!("/dashboard/audit?action={PROBE}"), Some(&f.admin)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let named = format!(r#"<span class="named">{}</span>"#, client.display_name);
    assert!(a.body.contains(&named), "the client's name beside its id: {}", a.body);
}
