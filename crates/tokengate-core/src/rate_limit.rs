//! Failure counting for credential guessing: a fixed window per key (client id, IP). Only
//! failures count, so a busy legitimate client is never slowed. Memory is bounded.

use dashmap::DashMap;

use crate::UnixTime;

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
        FailureLimiter { windows: DashMap::new(), max_failures, window_secs, max_keys }
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
        if self.windows.len() >= self.max_keys {
            self.windows.retain(|_, w| now < w.start + self.window_secs);
            if self.windows.len() >= self.max_keys {
                // Under a flood of distinct keys, forget rather than grow without bound.
                self.windows.clear();
            }
        }
        let mut entry = self.windows.entry(key.to_owned()).or_insert(Window { start: now, failures: 0 });
        if now >= entry.start + self.window_secs {
            *entry = Window { start: now, failures: 0 };
        }
        entry.failures = entry.failures.saturating_add(1);
    }
}

/// Budgets against credential guessing: failures per client id and per source IP.
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

    /// `Err(retry_after)` when either budget is used up.
    pub fn check(&self, client_id: &str, ip: &str, now: UnixTime) -> Result<(), u64> {
        self.per_client.check(client_id, now)?;
        self.per_ip.check(ip, now)
    }

    pub fn record_failure(&self, client_id: &str, ip: &str, now: UnixTime) {
        self.per_client.record_failure(client_id, now);
        self.per_ip.record_failure(ip, now);
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
        assert!(l.windows.len() <= 10);
    }
}
