//! The pace of device-code polling (RFC 8628 §3.5): a poll sooner than the code's interval after
//! the previous one is answered `slow_down`, the interval grows by `SLOW_DOWN_STEP` (up to
//! `MAX_POLL_INTERVAL`) and the clock restarts.
//!
//! The pace lives in memory on each node, not in the store. It is advice to a client, not a
//! security decision: the code's state (pending, approved, redeemed) stays in the store, and
//! redemption is still a compare-and-set there. Keeping the pace durable cost one committed write
//! per poll (every pending poll moved the clock), which held polling to the single writer's rate
//! (~2.3k/s). The price: behind a load balancer each node keeps its own clock, so a client that
//! spreads its polls over N nodes is slowed only when it polls one node too fast, and a restart
//! forgets every clock (the next poll is on time). Memory is bounded: when full, expired codes go
//! first, then the eighth polled longest ago.

use dashmap::DashMap;

use super::device_code::{MAX_POLL_INTERVAL, SLOW_DOWN_STEP};
use crate::rate_limit::evict_oldest_eighth;
use crate::UnixTime;

/// About 80 bytes each: 100,000 codes polled at once is ~8 MB.
pub const DEFAULT_MAX_PACED_CODES: usize = 100_000;

pub struct DevicePollPace {
    codes: DashMap<Vec<u8>, Pace>,
    max_codes: usize,
}

#[derive(Debug, Clone, Copy)]
struct Pace {
    last_poll_ms: i64,
    /// Seconds; starts at the code's interval.
    interval: i64,
    expires_at_ms: i64,
}

impl Default for DevicePollPace {
    fn default() -> Self {
        DevicePollPace::new(DEFAULT_MAX_PACED_CODES)
    }
}

impl DevicePollPace {
    pub fn new(max_codes: usize) -> Self {
        DevicePollPace { codes: DashMap::new(), max_codes: max_codes.max(1) }
    }

    /// Records one poll of the code at `now_ms`. `Err(interval)` when it came too soon: the code's
    /// interval is now `interval` seconds. A poll exactly one interval after the last is on time.
    pub fn poll(&self, code_hash: &[u8], start_interval: i64, expires_at: UnixTime, now_ms: i64) -> Result<(), i64> {
        if !self.codes.contains_key(code_hash) && self.codes.len() >= self.max_codes {
            self.make_room(now_ms);
        }
        let mut pace = self.codes.entry(code_hash.to_vec()).or_insert(Pace {
            last_poll_ms: i64::MIN,
            interval: start_interval,
            expires_at_ms: expires_at.saturating_mul(1000),
        });
        let too_soon = now_ms < pace.last_poll_ms.saturating_add(pace.interval.saturating_mul(1000));
        pace.last_poll_ms = now_ms;
        if too_soon {
            // A code issued with a longer interval than the cap keeps it.
            pace.interval = pace.interval.saturating_add(SLOW_DOWN_STEP).min(MAX_POLL_INTERVAL.max(pace.interval));
            return Err(pace.interval);
        }
        Ok(())
    }

    /// The code was redeemed: no poll of it will be paced again.
    pub fn forget(&self, code_hash: &[u8]) {
        self.codes.remove(code_hash);
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Drops expired codes; if that is not enough, the eighth polled longest ago (so the scan is
    /// amortised over many new codes, and a flood of codes never resets every clock at once).
    fn make_room(&self, now_ms: i64) {
        self.codes.retain(|_, p| p.expires_at_ms > now_ms);
        if self.codes.len() < self.max_codes {
            return;
        }
        evict_oldest_eighth(&self.codes, |p| p.last_poll_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_700_000_000;
    const T0: i64 = NOW * 1000;

    #[test]
    fn too_fast_slows_down_and_the_interval_sticks() {
        let pace = DevicePollPace::default();
        let poll = |ms: i64| pace.poll(b"code", 5, NOW + 900, ms);
        assert_eq!(poll(T0), Ok(()), "the first poll is on time");
        assert_eq!(poll(T0 + 1_000), Err(10), "too fast");
        // 10 s later is fine (exactly one interval is never too fast); 6 s after that is too fast
        // now although it was not under the first 5 s.
        assert_eq!(poll(T0 + 11_000), Ok(()));
        assert_eq!(poll(T0 + 17_000), Err(15));
        // Each slow_down restarts the clock: 10 s later is still too fast for 15 s.
        assert_eq!(poll(T0 + 27_000), Err(20));
        assert_eq!(poll(T0 + 46_999), Err(25), "1 ms short");
        assert_eq!(poll(T0 + 71_999), Ok(()));
        assert_eq!(poll(T0 + 96_999), Ok(()), "25 s after the last poll");
        // The interval stops growing at MAX_POLL_INTERVAL, whatever the client does.
        let mut last = Ok(());
        for t in T0 + 97_000..T0 + 97_020 {
            last = poll(t);
        }
        assert_eq!(last, Err(MAX_POLL_INTERVAL));
        // Another code has its own clock.
        assert_eq!(pace.poll(b"other", 5, NOW + 900, T0 + 97_020), Ok(()));
    }

    #[test]
    fn a_code_keeps_its_own_longer_interval_and_forgetting_restarts_it() {
        let pace = DevicePollPace::default();
        assert_eq!(pace.poll(b"slow", 90, NOW + 900, T0), Ok(()));
        assert_eq!(pace.poll(b"slow", 90, NOW + 900, T0 + 89_999), Err(90), "never lowered to the cap");
        assert_eq!(pace.poll(b"odd", 7, NOW + 900, T0), Ok(()));
        assert_eq!(pace.poll(b"odd", 7, NOW + 900, T0 + 6_999), Err(12));
        pace.forget(b"odd");
        assert_eq!(pace.poll(b"odd", 7, NOW + 900, T0 + 7_000), Ok(()), "forgotten: a new clock");
        assert_eq!(pace.len(), 2);
    }

    #[test]
    fn memory_is_bounded_expired_codes_first_then_the_longest_idle() {
        let pace = DevicePollPace::new(16);
        for i in 0..8u8 {
            assert_eq!(pace.poll(&[i], 5, NOW + 10, T0 + i64::from(i)), Ok(()));
        }
        for i in 8..16u8 {
            assert_eq!(pace.poll(&[i], 5, NOW + 900, T0 + i64::from(i)), Ok(()));
        }
        assert_eq!(pace.len(), 16);
        // Full: a new code after the first eight expired drops those eight, and no live one.
        assert_eq!(pace.poll(&[100], 5, NOW + 900, T0 + 20_000), Ok(()));
        assert_eq!(pace.len(), 9);
        assert_eq!(pace.poll(&[8], 5, NOW + 900, T0 + 20_001), Ok(()));
        assert_eq!(pace.len(), 9, "a live clock survived (no new entry for it)");
        // Full of live codes: the eighth polled longest ago goes, never all of them.
        for i in 101..108u8 {
            assert_eq!(pace.poll(&[i], 5, NOW + 900, T0 + 20_000 + i64::from(i)), Ok(()));
        }
        assert_eq!(pace.len(), 16);
        assert_eq!(pace.poll(&[200], 5, NOW + 900, T0 + 30_000), Ok(()));
        assert_eq!(pace.len(), 15, "two of sixteen evicted (polled at T0 + 9 and + 10), one added");
        assert_eq!(pace.poll(&[11], 5, NOW + 900, T0 + 30_001), Ok(()));
        assert_eq!(pace.len(), 15, "the third longest idle clock survived");
        assert_eq!(pace.poll(&[9], 5, NOW + 900, T0 + 30_002), Ok(()));
        assert_eq!(pace.len(), 16, "the longest idle clock was dropped");
    }
}
