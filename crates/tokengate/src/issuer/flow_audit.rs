//! Audit records of the browser pages and device-code endpoints (refusals, throttling, sessions)
//! and the peer address they are counted and recorded by. Reasons are `AADSTS` codes or short
//! reason words — never a submitted code, password or token.

use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::rate_limit::source_key;

use crate::client_address::ClientAddress;
use crate::state::{now_ms, IssuerState};

/// The peer of a request: its address for audit records and its rate-limit key.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub ip: String,
    pub key: String,
}

impl Peer {
    pub fn of(client: ClientAddress) -> Peer {
        Peer { ip: client.audit_text(), key: source_key(client.ip()) }
    }
}

/// An issuer audit record of `action` with `outcome`, from `peer`.
pub fn event(action: &str, outcome: Outcome, reason: Option<String>, peer: &Peer) -> AuditEvent {
    let mut e = AuditEvent::new(AuditSource::Issuer, action, outcome, now_ms());
    e.reason = reason;
    e.client_ip = Some(peer.ip.clone());
    e
}

/// Records a refusal: `reason` is an `AADSTS` code or a short reason word.
pub async fn refused(
    state: &IssuerState,
    action: &str,
    reason: String,
    peer: &Peer,
    fill: impl FnOnce(&mut AuditEvent),
) {
    let mut e = event(action, Outcome::Denied, Some(reason), peer);
    fill(&mut e);
    state.audit.record(e).await;
}
