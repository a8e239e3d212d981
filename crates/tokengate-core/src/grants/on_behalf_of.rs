//! The on-behalf-of grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`,
//! `requested_token_use=on_behalf_of`): a middle-tier API that received a user's delegated token
//! exchanges it, with its own client credentials, for a token to a downstream API — for the same
//! user, with the permissions the user (or an admin) consented to for the middle tier.

use uuid::Uuid;

use super::client_binding::ClientBinding;
use super::delegated_issuance::{issue_for_sign_in, NewSignIn, UserTokens};
use super::grant_context::GrantContext;
use crate::access::token_validation::VerifiedToken;
use crate::errors::{codes, OAuthError};

pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// What an on-behalf-of request carries beyond the grant context.
pub struct OboRequest<'a> {
    /// The incoming token, already verified as one of this issuer's (signature, lifetime).
    pub assertion: &'a VerifiedToken,
    pub scope: &'a str,
}

fn bad_assertion(text: &str) -> OAuthError {
    OAuthError::invalid_grant(
        codes::OBO_ASSERTION_INVALID,
        format!("Assertion failed signature validation or is not valid here: {text}"),
    )
}

pub async fn exchange(ctx: &GrantContext<'_>, r: OboRequest<'_>) -> Result<UserTokens, OAuthError> {
    let a = r.assertion;
    let app = &ctx.client.app;
    if a.tid.as_deref() != Some(ctx.tenant.id.to_string().as_str()) {
        return Err(bad_assertion("the token was issued in another tenant."));
    }
    if !a.aud.iter().any(|aud| app.is_named_by(aud)) {
        return Err(bad_assertion("the token's audience is not the calling application."));
    }
    if !a.is_delegated() {
        return Err(bad_assertion("on-behalf-of needs a delegated (user) token; app-only tokens have no user."));
    }
    let user_id = a.oid.as_deref().and_then(|o| Uuid::parse_str(o).ok()).ok_or_else(|| bad_assertion("no user."))?;
    issue_for_sign_in(
        &ctx.issuer,
        NewSignIn {
            tenant: ctx.tenant,
            client: app,
            client_auth: ctx.client.method,
            user_id,
            scope: r.scope.to_owned(),
            nonce: None,
            family_id: None,
            session_id: None,
            client_binding: ClientBinding::for_client_auth(ctx.client.method),
            client_capabilities: ctx.client_capabilities.clone(),
            grant: "on_behalf_of",
            now: ctx.now,
        },
    )
    .await
}
