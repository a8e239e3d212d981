//! The directory: tenants, app registrations (with their exposed scopes, app roles, redirect URIs
//! and credentials), service principals and app-role grants. Plain data; the store persists it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::UnixTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: Uuid,
    pub display_name: String,
    /// Verified domain names (`contoso.example`); the tenant answers to each in URLs.
    pub domains: Vec<String>,
    pub created_at: UnixTime,
}

/// Who may sign in to an app (Entra's `signInAudience`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInAudience {
    AzureADMyOrg,
    AzureADMultipleOrgs,
}

impl SignInAudience {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInAudience::AzureADMyOrg => "AzureADMyOrg",
            SignInAudience::AzureADMultipleOrgs => "AzureADMultipleOrgs",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "AzureADMyOrg" | "single" => Some(SignInAudience::AzureADMyOrg),
            "AzureADMultipleOrgs" | "multi" => Some(SignInAudience::AzureADMultipleOrgs),
            _ => None,
        }
    }
}

/// A delegated permission the app exposes (`oauth2PermissionScopes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionScope {
    pub id: Uuid,
    /// The value that appears in `scp`, e.g. `Orders.Read`.
    pub value: String,
    pub admin_consent_display_name: String,
    pub enabled: bool,
}

/// Which principals an app role may be assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AllowedMemberType {
    Application,
    User,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRole {
    pub id: Uuid,
    /// The value that appears in `roles`, e.g. `Orders.ReadWrite.All`.
    pub value: String,
    pub display_name: String,
    pub allowed_member_types: Vec<AllowedMemberType>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedirectPlatform {
    Web,
    Spa,
    PublicClient,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectUri {
    pub platform: RedirectPlatform,
    pub uri: String,
}

/// An app registration (Entra's `application` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRegistration {
    /// The client id (`appId`).
    pub app_id: Uuid,
    /// Home tenant.
    pub tenant_id: Uuid,
    pub display_name: String,
    /// App ID URIs (`identifierUris`), e.g. `api://orders`.
    pub identifier_uris: Vec<String>,
    pub sign_in_audience: SignInAudience,
    /// `accessTokenAcceptedVersion`: `None`/1 → v1.0 tokens for this resource, 2 → v2.0.
    pub access_token_accepted_version: Option<u8>,
    pub scopes: Vec<PermissionScope>,
    pub app_roles: Vec<AppRole>,
    pub redirect_uris: Vec<RedirectUri>,
    /// Public clients (native, device code) have no credential.
    pub is_public_client: bool,
    /// Refuse a client assertion sent a second time. Off by default, as in Entra: MSAL signs one
    /// assertion and resends it for up to ~9 minutes. A different assertion reusing a `jti` is
    /// always refused.
    #[serde(default)]
    pub single_use_client_assertions: bool,
    /// Entra keeps a refresh token valid after it was exchanged; tokengate's default rotates and
    /// revokes the family when a rotated token comes back. `true` restores Entra's behaviour.
    #[serde(default)]
    pub entra_compatible_refresh_tokens: bool,
    /// Entra's `groupMembershipClaims`: delegated tokens for this client carry `groups`.
    #[serde(default)]
    pub group_membership_claims: bool,
    /// The API permissions this client is configured with (Entra's `requiredResourceAccess`):
    /// what `{resource}/.default` and v1 `resource=` stand for, and what consent is asked for.
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
    pub created_at: UnixTime,
}

impl AppRegistration {
    /// Token version for tokens whose audience is this app.
    pub fn token_version(&self) -> TokenVersion {
        match self.access_token_accepted_version {
            Some(2) => TokenVersion::V2,
            _ => TokenVersion::V1,
        }
    }

    /// Whether `identifier` (from a scope like `X/.default`) names this app.
    pub fn is_named_by(&self, identifier: &str) -> bool {
        let trimmed = identifier.trim_end_matches('/');
        if let Ok(id) = Uuid::parse_str(trimmed) {
            return id == self.app_id;
        }
        self.identifier_uris.iter().any(|uri| uri.trim_end_matches('/') == trimmed)
    }

    pub fn role_by_value(&self, value: &str) -> Option<&AppRole> {
        self.app_roles.iter().find(|r| r.value == value)
    }
}

/// The permissions a client is configured with on one resource app (`requiredResourceAccess`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredResourceAccess {
    pub resource_app_id: Uuid,
    pub resource_access: Vec<ResourceAccess>,
}

/// One configured permission: the id of a delegated scope or of an app role of the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    pub id: Uuid,
    pub kind: ResourceAccessKind,
}

/// Entra's `resourceAccess.type`: `Scope` (delegated) or `Role` (application).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceAccessKind {
    Scope,
    Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenVersion {
    V1,
    V2,
}

impl TokenVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenVersion::V1 => "1.0",
            TokenVersion::V2 => "2.0",
        }
    }
}

/// The app's identity inside one tenant; `oid`/`sub` of its app-only tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePrincipal {
    pub object_id: Uuid,
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    pub display_name: String,
    pub created_at: UnixTime,
}

/// A client secret as stored: only its SHA-256 hash, the first three characters as a hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSecret {
    pub key_id: Uuid,
    pub app_id: Uuid,
    pub display_name: String,
    pub hint: String,
    pub secret_hash: Vec<u8>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A certificate credential: the DER, its thumbprints (as the assertion header names them) and
/// the RSA public key pulled out once so verification needs no parsing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCertificate {
    pub key_id: Uuid,
    pub app_id: Uuid,
    pub display_name: String,
    pub der: Vec<u8>,
    pub thumbprint_sha1: Vec<u8>,
    pub thumbprint_sha256: Vec<u8>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// An application permission (app role of `resource_app_id`) granted to a client's service
/// principal — what admin consent for application permissions records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRoleGrant {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Service principal object id of the client that receives the role.
    pub principal_id: Uuid,
    pub resource_app_id: Uuid,
    pub app_role_id: Uuid,
    pub created_at: UnixTime,
}

/// A user of a tenant. `object_id` is the `oid` of their tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub object_id: Uuid,
    pub tenant_id: Uuid,
    /// `user@domain`, stored lower-case; unique across tenants (as Entra's UPNs).
    pub user_principal_name: String,
    pub display_name: String,
    /// Argon2id PHC string; never leaves the store except to be verified.
    pub password_hash: String,
    pub enabled: bool,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub object_id: Uuid,
    pub tenant_id: Uuid,
    pub display_name: String,
    pub created_at: UnixTime,
}

/// Consent to delegated permissions (`oauth2PermissionGrant`): for one user, or tenant-wide
/// (admin consent) when `principal_id` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedGrant {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub client_app_id: Uuid,
    pub resource_app_id: Uuid,
    pub principal_id: Option<Uuid>,
    /// Scope values (`Orders.Read`), sorted, no duplicates.
    pub scopes: Vec<String>,
    pub created_at: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> AppRegistration {
        AppRegistration {
            app_id: Uuid::from_u128(7),
            tenant_id: Uuid::from_u128(1),
            display_name: "orders".into(),
            identifier_uris: vec!["api://orders".into()],
            sign_in_audience: SignInAudience::AzureADMyOrg,
            access_token_accepted_version: None,
            scopes: vec![],
            app_roles: vec![],
            redirect_uris: vec![],
            is_public_client: false,
            single_use_client_assertions: false,
            entra_compatible_refresh_tokens: false,
            group_membership_claims: false,
            required_resource_access: vec![],
            created_at: 0,
        }
    }

    #[test]
    fn named_by_uri_or_client_id() {
        let a = app();
        assert!(a.is_named_by("api://orders"));
        assert!(a.is_named_by("api://orders/"));
        assert!(a.is_named_by(&Uuid::from_u128(7).to_string()));
        assert!(!a.is_named_by("api://orders2"));
        assert!(!a.is_named_by(&Uuid::from_u128(8).to_string()));
    }

    #[test]
    fn version_follows_accepted_version() {
        let mut a = app();
        assert_eq!(a.token_version(), TokenVersion::V1);
        a.access_token_accepted_version = Some(2);
        assert_eq!(a.token_version(), TokenVersion::V2);
    }
}
