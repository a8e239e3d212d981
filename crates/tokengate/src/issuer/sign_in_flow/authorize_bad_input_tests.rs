//! `/authorize` bad input, in process: a request the client cannot be trusted with gets an
//! error page (400, framing denied, never a redirect); a good client with a bad request gets the
//! error at its redirect URI; a good request gets the sign-in page.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use axum::body::Body;
use axum::http::{header, Request, Response};
use tokengate_core::encoding::{b64url, sha256};

use crate::test_support::{body_text, directory, send, TestDirectory, API_URI};

fn authorize(dir: &TestDirectory, overrides: &[(&str, &str)]) -> Request<Body> {
    let client_id = dir.public_client.app_id.to_string();
    let scope = format!("{API_URI}/Orders.Read openid");
    let challenge = b64url(sha256(b"a-verifier-long-enough-for-pkce-0123456789"));
    let defaults = [
        ("client_id", client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", "http://localhost"),
        ("scope", scope.as_str()),
        ("state", "s-1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in defaults {
        let v = overrides.iter().find(|(ok, _)| *ok == k).map(|(_, ov)| *ov).unwrap_or(v);
        q.append_pair(k, v);
    }
    let uri = format!("/{}/oauth2/v2.0/authorize?{}", dir.tenant.id, q.finish());
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

fn assert_protected(r: &Response<Body>, what: &str) {
    assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY", "{what}");
    assert!(
        r.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"),
        "{what}"
    );
    assert!(r.headers()[header::CACHE_CONTROL].to_str().unwrap().contains("no-store"), "{what}");
}

#[tokio::test]
async fn untrusted_redirects_and_clients_get_an_error_page_never_a_redirect() {
    let dir = directory().await;
    let router = crate::issuer::router(dir.issuer_state());
    for bad in [
        "http://localhost/",
        "HTTP://localhost",
        "http://localhost/..",
        "http://localhost?x=1",
        "http://localhost#f",
        "http://good@localhost",
        "http://localhost@evil.example",
        "https://localhost",
        "http://evil.example",
    ] {
        let page = send(router.clone(), authorize(&dir, &[("redirect_uri", bad)])).await;
        assert_eq!(page.status(), 400, "{bad}");
        assert!(page.headers().get(header::LOCATION).is_none(), "{bad}: no redirect");
        assert_protected(&page, bad);
        assert!(body_text(page).await.contains("AADSTS50011"), "{bad}");
    }
    let unknown = send(router.clone(), authorize(&dir, &[("client_id", "00000000-0000-0000-0000-000000000001")])).await;
    assert_eq!(unknown.status(), 400);
    assert!(unknown.headers().get(header::LOCATION).is_none());
    assert!(body_text(unknown).await.contains("AADSTS700016"));
}

#[tokio::test]
async fn a_trusted_client_gets_errors_at_its_redirect_and_good_requests_the_sign_in_page() {
    let dir = directory().await;
    let router = crate::issuer::router(dir.issuer_state());
    let implicit = send(router.clone(), authorize(&dir, &[("response_type", "token")])).await;
    let location = implicit.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(implicit.status().is_redirection(), "{}", implicit.status());
    assert!(location.starts_with("http://localhost"), "{location}");
    assert!(location.contains("error=unsupported_response_type") && location.contains("state=s-1"), "{location}");

    // Loopback port variance for a public native client (RFC 8252 §7.3).
    let page = send(router.clone(), authorize(&dir, &[("redirect_uri", "http://localhost:53124")])).await;
    let location = page.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(page.status() == 200 || page.status().is_redirection(), "{}", page.status());
    assert!(!location.contains("error="), "accepted, on to sign-in: {location}");
    assert!(!location.starts_with("http://localhost"), "no code before signing in: {location}");
}
