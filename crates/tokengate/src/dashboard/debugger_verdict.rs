//! The gateway's verdict on a token as four checks a person can follow — issuer, signature,
//! lifetime, audience — each passed, failed (with why) or not reached. The admin API answers one
//! reason code; the gateway checks in this order and stops at the first failure, so the code
//! says which check failed and which ones passed before it.

use tokengate_proto::admin::TokenVerdict;

/// One check of the verdict.
pub struct CheckRow {
    pub name: &'static str,
    /// `pass`, `fail` or `not-checked` (also the CSS class).
    pub outcome: &'static str,
    pub why: String,
}

const CHECKS: [&str; 4] = ["Issuer", "Signature", "Lifetime", "Audience"];

/// The checks for `verdict` (none on a node running no gateway).
pub fn verdict_checks(
    verdict: Option<&TokenVerdict>,
    header: &serde_json::Value,
    claims: &serde_json::Value,
) -> Vec<CheckRow> {
    let Some(verdict) = verdict else { return vec![] };
    let text = |v: &serde_json::Value, name: &str| match v.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "(absent)".to_owned(),
    };
    let failed_at = match verdict.result.as_str() {
        "verified" => None,
        "untrusted_issuer" | "tenant_not_allowed" | "issuer_not_allowed" => Some(0),
        "algorithm_not_allowed" | "unknown_kid" | "keys_unavailable" | "bad_signature" => Some(1),
        "expired" | "not_yet_valid" | "issued_in_future" => Some(2),
        "audience_mismatch" | "version_mismatch" => Some(3),
        // malformed_token, bad_claim, id_token...: refused as a whole, named below.
        _ => Some(usize::MAX),
    };
    let pass_why = [
        format!("iss {} is trusted (issuer {})", text(claims, "iss"), verdict.issuer.as_deref().unwrap_or("?")),
        format!("{} signature by key {} verifies", text(header, "alg"), text(header, "kid")),
        format!("valid until exp {}", when(claims, "exp")),
        format!("aud {} is accepted by a protected route", text(claims, "aud")),
    ];
    let fail_why = |check: usize| match (check, verdict.result.as_str()) {
        (0, code) => {
            format!("{code}: iss {} (tid {}) is not a trusted issuer here", text(claims, "iss"), text(claims, "tid"))
        }
        (1, "unknown_kid") => format!("unknown_kid: the issuer publishes no key {}", text(header, "kid")),
        (1, "algorithm_not_allowed") => format!("algorithm_not_allowed: alg {} is not allowed", text(header, "alg")),
        (1, code) => format!("{code}: the signature does not verify with key {}", text(header, "kid")),
        (2, "expired") => format!("expired: exp {} has passed", when(claims, "exp")),
        (2, code) => format!("{code}: nbf {}, iat {}", when(claims, "nbf"), when(claims, "iat")),
        (_, code) => format!("{code}: no route takes aud {}", text(claims, "aud")),
    };
    let mut rows: Vec<CheckRow> = CHECKS
        .iter()
        .enumerate()
        .map(|(i, name)| match failed_at {
            Some(at) if at == i => CheckRow { name, outcome: "fail", why: fail_why(i) },
            Some(at) if at < i => {
                CheckRow { name, outcome: "not-checked", why: "not reached: an earlier check failed".into() }
            }
            Some(usize::MAX) => {
                CheckRow { name, outcome: "not-checked", why: "not reached: the token was refused as a whole".into() }
            }
            _ => CheckRow { name, outcome: "pass", why: pass_why[i].clone() },
        })
        .collect();
    if failed_at == Some(usize::MAX) {
        rows.insert(
            0,
            CheckRow { name: "Form", outcome: "fail", why: format!("{}: see the claims below", verdict.result) },
        );
    }
    rows
}

/// A time claim as unix seconds and a date.
fn when(claims: &serde_json::Value, name: &str) -> String {
    match claims.get(name).and_then(|v| v.as_i64()) {
        Some(unix) => crate::admin::api::iso8601(unix),
        None => "(absent)".to_owned(),
    }
}
