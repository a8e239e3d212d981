//! The revocation set every request consults after verification (never cached with the token):
//! the applied state of the revocation feed (`crate::revocations`). Reads are one atomic pointer
//! load plus at most four hash lookups keyed by borrowed `&str` — O(1), no allocation; writers
//! (the feed, rarely) publish a new immutable snapshot.
//!
//! The set also knows how fresh it is: the version it has applied and when it last read the feed
//! successfully, so that a node can refuse to serve protected routes from a stale set.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::VerifiedToken;
use crate::revocations::{Revocation, RevocationTarget};
use crate::UnixTime;

/// Why a token is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokedBy {
    /// Its `uti`/`jti` was revoked.
    Token,
    /// Its user (`tid` + `oid`) was revoked after it was issued.
    User,
    /// Its client app (`azp`/`appid`) was revoked after it was issued.
    Client,
    /// The key that signed it (`kid`) was revoked.
    Key,
    /// Minted for a refresh-token family that was revoked (theft detected, code reused).
    Family,
}

impl RevokedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokedBy::Token => "token",
            RevokedBy::User => "user",
            RevokedBy::Client => "client",
            RevokedBy::Key => "key",
            RevokedBy::Family => "family",
        }
    }
}

/// One applied state of the feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    /// `uti`/`jti` → why (a token revocation, or a token minted for a revoked family).
    token_ids: HashMap<Box<str>, RevokedBy>,
    /// `oid` → (`tid`, tokens issued before this second are revoked). `oid`s are unique per
    /// tenant; the tenant is compared too so that another tenant's same `oid` is untouched.
    users: HashMap<Box<str>, Vec<(Box<str>, UnixTime)>>,
    /// client id → tokens issued before this second are revoked.
    clients: HashMap<Box<str>, UnixTime>,
    keys: HashSet<Box<str>>,
    /// Rows applied (for metrics).
    rows: usize,
}

impl Revocations {
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// How many revocations are applied.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn apply(&mut self, revocation: &Revocation) {
        let cutoff = revocation.revocation.issued_before;
        self.rows += 1;
        match &revocation.revocation.target {
            RevocationTarget::Token { token_id } => {
                self.token_ids.insert(token_id.as_str().into(), RevokedBy::Token);
            }
            RevocationTarget::Family { token_ids, .. } => {
                for id in token_ids {
                    self.token_ids.entry(id.as_str().into()).or_insert(RevokedBy::Family);
                }
            }
            RevocationTarget::User { tenant_id, object_id } => {
                let entries = self.users.entry(object_id.to_ascii_lowercase().into()).or_default();
                let tenant = tenant_id.to_ascii_lowercase();
                match entries.iter_mut().find(|(t, _)| **t == *tenant) {
                    Some((_, before)) => *before = (*before).max(cutoff),
                    None => entries.push((tenant.into(), cutoff)),
                }
            }
            RevocationTarget::Client { client_id, .. } => {
                let before = self.clients.entry(client_id.to_ascii_lowercase().into()).or_insert(cutoff);
                *before = (*before).max(cutoff);
            }
            RevocationTarget::Key { kid } => {
                self.keys.insert(kid.as_str().into());
            }
        }
    }

    /// The earliest `iat` a token minted now for this user and client may carry so that no
    /// revocation covers it: the latest cutoff of a revocation of the user (`tid` + `oid`) or of
    /// the client. `None` when neither is revoked.
    pub fn issued_floor(&self, tid: &str, oid: Option<&str>, client_id: &str) -> Option<UnixTime> {
        let user = oid
            .and_then(|oid| self.users.get(oid))
            .and_then(|entries| entries.iter().filter(|(t, _)| t.eq_ignore_ascii_case(tid)).map(|(_, c)| *c).max());
        let client = self.clients.get(client_id).copied();
        user.max(client)
    }

    pub fn check(&self, t: &VerifiedToken) -> Option<RevokedBy> {
        if self.rows == 0 {
            return None;
        }
        if let Some(by) = t.uti.as_deref().and_then(|u| self.token_ids.get(u)) {
            return Some(*by);
        }
        if self.keys.contains(&*t.kid) {
            return Some(RevokedBy::Key);
        }
        // A token without `iat` cannot show it was issued after a revocation: covered.
        let issued_before = |cutoff: UnixTime| t.iat.is_none_or(|iat| iat < cutoff);
        if let (Some(oid), Some(tid)) = (t.oid.as_deref(), t.tid.as_deref()) {
            if let Some(entries) = self.users.get(oid) {
                if entries.iter().any(|(tenant, cutoff)| **tenant == *tid && issued_before(*cutoff)) {
                    return Some(RevokedBy::User);
                }
            }
        }
        if let Some(cutoff) = t.client_id.as_deref().and_then(|c| self.clients.get(c)) {
            if issued_before(*cutoff) {
                return Some(RevokedBy::Client);
            }
        }
        None
    }
}

/// The applied feed, shared by the gateway and the issuer of one process.
pub struct RevocationSet {
    current: ArcSwap<Revocations>,
    applied_version: AtomicI64,
    /// Unix ms of the last successful read of the feed; 0 = never synced in full.
    last_sync_ms: AtomicI64,
}

impl Default for RevocationSet {
    fn default() -> Self {
        RevocationSet {
            current: ArcSwap::from_pointee(Revocations::default()),
            applied_version: AtomicI64::new(0),
            last_sync_ms: AtomicI64::new(0),
        }
    }
}

impl RevocationSet {
    pub fn check(&self, t: &VerifiedToken) -> Option<RevokedBy> {
        self.current.load().check(t)
    }

    /// See `Revocations::issued_floor`: the issuer stamps tokens it mints after a user or client
    /// revocation no earlier than its cutoff. Tokens are back-dated by the clock skew (as Entra
    /// does), so without this a token minted just after a revocation would look older than it.
    pub fn issued_floor(&self, tid: &str, oid: Option<&str>, client_id: &str) -> Option<UnixTime> {
        self.current.load().issued_floor(tid, oid, client_id)
    }

    /// Replaces everything with a full read of the feed (start, reconnect, gap).
    pub fn resync(&self, rows: &[Revocation], head: i64, now_ms: i64) {
        let mut next = Revocations::default();
        for r in rows {
            next.apply(r);
        }
        self.current.store(Arc::new(next));
        let version = rows.last().map_or(head, |r| r.version.max(head));
        self.applied_version.store(version, Ordering::Release);
        self.last_sync_ms.store(now_ms.max(1), Ordering::Release);
    }

    /// Applies rows read after the applied version (copy-on-write: revocations are rare, reads
    /// are every request). Rows at or below the applied version are skipped.
    pub fn apply(&self, rows: &[Revocation], head: i64, now_ms: i64) {
        let applied = self.applied_version();
        let fresh: Vec<&Revocation> = rows.iter().filter(|r| r.version > applied).collect();
        if !fresh.is_empty() {
            self.current.rcu(|old| {
                let mut next = Revocations::clone(old);
                for r in &fresh {
                    next.apply(r);
                }
                next
            });
        }
        let version = fresh.last().map_or(head, |r| r.version.max(head)).max(applied);
        self.applied_version.store(version, Ordering::Release);
        if self.has_synced() {
            self.last_sync_ms.store(now_ms.max(1), Ordering::Release);
        }
    }

    /// The highest feed version applied (every version up to it).
    pub fn applied_version(&self) -> i64 {
        self.applied_version.load(Ordering::Acquire)
    }

    /// Whether a full read of the feed has been applied since start.
    pub fn has_synced(&self) -> bool {
        self.last_sync_ms.load(Ordering::Acquire) > 0
    }

    /// Unix ms of the last successful read (0 = never).
    pub fn last_sync_ms(&self) -> i64 {
        self.last_sync_ms.load(Ordering::Acquire)
    }

    /// Whether the applied state may be trusted at `now_ms`: synced in full once, and read
    /// successfully within `max_staleness_ms`.
    pub fn is_fresh(&self, now_ms: i64, max_staleness_ms: i64) -> bool {
        let last = self.last_sync_ms();
        last > 0 && now_ms - last <= max_staleness_ms
    }

    pub fn len(&self) -> usize {
        self.current.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::policy::tests_support::sample_token;
    use crate::revocations::NewRevocation;

    fn row(version: i64, target: RevocationTarget, issued_before: UnixTime) -> Revocation {
        let mut revocation = NewRevocation::at(target, "test", None, 0);
        revocation.issued_before = issued_before;
        Revocation { version, revocation }
    }

    #[test]
    fn every_kind_covers_what_it_names_and_nothing_else() {
        // sample_token: uti "u", kid "k", tid "t1", oid "o", client "c", iat 1.
        let t = sample_token();
        let cases = [
            (RevocationTarget::Token { token_id: "u".into() }, Some(RevokedBy::Token)),
            (RevocationTarget::Token { token_id: "other".into() }, None),
            (RevocationTarget::Family { family_id: "f".into(), token_ids: vec!["u".into()] }, Some(RevokedBy::Family)),
            (RevocationTarget::Key { kid: "k".into() }, Some(RevokedBy::Key)),
            (RevocationTarget::Key { kid: "k2".into() }, None),
            (RevocationTarget::User { tenant_id: "t1".into(), object_id: "o".into() }, Some(RevokedBy::User)),
            (RevocationTarget::User { tenant_id: "T1".into(), object_id: "O".into() }, Some(RevokedBy::User)),
            (RevocationTarget::User { tenant_id: "t2".into(), object_id: "o".into() }, None),
            (RevocationTarget::Client { client_id: "c".into(), disable_credentials: false }, Some(RevokedBy::Client)),
            (RevocationTarget::Client { client_id: "d".into(), disable_credentials: false }, None),
        ];
        for (target, expected) in cases {
            let set = RevocationSet::default();
            set.resync(&[row(1, target.clone(), 2)], 1, 1);
            assert_eq!(set.check(&t), expected, "{target:?}");
        }
    }

    #[test]
    fn user_and_client_revocations_cover_only_tokens_issued_before_them() {
        let mut t = sample_token();
        let set = RevocationSet::default();
        set.resync(
            &[
                row(1, RevocationTarget::User { tenant_id: "t1".into(), object_id: "o".into() }, 10),
                row(2, RevocationTarget::Client { client_id: "c".into(), disable_credentials: false }, 5),
            ],
            2,
            1,
        );
        t.iat = Some(9);
        assert_eq!(set.check(&t), Some(RevokedBy::User));
        t.iat = Some(10);
        assert_eq!(set.check(&t), None, "issued at the cutoff: after the revocation");
        t.iat = None;
        assert_eq!(set.check(&t), Some(RevokedBy::User), "no iat: cannot prove it is newer");
        t.oid = None;
        t.iat = Some(4);
        assert_eq!(set.check(&t), Some(RevokedBy::Client));
    }

    #[test]
    fn the_issuer_learns_the_floor_for_new_tokens_of_a_revoked_user_or_client() {
        let set = RevocationSet::default();
        assert_eq!(set.issued_floor("t1", Some("o"), "c"), None);
        set.resync(
            &[
                row(1, RevocationTarget::User { tenant_id: "t1".into(), object_id: "o".into() }, 10),
                row(2, RevocationTarget::Client { client_id: "c".into(), disable_credentials: false }, 12),
            ],
            2,
            1,
        );
        assert_eq!(set.issued_floor("t1", Some("o"), "other"), Some(10), "the user's cutoff");
        assert_eq!(set.issued_floor("t1", Some("o"), "c"), Some(12), "the later of user and client");
        assert_eq!(set.issued_floor("t2", Some("o"), "other"), None, "another tenant's user");
        assert_eq!(set.issued_floor("t1", None, "other"), None);
    }

    #[test]
    fn a_later_revocation_of_the_same_user_moves_the_cutoff_forward() {
        let mut t = sample_token();
        t.iat = Some(15);
        let set = RevocationSet::default();
        let user = RevocationTarget::User { tenant_id: "t1".into(), object_id: "o".into() };
        set.resync(&[row(1, user.clone(), 10)], 1, 1);
        assert_eq!(set.check(&t), None);
        set.apply(&[row(2, user.clone(), 20)], 2, 2);
        assert_eq!(set.check(&t), Some(RevokedBy::User));
        set.apply(&[row(3, user, 5)], 3, 3);
        assert_eq!(set.check(&t), Some(RevokedBy::User), "an older cutoff never un-revokes");
    }

    #[test]
    fn versions_only_move_forward_and_old_rows_are_skipped() {
        let set = RevocationSet::default();
        assert!(!set.has_synced() && !set.is_fresh(10, 1_000_000), "never synced: not fresh");
        set.apply(&[row(1, RevocationTarget::Token { token_id: "u".into() }, 0)], 1, 5);
        assert!(!set.has_synced(), "an incremental read is no full sync");
        set.resync(&[row(3, RevocationTarget::Token { token_id: "a".into() }, 0)], 4, 100);
        assert_eq!(set.applied_version(), 4, "the head counts even without a row (a key write)");
        assert_eq!(set.len(), 1, "the resync replaced everything");
        set.apply(&[row(2, RevocationTarget::Token { token_id: "b".into() }, 0)], 2, 200);
        assert_eq!(set.len(), 1, "a row at or below the applied version is not applied again");
        assert_eq!(set.applied_version(), 4);
        assert!(set.is_fresh(300, 100) && !set.is_fresh(301, 100));
        set.apply(&[row(5, RevocationTarget::Token { token_id: "c".into() }, 0)], 5, 400);
        assert_eq!((set.len(), set.applied_version(), set.last_sync_ms()), (2, 5, 400));
    }
}
