//! Which resource and which delegated permissions a user-facing request asks for, and whether the
//! user (or an admin, tenant-wide) consented to them.
//!
//! Requests name scopes as Entra's v2 endpoint takes them: `{App ID URI or client id}/{value}`,
//! `{resource}/.default` (the client's configured permissions on that resource, consent asked for
//! what is not consented yet), plus the OpenID Connect scopes.
//! One resource per request (AADSTS28000 otherwise). Granted scopes are kept in the canonical form
//! `{resource client id}/{value}` so that refresh tokens compare them exactly.

use uuid::Uuid;

use super::configured_permissions::default_scopes;
use super::find_resource;
use crate::client_auth::backend;
use crate::directory::{AllowedMemberType, AppRegistration, Tenant};
use crate::errors::{codes, OAuthError};
use crate::scope::OIDC_SCOPES;
use crate::store::Store;

/// The scopes of one request, split.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestedScopes {
    /// The App ID URI or client id named by the resource scopes, if any.
    pub resource: Option<String>,
    /// Permission values on that resource (`.default` kept as is).
    pub values: Vec<String>,
    /// `openid`, `profile`, `email`, `offline_access` as asked.
    pub oidc: Vec<String>,
}

impl RequestedScopes {
    pub fn parse(scope: &str) -> Result<Self, OAuthError> {
        let mut out = RequestedScopes::default();
        for item in scope.split(' ').filter(|s| !s.is_empty()) {
            if OIDC_SCOPES.contains(&item) {
                if !out.oidc.iter().any(|s| s == item) {
                    out.oidc.push(item.to_owned());
                }
                continue;
            }
            let Some((resource, value)) = item.rsplit_once('/') else {
                return Err(invalid_scope(item));
            };
            if resource.is_empty() || value.is_empty() || item.chars().any(|c| c.is_control()) {
                return Err(invalid_scope(item));
            }
            let resource = resource.trim_end_matches('/');
            match &out.resource {
                Some(r) if r != resource => {
                    return Err(OAuthError::invalid_scope(
                        codes::SCOPES_OF_SEVERAL_RESOURCES,
                        "The provided value for the input parameter 'scope' is not valid because it contains more than one resource. Request one resource per token.",
                    ))
                }
                Some(_) => {}
                None => out.resource = Some(resource.to_owned()),
            }
            if !out.values.iter().any(|v| v == value) {
                out.values.push(value.to_owned());
            }
        }
        if out.resource.is_none() && out.oidc.is_empty() {
            return Err(OAuthError::invalid_scope(
                codes::INVALID_SCOPE,
                "The provided value for the input parameter 'scope' is not valid.",
            ));
        }
        Ok(out)
    }

    pub fn has(&self, oidc_scope: &str) -> bool {
        self.oidc.iter().any(|s| s == oidc_scope)
    }
}

fn invalid_scope(item: &str) -> OAuthError {
    let shown: String = item.chars().filter(|c| !c.is_control()).take(200).collect();
    OAuthError::invalid_scope(
        codes::INVALID_SCOPE,
        format!("The provided value '{shown}' for the input parameter 'scope' is not valid."),
    )
}

/// The resource of a request and the permissions the request would use.
#[derive(Debug, Clone)]
pub struct ResolvedScopes {
    pub resource: AppRegistration,
    /// The identifier the client used for the resource (v1 tokens carry it as `aud`).
    pub identifier: String,
    /// Permission values, in the resource's declaration order for `.default`, else as asked.
    /// Never empty: a delegated token always names what it may do.
    pub values: Vec<String>,
    /// Values asked for that nobody consented to (empty: the request may proceed).
    pub missing_consent: Vec<String>,
}

impl ResolvedScopes {
    /// `{resource client id}/{value}` for each value: the form refresh-token families keep.
    pub fn canonical(&self) -> Vec<String> {
        self.values.iter().map(|v| canonical_scope(self.resource.app_id, v)).collect()
    }
}

pub fn canonical_scope(resource_app_id: Uuid, value: &str) -> String {
    format!("{resource_app_id}/{value}")
}

/// Resolves the resource and checks each permission exists, then compares with what the user and
/// the tenant consented to for this client.
pub async fn resolve(
    store: &dyn Store,
    tenant: &Tenant,
    client_app_id: Uuid,
    user_id: Uuid,
    requested: &RequestedScopes,
) -> Result<Option<ResolvedScopes>, OAuthError> {
    let Some(identifier) = &requested.resource else { return Ok(None) };
    let resource = find_resource(store, tenant, identifier).await?.ok_or_else(|| {
        OAuthError::new(
            400,
            "invalid_resource",
            codes::RESOURCE_NOT_FOUND,
            format!(
                "The resource principal named {} was not found in the tenant named {}.",
                identifier.chars().take(200).collect::<String>(),
                tenant.display_name
            ),
        )
    })?;
    let consented = consented_values(store, tenant.id, client_app_id, resource.app_id, user_id).await?;
    let mut values = Vec::new();
    let mut missing = Vec::new();
    for value in &requested.values {
        if value == ".default" {
            // The client's configured permissions on the resource (AADSTS650057 if none);
            // what is not consented yet is asked for, as for a named scope.
            let client = store.app(client_app_id).await.map_err(backend)?.ok_or_else(|| {
                OAuthError::invalid_client(codes::APP_NOT_FOUND, "The application is no longer registered.")
            })?;
            for v in default_scopes(&client, &resource, identifier)? {
                if !consented.contains(&v) && !missing.contains(&v) {
                    missing.push(v.clone());
                }
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            continue;
        }
        if !resource.scopes.iter().any(|s| s.enabled && &s.value == value) {
            return Err(invalid_scope(&format!("{identifier}/{value}")));
        }
        if !consented.contains(value) {
            missing.push(value.clone());
        }
        if !values.contains(value) {
            values.push(value.clone());
        }
    }
    Ok(Some(ResolvedScopes { resource, identifier: identifier.clone(), values, missing_consent: missing }))
}

/// Scope values consented for (client, resource): the user's own grant and the tenant-wide one.
pub async fn consented_values(
    store: &dyn Store,
    tenant_id: Uuid,
    client_app_id: Uuid,
    resource_app_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<String>, OAuthError> {
    let grants = store.delegated_grants(tenant_id, client_app_id, resource_app_id, user_id).await.map_err(backend)?;
    let mut out: Vec<String> = Vec::new();
    for g in grants {
        for s in g.scopes {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// App roles the user holds on `resource`, directly or through a group, in declaration order.
pub async fn user_roles(
    store: &dyn Store,
    resource: &AppRegistration,
    user_id: Uuid,
    group_ids: &[Uuid],
) -> Result<Vec<String>, OAuthError> {
    let mut granted = Vec::new();
    for principal in std::iter::once(user_id).chain(group_ids.iter().copied()) {
        for g in store.app_role_grants(principal, Some(resource.app_id)).await.map_err(backend)? {
            granted.push(g.app_role_id);
        }
    }
    Ok(resource
        .app_roles
        .iter()
        .filter(|r| r.enabled && r.allowed_member_types.contains(&AllowedMemberType::User) && granted.contains(&r.id))
        .map(|r| r.value.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_resource_values_and_oidc() {
        let r =
            RequestedScopes::parse("api://orders/Orders.Read openid api://orders/Orders.Write offline_access").unwrap();
        assert_eq!(r.resource.as_deref(), Some("api://orders"));
        assert_eq!(r.values, vec!["Orders.Read", "Orders.Write"]);
        assert_eq!(r.oidc, vec!["openid", "offline_access"]);
        assert!(r.has("openid") && !r.has("profile"));
        let d = RequestedScopes::parse("api://orders/.default").unwrap();
        assert_eq!(d.values, vec![".default"]);
        assert_eq!(RequestedScopes::parse("openid profile").unwrap().resource, None);
    }

    #[test]
    fn rejects_like_entra() {
        assert_eq!(RequestedScopes::parse("api://a/X api://b/Y").unwrap_err().code, codes::SCOPES_OF_SEVERAL_RESOURCES);
        assert_eq!(RequestedScopes::parse("Orders.Read").unwrap_err().code, codes::INVALID_SCOPE);
        assert_eq!(RequestedScopes::parse("").unwrap_err().code, codes::INVALID_SCOPE);
        assert_eq!(RequestedScopes::parse("api://a/").unwrap_err().code, codes::INVALID_SCOPE);
        assert_eq!(RequestedScopes::parse("/X").unwrap_err().code, codes::INVALID_SCOPE);
    }
}
