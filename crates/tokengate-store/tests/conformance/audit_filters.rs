//! Filtered, cursor-paged reads of the audit log (the admin API's query, export and tail): each
//! filter selects exactly its records, and paging by seq returns every match once, in seq order,
//! the same page again for the same cursor.

use std::sync::Arc;

use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::audit_records::AuditRecordFilter;
use tokengate_core::store::Store;

/// Twelve records that differ in every filterable field: gateway requests (i even) and admin
/// changes (i odd), denied when i is a multiple of three.
fn events() -> Vec<AuditEvent> {
    (0..12i64)
        .map(|i| {
            let (source, action) = if i % 2 == 0 {
                (AuditSource::Gateway, "gateway.request")
            } else {
                (AuditSource::Admin, "tenant.created")
            };
            let outcome = if i % 3 == 0 { Outcome::Denied } else { Outcome::Allowed };
            let mut e = AuditEvent::new(source, action, outcome, 1_000 + i);
            e.reason = (i % 3 == 0).then(|| "expired".to_owned());
            e.subject = Some(format!("user-{}", i % 4));
            e.client_id = Some(format!("client-{}", i % 2));
            e.tenant_id = Some(format!("tenant-{}", i % 3));
            e.token_id = Some(format!("uti-{i}"));
            e.detail = if i % 2 == 0 {
                serde_json::json!({"route": format!("route-{}", i % 4)})
            } else {
                serde_json::json!({"actor": "admin-oid"})
            };
            e
        })
        .collect()
}

async fn seqs(store: &Arc<dyn Store>, filter: AuditRecordFilter) -> Vec<i64> {
    let filter = AuditRecordFilter { limit: 100, ..filter };
    store.audit_records(&filter).await.unwrap().iter().map(|r| r.seq).collect()
}

async fn every_filter_selects_its_records(store: &Arc<dyn Store>) {
    let events = events();
    store.append_audit(&events).await.unwrap();
    // Seq i + 1 is event i.
    let expect = |keep: fn(i64) -> bool| (0..12i64).filter(|i| keep(*i)).map(|i| i + 1).collect::<Vec<_>>();
    let f = AuditRecordFilter::default;
    assert_eq!(
        seqs(store, AuditRecordFilter { source: Some(AuditSource::Admin), ..f() }).await,
        expect(|i| i % 2 == 1)
    );
    assert_eq!(seqs(store, AuditRecordFilter { reason: Some("expired".into()), ..f() }).await, expect(|i| i % 3 == 0));
    assert_eq!(seqs(store, AuditRecordFilter { outcome: Some(Outcome::Denied), ..f() }).await, expect(|i| i % 3 == 0));
    assert_eq!(
        seqs(store, AuditRecordFilter { tenant_id: Some("tenant-1".into()), ..f() }).await,
        expect(|i| i % 3 == 1)
    );
    assert_eq!(seqs(store, AuditRecordFilter { token_id: Some("uti-5".into()), ..f() }).await, vec![6]);
    assert_eq!(seqs(store, AuditRecordFilter { subject: Some("user-2".into()), ..f() }).await, expect(|i| i % 4 == 2));
    assert_eq!(seqs(store, AuditRecordFilter { route: Some("route-2".into()), ..f() }).await, expect(|i| i % 4 == 2));
    assert_eq!(seqs(store, AuditRecordFilter { actor: Some("admin-oid".into()), ..f() }).await, expect(|i| i % 2 == 1));
    let window = AuditRecordFilter { since_ms: Some(1_003), until_ms: Some(1_006), ..f() };
    assert_eq!(seqs(store, window).await, vec![4, 5, 6], "at_ms from inclusive, until exclusive");
    let both = AuditRecordFilter {
        source: Some(AuditSource::Gateway),
        outcome: Some(Outcome::Denied),
        client_id: Some("client-0".into()),
        ..f()
    };
    assert_eq!(seqs(store, both).await, expect(|i| i % 6 == 0), "filters combine");
    let by_id = AuditRecordFilter { id: Some(events[7].id.to_string()), ..f() };
    assert_eq!(seqs(store, by_id).await, vec![8], "one record by its id (a gateway decision id)");
    assert_eq!(seqs(store, AuditRecordFilter { after_seq: Some(10), ..f() }).await, vec![11, 12]);
    assert_eq!(seqs(store, f()).await.len(), 12, "no filter: everything");
}

async fn paging_by_seq_is_stable(store: &Arc<dyn Store>) {
    store.append_audit(&events()).await.unwrap();
    let gateway_page =
        |after_seq| AuditRecordFilter { source: Some(AuditSource::Gateway), after_seq, limit: 2, ..Default::default() };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.audit_records(&gateway_page(cursor)).await.unwrap();
        let again = store.audit_records(&gateway_page(cursor)).await.unwrap();
        assert_eq!(page, again, "the same cursor, the same page");
        let Some(last) = page.last() else { break };
        cursor = Some(last.seq);
        seen.extend(page.iter().map(|r| r.seq));
        // Records written meanwhile come after the cursor, never into a page already read.
        store.append_audit(&[AuditEvent::new(AuditSource::Admin, "noise", Outcome::Allowed, 9_000)]).await.unwrap();
    }
    assert_eq!(seen, vec![1, 3, 5, 7, 9, 11], "every match once, in seq order");
}

on_every_backend!(every_filter_selects_its_records, paging_by_seq_is_stable);
