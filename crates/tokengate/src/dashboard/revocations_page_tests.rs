//! The revocations page in process: what is revoked is listed with names, an auditor sees no
//! revoke form and is refused, and a revocation goes through its confirmation then its write.

use axum::http::StatusCode;

use crate::dashboard::dashboard_test_support::fixture;

#[tokio::test]
async fn an_admin_revokes_a_user_through_the_confirmation() {
    let f = fixture().await;
    let user = &f.api.dir.user;
    let upn = user.user_principal_name.clone();
    let confirm = f
        .post(
            "/dashboard/revocations/confirm",
            &f.admin,
            &[("kind", "user"), ("target", &upn), ("reason", "laptop stolen")],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains(&user.display_name), "the person sees who: {}", confirm.body);
    assert!(confirm.body.contains("every refresh-token family"), "{}", confirm.body);
    assert!(confirm.body.contains("browser sign-in session"), "{}", confirm.body);
    let oid = user.object_id.to_string();
    assert!(
        confirm.body.contains(&format!("name=\"target\" value=\"{oid}\"")),
        "resolved to the object id: {}",
        confirm.body
    );
    let nothing_yet = f.get("/dashboard/revocations", Some(&f.admin)).await;
    assert!(nothing_yet.body.contains("Nothing is revoked"), "the confirmation revokes nothing");

    let tenant = user.tenant_id.to_string();
    let fields =
        [("kind", "user"), ("target", oid.as_str()), ("tenant_id", tenant.as_str()), ("reason", "laptop stolen")];
    let done = f.post("/dashboard/revocations", &f.admin, &fields).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Revoked (feed version"), "{}", done.body);
    assert!(done.body.contains("refresh-token famil"), "the effects are shown: {}", done.body);

    let listed = f.get("/dashboard/revocations", Some(&f.auditor)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(listed.body.contains(&user.display_name), "the table names the user: {}", listed.body);
    assert!(listed.body.contains("laptop stolen"));
}

#[tokio::test]
async fn an_auditor_sees_no_revoke_forms_and_is_refused() {
    let f = fixture().await;
    let admin = f.get("/dashboard/revocations", Some(&f.admin)).await;
    assert!(admin.body.contains("action=\"/dashboard/revocations/confirm\""), "{}", admin.body);
    let auditor = f.get("/dashboard/revocations", Some(&f.auditor)).await;
    assert_eq!(auditor.status, StatusCode::OK, "{}", auditor.body);
    assert!(!auditor.body.contains("action=\"/dashboard/revocations"), "{}", auditor.body);
    let upn = f.api.dir.user.user_principal_name.clone();
    let refused = f.post("/dashboard/revocations/confirm", &f.auditor, &[("kind", "user"), ("target", &upn)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_pasted_token_is_confirmed_by_its_id_and_never_carried() {
    let f = fixture().await;
    let token = f.api.other_api.clone();
    let confirm = f.post("/dashboard/revocations/confirm", &f.admin, &[("kind", "token"), ("target", &token)]).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(!confirm.body.contains(&token), "the confirmation carries the token id, not the token");
    assert!(confirm.body.contains("this one access token"), "{}", confirm.body);
    let raw = f.post("/dashboard/revocations", &f.admin, &[("kind", "token"), ("target", &token)]).await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST, "a raw token is never stored as an id");
}

#[tokio::test]
async fn unknown_targets_say_what_to_enter() {
    let f = fixture().await;
    for (kind, target) in
        [("user", "nobody@nowhere.example"), ("client", "not-a-guid"), ("token", "x.y.z"), ("what", "x")]
    {
        let a = f.post("/dashboard/revocations/confirm", &f.admin, &[("kind", kind), ("target", target)]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{kind}: {}", a.body);
    }
}

#[tokio::test]
async fn a_client_revocation_names_the_app_and_its_credentials() {
    let f = fixture().await;
    let client = f.api.dir.client.app_id.to_string();
    let confirm = f
        .post(
            "/dashboard/revocations/confirm",
            &f.admin,
            &[("kind", "client"), ("target", &client), ("disable_credentials", "on")],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains(&f.api.dir.client.display_name), "{}", confirm.body);
    assert!(confirm.body.contains("name=\"disable_credentials\" value=\"true\""), "{}", confirm.body);
    let done = f
        .post(
            "/dashboard/revocations",
            &f.admin,
            &[("kind", "client"), ("target", &client), ("disable_credentials", "true")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("credential"), "{}", done.body);
}
