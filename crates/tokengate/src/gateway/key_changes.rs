//! Makes a change of the built-in issuer's signing keys (rotation, emergency removal — made here,
//! by the CLI or by another node sharing the store) reach this gateway at once: the trusted keys
//! are re-derived and verified tokens whose key is gone are dropped from the cache.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::GatewayState;

/// Re-derives the built-in issuer's keys from the ring and drops cached verifications by keys
/// it no longer has; returns how many were dropped.
pub fn apply(state: &GatewayState) -> usize {
    let policy = state.policy.load();
    let Some(builtin) = &policy.trust.builtin else { return 0 };
    builtin.sync();
    let issuer = &builtin.issuer;
    let before = state.auth.cache.len();
    let remaining = state.auth.cache.remove_where(|t| t.issuer == issuer.name && !issuer.has_key(&t.kid));
    before.saturating_sub(remaining)
}

/// Applies every key-ring change announced on `changes` until shutdown.
pub fn spawn(
    state: Arc<GatewayState>,
    mut changes: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = shutdown.changed() => return,
            }
            let dropped = apply(&state);
            if dropped > 0 {
                tracing::info!(dropped, "verified tokens of removed signing keys dropped");
            }
        }
    })
}
