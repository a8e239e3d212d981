//! What every issuer request handler shares.

use std::sync::Arc;

use tokengate_core::keys::KeyRing;
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
    /// Verifies tokens presented back to the issuer (userinfo, on-behalf-of).
    pub own_tokens: OwnTokens,
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
