//! `/admin/v1/audit/summary`: the gateway's decisions over a window, counted per time bucket and
//! by denial reason, client and route — what the dashboard's overview charts. Computed from the
//! audit store's ordinary query (newest first), so it reads at most `MAX_RECORDS` decisions: a
//! busy window is counted from its newest decisions back, and the answer says where it stopped.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokengate_core::audit::{AuditSource, Outcome};
use tokengate_core::audit_chain::ChainedRecord;
use tokengate_core::audit_records::AuditRecordFilter;
use tokengate_core::store::Store;
use tokengate_proto::admin::{AuditSummary, AuditSummaryBucket, AuditSummaryCount, Problem};
use utoipa::IntoParams;

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminCaller;
use super::api_extractors::ApiQuery;
use super::api_problem::{ApiProblem, ReadRefusals};
use super::iso8601;
use crate::state::now_ms;

/// The most decisions one summary counts (the newest of the window): bounds the time it takes,
/// whatever the traffic.
pub const MAX_RECORDS: u32 = 50_000;
/// Records read per store round trip (the store answers at most 10,000), and the most held.
const SUMMARY_PAGE: u32 = 5_000;
/// The most buckets one answer holds (a day in minutes).
const MAX_BUCKETS: i64 = 1_440;
const DEFAULT_WINDOW_MS: i64 = 3_600_000;
const DEFAULT_BUCKET_SECONDS: u32 = 300;
/// Entries in each top list.
const TOP: usize = 10;
const GATEWAY_DECISION: &str = "gateway.request";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// Window start, RFC 3339 (default: an hour before `until`).
    since: Option<String>,
    /// Window end (exclusive), RFC 3339 (default: now).
    until: Option<String>,
    /// Bucket width, 10..=86400 seconds (default 300); the window may hold at most 1440 buckets.
    bucket_seconds: Option<u32>,
}

/// Gateway decisions in a window: allowed, denied and errors per bucket, and the most frequent
/// denial reasons, clients and routes. Counts at most the newest 50,000 decisions of the window
/// (those within 50,000 audit records of its newest decision; `capped` and `counted_since` say
/// when the window held more).
#[utoipa::path(
    get,
    path = "/admin/v1/audit/summary",
    tag = "audit",
    params(SummaryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts of the window's gateway decisions", body = AuditSummary),
        (status = 400, description = "Bad window or bucket width", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn summary(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiQuery(params): ApiQuery<SummaryParams>,
) -> Result<Json<AuditSummary>, ApiProblem> {
    let window = Window::of(&params, now_ms())?;
    Ok(Json(summarize(s.store.as_ref(), &window, MAX_RECORDS).await?))
}

/// Counts the window's decisions whose seq lies within `max_records` of its newest one, reading
/// them in seq order a page at a time (exact counts, memory bounded by one page). Gateway
/// decisions are most of a busy log, so this is close to "the newest `max_records` decisions";
/// it is never more.
async fn summarize(store: &dyn Store, window: &Window, max_records: u32) -> Result<AuditSummary, ApiProblem> {
    let decisions = AuditRecordFilter {
        since_ms: Some(window.since_ms),
        until_ms: Some(window.until_ms),
        source: Some(AuditSource::Gateway),
        action: Some(GATEWAY_DECISION.to_owned()),
        ..Default::default()
    };
    let mut tally = Tally::new(window);
    let newest = store.audit_records(&AuditRecordFilter { newest_first: true, limit: 1, ..decisions.clone() }).await?;
    let oldest = store.audit_records(&AuditRecordFilter { limit: 1, ..decisions.clone() }).await?;
    let (Some(newest), Some(oldest)) = (newest.first(), oldest.first()) else {
        return Ok(tally.finish(window, max_records, None));
    };
    let floor = newest.seq - i64::from(max_records);
    let capped = oldest.seq <= floor;
    let mut after_seq = if capped { floor } else { oldest.seq - 1 };
    let mut counted_since = None;
    loop {
        let page = AuditRecordFilter { after_seq: Some(after_seq), limit: SUMMARY_PAGE, ..decisions.clone() };
        let records = store.audit_records(&page).await?;
        for record in records.iter().take_while(|r| r.seq <= newest.seq) {
            counted_since.get_or_insert(record.event.at_ms);
            tally.add(record);
        }
        match records.last() {
            Some(last) if last.seq < newest.seq && records.len() == SUMMARY_PAGE as usize => after_seq = last.seq,
            _ => break,
        }
    }
    Ok(tally.finish(window, max_records, capped.then_some(counted_since).flatten()))
}

/// The window and bucket width asked for, checked.
#[derive(Debug, Clone, Copy)]
struct Window {
    since_ms: i64,
    until_ms: i64,
    bucket_ms: i64,
}

impl Window {
    fn of(params: &SummaryParams, now_ms: i64) -> Result<Window, ApiProblem> {
        let until_ms = unix_ms("until", params.until.as_deref())?.unwrap_or(now_ms);
        let since_ms = unix_ms("since", params.since.as_deref())?.unwrap_or(until_ms - DEFAULT_WINDOW_MS);
        if since_ms >= until_ms {
            return Err(ApiProblem::bad_request("since must be before until"));
        }
        let bucket_seconds = params.bucket_seconds.unwrap_or(DEFAULT_BUCKET_SECONDS);
        if !(10..=86_400).contains(&bucket_seconds) {
            return Err(ApiProblem::bad_request("bucket_seconds must lie within 10..=86400"));
        }
        let bucket_ms = i64::from(bucket_seconds) * 1000;
        if bucket_count(until_ms - since_ms, bucket_ms) > MAX_BUCKETS {
            return Err(ApiProblem::bad_request(format!(
                "the window holds more than {MAX_BUCKETS} buckets: widen bucket_seconds or shorten the window"
            )));
        }
        Ok(Window { since_ms, until_ms, bucket_ms })
    }

    fn buckets(&self) -> usize {
        usize::try_from(bucket_count(self.until_ms - self.since_ms, self.bucket_ms)).unwrap_or(0)
    }
}

/// Buckets covering `span_ms` (the last one may be partial); both are positive here.
fn bucket_count(span_ms: i64, bucket_ms: i64) -> i64 {
    (span_ms + bucket_ms - 1) / bucket_ms
}

/// Counts per bucket and per value, as records are read.
struct Tally {
    buckets: Vec<AuditSummaryBucket>,
    reasons: HashMap<String, u64>,
    clients: HashMap<String, u64>,
    routes: HashMap<String, u64>,
    since_ms: i64,
    bucket_ms: i64,
}

impl Tally {
    fn new(window: &Window) -> Tally {
        let buckets = (0..window.buckets())
            .map(|i| {
                let start_ms = window.since_ms + i as i64 * window.bucket_ms;
                AuditSummaryBucket { start: iso8601_ms(start_ms), start_ms, allowed: 0, denied: 0, errors: 0 }
            })
            .collect();
        Tally {
            buckets,
            reasons: HashMap::new(),
            clients: HashMap::new(),
            routes: HashMap::new(),
            since_ms: window.since_ms,
            bucket_ms: window.bucket_ms,
        }
    }

    fn add(&mut self, record: &ChainedRecord) {
        let event = &record.event;
        let index = usize::try_from((event.at_ms - self.since_ms) / self.bucket_ms).ok();
        let Some(bucket) = index.and_then(|i| self.buckets.get_mut(i)) else { return };
        match event.outcome {
            Outcome::Allowed => bucket.allowed += 1,
            Outcome::Denied => {
                bucket.denied += 1;
                let reason = event.reason.clone().unwrap_or_else(|| "(no reason)".to_owned());
                *self.reasons.entry(reason).or_insert(0) += 1;
            }
            Outcome::Error => bucket.errors += 1,
        }
        if let Some(client) = &event.client_id {
            *self.clients.entry(client.clone()).or_insert(0) += 1;
        }
        if let Some(route) = event.detail.get("route").and_then(|r| r.as_str()) {
            *self.routes.entry(route.to_owned()).or_insert(0) += 1;
        }
    }

    /// `counted_since`: when the window held more than was counted, the first counted time.
    fn finish(self, window: &Window, max_records: u32, counted_since: Option<i64>) -> AuditSummary {
        let buckets = self.buckets;
        AuditSummary {
            since: iso8601_ms(window.since_ms),
            until: iso8601_ms(window.until_ms),
            bucket_seconds: u32::try_from(window.bucket_ms / 1000).unwrap_or(u32::MAX),
            allowed: buckets.iter().map(|b| b.allowed).sum(),
            denied: buckets.iter().map(|b| b.denied).sum(),
            errors: buckets.iter().map(|b| b.errors).sum(),
            buckets,
            top_denial_reasons: top(self.reasons),
            top_clients: top(self.clients),
            top_routes: top(self.routes),
            max_records,
            capped: counted_since.is_some(),
            counted_since: counted_since.map(iso8601_ms),
        }
    }
}

/// The most frequent values, ties by value (a stable order for the same data).
fn top(counts: HashMap<String, u64>) -> Vec<AuditSummaryCount> {
    let mut all: Vec<AuditSummaryCount> =
        counts.into_iter().map(|(value, count)| AuditSummaryCount { value, count }).collect();
    all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    all.truncate(TOP);
    all
}

fn iso8601_ms(ms: i64) -> String {
    iso8601(ms.div_euclid(1000))
}

fn unix_ms(name: &str, text: Option<&str>) -> Result<Option<i64>, ApiProblem> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else { return Ok(None) };
    let at = OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|_| ApiProblem::bad_request(format!("{name} must be an RFC 3339 time, e.g. 2024-05-01T00:00:00Z")))?;
    Ok(Some(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)))
}

#[cfg(test)]
#[path = "audit_summary_api_tests.rs"]
mod tests;
