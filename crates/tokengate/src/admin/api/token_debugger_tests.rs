//! The token debugger in process: an auditor explains a valid, a foreign, an expired and a revoked
//! token against a gateway's routes; garbage is a problem; a node without a gateway still decodes;
//! and the pasted token never reaches the audit log.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use tokengate_core::encoding::b64url_decode;
use tokengate_core::revocations::RevocationTarget;
use tokengate_core::store::AuditQuery;

use super::admin_api_tests::{call, fixture_with, Fixture};
use crate::gateway::GatewayState;
use crate::state::{now, now_ms};
use crate::test_support::{send, TestDirectory, API_URI};

const DEBUG: &str = "/admin/v1/debug/token";

fn routes(dir: &TestDirectory) -> String {
    let app_id = dir.api.app_id;
    format!(
        r#"
[[route]]
name = "public"
path_prefix = "/public/"
upstream = "echo"
public = true

[[route]]
name = "orders"
path_prefix = "/orders/"
upstream = "echo"
[route.require]
issuers = ["tokengate"]
audiences = ["{app_id}", "{API_URI}"]
roles_any = ["Orders.Read.All"]

[[route]]
name = "orders-admin"
path_prefix = "/orders-admin/"
upstream = "echo"
[route.require]
issuers = ["tokengate"]
audiences = ["{app_id}", "{API_URI}"]
roles_any = ["Orders.Admin"]
"#
    )
}

async fn with_gateway() -> Fixture {
    fixture_with(|dir| Some(dir.gateway(&routes(dir)))).await
}

fn gateway(f: &Fixture) -> Arc<GatewayState> {
    f.state.gateway.clone().unwrap()
}

async fn debug(f: &Fixture, body: Value) -> (StatusCode, Value) {
    let (status, answer, _) = call(f, Method::POST, DEBUG, Some(&f.auditor), Some(body)).await;
    (status, answer)
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(&b64url_decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn route<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["routes"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()
}

/// The Orders client's token, re-signed by the issuer's active key with `change` applied.
fn resigned(f: &Fixture, token: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut claims = claims_of(token);
    change(&mut claims);
    f.dir.ring.current().active.sign_jwt(&claims, false).unwrap()
}

#[tokio::test]
async fn a_valid_token_passes_its_route_and_fails_a_role_it_lacks() {
    let f = with_gateway().await;
    let token = f.dir.app_token().await;
    let (status, answer) = debug(&f, json!({"token": token})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["header"]["alg"], "RS256");
    assert_eq!(answer["claims"]["roles"], json!(["Orders.Read.All"]));
    assert!(answer["claim_meanings"]["uti"].as_str().unwrap().contains("revocation"), "{answer}");
    assert!(answer["claim_meanings"]["aud"].is_string());
    assert_eq!(answer["verdict"], json!({"verified": true, "result": "verified", "issuer": "tokengate"}));
    assert_eq!(answer["revocation"]["revoked"], false);

    assert_eq!(route(&answer, "public")["passes"], true);
    assert_eq!(route(&answer, "orders"), &json!({"name": "orders", "public": false, "passes": true, "failing": []}));
    let admin = route(&answer, "orders-admin");
    assert_eq!(admin["passes"], false);
    assert_eq!(admin["failing"].as_array().unwrap().len(), 1, "{admin}");
    assert_eq!(admin["failing"][0]["requirement"], "scope_or_role");
    assert_eq!(admin["failing"][0]["expected"], "any of: Orders.Admin");

    // Narrowed to one route, by name or by the request the gateway would route.
    let (_, named) = debug(&f, json!({"token": token, "route": "orders-admin"})).await;
    assert_eq!(named["routes"].as_array().unwrap().len(), 1);
    let (_, matched) = debug(&f, json!({"token": token, "method": "POST", "path": "/orders/42"})).await;
    assert_eq!(matched["routes"][0]["name"], "orders");
    let (status, _) = debug(&f, json!({"token": token, "route": "nope"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = debug(&f, json!({"token": token, "path": "/nowhere"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_or_foreign_token_names_the_reason_and_still_shows_its_claims() {
    let f = with_gateway().await;
    let token = f.dir.app_token().await;
    let expired = resigned(&f, &token, |c| {
        c["iat"] = json!(now() - 7200);
        c["nbf"] = json!(now() - 7200);
        c["exp"] = json!(now() - 3600);
    });
    let (status, answer) = debug(&f, json!({"token": expired})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (answer["verdict"]["verified"].as_bool(), answer["verdict"]["result"].as_str()),
        (Some(false), Some("expired"))
    );
    assert_eq!(answer["claims"]["exp"], json!(now() - 3600), "claims of a refused token are shown");
    assert!(answer["revocation"].is_null());
    assert_eq!(
        route(&answer, "orders")["failing"][0],
        json!({"requirement": "verification", "expected": "a token the gateway verifies", "got": "expired"})
    );
    assert_eq!(route(&answer, "public")["passes"], true);

    // The admin API's own token: it verifies, but no route takes its audience.
    let (status, answer) = debug(&f, json!({"token": f.admin})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["verdict"]["result"], "audience_mismatch");
    assert_eq!(answer["verdict"]["verified"], false);
    assert!(answer["claims"]["aud"].is_string());
    let failing = route(&answer, "orders")["failing"].as_array().unwrap().clone();
    assert!(failing.iter().any(|r| r["requirement"] == "audience"), "{failing:?}");

    let tampered = format!("{}AAAA", &token[..token.len() - 4]);
    let (_, answer) = debug(&f, json!({"token": tampered})).await;
    assert_eq!(answer["verdict"]["result"], "bad_signature");
}

#[tokio::test]
async fn a_revoked_token_names_the_revocation_that_covers_it() {
    let f = with_gateway().await;
    let token = f.dir.app_token().await;
    let uti = claims_of(&token)["uti"].as_str().unwrap().to_owned();
    let (row, _) = crate::revoke::revoke(
        f.dir.store.as_ref(),
        RevocationTarget::Token { token_id: uti.clone() },
        "test-admin",
        Some("found in a log".into()),
    )
    .await
    .unwrap();
    gateway(&f).auth.revocations.apply(std::slice::from_ref(&row), row.version, now_ms());

    let (status, answer) = debug(&f, json!({"token": token})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let revocation = &answer["revocation"];
    assert_eq!((revocation["revoked"].as_bool(), revocation["by"].as_str()), (Some(true), Some("token")));
    assert_eq!(revocation["revocation"]["version"], row.version);
    assert_eq!(revocation["revocation"]["token_id"], uti.as_str());
    assert_eq!(revocation["revocation"]["actor"], "test-admin");
    assert_eq!(revocation["revocation"]["reason"], "found in a log");
    let orders = route(&answer, "orders");
    assert_eq!(orders["passes"], false);
    assert_eq!(orders["failing"][0]["requirement"], "not_revoked");
}

#[tokio::test]
async fn garbage_and_oversized_tokens_are_problems() {
    let f = with_gateway().await;
    for (token, what) in [
        ("garbage".to_owned(), "compact JWS"),
        ("a.b.c".to_owned(), "compact JWS"),
        ("x".repeat(16 * 1024 + 1), "16 KB"),
    ] {
        let (status, problem) = debug(&f, json!({"token": token})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        assert!(problem["detail"].as_str().unwrap().contains(what), "{problem}");
    }
    let (status, _) = debug(&f, json!({"route": "orders"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no token at all");
}

#[tokio::test]
async fn a_node_without_a_gateway_decodes_but_evaluates_no_route() {
    let f = fixture_with(|_| None).await;
    let token = f.dir.app_token().await;
    let (status, answer) = debug(&f, json!({"token": token})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["claims"]["roles"], json!(["Orders.Read.All"]));
    assert!(answer["claim_meanings"]["roles"].is_string());
    assert!(answer["verdict"].is_null() && answer["revocation"].is_null());
    let (status, problem) = debug(&f, json!({"token": token, "route": "orders"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(problem["detail"].as_str().unwrap().contains("runs no gateway"), "{problem}");
}

/// The pasted token is a credential: no audit record holds any part of it (the admin caller's
/// own token is not part of the debugged one).
#[tokio::test]
async fn the_debugged_token_never_reaches_the_audit_log() {
    let f = with_gateway().await;
    let token = f.dir.app_token().await;
    let expired = resigned(&f, &token, |c| c["exp"] = json!(now() - 3600));
    for t in [&token, &expired] {
        assert_eq!(debug(&f, json!({"token": t})).await.0, StatusCode::OK);
    }
    // A gateway request afterwards: once its record is written, so is anything written before.
    let request = Request::builder().uri("/public/x").header(header::HOST, "gateway.test").body(Body::empty()).unwrap();
    send(crate::gateway::router(gateway(&f)), request).await;
    let mut events = vec![];
    for _ in 0..200 {
        events = f.dir.store.audit_events(&AuditQuery { limit: 1000, ..Default::default() }).await.unwrap();
        if events.iter().any(|e| e.action == "gateway.request") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(events.iter().any(|e| e.action == "gateway.request"), "the audit writer flushed");
    let written = serde_json::to_string(&events).unwrap();
    for t in [&token, &expired] {
        for part in t.split('.') {
            assert!(!written.contains(part), "an audit record holds part of the debugged token");
        }
    }
}
