//! A client's configured API permissions (`requiredResourceAccess`) drive `.default`, v1
//! `resource=` and consent, as in Entra: a resource the client lists no permission for is refused
//! (AADSTS650057), a configured one asks consent for what is not consented yet, and a refresh to
//! another resource needs that resource's consent (AADSTS65001). Driven through the pages.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::{redirect_params, Browser};
use crate::delegated_flows::{authorize_url, browser, redeem, refresh, VERIFIER};
use crate::harness::*;

const ADMIN_DEFAULT: &str = "api://tokengate-admin/.default openid offline_access";

/// The value after `marker` in CLI output (an id).
fn after(out: &str, marker: &str) -> String {
    let start = out.find(marker).unwrap_or_else(|| panic!("{marker:?} not in {out}")) + marker.len();
    out[start..].split_whitespace().next().unwrap().trim_end_matches(['(', ')', ',']).to_owned()
}

/// Asserts an error redirect to the public client carrying `code`, and no authorization code.
fn assert_error_redirect(location: &str, error: &str, code: u64) {
    assert!(location.starts_with("http://localhost"), "back to the client: {location}");
    let params = redirect_params(location);
    assert!(!params.contains_key("code"), "no code: {location}");
    assert_eq!(params.get("error").map(String::as_str), Some(error), "{location}");
    assert_eq!(params.get("error_codes").map(String::as_str), Some(code.to_string().as_str()), "{location}");
}

/// Signs `user` in through the pages; accepts the consent page if one is shown (returning its
/// body) and redeems the code.
async fn sign_in(s: &DevServer, b: &mut Browser, scope: &str, user: &str) -> (Option<String>, Value) {
    let page = b.get(&authorize_url(s, &[("scope", scope)])).await;
    let mut answer = if page.status == 200 && page.body.contains("name=\"password\"") {
        b.sign_in(&page, &s.s(&format!("/{user}/username")), &s.s(&format!("/{user}/password"))).await
    } else {
        page
    };
    let mut consent_page = None;
    if answer.status == 200 && answer.body.contains("decision") {
        consent_page = Some(answer.body.clone());
        answer = b.consent(&answer, "accept").await;
    }
    assert_eq!(answer.status, 303, "{}", answer.body);
    let code = redirect_params(&answer.location()).get("code").cloned().unwrap_or_else(|| {
        panic!("no code in {}", answer.location());
    });
    let (status, body) = redeem(s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    (consent_page, body)
}

#[tokio::test]
async fn default_for_an_unconfigured_resource_is_refused_never_an_admin_token() {
    let s = DevServer::start().await;
    let mut b = browser(&s);

    // The review's attack: the public client (no permission on the admin API) asks for
    // `api://tokengate-admin/.default` for the admin user. Refused before anyone signs in, back
    // to the client's verified redirect URI as Entra does (invalid_client, AADSTS650057).
    let page = b.get(&authorize_url(&s, &[("scope", ADMIN_DEFAULT)])).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_error_redirect(&page.location(), "invalid_client", 650057);
    let description = &redirect_params(&page.location())["error_description"];
    assert!(description.contains(&s.s("/public_client/client_id")), "{description}");

    // Also once signed in (SSO), and through v1 `resource=`.
    let demo = format!("{}/Demo.Read openid offline_access", s.s("/api/app_id_uri"));
    let (_, signed_in) = sign_in(&s, &mut b, &demo, "admin_user").await;
    let page = b.get(&authorize_url(&s, &[("scope", ADMIN_DEFAULT)])).await;
    assert_error_redirect(&page.location(), "invalid_client", 650057);
    let v1 = authorize_url(&s, &[("scope", ""), ("resource", "api://tokengate-admin")])
        .replace("/oauth2/v2.0/authorize", "/oauth2/authorize");
    let page = b.get(&v1).await;
    assert_error_redirect(&page.location(), "invalid_client", 650057);

    // Device code: refused when the flow starts.
    let client_id = s.s("/public_client/client_id");
    let (status, body) = s
        .post_form(
            &format!("{}/oauth2/v2.0/devicecode", s.authority()),
            &[("client_id", &client_id), ("scope", ADMIN_DEFAULT)],
        )
        .await;
    assert_eq!((status, body["error"].as_str(), aadsts(&body)), (400, Some("invalid_client"), 650057), "{body}");

    // The admin user's refresh token for the demo API cannot be turned into an admin-API token.
    let rt = signed_in["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&s, rt, Some(ADMIN_DEFAULT)).await;
    assert_eq!((status, body["error"].as_str(), aadsts(&body)), (400, Some("invalid_client"), 650057), "{body}");
    assert!(body.get("access_token").is_none());
    // The admin API exposes no delegated scope: naming one is an invalid scope, not a token.
    let (status, body) = refresh(&s, rt, Some("api://tokengate-admin/Tokengate.Admin offline_access")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    // The family is undisturbed by the refusals.
    let (status, body) = refresh(&s, rt, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(decode_jwt(body["access_token"].as_str().unwrap()).1["scp"], "Demo.Read");
}

#[tokio::test]
async fn default_asks_consent_for_the_configured_permissions() {
    let s = DevServer::start().await;
    let mut b = browser(&s);
    let api = s.s("/api/app_id_uri");
    let scope = format!("{api}/.default openid offline_access");

    // The demo public client is configured with Demo.Read and Demo.Write; the tenant consented
    // to Demo.Read only, so the consent page asks for the configured set.
    let (consent, body) = sign_in(&s, &mut b, &scope, "user").await;
    let consent = consent.expect("Demo.Write is not consented yet: a consent page");
    assert!(consent.contains("Demo.Write") && consent.contains("Demo.Read"), "{consent}");
    let at = decode_jwt(body["access_token"].as_str().unwrap()).1;
    assert_eq!(at["scp"], "Demo.Read Demo.Write", "the configured permissions, in declaration order");
    assert_eq!(at["aud"], s.s("/api/app_id"));

    // Consented now: the next sign-in (SSO) asks nothing.
    let page = b.get(&authorize_url(&s, &[("scope", &scope)])).await;
    assert_eq!(page.status, 303, "no consent page the second time: {}", page.body);
    assert!(redirect_params(&page.location()).contains_key("code"));

    // Explicitly named scopes (dynamic consent) work as before, whatever is configured.
    let (_, body) = sign_in(&s, &mut b, &format!("{api}/Demo.Read openid"), "user").await;
    assert_eq!(decode_jwt(body["access_token"].as_str().unwrap()).1["scp"], "Demo.Read");
}

#[tokio::test]
async fn refresh_to_another_resource_needs_its_consent_and_admin_consent_covers_users() {
    let s = DevServer::start().await;
    let tenant = s.s("/tenant_id");
    let public = s.s("/public_client/client_id");
    let out = s.cli(&[
        "app",
        "create",
        "--tenant",
        &tenant,
        "--name",
        "Reports API",
        "--identifier-uri",
        "api://reports",
        "--token-version",
        "2",
    ]);
    let reports = after(&out, "app ");
    s.cli(&["app", "add-scope", &reports, "--value", "Reports.Read"]);
    s.cli(&["app", "add-role", &reports, "--value", "Reports.Export", "--members", "application"]);

    // CLI: configure, list, refuse what the resource does not expose, remove.
    let out = s.cli(&[
        "app",
        "permission",
        "add",
        "--app",
        &public,
        "--resource",
        "api://reports",
        "--scope",
        "Reports.Read",
    ]);
    assert!(out.contains("Reports.Read"), "{out}");
    let failed = std::process::Command::new(BIN)
        .args(["app", "permission", "add", "--app", &public, "--resource", "api://reports", "--scope", "Nope"])
        .arg("--dev-dir")
        .arg(&s.dir)
        .output()
        .unwrap();
    assert!(!failed.status.success(), "an unknown scope is refused");
    s.cli(&["app", "permission", "add", "--app", &public, "--resource", &reports, "--role", "Reports.Export"]);
    let listed = s.cli(&["app", "permission", "list", "--app", &public]);
    assert!(
        listed.contains(&reports) && listed.contains("Reports.Read") && listed.contains("Reports.Export"),
        "{listed}"
    );
    assert!(listed.contains(&s.s("/api/app_id")) && listed.contains("Demo.Write"), "dev's own: {listed}");
    s.cli(&["app", "permission", "remove", "--app", &public, "--resource", &reports, "--role", "Reports.Export"]);
    let listed = s.cli(&["app", "permission", "list", "--app", &public]);
    assert!(listed.contains("Reports.Read") && !listed.contains("Reports.Export"), "{listed}");

    // The user's refresh token (demo API) to the reports API: configured but not consented → 65001.
    let mut b = browser(&s);
    let demo = format!("{}/Demo.Read openid offline_access", s.s("/api/app_id_uri"));
    let (_, body) = sign_in(&s, &mut b, &demo, "user").await;
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    for scope in ["api://reports/.default offline_access", "api://reports/Reports.Read offline_access"] {
        let (status, body) = refresh(&s, &rt, Some(scope)).await;
        assert_eq!((status, body["error"].as_str(), aadsts(&body)), (400, Some("invalid_grant"), 65001), "{body}");
    }

    // Admin consent (tenant-wide) covers every user: the refresh now works, and another user
    // signs in with `.default` without a consent page.
    s.cli(&[
        "consent",
        "grant",
        "--tenant",
        &tenant,
        "--client",
        &public,
        "--resource",
        &reports,
        "--scope",
        "Reports.Read",
    ]);
    // The CLI wrote from another process: the server's directory cache sees it within its TTL.
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        let (status, body) = refresh(&s, &rt, Some("api://reports/.default offline_access")).await;
        if status == 200 {
            break body;
        }
        assert_eq!(aadsts(&body), 65001, "{body}");
        assert!(Instant::now() < deadline, "admin consent not seen within 30 s: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(decode_jwt(body["access_token"].as_str().unwrap()).1["scp"], "Reports.Read");
    let mut rt = body["refresh_token"].as_str().unwrap().to_owned();
    let mut other = browser(&s);
    let (consent, body) = sign_in(&s, &mut other, "api://reports/.default openid", "admin_user").await;
    assert!(consent.is_none(), "admin consent covers the user: {consent:?}");
    assert_eq!(decode_jwt(body["access_token"].as_str().unwrap()).1["scp"], "Reports.Read");

    // Removed from the configuration: `.default` for it is refused again.
    s.cli(&["app", "permission", "remove", "--app", &public, "--resource", "api://reports"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = refresh(&s, &rt, Some("api://reports/.default offline_access")).await;
        if status == 400 && aadsts(&body) == 650057 {
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "the removed permission still counts after 30 s");
        rt = body["refresh_token"].as_str().unwrap().to_owned();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
