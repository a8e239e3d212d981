//! What a user, client or key revocation does to the store beyond its feed row, inside the
//! revocation's transaction: the tokens and sessions it covers stop working here, at the issuer,
//! while the feed row tells the gateways. A family's revocation is in `family_revocation.rs`.
//!
//! Users are matched by object id alone: object ids are unique across tenants, and revoking by
//! the id alone can only revoke more, never less.

use sqlx::Transaction;
use tokengate_core::revocations::RevocationEffects;
use tokengate_core::store::StoreResult;
use tokengate_core::UnixTime;

use super::backend::Backend;
use super::statement::query;

/// Revokes the user's refresh-token families, ends their live browser sessions, denies the
/// device codes they approved that were not redeemed yet (the device's next poll hears
/// `access_denied`), and deletes their unredeemed authorization codes.
pub(super) async fn revoke_user<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    user_id: &str,
    now: UnixTime,
) -> StoreResult<RevocationEffects> {
    let refresh_families_revoked = revoke_families_where(tx, "user_id", user_id, now).await?;
    let sessions_ended =
        query("UPDATE browser_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND expires_at > $1")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    let device_codes_denied = query(
        "UPDATE device_codes SET status = 'declined' WHERE user_id = $1 AND status = 'approved' AND expires_at > $2",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let codes_deleted = query("DELETE FROM authorization_codes WHERE user_id = $1 AND redeemed_at IS NULL")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    Ok(RevocationEffects {
        refresh_families_revoked,
        sessions_ended,
        device_codes_denied,
        codes_deleted,
        ..RevocationEffects::default()
    })
}

/// Revokes the client's refresh-token families and, if asked, deletes its client secrets and
/// certificates (the client id is the app id), so it can get no new token either.
pub(super) async fn revoke_client<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    client_id: &str,
    disable_credentials: bool,
    now: UnixTime,
) -> StoreResult<RevocationEffects> {
    let refresh_families_revoked = revoke_families_where(tx, "client_id", client_id, now).await?;
    let mut credentials_deleted = 0;
    if disable_credentials {
        for statement in
            ["DELETE FROM client_secrets WHERE app_id = $1", "DELETE FROM client_certificates WHERE app_id = $1"]
        {
            credentials_deleted += query(statement).bind(client_id).execute(&mut *tx).await?;
        }
    }
    Ok(RevocationEffects { refresh_families_revoked, credentials_deleted, ..RevocationEffects::default() })
}

/// Deletes the signing key if we hold it; a key of another issuer has only its feed row.
pub(super) async fn remove_signing_key<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    kid: &str,
) -> StoreResult<RevocationEffects> {
    let deleted = query("DELETE FROM signing_keys WHERE kid = $1").bind(kid).execute(&mut *tx).await?;
    Ok(RevocationEffects { signing_key_removed: deleted > 0, ..RevocationEffects::default() })
}

/// Revokes every refresh-token family with a token whose `column` (`user_id` or `client_id`,
/// never caller input) is `value`, as `revoke_family` does for one; returns how many families
/// were not revoked before. Their access tokens need no `token_ids`: the user or client row
/// covers every token issued before it.
async fn revoke_families_where<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    column: &'static str,
    value: &str,
    now: UnixTime,
) -> StoreResult<u64> {
    // Rows first (the lock order in `family_revocation.rs`); this write also takes SQLite's
    // write lock at the start of the transaction.
    query(&format!("UPDATE refresh_tokens SET state = 'revoked' WHERE {column} = $1"))
        .bind(value)
        .execute(&mut *tx)
        .await?;
    query(&format!(
        "INSERT INTO revoked_families (family_id, revoked_at) \
         SELECT DISTINCT family_id, $2 FROM refresh_tokens WHERE {column} = $1 ON CONFLICT DO NOTHING"
    ))
    .bind(value)
    .bind(now)
    .execute(&mut *tx)
    .await
}
