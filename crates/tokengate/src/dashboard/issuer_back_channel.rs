//! The dashboard's token requests to the built-in issuer: redeeming the sign-in's authorization
//! code (with its PKCE verifier) and renewing the session's access token with its refresh token.
//! They go to the issuer's own token endpoint, in process: the same checks, rate limits and audit
//! records as a request from outside, without a TLS hop to ourselves.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request};
use serde::Deserialize;
use tower::ServiceExt;

use super::dashboard_state::DashboardState;
use crate::client_address::PeerAddr;

const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The token endpoint's successful answer (what the dashboard uses of it).
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

/// The token endpoint's error (`error_description` as Entra writes it).
#[derive(Deserialize)]
struct TokenError {
    error: String,
    error_description: Option<String>,
}

/// Redeems an authorization code for this dashboard's client.
pub async fn redeem_code(
    state: &DashboardState,
    code: &str,
    code_verifier: &str,
    peer: Option<PeerAddr>,
) -> Result<TokenAnswer, String> {
    let redirect_uri = state.redirect_uri();
    let client_id = state.client_id.to_string();
    token_request(
        state,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", code_verifier),
        ],
        peer,
    )
    .await
}

/// A new access token (and rotated refresh token) for a signed-in session.
pub async fn refresh(
    state: &DashboardState,
    refresh_token: &str,
    peer: Option<PeerAddr>,
) -> Result<TokenAnswer, String> {
    let client_id = state.client_id.to_string();
    let scope = format!("{} offline_access", state.api_scope);
    token_request(
        state,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", refresh_token),
            ("scope", &scope),
        ],
        peer,
    )
    .await
}

async fn token_request(
    state: &DashboardState,
    fields: &[(&str, &str)],
    peer: Option<PeerAddr>,
) -> Result<TokenAnswer, String> {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = Method::POST;
    let path = format!("/{}/oauth2/v2.0/token", state.tenant_id);
    *request.uri_mut() = path.parse().map_err(|_| "the token endpoint's path is not a URI".to_owned())?;
    request
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    if let Some(peer) = peer {
        request.extensions_mut().insert(peer);
    }
    let response = match state.issuer.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES)
        .await
        .map_err(|e| format!("the issuer's answer could not be read: {e}"))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| format!("the issuer's answer is not a token response: {e}"));
    }
    Err(match serde_json::from_slice::<TokenError>(&bytes) {
        Ok(e) => e.error_description.map(|d| format!("{}: {d}", e.error)).unwrap_or(e.error),
        Err(_) => format!("the issuer answered {status}"),
    })
}

/// The claims of a token the issuer just handed us over the back channel (no signature check
/// needed for what the dashboard reads from it: display name and roles; the admin API verifies
/// the access token on every call).
pub fn claims_of(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&tokengate_core::encoding::b64url_decode(payload)?).ok()
}
