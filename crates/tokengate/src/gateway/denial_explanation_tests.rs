//! A route with `explain_denials` tells a refused caller every failing requirement in a problem
//! body; any other route keeps its short JSON body. Every answer names its decision, and that id
//! finds the audit record.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;
use tokengate_core::audit_records::AuditRecordFilter;

use super::router;
use crate::test_support::{body_text, directory, send, API_URI};

fn routes(audience: &str) -> String {
    format!(
        r#"
[[route]]
name = "explained"
path_prefix = "/explained/"
upstream = "echo"
explain_denials = true
[route.require]
issuers = ["tokengate"]
audiences = ["{audience}", "{API_URI}"]
tenants = ["00000000-0000-0000-0000-00000000beef"]
roles_any = ["Orders.Write.All"]

[[route]]
name = "terse"
path_prefix = "/terse/"
upstream = "echo"
[route.require]
issuers = ["tokengate"]
audiences = ["{audience}", "{API_URI}"]
roles_any = ["Orders.Write.All"]

[[route]]
name = "open"
path_prefix = "/open/"
upstream = "echo"
public = true
"#
    )
}

async fn call(
    gw: &std::sync::Arc<super::GatewayState>,
    path: &str,
    token: &str,
) -> (StatusCode, String, String, String) {
    let request = Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = send(router(gw.clone()), request).await;
    let status = response.status();
    let id = response.headers()[super::request_phases::DECISION_ID].to_str().unwrap().to_owned();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, id, content_type, body_text(response).await)
}

#[tokio::test]
async fn an_explaining_route_lists_every_failing_requirement_and_the_decision_id_finds_the_record() {
    let dir = directory().await;
    let gw = dir.gateway(&routes(&dir.api.app_id.to_string()));
    let token = dir.app_token().await;

    let (status, id, content_type, body) = call(&gw, "/explained/1", &token).await;
    // A tenant outside the route's list is an identity failure (401 invalid_token) — and the
    // missing role is named too.
    assert_eq!((status, content_type.as_str()), (StatusCode::UNAUTHORIZED, "application/problem+json"), "{body}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((problem["status"].as_u64(), problem["reason"].as_str()), (Some(401), Some("tenant_not_allowed")));
    assert_eq!(problem["error"], "invalid_token");
    assert_eq!(problem["decision_id"], id.as_str());
    assert_eq!(problem["route"], "explained");
    let failed = problem["failed_requirements"].as_array().unwrap();
    let names: Vec<&str> = failed.iter().map(|f| f["requirement"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["tenant", "scope_or_role"], "every failing requirement, not just the first: {problem}");
    assert_eq!(failed[0]["expected"], "an allowed tenant", "tenant allow-lists stay hidden");
    assert!(!body.contains("beef"), "{body}");
    assert_eq!(failed[1]["expected"], "any of: Orders.Write.All");
    assert!(failed[1]["got"].as_str().unwrap().contains("Orders.Read.All"), "{problem}");
    assert!(!body.contains(&token), "never the token");

    // A route without the option answers as before; every answer still names its decision.
    let (status, terse_id, content_type, body) = call(&gw, "/terse/1", &token).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::FORBIDDEN, "application/json"));
    assert!(!body.contains("failed_requirements"), "{body}");
    let (status, open_id, _, _) = call(&gw, "/open/1", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(id != terse_id && terse_id != open_id, "one id per decision");

    // The id finds exactly that decision's record (the writer commits in the background).
    let filter = AuditRecordFilter { id: Some(id.clone()), limit: 10, ..AuditRecordFilter::default() };
    let mut found = Vec::new();
    for _ in 0..200 {
        found = dir.store.audit_records(&filter).await.unwrap();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].event.detail["route"], "explained");
    assert_eq!(found[0].event.reason.as_deref(), Some("tenant_not_allowed"));
}
