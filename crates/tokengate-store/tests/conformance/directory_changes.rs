//! What the admin API changes beyond creating: tenant and group updates, deleting apps, users and
//! groups with everything that names them, removing a member, listing and revoking consents and
//! grants. A change that does not happen writes no audit record.

use std::sync::Arc;

use tokengate_core::directory::*;
use tokengate_core::store::{DelegatedGrantFilter, Store, StoreError};
use uuid::Uuid;

use crate::fixtures::{app, audit, audit_count, tenant};

fn user(tenant_id: Uuid, name: &str) -> User {
    User {
        object_id: Uuid::new_v4(),
        tenant_id,
        user_principal_name: format!("{name}.{}@contoso.example", Uuid::new_v4().simple()),
        display_name: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        enabled: true,
        created_at: 7,
    }
}

fn consent(t: Uuid, client: Uuid, resource: Uuid, principal: Option<Uuid>) -> DelegatedGrant {
    DelegatedGrant {
        id: Uuid::new_v4(),
        tenant_id: t,
        client_app_id: client,
        resource_app_id: resource,
        principal_id: principal,
        scopes: vec!["Orders.Read".into()],
        created_at: 9,
    }
}

fn role_grant(t: Uuid, principal: Uuid, resource: &AppRegistration) -> AppRoleGrant {
    AppRoleGrant {
        id: Uuid::new_v4(),
        tenant_id: t,
        principal_id: principal,
        resource_app_id: resource.app_id,
        app_role_id: resource.app_roles[0].id,
        created_at: 9,
    }
}

async fn tenant_and_group_updates(store: &Arc<dyn Store>) {
    let t = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&t, &audit("tenant.created")).await.unwrap();
    let taken = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&taken, &audit("tenant.created")).await.unwrap();
    let added = format!("{}.EXAMPLE", Uuid::new_v4());
    let updated = store
        .update_tenant(
            t.id,
            &|tenant: &mut Tenant| {
                tenant.display_name = "Contoso Ltd".into();
                tenant.domains.push(added.clone());
                Ok(())
            },
            &audit("tenant.updated"),
        )
        .await
        .unwrap();
    assert_eq!(store.tenant(t.id).await.unwrap().unwrap(), updated);
    assert_eq!(updated.display_name, "Contoso Ltd");
    assert!(updated.domains.contains(&added.to_ascii_lowercase()), "domains stored lower-case: {updated:?}");
    assert_eq!(store.tenant_by_domain(&added).await.unwrap().unwrap().id, t.id);

    let before = audit_count(store).await;
    let clash = taken.domains[0].clone();
    let stolen = store
        .update_tenant(
            t.id,
            &|tenant: &mut Tenant| {
                tenant.domains.push(clash.clone());
                Ok(())
            },
            &audit("tenant.updated"),
        )
        .await;
    assert!(matches!(stolen, Err(StoreError::Conflict(_))), "{stolen:?}");
    assert_eq!(store.tenant(t.id).await.unwrap().unwrap(), updated, "nothing of a refused update lands");
    assert_eq!(audit_count(store).await, before);
    let missing = store.update_tenant(Uuid::new_v4(), &|_: &mut Tenant| Ok(()), &audit("x")).await;
    assert_eq!(missing, Err(StoreError::NotFound));

    let g = Group { object_id: Uuid::new_v4(), tenant_id: t.id, display_name: "Sales".into(), created_at: 8 };
    store.insert_group(&g, &audit("group.created")).await.unwrap();
    assert_eq!(store.group(g.object_id).await.unwrap().unwrap(), g);
    let renamed = store
        .update_group(
            g.object_id,
            &|group: &mut Group| {
                group.display_name = "Field sales".into();
                Ok(())
            },
            &audit("group.updated"),
        )
        .await
        .unwrap();
    assert_eq!(store.group(g.object_id).await.unwrap().unwrap(), renamed);
    let refused =
        store.update_group(g.object_id, &|_: &mut Group| Err(StoreError::Invalid("nope".into())), &audit("x")).await;
    assert_eq!(refused, Err(StoreError::Invalid("nope".into())));
    assert_eq!(store.group(g.object_id).await.unwrap().unwrap().display_name, "Field sales");
    assert!(store.group(Uuid::new_v4()).await.unwrap().is_none());
    let missing = store.update_group(Uuid::new_v4(), &|_: &mut Group| Ok(()), &audit("x")).await;
    assert_eq!(missing, Err(StoreError::NotFound));
}

async fn members_groups_and_users_are_removed(store: &Arc<dyn Store>) {
    let t = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&t, &audit("tenant.created")).await.unwrap();
    let api = app(t.id, &format!("api://{}", Uuid::new_v4()));
    store.insert_app(&api, &audit("app.created")).await.unwrap();
    let (alice, bob) = (user(t.id, "alice"), user(t.id, "bob"));
    for u in [&alice, &bob] {
        store.insert_user(u, &audit("user.created")).await.unwrap();
    }
    let g = Group { object_id: Uuid::new_v4(), tenant_id: t.id, display_name: "Ops".into(), created_at: 8 };
    store.insert_group(&g, &audit("group.created")).await.unwrap();
    for u in [&alice, &bob] {
        store.add_group_member(g.object_id, u.object_id, &audit("group.member_added")).await.unwrap();
    }
    let mut members: Vec<Uuid> = store.group_members(g.object_id).await.unwrap().iter().map(|u| u.object_id).collect();
    members.sort();
    let mut expected = vec![alice.object_id, bob.object_id];
    expected.sort();
    assert_eq!(members, expected);

    store.remove_group_member(g.object_id, bob.object_id, &audit("group.member_removed")).await.unwrap();
    assert_eq!(store.group_members(g.object_id).await.unwrap(), vec![alice.clone()]);
    assert!(store.groups_of(bob.object_id).await.unwrap().is_empty(), "read back, cached or not");
    let before = audit_count(store).await;
    let again = store.remove_group_member(g.object_id, bob.object_id, &audit("group.member_removed")).await;
    assert_eq!(again, Err(StoreError::NotFound));
    assert_eq!(audit_count(store).await, before, "no record for a removal that did not happen");

    // Deleting a user takes their memberships, role assignments and consents with them.
    let assigned = role_grant(t.id, alice.object_id, &api);
    store.insert_app_role_grant(&assigned, &audit("app_role.assigned")).await.unwrap();
    let client = Uuid::new_v4();
    let own = consent(t.id, client, api.app_id, Some(alice.object_id));
    store.grant_delegated(&own, &audit("consent.user")).await.unwrap();
    let tenant_wide = store.grant_delegated(&consent(t.id, client, api.app_id, None), &audit("consent.admin")).await;
    let tenant_wide = tenant_wide.unwrap();
    store.delete_user(alice.object_id, &audit("user.deleted")).await.unwrap();
    assert!(store.user(alice.object_id).await.unwrap().is_none());
    assert!(store.group_members(g.object_id).await.unwrap().is_empty());
    assert!(store.app_role_grant(assigned.id).await.unwrap().is_none());
    let left = store.find_delegated_grants(&DelegatedGrantFilter { tenant_id: Some(t.id), ..Default::default() }).await;
    assert_eq!(left.unwrap(), vec![tenant_wide], "only the tenant-wide consent stays");
    assert_eq!(store.delete_user(alice.object_id, &audit("user.deleted")).await, Err(StoreError::NotFound));

    // Deleting a group takes its memberships and role assignments.
    store.add_group_member(g.object_id, bob.object_id, &audit("group.member_added")).await.unwrap();
    let group_grant = role_grant(t.id, g.object_id, &api);
    store.insert_app_role_grant(&group_grant, &audit("app_role.assigned")).await.unwrap();
    store.delete_group(g.object_id, &audit("group.deleted")).await.unwrap();
    assert!(store.group(g.object_id).await.unwrap().is_none());
    assert!(store.groups_of(bob.object_id).await.unwrap().is_empty());
    assert!(store.app_role_grant(group_grant.id).await.unwrap().is_none());
    assert_eq!(store.delete_group(g.object_id, &audit("group.deleted")).await, Err(StoreError::NotFound));
}

async fn apps_are_deleted_with_what_names_them(store: &Arc<dyn Store>) {
    let t = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&t, &audit("tenant.created")).await.unwrap();
    let other = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&other, &audit("tenant.created")).await.unwrap();
    let uri = format!("api://{}", Uuid::new_v4());
    let api = app(t.id, &uri);
    let client = app(t.id, &format!("api://{}", Uuid::new_v4()));
    for a in [&api, &client] {
        store.insert_app(a, &audit("app.created")).await.unwrap();
    }
    let mut principals = Vec::new();
    for tenant_id in [t.id, other.id] {
        let sp = ServicePrincipal {
            object_id: Uuid::new_v4(),
            tenant_id,
            app_id: client.app_id,
            display_name: "client".into(),
            created_at: 3 + principals.len() as i64,
        };
        store.insert_service_principal(&sp, &audit("sp.created")).await.unwrap();
        principals.push(sp);
    }
    assert_eq!(store.service_principals(client.app_id).await.unwrap(), principals);
    let held = role_grant(t.id, principals[0].object_id, &api);
    store.insert_app_role_grant(&held, &audit("app_role.granted")).await.unwrap();
    assert_eq!(store.app_role_grant(held.id).await.unwrap().unwrap(), held);
    assert_eq!(store.app_role_grants_on(api.app_id).await.unwrap(), vec![held.clone()]);
    let held_by_api = role_grant(t.id, Uuid::new_v4(), &client);
    store.insert_app_role_grant(&held_by_api, &audit("app_role.assigned")).await.unwrap();
    let wide = consent(t.id, client.app_id, api.app_id, None);
    let consented = store.grant_delegated(&wide, &audit("consent.admin")).await.unwrap();
    assert_eq!(store.delegated_grant(consented.id).await.unwrap().unwrap(), consented);

    // The client goes: its service principals, the role it held, its consent.
    store.delete_app(client.app_id, &audit("app.deleted")).await.unwrap();
    assert!(store.app(client.app_id).await.unwrap().is_none());
    assert!(store.service_principals(client.app_id).await.unwrap().is_empty());
    assert!(store.service_principal(other.id, client.app_id).await.unwrap().is_none());
    assert!(store.app_role_grant(held.id).await.unwrap().is_none());
    assert!(store.app_role_grant(held_by_api.id).await.unwrap().is_none(), "grants of its own roles go too");
    assert!(store.delegated_grant(consented.id).await.unwrap().is_none());
    assert_eq!(store.delete_app(client.app_id, &audit("app.deleted")).await, Err(StoreError::NotFound));

    // The App ID URI of a deleted app is free again.
    store.delete_app(api.app_id, &audit("app.deleted")).await.unwrap();
    assert!(store.app_by_identifier_uri(t.id, &uri).await.unwrap().is_none());
    store.insert_app(&app(t.id, &uri), &audit("app.created")).await.unwrap();
}

async fn consents_are_listed_and_revoked(store: &Arc<dyn Store>) {
    let t = tenant(&format!("{}.example", Uuid::new_v4()));
    store.insert_tenant(&t, &audit("tenant.created")).await.unwrap();
    let (client, resource, other_client) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let alice = Uuid::new_v4();
    let mine = store.grant_delegated(&consent(t.id, client, resource, Some(alice)), &audit("c")).await.unwrap();
    let wide = store.grant_delegated(&consent(t.id, client, resource, None), &audit("c")).await.unwrap();
    let theirs = store.grant_delegated(&consent(t.id, other_client, resource, None), &audit("c")).await.unwrap();
    let find = |filter: DelegatedGrantFilter| {
        let store = store.clone();
        async move {
            let mut ids: Vec<Uuid> = store.find_delegated_grants(&filter).await.unwrap().iter().map(|g| g.id).collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut ids: Vec<Uuid>| {
        ids.sort();
        ids
    };
    let in_tenant = DelegatedGrantFilter { tenant_id: Some(t.id), ..Default::default() };
    assert_eq!(find(in_tenant.clone()).await, sorted(vec![mine.id, wide.id, theirs.id]));
    let of_client = DelegatedGrantFilter { client_app_id: Some(client), ..in_tenant.clone() };
    assert_eq!(find(of_client).await, sorted(vec![mine.id, wide.id]));
    let of_alice = DelegatedGrantFilter { user_id: Some(alice), ..in_tenant.clone() };
    assert_eq!(find(of_alice).await, vec![mine.id]);
    let of_resource =
        DelegatedGrantFilter { resource_app_id: Some(resource), client_app_id: Some(other_client), ..in_tenant };
    assert_eq!(find(of_resource).await, vec![theirs.id]);

    store.delete_delegated_grant(wide.id, &audit("consent.revoked")).await.unwrap();
    assert!(store.delegated_grant(wide.id).await.unwrap().is_none());
    assert_eq!(store.delegated_grants(t.id, client, resource, Uuid::new_v4()).await.unwrap(), vec![], "read back");
    let before = audit_count(store).await;
    assert_eq!(store.delete_delegated_grant(wide.id, &audit("consent.revoked")).await, Err(StoreError::NotFound));
    assert_eq!(audit_count(store).await, before);
}

on_every_backend!(
    tenant_and_group_updates,
    members_groups_and_users_are_removed,
    apps_are_deleted_with_what_names_them,
    consents_are_listed_and_revoked
);
