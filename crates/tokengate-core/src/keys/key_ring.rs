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

/// What verifiers need of the built-in issuer's keys: the public JWKS and a generation that moves
/// whenever it changes. The issuer's `KeyRing` is one; a gateway-only node, which never holds
/// private keys, keeps a `PublicKeyRing` read from the store's certificates.
pub trait PublishedKeys: Send + Sync {
    fn generation(&self) -> u64;
    /// Every published key, without `issuer`.
    fn public_jwks(&self) -> JwkSet;
}

impl PublishedKeys for KeyRing {
    fn generation(&self) -> u64 {
        self.current.load().generation
    }

    fn public_jwks(&self) -> JwkSet {
        self.current().jwks(None)
    }
}

struct PublicKeySet {
    jwks: JwkSet,
    generation: u64,
}

/// Public keys only (see `PublishedKeys`).
pub struct PublicKeyRing {
    current: ArcSwap<PublicKeySet>,
}

impl PublicKeyRing {
    pub fn new(jwks: JwkSet) -> Self {
        PublicKeyRing { current: ArcSwap::from_pointee(PublicKeySet { jwks, generation: 1 }) }
    }

    /// Replaces the keys if their kids changed; returns whether they did.
    pub fn replace(&self, jwks: JwkSet) -> bool {
        let old = self.current.load();
        let same =
            old.jwks.keys.len() == jwks.keys.len() && old.jwks.keys.iter().zip(&jwks.keys).all(|(a, b)| a.kid == b.kid);
        if same {
            return false;
        }
        let generation = old.generation + 1;
        self.current.store(Arc::new(PublicKeySet { jwks, generation }));
        true
    }
}

impl PublishedKeys for PublicKeyRing {
    fn generation(&self) -> u64 {
        self.current.load().generation
    }

    fn public_jwks(&self) -> JwkSet {
        self.current.load().jwks.clone()
    }
}
