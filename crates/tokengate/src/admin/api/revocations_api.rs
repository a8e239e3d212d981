//! `/admin/v1/revocations`: what is revoked now (cursor pages by feed version, so a page never
//! shifts), and the kill switch itself.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tokengate_core::revocations::{Revocation, RevocationTarget};
use tokengate_core::tokens::TokenSettings;
use tokengate_proto::admin::{
    NewRevocationRequest, Problem, PropagationView, RevocationCreated, RevocationEffectsView, RevocationPage,
    RevocationTargetView, RevocationView,
};
use utoipa::IntoParams;

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiQuery};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::iso8601;
use crate::revoke::{self, Propagation};
use crate::state::now;

/// Rows per page unless `limit` says otherwise, and the most a page holds.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1..=1000 (default 100).
    limit: Option<usize>,
}

/// What is revoked now, oldest first.
#[utoipa::path(
    get,
    path = "/admin/v1/revocations",
    tag = "revocations",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of revocations", body = RevocationPage),
        (status = 400, description = "Bad cursor or limit", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<RevocationPage>, ApiProblem> {
    let after = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c.parse::<i64>().map_err(|_| ApiProblem::bad_request("cursor must be a `next_cursor` value"))?,
    };
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiProblem::bad_request(format!("limit must lie within 1..={MAX_PAGE}")));
    }
    let read = s.store.revocations_after(after, now()).await?;
    let more = read.rows.len() > limit;
    let items: Vec<RevocationView> = read.rows.iter().take(limit).map(view).collect();
    let next_cursor = more.then(|| items.last().map(|r| r.version.to_string())).flatten();
    Ok(Json(RevocationPage { items, feed_version: read.head, next_cursor }))
}

/// Revoke a token, user, client app, signing key or refresh-token family on every node.
#[utoipa::path(
    post,
    path = "/admin/v1/revocations",
    tag = "revocations",
    request_body = NewRevocationRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Written, applied on this node, and (with `wait`) on every live gateway", body = RevocationCreated),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 409, description = "The active signing key, on a node without the key-encryption key", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "`wait`: not every live gateway applied it in time (it is written and will apply)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiJson(request): ApiJson<NewRevocationRequest>,
) -> Result<(StatusCode, Json<RevocationCreated>), ApiProblem> {
    let timeout = match request.timeout_seconds {
        None => 10,
        Some(t @ 1..=60) => t,
        Some(_) => return Err(ApiProblem::bad_request("timeout_seconds must lie within 1..=60")),
    };
    let target = target_of(request.target)?;
    let (row, effects) = match &target {
        RevocationTarget::Key { kid } if s.store.signing_keys().await?.iter().any(|k| &k.kid == kid) => {
            let row = remove_own_key(&s, kid, request.reason.clone()).await?;
            (row, RevocationEffectsView { signing_key_removed: true, ..RevocationEffectsView::default() })
        }
        _ => {
            let (row, e) = revoke::revoke(s.store.as_ref(), target, &caller.actor, request.reason.clone()).await?;
            let effects = RevocationEffectsView {
                refresh_families_revoked: e.refresh_families_revoked,
                sessions_ended: e.sessions_ended,
                device_approvals_withdrawn: e.device_codes_denied,
                authorization_codes_deleted: e.codes_deleted,
                credentials_deleted: e.credentials_deleted,
                signing_key_removed: e.signing_key_removed,
            };
            (row, effects)
        }
    };
    s.feed.written(row.version).await;
    let state = if request.wait {
        revoke::wait_for_gateways(s.store.as_ref(), row.version, Duration::from_secs(timeout)).await?
    } else {
        revoke::propagation(s.store.as_ref(), row.version).await?
    };
    if request.wait && !state.complete() {
        let lagging: Vec<&str> = state.lagging.iter().map(|n| n.name.as_str()).collect();
        return Err(ApiProblem::gateway_timeout(format!(
            "revocation written (feed version {}) but not yet applied by: {}",
            row.version,
            lagging.join(", ")
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(RevocationCreated { revocation: view(&row), effects, propagation: propagation_view(&state, row.version) }),
    ))
}

/// One of the built-in issuer's keys: the key service removes it (and rotates first when it is
/// the active one, which needs the key-encryption key).
async fn remove_own_key(s: &AdminApiState, kid: &str, reason: Option<String>) -> Result<Revocation, ApiProblem> {
    let Some(kek) = &s.kek else {
        return Err(ApiProblem::conflict(
            "this node does not hold the key-encryption key: remove one of the issuer's own keys on an issuer node or with `tokengate revoke key`",
        ));
    };
    let max_age = TokenSettings::default().max_token_age();
    crate::signing_keys::remove(s.store.as_ref(), kek, kid, reason, max_age, now())
        .await
        .map_err(|e| ApiProblem::conflict(e.to_string()))
}

fn target_of(view: RevocationTargetView) -> Result<RevocationTarget, ApiProblem> {
    let non_empty = |field: &str, value: String| {
        let value = value.trim().to_owned();
        if value.is_empty() {
            Err(ApiProblem::bad_request(format!("{field} must not be empty")))
        } else {
            Ok(value)
        }
    };
    Ok(match view {
        RevocationTargetView::Token { token_id } => {
            RevocationTarget::Token { token_id: non_empty("token_id", token_id)? }
        }
        RevocationTargetView::User { tenant_id, object_id } => RevocationTarget::User {
            tenant_id: non_empty("tenant_id", tenant_id)?.to_ascii_lowercase(),
            object_id: non_empty("object_id", object_id)?.to_ascii_lowercase(),
        },
        RevocationTargetView::Client { client_id, disable_credentials } => RevocationTarget::Client {
            client_id: non_empty("client_id", client_id)?.to_ascii_lowercase(),
            disable_credentials,
        },
        RevocationTargetView::Key { kid } => RevocationTarget::Key { kid: non_empty("kid", kid)? },
        RevocationTargetView::Family { family_id, .. } => {
            RevocationTarget::Family { family_id: non_empty("family_id", family_id)?, token_ids: vec![] }
        }
    })
}

pub(super) fn view(row: &Revocation) -> RevocationView {
    let r = &row.revocation;
    let target = match r.target.clone() {
        RevocationTarget::Token { token_id } => RevocationTargetView::Token { token_id },
        RevocationTarget::User { tenant_id, object_id } => RevocationTargetView::User { tenant_id, object_id },
        RevocationTarget::Client { client_id, disable_credentials } => {
            RevocationTargetView::Client { client_id, disable_credentials }
        }
        RevocationTarget::Key { kid } => RevocationTargetView::Key { kid },
        RevocationTarget::Family { family_id, token_ids } => RevocationTargetView::Family { family_id, token_ids },
    };
    RevocationView {
        version: row.version,
        target,
        issued_before: r.issued_before,
        actor: r.actor.clone(),
        reason: r.reason.clone(),
        created_at: iso8601(r.created_at_ms.div_euclid(1000)),
        kept_until: iso8601(r.forget_after),
    }
}

fn propagation_view(state: &Propagation, version: i64) -> PropagationView {
    let names = |nodes: &[tokengate_core::revocations::NodeHeartbeat]| nodes.iter().map(|n| n.name.clone()).collect();
    PropagationView {
        version,
        applied: names(&state.applied),
        lagging: names(&state.lagging),
        gone: names(&state.gone),
    }
}
