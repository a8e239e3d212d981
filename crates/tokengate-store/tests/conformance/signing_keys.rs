//! Signing keys and their rotation.

use std::sync::Arc;

use tokengate_core::keys::{KeyState, StoredSigningKey};
use tokengate_core::store::{KeyRotation, Store, StoreError};
use uuid::Uuid;

use crate::fixtures::audit;

fn key(kid: &str, state: KeyState, created_at: i64) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.into(),
        state,
        sealed_private_key: vec![1, 2, 3],
        cert_der: vec![4, 5],
        created_at,
        retire_after: None,
    }
}

async fn signing_key_rotation(store: &Arc<dyn Store>) {
    let prefix = Uuid::new_v4().simple().to_string();
    let k = |s: &str| format!("{prefix}-{s}");
    store.insert_signing_key(&key(&k("a"), KeyState::Active, 1), &audit("key.created")).await.unwrap();
    store.insert_signing_key(&key(&k("n"), KeyState::Next, 2), &audit("key.created")).await.unwrap();
    let mut old = key(&k("old"), KeyState::Retired, 0);
    old.retire_after = Some(10);
    store.insert_signing_key(&old, &audit("key.created")).await.unwrap();
    let rotation = KeyRotation {
        promote: Some(k("n")),
        new_active: None,
        retire: vec![k("a")],
        retire_after: 500,
        drop: vec![k("old")],
        new_next: Some(key(&k("n2"), KeyState::Next, 3)),
    };
    store.rotate_signing_keys(&rotation, &audit("key.rotated")).await.unwrap();
    let mine: Vec<StoredSigningKey> =
        store.signing_keys().await.unwrap().into_iter().filter(|x| x.kid.starts_with(&prefix)).collect();
    let state = |kid: &str| mine.iter().find(|x| x.kid == kid).map(|x| (x.state, x.retire_after));
    assert_eq!(state(&k("a")), Some((KeyState::Retired, Some(500))));
    assert_eq!(state(&k("n")), Some((KeyState::Active, None)));
    assert_eq!(state(&k("n2")), Some((KeyState::Next, None)));
    assert_eq!(state(&k("old")), None);
    assert_eq!(mine.iter().find(|x| x.kid == k("n")).unwrap().sealed_private_key, vec![1, 2, 3]);

    // A rotation that cannot apply (promoting a key that is not `next`) changes nothing.
    let bad = KeyRotation {
        promote: Some(k("a")),
        new_active: None,
        retire: vec![k("n")],
        retire_after: 9,
        drop: vec![],
        new_next: None,
    };
    assert!(matches!(store.rotate_signing_keys(&bad, &audit("key.rotated")).await, Err(StoreError::Conflict(_))));
    let again: Vec<StoredSigningKey> =
        store.signing_keys().await.unwrap().into_iter().filter(|x| x.kid.starts_with(&prefix)).collect();
    assert_eq!(again, mine, "failed rotation rolled back entirely");

    assert_eq!(store.delete_signing_key("no-such-kid", &audit("x")).await, Err(StoreError::NotFound));
    store.delete_signing_key(&k("n2"), &audit("key.removed")).await.unwrap();
}

on_every_backend!(signing_key_rotation);
