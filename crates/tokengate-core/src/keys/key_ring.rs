//! The key ring the issuer signs with and publishes: one active key plus every published key,
//! swapped atomically when keys rotate so signing never takes a lock.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokengate_proto::{Jwk, JwkSet};

use super::signing_key::SigningKey;

pub struct KeySet {
    pub active: Arc<SigningKey>,
    /// Every key in the JWKS: next, active and retired ones.
    pub published: Vec<Arc<SigningKey>>,
    /// Bumped on every change; lets rendered JWKS caches know they are stale.
    pub generation: u64,
}

impl KeySet {
    /// The JWKS with each key's `issuer` set as Entra does for the tenant asked about (a fixed
    /// tenant issuer or the `{tenantid}` template for `common`); `None` omits it (v1 keys).
    pub fn jwks(&self, issuer: Option<&str>) -> JwkSet {
        JwkSet {
            keys: self.published.iter().map(|k| Jwk { issuer: issuer.map(str::to_owned), ..k.jwk.clone() }).collect(),
        }
    }
}

pub struct KeyRing {
    current: ArcSwap<KeySet>,
}

impl KeyRing {
    pub fn new(active: Arc<SigningKey>, published: Vec<Arc<SigningKey>>) -> Self {
        KeyRing { current: ArcSwap::from_pointee(KeySet { active, published, generation: 1 }) }
    }

    pub fn current(&self) -> Arc<KeySet> {
        self.current.load_full()
    }

    /// Replaces the key set if its kids changed; returns whether it did.
    pub fn replace(&self, active: Arc<SigningKey>, published: Vec<Arc<SigningKey>>) -> bool {
        let old = self.current.load();
        let same = old.active.kid == active.kid
            && old.published.len() == published.len()
            && old.published.iter().zip(&published).all(|(a, b)| a.kid == b.kid);
        if same {
            return false;
        }
        let generation = old.generation + 1;
        self.current.store(Arc::new(KeySet { active, published, generation }));
        true
    }
}
