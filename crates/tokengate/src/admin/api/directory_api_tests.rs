//! The directory endpoints in process: an admin builds an app, its secret, a user, a group and
//! an app role grant; secret values and passwords never come back; disabling a user puts a user
//! revocation on the feed; an auditor reads and cannot write; unknown ids are 404 and duplicates
//! 409 in words.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use tokengate_core::revocations::RevocationTarget;
use tokengate_core::store::AuditQuery;

use super::admin_api_tests::{call, fixture_with, Fixture};
use crate::state::now;

const PASSWORD: &str = "a long and secret passphrase 42";
const UNKNOWN: &str = "11111111-2222-3333-4444-555555555555";

async fn created(f: &Fixture, path: &str, body: Value) -> Value {
    let (status, answer, _) = call(f, Method::POST, path, Some(&f.admin), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "POST {path}: {answer}");
    answer
}

/// A 409 whose detail is words, not the database's message.
async fn assert_conflict_in_words(f: &Fixture, path: &str, body: Value) {
    let (status, problem, _) = call(f, Method::POST, path, Some(&f.admin), Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "POST {path}: {problem}");
    let detail = problem["detail"].as_str().unwrap_or_default().to_lowercase();
    assert!(!detail.contains("sql") && !detail.contains("constraint") && !detail.contains("unique"), "{detail}");
}

fn text(value: &Value) -> String {
    value.to_string()
}

#[tokio::test]
async fn an_admin_manages_apps_secrets_users_groups_and_grants() {
    let f = fixture_with(|_| None).await;
    let tenant = f.dir.tenant.id;

    let app = created(
        &f,
        &format!("/admin/v1/tenants/{tenant}/apps"),
        json!({"display_name": "Jobs API", "identifier_uris": ["api://jobs"], "access_token_version": 2,
               "redirect_uris": [{"platform": "web", "uri": "https://jobs.test/signin"}]}),
    )
    .await;
    let app_id = app["app_id"].as_str().unwrap().to_owned();
    assert_eq!(app["redirect_uris"][0]["platform"], "web");
    assert_conflict_in_words(
        &f,
        &format!("/admin/v1/tenants/{tenant}/apps"),
        json!({"display_name": "Again", "identifier_uris": ["api://jobs"]}),
    )
    .await;

    let scope = json!({"value": "Jobs.Read", "display_name": "Read jobs"});
    created(&f, &format!("/admin/v1/apps/{app_id}/scopes"), scope.clone()).await;
    assert_conflict_in_words(&f, &format!("/admin/v1/apps/{app_id}/scopes"), scope).await;
    let role =
        created(&f, &format!("/admin/v1/apps/{app_id}/roles"), json!({"value": "Jobs.Run", "display_name": "Run"}))
            .await;
    assert_eq!(role["allowed_member_types"], json!(["application"]));

    let secret = created(&f, &format!("/admin/v1/apps/{app_id}/secrets"), json!({"display_name": "ci"})).await;
    let value = secret["value"].as_str().unwrap().to_owned();
    assert!(value.len() > 20 && secret["key_id"].is_string() && secret["expires_at"].is_string(), "{secret}");
    let (status, secrets, _) =
        call(&f, Method::GET, &format!("/admin/v1/apps/{app_id}/secrets"), Some(&f.auditor), None).await;
    assert_eq!((status, secrets[0]["key_id"].clone()), (StatusCode::OK, secret["key_id"].clone()));
    assert!(!text(&secrets).contains(&value) && secrets[0].get("value").is_none(), "shown once: {secrets}");
    assert!(!text(&secrets).contains("hash"), "{secrets}");

    let users = format!("/admin/v1/tenants/{tenant}/users");
    let new_user = json!({"user_principal_name": "grace@contoso.test", "display_name": "Grace", "password": PASSWORD});
    let user = created(&f, &users, new_user.clone()).await;
    assert!(!text(&user).contains(PASSWORD) && !text(&user).contains("argon"), "{user}");
    assert_conflict_in_words(&f, &users, new_user).await;
    let user_id = user["object_id"].as_str().unwrap().to_owned();

    let (status, disabled, _) =
        call(&f, Method::POST, &format!("/admin/v1/users/{user_id}/disable"), Some(&f.admin), None).await;
    assert_eq!((status, disabled["enabled"].as_bool()), (StatusCode::OK, Some(false)), "{disabled}");
    let feed = f.dir.store.revocations_after(0, now()).await.unwrap().rows;
    assert!(
        feed.iter()
            .any(|r| matches!(&r.revocation.target, RevocationTarget::User { object_id, .. } if *object_id == user_id)),
        "a user revocation on the feed: {feed:?}"
    );
    let (status, enabled, _) =
        call(&f, Method::POST, &format!("/admin/v1/users/{user_id}/enable"), Some(&f.admin), None).await;
    assert_eq!((status, enabled["enabled"].as_bool()), (StatusCode::OK, Some(true)), "{enabled}");

    let group = created(&f, &format!("/admin/v1/tenants/{tenant}/groups"), json!({"display_name": "Operators"})).await;
    let members = format!("/admin/v1/groups/{}/members", group["object_id"].as_str().unwrap());
    let (status, _, _) = call(&f, Method::POST, &members, Some(&f.admin), Some(json!({"user_id": user_id}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_conflict_in_words(&f, &members, json!({"user_id": user_id})).await;

    let grants = format!("/admin/v1/tenants/{tenant}/app-role-grants");
    let grant =
        json!({"client_app_id": f.dir.client.app_id.to_string(), "resource_app_id": app_id, "role_value": "Jobs.Run"});
    let granted = created(&f, &grants, grant.clone()).await;
    assert_eq!(granted["app_role_id"], role["id"]);
    assert_conflict_in_words(&f, &grants, grant).await;

    let audit = f.dir.store.audit_events(&AuditQuery { source: None, action: None, limit: 1000 }).await.unwrap();
    let audit = serde_json::to_string(&audit).unwrap();
    assert!(audit.contains("user.created"), "the directory audits the change");
    assert!(!audit.contains(PASSWORD) && !audit.contains(&value), "no password or secret in the audit log");

    for path in [
        format!("/admin/v1/tenants/{tenant}/apps"),
        format!("/admin/v1/apps/{app_id}"),
        format!("/admin/v1/apps/{app_id}/secrets"),
        users.clone(),
        format!("/admin/v1/users/{user_id}"),
        format!("/admin/v1/tenants/{tenant}/groups"),
    ] {
        let (status, listed, _) = call(&f, Method::GET, &path, Some(&f.auditor), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {listed}");
        assert!(!text(&listed).contains(PASSWORD) && !text(&listed).contains(&value), "{path}: {listed}");
    }
    let (_, listed, _) = call(&f, Method::GET, &users, Some(&f.auditor), None).await;
    assert!(text(&listed).contains("grace@contoso.test"), "{listed}");

    let key = secret["key_id"].as_str().unwrap();
    let (status, _, _) =
        call(&f, Method::DELETE, &format!("/admin/v1/apps/{app_id}/secrets/{key}"), Some(&f.auditor), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an auditor deletes nothing");
    let (status, _, _) =
        call(&f, Method::DELETE, &format!("/admin/v1/apps/{app_id}/secrets/{key}"), Some(&f.admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, secrets, _) =
        call(&f, Method::GET, &format!("/admin/v1/apps/{app_id}/secrets"), Some(&f.admin), None).await;
    assert_eq!(secrets, json!([]));
}

#[tokio::test]
async fn unknown_ids_are_404_naming_the_object_and_bad_input_is_400() {
    let f = fixture_with(|_| None).await;
    let tenant = f.dir.tenant.id;
    let user = f.dir.user.object_id;
    let app = f.dir.client.app_id;
    for (method, path, body, object) in [
        (Method::GET, format!("/admin/v1/apps/{UNKNOWN}"), None, "app"),
        (Method::GET, "/admin/v1/apps/not-a-guid".to_owned(), None, "app"),
        (Method::GET, format!("/admin/v1/users/{UNKNOWN}"), None, "user"),
        (Method::GET, format!("/admin/v1/tenants/{UNKNOWN}/users"), None, "tenant"),
        (Method::POST, format!("/admin/v1/users/{UNKNOWN}/disable"), None, "user"),
        (
            Method::POST,
            format!("/admin/v1/apps/{UNKNOWN}/scopes"),
            Some(json!({"value": "A.B", "display_name": "x"})),
            "app",
        ),
        (Method::POST, format!("/admin/v1/apps/{UNKNOWN}/secrets"), Some(json!({"display_name": "x"})), "app"),
        (Method::DELETE, format!("/admin/v1/apps/{app}/secrets/{UNKNOWN}"), None, "secret"),
        (
            Method::POST,
            format!("/admin/v1/groups/{UNKNOWN}/members"),
            Some(json!({"user_id": user.to_string()})),
            "group",
        ),
        (Method::POST, format!("/admin/v1/tenants/{UNKNOWN}/groups"), Some(json!({"display_name": "x"})), "tenant"),
        (
            Method::POST,
            format!("/admin/v1/tenants/{tenant}/app-role-grants"),
            Some(json!({"client_app_id": app.to_string(), "resource_app_id": UNKNOWN, "role_value": "X"})),
            "resource app",
        ),
    ] {
        let (status, problem, _) = call(&f, method.clone(), &path, Some(&f.admin), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(object), "{method} {path}: {problem}");
    }
    for (path, body, fix) in [
        (
            format!("/admin/v1/tenants/{tenant}/apps"),
            json!({"display_name": "x", "identifier_uris": ["jobs"]}),
            "App ID URI",
        ),
        (format!("/admin/v1/tenants/{tenant}/apps"), json!({"display_name": " "}), "display name"),
        (
            format!("/admin/v1/tenants/{tenant}/users"),
            json!({"user_principal_name": "bob@elsewhere.test", "display_name": "Bob", "password": PASSWORD}),
            "domain",
        ),
        (format!("/admin/v1/apps/{app}/secrets"), json!({"display_name": "x", "lifetime_days": 9999}), "lifetime"),
        (format!("/admin/v1/groups/{UNKNOWN}/members"), json!({"user_id": "bob"}), "user_id"),
    ] {
        let (status, problem, _) = call(&f, Method::POST, &path, Some(&f.admin), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(fix), "{path}: {problem}");
    }
}
