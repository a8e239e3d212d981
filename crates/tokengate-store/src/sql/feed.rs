//! The revocation feed's write side, shared by every writer that advances it (revocations, family
//! revocations by reuse detection, signing-key changes): taking the next version inside the
//! writer's transaction, waking listeners, appending a revocation row; and how a revocation is
//! stored and read back.
//!
//! Versions come from the single `feed_head` row, incremented inside the writing transaction: the
//! row lock (Postgres) or the write lock (SQLite) holds the next writer until this one commits,
//! so versions become visible in version order. Take it as the transaction's last lock (see
//! `family_revocation.rs` for the order): the head is the one lock every writer shares, held
//! from here to the commit.

use serde_json::{json, Value};
use sqlx::Transaction;
use tokengate_core::revocations::{NewRevocation, Revocation, RevocationTarget};
use tokengate_core::store::StoreResult;

use super::backend::Backend;
use super::row::SqlRow;
use super::statement::query;
use crate::error::corrupt;

/// The Postgres `LISTEN`/`NOTIFY` channel that carries feed advances (the new version as text).
pub(crate) const FEED_CHANNEL: &str = "tokengate_feed";

pub(super) const REVOCATION_COLUMNS: &str =
    "version, kind, subject, tenant_id, detail, issued_before, actor, reason, created_at_ms, forget_after";

/// Takes the next feed version inside `tx` and, where the backend has notifications, tells the
/// listeners about it when `tx` commits.
pub(super) async fn advance_feed<DB: Backend>(tx: &mut Transaction<'_, DB>) -> StoreResult<i64> {
    let row = query("UPDATE feed_head SET version = version + 1 RETURNING version").fetch_one(&mut *tx).await?;
    let version: i64 = row.read("version")?;
    if let Some(notify) = DB::NOTIFY_FEED {
        query(notify).bind(FEED_CHANNEL).bind(version.to_string()).execute(&mut *tx).await?;
    }
    Ok(version)
}

/// Appends `revocation` at the next version inside `tx`; returns the stored row.
pub(super) async fn append_revocation<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    revocation: &NewRevocation,
) -> StoreResult<Revocation> {
    let version = advance_feed(tx).await?;
    let stored = StoredTarget::of(&revocation.target);
    query(&format!("INSERT INTO revocations ({REVOCATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
        .bind(version)
        .bind(stored.kind)
        .bind(stored.subject)
        .bind(stored.tenant_id)
        .bind(stored.detail.to_string())
        .bind(revocation.issued_before)
        .bind(&revocation.actor)
        .bind(&revocation.reason)
        .bind(revocation.created_at_ms)
        .bind(revocation.forget_after)
        .execute(&mut *tx)
        .await?;
    Ok(Revocation { version, revocation: revocation.clone() })
}

pub(super) fn revocation_from_row(row: &impl SqlRow) -> StoreResult<Revocation> {
    let kind = row.text("kind")?;
    let subject = row.text("subject")?;
    let detail = row.text("detail")?;
    let target = StoredTarget::read(&kind, subject, row.read("tenant_id")?, &detail)?;
    Ok(Revocation {
        version: row.read("version")?,
        revocation: NewRevocation {
            target,
            issued_before: row.read("issued_before")?,
            actor: row.read("actor")?,
            reason: row.read("reason")?,
            created_at_ms: row.read("created_at_ms")?,
            forget_after: row.read("forget_after")?,
        },
    })
}

/// A `RevocationTarget` as its columns: the kind and subject every kind has, the user kind's
/// tenant, and the rest as JSON (`detail`).
struct StoredTarget {
    kind: &'static str,
    subject: String,
    tenant_id: Option<String>,
    detail: Value,
}

impl StoredTarget {
    fn of(target: &RevocationTarget) -> Self {
        let (tenant_id, detail) = match target {
            RevocationTarget::Token { .. } | RevocationTarget::Key { .. } => (None, json!({})),
            RevocationTarget::User { tenant_id, .. } => (Some(tenant_id.clone()), json!({})),
            RevocationTarget::Client { disable_credentials, .. } => {
                (None, json!({ "disable_credentials": disable_credentials }))
            }
            RevocationTarget::Family { token_ids, .. } => (None, json!({ "token_ids": token_ids })),
        };
        StoredTarget { kind: target.kind(), subject: target.subject().to_owned(), tenant_id, detail }
    }

    fn read(kind: &str, subject: String, tenant_id: Option<String>, detail: &str) -> StoreResult<RevocationTarget> {
        let bad = |what: &str| corrupt(format_args!("{kind} revocation of {subject:?}: {what}"));
        let detail: Value = serde_json::from_str(detail).map_err(|e| bad(&format!("detail: {e}")))?;
        Ok(match kind {
            "token" => RevocationTarget::Token { token_id: subject },
            "key" => RevocationTarget::Key { kid: subject },
            "user" => {
                let tenant_id = tenant_id.ok_or_else(|| bad("no tenant"))?;
                RevocationTarget::User { tenant_id, object_id: subject }
            }
            "client" => {
                let disable_credentials =
                    detail["disable_credentials"].as_bool().ok_or_else(|| bad("no disable_credentials"))?;
                RevocationTarget::Client { client_id: subject, disable_credentials }
            }
            "family" => {
                let token_ids =
                    serde_json::from_value(detail["token_ids"].clone()).map_err(|e| bad(&format!("token_ids: {e}")))?;
                RevocationTarget::Family { family_id: subject, token_ids }
            }
            other => return Err(corrupt(format_args!("revocation kind {other:?}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::StoredTarget;
    use tokengate_core::revocations::RevocationTarget;

    #[test]
    fn every_kind_reads_back_as_written() {
        for target in [
            RevocationTarget::Token { token_id: "uti".into() },
            RevocationTarget::User { tenant_id: "t".into(), object_id: "o".into() },
            RevocationTarget::Client { client_id: "c".into(), disable_credentials: true },
            RevocationTarget::Key { kid: "k".into() },
            RevocationTarget::Family { family_id: "f".into(), token_ids: vec!["a".into(), "b".into()] },
        ] {
            let stored = StoredTarget::of(&target);
            let back = StoredTarget::read(stored.kind, stored.subject, stored.tenant_id, &stored.detail.to_string());
            assert_eq!(back, Ok(target));
        }
        assert!(StoredTarget::read("policy", "x".into(), None, "{}").is_err(), "an unknown kind is corrupt");
    }
}
