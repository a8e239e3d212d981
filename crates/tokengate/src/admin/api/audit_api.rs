//! `/admin/v1/audit` and `/admin/v1/audit/export`: the audit log filtered, in ascending seq order.
//! Pages are cursor-paged by seq, so a past range always returns the same records; the export
//! streams JSON lines a store page at a time (memory bounded by one page, whatever the range).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tokengate_core::audit_records::AuditRecordFilter;
use tokengate_proto::admin::{AuditPage, Problem};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::IntoParams;

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminCaller;
use super::api_extractors::ApiQuery;
use super::api_problem::{ApiProblem, ReadRefusals};
use super::audit_filter_params::{parse_seq, record_view, AuditFilterParams};

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1_000;
/// Records the export reads per round trip; also the most it holds at once.
const EXPORT_PAGE: u32 = 1_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditPageParams {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1..=1000 (default 100).
    limit: Option<u32>,
}

/// Audit records matching every filter given, oldest first.
#[utoipa::path(
    get,
    path = "/admin/v1/audit",
    tag = "audit",
    params(AuditFilterParams, AuditPageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of audit records in seq order", body = AuditPage),
        (status = 400, description = "Bad filter, cursor or limit", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn page(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiQuery(filters): ApiQuery<AuditFilterParams>,
    ApiQuery(paging): ApiQuery<AuditPageParams>,
) -> Result<Json<AuditPage>, ApiProblem> {
    let limit = paging.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiProblem::bad_request(format!("limit must lie within 1..={MAX_PAGE}")));
    }
    let after_seq = parse_seq("cursor", paging.cursor.as_deref())?;
    // One more than asked: whether it exists says if there is a next page.
    let filter = AuditRecordFilter { after_seq, limit: limit + 1, ..filters.filter()? };
    let records = s.store.audit_records(&filter).await?;
    let more = records.len() > limit as usize;
    let items: Vec<_> = records.iter().take(limit as usize).map(record_view).collect();
    let next_cursor = more.then(|| items.last().map(|r| r.seq.to_string())).flatten();
    Ok(Json(AuditPage { items, next_cursor }))
}

/// Every audit record matching the filters, as JSON lines (one `AuditRecord` per line) in seq
/// order, up to the newest record when the export starts.
#[utoipa::path(
    get,
    path = "/admin/v1/audit/export",
    tag = "audit",
    params(AuditFilterParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One audit record (as in `AuditPage.items`) per line", body = String, content_type = "application/x-ndjson"),
        (status = 400, description = "Bad filter", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn export(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiQuery(filters): ApiQuery<AuditFilterParams>,
) -> Result<Response, ApiProblem> {
    let filter = filters.filter()?;
    // The end is fixed now, so an export under constant writes still finishes.
    let last_seq = s.store.audit_chain_head().await?.map(|(seq, _)| seq);
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(write_export(s, filter, last_seq, tx));
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(response)
}

/// Sends the records a page at a time until `last_seq` (or the client leaves). A store error
/// mid-way aborts the body: the client sees a truncated transfer, never a silently short export.
async fn write_export(
    s: Arc<AdminApiState>,
    filter: AuditRecordFilter,
    last_seq: Option<i64>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let Some(last_seq) = last_seq else { return };
    let mut after_seq = None;
    loop {
        let page = AuditRecordFilter { after_seq, limit: EXPORT_PAGE, ..filter.clone() };
        let records = match s.store.audit_records(&page).await {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!(error = %e, "audit export: reading the store failed");
                let _ = tx.send(Err(std::io::Error::other("reading the audit log failed"))).await;
                return;
            }
        };
        let mut lines = Vec::new();
        for r in records.iter().take_while(|r| r.seq <= last_seq) {
            if serde_json::to_writer(&mut lines, &record_view(r)).is_err() {
                let _ = tx.send(Err(std::io::Error::other("encoding an audit record failed"))).await;
                return;
            }
            lines.push(b'\n');
        }
        if !lines.is_empty() && tx.send(Ok(Bytes::from(lines))).await.is_err() {
            return; // The client left.
        }
        match records.last() {
            Some(r) if r.seq < last_seq && records.len() == EXPORT_PAGE as usize => after_seq = Some(r.seq),
            _ => return,
        }
    }
}
