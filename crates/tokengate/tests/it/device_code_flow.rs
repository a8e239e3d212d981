//! The device authorization grant end to end: a device asks for codes and polls; a person enters
//! the code on `/devicelogin`, signs in and confirms through the issuer's pages. Polling errors,
//! single use, expiry, declining, another client polling, and code guessing.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::Browser;
use crate::harness::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn scope(s: &DevServer) -> String {
    format!("{}/Demo.Read openid profile offline_access", s.s("/api/app_id_uri"))
}

pub async fn start_flow(s: &DevServer) -> Value {
    let (status, body) = s
        .post_form(
            &format!("{}/oauth2/v2.0/devicecode", s.authority()),
            &[("client_id", &s.s("/public_client/client_id")), ("scope", &scope(s))],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn poll(s: &DevServer, flow: &Value) -> (u16, Value) {
    let client_id = s.s("/public_client/client_id");
    let code = flow["device_code"].as_str().unwrap();
    // MSAL sends the code twice, as `device_code` and `code`.
    s.post_form(
        &s.token_url(),
        &[("grant_type", DEVICE_GRANT), ("client_id", &client_id), ("device_code", code), ("code", code)],
    )
    .await
}

/// Enters `user_code` on the verification page and signs in if asked; returns the confirmation page.
pub async fn enter_code(s: &DevServer, b: &mut Browser, user_code: &str) -> crate::browser::Page {
    let entry = b.get(&format!("{}/devicelogin", s.base_url())).await;
    assert_eq!(entry.status, 200);
    entry.assert_protected();
    let csrf = entry.hidden("csrf");
    let posted = b.post(&entry.action(), &[("csrf", &csrf), ("user_code", user_code)], None).await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let page = b.get(&posted.location()).await;
    if page.body.contains("name=\"password\"") {
        return b.sign_in(&page, &s.s("/user/username"), &s.s("/user/password")).await;
    }
    page
}

async fn wait_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        tokio::time::sleep(t - now).await;
    }
}

#[tokio::test]
async fn device_code_flow_through_the_pages() {
    let dir = std::env::temp_dir().join(format!("tokengate-it-{}", uuid::Uuid::new_v4()));
    let s = DevServer::start_with(dir, &["--device-code-lifetime", "10"]).await;
    let mut b = Browser::new(&std::fs::read(s.s("/ca_cert")).unwrap());

    let a = start_flow(&s).await;
    let user_code = a["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(a["verification_uri"], format!("{}/devicelogin", s.base_url()));
    assert_eq!(a["expires_in"], 10, "--device-code-lifetime");
    assert_eq!(a["interval"], 5);
    assert!(a["message"].as_str().unwrap().contains(user_code));
    let first_poll = Instant::now();
    let (status, body) = poll(&s, &a).await;
    assert_eq!((status, body["error"].as_str(), aadsts(&body)), (400, Some("authorization_pending"), 70016));

    // Code B: polled too fast, polled by another client, then left to expire.
    let bflow = start_flow(&s).await;
    let b_started = Instant::now();
    assert_eq!(poll(&s, &bflow).await.1["error"], "authorization_pending");
    let (status, body) = poll(&s, &bflow).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")), "{body}");
    let (cid, secret) = (s.s("/confidential_client/client_id"), s.s("/confidential_client/client_secret"));
    let code_b = bflow["device_code"].as_str().unwrap();
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[("grant_type", DEVICE_GRANT), ("client_id", &cid), ("client_secret", &secret), ("device_code", code_b)],
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "another client's device code: {body}");

    // Code C: the person declines.
    let cflow = start_flow(&s).await;
    let confirm = enter_code(&s, &mut b, cflow["user_code"].as_str().unwrap()).await;
    let done = b.consent(&confirm, "decline").await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("cancelled"), "{}", done.body);
    let (status, body) = poll(&s, &cflow).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("authorization_declined")), "{body}");

    // Code A: typed in lower case with a dash, signed in (SSO from C), confirmed.
    let typed = format!("{}-{}", user_code[..4].to_lowercase(), &user_code[4..]);
    let confirm = enter_code(&s, &mut b, &typed).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    confirm.assert_protected();
    assert!(confirm.body.contains("Demo CLI") && confirm.body.contains(&s.s("/user/username")), "{}", confirm.body);
    let done = b.consent(&confirm, "accept").await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("signed in"), "{}", done.body);
    // Single use: the same code cannot be entered again.
    let entry = b.get(&format!("{}/devicelogin", s.base_url())).await;
    let again = b.post(&entry.action(), &[("csrf", &entry.hidden("csrf")), ("user_code", user_code)], None).await;
    assert_eq!(again.status, 400, "a user code is used once");

    wait_until(first_poll + Duration::from_millis(5_100)).await;
    let (status, tokens) = poll(&s, &a).await;
    assert_eq!(status, 200, "{tokens}");
    let keys: Value =
        s.http.get(format!("{}/discovery/v2.0/keys", s.authority())).send().await.unwrap().json().await.unwrap();
    let at = verify_with_jwks(tokens["access_token"].as_str().unwrap(), &keys);
    assert_eq!(at["scp"], "Demo.Read");
    assert_eq!(at["oid"], s.s("/user/object_id"));
    assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string());
    let (status, body) = poll(&s, &a).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "redeemed once: {body}");

    wait_until(b_started + Duration::from_millis(10_500)).await;
    let (status, body) = poll(&s, &bflow).await;
    assert_eq!((status, body["error"].as_str(), aadsts(&body)), (400, Some("expired_token"), 70020), "{body}");
}

#[tokio::test]
async fn device_code_guessing_is_rate_limited_and_csrf_checked() {
    let s = DevServer::start().await;
    let mut b = Browser::new(&std::fs::read(s.s("/ca_cert")).unwrap());
    let entry = b.get(&format!("{}/devicelogin", s.base_url())).await;
    let no_csrf = b.post(&entry.action(), &[("user_code", "BCDFGHJKM")], None).await;
    assert_eq!(no_csrf.status, 403);
    let csrf = entry.hidden("csrf");
    // Malformed bodies: duplicated fields, another media type, oversized — 400, nothing decided.
    let form = "application/x-www-form-urlencoded";
    let dup =
        b.post_raw(&entry.action(), form, format!("csrf={csrf}&csrf={csrf}&user_code=BCDFGHJKM").into_bytes()).await;
    assert_eq!(dup.status, 400);
    assert!(dup.body.contains("more than once"), "{}", dup.body);
    let json = b.post_raw(&entry.action(), "application/json", br#"{"user_code":"BCDFGHJKM"}"#.to_vec()).await;
    assert_eq!(json.status, 400);
    let huge = b.post_raw(&entry.action(), form, vec![b'a'; 200 * 1024]).await;
    assert_eq!(huge.status, 400);
    huge.assert_protected();
    let cross =
        b.post(&entry.action(), &[("csrf", &csrf), ("user_code", "BCDFGHJKM")], Some("https://evil.example")).await;
    assert_eq!(cross.status, 403);
    let mut limited = None;
    for i in 0..150 {
        let guess = format!("BCDFGH{:03}", i).replace('0', "Z").replace('1', "X");
        let r = b.post(&entry.action(), &[("csrf", &csrf), ("user_code", &guess)], None).await;
        match r.status {
            400 => assert!(r.body.contains("wasn")),
            429 => {
                assert!(r.headers.get("retry-after").is_some());
                limited = Some(i);
                break;
            }
            other => panic!("guess {guess}: {other}"),
        }
    }
    let after = limited.expect("wrong codes are rate-limited");
    assert!(after <= 100, "limited after {after} guesses from one IP");
    // The limited address is refused before its codes are looked up — even a valid one, or a
    // throttled guesser could still tell hits from misses. Guesses from other addresses never
    // block a valid code (sessions_and_lockout::wrong_device_codes_from_many_sources…).
    let r = b.post(&entry.action(), &[("csrf", &csrf), ("user_code", "BCDFGHJKM")], None).await;
    assert_eq!(r.status, 429);
    let flow = start_flow(&s).await;
    let r = b.post(&entry.action(), &[("csrf", &csrf), ("user_code", flow["user_code"].as_str().unwrap())], None).await;
    assert_eq!(r.status, 429, "a throttled source learns nothing about codes: {}", r.body);
}
