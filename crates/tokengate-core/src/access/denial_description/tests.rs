use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::access::policy::tests_support::sample_token;
use crate::access::trusted_issuer::{IssuerKind, IssuerMaterial, IssuerPattern};
use crate::encoding::b64url;
use crate::jws::JwsAlgorithm;

const NOW: i64 = 1_800_000_000;
const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const BASE: &str = "https://login.example";

fn issuers(tenants: Option<&[&str]>) -> TrustedIssuers {
    let tenants = tenants.map(|t| t.iter().map(|s| (*s).to_owned()).collect::<HashSet<_>>());
    let issuer = TrustedIssuer::new("entra", IssuerKind::Entra, tenants, vec![JwsAlgorithm::Rs256]);
    issuer.replace_material(IssuerMaterial {
        patterns: vec![IssuerPattern { template: format!("{BASE}/{{tenantid}}/v2.0"), version: Some("2.0") }],
        keys: Default::default(),
    });
    TrustedIssuers { issuers: vec![Arc::new(issuer)] }
}

/// An unsigned token (descriptions never verify; they only quote).
fn token(header: Value, claims: Value) -> String {
    format!("{}.{}.c2ln", b64url(header.to_string()), b64url(claims.to_string()))
}

fn claims() -> Value {
    json!({"iss": format!("{BASE}/{TID}/v2.0"), "tid": TID, "aud": "api://orders", "exp": NOW + 3600})
}

fn header() -> Value {
    json!({"alg": "RS256", "kid": "key-1"})
}

fn describe_unverified(rejection: Rejection, presented: &str, issuers: &TrustedIssuers) -> Denial {
    describe(&DenialFacts {
        rejection: &rejection,
        presented: Some(presented),
        verified: None,
        requirements: None,
        issuers,
        now: NOW,
    })
}

fn describe_route(rejection: Rejection, requirements: &Requirements, verified: &VerifiedToken) -> Denial {
    let issuers = issuers(None);
    describe(&DenialFacts {
        rejection: &rejection,
        presented: None,
        verified: Some(verified),
        requirements: Some(requirements),
        issuers: &issuers,
        now: NOW,
    })
}

fn req() -> Requirements {
    Requirements { issuers: vec!["entra".into()], audiences: vec!["api-id".into()], ..Default::default() }
}

fn is_header_safe(text: &str) -> bool {
    text.len() <= MAX_DESCRIPTION && text.chars().all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\')
}

#[test]
fn lifetimes_say_when_and_how_long_ago() {
    let all = issuers(None);
    let expired = token(header(), json!({"exp": NOW - 600}));
    let d = describe_unverified(Rejection::Expired, &expired, &all);
    assert!(d.description.contains("expired 10 min ago"), "{}", d.description);
    assert!(d.description.contains("exp 2027-01-15T07:50:00Z"), "ISO 8601 exp: {}", d.description);
    assert_eq!(d.mismatch.unwrap().claim, "exp");
    let early = token(header(), json!({"nbf": NOW + 90}));
    let d = describe_unverified(Rejection::NotYetValid, &early, &all);
    assert!(d.description.contains("in 90 s"), "{}", d.description);
    let future = token(header(), json!({"iat": NOW + 3 * 3600}));
    assert!(describe_unverified(Rejection::IssuedInFuture, &future, &all).description.contains("3 h in the future"));
}

#[test]
fn verification_failures_name_the_value_the_token_carries() {
    let all = issuers(None);
    let t = token(json!({"alg": "HS256", "kid": "key-1"}), claims());
    let d = describe_unverified(Rejection::AlgorithmNotAllowed, &t, &all);
    assert_eq!(d.description, "Signing algorithm HS256 is not allowed for entra");
    assert_eq!(d.mismatch.unwrap().expected, "RS256");

    let t = token(json!({"alg": "RS256", "kid": "gone"}), claims());
    let d = describe_unverified(Rejection::UnknownKey, &t, &all);
    assert!(d.description.starts_with("No signing key gone at issuer entra"), "{}", d.description);
    assert!(describe_unverified(Rejection::BadSignature, &t, &all).description.contains("key gone"));

    let t = token(header(), json!({"iss": "https://sts.windows.net/x/", "tid": TID}));
    let d = describe_unverified(Rejection::UntrustedIssuer, &t, &all);
    assert_eq!(d.description, "Issuer https://sts.windows.net/x/ is not trusted here");
    let m = d.mismatch.unwrap();
    assert_eq!((m.claim, m.expected.as_str()), ("iss", "https://login.example/{tenantid}/v2.0"));

    let pinned = issuers(Some(&["00000000-0000-0000-0000-00000000beef"]));
    let d = describe_unverified(Rejection::TenantNotAllowed, &token(header(), claims()), &pinned);
    assert_eq!(d.description, format!("Tenant {TID} is not allowed by issuer entra"));
    assert_eq!(d.mismatch.unwrap().expected, "00000000-0000-0000-0000-00000000beef");

    let d = describe_unverified(Rejection::BadClaim("tid"), &token(header(), claims()), &all);
    assert_eq!(d.description, "Claim tid is missing or has the wrong type");
}

#[test]
fn route_failures_show_expected_and_got() {
    let t = sample_token();
    let d =
        describe_route(Rejection::AudienceMismatch, &Requirements { audiences: vec!["api://x".into()], ..req() }, &t);
    assert_eq!(d.description, "Audience api-id is not accepted here; expected api://x");
    assert_eq!(d.mismatch, Some(Mismatch { claim: "aud", expected: "api://x".into(), got: "api-id".into() }));

    let d = describe_route(Rejection::TenantNotAllowed, &Requirements { tenants: vec!["t2".into()], ..req() }, &t);
    assert_eq!(d.description, "Tenant t1 is not allowed on this route", "the allow-list stays out of the answer");
    assert_eq!(d.mismatch.unwrap().expected, "t2", "but the console gets it");

    let d = describe_route(Rejection::VersionMismatch, &Requirements { versions: vec!["1.0".into()], ..req() }, &t);
    assert_eq!(d.description, "Token version 2.0 is not accepted here; expected 1.0");

    let d = describe_route(
        Rejection::IssuerNotAllowedOnRoute,
        &Requirements { issuers: vec!["other".into()], ..req() },
        &t,
    );
    assert_eq!(d.description, "Tokens from issuer entra are not accepted on this route");

    let write = Requirements { scopes_any: vec!["Orders.Write".into()], ..req() };
    let d = describe_route(Rejection::Insufficient("Orders.Write".into()), &write, &t);
    assert_eq!(d.description, "Missing permission: needs one of Orders.Write (a delegated scope or an app role)");
    assert_eq!(d.mismatch.unwrap().got, "scp: Orders.Read; roles: none");

    let admin = Requirements { roles_all: vec!["Admin".into()], ..req() };
    assert_eq!(
        describe_route(Rejection::Insufficient("Admin".into()), &admin, &t).description,
        "Missing app role Admin"
    );
}

#[test]
fn every_reason_has_its_own_header_safe_words() {
    let all = issuers(None);
    let t = token(header(), claims());
    let reasons = [
        Rejection::NoToken,
        Rejection::MalformedRequest,
        Rejection::TokenInBodyAndHeader,
        Rejection::TokenTooLarge,
        Rejection::MalformedToken,
        Rejection::AlgorithmNotAllowed,
        Rejection::UnknownKey,
        Rejection::KeysUnavailable,
        Rejection::BadSignature,
        Rejection::Expired,
        Rejection::NotYetValid,
        Rejection::IssuedInFuture,
        Rejection::UntrustedIssuer,
        Rejection::TenantNotAllowed,
        Rejection::BadClaim("aud"),
        Rejection::IdToken,
        Rejection::AudienceMismatch,
        Rejection::VersionMismatch,
        Rejection::IssuerNotAllowedOnRoute,
        Rejection::Revoked,
        Rejection::Insufficient("X".into()),
        Rejection::NoPermissions,
    ];
    let mut seen = HashSet::new();
    for r in reasons {
        let d = describe_unverified(r.clone(), &t, &all);
        assert!(is_header_safe(&d.description), "{r:?}: {}", d.description);
        assert!(!d.description.contains(&t), "{r:?} never quotes the token");
        assert!(seen.insert(d.description.clone()), "{r:?} has its own words: {}", d.description);
    }
}

/// The caller controls every value quoted from its token: none may end the quoted string,
/// smuggle a header line or grow the header without bound.
#[test]
fn hostile_values_are_neutralised() {
    let all = issuers(None);
    let evil = format!("https://evil\"\\\r\nX-Injected: 1/{}", "a".repeat(5000));
    let t = token(header(), json!({"iss": evil}));
    let d = describe_unverified(Rejection::UntrustedIssuer, &t, &all);
    assert!(is_header_safe(&d.description), "{}", d.description);
    assert!(d.description.contains("evil??"), "{}", d.description);
    let m = d.mismatch.unwrap();
    assert!(is_header_safe(&m.got) && m.got.len() < 100, "{}", m.got);
    assert!(header_safe("é\u{7f}\t", 10) == "???");
}
