//! The admin API's updates and removals in process: `ETag`/`If-Match` (a stale tag is 412 and
//! changes nothing, no tag proceeds), redirect URIs, scopes, roles, certificates, service
//! principals, API permissions, grants and assignments, memberships, consents, deleting apps,
//! users and groups, key rotation — each 404 naming what is missing, 409 in words, and every
//! change audited with the calling admin as its actor.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use serde_json::{json, Value};
use tokengate_core::store::AuditQuery;

use super::admin_api_tests::{fixture_with, Fixture};
use crate::test_support::{body_text, send};

const UNKNOWN: &str = "11111111-2222-3333-4444-555555555555";
const PASSWORD: &str = "a long and secret passphrase 42";
const STALE: &str = "\"0000000000000000\"";

/// One request as the admin (or `token`), with an optional `If-Match`: (status, body, ETag).
async fn ask(
    f: &Fixture,
    method: Method,
    path: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    ask_as(f, &f.admin, method, path, if_match, body).await
}

async fn ask_as(
    f: &Fixture,
    token: &str,
    method: Method,
    path: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut request =
        Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(tag) = if_match {
        request = request.header(header::IF_MATCH, tag);
    }
    let request = match body {
        Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = send(super::router(f.state.clone()), request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json", "{path}");
    }
    let etag = response.headers().get(header::ETAG).map(|v| v.to_str().unwrap().to_owned());
    let text = body_text(response).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), etag)
}

async fn expect(f: &Fixture, method: Method, path: &str, body: Option<Value>, status: StatusCode) -> Value {
    let (got, answer, _) = ask(f, method.clone(), path, None, body).await;
    assert_eq!(got, status, "{method} {path}: {answer}");
    answer
}

/// A problem whose detail names `what` and never the database's words.
async fn problem(f: &Fixture, method: Method, path: &str, body: Option<Value>, status: StatusCode, what: &str) {
    let answer = expect(f, method.clone(), path, body, status).await;
    let detail = answer["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains(what), "{method} {path}: {detail}");
    let lower = detail.to_lowercase();
    assert!(!lower.contains("sql") && !lower.contains("constraint") && !lower.contains("unique"), "{detail}");
}

/// Who the admin token names: its `oid`, else its client id, as the admin API records it.
fn admin_actor(f: &Fixture) -> String {
    let payload = f.admin.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["oid"].as_str().or(claims["azp"].as_str()).or(claims["appid"].as_str()).unwrap().to_owned()
}

/// Every admin record of `action`, checked to name the calling admin as actor.
async fn audited_by_admin(f: &Fixture, action: &str) -> Vec<Value> {
    let query = AuditQuery { action: Some(action.into()), limit: 1000, ..Default::default() };
    let records = f.dir.store.audit_events(&query).await.unwrap();
    assert!(!records.is_empty(), "no {action} record");
    let actor = admin_actor(f);
    for record in &records {
        assert_eq!(record.detail["actor"], json!(actor), "{action}: {:?}", record.detail);
    }
    records.into_iter().map(|r| r.detail).collect()
}

fn certificate_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

#[tokio::test]
async fn an_app_is_updated_with_if_match_and_its_parts_are_managed() {
    let f = fixture_with(|_| None).await;
    let tenant = f.dir.tenant.id;
    let app = expect(
        &f,
        Method::POST,
        &format!("/admin/v1/tenants/{tenant}/apps"),
        Some(json!({"display_name": "Jobs", "identifier_uris": ["api://jobs"]})),
        StatusCode::CREATED,
    )
    .await;
    let id = app["app_id"].as_str().unwrap().to_owned();
    let path = format!("/admin/v1/apps/{id}");

    let (status, shown, tag) = ask(&f, Method::GET, &path, None, None).await;
    let tag = tag.expect("GET of one app carries an ETag");
    assert_eq!(status, StatusCode::OK, "{shown}");
    let change = json!({"display_name": "Jobs API", "group_membership_claims": true, "sign_in_audience": "multi"});
    let (status, updated, new_tag) = ask(&f, Method::PATCH, &path, Some(&tag), Some(change)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (updated["display_name"].as_str(), updated["group_membership_claims"].as_bool()),
        (Some("Jobs API"), Some(true))
    );
    assert_eq!(updated["sign_in_audience"], "AzureADMultipleOrgs");
    assert_ne!(new_tag.as_deref(), Some(tag.as_str()), "a change gives a new tag");

    // The tag read before the change is stale now: 412, and nothing changes.
    let (status, stale, _) = ask(&f, Method::PATCH, &path, Some(&tag), Some(json!({"display_name": "Lost"}))).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}");
    assert_eq!(ask(&f, Method::GET, &path, None, None).await.1["display_name"], "Jobs API");
    // Without If-Match the update proceeds.
    let renamed = expect(&f, Method::PATCH, &path, Some(json!({"display_name": "Jobs v2"})), StatusCode::OK).await;
    assert_eq!(renamed["display_name"], "Jobs v2");
    problem(
        &f,
        Method::PATCH,
        &path,
        Some(json!({"identifier_uris": ["jobs"]})),
        StatusCode::BAD_REQUEST,
        "App ID URI",
    )
    .await;
    let taken = json!({"identifier_uris": [f.dir.api.identifier_uris[0].clone()]});
    problem(&f, Method::PATCH, &path, Some(taken), StatusCode::CONFLICT, "already used").await;
    let unknown = format!("/admin/v1/apps/{UNKNOWN}");
    problem(&f, Method::PATCH, &unknown, Some(json!({"display_name": "x"})), StatusCode::NOT_FOUND, "app").await;
    audited_by_admin(&f, "app.updated").await;

    // Redirect URIs: add, list, duplicate, remove, remove again.
    let uris = format!("{path}/redirect-uris");
    let web = json!({"platform": "web", "uri": "https://jobs.test/signin"});
    expect(&f, Method::POST, &uris, Some(web.clone()), StatusCode::CREATED).await;
    problem(&f, Method::POST, &uris, Some(web.clone()), StatusCode::CONFLICT, "already has the redirect URI").await;
    assert_eq!(expect(&f, Method::GET, &uris, None, StatusCode::OK).await, json!([web]));
    let remove = format!("{uris}?uri=https%3A%2F%2Fjobs.test%2Fsignin&platform=web");
    expect(&f, Method::DELETE, &remove, None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::DELETE, &remove, None, StatusCode::NOT_FOUND, "redirect URI").await;
    assert_eq!(expect(&f, Method::GET, &uris, None, StatusCode::OK).await, json!([]));
    audited_by_admin(&f, "app.redirect_uri_removed").await;

    // A scope still consented cannot go; once the consent is revoked it can.
    let scope = json!({"value": "Jobs.Read", "display_name": "Read jobs"});
    expect(&f, Method::POST, &format!("{path}/scopes"), Some(scope), StatusCode::CREATED).await;
    let consent = expect(
        &f,
        Method::POST,
        "/admin/v1/consents",
        Some(json!({"tenant_id": "contoso.test", "client_app_id": f.dir.public_client.app_id.to_string(),
                    "resource_app_id": id, "scopes": ["Jobs.Read"]})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(consent["user_id"], Value::Null, "tenant-wide admin consent");
    problem(&f, Method::DELETE, &format!("{path}/scopes/Jobs.Read"), None, StatusCode::CONFLICT, "revoke them first")
        .await;
    let consent_path = format!("/admin/v1/consents/{}", consent["id"].as_str().unwrap());
    expect(&f, Method::DELETE, &consent_path, None, StatusCode::NO_CONTENT).await;
    expect(&f, Method::DELETE, &format!("{path}/scopes/Jobs.Read"), None, StatusCode::NO_CONTENT).await;
    assert_eq!(expect(&f, Method::GET, &format!("{path}/scopes"), None, StatusCode::OK).await, json!([]));
    problem(&f, Method::DELETE, &format!("{path}/scopes/Jobs.Read"), None, StatusCode::NOT_FOUND, "scope").await;

    // An app role still granted cannot go; revoking the grant by id frees it.
    let role = json!({"value": "Jobs.Run", "display_name": "Run", "allowed_member_types": ["application"]});
    expect(&f, Method::POST, &format!("{path}/roles"), Some(role), StatusCode::CREATED).await;
    let client = f.dir.client.app_id.to_string();
    let grant = expect(
        &f,
        Method::POST,
        &format!("/admin/v1/tenants/{tenant}/app-role-grants"),
        Some(json!({"client_app_id": client, "resource_app_id": id, "role_value": "Jobs.Run"})),
        StatusCode::CREATED,
    )
    .await;
    let held = expect(&f, Method::GET, &format!("/admin/v1/apps/{client}/app-role-grants"), None, StatusCode::OK).await;
    assert!(held.as_array().unwrap().iter().any(|g| g["id"] == grant["id"]), "{held}");
    problem(&f, Method::DELETE, &format!("{path}/roles/Jobs.Run"), None, StatusCode::CONFLICT, "revoke those grants")
        .await;
    let grant_path = format!("/admin/v1/app-role-grants/{}", grant["id"].as_str().unwrap());
    assert_eq!(expect(&f, Method::GET, &grant_path, None, StatusCode::OK).await["id"], grant["id"]);
    expect(&f, Method::DELETE, &grant_path, None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::DELETE, &grant_path, None, StatusCode::NOT_FOUND, "app role grant").await;
    expect(&f, Method::DELETE, &format!("{path}/roles/Jobs.Run"), None, StatusCode::NO_CONTENT).await;
    audited_by_admin(&f, "app_role.revoked").await;
    audited_by_admin(&f, "app.role_removed").await;

    // Certificates: only the certificate travels, never a key.
    let der = f.dir.store.signing_keys().await.unwrap().remove(0).cert_der;
    let pem = certificate_pem(&der);
    let certs = format!("{path}/certificates");
    let with_key = format!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{pem}");
    problem(&f, Method::POST, &certs, Some(json!({"pem": with_key})), StatusCode::BAD_REQUEST, "private key").await;
    problem(&f, Method::POST, &certs, Some(json!({"pem": "nothing"})), StatusCode::BAD_REQUEST, "certificate").await;
    let cert =
        expect(&f, Method::POST, &certs, Some(json!({"pem": pem, "display_name": "ci"})), StatusCode::CREATED).await;
    assert_eq!(cert["thumbprint"].as_str().unwrap().len(), 40, "{cert}");
    let listed = expect(&f, Method::GET, &certs, None, StatusCode::OK).await;
    assert_eq!(listed[0]["key_id"], cert["key_id"]);
    let cert_path = format!("{certs}/{}", cert["key_id"].as_str().unwrap());
    expect(&f, Method::DELETE, &cert_path, None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::DELETE, &cert_path, None, StatusCode::NOT_FOUND, "certificate").await;
    audited_by_admin(&f, "certificate.added").await;
    audited_by_admin(&f, "certificate.deleted").await;

    // Service principals: one per tenant the (now multi-tenant) app is provisioned in.
    let other = expect(
        &f,
        Method::POST,
        "/admin/v1/tenants",
        Some(json!({"display_name": "Fabrikam", "domain": "fabrikam.test"})),
        StatusCode::CREATED,
    )
    .await;
    let sps = format!("{path}/service-principals");
    let provisioned =
        expect(&f, Method::POST, &sps, Some(json!({"tenant_id": "fabrikam.test"})), StatusCode::CREATED).await;
    assert_eq!(provisioned["tenant_id"], other["id"]);
    problem(
        &f,
        Method::POST,
        &sps,
        Some(json!({"tenant_id": "fabrikam.test"})),
        StatusCode::CONFLICT,
        "already provisioned",
    )
    .await;
    assert_eq!(expect(&f, Method::GET, &sps, None, StatusCode::OK).await.as_array().unwrap().len(), 2);

    // API permissions: configured and removed.
    let permissions = format!("/admin/v1/apps/{}/api-permissions", f.dir.public_client.app_id);
    let configured = expect(
        &f,
        Method::POST,
        &permissions,
        Some(json!({"resource": "api://orders", "scopes": ["Orders.Read"]})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(configured["scopes"], json!(["Orders.Read"]));
    let api = f.dir.api.app_id;
    expect(&f, Method::DELETE, &format!("{permissions}/{api}?scopes=Orders.Read"), None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::DELETE, &format!("{permissions}/{api}"), None, StatusCode::NOT_FOUND, "not configured").await;

    // Deleting the app revokes its tokens and takes it away; the admin API's own app stays.
    expect(&f, Method::DELETE, &path, None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::GET, &path, None, StatusCode::NOT_FOUND, "app").await;
    problem(&f, Method::DELETE, &path, None, StatusCode::NOT_FOUND, "app").await;
    let deleted = audited_by_admin(&f, "app.deleted").await;
    assert_eq!(deleted[0]["app_id"], json!(id));
    let own = f.state.requirements.audiences[0].clone();
    problem(&f, Method::DELETE, &format!("/admin/v1/apps/{own}"), None, StatusCode::CONFLICT, "lock every admin out")
        .await;
}

#[tokio::test]
async fn users_groups_tenants_and_consents_are_updated_and_removed() {
    let f = fixture_with(|_| None).await;
    let tenant = f.dir.tenant.id;
    let user = expect(
        &f,
        Method::POST,
        &format!("/admin/v1/tenants/{tenant}/users"),
        Some(json!({"user_principal_name": "grace@contoso.test", "display_name": "Grace", "password": PASSWORD})),
        StatusCode::CREATED,
    )
    .await;
    let user_id = user["object_id"].as_str().unwrap().to_owned();

    // Users are named by object id or UPN; updates honour If-Match.
    let by_upn = "/admin/v1/users/grace@contoso.test";
    let (_, shown, tag) = ask(&f, Method::GET, by_upn, None, None).await;
    assert_eq!(shown["object_id"], json!(user_id));
    let tag = tag.unwrap();
    let new_password = "another long passphrase 43";
    let change = json!({"display_name": "Grace H.", "password": new_password});
    let (status, updated, _) = ask(&f, Method::PATCH, by_upn, Some(&tag), Some(change)).await;
    assert_eq!((status, updated["display_name"].as_str()), (StatusCode::OK, Some("Grace H.")), "{updated}");
    assert!(!updated.to_string().contains(new_password));
    let (status, _, _) = ask(&f, Method::PATCH, by_upn, Some(&tag), Some(json!({"display_name": "X"}))).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = ask(&f, Method::PATCH, by_upn, Some(STALE), Some(json!({"display_name": "X"}))).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = ask(&f, Method::PATCH, by_upn, Some("*"), Some(json!({"display_name": "Grace"}))).await;
    assert_eq!(status, StatusCode::OK, "* matches any current version");
    let taken = json!({"user_principal_name": f.dir.user.user_principal_name.clone()});
    problem(&f, Method::PATCH, by_upn, Some(taken), StatusCode::CONFLICT, "already exists").await;
    let records = audited_by_admin(&f, "user.updated").await;
    let text = serde_json::to_string(&records).unwrap();
    assert!(!text.contains(new_password) && !text.contains("argon"), "no password in the audit: {text}");

    // App role assignments of a user.
    let assignments = format!("/admin/v1/users/{user_id}/app-role-assignments");
    let role = json!({"value": "Orders.Approve", "display_name": "Approve", "allowed_member_types": ["user"]});
    expect(&f, Method::POST, &format!("/admin/v1/apps/{}/roles", f.dir.api.app_id), Some(role), StatusCode::CREATED)
        .await;
    let assign = json!({"resource_app_id": f.dir.api.app_id.to_string(), "role_value": "Orders.Approve"});
    let assigned = expect(&f, Method::POST, &assignments, Some(assign.clone()), StatusCode::CREATED).await;
    problem(&f, Method::POST, &assignments, Some(assign.clone()), StatusCode::CONFLICT, "already holds").await;
    assert_eq!(expect(&f, Method::GET, &assignments, None, StatusCode::OK).await[0]["id"], assigned["id"]);
    let assignment = format!("{assignments}/{}", assigned["id"].as_str().unwrap());
    let elsewhere =
        format!("/admin/v1/users/{}/app-role-assignments/{}", f.dir.user.object_id, assigned["id"].as_str().unwrap());
    problem(&f, Method::DELETE, &elsewhere, None, StatusCode::NOT_FOUND, "app role assignment").await;
    expect(&f, Method::DELETE, &assignment, None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::DELETE, &assignment, None, StatusCode::NOT_FOUND, "app role assignment").await;

    // Groups: show with ETag, rename with If-Match, members listed and removed, delete.
    let group = expect(
        &f,
        Method::POST,
        &format!("/admin/v1/tenants/{tenant}/groups"),
        Some(json!({"display_name": "Operators"})),
        StatusCode::CREATED,
    )
    .await;
    let group_path = format!("/admin/v1/groups/{}", group["object_id"].as_str().unwrap());
    let (_, _, group_tag) = ask(&f, Method::GET, &group_path, None, None).await;
    let group_tag = group_tag.unwrap();
    let (status, renamed, _) =
        ask(&f, Method::PATCH, &group_path, Some(&group_tag), Some(json!({"display_name": "SRE"}))).await;
    assert_eq!((status, renamed["display_name"].as_str()), (StatusCode::OK, Some("SRE")));
    let (status, _, _) =
        ask(&f, Method::PATCH, &group_path, Some(&group_tag), Some(json!({"display_name": "X"}))).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let members = format!("{group_path}/members");
    expect(&f, Method::POST, &members, Some(json!({"user_id": user_id})), StatusCode::NO_CONTENT).await;
    assert_eq!(expect(&f, Method::GET, &members, None, StatusCode::OK).await[0]["object_id"], json!(user_id));
    let groups_of = expect(&f, Method::GET, &format!("/admin/v1/users/{user_id}/groups"), None, StatusCode::OK).await;
    assert_eq!(groups_of[0]["display_name"], "SRE");
    expect(&f, Method::DELETE, &format!("{members}/grace@contoso.test"), None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::DELETE, &format!("{members}/{user_id}"), None, StatusCode::NOT_FOUND, "member").await;
    audited_by_admin(&f, "group.member_removed").await;
    let group_assignments = format!("{group_path}/app-role-assignments");
    expect(&f, Method::POST, &group_assignments, Some(assign), StatusCode::CREATED).await;
    expect(&f, Method::DELETE, &group_path, None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::GET, &group_path, None, StatusCode::NOT_FOUND, "group").await;
    problem(&f, Method::DELETE, &group_path, None, StatusCode::NOT_FOUND, "group").await;
    audited_by_admin(&f, "group.deleted").await;

    // Consents: per user and tenant-wide, filtered, shown and revoked.
    let consent = |user: Option<&str>| {
        let mut body = json!({"tenant_id": tenant.to_string(), "client_app_id": f.dir.public_client.app_id.to_string(),
                              "resource_app_id": f.dir.api.app_id.to_string(), "scopes": ["Orders.Read"]});
        if let Some(u) = user {
            body["user_id"] = json!(u);
        }
        body
    };
    let own = expect(
        &f,
        Method::POST,
        "/admin/v1/consents",
        Some(consent(Some(by_upn.rsplit('/').next().unwrap()))),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(own["user_id"], json!(user_id));
    expect(&f, Method::POST, "/admin/v1/consents", Some(consent(None)), StatusCode::CREATED).await;
    let mine = expect(&f, Method::GET, &format!("/admin/v1/consents?user_id={user_id}"), None, StatusCode::OK).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let all = expect(&f, Method::GET, &format!("/admin/v1/consents?tenant_id={tenant}"), None, StatusCode::OK).await;
    assert!(all.as_array().unwrap().len() >= 2, "{all}");
    let mut bad_scope = consent(None);
    bad_scope["scopes"] = json!(["Nope"]);
    problem(&f, Method::POST, "/admin/v1/consents", Some(bad_scope), StatusCode::BAD_REQUEST, "not a scope").await;
    problem(&f, Method::POST, "/admin/v1/consents", Some(consent(Some(UNKNOWN))), StatusCode::NOT_FOUND, "user").await;
    let own_path = format!("/admin/v1/consents/{}", own["id"].as_str().unwrap());
    assert_eq!(expect(&f, Method::GET, &own_path, None, StatusCode::OK).await, own);
    expect(&f, Method::DELETE, &own_path, None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::DELETE, &own_path, None, StatusCode::NOT_FOUND, "consent").await;
    audited_by_admin(&f, "consent.user").await;
    audited_by_admin(&f, "consent.revoked").await;

    // Deleting a user revokes their tokens on the feed (with the admin as actor) and removes them.
    expect(&f, Method::DELETE, by_upn, None, StatusCode::NO_CONTENT).await;
    problem(&f, Method::GET, &format!("/admin/v1/users/{user_id}"), None, StatusCode::NOT_FOUND, "user").await;
    problem(&f, Method::DELETE, &format!("/admin/v1/users/{user_id}"), None, StatusCode::NOT_FOUND, "user").await;
    audited_by_admin(&f, "user.deleted").await;
    let feed = f.dir.store.revocations_after(0, crate::state::now()).await.unwrap().rows;
    assert!(feed.iter().any(|r| r.revocation.actor == admin_actor(&f)), "the revocation names the admin: {feed:?}");

    // Tenants: rename and change domains with If-Match; a domain in use or taken is refused.
    let tenant_path = "/admin/v1/tenants/contoso.test";
    let (_, _, tenant_tag) = ask(&f, Method::GET, tenant_path, None, None).await;
    let tenant_tag = tenant_tag.unwrap();
    let (status, renamed, _) = ask(
        &f,
        Method::PATCH,
        tenant_path,
        Some(&tenant_tag),
        Some(json!({"display_name": "Contoso Ltd", "domains": ["contoso.test", "contoso.example"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["domains"], json!(["contoso.example", "contoso.test"]));
    let (status, _, _) =
        ask(&f, Method::PATCH, tenant_path, Some(&tenant_tag), Some(json!({"display_name": "X"}))).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let dropped = json!({"domains": ["contoso.example"]});
    problem(&f, Method::PATCH, tenant_path, Some(dropped), StatusCode::CONFLICT, "UPNs at 'contoso.test'").await;
    expect(
        &f,
        Method::POST,
        "/admin/v1/tenants",
        Some(json!({"display_name": "F", "domain": "fabrikam.test"})),
        StatusCode::CREATED,
    )
    .await;
    let stolen = json!({"domains": ["contoso.test", "fabrikam.test"]});
    problem(&f, Method::PATCH, tenant_path, Some(stolen), StatusCode::CONFLICT, "belongs to another tenant").await;
    problem(
        &f,
        Method::PATCH,
        &format!("/admin/v1/tenants/{UNKNOWN}"),
        Some(json!({})),
        StatusCode::NOT_FOUND,
        "tenant",
    )
    .await;
    audited_by_admin(&f, "tenant.updated").await;
}

#[tokio::test]
async fn keys_rotate_and_an_auditor_changes_nothing_here() {
    let f = fixture_with(|_| None).await;
    let before = f.dir.store.signing_keys().await.unwrap();
    let rotated = expect(&f, Method::POST, "/admin/v1/keys/rotate", None, StatusCode::OK).await;
    let active = rotated["active_kid"].as_str().unwrap();
    assert!(rotated["keys"].as_array().unwrap().iter().any(|k| k["kid"] == active && k["state"] == "active"));
    assert!(!before.iter().any(|k| k.kid == active && k.state.as_str() == "active"), "a new key is active");
    audited_by_admin(&f, "key.rotated").await;

    let app = format!("/admin/v1/apps/{}", f.dir.client.app_id);
    for (method, path) in [
        (Method::PATCH, app.clone()),
        (Method::DELETE, app.clone()),
        (Method::POST, "/admin/v1/keys/rotate".to_owned()),
        (Method::DELETE, format!("/admin/v1/users/{}", f.dir.user.object_id)),
    ] {
        let (status, _, _) = ask_as(&f, &f.auditor, method.clone(), &path, None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    let (status, _, _) = ask_as(&f, &f.auditor, Method::GET, &app, None, None).await;
    assert_eq!(status, StatusCode::OK);
}
