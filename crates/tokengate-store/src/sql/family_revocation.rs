//! Revoking a refresh-token family onto the revocation feed, and remembering the access tokens
//! minted for a family, such that every access token of a revoked family reaches the feed: either
//! in the family's revocation row (`token_ids`) or, when it is recorded after the revocation, in
//! a token revocation of its own. Used inside the callers' transactions (`revoke_family`,
//! reuse detection in rotation, `revoke` of a family, `record_family_access_token`).
//!
//! Why a lock: on Postgres a family's revocation (reads the family's tokens) and a token recorded
//! concurrently (checks whether the family is revoked) could each miss the other's uncommitted
//! write. Both take `Backend::LOCK_FAMILY` first, so one waits for the other's commit and then
//! sees it (each statement of a Postgres transaction reads what was committed before it began).
//!
//! Lock order, in every transaction that takes more than one: `refresh_tokens` rows first, then
//! the family lock, then the feed head (`feed::advance_feed`) last. Writers that take them in
//! the same order wait for each other and never deadlock.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Transaction;
use tokengate_core::revocations::{NewRevocation, Revocation, RevocationTarget};
use tokengate_core::store::StoreResult;
use tokengate_core::UnixTime;

use super::backend::Backend;
use super::feed::append_revocation;
use super::row::SqlRow;
use super::statement::query;

/// Who appends the token revocation of an access token recorded for an already revoked family.
const LATE_TOKEN_ACTOR: &str = "family-revocation";

/// A family revoked inside a transaction.
pub(super) struct RevokedFamily {
    /// `false` if it was revoked already (its tokens went on the feed then).
    pub newly_revoked: bool,
    /// `uti`s of its unexpired access tokens.
    pub token_ids: Vec<String>,
    /// When the last of them expires.
    pub last_expiry: Option<UnixTime>,
}

/// Waits for any other transaction that reads or changes this family's tokens or revocation
/// (see the module comment); a no-op where transactions already run one at a time.
pub(super) async fn lock_family<DB: Backend>(tx: &mut Transaction<'_, DB>, family_id: &str) -> StoreResult<()> {
    if let Some(lock) = DB::LOCK_FAMILY {
        query(lock).bind(family_id).execute(&mut *tx).await?;
    }
    Ok(())
}

pub(super) async fn family_revoked<DB: Backend>(tx: &mut Transaction<'_, DB>, family_id: &str) -> StoreResult<bool> {
    let row = query("SELECT family_id FROM revoked_families WHERE family_id = $1")
        .bind(family_id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(row.is_some())
}

/// Revokes every refresh token of the family and marks it revoked; reads its unexpired access
/// tokens after taking the family lock, so none recorded concurrently is missed.
pub(super) async fn revoke_family_in<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    family_id: &str,
    now: UnixTime,
) -> StoreResult<RevokedFamily> {
    // Rows first (the lock order). This also waits for a rotation holding the family's live
    // token, so the access token it remembered is read below.
    query("UPDATE refresh_tokens SET state = 'revoked' WHERE family_id = $1").bind(family_id).execute(&mut *tx).await?;
    lock_family(tx, family_id).await?;
    let inserted = query("INSERT INTO revoked_families (family_id, revoked_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(family_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let rows =
        query("SELECT uti, expires_at FROM family_access_tokens WHERE family_id = $1 AND expires_at > $2 ORDER BY uti")
            .bind(family_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
    let mut token_ids = Vec::with_capacity(rows.len());
    let mut last_expiry = None;
    for row in &rows {
        token_ids.push(row.text("uti")?);
        let expires_at: i64 = row.read("expires_at")?;
        last_expiry = last_expiry.max(Some(expires_at));
    }
    Ok(RevokedFamily { newly_revoked: inserted == 1, token_ids, last_expiry })
}

/// Revokes a family and, if it was not revoked yet, appends it to the feed with its unexpired
/// access tokens, kept until the last of them expires. Returns the row appended.
pub(super) async fn revoke_family_onto_feed<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    family_id: &str,
    now: UnixTime,
    actor: &str,
    reason: Option<String>,
) -> StoreResult<Option<Revocation>> {
    let revoked = revoke_family_in(tx, family_id, now).await?;
    if !revoked.newly_revoked {
        return Ok(None);
    }
    let target = RevocationTarget::Family { family_id: family_id.to_owned(), token_ids: revoked.token_ids };
    let mut revocation = NewRevocation::at(target, actor, reason, now.saturating_mul(1000));
    revocation.forget_after = revoked.last_expiry.unwrap_or(now);
    append_revocation(tx, &revocation).await.map(Some)
}

/// Remembers an access token minted for a family. If the family is revoked by then, the token
/// is appended to the feed as revoked in the same transaction: it was minted concurrently with
/// the revocation, and the family's row, written before it was remembered, does not name it.
/// A token remembered before (the same `uti` again) changes nothing: the family's revocation
/// read it, or its own row was appended then.
pub(super) async fn remember_access_token<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    family_id: &str,
    uti: &str,
    expires_at: UnixTime,
) -> StoreResult<Option<Revocation>> {
    lock_family(tx, family_id).await?;
    let inserted = query(
        "INSERT INTO family_access_tokens (family_id, uti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING \
         RETURNING (SELECT COUNT(*) FROM revoked_families WHERE family_id = $1) AS family_revoked",
    )
    .bind(family_id)
    .bind(uti)
    .bind(expires_at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = inserted else { return Ok(None) };
    if row.read::<i64>("family_revoked")? == 0 {
        return Ok(None);
    }
    let reason = Some(format!("minted for family {family_id} after it was revoked"));
    let mut revocation = NewRevocation::at(
        RevocationTarget::Token { token_id: uti.to_owned() },
        LATE_TOKEN_ACTOR,
        reason,
        wall_clock_ms(),
    );
    revocation.forget_after = expires_at;
    append_revocation(tx, &revocation).await.map(Some)
}

/// The moment a late token revocation is written: `record_family_access_token` is not given the
/// caller's clock, and the row's time is for people (a token revocation covers its token
/// whatever `issued_before` says).
fn wall_clock_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}
