//! Mints what a user-facing grant answers with: the delegated access token, the ID token (with
//! `openid`), and the next refresh token of the sign-in's family (with `offline_access`).
//! Every grant that acts for a person (authorization code, refresh, device code, on-behalf-of)
//! ends here, so their tokens cannot drift apart.

use serde::Serialize;
use tokengate_proto::AccessTokenClaims;
use uuid::Uuid;

use super::delegated_scopes::{user_roles, RequestedScopes, ResolvedScopes};
use super::token_families::{RefreshState, RefreshToken, REFRESH_INACTIVITY};
use super::Issuer;
use crate::client_auth::{backend, ClientAuthMethod};
use crate::directory::{AppRegistration, Tenant, TokenVersion, User};
use crate::encoding::{b64url, random_bytes, sha256};
use crate::errors::OAuthError;
use crate::tokens::delegated_token::{delegated_claims, id_token_claims, DelegatedToken, IdToken, SignedInUser};
use crate::UnixTime;

/// Microsoft Graph's client id: the audience of tokens asked for with only OpenID scopes (Entra
/// hands out a Graph token then; here it opens the `userinfo` endpoint and nothing else).
pub const USERINFO_AUDIENCE: &str = "00000003-0000-0000-c000-000000000000";

pub struct DelegatedIssue<'a> {
    pub tenant: &'a Tenant,
    pub client: &'a AppRegistration,
    pub client_auth: ClientAuthMethod,
    pub user: &'a User,
    pub requested: &'a RequestedScopes,
    /// `None` when only OpenID scopes were asked for.
    pub resolved: Option<&'a ResolvedScopes>,
    pub nonce: Option<String>,
    /// The sign-in session (`sid` of the ID token); kept with the family's refresh tokens.
    pub session_id: Uuid,
    /// CAE capabilities from the `claims` request parameter.
    pub client_capabilities: Option<Vec<String>>,
    /// The refresh-token family these tokens belong to (revoking it revokes them).
    pub family_id: Uuid,
    /// Scopes the family may use (kept on its refresh tokens; never widened).
    pub family_scopes: Vec<String>,
    pub now: UnixTime,
}

pub struct DelegatedTokens {
    pub access_token: String,
    pub expires_in: i64,
    pub claims: AccessTokenClaims,
    pub id_token: Option<String>,
    /// The refresh token to hand out and its record (not yet stored: the grant stores it).
    pub refresh: Option<(String, RefreshToken)>,
    pub resource_app_id: Option<Uuid>,
}

/// What a user-facing grant answers with.
pub struct UserTokens {
    pub tokens: DelegatedTokens,
    pub user_id: Uuid,
    /// Echoed as the response's `scope` (MSAL's cache matches on it).
    pub scope: String,
}

pub async fn mint(issuer: &Issuer<'_>, t: DelegatedIssue<'_>) -> Result<DelegatedTokens, OAuthError> {
    let Issuer { store, keys, settings, base_url } = *issuer;
    let tenant_id = t.tenant.id.to_string();
    let object_id = t.user.object_id.to_string();
    let client_app_id = t.client.app_id.to_string();
    let session_id = t.session_id.to_string();
    let signed_in = || SignedInUser {
        object_id: &object_id,
        tenant_id: &tenant_id,
        user_principal_name: &t.user.user_principal_name,
        display_name: &t.user.display_name,
    };
    let group_ids: Vec<Uuid> = if t.client.group_membership_claims || t.resolved.is_some() {
        store.groups_of(t.user.object_id).await.map_err(backend)?.into_iter().map(|g| g.object_id).collect()
    } else {
        Vec::new()
    };
    let (version, audience, scopes, roles) = match t.resolved {
        Some(r) => {
            let version = r.resource.token_version();
            let audience = match version {
                TokenVersion::V2 => r.resource.app_id.to_string(),
                TokenVersion::V1 => r.identifier.trim_end_matches('/').to_owned(),
            };
            let roles = user_roles(store, &r.resource, t.user.object_id, &group_ids).await?;
            (version, audience, r.values.clone(), roles)
        }
        None => {
            let oidc: Vec<String> = t.requested.oidc.iter().filter(|s| *s != "offline_access").cloned().collect();
            (TokenVersion::V1, USERINFO_AUDIENCE.to_owned(), oidc, Vec::new())
        }
    };
    let lifetime = settings.draw_lifetime();
    let claims = delegated_claims(
        DelegatedToken {
            version,
            base_url,
            user: signed_in(),
            audience,
            client_app_id: &client_app_id,
            client_auth: t.client_auth,
            scopes,
            roles,
            groups: t.client.group_membership_claims.then(|| group_ids.iter().map(Uuid::to_string).collect()),
            client_capabilities: t.client_capabilities,
            now: t.now,
            lifetime,
        },
        settings,
    );
    let key_set = keys.current();
    let access_token = sign(&key_set.active, &claims, version == TokenVersion::V1)?;
    let id_token = if t.requested.has("openid") {
        let claims = id_token_claims(
            IdToken {
                base_url,
                user: signed_in(),
                client_app_id: &client_app_id,
                nonce: t.nonce,
                session_id: &session_id,
                now: t.now,
            },
            settings,
        );
        Some(sign(&key_set.active, &claims, false)?)
    } else {
        None
    };
    let refresh = t.requested.has("offline_access").then(|| {
        let token = new_refresh_token();
        let record = RefreshToken {
            token_hash: refresh_token_hash(&token),
            family_id: t.family_id,
            tenant_id: t.tenant.id,
            client_id: t.client.app_id,
            user_id: t.user.object_id,
            scopes: t.family_scopes.clone(),
            state: RefreshState::Active,
            issued_at: t.now,
            expires_at: t.now + REFRESH_INACTIVITY,
            rotated_at: None,
            parent_hash: None,
            session_id: Some(t.session_id),
        };
        (token, record)
    });
    Ok(DelegatedTokens {
        access_token,
        expires_in: lifetime,
        claims,
        id_token,
        refresh,
        resource_app_id: t.resolved.map(|r| r.resource.app_id),
    })
}

fn sign<C: Serialize>(key: &crate::keys::SigningKey, claims: &C, v1: bool) -> Result<String, OAuthError> {
    key.sign_jwt(claims, v1).map_err(|e| OAuthError::server_error(format!("signing failed: {e}")))
}

/// Refresh tokens are opaque, 384 random bits; only their SHA-256 is stored.
pub fn new_refresh_token() -> String {
    format!("1.A{}", b64url(random_bytes::<48>()))
}

pub fn refresh_token_hash(token: &str) -> Vec<u8> {
    sha256(token.as_bytes()).to_vec()
}

/// The family scopes of a sign-in: the canonical resource scopes plus the OpenID ones.
pub fn family_scopes(requested: &RequestedScopes, resolved: Option<&ResolvedScopes>) -> Vec<String> {
    let mut out = resolved.map(ResolvedScopes::canonical).unwrap_or_default();
    out.extend(requested.oidc.iter().cloned());
    out
}

/// `client_info`: base64url JSON `{"uid": oid, "utid": tid}` — MSAL builds its account from it.
pub fn client_info(user_object_id: Uuid, tenant_id: Uuid) -> String {
    b64url(serde_json::json!({"uid": user_object_id.to_string(), "utid": tenant_id.to_string()}).to_string())
}
