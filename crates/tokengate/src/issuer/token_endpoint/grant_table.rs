//! The grant table: each grant's parameters, the client authenticated once under the grant's
//! rule, one grant context, then the grant itself (in `tokengate-core`, one file per grant).
//! Nothing here is cached: every request mints afresh (a claims request must never be answered
//! with an earlier token).

use tokengate_core::errors::codes;
use tokengate_core::grants::grant_context::GrantContext;
use tokengate_core::grants::on_behalf_of::OboRequest;
use tokengate_core::grants::{
    authorization_code, client_credentials, device_code, on_behalf_of, refresh_token, Issuer,
};
use tokengate_core::OAuthError;

use super::claims_request::ClaimsRequest;
use super::client_authentication::authenticate_client;
use super::grant_parameters::GrantParameters;
use super::token_request::{TokenRequest, TokenTrail};
use super::Granted;
use crate::state::{now, now_ms, IssuerState};
use tokengate_core::UnixTime;

pub async fn grant(
    state: &IssuerState,
    request: &TokenRequest<'_>,
    trail: &mut TokenTrail,
) -> Result<Granted, OAuthError> {
    let parameters = GrantParameters::read(request.grant, request.endpoint, &request.form)?;
    if let Some(scope) = parameters.requested_scope() {
        trail.detail.insert("scope".into(), scope.chars().take(1024).collect::<String>().into());
    }
    let claims = ClaimsRequest::parse(request.form.get("claims"), now_ms())?;
    if let Some(nbf) = claims.not_before {
        trail.detail.insert("claims_nbf".into(), nbf.into());
    }
    let client = authenticate_client(state, &request.caller(), request.grant.clients(), trail).await?;
    let (now, now_ms) = minting_time(&claims, request.now).await;
    let settings = claims.settings_at(state.settings, now);
    let ctx = GrantContext {
        issuer: Issuer {
            store: state.store.as_ref(),
            keys: &state.keys,
            settings: &settings,
            base_url: &state.base_url,
            revocations: &state.revocations,
            device_polls: &state.device_polls,
        },
        tenant: &request.tenant,
        client: &client,
        origin: request.origin(),
        client_capabilities: claims.capabilities,
        now,
        now_ms,
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

/// When the grant mints: the request's time, unless the client asked for a token not before a
/// second still to come (a CAE challenge right after a revocation), which is waited for — after
/// the client authenticated, so only a known client can hold a request open, for seconds at most.
async fn minting_time(claims: &ClaimsRequest, received_at: UnixTime) -> (UnixTime, i64) {
    let Some(not_before) = claims.not_before else {
        return (received_at, now_ms());
    };
    if let Some(wait) = claims.wait_before_minting(now_ms()) {
        tokio::time::sleep(wait).await;
    }
    (now().max(not_before), now_ms())
}
