//! A client's configured API permissions (Entra's `requiredResourceAccess`) as the CLI and `dev`
//! change them: named by value, stored by the id of the resource's scope or app role, as Entra.
//! Configuring a permission grants nothing: users (or an admin) consent to delegated ones, an admin
//! grants app roles (`grant app-role`).

use serde_json::json;
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::directory::{
    AllowedMemberType, AppRegistration, RequiredResourceAccess, ResourceAccess, ResourceAccessKind,
};
use crate::directory_admin::{AdminError, AdminResult};
use crate::store::{Store, StoreError};
use crate::UnixTime;

/// One resource's configured permissions, by value, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredPermissions {
    pub resource_app_id: Uuid,
    pub resource_name: String,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
}

/// The permissions named, as ids of `resource`: scopes must be exposed by it, roles must be app
/// roles it lets applications hold.
fn named_access(resource: &AppRegistration, scopes: &[String], roles: &[String]) -> AdminResult<Vec<ResourceAccess>> {
    let mut out = Vec::new();
    for value in scopes {
        let scope = resource.scopes.iter().find(|s| &s.value == value).ok_or_else(|| {
            AdminError::NotFound(format!("delegated permission '{value}' on {}", resource.display_name))
        })?;
        out.push(ResourceAccess { id: scope.id, kind: ResourceAccessKind::Scope });
    }
    for value in roles {
        let role = resource
            .role_by_value(value)
            .ok_or_else(|| AdminError::NotFound(format!("app role '{value}' on {}", resource.display_name)))?;
        if !role.allowed_member_types.contains(&AllowedMemberType::Application) {
            return Err(AdminError::Invalid(format!(
                "app role '{value}' cannot be held by applications, so it is no application permission"
            )));
        }
        out.push(ResourceAccess { id: role.id, kind: ResourceAccessKind::Role });
    }
    Ok(out)
}

/// The resource app an operator names: its client id or one of its App ID URIs, as seen from the
/// client's tenant.
pub async fn resource_named(store: &dyn Store, client: &AppRegistration, name: &str) -> AdminResult<AppRegistration> {
    let trimmed = name.trim().trim_end_matches('/');
    let found = match Uuid::parse_str(trimmed) {
        Ok(id) => store.app(id).await?,
        Err(_) => store.app_by_identifier_uri(client.tenant_id, trimmed).await?,
    };
    found.ok_or_else(|| AdminError::NotFound(format!("resource app '{trimmed}'")))
}

async fn client_app(store: &dyn Store, client_app_id: Uuid) -> AdminResult<AppRegistration> {
    store.app(client_app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {client_app_id}")))
}

/// Adds delegated `scopes` and application `roles` of `resource` to the client's configured
/// permissions (already configured ones are kept once).
pub async fn add_api_permission_by(
    store: &dyn Store,
    actor: &str,
    client_app_id: Uuid,
    resource: &str,
    scopes: &[String],
    roles: &[String],
    now: UnixTime,
) -> AdminResult<ConfiguredPermissions> {
    if scopes.is_empty() && roles.is_empty() {
        return Err(AdminError::Invalid("name at least one delegated scope or app role".into()));
    }
    let client = client_app(store, client_app_id).await?;
    let resource = resource_named(store, &client, resource).await?;
    let added = named_access(&resource, scopes, roles)?;
    let resource_app_id = resource.app_id;
    let audit = AuditEvent::admin_by(
        "app.permission_added",
        Some(client.tenant_id),
        json!({"app_id": client_app_id, "resource_app_id": resource_app_id, "scopes": scopes, "roles": roles}),
        actor,
        now,
    );
    let updated = store
        .update_app(
            client_app_id,
            &move |app: &mut AppRegistration| {
                if !app.required_resource_access.iter().any(|r| r.resource_app_id == resource_app_id) {
                    app.required_resource_access
                        .push(RequiredResourceAccess { resource_app_id, resource_access: Vec::new() });
                }
                let entries = app.required_resource_access.iter_mut().filter(|r| r.resource_app_id == resource_app_id);
                for entry in entries {
                    for access in &added {
                        if !entry.resource_access.contains(access) {
                            entry.resource_access.push(*access);
                        }
                    }
                }
                Ok(())
            },
            &audit,
        )
        .await?;
    Ok(describe(&updated, &resource))
}

/// Removes the named permissions of `resource` from the client's configuration; naming none
/// removes the resource altogether. `NotFound` if something named is not configured.
pub async fn remove_api_permission_by(
    store: &dyn Store,
    actor: &str,
    client_app_id: Uuid,
    resource: &str,
    scopes: &[String],
    roles: &[String],
    now: UnixTime,
) -> AdminResult<()> {
    let client = client_app(store, client_app_id).await?;
    let resource = resource_named(store, &client, resource).await?;
    let removed = named_access(&resource, scopes, roles)?;
    let resource_app_id = resource.app_id;
    let audit = AuditEvent::admin_by(
        "app.permission_removed",
        Some(client.tenant_id),
        json!({"app_id": client_app_id, "resource_app_id": resource_app_id, "scopes": scopes, "roles": roles}),
        actor,
        now,
    );
    let whole = removed.is_empty();
    store
        .update_app(
            client_app_id,
            &move |app: &mut AppRegistration| {
                let Some(entry) =
                    app.required_resource_access.iter_mut().find(|r| r.resource_app_id == resource_app_id)
                else {
                    return Err(StoreError::NotFound);
                };
                if !whole {
                    if removed.iter().any(|a| !entry.resource_access.contains(a)) {
                        return Err(StoreError::NotFound);
                    }
                    entry.resource_access.retain(|a| !removed.contains(a));
                }
                // The whole resource goes when asked, or when nothing of it is left.
                app.required_resource_access
                    .retain(|r| r.resource_app_id != resource_app_id || (!whole && !r.resource_access.is_empty()));
                Ok(())
            },
            &audit,
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => AdminError::NotFound("that permission is not configured for the app".into()),
            other => AdminError::Store(other),
        })?;
    Ok(())
}

/// The client's configured permissions, by resource, with values resolved.
pub async fn api_permissions(store: &dyn Store, client_app_id: Uuid) -> AdminResult<Vec<ConfiguredPermissions>> {
    let client = client_app(store, client_app_id).await?;
    let mut out = Vec::new();
    for entry in &client.required_resource_access {
        match store.app(entry.resource_app_id).await? {
            Some(resource) => out.push(describe(&client, &resource)),
            None => out.push(ConfiguredPermissions {
                resource_app_id: entry.resource_app_id,
                resource_name: "(deleted)".into(),
                scopes: entry.resource_access.iter().map(|a| a.id.to_string()).collect(),
                roles: Vec::new(),
            }),
        }
    }
    Ok(out)
}

fn describe(client: &AppRegistration, resource: &AppRegistration) -> ConfiguredPermissions {
    let ids = |kind| crate::grants::configured_permissions::configured_ids(client, resource.app_id, kind);
    let scope_ids = ids(ResourceAccessKind::Scope);
    let role_ids = ids(ResourceAccessKind::Role);
    ConfiguredPermissions {
        resource_app_id: resource.app_id,
        resource_name: resource.display_name.clone(),
        scopes: resource.scopes.iter().filter(|s| scope_ids.contains(&s.id)).map(|s| s.value.clone()).collect(),
        roles: resource.app_roles.iter().filter(|r| role_ids.contains(&r.id)).map(|r| r.value.clone()).collect(),
    }
}

/// `add_api_permission_by` for direct store callers (the CLI): audited with the actor `cli`.
pub async fn add_api_permission(
    store: &dyn Store,
    client_app_id: Uuid,
    resource: &str,
    scopes: &[String],
    roles: &[String],
    now: UnixTime,
) -> AdminResult<ConfiguredPermissions> {
    add_api_permission_by(store, crate::directory_admin::CLI_ACTOR, client_app_id, resource, scopes, roles, now).await
}

/// `remove_api_permission_by` for direct store callers (the CLI): audited with the actor `cli`.
pub async fn remove_api_permission(
    store: &dyn Store,
    client_app_id: Uuid,
    resource: &str,
    scopes: &[String],
    roles: &[String],
    now: UnixTime,
) -> AdminResult<()> {
    remove_api_permission_by(store, crate::directory_admin::CLI_ACTOR, client_app_id, resource, scopes, roles, now)
        .await
}
