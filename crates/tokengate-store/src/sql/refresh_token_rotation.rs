//! Refresh token rotation: presenting a refresh token makes its successor the family's live token
//! in one transaction, or, on reuse, revokes the whole family in that same transaction and
//! appends it to the revocation feed (see `family_revocation.rs`). The decision (grace window,
//! Entra-compatible reuse) follows `ReusePolicy`; this file must never leave a family with two
//! live tokens.

use sqlx::Transaction;
use tokengate_core::audit::{AuditEvent, Outcome};
use tokengate_core::grants::token_families::{
    MintedAccessToken, RefreshState, RefreshToken, ReusePolicy, RotationOutcome,
};
use tokengate_core::store::StoreResult;

use super::audit::{with_detail, write_audit};
use super::backend::Backend;
use super::family_revocation::{family_revoked, lock_family, revoke_family_onto_feed};
use super::refresh_tokens::{insert_refresh, refresh_from_row, REFRESH_COLUMNS};
use super::rotation_group_commit::{rotate_in_group, Rotation};
use super::row::SqlRow;
use super::statement::{begin, commit, query, rollback};
use super::SqlStore;

/// Who revokes a family on reuse, and why, on the revocation feed and in the audit record.
const REUSE_ACTOR: &str = "reuse-detection";
const REUSE_DETECTED: &str = "refresh_token.reuse_detected";

pub(super) async fn rotate_refresh_token<S: SqlStore>(
    store: &S,
    presented_hash: &[u8],
    successor: &RefreshToken,
    minted: &MintedAccessToken,
    policy: ReusePolicy,
    now: i64,
    audit: &AuditEvent,
) -> StoreResult<RotationOutcome> {
    if let (Some(queue), Some(gate)) = (store.rotation_queue(), store.write_gate()) {
        let rotation = Rotation {
            presented_hash: presented_hash.to_vec(),
            successor: successor.clone(),
            minted: minted.clone(),
            policy,
            now,
            audit: audit.clone(),
        };
        return rotate_in_group(store.write_pool(), gate, queue, rotation).await;
    }
    let _writer = store.writer().await;
    rotate_in(begin(store).await?, presented_hash, successor, minted, policy, now, audit).await
}

/// One rotation inside `tx`, which it commits or rolls back: a transaction of its own, or a
/// savepoint of a group commit's transaction (`rotation_group_commit.rs`).
pub(super) async fn rotate_in<DB: Backend>(
    mut tx: Transaction<'_, DB>,
    presented_hash: &[u8],
    successor: &RefreshToken,
    minted: &MintedAccessToken,
    policy: ReusePolicy,
    now: i64,
    audit: &AuditEvent,
) -> StoreResult<RotationOutcome> {
    // Write first (SQLite takes its lock here): the live token of a family that is not revoked
    // becomes rotated, and the row comes back with it — the common case costs one statement.
    // Anything else is read and judged below.
    let claimed_row = query(&format!(
        "UPDATE refresh_tokens SET state = 'rotated', rotated_at = $1 \
         WHERE token_hash = $2 AND state = 'active' AND expires_at > $1 \
         AND family_id NOT IN (SELECT family_id FROM revoked_families) RETURNING {REFRESH_COLUMNS}"
    ))
    .bind(now)
    .bind(presented_hash)
    .fetch_optional(&mut tx)
    .await?;
    let claimed = claimed_row.is_some();
    let row = match claimed_row {
        Some(row) => Some(row),
        None => {
            query(&format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1"))
                .bind(presented_hash)
                .fetch_optional(&mut tx)
                .await?
        }
    };
    let Some(row) = row else {
        rollback(tx).await?;
        return Ok(RotationOutcome::Invalid);
    };
    let presented = refresh_from_row(&row)?;
    if presented.client_id != successor.client_id || presented.tenant_id != successor.tenant_id {
        rollback(tx).await?;
        return Ok(RotationOutcome::Invalid);
    }
    let family_id = presented.family_id.to_string();
    if !claimed {
        let revoked = family_revoked(&mut tx, &family_id).await?;
        if revoked || presented.state == RefreshState::Revoked || presented.expires_at <= now {
            rollback(tx).await?;
            return Ok(RotationOutcome::Invalid);
        }
    }
    let accept = if claimed {
        true
    } else if presented.state == RefreshState::Withdrawn {
        // Its parent was presented again after it was issued: two parties hold the family.
        // Reuse, whatever the policy.
        false
    } else {
        // Presented token was rotated before.
        match policy {
            ReusePolicy::EntraCompatible => true,
            ReusePolicy::RotateAndDetect { grace_seconds } => {
                let within_grace = presented.rotated_at.is_some_and(|t| now - t < grace_seconds);
                // Only the immediately previous token, whose successor was never used.
                let unused_successor =
                    query("SELECT token_hash FROM refresh_tokens WHERE parent_hash = $1 AND state = 'active'")
                        .bind(presented_hash)
                        .fetch_optional(&mut tx)
                        .await?;
                match (within_grace, unused_successor) {
                    (true, Some(row)) => {
                        // The client most likely lost the response: the unclaimed successor is
                        // withdrawn, a new one issued. If it was not lost but stolen (or this is
                        // the thief), presenting the withdrawn successor later revokes the family.
                        let hash: Vec<u8> = row.read("token_hash")?;
                        query("UPDATE refresh_tokens SET state = 'withdrawn' WHERE token_hash = $1")
                            .bind(hash)
                            .execute(&mut tx)
                            .await?;
                        true
                    }
                    _ => false,
                }
            }
        }
    };
    if !accept {
        // Reuse: the whole family goes, in this same transaction, onto the revocation feed with
        // the access tokens minted for it.
        let reason = Some(REUSE_DETECTED.to_owned());
        let appended = revoke_family_onto_feed(&mut tx, &family_id, now, REUSE_ACTOR, reason).await?;
        let mut extra = serde_json::Map::new();
        if let Some(row) = &appended {
            extra.insert("version".into(), row.version.into());
        }
        let mut reuse_audit = with_detail(audit, extra);
        reuse_audit.action = REUSE_DETECTED.into();
        reuse_audit.outcome = Outcome::Denied;
        write_audit(&mut tx, &reuse_audit).await?;
        commit(tx).await?;
        return Ok(RotationOutcome::ReuseDetected { family_id: presented.family_id });
    }
    if !claimed {
        // Accepted without the presented token's row lock (a rotated token presented again, or
        // a grace retry): a revocation of the family may be committing meanwhile and would not
        // see the access token remembered below. Wait for it, then look again.
        lock_family(&mut tx, &family_id).await?;
        if family_revoked(&mut tx, &family_id).await? {
            rollback(tx).await?;
            return Ok(RotationOutcome::Invalid);
        }
    }
    let mut next = successor.clone();
    next.family_id = presented.family_id;
    next.user_id = presented.user_id;
    next.scopes = presented.scopes.clone();
    next.session_id = presented.session_id;
    next.client_binding = presented.client_binding.or(successor.client_binding);
    next.parent_hash = Some(presented_hash.to_vec());
    next.state = RefreshState::Active;
    insert_refresh(&mut tx, &next).await?;
    // A revocation of the family committing meanwhile reads this token once this commits: if
    // claimed, the presented token's row lock holds it (it updates the family's rows before it
    // reads their access tokens); if not, the family lock above does.
    query("INSERT INTO family_access_tokens (family_id, uti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(&family_id)
        .bind(&minted.uti)
        .bind(minted.expires_at)
        .execute(&mut tx)
        .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await?;
    Ok(RotationOutcome::Rotated { presented: Box::new(presented) })
}
