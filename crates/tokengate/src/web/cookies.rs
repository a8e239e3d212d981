//! `__Host-` cookies: built with the attributes the prefix demands and read back from `Cookie`.
//! The browser only accepts a `__Host-` cookie Secure, for `Path=/` and with no `Domain`, so a
//! sibling subdomain cannot plant or overwrite it. Never signs or trusts a value: callers do.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

/// The cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites (the SSO session must survive the
    /// redirect from an app).
    Lax,
    /// Never sent from other sites.
    Strict,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
        }
    }
}

/// `Set-Cookie` for `name=value`, Secure, HttpOnly, `Path=/`; `max_age` `None` makes a
/// browser-session cookie, `Some(0)` clears it.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, same_site: SameSite) -> HeaderValue {
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite={}{age}", same_site.as_str()))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of the cookie `name` the browser sent, if any (the exact name: a `__Host-` cookie
/// is never matched by its unprefixed twin).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// `response` with one more `Set-Cookie`, when there is one to set.
pub fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_carries_the_host_prefix_attributes() {
        let c = set_cookie("__Host-x", "v", Some(60), SameSite::Strict);
        assert_eq!(c.to_str().unwrap(), "__Host-x=v; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=60");
        let session = set_cookie("__Host-x", "v", None, SameSite::Lax);
        assert_eq!(session.to_str().unwrap(), "__Host-x=v; Path=/; Secure; HttpOnly; SameSite=Lax");
    }

    #[test]
    fn reads_the_exact_name_from_any_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; x=plain"));
        h.append(header::COOKIE, HeaderValue::from_static("__Host-x=prefixed"));
        assert_eq!(cookie(&h, "__Host-x").as_deref(), Some("prefixed"));
        assert_eq!(cookie(&h, "x").as_deref(), Some("plain"));
        assert_eq!(cookie(&h, "missing"), None);
    }
}
