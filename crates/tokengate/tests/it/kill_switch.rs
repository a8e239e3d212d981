//! The kill switch end to end: revocations of every kind reach every gateway node before
//! `revoke --wait` returns (the order of events is the test: no timing assertion), on several
//! real processes sharing one real Postgres and on one SQLite node; killed nodes, cut
//! connections and a store outage; and what a revoked user loses on the issuer side.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokengate_core::encoding::{b64_decode, b64url_decode};

use crate::cluster::{demo_status, pg_server, psql, Cluster};
use crate::delegated_flows::{authorize_url, browser, redeem, refresh, sign_in_for_code, VERIFIER};
use crate::device_code_flow::{enter_code, poll, start_flow};
use crate::harness::*;

const DENIED_EVERYWHERE: [u16; 3] = [401, 401, 401];
const ALLOWED_EVERYWHERE: [u16; 3] = [200, 200, 200];

/// User and client revocations cover tokens issued up to the end of the second they were made
/// in: a token meant to pass is minted only after that second.
async fn next_second() {
    let now = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let second = now().as_secs();
    while now().as_secs() == second {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Signs the demo user in (a new browser, so a new session and refresh-token family); returns
/// the token response.
async fn user_tokens(s: &DevServer) -> Value {
    let mut b = browser(s);
    let code = sign_in_for_code(s, &mut b, &authorize_url(s, &[])).await;
    let (status, body) = redeem(s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn field(body: &Value, name: &str) -> String {
    body[name].as_str().unwrap_or_else(|| panic!("no {name} in {body}")).to_owned()
}

#[tokio::test]
async fn every_revocation_kind_is_denied_on_every_node_once_revoke_wait_returns() {
    let Some(server) = pg_server() else { return };
    let c = Cluster::start(&server, 2).await;
    let revoke = |args: &[&str]| {
        let mut all = vec!["revoke"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--wait", "--reason", "integration test"]);
        let (ok, out, err) = c.cli(&all);
        assert!(ok, "revoke {args:?} failed: {err}");
        assert!(out.contains("3 of 3 live gateway node(s) applied"), "{out}");
        out
    };

    // A token, by the token itself.
    let token = c.issuer.demo_token().await;
    assert_eq!(c.statuses(&token).await, ALLOWED_EVERYWHERE);
    revoke(&["token", &token]);
    assert_eq!(c.statuses(&token).await, DENIED_EVERYWHERE, "token revocation");

    // A client app: every token it holds.
    let client_token = c.issuer.demo_token().await;
    assert_eq!(c.statuses(&client_token).await, ALLOWED_EVERYWHERE);
    revoke(&["client", &c.issuer.s("/confidential_client/client_id")]);
    assert_eq!(c.statuses(&client_token).await, DENIED_EVERYWHERE, "client revocation");
    next_second().await;
    let later = c.issuer.demo_token().await;
    assert_eq!(c.statuses(&later).await, ALLOWED_EVERYWHERE, "a token issued after the revocation passes");

    // A user, by user principal name: access token and refresh token.
    let user = user_tokens(&c.issuer).await;
    let access = field(&user, "access_token");
    assert_eq!(c.statuses(&access).await, ALLOWED_EVERYWHERE);
    // The API's answer names the revocation, not its side effects: the refresh below shows them.
    let out = revoke(&["user", &c.issuer.s("/user/username")]);
    assert!(out.contains("refresh-token families revoked"), "what the store did is reported: {out}");
    assert_eq!(c.statuses(&access).await, DENIED_EVERYWHERE, "user revocation");
    let (status, body) = refresh(&c.issuer, &field(&user, "refresh_token"), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // A refresh-token family, by the id its audit records carry.
    next_second().await;
    let family_tokens = user_tokens(&c.issuer).await;
    let family_access = field(&family_tokens, "access_token");
    assert_eq!(c.statuses(&family_access).await, ALLOWED_EVERYWHERE);
    let family = psql(
        &c.db.url,
        "SELECT detail::jsonb->>'family_id' FROM audit_events WHERE detail::jsonb ? 'family_id' ORDER BY seq DESC LIMIT 1",
    );
    assert_eq!(family.len(), 36, "a family id: {family}");
    let out = revoke(&["family", &family]);
    assert!(out.contains("1 access token(s) denied"), "{out}");
    assert_eq!(c.statuses(&family_access).await, DENIED_EVERYWHERE, "family revocation");
    let (status, _) = refresh(&c.issuer, &field(&family_tokens, "refresh_token"), None).await;
    assert_eq!(status, 400);

    // A signing key: it leaves the JWKS, and what it signed is denied; the next key signs.
    let signed = c.issuer.demo_token().await;
    assert_eq!(c.statuses(&signed).await, ALLOWED_EVERYWHERE);
    let kid = decode_jwt(&signed).0["kid"].as_str().unwrap().to_owned();
    revoke(&["key", &kid]);
    assert_eq!(c.statuses(&signed).await, DENIED_EVERYWHERE, "key revocation");
    let jwks: Value = c
        .issuer
        .http
        .get(format!("{}/discovery/v2.0/keys", c.issuer.authority()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid), "{jwks}");
    let fresh = c.issuer.demo_token().await;
    assert_ne!(decode_jwt(&fresh).0["kid"], kid.as_str());
    assert_eq!(c.statuses(&fresh).await, ALLOWED_EVERYWHERE, "tokens of the promoted key pass");

    // What is revoked now, and who applied it.
    let (ok, list, _) = c.cli(&["revocations", "list"]);
    assert!(ok);
    for kind in ["token", "client", "user", "family", "key"] {
        assert!(list.contains(&format!("  {kind}")), "{kind} missing from:\n{list}");
    }
    let (ok, nodes, _) = c.cli(&["nodes", "-o", "json"]);
    assert!(ok);
    let nodes: Vec<Value> = serde_json::from_str(&nodes).unwrap();
    let live_gateways =
        nodes.iter().filter(|n| n["roles"].as_array().unwrap().iter().any(|r| r == "gateway") && n["state"] == "ready");
    assert_eq!(live_gateways.count(), 3, "{nodes:?}");
}

#[tokio::test]
async fn a_killed_node_is_reported_gone_and_restarted_it_denies_what_was_revoked_while_it_was_down() {
    let Some(server) = pg_server() else { return };
    let mut c = Cluster::start(&server, 2).await;
    let token = c.issuer.demo_token().await;
    assert_eq!(c.statuses(&token).await, ALLOWED_EVERYWHERE);

    c.gateways[1].kill9();
    // `--wait` is held by the killed node only until its heartbeats are missed: then it is gone.
    let (ok, out, err) = c.cli(&["revoke", "token", &token, "--wait", "--timeout", "60"]);
    assert!(ok, "{err}");
    assert!(out.contains("2 of 2 live gateway node(s) applied") && out.contains("gone"), "{out}");
    assert_eq!(demo_status(&c.issuer.gateway("/demo/x"), &token).await, 401);
    assert_eq!(c.gateways[0].status(&token).await, 401);
    let (_, nodes, _) = c.cli(&["nodes"]);
    assert!(nodes.contains(" gone "), "{nodes}");

    // Restarted, it serves only after its first full read of the feed: its very first answer for
    // the token revoked while it was down is a denial.
    c.gateways[1].restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    let first = loop {
        match reqwest::Client::new().get(c.gateways[1].url("/demo/x")).bearer_auth(&token).send().await {
            Ok(r) => break r.status().as_u16(),
            Err(_) => {
                assert!(Instant::now() < deadline, "restarted node never listened:\n{}", c.gateways[1].log());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(first, 401, "the first answer of the restarted node");
    c.gateways[1].wait_ready().await;
}

/// `tokengate_revocations_resyncs_total` of a node.
fn resyncs(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tokengate_revocations_resyncs_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no resync counter in:\n{metrics}"))
}

#[tokio::test]
async fn revocations_written_while_the_listeners_were_cut_off_apply_after_they_reconnect() {
    let Some(server) = pg_server() else { return };
    let c = Cluster::start(&server, 2).await;
    let token = c.issuer.demo_token().await;
    assert_eq!(c.statuses(&token).await, ALLOWED_EVERYWHERE);
    let mut before = Vec::new();
    for g in &c.gateways {
        before.push(resyncs(&g.metrics().await));
    }

    // What a Postgres restart does to its clients: every connection, listeners included, cut.
    c.db.terminate_connections();
    let (ok, out, err) = c.cli(&["revoke", "token", &token, "--wait", "--timeout", "30"]);
    assert!(ok, "{err}");
    assert!(out.contains("3 of 3"), "{out}");
    assert_eq!(c.statuses(&token).await, DENIED_EVERYWHERE);

    // Each node noticed the lost listener and reread the whole feed.
    for (g, before) in c.gateways.iter().zip(before) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while resyncs(&g.metrics().await) <= before {
            assert!(Instant::now() < deadline, "no full resync after the reconnect:\n{}", g.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn a_node_that_cannot_read_the_feed_fails_closed_then_recovers() {
    let Some(server) = pg_server() else { return };
    let c = Cluster::start_with_policy(&server, 1, "[settings]\nmax_revocation_staleness_seconds = 2\n\n").await;
    let node = &c.gateways[0];
    let token = c.issuer.demo_token().await;
    assert_eq!(node.status(&token).await, 200);

    c.db.allow_connections(false);
    c.db.terminate_connections();
    let deadline = Instant::now() + Duration::from_secs(30);
    let stale = loop {
        let r = reqwest::Client::new().get(node.url("/demo/x")).bearer_auth(&token).send().await.unwrap();
        if r.status() == 503 {
            break r;
        }
        assert_eq!(r.status(), 200, "only 200 or 503 while the store is away");
        assert!(Instant::now() < deadline, "still serving 30 s into the outage:\n{}", node.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(stale.headers().contains_key("retry-after"), "{:?}", stale.headers());
    assert!(!node.ready().await, "a stale node reports not ready");
    let public = reqwest::get(node.url("/public/x")).await.unwrap();
    assert_eq!(public.status(), 200, "public routes need no revocation data");

    c.db.allow_connections(true);
    let deadline = Instant::now() + Duration::from_secs(30);
    while node.status(&token).await != 200 {
        assert!(Instant::now() < deadline, "not serving again 30 s after the store came back:\n{}", node.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(node.ready().await);
    // And it listens for notifications again, rather than only polling from now on.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !node.metrics().await.lines().any(|l| l == "tokengate_revocations_listening 1") {
        assert!(Instant::now() < deadline, "not listening again:\n{}", node.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn on_one_sqlite_node_a_revoked_user_loses_tokens_refresh_session_and_device_approval() {
    let s = DevServer::start().await;
    let gateway = s.gateway("/demo/x");

    let token = s.demo_token().await;
    assert_eq!(demo_status(&gateway, &token).await, 200);
    let out = s.cli(&["revoke", "token", &token, "--wait"]);
    assert!(out.contains("1 of 1 live gateway node(s) applied"), "{out}");
    assert_eq!(demo_status(&gateway, &token).await, 401, "denied right after --wait returned");

    // The user holds an access token, a refresh token, a browser session and a device approval
    // that the device has not redeemed yet.
    let mut b = browser(&s);
    let code = sign_in_for_code(&s, &mut b, &authorize_url(&s, &[])).await;
    let (status, tokens) = redeem(&s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{tokens}");
    let access = field(&tokens, "access_token");
    assert_eq!(demo_status(&gateway, &access).await, 200);
    let device = start_flow(&s).await;
    let confirm = enter_code(&s, &mut b, device["user_code"].as_str().unwrap()).await;
    let done = b.consent(&confirm, "accept").await;
    assert!(done.body.contains("signed in"), "{}", done.body);

    let out = s.cli(&["revoke", "user", &s.s("/user/object_id"), "--wait", "--reason", "lost laptop"]);
    assert!(out.contains("1 of 1"), "{out}");
    assert_eq!(demo_status(&gateway, &access).await, 401, "access token");
    let (status, body) = refresh(&s, &field(&tokens, "refresh_token"), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "refresh token: {body}");
    let page = b.get(&authorize_url(&s, &[])).await;
    assert!(page.status == 200 && page.body.contains("name=\"password\""), "SSO session: {}", page.status);
    let (status, body) = poll(&s, &device).await;
    assert_eq!(status, 400, "approved device code after the revocation: {body}");
    assert_ne!(body["error"], "authorization_pending", "{body}");
}

#[tokio::test]
async fn a_revoked_cae_token_gets_a_claims_challenge_that_the_next_token_request_satisfies() {
    let s = DevServer::start().await;
    let gateway = s.gateway("/demo/x");
    let capable = r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#;
    let mut b = browser(&s);
    let code = sign_in_for_code(&s, &mut b, &authorize_url(&s, &[])).await;
    let client_id = s.s("/public_client/client_id");
    let (status, tokens) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", "http://localhost"),
                ("code_verifier", VERIFIER),
                ("claims", capable),
            ],
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let access = field(&tokens, "access_token");
    assert_eq!(decode_jwt(&access).1["xms_cc"], json!(["cp1"]));
    assert_eq!(demo_status(&gateway, &access).await, 200);

    s.cli(&["revoke", "token", &access, "--wait"]);
    let denied = reqwest::Client::new().get(&gateway).bearer_auth(&access).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let challenge = denied.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"insufficient_claims\""), "{challenge}");
    let claims = challenge.split("claims=\"").nth(1).and_then(|c| c.split('"').next()).unwrap();
    let claims: Value = serde_json::from_slice(&b64_decode(claims).or_else(|| b64url_decode(claims)).unwrap()).unwrap();
    let not_before: i64 = claims["access_token"]["nbf"]["value"].as_str().unwrap().parse().unwrap();
    assert_eq!(claims["access_token"]["nbf"]["essential"], true);

    // MSAL merges the challenge with its capabilities and asks again, bypassing its cache.
    let merged = json!({"access_token": {"nbf": claims["access_token"]["nbf"], "xms_cc": {"values": ["cp1"]}}});
    let (status, fresh) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("refresh_token", &field(&tokens, "refresh_token")),
                ("claims", &merged.to_string()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{fresh}");
    let renewed = field(&fresh, "access_token");
    let renewed_claims = decode_jwt(&renewed).1;
    assert!(renewed_claims["iat"].as_i64().unwrap() >= not_before, "{renewed_claims} vs nbf {not_before}");
    assert_eq!(renewed_claims["xms_cc"], json!(["cp1"]));
    assert_eq!(demo_status(&gateway, &renewed).await, 200, "the fresh token satisfies the challenge");
}
