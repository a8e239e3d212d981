//! The gateway's rejection matrix, in process: each way a request can be refused gets its
//! status, its `WWW-Authenticate` challenge and its reason code (read back from the metrics,
//! which the one exit writes together with the audit record). Whole flows across processes stay
//! in the integration tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use super::{router, GatewayState};
use crate::test_support::{body_text, directory, send, API_URI};

/// Routes for the API whose tokens carry `audience` (a v2 token names the API by client id).
pub(super) fn routes(audience: &str) -> String {
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
audiences = ["{audience}", "{API_URI}"]
roles_any = ["Orders.Read.All"]

[[route]]
name = "orders-write"
path_prefix = "/write/"
upstream = "echo"
[route.require]
issuers = ["tokengate"]
audiences = ["{audience}", "{API_URI}"]
roles_any = ["Orders.Write.All"]

[[route]]
name = "other-api"
path_prefix = "/other/"
upstream = "echo"
[route.require]
issuers = ["tokengate"]
audiences = ["api://other"]

[[route]]
name = "pinned-tenant"
path_prefix = "/pinned/"
upstream = "echo"
[route.require]
issuers = ["tokengate"]
audiences = ["{audience}", "{API_URI}"]
tenants = ["00000000-0000-0000-0000-00000000beef"]

[[route]]
name = "v1-only"
path_prefix = "/v1/"
upstream = "echo"
[route.require]
issuers = ["tokengate"]
audiences = ["{audience}", "{API_URI}"]
versions = ["1.0"]

[[route]]
name = "any-permission"
path_prefix = "/any/"
upstream = "echo"
[route.require]
issuers = ["tokengate"]
audiences = ["{audience}", "{API_URI}"]

[[route]]
name = "down"
path_prefix = "/down/"
upstream = "http://127.0.0.1:1"
public = true

[[route]]
name = "no-websocket"
path_prefix = "/nows/"
upstream = "echo"
public = true
websocket = false
"#
    )
}

pub(super) fn get(path: &str) -> axum::http::request::Builder {
    Request::builder().uri(path).header(header::HOST, "gateway.test")
}

/// Status, challenge (if any) and the reason code the one exit recorded for this request.
pub(super) async fn answer(gw: &Arc<GatewayState>, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let before = gw.metrics.render();
    let response = send(router(gw.clone()), request).await;
    let status = response.status();
    let challenge = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    let after = gw.metrics.render();
    let reason = new_reason(&before, &after);
    (status, challenge, reason)
}

/// The reason label of the request counter that changed between two renders.
fn new_reason(before: &str, after: &str) -> String {
    let line = after
        .lines()
        .filter(|l| l.starts_with("tokengate_gateway_requests_total{"))
        .find(|l| !before.lines().any(|b| b == *l))
        .unwrap_or_else(|| panic!("no request counter changed:\n{after}"));
    let start = line.find("reason=\"").unwrap() + "reason=\"".len();
    line[start..].split('"').next().unwrap().to_owned()
}

/// A named request and what it must get: status, a part of the challenge, the reason code.
type Case = (&'static str, Request<Body>, StatusCode, Option<&'static str>, &'static str);

#[tokio::test]
async fn every_refusal_gets_its_status_challenge_and_reason() {
    let dir = directory().await;
    let gw = dir.gateway(&routes(&dir.api.app_id.to_string()));
    let token = dir.app_token().await;
    let bearer = format!("Bearer {token}");

    let cases: Vec<Case> = vec![
        ("no route", get("/nowhere").body(Body::empty()).unwrap(), StatusCode::NOT_FOUND, None, "no_route"),
        (
            "dot segment with parameters",
            get("/public/..;/orders/x").body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
            None,
            "path_dot_segment_parameters",
        ),
        (
            "two Host headers",
            Request::builder()
                .uri("/public/x")
                .header(header::HOST, "a.test")
                .header(header::HOST, "b.test")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            None,
            "host_duplicate",
        ),
        (
            "h2c upgrade",
            get("/public/x")
                .header(header::UPGRADE, "h2c")
                .header(header::CONNECTION, "upgrade")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            None,
            "upgrade_refused",
        ),
        (
            "no token",
            get("/orders/1").body(Body::empty()).unwrap(),
            StatusCode::UNAUTHORIZED,
            Some("Bearer realm=\"tokengate\""),
            "no_token",
        ),
        (
            "two Authorization headers",
            get("/orders/1")
                .header(header::AUTHORIZATION, &bearer)
                .header(header::AUTHORIZATION, &bearer)
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            Some("error=\"invalid_request\""),
            "malformed_request",
        ),
        (
            "not a JWT",
            get("/orders/1").header(header::AUTHORIZATION, "Bearer abc.def.ghi").body(Body::empty()).unwrap(),
            StatusCode::UNAUTHORIZED,
            Some("error=\"invalid_token\""),
            "malformed_token",
        ),
        (
            "oversized token",
            get("/orders/1")
                .header(header::AUTHORIZATION, format!("Bearer {}", "a".repeat(20_000)))
                .body(Body::empty())
                .unwrap(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            None,
            "token_too_large",
        ),
        (
            "another API's route",
            get("/other/1").header(header::AUTHORIZATION, &bearer).body(Body::empty()).unwrap(),
            StatusCode::UNAUTHORIZED,
            Some("error=\"invalid_token\""),
            "audience_mismatch",
        ),
        (
            "missing role",
            get("/write/1").header(header::AUTHORIZATION, &bearer).body(Body::empty()).unwrap(),
            StatusCode::FORBIDDEN,
            Some("error=\"insufficient_scope\""),
            "insufficient_scope",
        ),
        (
            "token in the form body too",
            get("/orders/1")
                .method("POST")
                .header(header::AUTHORIZATION, &bearer)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("access_token={token}")))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            Some("error=\"invalid_request\""),
            "token_in_body_and_header",
        ),
        (
            "upstream refuses connections",
            get("/down/1").body(Body::empty()).unwrap(),
            StatusCode::BAD_GATEWAY,
            None,
            "upstream_unavailable",
        ),
        (
            "WebSocket on a route without it",
            get("/nows/1")
                .header(header::UPGRADE, "websocket")
                .header(header::CONNECTION, "upgrade")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .header("sec-websocket-version", "13")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            None,
            "websocket_not_allowed",
        ),
    ];
    for (name, request, status, challenge, reason) in cases {
        let (got_status, got_challenge, got_reason) = answer(&gw, request).await;
        assert_eq!(got_status, status, "{name}");
        match challenge {
            Some(part) => assert!(
                got_challenge.as_deref().is_some_and(|c| c.contains(part)),
                "{name}: challenge {got_challenge:?} lacks {part}"
            ),
            None if status == StatusCode::UNAUTHORIZED => panic!("{name}: a 401 always carries a challenge"),
            None => {}
        }
        assert_eq!(got_reason, reason, "{name}");
    }
}

#[tokio::test]
async fn an_allowed_request_reaches_the_upstream_as_the_verified_caller() {
    let dir = directory().await;
    let gw = dir.gateway(&routes(&dir.api.app_id.to_string()));
    let token = dir.app_token().await;
    let request = get("/orders/1")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("x-tokengate-oid", "forged")
        .body(Body::empty())
        .unwrap();
    let response = send(router(gw.clone()), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let echoed = body_text(response).await;
    assert!(!echoed.contains("forged"), "client-sent identity headers are stripped: {echoed}");
    assert!(!echoed.to_ascii_lowercase().contains("authorization"), "the token is not forwarded: {echoed}");
    assert!(echoed.contains(&dir.client.app_id.to_string()), "the caller's azp goes upstream: {echoed}");
    assert!(gw.metrics.render().contains("outcome=\"allowed\""));
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_the_next_request_although_its_verification_is_cached() {
    let dir = directory().await;
    let gw = dir.gateway(&routes(&dir.api.app_id.to_string()));
    let token = dir.app_token().await;
    let call =
        || get("/orders/1").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    assert_eq!(answer(&gw, call()).await.0, StatusCode::OK);
    let verified = gw.auth.cache.len();
    assert_eq!(verified, 1, "the verification is cached");
    let uti = {
        let payload = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&tokengate_core::encoding::b64url_decode(payload).unwrap()).unwrap();
        claims["uti"].as_str().unwrap().to_owned()
    };
    let revoked = tokengate_core::revocations::NewRevocation::at(
        tokengate_core::revocations::RevocationTarget::Token { token_id: uti },
        "test",
        None,
        0,
    );
    let row = tokengate_core::revocations::Revocation { version: 1, revocation: revoked };
    gw.auth.revocations.apply(&[row], 1, crate::state::now_ms());
    let (status, challenge, reason) = answer(&gw, call()).await;
    assert_eq!((status, reason.as_str()), (StatusCode::UNAUTHORIZED, "revoked"));
    assert!(challenge.unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn the_decision_names_the_policy_version_and_route() {
    let dir = directory().await;
    let gw = dir.gateway(&routes(&dir.api.app_id.to_string()));
    let version = gw.policy.load().version.clone();
    assert!(version.starts_with("sha256:") && version.len() == "sha256:".len() + 16, "{version}");
    let same = dir.gateway(&routes(&dir.api.app_id.to_string()));
    assert_eq!(same.policy.load().version, version, "the same document is the same version on every node");
    let other = dir.gateway(&routes(&dir.api.app_id.to_string()).replace("Orders.Write.All", "Orders.Admin"));
    assert_ne!(other.policy.load().version, version, "a changed document is a new version");

    send(router(gw.clone()), get("/public/x").body(Body::empty()).unwrap()).await;
    // The audit writer commits in the background: look for the record a bounded number of times.
    let mut record = None;
    for _ in 0..200 {
        let events = dir
            .store
            .audit_events(&tokengate_core::store::AuditQuery { limit: 100, ..Default::default() })
            .await
            .unwrap();
        record = events.into_iter().find(|e| e.action == "gateway.request");
        if record.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let record = record.expect("the gateway request was audited");
    assert_eq!(record.detail["policy_version"], serde_json::json!(&*version));
    assert_eq!(record.detail["route"], "public");
    assert_eq!(record.client_ip.as_deref(), Some("0.0.0.0"), "no socket: the one fallback address");
}

/// Fail closed: a node that has not read the revocation feed in full since it started, or not
/// within `max_revocation_staleness_seconds`, refuses protected routes with 503 + `Retry-After`
/// (a valid token included) and is not ready; public routes are unaffected. A successful read
/// serves again.
#[tokio::test]
async fn protected_routes_wait_for_a_fresh_revocation_feed() {
    let dir = directory().await;
    let gw = dir.gateway(&routes(&dir.api.app_id.to_string()));
    let token = dir.app_token().await;
    let call =
        || get("/orders/1").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    assert_eq!(answer(&gw, call()).await.0, StatusCode::OK, "synced just now");
    assert!(gw.ready(&gw.auth.revocations));

    // Last read 31 s ago, with the default bound of 30 s.
    let now = crate::state::now_ms();
    gw.auth.revocations.resync(&[], 0, now - 31_000);
    let response = send(router(gw.clone()), call()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(answer(&gw, call()).await.2, "revocations_stale");
    assert!(!gw.ready(&gw.auth.revocations));
    let public = get("/public/x").body(Body::empty()).unwrap();
    assert_eq!(answer(&gw, public).await.0, StatusCode::OK, "public routes need no revocation data");

    // Never synced at all (a node that just started and cannot reach its store).
    let unsynced = {
        let fresh = dir.gateway(&routes(&dir.api.app_id.to_string()));
        let never = Arc::new(tokengate_core::access::revocation::RevocationSet::default());
        Arc::new(GatewayState {
            policy: arc_swap::ArcSwap::from(fresh.policy.load_full()),
            policy_path: None,
            policy_base_dir: std::path::PathBuf::from("."),
            builtin_keys: fresh.builtin_keys.clone(),
            auth: crate::authentication::Authenticator::new(10, never, fresh.metrics.key_refetches.clone()),
            audit: fresh.audit.clone(),
            metrics: fresh.metrics.clone(),
            scheme: "http",
            log_denials: false,
            decision_records: crate::gateway::gateway_state::DecisionRecords::All,
        })
    };
    assert_eq!(answer(&unsynced, call()).await.0, StatusCode::SERVICE_UNAVAILABLE, "before the first full read");

    gw.auth.revocations.apply(&[], 0, crate::state::now_ms());
    assert_eq!(answer(&gw, call()).await.0, StatusCode::OK, "a successful read serves again");
}
