//! The issuer's token endpoint metrics sit beside the gateway's on the admin listener's
//! `/metrics`: a successful and a failed token request each show up, by grant and outcome, and
//! the failure by its AADSTS code.

use crate::harness::*;

#[tokio::test]
async fn token_requests_are_counted_by_grant_outcome_and_aadsts_code() {
    let s = DevServer::start().await;
    let (status, body) = s.secret_token().await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.s("/confidential_client/client_id")),
                ("client_secret", "not-the-secret"),
                ("scope", &s.api_scope()),
            ],
        )
        .await;
    assert_eq!((status, aadsts(&body)), (401, 7_000_215), "{body}");

    let text = reqwest::get(s.admin("/metrics")).await.unwrap().text().await.unwrap();
    for line in [
        "tokengate_issuer_token_requests_total{grant=\"client_credentials\",outcome=\"success\"} 1",
        "tokengate_issuer_token_requests_total{grant=\"client_credentials\",outcome=\"invalid_client\"} 1",
        "tokengate_issuer_aadsts_errors_total{code=\"7000215\",error=\"invalid_client\"} 1",
        "tokengate_issuer_token_request_duration_seconds_count{grant=\"client_credentials\"} 2",
        // Beside the gateway's, in one exposition that ends once.
        "# TYPE tokengate_gateway_requests counter",
    ] {
        assert!(text.contains(line), "missing {line} in:\n{text}");
    }
    assert_eq!(text.matches("# EOF").count(), 1, "{text}");
}
