//! The audit log on the admin API in process: an auditor pages through it with filters and a
//! stable cursor, exports it as JSON lines matching the pages, and tails it from a
//! `Last-Event-ID`, getting exactly the records after that seq.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tower::ServiceExt;

use super::admin_api_tests::{call, fixture_with, Fixture};
use crate::test_support::{body_text, send};

const PROBE: &str = "test.probe";

/// Ten probe records: denied when i is odd, subject `user-{i % 3}`.
async fn probes(f: &Fixture) {
    let events: Vec<AuditEvent> = (0..10)
        .map(|i| {
            let outcome = if i % 2 == 1 { Outcome::Denied } else { Outcome::Allowed };
            let mut e = AuditEvent::new(AuditSource::Gateway, PROBE, outcome, 1_700_000_000_000 + i);
            e.subject = Some(format!("user-{}", i % 3));
            e.token_id = Some(format!("uti-{i}"));
            e
        })
        .collect();
    f.dir.store.append_audit(&events).await.unwrap();
}

async fn page(f: &Fixture, query: &str) -> Value {
    let (status, page, _) = call(f, Method::GET, &format!("/admin/v1/audit?{query}"), Some(&f.auditor), None).await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page
}

fn seqs(page: &Value) -> Vec<i64> {
    page["items"].as_array().unwrap().iter().map(|r| r["seq"].as_i64().unwrap()).collect()
}

fn get(f: &Fixture, path: &str) -> Request<Body> {
    Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", f.auditor))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn an_auditor_pages_through_filtered_records_with_a_stable_cursor() {
    let f = fixture_with(|_| None).await;
    probes(&f).await;
    let all = page(&f, &format!("action={PROBE}&limit=1000")).await;
    let all_seqs = seqs(&all);
    assert_eq!(all_seqs.len(), 10);
    assert!(all_seqs.windows(2).all(|w| w[0] < w[1]), "ascending seq: {all_seqs:?}");
    let first = &all["items"][0];
    assert_eq!((first["source"].as_str(), first["outcome"].as_str()), (Some("gateway"), Some("allowed")));
    assert!(first["chain_hash"].as_str().unwrap().len() == 64, "{first}");
    assert!(all["next_cursor"].is_null(), "one page holds them all");

    assert_eq!(seqs(&page(&f, &format!("action={PROBE}&outcome=denied")).await).len(), 5);
    assert_eq!(seqs(&page(&f, &format!("action={PROBE}&subject=user-0")).await).len(), 4);
    assert_eq!(seqs(&page(&f, "token_id=uti-3").await), vec![all_seqs[3]]);

    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let query = format!("action={PROBE}&limit=3&cursor={cursor}");
        let one = page(&f, &query).await;
        assert_eq!(page(&f, &query).await, one, "the same cursor, the same page");
        walked.extend(seqs(&one));
        match one["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(walked, all_seqs, "every record exactly once, in order");

    for bad in ["limit=0", "limit=1001", "cursor=x", "outcome=maybe", "source=nobody", "since=yesterday"] {
        let (status, _, _) = call(&f, Method::GET, &format!("/admin/v1/audit?{bad}"), Some(&f.auditor), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let everything = page(&f, "limit=1000").await.to_string();
    for token in [&f.admin, &f.auditor, &f.no_role] {
        assert!(!everything.contains(token.as_str()), "no raw token in any record");
    }
}

#[tokio::test]
async fn the_export_is_json_lines_matching_the_pages() {
    let f = fixture_with(|_| None).await;
    probes(&f).await;
    let response =
        send(super::router(f.state.clone()), get(&f, &format!("/admin/v1/audit/export?action={PROBE}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/x-ndjson");
    let text = body_text(response).await;
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let all = page(&f, &format!("action={PROBE}&limit=1000")).await;
    assert_eq!(&Value::Array(lines), &all["items"]);
}

#[tokio::test]
async fn the_tail_resumes_after_the_last_event_id() {
    let f = fixture_with(|_| None).await;
    probes(&f).await;
    let all = page(&f, "limit=1000").await;
    let all_seqs = seqs(&all);
    let resume_after = all_seqs[all_seqs.len() - 4];
    let expected: Vec<i64> = all_seqs.iter().copied().filter(|s| *s > resume_after).collect();

    let mut request = get(&f, "/admin/v1/audit/tail");
    request.headers_mut().insert("last-event-id", resume_after.to_string().parse().unwrap());
    let response = super::router(f.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = response.into_body();
    let mut text = String::new();
    while text.matches("\n\n").count() < expected.len() {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame()).await.expect("an event in time");
        let data = frame.unwrap().unwrap().into_data().unwrap();
        text.push_str(std::str::from_utf8(&data).unwrap());
    }
    let mut ids = Vec::new();
    for event in text.split("\n\n").filter(|e| !e.is_empty()) {
        let (id, data) = event.split_once('\n').unwrap();
        let seq: i64 = id.strip_prefix("id: ").unwrap().parse().unwrap();
        let record: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(record["seq"], seq);
        ids.push(seq);
    }
    assert_eq!(ids, expected, "exactly the records after the Last-Event-ID");

    // A record written while the stream is open arrives as the next event.
    f.dir.store.append_audit(&[AuditEvent::new(AuditSource::Admin, "test.later", Outcome::Allowed, 1)]).await.unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame()).await.expect("the new record in time");
    let data = frame.unwrap().unwrap().into_data().unwrap();
    let event = String::from_utf8(data.to_vec()).unwrap();
    assert!(event.contains("\"test.later\""), "{event}");
}

/// A node that stops ends its open tails (the client resumes elsewhere with `Last-Event-ID`)
/// instead of holding the listener's drain open for its whole window.
#[tokio::test]
async fn a_stopping_node_ends_the_tail() {
    let mut f = fixture_with(|_| None).await;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let state = std::sync::Arc::try_unwrap(f.state).ok().expect("one owner").with_stop_signal(stopping);
    f.state = std::sync::Arc::new(state);
    let response = super::router(f.state.clone()).oneshot(get(&f, "/admin/v1/audit/tail")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    stop.send_replace(true);
    // Whatever is still buffered, then the end of the stream (bounded by the timeout).
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(frame) = body.frame().await {
            frame.unwrap();
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ended after the stop signal");
}
