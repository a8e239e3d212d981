//! Users, groups, memberships and consent (delegated grants).

use std::sync::Arc;

use tokengate_core::directory::*;
use tokengate_core::store::{Store, StoreError};
use uuid::Uuid;

use crate::fixtures::{audit, tenant};

async fn users_groups_and_consent(store: &Arc<dyn Store>) {
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

on_every_backend!(users_groups_and_consent);
