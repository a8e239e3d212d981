//! The `claims` parameter at the token endpoint, in process: after a gateway's
//! `insufficient_claims` challenge, the next token is issued no earlier than the challenge's
//! `nbf` (so the revocation that caused it cannot cover it), with the client's `xms_cc` kept.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use tokengate_core::errors::codes;
use tokengate_core::UnixTime;

use crate::issuer::token_fixtures::{claims_of, urlencode, Answer, Fixture, REDIRECT, VERIFIER};
use crate::state::now;
use crate::test_support::API_URI;

fn nbf_claims(value: UnixTime) -> String {
    format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{value}"}}}}}}"#)
}

async fn client_credentials(f: &Fixture, extra: &str) -> Answer {
    let body = format!("grant_type=client_credentials&{}&scope={API_URI}/.default{extra}", f.client_auth());
    f.post(&f.path("token"), body).await
}

fn access_claims(answer: &Answer) -> serde_json::Value {
    assert_eq!(answer.status, 200, "{}", answer.body);
    claims_of(answer.json()["access_token"].as_str().unwrap())
}

#[tokio::test]
async fn a_token_asked_not_before_the_next_second_is_issued_from_it() {
    let f = Fixture::new().await;
    let before = now();
    let plain = access_claims(&client_credentials(&f, "").await);
    assert!(plain["iat"].as_i64().unwrap() <= before, "back-dated as usual without a claims request: {plain}");

    let not_before = now() + 1;
    let claims =
        access_claims(&client_credentials(&f, &format!("&claims={}", urlencode(&nbf_claims(not_before)))).await);
    let (iat, nbf) = (claims["iat"].as_i64().unwrap(), claims["nbf"].as_i64().unwrap());
    assert!(iat >= not_before && nbf >= not_before, "iat {iat} nbf {nbf} before {not_before}");
    assert!(now() >= not_before, "the second was waited for, not claimed early");
    assert!(iat <= now(), "never issued in the future");
}

#[tokio::test]
async fn a_far_or_unreadable_nbf_is_invalid_request_and_malformed_json_is_ignored() {
    let f = Fixture::new().await;
    let refused = [
        ("a minute ahead", nbf_claims(now() + 60)),
        ("not a time", r#"{"access_token":{"nbf":{"essential":true,"value":"soon"}}}"#.to_owned()),
    ];
    for (name, claims) in refused {
        let answer = client_credentials(&f, &format!("&claims={}", urlencode(&claims))).await;
        let json = answer.json();
        assert_eq!(
            (answer.status, json["error"].as_str(), json["error_codes"][0].as_u64()),
            (400, Some("invalid_request"), Some(u64::from(codes::MALFORMED_REQUEST))),
            "{name}: {}",
            answer.body
        );
    }
    // As before this change: a claims parameter that is not JSON adds nothing and breaks nothing.
    let ignored = client_credentials(&f, "&claims=not%20json").await;
    assert_eq!(ignored.status, 200, "{}", ignored.body);
}

#[tokio::test]
async fn msals_merged_claims_keep_the_capabilities_and_honour_nbf_in_either_order() {
    let f = Fixture::new().await;
    let t = now();
    let merged = [
        format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{t}"}},"xms_cc":{{"values":["cp1"]}}}}}}"#),
        format!(
            r#"{{"access_token":{{"xms_cc":{{"values":["cp1"]}},"nbf":{{"essential":true,"value":"{}"}}}}}}"#,
            t + 1
        ),
    ];
    for claims in merged {
        let not_before: i64 = claims.split("\"value\":\"").nth(1).unwrap()[..10].parse().unwrap();
        let body = format!(
            "grant_type=authorization_code&{}&code={}&redirect_uri={REDIRECT}&code_verifier={VERIFIER}&claims={}",
            f.public_auth(),
            urlencode(&f.code().await),
            urlencode(&claims)
        );
        let answer = f.post(&f.path("token"), body).await;
        let token = access_claims(&answer);
        assert_eq!(token["xms_cc"], serde_json::json!(["cp1"]), "{claims}");
        assert!(token["iat"].as_i64().unwrap() >= not_before, "{claims}: {token}");
        assert!(answer.json()["refresh_token"].is_string(), "the rest of the answer is unchanged");
    }
}
