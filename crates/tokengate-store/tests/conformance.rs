//! ONE conformance suite for every store backend: the same checks run on SQLite (always) and on
//! Postgres (when `TOKENGATE_TEST_PG_URL` is set; CI sets it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::directory::*;
use tokengate_core::grants::client_binding::ClientBinding;
use tokengate_core::grants::device_code::{
    device_code_hash, new_user_code, user_code_hash, DeviceAuthorization, DeviceCodeStatus, DeviceDecision, DevicePoll,
    DEVICE_CODE_LIFETIME, DEVICE_POLL_INTERVAL, MAX_POLL_INTERVAL,
};
use tokengate_core::grants::token_families::*;
use tokengate_core::keys::{KeyState, StoredSigningKey};
use tokengate_core::pkce::ChallengeMethod;
use tokengate_core::store::{AuditQuery, KeyRotation, SignInSession, Store, StoreError, UseRecord};
use tokengate_store::{PgStore, ReadCachedStore, SqliteStore};
use uuid::Uuid;

/// The browser session a code, approval or refresh family came from.
const SIGN_IN_SESSION: Uuid = Uuid::from_u128(0x5e55_1011);

fn audit(action: &str) -> AuditEvent {
    AuditEvent::admin(action, None, serde_json::json!({"k": "v"}), 1_000)
}

fn tenant(domain: &str) -> Tenant {
    Tenant { id: Uuid::new_v4(), display_name: "Contoso".into(), domains: vec![domain.into()], created_at: 1 }
}

fn app(tenant_id: Uuid, uri: &str) -> AppRegistration {
    AppRegistration {
        app_id: Uuid::new_v4(),
        tenant_id,
        display_name: "orders".into(),
        identifier_uris: vec![uri.into()],
        sign_in_audience: SignInAudience::AzureADMyOrg,
        access_token_accepted_version: Some(2),
        scopes: vec![],
        app_roles: vec![AppRole {
            id: Uuid::new_v4(),
            value: "Orders.Read.All".into(),
            display_name: "Read".into(),
            allowed_member_types: vec![AllowedMemberType::Application],
            enabled: true,
        }],
        redirect_uris: vec![],
        is_public_client: false,
        single_use_client_assertions: false,
        entra_compatible_refresh_tokens: false,
        group_membership_claims: false,
        required_resource_access: vec![],
        created_at: 2,
    }
}

fn key(kid: &str, state: KeyState, created_at: i64) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.into(),
        state,
        sealed_private_key: vec![1, 2, 3],
        cert_der: vec![4, 5],
        created_at,
        retire_after: None,
    }
}

async fn audit_count(store: &dyn Store) -> usize {
    store.audit_events(&AuditQuery { limit: 10_000, ..Default::default() }).await.unwrap().len()
}

async fn tenants_and_domains(store: &dyn Store) {
    let t = tenant("Contoso.Example");
    store.insert_tenant(&t, &audit("tenant.created")).await.unwrap();
    let found = store.tenant(t.id).await.unwrap().unwrap();
    assert_eq!(found.domains, vec!["contoso.example".to_string()], "domains are case-insensitive");
    assert_eq!(store.tenant_by_domain("CONTOSO.example").await.unwrap().unwrap().id, t.id);
    assert_eq!(store.tenant_by_domain("other.example").await.unwrap(), None);
    let dup = tenant("contoso.example");
    assert!(matches!(store.insert_tenant(&dup, &audit("x")).await, Err(StoreError::Conflict(_))));
    assert!(store.tenant(dup.id).await.unwrap().is_none(), "failed insert left nothing behind");
    assert!(store.tenants().await.unwrap().iter().any(|x| x.id == t.id));
}

async fn apps_and_identifier_uris(store: &dyn Store) {
    let t = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&t, &audit("tenant.created")).await.unwrap();
    let mut a = app(t.id, "api://orders");
    // Configured API permissions (requiredResourceAccess) round-trip with the registration.
    a.required_resource_access = vec![RequiredResourceAccess {
        resource_app_id: Uuid::new_v4(),
        resource_access: vec![
            ResourceAccess { id: Uuid::new_v4(), kind: ResourceAccessKind::Scope },
            ResourceAccess { id: Uuid::new_v4(), kind: ResourceAccessKind::Role },
        ],
    }];
    store.insert_app(&a, &audit("app.created")).await.unwrap();
    assert_eq!(store.app(a.app_id).await.unwrap().unwrap(), a);
    let configured = store
        .update_app(
            a.app_id,
            &|app: &mut AppRegistration| {
                app.required_resource_access.retain(|r| r.resource_access.len() > 5);
                Ok(())
            },
            &audit("app.permission_removed"),
        )
        .await
        .unwrap();
    assert!(configured.required_resource_access.is_empty());
    assert_eq!(store.app(a.app_id).await.unwrap().unwrap(), configured, "the change is read back, cached or not");
    let a = configured;
    assert_eq!(store.app_by_identifier_uri(t.id, "api://orders/").await.unwrap().unwrap().app_id, a.app_id);
    let clash = app(t.id, "api://orders");
    let before = audit_count(store).await;
    assert!(matches!(store.insert_app(&clash, &audit("app.created")).await, Err(StoreError::Conflict(_))));
    assert!(store.app(clash.app_id).await.unwrap().is_none());
    assert_eq!(audit_count(store).await, before, "no audit record for a change that did not happen");

    // Another tenant sees the app only once it has a service principal there.
    let other = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&other, &audit("tenant.created")).await.unwrap();
    assert!(store.app_by_identifier_uri(other.id, "api://orders").await.unwrap().is_none());
    let sp = ServicePrincipal {
        object_id: Uuid::new_v4(),
        tenant_id: other.id,
        app_id: a.app_id,
        display_name: "orders".into(),
        created_at: 3,
    };
    store.insert_service_principal(&sp, &audit("sp.created")).await.unwrap();
    assert_eq!(store.app_by_identifier_uri(other.id, "api://orders").await.unwrap().unwrap().app_id, a.app_id);
    assert_eq!(store.service_principal(other.id, a.app_id).await.unwrap().unwrap(), sp);
    let dup_sp = ServicePrincipal { object_id: Uuid::new_v4(), ..sp.clone() };
    assert!(matches!(store.insert_service_principal(&dup_sp, &audit("x")).await, Err(StoreError::Conflict(_))));

    // Compare-and-swap updates: concurrent changes all land.
    let mut handles = Vec::new();
    for i in 0..8 {
        let store: Arc<dyn Store> = STORE.with(|s| s.borrow().clone()).unwrap();
        let app_id = a.app_id;
        handles.push(tokio::spawn(async move {
            let uri = format!("api://orders-{i}");
            store
                .update_app(
                    app_id,
                    &move |app: &mut AppRegistration| {
                        app.identifier_uris.push(uri.clone());
                        Ok(())
                    },
                    &audit("app.updated"),
                )
                .await
                .unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let updated = store.app(a.app_id).await.unwrap().unwrap();
    assert_eq!(updated.identifier_uris.len(), 9, "no lost update: {:?}", updated.identifier_uris);
    assert!(store.app_by_identifier_uri(t.id, "api://orders-5").await.unwrap().is_some());
    let err = store
        .update_app(a.app_id, &|_: &mut AppRegistration| Err(StoreError::Invalid("nope".into())), &audit("x"))
        .await;
    assert_eq!(err, Err(StoreError::Invalid("nope".into())));
    assert_eq!(
        store.update_app(Uuid::new_v4(), &|_: &mut AppRegistration| Ok(()), &audit("x")).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.apps(t.id).await.unwrap().len(), 1);
}

async fn credentials_and_grants(store: &dyn Store) {
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
        expires_at: 50,
    };
    store.insert_secret(&secret, &audit("secret.created")).await.unwrap();
    assert_eq!(store.secrets(a.app_id).await.unwrap(), vec![secret.clone()]);
    assert_eq!(store.delete_secret(a.app_id, Uuid::new_v4(), &audit("x")).await, Err(StoreError::NotFound));
    store.delete_secret(a.app_id, secret.key_id, &audit("secret.deleted")).await.unwrap();
    assert!(store.secrets(a.app_id).await.unwrap().is_empty());

    let cert = ClientCertificate {
        key_id: Uuid::new_v4(),
        app_id: a.app_id,
        display_name: "c".into(),
        der: vec![1, 2, 3],
        thumbprint_sha1: vec![4; 20],
        thumbprint_sha256: vec![5; 32],
        created_at: 5,
        expires_at: 50,
    };
    store.insert_certificate(&cert, &audit("certificate.created")).await.unwrap();
    assert_eq!(store.certificates(a.app_id).await.unwrap(), vec![cert.clone()]);
    store.delete_certificate(a.app_id, cert.key_id, &audit("certificate.deleted")).await.unwrap();
    assert!(store.certificates(a.app_id).await.unwrap().is_empty());

    let principal = Uuid::new_v4();
    let grant = AppRoleGrant {
        id: Uuid::new_v4(),
        tenant_id: t.id,
        principal_id: principal,
        resource_app_id: a.app_id,
        app_role_id: a.app_roles[0].id,
        created_at: 6,
    };
    store.insert_app_role_grant(&grant, &audit("grant.created")).await.unwrap();
    let dup = AppRoleGrant { id: Uuid::new_v4(), ..grant.clone() };
    assert!(matches!(store.insert_app_role_grant(&dup, &audit("x")).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.app_role_grants(principal, Some(a.app_id)).await.unwrap(), vec![grant.clone()]);
    assert!(store.app_role_grants(principal, Some(Uuid::new_v4())).await.unwrap().is_empty());
    assert_eq!(store.app_role_grants(principal, None).await.unwrap().len(), 1);
    store.delete_app_role_grant(grant.id, &audit("grant.deleted")).await.unwrap();
    assert!(store.app_role_grants(principal, None).await.unwrap().is_empty());
}

async fn signing_key_rotation(store: &dyn Store) {
    let prefix = Uuid::new_v4().simple().to_string();
    let k = |s: &str| format!("{prefix}-{s}");
    store.insert_signing_key(&key(&k("a"), KeyState::Active, 1), &audit("key.created")).await.unwrap();
    store.insert_signing_key(&key(&k("n"), KeyState::Next, 2), &audit("key.created")).await.unwrap();
    let mut old = key(&k("old"), KeyState::Retired, 0);
    old.retire_after = Some(10);
    store.insert_signing_key(&old, &audit("key.created")).await.unwrap();
    let rotation = KeyRotation {
        promote: Some(k("n")),
        new_active: None,
        retire: vec![k("a")],
        retire_after: 500,
        drop: vec![k("old")],
        new_next: Some(key(&k("n2"), KeyState::Next, 3)),
    };
    store.rotate_signing_keys(&rotation, &audit("key.rotated")).await.unwrap();
    let mine: Vec<StoredSigningKey> =
        store.signing_keys().await.unwrap().into_iter().filter(|x| x.kid.starts_with(&prefix)).collect();
    let state = |kid: &str| mine.iter().find(|x| x.kid == kid).map(|x| (x.state, x.retire_after));
    assert_eq!(state(&k("a")), Some((KeyState::Retired, Some(500))));
    assert_eq!(state(&k("n")), Some((KeyState::Active, None)));
    assert_eq!(state(&k("n2")), Some((KeyState::Next, None)));
    assert_eq!(state(&k("old")), None);
    assert_eq!(mine.iter().find(|x| x.kid == k("n")).unwrap().sealed_private_key, vec![1, 2, 3]);

    // A rotation that cannot apply (promoting a key that is not `next`) changes nothing.
    let bad = KeyRotation {
        promote: Some(k("a")),
        new_active: None,
        retire: vec![k("n")],
        retire_after: 9,
        drop: vec![],
        new_next: None,
    };
    assert!(matches!(store.rotate_signing_keys(&bad, &audit("key.rotated")).await, Err(StoreError::Conflict(_))));
    let again: Vec<StoredSigningKey> =
        store.signing_keys().await.unwrap().into_iter().filter(|x| x.kid.starts_with(&prefix)).collect();
    assert_eq!(again, mine, "failed rotation rolled back entirely");

    assert_eq!(store.delete_signing_key("no-such-kid", &audit("x")).await, Err(StoreError::NotFound));
    store.delete_signing_key(&k("n2"), &audit("key.removed")).await.unwrap();
}

async fn replay_protection(store: &dyn Store) {
    let ns = format!("assertion:{}", Uuid::new_v4());
    assert_eq!(store.record_use(&ns, "jti-1", b"a", 100, 10).await.unwrap(), UseRecord::First);
    assert_eq!(store.record_use(&ns, "jti-1", b"a", 100, 20).await.unwrap(), UseRecord::Repeated);
    assert_eq!(store.record_use(&ns, "jti-1", b"b", 100, 20).await.unwrap(), UseRecord::Conflicting);
    assert_eq!(store.record_use(&ns, "jti-2", b"a", 100, 20).await.unwrap(), UseRecord::First);
    assert_eq!(
        store.record_use("other", "jti-1", b"b", 100, 20).await.unwrap(),
        UseRecord::First,
        "namespaces are separate"
    );
    assert_eq!(
        store.record_use(&ns, "jti-1", b"b", 300, 101).await.unwrap(),
        UseRecord::First,
        "expired record no longer counts"
    );

    // Concurrent first uses: exactly one wins.
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store: Arc<dyn Store> = STORE.with(|s| s.borrow().clone()).unwrap();
        let ns = ns.clone();
        handles.push(tokio::spawn(async move {
            store.record_use(&ns, "race", b"f", 1000, 50).await.unwrap() == UseRecord::First
        }));
    }
    let mut wins = 0;
    for h in handles {
        wins += usize::from(h.await.unwrap());
    }
    assert_eq!(wins, 1);
}

async fn audit_log(store: &dyn Store) {
    let action = format!("token.test.{}", Uuid::new_v4());
    let mut events = Vec::new();
    for i in 0..3 {
        let mut e = AuditEvent::new(AuditSource::Issuer, &action, Outcome::Denied, 2_000 + i);
        e.reason = Some("AADSTS7000215".into());
        e.status = Some(401);
        e.client_ip = Some("127.0.0.1".into());
        e.detail = serde_json::json!({"i": i});
        events.push(e);
    }
    store.append_audit(&events).await.unwrap();
    let read = store
        .audit_events(&AuditQuery { source: Some(AuditSource::Issuer), action: Some(action.clone()), limit: 10 })
        .await
        .unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(read[0], events[2], "newest first, every field round-trips");
    let limited =
        store.audit_events(&AuditQuery { action: Some(action), limit: 2, ..Default::default() }).await.unwrap();
    assert_eq!(limited.len(), 2);
    store.append_audit(&[]).await.unwrap();
}

async fn users_groups_and_consent(store: &dyn Store) {
    let t = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&t, &audit("tenant.created")).await.unwrap();
    let upn = format!("Alice.{}@Contoso.Example", Uuid::new_v4().simple());
    let alice = User {
        object_id: Uuid::new_v4(),
        tenant_id: t.id,
        user_principal_name: upn.to_ascii_lowercase(),
        display_name: "Alice".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        enabled: true,
        created_at: 7,
    };
    store.insert_user(&alice, &audit("user.created")).await.unwrap();
    assert_eq!(store.user(alice.object_id).await.unwrap().unwrap(), alice);
    assert_eq!(store.user_by_upn(&upn).await.unwrap().unwrap().object_id, alice.object_id, "UPN lookup ignores case");
    let twin = User { object_id: Uuid::new_v4(), ..alice.clone() };
    assert!(matches!(store.insert_user(&twin, &audit("x")).await, Err(StoreError::Conflict(_))), "UPN unique");
    let disabled = store
        .update_user(
            alice.object_id,
            &|u: &mut User| {
                u.enabled = false;
                Ok(())
            },
            Some(&audit("user.disabled")),
        )
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert!(!store.user(alice.object_id).await.unwrap().unwrap().enabled);
    assert_eq!(store.users(t.id).await.unwrap().len(), 1);

    let g = Group { object_id: Uuid::new_v4(), tenant_id: t.id, display_name: "Sales".into(), created_at: 8 };
    store.insert_group(&g, &audit("group.created")).await.unwrap();
    store.add_group_member(g.object_id, alice.object_id, &audit("group.member_added")).await.unwrap();
    assert!(matches!(
        store.add_group_member(g.object_id, alice.object_id, &audit("x")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.groups_of(alice.object_id).await.unwrap(), vec![g.clone()]);
    assert_eq!(store.groups(t.id).await.unwrap(), vec![g]);

    // Consent: per-user and tenant-wide grants merge scopes, each in its own row.
    let (client, resource) = (Uuid::new_v4(), Uuid::new_v4());
    let grant = |principal: Option<Uuid>, scopes: &[&str]| DelegatedGrant {
        id: Uuid::new_v4(),
        tenant_id: t.id,
        client_app_id: client,
        resource_app_id: resource,
        principal_id: principal,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        created_at: 9,
    };
    store.grant_delegated(&grant(Some(alice.object_id), &["Orders.Read"]), &audit("consent.granted")).await.unwrap();
    let merged = store
        .grant_delegated(&grant(Some(alice.object_id), &["Orders.Write", "Orders.Read"]), &audit("consent.granted"))
        .await
        .unwrap();
    assert_eq!(merged.scopes, vec!["Orders.Read".to_string(), "Orders.Write".to_string()]);
    store.grant_delegated(&grant(None, &["Profile.Read"]), &audit("consent.admin")).await.unwrap();
    let grants = store.delegated_grants(t.id, client, resource, alice.object_id).await.unwrap();
    assert_eq!(grants.len(), 2);
    assert!(grants.iter().any(|g| g.principal_id.is_none() && g.scopes == vec!["Profile.Read".to_string()]));
    assert_eq!(
        store.delegated_grants(t.id, client, resource, Uuid::new_v4()).await.unwrap().len(),
        1,
        "only the tenant-wide grant for others"
    );
}

fn code(hash: &[u8], expires_at: i64) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.to_vec(),
        tenant_id: Uuid::new_v4(),
        client_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        redirect_uri: "http://localhost:5000/cb".into(),
        scopes: vec!["openid".into(), "api://x/Read".into()],
        nonce: Some("n".into()),
        pkce_challenge: Some("c".repeat(43)),
        pkce_method: Some(ChallengeMethod::S256),
        auth_time: 10,
        created_at: 10,
        expires_at,
        family_id: Some(Uuid::new_v4()),
        session_id: Some(SIGN_IN_SESSION),
        redirect_platform: Some(RedirectPlatform::Spa),
    }
}

async fn authorization_codes(store: &dyn Store) {
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
        let store: Arc<dyn Store> = STORE.with(|s| s.borrow().clone()).unwrap();
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

async fn refresh_rotation(store: &dyn Store) {
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
    assert!(store.revoked_access_tokens(0, 300).await.unwrap().contains(&"uti-of-family".to_string()));
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
        let store: Arc<dyn Store> = STORE.with(|s| s.borrow().clone()).unwrap();
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
async fn refresh_grace_race(store: &dyn Store) {
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
        let revoked = store.revoked_access_tokens(0, 200).await.unwrap();
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
async fn refresh_lookup_and_binding(store: &dyn Store) {
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
        store.revoked_access_tokens(0, 1_000).await.unwrap().contains(&"uti-of-rotation".to_string()),
        "the access token minted with the rotation is remembered in the same transaction"
    );

    // Purging: nothing unexpired goes; once expired, the tokens and their family's revocation go.
    store.record_family_access_token(family, "uti-purge", 1_150).await.unwrap();
    store.purge_expired_tokens(1_000).await.unwrap();
    assert!(store.refresh_token(&t2).await.unwrap().is_some(), "t2 expires at 1120");
    assert!(store.revoked_access_tokens(0, 1_000).await.unwrap().contains(&"uti-purge".to_string()));
    store.purge_expired_tokens(1_200).await.unwrap();
    assert_eq!(store.refresh_token(&t1).await.unwrap(), None);
    assert_eq!(store.refresh_token(&t2).await.unwrap(), None);
    assert!(!store.revoked_access_tokens(0, 1_000).await.unwrap().contains(&"uti-purge".to_string()));
}

/// How a code and a refresh family must be redeemed is stored with them (migration 0006) and
/// kept by every successor; rows written before it read back as `None`.
async fn client_binding_is_stored_and_inherited(store: &dyn Store) {
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

/// Seconds; every device-code test runs at this clock (polls in milliseconds from `NOW * 1000`).
const NOW: i64 = 1_700_000_000;

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

async fn audits_of(store: &dyn Store, action: &str) -> usize {
    store
        .audit_events(&AuditQuery { action: Some(action.into()), limit: 100, ..Default::default() })
        .await
        .unwrap()
        .len()
}

async fn device_code_insert_and_lookup(store: &dyn Store) {
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

async fn device_code_decisions(store: &dyn Store) {
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

async fn device_code_polling(store: &dyn Store) {
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

async fn device_code_parallel_polls(store: &dyn Store) {
    let client = Uuid::new_v4();
    let c = device(client);
    store.insert_device_code(&c).await.unwrap();
    let approve = DeviceDecision::Approve { user_id: Uuid::new_v4(), auth_time: NOW, session_id: SIGN_IN_SESSION };
    assert!(store.decide_device_code(&c.user_code_hash, approve, NOW, &audit("device_code.approved")).await.unwrap());
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store: Arc<dyn Store> = STORE.with(|s| s.borrow().clone()).unwrap();
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

async fn identifier_uris_unique_across_tenants(store: &dyn Store) {
    let uri = format!("api://{}", Uuid::new_v4());
    let t1 = tenant(&format!("{}.example", Uuid::new_v4()));
    let t2 = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&t1, &audit("tenant.created")).await.unwrap();
    store.insert_tenant(&t2, &audit("tenant.created")).await.unwrap();
    let a = app(t1.id, &uri);
    store.insert_app(&a, &audit("app.created")).await.unwrap();
    let before = audit_count(store).await;
    // Another tenant's app, with the same URI or the same URI with a trailing slash.
    for taken in [uri.clone(), format!("{uri}/")] {
        let clash = app(t2.id, &taken);
        match store.insert_app(&clash, &audit("app.created")).await {
            Err(StoreError::Conflict(message)) => assert!(message.contains(&uri), "names the URI: {message}"),
            other => panic!("a taken App ID URI must conflict: {other:?}"),
        }
        assert!(store.app(clash.app_id).await.unwrap().is_none(), "nothing left behind");
    }
    // Adding a taken URI to an existing app is refused as well, and changes nothing.
    let b = app(t2.id, &format!("api://{}", Uuid::new_v4()));
    store.insert_app(&b, &audit("app.created")).await.unwrap();
    let taken = uri.clone();
    let err = store
        .update_app(
            b.app_id,
            &move |app: &mut AppRegistration| {
                app.identifier_uris.push(taken.clone());
                Ok(())
            },
            &audit("app.updated"),
        )
        .await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    assert_eq!(store.app(b.app_id).await.unwrap().unwrap().identifier_uris, b.identifier_uris);
    assert_eq!(audit_count(store).await, before + 1, "only b's creation was audited");
    assert_eq!(store.app_by_identifier_uri(t1.id, &uri).await.unwrap().unwrap().app_id, a.app_id);
}

async fn sign_in_sessions(store: &dyn Store) {
    let user_id = Uuid::new_v4();
    let session = |expires_at| SignInSession {
        session_id: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        user_id,
        auth_time: NOW,
        expires_at,
    };
    let s1 = session(NOW + 3600);
    store.insert_session(&s1).await.unwrap();
    assert!(matches!(store.insert_session(&s1).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.live_session(s1.session_id, NOW).await.unwrap(), Some(s1.clone()));
    assert_eq!(store.live_session(s1.session_id, NOW + 3600).await.unwrap(), None, "expired");
    assert_eq!(store.live_session(Uuid::new_v4(), NOW).await.unwrap(), None, "unknown");

    // Ending is durable and audited, once.
    let before = audit_count(store).await;
    assert!(store.end_session(s1.session_id, NOW + 1, &audit("session.ended")).await.unwrap());
    assert_eq!(store.live_session(s1.session_id, NOW + 1).await.unwrap(), None);
    assert_eq!(audit_count(store).await, before + 1);
    assert!(!store.end_session(s1.session_id, NOW + 2, &audit("session.ended")).await.unwrap(), "already ended");
    assert!(!store.end_session(Uuid::new_v4(), NOW + 2, &audit("session.ended")).await.unwrap());
    assert_eq!(audit_count(store).await, before + 1, "no record for nothing ended");

    // All of a user's sessions end at once (disabled, revoked); other users' stay.
    let (s2, s3) = (session(NOW + 3600), session(NOW + 7200));
    let other = SignInSession { user_id: Uuid::new_v4(), ..session(NOW + 3600) };
    for s in [&s2, &s3, &other] {
        store.insert_session(s).await.unwrap();
    }
    let ended = store.end_user_sessions(user_id, NOW + 5, &audit("user.sessions_revoked")).await.unwrap();
    assert_eq!(ended, 2);
    assert_eq!(store.live_session(s2.session_id, NOW + 5).await.unwrap(), None);
    assert_eq!(store.live_session(s3.session_id, NOW + 5).await.unwrap(), None);
    assert_eq!(store.live_session(other.session_id, NOW + 5).await.unwrap(), Some(other.clone()));
    let record = store
        .audit_events(&AuditQuery { action: Some("user.sessions_revoked".into()), limit: 1, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(record[0].detail["sessions_ended"], 2);

    // Purge deletes only what expired.
    let purged = store.purge_expired_sessions(NOW + 3601).await.unwrap();
    assert_eq!(purged, 3, "s1, s2 and other expired; s3 did not");
    store.insert_session(&session(NOW + 10_000)).await.unwrap();
    assert_eq!(store.purge_expired_sessions(NOW + 3601).await.unwrap(), 0);
}

thread_local! {
    static STORE: std::cell::RefCell<Option<Arc<dyn Store>>> = const { std::cell::RefCell::new(None) };
}

async fn run_suite(store: Arc<dyn Store>) {
    STORE.with(|s| *s.borrow_mut() = Some(store.clone()));
    tenants_and_domains(store.as_ref()).await;
    apps_and_identifier_uris(store.as_ref()).await;
    credentials_and_grants(store.as_ref()).await;
    signing_key_rotation(store.as_ref()).await;
    replay_protection(store.as_ref()).await;
    audit_log(store.as_ref()).await;
    users_groups_and_consent(store.as_ref()).await;
    authorization_codes(store.as_ref()).await;
    refresh_rotation(store.as_ref()).await;
    refresh_grace_race(store.as_ref()).await;
    refresh_lookup_and_binding(store.as_ref()).await;
    client_binding_is_stored_and_inherited(store.as_ref()).await;
    device_code_insert_and_lookup(store.as_ref()).await;
    device_code_decisions(store.as_ref()).await;
    device_code_polling(store.as_ref()).await;
    device_code_parallel_polls(store.as_ref()).await;
    identifier_uris_unique_across_tenants(store.as_ref()).await;
    sign_in_sessions(store.as_ref()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn sqlite_conforms() {
    let dir = std::env::temp_dir().join(format!("tokengate-conformance-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("store.db")).await.unwrap();
    run_suite(Arc::new(store)).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn sqlite_behind_read_cache_conforms() {
    let dir = std::env::temp_dir().join(format!("tokengate-conformance-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("store.db")).await.unwrap();
    let cached = ReadCachedStore::new(Arc::new(store), std::time::Duration::from_secs(60));
    run_suite(Arc::new(cached)).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn postgres_conforms() {
    let Ok(url) = std::env::var("TOKENGATE_TEST_PG_URL") else {
        eprintln!("TOKENGATE_TEST_PG_URL not set: Postgres conformance skipped");
        return;
    };
    let schema = format!("tg_conformance_{}", Uuid::new_v4().simple());
    let store = Arc::new(PgStore::connect_in_schema(&url, &schema).await.unwrap());
    run_suite(store.clone()).await;
    store.drop_schema(&schema).await.unwrap();
}
