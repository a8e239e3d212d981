//! The users and groups pages over the real admin API.

use axum::http::StatusCode;

use crate::dashboard::dashboard_test_support::fixture;

const PASSWORD: &str = "a rather long password 42";

#[tokio::test]
async fn an_admin_creates_disables_and_groups_a_user() {
    let f = fixture().await;
    let fields = [("user_principal_name", "bo@contoso.test"), ("display_name", "Bo Builder"), ("password", PASSWORD)];
    let created = f.post("/dashboard/users", &f.admin, &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let user_page = created.location().to_owned();
    assert!(user_page.starts_with("/dashboard/users/"), "{user_page}");
    let message = f.flash(&f.admin).unwrap();
    assert!(message.contains("bo@contoso.test") && !message.contains(PASSWORD), "{message}");
    let list = f.get("/dashboard/users", Some(&f.admin)).await.body;
    assert!(list.contains("bo@contoso.test") && list.contains("Bo Builder") && !list.contains(PASSWORD));

    f.post(&format!("{user_page}/disable"), &f.admin, &[]).await;
    assert!(f.flash(&f.admin).unwrap().starts_with("Disabled"));
    let page = f.get(&user_page, Some(&f.admin)).await.body;
    assert!(page.contains("disabled") && page.contains("Enable sign-in"), "{page}");

    let group = f.post("/dashboard/groups", &f.admin, &[("display_name", "Builders")]).await;
    let group_page = group.location().to_owned();
    assert!(group_page.starts_with("/dashboard/groups/"), "{group_page}");
    f.flash(&f.admin);
    f.post(&format!("{group_page}/members"), &f.admin, &[("user", "bo@contoso.test")]).await;
    assert!(f.flash(&f.admin).unwrap().starts_with("Added bo@contoso.test"));
    let members = f.get(&group_page, Some(&f.admin)).await.body;
    assert!(members.contains("bo@contoso.test"), "{members}");
    let groups = f.get(&user_page, Some(&f.admin)).await.body;
    assert!(groups.contains("Builders"));
}

#[tokio::test]
async fn invalid_input_shows_the_apis_words_and_creates_nothing() {
    let f = fixture().await;
    let fields = [("user_principal_name", "eve@elsewhere.test"), ("display_name", "Eve"), ("password", PASSWORD)];
    let a = f.post("/dashboard/users", &f.admin, &fields).await;
    assert_eq!(a.location(), "/dashboard/users");
    let message = f.flash(&f.admin).unwrap();
    assert!(message.contains("domain") || message.contains("elsewhere"), "{message}");
    assert!(!message.contains(PASSWORD));
    assert!(!f.get("/dashboard/users", Some(&f.admin)).await.body.contains("eve@elsewhere.test"));

    let group = f.post("/dashboard/groups", &f.admin, &[("display_name", "Ops")]).await.location().to_owned();
    f.flash(&f.admin);
    f.post(&format!("{group}/members"), &f.admin, &[("user", "nobody@contoso.test")]).await;
    assert!(f.flash(&f.admin).unwrap().contains("not found"));
}

#[tokio::test]
async fn revoking_sessions_and_deleting_need_confirmation() {
    let f = fixture().await;
    let user = format!("/dashboard/users/{}", f.api.dir.user.object_id);
    f.post(&format!("{user}/revoke-sessions"), &f.admin, &[]).await;
    assert!(f.flash(&f.admin).unwrap().starts_with("Nothing was revoked"));
    f.post(&format!("{user}/revoke-sessions"), &f.admin, &[("confirm", "yes")]).await;
    let message = f.flash(&f.admin).unwrap();
    assert!(message.starts_with("Revoked ada@contoso.test's sign-in sessions"), "{message}");
    f.post(&format!("{user}/delete"), &f.admin, &[]).await;
    assert!(f.flash(&f.admin).unwrap().starts_with("Nothing was deleted"));
    assert_eq!(f.get(&user, Some(&f.admin)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_auditor_sees_users_and_groups_without_controls() {
    let f = fixture().await;
    let group = f.post("/dashboard/groups", &f.admin, &[("display_name", "Readers")]).await.location().to_owned();
    for path in [
        "/dashboard/users".to_owned(),
        format!("/dashboard/users/{}", f.api.dir.user.object_id),
        "/dashboard/groups".to_owned(),
        group,
    ] {
        let page = f.get(&path, Some(&f.auditor)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(!page.body.contains("method=\"post\" action=\"/dashboard/users"), "{path}");
        assert!(!page.body.contains("method=\"post\" action=\"/dashboard/groups"), "{path}");
    }
    let refused = f
        .post(
            "/dashboard/users",
            &f.auditor,
            &[("user_principal_name", "x@contoso.test"), ("display_name", "X"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
