//! The kill switch (`RevocationStore`): a revocation is appended to the feed at the next version,
//! with its effects on the store and its audit record, in one transaction; nodes read the feed
//! from the version they have applied, and hear of advances where the backend can tell them
//! (Postgres `LISTEN`, see `postgres_feed_listener.rs`). How versions are taken: `feed.rs`.

use serde_json::Map;
use tokengate_core::audit::AuditEvent;
use tokengate_core::revocations::{NewRevocation, Revocation, RevocationEffects, RevocationTarget};
use tokengate_core::store::{FeedRead, FeedSubscription, RevocationStore, StoreResult};
use tokengate_core::UnixTime;

use super::audit::{with_detail, write_audit};
use super::family_revocation::revoke_family_in;
use super::feed::{append_revocation, revocation_from_row, REVOCATION_COLUMNS};
use super::revocation_effects::{remove_signing_key, revoke_client, revoke_user};
use super::row::{stored_id, SqlRow};
use super::statement::{begin, commit, query};
use super::{forward_to_sql, SqlStore};

forward_to_sql! {
    RevocationStore {
        async fn revoke(&self, revocation: &NewRevocation, audit: &AuditEvent) -> StoreResult<(Revocation, RevocationEffects)>;
        async fn revocations_after(&self, after: i64, now: UnixTime) -> StoreResult<FeedRead>;
        async fn feed_head(&self) -> StoreResult<i64>;
        async fn forget_revocations(&self, now: UnixTime) -> StoreResult<u64>;
        async fn subscribe_to_feed(&self) -> StoreResult<Option<Box<dyn FeedSubscription>>>;
    }
}

async fn revoke<S: SqlStore>(
    store: &S,
    revocation: &NewRevocation,
    audit: &AuditEvent,
) -> StoreResult<(Revocation, RevocationEffects)> {
    // The effects happen at the revocation's own moment (sessions end then, codes expire by it),
    // on the ids as the store writes them; the row keeps the target as the caller wrote it.
    let now = revocation.created_at_ms.div_euclid(1000);
    let mut stored = revocation.clone();
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    let effects = match &revocation.target {
        RevocationTarget::Token { .. } => RevocationEffects::default(),
        RevocationTarget::User { object_id, .. } => revoke_user(&mut tx, &stored_id(object_id), now).await?,
        RevocationTarget::Client { client_id, disable_credentials } => {
            revoke_client(&mut tx, &stored_id(client_id), *disable_credentials, now).await?
        }
        RevocationTarget::Key { kid } => remove_signing_key(&mut tx, kid).await?,
        RevocationTarget::Family { family_id, token_ids } => {
            let revoked = revoke_family_in(&mut tx, &stored_id(family_id), now).await?;
            // The caller names the tokens it knows of; the store adds those it remembers, and
            // keeps the row until the last of them has expired.
            let mut all = token_ids.clone();
            all.extend(revoked.token_ids.into_iter().filter(|t| !token_ids.contains(t)));
            stored.target = RevocationTarget::Family { family_id: family_id.clone(), token_ids: all };
            if let Some(last_expiry) = revoked.last_expiry {
                stored.forget_after = stored.forget_after.max(last_expiry);
            }
            RevocationEffects { refresh_families_revoked: u64::from(revoked.newly_revoked), ..Default::default() }
        }
    };
    let row = append_revocation(&mut tx, &stored).await?;
    let mut extra = Map::new();
    extra.insert("version".into(), row.version.into());
    extra.insert("effects".into(), serde_json::to_value(&effects).unwrap_or_default());
    write_audit(&mut tx, &with_detail(audit, extra)).await?;
    commit(tx).await?;
    Ok((row, effects))
}

/// The head first, then the rows: every version up to the head committed before the head was
/// read (versions commit in order), so the rows, read after, hold all of them that are not
/// forgettable (see `FeedRead`).
async fn revocations_after<S: SqlStore>(store: &S, after: i64, now: UnixTime) -> StoreResult<FeedRead> {
    let head = feed_head(store).await?;
    let rows = query(&format!(
        "SELECT {REVOCATION_COLUMNS} FROM revocations WHERE version > $1 AND forget_after >= $2 ORDER BY version"
    ))
    .bind(after)
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    let rows = rows.iter().map(revocation_from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(FeedRead { head, rows })
}

async fn feed_head<S: SqlStore>(store: &S) -> StoreResult<i64> {
    query("SELECT version FROM feed_head").fetch_one(store.pool()).await?.read("version")
}

async fn forget_revocations<S: SqlStore>(store: &S, now: UnixTime) -> StoreResult<u64> {
    let _writer = store.writer().await;
    query("DELETE FROM revocations WHERE forget_after < $1").bind(now).execute(store.pool()).await
}

async fn subscribe_to_feed<S: SqlStore>(store: &S) -> StoreResult<Option<Box<dyn FeedSubscription>>> {
    store.feed_notifications().await
}
