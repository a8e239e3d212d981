//! App registrations, App ID URIs and service principals.

use std::sync::Arc;

use tokengate_core::directory::*;
use tokengate_core::store::{Store, StoreError};
use uuid::Uuid;

use crate::fixtures::{app, audit, audit_count, tenant};

async fn apps_and_identifier_uris(store: &Arc<dyn Store>) {
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
        let store = Arc::clone(store);
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

async fn identifier_uris_unique_across_tenants(store: &Arc<dyn Store>) {
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

on_every_backend!(apps_and_identifier_uris, identifier_uris_unique_across_tenants);
