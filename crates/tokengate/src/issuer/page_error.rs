//! The one place the issuer's browser pages (authorize, sign-in, consent, device-code entry,
//! logout) turn a refusal into a response: its status, the text the person reads, the headers.
//! Handlers return `Result<Response, PageError>` and audit a refusal where they know its context;
//! this file never audits and never decides whether to refuse.

use std::error::Error;
use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokengate_core::errors::codes;

use super::authorize_request::{AuthorizeError, RedirectError};
use super::pages::MessagePage;
use super::sign_in_flow::redirect_error;
use crate::web::csrf::PostRefusal;
use crate::web::html_response::html;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The signed request a page carries is missing, altered or expired, or what it names (the
    /// tenant, the app, its redirect URI, the session) is gone: start again at the app.
    #[error("the sign-in request is missing, altered, expired or names what is gone")]
    Expired,
    /// A form POST without this browser's CSRF token, or from another origin.
    #[error("form post refused ({0})")]
    ForgedPost(PostRefusal),
    /// A malformed request, explained on a page (never redirected: the client or its redirect
    /// URI may be what is wrong). `code` is the AADSTS number, when Entra has one for it.
    #[error("{title}: {message}")]
    Invalid { title: &'static str, message: String, code: Option<u32> },
    /// The device code was used, declined or expired while the person was signing in.
    #[error("the device code expired or was already used")]
    DeviceCodeGone,
    /// The store failed a write the page depends on; trying again may work.
    #[error("{write} failed: {source}")]
    Unavailable { write: StoreWrite, source: Box<dyn Error + Send + Sync> },
    /// Answered to the client at its verified redirect URI, as its `response_mode` asks.
    #[error("{} answered to the client (AADSTS{})", .0.error, .0.code)]
    Redirect(Box<RedirectError>),
}

/// The store writes a page waits on (what failed, for the log and the page text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreWrite {
    SignInSession,
    AuthorizationCode,
    Consent,
    DeviceDecision,
    EndSession,
}

impl fmt::Display for StoreWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreWrite::SignInSession => "storing a sign-in session",
            StoreWrite::AuthorizationCode => "storing an authorization code",
            StoreWrite::Consent => "storing consent",
            StoreWrite::DeviceDecision => "recording a device-code decision",
            StoreWrite::EndSession => "ending a sign-in session",
        })
    }
}

impl PageError {
    /// A malformed request under the usual title.
    pub fn invalid_request(message: impl Into<String>, code: Option<u32>) -> Self {
        PageError::Invalid { title: "Invalid request", message: message.into(), code }
    }

    pub fn unavailable(write: StoreWrite, source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        PageError::Unavailable { write, source: source.into() }
    }
}

impl From<AuthorizeError> for PageError {
    fn from(e: AuthorizeError) -> Self {
        match e {
            AuthorizeError::Page { code, title, message } => PageError::Invalid { title, message, code: Some(code) },
            AuthorizeError::Redirect(e) => PageError::Redirect(e),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Expired => error_page(
                StatusCode::BAD_REQUEST,
                "This page has expired",
                "The sign-in took too long or the page was altered. Go back to the application and start again.",
                None,
            ),
            PageError::ForgedPost(_) => error_page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form was not submitted from this sign-in page (missing or wrong security token, or a cross-site request). Reload the page and try again.",
                None,
            ),
            PageError::Invalid { title, message, code } => error_page(StatusCode::BAD_REQUEST, title, &message, code),
            PageError::DeviceCodeGone => error_page(
                StatusCode::BAD_REQUEST,
                "Code no longer valid",
                "This code has expired or was already used. Start again on your device.",
                Some(codes::DEVICE_EXPIRED),
            ),
            PageError::Unavailable { write, source } => {
                tracing::error!(error = %source, "{write} failed");
                let text = match write {
                    StoreWrite::EndSession => "Signing out failed: the sign-in service is temporarily unavailable. Try again.",
                    _ => "The sign-in service is temporarily unavailable.",
                };
                error_page(StatusCode::SERVICE_UNAVAILABLE, "Try again", text, None)
            }
            PageError::Redirect(e) => redirect_error(&e),
        }
    }
}

/// An error shown to the person, with no redirect.
fn error_page(status: StatusCode, title: &str, message: &str, code: Option<u32>) -> Response {
    html(status, &MessagePage { context: "error", title, message, is_error: true, code })
}

#[cfg(test)]
mod tests {
    use axum::http::header;
    use tokengate_core::store::StoreError;

    use super::*;
    use crate::issuer::authorize_request::ResponseMode;

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn assert_protected(r: &Response) {
        let h = r.headers();
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert!(h[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert!(h[header::CACHE_CONTROL].to_str().unwrap().contains("no-store"));
        assert_eq!(h[header::REFERRER_POLICY], "same-origin");
    }

    #[tokio::test]
    async fn each_refusal_has_its_status_and_text() {
        let cases = [
            (PageError::Expired, 400, "This page has expired"),
            (PageError::ForgedPost(PostRefusal::CsrfToken), 403, "Request refused"),
            (PageError::invalid_request("Choose Accept or Cancel.", None), 400, "Choose Accept or Cancel."),
            (PageError::DeviceCodeGone, 400, "AADSTS70020"),
            (
                PageError::unavailable(StoreWrite::Consent, StoreError::Backend("down".into())),
                503,
                "The sign-in service is temporarily unavailable.",
            ),
            (
                PageError::unavailable(StoreWrite::EndSession, StoreError::Backend("down".into())),
                503,
                "Signing out failed",
            ),
        ];
        for (error, status, text) in cases {
            let r = error.into_response();
            assert_eq!(r.status(), status);
            assert_protected(&r);
            let page = body(r).await;
            assert!(page.contains(text), "{page}");
            assert!(!page.contains("down"), "store details stay in the log: {page}");
        }
    }

    #[tokio::test]
    async fn a_redirect_error_goes_to_the_client() {
        let e = RedirectError {
            redirect_uri: "http://localhost/cb".into(),
            response_mode: ResponseMode::Query,
            state: Some("s".into()),
            error: "access_denied",
            code: 65004,
            description: "declined".into(),
        };
        let r = PageError::Redirect(Box::new(e)).into_response();
        assert_eq!(r.status(), 303);
        assert_protected(&r);
        let location = r.headers()[header::LOCATION].to_str().unwrap();
        assert!(location.starts_with("http://localhost/cb?error=access_denied&"), "{location}");
        assert!(location.contains("state=s"), "{location}");
    }
}
