//! Signing in to the dashboard with the built-in issuer's authorization code flow + PKCE, as any
//! web app signs in with Entra: `/dashboard/sign-in` sends the browser to `/authorize`, the
//! issuer's sign-in page authenticates the person, `/dashboard/callback` redeems the code over
//! the back channel and starts a server-side session. Sign-out ends it here and at the issuer.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tokengate_core::encoding::{b64url, sha256};

use super::dashboard_pages::{page, DashboardError};
use super::dashboard_sessions::{random_id, PendingSignIn, SessionTokens, SIGN_IN_LIFETIME_S};
use super::dashboard_state::DashboardState;
use super::issuer_back_channel::{claims_of, redeem_code};
use super::signed_in::ReadForm;
use crate::admin::api::{AdminRole, ADMIN_ROLE, AUDITOR_ROLE};
use crate::client_address::PeerAddr;
use crate::state::now;
use crate::web::cookies::cookie;
use crate::web::html_response::see_other;

#[derive(Deserialize)]
pub struct SignInQuery {
    return_to: Option<String>,
}

/// `GET /dashboard/sign-in`: off to the issuer, remembering where to come back to.
pub async fn sign_in(State(state): State<Arc<DashboardState>>, Query(q): Query<SignInQuery>) -> Response {
    let binding = random_id();
    let code_verifier = random_id();
    let nonce = random_id();
    let challenge = b64url(sha256(code_verifier.as_bytes()));
    let return_to = q.return_to.filter(|r| is_dashboard_path(r)).unwrap_or_else(|| "/dashboard/".to_owned());
    let sign_in_state = state.sessions.begin_sign_in(PendingSignIn {
        browser_binding: binding.clone(),
        code_verifier,
        nonce: nonce.clone(),
        return_to,
        created: now(),
    });
    let scope = format!("openid profile offline_access {}", state.api_scope);
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &state.client_id.to_string())
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &state.redirect_uri())
        .append_pair("response_mode", "query")
        .append_pair("scope", &scope)
        .append_pair("state", &sign_in_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let location = format!("{}/{}/oauth2/v2.0/authorize?{query}", state.issuer_url, state.tenant_id);
    let mut response = see_other(&location);
    // Lax: the callback is a top-level navigation back from the issuer's site.
    append_cookie(&mut response, &state, state.sign_in_cookie_name(), &binding, Some(SIGN_IN_LIFETIME_S), "Lax");
    response
}

/// A path of this dashboard (never another site, never a scheme-relative `//host`).
fn is_dashboard_path(path: &str) -> bool {
    (path == "/dashboard" || path.starts_with("/dashboard/") || path.starts_with("/dashboard?"))
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /dashboard/callback`: the issuer's answer.
pub async fn callback(
    State(state): State<Arc<DashboardState>>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
    peer: Option<axum::Extension<PeerAddr>>,
) -> Result<Response, DashboardError> {
    if let Some(error) = q.error {
        let detail = q.error_description.unwrap_or_default();
        return Err(DashboardError::SignIn(format!("The issuer answered {error}: {detail}")));
    }
    let stale = || {
        DashboardError::SignIn(
            "This sign-in is no longer valid (it was used already, took longer than ten minutes, or was started in \
             another browser). Sign in again."
                .into(),
        )
    };
    let (Some(code), Some(sign_in_state)) = (q.code, q.state) else { return Err(stale()) };
    let pending = state.sessions.finish_sign_in(&sign_in_state, now()).ok_or_else(stale)?;
    if cookie(&headers, state.sign_in_cookie_name()).as_deref() != Some(pending.browser_binding.as_str()) {
        return Err(stale());
    }
    let peer = peer.map(|axum::Extension(p)| p);
    let tokens = redeem_code(&state, &code, &pending.code_verifier, peer)
        .await
        .map_err(|reason| DashboardError::SignIn(format!("The issuer refused the sign-in: {reason}")))?;
    let id_claims = tokens.id_token.as_deref().and_then(claims_of).unwrap_or_default();
    if id_claims.get("nonce").and_then(|n| n.as_str()) != Some(pending.nonce.as_str()) {
        return Err(DashboardError::SignIn("The ID token does not carry this sign-in's nonce. Sign in again.".into()));
    }
    let text = |v: &serde_json::Value, key: &str| v.get(key).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
    let user_principal_name = text(&id_claims, "preferred_username");
    let user_name = Some(text(&id_claims, "name")).filter(|n| !n.is_empty()).unwrap_or(user_principal_name.clone());
    let role = role_of(&tokens.access_token).ok_or_else(|| {
        DashboardError::Forbidden(format!(
            "{user_principal_name} signed in, but holds neither {ADMIN_ROLE} nor {AUDITOR_ROLE} on the admin API app. \
             Ask an admin to assign one (tokengate user assign-role), then sign in again."
        ))
    })?;
    let now = now();
    let session = state.sessions.create(
        user_name,
        user_principal_name,
        role,
        SessionTokens {
            access_token: tokens.access_token,
            access_expires: now + tokens.expires_in,
            refresh_token: tokens.refresh_token,
        },
        now,
    );
    let mut response = see_other(&pending.return_to);
    append_cookie(&mut response, &state, state.session_cookie_name(), &session.id, None, "Lax");
    append_cookie(&mut response, &state, state.sign_in_cookie_name(), "", Some(0), "Lax");
    Ok(response)
}

/// The dashboard role an access token's `roles` claim grants.
fn role_of(access_token: &str) -> Option<AdminRole> {
    let claims = claims_of(access_token)?;
    let roles: Vec<&str> = claims.get("roles")?.as_array()?.iter().filter_map(|r| r.as_str()).collect();
    if roles.contains(&ADMIN_ROLE) {
        Some(AdminRole::Admin)
    } else if roles.contains(&AUDITOR_ROLE) {
        Some(AdminRole::Auditor)
    } else {
        None
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /dashboard/sign-out`: the session ends here, then at the issuer (its SSO session too).
pub async fn sign_out(State(state): State<Arc<DashboardState>>, form: ReadForm<NoFields>) -> Response {
    state.sessions.end(&form.signed_in.session.id);
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &state.client_id.to_string())
        .append_pair("post_logout_redirect_uri", &state.signed_out_uri())
        .finish();
    let mut response = see_other(&format!("{}/{}/oauth2/v2.0/logout?{query}", state.issuer_url, state.tenant_id));
    append_cookie(&mut response, &state, state.session_cookie_name(), "", Some(0), "Lax");
    response
}

#[derive(Template)]
#[template(path = "dashboard/signed_out.html")]
struct SignedOutPage;

/// `GET /dashboard/signed-out`: where the issuer returns after sign-out.
pub async fn signed_out(State(state): State<Arc<DashboardState>>) -> Response {
    page(&state, StatusCode::OK, &SignedOutPage)
}

/// `Set-Cookie`, HttpOnly, `Path=/`, `Secure` when the dashboard is reached over https.
fn append_cookie(
    response: &mut Response,
    state: &DashboardState,
    name: &str,
    value: &str,
    max_age: Option<i64>,
    same_site: &str,
) {
    let secure = if state.secure_cookies() { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}{secure}{age}")) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_is_only_ever_a_dashboard_path() {
        assert!(is_dashboard_path("/dashboard/"));
        assert!(is_dashboard_path("/dashboard/apps?x=1"));
        assert!(!is_dashboard_path("//evil.example/dashboard/"));
        assert!(!is_dashboard_path("https://evil.example/dashboard/"));
        assert!(!is_dashboard_path("/dashboardx"));
        assert!(!is_dashboard_path("/dashboard/\\evil"));
        assert!(!is_dashboard_path("/admin/v1/keys"));
    }

    #[test]
    fn the_role_comes_from_the_access_tokens_roles() {
        let token = |claims: serde_json::Value| format!("e30.{}.sig", b64url(claims.to_string()));
        assert_eq!(role_of(&token(serde_json::json!({"roles": ["Tokengate.Admin"]}))), Some(AdminRole::Admin));
        assert_eq!(
            role_of(&token(serde_json::json!({"roles": ["x", "Tokengate.Auditor"]}))),
            Some(AdminRole::Auditor)
        );
        assert_eq!(role_of(&token(serde_json::json!({"roles": ["Demo.Admin"]}))), None);
        assert_eq!(role_of(&token(serde_json::json!({}))), None);
    }
}
