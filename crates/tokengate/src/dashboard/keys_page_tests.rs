//! The keys page in process: ages and warnings, and emergency removal of the active key through
//! the confirmation (the issuer rotates first) then the revocation.

use axum::http::StatusCode;
use tokengate_proto::admin::SigningKeyView;

use crate::dashboard::admin_calls::Caller;
use crate::dashboard::dashboard_test_support::{fixture, DashboardFixture};

async fn keys(f: &DashboardFixture) -> Vec<SigningKeyView> {
    let caller = Caller { access_token: &f.api.admin, peer: None };
    f.state.calls.get(caller, "/admin/v1/keys").await.unwrap()
}

#[tokio::test]
async fn the_active_key_is_removed_after_a_confirmation_saying_what_it_does() {
    let f = fixture().await;
    let before = keys(&f).await;
    let active = before.iter().find(|k| k.state == "active").expect("an active key").kid.clone();
    let page = f.get("/dashboard/keys", Some(&f.admin)).await;
    assert!(page.body.contains(&format!("name=\"target\" value=\"{active}\"")), "a remove form per key: {}", page.body);
    assert!(page.body.contains("less than a day"), "the key's age: {}", page.body);

    let confirm = f.post("/dashboard/revocations/confirm", &f.admin, &[("kind", "key"), ("target", &active)]).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("the issuer rotates first"), "{}", confirm.body);
    assert!(confirm.body.contains("JWKS"), "{}", confirm.body);
    assert!(confirm.body.contains("every token signed by key"), "{}", confirm.body);
    assert_eq!(keys(&f).await, before, "the confirmation changes nothing");

    let done = f.post("/dashboard/revocations", &f.admin, &[("kind", "key"), ("target", &active)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("signing key was removed"), "{}", done.body);
    let after = keys(&f).await;
    assert!(!after.iter().any(|k| k.kid == active), "the key is gone: {after:?}");
    assert!(after.iter().any(|k| k.state == "active"), "another key signs: {after:?}");
}

#[tokio::test]
async fn an_auditor_sees_no_remove_forms() {
    let f = fixture().await;
    let page = f.get("/dashboard/keys", Some(&f.auditor)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("remove-key"), "{}", page.body);
}

#[test]
fn an_old_active_key_and_a_missing_next_key_are_warned_about() {
    let key = |kid: &str, state: &str, created_at: &str| SigningKeyView {
        kid: kid.into(),
        state: state.into(),
        created_at: created_at.into(),
        published_until: None,
    };
    let now = super::unix("2026-12-01T00:00:00Z").unwrap();
    let old = [key("a", "active", "2026-01-01T00:00:00Z")];
    let warnings = super::warnings(&old, now);
    assert!(warnings.iter().any(|w| w.contains("334 days old")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("No next key")), "{warnings:?}");
    let fresh = [key("a", "active", "2026-11-30T00:00:00Z"), key("b", "next", "2026-11-30T00:00:00Z")];
    assert!(super::warnings(&fresh, now).is_empty());
}
