//! The token endpoint's answers to bad input, in process (`Router::oneshot` on the real issuer
//! router and an in-memory store): each gets Entra's status, `error` and AADSTS code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use axum::body::Body;
use axum::http::{header, Request};
use tokengate_core::encoding::b64;
use tokengate_core::errors::codes;

use crate::test_support::{body_text, directory, send, TestDirectory, API_URI};

const FORM: &str = "application/x-www-form-urlencoded";

/// Status, `error` and the AADSTS number of an answer (0 when there is none).
async fn post(
    dir: &TestDirectory,
    path: &str,
    content_type: &str,
    body: String,
) -> (u16, String, u32, serde_json::Value) {
    let request = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let response = send(crate::issuer::router(dir.issuer_state()), request).await;
    let status = response.status().as_u16();
    let json: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap_or_default();
    let code = json["error_codes"][0].as_u64().unwrap_or(0) as u32;
    (status, json["error"].as_str().unwrap_or("").to_owned(), code, json)
}

fn token_path(dir: &TestDirectory) -> String {
    format!("/{}/oauth2/v2.0/token", dir.tenant.id)
}

#[tokio::test]
async fn each_bad_request_gets_entras_answer() {
    let dir = directory().await;
    let path = token_path(&dir);
    let client = dir.client.app_id;
    let secret = &dir.secret;
    let scope = format!("{API_URI}/.default");
    let good = format!("grant_type=client_credentials&client_id={client}&client_secret={secret}&scope={scope}");
    let cases: Vec<(&str, String, &str, String, u16, &str, u32)> = vec![
        ("unknown tenant", "/nowhere.test/oauth2/v2.0/token".into(), FORM, good.clone(), 400, "invalid_request", codes::TENANT_NOT_FOUND),
        ("JSON body", path.clone(), "application/json", "{}".into(), 400, "invalid_request", codes::MALFORMED_REQUEST),
        ("no grant_type", path.clone(), FORM, format!("client_id={client}"), 400, "invalid_request", codes::MISSING_PARAMETER),
        ("password grant", path.clone(), FORM, "grant_type=password".into(), 400, "unsupported_grant_type", codes::UNSUPPORTED_GRANT),
        ("duplicate parameter", path.clone(), FORM, format!("{good}&scope={scope}"), 400, "invalid_request", codes::DUPLICATE_PARAMETER),
        ("resource on v2", path.clone(), FORM, format!("{good}&resource={API_URI}"), 400, "invalid_request", codes::RESOURCE_ON_V2),
        (
            "wrong secret",
            path.clone(),
            FORM,
            format!("grant_type=client_credentials&client_id={client}&client_secret=nope&scope={scope}"),
            401,
            "invalid_client",
            codes::INVALID_CLIENT_SECRET,
        ),
        (
            "no credential for client credentials",
            path.clone(),
            FORM,
            format!("grant_type=client_credentials&client_id={client}&scope={scope}"),
            401,
            "invalid_client",
            codes::NO_CLIENT_CREDENTIAL,
        ),
        (
            "secret and assertion",
            path.clone(),
            FORM,
            format!("{good}&client_assertion=x&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            400,
            "invalid_request",
            codes::TWO_CREDENTIALS,
        ),
        (
            "unknown public client",
            path.clone(),
            FORM,
            "grant_type=refresh_token&client_id=00000000-0000-0000-0000-000000000001&refresh_token=x".into(),
            400,
            "unauthorized_client",
            codes::APP_NOT_FOUND,
        ),
        (
            "on-behalf-of from a public client",
            path.clone(),
            FORM,
            format!(
                "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&requested_token_use=on_behalf_of&assertion=x&scope={scope}&client_id={}",
                dir.public_client.app_id
            ),
            401,
            "invalid_client",
            codes::NO_CLIENT_CREDENTIAL,
        ),
        (
            "unknown refresh token",
            path.clone(),
            FORM,
            format!("grant_type=refresh_token&client_id={}&refresh_token=nope", dir.public_client.app_id),
            400,
            "invalid_grant",
            codes::INVALID_GRANT,
        ),
        (
            "unknown authorization code",
            path.clone(),
            FORM,
            format!(
                "grant_type=authorization_code&client_id={}&code=nope&redirect_uri=http://localhost",
                dir.public_client.app_id
            ),
            400,
            "invalid_grant",
            codes::CODE_EXPIRED,
        ),
    ];
    for (name, path, content_type, body, status, error, code) in cases {
        let (got_status, got_error, got_code, json) = post(&dir, &path, content_type, body).await;
        assert_eq!((got_status, got_error.as_str(), got_code), (status, error, code), "{name}: {json}");
        assert!(json["trace_id"].is_string() && json["correlation_id"].is_string(), "{name}: {json}");
    }
}

#[tokio::test]
async fn client_credentials_answers_in_v2_and_v1_shapes() {
    let dir = directory().await;
    let (client, secret) = (dir.client.app_id, &dir.secret);
    let v2 =
        format!("grant_type=client_credentials&client_id={client}&client_secret={secret}&scope={API_URI}/.default");
    let (status, _, _, json) = post(&dir, &token_path(&dir), FORM, v2).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["token_type"], "Bearer");
    assert!(json["expires_in"].is_u64(), "v2 numbers are numbers: {json}");
    assert_eq!(json["scope"], format!("{API_URI}/.default"));

    // v1, with the secret in HTTP Basic (form-encoded inside base64).
    let request = Request::builder()
        .method("POST")
        .uri(format!("/{}/oauth2/token", dir.tenant.id))
        .header(header::CONTENT_TYPE, FORM)
        .header(header::AUTHORIZATION, format!("Basic {}", b64(format!("{client}:{secret}"))))
        .body(Body::from(format!("grant_type=client_credentials&resource={API_URI}")))
        .unwrap();
    let response = send(crate::issuer::router(dir.issuer_state()), request).await;
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
    assert!(json["expires_in"].is_string() && json["expires_on"].is_string(), "v1 numbers are strings: {json}");
    assert_eq!(
        json["resource"],
        dir.api.app_id.to_string(),
        "the token's audience: a v2 API is named by its client id"
    );
    assert!(json.get("scope").is_none(), "an app-only v1 answer names no scope: {json}");
}

#[tokio::test]
async fn userinfo_answers_with_rfc6750_challenges() {
    let dir = directory().await;
    let app_token = dir.app_token().await;
    let cases: Vec<(Vec<String>, u16, &str)> = vec![
        (vec![], 401, "Bearer realm=\"tokengate\""),
        (vec![format!("Bearer {app_token}"), format!("Bearer {app_token}")], 400, "error=\"invalid_request\""),
        (vec!["Bearer not-a-token".into()], 401, "error=\"invalid_token\""),
        // A live token of ours, but an API's (app-only): userinfo takes only its own.
        (vec![format!("Bearer {app_token}")], 401, "error=\"invalid_token\""),
    ];
    for (authorization, status, challenge) in cases {
        let mut request = Request::builder().uri("/oidc/userinfo");
        for value in &authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = send(crate::issuer::router(dir.issuer_state()), request.body(Body::empty()).unwrap()).await;
        assert_eq!(response.status().as_u16(), status, "{authorization:?}");
        let got = response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(got.contains(challenge), "{got} lacks {challenge}");
    }
}
