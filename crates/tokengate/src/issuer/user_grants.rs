//! The token endpoint's user-facing grants: authorization code, refresh token, device code and
//! on-behalf-of. Public clients (no secret) identify themselves by `client_id` alone — PKCE, the
//! device code or the refresh token binds the request to them; confidential clients authenticate
//! exactly as for client credentials.

use axum::http::HeaderMap;
use tokengate_core::client_auth::{
    authenticate_confidential_client, ClientAuthContext, ClientAuthMethod, PresentedCredential,
};
use tokengate_core::directory::{AppRegistration, RedirectPlatform, Tenant};
use tokengate_core::errors::codes;
use tokengate_core::grants::delegated_issuance::UserTokens;
use tokengate_core::grants::{authorization_code, device_code, on_behalf_of, refresh_token, Issuer};
use tokengate_core::OAuthError;
use uuid::Uuid;

use super::form::Form;
use super::presented_client::presented_client;
use super::token_endpoint::{assertion_audiences, Granted, Trail};
use crate::state::{now, now_ms, IssuerState};

#[allow(clippy::too_many_arguments)]
pub async fn handle(
    state: &IssuerState,
    segment: &str,
    tenant: &Tenant,
    client_ip: &str,
    headers: &HeaderMap,
    form: &Form,
    grant: &'static str,
    trail: &mut Trail,
) -> Result<Granted, OAuthError> {
    let (client, client_auth) = client_for_user_grant(state, segment, tenant, client_ip, headers, form, trail).await?;
    let issuer =
        Issuer { store: state.store.as_ref(), keys: &state.keys, settings: &state.settings, base_url: &state.base_url };
    let capabilities = client_capabilities(form.get("claims"));
    let now = now();
    let tokens: UserTokens = match grant {
        "authorization_code" => {
            authorization_code::redeem(
                &issuer,
                authorization_code::CodeRequest {
                    tenant,
                    client: &client,
                    client_auth,
                    code: form.require("code")?,
                    redirect_uri: form.get("redirect_uri"),
                    code_verifier: form.get("code_verifier"),
                    origin: request_origin(headers),
                    client_capabilities: capabilities,
                    now,
                },
            )
            .await?
        }
        "refresh_token" => {
            refresh_token::refresh(
                &issuer,
                refresh_token::RefreshRequest {
                    tenant,
                    client: &client,
                    client_auth,
                    refresh_token: form.require("refresh_token")?,
                    scope: form.get("scope"),
                    origin: request_origin(headers),
                    client_capabilities: capabilities,
                    now,
                },
            )
            .await?
        }
        "device_code" => {
            // MSAL sends the device code as `device_code` and again as `code`.
            let code = form.get("device_code").or_else(|| form.get("code")).ok_or_else(|| {
                OAuthError::invalid_request(
                    codes::MISSING_PARAMETER,
                    "The request body must contain the following parameter: 'device_code'.",
                )
            })?;
            device_code::redeem(
                &issuer,
                device_code::DeviceTokenRequest {
                    tenant,
                    client: &client,
                    client_auth,
                    device_code: code,
                    client_capabilities: capabilities,
                    now_ms: now_ms(),
                },
            )
            .await?
        }
        _ => {
            if form.get("requested_token_use") != Some("on_behalf_of") {
                return Err(OAuthError::invalid_request(
                    codes::MALFORMED_REQUEST,
                    "The jwt-bearer grant needs requested_token_use=on_behalf_of.",
                ));
            }
            if client_auth == ClientAuthMethod::Public {
                return Err(OAuthError::invalid_client(
                    codes::NO_CLIENT_CREDENTIAL,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                ));
            }
            let assertion = form.require("assertion")?;
            let verified = state.own_tokens.verify(assertion, now, state.settings.clock_skew).ok_or_else(|| {
                OAuthError::invalid_grant(
                    codes::OBO_ASSERTION_INVALID,
                    "Assertion failed signature validation, has expired, or was revoked.",
                )
            })?;
            let authenticated = tokengate_core::client_auth::AuthenticatedClient {
                app: client.clone(),
                method: client_auth,
                credential_id: None,
            };
            on_behalf_of::exchange(
                &issuer,
                on_behalf_of::OboRequest {
                    tenant,
                    client: &authenticated,
                    assertion: &verified,
                    scope: form.require("scope")?,
                    client_capabilities: capabilities,
                    now,
                },
            )
            .await?
        }
    };
    Ok(Granted::User {
        tokens: Box::new(tokens),
        tenant_id: tenant.id,
        client_info: form.get("client_info") == Some("1"),
    })
}

/// The calling app: a public client by id alone, a confidential one by its credential.
async fn client_for_user_grant(
    state: &IssuerState,
    segment: &str,
    tenant: &Tenant,
    client_ip: &str,
    headers: &HeaderMap,
    form: &Form,
    trail: &mut Trail,
) -> Result<(AppRegistration, ClientAuthMethod), OAuthError> {
    let presented = presented_client(headers, form)?;
    trail.client_id = Some(presented.client_id.chars().filter(|c| c.is_ascii_graphic()).take(64).collect());
    if let PresentedCredential::None = presented.credential {
        let app = match Uuid::parse_str(&presented.client_id) {
            Ok(id) => state.store.app(id).await.map_err(|e| OAuthError::server_error(e.to_string()))?,
            Err(_) => None,
        };
        let visible = match &app {
            Some(a) if a.tenant_id == tenant.id => true,
            Some(a) => state.store.service_principal(tenant.id, a.app_id).await.ok().flatten().is_some(),
            None => false,
        };
        let Some(app) = app.filter(|_| visible) else {
            return Err(OAuthError::new(
                400,
                "unauthorized_client",
                codes::APP_NOT_FOUND,
                format!(
                    "Application with identifier '{}' was not found in the directory '{}'.",
                    trail.client_id.clone().unwrap_or_default(),
                    tenant.display_name
                ),
            ));
        };
        let public = app.is_public_client
            || app
                .redirect_uris
                .iter()
                .any(|r| matches!(r.platform, RedirectPlatform::PublicClient | RedirectPlatform::Spa));
        if !public {
            return Err(OAuthError::invalid_client(
                codes::NO_CLIENT_CREDENTIAL,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
        trail.detail.insert("auth".into(), "0".into());
        return Ok((app, ClientAuthMethod::Public));
    }
    let audiences = match presented.credential {
        PresentedCredential::Assertion { .. } => assertion_audiences(&state.base_url, segment, tenant),
        _ => Vec::new(),
    };
    let ctx = ClientAuthContext {
        tenant,
        client_id: &presented.client_id,
        client_ip,
        assertion_audiences: &audiences,
        now: now(),
        skew: state.settings.clock_skew,
    };
    let client =
        authenticate_confidential_client(state.store.as_ref(), &state.limits, &presented.credential, &ctx).await?;
    trail.detail.insert("auth".into(), client.method.acr().into());
    Ok((client.app, client.method))
}

/// The `Origin` a browser sends on a cross-origin request (SPA redemptions need one).
fn request_origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| !o.is_empty())
}

/// CAE: `claims={"access_token":{"xms_cc":{"values":["cp1"]}}}` → `["cp1"]`.
fn client_capabilities(claims: Option<&str>) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_str(claims?).ok()?;
    let values = value.get("access_token")?.get("xms_cc")?.get("values")?.as_array()?;
    let caps: Vec<String> =
        values.iter().filter_map(|v| v.as_str()).take(16).map(|s| s.chars().take(64).collect()).collect();
    (!caps.is_empty()).then_some(caps)
}
