//! Cross-site request forgery defence for HTML forms: a double-submit token (an HMAC of this
//! browser's CSRF cookie, put into every form) and an `Origin` check. A form POST counts only if
//! both pass; what the form asks for is the caller's business.

use aws_lc_rs::hmac;
use axum::http::{header, HeaderMap, HeaderValue};
use tokengate_core::encoding::{b64url, b64url_decode, random_bytes};

use super::cookies::{cookie, set_cookie, SameSite};

/// Why a form POST was refused: a short reason word for the audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostRefusal {
    /// `Origin` names another site (or is opaque).
    CrossSiteOrigin,
    /// The form's token is missing or not derived from this browser's cookie.
    CsrfToken,
}

impl PostRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            PostRefusal::CrossSiteOrigin => "cross_site_origin",
            PostRefusal::CsrfToken => "csrf_token",
        }
    }
}

impl std::fmt::Display for PostRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Issues and checks the form tokens of one cookie, keyed so that only this server (or a node
/// sharing its key) can derive a token from a cookie value.
pub struct Csrf {
    key: hmac::Key,
    cookie_name: &'static str,
}

/// Length of a cookie value this module made (32 random bytes, base64url): anything else is
/// replaced rather than trusted.
const COOKIE_VALUE_LEN: usize = 43;

impl Csrf {
    pub fn new(key: &[u8], cookie_name: &'static str) -> Self {
        Csrf { key: hmac::Key::new(hmac::HMAC_SHA256, key), cookie_name }
    }

    /// This browser's CSRF cookie value, or a new one with the header that sets it. The cookie
    /// lives as long as the browser session, `SameSite=Strict`.
    pub fn browser_cookie(&self, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
        match cookie(headers, self.cookie_name).filter(|c| c.len() == COOKIE_VALUE_LEN) {
            Some(existing) => (existing, None),
            None => {
                let fresh = b64url(random_bytes::<32>());
                let header = set_cookie(self.cookie_name, &fresh, None, SameSite::Strict);
                (fresh, Some(header))
            }
        }
    }

    /// The form token for this browser's CSRF cookie value.
    pub fn token(&self, cookie_value: &str) -> String {
        b64url(hmac::sign(&self.key, format!("csrf|{cookie_value}").as_bytes()).as_ref())
    }

    /// Double-submit check: the form's token must be derived from this browser's cookie.
    pub fn verify(&self, headers: &HeaderMap, form_token: Option<&str>) -> bool {
        let (Some(cookie), Some(token)) = (cookie(headers, self.cookie_name), form_token) else { return false };
        b64url_decode(token).is_some_and(|t| hmac::verify(&self.key, format!("csrf|{cookie}").as_bytes(), &t).is_ok())
    }

    /// Both checks of a form POST to a page served from `base_url`.
    pub fn check_post(&self, headers: &HeaderMap, base_url: &str, form_token: Option<&str>) -> Result<(), PostRefusal> {
        if !same_origin(headers, base_url) {
            return Err(PostRefusal::CrossSiteOrigin);
        }
        if !self.verify(headers, form_token) {
            return Err(PostRefusal::CsrfToken);
        }
        Ok(())
    }
}

/// Cross-site form posts are refused: when the browser says where a POST comes from (`Origin`),
/// it must be the server itself. The pages' `Referrer-Policy: same-origin` makes browsers send
/// the real origin on their own POSTs; `Origin: null` is what an opaque origin sends (sandboxed
/// iframe, `data:` page, a POST redirected across sites) — an attacker can produce it at will, so
/// it is refused like any other site. No `Origin` at all (non-browser clients, old browsers) is
/// left to the CSRF token and the `SameSite=Strict` CSRF cookie.
pub fn same_origin(headers: &HeaderMap, base_url: &str) -> bool {
    match headers.get(header::ORIGIN).map(|o| o.to_str()) {
        None => true,
        Some(Ok("null")) => false,
        Some(Ok(origin)) => origin == base_url,
        Some(Err(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOKIE: &str = "__Host-tg_csrf";

    fn csrf() -> Csrf {
        Csrf::new(&[7u8; 32], COOKIE)
    }

    #[test]
    fn same_origin_accepts_only_the_issuer_or_no_origin() {
        let base = "https://localhost:8443";
        let with = |origin: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, HeaderValue::from_static(origin));
            h
        };
        assert!(same_origin(&HeaderMap::new(), base));
        assert!(same_origin(&with("https://localhost:8443"), base));
        assert!(!same_origin(&with("null"), base), "opaque origins (sandboxed iframes) are refused");
        assert!(!same_origin(&with("https://evil.example"), base));
        assert!(!same_origin(&with("https://localhost:8444"), base));
    }

    #[test]
    fn csrf_token_bound_to_cookie() {
        let s = csrf();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=b; __Host-tg_csrf=cookie-1"));
        assert!(s.verify(&headers, Some(&s.token("cookie-1"))));
        assert!(!s.verify(&headers, Some(&s.token("cookie-2"))));
        assert!(!s.verify(&headers, None));
        assert!(!s.verify(&HeaderMap::new(), Some(&s.token("cookie-1"))));
        // The unprefixed name (settable by a sibling subdomain) is not the CSRF cookie.
        let mut plain = HeaderMap::new();
        plain.insert(header::COOKIE, HeaderValue::from_static("tg_csrf=cookie-1"));
        assert!(!s.verify(&plain, Some(&s.token("cookie-1"))));
    }

    #[test]
    fn a_new_csrf_cookie_carries_the_host_prefix_attributes_and_is_kept_once_set() {
        let s = csrf();
        let (value, Some(set)) = s.browser_cookie(&HeaderMap::new()) else { panic!("a new CSRF cookie") };
        let text = set.to_str().unwrap();
        assert!(text.starts_with("__Host-"), "{text}");
        assert!(text.contains("; Path=/;") && text.contains("; Secure;") && !text.contains("Domain"), "{text}");
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("{COOKIE}={value}")).unwrap());
        assert_eq!(s.browser_cookie(&headers), (value, None));
    }

    #[test]
    fn check_post_names_which_check_failed() {
        let s = csrf();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("__Host-tg_csrf=cookie-1"));
        let token = s.token("cookie-1");
        let base = "https://localhost:8443";
        assert_eq!(s.check_post(&headers, base, Some(&token)), Ok(()));
        assert_eq!(s.check_post(&headers, base, None), Err(PostRefusal::CsrfToken));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert_eq!(s.check_post(&headers, base, Some(&token)), Err(PostRefusal::CrossSiteOrigin));
    }
}
