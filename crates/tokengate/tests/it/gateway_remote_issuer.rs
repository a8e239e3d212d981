//! The gateway trusting a separately running issuer over HTTPS discovery, as it would a real
//! Entra tenant: key rollover (new kid picked up, removed kid rejected), JWKS outage, the
//! multi-tenant `{tenantid}` issuer, v1 vs v2 tokens, readiness before the first keys load.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// Policy for gateway `g` trusting issuer `b` (another tokengate process) as an Entra tenant.
fn remote_policy(b: &DevServer, authority: &str, extra_issuer: &str, route_extra: &str) -> String {
    format!(
        r#"
[[issuer]]
name = "remote"
kind = "entra"
authority = "{authority}"
ca_file = "{ca}"
unknown_kid_refetch_seconds = 0
{extra_issuer}

[[route]]
name = "remote-api"
path_prefix = "/api/"
upstream = "echo"
[route.require]
issuers = ["remote"]
audiences = ["{api}", "api://legacy"]
{route_extra}
"#,
        ca = b.s("/ca_cert"),
        api = b.s("/api/app_id"),
    )
}

async fn status(http: &reqwest::Client, url: &str, token: &str) -> u16 {
    http.get(url).bearer_auth(token).send().await.unwrap().status().as_u16()
}

async fn wait_ready(g: &DevServer) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if reqwest::get(g.admin("/readyz")).await.unwrap().status() == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "gateway not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn key_rollover_and_jwks_outage_against_a_remote_issuer() {
    let mut b = DevServer::start().await;
    let g = DevServer::start().await;
    let http = reqwest::Client::new();
    let url = g.gateway("/api/x");
    // Background refresh is hourly: new kids are found through the unknown-kid refetch.
    let policy = remote_policy(&b, &b.authority(), "", "");
    let first = b.demo_token().await;
    g.set_policy(&policy, || async { status(&http, &url, &first).await == 200 }).await;
    wait_ready(&g).await;
    let jwks: Value =
        b.http.get(format!("{}/discovery/v2.0/keys", b.authority())).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);

    // Two rotations: the second promotes a key the gateway has never seen.
    b.cli(&["keys", "rotate"]);
    b.cli(&["keys", "rotate"]);
    let newest_active = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let t = b.demo_token().await;
            let kid = decode_jwt(&t).0["kid"].as_str().unwrap().to_owned();
            if !jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid.as_str()) {
                break t;
            }
            assert!(Instant::now() < deadline, "issuer did not start signing with the new key");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let published: Value =
        b.http.get(format!("{}/discovery/v2.0/keys", b.authority())).send().await.unwrap().json().await.unwrap();
    assert!(published["keys"].as_array().unwrap().len() >= 3, "retired, active and next keys published");
    // The refetch gap is 0 here (its rate limit is unit-tested in `remote_issuer_keys`).
    assert_eq!(status(&http, &url, &newest_active).await, 200, "unknown kid → one refetch → accepted");
    assert_eq!(status(&http, &url, &first).await, 200, "retired key still published: old tokens valid");

    // A random kid: one refetch at most, then invalid_token (not 503: the issuer is reachable).
    let mut parts: Vec<String> = newest_active.split('.').map(str::to_owned).collect();
    parts[0] = tokengate_core::encoding::b64url(r#"{"typ":"JWT","alg":"RS256","kid":"no-such-kid"}"#);
    assert_eq!(status(&http, &url, &parts.join(".")).await, 401);

    // Emergency removal of the first key: after the gateway refetches, its tokens are rejected.
    let first_kid = decode_jwt(&first).0["kid"].as_str().unwrap().to_owned();
    b.cli(&["keys", "remove", &first_kid]);
    let faster = remote_policy(&b, &b.authority(), "refresh_seconds = 1\nmax_key_age_seconds = 60", "");
    let fresh_first_kid_token = first.clone();
    g.set_policy(&faster, || async { status(&http, &url, &fresh_first_kid_token).await == 401 }).await;
    assert_eq!(status(&http, &url, &newest_active).await, 200);

    // Outage: one more rotation so a token carries a kid the gateway has not fetched, then the
    // issuer goes away. Known kids keep working; the unknown one gets 503 + Retry-After.
    // A marker route shows when the new policy (and with it a fresh key fetch) is in place: the
    // old policy also accepts `newest_active`, so that alone cannot tell.
    let slow = format!(
        "{}\n[[route]]\nname = \"marker\"\npath = \"/marker\"\nupstream = \"echo\"\npublic = true\n",
        remote_policy(&b, &b.authority(), "", "")
    );
    g.set_policy(&slow, || async { http.get(g.gateway("/marker")).send().await.unwrap().status() == 200 }).await;
    wait_ready(&g).await;
    assert_eq!(status(&http, &url, &newest_active).await, 200);
    let fetched: Value =
        b.http.get(format!("{}/discovery/v2.0/keys", b.authority())).send().await.unwrap().json().await.unwrap();
    b.cli(&["keys", "rotate"]);
    b.cli(&["keys", "rotate"]);
    // The issuer applies each rotation within a second: wait for the key promoted by the
    // second one, which the gateway never fetched (the first promotes the published next key).
    let unseen = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let t = b.demo_token().await;
            let kid = decode_jwt(&t).0["kid"].as_str().unwrap().to_owned();
            if !fetched["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid.as_str()) {
                break t;
            }
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let known = b.demo_token().await; // may be the same kid as `unseen`; used only if it is known
    let _ = known;
    let still_valid = newest_active.clone();
    assert!(b.terminate().success());
    assert_eq!(status(&http, &url, &still_valid).await, 200, "last good keys kept while the issuer is down");
    let r = http.get(&url).bearer_auth(&unseen).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn multi_tenant_template_tenant_allow_list_and_token_versions() {
    let b = DevServer::start().await;
    let g = DevServer::start().await;
    let http = reqwest::Client::new();
    let url = g.gateway("/api/x");
    let home = b.s("/tenant_id");
    let authority = format!("{}/organizations", b.base_url());

    // A second tenant in the issuer, with a multi-tenant client provisioned there.
    let id_of = |out: String| out.split_whitespace().nth(1).unwrap().to_owned();
    let other = id_of(b.cli(&["tenant", "create", "--name", "Other", "--domain", "other.test"]));
    let client = id_of(b.cli(&["app", "create", "--tenant", &home, "--name", "mt", "--audience", "multi"]));
    let secret = b
        .cli(&["secret", "create", &client])
        .lines()
        .find_map(|l| l.strip_prefix("value (shown once, store it now): "))
        .unwrap()
        .to_owned();
    let api = b.s("/api/app_id");
    b.cli(&["app", "provision", &client, "--tenant", &other]);
    // The demo API is single-tenant; a multi-tenant API for the cross-tenant token:
    let mt_api = id_of(b.cli(&[
        "app",
        "create",
        "--tenant",
        &home,
        "--name",
        "mt-api",
        "--identifier-uri",
        "api://mt-api",
        "--audience",
        "multi",
        "--token-version",
        "2",
    ]));
    b.cli(&["app", "add-role", &mt_api, "--value", "Mt.Read"]);
    b.cli(&["app", "provision", &mt_api, "--tenant", &other]);
    b.cli(&["grant", "app-role", "--tenant", &other, "--client", &client, "--resource", &mt_api, "--role", "Mt.Read"]);
    b.cli(&["grant", "app-role", "--tenant", &home, "--client", &client, "--resource", &mt_api, "--role", "Mt.Read"]);
    let token_in = |tenant: String| {
        let b = &b;
        let client = client.clone();
        let secret = secret.clone();
        async move {
            let (st, body) = b
                .post_form(
                    &format!("{}/{tenant}/oauth2/v2.0/token", b.base_url()),
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", &client),
                        ("client_secret", &secret),
                        ("scope", "api://mt-api/.default"),
                    ],
                )
                .await;
            assert_eq!(st, 200, "{body}");
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let home_token = token_in(home.clone()).await;
    let other_token = token_in(other.clone()).await;
    assert_eq!(decode_jwt(&other_token).1["iss"], format!("{}/{other}/v2.0", b.base_url()));

    // Multi-tenant authority: issuer template {tenantid}, only the home tenant allowed.
    let policy = remote_policy(&b, &authority, &format!("tenants = [\"{home}\"]"), "").replace(
        &format!("audiences = [\"{api}\", \"api://legacy\"]"),
        &format!("audiences = [\"{mt_api}\", \"api://legacy\"]"),
    );
    g.set_policy(&policy, || async { status(&http, &url, &home_token).await == 200 }).await;
    assert_eq!(status(&http, &url, &other_token).await, 401, "tenant not on the allow-list");

    // Allow both tenants at the issuer, restrict the route to one.
    let both = remote_policy(
        &b,
        &authority,
        &format!("tenants = [\"{home}\", \"{other}\"]"),
        &format!("tenants = [\"{other}\"]"),
    )
    .replace(
        &format!("audiences = [\"{api}\", \"api://legacy\"]"),
        &format!("audiences = [\"{mt_api}\", \"api://legacy\"]"),
    );
    g.set_policy(&both, || async { status(&http, &url, &other_token).await == 200 }).await;
    assert_eq!(status(&http, &url, &home_token).await, 401, "route tenant list");

    // v1 vs v2: a v1 resource's token is validated against v1 metadata.
    let demo_client = b.s("/confidential_client/client_id");
    let legacy =
        id_of(b.cli(&["app", "create", "--tenant", &home, "--name", "Legacy", "--identifier-uri", "api://legacy"]));
    b.cli(&["app", "add-role", &legacy, "--value", "Legacy.Read"]);
    b.cli(&[
        "grant",
        "app-role",
        "--tenant",
        &home,
        "--client",
        &demo_client,
        "--resource",
        &legacy,
        "--role",
        "Legacy.Read",
    ]);
    let (st, body) = b
        .post_form(
            &b.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &demo_client),
                ("client_secret", &b.s("/confidential_client/client_secret")),
                ("scope", "api://legacy/.default"),
            ],
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let v1_token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(decode_jwt(&v1_token).1["ver"], "1.0");
    let v2_token = b.demo_token().await;

    let single = remote_policy(&b, &b.authority(), "", "versions = [\"2.0\"]");
    g.set_policy(&single, || async { status(&http, &url, &v2_token).await == 200 }).await;
    assert_eq!(status(&http, &url, &v1_token).await, 401, "v1 token on a v2-only route");
    let v1_only = remote_policy(&b, &b.authority(), "", "versions = [\"1.0\"]");
    g.set_policy(&v1_only, || async { status(&http, &url, &v1_token).await == 200 }).await;
    assert_eq!(status(&http, &url, &v2_token).await, 401, "v2 token on a v1-only route");
}

#[tokio::test]
async fn not_ready_until_the_first_keys_load() {
    let g = DevServer::start().await;
    let token = g.demo_token().await;
    let http = reqwest::Client::new();
    let unreachable = r#"
[[issuer]]
name = "down"
kind = "entra"
authority = "https://127.0.0.1:9/tenant"
[[route]]
name = "api"
path_prefix = "/api/"
upstream = "echo"
[route.require]
issuers = ["down"]
audiences = ["x"]
"#;
    g.set_policy(unreachable, || async { http.get(g.admin("/readyz")).send().await.unwrap().status() == 503 }).await;
    // Until the route's issuer has loaded its keys, no token can be judged: 503, whatever it is.
    let r = http.get(g.gateway("/api/x")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let mut claims = decode_jwt(&token).1;
    claims["iss"] = serde_json::json!(format!("https://127.0.0.1:9/{}/v2.0", claims["tid"].as_str().unwrap()));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], tokengate_core::encoding::b64url(claims.to_string()), parts[2]);
    let r = http.get(g.gateway("/api/x")).bearer_auth(&forged).send().await.unwrap();
    assert_eq!(r.status(), 503, "issuer keys never loaded");
}
