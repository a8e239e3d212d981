//! Verification (cached) and admission (every time) of a presented bearer token. A verified
//! token is cached by the token's hash until it expires; revocation and requirements are never
//! cached, so a revocation or a policy change applies to the next request.

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use tokengate_core::access::policy::{evaluate, Requirements};
use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::access::token_validation::{verify, VerifyFailure};
use tokengate_core::access::trusted_issuer::IssuerKind;
use tokengate_core::access::verified_cache::VerifiedCache;
use tokengate_core::access::{Rejection, VerifiedToken};
use tokengate_core::UnixTime;

use super::issuer_trust::IssuerTrust;
use super::remote_issuer_keys::{RefetchOutcome, RemoteIssuer};

/// Why a token was not admitted, and the verified token when it got that far (the audit record
/// names its subject and client; a CAE-capable client gets a claims challenge).
#[derive(Debug)]
pub struct Refusal {
    pub rejection: Rejection,
    pub token: Option<Arc<VerifiedToken>>,
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal { rejection, token: None }
    }
}

pub struct Authenticator {
    pub cache: VerifiedCache,
    pub revocations: Arc<RevocationSet>,
    /// Counts key refetches an unknown `kid` triggered (exported by the listener's metrics).
    key_refetches: Counter,
}

impl Authenticator {
    pub fn new(cache_entries: usize, revocations: Arc<RevocationSet>, key_refetches: Counter) -> Authenticator {
        Authenticator { cache: VerifiedCache::new(cache_entries), revocations, key_refetches }
    }

    /// Whether a verified token may pass: not revoked, and meeting `requirements`.
    pub fn authorize(&self, token: &VerifiedToken, requirements: &Requirements) -> Result<(), Rejection> {
        if self.revocations.check(token).is_some() {
            return Err(Rejection::Revoked);
        }
        evaluate(requirements, token)
    }

    /// Verifies the token (or takes it from the cache). `route_issuers` are the issuers the
    /// caller trusts here: while one of them has not loaded its keys yet, a token no issuer
    /// recognises is `KeysUnavailable` (it may be that issuer's), not `UntrustedIssuer`.
    pub async fn verify(
        &self,
        trust: &IssuerTrust,
        token: &str,
        route_issuers: &[String],
        now: UnixTime,
    ) -> Result<Arc<VerifiedToken>, Rejection> {
        let key = VerifiedCache::key(token);
        if let Some(hit) = self.cache.get(&key, now, trust.limits.skew) {
            // A key that left its issuer's JWKS (rollover or emergency removal) takes its cached
            // verifications with it.
            if trust.issuers.by_name(&hit.issuer).is_some_and(|i| i.has_key(&hit.kid)) {
                return Ok(hit);
            }
            self.cache.remove(&key);
        }
        let verified = Arc::new(self.verify_uncached(trust, token, route_issuers, now).await?);
        // The cache-size gauge is refreshed by the sweeper: `len()` visits every shard, too much
        // for each new token.
        self.cache.insert(key, verified.clone());
        Ok(verified)
    }

    async fn verify_uncached(
        &self,
        trust: &IssuerTrust,
        token: &str,
        route_issuers: &[String],
        now: UnixTime,
    ) -> Result<VerifiedToken, Rejection> {
        let ctx = trust.validation_context(now, self.cache.shared_values());
        let refreshed = match verify(token, &ctx) {
            Ok(v) => return Ok(v),
            Err(VerifyFailure::Rejected(Rejection::UntrustedIssuer)) => {
                self.load_cold_issuers(trust, route_issuers).await?
            }
            Err(VerifyFailure::Rejected(r)) => return Err(r),
            // One refetch (rate-limited per issuer), then one more try.
            Err(VerifyFailure::UnknownKey(issuer)) => match issuer.kind {
                IssuerKind::Builtin => {
                    self.key_refetches.inc();
                    trust.sync_builtin()
                }
                _ => {
                    let Some(remote) = trust.remotes.iter().find(|r| Arc::ptr_eq(&r.issuer, &issuer)) else {
                        return Err(Rejection::UnknownKey);
                    };
                    self.key_refetches.inc();
                    match remote.refetch_for_unknown_kid().await {
                        RefetchOutcome::Refetched => true,
                        RefetchOutcome::TooSoon => false,
                        RefetchOutcome::Unreachable => return Err(Rejection::KeysUnavailable),
                    }
                }
            },
        };
        if !refreshed {
            return Err(Rejection::UnknownKey);
        }
        match verify(token, &ctx) {
            Ok(v) => Ok(v),
            Err(VerifyFailure::Rejected(r)) => Err(r),
            Err(VerifyFailure::UnknownKey(_)) => Err(Rejection::UnknownKey),
        }
    }

    /// A token from no known issuer, while some issuer the caller trusts has no keys yet:
    /// fetch theirs once. `Ok(true)` when one loaded (verify again).
    async fn load_cold_issuers(&self, trust: &IssuerTrust, route_issuers: &[String]) -> Result<bool, Rejection> {
        let cold: Vec<&Arc<RemoteIssuer>> = trust
            .remotes
            .iter()
            .filter(|r| !r.is_ready() && route_issuers.iter().any(|n| *n == r.config.name))
            .collect();
        if cold.is_empty() {
            return Err(Rejection::UntrustedIssuer);
        }
        let mut loaded = false;
        for remote in cold {
            self.key_refetches.inc();
            loaded |= remote.refetch_for_unknown_kid().await == RefetchOutcome::Refetched;
        }
        if loaded {
            Ok(true)
        } else {
            Err(Rejection::KeysUnavailable)
        }
    }
}
