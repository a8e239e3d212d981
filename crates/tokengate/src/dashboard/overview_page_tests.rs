//! The overview in process: the chart and totals count the gateway decisions written in the last
//! hour, the top lists and nodes show, record text is escaped, and an auditor sees the same page.

use axum::http::StatusCode;
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};

use super::super::dashboard_test_support::{fixture, DashboardFixture};
use crate::state::now_ms;

async fn decisions(f: &DashboardFixture, allowed: usize, denied: usize) {
    let at = now_ms() - 60_000;
    let mut events = Vec::new();
    for i in 0..allowed + denied {
        let outcome = if i < allowed { Outcome::Allowed } else { Outcome::Denied };
        let mut e = AuditEvent::new(AuditSource::Gateway, "gateway.request", outcome, at + i as i64);
        if i < allowed {
            e.client_id = Some("client-<b>".into());
        } else {
            e.reason = Some("missing_token".into());
        }
        e.detail = serde_json::json!({ "route": "demo<script>", "method": "GET", "path": "/demo/hello" });
        events.push(e);
    }
    // One more allowed request, by an app of the home tenant (the page names it).
    let mut known = AuditEvent::new(AuditSource::Gateway, "gateway.request", Outcome::Allowed, at);
    known.client_id = Some(f.api.dir.client.app_id.to_string());
    events.push(known);
    f.api.dir.store.append_audit(&events).await.unwrap();
}

#[tokio::test]
async fn the_chart_and_top_lists_count_the_last_hours_decisions() {
    let f = fixture().await;
    decisions(&f, 3, 2).await;
    for session in [&f.admin, &f.auditor] {
        let a = f.get("/dashboard/", Some(session)).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(a.body.contains(r#"role="img""#), "{}", a.body);
        assert!(a.body.contains(": 4 allowed, 2 denied</title>"), "the chart's accessible name: {}", a.body);
        assert!(a.body.contains(r#"data-total="allowed">4<"#) && a.body.contains(r#"data-total="denied">2<"#));
        assert!(a.body.contains(r#"<rect class="allowed""#) && a.body.contains(r#"<rect class="denied""#));
        assert!(a.body.contains("<code>missing_token</code>"), "top denial reasons");
        assert!(a.body.contains("client-&#60;b&#62;") && !a.body.contains("client-<b>"), "escaped client");
        assert!(a.body.contains("demo&#60;script&#62;") && !a.body.contains("demo<script>"), "escaped route");
        assert!(a.body.contains("The same numbers as a table"), "a text fallback");
        let known = &f.api.dir.client;
        assert!(
            a.body.contains(&format!("{} <span class=\"hint\"><code>{}</code>", known.display_name, known.app_id)),
            "a known client by name: {}",
            a.body
        );
        assert!(a.body.contains(r#"id="nodes-heading""#) && a.body.contains("Signing keys"));
        assert!(!a.body.contains(" style="), "no inline styles under the CSP");
    }
}

#[tokio::test]
async fn a_quiet_hour_says_what_to_do() {
    let f = fixture().await;
    let a = f.get("/dashboard/", Some(&f.admin)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("No gateway requests in the last hour"), "{}", a.body);
    assert!(a.body.contains("0 allowed, 0 denied"), "{}", a.body);
}
