//! `/admin/v1/nodes`: every node sharing the store, its roles, readiness and lag behind the feed.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use tokengate_core::revocations::{liveness, NodeLiveness};
use tokengate_proto::admin::NodeView;

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminCaller;
use super::api_problem::{ApiProblem, ReadRefusals};
use super::iso8601;
use crate::state::now_ms;

/// Every node that heartbeated into the store (gone ones included, until forgotten after an hour).
#[utoipa::path(
    get,
    path = "/admin/v1/nodes",
    tag = "nodes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The nodes, by name", body = Vec<NodeView>),
        ReadRefusals,
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
) -> Result<Json<Vec<NodeView>>, ApiProblem> {
    let head = s.store.feed_head().await?;
    let now = now_ms();
    let nodes = s.store.nodes().await?;
    Ok(Json(
        nodes
            .into_iter()
            .map(|n| NodeView {
                state: match liveness(&n, now) {
                    NodeLiveness::Gone => "gone",
                    NodeLiveness::Live if n.ready => "ready",
                    NodeLiveness::Live => "not_ready",
                }
                .into(),
                lag: (head - n.applied_revocation_version).max(0),
                roles: n.roles.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
                last_sync: (n.last_sync_ms > 0).then(|| iso8601(n.last_sync_ms / 1000)),
                last_heartbeat: iso8601(n.heartbeat_at_ms / 1000),
                node_id: n.node_id,
                name: n.name,
                applied_revocation_version: n.applied_revocation_version,
                applied_policy_version: n.applied_policy_version,
                software_version: n.software_version,
            })
            .collect(),
    ))
}
