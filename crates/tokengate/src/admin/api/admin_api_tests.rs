//! The admin API in process: the served OpenAPI document is the checked-in one and declares
//! security on every operation; every operation refuses a missing or foreign token (401) and a
//! token without an admin role (403); an auditor reads and cannot write; an admin writes.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use tokengate_core::directory::{AllowedMemberType, AppRegistration, SignInAudience};
use tokengate_core::directory_admin::{self as admin, NewApp};

use super::admin_api_state::{AdminApiState, ADMIN_ROLE, AUDITOR_ROLE};
use crate::authentication::BuiltinKeys;
use crate::gateway::GatewayState;
use crate::revocation_feed::FeedHandle;
use crate::state::now;
use crate::test_support::{body_text, directory, send, synced_revocations, TestDirectory, API_URI, BASE_URL};

const ADMIN_URI: &str = "api://tokengate-admin";

pub(crate) struct Fixture {
    pub dir: TestDirectory,
    pub state: Arc<AdminApiState>,
    pub admin: String,
    pub auditor: String,
    pub no_role: String,
    pub other_api: String,
}

/// An admin API on a node running no gateway.
async fn fixture() -> Fixture {
    fixture_with(|_| None).await
}

/// An admin API on a node whose gateway `gateway` builds from the test directory.
pub(crate) async fn fixture_with(gateway: impl FnOnce(&TestDirectory) -> Option<Arc<GatewayState>>) -> Fixture {
    let dir = directory().await;
    let s = dir.store.as_ref();
    let new = NewApp {
        display_name: "tokengate admin API".into(),
        identifier_uris: vec![ADMIN_URI.into()],
        sign_in_audience: SignInAudience::AzureADMyOrg,
        access_token_accepted_version: Some(2),
        is_public_client: false,
        redirect_uris: vec![],
        single_use_client_assertions: false,
        entra_compatible_refresh_tokens: false,
        group_membership_claims: false,
    };
    let (api, _) = admin::create_app(s, dir.tenant.id, new, now()).await.unwrap();
    for role in [ADMIN_ROLE, AUDITOR_ROLE, "Other.Role"] {
        admin::add_app_role(s, api.app_id, role, role, vec![AllowedMemberType::Application], now()).await.unwrap();
    }
    let granted = |role: &'static str| {
        let dir = &dir;
        let api = api.clone();
        async move {
            let client = dir.new_client(role).await;
            admin::grant_app_role(dir.store.as_ref(), dir.tenant.id, client.app_id, api.app_id, role, now())
                .await
                .unwrap();
            client
        }
    };
    let (admin_client, auditor_client, other_client) =
        (granted(ADMIN_ROLE).await, granted(AUDITOR_ROLE).await, granted("Other.Role").await);
    let api: AppRegistration = dir.store.app(api.app_id).await.unwrap().unwrap();
    let builtin = BuiltinKeys { ring: dir.ring.clone(), base_url: BASE_URL.to_owned() };
    let state = Arc::new(
        AdminApiState::new(
            dir.store.clone(),
            &builtin,
            &api,
            synced_revocations(),
            FeedHandle::new(),
            Some(dir.kek.clone()),
            gateway(&dir),
        )
        .unwrap(),
    );
    Fixture {
        admin: dir.app_token_for(&admin_client, ADMIN_URI).await,
        auditor: dir.app_token_for(&auditor_client, ADMIN_URI).await,
        no_role: dir.app_token_for(&other_client, ADMIN_URI).await,
        other_api: dir.app_token_for(&dir.client, API_URI).await,
        state,
        dir,
    }
}

pub(super) async fn call(
    f: &Fixture,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = send(super::router(f.state.clone()), request).await;
    let status = response.status();
    let challenge = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    let problem = status.is_client_error() || status.is_server_error();
    if problem {
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json", "{path}");
    }
    // An event stream (the audit tail) never ends: its status is the answer here.
    if response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v == "text/event-stream") {
        return (status, Value::Null, challenge);
    }
    let text = body_text(response).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), challenge)
}

/// Every operation of the document, as (method, path with placeholders filled).
fn operations() -> Vec<(Method, String)> {
    let doc: Value = serde_json::from_str(&super::openapi_json()).unwrap();
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let path = [
                "{tenant_id}",
                "{app_id}",
                "{key_id}",
                "{object_id}",
                "{group_id}",
                "{grant_id}",
                "{assignment_id}",
                "{consent_id}",
                "{user_id}",
                "{scope}",
                "{role}",
                "{resource}",
            ]
            .iter()
            .fold(path.clone(), |p, key| p.replace(key, "00000000-0000-0000-0000-000000000000"))
            .replace("{version}", "1");
            all.push((Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), path));
        }
    }
    all
}

/// Operations that take a body but change nothing: auditors may call them.
const READING_POSTS: [&str; 4] =
    ["/admin/v1/debug/token", "/admin/v1/policies/diff", "/admin/v1/policies/simulate", "/admin/v1/policies/validate"];

#[test]
fn the_served_document_is_the_checked_in_one() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(super::CHECKED_IN_DOCUMENT);
    let served = super::openapi_json();
    if std::env::var_os("TOKENGATE_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &served).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        served == checked_in,
        "{} differs from the document the code generates: run `TOKENGATE_WRITE_OPENAPI=1 cargo test --workspace --bin tokengate the_served_document` and commit it",
        super::CHECKED_IN_DOCUMENT
    );
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "OpenAPI 3.1");
}

#[test]
fn every_operation_declares_the_bearer_requirement() {
    let doc: Value = serde_json::from_str(&super::openapi_json()).unwrap();
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let security = operation["security"].as_array().unwrap_or_else(|| panic!("{method} {path}: no security"));
            assert!(security.iter().any(|s| s.get("bearer").is_some()), "{method} {path}: {security:?}");
            seen += 1;
        }
    }
    assert!(seen >= 6, "only {seen} operations");
}

#[tokio::test]
async fn every_operation_refuses_missing_foreign_and_roleless_tokens() {
    let f = fixture().await;
    for (method, path) in operations() {
        let (status, problem, challenge) = call(&f, method.clone(), &path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a token");
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"tokengate-admin\""), "{method} {path}");
        assert_eq!(problem["status"], 401);

        let (status, _, challenge) = call(&f, method.clone(), &path, Some(&f.other_api), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with a token for another API");
        assert!(challenge.unwrap().contains("invalid_token"));

        let (status, _, challenge) = call(&f, method.clone(), &path, Some(&f.no_role), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} with neither admin role");
        assert!(challenge.unwrap().contains("insufficient_scope"));
    }
}

#[tokio::test]
async fn an_auditor_reads_everything_and_changes_nothing() {
    let f = fixture().await;
    for (method, path) in operations() {
        let body = (method == Method::POST)
            .then(|| json!({"kind": "token", "token_id": "x", "display_name": "x", "domain": "x.test"}));
        let (status, _, _) = call(&f, method.clone(), &path, Some(&f.auditor), body).await;
        if method == Method::GET {
            assert!(status == StatusCode::OK || status == StatusCode::NOT_FOUND, "{method} {path}: {status}");
        } else if READING_POSTS.contains(&path.as_str()) {
            // Explaining a token, diffing, simulating and validating policies read: the body above asks for
            // none of them properly, so a 400, not a 403.
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: an auditor may read this");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: an auditor writes nothing");
        }
    }
    assert!(f.dir.store.revocations_after(0, now()).await.unwrap().rows.is_empty(), "nothing was revoked");
}

#[tokio::test]
async fn an_admin_revokes_and_creates_and_bad_input_is_a_problem() {
    let f = fixture().await;
    let (status, created, _) = call(
        &f,
        Method::POST,
        "/admin/v1/revocations",
        Some(&f.admin),
        Some(json!({"kind": "token", "token_id": "leaked-uti", "reason": "found in a log"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["revocation"]["kind"], "token");
    assert_eq!(created["revocation"]["token_id"], "leaked-uti");
    assert_eq!(created["revocation"]["reason"], "found in a log");
    assert!(created["revocation"]["actor"].as_str().unwrap().len() > 10, "the caller is the actor: {created}");

    let (status, page, _) = call(&f, Method::GET, "/admin/v1/revocations?limit=1", Some(&f.auditor), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["version"], created["revocation"]["version"]);

    let (status, tenant, _) = call(
        &f,
        Method::POST,
        "/admin/v1/tenants",
        Some(&f.admin),
        Some(json!({"display_name": "Fabrikam", "domain": "fabrikam.test"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let path = format!("/admin/v1/tenants/{}", tenant["id"].as_str().unwrap());
    let (status, shown, _) = call(&f, Method::GET, &path, Some(&f.auditor), None).await;
    assert_eq!((status, shown["domains"][0].as_str()), (StatusCode::OK, Some("fabrikam.test")));

    for (body, what) in [
        (json!({"kind": "token", "token_id": "  "}), "empty id"),
        (json!({"kind": "nothing"}), "unknown kind"),
        (json!({"kind": "token", "token_id": "x", "wait": true, "timeout_seconds": 0}), "timeout out of range"),
    ] {
        let (status, _, _) = call(&f, Method::POST, "/admin/v1/revocations", Some(&f.admin), Some(body)).await;
        assert!(status.is_client_error(), "{what}: {status}");
    }
    let (status, problem, _) = call(
        &f,
        Method::POST,
        "/admin/v1/tenants",
        Some(&f.admin),
        Some(json!({"display_name": "Again", "domain": "fabrikam.test"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(!problem["detail"].as_str().unwrap().to_lowercase().contains("sql"), "{problem}");
}
