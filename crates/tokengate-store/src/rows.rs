//! Row ↔ model conversions shared by both dialects.

use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::keys::{KeyState, StoredSigningKey};
use tokengate_core::store::StoreError;
use uuid::Uuid;

pub(crate) fn uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Backend(format!("corrupt id {text:?}: {e}")))
}

pub(crate) fn key_state(text: &str) -> Result<KeyState, StoreError> {
    KeyState::parse(text).ok_or_else(|| StoreError::Backend(format!("corrupt key state {text:?}")))
}

pub(crate) struct AuditRow {
    pub id: String,
    pub at_ms: i64,
    pub source: String,
    pub action: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub token_id: Option<String>,
    pub client_ip: Option<String>,
    pub status: Option<i64>,
    pub latency_us: Option<i64>,
    pub detail: String,
}

impl AuditRow {
    pub(crate) fn into_event(self) -> Result<AuditEvent, StoreError> {
        Ok(AuditEvent {
            id: uuid(&self.id)?,
            at_ms: self.at_ms,
            source: AuditSource::parse(&self.source)
                .ok_or_else(|| StoreError::Backend(format!("corrupt audit source {:?}", self.source)))?,
            action: self.action,
            outcome: Outcome::parse(&self.outcome)
                .ok_or_else(|| StoreError::Backend(format!("corrupt audit outcome {:?}", self.outcome)))?,
            reason: self.reason,
            tenant_id: self.tenant_id,
            client_id: self.client_id,
            subject: self.subject,
            token_id: self.token_id,
            client_ip: self.client_ip,
            status: self.status.and_then(|s| u16::try_from(s).ok()),
            latency_us: self.latency_us,
            detail: serde_json::from_str(&self.detail).unwrap_or(serde_json::Value::Null),
        })
    }
}

pub(crate) fn stored_key(
    kid: String,
    state: String,
    sealed_private_key: Vec<u8>,
    cert_der: Vec<u8>,
    created_at: i64,
    retire_after: Option<i64>,
) -> Result<StoredSigningKey, StoreError> {
    Ok(StoredSigningKey { kid, state: key_state(&state)?, sealed_private_key, cert_der, created_at, retire_after })
}

/// How a redirect platform is stored (authorization codes).
pub fn platform_name(p: tokengate_core::directory::RedirectPlatform) -> &'static str {
    use tokengate_core::directory::RedirectPlatform;
    match p {
        RedirectPlatform::Web => "web",
        RedirectPlatform::Spa => "spa",
        RedirectPlatform::PublicClient => "public_client",
    }
}

pub fn parse_platform(s: &str) -> Option<tokengate_core::directory::RedirectPlatform> {
    use tokengate_core::directory::RedirectPlatform;
    match s {
        "web" => Some(RedirectPlatform::Web),
        "spa" => Some(RedirectPlatform::Spa),
        "public_client" => Some(RedirectPlatform::PublicClient),
        _ => None,
    }
}
