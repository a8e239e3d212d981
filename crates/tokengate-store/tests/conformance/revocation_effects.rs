//! What each kind of revocation does to the store in its transaction (sessions, families, device
//! codes, codes, credentials, keys), and how family revocations (by `revoke`, `revoke_family`,
//! reuse detection) and access tokens recorded after them reach the feed.

use std::sync::Arc;

use tokengate_core::directory::{ClientCertificate, ClientSecret};
use tokengate_core::grants::device_code::{
    device_code_hash, new_user_code, user_code_hash, DeviceAuthorization, DeviceCodeStatus, DeviceDecision,
    DEVICE_CODE_LIFETIME, DEVICE_POLL_INTERVAL,
};
use tokengate_core::grants::token_families::{
    CodeRedemption, MintedAccessToken, RefreshState, RefreshToken, ReusePolicy, RotationOutcome,
};
use tokengate_core::keys::{KeyState, StoredSigningKey};
use tokengate_core::revocations::{Revocation, RevocationEffects, RevocationTarget};
use tokengate_core::store::{AuditQuery, SignInSession, Store};
use uuid::Uuid;

use crate::fixtures::{app, audit, code, revoked_token_ids, tenant, NOW, SIGN_IN_SESSION};
use crate::revocation_feed::revocation;

fn refresh(family: Uuid, user_id: Uuid, client_id: Uuid) -> RefreshToken {
    RefreshToken {
        token_hash: Uuid::new_v4().as_bytes().to_vec(),
        family_id: family,
        tenant_id: Uuid::nil(),
        client_id,
        user_id,
        scopes: vec!["openid".into(), "offline_access".into()],
        state: RefreshState::Active,
        issued_at: NOW - 10,
        expires_at: NOW + 1000,
        rotated_at: None,
        parent_hash: None,
        session_id: Some(SIGN_IN_SESSION),
        client_binding: None,
    }
}

fn device(client_id: Uuid) -> DeviceAuthorization {
    DeviceAuthorization {
        device_code_hash: device_code_hash(&format!("DAQ{}", Uuid::new_v4().simple())),
        user_code_hash: user_code_hash(&new_user_code()),
        tenant_id: Uuid::new_v4(),
        client_id,
        scopes: vec!["openid".into()],
        status: DeviceCodeStatus::Pending,
        user_id: None,
        auth_time: None,
        session_id: None,
        interval: DEVICE_POLL_INTERVAL,
        created_at: NOW - 10,
        expires_at: NOW - 10 + DEVICE_CODE_LIFETIME,
    }
}

/// A device code approved by `user_id`; redeemed too if asked.
async fn approved_device_code(store: &Arc<dyn Store>, user_id: Uuid, redeemed: bool) -> DeviceAuthorization {
    let d = device(Uuid::new_v4());
    store.insert_device_code(&d).await.unwrap();
    let approve = DeviceDecision::Approve { user_id, auth_time: NOW - 5, session_id: SIGN_IN_SESSION };
    assert!(store
        .decide_device_code(&d.user_code_hash, approve, NOW - 5, &audit("device_code.approved"))
        .await
        .unwrap());
    if redeemed {
        let redeemed = store.redeem_device_code(&d.device_code_hash, d.client_id, (NOW - 4) * 1000).await.unwrap();
        assert!(redeemed.is_some(), "the approved code is redeemed");
    }
    d
}

/// The audit record with this (unique) action.
async fn audit_record(store: &Arc<dyn Store>, action: &str) -> serde_json::Value {
    let records =
        store.audit_events(&AuditQuery { action: Some(action.into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(records.len(), 1, "one record for {action}");
    records[0].detail.clone()
}

async fn user_revocation_ends_everything_of_the_user(store: &Arc<dyn Store>) {
    let (user, other) = (Uuid::new_v4(), Uuid::new_v4());
    let (f1, f2, f_other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut tokens = Vec::new();
    for (family, owner) in [(f1, user), (f1, user), (f2, user), (f_other, other)] {
        let t = refresh(family, owner, Uuid::new_v4());
        store.insert_refresh_token(&t, &audit("refresh_token.issued")).await.unwrap();
        tokens.push(t);
    }
    let session = |user_id, expires_at| SignInSession {
        session_id: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        user_id,
        auth_time: NOW - 100,
        expires_at,
    };
    let sessions =
        [session(user, NOW + 100), session(user, NOW + 200), session(user, NOW - 1), session(other, NOW + 100)];
    for s in &sessions {
        store.insert_session(s).await.unwrap();
    }
    let waiting = approved_device_code(store, user, false).await;
    let redeemed = approved_device_code(store, user, true).await;
    let others = approved_device_code(store, other, false).await;
    let pending = device(Uuid::new_v4());
    store.insert_device_code(&pending).await.unwrap();
    let code_of = |user_id| {
        let mut c = code(Uuid::new_v4().as_bytes(), NOW + 600);
        c.user_id = user_id;
        c
    };
    let (unredeemed, unredeemed_too, spent, others_code) =
        (code_of(user), code_of(user), code_of(user), code_of(other));
    for c in [&unredeemed, &unredeemed_too, &spent, &others_code] {
        store.insert_code(c).await.unwrap();
    }
    assert!(matches!(store.redeem_code(&spent.code_hash, NOW - 1).await.unwrap(), CodeRedemption::Redeemed(_)));

    let action = format!("user.revoked.{}", Uuid::new_v4());
    let target = RevocationTarget::User { tenant_id: Uuid::new_v4().to_string(), object_id: user.to_string() };
    let (row, effects) = store.revoke(&revocation(target), &audit(&action)).await.unwrap();
    let expected = RevocationEffects {
        refresh_families_revoked: 2,
        sessions_ended: 2,
        device_codes_denied: 1,
        codes_deleted: 2,
        ..RevocationEffects::default()
    };
    assert_eq!(effects, expected);

    for t in &tokens[..3] {
        assert_eq!(store.refresh_token(&t.token_hash).await.unwrap().unwrap().state, RefreshState::Revoked);
    }
    assert_eq!(store.refresh_token(&tokens[3].token_hash).await.unwrap().unwrap().state, RefreshState::Active);
    for s in &sessions[..2] {
        assert_eq!(store.live_session(s.session_id, NOW).await.unwrap(), None);
    }
    assert!(store.live_session(sessions[3].session_id, NOW).await.unwrap().is_some(), "other users' sessions live");
    let status =
        |d: DeviceAuthorization| async move { store.device_code(&d.device_code_hash).await.unwrap().map(|c| c.status) };
    assert_eq!(status(waiting).await, Some(DeviceCodeStatus::Declined), "approved, not redeemed: denied");
    assert_eq!(status(redeemed).await, Some(DeviceCodeStatus::Redeemed));
    assert_eq!(status(pending).await, Some(DeviceCodeStatus::Pending), "no user decided it yet");
    assert_eq!(status(others.clone()).await, Some(DeviceCodeStatus::Approved));
    assert!(store.redeem_device_code(&others.device_code_hash, others.client_id, NOW * 1000).await.unwrap().is_some());
    assert_eq!(store.redeem_code(&unredeemed.code_hash, NOW).await.unwrap(), CodeRedemption::NotFound);
    assert!(matches!(store.redeem_code(&spent.code_hash, NOW).await.unwrap(), CodeRedemption::AlreadyRedeemed(_)));
    assert!(matches!(store.redeem_code(&others_code.code_hash, NOW).await.unwrap(), CodeRedemption::Redeemed(_)));

    // Audited with the revocation: its version and what it did.
    let detail = audit_record(store, &action).await;
    assert_eq!(detail["version"], row.version);
    assert_eq!(detail["effects"]["sessions_ended"], 2);
    assert_eq!(detail["k"], "v", "the caller's detail is kept");

    // Again: the row is appended, nothing is left to end.
    let target = RevocationTarget::User { tenant_id: Uuid::new_v4().to_string(), object_id: user.to_string() };
    let (again, effects) = store.revoke(&revocation(target), &audit("user.revoked")).await.unwrap();
    assert_eq!(again.version, row.version + 1);
    assert_eq!(effects, RevocationEffects::default());
}

async fn client_revocation_revokes_its_families_and_credentials(store: &Arc<dyn Store>) {
    let t = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&t, &audit("tenant.created")).await.unwrap();
    let a = app(t.id, &format!("api://{}", Uuid::new_v4()));
    store.insert_app(&a, &audit("app.created")).await.unwrap();
    let secret = ClientSecret {
        key_id: Uuid::new_v4(),
        app_id: a.app_id,
        display_name: "ci".into(),
        hint: "abc".into(),
        secret_hash: vec![9; 32],
        created_at: 5,
        expires_at: NOW + 50,
    };
    store.insert_secret(&secret, &audit("secret.created")).await.unwrap();
    let cert = ClientCertificate {
        key_id: Uuid::new_v4(),
        app_id: a.app_id,
        display_name: "c".into(),
        der: vec![1, 2, 3],
        thumbprint_sha1: vec![4; 20],
        thumbprint_sha256: vec![5; 32],
        created_at: 5,
        expires_at: NOW + 50,
    };
    store.insert_certificate(&cert, &audit("certificate.created")).await.unwrap();
    let mine = refresh(Uuid::new_v4(), Uuid::new_v4(), a.app_id);
    let other_clients = refresh(Uuid::new_v4(), mine.user_id, Uuid::new_v4());
    for token in [&mine, &other_clients] {
        store.insert_refresh_token(token, &audit("refresh_token.issued")).await.unwrap();
    }
    // Read (and cached, behind the read cache) before the revocation.
    assert_eq!(store.secrets(a.app_id).await.unwrap().len(), 1);

    // As a person may type it: the id is matched as the store writes it.
    let typed = RevocationTarget::Client {
        client_id: a.app_id.simple().to_string().to_uppercase(),
        disable_credentials: false,
    };
    let (row, effects) = store.revoke(&revocation(typed.clone()), &audit("client.revoked")).await.unwrap();
    assert_eq!(row.revocation.target, typed, "the row keeps the id as written");
    assert_eq!(effects, RevocationEffects { refresh_families_revoked: 1, ..RevocationEffects::default() });
    assert_eq!(store.refresh_token(&mine.token_hash).await.unwrap().unwrap().state, RefreshState::Revoked);
    assert_eq!(store.refresh_token(&other_clients.token_hash).await.unwrap().unwrap().state, RefreshState::Active);
    assert_eq!(store.secrets(a.app_id).await.unwrap(), vec![secret], "credentials kept unless asked");

    let newer = refresh(Uuid::new_v4(), mine.user_id, a.app_id);
    store.insert_refresh_token(&newer, &audit("refresh_token.issued")).await.unwrap();
    let disable = RevocationTarget::Client { client_id: a.app_id.to_string(), disable_credentials: true };
    let (_, effects) = store.revoke(&revocation(disable), &audit("client.revoked")).await.unwrap();
    assert_eq!(
        effects,
        RevocationEffects { refresh_families_revoked: 1, credentials_deleted: 2, ..RevocationEffects::default() }
    );
    assert_eq!(store.refresh_token(&newer.token_hash).await.unwrap().unwrap().state, RefreshState::Revoked);
    assert!(store.secrets(a.app_id).await.unwrap().is_empty(), "secrets deleted");
    assert!(store.certificates(a.app_id).await.unwrap().is_empty(), "certificates deleted");
}

async fn key_revocation_removes_our_key(store: &Arc<dyn Store>) {
    let kid = format!("ours-{}", Uuid::new_v4());
    let key = StoredSigningKey {
        kid: kid.clone(),
        state: KeyState::Retired,
        sealed_private_key: vec![1],
        cert_der: vec![2],
        created_at: NOW,
        retire_after: Some(NOW + 100),
    };
    store.insert_signing_key(&key, &audit("key.created")).await.unwrap();
    let (row, effects) =
        store.revoke(&revocation(RevocationTarget::Key { kid: kid.clone() }), &audit("key.revoked")).await.unwrap();
    assert!(effects.signing_key_removed);
    assert!(store.signing_keys().await.unwrap().iter().all(|k| k.kid != kid), "gone from the key ring");
    assert_eq!(store.feed_head().await.unwrap(), row.version, "one version for the row and the key's removal");
    let foreign = RevocationTarget::Key { kid: "an-entra-kid".into() };
    let (_, effects) = store.revoke(&revocation(foreign), &audit("key.revoked")).await.unwrap();
    assert_eq!(effects, RevocationEffects::default(), "a key we do not hold: only the row");
}

/// The family revocations on the feed since `after`.
async fn family_rows(store: &Arc<dyn Store>, after: i64, family: Uuid) -> Vec<Revocation> {
    let rows = store.revocations_after(after, NOW).await.unwrap().rows;
    rows.into_iter()
        .filter(|r| matches!(&r.revocation.target, RevocationTarget::Family { family_id, .. } if *family_id == family.to_string()))
        .collect()
}

fn token_ids(row: &Revocation) -> Vec<String> {
    match &row.revocation.target {
        RevocationTarget::Family { token_ids, .. } => token_ids.clone(),
        other => panic!("not a family: {other:?}"),
    }
}

async fn family_revocations_carry_their_access_tokens(store: &Arc<dyn Store>) {
    // `revoke`: the store names the family's unexpired access tokens.
    let family = Uuid::new_v4();
    let token = refresh(family, Uuid::new_v4(), Uuid::new_v4());
    store.insert_refresh_token(&token, &audit("refresh_token.issued")).await.unwrap();
    for (uti, expires_at) in [("u1", NOW + 100), ("u2", NOW + 200), ("expired", NOW - 1)] {
        store.record_family_access_token(family, uti, expires_at).await.unwrap();
    }
    let target = RevocationTarget::Family { family_id: family.to_string(), token_ids: vec![] };
    let (row, effects) = store.revoke(&revocation(target), &audit("family.revoked")).await.unwrap();
    assert_eq!(token_ids(&row), vec!["u1", "u2"]);
    assert_eq!(effects, RevocationEffects { refresh_families_revoked: 1, ..RevocationEffects::default() });
    assert_eq!(store.refresh_token(&token.token_hash).await.unwrap().unwrap().state, RefreshState::Revoked);
    assert_eq!(family_rows(store, row.version - 1, family).await, vec![row.clone()], "the stored row is returned");

    // An access token recorded after the revocation (minted concurrently) goes on the feed on
    // its own, once.
    let head = store.feed_head().await.unwrap();
    store.record_family_access_token(family, "late", NOW + 300).await.unwrap();
    let late = store.revocations_after(head, NOW).await.unwrap().rows;
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].revocation.target, RevocationTarget::Token { token_id: "late".into() });
    assert_eq!(late[0].revocation.forget_after, NOW + 300, "kept until the token expires");
    store.record_family_access_token(family, "late", NOW + 300).await.unwrap();
    assert_eq!(store.feed_head().await.unwrap(), head + 1, "recorded again: nothing new");
    let unrevoked = Uuid::new_v4();
    store.record_family_access_token(unrevoked, "fine", NOW + 300).await.unwrap();
    assert_eq!(store.feed_head().await.unwrap(), head + 1, "a live family's token is not revoked");

    // The caller's token ids are kept; the store adds those it remembers.
    let target = RevocationTarget::Family { family_id: family.to_string(), token_ids: vec!["from-caller".into()] };
    let (again, effects) = store.revoke(&revocation(target), &audit("family.revoked")).await.unwrap();
    assert_eq!(token_ids(&again), vec!["from-caller", "late", "u1", "u2"]);
    assert_eq!(effects, RevocationEffects::default(), "revoked before");

    // `revoke_family`: appended once, kept until its last access token expires.
    let other = Uuid::new_v4();
    store.insert_refresh_token(&refresh(other, Uuid::new_v4(), Uuid::new_v4()), &audit("x")).await.unwrap();
    store.record_family_access_token(other, "o1", NOW + 50).await.unwrap();
    store.record_family_access_token(other, "o2", NOW + 70).await.unwrap();
    let head = store.feed_head().await.unwrap();
    store.revoke_family(other, NOW, &audit("refresh_family.revoked")).await.unwrap();
    let rows = family_rows(store, head, other).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(token_ids(&rows[0]), vec!["o1", "o2"]);
    assert_eq!(rows[0].revocation.forget_after, NOW + 70);
    assert_eq!(rows[0].revocation.created_at_ms, NOW * 1000);
    store.revoke_family(other, NOW + 1, &audit("refresh_family.revoked")).await.unwrap();
    assert_eq!(store.feed_head().await.unwrap(), head + 1, "revoked before: already on the feed");
}

async fn reuse_detection_appends_the_family(store: &Arc<dyn Store>) {
    let family = Uuid::new_v4();
    let first = refresh(family, Uuid::new_v4(), Uuid::new_v4());
    store.insert_refresh_token(&first, &audit("refresh_token.issued")).await.unwrap();
    let detect = ReusePolicy::RotateAndDetect { grace_seconds: 0 };
    let minted = MintedAccessToken { uti: format!("uti-{}", Uuid::new_v4()), expires_at: NOW + 600 };
    let successor = refresh(Uuid::nil(), Uuid::nil(), first.client_id);
    let out = store.rotate_refresh_token(&first.token_hash, &successor, &minted, detect, NOW, &audit("r")).await;
    assert!(matches!(out.unwrap(), RotationOutcome::Rotated { .. }));
    let head = store.feed_head().await.unwrap();
    let action = format!("refresh.{}", Uuid::new_v4());
    let replay = refresh(Uuid::nil(), Uuid::nil(), first.client_id);
    let out = store.rotate_refresh_token(&first.token_hash, &replay, &minted, detect, NOW + 5, &audit(&action)).await;
    assert_eq!(out.unwrap(), RotationOutcome::ReuseDetected { family_id: family });
    let rows = family_rows(store, head, family).await;
    assert_eq!(rows.len(), 1, "the family is on the feed");
    assert_eq!(rows[0].version, head + 1);
    assert_eq!(token_ids(&rows[0]), vec![minted.uti.clone()], "with the access token minted at the rotation");
    assert_eq!(rows[0].revocation.actor, "reuse-detection");
    assert_eq!(rows[0].revocation.forget_after, NOW + 600);
    let records = store
        .audit_events(&AuditQuery {
            action: Some("refresh_token.reuse_detected".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(records.iter().any(|r| r.detail["version"] == rows[0].version), "audited with its version");
}

/// Access tokens recorded while their family is being revoked: each reaches the feed, named by
/// the family's row or by a row of its own, whichever transaction commits first.
async fn tokens_recorded_during_a_family_revocation_are_revoked(store: &Arc<dyn Store>) {
    for round in 0..5 {
        let family = Uuid::new_v4();
        store.insert_refresh_token(&refresh(family, Uuid::new_v4(), Uuid::new_v4()), &audit("x")).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..10 {
            let recorder = Arc::clone(store);
            tasks.spawn(async move {
                let uti = format!("{family}-{i}");
                recorder.record_family_access_token(family, &uti, NOW + 600).await.unwrap();
                Some(uti)
            });
            if i == 4 {
                let revoker = Arc::clone(store);
                tasks.spawn(async move {
                    revoker.revoke_family(family, NOW, &audit("refresh_family.revoked")).await.unwrap();
                    None
                });
            }
        }
        let mut recorded = Vec::new();
        while let Some(uti) = tasks.join_next().await {
            recorded.extend(uti.unwrap());
        }
        let revoked = revoked_token_ids(store, NOW).await;
        for uti in &recorded {
            assert!(revoked.contains(uti), "round {round}: {uti} of a revoked family is not on the feed");
        }
    }
}

/// Rotations racing a family's revocation: every rotation that succeeded remembered its access
/// token where the revocation saw it (the first claims the live token; with Entra-compatible
/// reuse the others present it again and are accepted without its row lock).
async fn tokens_minted_by_rotations_during_a_family_revocation_are_revoked(store: &Arc<dyn Store>) {
    for round in 0..5 {
        let family = Uuid::new_v4();
        let live = refresh(family, Uuid::new_v4(), Uuid::new_v4());
        store.insert_refresh_token(&live, &audit("refresh_token.issued")).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let rotating = Arc::clone(store);
            let (presented, client_id) = (live.token_hash.clone(), live.client_id);
            tasks.spawn(async move {
                let minted = MintedAccessToken { uti: format!("{family}-{i}"), expires_at: NOW + 600 };
                let successor = refresh(Uuid::nil(), Uuid::nil(), client_id);
                let policy = ReusePolicy::EntraCompatible;
                let out =
                    rotating.rotate_refresh_token(&presented, &successor, &minted, policy, NOW, &audit("r")).await;
                matches!(out.unwrap(), RotationOutcome::Rotated { .. }).then_some(minted.uti)
            });
            if i == 3 {
                let revoker = Arc::clone(store);
                tasks.spawn(async move {
                    revoker.revoke_family(family, NOW, &audit("refresh_family.revoked")).await.unwrap();
                    None
                });
            }
        }
        let mut minted = Vec::new();
        while let Some(uti) = tasks.join_next().await {
            minted.extend(uti.unwrap());
        }
        let revoked = revoked_token_ids(store, NOW).await;
        for uti in &minted {
            assert!(revoked.contains(uti), "round {round}: {uti}, minted by a rotation, is not on the feed");
        }
    }
}

on_every_backend!(
    tokens_recorded_during_a_family_revocation_are_revoked,
    tokens_minted_by_rotations_during_a_family_revocation_are_revoked,
    user_revocation_ends_everything_of_the_user,
    client_revocation_revokes_its_families_and_credentials,
    key_revocation_removes_our_key,
    family_revocations_carry_their_access_tokens,
    reuse_detection_appends_the_family
);
