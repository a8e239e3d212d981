//! The audit log.

use std::sync::Arc;

use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::store::{AuditQuery, Store};
use uuid::Uuid;

async fn audit_log(store: &Arc<dyn Store>) {
    let action = format!("token.test.{}", Uuid::new_v4());
    let mut events = Vec::new();
    for i in 0..3 {
        let mut e = AuditEvent::new(AuditSource::Issuer, &action, Outcome::Denied, 2_000 + i);
        e.reason = Some("AADSTS7000215".into());
        e.status = Some(401);
        e.client_ip = Some("127.0.0.1".into());
        e.detail = serde_json::json!({"i": i});
        events.push(e);
    }
    store.append_audit(&events).await.unwrap();
    let read = store
        .audit_events(&AuditQuery { source: Some(AuditSource::Issuer), action: Some(action.clone()), limit: 10 })
        .await
        .unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(read[0], events[2], "newest first, every field round-trips");
    let limited =
        store.audit_events(&AuditQuery { action: Some(action), limit: 2, ..Default::default() }).await.unwrap();
    assert_eq!(limited.len(), 2);
    store.append_audit(&[]).await.unwrap();
}

on_every_backend!(audit_log);
