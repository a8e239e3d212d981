//! The issuers one policy version trusts, each with its key source (the in-process key ring for
//! the built-in issuer, HTTPS fetchers for Entra and OIDC issuers), and the limits tokens are
//! verified under. Built as a whole from the policy's `[[issuer]]` tables; key fetchers of
//! unchanged issuers carry over from the previous version, so a reload does not refetch.

use std::path::Path;
use std::sync::Arc;

use tokengate_core::access::claim_interner::ClaimInterner;
use tokengate_core::access::policy_document::{IssuerConfig, IssuerKindConfig};
use tokengate_core::access::token_validation::ValidationContext;
use tokengate_core::access::trusted_issuer::TrustedIssuers;
use tokengate_core::keys::PublishedKeys;
use tokengate_core::UnixTime;

use super::builtin_issuer_keys::BuiltinIssuer;
use super::remote_issuer_keys::RemoteIssuer;

/// Where the built-in issuer's keys live: this process's own ring when it runs the issuer, or
/// the public keys read from the shared store on a gateway-only node.
#[derive(Clone)]
pub struct BuiltinKeys {
    pub ring: Arc<dyn PublishedKeys>,
    pub base_url: String,
}

/// How tokens are verified: clock tolerance, size limit, and the claims requirements look at
/// beyond the standard ones (copied into each verified token).
#[derive(Debug, Clone, Default)]
pub struct VerificationLimits {
    pub skew: i64,
    pub max_token_bytes: usize,
    pub extra_claims: Vec<String>,
}

pub struct IssuerTrust {
    pub issuers: TrustedIssuers,
    pub remotes: Vec<Arc<RemoteIssuer>>,
    pub builtin: Option<Arc<BuiltinIssuer>>,
    pub limits: VerificationLimits,
}

impl IssuerTrust {
    /// Every problem is listed; on failure the fetchers this call started are stopped again.
    pub fn build(
        configs: &[IssuerConfig],
        base_dir: &Path,
        builtin_keys: Option<&BuiltinKeys>,
        previous: Option<&IssuerTrust>,
        limits: VerificationLimits,
    ) -> Result<IssuerTrust, Vec<String>> {
        let mut problems = Vec::new();
        let mut issuers = TrustedIssuers::default();
        let mut remotes = Vec::new();
        let mut builtin = None;
        for config in configs {
            match config.kind {
                IssuerKindConfig::Builtin => match builtin_keys {
                    Some(keys) => {
                        let b = BuiltinIssuer::new(&config.name, config.tenants.clone(), keys.ring.clone(), &keys.base_url);
                        issuers.issuers.push(b.issuer.clone());
                        builtin = Some(b);
                    }
                    None => problems.push(format!(
                        "issuer '{}': kind = \"builtin\" needs the issuer in this process, or on a gateway-only node `builtin_issuer_url` in the [gateway] config section (the issuer's public URL; its keys come from the shared store)",
                        config.name
                    )),
                },
                _ => {
                    let reused = previous.and_then(|p| p.remotes.iter().find(|r| r.config == *config)).cloned();
                    let remote = match reused {
                        Some(r) => r,
                        None => match RemoteIssuer::new(config.clone(), base_dir) {
                            Ok(r) => {
                                r.spawn_refresher();
                                r
                            }
                            Err(e) => {
                                problems.push(format!("issuer '{}': {e}", config.name));
                                continue;
                            }
                        },
                    };
                    issuers.issuers.push(remote.issuer.clone());
                    remotes.push(remote);
                }
            }
        }
        let trust = IssuerTrust { issuers, remotes, builtin, limits };
        if problems.is_empty() {
            Ok(trust)
        } else {
            trust.abandon(previous);
            Err(problems)
        }
    }

    /// Stops the fetchers this version started that `previous` does not own (a version that
    /// will never be installed).
    pub fn abandon(&self, previous: Option<&IssuerTrust>) {
        for r in &self.remotes {
            if previous.is_none_or(|p| !p.remotes.iter().any(|old| Arc::ptr_eq(old, r))) {
                r.stop();
            }
        }
    }

    /// Stops the fetchers this version started that `next` does not reuse.
    pub fn retire(&self, next: &IssuerTrust) {
        for r in &self.remotes {
            if !next.remotes.iter().any(|n| Arc::ptr_eq(n, r)) {
                r.stop();
            }
        }
    }

    /// Ready when every remote issuer has keys.
    pub fn ready(&self) -> bool {
        self.remotes.iter().all(|r| r.is_ready())
    }

    pub fn validation_context<'a>(&'a self, now: UnixTime, shared: &'a ClaimInterner) -> ValidationContext<'a> {
        ValidationContext {
            issuers: &self.issuers,
            skew: self.limits.skew,
            max_token_len: self.limits.max_token_bytes,
            extra_claims: &self.limits.extra_claims,
            now,
            interner: shared,
        }
    }

    /// Re-derives the built-in issuer's keys if its ring changed; whether they changed.
    pub fn sync_builtin(&self) -> bool {
        self.builtin.as_ref().is_some_and(|b| b.sync())
    }
}
