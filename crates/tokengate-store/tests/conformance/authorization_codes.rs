//! Authorization codes.

use std::sync::Arc;

use tokengate_core::grants::token_families::*;
use tokengate_core::store::Store;
use uuid::Uuid;

use crate::fixtures::code;

async fn authorization_codes(store: &Arc<dyn Store>) {
    let hash = Uuid::new_v4().as_bytes().to_vec();
    let c = code(&hash, 100);
    store.insert_code(&c).await.unwrap();
    assert_eq!(store.redeem_code(&hash, 50).await.unwrap(), CodeRedemption::Redeemed(Box::new(c.clone())));
    let family = c.family_id.unwrap();
    match store.redeem_code(&hash, 51).await.unwrap() {
        CodeRedemption::AlreadyRedeemed(again) => {
            assert_eq!(again.family_id, Some(family), "reuse reports the family to revoke")
        }
        other => panic!("second redemption: {other:?}"),
    }
    assert_eq!(store.redeem_code(b"unknown", 50).await.unwrap(), CodeRedemption::NotFound);
    let late = Uuid::new_v4().as_bytes().to_vec();
    store.insert_code(&code(&late, 100)).await.unwrap();
    assert_eq!(store.redeem_code(&late, 100).await.unwrap(), CodeRedemption::NotFound, "expired");

    // Parallel redemptions: exactly one wins.
    let racing = Uuid::new_v4().as_bytes().to_vec();
    store.insert_code(&code(&racing, 1000)).await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(store);
        let racing = racing.clone();
        handles.push(tokio::spawn(async move {
            matches!(store.redeem_code(&racing, 20).await.unwrap(), CodeRedemption::Redeemed(_))
        }));
    }
    let mut wins = 0;
    for h in handles {
        wins += usize::from(h.await.unwrap());
    }
    assert_eq!(wins, 1);
}

on_every_backend!(authorization_codes);
