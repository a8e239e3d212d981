//! Versions of the gateway policy (`PolicyStore`): immutable rows and the published pointer.
//!
//! A publish takes the feed head first (`advance_feed`): every publisher waits there for the
//! one before to commit, so the `If-Match` check below reads a pointer no one else is changing,
//! and the advance is what wakes every node to read the new pointer. Then the version row, the
//! pointer, and the audit record (the audit head is every transaction's last lock).

use tokengate_core::audit::AuditEvent;
use tokengate_core::policy_versions::{
    NewPolicyVersion, PolicyVersion, PolicyVersionSummary, PublishConflict, PublishPrecondition,
};
use tokengate_core::store::{PolicyStore, StoreResult};

use super::audit::write_audit;
use super::feed::advance_feed;
use super::row::SqlRow;
use super::statement::{begin, commit, query, rollback};
use super::{forward_to_sql, SqlStore};
use crate::error::corrupt;

const SUMMARY_COLUMNS: &str = "version, content_hash, author, message, origin, rollback_of, created_at";

forward_to_sql! {
    PolicyStore {
        async fn publish_policy(&self, new: &NewPolicyVersion, precondition: PublishPrecondition, audit: &AuditEvent) -> StoreResult<Result<PolicyVersionSummary, PublishConflict>>;
        async fn published_policy_version(&self) -> StoreResult<Option<i64>>;
        async fn policy_version(&self, version: i64) -> StoreResult<Option<PolicyVersion>>;
        async fn policy_history(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<PolicyVersionSummary>>;
        async fn latest_policy_of_origin(&self, origin: &str) -> StoreResult<Option<PolicyVersionSummary>>;
    }
}

async fn publish_policy<S: SqlStore>(
    store: &S,
    new: &NewPolicyVersion,
    precondition: PublishPrecondition,
    audit: &AuditEvent,
) -> StoreResult<Result<PolicyVersionSummary, PublishConflict>> {
    let document = serde_json::to_string(&new.document).map_err(|e| corrupt(format_args!("policy document: {e}")))?;
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    advance_feed(&mut tx).await?;
    let published: Option<i64> = query("SELECT version FROM policy_published WHERE id = 1")
        .fetch_optional(&mut tx)
        .await?
        .map(|row| row.read("version"))
        .transpose()?;
    if !precondition.holds(published) {
        rollback(tx).await?;
        return Ok(Err(PublishConflict { published }));
    }
    let row = query("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM policy_versions").fetch_one(&mut tx).await?;
    let version: i64 = row.read("next")?;
    let summary = PolicyVersionSummary {
        version,
        content_hash: tokengate_core::policy_versions::content_hash(&new.document),
        author: new.author.clone(),
        message: new.message.clone(),
        origin: new.origin.clone(),
        rollback_of: new.rollback_of,
        created_at: new.created_at,
    };
    query(&format!(
        "INSERT INTO policy_versions ({SUMMARY_COLUMNS}, document, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(version)
    .bind(&summary.content_hash)
    .bind(&summary.author)
    .bind(&summary.message)
    .bind(&summary.origin)
    .bind(summary.rollback_of)
    .bind(summary.created_at)
    .bind(document)
    .bind(&new.source)
    .execute(&mut tx)
    .await?;
    query(
        "INSERT INTO policy_published (id, version, published_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, published_at = excluded.published_at",
    )
    .bind(version)
    .bind(new.created_at)
    .execute(&mut tx)
    .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await?;
    Ok(Ok(summary))
}

async fn published_policy_version<S: SqlStore>(store: &S) -> StoreResult<Option<i64>> {
    query("SELECT version FROM policy_published WHERE id = 1")
        .fetch_optional(store.pool())
        .await?
        .map(|row| row.read("version"))
        .transpose()
}

async fn policy_version<S: SqlStore>(store: &S, version: i64) -> StoreResult<Option<PolicyVersion>> {
    let Some(row) =
        query(&format!("SELECT {SUMMARY_COLUMNS}, document, source FROM policy_versions WHERE version = $1"))
            .bind(version)
            .fetch_optional(store.pool())
            .await?
    else {
        return Ok(None);
    };
    let document = row.text("document")?;
    Ok(Some(PolicyVersion {
        summary: summary_from_row(&row)?,
        document: serde_json::from_str(&document)
            .map_err(|e| corrupt(format_args!("policy version {version}: {e}")))?,
        source: row.read("source")?,
    }))
}

async fn policy_history<S: SqlStore>(
    store: &S,
    before: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<PolicyVersionSummary>> {
    query(&format!("SELECT {SUMMARY_COLUMNS} FROM policy_versions WHERE version < $1 ORDER BY version DESC LIMIT $2"))
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(summary_from_row)
        .collect()
}

async fn latest_policy_of_origin<S: SqlStore>(store: &S, origin: &str) -> StoreResult<Option<PolicyVersionSummary>> {
    query(&format!("SELECT {SUMMARY_COLUMNS} FROM policy_versions WHERE origin = $1 ORDER BY version DESC LIMIT 1"))
        .bind(origin)
        .fetch_optional(store.pool())
        .await?
        .as_ref()
        .map(summary_from_row)
        .transpose()
}

fn summary_from_row(row: &impl SqlRow) -> StoreResult<PolicyVersionSummary> {
    Ok(PolicyVersionSummary {
        version: row.read("version")?,
        content_hash: row.text("content_hash")?,
        author: row.text("author")?,
        message: row.text("message")?,
        origin: row.text("origin")?,
        rollback_of: row.read("rollback_of")?,
        created_at: row.read("created_at")?,
    })
}
