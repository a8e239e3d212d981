//! Tenants and their domains.

use std::sync::Arc;

use tokengate_core::store::{Store, StoreError};

use crate::fixtures::{audit, tenant};

async fn tenants_and_domains(store: &Arc<dyn Store>) {
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

on_every_backend!(tenants_and_domains);
