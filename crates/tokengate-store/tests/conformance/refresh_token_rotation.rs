//! Refresh tokens: rotation, reuse detection, the grace window, lookup, client binding, purging.

use std::sync::Arc;

use tokengate_core::directory::RedirectPlatform;
use tokengate_core::grants::client_binding::ClientBinding;
use tokengate_core::grants::token_families::*;
use tokengate_core::store::{AuditQuery, Store};
use uuid::Uuid;

use crate::fixtures::{audit, code, revoked_token_ids, SIGN_IN_SESSION};

fn minted() -> MintedAccessToken {
    MintedAccessToken { uti: format!("uti-{}", Uuid::new_v4()), expires_at: 10_000 }
}

fn refresh(family: Uuid, hash: &[u8], now: i64) -> RefreshToken {
    RefreshToken {
        token_hash: hash.to_vec(),
        family_id: family,
        tenant_id: Uuid::nil(),
        client_id: Uuid::nil(),
        user_id: Uuid::nil(),
        scopes: vec!["openid".into(), "offline_access".into()],
        state: RefreshState::Active,
        issued_at: now,
        expires_at: now + 1000,
        rotated_at: None,
        parent_hash: None,
        session_id: Some(SIGN_IN_SESSION),
        client_binding: Some(ClientBinding::Confidential),
    }
}

async fn refresh_rotation(store: &Arc<dyn Store>) {
    let detect = ReusePolicy::RotateAndDetect { grace_seconds: 10 };
    let family = Uuid::new_v4();
    let (t1, t2, t3, t4) = (b"rt-1".to_vec(), b"rt-2".to_vec(), b"rt-3".to_vec(), b"rt-4".to_vec());
    let tag = |h: &[u8]| [family.as_bytes().as_slice(), h].concat();
    let (t1, t2, t3, t4) = (tag(&t1), tag(&t2), tag(&t3), tag(&t4));
    store.insert_refresh_token(&refresh(family, &t1, 100), &audit("refresh_token.issued")).await.unwrap();
    // Normal rotation: t1 → t2.
    let out = store
        .rotate_refresh_token(
            &t1,
            &refresh(Uuid::nil(), &t2, 110),
            &minted(),
            detect,
            110,
            &audit("refresh_token.rotated"),
        )
        .await
        .unwrap();
    assert!(matches!(out, RotationOutcome::Rotated { .. }), "{out:?}");
    // The immediately previous token within the grace window, successor unused: accepted, t2 withdrawn.
    let out = store
        .rotate_refresh_token(
            &t1,
            &refresh(Uuid::nil(), &t3, 115),
            &minted(),
            detect,
            115,
            &audit("refresh_token.rotated"),
        )
        .await
        .unwrap();
    assert!(matches!(out, RotationOutcome::Rotated { .. }), "grace: {out:?}");
    assert_eq!(store.refresh_token(&t2).await.unwrap().unwrap().state, RefreshState::Withdrawn);
    // (Presenting the withdrawn t2 would revoke the family: `refresh_grace_race`.)
    // t3 is live; rotate it, then replay t1 outside the grace window: the family is revoked.
    let out = store
        .rotate_refresh_token(
            &t3,
            &refresh(Uuid::nil(), &t4, 120),
            &minted(),
            detect,
            120,
            &audit("refresh_token.rotated"),
        )
        .await
        .unwrap();
    assert!(matches!(out, RotationOutcome::Rotated { .. }));
    let out = store
        .rotate_refresh_token(
            &t1,
            &refresh(Uuid::nil(), b"rt-x", 200),
            &minted(),
            detect,
            200,
            &audit("refresh_token.rotated"),
        )
        .await
        .unwrap();
    assert_eq!(out, RotationOutcome::ReuseDetected { family_id: family });
    // Everything of the family is dead, including the live t4.
    assert_eq!(
        store
            .rotate_refresh_token(&t4, &refresh(Uuid::nil(), b"rt-y", 201), &minted(), detect, 201, &audit("x"))
            .await
            .unwrap(),
        RotationOutcome::Invalid
    );
    store.record_family_access_token(family, "uti-of-family", 10_000).await.unwrap();
    assert!(
        revoked_token_ids(store, 300).await.contains(&"uti-of-family".to_string()),
        "recorded after the family was revoked: revoked on its own"
    );
    let audits = store
        .audit_events(&AuditQuery {
            action: Some("refresh_token.reuse_detected".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!audits.is_empty(), "reuse detection is audited with the revocation");

    // Entra-compatible: old tokens stay usable.
    let entra = Uuid::new_v4();
    let (e1, e2, e3) = (tag(b"e1"), tag(b"e2"), tag(b"e3"));
    store.insert_refresh_token(&refresh(entra, &e1, 100), &audit("refresh_token.issued")).await.unwrap();
    assert!(matches!(
        store
            .rotate_refresh_token(
                &e1,
                &refresh(Uuid::nil(), &e2, 110),
                &minted(),
                ReusePolicy::EntraCompatible,
                110,
                &audit("r")
            )
            .await
            .unwrap(),
        RotationOutcome::Rotated { .. }
    ));
    assert!(matches!(
        store
            .rotate_refresh_token(
                &e1,
                &refresh(Uuid::nil(), &e3, 500),
                &minted(),
                ReusePolicy::EntraCompatible,
                500,
                &audit("r")
            )
            .await
            .unwrap(),
        RotationOutcome::Rotated { .. }
    ));
    // Expiry (sliding window) and revocation still apply.
    assert_eq!(
        store
            .rotate_refresh_token(
                &e1,
                &refresh(Uuid::nil(), &tag(b"e4"), 2000),
                &minted(),
                ReusePolicy::EntraCompatible,
                2000,
                &audit("r")
            )
            .await
            .unwrap(),
        RotationOutcome::Invalid
    );
    store.revoke_family(entra, 600, &audit("refresh_family.revoked")).await.unwrap();
    assert_eq!(
        store
            .rotate_refresh_token(
                &e3,
                &refresh(Uuid::nil(), &tag(b"e5"), 601),
                &minted(),
                ReusePolicy::EntraCompatible,
                601,
                &audit("r")
            )
            .await
            .unwrap(),
        RotationOutcome::Invalid
    );

    // Parallel use of one live token: exactly one rotation succeeds; the rest are reuse (the
    // family is then revoked — two holders of one token is what theft looks like).
    let racing = Uuid::new_v4();
    let r0 = tag(racing.as_bytes());
    store.insert_refresh_token(&refresh(racing, &r0, 100), &audit("refresh_token.issued")).await.unwrap();
    let mut handles = Vec::new();
    for i in 0..6u8 {
        let store = Arc::clone(store);
        let r0 = r0.clone();
        let next = [r0.as_slice(), &[i]].concat();
        handles.push(tokio::spawn(async move {
            matches!(
                store
                    .rotate_refresh_token(
                        &r0,
                        &refresh(Uuid::nil(), &next, 105),
                        &minted(),
                        ReusePolicy::RotateAndDetect { grace_seconds: 0 },
                        105,
                        &audit("r")
                    )
                    .await
                    .unwrap(),
                RotationOutcome::Rotated { .. }
            )
        }));
    }
    let mut rotated = 0;
    for h in handles {
        rotated += usize::from(h.await.unwrap());
    }
    assert_eq!(rotated, 1);
}

/// A stolen refresh token replayed within the grace window after the rightful client rotated it,
/// or the rightful client retrying after the thief rotated it first: the store cannot tell the
/// two apart, so the successor the grace path withdrew, presented later by whoever holds it, is
/// reuse — the family is revoked (both parties' refresh and access tokens), never taken over.
async fn refresh_grace_race(store: &Arc<dyn Store>) {
    let detect = ReusePolicy::RotateAndDetect { grace_seconds: 10 };
    let rotate = |presented: Vec<u8>, next: Vec<u8>, minted: MintedAccessToken, now: i64| async move {
        store
            .rotate_refresh_token(&presented, &refresh(Uuid::nil(), &next, now), &minted, detect, now, &audit("r"))
            .await
            .unwrap()
    };
    for victim_first in [true, false] {
        let family = Uuid::new_v4();
        let tag = |h: &[u8]| [family.as_bytes().as_slice(), h].concat();
        let (r0, first, second) = (tag(b"r0"), tag(b"first"), tag(b"second"));
        store.insert_refresh_token(&refresh(family, &r0, 100), &audit("refresh_token.issued")).await.unwrap();
        let (first_access, second_access) = (minted(), minted());
        // One party rotates r0; the other presents r0 again within the grace: both answered.
        let out = rotate(r0.clone(), first.clone(), first_access.clone(), 110).await;
        assert!(matches!(out, RotationOutcome::Rotated { .. }), "{out:?}");
        let out = rotate(r0.clone(), second.clone(), second_access.clone(), 112).await;
        assert!(matches!(out, RotationOutcome::Rotated { .. }), "grace: {out:?}");
        assert_eq!(store.refresh_token(&first).await.unwrap().unwrap().state, RefreshState::Withdrawn);
        let second_live = if victim_first {
            // The victim rotated first; the thief's replay withdrew the victim's successor. The
            // victim comes back with it (even within the grace): the family goes.
            second.clone()
        } else {
            // The thief rotated first; the victim's retry withdrew the thief's successor. The
            // victim carries on; the thief comes back with the withdrawn one later: the family goes.
            let third = tag(b"third");
            let out = rotate(second.clone(), third.clone(), minted(), 150).await;
            assert!(matches!(out, RotationOutcome::Rotated { .. }), "{out:?}");
            third
        };
        let reuse_at = if victim_first { 113 } else { 160 };
        assert_eq!(
            rotate(first.clone(), tag(b"reuse"), minted(), reuse_at).await,
            RotationOutcome::ReuseDetected { family_id: family },
            "presenting a withdrawn successor is reuse (victim first: {victim_first})"
        );
        assert_eq!(store.refresh_token(&second_live).await.unwrap().unwrap().state, RefreshState::Revoked);
        assert_eq!(rotate(second_live, tag(b"after"), minted(), 170).await, RotationOutcome::Invalid);
        assert_eq!(rotate(first, tag(b"again"), minted(), 171).await, RotationOutcome::Invalid);
        let revoked = revoked_token_ids(store, 200).await;
        assert!(
            revoked.contains(&first_access.uti) && revoked.contains(&second_access.uti),
            "both parties' access tokens are revoked with the family"
        );
    }
    // A lost response is not theft: the withdrawn successor never comes back, the family lives.
    let family = Uuid::new_v4();
    let tag = |h: &[u8]| [family.as_bytes().as_slice(), h].concat();
    let (r0, lost, retried) = (tag(b"r0"), tag(b"lost"), tag(b"retried"));
    store.insert_refresh_token(&refresh(family, &r0, 100), &audit("refresh_token.issued")).await.unwrap();
    assert!(matches!(rotate(r0.clone(), lost, minted(), 110).await, RotationOutcome::Rotated { .. }));
    assert!(matches!(rotate(r0, retried.clone(), minted(), 111).await, RotationOutcome::Rotated { .. }));
    assert!(matches!(rotate(retried, tag(b"next"), minted(), 130).await, RotationOutcome::Rotated { .. }));
}

/// A refresh token can be read back (revoked when its family is), is bound to its client and
/// tenant, and its successor inherits the family's user, scopes and sign-in session.
async fn refresh_lookup_and_binding(store: &Arc<dyn Store>) {
    let detect = ReusePolicy::RotateAndDetect { grace_seconds: 10 };
    let family = Uuid::new_v4();
    let (t1, t2) = ([family.as_bytes().as_slice(), b"b1"].concat(), [family.as_bytes().as_slice(), b"b2"].concat());
    let mut first = refresh(family, &t1, 100);
    first.client_id = Uuid::from_u128(41);
    first.user_id = Uuid::from_u128(42);
    first.scopes = vec!["11111111-1111-1111-1111-111111111111/Read".into(), "offline_access".into()];
    store.insert_refresh_token(&first, &audit("refresh_token.issued")).await.unwrap();
    assert_eq!(store.refresh_token(&t1).await.unwrap(), Some(first.clone()));
    assert_eq!(store.refresh_token(b"unknown").await.unwrap(), None);

    // Presented by another client (or at another tenant): nothing changes.
    let mut foreign = refresh(Uuid::nil(), &t2, 110);
    foreign.client_id = Uuid::from_u128(99);
    assert_eq!(
        store.rotate_refresh_token(&t1, &foreign, &minted(), detect, 110, &audit("x")).await.unwrap(),
        RotationOutcome::Invalid
    );
    let mut other_tenant = refresh(Uuid::nil(), &t2, 110);
    other_tenant.client_id = first.client_id;
    other_tenant.tenant_id = Uuid::from_u128(7);
    assert_eq!(
        store.rotate_refresh_token(&t1, &other_tenant, &minted(), detect, 110, &audit("x")).await.unwrap(),
        RotationOutcome::Invalid
    );
    assert_eq!(store.refresh_token(&t1).await.unwrap().unwrap().state, RefreshState::Active, "still the live token");

    // The successor inherits what the caller does not decide.
    let mut next = refresh(Uuid::nil(), &t2, 120);
    next.client_id = first.client_id;
    next.scopes = vec!["widened".into()];
    next.session_id = None;
    let with_rotation = MintedAccessToken { uti: "uti-of-rotation".into(), expires_at: 1_100 };
    assert!(matches!(
        store
            .rotate_refresh_token(&t1, &next, &with_rotation, detect, 120, &audit("refresh_token.rotated"))
            .await
            .unwrap(),
        RotationOutcome::Rotated { .. }
    ));
    let stored = store.refresh_token(&t2).await.unwrap().unwrap();
    assert_eq!((stored.family_id, stored.user_id), (family, first.user_id));
    assert_eq!(stored.scopes, first.scopes, "never widened");
    assert_eq!(stored.session_id, Some(SIGN_IN_SESSION));
    assert_eq!(stored.parent_hash.as_deref(), Some(t1.as_slice()));
    assert_eq!(store.refresh_token(&t1).await.unwrap().unwrap().state, RefreshState::Rotated);

    store.revoke_family(family, 130, &audit("refresh_family.revoked")).await.unwrap();
    assert_eq!(store.refresh_token(&t2).await.unwrap().unwrap().state, RefreshState::Revoked);
    assert!(
        revoked_token_ids(store, 1_000).await.contains(&"uti-of-rotation".to_string()),
        "the access token minted with the rotation is remembered in the same transaction"
    );

    // Purging: nothing unexpired goes; once expired, the tokens and their family's revocation go.
    store.record_family_access_token(family, "uti-purge", 1_150).await.unwrap();
    store.purge_expired_tokens(1_000).await.unwrap();
    assert!(store.refresh_token(&t2).await.unwrap().is_some(), "t2 expires at 1120");
    assert!(revoked_token_ids(store, 1_000).await.contains(&"uti-purge".to_string()));
    store.purge_expired_tokens(1_200).await.unwrap();
    store.forget_revocations(1_200).await.unwrap();
    assert_eq!(store.refresh_token(&t1).await.unwrap(), None);
    assert_eq!(store.refresh_token(&t2).await.unwrap(), None);
    assert!(!revoked_token_ids(store, 1_000).await.contains(&"uti-purge".to_string()), "forgotten once expired");
}

/// How a code and a refresh family must be redeemed is stored with them (migration 0006) and
/// kept by every successor; rows written before it read back as `None`.
async fn client_binding_is_stored_and_inherited(store: &Arc<dyn Store>) {
    for platform in
        [Some(RedirectPlatform::Web), Some(RedirectPlatform::Spa), Some(RedirectPlatform::PublicClient), None]
    {
        let hash = Uuid::new_v4().as_bytes().to_vec();
        let mut c = code(&hash, 100);
        c.redirect_platform = platform;
        store.insert_code(&c).await.unwrap();
        match store.redeem_code(&hash, 50).await.unwrap() {
            CodeRedemption::Redeemed(got) => assert_eq!(got.redirect_platform, platform),
            other => panic!("redeeming: {other:?}"),
        }
    }
    let detect = ReusePolicy::RotateAndDetect { grace_seconds: 10 };
    for (stored, asked, inherited) in [
        (Some(ClientBinding::Confidential), Some(ClientBinding::Public), Some(ClientBinding::Confidential)),
        (Some(ClientBinding::Spa), Some(ClientBinding::Public), Some(ClientBinding::Spa)),
        (Some(ClientBinding::Public), Some(ClientBinding::Confidential), Some(ClientBinding::Public)),
        // A family from before the binding was recorded takes the one the issuer derived.
        (None, Some(ClientBinding::Confidential), Some(ClientBinding::Confidential)),
        (None, None, None),
    ] {
        let family = Uuid::new_v4();
        let (t1, t2) = ([family.as_bytes().as_slice(), b"c1"].concat(), [family.as_bytes().as_slice(), b"c2"].concat());
        let mut first = refresh(family, &t1, 100);
        first.client_binding = stored;
        store.insert_refresh_token(&first, &audit("refresh_token.issued")).await.unwrap();
        assert_eq!(store.refresh_token(&t1).await.unwrap().unwrap().client_binding, stored);
        let mut next = refresh(Uuid::nil(), &t2, 110);
        next.client_binding = asked;
        let out = store.rotate_refresh_token(&t1, &next, &minted(), detect, 110, &audit("refresh_token.rotated")).await;
        assert!(matches!(out.unwrap(), RotationOutcome::Rotated { .. }));
        assert_eq!(store.refresh_token(&t2).await.unwrap().unwrap().client_binding, inherited, "{stored:?}");
    }
}

/// Many rotations at once (on SQLite they share transactions and commits, see
/// `rotation_group_commit.rs`): each stands alone. Every family's token rotates once and its
/// successor is stored; a presentation by the wrong client among them changes nothing (its claim
/// is undone, not the others'); the audit log has one record per rotation.
async fn concurrent_rotations_each_stand_alone(store: &Arc<dyn Store>) {
    let families: Vec<Uuid> = (0..24).map(|_| Uuid::new_v4()).collect();
    let tag = |family: &Uuid, h: &[u8]| [family.as_bytes().as_slice(), h].concat();
    for family in &families {
        store
            .insert_refresh_token(&refresh(*family, &tag(family, b"r0"), 100), &audit("refresh_token.issued"))
            .await
            .unwrap();
    }
    let action = format!("refresh_token.rotated.{}", Uuid::new_v4());
    let wrong_client = |i: usize| i % 6 == 3;
    let mut handles = Vec::new();
    for (i, family) in families.iter().enumerate() {
        let (store, action) = (Arc::clone(store), action.clone());
        let (presented, mut next) = (tag(family, b"r0"), refresh(Uuid::nil(), &tag(family, b"r1"), 105));
        if wrong_client(i) {
            next.client_id = Uuid::from_u128(99);
        }
        handles.push(tokio::spawn(async move {
            let detect = ReusePolicy::RotateAndDetect { grace_seconds: 0 };
            store.rotate_refresh_token(&presented, &next, &minted(), detect, 105, &audit(&action)).await.unwrap()
        }));
    }
    for (i, (family, handle)) in families.iter().zip(handles).enumerate() {
        let outcome = handle.await.unwrap();
        let presented = store.refresh_token(&tag(family, b"r0")).await.unwrap().unwrap();
        let successor = store.refresh_token(&tag(family, b"r1")).await.unwrap();
        if wrong_client(i) {
            assert_eq!(outcome, RotationOutcome::Invalid);
            assert_eq!(presented.state, RefreshState::Active, "the wrong client's claim is undone");
            assert_eq!(successor, None);
        } else {
            assert!(matches!(outcome, RotationOutcome::Rotated { .. }), "{i}: {outcome:?}");
            assert_eq!(presented.state, RefreshState::Rotated);
            assert_eq!(successor.map(|s| s.state), Some(RefreshState::Active), "{i}: the successor is stored");
        }
    }
    let query = AuditQuery { action: Some(action), limit: 100, ..Default::default() };
    let rotated = families.len() - (0..families.len()).filter(|i| wrong_client(*i)).count();
    assert_eq!(store.audit_events(&query).await.unwrap().len(), rotated, "one audit record per rotation");
}

on_every_backend!(
    concurrent_rotations_each_stand_alone,
    refresh_rotation,
    refresh_grace_race,
    refresh_lookup_and_binding,
    client_binding_is_stored_and_inherited
);
