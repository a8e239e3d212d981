//! The revocation set every request consults after verification (never cached with the
//! token). Reads are one atomic pointer load plus a hash lookup; writers publish a new immutable
//! snapshot. It holds what has a writer today: the access tokens of revoked refresh-token
//! families (reuse detection, a reused code), read from the store by the revocation feed.
//! Revoking a token, user, app or key adds its own kind here with its writer.

use std::collections::HashSet;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::VerifiedToken;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    /// `uti`s of unexpired access tokens of revoked refresh-token families, read from the store.
    pub family_token_ids: HashSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokedBy {
    /// Minted for a refresh-token family that was revoked (theft detected, code reused).
    Family,
}

#[derive(Default)]
pub struct RevocationSet {
    current: ArcSwap<Revocations>,
}

impl RevocationSet {
    pub fn check(&self, t: &VerifiedToken) -> Option<RevokedBy> {
        let r = self.current.load();
        if r.family_token_ids.is_empty() {
            return None;
        }
        if t.uti.as_deref().is_some_and(|u| r.family_token_ids.contains(u)) {
            return Some(RevokedBy::Family);
        }
        None
    }

    pub fn replace(&self, revocations: Revocations) {
        self.current.store(Arc::new(revocations));
    }

    /// Copy-on-write update (revocations are rare; reads are every request).
    pub fn update(&self, change: impl Fn(&mut Revocations)) {
        self.current.rcu(|old| {
            let mut next = Revocations::clone(old);
            change(&mut next);
            next
        });
    }

    pub fn snapshot(&self) -> Arc<Revocations> {
        self.current.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::policy::tests_support::sample_token;

    #[test]
    fn tokens_of_revoked_families() {
        let set = RevocationSet::default();
        let t = sample_token();
        assert_eq!(set.check(&t), None);
        set.update(|r| {
            r.family_token_ids.insert("other".into());
        });
        assert_eq!(set.check(&t), None);
        set.update(|r| {
            r.family_token_ids.insert("u".into());
        });
        assert_eq!(set.check(&t), Some(RevokedBy::Family), "minted for a revoked refresh-token family");
        set.replace(Revocations::default());
        assert_eq!(set.check(&t), None);
    }
}
