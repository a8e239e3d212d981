//! Signing-key changes made through the store (the CLI here, another node alike) reach the
//! gateway within a second (issue #8 item 11): an emergency removal kills tokens the gateway has
//! cached and tokens it never saw; a rotation's new key verifies without an unknown-kid refetch.

use std::time::{Duration, Instant};

use crate::harness::*;

async fn status(http: &reqwest::Client, url: &str, token: &str) -> u16 {
    http.get(url).bearer_auth(token).send().await.unwrap().status().as_u16()
}

fn kid(token: &str) -> String {
    decode_jwt(token).0["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_removed_key_stops_cached_and_unseen_tokens_at_the_gateway() {
    let s = DevServer::start().await;
    let http = reqwest::Client::new();
    let url = s.gateway("/demo/x");
    let cached = s.demo_token().await;
    let unseen = s.demo_token().await;
    let removed = kid(&cached);
    assert_eq!(kid(&unseen), removed);
    assert_eq!(status(&http, &url, &cached).await, 200, "verified once, now in the gateway's cache");

    s.cli(&["keys", "remove", &removed]);
    let removed_at = Instant::now();
    // The cached token: accepted until the removal arrives, then never again.
    let deadline = removed_at + Duration::from_secs(15);
    loop {
        match status(&http, &url, &cached).await {
            401 => break,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
        assert!(Instant::now() < deadline, "cached token of a removed key still accepted after 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The token the gateway never saw is refused on its first presentation.
    assert_eq!(status(&http, &url, &unseen).await, 401, "never-seen token of a removed key");
    for _ in 0..10 {
        assert_eq!(status(&http, &url, &cached).await, 401, "accepted again after being denied");
        assert_eq!(status(&http, &url, &unseen).await, 401, "accepted again after being denied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The issuer signs with the promoted key, which the gateway already trusts.
    let fresh = s.demo_token().await;
    assert_ne!(kid(&fresh), removed);
    assert_eq!(status(&http, &url, &fresh).await, 200);
}

#[tokio::test]
async fn a_rotated_key_verifies_at_the_gateway_without_an_unknown_kid_refetch() {
    let s = DevServer::start().await;
    let http = reqwest::Client::new();
    let url = s.gateway("/demo/x");
    let before = s.demo_token().await;
    assert_eq!(status(&http, &url, &before).await, 200);

    let out = s.cli(&["keys", "rotate"]);
    let active = out.split_whitespace().nth(1).unwrap().to_owned();
    assert_ne!(active, kid(&before), "{out}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let after = loop {
        let token = s.demo_token().await;
        if kid(&token) == active {
            break token;
        }
        assert!(Instant::now() < deadline, "the issuer did not sign with {active} within 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status(&http, &url, &after).await, 200, "the new key verifies");
    assert_eq!(status(&http, &url, &before).await, 200, "the retired key stays trusted for its tokens");
    let metrics = http.get(s.admin("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("tokengate_gateway_unknown_kid_refetches_total 0"), "{metrics}");
}
