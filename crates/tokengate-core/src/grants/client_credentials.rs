//! Client credentials grant (RFC 6749 §4.4) as Entra runs it: `scope={resource}/.default` (v2) or
//! `resource=` (v1) names one resource; the token carries the app roles granted to the client's
//! service principal on that resource (application permissions with admin consent), never `scp`.

use uuid::Uuid;

use super::grant_context::GrantContext;
use super::{find_resource, Issuer};
use crate::client_auth::backend;
use crate::directory::{AllowedMemberType, AppRegistration, TokenVersion};
use crate::errors::{codes, OAuthError};
use crate::scope::client_credentials_resource;
use crate::tokens::access_token::{app_only_claims, AppOnlyToken};
use tokengate_proto::AccessTokenClaims;

/// Which endpoint the request came to: v2 takes `scope`, v1 takes `resource`.
pub enum ResourceParameter<'a> {
    Scope(&'a str),
    Resource(&'a str),
}

pub struct IssuedAccessToken {
    pub access_token: String,
    pub expires_in: i64,
    pub claims: AccessTokenClaims,
    pub resource_app_id: Uuid,
}

pub async fn issue(ctx: &GrantContext<'_>, parameter: ResourceParameter<'_>) -> Result<IssuedAccessToken, OAuthError> {
    let Issuer { store, keys, settings, base_url, revocations, .. } = ctx.issuer;
    let (tenant, client, now) = (ctx.tenant, ctx.client, ctx.now);
    let identifier = match parameter {
        ResourceParameter::Scope(scope) => client_credentials_resource(scope)?,
        ResourceParameter::Resource(resource) if !resource.is_empty() => resource.to_owned(),
        ResourceParameter::Resource(_) => {
            return Err(OAuthError::invalid_request(
                codes::MISSING_PARAMETER,
                "The request body must contain the following parameter: 'resource'.",
            ))
        }
    };
    let resource = find_resource(store, tenant, &identifier).await?.ok_or_else(|| {
        OAuthError::new(
            400,
            "invalid_resource",
            codes::RESOURCE_NOT_FOUND,
            format!(
                "The resource principal named {identifier} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
                tenant.display_name
            ),
        )
    })?;
    let principal = store.service_principal(tenant.id, client.app.app_id).await.map_err(backend)?.ok_or_else(|| {
        OAuthError::new(
            400,
            "unauthorized_client",
            codes::APP_NOT_FOUND,
            format!(
                "Application with identifier '{}' was not found in the directory '{}'.",
                client.app.app_id, tenant.id
            ),
        )
    })?;
    let grants = store.app_role_grants(principal.object_id, Some(resource.app_id)).await.map_err(backend)?;
    let roles = granted_application_roles(&resource, grants.iter().map(|g| g.app_role_id));

    let version = resource.token_version();
    let audience = match version {
        TokenVersion::V2 => resource.app_id.to_string(),
        TokenVersion::V1 => identifier.trim_end_matches('/').to_owned(),
    };
    let lifetime = settings.draw_lifetime();
    let tenant_id = tenant.id.to_string();
    let client_app_id = client.app.app_id.to_string();
    let oid = principal.object_id.to_string();
    let claims = app_only_claims(
        AppOnlyToken {
            version,
            base_url,
            tenant_id: &tenant_id,
            audience,
            client_app_id: &client_app_id,
            client_auth: client.method,
            service_principal_oid: &oid,
            roles,
            now,
            lifetime,
            issued_floor: revocations.issued_floor(&tenant_id, Some(&oid), &client_app_id),
        },
        settings,
    );
    let key_set = keys.current();
    let access_token = key_set
        .active
        .sign_jwt(&claims, version == TokenVersion::V1)
        .map_err(|e| OAuthError::server_error(format!("signing failed: {e}")))?;
    Ok(IssuedAccessToken { access_token, expires_in: lifetime, claims, resource_app_id: resource.app_id })
}

/// Values of the enabled application-assignable roles among `granted` role ids, in the
/// resource's declaration order.
pub fn granted_application_roles(resource: &AppRegistration, granted: impl Iterator<Item = Uuid>) -> Vec<String> {
    let granted: Vec<Uuid> = granted.collect();
    resource
        .app_roles
        .iter()
        .filter(|r| {
            r.enabled && r.allowed_member_types.contains(&AllowedMemberType::Application) && granted.contains(&r.id)
        })
        .map(|r| r.value.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{AppRole, SignInAudience};

    #[test]
    fn only_enabled_application_roles_that_were_granted() {
        let role = |n: u128, value: &str, enabled: bool, types: Vec<AllowedMemberType>| AppRole {
            id: Uuid::from_u128(n),
            value: value.into(),
            display_name: value.into(),
            allowed_member_types: types,
            enabled,
        };
        let app = AppRegistration {
            app_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            display_name: "r".into(),
            identifier_uris: vec![],
            sign_in_audience: SignInAudience::AzureADMyOrg,
            access_token_accepted_version: Some(2),
            scopes: vec![],
            app_roles: vec![
                role(1, "A", true, vec![AllowedMemberType::Application]),
                role(2, "B", false, vec![AllowedMemberType::Application]),
                role(3, "C", true, vec![AllowedMemberType::User]),
                role(4, "D", true, vec![AllowedMemberType::User, AllowedMemberType::Application]),
                role(5, "E", true, vec![AllowedMemberType::Application]),
            ],
            redirect_uris: vec![],
            is_public_client: false,
            single_use_client_assertions: false,
            entra_compatible_refresh_tokens: false,
            group_membership_claims: false,
            required_resource_access: vec![],
            created_at: 0,
        };
        let granted = [1, 2, 3, 4].map(Uuid::from_u128);
        assert_eq!(granted_application_roles(&app, granted.into_iter()), vec!["A", "D"]);
    }
}
