//! The browser side of delegated sign-in: `/authorize`, the sign-in form, the consent form, and
//! the answer to the client (query, fragment or form_post). Each POST is CSRF-checked and answers
//! with a 303 to `GET /flow/resume`, which re-decides from the (signed) request and the session —
//! so a reload never re-submits a password and every step re-checks what it relies on.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde::{Deserialize, Serialize};
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::directory::{AppRegistration, DelegatedGrant, Tenant, User};
use tokengate_core::errors::codes;
use tokengate_core::grants::authorization_code::{issue_code, NewCode};
use tokengate_core::grants::delegated_scopes::{resolve, RequestedScopes, ResolvedScopes};
use tokengate_core::grants::device_code::DeviceDecision;
use tokengate_core::grants::Issuer;
use tokengate_core::passwords::{check_password, PasswordCheck};
use tokengate_core::redirect_uri::registered_redirect;
use tokengate_core::sign_in_lockout::Attempt;
use tokengate_core::store::SignInSession;
use uuid::Uuid;

use super::authorize_request::{self, AuthorizeError, AuthorizeRequest, Prompt, RedirectError, ResponseMode};
use super::browser_state::{
    clear_session_cookie, csrf_cookie, same_origin, BrowserSession, FLOW_LIFETIME, SESSION_LIFETIME,
};
use super::flow_audit::{self, Peer};
use super::form::Form;
use super::pages::{self, error_page, see_other, ConsentPage, SignInPage};
use super::token_endpoint::{read_form, PeerAddr};
use crate::state::{now, now_ms, IssuerState};

/// Where a sign-in goes next.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Continuation {
    Authorize(Box<AuthorizeRequest>),
    /// Approving a device code: the hash of the user code the person entered.
    Device {
        tenant_id: Uuid,
        client_id: Uuid,
        user_code_hash: Vec<u8>,
        scope: String,
        signed_in_session: Option<Uuid>,
    },
}

impl Continuation {
    fn tenant_id(&self) -> Uuid {
        match self {
            Continuation::Authorize(r) => r.tenant_id,
            Continuation::Device { tenant_id, .. } => *tenant_id,
        }
    }
    fn client_id(&self) -> Uuid {
        match self {
            Continuation::Authorize(r) => r.client_id,
            Continuation::Device { client_id, .. } => *client_id,
        }
    }
    fn scope(&self) -> &str {
        match self {
            Continuation::Authorize(r) => &r.scope,
            Continuation::Device { scope, .. } => scope,
        }
    }
}

const CONTINUATION: &str = "continuation";

pub fn seal(state: &IssuerState, c: &Continuation) -> String {
    state.browser.seal(CONTINUATION, c, now() + FLOW_LIFETIME)
}

pub fn resume_url(state: &IssuerState, c: &Continuation) -> String {
    format!("{}/flow/resume?continuation={}", state.base_url, seal(state, c))
}

/// `GET /{tenant}/oauth2/v2.0/authorize` (and v1).
pub async fn authorize(
    State(state): State<Arc<IssuerState>>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
) -> Response {
    let peer = Peer::of(peer);
    let (params, duplicated) = query_params(query.as_deref().unwrap_or(""));
    // RFC 6749 §3.1: a parameter sent twice is refused. Which client or where to answer cannot
    // be trusted when those are doubled: a page; anything else goes back to the verified redirect.
    let untrusted = duplicated.iter().find(|d| *d == "client_id" || *d == "redirect_uri");
    let duplicate_description =
        |name: &str| format!("The request contains the parameter '{name}' more than once. Send each parameter once.");
    let result = match untrusted {
        Some(name) => Err(AuthorizeError::Page(authorize_request::PageError {
            code: codes::DUPLICATE_PARAMETER,
            title: "Invalid request",
            message: duplicate_description(name),
        })),
        None => authorize_request::parse(&state, &segment, &params).await,
    };
    let result = match (result, duplicated.first()) {
        (Ok((request, _, _)), Some(name)) => Err(AuthorizeError::Redirect(Box::new(RedirectError {
            // A doubled `state` cannot be echoed: which one would the client expect?
            state: if duplicated.iter().any(|d| d == "state") { None } else { request.state.clone() },
            ..error_for(&request, "invalid_request", codes::DUPLICATE_PARAMETER, &duplicate_description(name))
        }))),
        (Err(AuthorizeError::Redirect(mut e)), Some(name)) => {
            e.error = "invalid_request";
            e.code = codes::DUPLICATE_PARAMETER;
            e.description = duplicate_description(name);
            if duplicated.iter().any(|d| d == "state") {
                e.state = None;
            }
            Err(AuthorizeError::Redirect(e))
        }
        (other, _) => other,
    };
    let client_id = params.get("client_id").and_then(|c| Uuid::parse_str(c).ok()).map(|c| c.to_string());
    match result {
        Ok((request, _, _)) => proceed(&state, &headers, Continuation::Authorize(Box::new(request))).await,
        Err(AuthorizeError::Page(e)) => {
            flow_audit::refused(&state, "authorize.rejected", format!("AADSTS{}", e.code), &peer, |a| {
                a.client_id = client_id;
                a.detail = serde_json::json!({"answer": "error_page"});
            })
            .await;
            error_page(StatusCode::BAD_REQUEST, e.title, &e.message, Some(e.code))
        }
        Err(AuthorizeError::Redirect(e)) => {
            flow_audit::refused(&state, "authorize.rejected", format!("AADSTS{}", e.code), &peer, |a| {
                a.client_id = client_id;
                a.detail = serde_json::json!({"answer": "redirect", "error": e.error});
            })
            .await;
            redirect_error(&e)
        }
    }
}

/// The query's parameters (the first of each name) and the names that occur more than once.
fn query_params(query: &str) -> (HashMap<String, String>, Vec<String>) {
    let mut params = HashMap::new();
    let mut duplicated = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if params.contains_key(name.as_ref()) {
            if !duplicated.iter().any(|d: &String| d == name.as_ref()) {
                duplicated.push(name.into_owned());
            }
        } else {
            params.insert(name.into_owned(), value.into_owned());
        }
    }
    (params, duplicated)
}

#[derive(Deserialize)]
pub struct ResumeQuery {
    continuation: String,
}

/// `GET /flow/resume`: where every POST of the flow lands (303).
pub async fn resume(
    State(state): State<Arc<IssuerState>>,
    Query(q): Query<ResumeQuery>,
    headers: HeaderMap,
) -> Response {
    match state.browser.open::<Continuation>(CONTINUATION, &q.continuation, now()) {
        Some(c) => proceed(&state, &headers, c).await,
        None => expired_page(),
    }
}

/// A form whose signed request is missing, altered or expired (audited: it may be tampering).
async fn refused_continuation(state: &IssuerState) -> Response {
    let reason = "continuation_invalid".to_owned();
    flow_audit::refused(state, "page.post_refused", reason, &Peer::default(), |a| a.client_ip = None).await;
    expired_page()
}

fn expired_page() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This page has expired",
        "The sign-in took too long or the page was altered. Go back to the application and start again.",
        None,
    )
}

/// The session to use for `c`, if the browser has one for its tenant, for an enabled user. The
/// signed cookie only names the session: it counts while its server-side record is live (never
/// cached, so a sign-out anywhere ends it at once for every copy of the cookie).
async fn session_user(state: &IssuerState, headers: &HeaderMap, tenant_id: Uuid) -> Option<(BrowserSession, User)> {
    let now = now();
    let session = state.browser.session(headers, now).filter(|s| s.tenant_id == tenant_id)?;
    let live = state.store.live_session(session.session_id, now).await.ok().flatten()?;
    if live.user_id != session.user_id || live.tenant_id != session.tenant_id {
        return None;
    }
    let user =
        state.store.user(session.user_id).await.ok().flatten().filter(|u| u.enabled && u.tenant_id == tenant_id)?;
    Some((session, user))
}

/// Decides the next step: sign in, consent, or answer.
async fn proceed(state: &IssuerState, headers: &HeaderMap, c: Continuation) -> Response {
    let Ok(Some(tenant)) = state.store.tenant(c.tenant_id()).await else { return expired_page() };
    let Ok(Some(client)) = state.store.app(c.client_id()).await else { return expired_page() };
    let signed_in = session_user(state, headers, tenant.id).await;
    let (prompt, hint, fresh_session) = match &c {
        Continuation::Authorize(r) => (r.prompt, r.login_hint.clone(), r.signed_in_session),
        // A device approval always confirms who is signed in on the next page.
        Continuation::Device { signed_in_session, .. } => (None, None, *signed_in_session),
    };
    let needs_sign_in = match &signed_in {
        None => true,
        Some((session, user)) => {
            let fresh = fresh_session == Some(session.session_id);
            let wants_fresh = matches!(prompt, Some(Prompt::Login) | Some(Prompt::SelectAccount));
            let other_user = hint.as_deref().is_some_and(|h| !h.eq_ignore_ascii_case(&user.user_principal_name));
            (wants_fresh || other_user) && !fresh
        }
    };
    if needs_sign_in {
        if prompt == Some(Prompt::None) {
            if let Continuation::Authorize(r) = &c {
                let e = error_for(
                    r,
                    "login_required",
                    codes::LOGIN_REQUIRED,
                    "The user must sign in: there is no single sign-on session (prompt=none).",
                );
                return audited_redirect_error(state, r.client_id, &e).await;
            }
        }
        return sign_in_page(state, headers, &tenant, &client.display_name, &c, None, hint.as_deref().unwrap_or(""));
    }
    let Some((session, user)) = signed_in else { return expired_page() };

    let requested = match RequestedScopes::parse(c.scope()) {
        Ok(r) => r,
        Err(e) => return scope_error(state, &c, e).await,
    };
    let resolved = match resolve(state.store.as_ref(), &tenant, client.app_id, user.object_id, &requested).await {
        Ok(r) => r,
        Err(e) => return scope_error(state, &c, e).await,
    };
    let missing = resolved.as_ref().is_some_and(|r| !r.missing_consent.is_empty());
    match &c {
        Continuation::Authorize(r) => {
            let consent_forced = r.prompt == Some(Prompt::Consent) && r.consent_session != Some(session.session_id);
            if missing || consent_forced {
                if r.prompt == Some(Prompt::None) {
                    let e = error_for(
                        r,
                        "consent_required",
                        codes::CONSENT_REQUIRED,
                        "The user or administrator has not consented to use the application (prompt=none).",
                    );
                    return audited_redirect_error(state, r.client_id, &e).await;
                }
                return consent_page(
                    state,
                    headers,
                    &tenant,
                    &client.display_name,
                    &user,
                    &c,
                    resolved.as_ref(),
                    &requested,
                );
            }
            answer_with_code(state, r, &client, &session, &user).await
        }
        Continuation::Device { .. } => {
            consent_page(state, headers, &tenant, &client.display_name, &user, &c, resolved.as_ref(), &requested)
        }
    }
}

/// An unknown resource or permission goes back to the client (its redirect URI is verified).
async fn scope_error(state: &IssuerState, c: &Continuation, e: tokengate_core::OAuthError) -> Response {
    match c {
        Continuation::Authorize(r) => {
            audited_redirect_error(state, r.client_id, &error_for(r, e.error, e.code, &e.description)).await
        }
        Continuation::Device { client_id, .. } => {
            flow_audit::refused(
                state,
                "device_code.scope_refused",
                format!("AADSTS{}", e.code),
                &Peer::default(),
                |a| {
                    a.client_ip = None;
                    a.client_id = Some(client_id.to_string());
                },
            )
            .await;
            error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description, Some(e.code))
        }
    }
}

/// An error answered to the client's redirect URI, with its audit record.
async fn audited_redirect_error(state: &IssuerState, client_id: Uuid, e: &RedirectError) -> Response {
    flow_audit::refused(state, "authorize.rejected", format!("AADSTS{}", e.code), &Peer::default(), |a| {
        a.client_ip = None;
        a.client_id = Some(client_id.to_string());
        a.detail = serde_json::json!({"answer": "redirect", "error": e.error});
    })
    .await;
    redirect_error(e)
}

fn error_for(r: &AuthorizeRequest, error: &'static str, code: u32, description: &str) -> RedirectError {
    RedirectError {
        redirect_uri: r.redirect_uri.clone(),
        response_mode: r.response_mode,
        state: r.state.clone(),
        error,
        code,
        description: description.to_owned(),
    }
}

/// What every form of the flow carries: where it posts, the signed request, and this browser's
/// CSRF token (setting the CSRF cookie if the browser has none yet).
struct FlowForm {
    action: String,
    continuation: String,
    csrf: String,
    set_cookie: Option<axum::http::HeaderValue>,
}

impl FlowForm {
    fn new(state: &IssuerState, headers: &HeaderMap, c: &Continuation, path: &str) -> Self {
        let (csrf_value, set_cookie) = csrf_cookie(headers);
        FlowForm {
            action: format!("{}{path}", state.base_url),
            continuation: seal(state, c),
            csrf: state.browser.csrf_token(&csrf_value),
            set_cookie,
        }
    }
}

fn sign_in_page(
    state: &IssuerState,
    headers: &HeaderMap,
    tenant: &Tenant,
    app_name: &str,
    c: &Continuation,
    error: Option<&str>,
    login_hint: &str,
) -> Response {
    let f = FlowForm::new(state, headers, c, "/flow/sign-in");
    let page = SignInPage {
        tenant_name: &tenant.display_name,
        app_name,
        error,
        login_hint,
        action: &f.action,
        continuation: &f.continuation,
        csrf: &f.csrf,
    };
    with_cookie(pages::html(StatusCode::OK, &page), f.set_cookie)
}

#[allow(clippy::too_many_arguments)]
fn consent_page(
    state: &IssuerState,
    headers: &HeaderMap,
    tenant: &Tenant,
    app_name: &str,
    user: &User,
    c: &Continuation,
    resolved: Option<&ResolvedScopes>,
    requested: &RequestedScopes,
) -> Response {
    let f = FlowForm::new(state, headers, c, "/flow/consent");
    let mut scopes: Vec<(String, String)> = Vec::new();
    if requested.has("openid") || requested.has("profile") {
        scopes.push(("Sign you in and read your profile".into(), String::new()));
    }
    if let Some(r) = resolved {
        for value in &r.values {
            let description = r
                .resource
                .scopes
                .iter()
                .find(|s| &s.value == value)
                .map(|s| s.admin_consent_display_name.clone())
                .unwrap_or_default();
            scopes.push((format!("{} · {value}", r.resource.display_name), description));
        }
    }
    let page = ConsentPage {
        tenant_name: &tenant.display_name,
        app_name,
        user_name: &user.user_principal_name,
        scopes,
        offline: requested.has("offline_access"),
        action: &f.action,
        continuation: &f.continuation,
        csrf: &f.csrf,
    };
    with_cookie(pages::html(StatusCode::OK, &page), f.set_cookie)
}

fn with_cookie(mut response: Response, cookie: Option<axum::http::HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

async fn answer_with_code(
    state: &IssuerState,
    r: &AuthorizeRequest,
    client: &AppRegistration,
    session: &BrowserSession,
    user: &User,
) -> Response {
    // The code remembers its redirect URI's platform: it decides how the code is redeemed.
    let Some(redirect) = registered_redirect(client, &r.redirect_uri) else { return expired_page() };
    let issuer =
        Issuer { store: state.store.as_ref(), keys: &state.keys, settings: &state.settings, base_url: &state.base_url };
    let new_code = NewCode {
        tenant_id: r.tenant_id,
        client_id: r.client_id,
        user_id: user.object_id,
        redirect_uri: &r.redirect_uri,
        redirect_platform: redirect.platform,
        scopes: r.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        nonce: r.nonce.clone(),
        pkce: r.code_challenge.clone(),
        auth_time: session.auth_time,
        session_id: session.session_id,
        now: now(),
    };
    let code = match issue_code(&issuer, new_code).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "storing an authorization code failed");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The sign-in service is temporarily unavailable.",
                None,
            );
        }
    };
    let mut event = AuditEvent::new(AuditSource::Issuer, "authorize.code_issued", Outcome::Allowed, now_ms());
    event.tenant_id = Some(r.tenant_id.to_string());
    event.client_id = Some(r.client_id.to_string());
    event.subject = Some(user.object_id.to_string());
    state.audit.record(event).await;
    let mut fields = vec![("code".to_owned(), code)];
    if let Some(s) = &r.state {
        fields.push(("state".into(), s.clone()));
    }
    fields.push(("session_state".into(), session.session_id.to_string()));
    deliver(&r.redirect_uri, r.response_mode, &fields)
}

/// The answer to the client, as its `response_mode` asks. `state` goes back byte for byte.
fn deliver(redirect_uri: &str, mode: ResponseMode, fields: &[(String, String)]) -> Response {
    let encoded = || {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            s.append_pair(k, v);
        }
        s.finish()
    };
    match mode {
        ResponseMode::Query => {
            let sep = if redirect_uri.contains('?') { '&' } else { '?' };
            see_other(&format!("{redirect_uri}{sep}{}", encoded()))
        }
        ResponseMode::Fragment => see_other(&format!("{redirect_uri}#{}", encoded())),
        ResponseMode::FormPost => pages::form_post(redirect_uri, fields),
    }
}

pub fn redirect_error(e: &RedirectError) -> Response {
    let mut fields = vec![
        ("error".to_owned(), e.error.to_owned()),
        ("error_description".to_owned(), format!("AADSTS{}: {}", e.code, e.description)),
        ("error_codes".to_owned(), e.code.to_string()),
    ];
    if let Some(s) = &e.state {
        fields.push(("state".into(), s.clone()));
    }
    deliver(&e.redirect_uri, e.response_mode, &fields)
}

/// A POST from one of the issuer's own pages: read as strictly as the token endpoint's form
/// (bounded, no duplicated fields), from the same origin, with this browser's CSRF token.
pub async fn page_post(state: &IssuerState, headers: &HeaderMap, body: Body) -> Result<Form, Response> {
    let form = match read_form(headers, body).await {
        Ok(f) => f,
        Err(e) => {
            let reason = format!("AADSTS{}", e.code);
            flow_audit::refused(state, "page.post_refused", reason, &Peer::default(), |a| a.client_ip = None).await;
            return Err(error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description, Some(e.code)));
        }
    };
    if !same_origin(headers, &state.base_url) || !state.browser.csrf_ok(headers, form.get("csrf")) {
        let reason = if same_origin(headers, &state.base_url) { "csrf_token" } else { "cross_site_origin" };
        flow_audit::refused(state, "page.post_refused", reason.into(), &Peer::default(), |a| a.client_ip = None).await;
        return Err(forbidden());
    }
    Ok(form)
}

fn forbidden() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form was not submitted from this sign-in page (missing or wrong security token, or a cross-site request). Reload the page and try again.",
        None,
    )
}

/// `POST /flow/sign-in`.
pub async fn sign_in(
    State(state): State<Arc<IssuerState>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match page_post(&state, &headers, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let now = now();
    let Some(c) = form.get("continuation").and_then(|s| state.browser.open::<Continuation>(CONTINUATION, s, now))
    else {
        return refused_continuation(&state).await;
    };
    let Ok(Some(tenant)) = state.store.tenant(c.tenant_id()).await else { return expired_page() };
    let app_name = match state.store.app(c.client_id()).await {
        Ok(Some(a)) => a.display_name,
        _ => return expired_page(),
    };
    let username: String = form.get("username").unwrap_or_default().trim().chars().take(256).collect();
    let password = form.get("password").unwrap_or_default().to_owned();
    let peer = Peer::of(peer);
    let user_key = username.to_ascii_lowercase();
    let user = state.store.user_by_upn(&username).await.ok().flatten().filter(|u| u.tenant_id == tenant.id);
    // Smart lockout: a browser that signed this user in before has its own budget.
    let known = state.browser.known_browser(&headers, now);
    let known_id = match (&known, &user) {
        (Some(k), Some(u)) => k.id_for(u.object_id).map(str::to_owned),
        _ => None,
    };
    let attempt = Attempt { user: &user_key, source: &peer.key, known_browser: known_id.as_deref() };
    let mut event = flow_audit::event("sign_in", Outcome::Denied, None, &peer);
    event.tenant_id = Some(tenant.id.to_string());
    event.client_id = Some(c.client_id().to_string());
    if let Err((retry, limit)) = state.sign_in_limits.check(&attempt, now) {
        event.reason = Some(format!("AADSTS{}", codes::ACCOUNT_LOCKED));
        event.subject = user.as_ref().map(|u| u.object_id.to_string());
        event.status = Some(429);
        event.detail = serde_json::json!({"limit": limit.as_str(), "retry_after": retry});
        state.audit.record(event).await;
        let text = format!("Too many sign-in attempts. Wait {retry} seconds and try again.");
        let mut response = sign_in_page(&state, &headers, &tenant, &app_name, &c, Some(&text), &username);
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        response.headers_mut().insert(header::RETRY_AFTER, retry.into());
        return response;
    }
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // Argon2 takes tens of milliseconds of CPU: off the async workers.
    let check = tokio::task::spawn_blocking(move || check_password(&password, stored.as_deref()))
        .await
        .unwrap_or(PasswordCheck::Wrong);
    let user = match (user, check) {
        (Some(u), PasswordCheck::Valid | PasswordCheck::ValidRehashed(_)) if !u.enabled => {
            event.reason = Some(format!("AADSTS{}", codes::USER_DISABLED));
            event.subject = Some(u.object_id.to_string());
            state.audit.record(event).await;
            return sign_in_page(
                &state,
                &headers,
                &tenant,
                &app_name,
                &c,
                Some("Your account has been disabled. Contact your administrator."),
                &username,
            );
        }
        (Some(u), PasswordCheck::Valid) => u,
        (Some(u), PasswordCheck::ValidRehashed(new_hash)) => {
            let change = move |user: &mut User| {
                user.password_hash = new_hash.clone();
                Ok(())
            };
            if let Err(e) = state.store.update_user(u.object_id, &change, None).await {
                tracing::warn!(error = %e, "password rehash not stored");
            }
            u
        }
        _ => {
            state.sign_in_limits.record_failure(&attempt, now);
            event.reason = Some(format!("AADSTS{}", codes::WRONG_CREDENTIALS));
            state.audit.record(event).await;
            return sign_in_page(
                &state,
                &headers,
                &tenant,
                &app_name,
                &c,
                Some("Your account or password is incorrect."),
                &username,
            );
        }
    };
    state.sign_in_limits.record_success(&attempt, now);
    let session =
        BrowserSession { session_id: Uuid::new_v4(), user_id: user.object_id, tenant_id: tenant.id, auth_time: now };
    let record = SignInSession {
        session_id: session.session_id,
        tenant_id: tenant.id,
        user_id: user.object_id,
        auth_time: now,
        expires_at: now + SESSION_LIFETIME,
    };
    if let Err(e) = state.store.insert_session(&record).await {
        tracing::error!(error = %e, "storing a sign-in session failed");
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "The sign-in service is temporarily unavailable.",
            None,
        );
    }
    event.outcome = Outcome::Allowed;
    event.subject = Some(user.object_id.to_string());
    event.detail = serde_json::json!({"session_id": session.session_id, "familiar_browser": known_id.is_some()});
    state.audit.record(event).await;
    let next = match c {
        Continuation::Authorize(mut r) => {
            r.signed_in_session = Some(session.session_id);
            Continuation::Authorize(r)
        }
        Continuation::Device { tenant_id, client_id, user_code_hash, scope, .. } => Continuation::Device {
            tenant_id,
            client_id,
            user_code_hash,
            scope,
            signed_in_session: Some(session.session_id),
        },
    };
    let mut response = see_other(&resume_url(&state, &next));
    response.headers_mut().append(header::SET_COOKIE, state.browser.session_cookie(&session, now));
    response.headers_mut().append(header::SET_COOKIE, state.browser.known_browser_cookie(known, user.object_id, now));
    response
}

/// `POST /flow/consent`: the person accepted or declined (also the device-code confirmation).
pub async fn consent(State(state): State<Arc<IssuerState>>, headers: HeaderMap, body: Body) -> Response {
    let form = match page_post(&state, &headers, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let now = now();
    let Some(c) = form.get("continuation").and_then(|s| state.browser.open::<Continuation>(CONTINUATION, s, now))
    else {
        return refused_continuation(&state).await;
    };
    let Some((session, user)) = session_user(&state, &headers, c.tenant_id()).await else {
        // Signed out in between: start at sign-in again.
        return see_other(&resume_url(&state, &c));
    };
    let Ok(Some(tenant)) = state.store.tenant(c.tenant_id()).await else { return expired_page() };
    let accepted = match form.get("decision") {
        Some("accept") => true,
        Some("decline") => false,
        _ => return error_page(StatusCode::BAD_REQUEST, "Invalid request", "Choose Accept or Cancel.", None),
    };
    let mut event = AuditEvent::new(
        AuditSource::Issuer,
        "consent",
        if accepted { Outcome::Allowed } else { Outcome::Denied },
        now_ms(),
    );
    event.tenant_id = Some(tenant.id.to_string());
    event.client_id = Some(c.client_id().to_string());
    event.subject = Some(user.object_id.to_string());
    if accepted {
        // What is granted comes from the signed request, never from the form.
        if let Err(r) = grant_missing(&state, &tenant, &c, &user, now).await {
            return r;
        }
    }
    match c {
        Continuation::Authorize(mut r) => {
            state.audit.record(event).await;
            if !accepted {
                return redirect_error(&error_for(
                    &r,
                    "access_denied",
                    codes::CONSENT_DECLINED,
                    "The user declined to consent to access the app.",
                ));
            }
            r.consent_session = Some(session.session_id);
            see_other(&resume_url(&state, &Continuation::Authorize(r)))
        }
        Continuation::Device { user_code_hash, .. } => {
            event.action = "device_code.decision".into();
            let decision = if accepted {
                DeviceDecision::Approve {
                    user_id: user.object_id,
                    auth_time: session.auth_time,
                    session_id: session.session_id,
                }
            } else {
                DeviceDecision::Decline { user_id: user.object_id }
            };
            match state.store.decide_device_code(&user_code_hash, decision, now, &event).await {
                Ok(true) if accepted => pages::message_page(
                    "You're signed in",
                    "You have signed in to the application on your device. You may now close this window.",
                ),
                Ok(true) => {
                    pages::message_page("Sign-in cancelled", "The device was not signed in. You may close this window.")
                }
                Ok(false) => error_page(
                    StatusCode::BAD_REQUEST,
                    "Code no longer valid",
                    "This code has expired or was already used. Start again on your device.",
                    Some(codes::DEVICE_EXPIRED),
                ),
                Err(e) => {
                    tracing::error!(error = %e, "recording a device-code decision failed");
                    error_page(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Try again",
                        "The sign-in service is temporarily unavailable.",
                        None,
                    )
                }
            }
        }
    }
}

/// Records the person's consent for the scopes of the request they have not consented to yet.
async fn grant_missing(
    state: &IssuerState,
    tenant: &Tenant,
    c: &Continuation,
    user: &User,
    now: i64,
) -> Result<(), Response> {
    let fail = |text: String| error_page(StatusCode::BAD_REQUEST, "Invalid request", &text, None);
    let requested = RequestedScopes::parse(c.scope()).map_err(|e| fail(e.description))?;
    let resolved = resolve(state.store.as_ref(), tenant, c.client_id(), user.object_id, &requested)
        .await
        .map_err(|e| fail(e.description))?;
    let Some(r) = resolved.filter(|r| !r.missing_consent.is_empty()) else { return Ok(()) };
    let grant = DelegatedGrant {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        client_app_id: c.client_id(),
        resource_app_id: r.resource.app_id,
        principal_id: Some(user.object_id),
        scopes: r.missing_consent.clone(),
        created_at: now,
    };
    let mut audit = AuditEvent::new(AuditSource::Issuer, "consent.granted", Outcome::Allowed, now * 1000);
    audit.tenant_id = Some(tenant.id.to_string());
    audit.client_id = Some(c.client_id().to_string());
    audit.subject = Some(user.object_id.to_string());
    audit.detail = serde_json::json!({"resource": r.resource.app_id, "scopes": r.missing_consent});
    state.store.grant_delegated(&grant, &audit).await.map(|_| ()).map_err(|e| {
        tracing::error!(error = %e, "storing consent failed");
        error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "The sign-in service is temporarily unavailable.",
            None,
        )
    })
}

#[derive(Deserialize)]
pub struct LogoutQuery {
    post_logout_redirect_uri: Option<String>,
    client_id: Option<String>,
    id_token_hint: Option<String>,
    state: Option<String>,
}

/// `GET /{tenant}/oauth2/v2.0/logout`: ends the SSO session; returns to the app only to a
/// redirect URI registered for it.
pub async fn logout(
    State(state): State<Arc<IssuerState>>,
    Query(q): Query<LogoutQuery>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
) -> Response {
    if end_session(&state, &headers, &Peer::of(peer)).await.is_err() {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "Signing out failed: the sign-in service is temporarily unavailable. Try again.",
            None,
        );
    }
    let client_id = q
        .client_id
        .as_deref()
        .and_then(|c| Uuid::parse_str(c).ok())
        .or_else(|| q.id_token_hint.as_deref().and_then(id_token_audience));
    let mut target = None;
    if let (Some(uri), Some(client_id)) = (q.post_logout_redirect_uri.as_deref(), client_id) {
        if let Ok(Some(app)) = state.store.app(client_id).await {
            if app.redirect_uris.iter().any(|r| r.uri == uri) {
                let mut url = uri.to_owned();
                if let Some(s) = &q.state {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    url = format!(
                        "{url}{sep}{}",
                        form_urlencoded::Serializer::new(String::new()).append_pair("state", s).finish()
                    );
                }
                target = Some(url);
            }
        }
    }
    let mut response = match target {
        Some(url) => see_other(&url),
        None => pages::message_page(
            "You signed out",
            "You have signed out of your account. It's a good idea to close all browser windows.",
        ),
    };
    response.headers_mut().append(header::SET_COOKIE, clear_session_cookie());
    response
}

/// Ends the browser's session server-side, so a copy of the cookie is useless from now on (the
/// cookie itself is also cleared). An expired or forged cookie ends nothing.
async fn end_session(state: &IssuerState, headers: &HeaderMap, peer: &Peer) -> Result<(), ()> {
    let now = now();
    let Some(session) = state.browser.session(headers, now) else { return Ok(()) };
    let mut audit = flow_audit::event("session.ended", Outcome::Allowed, Some("logout".into()), peer);
    audit.tenant_id = Some(session.tenant_id.to_string());
    audit.subject = Some(session.user_id.to_string());
    audit.detail = serde_json::json!({"session_id": session.session_id});
    state.store.end_session(session.session_id, now, &audit).await.map(|_| ()).map_err(|e| {
        tracing::error!(error = %e, "ending a sign-in session failed");
    })
}

/// The `aud` of an ID token hint, read without trusting it: it only picks which app's registered
/// URIs a post-logout redirect may go to.
fn id_token_audience(token: &str) -> Option<Uuid> {
    let payload = token.split('.').nth(1)?;
    let bytes = tokengate_core::encoding::b64url_decode(payload)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Uuid::parse_str(value.get("aud")?.as_str()?).ok()
}
