//! A client's configured API permissions (`requiredResourceAccess`) as the delegated grants read
//! them: what `{resource}/.default` (and v1 `resource=`) stands for, and the refusal, as Entra's
//! AADSTS650057, of a resource the client's registration lists no delegated permission for.

use uuid::Uuid;

use super::delegated_scopes::RequestedScopes;
use super::find_resource;
use crate::directory::{AppRegistration, ResourceAccessKind, Tenant};
use crate::errors::{codes, OAuthError};
use crate::store::Store;

/// The ids of the permissions of `kind` that `client` is configured with on `resource_app_id`.
pub fn configured_ids(client: &AppRegistration, resource_app_id: Uuid, kind: ResourceAccessKind) -> Vec<Uuid> {
    client
        .required_resource_access
        .iter()
        .filter(|r| r.resource_app_id == resource_app_id)
        .flat_map(|r| r.resource_access.iter())
        .filter(|a| a.kind == kind)
        .map(|a| a.id)
        .collect()
}

/// The delegated scopes `{resource}/.default` stands for: the resource's enabled scopes the client
/// is configured with, in the resource's declaration order. None at all is AADSTS650057 — never
/// an empty set, which would mint a delegated token with an empty `scp`.
pub fn default_scopes(
    client: &AppRegistration,
    resource: &AppRegistration,
    identifier: &str,
) -> Result<Vec<String>, OAuthError> {
    let ids = configured_ids(client, resource.app_id, ResourceAccessKind::Scope);
    let values: Vec<String> =
        resource.scopes.iter().filter(|s| s.enabled && ids.contains(&s.id)).map(|s| s.value.clone()).collect();
    if values.is_empty() {
        return Err(resource_not_configured(client, resource, identifier));
    }
    Ok(values)
}

/// AADSTS650057 as Entra words it (`invalid_client`: the client's registration is what is wrong).
pub fn resource_not_configured(client: &AppRegistration, resource: &AppRegistration, identifier: &str) -> OAuthError {
    let listed: Vec<String> = client
        .required_resource_access
        .iter()
        .filter(|r| r.resource_access.iter().any(|a| a.kind == ResourceAccessKind::Scope))
        .map(|r| r.resource_app_id.to_string())
        .collect();
    OAuthError::new(
        400,
        "invalid_client",
        codes::RESOURCE_NOT_CONFIGURED,
        format!(
            "Invalid resource. The client has requested access to a resource which is not listed in the requested permissions in the client's application registration. Client app ID: {}({}). Resource value from request: {}. Resource app ID: {}. List of valid resources from app registration: {}.",
            client.app_id,
            client.display_name,
            identifier.chars().filter(|c| !c.is_control()).take(200).collect::<String>(),
            resource.app_id,
            listed.join(", ")
        ),
    )
}

/// Refuses, before anyone signs in, a `.default` request for a resource the client has no
/// configured delegated permission on. Unknown resources are left to `resolve` (AADSTS500011).
pub async fn refuse_unconfigured_default(
    store: &dyn Store,
    tenant: &Tenant,
    client: &AppRegistration,
    requested: &RequestedScopes,
) -> Result<(), OAuthError> {
    let Some(identifier) = &requested.resource else { return Ok(()) };
    if !requested.values.iter().any(|v| v == ".default") {
        return Ok(());
    }
    match find_resource(store, tenant, identifier).await? {
        Some(resource) => default_scopes(client, &resource, identifier).map(|_| ()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{PermissionScope, RequiredResourceAccess, ResourceAccess, SignInAudience};

    fn app(n: u128, scopes: &[(&str, bool)]) -> AppRegistration {
        AppRegistration {
            app_id: Uuid::from_u128(n),
            tenant_id: Uuid::from_u128(1),
            display_name: format!("app{n}"),
            identifier_uris: vec![format!("api://app{n}")],
            sign_in_audience: SignInAudience::AzureADMyOrg,
            access_token_accepted_version: Some(2),
            scopes: scopes
                .iter()
                .enumerate()
                .map(|(i, (v, enabled))| PermissionScope {
                    id: Uuid::from_u128(n * 100 + i as u128),
                    value: (*v).into(),
                    admin_consent_display_name: String::new(),
                    enabled: *enabled,
                })
                .collect(),
            app_roles: vec![],
            redirect_uris: vec![],
            is_public_client: true,
            single_use_client_assertions: false,
            entra_compatible_refresh_tokens: false,
            group_membership_claims: false,
            required_resource_access: vec![],
            created_at: 0,
        }
    }

    fn configure(client: &mut AppRegistration, resource: &AppRegistration, kind: ResourceAccessKind, ids: &[Uuid]) {
        client.required_resource_access.push(RequiredResourceAccess {
            resource_app_id: resource.app_id,
            resource_access: ids.iter().map(|id| ResourceAccess { id: *id, kind }).collect(),
        });
    }

    #[test]
    fn default_is_the_configured_enabled_scopes_in_declaration_order() {
        let api = app(7, &[("A.Read", true), ("A.Write", true), ("A.Old", false), ("A.Admin", true)]);
        let mut client = app(2, &[]);
        let ids: Vec<Uuid> = api.scopes.iter().map(|s| s.id).collect();
        // Configured out of order, with a disabled scope: declaration order, enabled only.
        configure(&mut client, &api, ResourceAccessKind::Scope, &[ids[3], ids[2], ids[0]]);
        assert_eq!(default_scopes(&client, &api, "api://app7").unwrap(), vec!["A.Read", "A.Admin"]);
    }

    #[test]
    fn no_configured_delegated_permission_is_650057_never_an_empty_set() {
        let api = app(7, &[("A.Read", true)]);
        let other = app(8, &[("B.Read", true)]);
        let mut client = app(2, &[]);
        let e = default_scopes(&client, &api, "api://app7").unwrap_err();
        assert_eq!((e.error, e.code, e.status), ("invalid_client", 650057, 400));
        assert!(e.description.contains("api://app7") && e.description.contains(&api.app_id.to_string()));

        // Permissions on another resource, app roles only, or a disabled scope do not count.
        configure(&mut client, &other, ResourceAccessKind::Scope, &[other.scopes[0].id]);
        configure(&mut client, &api, ResourceAccessKind::Role, &[api.scopes[0].id]);
        let e = default_scopes(&client, &api, "api://app7").unwrap_err();
        assert_eq!(e.code, 650057);
        assert!(e.description.contains(&other.app_id.to_string()), "lists the configured resources");
        let mut disabled = app(7, &[("A.Read", false)]);
        disabled.scopes[0].id = api.scopes[0].id;
        let mut c2 = app(3, &[]);
        configure(&mut c2, &disabled, ResourceAccessKind::Scope, &[disabled.scopes[0].id]);
        assert_eq!(default_scopes(&c2, &disabled, "api://app7").unwrap_err().code, 650057);
    }
}
