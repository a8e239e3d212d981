//! CORS for browser apps, as Entra answers it: single-page apps redeem codes and refresh tokens
//! at the token endpoint from their own origin (allowed for the origins of SPA redirect URIs),
//! and msal-browser reads discovery and keys from the page (public metadata: any origin).
//! No credentials mode anywhere: the token endpoint never reads cookies.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokengate_core::directory::{AppRegistration, RedirectPlatform};
use uuid::Uuid;

use super::tenant_resolution::TenantSegment;
use crate::state::IssuerState;

/// What MSAL.js (and MSAL for other browser SDKs) sends on a token request, plus the form's
/// content type.
pub const ALLOWED_HEADERS: &str = "content-type, x-anchormailbox, x-client-sku, x-client-ver, x-client-os, \
x-client-cpu, x-ms-lib-capability, x-client-current-telemetry, x-client-last-telemetry, client-request-id, \
return-client-request-id, x-client-brkrver, x-app-name, x-app-ver";
/// Response headers a page may read (MSAL correlates with them).
const EXPOSED_HEADERS: &str = "client-request-id, x-ms-request-id, x-ms-clitelem";
/// Browsers cache a preflight at most this long (Chromium caps it at 2 hours).
const PREFLIGHT_MAX_AGE: &str = "7200";

/// `scheme://host[:port]` of an absolute URI, as a browser serialises its origin.
pub fn origin_of(uri: &str) -> Option<String> {
    let origin = url::Url::parse(uri).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// Whether `origin` is the origin of one of `app`'s single-page-app redirect URIs.
pub fn is_spa_origin_of(app: &AppRegistration, origin: &str) -> bool {
    app.redirect_uris
        .iter()
        .filter(|r| r.platform == RedirectPlatform::Spa)
        .any(|r| origin_of(&r.uri).as_deref() == Some(origin))
}

fn request_origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| !o.is_empty() && *o != "null")
}

fn allow(h: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
    }
}

/// `OPTIONS` on the token endpoints. A preflight carries no body, so the client is unknown yet:
/// any origin that is an SPA redirect origin of an app of this tenant passes the preflight; the
/// POST itself is answered with CORS only for an SPA origin of the client it names.
pub async fn token_preflight(
    State(state): State<Arc<IssuerState>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = request_origin(&headers) else { return refused(response) };
    let tenant = match state.tenants.resolve(state.store.as_ref(), &segment).await {
        Ok(Some(TenantSegment::Tenant(t))) => t,
        _ => return refused(response),
    };
    let apps = match state.store.apps(tenant.id).await {
        Ok(apps) => apps,
        Err(e) => {
            tracing::error!(error = %e, "listing apps for a CORS preflight failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if !apps.iter().any(|a| is_spa_origin_of(a, origin)) {
        return refused(response);
    }
    let h = response.headers_mut();
    allow(h, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE));
    response
}

/// A preflight from an origin no SPA is registered at: no CORS headers, so the browser stops.
fn refused(mut response: Response) -> Response {
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

/// CORS on a token endpoint answer (success or error, so MSAL.js can read either) when the
/// request comes from an SPA redirect origin of the client it names.
pub async fn token_response(
    state: &IssuerState,
    headers: &HeaderMap,
    client_id: Option<&str>,
    response: &mut Response,
) {
    let Some(origin) = request_origin(headers) else { return };
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(client_id) = client_id.and_then(|c| Uuid::parse_str(c).ok()) else { return };
    if let Ok(Some(app)) = state.store.app(client_id).await {
        if is_spa_origin_of(&app, origin) {
            allow(response.headers_mut(), origin);
        }
    }
}

/// Discovery and keys are public: any page may read them (Entra sends `*` too).
pub async fn public_metadata(mut response: Response) -> Response {
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_as_browsers_serialise_them() {
        assert_eq!(origin_of("http://localhost:3000/spa/cb?x=1").as_deref(), Some("http://localhost:3000"));
        assert_eq!(origin_of("https://App.Example:443/cb").as_deref(), Some("https://app.example"));
        assert_eq!(origin_of("https://app.example:8443").as_deref(), Some("https://app.example:8443"));
        assert_eq!(origin_of("msal1234://auth"), None);
        assert_eq!(origin_of("not a uri"), None);
    }
}
