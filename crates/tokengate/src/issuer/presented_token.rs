//! What a token presented to the revocation or introspection endpoint is: a live, unrevoked
//! access token this issuer signed (`own_tokens`: signature, issuer, lifetime, revocation set), a
//! refresh token of ours (found by its hash, as the refresh grant finds it, in whatever state), or
//! nothing we know. The token itself is never logged nor kept.

use std::sync::Arc;

use tokengate_core::access::token_validation::VerifiedToken;
use tokengate_core::grants::delegated_issuance::refresh_token_hash;
use tokengate_core::grants::token_families::RefreshToken;
use tokengate_core::OAuthError;
use tokengate_core::UnixTime;
use uuid::Uuid;

use crate::state::IssuerState;

/// `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1): only where to look first. Other values are
/// ignored, as a wrong hint is: the search covers every kind anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

impl TokenTypeHint {
    pub fn parse(hint: Option<&str>) -> Option<TokenTypeHint> {
        match hint? {
            "access_token" => Some(TokenTypeHint::AccessToken),
            "refresh_token" => Some(TokenTypeHint::RefreshToken),
            _ => None,
        }
    }
}

pub enum PresentedToken {
    /// Signed by us, within its lifetime (with the clock skew gateways allow), not revoked.
    Access(Arc<VerifiedToken>),
    /// Ours, in whatever state (revoked, rotated, expired: the caller decides what that means).
    Refresh(Box<RefreshToken>),
    /// Unknown, malformed, expired, revoked, or someone else's signature.
    Unknown,
}

impl PresentedToken {
    pub async fn find(
        state: &IssuerState,
        token: &str,
        hint: Option<TokenTypeHint>,
        now: UnixTime,
    ) -> Result<PresentedToken, OAuthError> {
        if hint == Some(TokenTypeHint::RefreshToken) {
            if let Some(refresh) = refresh_token(state, token).await? {
                return Ok(PresentedToken::Refresh(refresh));
            }
            return Ok(state
                .own_tokens
                .verify(token, now)
                .await
                .map_or(PresentedToken::Unknown, PresentedToken::Access));
        }
        if let Some(access) = state.own_tokens.verify(token, now).await {
            return Ok(PresentedToken::Access(access));
        }
        Ok(refresh_token(state, token).await?.map_or(PresentedToken::Unknown, PresentedToken::Refresh))
    }
}

/// Whether `access` was issued to the client `app_id` in `tenant_id` (its `azp`/`appid`, `tid`).
pub fn issued_to(access: &VerifiedToken, app_id: Uuid, tenant_id: Uuid) -> bool {
    let is = |claim: Option<&str>, id: Uuid| claim.and_then(|c| Uuid::parse_str(c).ok()) == Some(id);
    is(access.client_id.as_deref(), app_id) && is(access.tid.as_deref(), tenant_id)
}

/// A store failure is an error, never "unknown": an answer of "nothing to revoke" or "inactive"
/// must not stand for "could not look".
async fn refresh_token(state: &IssuerState, token: &str) -> Result<Option<Box<RefreshToken>>, OAuthError> {
    state
        .store
        .refresh_token(&refresh_token_hash(token))
        .await
        .map(|found| found.map(Box::new))
        .map_err(|e| OAuthError::server_error(format!("storage unavailable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::TokenTypeHint;

    #[test]
    fn hints_are_only_the_two_rfc_values() {
        assert_eq!(TokenTypeHint::parse(Some("access_token")), Some(TokenTypeHint::AccessToken));
        assert_eq!(TokenTypeHint::parse(Some("refresh_token")), Some(TokenTypeHint::RefreshToken));
        assert_eq!(TokenTypeHint::parse(Some("id_token")), None);
        assert_eq!(TokenTypeHint::parse(None), None);
    }
}
