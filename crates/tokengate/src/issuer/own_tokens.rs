//! Verifying access tokens this issuer signed, for the endpoints that take one (`userinfo`, the
//! on-behalf-of assertion, revocation, introspection): the gateway's own authentication module,
//! trusting only the built-in issuer's in-process keys, plus the revocation set (a token of a
//! revoked family opens nothing here either).

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::access::token_validation::VerifiedToken;
use tokengate_core::access::trusted_issuer::TrustedIssuers;
use tokengate_core::keys::KeyRing;

use crate::authentication::builtin_issuer_keys::BuiltinIssuer;
use crate::authentication::issuer_trust::VerificationLimits;
use crate::authentication::{Authenticator, IssuerTrust};

/// Our own tokens never exceed this (a token with 200 groups is about 10 KB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Verified tokens kept: userinfo and on-behalf-of see far fewer distinct tokens than a gateway.
const VERIFIED_CACHE_ENTRIES: usize = 10_000;
const ISSUER_NAME: &str = "tokengate";
/// Claims introspection answers that verification does not otherwise keep (`nbf`; the user's
/// sign-in name: `preferred_username` in v2 tokens, `upn` in v1).
pub const INTROSPECTED_CLAIMS: [&str; 3] = ["nbf", "preferred_username", "upn"];

pub struct OwnTokens {
    trust: IssuerTrust,
    auth: Authenticator,
    /// The one issuer these tokens may come from (what a gateway route lists).
    issuer_names: [String; 1],
}

impl OwnTokens {
    pub fn new(ring: Arc<KeyRing>, base_url: &str, revocations: Arc<RevocationSet>, skew: i64) -> Self {
        let builtin = BuiltinIssuer::new(ISSUER_NAME, None, ring, base_url);
        let trust = IssuerTrust {
            issuers: TrustedIssuers { issuers: vec![builtin.issuer.clone()] },
            remotes: Vec::new(),
            builtin: Some(builtin),
            limits: VerificationLimits {
                skew,
                max_token_bytes: MAX_TOKEN_BYTES,
                extra_claims: INTROSPECTED_CLAIMS.iter().map(|c| (*c).to_owned()).collect(),
            },
        };
        let auth = Authenticator::new(VERIFIED_CACHE_ENTRIES, revocations, Counter::default());
        OwnTokens { trust, auth, issuer_names: [ISSUER_NAME.to_owned()] }
    }

    /// The token's verified claims, or `None` for anything not a live, unrevoked token of ours.
    pub async fn verify(&self, token: &str, now: i64) -> Option<Arc<VerifiedToken>> {
        // Keys rotate in the ring: follow it first, so a removed key stops verifying at once (a
        // cached verification is only used while its key is still published).
        self.trust.sync_builtin();
        let verified = self.auth.verify(&self.trust, token, &self.issuer_names, now).await.ok()?;
        self.auth.revocations.check(&verified).is_none().then_some(verified)
    }
}
