//! "What would this draft policy have decided?": recorded gateway decisions are routed and
//! authorized again under the draft, and every one whose outcome would change is listed. The
//! decision record keeps what requirements look at (`TokenFacts`), never the token.
//!
//! Only what a policy decides is replayed: routing and authorization. Records whose outcome no
//! policy changes (bad requests, revoked tokens, upstream failures, a node without revocation
//! data) are counted as not replayable. A token that failed verification stays refused unless
//! the draft makes its route public or unroutable.

use std::collections::HashSet;

use axum::http::Method;
use tokengate_core::access::decision_facts::TokenFacts;
use tokengate_core::access::policy::evaluate;
use tokengate_core::access::policy_document::PolicyDocument;
use tokengate_core::access::request_path::normalise;
use tokengate_core::audit::Outcome;
use tokengate_core::audit_chain::ChainedRecord;

use super::route_table::RouteTable;

/// One decision, recorded or simulated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The reason code of a denial (`audience_mismatch`, `no_route`...); empty when allowed.
    pub reason: String,
    pub route: Option<String>,
}

/// A recorded request the draft would decide the other way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flip {
    pub seq: i64,
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub recorded: Decision,
    pub simulated: Decision,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simulation {
    /// Records decided again.
    pub replayed: usize,
    /// Records whose outcome no policy decides.
    pub not_replayable: usize,
    pub flips: Vec<Flip>,
}

/// Reason codes of refusals that happen before routing or beside the policy.
const NOT_POLICY: [&str; 6] = [
    "revoked",
    "form_body_too_large",
    "token_in_body_and_header",
    "malformed_request",
    "token_too_large",
    "keys_unavailable",
];

/// Reason codes a route's requirements give (decided again from the recorded facts).
const REQUIREMENTS: [&str; 6] = [
    "audience_mismatch",
    "version_mismatch",
    "issuer_not_allowed",
    "insufficient_scope",
    "token_without_permissions",
    "tenant_not_allowed",
];

pub fn simulate(draft: &PolicyDocument, records: &[ChainedRecord]) -> Simulation {
    let routes = RouteTable::compile(&draft.routes);
    let issuers: HashSet<&str> = draft.issuers.iter().map(|i| i.name.as_str()).collect();
    let mut simulation = Simulation::default();
    for record in records {
        let Some((recorded, simulated)) = replay(&routes, &issuers, record) else {
            simulation.not_replayable += 1;
            continue;
        };
        simulation.replayed += 1;
        if recorded.allowed != simulated.allowed {
            let detail = &record.event.detail;
            simulation.flips.push(Flip {
                seq: record.seq,
                at_ms: record.event.at_ms,
                method: detail["method"].as_str().unwrap_or_default().to_owned(),
                path: detail["path"].as_str().unwrap_or_default().to_owned(),
                client_id: record.event.client_id.clone(),
                subject: record.event.subject.clone(),
                recorded,
                simulated,
            });
        }
    }
    simulation
}

fn replay(routes: &RouteTable, issuers: &HashSet<&str>, record: &ChainedRecord) -> Option<(Decision, Decision)> {
    let event = &record.event;
    if event.action != "gateway.request" || event.outcome == Outcome::Error {
        return None;
    }
    let reason = event.reason.clone().unwrap_or_default();
    if NOT_POLICY.contains(&reason.as_str()) || reason.starts_with("path_") || reason.starts_with("host_") {
        return None;
    }
    let detail = &event.detail;
    let method = Method::from_bytes(detail["method"].as_str()?.as_bytes()).ok()?;
    let path = normalise(detail["path"].as_str()?).ok()?.routing;
    let facts: Option<TokenFacts> = serde_json::from_value(detail["token"].clone()).ok();
    let recorded = Decision {
        allowed: event.outcome == Outcome::Allowed,
        reason,
        route: detail["route"].as_str().map(str::to_owned),
    };

    let denied = |reason: &str, route: Option<String>| Decision { allowed: false, reason: reason.to_owned(), route };
    let Some(route) = routes.find(detail["host"].as_str(), &path, &method) else {
        return Some((recorded, denied("no_route", None)));
    };
    let name = Some(route.name.to_string());
    let simulated = match (&route.require, facts) {
        (None, _) => Decision { allowed: true, reason: String::new(), route: name },
        (Some(requirements), Some(facts)) => {
            let token =
                facts.to_token(event.tenant_id.as_deref(), event.client_id.as_deref(), event.subject.as_deref());
            if !issuers.contains(facts.issuer.as_str()) {
                denied("untrusted_issuer", name)
            } else {
                match evaluate(requirements, &token) {
                    Ok(()) => Decision { allowed: true, reason: String::new(), route: name },
                    Err(rejection) => denied(rejection.code(), name),
                }
            }
        }
        // No verified token on record: none was sent, it failed verification, or the route
        // was public (never verified). A protected route refuses it; say what we know.
        (Some(_), None) => {
            let why = match recorded.reason.as_str() {
                "" | "no_route" => "token_not_recorded",
                r if REQUIREMENTS.contains(&r) => "token_not_recorded",
                r => r,
            };
            denied(why, name)
        }
    };
    Some((recorded, simulated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokengate_core::audit::{AuditEvent, AuditSource};

    fn record(seq: i64, outcome: Outcome, reason: &str, path: &str, token: Option<TokenFacts>) -> ChainedRecord {
        let mut event = AuditEvent::new(AuditSource::Gateway, "gateway.request", outcome, 1_000 + seq);
        event.reason = (!reason.is_empty()).then(|| reason.to_owned());
        event.client_id = Some("client-1".into());
        event.detail =
            serde_json::json!({"route": "orders", "method": "GET", "path": path, "host": null, "token": token});
        ChainedRecord { seq, prev_hash: None, chain_hash: None, event }
    }

    fn facts(scopes: &[&str]) -> TokenFacts {
        TokenFacts {
            issuer: "tokengate".into(),
            aud: vec!["api://orders".into()],
            scp_present: true,
            scp: scopes.iter().map(|s| s.to_string()).collect(),
            ..TokenFacts::default()
        }
    }

    fn draft(scope: &str, extra: &str) -> PolicyDocument {
        let text = format!(
            r#"
            [[issuer]]
            name = "tokengate"
            kind = "builtin"
            [[route]]
            name = "orders"
            path_prefix = "/orders/"
            upstream = "echo"
            [route.require]
            issuers = ["tokengate"]
            audiences = ["api://orders"]
            scopes_any = ["{scope}"]
            {extra}
            "#
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn a_stricter_scope_flips_the_requests_it_would_refuse_and_nothing_else() {
        let records = vec![
            record(1, Outcome::Allowed, "", "/orders/1", Some(facts(&["Orders.Read"]))),
            record(2, Outcome::Allowed, "", "/orders/2", Some(facts(&["Orders.Read", "Orders.Write"]))),
            record(3, Outcome::Denied, "revoked", "/orders/3", Some(facts(&["Orders.Write"]))),
            record(4, Outcome::Denied, "expired", "/orders/4", None),
            record(5, Outcome::Denied, "no_route", "/elsewhere", None),
        ];
        let same = simulate(&draft("Orders.Read", ""), &records);
        assert_eq!((same.replayed, same.not_replayable, same.flips.len()), (4, 1, 0), "{same:?}");

        let stricter = simulate(&draft("Orders.Write", ""), &records);
        assert_eq!(stricter.flips.len(), 1, "{stricter:?}");
        let flip = &stricter.flips[0];
        assert_eq!((flip.seq, flip.path.as_str(), flip.client_id.as_deref()), (1, "/orders/1", Some("client-1")));
        assert!(flip.recorded.allowed && !flip.simulated.allowed);
        assert_eq!(flip.simulated.reason, "insufficient_scope");
    }

    #[test]
    fn a_route_made_public_or_removed_flips_refusals_and_allowances() {
        let records = vec![
            record(1, Outcome::Denied, "no_token", "/orders/1", None),
            record(2, Outcome::Allowed, "", "/orders/2", Some(facts(&["Orders.Read"]))),
        ];
        let mut public = draft("Orders.Read", "");
        public.routes[0].require = None;
        public.routes[0].public = true;
        let opened = simulate(&public, &records);
        assert_eq!(opened.flips.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![1]);
        assert!(opened.flips[0].simulated.allowed);

        let mut removed = draft("Orders.Read", "");
        removed.routes.clear();
        let closed = simulate(&removed, &records);
        assert_eq!(closed.flips.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![2]);
        assert_eq!(closed.flips[0].simulated.reason, "no_route");
    }

    #[test]
    fn an_issuer_dropped_from_the_draft_refuses_its_tokens() {
        let records = vec![record(1, Outcome::Allowed, "", "/orders/1", Some(facts(&["Orders.Read"])))];
        let mut draft = draft("Orders.Read", "");
        draft.issuers[0].name = "entra".into();
        let simulation = simulate(&draft, &records);
        assert_eq!(simulation.flips.len(), 1);
        assert_eq!(simulation.flips[0].simulated.reason, "untrusted_issuer");
    }
}
