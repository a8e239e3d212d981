//! The routes & policies pages in process over the real admin API: an empty state before any
//! publish, preview (diff, simulation, the API's validation words), publish under the version
//! the edit began at (a stale one keeps the text and shows what changed), history, diffs,
//! rollback with its confirmation, and testing a token without echoing it.

use axum::http::StatusCode;

use super::TEST_POLICY;
use crate::dashboard::dashboard_test_support::{fixture, DashboardFixture};

/// TEST_POLICY with another role required.
fn policy_requiring(role: &str) -> String {
    TEST_POLICY.replace("Orders.Read", role)
}

/// Publishes `toml` through the dashboard's form as the admin; the flash it leaves.
async fn publish(f: &DashboardFixture, toml: &str, etag: &str, message: &str) -> String {
    let a =
        f.post("/dashboard/policies/publish", &f.admin, &[("toml", toml), ("etag", etag), ("message", message)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/dashboard/policies");
    f.flash(&f.admin).expect("a message after publishing")
}

#[tokio::test]
async fn before_any_publish_the_page_says_what_to_do() {
    let f = fixture().await;
    let admin = f.get("/dashboard/policies", Some(&f.admin)).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert!(admin.body.contains("No policy is published yet"), "{}", admin.body);
    assert!(admin.body.contains("href=\"/dashboard/policies/edit\""), "{}", admin.body);
    let auditor = f.get("/dashboard/policies", Some(&f.auditor)).await;
    assert!(auditor.body.contains("No policy is published yet"));
    assert!(!auditor.body.contains("href=\"/dashboard/policies/edit\""), "{}", auditor.body);
    let edit = f.get("/dashboard/policies/edit", Some(&f.admin)).await;
    assert!(edit.body.contains("name=\"etag\" value=\"*\""), "nothing published: publish over anything: {}", edit.body);
}

#[tokio::test]
async fn an_admin_previews_then_publishes_and_sees_the_routes() {
    let f = fixture().await;
    let preview =
        f.post("/dashboard/policies/preview", &f.admin, &[("toml", TEST_POLICY), ("etag", "*"), ("message", "")]).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(preview.body.contains("+ route orders"), "the diff: {}", preview.body);
    assert!(preview.body.contains("of the last 0 decisions would change"), "the simulation: {}", preview.body);
    assert!(preview.body.contains("action=\"/dashboard/policies/publish\""), "{}", preview.body);
    assert!(preview.body.contains("Orders.Read"), "the text is kept: {}", preview.body);

    let flash = publish(&f, TEST_POLICY, "*", "first routes").await;
    assert!(flash.starts_with("Published v1"), "{flash}");
    let page = f.get("/dashboard/policies", Some(&f.admin)).await.body;
    for shown in ["Published: v1", "first routes", "orders", "prefix /orders/", "roles_any", "Orders.Read", "tokengate"]
    {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert!(page.contains("href=\"/dashboard/policies/edit\""), "{page}");
    let edit = f.get("/dashboard/policies/edit", Some(&f.admin)).await.body;
    assert!(edit.contains("value=\"&#34;v1&#34;\""), "the ETag rides along: {edit}");
    assert!(edit.contains("class=\"code\""), "{edit}");
}

#[tokio::test]
async fn an_auditor_reads_every_page_without_write_controls() {
    let f = fixture().await;
    publish(&f, TEST_POLICY, "*", "first").await;
    publish(&f, &policy_requiring("Orders.Write"), "\"v1\"", "second").await;
    for path in [
        "/dashboard/policies",
        "/dashboard/policies/history",
        "/dashboard/policies/v/1",
        "/dashboard/policies/rollback/1",
    ] {
        let a = f.get(path, Some(&f.auditor)).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        for control in ["/dashboard/policies/edit\"", "action=\"/dashboard/policies/rollback\"", "class=\"rollback\""] {
            assert!(!a.body.contains(control), "{path} shows {control} to an auditor");
        }
    }
    let history = f.get("/dashboard/policies/history", Some(&f.admin)).await.body;
    assert!(history.contains("href=\"/dashboard/policies/rollback/1\""), "{history}");
    let edit = f.get("/dashboard/policies/edit", Some(&f.auditor)).await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    let posted = f
        .post("/dashboard/policies/publish", &f.auditor, &[("toml", TEST_POLICY), ("etag", "*"), ("message", "x")])
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn invalid_toml_shows_the_apis_words_and_publishes_nothing() {
    let f = fixture().await;
    let broken = "[[route]\nname = \"x\"";
    let preview =
        f.post("/dashboard/policies/preview", &f.admin, &[("toml", broken), ("etag", "*"), ("message", "")]).await;
    assert_eq!(preview.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", preview.body);
    assert!(preview.body.contains("toml is not a gateway policy"), "{}", preview.body);
    assert!(preview.body.contains("line 1"), "the line is named: {}", preview.body);
    assert!(preview.body.contains("[[route]"), "the text is kept: {}", preview.body);

    let unknown_issuer = TEST_POLICY.replace("issuers = [\"tokengate\"]", "issuers = [\"nobody\"]");
    let preview = f
        .post("/dashboard/policies/preview", &f.admin, &[("toml", &unknown_issuer), ("etag", "*"), ("message", "")])
        .await;
    assert_eq!(preview.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", preview.body);
    assert!(preview.body.contains("nobody"), "the API's validation words: {}", preview.body);
    assert!(!preview.body.contains("action=\"/dashboard/policies/publish\""), "no publish: {}", preview.body);
    let published = f
        .post("/dashboard/policies/publish", &f.admin, &[("toml", &unknown_issuer), ("etag", "*"), ("message", "x")])
        .await;
    assert_eq!(published.status, StatusCode::BAD_REQUEST, "{}", published.body);
    assert!(published.body.contains("the policy is not valid"), "{}", published.body);
    assert!(published.body.contains("nobody"), "{}", published.body);
    let page = f.get("/dashboard/policies", Some(&f.admin)).await.body;
    assert!(page.contains("No policy is published yet"), "nothing was published: {page}");
}

#[tokio::test]
async fn a_stale_edit_keeps_the_text_and_shows_what_changed() {
    let f = fixture().await;
    publish(&f, TEST_POLICY, "*", "first").await;
    // Someone else publishes v2 while this edit (based on v1) is open.
    publish(&f, &policy_requiring("Orders.Admin"), "\"v1\"", "theirs").await;
    let mine = policy_requiring("Orders.Mine");
    let a = f
        .post("/dashboard/policies/publish", &f.admin, &[("toml", &mine), ("etag", "\"v1\""), ("message", "mine")])
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.body.contains("Someone published v2 since you started editing"), "{}", a.body);
    assert!(a.body.contains("Orders.Admin"), "their change is shown: {}", a.body);
    assert!(a.body.contains("Orders.Mine"), "my text is kept: {}", a.body);
    assert!(a.body.contains("value=\"&#34;v2&#34;\""), "the next publish is based on v2: {}", a.body);
    let history = f.get("/dashboard/policies/history", Some(&f.admin)).await.body;
    assert!(!history.contains("v3"), "nothing was published: {history}");
    // Having seen their change, publishing again goes through.
    let flash = publish(&f, &mine, "\"v2\"", "mine").await;
    assert!(flash.starts_with("Published v3"), "{flash}");
}

#[tokio::test]
async fn history_diff_and_rollback() {
    let f = fixture().await;
    publish(&f, TEST_POLICY, "*", "first").await;
    publish(&f, &policy_requiring("Orders.Write"), "\"v1\"", "writers only").await;
    let history = f.get("/dashboard/policies/history", Some(&f.admin)).await.body;
    let (v2, v1) = (history.find("<td>writers only").unwrap(), history.find("<td>first").unwrap());
    assert!(v2 < v1, "newest first: {history}");

    let diff = f.get("/dashboard/policies/diff?from=1&to=2", Some(&f.admin)).await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    assert!(diff.body.contains("~ route orders"), "{}", diff.body);
    assert!(diff.body.contains("Orders.Write"), "{}", diff.body);

    let unchosen = f.get("/dashboard/policies/diff?from=&to=2", Some(&f.admin)).await;
    assert_eq!(unchosen.status, StatusCode::BAD_REQUEST);
    assert!(unchosen.body.contains("Choose two versions"), "{}", unchosen.body);
    let no_such = f.get("/dashboard/policies/v/99", Some(&f.admin)).await;
    assert_eq!(no_such.status, StatusCode::NOT_FOUND, "{}", no_such.body);
    let not_a_version = f.get("/dashboard/policies/v/latest", Some(&f.admin)).await;
    assert_eq!(not_a_version.status, StatusCode::BAD_REQUEST, "{}", not_a_version.body);
    assert!(not_a_version.body.contains("is not a policy version"), "{}", not_a_version.body);

    let source = f.get("/dashboard/policies/v/1", Some(&f.admin)).await.body;
    assert!(source.contains("Orders.Read") && !source.contains("Orders.Write"), "{source}");

    let confirm = f.get("/dashboard/policies/rollback/1", Some(&f.admin)).await.body;
    assert!(confirm.contains("action=\"/dashboard/policies/rollback\""), "{confirm}");
    assert!(confirm.contains("Orders.Read"), "the diff it will apply: {confirm}");

    let stale =
        f.post("/dashboard/policies/rollback", &f.admin, &[("to", "1"), ("etag", "\"v1\""), ("message", "")]).await;
    assert_eq!(stale.location(), "/dashboard/policies/rollback/1");
    assert!(f.flash(&f.admin).unwrap().contains("nothing was rolled back"));

    let a = f.post("/dashboard/policies/rollback", &f.admin, &[("to", "1"), ("etag", "\"v2\""), ("message", "")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/dashboard/policies/history");
    let flash = f.flash(&f.admin).unwrap();
    assert!(flash.starts_with("Rolled back: published v3"), "{flash}");
    let history = f.get("/dashboard/policies/history", Some(&f.admin)).await.body;
    assert!(history.contains("rollback to v1"), "{history}");
    let page = f.get("/dashboard/policies", Some(&f.admin)).await.body;
    assert!(page.contains("Published: v3") && page.contains("Orders.Read"), "{page}");
}

#[tokio::test]
async fn testing_a_token_never_echoes_it() {
    let f = fixture().await;
    publish(&f, TEST_POLICY, "*", "first").await;
    let token = f.api.admin.clone();
    for session in [&f.admin, &f.auditor] {
        let a = f
            .post("/dashboard/policies/test-token", session, &[("token", &token), ("route", "orders"), ("path", "")])
            .await;
        assert!(!a.body.contains(&token), "the token is not echoed");
        assert!(!a.body.contains(token.split('.').nth(1).unwrap()), "not even its claims part");
        assert!(a.body.contains("Test another token"), "{}", a.body);
        // This test node runs no gateway: the debugger says so rather than guessing.
        assert!(a.body.contains("runs no gateway") || a.body.contains("Route orders"), "{}", a.body);
    }
    let garbage = f
        .post(
            "/dashboard/policies/test-token",
            &f.admin,
            &[("token", "not-a-jwt"), ("route", ""), ("path", "/orders/x")],
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbage.body.contains("not a compact JWS"), "{}", garbage.body);
    assert!(!garbage.body.contains("not-a-jwt"), "{}", garbage.body);
}
