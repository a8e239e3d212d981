//! Browser apps and hybrid apps at the token endpoint: CORS for single-page apps (preflight and
//! answer, only for SPA redirect origins), SPA codes and refresh tokens redeemed only
//! cross-origin (AADSTS9002327), and client authentication decided by the platform of the
//! redirect URI a code was issued to — a hybrid app's web sign-in needs its secret (AADSTS7000218)
//! for the code and every refresh token of its family.

use serde_json::Value;

use crate::browser::Browser;
use crate::delegated_flows::{authorize_url, browser, sign_in_for_code, VERIFIER};
use crate::harness::*;

const SPA_ORIGIN: &str = "http://localhost:5173";
const SPA_REDIRECT: &str = "http://localhost:5173/app/";
const WEB_REDIRECT: &str = "https://localhost/hybrid/signin-oidc";
const MOBILE_REDIRECT: &str = "http://localhost";
const SCOPE: &str = "openid profile offline_access";

struct Hybrid {
    client_id: String,
    secret: String,
}

/// An app with a secret, a web redirect, and (added afterwards, with the CLI) an SPA and a
/// mobile/desktop redirect.
fn hybrid_app(s: &DevServer) -> Hybrid {
    let tid = s.s("/tenant_id");
    let web = format!("web={WEB_REDIRECT}");
    let out = s.cli(&["app", "create", "--tenant", &tid, "--name", "Hybrid app", "--redirect-uri", &web]);
    let client_id = out.split_whitespace().nth(1).unwrap().to_owned();
    s.cli(&["app", "add-redirect", &client_id, "--redirect-uri", &format!("spa={SPA_REDIRECT}")]);
    s.cli(&["app", "add-redirect", &client_id, "--redirect-uri", &format!("public={MOBILE_REDIRECT}")]);
    let shown = s.cli(&["app", "show", &client_id]);
    assert!(shown.contains(SPA_REDIRECT) && shown.contains(WEB_REDIRECT), "{shown}");
    let out = s.cli(&["secret", "create", &client_id]);
    let secret = out.lines().find_map(|l| l.strip_prefix("value (shown once, store it now): ")).unwrap().to_owned();
    Hybrid { client_id, secret }
}

async fn code_for(s: &DevServer, b: &mut Browser, app: &Hybrid, redirect_uri: &str) -> String {
    let url = authorize_url(s, &[("client_id", &app.client_id), ("redirect_uri", redirect_uri), ("scope", SCOPE)]);
    sign_in_for_code(s, b, &url).await
}

/// A token request with optional secret and `Origin`; returns status, body and the
/// `Access-Control-Allow-Origin` answered.
async fn token(s: &DevServer, form: &[(&str, &str)], origin: Option<&str>) -> (u16, Value, Option<String>) {
    let mut req = s.http.post(s.token_url()).form(form);
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let acao = r.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned());
    (status, r.json().await.unwrap_or(Value::Null), acao)
}

async fn redeem(
    s: &DevServer,
    app: &Hybrid,
    code: &str,
    redirect_uri: &str,
    secret: bool,
    origin: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", app.client_id.as_str()),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", VERIFIER),
    ];
    if secret {
        form.push(("client_secret", app.secret.as_str()));
    }
    token(s, &form, origin).await
}

async fn refresh(s: &DevServer, app: &Hybrid, rt: &str, secret: bool, origin: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("client_id", app.client_id.as_str()), ("refresh_token", rt)];
    if secret {
        form.push(("client_secret", app.secret.as_str()));
    }
    let (status, body, _) = token(s, &form, origin).await;
    (status, body)
}

fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap_or_else(|| panic!("no refresh token: {body}")).to_owned()
}

#[tokio::test]
async fn hybrid_app_credentials_follow_the_redirect_platform_of_the_code() {
    let s = DevServer::start().await;
    let app = hybrid_app(&s);
    let mut b = browser(&s);

    // Web redirect: the code and its family's refresh tokens need the secret.
    let code = code_for(&s, &mut b, &app, WEB_REDIRECT).await;
    let (status, body, _) = redeem(&s, &app, &code, WEB_REDIRECT, false, None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert_eq!(aadsts(&body), 7000218, "{body}");
    let code = code_for(&s, &mut b, &app, WEB_REDIRECT).await;
    let (status, body, _) = redeem(&s, &app, &code, WEB_REDIRECT, true, None).await;
    assert_eq!(status, 200, "{body}");
    let rt = refresh_token_of(&body);
    let (status, body) = refresh(&s, &app, &rt, false, None).await;
    assert_eq!((status, aadsts(&body)), (401, 7000218), "a web family is not refreshed without the secret: {body}");
    let (status, body) = refresh(&s, &app, &rt, false, Some(SPA_ORIGIN)).await;
    assert_eq!((status, aadsts(&body)), (401, 7000218), "nor from the app's SPA origin: {body}");
    let (status, body) = refresh(&s, &app, &rt, true, None).await;
    assert_eq!(status, 200, "the refused attempts did not disturb the family: {body}");
    let (status, body) = refresh(&s, &app, &refresh_token_of(&body), false, None).await;
    assert_eq!((status, aadsts(&body)), (401, 7000218), "the successor carries the binding: {body}");

    // SPA redirect: no secret, but only cross-origin (with Origin).
    let code = code_for(&s, &mut b, &app, SPA_REDIRECT).await;
    let (status, body, _) = redeem(&s, &app, &code, SPA_REDIRECT, false, None).await;
    assert_eq!((status, body["error"].as_str(), aadsts(&body)), (400, Some("invalid_request"), 9002327), "{body}");
    let code = code_for(&s, &mut b, &app, SPA_REDIRECT).await;
    let (status, body, acao) = redeem(&s, &app, &code, SPA_REDIRECT, false, Some(SPA_ORIGIN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(acao.as_deref(), Some(SPA_ORIGIN), "the SPA can read the answer");
    let rt = refresh_token_of(&body);
    let (status, body) = refresh(&s, &app, &rt, false, None).await;
    assert_eq!((status, aadsts(&body)), (400, 9002327), "SPA refresh tokens too: {body}");
    let (status, body) = refresh(&s, &app, &rt, false, Some(SPA_ORIGIN)).await;
    assert_eq!(status, 200, "{body}");

    // Mobile/desktop redirect: a public client, no secret and no Origin needed.
    let code = code_for(&s, &mut b, &app, MOBILE_REDIRECT).await;
    let (status, body, acao) = redeem(&s, &app, &code, MOBILE_REDIRECT, false, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(acao, None);
    let (status, body) = refresh(&s, &app, &refresh_token_of(&body), false, None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn token_endpoint_cors_for_spa_origins_only() {
    let s = DevServer::start().await;
    let app = hybrid_app(&s);
    let msal_headers = "content-type,x-anchormailbox,x-client-sku,x-client-ver,x-client-os,x-client-cpu,\
x-ms-lib-capability,x-client-current-telemetry,x-client-last-telemetry,client-request-id,return-client-request-id";
    let preflight = |origin: &'static str, url: String| {
        s.http
            .request(reqwest::Method::OPTIONS, url)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", msal_headers)
            .send()
    };
    for url in [s.token_url(), format!("{}/oauth2/token", s.authority())] {
        let r = preflight(SPA_ORIGIN, url.clone()).await.unwrap();
        assert!(r.status().is_success(), "preflight from an SPA origin at {url}: {}", r.status());
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], SPA_ORIGIN);
        assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
        let allowed = h["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
        for wanted in msal_headers.split(',') {
            assert!(allowed.split(", ").any(|a| a == wanted), "{wanted} not allowed: {allowed}");
        }
        assert!(h.get("access-control-allow-credentials").is_none(), "no credentialed CORS");
    }
    for origin in ["https://evil.example", "null", "http://localhost:5174"] {
        let r = preflight(origin, s.token_url()).await.unwrap();
        assert_eq!(r.status(), 403, "preflight from {origin}");
        assert!(r.headers().get("access-control-allow-origin").is_none(), "{origin}");
    }

    // The POST itself: CORS only for an SPA origin of the client it names, errors included.
    let form = [("grant_type", "authorization_code"), ("client_id", app.client_id.as_str()), ("code", "x")];
    let (status, _, acao) = token(&s, &form, Some(SPA_ORIGIN)).await;
    assert_eq!((status, acao.as_deref()), (400, Some(SPA_ORIGIN)), "MSAL.js reads errors too");
    let (_, _, acao) = token(&s, &form, Some("https://evil.example")).await;
    assert_eq!(acao, None);
    let public = s.s("/public_client/client_id");
    let form = [("grant_type", "authorization_code"), ("client_id", public.as_str()), ("code", "x")];
    let (_, _, acao) = token(&s, &form, Some(SPA_ORIGIN)).await;
    assert_eq!(acao, None, "another client's SPA origin is not this client's");

    // Metadata is public (msal-browser reads it from the page).
    for path in ["/v2.0/.well-known/openid-configuration", "/discovery/v2.0/keys"] {
        let r = s.http.get(format!("{}{path}", s.authority())).header("Origin", SPA_ORIGIN).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
    }
}

#[tokio::test]
async fn pages_send_same_origin_referrer_policy_and_refuse_opaque_origins() {
    let s = DevServer::start().await;
    let mut b = browser(&s);
    let page = b.get(&authorize_url(&s, &[])).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // `no-referrer` made browsers send `Origin: null` on the pages' own POSTs.
    assert_eq!(page.headers["referrer-policy"], "same-origin");
    assert!(
        page.body.contains(r#"<meta name="referrer" content="same-origin">"#) && !page.body.contains("no-referrer"),
        "a <meta> policy overrides the header: {}",
        page.body
    );
    let form = |page: &crate::browser::Page| {
        [
            ("continuation", page.hidden("continuation")),
            ("csrf", page.hidden("csrf")),
            ("username", s.s("/user/username")),
            ("password", s.s("/user/password")),
        ]
    };
    let fields = form(&page);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for origin in ["null", "https://evil.example"] {
        let refused = b.post(&page.action(), &fields, Some(origin)).await;
        assert_eq!(refused.status, 403, "Origin: {origin}");
    }
    let accepted = b.post(&page.action(), &fields, Some(&s.base_url())).await;
    assert_eq!(accepted.status, 303, "what a browser sends under same-origin: {}", accepted.body);
}
