//! The refresh token grant. Every use hands out a new refresh token. By default the presented one
//! is rotated out, and presenting a rotated token again (outside a short grace for the immediately
//! previous token) is taken as theft: the whole family — every refresh token and every access
//! token minted from it — is revoked. Within the grace the previous token gets a new successor and
//! the unused one is withdrawn; presenting a withdrawn successor is reuse too, so a replay inside
//! the grace never silently takes the family over. Apps in Entra-compatible mode keep old tokens
//! valid.
//!
//! A family never widens: for the resource it was signed in for, only the scopes of the sign-in
//! (AADSTS70011 otherwise); other resources only with consent (refresh across resources, as Entra).

use serde_json::json;

use super::client_binding::ClientBinding;
use super::delegated_issuance::{mint, refresh_token_hash, DelegatedIssue, UserTokens};
use super::delegated_scopes::{canonical_scope, resolve, RequestedScopes};
use super::grant_context::GrantContext;
use super::token_families::{MintedAccessToken, RefreshState, ReusePolicy, RotationOutcome};
use crate::audit::{AuditEvent, AuditSource, Outcome};
use crate::client_auth::backend;
use crate::errors::{codes, OAuthError};

/// What a `refresh_token` request carries beyond the grant context.
pub struct RefreshRequest<'a> {
    pub refresh_token: &'a str,
    /// `scope` as sent; the family's scopes when absent.
    pub scope: Option<&'a str>,
}

fn invalid_refresh(code: u32, text: &str) -> OAuthError {
    OAuthError::invalid_grant(code, text)
}

pub async fn refresh(ctx: &GrantContext<'_>, r: RefreshRequest<'_>) -> Result<UserTokens, OAuthError> {
    let issuer = &ctx.issuer;
    let store = issuer.store;
    let client = &ctx.client.app;
    let hash = refresh_token_hash(r.refresh_token);
    let Some(current) = store.refresh_token(&hash).await.map_err(backend)? else {
        return Err(invalid_refresh(codes::INVALID_GRANT, "The provided refresh token is invalid or malformed."));
    };
    // Checked before rotating: another client's (stolen) token must not disturb its family.
    if current.client_id != client.app_id || current.tenant_id != ctx.tenant.id {
        return Err(invalid_refresh(
            codes::INVALID_GRANT,
            "The refresh token was issued to a different client or tenant.",
        ));
    }
    // The family keeps the client authentication its sign-in needed (a hybrid app's web sign-in
    // is not refreshed without its secret); checked before rotating, like the client above.
    let binding = current.client_binding.unwrap_or_else(|| ClientBinding::for_legacy_family(client));
    binding.check(ctx.client.method, ctx.origin)?;
    // A withdrawn token goes on to the store, which takes its use as reuse (see `Withdrawn`).
    if current.state == RefreshState::Revoked {
        return Err(invalid_refresh(codes::REFRESH_REVOKED, "The provided refresh token has been revoked."));
    }
    // Issued before a revocation of its user or client: covered by it, also when its family was
    // created while the revocation was being written (its sweep of families missed it).
    let floor = ctx.issuer.revocations.issued_floor(
        &current.tenant_id.to_string(),
        Some(&current.user_id.to_string()),
        &current.client_id.to_string(),
    );
    if floor.is_some_and(|floor| current.issued_at < floor) {
        return Err(invalid_refresh(codes::REFRESH_REVOKED, "The provided refresh token has been revoked."));
    }
    if current.expires_at <= ctx.now {
        return Err(invalid_refresh(
            codes::REFRESH_EXPIRED,
            "The refresh token has expired due to inactivity. The token was issued and was inactive for 90 days.",
        ));
    }
    let user = super::active_user(store, current.user_id).await?;

    let scope = match r.scope {
        Some(s) if !s.trim().is_empty() => s.to_owned(),
        _ => current.scopes.join(" "),
    };
    let mut requested = RequestedScopes::parse(&scope)?;
    let mut resolved = resolve(store, ctx.tenant, client.app_id, user.object_id, &requested).await?;
    if let Some(res) = resolved.as_mut() {
        let prefix = format!("{}/", res.resource.app_id);
        let family_has_resource = current.scopes.iter().any(|s| s.starts_with(&prefix));
        if family_has_resource {
            let asked_default = requested.values.iter().any(|v| v == ".default");
            let allowed = |v: &String| current.scopes.contains(&canonical_scope(res.resource.app_id, v));
            if asked_default {
                res.values.retain(allowed);
                if res.values.is_empty() {
                    return Err(OAuthError::invalid_scope(
                        codes::INVALID_SCOPE,
                        "The refresh token was granted none of the client's configured permissions on this resource; a refresh never widens the scopes of the sign-in.",
                    ));
                }
            }
            if let Some(extra) = res.values.iter().find(|v| !allowed(v)) {
                return Err(OAuthError::invalid_scope(
                    codes::INVALID_SCOPE,
                    format!("The refresh token was not granted '{extra}'; a refresh never widens the scopes of the sign-in."),
                ));
            }
        } else if !res.missing_consent.is_empty() {
            return Err(super::consent_required(&res.missing_consent));
        }
    }
    // OpenID scopes come only from the sign-in; the new token stays a refresh token.
    requested.oidc.retain(|s| current.scopes.contains(s));
    if !requested.has("offline_access") {
        requested.oidc.push("offline_access".into());
    }

    let tokens = mint(
        issuer,
        DelegatedIssue {
            tenant: ctx.tenant,
            client,
            client_auth: ctx.client.method,
            user: &user,
            requested: &requested,
            resolved: resolved.as_ref(),
            nonce: None,
            session_id: current.session_id.unwrap_or(current.family_id),
            client_capabilities: ctx.client_capabilities.clone(),
            family_id: current.family_id,
            family_scopes: current.scopes.clone(),
            client_binding: binding,
            now: ctx.now,
        },
    )
    .await?;
    let Some((_, successor)) = &tokens.refresh else {
        return Err(OAuthError::server_error("refresh grant minted no refresh token"));
    };
    let policy = if client.entra_compatible_refresh_tokens {
        ReusePolicy::EntraCompatible
    } else {
        ReusePolicy::RotateAndDetect { grace_seconds: issuer.settings.refresh_reuse_grace }
    };
    let mut audit = AuditEvent::new(AuditSource::Issuer, "refresh_token.rotated", Outcome::Allowed, ctx.now * 1000);
    audit.tenant_id = Some(ctx.tenant.id.to_string());
    audit.client_id = Some(client.app_id.to_string());
    audit.subject = Some(user.object_id.to_string());
    audit.detail = json!({"family_id": current.family_id});
    let minted = MintedAccessToken { uti: tokens.claims.uti.clone(), expires_at: tokens.claims.exp };
    match store.rotate_refresh_token(&hash, successor, &minted, policy, ctx.now, &audit).await.map_err(backend)? {
        RotationOutcome::Rotated { .. } => {}
        // The store audited the family's revocation in the same transaction.
        RotationOutcome::ReuseDetected { .. } => {
            return Err(invalid_refresh(
                codes::REFRESH_REVOKED,
                "The refresh token was used before and has been revoked, with every token of its sign-in (refresh token reuse detected).",
            ));
        }
        RotationOutcome::Invalid => {
            return Err(invalid_refresh(
                codes::REFRESH_REVOKED,
                "The provided refresh token has been revoked or has expired.",
            ))
        }
    }
    // The rotation's transaction remembered the new access token's `uti` for the family (so a
    // revocation of the family reaches it); a second write here would only repeat it.
    Ok(UserTokens { tokens, user_id: user.object_id, scope })
}
