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
    for path in ["/dashboard/", "/dashboard/keys", "/dashboard/keys?x=1"] {
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
        let cross_site =
            f.post_raw(path, Some(&f.admin), &[("csrf", &f.csrf(&f.admin))], Some("https://evil.example")).await;
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

#[tokio::test]
async fn sign_in_sends_the_browser_to_the_issuer_with_pkce_and_a_bound_state() {
    let f = fixture().await;
    let a = f.get("/dashboard/sign-in?return_to=%2Fdashboard%2Fkeys", None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let location = url::Url::parse(a.location()).unwrap();
    assert_eq!(location.path(), format!("/{}/oauth2/v2.0/authorize", f.api.dir.tenant.id));
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43, "a SHA-256 challenge");
    assert_eq!(q["redirect_uri"], format!("{PUBLIC_URL}/dashboard/callback"));
    assert!(q["scope"].split(' ').any(|s| s == "api://tokengate-admin/user_impersonation"), "{}", q["scope"]);
    assert!(!q["state"].is_empty() && !q["nonce"].is_empty());
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("tg_dashboard_sign_in=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax")
    );
    // Two sign-ins never share a state or a browser binding.
    let b = f.get("/dashboard/sign-in", None).await;
    assert_ne!(a.location(), b.location());
    assert_ne!(a.headers[header::SET_COOKIE], b.headers[header::SET_COOKIE]);
}

#[tokio::test]
async fn a_callback_from_another_browser_or_replayed_or_unknown_starts_no_session() {
    let f = fixture().await;
    let started = f.get("/dashboard/sign-in", None).await;
    let location = url::Url::parse(started.location()).unwrap();
    let state = location.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    // The right state, but not the browser that started it (login CSRF): refused, and the state
    // is spent.
    let other = f.get(&format!("/dashboard/callback?code=c&state={state}"), None).await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST, "{}", other.body);
    assert!(other.body.contains("Sign in again"), "{}", other.body);
    assert!(other.headers.get(header::SET_COOKIE).is_none(), "no session cookie");
    let unknown = f.get("/dashboard/callback?code=c&state=made-up", None).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let error = f.get("/dashboard/callback?error=access_denied&error_description=AADSTS50105%3A+no+role", None).await;
    assert_eq!(error.status, StatusCode::BAD_REQUEST);
    assert!(error.body.contains("access_denied") && error.body.contains("AADSTS50105"), "{}", error.body);
}

#[tokio::test]
async fn sign_out_ends_the_session_here_and_sends_the_browser_to_the_issuer() {
    let f = fixture().await;
    let a = f.post("/dashboard/sign-out", &f.auditor, &[]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(a.location().starts_with(&format!("https://issuer.test/{}/oauth2/v2.0/logout?", f.api.dir.tenant.id)));
    assert!(a.location().contains("post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A8081%2Fdashboard%2Fsigned-out"));
    let after = f.get("/dashboard/keys", Some(&f.auditor)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the old cookie is worth nothing now");
    // Sign-out itself is a form: a forged one ends nothing.
    let forged = f.post_raw("/dashboard/sign-out", Some(&f.admin), &[("csrf", "x")], Some(PUBLIC_URL)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(f.get("/dashboard/keys", Some(&f.admin)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn assets_are_served_with_their_types_and_unknown_ones_are_not() {
    let f = fixture().await;
    let css = f.get("/dashboard/assets/dashboard.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(css.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let js = f.get("/dashboard/assets/htmx.min.js", None).await;
    assert!(js.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(f.get("/dashboard/assets/..%2Fmaster.key", None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(f.get("/dashboard/assets/nothing.js", None).await.status, StatusCode::NOT_FOUND);
}

/// Forms any signed-in person may post (no state change, or only their own session's): they
/// still need the session's anti-forgery token and the dashboard's origin.
const READ_FORMS: &[&str] = &["/dashboard/sign-out", "/dashboard/debugger", "/dashboard/policies/test-token"];

#[tokio::test]
async fn every_read_form_refuses_forgery_but_not_auditors() {
    let f = fixture().await;
    for path in READ_FORMS {
        let cross_site =
            f.post_raw(path, Some(&f.auditor), &[("csrf", &f.csrf(&f.auditor))], Some("https://evil.example")).await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN, "{path}: cross-site origin");
        let forged = f.post_raw(path, Some(&f.auditor), &[("csrf", "forged")], Some(PUBLIC_URL)).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{path}: forged token");
        let other_session = f.post_raw(path, Some(&f.auditor), &[("csrf", &f.csrf(&f.admin))], None).await;
        assert_eq!(other_session.status, StatusCode::FORBIDDEN, "{path}: another session's token");
    }
    // An auditor's well-formed debugger post is answered (it changes nothing).
    let ok = f.post("/dashboard/debugger", &f.auditor, &[("token", "not.a.token")]).await;
    assert_ne!(ok.status, StatusCode::FORBIDDEN, "{}", ok.body);
}

/// Every POST route the dashboard declares is in `WRITE_FORMS_FOR_TESTS` or `READ_FORMS`, so the
/// forgery and role tests above cannot miss a form added later. Read from the sources: the
/// router does not list its routes.
#[test]
fn every_post_route_is_covered_by_the_form_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dashboard");
    let listed: Vec<&str> = write_forms().map(|(p, _)| *p).chain(READ_FORMS.iter().copied()).collect();
    let mut missing = vec![];
    let mut posts = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with("_tests.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for declared in post_routes(&source) {
            posts += 1;
            if !listed.iter().any(|l| route_matches(&declared, l)) {
                missing.push(format!("{declared} ({})", path.display()));
            }
        }
    }
    assert!(posts > 20, "the scan found the dashboard's POST routes ({posts})");
    assert!(missing.is_empty(), "POST routes no form test covers: {missing:#?}");
}

/// The paths of `.route("/dashboard/...", ... post(...))` calls in `source`.
fn post_routes(source: &str) -> Vec<String> {
    let mut found = vec![];
    for (start, _) in source.match_indices(".route(") {
        let call = &source[start + ".route(".len()..];
        let Some(path) = call.trim_start().strip_prefix('"').and_then(|rest| rest.split('"').next()) else { continue };
        let mut depth = 1;
        let end = call
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(call.len(), |(i, _)| i);
        if path.starts_with("/dashboard") && call[..end].contains("post(") {
            found.push(path.to_owned());
        }
    }
    found
}

/// A declared route (`{id}` segments) matches a concrete path of the same shape.
fn route_matches(declared: &str, concrete: &str) -> bool {
    let (d, c): (Vec<_>, Vec<_>) = (declared.split('/').collect(), concrete.split('/').collect());
    d.len() == c.len() && d.iter().zip(&c).all(|(d, c)| d == c || (d.starts_with('{') && d.ends_with('}')))
}
