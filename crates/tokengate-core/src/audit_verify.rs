//! Verifying the audit log: recompute the chain record by record in seq order and check every
//! signed checkpoint against it. Stops at the first record that does not verify and names it
//! (seq, id, action), so an operator knows where to look.
//!
//! What each check catches: an altered field changes that record's hash; a deleted record leaves
//! a seq gap and a `prev_hash` that no longer matches the record before it; a reordered pair
//! fails the hash (the seq is hashed); deleting the newest records is caught by a checkpoint
//! whose seq no longer exists. Records pruned by retention go from the start only, and each
//! pruning is itself an audit record: the first remaining record is anchored by its stored
//! `prev_hash`.

use std::collections::BTreeMap;

use crate::audit_chain::{link, ChainHash, ChainedRecord};
use crate::audit_checkpoint::{Checkpoint, CheckpointKey};

/// Why the log does not verify, in words that name the first bad record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyFailure {
    #[error("audit record seq {seq} (id {id}, action {action}) does not verify: {why}")]
    Record { seq: i64, id: String, action: String, why: String },
    #[error("audit checkpoint at seq {seq} does not verify: {why}")]
    Checkpoint { seq: i64, why: String },
    #[error("audit records after seq {last} were deleted: a signed checkpoint names seq {checkpoint}")]
    Truncated { last: i64, checkpoint: i64 },
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Chained records verified, and the seq range they span.
    pub records: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// Records from before the chain existed (migration 0010), at the start of the log.
    pub unchained: u64,
    /// Checkpoints whose signature verified; of them, how many matched a record still present.
    pub checkpoints: u64,
    pub checkpoints_matched: u64,
}

/// Checks records fed in seq order (`push`) against the checkpoints given up front.
pub struct ChainVerifier {
    checkpoints: BTreeMap<i64, Checkpoint>,
    newest_checkpoint: Option<i64>,
    previous: Option<(i64, ChainHash)>,
    report: VerifyReport,
}

impl ChainVerifier {
    /// Fails on the first checkpoint whose signature does not verify under `key`.
    pub fn new(checkpoints: Vec<Checkpoint>, key: &CheckpointKey) -> Result<Self, VerifyFailure> {
        let mut by_seq = BTreeMap::new();
        for checkpoint in checkpoints {
            if !key.verifies(&checkpoint) {
                return Err(VerifyFailure::Checkpoint {
                    seq: checkpoint.seq,
                    why: "its signature does not match (altered, or signed with another key-encryption key)".into(),
                });
            }
            by_seq.insert(checkpoint.seq, checkpoint);
        }
        let report = VerifyReport {
            records: 0,
            first_seq: None,
            last_seq: None,
            unchained: 0,
            checkpoints: by_seq.len() as u64,
            checkpoints_matched: 0,
        };
        Ok(ChainVerifier {
            newest_checkpoint: by_seq.keys().next_back().copied(),
            checkpoints: by_seq,
            previous: None,
            report,
        })
    }

    /// Checks the next record in seq order.
    pub fn push(&mut self, record: &ChainedRecord) -> Result<(), VerifyFailure> {
        let fail = |why: String| VerifyFailure::Record {
            seq: record.seq,
            id: record.event.id.to_string(),
            action: record.event.action.clone(),
            why,
        };
        let (Some(prev_hash), Some(chain_hash)) = (record.prev_hash, record.chain_hash) else {
            if self.previous.is_none() {
                // Written before the chain existed: nothing to check, and nothing may follow
                // a chained record without hashes.
                self.report.unchained += 1;
                return Ok(());
            }
            return Err(fail("it has no chain hash, but records before it do".into()));
        };
        if let Some((previous_seq, previous_hash)) = self.previous {
            if record.seq != previous_seq + 1 {
                return Err(fail(format!(
                    "it follows seq {previous_seq}: records {} to {} are missing",
                    previous_seq + 1,
                    record.seq - 1
                )));
            }
            if prev_hash != previous_hash {
                return Err(fail(format!("its previous hash does not match record seq {previous_seq}")));
            }
        }
        if link(&prev_hash, record.seq, &record.event) != chain_hash {
            return Err(fail("its content does not match its chain hash (altered)".into()));
        }
        if let Some(checkpoint) = self.checkpoints.get(&record.seq) {
            if checkpoint.chain_hash != chain_hash {
                return Err(fail("its chain hash differs from the signed checkpoint at this seq".into()));
            }
            self.report.checkpoints_matched += 1;
        }
        self.previous = Some((record.seq, chain_hash));
        self.report.records += 1;
        self.report.first_seq.get_or_insert(record.seq);
        self.report.last_seq = Some(record.seq);
        Ok(())
    }

    /// Fails when a checkpoint names a seq beyond the last record: the newest were deleted.
    pub fn finish(self) -> Result<VerifyReport, VerifyFailure> {
        let last = self.report.last_seq.unwrap_or(0);
        match self.newest_checkpoint {
            Some(checkpoint) if checkpoint > last => Err(VerifyFailure::Truncated { last, checkpoint }),
            _ => Ok(self.report),
        }
    }
}

/// Verifies a whole log held in memory (tests, small exports).
pub fn verify_all(
    records: &[ChainedRecord],
    checkpoints: Vec<Checkpoint>,
    key: &CheckpointKey,
) -> Result<VerifyReport, VerifyFailure> {
    let mut verifier = ChainVerifier::new(checkpoints, key)?;
    for record in records {
        verifier.push(record)?;
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditSource, Outcome};
    use crate::keys::KeyEncryptionKey;

    fn key() -> CheckpointKey {
        CheckpointKey::from_kek(&KeyEncryptionKey::from_bytes(&[7; 32]).unwrap())
    }

    /// `n` records chained from seq `first`, following `prev`.
    fn chain(first: i64, n: i64, prev: ChainHash) -> Vec<ChainedRecord> {
        let mut prev = prev;
        (first..first + n)
            .map(|seq| {
                let mut event = AuditEvent::new(AuditSource::Gateway, "gateway.request", Outcome::Allowed, seq * 10);
                event.subject = Some(format!("user-{seq}"));
                let hash = link(&prev, seq, &event);
                let record = ChainedRecord { seq, prev_hash: Some(prev), chain_hash: Some(hash), event };
                prev = hash;
                record
            })
            .collect()
    }

    fn checkpoint_at(records: &[ChainedRecord], seq: i64) -> Checkpoint {
        let record = records.iter().find(|r| r.seq == seq).unwrap();
        key().sign(seq, record.chain_hash.unwrap(), 1_000)
    }

    fn failing_seq(failure: VerifyFailure) -> i64 {
        match failure {
            VerifyFailure::Record { seq, .. } => seq,
            other => panic!("expected a record failure, got {other}"),
        }
    }

    #[test]
    fn a_good_chain_with_checkpoints_verifies() {
        let records = chain(1, 10, ChainHash::GENESIS);
        let checkpoints = vec![checkpoint_at(&records, 5), checkpoint_at(&records, 10)];
        let report = verify_all(&records, checkpoints, &key()).unwrap();
        assert_eq!((report.records, report.first_seq, report.last_seq), (10, Some(1), Some(10)));
        assert_eq!((report.checkpoints, report.checkpoints_matched), (2, 2));
    }

    #[test]
    fn a_tampered_field_is_named() {
        let mut records = chain(1, 10, ChainHash::GENESIS);
        records[3].event.outcome = Outcome::Denied;
        let failure = verify_all(&records, vec![], &key()).unwrap_err();
        assert!(failure.to_string().contains("seq 4"), "{failure}");
        assert!(failure.to_string().contains("gateway.request"), "{failure}");
        assert_eq!(failing_seq(failure), 4);
    }

    #[test]
    fn a_deleted_middle_record_is_named_by_the_one_after_it() {
        let mut records = chain(1, 10, ChainHash::GENESIS);
        records.remove(4);
        let failure = verify_all(&records, vec![], &key()).unwrap_err();
        assert!(failure.to_string().contains("records 5 to 5 are missing"), "{failure}");
        assert_eq!(failing_seq(failure), 6);
    }

    #[test]
    fn a_reordered_pair_is_named() {
        let mut records = chain(1, 10, ChainHash::GENESIS);
        // Swap the contents of seq 3 and 4 while each keeps its seq and hashes.
        let third = records[2].event.clone();
        records[2].event = records[3].event.clone();
        records[3].event = third;
        assert_eq!(failing_seq(verify_all(&records, vec![], &key()).unwrap_err()), 3);
    }

    #[test]
    fn truncating_the_newest_records_is_caught_by_a_checkpoint() {
        let records = chain(1, 10, ChainHash::GENESIS);
        let checkpoints = vec![checkpoint_at(&records, 9)];
        let failure = verify_all(&records[..7], checkpoints, &key()).unwrap_err();
        assert_eq!(failure, VerifyFailure::Truncated { last: 7, checkpoint: 9 });
        assert!(failure.to_string().contains("after seq 7 were deleted"), "{failure}");
    }

    #[test]
    fn a_forged_or_mismatched_checkpoint_fails() {
        let records = chain(1, 5, ChainHash::GENESIS);
        let mut forged = checkpoint_at(&records, 3);
        forged.chain_hash = ChainHash([1; 32]);
        assert!(matches!(verify_all(&records, vec![forged], &key()), Err(VerifyFailure::Checkpoint { seq: 3, .. })));
        // A correctly signed checkpoint of another chain (records rewritten after it was taken).
        let other = key().sign(3, ChainHash([1; 32]), 1_000);
        assert_eq!(failing_seq(verify_all(&records, vec![other], &key()).unwrap_err()), 3);
    }

    #[test]
    fn a_pruned_start_is_anchored_by_the_first_remaining_record_and_old_rows_are_unchained() {
        let records = chain(1, 10, ChainHash::GENESIS);
        let checkpoints = vec![checkpoint_at(&records, 2), checkpoint_at(&records, 8)];
        let report = verify_all(&records[4..], checkpoints, &key()).unwrap();
        assert_eq!((report.first_seq, report.checkpoints_matched), (Some(5), 1));

        let mut legacy = AuditEvent::new(AuditSource::Admin, "tenant.created", Outcome::Allowed, 0);
        legacy.subject = None;
        let mut with_legacy = vec![ChainedRecord { seq: 1, prev_hash: None, chain_hash: None, event: legacy.clone() }];
        with_legacy.extend(chain(2, 3, ChainHash::GENESIS));
        assert_eq!(verify_all(&with_legacy, vec![], &key()).unwrap().unchained, 1);
        with_legacy.push(ChainedRecord { seq: 5, prev_hash: None, chain_hash: None, event: legacy });
        assert_eq!(failing_seq(verify_all(&with_legacy, vec![], &key()).unwrap_err()), 5);
    }
}
