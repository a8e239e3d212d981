//! The audit summary counts exactly the gateway decisions of its window, per bucket and in its top
//! lists; an auditor may read it; a bad window is refused. (The verification operation is tested
//! here too: it reads the same log.)

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};

use super::super::admin_api_tests::{call, fixture_with, Fixture};

/// 2024-05-01T00:00:00Z.
const START_MS: i64 = 1_714_521_600_000;

fn decision(at_ms: i64, outcome: Outcome, reason: Option<&str>, client: Option<&str>, route: &str) -> AuditEvent {
    let mut e = AuditEvent::new(AuditSource::Gateway, "gateway.request", outcome, at_ms);
    e.reason = reason.map(str::to_owned);
    e.client_id = client.map(str::to_owned);
    e.detail = json!({ "route": route, "method": "GET", "path": "/x" });
    e
}

/// In the first 5 minutes: 3 allowed (client a, route r1), 2 denied (expired, client a, r1);
/// in the third: 1 denied without a token (missing_token, r2); one decision after the window
/// and one issuer record inside it (neither counted).
async fn traffic(f: &Fixture) {
    let mut events = Vec::new();
    for i in 0..3 {
        events.push(decision(START_MS + i * 1000, Outcome::Allowed, None, Some("client-a"), "r1"));
    }
    for i in 0..2 {
        events.push(decision(START_MS + 60_000 + i, Outcome::Denied, Some("expired"), Some("client-a"), "r1"));
    }
    events.push(decision(START_MS + 11 * 60_000, Outcome::Denied, Some("missing_token"), None, "r2"));
    events.push(decision(START_MS + 3_600_000, Outcome::Allowed, None, Some("client-b"), "r1"));
    events.push(AuditEvent::new(AuditSource::Issuer, "token.client_credentials", Outcome::Allowed, START_MS + 5));
    f.dir.store.append_audit(&events).await.unwrap();
}

const WINDOW: &str = "since=2024-05-01T00:00:00Z&until=2024-05-01T01:00:00Z&bucket_seconds=300";

#[tokio::test]
async fn an_auditor_reads_counts_matching_the_records() {
    let f = fixture_with(|_| None).await;
    traffic(&f).await;
    let (status, s, _) =
        call(&f, Method::GET, &format!("/admin/v1/audit/summary?{WINDOW}"), Some(&f.auditor), None).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!((s["allowed"].as_u64(), s["denied"].as_u64(), s["errors"].as_u64()), (Some(3), Some(3), Some(0)));
    let buckets = s["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 12, "an hour in 5-minute buckets");
    assert_eq!(buckets[0]["start"], "2024-05-01T00:00:00Z");
    assert_eq!((buckets[0]["allowed"].as_u64(), buckets[0]["denied"].as_u64()), (Some(3), Some(2)));
    assert_eq!((buckets[2]["allowed"].as_u64(), buckets[2]["denied"].as_u64()), (Some(0), Some(1)));
    assert_eq!(
        s["top_denial_reasons"],
        json!([{ "value": "expired", "count": 2 }, { "value": "missing_token", "count": 1 }])
    );
    assert_eq!(s["top_clients"], json!([{ "value": "client-a", "count": 5 }]));
    assert_eq!(s["top_routes"], json!([{ "value": "r1", "count": 5 }, { "value": "r2", "count": 1 }]));
    assert_eq!((s["capped"].as_bool(), s["max_records"].as_u64()), (Some(false), Some(50_000)));
    assert!(s["counted_since"].is_null());
}

#[tokio::test]
async fn a_bad_window_is_refused_and_a_caller_needs_a_role() {
    let f = fixture_with(|_| None).await;
    for query in [
        "since=yesterday",
        "since=2024-05-01T01:00:00Z&until=2024-05-01T00:00:00Z",
        "bucket_seconds=1",
        "since=2024-05-01T00:00:00Z&until=2024-05-03T00:00:00Z&bucket_seconds=60",
    ] {
        let (status, problem, _) =
            call(&f, Method::GET, &format!("/admin/v1/audit/summary?{query}"), Some(&f.auditor), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
    }
    let (status, _, _) = call(&f, Method::GET, "/admin/v1/audit/summary", Some(&f.no_role), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, s, _) = call(&f, Method::GET, "/admin/v1/audit/summary", Some(&f.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["buckets"].as_array().map(Vec::len), Some(12), "the last hour by default");
}

#[tokio::test]
async fn the_chain_verifies_for_an_auditor() {
    let f = fixture_with(|_| None).await;
    traffic(&f).await;
    let (status, v, _): (StatusCode, Value, _) =
        call(&f, Method::GET, "/admin/v1/audit/verification", Some(&f.auditor), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "verified", "{v}");
    assert!(v["records"].as_u64().unwrap() >= 8, "{v}");
    assert!(v["reason"].is_null(), "{v}");
}

#[tokio::test]
async fn a_busy_window_is_counted_from_its_newest_decisions_and_says_so() {
    let f = fixture_with(|_| None).await;
    traffic(&f).await;
    let window = super::Window { since_ms: START_MS, until_ms: START_MS + 3_600_000, bucket_ms: 300_000 };
    let s = super::summarize(f.dir.store.as_ref(), &window, 3).await.unwrap();
    assert_eq!((s.allowed, s.denied), (0, 3), "the three newest: two expired, one missing_token");
    assert!(s.capped);
    assert_eq!(s.counted_since.as_deref(), Some("2024-05-01T00:01:00Z"));
    let all = super::summarize(f.dir.store.as_ref(), &window, 6).await.unwrap();
    assert_eq!((all.allowed, all.denied, all.capped), (3, 3, false));
}
