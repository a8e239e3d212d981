//! What every dashboard request shares: the admin API (called in process), the issuer it signs
//! people in with, the signed-in sessions, and the listener's public address (the only origin
//! and `Host` it answers for).

use aws_lc_rs::hmac;
use axum::Router;
use tokengate_core::encoding::{b64url, b64url_decode, random_bytes};
use uuid::Uuid;

use super::admin_calls::AdminCalls;
use super::dashboard_sessions::DashboardSessions;

/// How this node's dashboard is set up (`[admin] dashboard_client_id`; `dev` registers one).
#[derive(Debug, Clone)]
pub struct DashboardOptions {
    /// The public client app people sign in to the dashboard with. Its redirect URIs must include
    /// `{public_url}/dashboard/callback` (a loopback `http://127.0.0.1/dashboard/callback` covers
    /// any port) and its API permissions the admin API's `user_impersonation` scope.
    pub client_id: Uuid,
    /// Where browsers reach the admin listener (`None`: `http://{bound address}`).
    pub public_url: Option<String>,
}

/// The delegated scope of the admin API app the dashboard asks for.
pub const DASHBOARD_SCOPE: &str = "user_impersonation";

pub struct DashboardState {
    pub calls: AdminCalls,
    /// The issuer's router, for the back channel (code redemption and refresh), in process.
    pub issuer: Router,
    /// The issuer's base URL as browsers reach it (sign-in and sign-out pages).
    pub issuer_url: String,
    /// The admin API app's tenant: the one people sign in to.
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    /// `{admin API identifier URI}/user_impersonation`.
    pub api_scope: String,
    /// `http://127.0.0.1:8081` — no trailing slash.
    pub public_url: String,
    pub sessions: DashboardSessions,
    /// Keys the forms' anti-forgery tokens to the session they belong to.
    csrf_key: hmac::Key,
    /// `Content-Security-Policy` of every page.
    pub csp: String,
}

/// The pieces `DashboardState::new` needs from the runtime.
pub struct DashboardParts {
    pub api: Router,
    pub issuer: Router,
    pub issuer_url: String,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub admin_api_uri: String,
    pub public_url: String,
}

impl DashboardState {
    pub fn new(parts: DashboardParts) -> DashboardState {
        let public_url = parts.public_url.trim_end_matches('/').to_owned();
        let issuer_url = parts.issuer_url.trim_end_matches('/').to_owned();
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self' {issuer}; frame-ancestors 'none'; base-uri 'none'",
            issuer = origin_of(&issuer_url)
        );
        DashboardState {
            calls: AdminCalls::new(parts.api),
            issuer: parts.issuer,
            issuer_url,
            tenant_id: parts.tenant_id,
            client_id: parts.client_id,
            api_scope: format!("{}/{DASHBOARD_SCOPE}", parts.admin_api_uri.trim_end_matches('/')),
            public_url,
            sessions: DashboardSessions::new(),
            csrf_key: hmac::Key::new(hmac::HMAC_SHA256, &random_bytes::<32>()),
            csp,
        }
    }

    /// Cookies are `Secure` (with the `__Host-` prefix) when browsers reach the dashboard over
    /// https; a loopback http listener cannot set them, and browsers send its cookies to no
    /// other host.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure_cookies() {
            "__Host-tg_dashboard"
        } else {
            "tg_dashboard"
        }
    }

    pub fn sign_in_cookie_name(&self) -> &'static str {
        if self.secure_cookies() {
            "__Host-tg_dashboard_sign_in"
        } else {
            "tg_dashboard_sign_in"
        }
    }

    /// The authority (`host:port`) browsers use for the dashboard.
    pub fn public_authority(&self) -> &str {
        let rest = self.public_url.split_once("://").map_or(self.public_url.as_str(), |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/dashboard/callback", self.public_url)
    }

    pub fn signed_out_uri(&self) -> String {
        format!("{}/dashboard/signed-out", self.public_url)
    }

    /// The anti-forgery token of every form this session is shown (synchronizer token: derived
    /// from the session id, which only the server and the browser's HttpOnly cookie know).
    pub fn csrf_token(&self, session_id: &str) -> String {
        b64url(hmac::sign(&self.csrf_key, format!("dashboard-form|{session_id}").as_bytes()).as_ref())
    }

    pub fn csrf_token_valid(&self, session_id: &str, token: &str) -> bool {
        b64url_decode(token).is_some_and(|t| {
            hmac::verify(&self.csrf_key, format!("dashboard-form|{session_id}").as_bytes(), &t).is_ok()
        })
    }
}

/// `scheme://authority` of a URL.
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_authority_are_cut_from_urls() {
        assert_eq!(origin_of("https://localhost:8443/x/y"), "https://localhost:8443");
        assert_eq!(origin_of("https://localhost:8443"), "https://localhost:8443");
    }
}
