//! Reading `/authorize`: what must be refused with an error page (unknown client, unregistered
//! redirect URI: never redirect to an unverified place) and what goes back to the client as an
//! error redirect (everything after the redirect URI is trusted).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tokengate_core::directory::{AppRegistration, RedirectPlatform, Tenant};
use tokengate_core::errors::codes;
use tokengate_core::grants::configured_permissions::refuse_unconfigured_default;
use tokengate_core::grants::delegated_scopes::RequestedScopes;
use tokengate_core::pkce::ChallengeMethod;
use tokengate_core::redirect_uri::registered_redirect;
use tokengate_core::store::Store;
use uuid::Uuid;

use super::tenant_resolution::TenantSegment;
use crate::state::IssuerState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prompt {
    Login,
    None,
    Consent,
    SelectAccount,
}

/// A validated authorization request, carried (signed) through sign-in and consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<(String, ChallengeMethod)>,
    pub prompt: Option<Prompt>,
    pub login_hint: Option<String>,
    /// The session created by a sign-in made for this request (satisfies `prompt=login`).
    pub signed_in_session: Option<Uuid>,
    /// The session that saw the consent page for this request (satisfies `prompt=consent`).
    pub consent_session: Option<Uuid>,
}

/// Reported to the client at its (verified) redirect URI.
#[derive(Debug)]
pub struct RedirectError {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub error: &'static str,
    pub code: u32,
    pub description: String,
}

#[derive(Debug)]
pub enum AuthorizeError {
    /// Refused before the redirect URI is trusted: shown as a page, never redirected.
    Page { code: u32, title: &'static str, message: String },
    /// Everything after the redirect URI is verified goes back to the client.
    Redirect(Box<RedirectError>),
}

impl AuthorizeRequest {
    /// `error` for this request, to be answered at its redirect URI (with its `state`).
    pub fn redirect_error(&self, error: &'static str, code: u32, description: &str) -> RedirectError {
        RedirectError {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            state: self.state.clone(),
            error,
            code,
            description: description.to_owned(),
        }
    }
}

const MAX_PARAM: usize = 4096;

pub async fn parse(
    state: &IssuerState,
    segment: &str,
    params: &HashMap<String, String>,
) -> Result<(AuthorizeRequest, Tenant, AppRegistration), AuthorizeError> {
    let page = |code: u32, title: &'static str, message: String| AuthorizeError::Page { code, title, message };
    if params.values().any(|v| v.len() > MAX_PARAM) {
        return Err(page(codes::MALFORMED_REQUEST, "Request too large", "A request parameter is too long.".into()));
    }
    let store: &dyn Store = state.store.as_ref();
    let client_id = params.get("client_id").and_then(|c| Uuid::parse_str(c).ok());
    let client = match client_id {
        Some(id) => store.app(id).await.ok().flatten(),
        None => None,
    };
    let Some(client) = client else {
        return Err(page(
            codes::APP_NOT_FOUND,
            "Application not found",
            "The application asking you to sign in is not registered with this directory. Check the client_id the application sends.".into(),
        ));
    };
    let tenant = match state.tenants.resolve(store, segment).await {
        Ok(Some(TenantSegment::Tenant(t))) => Some(Tenant::clone(&t)),
        // `common` / `organizations`: the app's home tenant signs the user in.
        Ok(Some(TenantSegment::MultiTenant(_))) => store.tenant(client.tenant_id).await.ok().flatten(),
        _ => None,
    };
    let Some(tenant) = tenant else {
        return Err(page(
            codes::TENANT_NOT_FOUND,
            "Directory not found",
            "The directory (tenant) in this sign-in address does not exist.".into(),
        ));
    };
    let visible = client.tenant_id == tenant.id
        || store.service_principal(tenant.id, client.app_id).await.ok().flatten().is_some();
    if !visible {
        return Err(page(
            codes::APP_NOT_FOUND,
            "Application not found",
            format!("Application '{}' was not found in the directory '{}'.", client.app_id, tenant.display_name),
        ));
    }
    let redirect = match params.get("redirect_uri") {
        Some(uri) => registered_redirect(&client, uri).map(|r| (uri.clone(), r.platform)),
        None if client.redirect_uris.len() == 1 => client.redirect_uris.first().map(|r| (r.uri.clone(), r.platform)),
        None => None,
    };
    let Some((redirect_uri, platform)) = redirect else {
        return Err(page(
            codes::REDIRECT_MISMATCH,
            "Redirect URI mismatch",
            format!(
                "The redirect URI specified in the request does not match the redirect URIs configured for the application '{}'. Make sure the redirect URI sent in the request matches one added to your application.",
                client.app_id
            ),
        ));
    };

    // From here on errors go back to the client.
    let state_param = params.get("state").cloned();
    let response_mode = match params.get("response_mode").map(String::as_str) {
        None | Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        Some(_) => ResponseMode::Query,
    };
    let redirect_error = |error: &'static str, code: u32, description: String| {
        AuthorizeError::Redirect(Box::new(RedirectError {
            redirect_uri: redirect_uri.clone(),
            response_mode,
            state: state_param.clone(),
            error,
            code,
            description,
        }))
    };
    if let Some(mode) = params.get("response_mode") {
        if !["query", "fragment", "form_post"].contains(&mode.as_str()) {
            return Err(redirect_error(
                "invalid_request",
                codes::MALFORMED_REQUEST,
                "The response_mode is not supported.".into(),
            ));
        }
    }
    match params.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => {
            return Err(redirect_error(
                "invalid_request",
                codes::MISSING_PARAMETER,
                "The request body must contain the following parameter: 'response_type'.".into(),
            ))
        }
        Some(_) => {
            return Err(redirect_error(
                "unsupported_response_type",
                codes::UNSUPPORTED_RESPONSE_TYPE,
                "Only response_type=code is enabled for this application (use the authorization code flow with PKCE)."
                    .into(),
            ))
        }
    }
    let scope = match (params.get("scope"), params.get("resource")) {
        (Some(scope), _) => scope.clone(),
        // v1: `resource` names the API; the request is for the client's configured permissions
        // on it, as `{resource}/.default` (AADSTS650057 if it has none).
        (None, Some(resource)) => match v1_scope(state, &tenant, resource).await {
            Some(s) => s,
            None => {
                return Err(redirect_error(
                    "invalid_resource",
                    codes::RESOURCE_NOT_FOUND,
                    "The resource principal named in 'resource' was not found in the tenant.".into(),
                ))
            }
        },
        (None, None) => String::new(),
    };
    let requested = match RequestedScopes::parse(&scope) {
        Ok(r) => r,
        Err(e) => return Err(redirect_error("invalid_scope", e.code, e.description)),
    };
    // `.default` for a resource the client lists no permission for: refused before sign-in.
    if let Err(e) = refuse_unconfigured_default(store, &tenant, &client, &requested).await {
        return Err(redirect_error(e.error, e.code, e.description));
    }
    let code_challenge = match (params.get("code_challenge"), params.get("code_challenge_method")) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(redirect_error(
                "invalid_request",
                codes::MISSING_PARAMETER,
                "code_challenge_method without code_challenge.".into(),
            ))
        }
        (Some(challenge), method) => {
            let Some(method) = ChallengeMethod::parse(method.map(String::as_str)) else {
                return Err(redirect_error(
                    "invalid_request",
                    codes::MALFORMED_REQUEST,
                    "The code_challenge_method must be S256 or plain.".into(),
                ));
            };
            if !tokengate_core::pkce::is_valid_verifier(challenge) {
                return Err(redirect_error(
                    "invalid_request",
                    codes::MALFORMED_REQUEST,
                    "The code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~].".into(),
                ));
            }
            Some((challenge.clone(), method))
        }
    };
    // Public and SPA clients have no secret: PKCE is what binds the code to them.
    if code_challenge.is_none()
        && (client.is_public_client || matches!(platform, RedirectPlatform::PublicClient | RedirectPlatform::Spa))
    {
        return Err(redirect_error(
            "invalid_request",
            codes::PKCE_REQUIRED,
            "Proof Key for Code Exchange (code_challenge) is required for public and single-page applications.".into(),
        ));
    }
    let prompt = match params.get("prompt").map(String::as_str) {
        None => None,
        Some("login") => Some(Prompt::Login),
        Some("none") => Some(Prompt::None),
        Some("consent") => Some(Prompt::Consent),
        Some("select_account") => Some(Prompt::SelectAccount),
        Some(_) => {
            return Err(redirect_error(
                "invalid_request",
                codes::MALFORMED_REQUEST,
                "The prompt value is not supported (login, none, consent, select_account).".into(),
            ))
        }
    };
    let request = AuthorizeRequest {
        tenant_id: tenant.id,
        client_id: client.app_id,
        redirect_uri: redirect_uri.clone(),
        response_mode,
        scope,
        state: state_param.clone(),
        nonce: params.get("nonce").cloned(),
        code_challenge,
        prompt,
        login_hint: params.get("login_hint").cloned(),
        signed_in_session: None,
        consent_session: None,
    };
    Ok((request, tenant, client))
}

/// `{resource}/.default openid` if the v1 `resource` names an API visible in the tenant.
async fn v1_scope(state: &IssuerState, tenant: &Tenant, resource: &str) -> Option<String> {
    tokengate_core::grants::find_resource(state.store.as_ref(), tenant, resource).await.ok()??;
    Some(format!("{}/.default openid", resource.trim_end_matches('/')))
}
