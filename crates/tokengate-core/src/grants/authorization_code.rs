//! The authorization code grant (RFC 6749 §4.1 + PKCE, RFC 7636) as Entra runs it: codes are
//! single use and live 10 minutes; a second redemption answers AADSTS54005 and revokes every token
//! the first one produced (RFC 6749 §4.1.2: "SHOULD revoke all tokens previously issued based on
//! that authorization code").

use serde_json::json;
use uuid::Uuid;

use super::client_binding::ClientBinding;
use super::delegated_issuance::{issue_for_sign_in, NewSignIn, UserTokens};
use super::grant_context::GrantContext;
use super::token_families::{AuthorizationCode, CodeRedemption, CODE_LIFETIME};
use super::Issuer;
use crate::audit::AuditEvent;
use crate::client_auth::backend;
use crate::directory::RedirectPlatform;
use crate::encoding::{b64url, random_bytes, sha256};
use crate::errors::{codes, OAuthError};
use crate::pkce::{self, ChallengeMethod};
use crate::UnixTime;

/// What /authorize knows when it hands out a code.
pub struct NewCode<'a> {
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub user_id: Uuid,
    pub redirect_uri: &'a str,
    /// The platform `redirect_uri` is registered with (decides how the code is redeemed).
    pub redirect_platform: RedirectPlatform,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub pkce: Option<(String, ChallengeMethod)>,
    pub auth_time: UnixTime,
    /// The browser session signing in (`sid`).
    pub session_id: Uuid,
    pub now: UnixTime,
}

/// Stores a new code and returns it. The refresh-token family is fixed now, so a reuse racing the
/// first redemption still knows which family to revoke.
pub async fn issue_code(issuer: &Issuer<'_>, c: NewCode<'_>) -> Result<String, OAuthError> {
    let code = format!("1.A{}", b64url(random_bytes::<32>()));
    let (pkce_challenge, pkce_method) = match c.pkce {
        Some((challenge, method)) => (Some(challenge), Some(method)),
        None => (None, None),
    };
    let record = AuthorizationCode {
        code_hash: code_hash(&code),
        tenant_id: c.tenant_id,
        client_id: c.client_id,
        user_id: c.user_id,
        redirect_uri: c.redirect_uri.to_owned(),
        scopes: c.scopes,
        nonce: c.nonce,
        pkce_challenge,
        pkce_method,
        auth_time: c.auth_time,
        created_at: c.now,
        expires_at: c.now + CODE_LIFETIME,
        family_id: Some(Uuid::new_v4()),
        session_id: Some(c.session_id),
        redirect_platform: Some(c.redirect_platform),
    };
    issuer.store.insert_code(&record).await.map_err(backend)?;
    Ok(code)
}

pub fn code_hash(code: &str) -> Vec<u8> {
    sha256(code.as_bytes()).to_vec()
}

/// What an `authorization_code` request carries beyond the grant context.
pub struct CodeRequest<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

pub async fn redeem(ctx: &GrantContext<'_>, r: CodeRequest<'_>) -> Result<UserTokens, OAuthError> {
    let store = ctx.issuer.store;
    let client = &ctx.client.app;
    let code = match store.redeem_code(&code_hash(r.code), ctx.now).await.map_err(backend)? {
        CodeRedemption::Redeemed(code) => code,
        CodeRedemption::AlreadyRedeemed(code) => {
            if let Some(family) = code.family_id {
                let mut audit = AuditEvent::admin(
                    "authorization_code.reuse_detected",
                    Some(code.tenant_id),
                    json!({"family_id": family, "client_id": code.client_id}),
                    ctx.now,
                );
                audit.source = crate::audit::AuditSource::Issuer;
                audit.outcome = crate::audit::Outcome::Denied;
                audit.subject = Some(code.user_id.to_string());
                store.revoke_family(family, ctx.now, &audit).await.map_err(backend)?;
            }
            return Err(OAuthError::invalid_grant(
                codes::CODE_REDEEMED,
                "The provided authorization code has already been redeemed; every token issued from it is revoked.",
            ));
        }
        CodeRedemption::NotFound => {
            return Err(OAuthError::invalid_grant(
                codes::CODE_EXPIRED,
                "The provided authorization code is invalid or has expired.",
            ))
        }
    };
    // The code is spent from here on: a code injected into another client is burnt, not reusable.
    if code.client_id != client.app_id || code.tenant_id != ctx.tenant.id {
        return Err(OAuthError::invalid_grant(
            codes::INVALID_GRANT,
            "The authorization code was issued to another client or tenant.",
        ));
    }
    // A sign-in made before a revocation of its user or client is covered by it, also when the
    // code was redeemed while the revocation was being written (its sweep of codes missed it).
    let floor = ctx.issuer.revocations.issued_floor(
        &code.tenant_id.to_string(),
        Some(&code.user_id.to_string()),
        &code.client_id.to_string(),
    );
    if floor.is_some_and(|floor| code.auth_time < floor) {
        return Err(OAuthError::invalid_grant(
            codes::INVALID_GRANT,
            "The sign-in behind this authorization code was revoked; sign in again.",
        ));
    }
    if r.redirect_uri != Some(code.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            codes::INVALID_GRANT,
            "The redirect_uri does not match the one the authorization code was issued to.",
        ));
    }
    let binding = match code.redirect_platform {
        Some(platform) => ClientBinding::for_redirect(platform, client),
        None => ClientBinding::for_legacy_code(&code.redirect_uri, client),
    };
    binding.check(ctx.client.method, ctx.origin)?;
    match (&code.pkce_challenge, code.pkce_method, r.code_verifier) {
        (Some(challenge), Some(method), Some(verifier)) if pkce::verify(verifier, challenge, method) => {}
        (None, _, None) => {}
        (None, _, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                codes::PKCE_MISMATCH,
                "A code_verifier was sent but the authorization request had no code_challenge.",
            ))
        }
        _ => {
            return Err(OAuthError::invalid_grant(
                codes::PKCE_MISMATCH,
                "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
            ))
        }
    }
    issue_for_sign_in(
        &ctx.issuer,
        NewSignIn {
            tenant: ctx.tenant,
            client,
            client_auth: ctx.client.method,
            user_id: code.user_id,
            scope: code.scopes.join(" "),
            nonce: code.nonce.clone(),
            family_id: code.family_id,
            session_id: code.session_id,
            client_binding: binding,
            client_capabilities: ctx.client_capabilities.clone(),
            grant: "authorization_code",
            now: ctx.now,
        },
    )
    .await
}
