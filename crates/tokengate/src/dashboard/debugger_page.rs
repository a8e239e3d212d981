//! Token debugger: paste a token, see what it says (each Entra claim with its meaning), whether
//! the gateway verifies it (issuer, signature, lifetime, audience), whether a revocation covers it,
//! and every route's decision with each failing requirement. Auditors may use it too.
//!
//! The pasted token is a credential: it arrives in a form body (never a URL), goes only to the
//! admin API in process, is never stored or logged, and is not echoed back into the page.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{RevocationCheck, RouteExplanation, TokenDebugRequest, TokenExplanation};

use super::admin_calls::encode;
use super::dashboard_pages::{page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::{ReadForm, SignedIn};

#[path = "debugger_verdict.rs"]
mod debugger_verdict;
use debugger_verdict::{verdict_checks, CheckRow};

#[cfg(test)]
#[path = "debugger_page_tests.rs"]
mod tests;

/// Write forms for dashboard_tests: the debugger changes nothing (its form is a read form).
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[];

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new().route("/dashboard/debugger", get(debugger).post(explain))
}

#[derive(Template)]
#[template(path = "dashboard/debugger.html")]
struct DebuggerPage {
    layout: Layout,
    /// Why the last paste could not be explained (the textarea is never refilled).
    error: Option<String>,
}

/// One decoded header field or claim.
pub struct ClaimRow {
    pub name: String,
    pub value: String,
    pub meaning: String,
}

/// A link to the audit records of this token (or its subject).
pub struct AuditLink {
    pub label: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "dashboard/debugger_result.html")]
struct DebuggerResultPage {
    layout: Layout,
    header: Vec<ClaimRow>,
    claims: Vec<ClaimRow>,
    /// `None` on a node running no gateway (nothing to verify against).
    verdict_result: Option<String>,
    verified: bool,
    checks: Vec<CheckRow>,
    revocation: Option<RevocationCheck>,
    routes: Vec<RouteExplanation>,
    audit_links: Vec<AuditLink>,
}

#[derive(Deserialize)]
struct PastedToken {
    #[serde(default)]
    token: String,
}

async fn debugger(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Response {
    let layout = Layout::new(&signed_in, "Token debugger", Section::Debugger);
    page(&state, StatusCode::OK, &DebuggerPage { layout, error: None })
}

async fn explain(
    State(state): State<Arc<DashboardState>>,
    form: ReadForm<PastedToken>,
) -> Result<Response, DashboardError> {
    let signed_in = &form.signed_in;
    let token = form.form.token.trim();
    let refused = |message: String| {
        let layout = Layout::new(signed_in, "Token debugger", Section::Debugger);
        page(&state, StatusCode::BAD_REQUEST, &DebuggerPage { layout, error: Some(message) })
    };
    if token.is_empty() {
        return Ok(refused("Nothing was pasted: paste an access token (three base64url parts joined by dots).".into()));
    }
    let request = TokenDebugRequest { token: token.to_owned(), route: None, method: None, path: None, host: None };
    let explanation: TokenExplanation =
        match state.calls.post(signed_in.caller(), "/admin/v1/debug/token", &request).await {
            Ok(explanation) => explanation,
            Err(f) if f.status == StatusCode::BAD_REQUEST => {
                return Ok(refused(format!(
                    "This could not be explained: {}. Paste the whole access token (header.payload.signature), \
                 without quotes or the word Bearer.",
                    f.message
                )))
            }
            Err(f) => return Err(f.into()),
        };
    let layout = Layout::new(signed_in, "Token explained", Section::Debugger);
    Ok(page(&state, StatusCode::OK, &result_page(layout, explanation)))
}

fn result_page(layout: Layout, e: TokenExplanation) -> DebuggerResultPage {
    let header = rows(&e.header, |_| None);
    let claims = rows(&e.claims, |name| e.claim_meanings.get(name).cloned());
    let checks = verdict_checks(e.verdict.as_ref(), &e.header, &e.claims);
    DebuggerResultPage {
        layout,
        header,
        claims,
        verified: e.verdict.as_ref().is_some_and(|v| v.verified),
        verdict_result: e.verdict.map(|v| v.result),
        checks,
        revocation: e.revocation,
        routes: e.routes,
        audit_links: audit_links(&e.claims),
    }
}

/// Every field of a JSON object as a row, with its meaning where known.
fn rows(object: &serde_json::Value, meaning: impl Fn(&str) -> Option<String>) -> Vec<ClaimRow> {
    let Some(fields) = object.as_object() else { return vec![] };
    fields
        .iter()
        .map(|(name, value)| ClaimRow {
            name: name.clone(),
            value: shown(name, value),
            meaning: meaning(name).unwrap_or_default(),
        })
        .collect()
}

/// A claim's value as a person reads it: strings bare, lists joined, times also as dates.
fn shown(name: &str, value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(|i| shown("", i)).collect::<Vec<_>>().join(", "),
        serde_json::Value::Number(n) if matches!(name, "exp" | "nbf" | "iat") => match n.as_i64() {
            Some(unix) => format!("{unix} ({})", crate::admin::api::iso8601(unix)),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Links to the audit log filtered to this token (`token_id` = its uti or jti) and its subject.
fn audit_links(claims: &serde_json::Value) -> Vec<AuditLink> {
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    let mut links = Vec::new();
    if let Some(id) = text("uti").or_else(|| text("jti")) {
        links.push(AuditLink {
            label: format!("Audit records of this token ({id})"),
            href: format!("/dashboard/audit?token_id={}", encode(id)),
        });
    }
    if let Some(oid) = text("oid") {
        links.push(AuditLink {
            label: format!("Audit records of its subject ({oid})"),
            href: format!("/dashboard/audit?subject={}", encode(oid)),
        });
    }
    links
}
