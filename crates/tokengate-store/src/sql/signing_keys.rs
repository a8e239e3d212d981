//! Signing keys (private keys arrive sealed: the store never holds a usable one) and their
//! rotation: promote, retire, drop and insert in one transaction, or nothing at all. Every write
//! advances the revocation feed (without a row), so that nodes reload their keys from the same
//! signal that carries revocations.

use sqlx::Transaction;
use tokengate_core::audit::AuditEvent;
use tokengate_core::keys::{KeyState, StoredSigningKey};
use tokengate_core::store::{KeyRotation, SigningKeyStore, StoreError, StoreResult};

use super::audit::write_audit;
use super::backend::Backend;
use super::feed::advance_feed;
use super::row::SqlRow;
use super::statement::{begin, commit, query, rollback};
use super::{forward_to_sql, SqlStore};
use crate::error::parse_stored;

forward_to_sql! {
    SigningKeyStore {
        async fn insert_signing_key(&self, key: &StoredSigningKey, audit: &AuditEvent) -> StoreResult<()>;
        async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>>;
        async fn rotate_signing_keys(&self, rotation: &KeyRotation, audit: &AuditEvent) -> StoreResult<()>;
        async fn delete_signing_key(&self, kid: &str, audit: &AuditEvent) -> StoreResult<()>;
    }
}

async fn insert_signing_key<S: SqlStore>(store: &S, key: &StoredSigningKey, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    insert_key(&mut tx, key).await?;
    advance_feed(&mut tx).await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn signing_keys<S: SqlStore>(store: &S) -> StoreResult<Vec<StoredSigningKey>> {
    query(
        "SELECT kid, state, sealed_private_key, cert_der, created_at, retire_after FROM signing_keys \
         ORDER BY created_at, kid",
    )
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(key_from_row)
    .collect()
}

async fn rotate_signing_keys<S: SqlStore>(store: &S, rotation: &KeyRotation, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    for kid in &rotation.retire {
        query("UPDATE signing_keys SET state = $1, retire_after = $2 WHERE kid = $3")
            .bind(KeyState::Retired.as_str())
            .bind(rotation.retire_after)
            .bind(kid)
            .execute(&mut tx)
            .await?;
    }
    if let Some(kid) = &rotation.promote {
        let promoted = query("UPDATE signing_keys SET state = $1 WHERE kid = $2 AND state = $3")
            .bind(KeyState::Active.as_str())
            .bind(kid)
            .bind(KeyState::Next.as_str())
            .execute(&mut tx)
            .await?;
        if promoted != 1 {
            return Err(StoreError::Conflict(format!("key {kid} is not the next key")));
        }
    }
    if let Some(key) = &rotation.new_active {
        insert_key(&mut tx, key).await?;
    }
    for kid in &rotation.drop {
        query("DELETE FROM signing_keys WHERE kid = $1 AND state = $2")
            .bind(kid)
            .bind(KeyState::Retired.as_str())
            .execute(&mut tx)
            .await?;
    }
    if let Some(key) = &rotation.new_next {
        insert_key(&mut tx, key).await?;
    }
    advance_feed(&mut tx).await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn delete_signing_key<S: SqlStore>(store: &S, kid: &str, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    let deleted = query("DELETE FROM signing_keys WHERE kid = $1").bind(kid).execute(&mut tx).await?;
    if deleted == 0 {
        rollback(tx).await?;
        return Err(StoreError::NotFound);
    }
    advance_feed(&mut tx).await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn insert_key<DB: Backend>(tx: &mut Transaction<'_, DB>, key: &StoredSigningKey) -> StoreResult<()> {
    query(
        "INSERT INTO signing_keys (kid, state, sealed_private_key, cert_der, created_at, retire_after) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.kid)
    .bind(key.state.as_str())
    .bind(&key.sealed_private_key)
    .bind(&key.cert_der)
    .bind(key.created_at)
    .bind(key.retire_after)
    .execute(tx)
    .await?;
    Ok(())
}

fn key_from_row(row: &impl SqlRow) -> StoreResult<StoredSigningKey> {
    let kid = row.read("kid")?;
    let state = row.text("state")?;
    Ok(StoredSigningKey {
        kid,
        state: parse_stored("key state", &state, KeyState::parse)?,
        sealed_private_key: row.read("sealed_private_key")?,
        cert_der: row.read("cert_der")?,
        created_at: row.read("created_at")?,
        retire_after: row.read("retire_after")?,
    })
}
