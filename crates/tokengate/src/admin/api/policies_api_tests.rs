//! Policy versions on the admin API, in process: publish under `If-Match` (428 without, 412
//! stale), unchanged documents write nothing, invalid ones list their problems, rollback
//! publishes an old document as a new version, diff names what changed, this node's gateway
//! runs each published version, and a simulation replays real gateway decisions.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use tokengate_core::audit_records::AuditRecordFilter;

use super::admin_api_tests::{fixture_with, Fixture};
use crate::test_support::{body_text, send, API_URI};

/// `audience`: v2 tokens carry the API's client id, not its App ID URI.
fn routes_for(audience: &str, role: &str) -> String {
    format!(
        r#"
[[route]]
name = "orders"
path_prefix = "/orders/"
upstream = "echo"
[route.require]
issuers = ["tokengate"]
audiences = ["{audience}", "{API_URI}"]
roles_any = ["{role}"]
"#
    )
}

fn routes(role: &str) -> String {
    routes_for(API_URI, role)
}

fn policy_for(audience: &str, role: &str) -> String {
    format!("[[issuer]]\nname = \"tokengate\"\nkind = \"builtin\"\n{}", routes_for(audience, role))
}

fn policy(role: &str) -> String {
    format!("[[issuer]]\nname = \"tokengate\"\nkind = \"builtin\"\n{}", routes(role))
}

/// A request with an optional `If-Match`; (status, body, ETag).
async fn call(
    f: &Fixture,
    method: Method,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut request =
        Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(v) = if_match {
        request = request.header(header::IF_MATCH, v);
    }
    let request = match body {
        Some(b) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = send(super::router(f.state.clone()), request).await;
    let status = response.status();
    let etag = response.headers().get(header::ETAG).map(|v| v.to_str().unwrap().to_owned());
    let text = body_text(response).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), etag)
}

async fn publish(f: &Fixture, if_match: Option<&str>, toml: &str, message: &str) -> (StatusCode, Value) {
    let body = json!({"toml": toml, "message": message});
    let (status, body, _) = call(f, Method::POST, "/admin/v1/policies", &f.admin, if_match, Some(body)).await;
    (status, body)
}

fn running(f: &Fixture) -> String {
    f.state.gateway.as_ref().unwrap().policy.load().version.to_string()
}

#[tokio::test]
async fn publish_under_if_match_rollback_and_diff() {
    let f = fixture_with(|dir| Some(dir.gateway(&routes("Orders.Read.All")))).await;
    assert!(running(&f).starts_with("sha256:"), "not a published version yet");

    let (status, problem) = publish(&f, None, &policy("Orders.Read.All"), "first").await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("If-Match"), "{problem}");

    let (status, v1) = publish(&f, Some("*"), &policy("Orders.Read.All"), "first").await;
    assert_eq!(status, StatusCode::CREATED, "{v1}");
    assert_eq!((v1["version"]["version"].as_i64(), v1["changed"].as_bool()), (Some(1), Some(true)));
    assert_eq!(running(&f), "v1", "this node runs what it published");

    let (status, shown, etag) = call(&f, Method::GET, "/admin/v1/policies/published", &f.auditor, None, None).await;
    assert_eq!((status, etag.as_deref()), (StatusCode::OK, Some("\"v1\"")), "{shown}");
    assert!(shown["source"].as_str().unwrap().contains("Orders.Read.All"), "the TOML text as written");
    assert_eq!(shown["document"]["route"][0]["name"], "orders");

    let (status, v2) = publish(&f, Some("\"v1\""), &policy("Orders.Write.All"), "writers only").await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    let lines: Vec<&str> = v2["changes"].as_array().unwrap().iter().map(|c| c["line"].as_str().unwrap()).collect();
    assert_eq!(lines, vec!["~ route orders: require.roles_any: [\"Orders.Read.All\"] -> [\"Orders.Write.All\"]"]);
    assert_eq!(running(&f), "v2");

    // Someone else published first: the stale If-Match is refused and nothing changes.
    let (status, problem) = publish(&f, Some("\"v1\""), &policy("Other.Role"), "stale").await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("version 2"), "{problem}");

    // The same document again writes nothing.
    let (status, same) = publish(&f, Some("\"v2\""), &policy("Orders.Write.All"), "again").await;
    assert_eq!(
        (status, same["changed"].as_bool(), same["version"]["version"].as_i64()),
        (StatusCode::OK, Some(false), Some(2))
    );

    // Every problem of an invalid policy, nothing published.
    let invalid = "[[route]]\nname = \"x\"\npath_prefix = \"/x/\"\nupstream = \"echo\"\n[route.require]\nissuers = [\"nobody\"]\naudiences = []\n";
    let (status, problem) = publish(&f, Some("*"), invalid, "broken").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("audience"), "{problem}");
    let (status, problem) = publish(&f, Some("*"), "[[route]]\nnme = 1\n", "typo").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("toml is not a gateway policy"), "{problem}");

    // An auditor reads history but publishes nothing.
    let (status, _) = {
        let body = json!({"toml": policy("X"), "message": "auditor"});
        let (s, b, _) = call(&f, Method::POST, "/admin/v1/policies", &f.auditor, Some("*"), Some(body)).await;
        (s, b)
    };
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Rollback: version 1's document, published as version 3.
    let rollback = json!({"to": 1, "message": "writers-only broke the dashboard"});
    let (status, v3, _) =
        call(&f, Method::POST, "/admin/v1/policies/rollback", &f.admin, Some("\"v1\""), Some(rollback.clone())).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "If-Match applies to rollbacks too: {v3}");
    let (status, v3, _) =
        call(&f, Method::POST, "/admin/v1/policies/rollback", &f.admin, Some("\"v2\""), Some(rollback)).await;
    assert_eq!(status, StatusCode::CREATED, "{v3}");
    assert_eq!((v3["version"]["version"].as_i64(), v3["version"]["rollback_of"].as_i64()), (Some(3), Some(1)));
    assert_eq!(v3["version"]["content_hash"], v1["version"]["content_hash"]);
    assert_eq!(running(&f), "v3");

    let (status, history, _) = call(&f, Method::GET, "/admin/v1/policies?limit=2", &f.auditor, None, None).await;
    assert_eq!(status, StatusCode::OK);
    let versions: Vec<i64> =
        history["items"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!((versions, history["published"].as_i64()), (vec![3, 2], Some(3)));
    assert_eq!(history["items"][0]["published"], true);
    let (_, rest, _) = call(&f, Method::GET, "/admin/v1/policies?limit=2&cursor=2", &f.auditor, None, None).await;
    assert_eq!(rest["items"][0]["version"], 1);

    let diff = json!({"from": 1, "to": 2});
    let (status, changes, _) = call(&f, Method::POST, "/admin/v1/policies/diff", &f.auditor, None, Some(diff)).await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    assert_eq!(changes["changes"].as_array().unwrap().len(), 1, "{changes}");
    let draft = json!({"toml": policy("Orders.Read.All")});
    let (_, against_draft, _) = call(&f, Method::POST, "/admin/v1/policies/diff", &f.auditor, None, Some(draft)).await;
    assert_eq!((against_draft["from"].as_i64(), against_draft["changes"].as_array().unwrap().len()), (Some(3), 0));

    // Each publish is audited with its author.
    let filter =
        AuditRecordFilter { action: Some("policy.published".into()), limit: 10, ..AuditRecordFilter::default() };
    let audited = f.dir.store.audit_records(&filter).await.unwrap();
    assert_eq!(audited.len(), 3, "three versions written");
    assert!(audited.iter().all(|r| r.event.detail["actor"].as_str().is_some_and(|a| !a.is_empty() && a != "cli")));
    assert_eq!(audited[2].event.detail["rollback_of"], 1);
}

#[tokio::test]
async fn a_simulation_replays_real_decisions_against_a_draft() {
    let f = fixture_with(|dir| Some(dir.gateway(&routes_for(&dir.api.app_id.to_string(), "Orders.Read.All")))).await;
    let api = f.dir.api.app_id.to_string();
    let gateway = f.state.gateway.clone().unwrap();
    let token = f.dir.app_token().await;
    for path in ["/orders/1", "/orders/2", "/nowhere"] {
        let request = Request::builder()
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        send(crate::gateway::router(gateway.clone()), request).await;
    }
    // The audit writer commits in the background: wait (bounded) for the three decisions.
    let filter =
        AuditRecordFilter { action: Some("gateway.request".into()), limit: 10, ..AuditRecordFilter::default() };
    for _ in 0..200 {
        if f.dir.store.audit_records(&filter).await.unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let recorded = f.dir.store.audit_records(&filter).await.unwrap();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[0].event.outcome, tokengate_core::audit::Outcome::Allowed, "{:?}", recorded[0].event);
    assert!(recorded[0].event.detail["token"]["roles"][0] == "Orders.Read.All", "{:?}", recorded[0].event.detail);

    let stricter = json!({"toml": policy_for(&api, "Orders.Write.All"), "last": 100});
    let (status, sim, _) =
        call(&f, Method::POST, "/admin/v1/policies/simulate", &f.auditor, None, Some(stricter)).await;
    assert_eq!(status, StatusCode::OK, "{sim}");
    assert_eq!(
        (sim["replayed"].as_u64(), sim["newly_denied"].as_u64(), sim["newly_allowed"].as_u64()),
        (Some(3), Some(2), Some(0)),
        "{sim}"
    );
    assert_eq!(sim["clients"], json!([f.dir.client.app_id.to_string()]));
    assert_eq!(sim["flips"][0]["simulated"]["reason"], "insufficient_scope");
    assert_eq!(sim["flips"][0]["recorded"]["route"], "orders");

    let same = json!({"toml": policy_for(&api, "Orders.Read.All")});
    let (_, unchanged, _) = call(&f, Method::POST, "/admin/v1/policies/simulate", &f.auditor, None, Some(same)).await;
    assert_eq!(unchanged["flips"], json!([]), "{unchanged}");

    let (status, problem, _) =
        call(&f, Method::POST, "/admin/v1/policies/simulate", &f.auditor, None, Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
}
