//! Server-rendered pages of the issuer (askama templates in `templates/`) and the headers every
//! one of them carries: never framed (clickjacking), never cached, no referrer beyond the issuer,
//! no script except the nonce'd auto-submit of `form_post`.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokengate_core::encoding::{b64url, random_bytes};

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage<'a> {
    pub tenant_name: &'a str,
    pub app_name: &'a str,
    pub error: Option<&'a str>,
    pub login_hint: &'a str,
    pub action: &'a str,
    pub continuation: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub tenant_name: &'a str,
    pub app_name: &'a str,
    pub user_name: &'a str,
    /// (permission, description)
    pub scopes: Vec<(String, String)>,
    pub offline: bool,
    pub action: &'a str,
    pub continuation: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "device_entry.html")]
pub struct DeviceEntryPage<'a> {
    pub error: Option<&'a str>,
    pub action: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub context: &'a str,
    pub title: &'a str,
    pub message: &'a str,
    pub is_error: bool,
    pub code: Option<u32>,
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: &'a [(String, String)],
    nonce: &'a str,
}

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML page with the headers SECURITY.md asks of every page.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    html_with_csp(status, page, CSP.to_owned())
}

fn html_with_csp(status: StatusCode, page: &impl Template, csp: String) -> Response {
    let body = match page.render() {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed\n").into_response();
        }
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    protect(h);
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

/// Frame, cache and sniffing protection for any browser-facing response (pages and redirects).
pub fn protect(h: &mut axum::http::HeaderMap) {
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` on the
    // pages' own form POSTs (Fetch standard), which the same-origin check must refuse. Other
    // sites still get no referrer (the flow's URLs carry the signed request).
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// An error shown to the person, with no redirect (e.g. an unregistered redirect URI).
pub fn error_page(status: StatusCode, title: &str, message: &str, code: Option<u32>) -> Response {
    html(status, &MessagePage { context: "error", title, message, is_error: true, code })
}

pub fn message_page(title: &str, message: &str) -> Response {
    html(StatusCode::OK, &MessagePage { context: "tokengate", title, message, is_error: false, code: None })
}

/// `303 See Other` (never 307: a 307 would re-send the password form to the client).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let h = response.headers_mut();
    protect(h);
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    response
}

/// `response_mode=form_post`: an auto-submitting form to the client's redirect URI.
pub fn form_post(action: &str, fields: &[(String, String)]) -> Response {
    let nonce = b64url(random_bytes::<16>());
    let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'");
    html_with_csp(StatusCode::OK, &FormPostPage { action, fields, nonce: &nonce }, csp)
}
