//! Failure counting for credential guessing: a fixed window per key (client id, source). Only
//! failures count, so a busy legitimate client is never slowed. Memory is bounded: when full,
//! expired windows go first, then the oldest — never every counter at once, which would hand a
//! flood of fresh keys a reset of the attacker's own budget.

use std::net::IpAddr;

use dashmap::DashMap;

use crate::UnixTime;

/// The rate-limit key of a peer address: IPv4 per address, IPv6 per /64 (one subscriber's
/// allocation: counting per address would give each host 2^64 budgets). Every limiter that counts
/// a peer uses this.
pub fn source_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// `source_key` of an address given as text; anything that is not an address is its own key.
pub fn source_key_of(ip: &str) -> String {
    ip.parse::<IpAddr>().map(source_key).unwrap_or_else(|_| ip.to_owned())
}

pub struct FailureLimiter {
    windows: DashMap<String, Window>,
    max_failures: u32,
    window_secs: i64,
    max_keys: usize,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: UnixTime,
    failures: u32,
}

impl FailureLimiter {
    pub fn new(max_failures: u32, window_secs: i64, max_keys: usize) -> Self {
        FailureLimiter { windows: DashMap::new(), max_failures, window_secs, max_keys: max_keys.max(1) }
    }

    /// `Err(retry_after_secs)` when `key` has used up its failures in the current window.
    pub fn check(&self, key: &str, now: UnixTime) -> Result<(), u64> {
        match self.windows.get(key) {
            Some(w) if now < w.start + self.window_secs && w.failures >= self.max_failures => {
                Err((w.start + self.window_secs - now).max(1) as u64)
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, key: &str, now: UnixTime) {
        if !self.windows.contains_key(key) && self.windows.len() >= self.max_keys {
            self.make_room(now);
        }
        let mut entry = self.windows.entry(key.to_owned()).or_insert(Window { start: now, failures: 0 });
        if now >= entry.start + self.window_secs {
            *entry = Window { start: now, failures: 0 };
        }
        entry.failures = entry.failures.saturating_add(1);
    }

    /// Drops expired windows; if that is not enough, the oldest eighth (so eviction work is
    /// amortised over many inserts instead of a full scan per new key).
    fn make_room(&self, now: UnixTime) {
        self.windows.retain(|_, w| now < w.start + self.window_secs);
        if self.windows.len() < self.max_keys {
            return;
        }
        evict_oldest_eighth(&self.windows, |w| w.start);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.windows.len()
    }
}

/// Removes the eighth of `map`'s entries with the oldest `stamp` (at least one): the amortised
/// eviction of a full bounded map, which never empties it at once.
pub(crate) fn evict_oldest_eighth<K: Eq + std::hash::Hash, V>(map: &DashMap<K, V>, stamp: impl Fn(&V) -> i64) {
    let mut stamps: Vec<i64> = map.iter().map(|e| stamp(e.value())).collect();
    if stamps.is_empty() {
        return;
    }
    let evict = (stamps.len() / 8).max(1);
    let (_, cutoff, _) = stamps.select_nth_unstable(evict - 1);
    let cutoff = *cutoff;
    let mut left = evict;
    map.retain(|_, v| {
        if left > 0 && stamp(v) <= cutoff {
            left -= 1;
            false
        } else {
            true
        }
    });
}

/// Budgets against credential guessing: failures per client id and per source (see `source_key`).
pub struct CredentialGuessLimits {
    pub per_client: FailureLimiter,
    pub per_ip: FailureLimiter,
}

impl CredentialGuessLimits {
    /// Per-minute failure budgets.
    pub fn per_minute(per_client: u32, per_ip: u32) -> Self {
        CredentialGuessLimits {
            per_client: FailureLimiter::new(per_client, 60, 100_000),
            per_ip: FailureLimiter::new(per_ip, 60, 100_000),
        }
    }

    /// `Err(retry_after)` when either budget is used up. `ip` is a peer address (or its key).
    pub fn check(&self, client_id: &str, ip: &str, now: UnixTime) -> Result<(), u64> {
        self.per_client.check(client_id, now)?;
        self.per_ip.check(&source_key_of(ip), now)
    }

    pub fn record_failure(&self, client_id: &str, ip: &str, now: UnixTime) {
        self.per_client.record_failure(client_id, now);
        self.per_ip.record_failure(&source_key_of(ip), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_after_max_failures_until_window_ends() {
        let l = FailureLimiter::new(3, 60, 100);
        for _ in 0..3 {
            assert!(l.check("k", 100).is_ok());
            l.record_failure("k", 100);
        }
        assert_eq!(l.check("k", 110), Err(50));
        assert!(l.check("other", 110).is_ok());
        assert!(l.check("k", 160).is_ok(), "new window");
    }

    #[test]
    fn memory_is_bounded() {
        let l = FailureLimiter::new(3, 60, 10);
        for i in 0..1000 {
            l.record_failure(&format!("k{i}"), 100);
        }
        assert!(l.len() <= 10);
    }

    #[test]
    fn a_full_limiter_evicts_a_few_oldest_never_everything() {
        let l = FailureLimiter::new(3, 60, 16);
        for i in 0..1000 {
            l.record_failure(&format!("flood{i}"), 100);
        }
        assert!((14..=16).contains(&l.len()), "evicts a few, not all: {}", l.len());
        assert!(l.windows.contains_key("flood999"));

        // A limited key newer than what is evicted survives a flood that fills the limiter.
        let l = FailureLimiter::new(3, 60, 16);
        for i in 0..15 {
            l.record_failure(&format!("old{i}"), 100);
        }
        for _ in 0..3 {
            l.record_failure("attacker", 150);
        }
        for i in 0..10 {
            l.record_failure(&format!("fresh{i}"), 150);
        }
        assert_eq!(l.check("attacker", 151), Err(59), "a limited key is not reset by a full limiter");
    }

    #[test]
    fn expired_windows_are_evicted_before_live_ones() {
        let l = FailureLimiter::new(1, 60, 4);
        for i in 0..3 {
            l.record_failure(&format!("stale{i}"), 0);
        }
        l.record_failure("live", 100);
        l.record_failure("new", 101);
        assert_eq!(l.check("live", 101), Err(59));
        assert!(!l.windows.contains_key("stale0"));
    }

    #[test]
    fn ipv6_is_counted_per_slash_64_and_ipv4_per_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        assert_eq!(source_key(a), "2001:db8:1:2::/64");
        assert_eq!(source_key("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_ne!(source_key("192.0.2.7".parse().unwrap()), source_key("192.0.2.8".parse().unwrap()));

        let limits = CredentialGuessLimits::per_minute(1000, 2);
        limits.record_failure("c1", "2001:db8:1:2::1", 100);
        limits.record_failure("c2", "2001:db8:1:2::2", 100);
        assert!(limits.check("c3", "2001:db8:1:2:dead:beef::9", 100).is_err(), "same /64 shares one budget");
        assert!(limits.check("c3", "2001:db8:1:99::1", 100).is_ok(), "another /64 does not");
    }
}
