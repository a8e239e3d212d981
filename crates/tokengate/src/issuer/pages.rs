//! Server-rendered pages of the issuer (askama templates in `templates/`). The headers every one
//! of them carries are `web::html_response`'s; the only script is the nonce'd auto-submit of
//! `form_post`. Error pages are rendered by `page_error`, the one place refusals become responses.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tokengate_core::encoding::{b64url, random_bytes};

use crate::web::html_response::{html, html_with_csp};

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

pub fn message_page(title: &str, message: &str) -> Response {
    html(StatusCode::OK, &MessagePage { context: "tokengate", title, message, is_error: false, code: None })
}

/// `response_mode=form_post`: an auto-submitting form to the client's redirect URI.
pub fn form_post(action: &str, fields: &[(String, String)]) -> Response {
    let nonce = b64url(random_bytes::<16>());
    let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'");
    html_with_csp(StatusCode::OK, &FormPostPage { action, fields, nonce: &nonce }, &csp)
}
