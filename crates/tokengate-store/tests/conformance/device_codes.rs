//! Device codes: insert and lookup, decisions, reads by device code, redemption (once, by its
//! client, in time), races. The polling pace is not stored (`DevicePollPace`, unit-tested).

use std::sync::Arc;

use tokengate_core::grants::device_code::{
    device_code_hash, new_user_code, user_code_hash, DeviceAuthorization, DeviceCodeStatus, DeviceDecision,
    DEVICE_CODE_LIFETIME, DEVICE_POLL_INTERVAL,
};
use tokengate_core::store::{AuditQuery, Store, StoreError};
use uuid::Uuid;

use crate::fixtures::{audit, NOW, SIGN_IN_SESSION};

fn device(client_id: Uuid) -> DeviceAuthorization {
    DeviceAuthorization {
        device_code_hash: device_code_hash(&format!("DAQ{}", Uuid::new_v4().simple())),
        user_code_hash: user_code_hash(&new_user_code()),
        tenant_id: Uuid::new_v4(),
        client_id,
        scopes: vec!["openid".into(), "offline_access".into(), "api://orders/Orders.Read".into()],
        status: DeviceCodeStatus::Pending,
        user_id: None,
        auth_time: None,
        session_id: None,
        interval: DEVICE_POLL_INTERVAL,
        created_at: NOW,
        expires_at: NOW + DEVICE_CODE_LIFETIME,
    }
}

async fn audits_of(store: &Arc<dyn Store>, action: &str) -> usize {
    store
        .audit_events(&AuditQuery { action: Some(action.into()), limit: 100, ..Default::default() })
        .await
        .unwrap()
        .len()
}

async fn device_code_insert_and_lookup(store: &Arc<dyn Store>) {
    let a = device(Uuid::new_v4());
    store.insert_device_code(&a).await.unwrap();
    assert_eq!(store.pending_device_code(&a.user_code_hash, NOW).await.unwrap(), Some(a.clone()), "round-trips");
    assert_eq!(store.pending_device_code(&a.user_code_hash, a.expires_at - 1).await.unwrap(), Some(a.clone()));
    assert_eq!(store.pending_device_code(&a.user_code_hash, a.expires_at).await.unwrap(), None, "expired");
    assert_eq!(store.pending_device_code(&user_code_hash("NOSUCHCODE"), NOW).await.unwrap(), None);

    // Either hash taken: `Conflict`, and nothing of the failed insert is left behind.
    let same_user_code = DeviceAuthorization { user_code_hash: a.user_code_hash.clone(), ..device(Uuid::new_v4()) };
    assert!(matches!(store.insert_device_code(&same_user_code).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.device_code(&same_user_code.device_code_hash).await.unwrap(), None);
    let same_device_code =
        DeviceAuthorization { device_code_hash: a.device_code_hash.clone(), ..device(Uuid::new_v4()) };
    assert!(matches!(store.insert_device_code(&same_device_code).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.pending_device_code(&same_device_code.user_code_hash, NOW).await.unwrap(), None);
    assert_eq!(store.pending_device_code(&a.user_code_hash, NOW).await.unwrap(), Some(a.clone()), "untouched");

    // Not pending once decided.
    let decided = device(Uuid::new_v4());
    store.insert_device_code(&decided).await.unwrap();
    let approve = DeviceDecision::Approve { user_id: Uuid::new_v4(), auth_time: NOW, session_id: SIGN_IN_SESSION };
    assert!(store
        .decide_device_code(&decided.user_code_hash, approve, NOW, &audit("device_code.approved"))
        .await
        .unwrap());
    assert_eq!(store.pending_device_code(&decided.user_code_hash, NOW).await.unwrap(), None);
}

async fn device_code_decisions(store: &Arc<dyn Store>) {
    let action = format!("device_code.decided.{}", Uuid::new_v4());
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let a = device(Uuid::new_v4());
    store.insert_device_code(&a).await.unwrap();
    let approve = DeviceDecision::Approve { user_id: alice, auth_time: NOW - 30, session_id: SIGN_IN_SESSION };
    assert!(store.decide_device_code(&a.user_code_hash, approve, NOW, &audit(&action)).await.unwrap());
    assert_eq!(audits_of(store, &action).await, 1, "the decision is audited");
    // A user code is decided once: later decisions change nothing and are not audited.
    let decline = DeviceDecision::Decline { user_id: bob };
    assert!(!store.decide_device_code(&a.user_code_hash, decline, NOW, &audit(&action)).await.unwrap());
    let again = DeviceDecision::Approve { user_id: bob, auth_time: NOW, session_id: SIGN_IN_SESSION };
    assert!(!store.decide_device_code(&a.user_code_hash, again, NOW, &audit(&action)).await.unwrap());
    assert_eq!(audits_of(store, &action).await, 1, "no audit record for a decision that did not happen");
    let got = store.redeem_device_code(&a.device_code_hash, a.client_id, NOW * 1000).await.unwrap().unwrap();
    assert_eq!((got.user_id, got.auth_time), (Some(alice), Some(NOW - 30)), "the first decision stands");

    // Declining records who declined; no auth time.
    let d = device(Uuid::new_v4());
    store.insert_device_code(&d).await.unwrap();
    assert!(store.decide_device_code(&d.user_code_hash, decline, NOW, &audit(&action)).await.unwrap());
    assert!(!store.decide_device_code(&d.user_code_hash, approve, NOW, &audit(&action)).await.unwrap());
    assert_eq!(audits_of(store, &action).await, 2);

    // Unknown and expired codes cannot be decided.
    assert!(!store.decide_device_code(&user_code_hash("NOSUCHCODE"), approve, NOW, &audit(&action)).await.unwrap());
    let late = device(Uuid::new_v4());
    store.insert_device_code(&late).await.unwrap();
    assert!(!store.decide_device_code(&late.user_code_hash, approve, late.expires_at, &audit(&action)).await.unwrap());
    assert_eq!(audits_of(store, &action).await, 2);
    assert_eq!(
        store.device_code(&late.device_code_hash).await.unwrap().map(|c| c.status),
        Some(DeviceCodeStatus::Pending),
        "a refused decision left the code pending"
    );
}

async fn device_code_reads_and_redemption(store: &Arc<dyn Store>) {
    let client = Uuid::new_v4();
    let t0 = NOW * 1000;
    let a = device(client);
    store.insert_device_code(&a).await.unwrap();
    assert_eq!(store.device_code(&a.device_code_hash).await.unwrap(), Some(a.clone()), "round-trips");
    assert_eq!(store.device_code(&device_code_hash("DAQunknown")).await.unwrap(), None);
    // Only an approved code is redeemed.
    assert_eq!(store.redeem_device_code(&a.device_code_hash, client, t0).await.unwrap(), None, "pending");
    assert_eq!(store.device_code(&a.device_code_hash).await.unwrap(), Some(a.clone()), "unchanged");

    let d = device(client);
    store.insert_device_code(&d).await.unwrap();
    let decline = DeviceDecision::Decline { user_id: Uuid::new_v4() };
    assert!(store.decide_device_code(&d.user_code_hash, decline, NOW, &audit("device_code.declined")).await.unwrap());
    assert_eq!(store.redeem_device_code(&d.device_code_hash, client, t0).await.unwrap(), None, "declined");
    assert_eq!(
        store.device_code(&d.device_code_hash).await.unwrap().map(|c| c.status),
        Some(DeviceCodeStatus::Declined)
    );

    // Approved: redeemed once, by its own client, before it expires; the answer is the record as
    // redeemed.
    let c = device(client);
    store.insert_device_code(&c).await.unwrap();
    let user = Uuid::new_v4();
    let approve = DeviceDecision::Approve { user_id: user, auth_time: NOW + 3, session_id: SIGN_IN_SESSION };
    assert!(store
        .decide_device_code(&c.user_code_hash, approve, NOW + 3, &audit("device_code.approved"))
        .await
        .unwrap());
    assert_eq!(
        store.redeem_device_code(&c.device_code_hash, Uuid::new_v4(), t0).await.unwrap(),
        None,
        "another client cannot redeem it"
    );
    let expires_ms = c.expires_at * 1000;
    assert_eq!(store.redeem_device_code(&c.device_code_hash, client, expires_ms).await.unwrap(), None, "expired");
    let expected = DeviceAuthorization {
        status: DeviceCodeStatus::Redeemed,
        user_id: Some(user),
        auth_time: Some(NOW + 3),
        session_id: Some(SIGN_IN_SESSION),
        ..c.clone()
    };
    assert_eq!(
        store.redeem_device_code(&c.device_code_hash, client, expires_ms - 1).await.unwrap(),
        Some(expected.clone()),
        "1 ms before it expires"
    );
    assert_eq!(store.redeem_device_code(&c.device_code_hash, client, t0).await.unwrap(), None, "single use");
    assert_eq!(store.device_code(&c.device_code_hash).await.unwrap(), Some(expected));

    // Every field round-trips through redemption, whatever the record was inserted with.
    let odd = DeviceAuthorization {
        status: DeviceCodeStatus::Approved,
        user_id: Some(Uuid::new_v4()),
        auth_time: Some(NOW - 1),
        session_id: Some(SIGN_IN_SESSION),
        interval: 7,
        scopes: vec![],
        ..device(client)
    };
    store.insert_device_code(&odd).await.unwrap();
    assert_eq!(
        store.redeem_device_code(&odd.device_code_hash, client, t0).await.unwrap(),
        Some(DeviceAuthorization { status: DeviceCodeStatus::Redeemed, ..odd })
    );

    // Long-expired codes are purged on insert, which frees their user codes.
    let old = DeviceAuthorization { created_at: NOW - 10_000, expires_at: NOW - 7_200, ..device(client) };
    store.insert_device_code(&old).await.unwrap();
    let reuse = DeviceAuthorization { user_code_hash: old.user_code_hash.clone(), ..device(client) };
    store.insert_device_code(&reuse).await.unwrap();
    assert_eq!(store.pending_device_code(&reuse.user_code_hash, NOW).await.unwrap(), Some(reuse));
}

async fn device_code_parallel_polls(store: &Arc<dyn Store>) {
    let client = Uuid::new_v4();
    let c = device(client);
    store.insert_device_code(&c).await.unwrap();
    let approve = DeviceDecision::Approve { user_id: Uuid::new_v4(), auth_time: NOW, session_id: SIGN_IN_SESSION };
    assert!(store.decide_device_code(&c.user_code_hash, approve, NOW, &audit("device_code.approved")).await.unwrap());
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(store);
        let hash = c.device_code_hash.clone();
        handles.push(tokio::spawn(async move { store.redeem_device_code(&hash, client, NOW * 1000).await.unwrap() }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.unwrap());
    }
    let redeemed = outcomes.iter().filter(|o| o.is_some()).count();
    assert_eq!(redeemed, 1, "exactly one of 8 concurrent redemptions: {outcomes:?}");
}

on_every_backend!(
    device_code_insert_and_lookup,
    device_code_decisions,
    device_code_reads_and_redemption,
    device_code_parallel_polls
);
