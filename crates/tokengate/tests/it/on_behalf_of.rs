//! On-behalf-of: a middle-tier API exchanges a user's token for one to a downstream API. Set up
//! through the CLI the way an operator would: a middle-tier app with a scope and a secret, consent
//! for the public client to call it and for it to call the demo API.

use serde_json::Value;

use crate::browser::redirect_params;
use crate::delegated_flows::{authorize_url, browser, VERIFIER};
use crate::harness::*;

const OBO_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn after(out: &str, marker: &str) -> String {
    let start = out.find(marker).unwrap_or_else(|| panic!("{marker:?} not in {out}")) + marker.len();
    out[start..].split_whitespace().next().unwrap().trim_end_matches(['(', ')', ',']).to_owned()
}

#[tokio::test]
async fn middle_tier_exchanges_a_user_token_for_a_downstream_token() {
    let s = DevServer::start().await;
    let tenant = s.s("/tenant_id");
    let out = s.cli(&[
        "app",
        "create",
        "--tenant",
        &tenant,
        "--name",
        "Middle tier",
        "--identifier-uri",
        "api://middle-tier",
        "--token-version",
        "2",
    ]);
    let mid = after(&out, "app ");
    s.cli(&["app", "add-scope", &mid, "--value", "Mid.Access"]);
    let secret = after(&s.cli(&["secret", "create", &mid]), "value (shown once, store it now): ");
    let public = s.s("/public_client/client_id");
    let api = s.s("/api/app_id");
    s.cli(&["consent", "grant", "--tenant", &tenant, "--client", &public, "--resource", &mid, "--scope", "Mid.Access"]);
    s.cli(&["consent", "grant", "--tenant", &tenant, "--client", &mid, "--resource", &api, "--scope", "Demo.Read"]);

    // The user signs in to the public client for the middle tier.
    let body = sign_in_and_redeem(&s, &public, "api://middle-tier/Mid.Access offline_access", false).await;
    let user_token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(decode_jwt(&user_token).1["aud"], mid.as_str());

    // Refresh across resources: the same refresh token gets a token for another API the user
    // (here: the tenant) consented to for this client — but not for what nobody consented to.
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, other) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &public),
                ("refresh_token", &rt),
                ("scope", "api://tokengate-demo-api/Demo.Read offline_access"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(decode_jwt(other["access_token"].as_str().unwrap()).1["aud"], api.as_str());
    let rt = other["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &public),
                ("refresh_token", &rt),
                ("scope", "api://tokengate-demo-api/Demo.Write offline_access"),
            ],
        )
        .await;
    assert_eq!((status, aadsts(&body)), (400, 65001), "not consented: {body}");

    let exchange = |assertion: String, scope: &'static str, with_secret: bool| {
        let (mid, secret, s) = (mid.clone(), secret.clone(), &s);
        async move {
            let mut form = vec![
                ("grant_type", OBO_GRANT.to_owned()),
                ("client_id", mid),
                ("assertion", assertion),
                ("scope", scope.to_owned()),
                ("requested_token_use", "on_behalf_of".to_owned()),
            ];
            if with_secret {
                form.push(("client_secret", secret));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            s.post_form(&s.token_url(), &form).await
        }
    };

    let (status, body) = exchange(user_token.clone(), "api://tokengate-demo-api/Demo.Read", true).await;
    assert_eq!(status, 200, "{body}");
    let keys: Value =
        s.http.get(format!("{}/discovery/v2.0/keys", s.authority())).send().await.unwrap().json().await.unwrap();
    let downstream = verify_with_jwks(body["access_token"].as_str().unwrap(), &keys);
    assert_eq!(downstream["aud"], api.as_str());
    assert_eq!(downstream["oid"], s.s("/user/object_id"), "same user");
    assert_eq!(downstream["azp"], mid.as_str(), "the middle tier is the client now");
    assert_eq!(downstream["azpacr"], "1");
    assert_eq!(downstream["scp"], "Demo.Read");

    // Not consented for the middle tier → 65001; no credential → invalid_client; a token not
    // addressed to the middle tier, or an app-only one → invalid_grant.
    let (status, body) = exchange(user_token.clone(), "api://tokengate-demo-api/Demo.Write", true).await;
    assert_eq!((status, aadsts(&body)), (400, 65001), "{body}");
    let (status, body) = exchange(user_token.clone(), "api://tokengate-demo-api/Demo.Read", false).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    let downstream_token = body_token(exchange(user_token.clone(), "api://tokengate-demo-api/Demo.Read", true).await);
    let (status, body) = exchange(downstream_token, "api://tokengate-demo-api/Demo.Read", true).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "aud is not the middle tier: {body}");
    let app_only = s.demo_token().await;
    let (status, body) = exchange(app_only, "api://tokengate-demo-api/Demo.Read", true).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, body) = exchange("not.a.token".into(), "api://tokengate-demo-api/Demo.Read", true).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

fn body_token((status, body): (u16, Value)) -> String {
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn apps_that_ask_for_group_claims_get_them() {
    let s = DevServer::start().await;
    let tenant = s.s("/tenant_id");
    let out = s.cli(&[
        "app",
        "create",
        "--tenant",
        &tenant,
        "--name",
        "Group-aware CLI",
        "--public",
        "--redirect-uri",
        "public=http://localhost",
        "--group-claims",
    ]);
    let client = after(&out, "app ");
    let group = s.cli(&["group", "list", "--tenant", &tenant]);
    let readers =
        group.lines().find(|l| l.contains("Demo Readers")).unwrap().split_whitespace().next().unwrap().to_owned();

    let body = sign_in_and_redeem(&s, &client, "openid api://tokengate-demo-api/Demo.Read", true).await;
    let claims = decode_jwt(body["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["groups"], serde_json::json!([readers]), "group object ids");
}

/// Signs the demo user in to `client` for `scope` through the pages (accepting the consent page
/// when `consent` is expected) and redeems the code.
async fn sign_in_and_redeem(s: &DevServer, client: &str, scope: &str, consent: bool) -> Value {
    let mut b = browser(s);
    let page = b.get(&authorize_url(s, &[("client_id", client), ("scope", scope)])).await;
    let mut answer = b.sign_in(&page, &s.s("/user/username"), &s.s("/user/password")).await;
    if consent {
        assert_eq!(answer.status, 200, "a new app: the user consents: {}", answer.body);
        answer = b.consent(&answer, "accept").await;
    }
    assert_eq!(answer.status, 303, "{}", answer.body);
    let code = redirect_params(&answer.location())["code"].clone();
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client),
                ("code", &code),
                ("redirect_uri", "http://localhost"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}
