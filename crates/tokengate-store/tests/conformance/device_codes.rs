//! Device codes: insert and lookup, decisions, polling (slow_down, redemption, expiry), races.

use std::sync::Arc;

use tokengate_core::grants::device_code::{
    device_code_hash, new_user_code, user_code_hash, DeviceAuthorization, DeviceCodeStatus, DeviceDecision, DevicePoll,
    DEVICE_CODE_LIFETIME, DEVICE_POLL_INTERVAL, MAX_POLL_INTERVAL,
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
        last_poll_ms: None,
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
    assert_eq!(
        store.poll_device_code(&same_user_code.device_code_hash, same_user_code.client_id, NOW * 1000).await.unwrap(),
        DevicePoll::NotFound
    );
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
    match store.poll_device_code(&a.device_code_hash, a.client_id, NOW * 1000).await.unwrap() {
        DevicePoll::Approved(got) => {
            assert_eq!((got.user_id, got.auth_time), (Some(alice), Some(NOW - 30)), "the first decision stands")
        }
        other => panic!("poll after approval: {other:?}"),
    }

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
        store.poll_device_code(&late.device_code_hash, late.client_id, NOW * 1000).await.unwrap(),
        DevicePoll::Pending,
        "a refused decision left the code pending"
    );
}

async fn device_code_polling(store: &Arc<dyn Store>) {
    let client = Uuid::new_v4();
    let t0 = NOW * 1000;
    let a = device(client);
    store.insert_device_code(&a).await.unwrap();
    let poll = |ms: i64| store.poll_device_code(&a.device_code_hash, client, ms);
    assert_eq!(poll(t0).await.unwrap(), DevicePoll::Pending);
    assert_eq!(poll(t0 + 1_000).await.unwrap(), DevicePoll::SlowDown { interval: 10 }, "too fast");
    // The interval sticks: 10 s later is fine (exactly one interval is never too fast), 6 s after
    // that is too fast now although it was not under the first 5 s.
    assert_eq!(poll(t0 + 11_000).await.unwrap(), DevicePoll::Pending);
    assert_eq!(poll(t0 + 17_000).await.unwrap(), DevicePoll::SlowDown { interval: 15 });
    // Each slow_down also restarts the clock: 10 s later is still too fast for 15 s.
    assert_eq!(poll(t0 + 27_000).await.unwrap(), DevicePoll::SlowDown { interval: 20 });
    assert_eq!(poll(t0 + 46_999).await.unwrap(), DevicePoll::SlowDown { interval: 25 }, "1 ms short");
    assert_eq!(poll(t0 + 71_999).await.unwrap(), DevicePoll::Pending);
    let stored = store.pending_device_code(&a.user_code_hash, NOW).await.unwrap().unwrap();
    assert_eq!((stored.interval, stored.last_poll_ms), (25, Some(t0 + 71_999)));

    // Another client's poll changes nothing (not even the poll clock).
    assert_eq!(
        store.poll_device_code(&a.device_code_hash, Uuid::new_v4(), t0 + 72_000).await.unwrap(),
        DevicePoll::WrongClient
    );
    assert_eq!(store.pending_device_code(&a.user_code_hash, NOW).await.unwrap(), Some(stored.clone()));
    assert_eq!(poll(t0 + 96_999).await.unwrap(), DevicePoll::Pending, "25 s after the last real poll");
    // The interval stops growing at MAX_POLL_INTERVAL, whatever the client does.
    let mut last = DevicePoll::Pending;
    for t in t0 + 97_000..t0 + 97_020 {
        last = poll(t).await.unwrap();
    }
    assert_eq!(last, DevicePoll::SlowDown { interval: MAX_POLL_INTERVAL });

    // Declined.
    let d = device(client);
    store.insert_device_code(&d).await.unwrap();
    let decline = DeviceDecision::Decline { user_id: Uuid::new_v4() };
    assert!(store.decide_device_code(&d.user_code_hash, decline, NOW, &audit("device_code.declined")).await.unwrap());
    assert_eq!(store.poll_device_code(&d.device_code_hash, client, t0).await.unwrap(), DevicePoll::Declined);
    assert_eq!(store.poll_device_code(&d.device_code_hash, client, t0 + 5_000).await.unwrap(), DevicePoll::Declined);

    // Approved: redeemed by exactly one poll, which gets the record as it was.
    let c = device(client);
    store.insert_device_code(&c).await.unwrap();
    assert_eq!(store.poll_device_code(&c.device_code_hash, client, t0).await.unwrap(), DevicePoll::Pending);
    let user = Uuid::new_v4();
    let approve = DeviceDecision::Approve { user_id: user, auth_time: NOW + 3, session_id: SIGN_IN_SESSION };
    assert!(store
        .decide_device_code(&c.user_code_hash, approve, NOW + 3, &audit("device_code.approved"))
        .await
        .unwrap());
    assert_eq!(
        store.poll_device_code(&c.device_code_hash, client, t0 + 2_000).await.unwrap(),
        DevicePoll::SlowDown { interval: 10 },
        "too fast does not redeem"
    );
    let expected = DeviceAuthorization {
        status: DeviceCodeStatus::Approved,
        user_id: Some(user),
        auth_time: Some(NOW + 3),
        session_id: Some(SIGN_IN_SESSION),
        interval: 10,
        last_poll_ms: Some(t0 + 2_000),
        ..c.clone()
    };
    assert_eq!(
        store.poll_device_code(&c.device_code_hash, Uuid::new_v4(), t0 + 12_000).await.unwrap(),
        DevicePoll::WrongClient,
        "another client cannot redeem it"
    );
    assert_eq!(
        store.poll_device_code(&c.device_code_hash, client, t0 + 12_000).await.unwrap(),
        DevicePoll::Approved(Box::new(expected))
    );
    assert_eq!(
        store.poll_device_code(&c.device_code_hash, client, t0 + 30_000).await.unwrap(),
        DevicePoll::AlreadyRedeemed
    );
    assert_eq!(
        store.poll_device_code(&c.device_code_hash, client, t0 + 30_001).await.unwrap(),
        DevicePoll::AlreadyRedeemed,
        "single use is answered before slow_down"
    );

    // Every field round-trips through the approved path, whatever the record was inserted with.
    let odd = DeviceAuthorization {
        status: DeviceCodeStatus::Approved,
        user_id: Some(Uuid::new_v4()),
        auth_time: Some(NOW - 1),
        session_id: Some(SIGN_IN_SESSION),
        interval: 7,
        last_poll_ms: Some(t0),
        scopes: vec![],
        ..device(client)
    };
    store.insert_device_code(&odd).await.unwrap();
    assert_eq!(
        store.poll_device_code(&odd.device_code_hash, client, t0 + 6_999).await.unwrap(),
        DevicePoll::SlowDown { interval: 12 }
    );
    assert_eq!(
        store.poll_device_code(&odd.device_code_hash, client, t0 + 18_999).await.unwrap(),
        DevicePoll::Approved(Box::new(DeviceAuthorization { interval: 12, last_poll_ms: Some(t0 + 6_999), ..odd }))
    );

    // Expired (also when approved in time); unknown.
    let e = DeviceAuthorization { expires_at: NOW + 10, ..device(client) };
    store.insert_device_code(&e).await.unwrap();
    assert_eq!(store.poll_device_code(&e.device_code_hash, client, t0 + 9_999).await.unwrap(), DevicePoll::Pending);
    assert!(store
        .decide_device_code(&e.user_code_hash, approve, NOW + 9, &audit("device_code.approved"))
        .await
        .unwrap());
    assert_eq!(store.poll_device_code(&e.device_code_hash, client, t0 + 10_000).await.unwrap(), DevicePoll::Expired);
    assert_eq!(store.poll_device_code(&e.device_code_hash, client, t0 + 60_000).await.unwrap(), DevicePoll::Expired);
    assert_eq!(
        store.poll_device_code(&device_code_hash("DAQunknown"), client, t0).await.unwrap(),
        DevicePoll::NotFound
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
        handles.push(tokio::spawn(async move { store.poll_device_code(&hash, client, NOW * 1000).await.unwrap() }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.unwrap());
    }
    let approved = outcomes.iter().filter(|o| matches!(o, DevicePoll::Approved(_))).count();
    let redeemed = outcomes.iter().filter(|o| **o == DevicePoll::AlreadyRedeemed).count();
    assert_eq!((approved, redeemed), (1, 7), "{outcomes:?}");
}

on_every_backend!(
    device_code_insert_and_lookup,
    device_code_decisions,
    device_code_polling,
    device_code_parallel_polls
);
