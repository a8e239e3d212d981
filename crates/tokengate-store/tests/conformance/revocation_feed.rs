//! The revocation feed: versions, reading back what was written, reading from a version on,
//! forgetting, key writes advancing it without rows, and concurrent writers and readers.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::keys::{KeyState, StoredSigningKey};
use tokengate_core::revocations::{NewRevocation, Revocation, RevocationTarget, MAX_ACCESS_TOKEN_LIFETIME};
use tokengate_core::store::{KeyRotation, Store, StoreError};
use uuid::Uuid;

use crate::fixtures::{audit, NOW};

pub(crate) fn revocation(target: RevocationTarget) -> NewRevocation {
    NewRevocation::at(target, "cli", Some("incident 42".into()), NOW * 1000)
}

async fn every_kind_reads_back_as_written(store: &Arc<dyn Store>) {
    let head = store.feed_head().await.unwrap();
    let targets = [
        RevocationTarget::Token { token_id: format!("uti-{}", Uuid::new_v4()) },
        RevocationTarget::User { tenant_id: Uuid::new_v4().to_string(), object_id: Uuid::new_v4().to_string() },
        RevocationTarget::Client { client_id: Uuid::new_v4().to_string(), disable_credentials: false },
        RevocationTarget::Key { kid: format!("kid-of-another-issuer-{}", Uuid::new_v4()) },
        RevocationTarget::Family { family_id: Uuid::new_v4().to_string(), token_ids: vec!["a".into(), "b".into()] },
    ];
    let mut written: Vec<Revocation> = Vec::new();
    for (i, target) in targets.into_iter().enumerate() {
        let asked = revocation(target);
        let (row, _) = store.revoke(&asked, &audit("revocation.created")).await.unwrap();
        assert_eq!(row.version, head + 1 + i as i64, "the next version, one per revocation");
        assert_eq!(row.revocation, asked, "stored as asked (nothing to add for a family with no tokens here)");
        written.push(row);
    }
    let read = store.revocations_after(head, NOW).await.unwrap();
    assert_eq!(read.head, head + 5);
    assert_eq!(read.rows, written, "every target read back intact, in version order");

    // From a version on: only what is above it.
    let later = store.revocations_after(head + 2, NOW).await.unwrap();
    assert_eq!(later.rows, written[2..].to_vec());
    let none = store.revocations_after(head + 5, NOW).await.unwrap();
    assert!(none.rows.is_empty());
    assert_eq!(none.head, head + 5);

    // Forgetting: a row is read until its `forget_after`, then forgotten; the head stays.
    let mut short = revocation(RevocationTarget::Token { token_id: "short-lived".into() });
    short.forget_after = NOW + 10;
    let (short, _) = store.revoke(&short, &audit("revocation.created")).await.unwrap();
    assert!(store.revocations_after(head, NOW + 10).await.unwrap().rows.contains(&short));
    assert!(!store.revocations_after(head, NOW + 11).await.unwrap().rows.contains(&short), "forgettable: not read");
    assert_eq!(store.forget_revocations(NOW + 10).await.unwrap(), 0, "not before its time");
    assert_eq!(store.forget_revocations(NOW + 11).await.unwrap(), 1);
    let after = store.revocations_after(head, NOW).await.unwrap();
    assert_eq!(after.rows, written, "only the short-lived row went");
    assert_eq!(after.head, short.version);
    let at_last = NOW + 1 + MAX_ACCESS_TOKEN_LIFETIME;
    assert_eq!(store.revocations_after(head, at_last).await.unwrap().rows.len(), 5, "kept as long as a token lives");
    assert_eq!(store.forget_revocations(at_last + 1).await.unwrap(), 5);
}

fn key(kid: &str, state: KeyState) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.into(),
        state,
        sealed_private_key: vec![1],
        cert_der: vec![2],
        created_at: NOW,
        retire_after: None,
    }
}

/// Nodes reload their keys when the feed advances: every key write advances it (without a row),
/// a write that fails does not.
async fn key_writes_advance_the_feed(store: &Arc<dyn Store>) {
    let k = |s: &str| format!("{}-{s}", Uuid::new_v4().simple());
    let (active, next, newer) = (k("active"), k("next"), k("newer"));
    let head = store.feed_head().await.unwrap();
    store.insert_signing_key(&key(&active, KeyState::Active), &audit("key.created")).await.unwrap();
    assert_eq!(store.feed_head().await.unwrap(), head + 1);
    store.insert_signing_key(&key(&next, KeyState::Next), &audit("key.created")).await.unwrap();
    let rotation = KeyRotation {
        promote: Some(next.clone()),
        new_active: None,
        retire: vec![active.clone()],
        retire_after: NOW + 100,
        drop: vec![],
        new_next: Some(key(&newer, KeyState::Next)),
    };
    store.rotate_signing_keys(&rotation, &audit("key.rotated")).await.unwrap();
    assert_eq!(store.feed_head().await.unwrap(), head + 3);
    store.delete_signing_key(&active, &audit("key.removed")).await.unwrap();
    assert_eq!(store.feed_head().await.unwrap(), head + 4);

    let failing = KeyRotation { promote: Some(active.clone()), drop: vec![], ..rotation };
    assert!(matches!(store.rotate_signing_keys(&failing, &audit("key.rotated")).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.delete_signing_key("no-such-kid", &audit("key.removed")).await, Err(StoreError::NotFound));
    let read = store.revocations_after(head, NOW).await.unwrap();
    assert_eq!(read.head, head + 4, "failed writes do not advance the feed");
    assert!(read.rows.is_empty(), "key writes advance the head without rows");
}

/// Twenty revocations at once get twenty consecutive versions, and a reader polling meanwhile
/// never sees a version appear below one it has seen: every read, applied on top of the
/// previous ones, leaves no hole.
async fn concurrent_revocations_leave_no_gap(store: &Arc<dyn Store>) {
    const WRITERS: i64 = 20;
    let start = store.feed_head().await.unwrap();
    let reader = {
        let store = Arc::clone(store);
        tokio::spawn(async move {
            let mut applied = start;
            let mut reads = 0;
            while applied < start + WRITERS {
                let read = store.revocations_after(applied, NOW).await.unwrap();
                for (i, row) in read.rows.iter().enumerate() {
                    assert_eq!(row.version, applied + 1 + i as i64, "a hole after {applied}: {read:?}");
                }
                let seen = applied + read.rows.len() as i64;
                assert!(read.head <= seen, "head {} read before rows that end at {seen}", read.head);
                applied = seen;
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        })
    };
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..WRITERS {
        let store = Arc::clone(store);
        writers.spawn(async move {
            let target = RevocationTarget::Token { token_id: format!("concurrent-{i}") };
            store.revoke(&revocation(target), &audit("revocation.created")).await.unwrap().0.version
        });
    }
    let mut versions = Vec::new();
    let written = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(version) = writers.join_next().await {
            versions.push(version.unwrap());
        }
    });
    written.await.expect("the writers finish");
    versions.sort_unstable();
    assert_eq!(versions, ((start + 1)..=(start + WRITERS)).collect::<Vec<_>>(), "distinct and consecutive");
    match tokio::time::timeout(Duration::from_secs(60), reader).await.expect("the reader catches up") {
        Ok(reads) => assert!(reads >= 1),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

on_every_backend!(every_kind_reads_back_as_written, key_writes_advance_the_feed, concurrent_revocations_leave_no_gap);
