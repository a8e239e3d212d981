//! A stolen refresh token replayed within the reuse grace window, in both orders against the
//! rightful client: never a silent takeover. Whoever later presents the successor the grace path
//! withdrew triggers reuse detection, and the family dies for both parties — their refresh tokens
//! fail and the gateway denies their access tokens.

use serde_json::Value;

use crate::delegated_flows::{authorize_url, browser, gateway_eventually, redeem, refresh, sign_in_for_code, VERIFIER};
use crate::harness::*;

async fn signed_in(s: &DevServer) -> Value {
    let mut b = browser(s);
    let code = sign_in_for_code(s, &mut b, &authorize_url(s, &[])).await;
    let (status, body) = redeem(s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Refreshes and expects success; returns (refresh token, access token).
async fn refreshed(s: &DevServer, rt: &str, who: &str) -> (String, String) {
    let (status, body) = refresh(s, rt, None).await;
    assert_eq!(status, 200, "{who}: {body}");
    (body["refresh_token"].as_str().unwrap().to_owned(), body["access_token"].as_str().unwrap().to_owned())
}

async fn refused(s: &DevServer, rt: &str, who: &str) {
    let (status, body) = refresh(s, rt, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{who}: {body}");
}

#[tokio::test]
async fn grace_replay_never_takes_the_family_over_in_either_order() {
    let dir = std::env::temp_dir().join(format!("tokengate-it-{}", uuid::Uuid::new_v4()));
    // A long grace, so both presentations surely fall inside it on a slow machine.
    let s = DevServer::start_with(dir, &["--refresh-reuse-grace", "300"]).await;

    // The victim rotates first; the thief replays the stolen token within the grace (answered:
    // the issuer cannot tell a thief from a lost response). The victim's next refresh presents
    // the successor the replay withdrew: reuse, the family is revoked — the thief's too.
    let stolen = signed_in(&s).await["refresh_token"].as_str().unwrap().to_owned();
    let (victim_rt, victim_at) = refreshed(&s, &stolen, "victim").await;
    let (thief_rt, thief_at) = refreshed(&s, &stolen, "thief within the grace").await;
    gateway_eventually(&s, &thief_at, 200).await;
    refused(&s, &victim_rt, "victim presenting its withdrawn successor").await;
    refused(&s, &thief_rt, "thief after the family was revoked").await;
    gateway_eventually(&s, &thief_at, 401).await;
    gateway_eventually(&s, &victim_at, 401).await;

    // The thief rotates first; the victim's refresh within the grace withdraws the thief's
    // successor, and the victim carries on. The thief's next refresh is reuse: the family goes.
    let stolen = signed_in(&s).await["refresh_token"].as_str().unwrap().to_owned();
    let (thief_rt, thief_at) = refreshed(&s, &stolen, "thief").await;
    let (victim_rt, _) = refreshed(&s, &stolen, "victim within the grace").await;
    let (victim_rt, victim_at) = refreshed(&s, &victim_rt, "victim carrying on").await;
    refused(&s, &thief_rt, "thief presenting the withdrawn successor").await;
    refused(&s, &victim_rt, "victim after the family was revoked").await;
    gateway_eventually(&s, &thief_at, 401).await;
    gateway_eventually(&s, &victim_at, 401).await;
}
