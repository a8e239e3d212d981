//! The audit log's filters as query parameters, shared by the page, the export and the tail, and
//! the wire view of a record. Every filter is an exact match on a stored field; `route` and
//! `actor` read the record's `detail` (the gateway names the deciding route there, admin changes
//! made through revocations name their actor there). Not filterable: `client_ip`, `status`,
//! `latency_us` and any other `detail` field.

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokengate_core::audit::{AuditSource, Outcome};
use tokengate_core::audit_chain::ChainedRecord;
use tokengate_core::audit_records::AuditRecordFilter;
use tokengate_proto::admin::AuditRecordView;
use utoipa::IntoParams;

use super::api_problem::ApiProblem;
use super::iso8601;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilterParams {
    /// Written at or after this RFC 3339 time (`2024-05-01T00:00:00Z`).
    since: Option<String>,
    /// Written before this RFC 3339 time.
    until: Option<String>,
    /// `issuer`, `gateway` or `admin`.
    source: Option<String>,
    /// Exact action, e.g. `gateway.request`.
    action: Option<String>,
    /// `allowed`, `denied` or `error`.
    outcome: Option<String>,
    /// Exact reason code, e.g. `expired`.
    reason: Option<String>,
    /// The subject's object id (`oid`).
    subject: Option<String>,
    /// The client app id.
    client: Option<String>,
    /// The tenant id.
    tenant: Option<String>,
    /// The token id (`uti`).
    token_id: Option<String>,
    /// The gateway route that decided (`detail.route`).
    route: Option<String>,
    /// Who made an admin change (`detail.actor`, where the record names one).
    actor: Option<String>,
    /// One record by id: a gateway answer's `X-Tokengate-Decision-Id`.
    decision_id: Option<String>,
}

impl AuditFilterParams {
    /// The store filter (seq order, no cursor, no limit yet); 400 for a value that cannot match.
    pub fn filter(self) -> Result<AuditRecordFilter, ApiProblem> {
        let source = match self.source.as_deref() {
            None => None,
            Some(s) => Some(
                AuditSource::parse(s)
                    .ok_or_else(|| ApiProblem::bad_request("source must be issuer, gateway or admin"))?,
            ),
        };
        let outcome = match self.outcome.as_deref() {
            None => None,
            Some(o) => Some(
                Outcome::parse(o).ok_or_else(|| ApiProblem::bad_request("outcome must be allowed, denied or error"))?,
            ),
        };
        Ok(AuditRecordFilter {
            since_ms: unix_ms("since", self.since.as_deref())?,
            until_ms: unix_ms("until", self.until.as_deref())?,
            action: self.action,
            outcome,
            subject: self.subject,
            client_id: self.client,
            source,
            reason: self.reason,
            tenant_id: self.tenant,
            token_id: self.token_id,
            route: self.route,
            actor: self.actor,
            id: self.decision_id,
            ..Default::default()
        })
    }
}

fn unix_ms(name: &str, text: Option<&str>) -> Result<Option<i64>, ApiProblem> {
    let Some(text) = text else { return Ok(None) };
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| ApiProblem::bad_request(format!("{name} must be an RFC 3339 time, e.g. 2024-05-01T00:00:00Z")))?;
    Ok(Some(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)))
}

/// A cursor or `Last-Event-ID`: a seq.
pub fn parse_seq(name: &str, text: Option<&str>) -> Result<Option<i64>, ApiProblem> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t.parse::<i64>().map(Some).map_err(|_| ApiProblem::bad_request(format!("{name} must be a seq"))),
    }
}

pub fn record_view(r: &ChainedRecord) -> AuditRecordView {
    let e = &r.event;
    AuditRecordView {
        seq: r.seq,
        prev_hash: r.prev_hash.as_ref().map(|h| h.to_hex()),
        chain_hash: r.chain_hash.as_ref().map(|h| h.to_hex()),
        id: e.id.to_string(),
        at_ms: e.at_ms,
        at: iso8601(e.at_ms.div_euclid(1000)),
        source: e.source.as_str().to_owned(),
        action: e.action.clone(),
        outcome: e.outcome.as_str().to_owned(),
        reason: e.reason.clone(),
        tenant_id: e.tenant_id.clone(),
        client_id: e.client_id.clone(),
        subject: e.subject.clone(),
        token_id: e.token_id.clone(),
        client_ip: e.client_ip.clone(),
        status: e.status,
        latency_us: e.latency_us,
        detail: e.detail.clone(),
    }
}
