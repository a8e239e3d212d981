//! Delegated sign-in driven through the issuer's own pages, as a browser would: authorization
//! code with PKCE, consent, SSO, prompts, the token endpoint's user grants, and the issuer rows
//! of SECURITY.md that concern them.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokengate_core::encoding::{b64url, sha256};

use crate::browser::{redirect_params, Browser, Page};
use crate::harness::*;

pub const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-chars";
/// `state` must come back byte for byte, whatever it holds.
const STATE: &str = "a b+c/=&é%20~";

fn challenge() -> String {
    b64url(sha256(VERIFIER.as_bytes()))
}

pub fn browser(s: &DevServer) -> Browser {
    Browser::new(&std::fs::read(s.s("/ca_cert")).unwrap())
}

fn read_scope(s: &DevServer) -> String {
    format!("{}/Demo.Read openid profile offline_access", s.s("/api/app_id_uri"))
}

pub fn authorize_url(s: &DevServer, extra: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    let defaults = [
        ("client_id", s.s("/public_client/client_id")),
        ("response_type", "code".into()),
        ("redirect_uri", "http://localhost".into()),
        ("scope", read_scope(s)),
        ("state", STATE.into()),
        ("nonce", "nonce-1".into()),
        ("code_challenge", challenge()),
        ("code_challenge_method", "S256".into()),
    ];
    for (k, v) in &defaults {
        if !extra.iter().any(|(ek, _)| ek == k) {
            q.append_pair(k, v);
        }
    }
    for (k, v) in extra {
        if !v.is_empty() {
            q.append_pair(k, v);
        }
    }
    format!("{}/oauth2/v2.0/authorize?{}", s.authority(), q.finish())
}

/// Signs the demo user in through the pages and returns the code from the final redirect.
pub async fn sign_in_for_code(s: &DevServer, b: &mut Browser, url: &str) -> String {
    let page = b.get(url).await;
    let page = if page.status == 200 && page.body.contains("name=\"password\"") {
        b.sign_in(&page, &s.s("/user/username"), &s.s("/user/password")).await
    } else {
        page
    };
    assert_eq!(page.status, 303, "expected the redirect with the code: {}", page.body);
    let params = redirect_params(&page.location());
    assert_eq!(params.get("state").map(String::as_str), Some(STATE), "state echoed byte-exact");
    params.get("code").cloned().unwrap_or_else(|| panic!("no code in {}", page.location()))
}

pub async fn redeem(s: &DevServer, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let client_id = s.s("/public_client/client_id");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", code),
        ("redirect_uri", "http://localhost"),
        ("client_info", "1"),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    s.post_form(&s.token_url(), &form).await
}

pub async fn refresh(s: &DevServer, token: &str, scope: Option<&str>) -> (u16, Value) {
    let client_id = s.s("/public_client/client_id");
    let mut form = vec![("grant_type", "refresh_token"), ("client_id", client_id.as_str()), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    s.post_form(&s.token_url(), &form).await
}

async fn gateway_status(s: &DevServer, token: &str) -> u16 {
    reqwest::Client::new().get(s.gateway("/demo/x")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

/// Polls (bounded) until the gateway answers `status` for `token`.
pub async fn gateway_eventually(s: &DevServer, token: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = gateway_status(s, token).await;
        if got == status {
            return;
        }
        assert!(Instant::now() < deadline, "gateway still answers {got}, expected {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn jwks(s: &DevServer) -> Value {
    s.http.get(format!("{}/discovery/v2.0/keys", s.authority())).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn authorization_code_with_pkce_through_the_pages() {
    let s = DevServer::start().await;
    let mut b = browser(&s);
    let base = s.base_url();
    let page = b.get(&authorize_url(&s, &[])).await;
    assert_eq!(page.status, 200);
    page.assert_protected();
    assert!(page.body.contains("Sign in") && page.body.contains("Demo CLI"), "sign-in page names the app");

    // CSRF: no token, a wrong token, a cross-site Origin → 403, nothing else happens.
    let (continuation, csrf) = (page.hidden("continuation"), page.hidden("csrf"));
    let user = s.s("/user/username");
    let password = s.s("/user/password");
    let no_csrf = b
        .post(&page.action(), &[("continuation", &continuation), ("username", &user), ("password", &password)], None)
        .await;
    assert_eq!(no_csrf.status, 403);
    no_csrf.assert_protected();
    let wrong = b
        .post(
            &page.action(),
            &[("continuation", &continuation), ("csrf", "AAAA"), ("username", &user), ("password", &password)],
            None,
        )
        .await;
    assert_eq!(wrong.status, 403);
    let cross_site = b
        .post(
            &page.action(),
            &[("continuation", &continuation), ("csrf", &csrf), ("username", &user), ("password", &password)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(cross_site.status, 403);
    assert!(!b.has_cookie("__Host-tg_session"), "no session from refused posts");

    // Wrong password: the page again, with an error, no session.
    let bad = b.sign_in(&page, &user, "not-the-password").await;
    assert_eq!(bad.status, 200);
    assert!(bad.body.contains("incorrect"), "{}", bad.body);
    assert!(!b.has_cookie("__Host-tg_session"));

    // Right password: 303 (never 307) to the resume step, then 303 to the client with the code.
    let posted = b
        .post(
            &page.action(),
            &[("continuation", &continuation), ("csrf", &csrf), ("username", &user), ("password", &password)],
            None,
        )
        .await;
    assert_eq!(posted.status, 303, "post-login redirect is 303");
    assert!(posted.location().starts_with(&format!("{base}/flow/resume")));
    assert!(b.has_cookie("__Host-tg_session"));
    let answer = b.get(&posted.location()).await;
    assert_eq!(answer.status, 303);
    assert!(answer.location().starts_with("http://localhost?code="), "{}", answer.location());
    let params = redirect_params(&answer.location());
    assert_eq!(params["state"], STATE, "state byte-exact");
    let code = params["code"].clone();

    let (status, body) = redeem(&s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    let keys = jwks(&s).await;
    let at = verify_with_jwks(body["access_token"].as_str().unwrap(), &keys);
    assert_eq!(at["aud"], s.s("/api/app_id"));
    assert_eq!(at["scp"], "Demo.Read");
    assert_eq!(at["oid"], s.s("/user/object_id"));
    assert_eq!(at["azp"], s.s("/public_client/client_id"));
    assert_eq!(at["azpacr"], "0");
    assert_eq!(at["roles"], serde_json::json!(["Demo.Admin"]), "app role assigned to the user");
    assert_ne!(at["sub"], at["oid"], "pairwise sub");
    assert!(at.get("groups").is_none(), "the demo public client does not ask for group claims");
    let id = verify_with_jwks(body["id_token"].as_str().unwrap(), &keys);
    assert_eq!(id["aud"], s.s("/public_client/client_id"));
    assert_eq!(id["nonce"], "nonce-1");
    assert_eq!(id["preferred_username"], user);
    let client_info: Value = serde_json::from_slice(
        &tokengate_core::encoding::b64url_decode(body["client_info"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(client_info["uid"], s.s("/user/object_id"));
    assert_eq!(client_info["utid"], s.s("/tenant_id"));
    assert_eq!(body["scope"], read_scope(&s), "scope echoed as requested");
    assert!(body["expires_in"].as_u64().unwrap() > 300);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(gateway_status(&s, &access).await, 200, "the delegated token passes the demo route (scp Demo.Read)");

    // SSO: a second authorization skips the sign-in page.
    let again = b.get(&authorize_url(&s, &[])).await;
    assert_eq!(again.status, 303, "SSO session: straight to the client");
    assert!(redirect_params(&again.location()).contains_key("code"));
    // prompt=login asks again even with a session.
    let forced = b.get(&authorize_url(&s, &[("prompt", "login")])).await;
    assert_eq!(forced.status, 200);
    assert!(forced.body.contains("name=\"password\""));
    // A permission the API does not expose: invalid_scope at the client.
    let unknown = b.get(&authorize_url(&s, &[("scope", &format!("{}/Demo.Delete", s.s("/api/app_id_uri")))])).await;
    assert_eq!(unknown.status, 303);
    assert_eq!(redirect_params(&unknown.location())["error"], "invalid_scope");
    // prompt=none without a session: login_required at the client, no page.
    let mut stranger = browser(&s);
    let none = stranger.get(&authorize_url(&s, &[("prompt", "none")])).await;
    assert_eq!(none.status, 303);
    assert_eq!(redirect_params(&none.location())["error"], "login_required");

    // Code reuse: 54005, and every token from that code is revoked — at the gateway too.
    let (status, body) = redeem(&s, &code, Some(VERIFIER)).await;
    assert_eq!((status, aadsts(&body)), (400, 54005), "{body}");
    assert_eq!(body["error"], "invalid_grant");
    gateway_eventually(&s, &access, 401).await;
    let (status, body) = refresh(&s, &refresh_token, None).await;
    assert_eq!(status, 400, "refresh token of the reused code is dead: {body}");

    // Logout ends the SSO session and returns only to a registered URI.
    let out = b
        .get(&format!(
            "{}/oauth2/v2.0/logout?post_logout_redirect_uri=http%3A%2F%2Flocalhost&client_id={}&state=s1",
            s.authority(),
            s.s("/public_client/client_id")
        ))
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "http://localhost?state=s1");
    assert!(!b.has_cookie("__Host-tg_session"));
    let out = b
        .get(&format!(
            "{}/oauth2/v2.0/logout?post_logout_redirect_uri=https%3A%2F%2Fevil.example&client_id={}",
            s.authority(),
            s.s("/public_client/client_id")
        ))
        .await;
    assert_eq!(out.status, 200, "unregistered post-logout URI: a page, no redirect");
    assert!(out.headers.get("location").is_none());
    let after = b.get(&authorize_url(&s, &[])).await;
    assert_eq!(after.status, 200, "signed out: sign-in page again");
}

#[tokio::test]
async fn redirect_uri_tricks_get_an_error_page_never_a_redirect() {
    let s = DevServer::start().await;
    let mut b = browser(&s);
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
        "http://127.0.0.1",
    ] {
        let page = b.get(&authorize_url(&s, &[("redirect_uri", bad)])).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.headers.get("location").is_none(), "{bad}: no redirect");
        assert!(page.body.contains("AADSTS50011"), "{bad}: {}", page.body);
        page.assert_protected();
    }
    let unknown = b.get(&authorize_url(&s, &[("client_id", "00000000-0000-0000-0000-000000000001")])).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.headers.get("location").is_none() && unknown.body.contains("AADSTS700016"));
    // Loopback port variance for the public native client (RFC 8252).
    let page = b.get(&authorize_url(&s, &[("redirect_uri", "http://localhost:53124")])).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The confidential web client's redirect URI is exact, port included.
    let web = b
        .get(&authorize_url(
            &s,
            &[
                ("client_id", &s.s("/confidential_client/client_id")),
                ("redirect_uri", "https://localhost:8443/callback"),
            ],
        ))
        .await;
    assert_eq!(web.status, 400);
}

#[tokio::test]
async fn pkce_and_code_binding_rows() {
    let s = DevServer::start().await;
    let mut b = browser(&s);
    // Public client without PKCE: invalid_request at the client (an empty value leaves the
    // parameter out).
    let url = authorize_url(&s, &[("code_challenge", ""), ("code_challenge_method", "")]);
    assert!(!url.contains("code_challenge"));
    let no_pkce = b.get(&url).await;
    assert_eq!(no_pkce.status, 303, "{}", no_pkce.body);
    assert_eq!(redirect_params(&no_pkce.location())["error"], "invalid_request");

    let url = authorize_url(&s, &[]);
    let code = sign_in_for_code(&s, &mut b, &url).await;
    let (status, body) = redeem(&s, &code, None).await;
    assert_eq!((status, aadsts(&body)), (400, 501481), "missing verifier: {body}");
    let code = sign_in_for_code(&s, &mut b, &url).await;
    let (status, body) = redeem(&s, &code, Some(&format!("{VERIFIER}x"))).await;
    assert_eq!((status, aadsts(&body)), (400, 501481), "wrong verifier: {body}");
    let code = sign_in_for_code(&s, &mut b, &url).await;
    let (status, body) = redeem(&s, &code, Some("short")).await;
    assert_eq!((status, aadsts(&body)), (400, 501481), "verifier outside 43..128: {body}");

    // Another redirect_uri at redemption, or another client: invalid_grant.
    let code = sign_in_for_code(&s, &mut b, &url).await;
    let client_id = s.s("/public_client/client_id");
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", "http://localhost:9"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let code = sign_in_for_code(&s, &mut b, &url).await;
    let (cid, secret) = (s.s("/confidential_client/client_id"), s.s("/confidential_client/client_secret"));
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("code", &code),
                ("redirect_uri", "http://localhost"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "code injected into another client: {body}"
    );
    // ... and the code is burnt for its own client too.
    let (status, body) = redeem(&s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 400, "{body}");

    // A confidential web client may skip PKCE (its secret binds the code); a verifier sent for a
    // code that had no challenge is refused, not ignored.
    let web = s.s("/confidential_client/client_id");
    let web_url = format!(
        "{}/oauth2/v2.0/authorize?client_id={web}&response_type=code&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback&scope=openid&state={}",
        s.authority(),
        form_urlencoded::byte_serialize(STATE.as_bytes()).collect::<String>()
    );
    let page = b.get(&web_url).await;
    let page = if page.status == 200 { b.consent(&page, "accept").await } else { page };
    assert_eq!(page.status, 303, "{}", page.body);
    let web_code = redirect_params(&page.location())["code"].clone();
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("code", &web_code),
                ("redirect_uri", "https://localhost/callback"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!((status, aadsts(&body)), (400, 501481), "verifier without a stored challenge: {body}");

    // Two parallel redemptions: exactly one succeeds.
    let code = sign_in_for_code(&s, &mut b, &url).await;
    let (a, c) = tokio::join!(redeem(&s, &code, Some(VERIFIER)), redeem(&s, &code, Some(VERIFIER)));
    let ok = [a.0, c.0].iter().filter(|st| **st == 200).count();
    assert_eq!(ok, 1, "exactly one of two parallel redemptions wins: {a:?} {c:?}");
}

#[tokio::test]
async fn consent_page_decline_accept_tamper_and_prompt_none() {
    let s = DevServer::start().await;
    let mut b = browser(&s);
    let write = format!("{}/Demo.Write openid offline_access", s.s("/api/app_id_uri"));
    let url = authorize_url(&s, &[("scope", &write)]);
    let page = b.get(&url).await;
    let consent = b.sign_in(&page, &s.s("/user/username"), &s.s("/user/password")).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    consent.assert_protected();
    assert!(consent.body.contains("Demo.Write"), "the consent page lists the scope: {}", consent.body);

    // A tampered continuation (e.g. scope or client edited) is refused.
    let continuation = consent.hidden("continuation");
    let tampered = continuation.replacen('e', "f", 1);
    let csrf = consent.hidden("csrf");
    let r =
        b.post(&consent.action(), &[("continuation", &tampered), ("csrf", &csrf), ("decision", "accept")], None).await;
    assert_eq!(r.status, 400, "tampered consent post refused");
    let no_csrf = b.post(&consent.action(), &[("continuation", &continuation), ("decision", "accept")], None).await;
    assert_eq!(no_csrf.status, 403);

    // prompt=none for what is not consented: consent_required at the client.
    let none = b.get(&authorize_url(&s, &[("scope", &write), ("prompt", "none")])).await;
    assert_eq!(none.status, 303);
    assert_eq!(redirect_params(&none.location())["error"], "consent_required");

    let declined = b.consent(&consent, "decline").await;
    assert_eq!(declined.status, 303);
    let params = redirect_params(&declined.location());
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], STATE);

    let page = b.get(&url).await;
    assert_eq!(page.status, 200, "still no consent: the page again");
    let accepted = b.consent(&page, "accept").await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let code = redirect_params(&accepted.location())["code"].clone();
    let (status, body) = redeem(&s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(decode_jwt(body["access_token"].as_str().unwrap()).1["scp"], "Demo.Write");
    // Consent is remembered: next time straight through; prompt=consent shows it again.
    let again = b.get(&url).await;
    assert_eq!(again.status, 303);
    let forced = b.get(&authorize_url(&s, &[("scope", &write), ("prompt", "consent")])).await;
    assert_eq!(forced.status, 200);
    assert!(forced.body.contains("decision"));

    // form_post and fragment response modes.
    let post = b.get(&authorize_url(&s, &[("scope", &write), ("response_mode", "form_post")])).await;
    assert_eq!(post.status, 200);
    assert!(post.body.contains("action=\"http://localhost\"") && post.body.contains("name=\"code\""), "{}", post.body);
    assert_eq!(post.hidden("state"), STATE);
    assert!(post.headers["content-security-policy"].to_str().unwrap().contains("script-src 'nonce-"));
    let frag = b.get(&authorize_url(&s, &[("scope", &write), ("response_mode", "fragment")])).await;
    assert_eq!(frag.status, 303);
    assert!(frag.location().starts_with("http://localhost#code="), "{}", frag.location());
}

#[tokio::test]
async fn refresh_rotation_theft_is_caught_end_to_end() {
    let dir = std::env::temp_dir().join(format!("tokengate-it-{}", uuid::Uuid::new_v4()));
    let s = DevServer::start_with(dir, &["--refresh-reuse-grace", "0"]).await;
    let mut b = browser(&s);
    let code = sign_in_for_code(&s, &mut b, &authorize_url(&s, &[])).await;
    let (status, first) = redeem(&s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{first}");
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();

    // Scope is never widened, another client's refresh token is refused — and neither disturbs
    // the family.
    let widen = format!("{}/Demo.Write offline_access", s.s("/api/app_id_uri"));
    let (status, body) = refresh(&s, &rt1, Some(&widen)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let (cid, secret) = (s.s("/confidential_client/client_id"), s.s("/confidential_client/client_secret"));
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("refresh_token", &rt1),
            ],
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // The victim refreshes normally: a new refresh token every time (this client is CAE-capable).
    let client_id = s.s("/public_client/client_id");
    let scope = read_scope(&s);
    let (status, second) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("refresh_token", &rt1),
                ("scope", &scope),
                ("claims", r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#),
            ],
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(decode_jwt(second["access_token"].as_str().unwrap()).1["xms_cc"], serde_json::json!(["cp1"]));
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2, "rotated");
    let victim_access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(gateway_status(&s, &victim_access).await, 200);

    // The attacker replays the stolen, rotated token: refused, and the whole family dies.
    let (status, body) = refresh(&s, &rt1, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, body) = refresh(&s, &rt2, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the victim's live token is revoked too: {body}"
    );
    gateway_eventually(&s, &victim_access, 401).await;
    gateway_eventually(&s, first["access_token"].as_str().unwrap(), 401).await;
    // The CAE-capable client is told to come back for a fresh token, not just "invalid".
    let r = reqwest::Client::new().get(s.gateway("/demo/x")).bearer_auth(&victim_access).send().await.unwrap();
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_claims"));
}

#[tokio::test]
async fn openid_only_token_opens_userinfo() {
    let s = DevServer::start().await;
    let mut b = browser(&s);
    let url = authorize_url(&s, &[("scope", "openid profile email")]);
    let page = b.get(&url).await;
    let consent = b.sign_in(&page, &s.s("/user/username"), &s.s("/user/password")).await;
    let answer: Page = if consent.status == 200 { b.consent(&consent, "accept").await } else { consent };
    assert_eq!(answer.status, 303, "{}", answer.body);
    let code = redirect_params(&answer.location())["code"].clone();
    let (status, body) = redeem(&s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("refresh_token").is_none() || body["refresh_token"].is_null(),
        "no offline_access, no refresh token"
    );
    let access = body["access_token"].as_str().unwrap();
    let info: Value = s
        .http
        .get(format!("{}/oidc/userinfo", s.base_url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["preferred_username"], s.s("/user/username"));
    assert_eq!(
        info["sub"],
        decode_jwt(body["id_token"].as_str().unwrap()).1["sub"],
        "same pairwise sub as the ID token"
    );
    let r = s.http.get(format!("{}/oidc/userinfo", s.base_url())).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let api_token = s.demo_token().await;
    let r = s.http.get(format!("{}/oidc/userinfo", s.base_url())).bearer_auth(&api_token).send().await.unwrap();
    assert_eq!(r.status(), 401, "a token for an API does not open userinfo");
    let r = s.http.get(format!("{}/oidc/userinfo", s.base_url())).bearer_auth("x.y.z").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn v1_authorize_with_resource_and_v1_token_response() {
    let s = DevServer::start().await;
    let mut b = browser(&s);
    let api = s.s("/api/app_id_uri");
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &s.s("/public_client/client_id"))
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", "http://localhost")
        .append_pair("resource", &api)
        .append_pair("state", STATE)
        .append_pair("code_challenge", &challenge())
        .append_pair("code_challenge_method", "S256");
    let page = b.get(&format!("{}/oauth2/authorize?{}", s.authority(), q.finish())).await;
    let consent = b.sign_in(&page, &s.s("/user/username"), &s.s("/user/password")).await;
    assert_eq!(consent.status, 200, "Demo.Write is not consented yet: {}", consent.body);
    assert!(consent.body.contains("Demo.Write"));
    let answer = b.consent(&consent, "accept").await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let code = redirect_params(&answer.location())["code"].clone();
    let client_id = s.s("/public_client/client_id");
    let (status, body) = s
        .post_form(
            &format!("{}/oauth2/token", s.authority()),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", "http://localhost"),
                ("code_verifier", VERIFIER),
                ("resource", &api),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["expires_in"].is_string() && body["expires_on"].is_string(), "v1 shape: {body}");
    assert_eq!(body["scope"], "Demo.Read Demo.Write");
    let claims = decode_jwt(body["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["scp"], "Demo.Read Demo.Write");
    assert_eq!(body["resource"], claims["aud"]);
    assert!(body["refresh_token"].is_null(), "no offline_access asked: {body}");
}
