//! What every gateway request shares: the active policy (swapped on reload), the authenticator
//! (verified-token cache, revocation set), the audit sink and the metrics.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::active_policy::ActivePolicy;
use super::metrics::GatewayMetrics;
use crate::audit_writer::AuditSink;
use crate::authentication::{Authenticator, BuiltinKeys};

pub struct GatewayState {
    pub policy: ArcSwap<ActivePolicy>,
    pub policy_path: Option<PathBuf>,
    pub builtin_keys: Option<BuiltinKeys>,
    pub auth: Authenticator,
    pub audit: AuditSink,
    pub metrics: Arc<GatewayMetrics>,
    /// `http` or `https`, for `X-Forwarded-Proto`.
    pub scheme: &'static str,
}

impl GatewayState {
    /// Installs a new policy; verified tokens are dropped since issuers or needed claims may differ.
    pub fn install(&self, next: ActivePolicy) {
        let previous = self.policy.swap(Arc::new(next));
        previous.retire(&self.policy.load());
        self.auth.cache.clear();
    }
}
