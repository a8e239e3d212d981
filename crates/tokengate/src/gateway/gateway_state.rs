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

/// Which gateway decisions get an audit record (`[audit] gateway_decisions`). Issuer events,
/// admin changes and revocations are always recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DecisionRecords {
    /// Every request: "who called what, and why was it denied" for every answer.
    #[default]
    All,
    /// Refusals and errors only: a busy edge with a trusted caller mix records far less.
    Denied,
    /// None (gateway metrics still count every decision).
    None,
}

impl DecisionRecords {
    pub fn records(self, outcome: tokengate_core::audit::Outcome) -> bool {
        match self {
            DecisionRecords::All => true,
            DecisionRecords::Denied => outcome != tokengate_core::audit::Outcome::Allowed,
            DecisionRecords::None => false,
        }
    }
}

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
    pub decision_records: DecisionRecords,
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

#[cfg(test)]
mod tests {
    use tokengate_core::audit::Outcome;

    use super::DecisionRecords;

    #[test]
    fn which_decisions_are_recorded() {
        let all = [Outcome::Allowed, Outcome::Denied, Outcome::Error];
        let recorded = |d: DecisionRecords| all.iter().map(|o| d.records(*o)).collect::<Vec<_>>();
        assert_eq!(recorded(DecisionRecords::All), vec![true, true, true]);
        assert_eq!(recorded(DecisionRecords::Denied), vec![false, true, true]);
        assert_eq!(recorded(DecisionRecords::None), vec![false, false, false]);
        let parsed: DecisionRecords = serde_json::from_str("\"denied\"").unwrap();
        assert_eq!(parsed, DecisionRecords::Denied);
        assert_eq!(DecisionRecords::default(), DecisionRecords::All);
    }
}
