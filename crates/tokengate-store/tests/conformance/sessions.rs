//! Browser sign-in sessions.

use std::sync::Arc;

use tokengate_core::store::{AuditQuery, SignInSession, Store, StoreError};
use uuid::Uuid;

use crate::fixtures::{audit, audit_count, NOW};

async fn sign_in_sessions(store: &Arc<dyn Store>) {
    let user_id = Uuid::new_v4();
    let session = |expires_at| SignInSession {
        session_id: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        user_id,
        auth_time: NOW,
        expires_at,
    };
    let s1 = session(NOW + 3600);
    store.insert_session(&s1).await.unwrap();
    assert!(matches!(store.insert_session(&s1).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.live_session(s1.session_id, NOW).await.unwrap(), Some(s1.clone()));
    assert_eq!(store.live_session(s1.session_id, NOW + 3600).await.unwrap(), None, "expired");
    assert_eq!(store.live_session(Uuid::new_v4(), NOW).await.unwrap(), None, "unknown");

    // Ending is durable and audited, once.
    let before = audit_count(store).await;
    assert!(store.end_session(s1.session_id, NOW + 1, &audit("session.ended")).await.unwrap());
    assert_eq!(store.live_session(s1.session_id, NOW + 1).await.unwrap(), None);
    assert_eq!(audit_count(store).await, before + 1);
    assert!(!store.end_session(s1.session_id, NOW + 2, &audit("session.ended")).await.unwrap(), "already ended");
    assert!(!store.end_session(Uuid::new_v4(), NOW + 2, &audit("session.ended")).await.unwrap());
    assert_eq!(audit_count(store).await, before + 1, "no record for nothing ended");

    // All of a user's sessions end at once (disabled, revoked); other users' stay.
    let (s2, s3) = (session(NOW + 3600), session(NOW + 7200));
    let other = SignInSession { user_id: Uuid::new_v4(), ..session(NOW + 3600) };
    for s in [&s2, &s3, &other] {
        store.insert_session(s).await.unwrap();
    }
    let ended = store.end_user_sessions(user_id, NOW + 5, &audit("user.sessions_revoked")).await.unwrap();
    assert_eq!(ended, 2);
    assert_eq!(store.live_session(s2.session_id, NOW + 5).await.unwrap(), None);
    assert_eq!(store.live_session(s3.session_id, NOW + 5).await.unwrap(), None);
    assert_eq!(store.live_session(other.session_id, NOW + 5).await.unwrap(), Some(other.clone()));
    let record = store
        .audit_events(&AuditQuery { action: Some("user.sessions_revoked".into()), limit: 1, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(record[0].detail["sessions_ended"], 2);

    // Purge deletes only what expired.
    let purged = store.purge_expired_sessions(NOW + 3601).await.unwrap();
    assert_eq!(purged, 3, "s1, s2 and other expired; s3 did not");
    store.insert_session(&session(NOW + 10_000)).await.unwrap();
    assert_eq!(store.purge_expired_sessions(NOW + 3601).await.unwrap(), 0);
}

on_every_backend!(sign_in_sessions);
