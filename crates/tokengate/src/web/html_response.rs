//! Responses a browser renders or follows: askama pages and `303`s, each with the headers every
//! browser-facing response carries — never framed (clickjacking), never cached, no referrer
//! beyond this origin, no script unless the caller's CSP grants one by nonce.

use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// No script, no framing, no `<base>`; inline styles only (the pages have no other assets).
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// For pages styled only by a stylesheet of their own origin (the dashboard's), without script.
pub const CSP_WITH_OWN_STYLES: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML page with the headers SECURITY.md asks of every page.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    html_with_csp(status, page, CSP)
}

/// An HTML page with its own `Content-Security-Policy` (e.g. one granting a nonce'd script).
pub fn html_with_csp(status: StatusCode, page: &impl Template, csp: &str) -> Response {
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
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

/// Frame, cache and sniffing protection for any browser-facing response (pages and redirects).
pub fn protect(h: &mut HeaderMap) {
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

/// `303 See Other` (never 307: a 307 would re-send a posted form, password included, to the
/// new location).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let h = response.headers_mut();
    protect(h);
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    response
}
