//! Replay protection: ids (client assertion `jti`s and the like) remembered per namespace until
//! they expire, so a second use is recognised. Of concurrent first uses exactly one is `First`.

use tokengate_core::store::{ReplayStore, StoreResult, UseRecord};

use super::row::SqlRow;
use super::statement::{begin, commit, query};
use super::{forward_to_sql, SqlStore};

forward_to_sql! {
    ReplayStore {
        async fn record_use(
            &self,
            namespace: &str,
            id: &str,
            fingerprint: &[u8],
            expires_at: i64,
            now: i64,
        ) -> StoreResult<UseRecord>;
    }
}

async fn record_use<S: SqlStore>(
    store: &S,
    namespace: &str,
    id: &str,
    fingerprint: &[u8],
    expires_at: i64,
    now: i64,
) -> StoreResult<UseRecord> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    // An expired record of the same id no longer blocks it.
    query("DELETE FROM replay_ids WHERE namespace = $1 AND id = $2 AND expires_at <= $3")
        .bind(namespace)
        .bind(id)
        .bind(now)
        .execute(&mut tx)
        .await?;
    let inserted = query(
        "INSERT INTO replay_ids (namespace, id, fingerprint, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(namespace)
    .bind(id)
    .bind(fingerprint)
    .bind(expires_at)
    .execute(&mut tx)
    .await?;
    let outcome = if inserted == 1 {
        UseRecord::First
    } else {
        let row = query("SELECT fingerprint FROM replay_ids WHERE namespace = $1 AND id = $2")
            .bind(namespace)
            .bind(id)
            .fetch_one(&mut tx)
            .await?;
        let stored: Vec<u8> = row.read("fingerprint")?;
        if stored == fingerprint {
            UseRecord::Repeated
        } else {
            UseRecord::Conflicting
        }
    };
    // Purge a bounded slice of expired records so the table cannot grow forever.
    query(
        "DELETE FROM replay_ids WHERE expires_at < $1 \
         AND id IN (SELECT id FROM replay_ids WHERE expires_at < $1 LIMIT 64)",
    )
    .bind(now)
    .execute(&mut tx)
    .await?;
    commit(tx).await?;
    Ok(outcome)
}
