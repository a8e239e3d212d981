//! Audit log: the records filtered with the API's own filter names (a GET form, so a filtered
//! view is a link to share), paged with the API's cursor, exported as the API's JSON lines, the
//! chain's verification, and a live tail of new records. Reads only, through the audit
//! operations of the admin API.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{AuditPage, AuditVerificationView};

use super::admin_calls::{encode, refusal};
use super::dashboard_pages::{page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::directory_names::directory_names;
use super::signed_in::SignedIn;
use crate::state::now;
use audit_filters::AuditFilters;
use audit_rows::AuditRow;

// Declared here (not in `dashboard/mod.rs`, shared by the areas) as the audit pages' own parts.
#[path = "audit_filters.rs"]
mod audit_filters;
#[path = "audit_rows.rs"]
mod audit_rows;
#[path = "audit_tail_relay.rs"]
mod audit_tail_relay;

/// Write forms for dashboard_tests (the audit pages only read).
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[];

/// Records per page.
const PAGE_SIZE: u32 = 50;

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new()
        .route("/dashboard/audit", get(audit))
        .route("/dashboard/audit/export", get(export))
        .route("/dashboard/audit/live", get(live))
        .route("/dashboard/audit/tail", get(tail))
        .route("/dashboard/audit/verification", get(verification))
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    cursor: String,
}

/// A choice of a `<select>`: value, label, and whether the filter holds it.
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn choices(options: &[(&'static str, &'static str)], current: &str) -> Vec<Choice> {
    options.iter().map(|&(value, label)| Choice { value, label, selected: value == current }).collect()
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditLogPage {
    layout: Layout,
    filters: AuditFilters,
    sources: Vec<Choice>,
    outcomes: Vec<Choice>,
    rows: Vec<AuditRow>,
    /// This page's cursor (empty on the first page) and the link to the next page.
    cursor: String,
    next_href: Option<String>,
    first_href: String,
    export_href: String,
    live_href: String,
    last_hour_href: String,
    last_day_href: String,
}

async fn audit(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Query(filters): Query<AuditFilters>,
    Query(paging): Query<Paging>,
) -> Result<Response, DashboardError> {
    let cursor = paging.cursor.trim().to_owned();
    let cursor_pair = if cursor.is_empty() { String::new() } else { format!("cursor={}", encode(&cursor)) };
    let path = format!("/admin/v1/audit?{}", filters.query_with(&format!("limit={PAGE_SIZE}&{cursor_pair}")));
    let page_of_records: AuditPage = state.calls.get(signed_in.caller(), path.trim_end_matches('&')).await?;
    let names = directory_names(&state, signed_in.caller()).await;
    let rows = page_of_records.items.iter().map(|r| AuditRow::of(r).named(&names)).collect();
    let next_href = page_of_records
        .next_cursor
        .map(|next| format!("/dashboard/audit?{}", filters.query_with(&format!("cursor={}", encode(&next)))));
    let since = |seconds: i64| {
        let at = crate::admin::api::iso8601(now() - seconds);
        format!("/dashboard/audit?{}", AuditFilters { since: at, ..filters.clone() }.query())
    };
    let layout = Layout::new(&signed_in, "Audit log", Section::Audit);
    let template = AuditLogPage {
        layout,
        sources: choices(
            &[("", "Any"), ("gateway", "Gateway"), ("issuer", "Issuer"), ("admin", "Admin")],
            &filters.source,
        ),
        outcomes: choices(
            &[("", "Any"), ("allowed", "Allowed"), ("denied", "Denied"), ("error", "Error")],
            &filters.outcome,
        ),
        rows,
        cursor,
        next_href,
        first_href: format!("/dashboard/audit?{}", filters.query()),
        export_href: format!("/dashboard/audit/export?{}", filters.query()),
        live_href: format!("/dashboard/audit/live?{}", filters.query()),
        last_hour_href: since(3_600),
        last_day_href: since(86_400),
        filters,
    };
    Ok(page(&state, StatusCode::OK, &template))
}

/// The API's export with the page's filters, as a download.
async fn export(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Query(filters): Query<AuditFilters>,
) -> Result<Response, DashboardError> {
    let path = format!("/admin/v1/audit/export?{}", filters.query());
    let upstream = state.calls.raw(signed_in.caller(), Method::GET, &path).await;
    if !upstream.status().is_success() {
        return Err(refusal(upstream).await.into());
    }
    let file_name = format!("tokengate-audit-{}.jsonl", crate::admin::api::iso8601(now()).replace(':', ""));
    let mut response = Response::new(upstream.into_body());
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

#[derive(Template)]
#[template(path = "dashboard/audit_live.html")]
struct LivePage {
    layout: Layout,
    filters: AuditFilters,
    stream_href: String,
    back_href: String,
}

/// The live tail: a table htmx fills from `/dashboard/audit/tail` as records are written.
async fn live(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Query(filters): Query<AuditFilters>,
) -> Result<Response, DashboardError> {
    let layout = Layout::new(&signed_in, "Audit log: live", Section::Audit);
    let template = LivePage {
        layout,
        stream_href: format!("/dashboard/audit/tail?{}", filters.query()),
        back_href: format!("/dashboard/audit?{}", filters.query()),
        filters,
    };
    Ok(page(&state, StatusCode::OK, &template))
}

/// The API's tail with the page's filters, as row events. A reconnecting browser's
/// `Last-Event-ID` (a seq) resumes after the last row it got.
async fn tail(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Query(filters): Query<AuditFilters>,
) -> Result<Response, DashboardError> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()));
    let after = resume.map(|seq| format!("after={seq}")).unwrap_or_default();
    let path = format!("/admin/v1/audit/tail?{}", filters.query_with(&after));
    let upstream = state.calls.raw(signed_in.caller(), Method::GET, &path).await;
    if !upstream.status().is_success() {
        return Err(refusal(upstream).await.into());
    }
    let names = directory_names(&state, signed_in.caller()).await;
    let (sessions_of, session_id) = (state.clone(), signed_in.session.id.clone());
    Ok(audit_tail_relay::relay(upstream, names, move || sessions_of.sessions.is_live(&session_id, now())))
}

#[derive(Template)]
#[template(path = "dashboard/audit_verification.html")]
struct VerificationPage {
    layout: Layout,
    v: AuditVerificationView,
}

#[derive(Template)]
#[template(path = "dashboard/audit_verification_section.html")]
struct VerificationSection {
    v: AuditVerificationView,
}

/// The chain verified now (a full read of the log); htmx asks for the section alone.
async fn verification(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    headers: HeaderMap,
) -> Result<Response, DashboardError> {
    let v: AuditVerificationView = state.calls.get(signed_in.caller(), "/admin/v1/audit/verification").await?;
    if headers.contains_key("hx-request") {
        return Ok(page(&state, StatusCode::OK, &VerificationSection { v }));
    }
    let layout = Layout::new(&signed_in, "Audit log: chain verification", Section::Audit);
    Ok(page(&state, StatusCode::OK, &VerificationPage { layout, v }))
}

#[cfg(test)]
#[path = "audit_pages_tests.rs"]
mod tests;
