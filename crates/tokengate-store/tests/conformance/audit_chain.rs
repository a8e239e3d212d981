//! The audit hash chain and its checkpoints: both write paths (batches and records committed with
//! a change) extend one chain with no fork, even when they race; checkpoints are kept and survive
//! pruning.

use std::sync::Arc;

use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::audit_chain::ChainedRecord;
use tokengate_core::audit_checkpoint::CheckpointKey;
use tokengate_core::audit_records::AuditRecordFilter;
use tokengate_core::audit_verify::verify_all;
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::store::Store;

use crate::fixtures::{audit, tenant};

fn key() -> CheckpointKey {
    CheckpointKey::from_kek(&KeyEncryptionKey::from_bytes(&[3; 32]).unwrap())
}

fn gateway_event(i: i64, at_ms: i64) -> AuditEvent {
    let mut e = AuditEvent::new(AuditSource::Gateway, "gateway.request", Outcome::Allowed, at_ms);
    e.subject = Some(format!("user-{i}"));
    e.detail = serde_json::json!({"route": "orders", "i": i});
    e
}

/// Every record, in seq order, a page at a time.
async fn all_records(store: &Arc<dyn Store>) -> Vec<ChainedRecord> {
    let mut out: Vec<ChainedRecord> = Vec::new();
    loop {
        let filter = AuditRecordFilter { after_seq: out.last().map(|r| r.seq), limit: 7, ..Default::default() };
        let page = store.audit_records(&filter).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

async fn both_write_paths_extend_one_chain_under_concurrency(store: &Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..20i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let batch: Vec<_> = (0..3).map(|j| gateway_event(i * 10 + j, 1_000 + i)).collect();
                store.append_audit(&batch).await.unwrap();
            } else {
                store.insert_tenant(&tenant(&format!("t{i}.example.com")), &audit("tenant.created")).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let records = all_records(store).await;
    assert_eq!(records.len(), 10 * 3 + 10);
    let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "gap-free seqs in chain order");
    let report = verify_all(&records, vec![], &key()).unwrap();
    assert_eq!(report.records, 40, "one chain, no fork");
    let (head_seq, head_hash) = store.audit_chain_head().await.unwrap().unwrap();
    assert_eq!((head_seq, Some(head_hash)), (40, records[39].chain_hash));
    // The filters select without breaking the order.
    let tenants = AuditRecordFilter { action: Some("tenant.created".into()), limit: 100, ..Default::default() };
    assert_eq!(store.audit_records(&tenants).await.unwrap().len(), 10);
    let newest = AuditRecordFilter { newest_first: true, limit: 1, ..Default::default() };
    assert_eq!(store.audit_records(&newest).await.unwrap()[0].seq, 40);
}

async fn checkpoints_are_kept_and_survive_pruning(store: &Arc<dyn Store>) {
    assert_eq!(store.audit_chain_head().await.unwrap(), None);
    let old: Vec<_> = (0..5).map(|i| gateway_event(i, 1_000 + i)).collect();
    store.append_audit(&old).await.unwrap();
    let (seq, hash) = store.audit_chain_head().await.unwrap().unwrap();
    let checkpoint = key().sign(seq, hash, 5_000);
    store.insert_audit_checkpoint(&checkpoint).await.unwrap();
    // A second node checkpointing the same head keeps the first one.
    store.insert_audit_checkpoint(&key().sign(seq, hash, 6_000)).await.unwrap();
    assert_eq!(store.audit_checkpoints().await.unwrap(), vec![checkpoint.clone()]);

    let recent: Vec<_> = (5..8).map(|i| gateway_event(i, 1_000_000 + i)).collect();
    store.append_audit(&recent).await.unwrap();
    assert_eq!(store.prune_audit(500_000).await.unwrap(), 5);
    assert_eq!(store.audit_checkpoints().await.unwrap(), vec![checkpoint], "pruning keeps checkpoints");
    let records = all_records(store).await;
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![6, 7, 8, 9]);
    let pruned = &records[3];
    assert_eq!(pruned.event.action, "audit.pruned");
    assert_eq!(pruned.event.detail["through_seq"], 5);
    let report = verify_all(&records, store.audit_checkpoints().await.unwrap(), &key()).unwrap();
    assert_eq!((report.first_seq, report.last_seq), (Some(6), Some(9)));
    assert_eq!(store.prune_audit(500_000).await.unwrap(), 0, "nothing left to prune, and no record of it");
    assert_eq!(all_records(store).await.len(), 4);
}

on_every_backend!(both_write_paths_extend_one_chain_under_concurrency, checkpoints_are_kept_and_survive_pruning);
