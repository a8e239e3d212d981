//! SSO sessions end server-side (sign-out, disabled or revoked user), smart lockout, device-code
//! guessing and creation limits, duplicate `/authorize` parameters, unique App ID URIs — and the
//! audit record of every refusal. Other sources are other loopback addresses (127.0.0.x): the
//! issuer counts the TCP peer, as it would other computers.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use tokengate_core::audit::AuditEvent;
use tokengate_core::store::{AuditQuery, AuditStore};

use crate::browser::{redirect_params, Browser, Page};
use crate::delegated_flows::{authorize_url, browser, sign_in_for_code};
use crate::harness::*;

const SESSION: &str = "__Host-tg_session";

fn source(last: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
}

fn browser_from(s: &DevServer, last: u8) -> Browser {
    Browser::from_source(&std::fs::read(s.s("/ca_cert")).unwrap(), source(last))
}

fn logout_url(s: &DevServer) -> String {
    format!("{}/oauth2/v2.0/logout", s.authority())
}

/// Stops the server (flushing the audit queue) and reads the issuer's audit records of `action`.
async fn audit_after_stop(s: &mut DevServer, action: &str) -> Vec<AuditEvent> {
    assert!(s.terminate().success());
    let store = tokengate_store::SqliteStore::open(&s.dir.join("tokengate.db")).await.unwrap();
    store.audit_events(&AuditQuery { action: Some(action.into()), limit: 10_000, ..Default::default() }).await.unwrap()
}

fn is_sign_in_page(p: &Page) -> bool {
    p.status == 200 && p.body.contains("name=\"password\"")
}

#[tokio::test]
async fn a_copied_session_cookie_is_useless_after_logout() {
    let mut s = DevServer::start().await;
    let mut b = browser(&s);
    sign_in_for_code(&s, &mut b, &authorize_url(&s, &[])).await;
    let copied = b.cookie(SESSION).expect("signed in: a session cookie");

    // The copy works while the session lives (it is a real session cookie)...
    let mut thief = browser(&s);
    thief.set_cookie(SESSION, &copied);
    let sso = thief.get(&authorize_url(&s, &[])).await;
    assert_eq!(sso.status, 303, "copied cookie signs in before logout: {}", sso.body);

    // ...and not after the owner signs out: the session ended on the server, not just in b.
    let out = b.get(&logout_url(&s)).await;
    assert_eq!(out.status, 200);
    assert!(!b.has_cookie(SESSION));
    let after = thief.get(&authorize_url(&s, &[])).await;
    assert!(is_sign_in_page(&after), "copied cookie after logout: {} {}", after.status, after.location());
    let silent = thief.get(&authorize_url(&s, &[("prompt", "none")])).await;
    assert_eq!(redirect_params(&silent.location())["error"], "login_required");

    let ended = audit_after_stop(&mut s, "session.ended").await;
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0].reason.as_deref(), Some("logout"));
    assert_eq!(ended[0].subject.as_deref(), Some(s.s("/user/object_id").as_str()));
}

#[tokio::test]
async fn a_disabled_or_revoked_users_sessions_end_for_good() {
    let s = DevServer::start().await;
    let oid = s.s("/user/object_id");
    let mut b = browser(&s);
    sign_in_for_code(&s, &mut b, &authorize_url(&s, &[])).await;

    s.cli(&["user", "disable", &oid]);
    let page = b.get(&authorize_url(&s, &[])).await;
    assert!(is_sign_in_page(&page), "disabled user's session: {} {}", page.status, page.location());
    s.cli(&["user", "enable", &oid]);
    // Once the issuer sees the user enabled again (a fresh sign-in works)...
    let mut other = browser(&s);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = other.get(&authorize_url(&s, &[])).await;
        let page = if is_sign_in_page(&page) {
            other.sign_in(&page, &s.s("/user/username"), &s.s("/user/password")).await
        } else {
            page
        };
        if page.status == 303 && redirect_params(&page.location()).contains_key("code") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "re-enabled user cannot sign in: {}", page.body);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // ...the session from before the disabling stays ended.
    let page = b.get(&authorize_url(&s, &[])).await;
    assert!(is_sign_in_page(&page), "old session revived: {} {}", page.status, page.location());

    // `user revoke-sessions` ends the user's live sessions too (the kill switch's user revocation).
    let revoked = s.cli(&["user", "revoke-sessions", &oid]);
    assert!(revoked.contains("every sign-in session ended"), "{revoked}");
    assert!(revoked.contains("1 sign-in sessions ended"), "the count the store reports: {revoked}");
    let page = other.get(&authorize_url(&s, &[])).await;
    assert!(is_sign_in_page(&page), "revoked session: {} {}", page.status, page.location());
}

/// Posts the sign-in form of a fresh `prompt=login` page with `password`; returns the answer.
async fn try_password(s: &DevServer, b: &mut Browser, password: &str) -> Page {
    let page = b.get(&authorize_url(s, &[("prompt", "login")])).await;
    assert!(is_sign_in_page(&page), "{}", page.body);
    b.sign_in(&page, &s.s("/user/username"), password).await
}

#[tokio::test]
async fn an_attacker_cannot_lock_the_user_out_of_a_familiar_browser_or_address() {
    let mut s = DevServer::start().await;
    let password = s.s("/user/password");
    // The user signed in before from this browser (127.0.0.1).
    let mut familiar = browser(&s);
    sign_in_for_code(&s, &mut familiar, &authorize_url(&s, &[])).await;
    assert!(familiar.has_cookie("__Host-tg_known"), "a known-browser cookie after sign-in");

    // An attacker on 127.0.0.2 guesses until limited.
    let mut attacker = browser_from(&s, 2);
    let mut limited_after = None;
    for attempt in 0..40 {
        let r = try_password(&s, &mut attacker, &format!("guess-{attempt}")).await;
        if r.status == 429 {
            assert!(r.headers.get("retry-after").is_some());
            assert!(r.body.contains("Too many sign-in attempts"), "{}", r.body);
            limited_after = Some(attempt);
            break;
        }
        assert!(r.body.contains("incorrect"), "{}", r.body);
    }
    assert_eq!(limited_after, Some(20), "the per-user-and-source budget (20 a minute) is spent");
    // The attacker stays limited, even with the right password.
    assert_eq!(try_password(&s, &mut attacker, &password).await.status, 429);
    // A stranger's browser on an unfamiliar address is held back by the per-user limit...
    assert_eq!(try_password(&s, &mut browser_from(&s, 3), &password).await.status, 429);
    // ...but the familiar browser signs in, and so does a new browser on the familiar address.
    let ok = try_password(&s, &mut familiar, &password).await;
    assert_eq!(ok.status, 303, "familiar browser locked out: {}", ok.body);
    assert!(redirect_params(&ok.location()).contains_key("code"));
    let ok = try_password(&s, &mut browser(&s), &password).await;
    assert_eq!(ok.status, 303, "familiar address locked out: {}", ok.body);
    assert_eq!(try_password(&s, &mut attacker, &password).await.status, 429, "the attacker is still limited");

    let events = audit_after_stop(&mut s, "sign_in").await;
    let locked: Vec<_> = events.iter().filter(|e| e.reason.as_deref() == Some("AADSTS50053")).collect();
    assert_eq!(locked.len(), 4, "every refused attempt is audited");
    assert!(locked
        .iter()
        .any(|e| e.client_ip.as_deref() == Some("127.0.0.2") && e.detail["limit"] == "user_and_source"));
    assert!(locked.iter().any(|e| e.client_ip.as_deref() == Some("127.0.0.3") && e.detail["limit"] == "user"));
    assert_eq!(events.iter().filter(|e| e.reason.as_deref() == Some("AADSTS50126")).count(), 20);
    for e in &events {
        assert!(!serde_json::to_string(&e.detail).unwrap().contains(&password), "password in audit");
    }
}

async fn start_device_flow(s: &DevServer, http: &reqwest::Client) -> (u16, serde_json::Value, Option<String>) {
    let scope = format!("{}/Demo.Read openid profile offline_access", s.s("/api/app_id_uri"));
    let r = http
        .post(format!("{}/oauth2/v2.0/devicecode", s.authority()))
        .form(&[("client_id", s.s("/public_client/client_id")), ("scope", scope)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, r.json().await.unwrap_or_default(), retry)
}

fn http_from(s: &DevServer, last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source(last))
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(s.s("/ca_cert")).unwrap()).unwrap())
        .tls_built_in_root_certs(false)
        .build()
        .unwrap()
}

/// Enters `code` on the verification page from `b`; returns the answer to the POST.
async fn enter(s: &DevServer, b: &mut Browser, code: &str) -> Page {
    let entry = b.get(&format!("{}/devicelogin", s.base_url())).await;
    b.post(&entry.action(), &[("csrf", &entry.hidden("csrf")), ("user_code", code)], None).await
}

#[tokio::test]
async fn wrong_device_codes_from_many_sources_never_block_a_valid_code() {
    let mut s = DevServer::start().await;
    let (status, flow, _) = start_device_flow(&s, &s.http).await;
    assert_eq!(status, 200, "{flow}");
    let user_code = flow["user_code"].as_str().unwrap().to_owned();

    // Sources guess until each is limited (100 misses each), until a new source's first miss is
    // refused too: the budget across everyone (600) is spent.
    let (mut misses, mut sources, mut spent) = (0, 0, false);
    for last in 2..=20u8 {
        sources += 1;
        let mut guesser = browser_from(&s, last);
        let entry = guesser.get(&format!("{}/devicelogin", s.base_url())).await;
        let csrf = entry.hidden("csrf");
        for i in 0..150 {
            let guess = format!("BCDFG{:04}", i).replace('0', "Z").replace('1', "X");
            let r = guesser.post(&entry.action(), &[("csrf", &csrf), ("user_code", &guess)], None).await;
            if r.status == 429 {
                assert!(r.headers.get("retry-after").is_some());
                spent = i == 0;
                break;
            }
            assert_eq!(r.status, 400, "{}", r.body);
            misses += 1;
        }
        if spent {
            break;
        }
    }
    assert!(spent && misses >= 600, "throttled across sources after {misses} misses");
    // The valid code is accepted from a new source although the shared budget is spent; a source
    // over its own budget learns nothing, not even about a valid code (no hit/miss oracle).
    let r = enter(&s, &mut browser_from(&s, 30), &user_code).await;
    assert_eq!(r.status, 303, "valid code refused after others guessed: {}", r.body);
    let (_, second, _) = start_device_flow(&s, &s.http).await;
    let r = enter(&s, &mut browser_from(&s, 2), second["user_code"].as_str().unwrap()).await;
    assert_eq!(r.status, 429, "a limited source is refused before its code is looked up: {}", r.body);

    let events = audit_after_stop(&mut s, "device_code.entered").await;
    let reason = |r: &str| events.iter().filter(|e| e.reason.as_deref() == Some(r)).count();
    assert_eq!(reason("AADSTS70019"), misses, "every wrong code is audited");
    assert_eq!(reason("AADSTS90055"), sources + 1, "every throttled entry is audited");
    assert_eq!(events.iter().filter(|e| e.reason.is_none()).count(), 1, "the accepted code is audited");
    for e in &events {
        assert!(!serde_json::to_string(e).unwrap_or_default().contains(&user_code), "user code in audit");
    }
}

#[tokio::test]
async fn device_code_creation_is_rate_limited_per_source() {
    let mut s = DevServer::start().await;
    let flooder = http_from(&s, 2);
    let mut created = 0;
    let (status, body, retry) = loop {
        let (status, body, retry) = start_device_flow(&s, &flooder).await;
        if status != 200 || created == 100 {
            break (status, body, retry);
        }
        created += 1;
    };
    assert_eq!(created, 30, "30 device codes a minute per source");
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some_and(|r| r.parse::<u64>().unwrap() >= 1), "Retry-After");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(aadsts(&body), 90055);
    assert!(body["error_description"].as_str().unwrap().starts_with("AADSTS90055:"), "{body}");
    // Another source is not affected.
    let (status, body, _) = start_device_flow(&s, &http_from(&s, 3)).await;
    assert_eq!(status, 200, "{body}");

    let events = audit_after_stop(&mut s, "device_code.created").await;
    let allowed = events.iter().filter(|e| e.reason.is_none() && e.status == Some(200)).count();
    assert_eq!(allowed, 31, "every device code created is audited");
    let throttled: Vec<_> = events.iter().filter(|e| e.reason.as_deref() == Some("AADSTS90055")).collect();
    assert_eq!(throttled.len(), 1);
    assert_eq!((throttled[0].client_ip.as_deref(), throttled[0].status), (Some("127.0.0.2"), Some(429)));
}

#[tokio::test]
async fn duplicated_authorize_parameters_are_refused_and_audited() {
    let mut s = DevServer::start().await;
    let mut b = browser(&s);
    let url = authorize_url(&s, &[]);
    // client_id or redirect_uri doubled: neither can be trusted → a page, never a redirect.
    for name in ["client_id", "redirect_uri"] {
        let value = if name == "client_id" { s.s("/public_client/client_id") } else { "http://localhost".into() };
        let doubled = format!("{url}&{name}={}", form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>());
        let page = b.get(&doubled).await;
        assert_eq!(page.status, 400, "{name}: {}", page.body);
        assert!(page.headers.get("location").is_none());
        assert!(page.body.contains(name), "{}", page.body);
    }
    // Anything else doubled: invalid_request at the verified redirect URI, state kept if single.
    let page = b.get(&format!("{url}&scope=openid")).await;
    assert_eq!(page.status, 303);
    let params = redirect_params(&page.location());
    assert_eq!(params["error"], "invalid_request", "{params:?}");
    assert!(params["error_description"].contains("'scope'"), "{params:?}");
    assert!(params.contains_key("state"));
    let page = b.get(&format!("{url}&state=other")).await;
    let params = redirect_params(&page.location());
    assert_eq!(params["error"], "invalid_request");
    assert!(!params.contains_key("state"), "a doubled state is not echoed");
    // Other refusals of the pages are audited too: prompt=none without a session, a form post
    // without its CSRF token, a tampered signed request.
    let none = b.get(&authorize_url(&s, &[("prompt", "none")])).await;
    assert_eq!(redirect_params(&none.location())["error"], "login_required");
    let page = b.get(&url).await;
    let (continuation, csrf) = (page.hidden("continuation"), page.hidden("csrf"));
    let no_csrf = b.post(&page.action(), &[("continuation", &continuation), ("username", "x")], None).await;
    assert_eq!(no_csrf.status, 403);
    let tampered = format!("{}x", continuation);
    let altered = b.post(&page.action(), &[("continuation", &tampered), ("csrf", &csrf)], None).await;
    assert_eq!(altered.status, 400);

    assert!(s.terminate().success());
    let store = tokengate_store::SqliteStore::open(&s.dir.join("tokengate.db")).await.unwrap();
    let events = store.audit_events(&AuditQuery { limit: 10_000, ..Default::default() }).await.unwrap();
    let count = |action: &str, reason: &str| {
        events.iter().filter(|e| e.action == action && e.reason.as_deref() == Some(reason)).count()
    };
    assert_eq!(count("authorize.rejected", "AADSTS90015"), 4, "{events:?}");
    assert_eq!(count("authorize.rejected", "AADSTS50058"), 1, "prompt=none refusal");
    assert_eq!(count("page.post_refused", "csrf_token"), 1);
    assert_eq!(count("page.post_refused", "continuation_invalid"), 1);
    let rejected =
        events.iter().filter(|e| e.action == "authorize.rejected" && e.reason.as_deref() == Some("AADSTS90015"));
    assert!(rejected.clone().all(|e| e.client_ip.as_deref() == Some("127.0.0.1")));
}

#[tokio::test]
async fn app_id_uris_are_unique_across_tenants() {
    let s = DevServer::start().await;
    let created = s.cli(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    let tenant = created.split_whitespace().nth(1).unwrap().to_owned();
    let taken = s.s("/api/app_id_uri");
    let out = Command::new(BIN)
        .args(["app", "create", "--tenant", &tenant, "--name", "squatter", "--identifier-uri", &taken])
        .arg("--dev-dir")
        .arg(&s.dir)
        .output()
        .unwrap();
    assert!(!out.status.success(), "another tenant's app took {taken}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&taken) && stderr.contains("already used"), "a clear error: {stderr}");
    let listed = s.cli(&["app", "list", "--tenant", &tenant]);
    assert!(!listed.contains("squatter"), "{listed}");
}
