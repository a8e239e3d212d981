//! `/admin/v1/audit/tail`: new audit records as server-sent events, by polling the store (every
//! node writes there; no node sees all records in memory). Each event's id is the record's seq,
//! so a reconnecting client's `Last-Event-ID` resumes exactly after the last record it got. The
//! stream ends when the client disconnects (the next send fails) or the connection is closed at
//! server shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokengate_core::audit_records::AuditRecordFilter;
use tokengate_proto::admin::Problem;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::IntoParams;

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminCaller;
use super::api_extractors::ApiQuery;
use super::api_problem::{ApiProblem, ReadRefusals};
use super::audit_filter_params::{parse_seq, record_view, AuditFilterParams};

const POLL: Duration = Duration::from_millis(250);
/// A comment this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Records per poll; a backlog drains in pages this size without waiting between them.
const TAIL_PAGE: u32 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TailParams {
    /// Start after this seq (the `Last-Event-ID` header wins); without either, only records
    /// written from now on.
    after: Option<String>,
}

type Chunk = Result<Bytes, std::io::Error>;

/// Audit records matching the filters as they are written, as server-sent events:
/// `id: <seq>` and `data: <record JSON>` per record, `: keep-alive` comments when idle.
#[utoipa::path(
    get,
    path = "/admin/v1/audit/tail",
    tag = "audit",
    params(
        AuditFilterParams,
        TailParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this seq (the id of the last event received)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "An endless event stream; each event's data is one audit record (as in `AuditPage.items`)", body = String, content_type = "text/event-stream"),
        (status = 400, description = "Bad filter or start", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn tail(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    headers: HeaderMap,
    ApiQuery(filters): ApiQuery<AuditFilterParams>,
    ApiQuery(start): ApiQuery<TailParams>,
) -> Result<Response, ApiProblem> {
    let filter = filters.filter()?;
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let after_seq = match parse_seq("Last-Event-ID", last_event_id)? {
        Some(seq) => seq,
        None => match parse_seq("after", start.after.as_deref())? {
            Some(seq) => seq,
            None => s.store.audit_chain_head().await?.map_or(0, |(seq, _)| seq),
        },
    };
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    tokio::spawn(follow(s, filter, after_seq, tx));
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Polls for records after `after_seq` and sends each as an event, until the client leaves.
async fn follow(s: Arc<AdminApiState>, filter: AuditRecordFilter, mut after_seq: i64, tx: mpsc::Sender<Chunk>) {
    let mut last_sent = Instant::now();
    let mut stopping = s.stopping.clone();
    loop {
        if *stopping.borrow() {
            // The node stops: end the stream (the client resumes elsewhere with Last-Event-ID).
            return;
        }
        let page = AuditRecordFilter { after_seq: Some(after_seq), limit: TAIL_PAGE, ..filter.clone() };
        let records = match s.store.audit_records(&page).await {
            Ok(records) => records,
            Err(e) => {
                // A store outage should not end every auditor's stream: try again next poll.
                tracing::warn!(error = %e, "audit tail: reading the store failed");
                Vec::new()
            }
        };
        if !records.is_empty() {
            let mut events = String::new();
            for r in &records {
                let Ok(data) = serde_json::to_string(&record_view(r)) else { continue };
                events.push_str(&format!("id: {}\ndata: {data}\n\n", r.seq));
                after_seq = r.seq;
            }
            if tx.send(Ok(Bytes::from(events))).await.is_err() {
                return;
            }
            last_sent = Instant::now();
            if records.len() == TAIL_PAGE as usize {
                continue; // A backlog: the next page at once.
            }
        } else if last_sent.elapsed() >= KEEP_ALIVE {
            if tx.send(Ok(Bytes::from_static(b": keep-alive\n\n"))).await.is_err() {
                return;
            }
            last_sent = Instant::now();
        }
        // A dropped stop signal means "never stops", not "stop now".
        let stop = async {
            if stopping.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = tx.closed() => return,
            _ = stop => {}
        }
    }
}
