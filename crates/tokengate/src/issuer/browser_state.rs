//! State the issuer hands to browsers and gets back: the SSO session cookie (which names a
//! server-side session record, checked on every use), the known-browser cookie of smart lockout,
//! the CSRF cookie and its form token, and signed continuations (the validated authorization request carried through
//! the sign-in and consent forms). Everything is HMAC-SHA256-signed with a key derived from the
//! key-encryption key, so any node sharing the store and that key accepts it, and a tampered
//! scope, client or redirect URI in a form is refused rather than honoured. How cookies are
//! built and how CSRF is checked is `crate::web`'s; which cookies the issuer sets is this file's.

use aws_lc_rs::hmac;
use axum::http::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokengate_core::encoding::{b64url, b64url_decode, random_bytes};
use tokengate_core::keys::KeyEncryptionKey;
use uuid::Uuid;

use crate::web::cookies::{cookie, set_cookie, SameSite};
use crate::web::csrf::Csrf;

// `__Host-` cookies (see `web::cookies`): the issuer is always HTTPS.
pub const SESSION_COOKIE: &str = "__Host-tg_session";
pub const CSRF_COOKIE: &str = "__Host-tg_csrf";
/// Marks a browser that signed a user in before (smart lockout).
pub const KNOWN_BROWSER_COOKIE: &str = "__Host-tg_known";
/// SSO sessions last a working day; sign-in again after that.
pub const SESSION_LIFETIME: i64 = 12 * 3600;
/// A browser stays familiar for this long after its last successful sign-in.
pub const KNOWN_BROWSER_LIFETIME: i64 = 90 * 86_400;
/// Users one browser is remembered for (the most recent ones).
const MAX_KNOWN_USERS: usize = 8;
/// A sign-in or consent form must be submitted within this long.
pub const FLOW_LIFETIME: i64 = 600;

pub struct BrowserState {
    key: hmac::Key,
    csrf: Csrf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BrowserSession {
    /// `sid` of ID tokens.
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub auth_time: i64,
}

/// The users a browser signed in successfully (the known-browser cookie, signed).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KnownBrowser {
    pub browser_id: String,
    pub users: Vec<Uuid>,
}

impl KnownBrowser {
    /// This browser's id if it signed `user` in before.
    pub fn id_for(&self, user: Uuid) -> Option<&str> {
        self.users.contains(&user).then_some(self.browser_id.as_str())
    }
}

#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    purpose: String,
    exp: i64,
    value: T,
}

impl BrowserState {
    pub fn new(kek: &KeyEncryptionKey) -> Self {
        // One key for sealed values and CSRF tokens: a token is an HMAC of `csrf|...`, a sealed
        // payload is JSON, so neither can stand for the other.
        let key = kek.derive("tokengate browser state v1");
        BrowserState { key: hmac::Key::new(hmac::HMAC_SHA256, &key), csrf: Csrf::new(&key, CSRF_COOKIE) }
    }

    /// `payload.signature`, both base64url; `purpose` keeps a value sealed for one use from being
    /// replayed as another.
    pub fn seal<T: Serialize>(&self, purpose: &str, value: &T, exp: i64) -> String {
        let payload = serde_json::to_vec(&Sealed { purpose: purpose.to_owned(), exp, value }).unwrap_or_default();
        let tag = hmac::sign(&self.key, &payload);
        format!("{}.{}", b64url(&payload), b64url(tag.as_ref()))
    }

    pub fn open<T: DeserializeOwned>(&self, purpose: &str, sealed: &str, now: i64) -> Option<T> {
        if sealed.len() > 16 * 1024 {
            return None;
        }
        let (payload, tag) = sealed.split_once('.')?;
        let payload = b64url_decode(payload)?;
        hmac::verify(&self.key, &payload, &b64url_decode(tag)?).ok()?;
        let sealed: Sealed<T> = serde_json::from_slice(&payload).ok()?;
        (sealed.purpose == purpose && now < sealed.exp).then_some(sealed.value)
    }

    pub fn session(&self, headers: &HeaderMap, now: i64) -> Option<BrowserSession> {
        self.open("session", &cookie(headers, SESSION_COOKIE)?, now)
    }

    pub fn session_cookie(&self, session: &BrowserSession, now: i64) -> HeaderValue {
        let value = self.seal("session", session, now + SESSION_LIFETIME);
        set_cookie(SESSION_COOKIE, &value, Some(SESSION_LIFETIME), SameSite::Lax)
    }

    pub fn known_browser(&self, headers: &HeaderMap, now: i64) -> Option<KnownBrowser> {
        self.open("known_browser", &cookie(headers, KNOWN_BROWSER_COOKIE)?, now)
    }

    /// The known-browser cookie after `user` signed in: this browser's id (kept, or new) and
    /// the user added as the most recent.
    pub fn known_browser_cookie(&self, previous: Option<KnownBrowser>, user: Uuid, now: i64) -> HeaderValue {
        let mut known =
            previous.unwrap_or_else(|| KnownBrowser { browser_id: b64url(random_bytes::<16>()), users: Vec::new() });
        known.users.retain(|u| *u != user);
        known.users.insert(0, user);
        known.users.truncate(MAX_KNOWN_USERS);
        let value = self.seal("known_browser", &known, now + KNOWN_BROWSER_LIFETIME);
        set_cookie(KNOWN_BROWSER_COOKIE, &value, Some(KNOWN_BROWSER_LIFETIME), SameSite::Strict)
    }

    /// The CSRF cookie of the issuer's pages and the tokens its forms carry.
    pub fn csrf(&self) -> &Csrf {
        &self.csrf
    }
}

pub fn clear_session_cookie() -> HeaderValue {
    set_cookie(SESSION_COOKIE, "", Some(0), SameSite::Lax)
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    fn state() -> BrowserState {
        BrowserState::new(&KeyEncryptionKey::from_bytes(&[7u8; 32]).unwrap())
    }

    #[test]
    fn sealed_values_resist_tampering_expiry_and_purpose_swaps() {
        let s = state();
        let sealed = s.seal("flow", &vec!["api://x/Read".to_string()], 100);
        assert_eq!(s.open::<Vec<String>>("flow", &sealed, 99), Some(vec!["api://x/Read".to_string()]));
        assert_eq!(s.open::<Vec<String>>("flow", &sealed, 100), None, "expired");
        assert_eq!(s.open::<Vec<String>>("session", &sealed, 99), None, "other purpose");
        let (payload, tag) = sealed.split_once('.').unwrap();
        let mut bytes = b64url_decode(payload).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap().replace("Read", "Wrte");
        bytes = text.into_bytes();
        assert_eq!(s.open::<Vec<String>>("flow", &format!("{}.{tag}", b64url(&bytes)), 99), None, "tampered");
        let other = BrowserState::new(&KeyEncryptionKey::from_bytes(&[8u8; 32]).unwrap());
        assert_eq!(other.open::<Vec<String>>("flow", &sealed, 99), None, "other key");
    }

    #[test]
    fn cookies_carry_the_host_prefix_attributes() {
        let s = state();
        let (_, Some(csrf)) = s.csrf().browser_cookie(&HeaderMap::new()) else { panic!("a new CSRF cookie") };
        let known = s.known_browser_cookie(None, Uuid::new_v4(), 100);
        for c in [csrf, known, clear_session_cookie()] {
            let text = c.to_str().unwrap();
            assert!(text.starts_with("__Host-"), "{text}");
            assert!(text.contains("; Path=/;") && text.contains("; Secure;") && !text.contains("Domain"), "{text}");
        }
    }

    #[test]
    fn known_browser_keeps_its_id_and_recent_users() {
        let s = state();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = s.known_browser_cookie(None, a, 100);
        let mut headers = HeaderMap::new();
        headers
            .insert(header::COOKIE, HeaderValue::from_str(first.to_str().unwrap().split(';').next().unwrap()).unwrap());
        let known = s.known_browser(&headers, 101).unwrap();
        assert!(known.id_for(a).is_some() && known.id_for(b).is_none());
        let second = s.known_browser_cookie(Some(known.clone()), b, 102);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(second.to_str().unwrap().split(';').next().unwrap()).unwrap(),
        );
        let again = s.known_browser(&headers, 103).unwrap();
        assert_eq!(again.browser_id, known.browser_id);
        assert_eq!(again.users, vec![b, a]);
        assert!(s.known_browser(&headers, 102 + KNOWN_BROWSER_LIFETIME).is_none(), "expires");
    }
}
