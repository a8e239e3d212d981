//! The revocation set every request consults after verification (never cached with the
//! token): by token id (`uti`), subject before a time, client before a time, signing key, and
//! refresh-token family. Reads are one atomic pointer load plus hash lookups; writers publish a
//! new immutable snapshot. The control plane fills it from the store.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::VerifiedToken;
use crate::UnixTime;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    /// Revoked token ids (`uti`).
    pub token_ids: HashSet<String>,
    /// tenant → object id → tokens issued before this time are revoked.
    pub subjects_before: HashMap<String, HashMap<String, UnixTime>>,
    /// client id (`azp`/`appid`) → tokens issued before this time are revoked.
    pub clients_before: HashMap<String, UnixTime>,
    /// Signing keys (`kid`) whose tokens are all revoked.
    pub keys: HashSet<String>,
    /// Refresh-token families (the `uti`s of their access tokens are listed by the issuer).
    pub families: HashSet<String>,
    /// `uti`s of unexpired access tokens of revoked refresh-token families, read from the store.
    pub family_token_ids: HashSet<String>,
}

impl Revocations {
    fn is_empty(&self) -> bool {
        self.token_ids.is_empty()
            && self.family_token_ids.is_empty()
            && self.subjects_before.is_empty()
            && self.clients_before.is_empty()
            && self.keys.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokedBy {
    TokenId,
    /// Minted for a refresh-token family that was revoked (theft detected, code reused).
    Family,
    Subject,
    Client,
    Key,
}

#[derive(Default)]
pub struct RevocationSet {
    current: ArcSwap<Revocations>,
}

impl RevocationSet {
    pub fn check(&self, t: &VerifiedToken) -> Option<RevokedBy> {
        let r = self.current.load();
        if r.is_empty() {
            return None;
        }
        // A token without `iat` cannot prove it was issued after a cut-off.
        let issued = t.iat.unwrap_or(UnixTime::MIN);
        if t.uti.as_deref().is_some_and(|u| r.token_ids.contains(u)) {
            return Some(RevokedBy::TokenId);
        }
        if t.uti.as_deref().is_some_and(|u| r.family_token_ids.contains(u)) {
            return Some(RevokedBy::Family);
        }
        if let (Some(tid), Some(oid)) = (t.tid.as_deref(), t.oid.as_deref()) {
            if r.subjects_before.get(tid).and_then(|m| m.get(oid)).is_some_and(|cut| issued < *cut) {
                return Some(RevokedBy::Subject);
            }
        }
        if t.client_id.as_deref().and_then(|c| r.clients_before.get(c)).is_some_and(|cut| issued < *cut) {
            return Some(RevokedBy::Client);
        }
        if r.keys.contains(&*t.kid) {
            return Some(RevokedBy::Key);
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
    fn each_kind_of_revocation() {
        let set = RevocationSet::default();
        let t = sample_token();
        assert_eq!(set.check(&t), None);
        set.update(|r| {
            r.token_ids.insert("other".into());
        });
        assert_eq!(set.check(&t), None);
        set.update(|r| {
            r.token_ids.insert("u".into());
        });
        assert_eq!(set.check(&t), Some(RevokedBy::TokenId));
        set.replace(Revocations::default());
        set.update(|r| {
            r.family_token_ids.insert("u".into());
        });
        assert_eq!(set.check(&t), Some(RevokedBy::Family), "minted for a revoked refresh-token family");
        set.replace(Revocations::default());
        set.update(|r| {
            r.subjects_before.entry("t1".into()).or_default().insert("o".into(), 2);
        });
        assert_eq!(set.check(&t), Some(RevokedBy::Subject), "issued at 1, cut-off 2");
        set.replace(Revocations::default());
        set.update(|r| {
            r.subjects_before.entry("t1".into()).or_default().insert("o".into(), 1);
        });
        assert_eq!(set.check(&t), None, "issued at the cut-off: still valid");
        set.replace(Revocations::default());
        set.update(|r| {
            r.clients_before.insert("c".into(), 5);
        });
        assert_eq!(set.check(&t), Some(RevokedBy::Client));
        set.replace(Revocations::default());
        set.update(|r| {
            r.keys.insert("k".into());
        });
        assert_eq!(set.check(&t), Some(RevokedBy::Key));
    }
}
