//! `/admin/v1/policies`: the gateway policy's versions. History, one version with its document
//! (`ETag: "v7"`), publish and rollback under `If-Match` (412 when another change came first,
//! 428 without it), a structural diff between versions or against a draft, and a simulation of
//! a draft against recent gateway decisions.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tokengate_core::access::policy_diff::{diff, PolicyChange};
use tokengate_core::access::policy_document::PolicyDocument;
use tokengate_core::audit_records::AuditRecordFilter;
use tokengate_core::policy_versions::{parse_version_label, version_label, PolicyVersionSummary, PublishPrecondition};
use tokengate_proto::admin::{
    PolicyChangeView, PolicyDiff, PolicyDiffRequest, PolicyDraft, PolicyFlip, PolicyHistoryPage, PolicyPropagationView,
    PolicyPublished, PolicySimulation, PolicySimulationRequest, PolicyVersionDocument, PolicyVersionView, Problem,
    PublishPolicyRequest, RollbackPolicyRequest, SimulatedDecision,
};
use utoipa::IntoParams;

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath, ApiQuery};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::iso8601;
use crate::gateway::policy_follower::PolicyFollower;
use crate::gateway::policy_simulation::{self, Decision};
use crate::gateway::policy_warnings;
use crate::policy_publishing::{self, Publication, PublishError, Published};
use crate::revoke::{gateways_by, wait_until_applied};
use crate::state::now;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;
const DEFAULT_REPLAY: u32 = 1_000;
const MAX_REPLAY: u32 = 100_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1..=500 (default 50).
    limit: Option<u32>,
}

/// Every version, newest first.
#[utoipa::path(
    get,
    path = "/admin/v1/policies",
    tag = "policies",
    params(HistoryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of versions", body = PolicyHistoryPage),
        (status = 400, description = "Bad cursor or limit", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn history(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<PolicyHistoryPage>, ApiProblem> {
    let before = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(c.parse::<i64>().map_err(|_| ApiProblem::bad_request("cursor must be a `next_cursor` value"))?),
    };
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiProblem::bad_request(format!("limit must lie within 1..={MAX_PAGE}")));
    }
    let published = s.store.published_policy_version().await?;
    let rows = s.store.policy_history(before, limit + 1).await?;
    let more = rows.len() > limit as usize;
    let items: Vec<PolicyVersionView> = rows.iter().take(limit as usize).map(|v| view(v, published)).collect();
    let next_cursor = more.then(|| items.last().map(|v| v.version.to_string())).flatten();
    Ok(Json(PolicyHistoryPage { items, published, next_cursor }))
}

/// One version with its document: a number, or `published`. The `ETag` names the version; send
/// the published one's as `If-Match` when publishing.
#[utoipa::path(
    get,
    path = "/admin/v1/policies/{version}",
    tag = "policies",
    params(("version" = String, Path, description = "A version number (`7` or `v7`) or `published`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The version", body = PolicyVersionDocument,
            headers(("ETag" = String, description = "`\"v7\"`: the version, for `If-Match`"))),
        (status = 400, description = "Not a version", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such version, or nothing published", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn show(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(version): ApiPath<String>,
) -> Result<Response, ApiProblem> {
    let published = s.store.published_policy_version().await?;
    let number = resolve_version(&version, published)?;
    let stored = s
        .store
        .policy_version(number)
        .await?
        .ok_or_else(|| ApiProblem::not_found(format!("policy version {number} does not exist")))?;
    let body = PolicyVersionDocument {
        version: view(&stored.summary, published),
        document: serde_json::to_value(&stored.document).unwrap_or_default(),
        source: stored.source,
    };
    let mut response = Json(body).into_response();
    if let Ok(etag) = HeaderValue::from_str(&etag_of(number)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// Publish a new version: every gateway node runs it within a second. Needs `If-Match` with the
/// published version's ETag (`*` to publish over whatever is current).
#[utoipa::path(
    post,
    path = "/admin/v1/policies",
    tag = "policies",
    request_body = PublishPolicyRequest,
    params(("If-Match" = String, Header, description = "The published version's ETag (`\"v7\"`), or `*`")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Published (with `wait`: every live gateway runs it)", body = PolicyPublished),
        (status = 200, description = "Equal to the published version: nothing written", body = PolicyPublished),
        (status = 400, description = "Not a valid policy (every problem listed)", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 412, description = "The published version is not the `If-Match` one", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No `If-Match`", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "`wait`: not every live gateway runs it yet (it is published and will apply)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn publish(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PublishPolicyRequest>,
) -> Result<(StatusCode, Json<PolicyPublished>), ApiProblem> {
    let precondition = if_match(&headers)?;
    let timeout = wait_timeout(request.timeout_seconds)?;
    if request.message.trim().is_empty() {
        return Err(ApiProblem::bad_request("message must say why the policy changes"));
    }
    let (document, source) = draft_document(&request.draft)?;
    let previous = published_document(&s).await?;
    let publication = Publication {
        document,
        source,
        author: caller.actor.clone(),
        message: request.message.trim().to_owned(),
        origin: "api".to_owned(),
        rollback_of: None,
    };
    let published = policy_publishing::publish(s.store.as_ref(), publication, precondition, &base_dir(&s), now())
        .await
        .map_err(publish_problem)?;
    answer(&s, published, previous, request.wait, timeout).await
}

/// Roll back: publish version `to`'s document again, as a new version. Needs `If-Match` like a
/// publish.
#[utoipa::path(
    post,
    path = "/admin/v1/policies/rollback",
    tag = "policies",
    request_body = RollbackPolicyRequest,
    params(("If-Match" = String, Header, description = "The published version's ETag (`\"v7\"`), or `*`")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Published", body = PolicyPublished),
        (status = 200, description = "That document is already published: nothing written", body = PolicyPublished),
        (status = 400, description = "The old version cannot run any more (every problem listed)", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The published version is not the `If-Match` one", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No `If-Match`", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "`wait`: not every live gateway runs it yet", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rollback(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<RollbackPolicyRequest>,
) -> Result<(StatusCode, Json<PolicyPublished>), ApiProblem> {
    let precondition = if_match(&headers)?;
    let timeout = wait_timeout(request.timeout_seconds)?;
    let previous = published_document(&s).await?;
    let published = policy_publishing::rollback(
        s.store.as_ref(),
        request.to,
        caller.actor.clone(),
        request.message.clone().filter(|m| !m.trim().is_empty()),
        precondition,
        &base_dir(&s),
        now(),
    )
    .await
    .map_err(publish_problem)?;
    answer(&s, published, previous, request.wait, timeout).await
}

/// What changes between two versions, or from a version (default: the published one) to a draft.
#[utoipa::path(
    post,
    path = "/admin/v1/policies/diff",
    tag = "policies",
    request_body = PolicyDiffRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changes", body = PolicyDiff),
        (status = 400, description = "Nothing to compare to, or a draft that is not a policy", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn compare(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiJson(request): ApiJson<PolicyDiffRequest>,
) -> Result<Json<PolicyDiff>, ApiProblem> {
    let from = match request.from {
        Some(v) => Some(v),
        None => s.store.published_policy_version().await?,
    };
    let before = match from {
        Some(v) => load(&s, v).await?,
        None => PolicyDocument::default(),
    };
    let has_draft = request.draft.document.is_some() || request.draft.toml.is_some();
    let (after, to) = match (has_draft, request.to) {
        (true, None) => (draft_document(&request.draft)?.0, None),
        (false, Some(v)) => (load(&s, v).await?, Some(v)),
        (true, Some(_)) => return Err(ApiProblem::bad_request("give either `to` or a draft, not both")),
        (false, None) => {
            return Err(ApiProblem::bad_request("give `to` (a version) or a draft (`document` or `toml`)"))
        }
    };
    Ok(Json(PolicyDiff { from, to, changes: diff(&before, &after).iter().map(change_view).collect() }))
}

/// Replays the most recent gateway decisions against a draft and lists every one it would
/// decide the other way: "these requests from these clients would now be denied".
#[utoipa::path(
    post,
    path = "/admin/v1/policies/simulate",
    tag = "policies",
    request_body = PolicySimulationRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The decisions that would change", body = PolicySimulation),
        (status = 400, description = "No draft, a draft that is not a policy, or a bad `last`", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn simulate(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiJson(request): ApiJson<PolicySimulationRequest>,
) -> Result<Json<PolicySimulation>, ApiProblem> {
    let last = request.last.unwrap_or(DEFAULT_REPLAY);
    if !(1..=MAX_REPLAY).contains(&last) {
        return Err(ApiProblem::bad_request(format!("last must lie within 1..={MAX_REPLAY}")));
    }
    let (draft, _) = draft_document(&request.draft)?;
    let filter = AuditRecordFilter {
        action: Some("gateway.request".to_owned()),
        newest_first: true,
        limit: last,
        ..AuditRecordFilter::default()
    };
    let records = s.store.audit_records(&filter).await?;
    let simulation = policy_simulation::simulate(&draft, &records);
    let decision =
        |d: &Decision| SimulatedDecision { allowed: d.allowed, reason: d.reason.clone(), route: d.route.clone() };
    let mut clients: Vec<String> = simulation.flips.iter().filter_map(|f| f.client_id.clone()).collect();
    clients.sort();
    clients.dedup();
    Ok(Json(PolicySimulation {
        replayed: simulation.replayed,
        not_replayable: simulation.not_replayable,
        newly_denied: simulation.flips.iter().filter(|f| f.recorded.allowed).count(),
        newly_allowed: simulation.flips.iter().filter(|f| !f.recorded.allowed).count(),
        clients,
        flips: simulation
            .flips
            .iter()
            .map(|f| PolicyFlip {
                seq: f.seq,
                at: iso8601(f.at_ms.div_euclid(1000)),
                method: f.method.clone(),
                path: f.path.clone(),
                client_id: f.client_id.clone(),
                subject: f.subject.clone(),
                recorded: decision(&f.recorded),
                simulated: decision(&f.simulated),
            })
            .collect(),
    }))
}

/// The answer to a publish or rollback: this node runs it at once; with `wait`, every live
/// gateway node.
async fn answer(
    s: &AdminApiState,
    published: Published,
    previous: Option<PolicyDocument>,
    wait: bool,
    timeout: Duration,
) -> Result<(StatusCode, Json<PolicyPublished>), ApiProblem> {
    let summary = published.summary().clone();
    let changed = matches!(published, Published::New(_));
    if let Some(gateway) = &s.gateway {
        PolicyFollower::new(s.store.clone(), gateway.clone()).follow().await?;
    }
    let version = summary.version;
    let runs = move |n: &tokengate_core::revocations::NodeHeartbeat| {
        n.applied_policy_version.as_deref().and_then(parse_version_label).is_some_and(|v| v >= version)
    };
    let propagation = if wait {
        wait_until_applied(s.store.as_ref(), &runs, timeout).await?
    } else {
        gateways_by(s.store.as_ref(), &runs).await?
    };
    if wait && !propagation.complete() {
        return Err(ApiProblem::gateway_timeout(format!(
            "policy version {version} is published but not yet running on: {}",
            names(&propagation.lagging).join(", ")
        )));
    }
    let current = s.store.policy_version(version).await?;
    let changes = match (&previous, &current) {
        (Some(before), Some(after)) if changed => diff(before, &after.document).iter().map(change_view).collect(),
        (None, Some(after)) => diff(&PolicyDocument::default(), &after.document).iter().map(change_view).collect(),
        _ => Vec::new(),
    };
    let tenants: Vec<String> = s.store.tenants().await?.iter().map(|t| t.id.to_string()).collect();
    let warnings = current.as_ref().map(|v| policy_warnings::warnings(&v.document, &tenants)).unwrap_or_default();
    let status = if changed { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(PolicyPublished {
            version: view(&summary, Some(version)),
            changed,
            changes,
            warnings,
            propagation: PolicyPropagationView {
                version,
                applied: names(&propagation.applied),
                lagging: names(&propagation.lagging),
                gone: names(&propagation.gone),
            },
        }),
    ))
}

fn names(nodes: &[tokengate_core::revocations::NodeHeartbeat]) -> Vec<String> {
    nodes.iter().map(|n| n.name.clone()).collect()
}

/// `If-Match`: `*`, or the ETag of a version (`"v7"`; `v7` and `7` are accepted too).
fn if_match(headers: &HeaderMap) -> Result<PublishPrecondition, ApiProblem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(ApiProblem::precondition_required(
            "send If-Match with the published version's ETag (GET /admin/v1/policies/published), or If-Match: * \
             to publish over whatever is current",
        ));
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(PublishPrecondition::Any);
    }
    text.trim_matches('"')
        .parse::<i64>()
        .ok()
        .or_else(|| parse_version_label(text.trim_matches('"')))
        .map(PublishPrecondition::Published)
        .ok_or_else(|| ApiProblem::bad_request("If-Match must be a policy version's ETag (\"v7\") or *"))
}

fn etag_of(version: i64) -> String {
    format!("\"{}\"", version_label(version))
}

fn wait_timeout(seconds: Option<u64>) -> Result<Duration, ApiProblem> {
    match seconds {
        None => Ok(Duration::from_secs(10)),
        Some(t @ 1..=60) => Ok(Duration::from_secs(t)),
        Some(_) => Err(ApiProblem::bad_request("timeout_seconds must lie within 1..=60")),
    }
}

fn resolve_version(text: &str, published: Option<i64>) -> Result<i64, ApiProblem> {
    if text == "published" {
        return published.ok_or_else(|| ApiProblem::not_found("no policy is published yet"));
    }
    parse_version_label(text)
        .ok_or_else(|| ApiProblem::bad_request(format!("'{text}' is not a policy version (a number, or `published`)")))
}

async fn load(s: &AdminApiState, version: i64) -> Result<PolicyDocument, ApiProblem> {
    s.store
        .policy_version(version)
        .await?
        .map(|v| v.document)
        .ok_or_else(|| ApiProblem::not_found(format!("policy version {version} does not exist")))
}

async fn published_document(s: &AdminApiState) -> Result<Option<PolicyDocument>, ApiProblem> {
    match s.store.published_policy_version().await? {
        Some(v) => Ok(s.store.policy_version(v).await?.map(|v| v.document)),
        None => Ok(None),
    }
}

/// The draft's document (and TOML text, when given as TOML); structure errors name the field.
fn draft_document(draft: &PolicyDraft) -> Result<(PolicyDocument, Option<String>), ApiProblem> {
    match (&draft.document, &draft.toml) {
        (Some(json), None) => serde_json::from_value(json.clone())
            .map(|d| (d, None))
            .map_err(|e| ApiProblem::bad_request(format!("document is not a gateway policy: {e}"))),
        (None, Some(text)) => toml::from_str(text)
            .map(|d| (d, Some(text.clone())))
            .map_err(|e| ApiProblem::bad_request(format!("toml is not a gateway policy: {e}"))),
        (Some(_), Some(_)) => Err(ApiProblem::bad_request("give either `document` or `toml`, not both")),
        (None, None) => {
            Err(ApiProblem::bad_request("give the policy as `document` (JSON) or `toml` (the file's text)"))
        }
    }
}

/// Relative paths in a policy (`ca_file`) resolve as they do on this node's gateway.
fn base_dir(s: &AdminApiState) -> PathBuf {
    s.gateway.as_ref().map(|g| g.policy_base_dir.clone()).unwrap_or_else(|| PathBuf::from("."))
}

fn publish_problem(e: PublishError) -> ApiProblem {
    match e {
        PublishError::Invalid(problems) => {
            ApiProblem::bad_request(format!("the policy is not valid: {}", problems.join("; ")))
        }
        PublishError::Conflict(_) => ApiProblem::precondition_failed(e.to_string()),
        PublishError::NoSuchVersion(_) => ApiProblem::not_found(e.to_string()),
        PublishError::Store(store) => store.into(),
    }
}

fn view(v: &PolicyVersionSummary, published: Option<i64>) -> PolicyVersionView {
    PolicyVersionView {
        version: v.version,
        content_hash: v.content_hash.clone(),
        author: v.author.clone(),
        message: v.message.clone(),
        origin: v.origin.clone(),
        rollback_of: v.rollback_of,
        created_at: iso8601(v.created_at),
        published: published == Some(v.version),
    }
}

fn change_view(c: &PolicyChange) -> PolicyChangeView {
    PolicyChangeView { path: c.path.clone(), before: c.before.clone(), after: c.after.clone(), line: c.to_string() }
}
