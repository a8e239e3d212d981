//! Verifying access tokens this issuer signed, for the endpoints that take one (`userinfo`, the
//! on-behalf-of assertion): the same validation the gateway runs, against the in-process keys,
//! plus the revocation set (a token of a revoked family opens nothing here either).

use std::sync::Arc;

use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::access::token_validation::{verify, ValidationContext, VerifiedToken};
use tokengate_core::access::trusted_issuer::TrustedIssuers;
use tokengate_core::keys::KeyRing;

use crate::authentication::builtin_issuer_keys::BuiltinIssuer;

/// Our own tokens never exceed this (a token with 200 groups is about 10 KB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

pub struct OwnTokens {
    builtin: Arc<BuiltinIssuer>,
    issuers: TrustedIssuers,
    pub revocations: Arc<RevocationSet>,
}

impl OwnTokens {
    pub fn new(ring: Arc<KeyRing>, base_url: &str, revocations: Arc<RevocationSet>) -> Self {
        let builtin = BuiltinIssuer::new("tokengate", None, ring, base_url);
        let issuers = TrustedIssuers { issuers: vec![builtin.issuer.clone()] };
        OwnTokens { builtin, issuers, revocations }
    }

    /// The token's verified claims, or `None` for anything not a live, unrevoked token of ours.
    pub fn verify(&self, token: &str, now: i64, skew: i64) -> Option<VerifiedToken> {
        self.builtin.sync();
        let ctx =
            ValidationContext { issuers: &self.issuers, skew, max_token_len: MAX_TOKEN_BYTES, extra_claims: &[], now };
        let verified = verify(token, &ctx).ok()?;
        self.revocations.check(&verified).is_none().then_some(verified)
    }
}
