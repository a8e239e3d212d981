//! The grant table: each grant's parameters, the client authenticated once under the grant's
//! rule, one grant context, then the grant itself (in `tokengate-core`, one file per grant).

use tokengate_core::errors::codes;
use tokengate_core::grants::grant_context::GrantContext;
use tokengate_core::grants::on_behalf_of::OboRequest;
use tokengate_core::grants::{
    authorization_code, client_credentials, device_code, on_behalf_of, refresh_token, Issuer,
};
use tokengate_core::OAuthError;

use super::client_authentication::authenticate_client;
use super::grant_parameters::GrantParameters;
use super::token_request::{TokenRequest, TokenTrail};
use super::Granted;
use crate::state::{now_ms, IssuerState};

pub async fn grant(
    state: &IssuerState,
    request: &TokenRequest<'_>,
    trail: &mut TokenTrail,
) -> Result<Granted, OAuthError> {
    let parameters = GrantParameters::read(request.grant, request.endpoint, &request.form)?;
    if let Some(scope) = parameters.requested_scope() {
        trail.detail.insert("scope".into(), scope.chars().take(1024).collect::<String>().into());
    }
    let client = authenticate_client(state, request, request.grant.clients(), trail).await?;
    let ctx = GrantContext {
        issuer: Issuer {
            store: state.store.as_ref(),
            keys: &state.keys,
            settings: &state.settings,
            base_url: &state.base_url,
            revocations: &state.revocations,
        },
        tenant: &request.tenant,
        client: &client,
        origin: request.origin(),
        client_capabilities: request.client_capabilities(),
        now: request.now,
        now_ms: now_ms(),
    };
    let tokens = match parameters {
        GrantParameters::ClientCredentials(resource) => {
            return client_credentials::issue(&ctx, resource).await.map(|t| Granted::AppOnly(Box::new(t)));
        }
        GrantParameters::AuthorizationCode(code) => authorization_code::redeem(&ctx, code).await?,
        GrantParameters::RefreshToken(refresh) => refresh_token::refresh(&ctx, refresh).await?,
        GrantParameters::DeviceCode { device_code } => device_code::redeem(&ctx, device_code).await?,
        GrantParameters::OnBehalfOf { assertion, scope } => {
            let verified = state.own_tokens.verify(assertion, ctx.now).await.ok_or_else(|| {
                OAuthError::invalid_grant(
                    codes::OBO_ASSERTION_INVALID,
                    "Assertion failed signature validation, has expired, or was revoked.",
                )
            })?;
            on_behalf_of::exchange(&ctx, OboRequest { assertion: &verified, scope }).await?
        }
    };
    Ok(Granted::User {
        tokens: Box::new(tokens),
        tenant_id: request.tenant.id,
        client_info: request.form.get("client_info") == Some("1"),
    })
}
