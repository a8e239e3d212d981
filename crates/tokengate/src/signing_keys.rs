//! Signing keys between the store and the in-memory key ring: first-start bootstrap (an active
//! key plus a published next key), unsealing, rotation, emergency removal, and the watcher that
//! makes a rotation or removal done elsewhere (CLI, another node) take effect within a second:
//! every key write advances the revocation feed, which wakes the watcher on every node.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokengate_core::audit::AuditEvent;
use tokengate_core::keys::rotation::{expired_retired, plan_rotation};
use tokengate_core::keys::signing_key::public_jwk;
use tokengate_core::keys::{
    KeyEncryptionKey, KeyRing, KeyState, PublicKeyRing, PublishedKeys, SigningKey, StoredSigningKey,
};
use tokengate_core::revocations::{NewRevocation, Revocation, RevocationTarget};
use tokengate_core::store::{KeyRotation, Store, StoreError};
use tokengate_proto::JwkSet;
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum KeyServiceError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("key {kid}: {reason}")]
    Key { kid: String, reason: String },
    #[error("no active signing key")]
    NoActiveKey,
    #[error(
        "the key-encryption key does not open the signing keys in the store ({kids}): they were sealed with \
         another key-encryption key. Nothing was changed. Use the key this store was created with (dev: \
         DATA_DIR/master.key; serve: keys.encryption_key_file or TOKENGATE_KEY_ENCRYPTION_KEY); if it is \
         lost, `tokengate keys reset --confirm` replaces every signing key (all issued tokens stop validating)"
    )]
    WrongKeyEncryptionKey { kids: String },
}

/// Every key write first proves that `kek` opens the keys already stored: sealing a new key with
/// a wrong key-encryption key would leave a store that no longer starts.
pub fn prove_key_encryption_key(keys: &[StoredSigningKey], kek: &KeyEncryptionKey) -> Result<(), KeyServiceError> {
    let unopened: Vec<&str> =
        keys.iter().filter(|k| kek.open(&k.kid, &k.sealed_private_key).is_err()).map(|k| k.kid.as_str()).collect();
    if unopened.is_empty() {
        Ok(())
    } else {
        Err(KeyServiceError::WrongKeyEncryptionKey { kids: unopened.join(", ") })
    }
}

fn new_stored_key(kek: &KeyEncryptionKey, state: KeyState, now: i64) -> Result<StoredSigningKey, KeyServiceError> {
    let (key, pkcs8) =
        SigningKey::generate(now).map_err(|e| KeyServiceError::Key { kid: "new".into(), reason: e.to_string() })?;
    let sealed =
        kek.seal(&key.kid, &pkcs8).map_err(|e| KeyServiceError::Key { kid: key.kid.clone(), reason: e.to_string() })?;
    Ok(StoredSigningKey {
        kid: key.kid.clone(),
        state,
        sealed_private_key: sealed,
        cert_der: key.cert_der.clone(),
        created_at: now,
        retire_after: None,
    })
}

/// On first start: an active key and a next key, so the next rotation is already published.
pub async fn ensure_keys(store: &dyn Store, kek: &KeyEncryptionKey, now: i64) -> Result<(), KeyServiceError> {
    let keys = store.signing_keys().await?;
    prove_key_encryption_key(&keys, kek)?;
    if keys.iter().any(|k| k.state == KeyState::Active) {
        return Ok(());
    }
    let has_next = keys.iter().any(|k| k.state == KeyState::Next);
    let rotation = KeyRotation {
        promote: keys.iter().find(|k| k.state == KeyState::Next).map(|k| k.kid.clone()),
        new_active: if has_next { None } else { Some(new_stored_key(kek, KeyState::Active, now)?) },
        retire: vec![],
        retire_after: now,
        drop: vec![],
        new_next: Some(new_stored_key(kek, KeyState::Next, now)?),
    };
    let audit = AuditEvent::admin(
        "key.bootstrapped",
        None,
        json!({"new_next": rotation.new_next.as_ref().map(|k| &k.kid)}),
        now,
    );
    store.rotate_signing_keys(&rotation, &audit).await?;
    Ok(())
}

/// Unseals every published key. The newest `Active` key signs.
pub async fn load_keys(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    now: i64,
) -> Result<(Arc<SigningKey>, Vec<Arc<SigningKey>>), KeyServiceError> {
    let stored = store.signing_keys().await?;
    let mut published = Vec::new();
    let mut active: Option<(i64, Arc<SigningKey>)> = None;
    for k in stored {
        if k.state == KeyState::Retired && k.retire_after.is_some_and(|t| t <= now) {
            continue;
        }
        let pkcs8 = kek
            .open(&k.kid, &k.sealed_private_key)
            .map_err(|e| KeyServiceError::Key { kid: k.kid.clone(), reason: e.to_string() })?;
        let key = Arc::new(
            SigningKey::from_parts(&pkcs8, &k.cert_der)
                .map_err(|e| KeyServiceError::Key { kid: k.kid.clone(), reason: e.to_string() })?,
        );
        if k.state == KeyState::Active && active.as_ref().is_none_or(|(t, _)| k.created_at >= *t) {
            active = Some((k.created_at, key.clone()));
        }
        published.push(key);
    }
    let (_, active) = active.ok_or(KeyServiceError::NoActiveKey)?;
    Ok((active, published))
}

pub async fn load_key_ring(store: &dyn Store, kek: &KeyEncryptionKey, now: i64) -> Result<KeyRing, KeyServiceError> {
    let (active, published) = load_keys(store, kek, now).await?;
    Ok(KeyRing::new(active, published))
}

/// Rotates: next → active, active → retired (published for `max_token_age`), new next.
/// Returns the new active kid.
pub async fn rotate(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    max_token_age: i64,
    now: i64,
) -> Result<String, KeyServiceError> {
    rotate_by(store, kek, tokengate_core::directory_admin::CLI_ACTOR, max_token_age, now).await
}

/// `rotate`, audited with `actor` (the admin API's caller).
pub async fn rotate_by(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    actor: &str,
    max_token_age: i64,
    now: i64,
) -> Result<String, KeyServiceError> {
    let keys = store.signing_keys().await?;
    prove_key_encryption_key(&keys, kek)?;
    let plan = plan_rotation(&keys, now, max_token_age);
    let new_active = match plan.promote {
        Some(_) => None,
        None => Some(new_stored_key(kek, KeyState::Active, now)?),
    };
    let active_kid = plan.promote.clone().or_else(|| new_active.as_ref().map(|k| k.kid.clone())).unwrap_or_default();
    let rotation = KeyRotation {
        promote: plan.promote,
        new_active,
        retire: plan.retire,
        retire_after: plan.retire_after,
        drop: plan.drop,
        new_next: Some(new_stored_key(kek, KeyState::Next, now)?),
    };
    let audit = AuditEvent::admin_by(
        "key.rotated",
        None,
        json!({"active": active_kid, "retired": rotation.retire, "retire_after": rotation.retire_after, "dropped": rotation.drop}),
        actor,
        now,
    );
    store.rotate_signing_keys(&rotation, &audit).await?;
    Ok(active_kid)
}

/// Emergency removal: the key leaves the JWKS at once, so nothing it signed validates any more.
/// Removing the active key promotes the next one immediately.
pub async fn remove(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    kid: &str,
    reason: Option<String>,
    max_token_age: i64,
    now: i64,
) -> Result<Revocation, KeyServiceError> {
    let keys = store.signing_keys().await?;
    prove_key_encryption_key(&keys, kek)?;
    if !keys.iter().any(|k| k.kid == kid) {
        return Err(KeyServiceError::Key { kid: kid.into(), reason: "no such key (see `tokengate keys list`)".into() });
    }
    let was_active = keys.iter().any(|k| k.kid == kid && k.state == KeyState::Active);
    if was_active {
        // Promote the next key first: the store never holds no active key, so a node that
        // follows between the two writes still has a ring to load, and the revocation row
        // (whose version `--wait` waits for) comes after the promotion.
        rotate(store, kek, max_token_age, now).await?;
    }
    let audit = AuditEvent::admin("key.removed", None, json!({"kid": kid, "was_active": was_active}), now);
    // A key revocation on the feed: the key is deleted with the row, and every gateway denies
    // what it signed, also tokens it verified before and cached.
    let revocation = NewRevocation::at(RevocationTarget::Key { kid: kid.into() }, "cli", reason, now * 1000);
    let (row, _) = store.revoke(&revocation, &audit).await?;
    Ok(row)
}

/// Recovery when the key-encryption key is lost: every stored signing key is dropped and a new
/// active and next key are sealed with `kek`, in one store write. Every token signed before stops
/// validating — the price of losing the key that sealed the old keys.
pub async fn reset(store: &dyn Store, kek: &KeyEncryptionKey, now: i64) -> Result<String, KeyServiceError> {
    let keys = store.signing_keys().await?;
    let new_active = new_stored_key(kek, KeyState::Active, now)?;
    let active_kid = new_active.kid.clone();
    let dropped: Vec<String> = keys.iter().map(|k| k.kid.clone()).collect();
    let rotation = KeyRotation {
        promote: None,
        new_active: Some(new_active),
        // The store drops only retired keys: retire everything first, in the same write.
        retire: dropped.clone(),
        retire_after: now,
        drop: dropped.clone(),
        new_next: Some(new_stored_key(kek, KeyState::Next, now)?),
    };
    let audit = AuditEvent::admin("key.reset", None, json!({"active": active_kid, "dropped": dropped}), now);
    store.rotate_signing_keys(&rotation, &audit).await?;
    Ok(active_kid)
}

/// Backstop for key changes: the feed follows every signing-key write at once (the store
/// advances the feed with each), so this poll only heals a missed one.
pub const KEY_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// What the ring would publish right now: (kid, state) of every key not past its window, sorted.
/// Cheap to compute from the stored rows; keys are unsealed only when it changes.
fn published_set(keys: &[StoredSigningKey], now: i64) -> Vec<(String, KeyState)> {
    let mut set: Vec<(String, KeyState)> = keys
        .iter()
        .filter(|k| !(k.state == KeyState::Retired && k.retire_after.is_some_and(|t| t <= now)))
        .map(|k| (k.kid.clone(), k.state))
        .collect();
    set.sort_by(|a, b| a.0.cmp(&b.0));
    set
}

/// The ring a reloader keeps current.
pub enum ReloadedKeys {
    /// The issuer's own ring: private keys unsealed with the key-encryption key. Its reloader
    /// also deletes retired keys past their window.
    Private { kek: Arc<KeyEncryptionKey>, ring: Arc<KeyRing> },
    /// A gateway-only node's public keys, from the stored certificates (no key-encryption key).
    Public { ring: Arc<PublicKeyRing> },
}

impl ReloadedKeys {
    /// Reloads from the store; the ring's new generation if it changed.
    async fn reload(&self, store: &dyn Store, now: i64) -> Result<Option<u64>, KeyServiceError> {
        match self {
            ReloadedKeys::Private { kek, ring } => {
                let (active, published) = load_keys(store, kek, now).await?;
                Ok(ring.replace(active, published).then(|| ring.current().generation))
            }
            ReloadedKeys::Public { ring } => {
                let jwks = load_public_keys(store, now).await?;
                Ok(ring.replace(jwks).then(|| ring.generation()))
            }
        }
    }
}

/// The public JWKS of every published key, from the stored certificates.
pub async fn load_public_keys(store: &dyn Store, now: i64) -> Result<JwkSet, KeyServiceError> {
    let mut keys = Vec::new();
    for k in store.signing_keys().await? {
        if k.state == KeyState::Retired && k.retire_after.is_some_and(|t| t <= now) {
            continue;
        }
        keys.push(
            public_jwk(&k.cert_der).map_err(|e| KeyServiceError::Key { kid: k.kid.clone(), reason: e.to_string() })?,
        );
    }
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    Ok(JwkSet { keys })
}

/// Keeps a ring in step with the store's signing keys. The revocation feed calls `sync` after
/// every advance, before the node reports the version applied (every key write advances the
/// feed): so once `revoke key --wait` returns, no node publishes or signs with that key. A
/// backstop task calls it too (`spawn_reloader`).
pub struct KeyFollower {
    store: Arc<dyn Store>,
    keys: ReloadedKeys,
    /// The published set last loaded into the ring; the lock keeps two syncs from interleaving.
    applied: tokio::sync::Mutex<Option<Vec<(String, KeyState)>>>,
    /// Ring generations, announced after each change (gateways drop what a removed key verified).
    changed: watch::Sender<u64>,
}

impl KeyFollower {
    pub fn new(store: Arc<dyn Store>, keys: ReloadedKeys) -> Arc<KeyFollower> {
        Arc::new(KeyFollower { store, keys, applied: tokio::sync::Mutex::new(None), changed: watch::channel(0).0 })
    }

    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Compares the store's published set with the ring's and reloads the ring when it changed.
    /// Returns the stored keys read. On an error the ring keeps its keys: a store hiccup must not
    /// unpublish anything.
    pub async fn sync(&self) -> Result<Vec<StoredSigningKey>, KeyServiceError> {
        let mut applied = self.applied.lock().await;
        let now = crate::state::now();
        let stored = self.store.signing_keys().await?;
        let set = published_set(&stored, now);
        if applied.as_ref() != Some(&set) {
            if let Some(generation) = self.keys.reload(self.store.as_ref(), now).await? {
                tracing::info!(generation, "signing keys reloaded");
                self.changed.send_replace(generation);
            }
            *applied = Some(set);
        }
        Ok(stored)
    }
}

/// The backstop: every `KEY_POLL_INTERVAL` until shutdown, `follower.sync()`; the issuer's ring
/// also deletes retired keys past their window every `sweep_period`.
pub fn spawn_reloader(
    follower: Arc<KeyFollower>,
    sweep_period: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_sweep = tokio::time::Instant::now();
        let mut failing = false;
        loop {
            if !crate::periodic::sleep_or_stop(KEY_POLL_INTERVAL, &mut shutdown).await {
                return;
            }
            let stored = match follower.sync().await {
                Ok(stored) => {
                    failing = false;
                    stored
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "following signing keys failed; keeping current keys");
                    }
                    failing = true;
                    continue;
                }
            };
            if matches!(follower.keys, ReloadedKeys::Private { .. }) && last_sweep.elapsed() >= sweep_period {
                last_sweep = tokio::time::Instant::now();
                drop_expired(follower.store.as_ref(), &stored, crate::state::now()).await;
            }
        }
    })
}

/// Deletes retired keys past their publication window.
async fn drop_expired(store: &dyn Store, keys: &[StoredSigningKey], now: i64) {
    let expired = expired_retired(keys, now);
    if expired.is_empty() {
        return;
    }
    let rotation = KeyRotation {
        promote: None,
        new_active: None,
        retire: vec![],
        retire_after: now,
        drop: expired.clone(),
        new_next: None,
    };
    let audit = AuditEvent::admin("key.expired_removed", None, json!({"kids": expired}), now);
    if let Err(e) = store.rotate_signing_keys(&rotation, &audit).await {
        tracing::warn!(error = %e, "could not drop expired keys");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(kid: &str, state: KeyState, retire_after: Option<i64>) -> StoredSigningKey {
        StoredSigningKey {
            kid: kid.into(),
            state,
            sealed_private_key: vec![],
            cert_der: vec![],
            created_at: 0,
            retire_after,
        }
    }

    /// `revoke key --wait` waits for the revocation row's version: it must be the last write of
    /// the removal, and no write may leave the store without an active key (a node following
    /// in between could not load its ring and would keep publishing the removed key).
    #[tokio::test]
    async fn removing_the_active_key_promotes_the_next_before_the_revocation_row() {
        let d = crate::test_support::directory().await;
        let store = d.store.as_ref();
        let keys = store.signing_keys().await.unwrap();
        let active = keys.iter().find(|k| k.state == KeyState::Active).unwrap().kid.clone();
        let next = keys.iter().find(|k| k.state == KeyState::Next).unwrap().kid.clone();
        let before = store.feed_head().await.unwrap();

        let row = remove(store, &d.kek, &active, None, 3600, crate::state::now()).await.unwrap();

        assert_eq!(row.version, store.feed_head().await.unwrap(), "the revocation row is the last write");
        assert!(row.version > before + 1, "the promotion was written before it");
        let after = store.signing_keys().await.unwrap();
        assert!(!after.iter().any(|k| k.kid == active), "the removed key is gone");
        assert!(after.iter().any(|k| k.kid == next && k.state == KeyState::Active), "the next key signs");
        assert!(after.iter().any(|k| k.state == KeyState::Next), "a new next key is published");
        load_keys(store, &d.kek, crate::state::now()).await.expect("the ring loads");
    }

    #[test]
    fn the_published_set_changes_with_removal_rotation_and_expiry() {
        let keys = vec![stored("b", KeyState::Active, None), stored("a", KeyState::Next, None)];
        let set = published_set(&keys, 100);
        assert_eq!(set, vec![("a".into(), KeyState::Next), ("b".into(), KeyState::Active)], "sorted by kid");
        assert_ne!(published_set(&keys[..1], 100), set, "a removal changes it");
        let rotated = vec![stored("b", KeyState::Retired, Some(200)), stored("a", KeyState::Active, None)];
        assert_ne!(published_set(&rotated, 100), set, "a rotation changes it");
        assert_eq!(published_set(&rotated, 200), vec![("a".into(), KeyState::Active)], "expired keys leave it");
    }
}
