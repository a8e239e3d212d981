//! The token debugger in process: a pasted token is explained (claims with meanings, audit links)
//! and never echoed; garbage gets a page saying what is wrong, not a server error.

use axum::http::StatusCode;

use crate::dashboard::dashboard_test_support::fixture;

#[tokio::test]
async fn a_pasted_token_is_explained_and_never_echoed() {
    let f = fixture().await;
    let token = f.api.other_api.clone();
    let a = f.post("/dashboard/debugger", &f.admin, &[("token", &token)]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("Audience:"), "claim meanings are shown: {}", a.body);
    assert!(a.body.contains("Explain another token"));
    assert!(a.body.contains("/dashboard/audit?token_id="), "a link to the token's audit records: {}", a.body);
    assert!(a.body.contains("not stored or logged"));
    assert!(!a.body.contains(&token), "the token is not put back into the page");
    for part in token.split('.') {
        assert!(!a.body.contains(part), "no part of the compact token is echoed");
    }
}

#[tokio::test]
async fn an_auditor_may_explain_a_token() {
    let f = fixture().await;
    let a = f.post("/dashboard/debugger", &f.auditor, &[("token", &f.api.other_api)]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let page = f.get("/dashboard/debugger", Some(&f.auditor)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<label for=\"token\""), "{}", page.body);
}

#[tokio::test]
async fn garbage_gets_a_clear_refusal_not_a_server_error() {
    let f = fixture().await;
    for garbage in ["not a token", "a.b.c", "Bearer x.y", "   "] {
        let a = f.post("/dashboard/debugger", &f.admin, &[("token", garbage)]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{garbage}: {}", a.body);
        assert!(a.body.contains("class=\"error\""), "{garbage}: {}", a.body);
        assert!(a.body.contains("<textarea"), "the form is offered again: {}", a.body);
        if garbage.trim().len() > 3 {
            assert!(!a.body.contains(garbage), "the paste is not echoed: {}", a.body);
        }
    }
}

#[test]
fn the_verdict_reads_as_checks_passed_failed_and_not_reached() {
    use tokengate_proto::admin::TokenVerdict;

    use super::debugger_verdict::verdict_checks;

    let header = serde_json::json!({"alg": "RS256", "kid": "k1"});
    let claims =
        serde_json::json!({"iss": "https://issuer.example/t/v2.0", "aud": "api://orders", "exp": 1_700_000_000});
    let outcomes = |result: &str| {
        let verdict =
            TokenVerdict { verified: result == "verified", result: result.into(), issuer: Some("tokengate".into()) };
        verdict_checks(Some(&verdict), &header, &claims).iter().map(|c| (c.name, c.outcome)).collect::<Vec<_>>()
    };
    assert_eq!(
        outcomes("expired"),
        [("Issuer", "pass"), ("Signature", "pass"), ("Lifetime", "fail"), ("Audience", "not-checked")]
    );
    assert_eq!(outcomes("bad_signature")[1], ("Signature", "fail"));
    assert_eq!(outcomes("untrusted_issuer")[0], ("Issuer", "fail"));
    assert!(outcomes("verified").iter().all(|(_, o)| *o == "pass"));
    assert_eq!(outcomes("malformed_token")[0], ("Form", "fail"));
    let expired = TokenVerdict { verified: false, result: "expired".into(), issuer: None };
    let why = &verdict_checks(Some(&expired), &header, &claims)[2].why;
    assert!(why.contains("2023-11-14T22:13:20Z"), "the expiry as a date: {why}");
    assert!(verdict_checks(None, &header, &claims).is_empty(), "no gateway, no verdict");
}
