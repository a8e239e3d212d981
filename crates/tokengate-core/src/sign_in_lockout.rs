//! Smart lockout for the sign-in form: wrong passwords are limited per (user, source), per source
//! across users, and per user — but the per-user limit does not apply to a familiar browser (one
//! that signed this user in before and says so with a signed cookie) or a familiar source address
//! (one this user signed in from before), so one attacker cannot lock the user out.

use dashmap::DashMap;

use crate::rate_limit::FailureLimiter;
use crate::UnixTime;

/// How long a source address stays familiar after a successful sign-in.
pub const FAMILIAR_SOURCE_SECS: i64 = 30 * 86_400;
const MAX_FAMILIAR_SOURCES: usize = 100_000;
const MAX_KEYS: usize = 100_000;

/// Which budget refused an attempt (for the audit record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockoutReason {
    /// This user from this browser or address.
    UserAndSource,
    /// This address, across users (password spraying).
    Source,
    /// This user from unfamiliar browsers and addresses.
    User,
}

impl LockoutReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LockoutReason::UserAndSource => "user_and_source",
            LockoutReason::Source => "source",
            LockoutReason::User => "user",
        }
    }
}

/// One sign-in attempt: `user` is the normalised user name; `source` the peer's rate-limit key
/// (`rate_limit::source_key`); `known_browser` the id of a browser whose signed cookie names this
/// user as signed in before.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub user: &'a str,
    pub source: &'a str,
    pub known_browser: Option<&'a str>,
}

pub struct SmartLockout {
    per_user_source: FailureLimiter,
    per_source: FailureLimiter,
    per_user: FailureLimiter,
    /// `user|source` → last successful sign-in.
    familiar_sources: DashMap<String, UnixTime>,
}

impl SmartLockout {
    /// Per-minute budgets: per user (also per user and source) and per source address.
    pub fn per_minute(per_user: u32, per_source: u32) -> Self {
        SmartLockout {
            per_user_source: FailureLimiter::new(per_user, 60, MAX_KEYS),
            per_source: FailureLimiter::new(per_source, 60, MAX_KEYS),
            per_user: FailureLimiter::new(per_user, 60, MAX_KEYS),
            familiar_sources: DashMap::new(),
        }
    }

    fn user_source_key(a: &Attempt<'_>) -> String {
        match a.known_browser {
            Some(browser) => format!("{}|browser:{browser}", a.user),
            None => format!("{}|ip:{}", a.user, a.source),
        }
    }

    fn familiar_source(&self, a: &Attempt<'_>, now: UnixTime) -> bool {
        self.familiar_sources
            .get(&format!("{}|{}", a.user, a.source))
            .is_some_and(|at| now < *at + FAMILIAR_SOURCE_SECS)
    }

    /// `Err((retry_after, reason))` when the attempt may not be checked at all.
    pub fn check(&self, a: &Attempt<'_>, now: UnixTime) -> Result<(), (u64, LockoutReason)> {
        self.per_user_source.check(&Self::user_source_key(a), now).map_err(|r| (r, LockoutReason::UserAndSource))?;
        // A familiar browser is not held back by what others do from its address or to its user.
        if a.known_browser.is_some() {
            return Ok(());
        }
        self.per_source.check(a.source, now).map_err(|r| (r, LockoutReason::Source))?;
        if self.familiar_source(a, now) {
            return Ok(());
        }
        self.per_user.check(a.user, now).map_err(|r| (r, LockoutReason::User))
    }

    pub fn record_failure(&self, a: &Attempt<'_>, now: UnixTime) {
        self.per_user_source.record_failure(&Self::user_source_key(a), now);
        self.per_source.record_failure(a.source, now);
        self.per_user.record_failure(a.user, now);
    }

    /// The right password from `a.source`: that address is familiar for this user from now on.
    pub fn record_success(&self, a: &Attempt<'_>, now: UnixTime) {
        if self.familiar_sources.len() >= MAX_FAMILIAR_SOURCES {
            self.familiar_sources.retain(|_, at| now < *at + FAMILIAR_SOURCE_SECS);
            if self.familiar_sources.len() >= MAX_FAMILIAR_SOURCES {
                // Forget the oldest eighth, never all: familiarity only relaxes the per-user limit.
                let mut times: Vec<UnixTime> = self.familiar_sources.iter().map(|e| *e.value()).collect();
                let evict = (times.len() / 8).max(1);
                let (_, cutoff, _) = times.select_nth_unstable(evict - 1);
                let cutoff = *cutoff;
                self.familiar_sources.retain(|_, at| *at > cutoff);
            }
        }
        self.familiar_sources.insert(format!("{}|{}", a.user, a.source), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_000;

    fn attempt<'a>(source: &'a str, known_browser: Option<&'a str>) -> Attempt<'a> {
        Attempt { user: "ada@contoso.example", source, known_browser }
    }

    #[test]
    fn an_attacker_limits_itself_but_not_a_familiar_browser_or_address() {
        let l = SmartLockout::per_minute(5, 100);
        let attacker = attempt("198.51.100.9", None);
        // The user signed in before from this address.
        l.record_success(&attempt("192.0.2.1", None), NOW - 86_400);
        for _ in 0..5 {
            assert!(l.check(&attacker, NOW).is_ok());
            l.record_failure(&attacker, NOW);
        }
        assert_eq!(l.check(&attacker, NOW).map_err(|e| e.1), Err(LockoutReason::UserAndSource));
        // A stranger's address: the per-user limit applies.
        assert_eq!(l.check(&attempt("203.0.113.5", None), NOW).map_err(|e| e.1), Err(LockoutReason::User));
        // Familiar: not locked out.
        assert!(l.check(&attempt("192.0.2.1", None), NOW).is_ok(), "familiar address");
        assert!(l.check(&attempt("203.0.113.5", Some("browser-1")), NOW).is_ok(), "familiar browser");
        assert!(l.check(&attempt("198.51.100.9", Some("browser-1")), NOW).is_ok(), "even from the attacker's NAT");
        // The attacker stays limited.
        assert!(l.check(&attacker, NOW + 1).is_err());
    }

    #[test]
    fn a_familiar_browser_has_its_own_budget() {
        let l = SmartLockout::per_minute(3, 100);
        let mine = attempt("192.0.2.1", Some("browser-1"));
        for _ in 0..3 {
            l.record_failure(&mine, NOW);
        }
        assert!(l.check(&mine, NOW).is_err(), "a familiar browser guessing is limited too");
    }

    #[test]
    fn spraying_from_one_source_is_limited_across_users() {
        let l = SmartLockout::per_minute(100, 3);
        for i in 0..3 {
            let user = format!("user{i}@contoso.example");
            l.record_failure(&Attempt { user: &user, source: "198.51.100.9", known_browser: None }, NOW);
        }
        let next = Attempt { user: "other@contoso.example", source: "198.51.100.9", known_browser: None };
        assert_eq!(l.check(&next, NOW).map_err(|e| e.1), Err(LockoutReason::Source));
    }

    #[test]
    fn familiarity_expires() {
        let l = SmartLockout::per_minute(1, 100);
        l.record_success(&attempt("192.0.2.1", None), NOW - FAMILIAR_SOURCE_SECS - 1);
        l.record_failure(&attempt("198.51.100.9", None), NOW);
        assert!(l.check(&attempt("192.0.2.1", None), NOW).is_err());
    }
}
