//! `tokengate token explain`: sends a token to the admin API's debugger (`POST
//! /admin/v1/debug/token`, which neither stores nor logs it) and prints what the gateway would
//! decide: the verdict, revocation, each route's pass or fail with every failing requirement, and
//! each claim with its meaning. Tables by default, the API's answer with `-o json`.

use tokengate_proto::admin::{RevocationCheck, TokenDebugRequest, TokenExplanation, TokenVerdict};

use super::admin_target::TargetArgs;
use super::table::{self, Table};
use super::CliError;

pub async fn explain(target: &TargetArgs, request: TokenDebugRequest) -> Result<(), CliError> {
    let client = super::api_session(target).await?;
    let explanation: TokenExplanation = client.post("/admin/v1/debug/token", &request).await?;
    table::emit(target.output, &explanation, |e| print!("{}", render(e, crate::state::now())))
}

/// The explanation as a person reads it.
fn render(e: &TokenExplanation, now: i64) -> String {
    let mut out = String::new();
    let fields = [("verdict", verdict(e.verdict.as_ref())), ("revocation", revocation(e.revocation.as_ref()))];
    for (name, value) in fields {
        out.push_str(&format!("{name:<10}  {value}\n"));
    }
    if !e.routes.is_empty() {
        let mut routes = Table::new(&["ROUTE", "RESULT", "FAILING REQUIREMENT", "EXPECTED", "GOT"]);
        for r in &e.routes {
            let result = match (r.passes, r.public) {
                (true, true) => "pass (public)",
                (true, false) => "pass",
                (false, _) => "FAIL",
            };
            let mut failing = r.failing.iter();
            match failing.next() {
                None => routes.row(vec![r.name.clone(), result.into(), "-".into(), String::new(), String::new()]),
                Some(f) => routes.row(vec![
                    r.name.clone(),
                    result.into(),
                    f.requirement.clone(),
                    f.expected.clone(),
                    f.got.clone(),
                ]),
            }
            for f in failing {
                routes.row(vec![
                    String::new(),
                    String::new(),
                    f.requirement.clone(),
                    f.expected.clone(),
                    f.got.clone(),
                ]);
            }
        }
        out.push('\n');
        out.push_str(&routes.render());
        out.push('\n');
    }
    let mut claims = Table::new(&["CLAIM", "VALUE", "MEANING"]);
    for (name, value) in e.claims.as_object().into_iter().flatten() {
        let value = super::token_decode::readable(name, value, now);
        let meaning = e.claim_meanings.get(name).cloned().unwrap_or_default();
        claims.row(vec![name.clone(), value, meaning]);
    }
    out.push('\n');
    out.push_str(&claims.render());
    out.push('\n');
    out
}

fn verdict(v: Option<&TokenVerdict>) -> String {
    match v {
        None => "not judged: this admin API's node runs no gateway".into(),
        Some(v) if v.verified => format!("verified (trusted issuer {})", table::opt(v.issuer.as_deref())),
        Some(v) => format!("NOT verified: {}", v.result),
    }
}

fn revocation(r: Option<&RevocationCheck>) -> String {
    match r {
        None => "not checked (the token does not verify)".into(),
        Some(r) if !r.revoked => "not revoked".into(),
        Some(r) => {
            let by = table::opt(r.by.as_deref());
            match &r.revocation {
                Some(row) => format!(
                    "REVOKED (by {by}: feed version {}, by {} at {}{})",
                    row.version,
                    row.actor,
                    row.created_at,
                    row.reason.as_deref().map(|why| format!(", reason: {why}")).unwrap_or_default()
                ),
                None => format!("REVOKED (by {by})"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokengate_proto::admin::{FailedRequirementView, RouteExplanation};

    use super::*;

    #[test]
    fn routes_list_every_failing_requirement_and_claims_their_meaning() {
        let e = TokenExplanation {
            header: json!({"alg": "RS256"}),
            claims: json!({"roles": ["Demo.Read.All"], "exp": 1_000 + 3600}),
            claim_meanings: [("roles".to_string(), "App roles granted".to_string())].into(),
            verdict: Some(TokenVerdict { verified: true, result: "verified".into(), issuer: Some("tokengate".into()) }),
            revocation: Some(RevocationCheck { revoked: false, by: None, revocation: None }),
            routes: vec![
                RouteExplanation { name: "demo".into(), public: false, passes: true, failing: vec![] },
                RouteExplanation {
                    name: "demo-write".into(),
                    public: false,
                    passes: false,
                    failing: vec![
                        FailedRequirementView {
                            requirement: "scope_or_role".into(),
                            expected: "roles any of Demo.Write.All".into(),
                            got: "roles Demo.Read.All".into(),
                        },
                        FailedRequirementView { requirement: "tenant".into(), expected: "t1".into(), got: "t2".into() },
                    ],
                },
            ],
        };
        let text = render(&e, 1_000);
        assert!(
            text.starts_with("verdict     verified (trusted issuer tokengate)\nrevocation  not revoked\n"),
            "{text}"
        );
        assert!(text.lines().any(|l| l.starts_with("demo ") && l.contains(" pass")), "{text}");
        let write = text.lines().find(|l| l.starts_with("demo-write")).unwrap();
        assert!(write.contains("FAIL") && write.contains("Demo.Write.All"), "{text}");
        assert!(text.lines().any(|l| l.trim_start().starts_with("tenant") && l.contains("t2")), "{text}");
        assert!(text.lines().any(|l| l.starts_with("roles") && l.contains("App roles granted")), "{text}");
        assert!(text.contains("(in 1 h)"), "{text}");
    }

    #[test]
    fn an_unverified_or_revoked_token_says_so() {
        let failed = TokenVerdict { verified: false, result: "expired".into(), issuer: None };
        assert_eq!(verdict(Some(&failed)), "NOT verified: expired");
        assert!(verdict(None).contains("no gateway"));
        let revoked = RevocationCheck { revoked: true, by: Some("user".into()), revocation: None };
        assert_eq!(revocation(Some(&revoked)), "REVOKED (by user)");
    }
}
