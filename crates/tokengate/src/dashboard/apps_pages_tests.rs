//! The apps pages over the real admin API: registering an app, a secret shown once, settings
//! guarded by the app's version, an auditor's read-only view, and the API's words on refusals.

use axum::http::{header, StatusCode};

use crate::dashboard::dashboard_test_support::{fixture, DashboardFixture};

/// Registers an app through the page and answers its client id.
async fn registered(f: &DashboardFixture, name: &str) -> String {
    let a = f.post("/dashboard/apps", &f.admin, &[("display_name", name), ("identifier_uri", "")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let id = a.location().trim_start_matches("/dashboard/apps/").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{}", a.location());
    assert!(f.flash(&f.admin).unwrap().starts_with("Registered "));
    id
}

/// The value of the page's `<input id="secret-value" ... value="...">`.
fn shown_secret(body: &str) -> String {
    let after = body.split("id=\"secret-value\"").nth(1).expect("the secret's field");
    let value = after.split("value=\"").nth(1).expect("its value");
    value.split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_admin_registers_an_app_and_sees_a_new_secret_once() {
    let f = fixture().await;
    let id = registered(&f, "Billing worker").await;
    let list = f.get("/dashboard/apps", Some(&f.admin)).await;
    assert!(list.body.contains("Billing worker") && list.body.contains(&id), "{}", list.body);
    assert!(list.body.contains("confidential"));

    let created = f.post(&format!("/dashboard/apps/{id}/secrets"), &f.admin, &[("display_name", "ci")]).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert!(created.headers[header::CACHE_CONTROL].to_str().unwrap().contains("no-store"));
    assert!(created.body.contains("it will not be shown again"), "{}", created.body);
    let secret = shown_secret(&created.body);
    assert!(secret.len() >= 20, "{secret}");

    for path in ["/dashboard/apps".to_owned(), format!("/dashboard/apps/{id}")] {
        let page = f.get(&path, Some(&f.admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains(&secret), "{path} shows the secret again");
    }
    let detail = f.get(&format!("/dashboard/apps/{id}"), Some(&f.admin)).await;
    assert!(detail.body.contains("<td>ci</td>"), "the secret's metadata is listed: {}", detail.body);
}

#[tokio::test]
async fn an_auditor_sees_apps_without_controls_and_is_refused() {
    let f = fixture().await;
    let id = f.api.dir.client.app_id.to_string();
    let list = f.get("/dashboard/apps", Some(&f.auditor)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Orders client"), "{}", list.body);
    assert!(!list.body.contains("action=\"/dashboard/apps\""), "{}", list.body);
    let detail = f.get(&format!("/dashboard/apps/{id}"), Some(&f.auditor)).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert!(detail.body.contains("Client secrets"));
    assert!(!detail.body.contains("method=\"post\" action=\"/dashboard/apps/"), "{}", detail.body);
    assert!(!detail.body.contains("Create secret") && !detail.body.contains("Delete app"));

    let secret = f.post(&format!("/dashboard/apps/{id}/secrets"), &f.auditor, &[("display_name", "x")]).await;
    assert_eq!(secret.status, StatusCode::FORBIDDEN);
    let delete = f.post(&format!("/dashboard/apps/{id}/delete"), &f.auditor, &[("confirm", "yes")]).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let still = f.get(&format!("/dashboard/apps/{id}"), Some(&f.admin)).await;
    assert_eq!(still.status, StatusCode::OK);
}

#[tokio::test]
async fn a_stale_settings_form_saves_nothing_and_says_why() {
    let f = fixture().await;
    let id = registered(&f, "Reports").await;
    let page = f.get(&format!("/dashboard/apps/{id}"), Some(&f.admin)).await.body;
    let etag_field = page.split("name=\"etag\" value=\"").nth(1).unwrap();
    let etag = etag_field.split('"').next().unwrap().replace("&quot;", "\"").replace("&#34;", "\"");
    let settings = format!("/dashboard/apps/{id}/settings");
    let first = f.post(&settings, &f.admin, &[("display_name", "Reports v2"), ("etag", &etag)]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert!(f.flash(&f.admin).unwrap().starts_with("Saved"));
    let stale = f.post(&settings, &f.admin, &[("display_name", "Reports v3"), ("etag", &etag)]).await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
    let message = f.flash(&f.admin).unwrap();
    assert!(message.contains("changed this app after you opened the page"), "{message}");
    let now = f.get(&format!("/dashboard/apps/{id}"), Some(&f.admin)).await.body;
    assert!(now.contains("Reports v2") && !now.contains("Reports v3"));
}

#[tokio::test]
async fn invalid_input_shows_the_apis_words_and_creates_nothing() {
    let f = fixture().await;
    let before = f.get("/dashboard/apps", Some(&f.admin)).await.body.matches("<tr>").count();
    let a = f.post("/dashboard/apps", &f.admin, &[("display_name", "Bad"), ("identifier_uri", "not a uri")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), "/dashboard/apps");
    let message = f.flash(&f.admin).unwrap();
    assert!(message.to_lowercase().contains("uri"), "{message}");
    let after = f.get("/dashboard/apps", Some(&f.admin)).await.body;
    assert_eq!(after.matches("<tr>").count(), before);
    assert!(!after.contains(">Bad<"));

    let id = f.api.dir.client.app_id.to_string();
    let r = f
        .post(&format!("/dashboard/apps/{id}/redirect-uris"), &f.admin, &[("uri", "ftp://x"), ("platform", "web")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!f.flash(&f.admin).unwrap().is_empty());
    let unconfirmed = f.post(&format!("/dashboard/apps/{id}/delete"), &f.admin, &[]).await;
    assert_eq!(unconfirmed.status, StatusCode::SEE_OTHER);
    assert!(f.flash(&f.admin).unwrap().starts_with("Nothing was deleted"));
    assert_eq!(f.get(&format!("/dashboard/apps/{id}"), Some(&f.admin)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_manages_scopes_roles_redirects_and_grants() {
    let f = fixture().await;
    let id = registered(&f, "Inventory").await;
    let base = format!("/dashboard/apps/{id}");
    let steps: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{base}/scopes"), vec![("value", "Stock.Read"), ("display_name", "Read stock")]),
        (format!("{base}/roles"), vec![("value", "Stock.All"), ("display_name", "All stock"), ("members", "both")]),
        (format!("{base}/redirect-uris"), vec![("uri", "https://inventory.example/cb"), ("platform", "web")]),
    ];
    for (path, fields) in &steps {
        let a = f.post(path, &f.admin, fields).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        let message = f.flash(&f.admin).unwrap();
        assert!(!message.contains("refused") && !message.contains("not"), "{path}: {message}");
    }
    let api = f.api.dir.api.app_id.to_string();
    let role = format!("{api}/Orders.Read.All");
    f.post(&format!("{base}/grants"), &f.admin, &[("role", &role)]).await;
    assert!(f.flash(&f.admin).unwrap().starts_with("Granted"));
    let page = f.get(&base, Some(&f.admin)).await.body;
    for shown in ["Stock.Read", "Stock.All", "https://inventory.example/cb", "Orders.Read.All", "Orders API"] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    f.post(
        &format!("{base}/redirect-uris/remove"),
        &f.admin,
        &[("uri", "https://inventory.example/cb"), ("platform", "web")],
    )
    .await;
    assert!(f.flash(&f.admin).unwrap().starts_with("Removed"));
    f.post(&format!("{base}/scopes/remove"), &f.admin, &[("value", "Stock.Read")]).await;
    assert!(f.flash(&f.admin).unwrap().starts_with("Removed"));
    let delete = f.post(&format!("{base}/delete"), &f.admin, &[("confirm", "yes")]).await;
    assert_eq!(delete.location(), "/dashboard/apps");
    assert!(f.flash(&f.admin).unwrap().starts_with("Deleted"));
    assert_eq!(f.get(&base, Some(&f.admin)).await.status, StatusCode::NOT_FOUND);
}
