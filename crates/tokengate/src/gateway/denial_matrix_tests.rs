//! Denials say why: each way a token is refused gets its own RFC 6750 `error_description`, in
//! the challenge and in the JSON body beside the reason code, header-safe and without the token;
//! with `log_denials` one console line names route, reason and expected-vs-got.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use tokengate_core::encoding::b64url;

use super::rejection_matrix_tests::{answer, get, routes};
use super::{router, GatewayState};
use crate::test_support::{body_text, directory, send, TestDirectory};

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&tokengate_core::encoding::b64url_decode(payload).unwrap()).unwrap()
}

fn resign(dir: &TestDirectory, claims: &Value) -> String {
    dir.ring.current().active.sign_jwt(claims, false).unwrap()
}

fn with_claim(dir: &TestDirectory, token: &str, name: &str, value: Value) -> String {
    let mut claims = claims_of(token);
    match value {
        Value::Null => {
            claims.as_object_mut().unwrap().remove(name);
        }
        v => claims[name] = v,
    }
    resign(dir, &claims)
}

/// The token's payload and signature under another header (fails before the signature check).
fn with_header(token: &str, header: Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", b64url(header.to_string()), parts[1], parts[2])
}

fn call(path: &str, token: &str) -> Request<Body> {
    get(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()
}

/// The `error_description` of a challenge.
fn description(challenge: &str) -> &str {
    let start = challenge.find("error_description=\"").unwrap_or_else(|| panic!("no description: {challenge}"));
    let rest = &challenge[start + "error_description=\"".len()..];
    &rest[..rest.find('"').unwrap()]
}

/// A refusal and the words it must carry.
struct Case {
    name: &'static str,
    request: Request<Body>,
    status: StatusCode,
    reason: &'static str,
    says: String,
}

#[tokio::test]
async fn every_refused_token_is_told_why() {
    let dir = directory().await;
    let api_id = dir.api.app_id.to_string();
    let gw = dir.gateway(&routes(&api_id));
    let token = dir.app_token().await;
    let now = crate::state::now();
    let kid = dir.ring.current().active.kid.clone();
    let tid = dir.tenant.id.to_string();
    let tampered = {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut claims = claims_of(&token);
        claims["roles"] = json!(["Orders.Write.All"]);
        parts[1] = b64url(claims.to_string());
        parts.join(".")
    };
    let case =
        |name, request, status, reason, says: &str| Case { name, request, status, reason, says: says.to_owned() };

    let cases = vec![
        case(
            "malformed token",
            call("/orders/1", "abc.def.ghi"),
            StatusCode::UNAUTHORIZED,
            "malformed_token",
            "The bearer token is not a signed JWT",
        ),
        case(
            "expired ten minutes ago",
            call("/orders/1", &with_claim(&dir, &token, "exp", json!(now - 600))),
            StatusCode::UNAUTHORIZED,
            "expired",
            "The token expired 10 min ago (exp ",
        ),
        case(
            "not yet valid",
            call("/orders/1", &with_claim(&dir, &token, "nbf", json!(now + 900))),
            StatusCode::UNAUTHORIZED,
            "not_yet_valid",
            "The token is not valid before ",
        ),
        case(
            "issued in the future",
            call("/orders/1", &with_claim(&dir, &token, "iat", json!(now + 7200))),
            StatusCode::UNAUTHORIZED,
            "issued_in_future",
            "The token was issued 2 h in the future",
        ),
        case(
            "unknown issuer",
            call("/orders/1", &with_claim(&dir, &token, "iss", json!(format!("https://evil.test/{tid}/v2.0")))),
            StatusCode::UNAUTHORIZED,
            "untrusted_issuer",
            &format!("Issuer https://evil.test/{tid}/v2.0 is not trusted here"),
        ),
        case(
            "bad signature",
            call("/orders/1", &tampered),
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            &format!("The token signature does not verify with key {kid}"),
        ),
        case(
            "unknown kid",
            call("/orders/1", &with_header(&token, json!({"typ": "JWT", "alg": "RS256", "kid": "retired-key"}))),
            StatusCode::UNAUTHORIZED,
            "unknown_kid",
            "No signing key retired-key at issuer tokengate",
        ),
        case(
            "algorithm not allowed",
            call("/orders/1", &with_header(&token, json!({"typ": "JWT", "alg": "HS256", "kid": kid}))),
            StatusCode::UNAUTHORIZED,
            "algorithm_not_allowed",
            "Signing algorithm HS256 is not allowed for tokengate",
        ),
        case(
            "a claim of the wrong type",
            call("/orders/1", &with_claim(&dir, &token, "tid", json!(42))),
            StatusCode::UNAUTHORIZED,
            "bad_claim",
            "Claim tid is missing or has the wrong type",
        ),
        case(
            "an ID token",
            call("/orders/1", &with_claim(&dir, &token, "azp", Value::Null)),
            StatusCode::UNAUTHORIZED,
            "id_token",
            "This is an ID token",
        ),
        case(
            "wrong audience",
            call("/other/1", &token),
            StatusCode::UNAUTHORIZED,
            "audience_mismatch",
            &format!("Audience {api_id} is not accepted here; expected api://other"),
        ),
        case(
            "tenant not allowed on the route",
            call("/pinned/1", &token),
            StatusCode::UNAUTHORIZED,
            "tenant_not_allowed",
            &format!("Tenant {tid} is not allowed on this route"),
        ),
        case(
            "version not accepted",
            call("/v1/1", &token),
            StatusCode::UNAUTHORIZED,
            "version_mismatch",
            "Token version 2.0 is not accepted here; expected 1.0",
        ),
        case(
            "missing role",
            call("/write/1", &token),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "Missing permission: needs one of Orders.Write.All (a delegated scope or an app role)",
        ),
        case(
            "no permission at all",
            call("/any/1", &with_claim(&dir, &token, "roles", Value::Null)),
            StatusCode::FORBIDDEN,
            "token_without_permissions",
            "The token carries no scope or app role",
        ),
        case(
            "two Authorization headers",
            get("/orders/1")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "Send exactly one bearer token",
        ),
    ];
    for Case { name, request, status, reason, says } in cases {
        let (got_status, challenge, got_reason) = answer(&gw, request).await;
        assert_eq!((got_status, got_reason.as_str()), (status, reason), "{name}");
        let challenge = challenge.unwrap_or_else(|| panic!("{name}: no challenge"));
        let described = description(&challenge);
        assert!(described.starts_with(&says), "{name}: {described:?} does not start with {says:?}");
        assert!(described.len() <= 240 && !described.contains(&token), "{name}: {described}");
    }
}

#[tokio::test]
async fn the_body_carries_the_description_and_the_reason_code() {
    let dir = directory().await;
    let gw = dir.gateway(&routes(&dir.api.app_id.to_string()));
    let response = send(router(gw.clone()), call("/other/1", &dir.app_token().await)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_str(&body_text(response).await).unwrap();
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["reason"], "audience_mismatch");
    assert!(body["error_description"].as_str().unwrap().starts_with("Audience "), "{body}");

    // RFC 6750 §3.1: no credentials, no error in the challenge; the body still says what to send.
    let response = send(router(gw.clone()), get("/orders/1").body(Body::empty()).unwrap()).await;
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer realm=\"tokengate\"");
    let body: Value = serde_json::from_str(&body_text(response).await).unwrap();
    assert_eq!(body["reason"], "no_token");
    assert!(body["error_description"].as_str().unwrap().contains("Authorization: Bearer"), "{body}");
}

#[tokio::test]
async fn a_revoked_token_is_told_so() {
    let dir = directory().await;
    let gw = dir.gateway(&routes(&dir.api.app_id.to_string()));
    let token = dir.app_token().await;
    let uti = claims_of(&token)["uti"].as_str().unwrap().to_owned();
    let revoked = tokengate_core::revocations::NewRevocation::at(
        tokengate_core::revocations::RevocationTarget::Token { token_id: uti },
        "test",
        None,
        0,
    );
    let row = tokengate_core::revocations::Revocation { version: 1, revocation: revoked };
    gw.auth.revocations.apply(&[row], 1, crate::state::now_ms());
    let (status, challenge, reason) = answer(&gw, call("/orders/1", &token)).await;
    assert_eq!((status, reason.as_str()), (StatusCode::UNAUTHORIZED, "revoked"));
    assert_eq!(description(&challenge.unwrap()), "The token has been revoked; get a new one");
}

/// Captures what the gateway logs while a test runs (this thread only).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logging_gateway(gw: &Arc<GatewayState>, log_denials: bool) -> Arc<GatewayState> {
    Arc::new(GatewayState {
        policy: arc_swap::ArcSwap::from(gw.policy.load_full()),
        policy_path: None,
        policy_base_dir: std::path::PathBuf::from("."),
        builtin_keys: gw.builtin_keys.clone(),
        auth: crate::authentication::Authenticator::new(
            10,
            gw.auth.revocations.clone(),
            gw.metrics.key_refetches.clone(),
        ),
        audit: gw.audit.clone(),
        metrics: gw.metrics.clone(),
        scheme: "http",
        log_denials,
        decision_records: gw.decision_records,
    })
}

#[tokio::test]
async fn with_log_denials_each_denied_request_gets_one_console_line() {
    let dir = directory().await;
    let quiet = dir.gateway(&routes(&dir.api.app_id.to_string()));
    let token = dir.app_token().await;
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let gw = logging_gateway(&quiet, true);
    send(router(gw.clone()), call("/other/7?page=secret-query", &token)).await;
    send(router(gw.clone()), call("/orders/1", &token)).await;
    send(router(logging_gateway(&quiet, false)), call("/other/8", &token)).await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("denied")).collect();
    assert_eq!(lines.len(), 1, "one line for the one denial of the logging gateway: {text}");
    let line = lines[0];
    assert!(line.contains(" INFO "), "{line}");
    assert!(
        line.contains(&format!(
            "denied GET /other/7 -> 401 route=other-api reason=audience_mismatch: aud expected api://other got {}",
            dir.api.app_id
        )),
        "{line}"
    );
    assert!(!text.contains(&token) && !text.contains("secret-query"), "never the token nor the query: {text}");
}
