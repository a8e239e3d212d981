//! The dashboard's handlers in process: sign-in is required, pages carry the browser protections,
//! and every form refuses a forged post and an auditor's write (tests of single pages live next to
//! them in `*_tests.rs`; `every_form_refuses_forgery_and_auditors` covers every write route).

use axum::http::{header, StatusCode};

use super::dashboard_test_support::{fixture, PUBLIC_URL};

/// Every dashboard form that changes something, with fields that would succeed as an admin (so
/// a refusal can only come from the check under test): each page module lists its own.
fn write_forms() -> impl Iterator<Item = &'static (&'static str, &'static [(&'static str, &'static str)])> {
    [
        super::overview_page::WRITE_FORMS_FOR_TESTS,
        super::policies_pages::WRITE_FORMS_FOR_TESTS,
        super::debugger_page::WRITE_FORMS_FOR_TESTS,
        super::apps_pages::WRITE_FORMS_FOR_TESTS,
        super::directory_pages::WRITE_FORMS_FOR_TESTS,
        super::revocations_page::WRITE_FORMS_FOR_TESTS,
        super::keys_page::WRITE_FORMS_FOR_TESTS,
        super::audit_pages::WRITE_FORMS_FOR_TESTS,
    ]
    .into_iter()
    .flatten()
}

#[tokio::test]
async fn a_signed_out_visitor_is_sent_to_sign_in_and_back() {
    let f = fixture().await;
    for path in ["/dashboard/", "/dashboard/keys", "/dashboard/apps?x=1"] {
        let a = f.get(path, None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        let expected = format!("/dashboard/sign-in?return_to={}", super::admin_calls::encode(path));
        assert_eq!(a.location(), expected, "{path}");
    }
    let forged = f.get("/dashboard/keys", Some("not-a-session")).await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
    let post = f.post_raw("/dashboard/keys/rotate", None, &[("csrf", "x")], Some(PUBLIC_URL)).await;
    assert_eq!(post.status, StatusCode::UNAUTHORIZED, "{}", post.body);
    assert!(post.body.contains("nothing was changed"), "{}", post.body);
}

#[tokio::test]
async fn pages_carry_the_browser_protections() {
    let f = fixture().await;
    let a = f.get("/dashboard/keys", Some(&f.admin)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let csp = a.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(a.headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(a.headers[header::CACHE_CONTROL].to_str().unwrap().contains("no-store"));
    // No inline script or style for the CSP to have to allow.
    assert!(!a.body.contains("<script>") && !a.body.contains(" style=") && !a.body.contains("<style"), "{}", a.body);
}

#[tokio::test]
async fn another_host_is_sent_to_the_dashboards_own_address() {
    let f = fixture().await;
    let request = axum::http::Request::builder()
        .uri("/dashboard/keys")
        .header(header::HOST, "rebound.example:8081")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = crate::test_support::send(f.router.clone(), request).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], format!("{PUBLIC_URL}/dashboard/keys"));
}

#[tokio::test]
async fn an_admin_sees_write_controls_and_an_auditor_does_not() {
    let f = fixture().await;
    let admin = f.get("/dashboard/keys", Some(&f.admin)).await;
    assert!(admin.body.contains("action=\"/dashboard/keys/rotate\""), "{}", admin.body);
    let auditor = f.get("/dashboard/keys", Some(&f.auditor)).await;
    assert_eq!(auditor.status, StatusCode::OK);
    assert!(auditor.body.contains("<code>"), "the auditor sees the keys: {}", auditor.body);
    assert!(!auditor.body.contains("action=\"/dashboard/keys/rotate\""), "{}", auditor.body);
    assert!(auditor.body.contains("Auditor (read only)"));
}

#[tokio::test]
async fn every_form_refuses_forgery_and_auditors() {
    let f = fixture().await;
    for (path, fields) in write_forms() {
        let cross_site = f.post_raw(path, Some(&f.admin), &[("csrf", &f.csrf(&f.admin))], Some("https://evil.example")).await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN, "{path}: cross-site origin");
        let mut no_token = fields.to_vec();
        no_token.push(("csrf", "forged"));
        let forged = f.post_raw(path, Some(&f.admin), &no_token, Some(PUBLIC_URL)).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{path}: forged token");
        let other_session = f.post_raw(path, Some(&f.admin), &[("csrf", &f.csrf(&f.auditor))], None).await;
        assert_eq!(other_session.status, StatusCode::FORBIDDEN, "{path}: another session's token");
        let auditor = f.post(path, &f.auditor, fields).await;
        assert_eq!(auditor.status, StatusCode::FORBIDDEN, "{path}: auditor");
        assert!(auditor.body.contains("auditor"), "{path}: {}", auditor.body);
    }
}

#[tokio::test]
async fn an_admin_rotates_keys_through_the_api() {
    let f = fixture().await;
    let before = f.get("/dashboard/keys", Some(&f.admin)).await.body;
    let a = f.post("/dashboard/keys/rotate", &f.admin, &[]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/dashboard/keys");
    let flash = f.flash(&f.admin).expect("a message for the next page");
    assert!(flash.starts_with("Rotated: "), "{flash}");
    let kid = flash.trim_start_matches("Rotated: ").split(' ').next().unwrap().to_owned();
    let after = f.get("/dashboard/keys", Some(&f.admin)).await.body;
    assert!(after.contains(&kid), "the new active key is listed");
    assert_ne!(before, after);
}
