//! Versions of the gateway policy: numbered, immutable, published conditionally, on the feed.

use std::sync::Arc;

use tokengate_core::access::policy_document::PolicyDocument;
use tokengate_core::audit::AuditEvent;
use tokengate_core::policy_versions::{content_hash, NewPolicyVersion, PublishConflict, PublishPrecondition};
use tokengate_core::store::{AuditQuery, Store};

fn version(skew: i64, origin: &str, message: &str) -> NewPolicyVersion {
    let mut document = PolicyDocument::default();
    document.settings.clock_skew = skew;
    NewPolicyVersion {
        document,
        source: Some(format!("[settings]\nclock_skew = {skew}\n")),
        author: "ada".into(),
        message: message.into(),
        origin: origin.into(),
        rollback_of: None,
        created_at: 1_000 + skew,
    }
}

fn audit(message: &str) -> AuditEvent {
    AuditEvent::admin("policy.published", None, serde_json::json!({"message": message}), 1_000)
}

async fn policy_versions_publish_conditionally(store: &Arc<dyn Store>) {
    assert_eq!(store.published_policy_version().await.unwrap(), None);
    let feed = store.feed_head().await.unwrap();

    // The first publish: only when nothing is published.
    let first = version(10, "file:/etc/tokengate/routes.toml", "first");
    let v1 =
        store.publish_policy(&first, PublishPrecondition::NothingPublished, &audit("first")).await.unwrap().unwrap();
    assert_eq!((v1.version, v1.content_hash.clone()), (1, content_hash(&first.document)));
    assert!(store.feed_head().await.unwrap() > feed, "a publish advances the feed, which wakes every node");
    let again = store.publish_policy(&first, PublishPrecondition::NothingPublished, &audit("x")).await.unwrap();
    assert_eq!(again, Err(PublishConflict { published: Some(1) }));

    // If-Match: a stale version is refused and changes nothing; the current one publishes.
    let second = version(20, "api", "second");
    let v2 = store.publish_policy(&second, PublishPrecondition::Published(1), &audit("second")).await.unwrap().unwrap();
    assert_eq!(v2.version, 2);
    let stale = version(30, "api", "stale");
    let refused = store.publish_policy(&stale, PublishPrecondition::Published(1), &audit("s")).await.unwrap();
    assert_eq!(refused, Err(PublishConflict { published: Some(2) }));
    assert_eq!(store.published_policy_version().await.unwrap(), Some(2));
    let mut rollback = first.clone();
    rollback.rollback_of = Some(1);
    rollback.origin = "api".into();
    let v3 = store.publish_policy(&rollback, PublishPrecondition::Any, &audit("rollback")).await.unwrap().unwrap();
    assert_eq!((v3.version, v3.rollback_of, v3.content_hash.clone()), (3, Some(1), v1.content_hash.clone()));

    // Every field round-trips; history is newest first and pages by version.
    let stored = store.policy_version(1).await.unwrap().unwrap();
    assert_eq!((stored.summary, stored.document, stored.source), (v1.clone(), first.document, first.source));
    assert_eq!(store.policy_version(4).await.unwrap(), None);
    let history = store.policy_history(None, 10).await.unwrap();
    assert_eq!(history.iter().map(|v| v.version).collect::<Vec<_>>(), vec![3, 2, 1]);
    assert_eq!(history[1], v2);
    let page = store.policy_history(Some(3), 1).await.unwrap();
    assert_eq!(page.iter().map(|v| v.version).collect::<Vec<_>>(), vec![2]);
    assert_eq!(store.latest_policy_of_origin("file:/etc/tokengate/routes.toml").await.unwrap(), Some(v1));
    assert_eq!(store.latest_policy_of_origin("api").await.unwrap().map(|v| v.version), Some(3));
    assert_eq!(store.latest_policy_of_origin("file:/elsewhere").await.unwrap(), None);

    // Each publish was audited in its transaction; the refused ones were not.
    let audited = store
        .audit_events(&AuditQuery { action: Some("policy.published".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(audited.len(), 3, "{audited:?}");
}

on_every_backend!(policy_versions_publish_conditionally);
