//! What tokens look like: issuer URLs, lifetimes, and the claim sets of each token kind.

pub mod access_token;
pub mod delegated_token;

use crate::directory::TokenVersion;
use crate::UnixTime;

/// Token lifetimes and clock tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSettings {
    /// Access-token lifetime is drawn uniformly from `[min, max]` seconds, as Entra does (60–90 min).
    pub access_token_lifetime_min: i64,
    pub access_token_lifetime_max: i64,
    /// `iat`/`nbf` are back-dated by this much, as Entra does, and incoming assertions get this
    /// much tolerance.
    pub clock_skew: i64,
    /// A rotated refresh token presented again within this many seconds (and only the immediately
    /// previous one, whose successor was never used) is taken as a lost response, not a theft.
    pub refresh_reuse_grace: i64,
    /// Device codes live this long (Entra: 900 s).
    pub device_code_lifetime: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_token_lifetime_min: 3600,
            access_token_lifetime_max: 5400,
            clock_skew: 300,
            refresh_reuse_grace: 10,
            device_code_lifetime: crate::grants::device_code::DEVICE_CODE_LIFETIME,
        }
    }
}

impl TokenSettings {
    /// Entra allows 10 minutes to 1 day.
    pub fn validate(&self) -> Result<(), String> {
        let (min, max) = (self.access_token_lifetime_min, self.access_token_lifetime_max);
        if !(600..=86_400).contains(&min) || !(600..=86_400).contains(&max) || min > max {
            return Err(format!(
                "access token lifetime must lie within 600..=86400 s with min <= max (got {min}..{max})"
            ));
        }
        if !(0..=3600).contains(&self.clock_skew) {
            return Err(format!("clock skew must lie within 0..=3600 s (got {})", self.clock_skew));
        }
        if !(0..=300).contains(&self.refresh_reuse_grace) {
            return Err(format!("refresh reuse grace must lie within 0..=300 s (got {})", self.refresh_reuse_grace));
        }
        if !(10..=3600).contains(&self.device_code_lifetime) {
            return Err(format!(
                "device code lifetime must lie within 10..=3600 s (got {})",
                self.device_code_lifetime
            ));
        }
        Ok(())
    }

    /// Longest time a token signed now may still be accepted.
    pub fn max_token_age(&self) -> i64 {
        self.access_token_lifetime_max.max(3600) + 2 * self.clock_skew
    }

    pub fn draw_lifetime(&self) -> i64 {
        use rand::Rng;
        rand::thread_rng().gen_range(self.access_token_lifetime_min..=self.access_token_lifetime_max)
    }
}

/// `{base}/{tid}/v2.0` — the v2.0 issuer.
pub fn issuer_v2(base_url: &str, tenant: &str) -> String {
    format!("{base_url}/{tenant}/v2.0")
}

/// The v1.0 issuer. Entra's is `https://sts.windows.net/{tid}/`; tokengate keeps its own host so
/// that v1 metadata, keys and tokens agree: `{base}/{tid}/`.
pub fn issuer_v1(base_url: &str, tenant: &str) -> String {
    format!("{base_url}/{tenant}/")
}

pub fn issuer_for(version: TokenVersion, base_url: &str, tenant: &str) -> String {
    match version {
        TokenVersion::V1 => issuer_v1(base_url, tenant),
        TokenVersion::V2 => issuer_v2(base_url, tenant),
    }
}

/// `iat`/`nbf` of a token minted at `now`: back-dated by the clock skew as Entra does, but never
/// before `floor` — the cutoff of a revocation of its user or client, which covers every token
/// with an older `iat` (a token minted after the revocation must not look older than it).
pub fn back_dated(now: UnixTime, settings: &TokenSettings, floor: Option<UnixTime>) -> UnixTime {
    let issued = now - settings.clock_skew;
    floor.map_or(issued, |f| issued.max(f))
}
