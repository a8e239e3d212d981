//! What every gateway request shares: the active policy (swapped on reload), the authenticator
//! (verified-token cache, revocation set), the audit sink and the metrics.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokengate_core::access::revocation::RevocationSet;

use super::active_policy::ActivePolicy;
use super::metrics::GatewayMetrics;
use crate::audit_writer::AuditSink;
use crate::authentication::{Authenticator, BuiltinKeys};

pub struct GatewayState {
    pub policy: ArcSwap<ActivePolicy>,
    /// The node's policy file, published when it changes (`hot_reload`).
    pub policy_path: Option<PathBuf>,
    /// Where relative paths in published policies (`ca_file`) resolve on this node.
    pub policy_base_dir: PathBuf,
    pub builtin_keys: Option<BuiltinKeys>,
    pub auth: Authenticator,
    pub audit: AuditSink,
    pub metrics: Arc<GatewayMetrics>,
    /// `http` or `https`, for `X-Forwarded-Proto`.
    pub scheme: &'static str,
    /// One console line per denied request, with expected-vs-got values (`dev`; `serve` with
    /// `[gateway] log_denials = true`). Off by default: a busy edge would log every bad caller.
    pub log_denials: bool,
}

impl GatewayState {
    /// Serving protected routes: every remote issuer has keys, and the revocation set is fresh
    /// (synced in full since start, read within the policy's staleness bound).
    pub fn ready(&self, revocations: &RevocationSet) -> bool {
        let policy = self.policy.load();
        let staleness_ms = policy.settings.max_revocation_staleness_seconds.saturating_mul(1000) as i64;
        policy.ready() && revocations.is_fresh(crate::state::now_ms(), staleness_ms)
    }

    /// Installs a new policy; verified tokens are dropped since issuers or needed claims may differ.
    pub fn install(&self, next: ActivePolicy) {
        let previous = self.policy.swap(Arc::new(next));
        previous.retire(&self.policy.load());
        self.auth.cache.clear();
    }
}
