//! What every issuer request handler shares.

use std::sync::Arc;

use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::grants::device_poll_pace::DevicePollPace;
use tokengate_core::keys::{KeyEncryptionKey, KeyRing};
use tokengate_core::rate_limit::CredentialGuessLimits;
use tokengate_core::sign_in_lockout::SmartLockout;
use tokengate_core::store::Store;
use tokengate_core::tokens::TokenSettings;

use crate::audit_writer::AuditSink;
use crate::issuer::browser_state::BrowserState;
use crate::issuer::own_tokens::OwnTokens;
use crate::issuer::tenant_resolution::TenantCache;

pub struct IssuerState {
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeyRing>,
    pub settings: TokenSettings,
    /// `https://host:port` as clients reach the issuer; every URL and `iss` is built from it.
    pub base_url: String,
    pub limits: CredentialGuessLimits,
    pub audit: AuditSink,
    pub tenants: TenantCache,
    /// Rendered discovery and JWKS bodies: cache key → (key-set generation, bytes).
    pub documents: dashmap::DashMap<String, (u64, axum::body::Bytes)>,
    /// Signed cookies and form state of the sign-in pages.
    pub browser: BrowserState,
    /// Wrong passwords: smart lockout per (user, source), per source and per user.
    pub sign_in_limits: SmartLockout,
    /// Wrong device user codes, across everyone ("*") and per IP.
    pub device_code_limits: CredentialGuessLimits,
    /// Unauthenticated `/devicecode` requests, per client id and per source (every request counts).
    pub device_start_limits: CredentialGuessLimits,
    /// This node's device-code polling clocks (`slow_down`), in memory.
    pub device_polls: DevicePollPace,
    /// Verifies tokens presented back to the issuer (userinfo, on-behalf-of).
    pub own_tokens: OwnTokens,
    /// This node's applied revocation feed (shared with its gateway).
    pub revocations: Arc<RevocationSet>,
    /// Applies this process's own revocations before it answers.
    pub feed: crate::revocation_feed::FeedHandle,
    /// Token endpoint metrics, rendered by the admin listener's `/metrics`.
    pub metrics: Arc<crate::issuer::issuer_metrics::IssuerMetrics>,
}

/// Wrong device user codes allowed per minute across all clients before misses are answered 429
/// (a valid code is looked up first and never refused, so guessers cannot lock people out). With
/// 27^9 codes and ~1000 live at once, one hit takes ~7.6e9 guesses.
const DEVICE_CODE_GUESSES_PER_MINUTE: u32 = 600;

/// What an issuer is made of; everything else in `IssuerState` is derived.
pub struct IssuerParts {
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeyRing>,
    pub kek: Arc<KeyEncryptionKey>,
    pub settings: TokenSettings,
    pub base_url: String,
    pub audit: AuditSink,
    pub revocations: Arc<RevocationSet>,
    /// Applies this process's own revocations before it answers.
    pub feed: crate::revocation_feed::FeedHandle,
    pub client_failures_per_minute: u32,
    pub ip_failures_per_minute: u32,
    pub device_code_starts: crate::config::DeviceCodeStartBudget,
}

impl IssuerState {
    /// The issuer's means as the grants take them, with the configured token settings.
    pub fn issuer(&self) -> tokengate_core::grants::Issuer<'_> {
        tokengate_core::grants::Issuer {
            store: self.store.as_ref(),
            keys: &self.keys,
            settings: &self.settings,
            base_url: &self.base_url,
            revocations: &self.revocations,
            device_polls: &self.device_polls,
        }
    }

    pub fn new(parts: IssuerParts) -> IssuerState {
        let IssuerParts {
            store,
            keys,
            kek,
            settings,
            base_url,
            audit,
            revocations,
            feed,
            client_failures_per_minute,
            ip_failures_per_minute,
            device_code_starts,
        } = parts;
        IssuerState {
            own_tokens: OwnTokens::new(keys.clone(), &base_url, revocations.clone(), settings.clock_skew),
            revocations,
            feed,
            store,
            keys,
            settings,
            base_url,
            limits: CredentialGuessLimits::per_minute(client_failures_per_minute, ip_failures_per_minute),
            audit,
            tenants: TenantCache::default(),
            metrics: Default::default(),
            documents: Default::default(),
            browser: BrowserState::new(&kek),
            sign_in_limits: SmartLockout::per_minute(client_failures_per_minute, ip_failures_per_minute),
            device_code_limits: CredentialGuessLimits::per_minute(
                DEVICE_CODE_GUESSES_PER_MINUTE,
                ip_failures_per_minute,
            ),
            device_polls: DevicePollPace::default(),
            device_start_limits: CredentialGuessLimits::per_minute(
                device_code_starts.per_client,
                device_code_starts.per_ip,
            ),
        }
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
