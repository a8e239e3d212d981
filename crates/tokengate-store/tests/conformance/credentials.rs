//! Client secrets, certificates and app role grants.

use std::sync::Arc;

use tokengate_core::directory::*;
use tokengate_core::store::{Store, StoreError};
use uuid::Uuid;

use crate::fixtures::{app, audit, tenant};

async fn credentials_and_grants(store: &Arc<dyn Store>) {
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

on_every_backend!(credentials_and_grants);
