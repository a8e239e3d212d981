//! The built-in issuer as a trusted issuer: its keys come straight from the in-process key ring
//! (no HTTP) — the issuer's own ring, or on a gateway-only node the public keys read from the
//! shared store — re-derived whenever the ring's generation changes.

use std::sync::{Arc, Mutex};

use tokengate_core::access::trusted_issuer::{
    IssuerKind, IssuerMaterial, IssuerPattern, TrustedIssuer, TENANT_TEMPLATE,
};
use tokengate_core::access::verifying_keys::parse_jwks;
use tokengate_core::jws::JwsAlgorithm;
use tokengate_core::keys::PublishedKeys;
use tokengate_core::tokens::{issuer_v1, issuer_v2};

pub struct BuiltinIssuer {
    pub issuer: Arc<TrustedIssuer>,
    ring: Arc<dyn PublishedKeys>,
    base_url: String,
    /// Generation of the ring the keys were derived from; the lock keeps two syncs from
    /// interleaving (the material only ever moves forward).
    generation: Mutex<u64>,
}

impl BuiltinIssuer {
    pub fn new(
        name: &str,
        tenants: Option<Vec<String>>,
        ring: Arc<dyn PublishedKeys>,
        base_url: &str,
    ) -> Arc<BuiltinIssuer> {
        let tenants = tenants.map(|t| t.into_iter().map(|x| x.to_ascii_lowercase()).collect());
        let this = Arc::new(BuiltinIssuer {
            issuer: Arc::new(TrustedIssuer::new(name, IssuerKind::Builtin, tenants, vec![JwsAlgorithm::Rs256])),
            ring,
            base_url: base_url.to_owned(),
            generation: Mutex::new(0),
        });
        this.sync();
        this
    }

    /// Re-derives the keys if the ring changed; returns whether it did.
    pub fn sync(&self) -> bool {
        let Ok(mut generation) = self.generation.lock() else { return false };
        let current = self.ring.generation();
        if *generation == current {
            return false;
        }
        let jwks = serde_json::to_vec(&self.ring.public_jwks()).unwrap_or_default();
        let keys = parse_jwks(&jwks, &[JwsAlgorithm::Rs256]).unwrap_or_default();
        self.issuer.replace_material(IssuerMaterial {
            patterns: vec![
                IssuerPattern { template: issuer_v2(&self.base_url, TENANT_TEMPLATE), version: Some("2.0") },
                IssuerPattern { template: issuer_v1(&self.base_url, TENANT_TEMPLATE), version: Some("1.0") },
            ],
            keys,
        });
        *generation = current;
        true
    }
}
