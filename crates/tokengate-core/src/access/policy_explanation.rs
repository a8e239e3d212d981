//! Every requirement of a route a verified token fails, with what was expected and what the token
//! carries: the token debugger's answer to "why is this refused?". `evaluate` stops at the first
//! failure because the gateway needs one reason; an operator needs all of them. The two must
//! agree (no failure here exactly when `evaluate` passes): the checks below mirror `evaluate`'s
//! one for one, and a test compares them.

use std::sync::Arc;

use serde::Serialize;

use super::policy::{has, Requirements, TokenKind};
use super::VerifiedToken;

/// One requirement the token does not meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedRequirement {
    /// Which requirement: `issuer`, `audience_array`, `audience`, `tenant`, `version`,
    /// `token_kind`, `permissions`, `scope_or_role`, `scopes_all`, `roles_all`, `groups_any`,
    /// `groups_all`, `claim`.
    pub requirement: &'static str,
    pub expected: String,
    pub got: String,
}

fn failed(requirement: &'static str, expected: impl Into<String>, got: impl Into<String>) -> FailedRequirement {
    FailedRequirement { requirement, expected: expected.into(), got: got.into() }
}

fn listed(items: &[Arc<str>]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(" ")
    }
}

fn token_kind(t: &VerifiedToken) -> &'static str {
    if t.is_app_only() {
        "app_only"
    } else if t.is_delegated() {
        "delegated"
    } else {
        // `idtyp` contradicts the presence of `scp`: neither kind passes.
        "neither (idtyp contradicts scp)"
    }
}

/// Every requirement of `req` that `t` fails; empty exactly when `evaluate(req, t)` is `Ok`.
pub fn explain(req: &Requirements, t: &VerifiedToken) -> Vec<FailedRequirement> {
    let mut out = Vec::new();
    if !req.issuers.iter().any(|i| *i == *t.issuer) {
        out.push(failed("issuer", req.issuers.join(" or "), &*t.issuer));
    }
    if t.aud_is_array && !req.allow_audience_array {
        out.push(failed("audience_array", "a single audience (allow_audience_array is off)", listed(&t.aud)));
    }
    if !t.aud.iter().any(|a| req.audiences.iter().any(|r| r == &**a)) {
        out.push(failed("audience", req.audiences.join(" or "), listed(&t.aud)));
    }
    if !req.tenants.is_empty() && !t.tid.as_deref().is_some_and(|tid| req.tenants.iter().any(|r| r == tid)) {
        out.push(failed("tenant", req.tenants.join(" or "), t.tid.as_deref().unwrap_or("none")));
    }
    if !req.versions.is_empty() && !t.ver.as_deref().is_some_and(|v| req.versions.iter().any(|r| r == v)) {
        out.push(failed("version", req.versions.join(" or "), t.ver.as_deref().unwrap_or("none")));
    }
    match req.token_kind {
        TokenKind::AppOnly if !t.is_app_only() => out.push(failed("token_kind", "app_only", token_kind(t))),
        TokenKind::Delegated if !t.is_delegated() => out.push(failed("token_kind", "delegated", token_kind(t))),
        _ => {}
    }
    explain_permissions(req, t, &mut out);
    for condition in req.claims.iter().filter(|c| !c.holds(t.extra_claim(&c.claim))) {
        let expected = serde_json::to_string(condition).unwrap_or_else(|_| condition.claim.clone());
        let got = t.extra_claim(&condition.claim).map_or_else(|| "absent".to_owned(), |v| v.to_string());
        out.push(failed("claim", expected, got));
    }
    out
}

/// Scopes, app roles and groups.
fn explain_permissions(req: &Requirements, t: &VerifiedToken, out: &mut Vec<FailedRequirement>) {
    let names_permissions = !(req.scopes_any.is_empty()
        && req.scopes_all.is_empty()
        && req.roles_any.is_empty()
        && req.roles_all.is_empty());
    if !names_permissions && !t.has_permissions() && !req.allow_tokens_without_permissions {
        out.push(failed("permissions", "a scope or an app role (or allow_tokens_without_permissions)", "neither"));
    }
    if !req.scopes_any.is_empty() || !req.roles_any.is_empty() {
        let by_scope = req.scopes_any.iter().any(|s| has(&t.scopes, s));
        let by_role = req.roles_any.iter().any(|r| has(&t.roles, r));
        if !by_scope && !by_role {
            let mut needed = req.scopes_any.clone();
            needed.extend(req.roles_any.iter().cloned());
            let got = format!("scp: {}; roles: {}", listed(&t.scopes), listed(&t.roles));
            out.push(failed("scope_or_role", format!("any of: {}", needed.join(" ")), got));
        }
    }
    let all_of = |out: &mut Vec<FailedRequirement>, name: &'static str, wanted: &[String], held: &[Arc<str>]| {
        if wanted.iter().any(|w| !has(held, w)) {
            out.push(failed(name, format!("all of: {}", wanted.join(" ")), listed(held)));
        }
    };
    all_of(out, "scopes_all", &req.scopes_all, &t.scopes);
    all_of(out, "roles_all", &req.roles_all, &t.roles);
    if !req.groups_any.is_empty() && !req.groups_any.iter().any(|g| has(&t.groups, g)) {
        out.push(failed("groups_any", format!("any of: {}", req.groups_any.join(" ")), listed(&t.groups)));
    }
    all_of(out, "groups_all", &req.groups_all, &t.groups);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::access::policy::tests_support::{sample_token, strings};
    use crate::access::policy::{evaluate, ClaimCondition};

    fn req() -> Requirements {
        Requirements { issuers: vec!["entra".into()], audiences: vec!["api-id".into()], ..Default::default() }
    }

    fn names(failures: &[FailedRequirement]) -> Vec<&'static str> {
        failures.iter().map(|f| f.requirement).collect()
    }

    #[test]
    fn every_failing_requirement_is_listed_with_expected_and_got() {
        let strict = Requirements {
            issuers: vec!["other".into()],
            audiences: vec!["api://x".into()],
            tenants: vec!["t2".into()],
            versions: vec!["1.0".into()],
            roles_any: vec!["Admin".into()],
            groups_all: vec!["g1".into(), "g2".into()],
            ..Default::default()
        };
        let failures = explain(&strict, &sample_token());
        assert_eq!(names(&failures), ["issuer", "audience", "tenant", "version", "scope_or_role", "groups_all"]);
        assert_eq!(failures[1].expected, "api://x");
        assert_eq!(failures[1].got, "api-id");
        assert_eq!(failures[4].expected, "any of: Admin");
        assert_eq!(failures[4].got, "scp: Orders.Read; roles: none");
        assert_eq!(failures[5].got, "g1");
    }

    #[test]
    fn a_failed_claim_condition_shows_the_condition_and_the_value() {
        let condition =
            ClaimCondition { claim: "department".into(), equals: Some(json!("hr")), one_of: None, contains: None };
        let failures = explain(&Requirements { claims: vec![condition], ..req() }, &sample_token());
        assert_eq!(names(&failures), ["claim"]);
        assert!(failures[0].expected.contains("\"hr\""), "{:?}", failures[0]);
        assert_eq!(failures[0].got, "\"sales\"");
    }

    /// Explain lists nothing exactly when evaluate passes, over tokens and requirements that
    /// exercise every check.
    #[test]
    fn explain_and_evaluate_agree() {
        let mut app = sample_token();
        app.scopes = strings(&[]);
        app.scp_present = false;
        app.roles = strings(&["Orders.Read.All"]);
        let mut bare = sample_token();
        bare.scopes = strings(&[]);
        bare.scp_present = false;
        let mut array = sample_token();
        array.aud = strings(&["api-id", "other"]);
        array.aud_is_array = true;
        let mut user_typed = app.clone();
        user_typed.idtyp = Some("user".into());
        let tokens = [sample_token(), app, bare, array, user_typed];
        let condition = |equals: serde_json::Value| ClaimCondition {
            claim: "department".into(),
            equals: Some(equals),
            one_of: None,
            contains: None,
        };
        let requirements = [
            req(),
            Requirements { issuers: vec!["other".into()], ..req() },
            Requirements { audiences: vec!["api://x".into()], ..req() },
            Requirements { allow_audience_array: true, ..req() },
            Requirements { tenants: vec!["t2".into()], versions: vec!["1.0".into()], ..req() },
            Requirements { tenants: vec!["t1".into()], versions: vec!["2.0".into()], ..req() },
            Requirements { scopes_any: vec!["Orders.Read".into()], roles_any: vec!["Orders.Read.All".into()], ..req() },
            Requirements { scopes_all: vec!["Orders.Read".into(), "Orders.Write".into()], ..req() },
            Requirements { roles_all: vec!["Orders.Read.All".into()], ..req() },
            Requirements { groups_any: vec!["g2".into()], groups_all: vec!["g1".into()], ..req() },
            Requirements { token_kind: TokenKind::AppOnly, ..req() },
            Requirements { token_kind: TokenKind::Delegated, ..req() },
            Requirements { allow_tokens_without_permissions: true, ..req() },
            Requirements { claims: vec![condition(json!("sales"))], ..req() },
            Requirements { claims: vec![condition(json!("hr"))], ..req() },
        ];
        let mut passing = 0;
        for (ti, t) in tokens.iter().enumerate() {
            for (ri, r) in requirements.iter().enumerate() {
                let failures = explain(r, t);
                assert_eq!(failures.is_empty(), evaluate(r, t).is_ok(), "token {ti}, requirements {ri}: {failures:?}");
                passing += usize::from(failures.is_empty());
            }
        }
        assert!(passing > 10 && passing < tokens.len() * requirements.len(), "both outcomes exercised: {passing}");
    }
}
