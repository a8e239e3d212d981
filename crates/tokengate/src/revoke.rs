//! The kill switch's operations, shared by the CLI, the issuer's RFC 7009 endpoint and the admin
//! API: write a revocation (with its audit record, in one transaction), and wait until every live
//! gateway node has applied it.

use std::time::Duration;

use serde_json::json;
use tokengate_core::audit::AuditEvent;
use tokengate_core::revocations::{
    liveness, NewRevocation, NodeHeartbeat, NodeLiveness, Revocation, RevocationEffects, RevocationTarget,
};
use tokengate_core::store::{Store, StoreResult};

use crate::state::now_ms;

/// Writes a revocation of `target` made by `actor` now.
pub async fn revoke(
    store: &dyn Store,
    target: RevocationTarget,
    actor: &str,
    reason: Option<String>,
) -> StoreResult<(Revocation, RevocationEffects)> {
    let now_ms = now_ms();
    let revocation = NewRevocation::at(target, actor, reason, now_ms);
    store.revoke(&revocation, &audit_record(&revocation, now_ms)).await
}

/// The audit record of a revocation: `revocation.{kind}`, naming the subject and the actor.
pub fn audit_record(revocation: &NewRevocation, now_ms: i64) -> AuditEvent {
    let target = &revocation.target;
    let mut audit = AuditEvent::admin(
        format!("revocation.{}", target.kind()),
        None,
        json!({"kind": target.kind(), "subject": target.subject(), "actor": revocation.actor, "reason": revocation.reason}),
        now_ms.div_euclid(1000),
    );
    audit.at_ms = now_ms;
    match target {
        RevocationTarget::Token { token_id } => audit.token_id = Some(token_id.clone()),
        RevocationTarget::User { tenant_id, object_id } => {
            audit.tenant_id = Some(tenant_id.clone());
            audit.subject = Some(object_id.clone());
        }
        RevocationTarget::Client { client_id, .. } => audit.client_id = Some(client_id.clone()),
        RevocationTarget::Key { .. } | RevocationTarget::Family { .. } => {}
    }
    audit
}

/// Where every gateway node stands on one version, once `wait_for_gateways` returns.
#[derive(Debug, Default)]
pub struct Propagation {
    /// Live gateway nodes that have applied the version.
    pub applied: Vec<NodeHeartbeat>,
    /// Live gateway nodes that had not applied it when the wait ended.
    pub lagging: Vec<NodeHeartbeat>,
    /// Gateway nodes without a recent heartbeat: reported, never waited on.
    pub gone: Vec<NodeHeartbeat>,
}

impl Propagation {
    pub fn complete(&self) -> bool {
        self.lagging.is_empty()
    }
}

/// How often the node list is read while waiting.
const WAIT_POLL: Duration = Duration::from_millis(50);

/// Waits until every live gateway node has applied `version`, or `timeout` passes. A node that
/// stops heartbeating while we wait turns gone and stops holding the wait.
pub async fn wait_for_gateways(store: &dyn Store, version: i64, timeout: Duration) -> StoreResult<Propagation> {
    wait_until_applied(store, &|n| n.applied_revocation_version >= version, timeout).await
}

/// One reading of the node list against `version`.
pub async fn propagation(store: &dyn Store, version: i64) -> StoreResult<Propagation> {
    gateways_by(store, &|n| n.applied_revocation_version >= version).await
}

/// Waits until `applied` holds for every live gateway node, or `timeout` passes (what
/// `wait_for_gateways` does for a revocation, also used for a published policy version).
pub async fn wait_until_applied(
    store: &dyn Store,
    applied: &(dyn Fn(&NodeHeartbeat) -> bool + Sync),
    timeout: Duration,
) -> StoreResult<Propagation> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let state = gateways_by(store, applied).await?;
        if state.complete() || tokio::time::Instant::now() >= deadline {
            return Ok(state);
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// Live gateway nodes split by `applied`, and the gone ones.
pub async fn gateways_by(
    store: &dyn Store,
    applied: &(dyn Fn(&NodeHeartbeat) -> bool + Sync),
) -> StoreResult<Propagation> {
    let now = now_ms();
    let mut state = Propagation::default();
    for node in store.nodes().await?.into_iter().filter(|n| n.runs("gateway")) {
        match liveness(&node, now) {
            NodeLiveness::Gone => state.gone.push(node),
            NodeLiveness::Live if applied(&node) => state.applied.push(node),
            NodeLiveness::Live => state.lagging.push(node),
        }
    }
    Ok(state)
}
