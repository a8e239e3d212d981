//! Verified-token cache: SHA-256 of the token → its verified claims, so a token seen before
//! skips the RSA verification. Bounded: at capacity new tokens are simply not cached (expired
//! entries are swept periodically). Revocation and policy are never cached.

use std::sync::Arc;

use dashmap::DashMap;

use super::claim_interner::ClaimInterner;
use super::VerifiedToken;
use crate::encoding::sha256;
use crate::UnixTime;

/// Distinct shared claim values kept (issuers, audiences, tenants, clients, scopes, roles,
/// groups, key ids): far more than one deployment's tokens carry; past it values are copied.
const SHARED_VALUES: usize = 16_384;

pub struct VerifiedCache {
    entries: DashMap<[u8; 32], Arc<VerifiedToken>>,
    capacity: usize,
    shared: ClaimInterner,
}

impl VerifiedCache {
    pub fn new(capacity: usize) -> Self {
        VerifiedCache {
            entries: DashMap::with_capacity(capacity.min(65_536)),
            capacity,
            shared: ClaimInterner::new(SHARED_VALUES),
        }
    }

    /// Where verification keeps the claim values cached tokens share.
    pub fn shared_values(&self) -> &ClaimInterner {
        &self.shared
    }

    pub fn key(token: &str) -> [u8; 32] {
        sha256(token.as_bytes())
    }

    /// A cached token that is still within its lifetime.
    pub fn get(&self, key: &[u8; 32], now: UnixTime, skew: i64) -> Option<Arc<VerifiedToken>> {
        let hit = self.entries.get(key).map(|e| e.value().clone())?;
        if hit.is_live(now, skew) {
            Some(hit)
        } else {
            self.entries.remove(key);
            None
        }
    }

    pub fn remove(&self, key: &[u8; 32]) {
        self.entries.remove(key);
    }

    pub fn insert(&self, key: [u8; 32], token: Arc<VerifiedToken>) {
        if self.entries.len() < self.capacity {
            self.entries.insert(key, token);
        }
    }

    /// Drops expired entries, then the shared values no entry holds; returns how many entries
    /// remain.
    pub fn sweep(&self, now: UnixTime, skew: i64) -> usize {
        self.entries.retain(|_, t| t.is_live(now, skew));
        self.shared.sweep();
        self.entries.len()
    }

    /// Drops every entry `doomed` picks (e.g. tokens signed by a key that was removed); returns
    /// how many remain.
    pub fn remove_where(&self, doomed: impl Fn(&VerifiedToken) -> bool) -> usize {
        self.entries.retain(|_, t| !doomed(t));
        self.entries.len()
    }

    pub fn clear(&self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::policy::tests_support::sample_token;

    #[test]
    fn bounded_and_expiring() {
        let cache = VerifiedCache::new(2);
        let t = Arc::new(sample_token()); // exp 100
        cache.insert(VerifiedCache::key("a"), t.clone());
        cache.insert(VerifiedCache::key("b"), t.clone());
        cache.insert(VerifiedCache::key("c"), t.clone());
        assert_eq!(cache.len(), 2, "capacity holds");
        assert!(cache.get(&VerifiedCache::key("a"), 50, 0).is_some());
        assert!(cache.get(&VerifiedCache::key("c"), 50, 0).is_none());
        assert!(cache.get(&VerifiedCache::key("a"), 100, 0).is_none(), "expired entries are not served");
        assert_eq!(cache.sweep(200, 0), 0);
    }

    #[test]
    fn entries_of_a_removed_key_can_be_dropped() {
        let cache = VerifiedCache::new(8);
        let mut other = sample_token();
        other.kid = "other".into();
        cache.insert(VerifiedCache::key("a"), Arc::new(sample_token()));
        cache.insert(VerifiedCache::key("b"), Arc::new(other));
        assert_eq!(cache.remove_where(|t| &*t.kid == "k"), 1);
        assert!(cache.get(&VerifiedCache::key("a"), 50, 0).is_none(), "the removed key's token is gone");
        assert!(cache.get(&VerifiedCache::key("b"), 50, 0).is_some(), "others stay");
    }
}
