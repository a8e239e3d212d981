//! Mints what a user-facing grant answers with: the delegated access token, the ID token (with
//! `openid`), and the next refresh token of the sign-in's family (with `offline_access`).
//! Every grant that acts for a person (authorization code, refresh, device code, on-behalf-of)
//! ends here, so their tokens cannot drift apart.

use serde::Serialize;
use tokengate_proto::AccessTokenClaims;
use uuid::Uuid;

use super::client_binding::ClientBinding;
use super::delegated_scopes::{resolve, user_roles, RequestedScopes, ResolvedScopes};
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
    /// How the family's refresh tokens must be redeemed (kept on them).
    pub client_binding: ClientBinding,
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

/// A sign-in becoming tokens (authorization code, device code, on-behalf-of): a new family.
pub struct NewSignIn<'a> {
    pub tenant: &'a Tenant,
    pub client: &'a AppRegistration,
    pub client_auth: ClientAuthMethod,
    pub user_id: Uuid,
    /// The scopes as the sign-in asked for them (echoed in the response).
    pub scope: String,
    pub nonce: Option<String>,
    /// The family, when fixed beforehand (an authorization code knows it from the start).
    pub family_id: Option<Uuid>,
    /// The browser session (`sid`); the family id stands in when there is none.
    pub session_id: Option<Uuid>,
    /// How the new family must be redeemed.
    pub client_binding: ClientBinding,
    pub client_capabilities: Option<Vec<String>>,
    /// For the audit record of the refresh token.
    pub grant: &'static str,
    pub now: UnixTime,
}

/// Checks the user and the consent, mints the tokens, stores the family's first refresh token and
/// remembers the access token for revocation.
pub async fn issue_for_sign_in(issuer: &Issuer<'_>, s: NewSignIn<'_>) -> Result<UserTokens, OAuthError> {
    let user = super::active_user(issuer.store, s.user_id).await?;
    let requested = RequestedScopes::parse(&s.scope)?;
    let resolved = resolve(issuer.store, s.tenant, s.client.app_id, user.object_id, &requested).await?;
    if let Some(missing) = resolved.as_ref().filter(|r| !r.missing_consent.is_empty()) {
        return Err(super::consent_required(&missing.missing_consent));
    }
    let family_id = s.family_id.unwrap_or_else(Uuid::new_v4);
    let tokens = mint(
        issuer,
        DelegatedIssue {
            tenant: s.tenant,
            client: s.client,
            client_auth: s.client_auth,
            user: &user,
            requested: &requested,
            resolved: resolved.as_ref(),
            nonce: s.nonce,
            session_id: s.session_id.unwrap_or(family_id),
            client_capabilities: s.client_capabilities,
            family_id,
            family_scopes: family_scopes(&requested, resolved.as_ref()),
            client_binding: s.client_binding,
            now: s.now,
        },
    )
    .await?;
    super::remember_family_tokens(issuer, &tokens, family_id, s.grant, s.now).await?;
    Ok(UserTokens { tokens, user_id: user.object_id, scope: s.scope })
}

/// What a user-facing grant answers with.
pub struct UserTokens {
    pub tokens: DelegatedTokens,
    pub user_id: Uuid,
    /// Echoed as the response's `scope` (MSAL's cache matches on it).
    pub scope: String,
}

pub async fn mint(issuer: &Issuer<'_>, t: DelegatedIssue<'_>) -> Result<DelegatedTokens, OAuthError> {
    let Issuer { store, keys, settings, base_url, revocations, .. } = *issuer;
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
            // The last line of defence: a delegated token with an empty `scp` would pass for an
            // app-only one at APIs that tell them apart by `scp`.
            if r.values.is_empty() {
                return Err(OAuthError::invalid_scope(
                    crate::errors::codes::INVALID_SCOPE,
                    format!("No delegated permission of '{}' would be granted.", r.identifier),
                ));
            }
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
    let floor =
        revocations.issued_floor(&t.user.tenant_id.to_string(), Some(&t.user.object_id.to_string()), &client_app_id);
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
            issued_floor: floor,
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
            // Like the access token's `iat`: never before a revocation's cutoff, so a token issued
            // after the revocation is not taken for one it covers.
            issued_at: floor.map_or(t.now, |f| t.now.max(f)),
            expires_at: t.now + REFRESH_INACTIVITY,
            rotated_at: None,
            parent_hash: None,
            session_id: Some(t.session_id),
            client_binding: Some(t.client_binding),
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
