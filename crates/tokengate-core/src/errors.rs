//! OAuth errors as values: the RFC 6749 error code, Entra's AADSTS number, the HTTP status and a
//! description. The issuer's HTTP layer is the only place that turns one into a response.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// RFC 6749 `error` value, e.g. `invalid_client`.
    pub error: &'static str,
    /// Entra's AADSTS number, e.g. 7000215.
    pub code: u32,
    pub status: u16,
    /// Text after `AADSTSnnn: `; must never contain a secret or token.
    pub description: String,
    /// Seconds the client should wait (rate limiting).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, code: u32, description: impl Into<String>) -> Self {
        OAuthError { error, code, status, description: description.into(), retry_after: None }
    }

    pub fn invalid_request(code: u32, description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", code, description)
    }

    pub fn invalid_client(code: u32, description: impl Into<String>) -> Self {
        Self::new(401, "invalid_client", code, description)
    }

    pub fn invalid_scope(code: u32, description: impl Into<String>) -> Self {
        Self::new(400, "invalid_scope", code, description)
    }

    pub fn invalid_grant(code: u32, description: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", code, description)
    }

    pub fn server_error(description: impl Into<String>) -> Self {
        Self::new(500, "server_error", 90000, description)
    }

    /// AADSTS7000215 — also used for unknown clients so the two cannot be told apart.
    pub fn wrong_client_secret(client_id: &str) -> Self {
        Self::invalid_client(
            codes::INVALID_CLIENT_SECRET,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    pub fn tenant_not_found(tenant: &str) -> Self {
        Self::invalid_request(
            codes::TENANT_NOT_FOUND,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        )
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            429,
            "temporarily_unavailable",
            codes::THROTTLED,
            "Request throttled: too many failed client authentication attempts. Retry later.",
        );
        e.retry_after = Some(retry_after);
        e
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} AADSTS{}: {}", self.error, self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

/// AADSTS numbers used by tokengate, named after what they mean.
pub mod codes {
    pub const INVALID_CLIENT_SECRET: u32 = 7000215;
    pub const EXPIRED_CLIENT_SECRET: u32 = 7000222;
    pub const NO_CLIENT_CREDENTIAL: u32 = 7000218;
    pub const APP_NOT_FOUND: u32 = 700016;
    pub const RESOURCE_NOT_FOUND: u32 = 500011;
    /// The client's registration lists no (delegated) permission for the resource asked for.
    pub const RESOURCE_NOT_CONFIGURED: u32 = 650057;
    pub const INVALID_SCOPE: u32 = 70011;
    pub const CC_SCOPE_WITHOUT_DEFAULT: u32 = 1002012;
    pub const MULTIPLE_RESOURCES: u32 = 700022;
    pub const ASSERTION_SIGNATURE_INVALID: u32 = 700027;
    pub const ASSERTION_SUB_NOT_ISS: u32 = 50048;
    pub const ASSERTION_CLIENT_MISMATCH: u32 = 700021;
    /// Generic "assertion is invalid" (audience, replay, lifetime bounds).
    pub const ASSERTION_INVALID: u32 = 50013;
    pub const ASSERTION_EXPIRED: u32 = 700024;
    pub const ASSERTION_MALFORMED: u32 = 50027;
    pub const ASSERTION_TYPE: u32 = 7000227;
    pub const UNSUPPORTED_GRANT: u32 = 70003;
    pub const MISSING_PARAMETER: u32 = 900144;
    pub const DUPLICATE_PARAMETER: u32 = 90015;
    pub const MALFORMED_REQUEST: u32 = 900143;
    pub const TWO_CREDENTIALS: u32 = 7000219;
    pub const RESOURCE_ON_V2: u32 = 901002;
    pub const TENANT_NOT_FOUND: u32 = 90002;
    pub const THROTTLED: u32 = 90055;
    pub const SCOPES_OF_SEVERAL_RESOURCES: u32 = 28000;
    pub const INVALID_GRANT: u32 = 70000;
    pub const CODE_EXPIRED: u32 = 70008;
    pub const CODE_REDEEMED: u32 = 54005;
    pub const PKCE_MISMATCH: u32 = 501481;
    pub const PKCE_REQUIRED: u32 = 9002325;
    /// Tokens issued to a single-page-app redirect are redeemed only cross-origin (with `Origin`).
    pub const SPA_CROSS_ORIGIN_ONLY: u32 = 9002327;
    pub const REFRESH_EXPIRED: u32 = 700082;
    pub const REFRESH_REVOKED: u32 = 50173;
    pub const WRONG_CREDENTIALS: u32 = 50126;
    pub const USER_DISABLED: u32 = 50057;
    pub const CONSENT_REQUIRED: u32 = 65001;
    pub const CONSENT_DECLINED: u32 = 65004;
    pub const REDIRECT_MISMATCH: u32 = 50011;
    pub const LOGIN_REQUIRED: u32 = 50058;
    pub const UNSUPPORTED_RESPONSE_TYPE: u32 = 700054;
    pub const DEVICE_PENDING: u32 = 70016;
    pub const DEVICE_EXPIRED: u32 = 70020;
    pub const DEVICE_BAD_CODE: u32 = 70019;
    pub const OBO_ASSERTION_INVALID: u32 = 50013;
    /// Smart lockout: too many wrong passwords (Entra's IdsLocked).
    pub const ACCOUNT_LOCKED: u32 = 50053;
}
