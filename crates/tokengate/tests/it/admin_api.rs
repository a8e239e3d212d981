//! The admin API over real HTTP on a `tokengate dev` node: the dev.json admin and auditor clients
//! get tokens from the issuer, the auditor reads and cannot write, the admin revokes with `wait`
//! and the gateway denies right after the answer.

use serde_json::{json, Value};

use crate::cluster::demo_status;
use crate::harness::*;

/// A client-credentials token for the admin API as dev.json's `admin` or `auditor` client.
pub async fn admin_token(s: &DevServer, who: &str) -> String {
    let (id, secret) = (s.s(&format!("/{who}/client_id")), s.s(&format!("/{who}/client_secret")));
    let scope = format!("{}/.default", s.s("/admin/app_id_uri"));
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", &secret), ("scope", &scope)],
        )
        .await;
    assert_eq!(status, 200, "{who}: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_admin_api_answers_its_roles_and_its_revocations_reach_the_gateway() {
    let s = DevServer::start().await;
    let http = reqwest::Client::new();
    let (admin, auditor) = (admin_token(&s, "admin").await, admin_token(&s, "auditor").await);

    let document: Value = http.get(s.admin("/admin/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(document["paths"]["/admin/v1/revocations"]["post"]["security"].is_array(), "{document}");

    let anonymous = http.get(s.admin("/admin/v1/nodes")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["content-type"], "application/problem+json");
    let nodes: Value =
        http.get(s.admin("/admin/v1/nodes")).bearer_auth(&auditor).send().await.unwrap().json().await.unwrap();
    let roles = nodes[0]["roles"].as_array().unwrap();
    assert!(roles.iter().any(|r| r == "gateway") && nodes[0]["state"] == "ready", "{nodes}");

    let token = s.demo_token().await;
    let uti = decode_jwt(&token).1["uti"].as_str().unwrap().to_owned();
    assert_eq!(demo_status(&s.gateway("/demo/x"), &token).await, 200);
    let revoke = json!({"kind": "token", "token_id": uti, "reason": "admin API test", "wait": true});
    let refused = http.post(s.admin("/admin/v1/revocations")).bearer_auth(&auditor).json(&revoke).send().await.unwrap();
    assert_eq!(refused.status(), 403, "an auditor changes nothing");
    assert_eq!(demo_status(&s.gateway("/demo/x"), &token).await, 200);

    let created = http.post(s.admin("/admin/v1/revocations")).bearer_auth(&admin).json(&revoke).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["propagation"]["lagging"], json!([]), "{created}");
    assert_eq!(demo_status(&s.gateway("/demo/x"), &token).await, 401, "denied once the answer came");
    let listed: Value =
        http.get(s.admin("/admin/v1/revocations")).bearer_auth(&auditor).send().await.unwrap().json().await.unwrap();
    assert!(listed["items"].as_array().unwrap().iter().any(|r| r["token_id"] == uti), "{listed}");
}
