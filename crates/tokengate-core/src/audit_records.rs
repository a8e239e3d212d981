//! Reading the audit log as chained records (verify, export, query) and keeping its signed
//! checkpoints: the store side of the tamper evidence in `audit_chain` and `audit_checkpoint`.

use async_trait::async_trait;

use crate::audit::{AuditSource, Outcome};
use crate::audit_chain::{ChainHash, ChainedRecord};
use crate::audit_checkpoint::Checkpoint;
use crate::store::StoreResult;

/// Which records to read. Every filter is optional; `after_seq` pages through the log in seq order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRecordFilter {
    /// Only records with a seq above this one.
    pub after_seq: Option<i64>,
    /// `at_ms` range, inclusive start and exclusive end.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub source: Option<AuditSource>,
    /// The machine-readable reason (`AADSTS7000215`, `expired`, ...).
    pub reason: Option<String>,
    pub tenant_id: Option<String>,
    /// The `uti` of the token issued or presented.
    pub token_id: Option<String>,
    /// `detail.route`: the gateway route that decided a request.
    pub route: Option<String>,
    /// `detail.actor`: who made an admin change, where the record names one.
    pub actor: Option<String>,
    /// The record's id: the gateway's `X-Tokengate-Decision-Id` for a request.
    pub id: Option<String>,
    /// Newest first instead of seq order (queries for recent records).
    pub newest_first: bool,
    pub limit: u32,
}

#[async_trait]
pub trait AuditChainStore: Send + Sync {
    /// Records matching `filter`, in seq order (or newest first), at most `filter.limit`.
    async fn audit_records(&self, filter: &AuditRecordFilter) -> StoreResult<Vec<ChainedRecord>>;
    /// The seq and hash of the newest chained record; `None` before the first.
    async fn audit_chain_head(&self) -> StoreResult<Option<(i64, ChainHash)>>;
    /// Stores a checkpoint; one at a seq already checkpointed (another node) is kept as it was.
    async fn insert_audit_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()>;
    /// Every checkpoint, oldest first. Pruning never deletes them.
    async fn audit_checkpoints(&self) -> StoreResult<Vec<Checkpoint>>;
}
