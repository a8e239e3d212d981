//! Why a request was refused: one value per cause, each with a stable reason code for the
//! audit log and the HTTP answer it gets (RFC 6750 §3). What each says to the caller and the
//! operator (`error_description`, expected vs got) is worded in `denial_description`.

/// How the gateway answers a rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 401 `Bearer realm="tokengate"` without an error: no (usable) credentials were sent.
    Bare,
    /// 400 `error="invalid_request"`.
    InvalidRequest,
    /// 401 `error="invalid_token"`.
    InvalidToken,
    /// 403 `error="insufficient_scope"`.
    InsufficientScope,
    /// 431: token or header over the size limit, refused before parsing.
    TooLarge,
    /// 503 `Retry-After`: the key may exist but its issuer's JWKS cannot be reached.
    KeysUnavailable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    NoToken,
    MalformedRequest,
    /// `access_token` in a form body as well as in `Authorization` (RFC 6750 §2: one method only).
    TokenInBodyAndHeader,
    TokenTooLarge,
    MalformedToken,
    AlgorithmNotAllowed,
    UnknownKey,
    KeysUnavailable,
    BadSignature,
    Expired,
    NotYetValid,
    IssuedInFuture,
    UntrustedIssuer,
    TenantNotAllowed,
    BadClaim(&'static str),
    IdToken,
    AudienceMismatch,
    VersionMismatch,
    IssuerNotAllowedOnRoute,
    Revoked,
    /// Valid token lacking what the route requires; carries the scope/role to ask for.
    Insufficient(String),
    /// Valid token with neither a scope nor an app role, on a route that names none and has not
    /// opted in to such tokens (`allow_tokens_without_permissions`).
    NoPermissions,
}

impl Rejection {
    /// Stable reason code for the audit log and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::NoToken => "no_token",
            Rejection::MalformedRequest => "malformed_request",
            Rejection::TokenInBodyAndHeader => "token_in_body_and_header",
            Rejection::TokenTooLarge => "token_too_large",
            Rejection::MalformedToken => "malformed_token",
            Rejection::AlgorithmNotAllowed => "algorithm_not_allowed",
            Rejection::UnknownKey => "unknown_kid",
            Rejection::KeysUnavailable => "keys_unavailable",
            Rejection::BadSignature => "bad_signature",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not_yet_valid",
            Rejection::IssuedInFuture => "issued_in_future",
            Rejection::UntrustedIssuer => "untrusted_issuer",
            Rejection::TenantNotAllowed => "tenant_not_allowed",
            Rejection::BadClaim(_) => "bad_claim",
            Rejection::IdToken => "id_token",
            Rejection::AudienceMismatch => "audience_mismatch",
            Rejection::VersionMismatch => "version_mismatch",
            Rejection::IssuerNotAllowedOnRoute => "issuer_not_allowed",
            Rejection::Revoked => "revoked",
            Rejection::Insufficient(_) => "insufficient_scope",
            Rejection::NoPermissions => "token_without_permissions",
        }
    }

    pub fn answer(&self) -> Answer {
        match self {
            Rejection::NoToken => Answer::Bare,
            Rejection::MalformedRequest | Rejection::TokenInBodyAndHeader => Answer::InvalidRequest,
            Rejection::TokenTooLarge => Answer::TooLarge,
            Rejection::KeysUnavailable => Answer::KeysUnavailable,
            Rejection::Insufficient(_) | Rejection::NoPermissions => Answer::InsufficientScope,
            _ => Answer::InvalidToken,
        }
    }
}
